"""The replay plan: each turn's generation length, its request body, and the arms' order.

Turn k is always sent with the *recorded* history, so every arm sees
byte-identical prompts and a divergence cannot cascade. Within a repetition
the arms alternate per turn (A B, B A, A B, ...) and the first arm flips every
repetition, so slow drift of the machine lands on both arms alike.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping

from replayer.scenario.model import CachePolicy, Generation, Order, ReplayPolicy
from replayer.trace.model import Trace, Turn, assistant_text_as_generated


@dataclass(frozen=True)
class PlannedTurn:
    trace: Trace
    turn: Turn
    max_tokens: int
    max_tokens_source: str
    # replayed out of the session's order (a sampled round): the previous turn, sent first, untimed,
    # for one token, so the prompt cache holds what the session had when this turn was sent
    prime: "PlannedTurn | None" = None


@dataclass(frozen=True)
class ReplayPlan:
    """What an executor replays: the turns, in order, on every arm."""

    turns: tuple[PlannedTurn, ...]
    arms: tuple[str, ...]
    sampling: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # per arm: a sampling sweep's point

    def requests(self) -> int:
        """Requests per repetition."""
        return len(self.turns) * len(self.arms)


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
                  sampling_override: Mapping[str, Any] | None = None) -> dict[str, Any]:
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


def prime_request(planned: PlannedTurn, policy: ReplayPolicy,
                  sampling_override: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """The untimed request before a sampled turn: its previous turn's prompt, one token."""
    if planned.prime is None:
        return None
    body = build_request(planned.prime, policy, sampling_override)
    body["max_tokens"], body["ignore_eos"] = 1, True
    return body


def sample_turns(n_turns: int, size: int, round_: int, seed: int = 0) -> list[int]:
    """The turns a sampled round replays: ``size`` strata of consecutive turns (a session's depth
    grows with its turns, so this spreads them over depths), one turn from each, a different one
    each round until every turn of a stratum has had its turn. Sorted: a round walks forward."""
    if size >= n_turns:
        return list(range(n_turns))
    picks = []
    for j in range(size):
        lo, hi = j * n_turns // size, (j + 1) * n_turns // size
        offset = random.Random(f"{seed}:{j}").randrange(hi - lo)  # a string seed: the same in every process
        picks.append(lo + (offset + round_) % (hi - lo))
    return picks


def with_primes(turns: list[PlannedTurn], picks: list[int]) -> tuple[PlannedTurn, ...]:
    """The picked turns of one trace's plan, each primed by its previous turn unless that was picked
    too (or it is the first): a round's walk through the session leaves the cache where it was."""
    out = []
    for k in sorted(picks):
        prime = turns[k - 1] if k > 0 and (k - 1) not in picks else None
        out.append(replace(turns[k], prime=prime))
    return tuple(out)


def arm_order(variants: list[str], order: Order, repetition: int, turn_seq: int, seed: int = 0) -> list[str]:
    if order is Order.SEQUENTIAL or len(variants) < 2:
        return list(variants)
    if order is Order.RANDOM:
        # A string seed hashes the same in every process (unlike hash()), so a run is reproducible.
        arms = list(variants)
        random.Random(f"{seed}:{repetition}:{turn_seq}").shuffle(arms)
        return arms
    return list(variants) if (repetition + turn_seq) % 2 == 0 else list(reversed(variants))
