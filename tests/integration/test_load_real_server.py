"""Concurrent sessions against real llama-server processes with --parallel slots: the load
section per level, speculation on every slot, equality against turns replayed alone, and
faults under load (a server killed with sessions in flight, Ctrl-C)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from scenarios import Quiet, interrupt_run, mtp_scenario

from replayer.api import Overrides, run_scenario
from replayer.scenario.load import load_scenario

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "fixtures" / "tiny_trace.json"
LOAD = "load: {sessions: [1, 2], parallel: match}\n"


def no_server_left(run_dir: Path) -> bool:
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return str(run_dir) not in out


def test_levels_one_and_two_give_the_load_section(tmp_path):
    scenario = mtp_scenario(tmp_path / "s.yaml", "load-test", [TINY], extra=LOAD)
    outcome = run_scenario(load_scenario(scenario), Overrides(out=str(tmp_path / "run")), lambda n: Quiet())
    s = outcome.summary
    assert outcome.exit_code == 0, s.problems
    load = s.load
    assert [lv.sessions for lv in load.levels] == [1, 2]
    one, two = load.levels
    for level in (one, two):
        off, on = level.arms["mtp-off"], level.arms["mtp-on"]
        assert off.slots == on.slots == level.sessions
        assert off.requests == on.requests == 3 * level.sessions_total and off.errors == on.errors == 0
        assert off.generated_tok_s > 0 and on.generated_tok_s > 0 and level.speedup["mtp-on"] > 0
        assert off.latency_p50_ms <= off.latency_p90_ms <= off.latency_p99_ms
        assert on.acceptance > 0 and off.acceptance is None
        # speculation on every slot of the on-arm, none on the off-arm
        assert set(on.slot_drafted) == {str(k) for k in range(level.sessions)}
        assert all(n > 0 for n in on.slot_drafted.values()) and all(n == 0 for n in off.slot_drafted.values())
        assert on.slots_speculative is True and off.slots_speculative is False
    # level 1 replays both sessions one at a time: every turn at level 2 has its alone reference
    assert one.sessions_total == 2 and two.sessions_total == 2
    assert two.compared_alone["mtp-on"] == 6 and two.compared_alone["mtp-off"] == 6
    assert two.diverged_alone["mtp-off"] == 0  # the same arm, the same prompt: only batching differs
    records = [json.loads(x) for x in (outcome.run_dir / "results.jsonl").read_text().splitlines()]
    assert len(records) == 2 * 3 * (2 + 2)
    assert {(r["level"], r["session"]) for r in records} == {(1, 0), (1, 1), (2, 0), (2, 1)}
    assert "## Concurrent sessions" in (outcome.run_dir / "report.md").read_text()
    assert "Concurrent sessions" in (outcome.run_dir / "report.html").read_text()
    assert no_server_left(outcome.run_dir)


def test_a_server_killed_with_sessions_in_flight_keeps_every_finished_turn(tmp_path):
    killed = {}

    class KillAtLevelTwo(Quiet):
        def turn_done(self, record):
            if not killed and record.level == 2 and record.variant == "mtp-on":
                from replayer.runner.server import _LIVE

                victim = next(s for s in _LIVE if s.name == "mtp-on" and s.alive())
                victim.proc.kill()
                victim.proc.wait()
                killed["after"] = record.seq

    scenario = mtp_scenario(tmp_path / "s.yaml", "load-kill", [TINY], extra=LOAD)
    outcome = run_scenario(load_scenario(scenario), Overrides(out=str(tmp_path / "run")), lambda n: KillAtLevelTwo())
    assert killed, "the on-arm never reached level 2"
    records = [json.loads(x) for x in (outcome.run_dir / "results.jsonl").read_text().splitlines()]
    level_two_on = [r for r in records if r["level"] == 2 and r["variant"] == "mtp-on"]
    finished = [r for r in level_two_on if r["error"] is None]
    failed = [r for r in level_two_on if r["error"] is not None]
    assert finished and failed and all(r["error"]["type"] == "connection_error" for r in failed)
    assert all(r["error"] is None for r in records if r["variant"] == "mtp-off")
    assert outcome.exit_code == 1 and any("failed" in p for p in outcome.summary.problems)
    assert no_server_left(outcome.run_dir)


def test_ctrl_c_under_load_stops_every_server_and_keeps_finished_turns(tmp_path):
    scenario = mtp_scenario(tmp_path / "s.yaml", "load-sigint", [TINY],
                            extra="load: {sessions: [2], parallel: match}\nreplay: {repetitions: 200}\n")
    run_dir = tmp_path / "r"
    code, err, lines = interrupt_run(scenario, run_dir, 4)
    assert code == 130, err
    assert "Traceback" not in err
    assert len(lines) >= 4 and all(r["level"] == 2 for r in lines)
    assert all(r["error"] is None or r["error"]["type"] == "interrupted" for r in lines)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["run"]["interrupted"] is True and summary["load"]["levels"]
    assert no_server_left(run_dir)
