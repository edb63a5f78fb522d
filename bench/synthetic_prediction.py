"""Benchmark: how well the synthetic calibration predicts the real session on this machine.

    .venv/bin/python bench/synthetic_prediction.py [--scenario scenarios/cli_tool.yaml] [--turns N] [--runs N]
    .venv/bin/python bench/synthetic_prediction.py --run RUN_DIR      # figures of a finished --synthetic run

Runs `replay run SCENARIO --synthetic` (the session, with the calibration interleaved on
twin servers) and prints, per comparison: the synthetic tg and pp speedups, the measured
and predicted session speedups with the forecast's 95 % bootstrap interval, the prediction
errors (speedup and each arm's session wall-clock), the gap decomposition and the
classic-relation fit, and the calibration's server time. It also prints, per arm, the real
session's prefill time over the shape-matched session's, turn for turn (the same prompt
tokens; the shaped turns generate fewer): how much the machine's speed differed between
the two. With --runs N it does that N times and ends with a table of the runs and the
spread of the measured session speedup itself and of each error. Prints figures; asserts
nothing (targets: speedup error within +-5 %, each arm within +-10 %, calibration < 60 s).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
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
    ap.add_argument("--runs", type=int, default=1, help="run it this many times and print the spread")
    ap.add_argument("--run", type=Path, help="read this finished run instead of running one")
    args = ap.parse_args()
    rows = []
    for i in range(1 if args.run else args.runs):
        if args.runs > 1:
            print(f"\n=== run {i + 1} of {args.runs} ===")
        row = one(args, args.run)
        if row is None:
            return 1
        rows.append(row)
    if len(rows) > 1:
        table(rows)
        spread(rows)
    return 0


def table(rows: list[dict]) -> None:
    print("\n| run | speedup measured | predicted [95% interval] | speedup error | mtp-off wall error "
          "| mtp-on wall error | calibration (s) |")
    print("|---|---|---|---|---|---|---|")
    for k, r in enumerate(rows, 1):
        low, high = r["interval"] or (float("nan"), float("nan"))
        print(f"| {k} | {r['measured']:.3f} | {r['predicted']:.3f} [{low:.3f}, {high:.3f}] | {100 * r['error']:+.1f} % "
              f"| {100 * r['baseline']:+.1f} % | {100 * r['candidate']:+.1f} % | {r['calibration_s']:.1f} |")


def spread(rows: list[dict]) -> None:
    print(f"\nover {len(rows)} runs (min / median / max):")
    for key, label, pct in (("measured", "measured session speedup", False), ("error", "speedup error", True),
                            ("baseline", "baseline wall error", True), ("candidate", "candidate wall error", True),
                            ("calibration_s", "calibration server time (s)", False)):
        values = sorted(r[key] for r in rows)
        fmt = (lambda v: f"{100 * v:+.1f}%") if pct else (lambda v: f"{v:.3f}")
        print(f"  {label:30} {fmt(values[0])} / {fmt(statistics.median(values))} / {fmt(values[-1])}")
    held = sum(1 for r in rows if r["interval"] and r["interval"][0] <= r["measured"] <= r["interval"][1])
    within = sum(1 for r in rows if abs(r["error"]) <= 0.05)
    print(f"  the 95% interval held the measured speedup in {held} of {len(rows)} runs; "
          f"the speedup error was within +-5% in {within} of {len(rows)}")


def one(args: argparse.Namespace, run_dir: Path | None) -> dict | None:
    """One run's figures (printed), and the ones the spread is taken of."""
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
            return None
    summary = json.loads((run_dir / "summary.json").read_text())
    row: dict = {}
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
        interval = syn.get("session_speedup_predicted_interval")
        print(f"  session speedup measured {syn['session_speedup_measured']:.3f}, predicted "
              f"{syn['session_speedup_predicted']:.3f}"
              + (f" [95% interval {interval[0]:.3f}, {interval[1]:.3f}]" if interval else "")
              + f": error {100 * syn['prediction_error']:+.1f}%")
        row = {"measured": syn["session_speedup_measured"], "predicted": syn["session_speedup_predicted"],
               "interval": interval, "error": syn["prediction_error"],
               "baseline": syn["baseline_wall_error"], "candidate": syn["candidate_wall_error"],
               "calibration_s": calibration_s(run_dir)}
        print(f"  calibration server time (both arms): {row['calibration_s']:.1f} s")
        for arm, name in (("baseline", comp["baseline"]), ("candidate", comp["candidate"])):
            ratio = real_over_shaped(run_dir, name)
            if ratio is not None:
                print(f"  {arm}: real session prefill time / shape-matched session's (same prompt tokens): {ratio:.3f}")
        for arm in ("baseline", "candidate"):
            measured = sum(t[f"{arm}_measured_ms"] for t in syn["per_turn"]) / 1000
            print(f"  {arm} session wall-clock measured {measured:.2f} s, predicted {syn[f'{arm}_predicted_s']:.2f} s:"
                  f" error {100 * syn[f'{arm}_wall_error']:+.1f}%")
        print("  gap, synthetic tg -> real session, factor by factor:")
        for name, v in syn["gap_log"].items():
            share = syn["gap"][name]  # beyond +-100 %: opposing factors, not a share (outputs/synthetic.py)
            print(f"    {name:42} x{math.exp(v):.3f}  share " + (f"{100 * share:+.0f}%" if abs(share) <= 1 else "–"))
        fit = syn.get("speculative_fit")
        if fit:
            print(f"  classic relation: alpha {fit['alpha']:.3f}, c {fit['c']:.3f}, gamma {fit['gamma']} "
                  f"({fit['turns']} turns)")
        acc = syn["accepted_fraction"]
        print("  accepted drafts per generated token: " + ", ".join(f"{k} {100 * v:.1f}%" for k, v in acc.items()
                                                                   if v is not None))
    print(f"\nrun directory: {run_dir}")
    return row


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def calibration_s(run_dir: Path) -> float:
    """The calibration's server time: every synthetic request's wall-clock, both arms."""
    return sum(r["wall_ms"] for r in _records(run_dir / "synthetic.jsonl")) / 1000


def real_over_shaped(run_dir: Path, arm: str) -> float | None:
    """The real session's prefill time over the shape-matched session's, turn for turn (the
    same prompt tokens; the shaped turns generate fewer): 1.0 when the machine ran at the same
    speed for both."""
    real = {(r["turn"]): r["prompt_ms"] for r in _records(run_dir / "results.jsonl")
            if r["variant"] == arm and r["repetition"] == 0 and r["error"] is None}
    shaped = {(r["turn"]): r["prompt_ms"] for r in _records(run_dir / "synthetic.jsonl")
              if r["variant"] == arm and r["trace"].startswith("synth:shaped") and r["error"] is None}
    turns = real.keys() & shaped.keys()
    return sum(real[t] for t in turns) / sum(shaped[t] for t in turns) if turns else None


if __name__ == "__main__":
    sys.exit(main())
