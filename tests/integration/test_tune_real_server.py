"""`replay tune` and agents within an SLO on real llama-server processes: the race ranks the arms as
the exhaustive grid does, drops a bad arm in its first round, reports an arm that cannot draft
instead of ranking it, keeps what it decided when interrupted; an SLO search finds each arm's
largest level."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from scenarios import Quiet, like_a_terminal, short_session

from replayer.api import Overrides, TuneOverrides, run_scenario, tune_scenario
from replayer.scenario.load import load_scenario

pytestmark = pytest.mark.integration

ARGS = "[-c, 8192, -np, 1, --fit, 'off', -fa, 'off', --poll, 0, -t, 2, --cache-ram, 0, --metrics, --no-webui]"


def write(tmp_path: Path, body: str, model: str = "synthetic-echo-mtp70", turns: int = 8, chars: int = 400) -> Path:
    trace = short_session(tmp_path / "short.json", turns=turns, chars=chars)
    p = tmp_path / "s.yaml"
    p.write_text(f"""\
version: 1
name: tune-test
traces: [{trace}]
server:
  model: {model}
  args: {ARGS}
variants:
  mtp-off: {{}}
  mtp-on: {{args: [--spec-type, draft-mtp, --spec-draft-n-max, 3]}}
baseline: mtp-off
{body}""")
    return p


def no_server_left(run_dir: Path) -> bool:
    return str(run_dir) not in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout


def arms(level) -> dict:
    return {a.variant: a for a in level.arms}


def test_tune_ranks_as_the_grid_and_drops_a_bad_arm_first(tmp_path):
    """On the embedded CPU model every draft costs more than it saves: off first, n-max 1 ahead of 6
    (the grid's order, docs/synthetic.md), and n-max 16 gone after the first round."""
    p = write(tmp_path, "tune:\n  args: {--spec-draft-n-max: [1, 6, 16]}\n  sample: 4\n  max_rounds: 3\n")
    outcome = tune_scenario(load_scenario(p), Overrides(out=str(tmp_path / "run")), TuneOverrides(), lambda n: Quiet())
    tune = outcome.summary.tune
    level = tune.levels[0]
    a = arms(level)
    n1, n6, n16 = (a[f"mtp-on[--spec-draft-n-max={n}]"] for n in (1, 6, 16))
    assert n16.status == "dropped" and n16.dropped_round == 0, n16
    assert level.recommended == "mtp-off" and level.outcome in ("confident", "rounds"), level.message
    assert n1.estimate is not None and n6.estimate is not None and 1.0 < n1.estimate < n6.estimate
    assert all(x.acceptance and 0 < x.acceptance < 1 for x in (n1, n6, n16))  # proven live
    assert tune.server_s > 0 and level.rounds[0].turns  # every round says what it sampled
    records = [json.loads(x) for x in (outcome.run_dir / "results.jsonl").read_text().splitlines()]
    assert any(r["prime_ms"] for r in records)  # sampled turns were primed to the session's cache
    # each sampled turn found the cache the session had: only its own new tokens were processed
    primed = [r for r in records if r["prime_ms"] and r["error"] is None]
    assert all(r["cache_n"] > r["prompt_n"] for r in primed)
    gate = load_scenario(outcome.run_dir / "tuned-gate.yaml")
    assert gate.gate is not None and {v.name for v in gate.variants} == {"current", "tuned"}
    assert "Tune" in (outcome.run_dir / "report.md").read_text()
    assert outcome.exit_code in (0, 3) and no_server_left(outcome.run_dir)


def test_tune_on_the_deep_model_puts_a_drafting_arm_first(tmp_path):
    """The deep synthetic model's trunk costs far more than its head: drafting wins on 2 cores."""
    p = write(tmp_path, "tune:\n  args: {--spec-draft-n-max: [3]}\n  sample: 3\n  max_rounds: 3\n",
              model="synthetic-deep-mtp80", turns=7, chars=300)
    outcome = tune_scenario(load_scenario(p), Overrides(out=str(tmp_path / "run")), TuneOverrides(), lambda n: Quiet())
    level = outcome.summary.tune.levels[0]
    a = arms(level)["mtp-on[--spec-draft-n-max=3]"]
    assert level.recommended == "mtp-on[--spec-draft-n-max=3]", level.message
    assert a.estimate < 1.0 and level.saved_s > 0
    assert "--spec-draft-n-max 3" in (outcome.run_dir / "tuned-gate.yaml").read_text()


def test_an_arm_that_cannot_draft_is_reported_not_ranked(tmp_path):
    """An n-gram drafter on a session whose answers repeat nothing of their prompts drafts nothing;
    a draft-simple arm without a draft model falls back to no speculation at start: neither is ranked."""
    body = ("tune:\n  args: {--spec-draft-n-max: [1]}\n  sample: 3\n  max_rounds: 1\n")
    p = write(tmp_path, body, turns=4)
    text = p.read_text().replace("baseline: mtp-off", "  ngram: {args: [--spec-type, ngram-simple]}\n"
                                 "  simple: {args: [--spec-type, draft-simple]}\nbaseline: mtp-off")
    p.write_text(text)
    outcome = tune_scenario(load_scenario(p), Overrides(out=str(tmp_path / "run")), TuneOverrides(), lambda n: Quiet())
    a = arms(outcome.summary.tune.levels[0])
    assert a["simple"].status == "not-live" and "speculative=false" in a["simple"].reason
    assert a["ngram"].status == "not-live" and "drafted no token" in a["ngram"].reason
    assert a["ngram"].estimate is not None or a["ngram"].rounds == 1  # it ran, was measured, and is not ranked
    assert outcome.summary.tune.levels[0].recommended not in ("ngram", "simple")
    assert no_server_left(outcome.run_dir)


def test_ctrl_c_keeps_every_finished_turn_and_what_was_decided(tmp_path):
    """Two levels: the first is always decided (at most two rounds); Ctrl-C comes as the second
    starts its servers, before any of its rounds can end. Which arm level 1 picks depends on the
    machine; that its decision survives the interrupt does not."""
    p = write(tmp_path, "tune:\n  args: {--spec-draft-n-max: [1]}\n  sample: 4\n  max_rounds: 2\n"
                        "  sessions: [1, 2]\n")
    run_dir = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "replayer.cli", "tune", str(p), "--out", str(run_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=like_a_terminal)
    lines: list[str] = []
    level_2 = threading.Event()

    def read() -> None:
        for line in proc.stderr:
            lines.append(line)
            if "tune: 2 session(s) in flight" in line:
                level_2.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    level_2.wait(timeout=300)
    seen = len((run_dir / "results.jsonl").read_text().splitlines()) if level_2.is_set() else 0
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.terminate()  # the run this test started: SIGTERM still stops its servers
        proc.wait(timeout=60)
        raise AssertionError("replay tune did not stop within 60 s of SIGINT") from None
    reader.join(timeout=10)
    err = "".join(lines)
    assert level_2.is_set() and proc.returncode == 130, err
    kept = (run_dir / "results.jsonl").read_text().splitlines()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["run"]["interrupted"] is True and len(kept) >= seen >= 8
    first, second = summary["tune"]["levels"]
    assert first["sessions"] == 1 and first["outcome"] in ("confident", "tie", "rounds") and first["recommended"]
    assert second["sessions"] == 2 and second["outcome"] == "interrupted", err
    assert first["message"] in (run_dir / "report.md").read_text()
    assert no_server_left(run_dir)


def test_an_slo_search_reports_the_largest_level_per_arm(tmp_path):
    """A bound on time to first token that one session meets and three do not: the bisection
    finds each arm's largest level, and every level has a speedup interval at one repetition."""
    p = write(tmp_path, "load:\n  sessions: auto\n  sessions_max: 4\n  slo: {ttft_p90_s: 0.6}\n", turns=3)
    outcome = run_scenario(load_scenario(p), Overrides(out=str(tmp_path / "run")), lambda n: Quiet())
    load = outcome.summary.load
    slo = load.slo
    assert slo is not None and slo.searched and set(slo.largest) == {"mtp-off", "mtp-on"}
    ran = [lv.sessions for lv in load.levels]
    assert ran[0] == 1 and len(ran) == len(set(ran)) and max(ran) <= 4
    for arm, largest in slo.largest.items():
        met = {lv.sessions for lv in slo.levels if lv.passed.get(arm)}
        assert largest == max(met, default=0)
        if slo.bounded[arm] and largest:
            assert any(lv.sessions == largest + 1 or lv.sessions > largest for lv in slo.levels
                       if not lv.passed.get(arm))
    for lv in load.levels:
        assert lv.speedup_ci["mtp-on"] is not None
        for a in lv.arms.values():
            assert a.ttft_p90_s is not None and a.session_decode_tok_s_p10 is not None
    assert "agent(s) within it" in (outcome.run_dir / "report.md").read_text()
    assert no_server_left(outcome.run_dir)
