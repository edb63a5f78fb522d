"""Benchmark: how many repetitions the gate needs on this machine to resolve a 5% slowdown and a 0% change.

    .venv/bin/python bench/gate_resolution.py [--turns 12] [--repetitions 10] [--max-slowdown 0.03]
    .venv/bin/python bench/gate_resolution.py --run RUN_DIR [--simulate 20] [--first-turns 6]

Runs an A/A scenario (the same flags on both arms, the default synthetic MTP model and
the flagship trace) with N interleaved repetitions: every difference between the arms
is this machine's noise. Then, for k = 1..N repetitions, it applies the gate to the
first k repetitions twice: as measured (a 0% change; the right verdict is pass), and
with the candidate's times multiplied by 1.05 (a 5% slowdown injected into real noise;
with a 3% threshold the right verdict is regression). It prints the verdict and the
interval at each k, and the first k that settles each case.

--simulate N: N simulated gate runs drawn from the measured A/A run. Each draws
repetitions one at a time, with replacement, from the measured ones (a seeded generator;
simulation i uses seed i), judges after each draw as the gate loop does, and stops at the
first settled verdict or at --max-repetitions. For the 0% change and for the 5% slowdown
it prints the repetitions each simulation needed, how many never settled, and how many
settled wrong. It does so twice: with the smoothed (Harrell-Davis) median the gate uses
under 20 pairs, and with the plain weighted median it replaced there, so the two can be
compared on the same draws. --first-turns N judges only the run's first N turns (fewer
pairs per repetition: more of the draws fall under 20 pairs). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dataclasses import replace  # noqa: E402

from replayer.analysis import stats  # noqa: E402
from replayer.analysis.figures import TraceMeta  # noqa: E402
from replayer.scenario.model import GateSpec  # noqa: E402
from replayer.analysis.summary import RunMeta, summarize  # noqa: E402
from replayer.results import read_results  # noqa: E402
from replayer.results.summary import VariantFacts  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--turns", type=int, default=12)
    ap.add_argument("--repetitions", type=int, default=10)
    ap.add_argument("--simulate", type=int, default=0, metavar="N", help="N simulated gate runs from the measured run")
    ap.add_argument("--max-repetitions", type=int, default=10, help="where a simulated gate run gives up")
    ap.add_argument("--max-slowdown", type=float, default=0.03)
    ap.add_argument("--run", type=Path, help="analyse this finished A/A run (arms a, b) instead of running one")
    ap.add_argument("--first-turns", type=int, default=0, metavar="N", help="simulate on the run's first N turns only")
    ap.add_argument("--slowdown", type=float, default=0.05, help="the slowdown injected in the simulations")
    args = ap.parse_args()
    if args.run:
        analyse(args.run, args.max_slowdown)
        return _simulate_both(args) if args.simulate else 0
    tmp = Path(tempfile.mkdtemp(prefix="replayer-gate-bench-"))
    scenario = tmp / "aa.yaml"
    scenario.write_text(f"""\
version: 1
name: aa
traces: [{ROOT / 'traces' / 'cli_tool.json'}]
server:
  model: synthetic-echo-mtp70
variants:
  a: {{args: [--spec-type, draft-mtp, --spec-draft-n-max, 3]}}
  b: {{args: [--spec-type, draft-mtp, --spec-draft-n-max, 3]}}
replay: {{turns: {args.turns}, repetitions: {args.repetitions}}}
""")
    out = tmp / "run"
    cmd = [str(ROOT / ".venv" / "bin" / "replay"), "run", str(scenario), "--out", str(out)]
    print("command:", " ".join(cmd))
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        print(done.stdout[-2000:], done.stderr[-2000:])
        return 1
    analyse(out, args.max_slowdown)
    args.run = out
    return _simulate_both(args) if args.simulate else 0


def _simulate_both(args: argparse.Namespace) -> int:
    chosen = stats.SMOOTH_BELOW
    for label, below in ((f"smoothed median under {chosen} pairs (the gate's)", chosen),
                         ("plain weighted median at every size (before)", 0)):
        stats.SMOOTH_BELOW = below
        print(f"\n== {label}")
        simulate(args.run, args.max_slowdown, args.simulate, args.max_repetitions, args.first_turns, args.slowdown)
    stats.SMOOTH_BELOW = chosen
    return 0


def _meta(out: Path, max_slowdown: float) -> RunMeta:
    saved = json.loads((out / "summary.json").read_text())
    traces = tuple(TraceMeta(t["name"], t["sha256"], t["turns"], ()) for t in saved["traces"])
    return RunMeta(scenario="aa", baseline="a", variants=(VariantFacts("a", None, None, None),
                                                          VariantFacts("b", None, None, None)),
                   traces=traces, gate=GateSpec(max_slowdown=max_slowdown), prove_speculation=False)


def simulate(out: Path, max_slowdown: float, n: int, max_repetitions: int, first_turns: int = 0,
             slowdown: float = 0.05) -> int:
    records = read_results(out / "results.jsonl")
    if first_turns:
        kept = sorted({(r.trace, r.turn) for r in records})[:first_turns]
        records = [r for r in records if (r.trace, r.turn) in kept]
    pool = sorted({r.repetition for r in records})
    by_rep = {k: [r for r in records if r.repetition == k] for k in pool}
    meta = _meta(out, max_slowdown)
    turns = len({(r.trace, r.turn) for r in records})
    print(f"{n} simulated gate runs, repetitions drawn with replacement from the {len(pool)} measured; "
          f"{turns} turns; max_slowdown {max_slowdown:.0%}, at most {max_repetitions} repetitions")
    aa = summarize(records, meta).comparisons[0].wall_ratio_paired
    print(f"  the A/A estimate over every measured repetition: {aa:.3f} (the right verdicts below assume about 1)")
    for label, factor, right in (("0% change", 1.0, "pass"), (f"{slowdown:.0%} slowdown", 1 + slowdown, "regression")):
        needed, wrong, unsettled, pinned, judged = [], 0, 0, 0, 0
        for i in range(n):
            rng = random.Random(i)
            drawn: list = []
            for k in range(max_repetitions):
                source = rng.choice(pool)
                drawn += [replace(r, repetition=k, wall_ms=r.wall_ms * (factor if r.variant == "b" else 1.0))
                          for r in by_rep[source]]
                comp = summarize(drawn, meta).comparisons[0]
                verdict = comp.gate.verdict if comp.gate else "inconclusive"
                judged += 1
                pinned += _pinned(comp)
                if verdict != "inconclusive":
                    needed.append(k + 1)
                    wrong += verdict != right
                    break
            else:
                unsettled += 1
        shown = " ".join(str(k) for k in needed)
        print(f"  {label:12} settled in {len(needed)}/{n}; repetitions needed: {shown or '-'}"
              + (f" (median {statistics.median(needed):g}, max {max(needed)})" if needed else "")
              + f"; never settled {unsettled}; settled WRONG {wrong}"
              + f"; estimate at an end of its interval in {pinned} of {judged} judgements")
    return 0


def _pinned(comp) -> bool:
    """The estimate on (within 0.05 % of) an end of its interval: the interval says little of one side."""
    ci, est = comp.wall_ratio_ci, comp.wall_ratio_paired
    return ci is not None and est is not None and min(est - ci[0], ci[1] - est) < 5e-4 * est


def analyse(out: Path, max_slowdown: float) -> int:
    records = read_results(out / "results.jsonl")
    repetitions = max(r.repetition for r in records) + 1
    turns = len({(r.trace, r.turn) for r in records})
    saved = json.loads((out / "summary.json").read_text())
    traces = tuple(TraceMeta(t["name"], t["sha256"], t["turns"], ()) for t in saved["traces"])
    gate = GateSpec(max_slowdown=max_slowdown)
    meta = RunMeta(scenario="aa", baseline="a", variants=(VariantFacts("a", None, None, None),
                                                          VariantFacts("b", None, None, None)),
                   traces=traces, gate=gate, prove_speculation=False)
    settled: dict[str, int | None] = {"0% change": None, "5% slowdown": None}
    print(f"gate: max_slowdown {max_slowdown:.0%}; {turns} turns per repetition")
    verdicts: dict[str, list[str]] = {"0% change": [], "5% slowdown": []}
    for k in range(1, repetitions + 1):
        subset = [r for r in records if r.repetition < k]
        for label, factor, right in (("0% change", 1.0, "pass"), ("5% slowdown", 1.05, "regression")):
            scaled = [replace(r, wall_ms=r.wall_ms * factor) if r.variant == "b" else r for r in subset]
            comp = summarize(scaled, meta).comparisons[0]
            verdict = comp.gate.verdict if comp.gate else "inconclusive"
            ci = comp.wall_ratio_ci or (float("nan"), float("nan"))
            print(f"  k={k} {label:12} ratio {comp.wall_ratio:.3f} CI [{ci[0]:.3f}, {ci[1]:.3f}] -> {verdict}")
            verdicts[label].append(verdict)
            if settled[label] is None and verdict == right:
                settled[label] = k
    for label, k in settled.items():
        right = "pass" if label == "0% change" else "regression"
        wrong = [i + 1 for i, v in enumerate(verdicts[label]) if v not in (right, "inconclusive")]
        stays = next((i + 1 for i in range(repetitions) if all(v == right for v in verdicts[label][i:])), None)
        print(f"{label}: the gate (which stops at its first settled verdict) "
              + (f"settles right after {k} repetition(s)" if k else f"does not settle in {repetitions}")
              + (f"; right and stable from {stays}" if stays else "; never stable to the end")
              + (f"; WRONG verdict at k={wrong}" if wrong else "; never a wrong verdict"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
