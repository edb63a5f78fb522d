"""The noise guard against a real run: a CPU-burning process started beside a short gated
run makes every report say the machine was busy, and the verdict inconclusive (exit 3)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "fixtures" / "tiny_trace.json"


def test_a_cpu_burner_beside_the_run_makes_the_verdict_inconclusive(tmp_path):
    scenario = tmp_path / "noisy.yaml"
    scenario.write_text(f"""\
version: 1
name: noisy
traces: [{TINY}]
server:
  model: synthetic-echo
  args: [-c, 4096, -np, 1, --fit, 'off', -fa, 'off', --poll, 0, -t, 2, --cache-ram, 0, --no-webui]
variants:
  a: {{}}
  b: {{}}
replay: {{warmup: 0, repetitions: 2}}
gate: {{max_slowdown: 5.0, max_repetitions: 2}}
""")
    out = tmp_path / "run"
    # foreign work: a process this test started, not one of the run's own tree
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        done = subprocess.run([sys.executable, "-m", "replayer.cli", "run", str(scenario), "--out", str(out)],
                              capture_output=True, text=True, timeout=300)
    finally:
        burner.kill()
        burner.wait()
    summary = json.loads((out / "summary.json").read_text())
    noise = summary["noise"]
    assert noise["busy"] and noise["foreign_cores_mean"] > 0.25, noise
    assert done.returncode == 3, done.stdout + done.stderr
    verdict = summary["comparisons"][0]["gate"]
    assert verdict["verdict"] == "inconclusive" and "the machine was busy" in verdict["message"]
    assert "--allow-noisy" in verdict["message"]
    for report in ("report.md", "report.html"):
        assert "the machine was busy" in (out / report).read_text()
    assert "the machine was busy" in done.stdout
