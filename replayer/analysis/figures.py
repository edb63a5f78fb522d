"""One variant's session figures from its records (docs/results.md, ``variants``)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from statistics import mean
from typing import Any, Callable, Iterable

from replayer.analysis.metrics import acceptance_by_position
from replayer.results.record import TurnResult


@dataclass(frozen=True)
class TraceMeta:
    name: str
    sha256: str
    turns: int  # replayed
    gaps_s: tuple[float | None, ...]  # recorded idle time after each replayed turn (0 after the last)


def ok(records: Iterable[TurnResult]) -> list[TurnResult]:
    return [r for r in records if r.ok]


def _total(rs: list[TurnResult], field: Callable[[TurnResult], float | None]) -> float:
    return sum(float(field(r) or 0) for r in rs)


def variant_figures(records: list[TurnResult], gaps: dict[tuple[str, int], float | None]) -> dict[str, Any]:
    """The figures of :class:`~replayer.results.summary.VariantSummary` that come from records.

    ``gaps`` maps (trace, turn) to the recorded idle time after that turn; only the
    turns this variant actually replayed count towards the projected session.
    """
    by_rep: dict[int, list[TurnResult]] = defaultdict(list)
    for r in records:
        by_rep[r.repetition].append(r)
    reps = sorted(by_rep)

    def per_rep(field: Callable[[TurnResult], float | None]) -> tuple[float, ...]:
        return tuple(_total(ok(by_rep[k]), field) / 1e3 for k in reps)

    wall = per_rep(lambda r: r.wall_ms)
    good = ok(records)
    n_reps = max(len(reps), 1)
    processed = sum(r.prompt_n or 0 for r in good)
    decode_steps = sum(max((r.predicted_n or 0) - 1, 0) for r in good)
    draft = sum(r.draft_n for r in good)
    accepted = sum(r.draft_n_accepted for r in good)
    prefill_sum = _total(good, lambda r: r.prompt_ms) / 1e3
    decode_sum = _total(good, lambda r: r.predicted_ms) / 1e3
    wall_s = mean(wall) if wall else 0.0
    gaps_total_s = _gaps(records, gaps)

    def avg(field: Callable[[TurnResult], float | None]) -> int:
        return round(_total(good, field) / n_reps)

    return {
        "wall_s": wall_s,
        "prefill_s": _mean(per_rep(lambda r: r.prompt_ms)),
        "decode_s": _mean(per_rep(lambda r: r.predicted_ms)),
        "request_overhead_s": _mean(per_rep(lambda r: r.request_overhead_ms)),
        # replayer's own share: building the request, parsing and recording the response
        "harness_overhead_s": _mean(tuple(
            sum(r.harness_ms + r.wall_ms - (r.http_ms if r.http_ms is not None else r.wall_ms) for r in ok(by_rep[k]))
            / 1e3 for k in reps)),
        "prompt_tokens": avg(lambda r: r.prompt_tokens),
        "cached_tokens": avg(lambda r: r.cache_n),
        "processed_prompt_tokens": round(processed / n_reps),
        "generated_tokens": avg(lambda r: r.predicted_n),
        "prefill_tok_s": processed / prefill_sum if prefill_sum > 0 else None,
        "decode_tok_s": decode_steps / decode_sum if decode_sum > 0 else None,
        "draft_tokens": round(draft / n_reps),
        "accepted_tokens": round(accepted / n_reps),
        "acceptance": accepted / draft if draft else None,
        "verification_steps": avg(lambda r: r.spec_steps),
        "acceptance_by_position": acceptance_by_position(good),
        "turns": round(len(good) / n_reps),
        "errors": len(records) - len(good),
        "repetitions": len(reps),
        "wall_s_per_repetition": wall,
        "recorded_gaps_s": gaps_total_s,
        "projected_session_s": wall_s + gaps_total_s if gaps_total_s is not None else None,
    }


def _mean(values: tuple[float, ...]) -> float:
    return mean(values) if values else 0.0


def _gaps(records: list[TurnResult], gaps: dict[tuple[str, int], float | None]) -> float | None:
    values = [gaps.get(key) for key in {(r.trace, r.turn) for r in records}]
    if any(g is None for g in values):
        return None
    return sum(g for g in values if g is not None)
