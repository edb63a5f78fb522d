"""Benchmark: how well the synthetic calibration predicts the real session on this machine.

    .venv/bin/python bench/synthetic_prediction.py [--scenario scenarios/cli_tool.yaml] [--turns N]
    .venv/bin/python bench/synthetic_prediction.py --run RUN_DIR      # figures of a finished --synthetic run

Runs `replay run SCENARIO --synthetic` (the session, then the calibration on the same
servers) and prints, per comparison: the synthetic tg and pp speedups, the measured and
predicted session speedups, the prediction errors (speedup and each arm's session
wall-clock), the gap decomposition and the classic-relation fit. Prints figures; asserts
nothing (the target, within +-10% on session wall-clock, is read off the output).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "cli_tool.yaml"))
    ap.add_argument("--turns", type=int)
    ap.add_argument("--run", type=Path, help="read this finished run instead of running one")
    args = ap.parse_args()
    run_dir = args.run
    if run_dir is None:
        run_dir = Path(tempfile.mkdtemp(prefix="replayer-synth-bench-")) / "run"
        cmd = [str(ROOT / ".venv" / "bin" / "replay"), "run", args.scenario, "--synthetic", "--out", str(run_dir)]
        if args.turns:
            cmd += ["--turns", str(args.turns)]
        print("command:", " ".join(cmd))
        t0 = time.monotonic()
        done = subprocess.run(cmd, capture_output=True, text=True)
        print(f"wall-clock of the command: {time.monotonic() - t0:.1f} s (exit {done.returncode})")
        if done.returncode != 0:
            print(done.stdout[-3000:], done.stderr[-3000:])
            return 1
    summary = json.loads((run_dir / "summary.json").read_text())
    for comp in summary["comparisons"]:
        syn = comp.get("synthetic")
        if not syn:
            print(f"{comp['candidate']} vs {comp['baseline']}: no synthetic figures")
            continue
        print(f"\n{comp['candidate']} vs {comp['baseline']} (speedup = baseline time / candidate time)")
        print(f"  synthetic tg speedup (depth 0): {syn['tg_speedup']:.3f}   by depth: "
              + ", ".join(f"d{d} {v:.3f}" for d, v in syn["tg_speedup_by_depth"].items()))
        print(f"  synthetic pp speedup (depth 0): {syn['pp_speedup']:.3f}   by depth: "
              + ", ".join(f"d{d} {v:.3f}" for d, v in syn["pp_speedup_by_depth"].items()))
        print(f"  session speedup measured {syn['session_speedup_measured']:.3f}, predicted "
              f"{syn['session_speedup_predicted']:.3f}: error {100 * syn['prediction_error']:+.1f}%")
        for arm in ("baseline", "candidate"):
            measured = sum(t[f"{arm}_measured_ms"] for t in syn["per_turn"]) / 1000
            print(f"  {arm} session wall-clock measured {measured:.2f} s, predicted {syn[f'{arm}_predicted_s']:.2f} s:"
                  f" error {100 * syn[f'{arm}_wall_error']:+.1f}%")
        print("  gap, synthetic tg -> real session, factor by factor:")
        for name, v in syn["gap_log"].items():
            print(f"    {name:42} x{math.exp(v):.3f}  share {100 * syn['gap'][name]:+.0f}%")
        fit = syn.get("speculative_fit")
        if fit:
            print(f"  classic relation: alpha {fit['alpha']:.3f}, c {fit['c']:.3f}, gamma {fit['gamma']} "
                  f"({fit['turns']} turns)")
        acc = syn["accepted_fraction"]
        print("  accepted drafts per generated token: " + ", ".join(f"{k} {100 * v:.1f}%" for k, v in acc.items()
                                                                   if v is not None))
    print(f"\nrun directory: {run_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
