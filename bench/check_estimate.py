"""Benchmark: how close `replay check`'s run-time estimate comes to the run it estimates.

    .venv/bin/python bench/check_estimate.py [--scenario scenarios/cli_tool.yaml] [--runs N]

Each run: `replay check SCENARIO` (the estimate and how long the check itself took), then
`replay run SCENARIO` right after, and the estimate against the run's measured LLM
wall-clock summed over the arms (what the estimate models: prefill, decode and request
handling on the servers). Ends with the spread of the error over the runs. Prints figures;
asserts nothing (aim: within +-20 % on this noisy 2-core machine).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from replayer.pipeline.check import check  # noqa: E402
from replayer.scenario.load import load_scenario  # noqa: E402


def one_run(scenario: Path, workdir: Path, k: int) -> tuple[float, float, float]:
    """(estimated s, measured s, check's own s)."""
    started = time.monotonic()
    report = check(load_scenario(scenario), None, None)
    took = time.monotonic() - started
    if report.estimate is None or report.estimate.seconds is None:
        raise SystemExit(f"run {k}: replay check gave no time estimate: {report.findings}")
    out = workdir / f"run{k}"
    done = subprocess.run([sys.executable, "-m", "replayer.cli", "run", str(scenario), "--out", str(out)],
                          capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"run {k}: replay run exited {done.returncode}: {done.stderr.strip()[-400:]}")
    summary = json.loads((out / "summary.json").read_text())
    measured = sum(v["wall_s"] for v in summary["variants"].values())
    return report.estimate.seconds, measured, took


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "cli_tool.yaml")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    errors = []
    print(f"{'run':>3}  {'estimate s':>10}  {'measured s':>10}  {'error':>7}  {'check took s':>12}")
    with tempfile.TemporaryDirectory(prefix="check-estimate-") as tmp:
        for k in range(args.runs):
            estimated, measured, took = one_run(args.scenario, Path(tmp), k)
            errors.append(estimated / measured - 1)
            print(f"{k + 1:>3}  {estimated:>10.1f}  {measured:>10.1f}  {errors[-1]:>+7.1%}  {took:>12.1f}", flush=True)
    if len(errors) > 1:
        print(f"error: min {min(errors):+.1%}, median {statistics.median(errors):+.1%}, max {max(errors):+.1%} "
              f"over {len(errors)} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
