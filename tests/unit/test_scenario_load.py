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


# the load: section (concurrent sessions) ------------------------------------------------------
import re  # noqa: E402

from replayer.errors import InputError  # noqa: E402
from replayer.pipeline.prepare import Overrides, resolve  # noqa: E402
from replayer.scenario.model import LoadSpec, ThinkTime  # noqa: E402

LOAD_LINE = 15  # GOOD has 14 lines: `load:` is line 15, its first key line 16, the second line 17


def with_load(tmp_path: Path, body: str, base: str = GOOD) -> Path:
    return write(tmp_path, base + "load:\n" + body)


def test_a_load_section_parses_into_a_load_spec(tmp_path):
    s = load_scenario(with_load(tmp_path, "  sessions: [1, 2, 4]\n  sessions_total: 8\n  parallel: 4\n"
                                          "  think_time: recorded\n  scale: 0.5\n  cap_s: 30\n  distinct: false\n"
                                          "  shared_prefix: true\n"))
    assert s.load == LoadSpec(sessions=(1, 2, 4), sessions_total=8, parallel=4, think_time=ThinkTime.RECORDED,
                              scale=0.5, cap_s=30, distinct=False, shared_prefix=True)
    assert isinstance(s.load.sessions, tuple) and s.load.slots(2) == 4 and s.load.total(2) == 8


def test_load_defaults_and_parallel_match(tmp_path):
    s = load_scenario(with_load(tmp_path, "  sessions: [4, 1]\n"))
    assert s.load == LoadSpec(sessions=(4, 1))
    assert (s.load.sessions_total, s.load.parallel, s.load.think_time, s.load.scale, s.load.cap_s) == \
        (None, None, ThinkTime.NONE, 1.0, None)
    assert s.load.distinct is True and s.load.shared_prefix is False
    assert s.load.slots(4) == 4 and s.load.slots(1) == 1  # -np follows the level
    matched = load_scenario(with_load(tmp_path, "  sessions: [2]\n  parallel: match\n"))
    assert matched.load.parallel is None
    assert load_scenario(write(tmp_path, GOOD)).load is None


@pytest.mark.parametrize("body, line, message", [
    ("  sessions: [0]\n", 16, "load.sessions[0]: expected a number >= 1, got 0"),
    ("  sessions: [1.5]\n", 16, "load.sessions[0]: expected integer, got number"),
    ("  sessions: [two]\n", 16, "load.sessions[0]: expected integer, got string"),
    ("  sessions: [1, -2]\n", 16, "load.sessions[1]: expected a number >= 1, got -2"),
    ("  sessions: []\n", 16, "load.sessions: expected at least 1 item(s), got 0"),
    ("  sessions: 2\n", 16, "load.sessions: expected array or 'auto', got number"),
    ("  sessions: all\n", 16, "load.sessions: expected array or 'auto', got string"),
    ("  sessions: auto\n", 16, "load.sessions: auto searches for the most sessions within an SLO: add load.slo "
     "(ttft_p90_s and/or decode_tok_s_p10), or list the levels"),
    ("  sessions: [1, 2]\n  sessions_max: 4\n", 17, "load.sessions_max: only with sessions: auto (it bounds the search)"),
    ("  sessions: [1, 2]\n  slo: {}\n", 17, "load.slo: expected at least 1 field(s), got {}"),
    ("  sessions: [1, 2]\n  slo: {ttft_p90: 2}\n", 17,
     "load.slo.ttft_p90: unknown field 'ttft_p90' (allowed: decode_tok_s_p10, ttft_p90_s)"),
    ("  sessions: [1, 2]\n  slo: {ttft_p90_s: 0}\n", 17, "load.slo.ttft_p90_s: expected a number > 0, got 0"),
    ("  sessions: [1, 2]\n  slo: {decode_tok_s_p10: fast}\n", 17,
     "load.slo.decode_tok_s_p10: expected number, got string"),
    ("  sessions: [1, 4]\n  parallel: 2\n", 17,
     "load.parallel: expected at least the largest level (4) so every session in flight has a slot, got 2"),
    ("  sessions: [2]\n  think_time: sometimes\n", 17,
     "load.think_time: expected one of 'none', 'recorded', got \"sometimes\""),
    ("  sessions: [2, 1, 2]\n", 16, "load.sessions: expected distinct levels, got [2, 1, 2]"),
    ("  sessions: [2]\n  sesions: 3\n", 17, "load.sesions: unknown field 'sesions' (allowed: cap_s, distinct, "
     "parallel, scale, sessions, sessions_max, sessions_total, shared_prefix, slo, think_time)"),
    ("  sessions: [2]\n  cap_s: -1\n", 17, "load.cap_s: expected a number >= 0, got -1"),
    ("  sessions: [1, 2]\n  sessions_total: 0\n", 17, "load.sessions_total: expected a number >= 1, got 0"),
    ("  think_time: none\n", LOAD_LINE, "load: missing required field 'sessions'"),
])
def test_a_malformed_load_section_is_one_located_line(tmp_path, body, line, message):
    p = with_load(tmp_path, body)
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    assert str(info.value) == f"{p}:{line}: {message}"
    assert "\n" not in str(info.value) and info.value.exit_code == 2


@pytest.mark.parametrize("body", ["  sessions: [2]\n  parallel: 0\n", "  sessions: [2]\n  parallel: many\n",
                                  "  sessions: [3]\n  parallel: 2.5\n"])
def test_a_bad_parallel_is_located(tmp_path, body):
    p = with_load(tmp_path, body)
    with pytest.raises(ScenarioError, match=rf"^{re.escape(str(p))}:17: load\.parallel: ") as info:
        load_scenario(p)
    assert "\n" not in str(info.value) and info.value.exit_code == 2


@pytest.mark.parametrize("body", ["  sessions: [2.0]\n", "  sessions: [2]\n  sessions_total: 4.0\n"])
def test_a_whole_float_level_is_an_int_or_refused(tmp_path, body):
    try:
        s = load_scenario(with_load(tmp_path, body))
    except ScenarioError:
        return
    assert all(type(v) is int for v in s.load.sessions)
    assert s.load.sessions_total is None or type(s.load.sessions_total) is int


def test_load_cannot_be_combined_with_aa(tmp_path):
    p = with_load(tmp_path, "  sessions: [2]\n", base=GOOD.replace("order: interleaved", "aa: true"))
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    assert str(info.value) == f"{p}:{LOAD_LINE}: load: cannot be combined with sweep: or replay.aa yet"


def test_sessions_on_the_command_line_add_a_load_section(tmp_path):
    s = load_scenario(write(tmp_path, GOOD))
    resolved, gate = resolve(s, Overrides(sessions=(1, 2)))
    assert resolved.load == LoadSpec(sessions=(1, 2)) and gate is None
    assert s.load is None  # the scenario read is not changed
    unchanged, _ = resolve(s, Overrides())
    assert unchanged.load is None


def test_sessions_on_the_command_line_replace_only_the_levels(tmp_path):
    s = load_scenario(with_load(tmp_path, "  sessions: [4]\n  parallel: 4\n  think_time: recorded\n  scale: 0.5\n"))
    resolved, _ = resolve(s, Overrides(sessions=(1, 2)))
    assert resolved.load == LoadSpec(sessions=(1, 2), parallel=4, think_time=ThinkTime.RECORDED, scale=0.5)
    same, _ = resolve(s, Overrides(sessions=(4, 1)))
    assert same.load.sessions == (4, 1)


def test_sessions_above_a_fixed_parallel_are_refused(tmp_path):
    s = load_scenario(with_load(tmp_path, "  sessions: [2]\n  parallel: 2\n"))
    with pytest.raises(InputError) as info:
        resolve(s, Overrides(sessions=(1, 4)))
    assert str(info.value) == "--sessions 1,4: expected levels up to load.parallel (2)"
    assert info.value.exit_code == 2


SWEEP = "sweep:\n  variant: on\n  args:\n    --spec-draft-n-max: [2, 3]\n"


def test_load_cannot_be_combined_with_a_sweep(tmp_path):
    p = with_load(tmp_path, "  sessions: [2]\n", base=GOOD + SWEEP)
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    assert str(info.value) == f"{p}:19: load: cannot be combined with sweep: or replay.aa yet"


@pytest.mark.parametrize("overrides, extra", [
    (Overrides(sessions=(1, 2), aa=True), ""),
    (Overrides(aa=True), "load:\n  sessions: [2]\n"),
    (Overrides(sessions=(1, 2)), SWEEP),
])
def test_the_command_line_cannot_combine_load_with_aa_or_a_sweep_either(tmp_path, overrides, extra):
    s = load_scenario(write(tmp_path, GOOD + extra))
    with pytest.raises(InputError):
        resolve(s, overrides)


def test_the_executor_section_says_where_units_run(tmp_path):
    from replayer.scenario.model import RaySpec

    assert load_scenario(write(tmp_path, GOOD)).executor is None
    assert load_scenario(write(tmp_path, GOOD + "executor: {kind: local}\n")).executor is None
    s = load_scenario(write(tmp_path, GOOD + "executor: {kind: ray, address: '10.0.0.5:6379', resources: "
                                             "{GPU: 1, llama_host: 1}, placement_timeout_s: 30}\n"))
    assert s.executor == RaySpec(address="10.0.0.5:6379", num_cpus=1.0, num_gpus=1.0, resources={"llama_host": 1},
                                 placement_timeout_s=30.0)
    with pytest.raises(ScenarioError, match=r"s.yaml:15: executor.kind: expected one of 'local', 'ray'"):
        load_scenario(write(tmp_path, GOOD + "executor: {kind: slurm}\n"))
    with pytest.raises(ScenarioError, match=r"executor.resources.GPU"):
        load_scenario(write(tmp_path, GOOD + "executor: {kind: ray, resources: {GPU: -1}}\n"))


def test_an_arm_with_endpoints_sends_each_session_to_one_of_them(tmp_path):
    text = GOOD.replace("  off: {}", "  off: {endpoints: ['http://10.0.0.1:8080', 'http://10.0.0.2:8080']}")
    off = load_scenario(write(tmp_path, text)).variant("off")
    assert not off.managed and off.url is None
    picks = {name: off.for_session(name).url for name in (f"session-{i}" for i in range(40))}
    assert set(picks.values()) == set(off.endpoints)  # both servers get sessions
    assert all(off.for_session(name).url == url for name, url in picks.items())  # the same one every time
    assert off.for_session("session-1").endpoints == () and load_scenario(write(tmp_path, GOOD)).variant(
        "on").for_session("x").url is None
    with pytest.raises(ScenarioError, match="give either 'url' .* or 'endpoints'"):
        load_scenario(write(tmp_path, text.replace("{endpoints:", "{url: 'http://h:1', endpoints:")))


@pytest.mark.parametrize("where, text", [("traces[0]", 'traces: ["flag\\0ship.json"]'),
                                         ("variants.on.args[1]", "    args: [--spec-type, \"draft\\0mtp\"]")])
def test_a_nul_byte_in_a_path_or_flag_is_a_located_line_not_a_value_error(tmp_path, where, text):
    if where.startswith("traces"):
        doc = "\n".join(text if ln.startswith("traces:") else ln for ln in GOOD.splitlines())
    else:
        doc = GOOD.replace("    args: [--spec-type, draft-mtp]", text)
    p = write(tmp_path, doc)
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    assert str(info.value).endswith(f": {where}: a NUL byte in text (no path, flag or name can hold one)")
    assert "\n" not in str(info.value)
    assert info.value.exit_code == 2
