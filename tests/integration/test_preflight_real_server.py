"""A turn longer than the server's slot context, against a real llama-server: the run stops
before the first request naming the trace, the turn and the tokens (exit code 2), or, with
``replay: {oversize: skip}``, replays the rest and the summary says how many were left out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scenarios import Quiet

from replayer.api import Overrides, run_scenario
from replayer.scenario.load import load_scenario

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "fixtures" / "tiny_trace.json"
CTX = 2048


def long_trace(tmp_path: Path) -> Path:
    """The tiny trace with a tool output of ~4000 tokens before its last answer: turns 0 and 1
    fit a 2048-token context, turn 2 does not."""
    doc = json.loads(TINY.read_text())
    doc["name"] = "tiny-long"
    doc["conversation"][7]["content"] = "".join(f"line {i}: ok, nothing to report\n" for i in range(500))
    path = tmp_path / "long.json"
    path.write_text(json.dumps(doc))
    return path


def scenario(tmp_path: Path, oversize: str, load: str = "") -> Path:
    path = tmp_path / f"{oversize}.yaml"
    path.write_text(f"""\
version: 1
name: preflight
traces: [{long_trace(tmp_path)}]
server:
  model: synthetic-echo-mtp70
  args: [-c, {CTX}, -np, 1, --fit, 'off', -fa, 'off', --poll, 0, -t, 2, --cache-ram, 0, --metrics, --no-webui]
variants:
  mtp-off: {{}}
replay:
  warmup: 0
  oversize: {oversize}
{load}""")
    return path


def test_a_turn_longer_than_the_context_stops_the_run_before_the_first_request(tmp_path):
    run_dir = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "replayer.cli", "run", str(scenario(tmp_path, "fail")),
                           "--out", str(run_dir)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, done.stderr
    assert f"1 planned turn(s) cannot fit the slot context of {CTX} tokens: tiny-long turn 2 needs" in errors[0]
    assert "prompt + 48 generated" in errors[0] and "--turns 2" in errors[0] and "oversize: skip" in errors[0]
    results = run_dir / "results.jsonl"
    assert not results.exists() or results.read_text() == ""  # nothing was sent


def test_oversize_skip_replays_the_rest_and_the_summary_says_how_many_were_left_out(tmp_path):
    outcome = run_scenario(load_scenario(scenario(tmp_path, "skip")), Overrides(out=str(tmp_path / "run")),
                           lambda total: Quiet())
    assert outcome.exit_code == 0, outcome.summary.problems
    assert sorted(r.turn for r in outcome.records) == [0, 1]
    assert all(r.error is None for r in outcome.records)
    notes = [n for n in outcome.summary.notes if "left out" in n]
    assert len(notes) == 1 and notes[0].startswith("1 turn(s) left out (replay.oversize: skip)")
    assert "tiny-long turn 2 needs" in notes[0]
    assert "1 turn(s) left out" in (outcome.run_dir / "report.md").read_text()


def test_under_load_the_preflight_stops_the_run_at_the_first_level_before_any_request(tmp_path):
    run_dir = tmp_path / "run"
    load = "load:\n  sessions: [2]\n  parallel: match\n"
    done = subprocess.run([sys.executable, "-m", "replayer.cli", "run", str(scenario(tmp_path, "fail", load)),
                           "--out", str(run_dir)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "tiny-long turn 2 needs" in errors[0], done.stderr
    results = run_dir / "results.jsonl"
    assert not results.exists() or results.read_text() == ""
