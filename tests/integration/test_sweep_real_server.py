"""A sweep of the MTP draft length on real llama-server processes: one server per point,
all arms interleaved, a table in summary.json and report.md, and a real PNG."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from scenarios import mtp_scenario

from replayer.api import Overrides, run_scenario
from replayer.scenario.load import load_scenario

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


class Quiet:
    def turn_done(self, record):
        pass

    def log(self, message):
        pass


def test_draft_length_sweep_produces_the_table_and_the_plot(tmp_path):
    trace = ROOT / "tests" / "fixtures" / "tiny_trace.json"
    scenario = mtp_scenario(tmp_path / "sweep.yaml", "sweep-test", [trace], extra="""\
sweep:
  variant: mtp-on
  args:
    --spec-draft-n-max: [1, 2, 4, 8]
""")
    outcome = run_scenario(load_scenario(scenario), Overrides(out=str(tmp_path / "run")), lambda n: Quiet())
    assert outcome.exit_code == 0, outcome.problems
    table = outcome.summary["sweep"]
    values = [r["parameters"]["--spec-draft-n-max"] for r in table["rows"] if not r["is_baseline"]]
    assert values == [1, 2, 4, 8]
    assert table["best"] in {r["variant"] for r in table["rows"]}
    accepted = {r["parameters"]["--spec-draft-n-max"]: r["acceptance"] for r in table["rows"] if not r["is_baseline"]}
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
