"""Concurrent sessions: N agent sessions in flight at once against one arm's server.

One asyncio loop, one coroutine per session, no thread per session. Closed loop:
at most ``level`` sessions are in flight; each session sends its turns strictly in
order (teacher-forced, as always), waits the recorded think time if asked, and a
finished session makes room for the next until ``total`` sessions are done. The
arms of a level never run at the same time: one arm's sessions, then the other's,
in ABBA order over repetitions. Every finished request is in the sink before the
next one of its session goes out.
"""

from __future__ import annotations

import asyncio
import time
import itertools
from dataclasses import dataclass
from typing import Any, Mapping, Protocol

from replayer.results.record import TurnError, TurnResult
from replayer.runner.endpoint import Completion
from replayer.runner.executor import RecordSink, Reporter, record_fields
from replayer.runner.plan import PlannedTurn, ReplayPlan, arm_order, build_request, prime_request
from replayer.scenario.model import CachePolicy, LoadSpec, OnError, Order, ReplayPolicy, ThinkTime


class AsyncChatEndpoint(Protocol):
    name: str

    async def complete_async(self, body: dict[str, Any]) -> Completion: ...
    async def close_async(self) -> None: ...
    def reset_slot(self, slot: int) -> bool: ...


@dataclass(frozen=True)
class Session:
    """One replayed session: a trace's planned turns, and how it is told apart from its twins."""

    index: int
    turns: tuple[PlannedTurn, ...]
    marker: str | None  # prepended so concurrent copies of one trace do not share a prompt cache
    think_s: tuple[float, ...]  # pause after each turn before the next request


class Stop(Exception):
    """on_error: stop — the level ends at the first failed request."""


class ConcurrentExecutor:
    """Implements runner.executor.Executor for one concurrency level."""

    def __init__(self, level: int, load: LoadSpec, level_index: int = 0,
                 seq: "itertools.count[int] | None" = None) -> None:
        self.level, self.load, self.level_index = level, load, level_index
        self.seq = seq if seq is not None else itertools.count()  # one numbering across levels and arms

    def run(self, plan: ReplayPlan, endpoints: Mapping[str, AsyncChatEndpoint], policy: ReplayPolicy,
            sink: RecordSink, reporter: Reporter, repetitions: range) -> bool:
        sessions = deal_sessions(plan, self.load, self.level)
        finished = True
        for rep in repetitions:
            order = Order.INTERLEAVED if policy.order is Order.SEQUENTIAL else policy.order
            for name in arm_order(list(plan.arms), order, rep, self.level_index, policy.order_seed):
                if policy.cache is CachePolicy.REUSE:
                    _erase_all(endpoints[name], self.load.slots(self.level), reporter)
                arm = _Arm(endpoints[name], plan, policy, sink, reporter, self.level, rep, self.seq,
                           self.load.shared_prefix)
                finished = asyncio.run(arm.run(sessions)) and finished
                if arm.interrupted:
                    raise KeyboardInterrupt()
                if not finished and policy.on_error is OnError.STOP:
                    return False
        return finished


def deal_sessions(plan: ReplayPlan, load: LoadSpec, level: int) -> list[Session]:
    """The level's sessions: the plan's traces dealt round robin, each copy with its own marker."""
    by_trace: dict[str, list[PlannedTurn]] = {}
    for item in plan.turns:
        by_trace.setdefault(item.trace.name, []).append(item)
    traces = list(by_trace.values())
    out = []
    for k in range(load.total(level)):
        turns = tuple(traces[k % len(traces)])
        marker = f"[replayer session {k}]" if load.distinct else None
        out.append(Session(k, turns, marker, _think(turns, load)))
    return out


def _think(turns: tuple[PlannedTurn, ...], load: LoadSpec) -> tuple[float, ...]:
    if load.think_time is ThinkTime.NONE or not turns:
        return tuple(0.0 for _ in turns)
    gaps = turns[0].trace.recorded_gaps_s()
    out = []
    for item in turns:
        gap = gaps[item.turn.index] if item.turn.index < len(gaps) else None
        seconds = (gap or 0.0) * load.scale
        out.append(min(seconds, load.cap_s) if load.cap_s is not None else seconds)
    return tuple(out)


class _Arm:
    """One arm's sessions at one level and repetition, in one event loop."""

    def __init__(self, endpoint: AsyncChatEndpoint, plan: ReplayPlan, policy: ReplayPolicy, sink: RecordSink,
                 reporter: Reporter, level: int, repetition: int, seq: "itertools.count[int]",
                 shared_prefix: bool) -> None:
        self.endpoint, self.plan, self.policy, self.sink, self.reporter = endpoint, plan, policy, sink, reporter
        self.level, self.repetition, self.seq, self.shared_prefix = level, repetition, seq, shared_prefix
        self.t0 = 0.0
        self.ok = True
        self.interrupted = False

    async def run(self, sessions: list[Session]) -> bool:
        self.t0 = time.perf_counter()
        gate = asyncio.Semaphore(self.level)  # closed loop: at most `level` sessions in flight
        tasks = [asyncio.create_task(self._session(s, gate)) for s in sessions]
        try:
            await asyncio.gather(*tasks)
        except Stop:
            self.ok = False
        except KeyboardInterrupt:  # raised inside a session: kept here so this task ends cleanly
            self.interrupted = True
        finally:
            for t in tasks:
                t.cancel()
            # every task's outcome is collected here, an interrupt raised inside one included,
            # so nothing is left for the garbage collector to report later
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.endpoint.close_async()
        return self.ok

    async def _session(self, session: Session, gate: asyncio.Semaphore) -> None:
        async with gate:
            for k, item in enumerate(session.turns):
                if not self.ok:  # on_error: stop — no request goes out after the failure
                    return
                rec = await self._send(session, item)
                if rec.error is not None and not self._go_on(rec):
                    return
                if k + 1 < len(session.turns) and session.think_s[k] > 0:
                    await asyncio.sleep(session.think_s[k])

    async def _send(self, session: Session, item: PlannedTurn) -> TurnResult:
        sampling = self.plan.sampling.get(self.endpoint.name)
        body = with_marker(build_request(item, self.policy, sampling), session.marker, self.shared_prefix)
        prime = prime_request(item, self.policy, sampling)
        prime_ms = None
        if prime is not None:  # a sampled turn: its session's cache brought to where it was, untimed
            prime_ms = (await self.endpoint.complete_async(with_marker(prime, session.marker,
                                                                       self.shared_prefix))).wall_ms
        sent = time.perf_counter()
        try:
            completion = await self.endpoint.complete_async(body)
        except asyncio.CancelledError:  # Ctrl-C or a stopped level: the request in flight is an error
            wall = (time.perf_counter() - sent) * 1e3
            self._write(session, item, sent, Completion(None, wall, wall, TurnError("interrupted", "cancelled "
                        "while in flight (the run was stopped)")), prime_ms)
            raise
        return self._write(session, item, sent, completion, prime_ms)

    def _write(self, session: Session, item: PlannedTurn, sent: float, completion: Completion,
               prime_ms: float | None = None) -> TurnResult:
        received = time.perf_counter()
        fields = record_fields(completion)
        verbose = (completion.body or {}).get("__verbose") or {}
        rec = TurnResult(
            trace=item.trace.name, turn=item.turn.index, variant=self.endpoint.name, repetition=self.repetition,
            seq=next(self.seq), started_unix=time.time() - completion.wall_ms / 1e3, wall_ms=completion.wall_ms,
            http_ms=completion.http_ms, max_tokens=item.max_tokens, max_tokens_source=item.max_tokens_source,
            level=self.level, session=session.index, slot=verbose.get("id_slot"),
            send_s=sent - self.t0, receive_s=received - self.t0, prime_ms=prime_ms, **fields)
        self.sink.write(rec)
        self.reporter.turn_done(rec)
        return rec

    def _go_on(self, rec: TurnResult) -> bool:
        """After a failed request: go on (continue), end this session (skip_session), or the level (stop)."""
        assert rec.error is not None
        if self.policy.on_error is OnError.STOP:
            self.reporter.log(f"stopping level {self.level}: {rec.variant} session {rec.session} turn {rec.turn}: "
                              f"{rec.error.message}")
            self.ok = False
            raise Stop()
        if self.policy.on_error is OnError.SKIP_SESSION:
            self.reporter.log(f"{rec.variant} session {rec.session}: skipped after turn {rec.turn} failed: "
                              f"{rec.error.message}")
            return False
        return True


def with_marker(body: dict[str, Any], marker: str | None, shared_prefix: bool = False) -> dict[str, Any]:
    """The request with the session marker at the start of its first system message (or,
    with a shared prefix, of its first other message), so twins never share a cached prompt."""
    if marker is None:
        return body
    messages = [dict(m) for m in body["messages"]]
    roles = [m.get("role") for m in messages]
    at = next((i for i, r in enumerate(roles) if (r != "system") == shared_prefix), 0)
    messages[at]["content"] = _prefixed(messages[at].get("content"), marker)
    return {**body, "messages": messages}


def _prefixed(content: Any, marker: str) -> Any:
    if isinstance(content, list):
        return [{"type": "text", "text": marker + "\n"}, *content]
    return f"{marker}\n{content or ''}"


def _erase_all(endpoint: AsyncChatEndpoint, slots: int, reporter: Reporter) -> None:
    """Every slot starts empty, as a fresh team's sessions would."""
    for slot in range(slots):
        if not endpoint.reset_slot(slot):
            reporter.log(f"{endpoint.name}: could not erase slot {slot}'s prompt cache")


