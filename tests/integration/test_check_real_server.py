"""`replay check` on this machine, with the real llama-server and models: the flagship is
ready (CPU build, no GPU, the synthetic model's MTP layer, every turn fitting, a time), and
each way a run would fail is one PROBLEM line with its fix and exit code 2."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from replayer.models.gguf_facts import read_model_facts

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def check(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "replayer.cli", "check", *args], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)


def problems(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("PROBLEM")]


def test_the_flagship_is_ready_on_this_machine():
    done = check("scenarios/cli_tool.yaml")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "Traceback" not in done.stderr and problems(out) == []
    assert re.search(r"^build .*built with .*; backends cpu$", out, re.M)
    assert re.search(r"^gpus +none \(", out, re.M)
    assert "qwen35 (synthetic weights)" in out and "1 MTP layer(s), draft-mtp wired for it in this build" in out
    assert re.search(r"^ok +context: every turn fits the slot context of 61440 tokens .*cli_tool turn \d+", out, re.M)
    assert re.search(r"^ok +speculation: mtp-on: speculation live, \d+ of \d+ drafted", out, re.M)
    seconds = re.search(r"^estimate +about (\d+) (s|min) of server time", out, re.M)
    assert seconds and int(seconds.group(1)) > 0


def test_a_model_without_mtp_layers_is_refused_before_any_server_starts():
    started = time.monotonic()
    done = check("scenarios/cli_tool.yaml", "--model", "smollm2-135m")
    assert done.returncode == 4
    [line] = problems(done.stdout)
    assert "no MTP layers: draft-mtp cannot speculate with this model" in line and "fix:" in line
    assert "throw-away servers not started" in done.stdout
    assert time.monotonic() - started < 60


def test_a_context_too_small_for_the_flagship_names_its_longest_turn(tmp_path):
    text = (ROOT / "scenarios" / "cli_tool.yaml").read_text()
    small = text.replace("../traces/cli_tool.json", str(ROOT / "traces" / "cli_tool.json")).replace(
        "-c, 61440", "-c, 16384")
    assert small != text
    path = tmp_path / "small.yaml"
    path.write_text(small)
    done = check(str(path))
    assert done.returncode == 4, done.stdout
    [line] = problems(done.stdout)  # the trial itself sent nothing that cannot fit
    assert re.search(r"cannot fit the slot context of 16384 tokens .* the longest, cli_tool turn 39, needs \d+", line)
    assert re.search(r"fix: -c \d+ or more per slot", line)


def test_the_gpu_scenario_validates_and_is_refused_here_only_for_its_gpu():
    done = check("scenarios/cli_tool_gpu.yaml")
    assert done.returncode == 4
    [line] = problems(done.stdout)
    assert "puts the model on a GPU (-ngl all) but no GPU is visible" in line and "fix:" in line


def test_the_model_facts_come_from_the_gguf_metadata(synthetic_model, smollm2_path):
    synthetic = read_model_facts(synthetic_model("synthetic-echo-mtp70"))
    assert (synthetic.architecture, synthetic.mtp_layers, synthetic.synthetic, synthetic.mtp_wired) == \
        ("qwen35", 1, True, True)
    assert synthetic.training_context == 65536 and synthetic.kv_bytes_per_token and synthetic.parameters > 0
    smol = read_model_facts(smollm2_path)
    assert (smol.architecture, smol.mtp_layers, smol.synthetic, smol.training_context) == ("llama", 0, False, 8192)
    assert smol.kv_bytes_per_token == 30 * 3 * 64 * 2 * 2  # layers x kv heads x (key + value dims) x f16
