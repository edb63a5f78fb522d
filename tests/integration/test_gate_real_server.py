"""The regression gate against real llama-server processes on the synthetic MTP model:
an A/A comparison is never called a regression, and injected slowdowns exit 1."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TRACE = ROOT / "traces" / "cli_tool.json"


def gate_run(tmp_path: Path, base_args: str, cand_args: str, common_threads: bool = True, turns: int = 4,
             repetitions: int = 2, max_repetitions: int = 4, max_slowdown: float = 0.05, extra: tuple = ()):
    threads = "-t, 2, " if common_threads else ""
    scenario = tmp_path / "gate.yaml"
    scenario.write_text(f"""\
version: 1
name: gate-test
traces: [{TRACE}]
server:
  model: synthetic-echo-mtp70
  args: [-c, 16384, -np, 1, --fit, "off", -fa, "off", --poll, 0, {threads}--cache-ram, 0, --metrics, --no-webui]
variants:
  baseline: {{args: {base_args}}}
  candidate: {{args: {cand_args}}}
replay: {{turns: {turns}, repetitions: {repetitions}}}
gate: {{max_slowdown: {max_slowdown}, max_repetitions: {max_repetitions}}}
""")
    out = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "replayer.cli", "run", str(scenario), "--out", str(out), *extra],
                          capture_output=True, text=True, timeout=900, env={**os.environ, "COLUMNS": "200"})
    summary = json.loads((out / "summary.json").read_text())
    if extra:
        return done, summary["comparisons"], out
    return done, summary["comparisons"][0], out


def test_fewer_threads_on_the_candidate_is_a_regression(tmp_path):
    done, comp, out = gate_run(tmp_path, "[-t, 2]", "[-t, 1]", common_threads=False)
    assert done.returncode == 1, done.stdout + done.stderr
    assert comp["gate"]["verdict"] == "regression" and comp["wall_ratio_ci"][0] > 1.05
    assert "gate candidate: regression" in done.stdout
    junit = (out / "junit.xml").read_text()
    assert 'failures="1"' in junit and "<failure" in junit
    assert "**REGRESSION**" in (out / "report.md").read_text()

    # `replay compare` on the saved run gives the same verdict and interval
    cmp = subprocess.run([sys.executable, "-m", "replayer.cli", "compare", str(out), str(out), "--baseline-variant",
                          "baseline", "--candidate-variant", "candidate", "--out", str(tmp_path / "cmp.json")],
                         capture_output=True, text=True, timeout=120)
    assert cmp.returncode == 1, cmp.stderr
    again = json.loads((tmp_path / "cmp.json").read_text())["comparisons"][0]
    assert again["gate"]["verdict"] == "regression" and again["wall_ratio_ci"] == comp["wall_ratio_ci"]

    # a threshold inside the interval: too few repetitions to tell, exit 3, and how many more would likely do
    # (the midpoint of the interval: the median estimate can sit on one of its ends)
    lo, hi = comp["wall_ratio_ci"]
    assert lo < hi, comp["wall_ratio_ci"]
    straddle = subprocess.run([sys.executable, "-m", "replayer.cli", "compare", str(out), str(out),
                               "--baseline-variant", "baseline", "--candidate-variant", "candidate",
                               "--max-slowdown", f"{(lo + hi) / 2 - 1:.6f}"],
                              capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200"})
    assert straddle.returncode == 3, straddle.stdout + straddle.stderr
    assert re.search(r"inconclusive: .* straddles .* about \d+ more repetition\(s\) would likely settle it",
                     straddle.stdout), straddle.stdout

    # ... and refuses runs that are not comparable, saying what differs
    other = tmp_path / "other"
    shutil.copytree(out, other)
    summary = json.loads((other / "summary.json").read_text())
    summary["model"]["sha256"] = "f" * 64
    (other / "summary.json").write_text(json.dumps(summary))
    refused = subprocess.run([sys.executable, "-m", "replayer.cli", "compare", str(out), str(other)],
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "not comparable" in refused.stderr and "model files differ" in refused.stderr
    forced = subprocess.run([sys.executable, "-m", "replayer.cli", "compare", str(out), str(other), "--force"],
                            capture_output=True, text=True, timeout=120)
    assert forced.returncode == 0 and "forced past a difference" in forced.stdout  # same arm on both sides


def test_a_long_mtp_draft_on_a_70_percent_head_is_a_regression(tmp_path):
    done, comp, _ = gate_run(tmp_path, "[--spec-type, draft-mtp, --spec-draft-n-max, 3]",
                             "[--spec-type, draft-mtp, --spec-draft-n-max, 16]")
    assert done.returncode == 1, done.stdout + done.stderr
    assert comp["gate"]["verdict"] == "regression"
    assert comp["diverged_turns"] == 0  # slower, not different


def test_the_same_flags_on_both_arms_are_never_called_a_regression(tmp_path):
    # --aa adds a third identical server: the gate's own noise check, judged first
    done, comps, _ = gate_run(tmp_path, "[]", "[]", max_slowdown=0.10, extra=("--aa",))
    comp, aa = comps
    assert aa["candidate"] == "baseline-aa" and aa["aa"] is True and not comp["aa"]
    assert aa["gate"]["verdict"] in ("pass", "inconclusive") and aa["gate"]["message"].startswith("A/A noise")
    assert comp["gate"]["verdict"] in ("pass", "inconclusive"), comp["gate"]["message"]
    assert done.returncode == (3 if "inconclusive" in (comp["gate"]["verdict"], aa["gate"]["verdict"]) else 0)
    assert comp["wall_ratio_ci"][0] < 1.10
