"""`replay tune` without a server: the tune: section, the sampled rounds and their primes, the
section rebuilt from records (drops, arms that cannot draft, budgets), and tuned-gate.yaml."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml

from replayer.analysis.tune import ArmInfo, TuneInput, tune_section
from replayer.errors import ScenarioError
from replayer.outputs.tune import level_lines, level_rows, tune_markdown, tune_png
from replayer.outputs.tuned_gate import gate_text
from replayer.results.record import TurnResult
from replayer.runner.plan import sample_turns
from replayer.scenario.load import load_scenario
from replayer.scenario.tune import parse_duration

SCENARIO = """\
version: 1
name: tuned
traces: [t.json]
server:
  model: synthetic-echo-mtp70
  args: [-c, 8192, -np, 1, -t, 2]
variants:
  mtp-off: {args: []}
  mtp-on: {args: [--spec-type, draft-mtp, --spec-draft-n-max, 3]}
baseline: mtp-off
"""


def scenario(tmp_path: Path, tune: str = "") -> Path:
    (tmp_path / "t.json").write_text("{}")
    p = tmp_path / "s.yaml"
    p.write_text(SCENARIO + tune)
    return p


def test_a_tune_section_expands_the_drafting_variant(tmp_path):
    s = load_scenario(scenario(tmp_path, "tune:\n  args: {--spec-draft-n-max: [1, 2, 16]}\n  sessions: [1, 2]\n"
                                         "  budget: 30m\n  sample: 4\n  slo: {ttft_p90_s: 3}\n"))
    t = s.tune
    assert [v.name for v in t.plan.variants] == ["mtp-off", "mtp-on[--spec-draft-n-max=1]",
                                                  "mtp-on[--spec-draft-n-max=2]", "mtp-on[--spec-draft-n-max=16]"]
    assert t.plan.variants[3].args == ("--spec-type", "draft-mtp", "--spec-draft-n-max", "16")
    assert t.sessions == (1, 2) and t.budget_s == 1800 and t.sample == 4 and t.slo.ttft_p90_s == 3.0
    assert load_scenario(scenario(tmp_path)).tune is None  # replay tune then races the defaults


@pytest.mark.parametrize("body, line, message", [
    ("tune:\n  args: {--spec-draft-n-max: [0, 2]}\n", 12, "tune.args.--spec-draft-n-max[0]: "),
    ("tune:\n  variant: mtp-off\n", 12, "tune.variant: 'mtp-off' is the baseline"),
    ("tune:\n  variant: nope\n", 12, "tune.variant: expected one of"),
    ("tune:\n  budget: soon\n", 12, "tune.budget: expected a duration like 90s, 30m or 1h, got 'soon'"),
    ("tune:\n  sessions: [1, 1]\n", 12, "tune.sessions: expected distinct levels, got [1, 1]"),
    ("tune:\n  tolerance: 0\n", 12, "tune.tolerance: expected a number > 0, got 0"),
    ("tune:\n  slo: {ttft: 1}\n", 12, "tune.slo.ttft: unknown field 'ttft'"),
    ("tune:\n  rounds: 3\n", 12, "tune.rounds: unknown field 'rounds'"),
])
def test_a_malformed_tune_section_is_one_located_line(tmp_path, body, line, message):
    p = scenario(tmp_path, body)
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    assert str(info.value).startswith(f"{p}:{line}: {message}"), str(info.value)
    assert "\n" not in str(info.value) and info.value.exit_code == 2


def test_durations():
    assert [parse_duration(x) for x in ("90", "90s", "30m", "1.5h", 45, "0m", "-1", "soon", True)] == \
        [90.0, 90.0, 1800.0, 5400.0, 45.0, None, None, None, None]


def test_rounds_sample_every_depth_and_every_turn_in_turn():
    picks = [sample_turns(40, 8, r) for r in range(5)]
    for p in picks:
        assert len(p) == 8 and p == sorted(p) and [k // 5 for k in p] == list(range(8))  # one per stratum
    assert sorted(k for p in picks for k in p) == list(range(40))  # five rounds: every turn once
    assert sample_turns(6, 8, 3) == list(range(6))


ARMS = (ArmInfo("off", (), {}, False),
        ArmInfo("n1", ("--spec-type", "draft-mtp", "--spec-draft-n-max", "1"), {"--spec-draft-n-max": 1}, True),
        ArmInfo("n3", ("--spec-type", "draft-mtp", "--spec-draft-n-max", "3"), {"--spec-draft-n-max": 3}, True),
        ArmInfo("n16", ("--spec-type", "draft-mtp", "--spec-draft-n-max", "16"), {"--spec-draft-n-max": 16}, True))


def records(speed: dict[str, float], rounds: int, drop: dict[str, int] | None = None, drafts: bool = True,
            seed: int = 0) -> list[TurnResult]:
    """8 turns per round for every arm still running (``drop``: arm -> the last round it runs)."""
    rng, out = random.Random(seed), []
    for rnd in range(rounds):
        for k in range(8):
            base = rng.uniform(300, 3000)
            for arm, s in speed.items():
                if drop and rnd > drop.get(arm, rounds):
                    continue
                spec = arm != "off" and drafts
                out.append(TurnResult(trace="t", turn=rnd * 8 + k, variant=arm, repetition=rnd, seq=len(out),
                                      wall_ms=base * s * rng.lognormvariate(0, 0.03), max_tokens=64,
                                      max_tokens_source="usage", predicted_n=64, predicted_ms=base * 0.8,
                                      draft_n=40 if spec else 0, draft_n_accepted=20 if spec else 0,
                                      prime_ms=5.0))
    return out


def section_of(recs, spec_tune, **kw):
    inp = TuneInput(spec=spec_tune, arms=ARMS, baseline="off", variant="mtp-on", turns={"t": 40}, **kw)
    return tune_section(recs, inp)


@pytest.fixture
def spec(tmp_path):
    s = load_scenario(scenario(tmp_path, "tune:\n  args: {--spec-draft-n-max: [1, 3, 16]}\n  max_rounds: 6\n"))
    return s.tune


def test_the_section_replays_the_race_from_its_records(spec):
    speed = {"off": 1.0, "n1": 1.1, "n3": 1.6, "n16": 3.5}
    sec = section_of(records(speed, 2, drop={"n16": 0, "n3": 0, "n1": 1}), spec)
    level = sec.levels[0]
    arms = {a.variant: a for a in level.arms}
    assert level.outcome == "confident" and level.recommended == "off" and level.recommended_args == ()
    assert arms["n16"].status == "dropped" and arms["n16"].dropped_round == 0 and "slower than off" in arms["n16"].reason
    assert arms["off"].status == "recommended" and arms["off"].estimate == 1.0
    assert arms["n1"].estimate == pytest.approx(1.1, rel=0.03) and arms["n16"].estimate == pytest.approx(3.5, rel=0.05)
    assert arms["n1"].estimate_ci[0] < 1.1 < arms["n1"].estimate_ci[1]
    assert arms["n1"].status == "dropped" and arms["n1"].dropped_round == 1
    assert arms["n3"].acceptance == pytest.approx(0.5)
    assert [r.index for r in level.rounds] == [0, 1] and level.rounds[0].dropped == ("n3", "n16")
    assert level.saved_s == pytest.approx(0.0)
    assert sec.server_s == pytest.approx(sum(r.wall_ms + 5.0 for r in records(speed, 2, drop={"n16": 0, "n3": 0})) / 1e3)
    assert sec.gate_scenario is None  # TuneInput gave none


def test_a_drafting_arm_that_never_drafts_is_reported_not_ranked(spec):
    recs = [r for r in records({"off": 1.0, "n1": 0.5}, 1, drafts=False)]
    level = section_of(recs, spec).levels[0]
    arms = {a.variant: a for a in level.arms}
    assert arms["n1"].status == "not-live" and "drafted no token" in arms["n1"].reason
    assert level.recommended == "off" and level.outcome == "confident"  # the faster arm is not ranked at all
    assert any("n1: drafted no token" in line for line in level_lines(section_of(recs, spec), level))


def test_an_arm_that_did_not_start_is_named(spec):
    recs = records({"off": 1.0, "n1": 1.2}, 1)
    sec = section_of(recs, spec, unranked={1: {"n16": "did not start: llama-server exited with code 1",
                                               "n3": "variant n3: /slots reports speculative=false"}})
    arms = {a.variant: a for a in sec.levels[0].arms}
    assert arms["n16"].status == "failed" and arms["n3"].status == "not-live"
    assert level_rows(sec, sec.levels[0])[1][3][4] == "not ranked: did not start"


def test_an_undecided_race_says_why_it_stopped(spec):
    recs = records({"off": 1.0, "n1": 0.99}, 1)
    level = section_of(recs, spec, stops={1: "budget"}).levels[0]
    assert level.outcome == "budget" and level.recommended in ("off", "n1")
    assert "not settled when the budget ran out" in level.message
    interrupted = section_of(recs, spec, stops={1: "interrupted"}).levels[0]
    assert interrupted.outcome == "interrupted"


def test_a_round_cut_short_is_kept_but_not_judged(spec):
    """Interrupted in round 1: its records count in the estimates, not in the race's decisions
    (the partial round would drop n16 and settle the race, which the race itself never did)."""
    speed = {"off": 1.0, "n1": 1.0, "n3": 1.0, "n16": 3.5}
    recs = records(speed, 2)
    cut = recs[:len(recs) * 3 // 4]  # part of round 1
    level = section_of(cut, spec, stops={1: "interrupted"}, finished={1: 1}).levels[0]
    assert level.outcome == "interrupted" and [r.index for r in level.rounds] == [0]
    whole = section_of(cut, spec, stops={1: "interrupted"}).levels[0]
    assert [r.index for r in whole.rounds] == [0, 1]  # without the count, both rounds are judged
    before_any = section_of(recs[:10], spec, stops={1: "interrupted"}, finished={1: 0}).levels[0]
    assert before_any.outcome == "interrupted" and before_any.recommended is None
    assert "interrupted before the race's first round ended" in before_any.message


def test_every_level_asked_for_is_listed_with_why_it_has_no_result(tmp_path):
    s = load_scenario(scenario(tmp_path, "tune:\n  args: {--spec-draft-n-max: [1]}\n  sessions: [1, 2, 4]\n"))
    sec = section_of(records({"off": 1.0, "n1": 1.5}, 1), s.tune, stops={2: "interrupted", 4: "budget"})
    one, two, four = sec.levels
    assert one.recommended == "off" and two.outcome == "interrupted" and two.recommended is None
    assert four.message == "at 4 session(s): not raced, the budget ran out first" and not four.rounds
    assert len(level_rows(sec, two)) >= 1 and tune_markdown(sec)


def test_reports_and_plot(spec):
    sec = section_of(records({"off": 1.0, "n1": 0.8, "n3": 0.7, "n16": 1.9}, 3, drop={"n16": 0}), spec)
    assert sec.levels[0].recommended == "n3"
    assert sec.levels[0].saved_s > 0 and "faster than off" in sec.levels[0].message
    text = "\n".join(tune_markdown(sec))
    assert "### 1 session(s)" in text and "spec-draft-n-max 3" in text
    assert tune_png(sec, "t").startswith(b"\x89PNG")


def test_the_tuned_gate_is_a_scenario_that_loads(spec, tmp_path):
    sec = section_of(records({"off": 1.0, "n1": 0.8, "n3": 0.7, "n16": 1.9}, 3, drop={"n16": 0}), spec,
                     gate_scenario="tuned-gate.yaml")
    base = load_scenario(scenario(tmp_path))
    from replayer.trace import load_trace

    trace = tmp_path / "trace.json"
    trace.write_text((Path(__file__).resolve().parents[1] / "fixtures" / "tiny_trace.json").read_text())
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    text = gate_text(run_dir, base, [load_trace(trace)], None, sec, sec.levels[0])
    gate = run_dir / "tuned-gate.yaml"
    gate.write_text(text)
    g = load_scenario(gate)
    assert g.baseline == "current" and g.variant("tuned").args == ARMS[2].args and g.variant("current").args == ()
    assert g.gate is not None and g.traces[0].resolve() == trace.resolve()
    # the recommendation is the current setting: the best other arm stands in as the baseline
    off = section_of(records({"off": 1.0, "n1": 1.3, "n3": 1.6, "n16": 3.5}, 2, drop={"n16": 0, "n3": 0}), spec)
    doc = yaml.safe_load(gate_text(run_dir, base, [load_trace(trace)], None, off, off.levels[0]))
    assert doc["variants"]["tuned"]["args"] == [] and doc["variants"]["current"]["args"] == list(ARMS[1].args)
