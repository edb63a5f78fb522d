"""Benchmark: end-to-end time of the default scenario and the client overhead per turn.

    .venv/bin/python bench/default_scenario.py [--scenario scenarios/cli_tool.yaml] [--turns N]

Prints figures; asserts nothing. Three overheads are reported per turn, from results.jsonl:
- harness: replayer's own code around a request (building it, recording the result);
- request handling: wall-clock that the server's prefill and decode timings do not cover,
  i.e. request_overhead_ms as defined in docs/results.md (mostly the server's own chat-template
  rendering and tokenization of the prompt, plus HTTP and JSON);
- the same as a share of the turn's wall-clock.
Targets from the issue: overhead median < 1 ms and < 1 % of wall-clock; default scenario < 3 min.
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "cli_tool.yaml"))
    ap.add_argument("--turns", type=int)
    args = ap.parse_args()
    out = Path(tempfile.mkdtemp(prefix="replayer-bench-")) / "run"
    cmd = [str(ROOT / ".venv" / "bin" / "replay"), "run", args.scenario, "--out", str(out)]
    if args.turns:
        cmd += ["--turns", str(args.turns)]
    t0 = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.monotonic() - t0
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:])
        print(f"replay run exited with {done.returncode}")
        return 1
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    summary = json.loads((out / "summary.json").read_text())
    print(f"command: {' '.join(cmd)}")
    print(f"end-to-end (process start to exit, servers and model preparation included): {elapsed:.1f} s")
    print(f"replayed LLM wall-clock, all variants: {sum(v['wall_s'] for v in summary['variants'].values()):.1f} s")
    for name in summary["variants"]:
        rs = [r for r in records if r["variant"] == name and not r.get("error")]
        harness = [r["harness_ms"] for r in rs]
        parse = [r["wall_ms"] - r["http_ms"] for r in rs]
        overhead = [r["request_overhead_ms"] for r in rs]
        share = [100 * r["request_overhead_ms"] / r["wall_ms"] for r in rs]
        harness_share = [100 * (r["harness_ms"] + r["wall_ms"] - r["http_ms"]) / r["wall_ms"] for r in rs]
        print(f"{name}: {len(rs)} turns")
        print(f"  harness (replayer code) median {statistics.median(harness):.3f} ms, "
              f"JSON parse median {statistics.median(parse):.3f} ms, "
              f"together {statistics.median(harness_share):.3f} % of turn wall-clock (median)")
        print(f"  request_overhead_ms (wall - prompt_ms - predicted_ms) median {statistics.median(overhead):.2f} ms, "
              f"p90 {statistics.quantiles(overhead, n=10)[-1]:.2f} ms, {statistics.median(share):.2f} % of wall (median); "
              f"session total {sum(overhead) / 1e3:.2f} s of {sum(r['wall_ms'] for r in rs) / 1e3:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
