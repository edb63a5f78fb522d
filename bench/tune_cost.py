"""Benchmark: `replay tune` against the exhaustive grid it replaces, on the embedded models.

    .venv/bin/python bench/tune_cost.py [--runs 5] [--turns 20] [--repetitions 2] [--sample 8]
                                         [--scenario scenarios/cli_tool.yaml] [--model NAME]

Each run, in alternating order: the grid (the scenario with a sweep: of --spec-draft-n-max over
1, 2, 3, 4, 6 against MTP off, every arm over the first TURNS turns, REPETITIONS times), and
`replay tune` on the same arms with as many rounds as let it sample each arm's turns
REPETITIONS times over. For each: the server time spent (every request's wall-clock; tune's
priming requests included), and whether tune's pick is the grid's fastest arm or, if not,
within the grid's own 95 % interval of it (a tie the grid cannot break either). Prints a row per
run and the spread. Asserts nothing (target: tune at most a third of the grid's server time, the
right pick in every run).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from replayer.analysis.comparison import paired_intervals  # noqa: E402
from replayer.results import read_results_if_any  # noqa: E402

VALUES = [1, 2, 3, 4, 6]


def scenarios(base: Path, work: Path, turns: int, reps: int, model: str | None) -> tuple[Path, Path]:
    doc = yaml.safe_load(base.read_text())
    doc["traces"] = [str((base.parent / t).resolve()) for t in doc["traces"]]
    if model:
        doc["server"]["model"] = model
    doc.setdefault("replay", {}).update({"turns": turns, "repetitions": reps})
    grid = dict(doc, name="grid", sweep={"variant": "mtp-on", "args": {"--spec-draft-n-max": VALUES}})
    tune = dict(doc, name="tune")
    paths = (work / "grid.yaml", work / "tune.yaml")
    for p, d in zip(paths, (grid, tune)):
        p.write_text(yaml.safe_dump(d, sort_keys=False))
    return paths


def server_s(run: Path) -> float:
    return sum(r.wall_ms + (r.prime_ms or 0.0) for r in read_results_if_any(run / "results.jsonl")) / 1e3


def run_grid(path: Path, out: Path) -> tuple[float, str, list]:
    done = subprocess.run([sys.executable, "-m", "replayer.cli", "run", str(path), "--out", str(out)],
                          capture_output=True, text=True, cwd=ROOT)
    if done.returncode not in (0, 1):
        raise SystemExit(f"grid failed ({done.returncode}): {done.stderr[-2000:]}")
    summary = json.loads((out / "summary.json").read_text())
    walls = {name: v["wall_s"] for name, v in summary["variants"].items()}
    return server_s(out), min(walls, key=walls.get), read_results_if_any(out / "results.jsonl")


def run_tune(path: Path, out: Path, rounds: int, sample: int) -> tuple[float, str | None, str]:
    done = subprocess.run([sys.executable, "-m", "replayer.cli", "tune", str(path), "--out", str(out),
                           "--max-rounds", str(rounds), "--sample", str(sample)], capture_output=True, text=True, cwd=ROOT)
    if done.returncode not in (0, 3):
        raise SystemExit(f"tune failed ({done.returncode}): {done.stderr[-2000:]}")
    level = json.loads((out / "summary.json").read_text())["tune"]["levels"][0]
    return server_s(out), level["recommended"], level["outcome"]


def verdict(pick: str | None, best: str, grid: list) -> str:
    if pick == best:
        return "same as the grid's best"
    if pick is None:
        return "no pick"
    mine = [r for r in grid if r.variant == pick]
    theirs = [r for r in grid if r.variant == best]
    ci = paired_intervals(theirs, mine).get("wall_ratio_ci")
    if ci and ci[0] <= 1.0 <= ci[1]:
        return f"within the grid's interval of its best [{ci[0]:.3f}, {ci[1]:.3f}]"
    return f"WRONG: the grid has it slower than {best} [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "WRONG (no interval)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--repetitions", type=int, default=2)
    parser.add_argument("--sample", type=int, default=8)
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "cli_tool.yaml")
    parser.add_argument("--model", help="e.g. synthetic-deep-mtp80 (default: the scenario's)")
    args = parser.parse_args()
    rounds = args.repetitions * math.ceil(args.turns / args.sample)
    rows = []
    with tempfile.TemporaryDirectory(prefix="tune-cost-") as tmp:
        work = Path(tmp)
        grid_yaml, tune_yaml = scenarios(args.scenario, work, args.turns, args.repetitions, args.model)
        for k in range(args.runs):
            order = ["grid", "tune"] if k % 2 == 0 else ["tune", "grid"]
            got: dict = {}
            for what in order:
                out = work / f"{what}{k}"
                got[what] = run_grid(grid_yaml, out) if what == "grid" else run_tune(tune_yaml, out, rounds, args.sample)
            (g_s, best, records), (t_s, pick, outcome) = got["grid"], got["tune"]
            rows.append((g_s, t_s, t_s / g_s, pick, best, outcome, verdict(pick, best, records)))
            print(f"run {k + 1}: grid {g_s:.1f} s, tune {t_s:.1f} s (ratio {t_s / g_s:.3f}); tune picked {pick} "
                  f"({outcome}); grid best {best}: {rows[-1][6]}", flush=True)
    ratios = [r[2] for r in rows]
    print(f"\n{args.runs} runs, {args.turns} turns, {args.repetitions} repetition(s), sample {args.sample}, "
          f"at most {rounds} round(s)")
    print(f"tune / grid server time: min {min(ratios):.3f}, median {statistics.median(ratios):.3f}, "
          f"max {max(ratios):.3f}")
    print(f"right pick (the grid's best or within its interval): {sum('WRONG' not in r[6] for r in rows)} of {len(rows)}")


if __name__ == "__main__":
    main()
