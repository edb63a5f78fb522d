"""Benchmark: how much load one replayer process can drive — the concurrent executor
against a local stub that answers at once, so only the client is measured.

    .venv/bin/python bench/client_ceiling.py [--sessions 1000] [--turns 3] [--runs 3]

The stub (aiohttp, in its own process so its CPU is not counted) answers every chat
completion at once with a llama-server-shaped body and counts the requests in flight.
Prints, per run: sessions in flight (the stub's peak), requests/s, and replayer's CPU time
per request (user + system of this process, over the executor's run). Targets from the
issue: >= 1000 sessions in flight, >= 1000 requests/s, client CPU < 1 ms per request.
Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import resource
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BODY = {"choices": [{"finish_reason": "length", "message": {"role": "assistant", "content": "ok"}}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 8},
        "timings": {"cache_n": 90, "prompt_n": 10, "prompt_ms": 0.1, "predicted_n": 8, "predicted_ms": 0.1},
        "__verbose": {"tokens": [1, 2, 3, 4, 5, 6, 7, 8], "id_slot": 0}}


def stub(port: int, peak: "multiprocessing.sharedctypes.Synchronized") -> None:
    from aiohttp import web

    state = {"in_flight": 0}
    payload = json.dumps(BODY).encode()

    async def chat(request: web.Request) -> web.Response:
        state["in_flight"] += 1
        peak.value = max(peak.value, state["in_flight"])
        await request.read()
        await asyncio.sleep(0.05)  # hold it a little, so sessions pile up as they would on a busy server
        state["in_flight"] -= 1
        return web.Response(body=payload, content_type="application/json")

    async def erase(request: web.Request) -> web.Response:
        return web.json_response({"n_erased": 0})

    app = web.Application(client_max_size=64 * 2**20)
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_post("/slots/{slot}", erase)
    web.run_app(app, host="127.0.0.1", port=port, print=None, backlog=4096)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    def __init__(self, path: Path) -> None:
        from replayer.results import ResultsWriter

        self.writer = ResultsWriter(path)  # the real sink: every record is written as in a run
        self.count = 0

    def write(self, record) -> None:
        self.writer.write(record)
        self.count += 1


class Quiet:
    def turn_done(self, record) -> None: ...
    def log(self, message: str) -> None: ...
    def add_total(self, n: int) -> None: ...


def one_run(url: str, sessions: int, turns: int) -> tuple[int, float, float]:
    from replayer.runner.concurrent import ConcurrentExecutor
    from replayer.runner.endpoint import Endpoint
    from replayer.runner.plan import ReplayPlan, plan_turns
    from replayer.scenario.model import LoadSpec, ReplayPolicy
    from replayer.trace import load_trace

    trace = load_trace(ROOT / "tests" / "fixtures" / "tiny_trace.json")
    policy = ReplayPolicy(turns=turns, warmup=0)
    plan = ReplayPlan(tuple(plan_turns([trace], policy, lambda text: None, lambda text: 8)), ("stub",))
    endpoint = Endpoint("stub", url, None, 120.0)
    with tempfile.TemporaryDirectory() as tmp:
        sink = Sink(Path(tmp) / "results.jsonl")
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        ConcurrentExecutor(sessions, LoadSpec(sessions=(sessions,))).run(plan, {"stub": endpoint}, policy, sink,
                                                                       Quiet(), range(1))
        wall = time.perf_counter() - t0
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        sink.writer.close()
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    return sink.count, wall, cpu


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=1000)
    ap.add_argument("--turns", type=int, default=3)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    resource.setrlimit(resource.RLIMIT_NOFILE, (8192, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    port = free_port()
    peak = multiprocessing.Value("i", 0)
    server = multiprocessing.Process(target=stub, args=(port, peak), daemon=True)
    server.start()
    try:
        time.sleep(1.0)
        rates, cpus = [], []
        for k in range(args.runs):
            peak.value = 0
            n, wall, cpu = one_run(f"http://127.0.0.1:{port}", args.sessions, args.turns)
            rates.append(n / wall)
            cpus.append(1e3 * cpu / n)
            print(f"run {k + 1}: {n} requests in {wall:.2f} s: {n / wall:.0f} requests/s; "
                  f"{peak.value} sessions in flight at the peak; client CPU {1e3 * cpu / n:.3f} ms per request")
        print(f"requests/s min/median/max {min(rates):.0f} / {statistics.median(rates):.0f} / {max(rates):.0f}; "
              f"client CPU ms/request min/median/max {min(cpus):.3f} / {statistics.median(cpus):.3f} / "
              f"{max(cpus):.3f}")
    finally:
        server.terminate()  # the stub this script started, by its handle
        server.join(5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
