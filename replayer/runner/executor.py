"""The executor seam: plan + endpoints + policy -> records, one at a time into a sink.

Everything after the records (summary, gate, reports) is the same code whatever
executes them. ``SequentialExecutor`` sends one request at a time, arms
interleaved turn by turn; a concurrent or distributed executor implements the
same :class:`Executor` protocol (docs/architecture.md says where it plugs in).
"""

from __future__ import annotations

import time
from typing import Any, Mapping, Protocol

from replayer.analysis.metrics import parse_spec_counters, spec_delta
from replayer.results.record import TurnError, TurnResult
from replayer.runner.endpoint import Completion
from replayer.runner.plan import PlannedTurn, ReplayPlan, arm_order, build_request, prime_request
from replayer.scenario.model import CachePolicy, OnError, Order, ReplayPolicy


class ChatEndpoint(Protocol):
    """What an executor needs of a server (runner.endpoint.Endpoint; a fake in unit tests)."""

    name: str

    def complete(self, body: dict[str, Any]) -> Completion: ...
    def metrics(self) -> str | None: ...
    def reset_cache(self) -> bool: ...


class RecordSink(Protocol):
    """Where each finished turn goes, before the next one starts (results.jsonl)."""

    def write(self, record: TurnResult) -> None: ...


class Reporter(Protocol):
    """Progress for a person: one call per finished turn, and log lines."""

    def turn_done(self, record: TurnResult) -> None: ...
    def log(self, message: str) -> None: ...
    def add_total(self, n: int) -> None: ...


class Executor(Protocol):
    def run(self, plan: ReplayPlan, endpoints: Mapping[str, ChatEndpoint], policy: ReplayPolicy,
            sink: RecordSink, reporter: Reporter, repetitions: range) -> bool:
        """Replay ``repetitions`` of the plan; False when the on_error policy stopped it.
        A KeyboardInterrupt propagates; every record written before it stays in the sink."""
        ...


class SequentialExecutor:
    """One request at a time; per repetition the arms alternate turn by turn (policy.order)."""

    def run(self, plan: ReplayPlan, endpoints: Mapping[str, ChatEndpoint], policy: ReplayPolicy,
            sink: RecordSink, reporter: Reporter, repetitions: range) -> bool:
        # Per-turn speculative detail (steps, per-position acceptance) needs /metrics
        # (--metrics); scraped around each request, outside the timed region.
        scrape = {name: endpoints[name].metrics() is not None for name in plan.arms}
        seq = plan.requests() * repetitions.start
        if policy.order is Order.SEQUENTIAL:
            schedule = [(rep, [name]) for name in plan.arms for rep in repetitions]
        else:
            schedule = [(rep, list(plan.arms)) for rep in repetitions]
        exited: set[str] = set()
        for rep, arms in schedule:
            if policy.cache is CachePolicy.REUSE:
                _erase(endpoints, arms, rep, reporter)
            for k, item in enumerate(plan.turns):
                for name in arm_order(arms, policy.order, rep, k, policy.order_seed):
                    rec = send_turn(endpoints[name], item, plan, policy, rep, seq, scrape[name])
                    sink.write(rec)
                    seq += 1
                    reporter.turn_done(rec)
                    if not _go_on(rec, policy, reporter, exited):
                        return False
        return True


def _erase(endpoints: Mapping[str, ChatEndpoint], arms: list[str], repetition: int, reporter: Reporter) -> None:
    """Every repetition starts with an empty slot, as the real session did."""
    for name in arms:
        if not endpoints[name].reset_cache():
            reporter.log(f"{name}: could not erase the slot's prompt cache (llama-server allows it only when "
                         f"started with --slot-save-path): repetition {repetition} may start warm")


def _go_on(rec: TurnResult, policy: ReplayPolicy, reporter: Reporter, exited: set[str]) -> bool:
    if rec.error is None:
        return True
    if policy.on_error is OnError.STOP:
        reporter.log(f"stopping: {rec.variant} turn {rec.turn}: {rec.error.message}")
        return False
    if rec.error.server_exited and rec.variant not in exited:
        exited.add(rec.variant)  # said once: every later turn of this arm fails the same way
        reporter.log(f"{rec.variant}: the server exited; its remaining turns are recorded as errors")
    return True


def send_turn(endpoint: ChatEndpoint, item: PlannedTurn, plan: ReplayPlan, policy: ReplayPolicy, repetition: int,
              seq: int, scrape: bool) -> TurnResult:
    """One timed request and its record. Only the request itself is inside the timed window
    (a sampled turn's priming request goes first, outside it)."""
    prime = prime_request(item, policy, plan.sampling.get(endpoint.name))
    prime_ms = endpoint.complete(prime).wall_ms if prime is not None else None
    before = _counters(endpoint) if scrape else None
    t0 = time.perf_counter()
    body = build_request(item, policy, plan.sampling.get(endpoint.name))
    t1 = time.perf_counter()
    completion = endpoint.complete(body)
    t2 = time.perf_counter()
    fields = record_fields(completion)
    t3 = time.perf_counter()  # replayer's own time ends here: the /metrics scrape below is the server's
    after = _counters(endpoint) if before is not None and fields.get("error") is None else None
    if before is not None and after is not None:
        delta = spec_delta(before, after)
        fields.update(delta, accepted_per_pos=tuple(delta["accepted_per_pos"]))
    return TurnResult(
        trace=item.trace.name, turn=item.turn.index, variant=endpoint.name, repetition=repetition, seq=seq,
        started_unix=time.time() - completion.wall_ms / 1e3, wall_ms=completion.wall_ms, http_ms=completion.http_ms,
        max_tokens=item.max_tokens, max_tokens_source=item.max_tokens_source,
        harness_ms=(t1 - t0) * 1e3 + (t3 - t2) * 1e3, mono_start_s=t1, mono_end_s=t2, prime_ms=prime_ms, **fields,
    )


def record_fields(completion: Completion) -> dict[str, Any]:
    """The server's side of a record: timings, usage and token ids from the raw body."""
    if completion.body is None:
        return {"error": completion.error}
    body = completion.body
    timings = body.get("timings") or {}
    usage = body.get("usage") or {}
    choice = (body.get("choices") or [{}])[0]
    prompt_ms = float(timings.get("prompt_ms") or 0.0)
    predicted_ms = float(timings.get("predicted_ms") or 0.0)
    tokens = (body.get("__verbose") or {}).get("tokens")
    error = completion.error
    if not timings:
        error = TurnError("bad_response", "response has no 'timings' (is this llama-server?)")
    return {
        "error": error, "prompt_ms": prompt_ms, "predicted_ms": predicted_ms,
        "request_overhead_ms": completion.wall_ms - prompt_ms - predicted_ms,
        "prompt_tokens": usage.get("prompt_tokens"), "completion_tokens": usage.get("completion_tokens"),
        "cache_n": timings.get("cache_n"), "prompt_n": timings.get("prompt_n"),
        "predicted_n": timings.get("predicted_n"),
        # absent when nothing was drafted (llama-server adds them only when draft_n > 0)
        "draft_n": int(timings.get("draft_n", 0)), "draft_n_accepted": int(timings.get("draft_n_accepted", 0)),
        "finish_reason": choice.get("finish_reason"), "tokens": tuple(tokens) if tokens is not None else None,
    }


def _counters(endpoint: ChatEndpoint) -> dict[str, Any] | None:
    text = endpoint.metrics()
    return parse_spec_counters(text) if text is not None else None


def warm_up(endpoints: Mapping[str, ChatEndpoint], policy: ReplayPolicy, count: int) -> None:
    """Throw-away requests so first-touch costs (page faults, thread spin-up) hit no measured turn."""
    body = {"model": "replayer", "messages": [{"role": "user", "content": "Say hello."}], **policy.sampling,
            "max_tokens": 16, "ignore_eos": True, "cache_prompt": False}
    for _ in range(count):
        for ep in endpoints.values():
            ep.complete(body)
