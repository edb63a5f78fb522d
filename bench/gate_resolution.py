"""Benchmark: how many repetitions the gate needs on this machine to resolve a 5% slowdown and a 0% change.

    .venv/bin/python bench/gate_resolution.py [--turns 8] [--repetitions 6] [--max-slowdown 0.03]

Runs an A/A scenario (the same flags on both arms, the default synthetic MTP model and
the flagship trace) with N interleaved repetitions: every difference between the arms
is this machine's noise. Then, for k = 1..N repetitions, it applies the gate to the
first k repetitions twice: as measured (a 0% change; the right verdict is pass), and
with the candidate's times multiplied by 1.05 (a 5% slowdown injected into real noise;
with a 3% threshold the right verdict is regression). It prints the verdict and the
interval at each k, and the first k that settles each case. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dataclasses import replace  # noqa: E402

from replayer.analysis.figures import TraceMeta  # noqa: E402
from replayer.scenario.model import GateSpec  # noqa: E402
from replayer.analysis.summary import RunMeta, summarize  # noqa: E402
from replayer.results import read_results  # noqa: E402
from replayer.results.summary import VariantFacts  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--turns", type=int, default=8)
    ap.add_argument("--repetitions", type=int, default=6)
    ap.add_argument("--max-slowdown", type=float, default=0.03)
    ap.add_argument("--run", type=Path, help="analyse this finished A/A run (arms a, b) instead of running one")
    args = ap.parse_args()
    if args.run:
        return analyse(args.run, args.max_slowdown)
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
    return analyse(out, args.max_slowdown)


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
