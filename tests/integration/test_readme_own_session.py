"""The README's "Replay your own session" commands, run verbatim on a recorded session (an
OpenCode export): import, inspect, a run with no scenario file, and the gate grown from the
scenario it wrote. Without a terminal, as in CI: the table's rows are single lines."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Replay your own session", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [ln for ln in block.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def test_the_readme_takes_a_newcomer_from_a_session_file_to_a_gate(tmp_path):
    if not (ROOT / ".venv" / "bin" / "replay").exists():
        pytest.skip("the README's commands use .venv/bin/replay: run ./scripts/setup.sh first")
    for name in (".venv", "tests"):  # the commands' relative paths, from a directory of the test's own
        (tmp_path / name).symlink_to(ROOT / name)
    commands = readme_commands()
    assert [c.split()[1] if c.startswith(".venv") else c.split()[0] for c in commands] == \
        ["import", "inspect", "run", "echo", "run"]
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    outputs = []
    for command in commands:
        done = subprocess.run(["bash", "-c", command], cwd=tmp_path, capture_output=True, text=True, timeout=900,
                              env=env)
        outputs.append(done)
        allowed = (0, 1, 3) if command == commands[-1] else (0,)  # the gate's verdict is the machine's to give
        assert done.returncode in allowed, (command, done.stdout[-3000:], done.stderr[-3000:])
    run = outputs[2].stdout
    assert re.search(r"Total LLM wall-clock \(s\) +│ +[\d.]+ │ +[\d.]+ │ +[\d.]+x", run), run
    assert (tmp_path / "runs" / "my-session" / "summary.json").is_file()
    gated = outputs[4].stdout + outputs[4].stderr
    assert "gate mtp-on: " in gated, gated
