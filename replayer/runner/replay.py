"""Teacher-forced replay of traces against every variant, in interleaved order.

Turn k is always sent with the *recorded* history, so every arm sees
byte-identical prompts and a divergence cannot cascade. Within a repetition
the arms alternate per turn (A B, B A, A B, ...) and the first arm flips every
repetition, so slow drift of the machine lands on both arms alike.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from replayer.analysis.metrics import parse_spec_counters, spec_delta
from replayer.runner.endpoint import Completion, Endpoint
from replayer.scenario.model import CachePolicy, Generation, Order, ReplayPolicy
from replayer.trace.model import Trace, Turn


class Reporter(Protocol):
    def turn_done(self, record: dict[str, Any]) -> None: ...
    def log(self, message: str) -> None: ...


@dataclass(frozen=True)
class PlannedTurn:
    trace: Trace
    turn: Turn
    max_tokens: int
    max_tokens_source: str


def assistant_text_as_generated(message: dict[str, Any]) -> str:
    """The text a model emits for a recorded assistant message: content, then tool calls
    in the Hermes ``<tool_call>`` form most local templates use. Only used to size
    ``max_tokens`` when the trace has no recorded usage."""
    parts = []
    content = message.get("content")
    if isinstance(content, list):
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    if content:
        parts.append(content)
    for call in message.get("tool_calls") or []:
        fn = call.get("function", {})
        try:
            args: Any = json.loads(fn.get("arguments") or "{}")
        except json.JSONDecodeError:
            args = fn.get("arguments")
        parts.append("<tool_call>\n" + json.dumps({"name": fn.get("name"), "arguments": args}, ensure_ascii=False)
                     + "\n</tool_call>")
    return "\n".join(parts)


def plan_turns(traces: list[Trace], policy: ReplayPolicy, tokenize: Callable[[str], list[int] | None],
               estimate: Callable[[str], int]) -> list[PlannedTurn]:
    """Decide each turn's generation length once, so every arm does the same decode work."""
    planned = []
    for trace in traces:
        n = trace.n_turns if policy.turns is None else min(policy.turns, trace.n_turns)
        for i in range(n):
            turn = trace.turn(i)
            if policy.generation is Generation.NATURAL:
                planned.append(PlannedTurn(trace, turn, policy.max_tokens, "cap"))
                continue
            recorded = turn.recorded_completion_tokens
            if recorded:
                planned.append(PlannedTurn(trace, turn, recorded, "usage"))
                continue
            text = assistant_text_as_generated(turn.response_message)
            ids = tokenize(text)
            if ids is not None:
                planned.append(PlannedTurn(trace, turn, max(1, len(ids) + 1), "server_tokenizer"))  # + end token
            else:
                planned.append(PlannedTurn(trace, turn, max(1, estimate(text) + 1), "tiktoken_estimate"))
    return planned


def build_request(planned: PlannedTurn, policy: ReplayPolicy,
                  sampling_override: dict[str, Any] | None = None) -> dict[str, Any]:
    turn = planned.turn
    body: dict[str, Any] = {}
    # Recorded request parameters first (tool_choice, parallel_tool_calls, ...); the
    # replay policy then pins sampling, length and caching for a fair comparison.
    for key, value in turn.params.items():
        if key not in ("stream", "stream_options", "n", "logprobs", "top_logprobs", "max_completion_tokens"):
            body[key] = value
    body["model"] = turn.params.get("model", "replayer")
    body["messages"] = turn.messages
    if turn.tools:
        body["tools"] = turn.tools
    body.update(policy.sampling)
    body.update(sampling_override or {})  # a sampling sweep's point
    body["max_tokens"] = planned.max_tokens
    body["ignore_eos"] = policy.generation is Generation.RECORDED
    body["cache_prompt"] = policy.cache is CachePolicy.REUSE
    body["stream"] = False
    body["return_tokens"] = True
    body["verbose"] = True
    return body


def record_from(completion: Completion, planned: PlannedTurn, variant: str, repetition: int,
                seq: int) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "trace": planned.trace.name,
        "turn": planned.turn.index,
        "variant": variant,
        "repetition": repetition,
        "seq": seq,
        "started_unix": time.time() - completion.wall_ms / 1e3,
        "wall_ms": completion.wall_ms,
        "http_ms": completion.http_ms,
        "max_tokens": planned.max_tokens,
        "max_tokens_source": planned.max_tokens_source,
        "error": completion.error,
    }
    body = completion.body
    if body is None:
        return rec
    timings = body.get("timings") or {}
    usage = body.get("usage") or {}
    verbose = body.get("__verbose") or {}
    choice = (body.get("choices") or [{}])[0]
    prompt_ms = float(timings.get("prompt_ms") or 0.0)
    predicted_ms = float(timings.get("predicted_ms") or 0.0)
    rec.update({
        "prompt_ms": prompt_ms,
        "predicted_ms": predicted_ms,
        "client_overhead_ms": completion.wall_ms - prompt_ms - predicted_ms,
        "prompt_tokens": usage.get("prompt_tokens"),
        "completion_tokens": usage.get("completion_tokens"),
        "cache_n": timings.get("cache_n"),
        "prompt_n": timings.get("prompt_n"),
        "predicted_n": timings.get("predicted_n"),
        # absent when nothing was drafted (llama-server adds them only when draft_n > 0)
        "draft_n": timings.get("draft_n", 0),
        "draft_n_accepted": timings.get("draft_n_accepted", 0),
        "finish_reason": choice.get("finish_reason"),
        "tokens": verbose.get("tokens"),
    })
    if not timings:
        rec["error"] = {"type": "bad_response", "message": "response has no 'timings' (is this llama-server?)",
                        "status": None}
    return rec


def arm_order(variants: list[str], order: Order, repetition: int, turn_seq: int, seed: int = 0) -> list[str]:
    if order is Order.SEQUENTIAL or len(variants) < 2:
        return list(variants)
    if order is Order.RANDOM:
        # A string seed hashes the same in every process (unlike hash()), so a run is reproducible.
        arms = list(variants)
        random.Random(f"{seed}:{repetition}:{turn_seq}").shuffle(arms)
        return arms
    return list(variants) if (repetition + turn_seq) % 2 == 0 else list(reversed(variants))


def replay(
    planned: list[PlannedTurn],
    endpoints: dict[str, Endpoint],
    policy: ReplayPolicy,
    write: Callable[[dict[str, Any]], None],
    reporter: Reporter,
    should_stop: Callable[[], bool] = lambda: False,
    repetitions: range | None = None,
    sampling_overrides: dict[str, dict[str, Any]] | None = None,
) -> bool:
    """Run the repetitions (default: all of the policy's); return False if stopped early
    by the on_error policy. A gate adds repetitions by calling again with a later range."""
    reps = repetitions if repetitions is not None else range(policy.repetitions)
    names = list(endpoints)
    # Per-turn speculative detail (steps, per-position acceptance) needs /metrics
    # (--metrics); scraped around each request, outside the timed region.
    scrape = {name: ep.metrics() is not None for name, ep in endpoints.items()}
    seq = len(planned) * len(names) * reps.start
    if policy.order is Order.SEQUENTIAL:
        schedule = [(rep, [name]) for name in names for rep in reps]
    else:
        schedule = [(rep, names) for rep in reps]
    for rep, arms in schedule:
        for name in arms:
            if policy.cache is CachePolicy.REUSE:
                endpoints[name].reset_cache()
        for k, item in enumerate(planned):
            for name in arm_order(arms, policy.order, rep, k, policy.order_seed):
                if should_stop():
                    return False
                before = _counters(endpoints[name]) if scrape[name] else None
                t0 = time.perf_counter()
                body = build_request(item, policy, (sampling_overrides or {}).get(name))
                t1 = time.perf_counter()
                completion = endpoints[name].complete(body)
                t2 = time.perf_counter()
                rec = record_from(completion, item, name, rep, seq)
                rec["harness_ms"] = (t1 - t0) * 1e3 + (time.perf_counter() - t2) * 1e3
                # the request's window (perf_counter: a monotonic clock), to attribute GPU samples to this arm
                rec["mono_start_s"], rec["mono_end_s"] = t1, t2
                after = _counters(endpoints[name]) if before is not None and not rec["error"] else None
                if before is not None and after is not None:
                    rec.update(spec_delta(before, after))
                write(rec)
                seq += 1
                reporter.turn_done(rec)
                if rec["error"] and policy.on_error.value == "stop":
                    reporter.log(f"[red]stopping: {name} turn {item.turn.index}: {rec['error']['message']}")
                    return False
                if rec["error"] and rec["error"].get("server_exited"):
                    reporter.log(f"[red]{name}: the server exited; its remaining turns are recorded as errors")
    return True


def _counters(endpoint: Endpoint) -> dict[str, Any] | None:
    text = endpoint.metrics()
    return parse_spec_counters(text) if text is not None else None


def warm_up(endpoints: dict[str, Endpoint], policy: ReplayPolicy, count: int) -> None:
    """Throw-away requests so first-touch costs (page faults, thread spin-up) hit no measured turn."""
    body = {"model": "replayer", "messages": [{"role": "user", "content": "Say hello."}], **policy.sampling,
            "max_tokens": 16, "ignore_eos": True, "cache_prompt": False}
    for _ in range(count):
        for ep in endpoints.values():
            ep.complete(body)
