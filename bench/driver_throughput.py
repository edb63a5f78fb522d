"""Benchmark: how many records per second the driver of `replay run --ray` merges from its
workers, with a stub unit that replays nothing (so only Ray's streaming and the driver's merge
and write are measured).

    .venv/bin/python bench/driver_throughput.py [--units 8] [--turns 2000] [--runs 5] [--batch 512]

Starts a one-node Ray cluster (`ray start --head`, 2 CPUs) inside a network namespace that
has only `lo` (it re-runs itself under `unshare --net --pid --fork`, so nothing listens
elsewhere and nothing outlives it); each run sends --units stub units of --turns turns x 2 arms through the same
driver loop as a real run (pipeline/distributed.py) into a results.jsonl, and prints the
records merged per second. Target from the issue: >= 5,000 records/s on 2 cores. Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ARMS = ("mtp-off", "mtp-on")
PORT = 6391


def stub_unit(turns: int, batch_size: int) -> Callable:
    """What a unit hands back, without replaying: a node report, then its records in batches."""

    def body(job, unit) -> Iterator:
        from replayer.pipeline.units import NodeReport
        from replayer.results.record import TurnResult
        from replayer.results.summary import HostInfo

        yield NodeReport("stub", HostInfo(), {})
        batch = []
        for turn in range(turns):
            for arm in ARMS:
                batch.append(TurnResult(trace=f"t{unit.trace}", turn=turn, variant=arm, repetition=unit.repetition,
                                        seq=0, wall_ms=12.5, max_tokens=64, max_tokens_source="usage", prompt_ms=3.0,
                                        predicted_ms=9.0, prompt_tokens=4000, completion_tokens=64,
                                        tokens=tuple(range(64)), node="stub"))
                if len(batch) == batch_size:
                    yield batch
                    batch = []
        if batch:
            yield batch

    return body


class Timed:
    """The run's sink, noting when the first and the last record were written."""

    def __init__(self, sink) -> None:
        self.sink, self.first, self.last, self.count = sink, 0.0, 0.0, 0

    def write(self, record) -> None:
        self.sink.write(record)
        self.last = time.perf_counter()
        self.first = self.first or self.last
        self.count += 1


def one_run(units: int, turns: int, batch: int) -> tuple[int, float, float]:
    """(records, seconds from the first record to the last, seconds in all with joining and leaving the cluster)."""
    from replayer.pipeline.distributed import Nodes, RaySpec, run_units
    from replayer.pipeline.merge import Merger
    from replayer.pipeline.units import Job, Silent, Unit
    from replayer.results import ResultsWriter

    job = Job(scenario=None, traces=tuple(type("T", (), {"name": f"t{i}"})() for i in range(units)), build=None,
              sampling={})  # type: ignore[arg-type]
    with tempfile.TemporaryDirectory() as where, ResultsWriter(Path(where) / "results.jsonl") as writer:
        sink = Timed(writer)
        merger = Merger(sink, Silent(), ARMS)
        t0 = time.perf_counter()
        run_units(job, [Unit(i, 0) for i in range(units)], RaySpec(address=f"127.0.0.1:{PORT}", num_cpus=0.5), merger,
                  Nodes(), lambda m: None, body=stub_unit(turns, batch))
        return sink.count, sink.last - sink.first, time.perf_counter() - t0


def inside(args: argparse.Namespace) -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    os.environ.update(RAY_AUTH_MODE="disabled")  # a cluster of its own, in a namespace with only lo
    subprocess.run([str(Path(sys.executable).parent / "ray"), "start", "--head", "--port", str(PORT),
                    "--node-ip-address", "127.0.0.1", "--num-cpus", "2", "--include-dashboard", "false",
                    "--disable-usage-stats", "--temp-dir", tempfile.mkdtemp(prefix="rb", dir="/tmp")],
                   check=True, capture_output=True)
    one_run(2, 100, args.batch)  # warm: workers started, modules imported
    rates = []
    for i in range(args.runs):
        n, s, whole = one_run(args.units, args.turns, args.batch)
        rates.append(n / s)
        print(f"run {i + 1}: {n} records merged in {s:.2f} s = {n / s:,.0f} records/s "
              f"({whole:.2f} s with joining and leaving the cluster)", flush=True)
    print(f"records/s merged, first record to last, over {args.runs} runs: min {min(rates):,.0f}  median {statistics.median(rates):,.0f}  "
          f"max {max(rates):,.0f}  (target >= 5,000)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, default=8)
    parser.add_argument("--turns", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--batch", type=int, default=512,
                        help="records per message (a unit batches what comes faster than it can send; 1: a real "
                             "run's one record per turn)")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        inside(args)
        return
    cmd = ["unshare", "--net", "--pid", "--fork", "--mount-proc", "--kill-child", sys.executable, __file__, "--inside",
           "--units", str(args.units), "--turns", str(args.turns), "--runs", str(args.runs), "--batch", str(args.batch)]
    raise SystemExit(subprocess.run(cmd).returncode)


if __name__ == "__main__":
    main()
