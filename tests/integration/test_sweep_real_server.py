"""A sweep of the MTP draft length on real llama-server processes: one server per point,
all arms interleaved, a table in summary.json and report.md, and a real PNG."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import pytest
from scenarios import Quiet, mtp_scenario

from replayer.api import Overrides, run_scenario
from replayer.scenario.load import load_scenario

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def test_draft_length_sweep_produces_the_table_and_the_plot(tmp_path):
    trace = ROOT / "tests" / "fixtures" / "tiny_trace.json"
    scenario = mtp_scenario(tmp_path / "sweep.yaml", "sweep-test", [trace], extra="""\
sweep:
  variant: mtp-on
  args:
    --spec-draft-n-max: [1, 2, 4, 8]
""")
    # a generous gate, so the run also writes junit.xml
    overrides = Overrides(out=str(tmp_path / "run"), gate={"max_slowdown": 5.0, "max_repetitions": 1})
    outcome = run_scenario(load_scenario(scenario), overrides, lambda n: Quiet())
    assert outcome.exit_code in (0, 3), (outcome.summary.problems, [c.gate for c in outcome.summary.comparisons])
    table = outcome.summary.sweep
    values = [r.parameters["--spec-draft-n-max"] for r in table.rows if not r.is_baseline]
    assert values == [1, 2, 4, 8]
    assert table.best in {r.variant for r in table.rows}
    accepted = {r.parameters["--spec-draft-n-max"]: r.acceptance for r in table.rows if not r.is_baseline}
    assert accepted[1] > accepted[8]  # a 70%-accurate head: longer drafts are accepted less often
    png = outcome.run_dir / "sweep.png"
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    import matplotlib.image

    pixels = matplotlib.image.imread(png)
    assert pixels.shape[0] > 200 and pixels.shape[1] > 300 and pixels.std() > 0.01
    report = (outcome.run_dir / "report.md").read_text()
    assert "## Sweep of mtp-on: --spec-draft-n-max" in report and "(best)" in report
    # report.html carries the same plot, inlined
    html = (outcome.run_dir / "report.html").read_text()
    assert "<h2>Sweep</h2>" in html and base64.b64encode(data).decode()[:200] in html

    # every export is a function of summary.json and results.jsonl: `replay report` writes them again
    exports = ["report.md", "report.html", "junit.xml", "sweep.png"]
    before = {name: (outcome.run_dir / name).read_bytes() for name in exports}
    for name in exports:
        (outcome.run_dir / name).unlink()
    again = subprocess.run([sys.executable, "-m", "replayer.cli", "report", str(outcome.run_dir)], cwd=ROOT,
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    for name in exports:
        assert (outcome.run_dir / name).is_file(), name
    assert (outcome.run_dir / "report.md").read_bytes() == before["report.md"]
    assert (outcome.run_dir / "junit.xml").read_bytes() == before["junit.xml"]
    assert (outcome.run_dir / "sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
