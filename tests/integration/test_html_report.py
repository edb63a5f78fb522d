"""report.html in a real headless Chromium (Debian's chromium, installed by
`scripts/setup.sh --test`): the page of a real run (synthetic calibration on) loads with
no console message, every plot decodes, and a screenshot is not blank."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from scenarios import mtp_scenario

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "fixtures" / "tiny_trace.json"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--enable-logging=stderr", "--v=0"]


@pytest.fixture(scope="module")
def chromium() -> str:
    path = os.environ.get("REPLAYER_CHROMIUM") or shutil.which("chromium")
    if path:
        return path
    reason = "Chromium is not installed: run ./scripts/setup.sh --test (Debian package chromium)"
    if os.environ.get("CI"):
        pytest.fail(reason)  # CI installs it; a skip there would hide a broken set-up
    pytest.skip(reason)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("html")
    scenario = mtp_scenario(tmp / "s.yaml", "html", [TINY], extra=(
        "synthetic: {pp: [128], tg: [24], depths: [0, 1024], shaped: [code], probe_prompt_tokens: 128, "
        "probe_tokens: 24}\n"))
    done = subprocess.run([sys.executable, "-m", "replayer.cli", "run", str(scenario), "--out", str(tmp / "run")],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return tmp / "run" / "report.html"


def browse(chromium: str, page: Path, *args: str, profile: Path) -> subprocess.CompletedProcess:
    return subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()],
                          capture_output=True, text=True, timeout=120)


def test_the_report_is_one_self_contained_file(report):
    html = report.read_text()
    assert "<script src" not in html and "<link" not in html and "http://" not in html and "https://" not in html
    for section in ("mtp-on vs mtp-off", "Per turn", "Synthetic vs real", "Equality at temperature 0",
                    "Provenance", "not measured (no NVIDIA GPU)", "SYNTHETIC WEIGHTS"):
        assert section in html, section


def test_the_page_loads_in_chromium_with_every_plot_and_no_console_message(chromium, report, tmp_path):
    dom = browse(chromium, report, "--dump-dom", profile=tmp_path / "p1")
    assert dom.returncode == 0, dom.stderr[-2000:]
    body = re.search(r"<body[^>]*>", dom.stdout).group(0)
    ok = int(re.search(r'data-plots-ok="(\d+)"', body).group(1))
    total = int(re.search(r'data-plots-total="(\d+)"', body).group(1))
    # by turn kind, per-turn times, speedups, acceptance, synthetic vs real, predicted vs measured
    assert total == ok == 6, body
    # console.error from the page's own check, uncaught errors, failed loads: all logged as CONSOLE
    assert "CONSOLE" not in dom.stderr, [line for line in dom.stderr.splitlines() if "CONSOLE" in line]


def test_a_screenshot_of_the_page_is_not_blank(chromium, report, tmp_path):
    from matplotlib import image

    shot = tmp_path / "page.png"
    done = browse(chromium, report, f"--screenshot={shot}", "--window-size=1200,2400", profile=tmp_path / "p2")
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    pixels = image.imread(str(shot))
    assert pixels.shape[0] >= 2000 and pixels.shape[1] >= 1000
    gray = pixels[..., :3].mean(axis=2)
    assert gray.std() > 0.05  # text, tables and plots, not a white page
    assert (gray < 0.5).mean() > 0.01  # a fair share of dark pixels: something was drawn
