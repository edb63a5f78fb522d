"""The scenario most integration tests replay: the synthetic MTP model, the common
flags pinned, MTP off (baseline) against MTP on with 3 drafted tokens; and a silent
progress reporter for runs driven through the API."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from replayer.pipeline.units import Silent as Quiet  # noqa: F401  (the Reporter protocol, saying nothing)


def mtp_scenario(path: Path, name: str, traces: list[Path], ctx: int = 8192, extra: str = "") -> Path:
    """Write it to ``path``; ``extra`` is more top-level YAML (replay:, synthetic:, sweep:, ...)."""
    path.write_text(f"""\
version: 1
name: {name}
traces: [{", ".join(str(t) for t in traces)}]
server:
  model: synthetic-echo-mtp70
  args: [-c, {ctx}, -np, 1, --fit, 'off', -fa, 'off', --poll, 0, -t, 2, --cache-ram, 0, --metrics, --no-webui]
variants:
  mtp-off: {{}}
  mtp-on: {{args: [--spec-type, draft-mtp, --spec-draft-n-max, 3]}}
baseline: mtp-off
{extra}""")
    return path




def like_a_terminal() -> None:
    """SIGINT back to its default in the child: a shell that runs this suite as a background
    job ignores SIGINT in it, children inherit that, and Python then never raises
    KeyboardInterrupt. A terminal's Ctrl-C reaches a foreground run with the default."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def interrupt_run(scenario: Path, run_dir: Path, after_lines: int, *extra: str) -> tuple[int, str, list[dict]]:
    """`replay run` in a subprocess, SIGINT once ``after_lines`` turns are in results.jsonl:
    its exit code, its stderr and the results it kept."""
    proc = subprocess.Popen([sys.executable, "-m", "replayer.cli", "run", str(scenario), "--out", str(run_dir),
                             *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=like_a_terminal)
    results = run_dir / "results.jsonl"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if results.is_file() and len(results.read_text().splitlines()) >= after_lines:
            break
        time.sleep(0.2)
    else:
        proc.kill()  # the run this helper started
        proc.communicate()
        raise AssertionError("no turn finished in time")
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.terminate()  # the run this helper started: SIGTERM, so that it still stops its servers
        proc.communicate(timeout=60)
        raise AssertionError("replay run did not stop within 60 s of SIGINT") from None
    return proc.returncode, err, [json.loads(x) for x in results.read_text().splitlines()]



def short_session(path: Path, turns: int = 12, chars: int = 600, completion: int | None = None,
                  name: str = "short") -> Path:
    """tools/short_session.py's cut of the flagship, written to ``path``: prompts of a few thousand
    tokens, so that arms and rounds that each start from an empty cache stay quick."""
    from tools.short_session import short_session as cut

    path.write_text(json.dumps(cut(turns, chars, completion, name)), encoding="utf-8")
    return path
