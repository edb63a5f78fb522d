from pathlib import Path

import pytest

from replayer.errors import ScenarioError
from replayer.scenario.load import load_scenario
from replayer.scenario.model import CachePolicy, Generation, Order

ROOT = Path(__file__).resolve().parents[2]

GOOD = """\
version: 1
name: t
traces: [trace.json]
server:
  model: synthetic-echo
  args: [-c, 4096]
variants:
  off: {}
  on:
    args: [--spec-type, draft-mtp]
baseline: off
replay:
  repetitions: 2
  order: interleaved
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "s.yaml"
    p.write_text(text)
    return p


def test_flagship_scenario_loads_with_mtp_off_and_on():
    s = load_scenario(ROOT / "scenarios" / "cli_tool.yaml")
    assert [v.name for v in s.variants] == ["mtp-off", "mtp-on"]
    assert s.baseline == "mtp-off"
    assert s.variant("mtp-on").args == ("--spec-type", "draft-mtp", "--spec-draft-n-max", "3")
    assert s.traces[0].resolve() == (ROOT / "traces" / "cli_tool.json").resolve()
    for flag in ("-c", "-np", "--fit", "-t", "--cache-ram", "--metrics"):
        assert flag in s.server.common_args
    assert s.policy.generation is Generation.RECORDED and s.policy.cache is CachePolicy.REUSE


def test_defaults_and_relative_trace_paths(tmp_path):
    s = load_scenario(write(tmp_path, GOOD))
    assert s.traces == (tmp_path / "trace.json",)
    assert s.policy.repetitions == 2 and s.policy.order is Order.INTERLEAVED
    assert s.policy.sampling["temperature"] == 0.0 and s.policy.sampling["repeat_penalty"] == 1.0


def test_bad_enum_is_located_by_line(tmp_path):
    p = write(tmp_path, GOOD.replace("order: interleaved", "order: shuffled"))
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    assert str(info.value) == (f"{p}:14: replay.order: expected one of 'interleaved', 'random', 'sequential', "
                               "got \"shuffled\"")
    assert info.value.exit_code == 2


def test_unknown_field_lists_the_allowed_ones(tmp_path):
    p = write(tmp_path, GOOD.replace("  repetitions: 2", "  repetitons: 2"))
    with pytest.raises(ScenarioError, match=r"s.yaml:13: replay.repetitons: unknown field 'repetitons' \(allowed: .*repetitions"):
        load_scenario(p)


def test_wrong_type_in_a_variant(tmp_path):
    p = write(tmp_path, GOOD.replace("args: [--spec-type, draft-mtp]", "args: --spec-type"))
    with pytest.raises(ScenarioError, match=r"s.yaml:10: variants.on.args: expected array, got string"):
        load_scenario(p)


def test_unknown_baseline(tmp_path):
    p = write(tmp_path, GOOD.replace("baseline: off", "baseline: mtp"))
    with pytest.raises(ScenarioError, match=r"s.yaml:11: baseline: expected one of 'off', 'on', got 'mtp'"):
        load_scenario(p)


def test_invalid_yaml(tmp_path):
    p = write(tmp_path, "version: 1\ntraces: [a\n")
    with pytest.raises(ScenarioError, match=r"s.yaml:\d+: invalid YAML"):
        load_scenario(p)


def test_missing_required_section(tmp_path):
    p = write(tmp_path, "version: 1\ntraces: [a.json]\n")
    with pytest.raises(ScenarioError, match=r"s.yaml:1: \(top level\): missing required field 'variants'"):
        load_scenario(p)


def test_aa_adds_an_identical_baseline_arm_and_random_order_takes_a_seed(tmp_path):
    s = load_scenario(write(tmp_path, GOOD.replace("order: interleaved", "order: random\n  order_seed: 5\n  aa: true")))
    assert [v.name for v in s.variants] == ["off", "on", "off-aa"]
    aa = s.variant("off-aa")
    assert aa.args == s.variant("off").args and aa.aa_of == "off" and s.baseline == "off"
    assert s.policy.order is Order.RANDOM and s.policy.order_seed == 5


def test_aa_needs_a_managed_baseline(tmp_path):
    text = GOOD.replace("off: {}", "off: {url: 'http://127.0.0.1:1'}").replace("order: interleaved", "aa: true")
    with pytest.raises(ScenarioError, match=r"s.yaml:\d+: replay.aa: expected a managed baseline"):
        load_scenario(write(tmp_path, text))


def test_the_aa_name_must_be_free(tmp_path):
    text = GOOD.replace("on:\n", "off-aa: {}\n  on:\n").replace("order: interleaved", "aa: true")
    with pytest.raises(ScenarioError, match=r"s.yaml:\d+: replay.aa: the A/A arm's name off-aa is taken"):
        load_scenario(write(tmp_path, text))
