"""Two llama-server builds that report the same version are still told apart: `replay
compare` refuses runs whose server binary differs by one byte, naming the fingerprint."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from replayer.runner.binary import find_server_binary

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "fixtures" / "tiny_trace.json"


def one_turn_run(tmp_path: Path, name: str, *server_bin: str) -> Path:
    scenario = tmp_path / "fp.yaml"
    scenario.write_text(f"""\
version: 1
name: fingerprint
traces: [{TINY}]
server:
  model: synthetic-echo
  args: [-c, 4096, -np, 1, --fit, 'off', -fa, 'off', --poll, 0, -t, 2, --cache-ram, 0, --no-webui]
variants:
  plain: {{}}
replay: {{turns: 1, warmup: 0}}
""")
    out = tmp_path / name
    done = subprocess.run([sys.executable, "-m", "replayer.cli", "run", str(scenario), "--out", str(out), *server_bin],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return out


def test_compare_refuses_a_server_binary_that_differs_by_one_byte(tmp_path):
    binary = find_server_binary()[0]
    copy = tmp_path / "bin"
    shutil.copytree(binary.parent, copy, symlinks=True)  # the libraries too: the binary finds them beside it
    with (copy / binary.name).open("ab") as fh:
        fh.write(b"\0")  # past the end of the ELF image: the program runs the same
    first = one_turn_run(tmp_path, "a")
    second = one_turn_run(tmp_path, "b", "--server-bin", str(copy / binary.name))

    servers = [json.loads((d / "summary.json").read_text())["variants"]["plain"]["server"] for d in (first, second)]
    assert servers[0]["version"] == servers[1]["version"]  # what the server says about itself is the same
    assert servers[0]["fingerprint"] != servers[1]["fingerprint"]
    assert {k for k in servers[0]["build_files"] if servers[0]["build_files"][k] != servers[1]["build_files"][k]} \
        == {binary.name}
    assert "cpu" in servers[0]["backends"] and any(k.startswith("libllama") for k in servers[0]["build_files"])

    refused = subprocess.run([sys.executable, "-m", "replayer.cli", "compare", str(first), str(second)],
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2, refused.stderr
    assert "llama-server binary fingerprint differs" in refused.stderr and f"(files: {binary.name})" in refused.stderr
    forced = subprocess.run([sys.executable, "-m", "replayer.cli", "compare", str(first), str(second), "--force"],
                            capture_output=True, text=True, timeout=120)
    assert forced.returncode != 2 and "forced past a difference" in forced.stdout, forced.stderr  # a verdict, not a refusal
