"""What every real-client recording test checks once the session is recorded: the trace
carries no key, each turn has the prompt tokens the server reported, and it replays on
MTP off and on with no error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from scenarios import mtp_scenario

from replayer.runner.endpoint import Endpoint
from replayer.sources.record import journal_path
from replayer.trace import Trace

ROOT = Path(__file__).resolve().parents[2]


def no_key(out: Path, key: str) -> None:
    for path in (out, journal_path(out)):
        assert key.encode() not in path.read_bytes(), path


def same_prompt_tokens(trace: Trace, server_url: str) -> None:
    """Rendered through the server's chat template, each turn's request has exactly the prompt
    tokens the server reported for the request the client sent (whatever API it spoke), and
    `replay inspect --server` says so."""
    counter = Endpoint("count", server_url)
    for turn in trace.turns():
        counted = counter.count_chat_tokens({"messages": turn.messages, **({"tools": turn.tools} if turn.tools else {})})
        assert counted == turn.response["usage"]["prompt_tokens"], turn.index
    shown = subprocess.run([sys.executable, "-m", "replayer.cli", "inspect", str(trace.path), "--server", server_url],
                           cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "200"})
    assert shown.returncode == 0, shown.stderr
    n = trace.n_turns
    assert f"prompt tokens equal the usage the server reported when the session was recorded on {n} of {n} turn(s)" \
        in shown.stdout, shown.stdout[-2000:]


def replays_on_both_arms(trace_path: Path, turns: int, tmp_path: Path, ctx: int) -> None:
    scenario = mtp_scenario(tmp_path / "recorded.yaml", "recorded", [trace_path], ctx=ctx, extra="replay: {warmup: 0}\n")
    run_dir = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "replayer.cli", "run", str(scenario), "--out", str(run_dir)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = json.loads((run_dir / "summary.json").read_text())
    for name in ("mtp-off", "mtp-on"):
        assert summary["variants"][name]["turns"] == turns and summary["variants"][name]["errors"] == 0
    assert summary["variants"]["mtp-on"]["spec_live"] is True
