"""Benchmark: what classifying turns and building the turn-kinds section costs, beside the replay.

    .venv/bin/python bench/turn_kinds_cost.py [--runs N] [--run RUN_DIR]

Per run: every turn of the flagship trace (and of every real agent session in
../shared/real-traces, imported, when that folder is there) classified by its recorded
response, and the summary's turn_kinds section and per-request switch built from RUN_DIR's
results.jsonl (default: the newest runs/cli_tool-* directory; skipped when there is none).
Prints microseconds per turn (min / median / max over the runs) and, with a run directory,
that cost as a share of the run's median turn wall-clock. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from replayer.analysis.by_kind import turn_kinds_section  # noqa: E402
from replayer.analysis.switch import switch_estimate  # noqa: E402
from replayer.analysis.turn_kinds import classify_message  # noqa: E402
from replayer.results import read_results_if_any  # noqa: E402

REAL = ROOT.parent / "shared" / "real-traces"


def messages() -> list[dict]:
    """Every recorded response: the flagship's, then each real session's that imports."""
    out = [t["response"]["message"] for t in json.loads((ROOT / "traces" / "cli_tool.json").read_text())["turns"]]
    if REAL.is_dir():
        from replayer.sources.importers import import_session

        for f in sorted(REAL.rglob("*")):
            if not f.is_file() or f.suffix == ".md" or "subagents" in f.parts:
                continue
            try:
                doc, _ = import_session(f)
            except Exception:  # a file beside a session (a Cline manifest) is not a session
                continue
            out += [t["response"]["message"] for t in doc["turns"]]
    return out


def newest_run() -> Path | None:
    runs = sorted((ROOT / "runs").glob("cli_tool-*"), key=lambda p: p.stat().st_mtime) if (ROOT / "runs").is_dir() else []
    return next((r for r in reversed(runs) if (r / "results.jsonl").is_file()), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--run", type=Path, help="a run directory whose records the section is built from")
    args = parser.parse_args()
    found = messages()
    run = args.run or newest_run()
    records = read_results_if_any(run / "results.jsonl") if run else []
    arms = sorted({r.variant for r in records})
    by_variant = {a: [r for r in records if r.variant == a] for a in arms}
    turns = sorted({(r.trace, r.turn) for r in records})
    classify_us, section_us = [], []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        kinds_all = [classify_message(m) for m in found]
        classify_us.append((time.perf_counter() - t0) / len(found) * 1e6)
        if len(arms) >= 2 and turns:
            kinds = {k: kinds_all[k[1] % len(kinds_all)] for k in turns}
            t0 = time.perf_counter()
            turn_kinds_section(by_variant, arms[0], kinds)
            for cand in arms[1:]:
                switch_estimate(arms[0], cand, by_variant[arms[0]], by_variant[cand], kinds)
            section_us.append((time.perf_counter() - t0) / len(turns) * 1e6)

    def spread(xs: list[float]) -> str:
        return f"{min(xs):.1f} / {statistics.median(xs):.1f} / {max(xs):.1f}"

    print(f"classified {len(found)} recorded responses, {args.runs} runs")
    print(f"classify, us per turn (min / median / max): {spread(classify_us)}")
    if section_us:
        wall = statistics.median(r.wall_ms for r in records if r.ok) * 1e3
        per_turn = statistics.median(classify_us) + statistics.median(section_us)
        print(f"section and switch from {run} ({len(turns)} turns x {len(arms)} arms), us per turn: {spread(section_us)}")
        print(f"median replayed turn {wall / 1e3:.0f} ms: classifying and summarising is {100 * per_turn / wall:.4f} % of it")
    else:
        print("no run directory with two arms: section cost not measured (pass --run RUN_DIR)")


if __name__ == "__main__":
    main()
