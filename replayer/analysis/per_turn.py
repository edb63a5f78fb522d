"""Per-turn figures: the one table that the terminal's per-turn view and the HTML plots render.

Pairing: a turn of a repetition (of a session, at a load level) counts only when every variant
completed it, so no view shows a turn, or a speedup, that one arm lost; how many such turns
were left out is kept for the views to say.
Missing values: a figure a record did not report (the server left it out) is left out of that
figure's mean, never counted as 0; a mean over no value is None, shown as "–".
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Callable, Sequence

from replayer.results.record import TurnResult


@dataclass(frozen=True)
class TurnFigures:
    """One variant on one turn: means over the paired repetitions, draft counts summed."""

    repetitions: int
    wall_ms: float | None
    prompt_ms: float | None
    predicted_ms: float | None
    cache_n: float | None
    prompt_tokens: float | None
    predicted_n: float | None
    draft_n: int
    draft_n_accepted: int

    @property
    def acceptance(self) -> float | None:
        return self.draft_n_accepted / self.draft_n if self.draft_n else None


@dataclass(frozen=True)
class TurnRow:
    trace: str
    turn: int
    figures: tuple[tuple[str, TurnFigures], ...]  # in the order of the variants asked for

    def of(self, variant: str) -> TurnFigures:
        return dict(self.figures)[variant]


@dataclass(frozen=True)
class PerTurn:
    rows: tuple[TurnRow, ...]  # by trace, then turn
    left_out: int  # turns of a repetition some variant did not complete

    @property
    def traces(self) -> int:
        return len({r.trace for r in self.rows})


def per_turn(records: Sequence[TurnResult], variants: Sequence[str]) -> PerTurn:
    done: dict[tuple, set[str]] = defaultdict(set)
    for r in records:
        if r.ok:
            done[r.key].add(r.variant)
    paired = {k for k, arms in done.items() if arms >= set(variants)}
    grouped: dict[tuple[str, int], dict[str, list[TurnResult]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        if r.ok and r.key in paired and r.variant in variants:
            grouped[(r.trace, r.turn)][r.variant].append(r)
    rows = tuple(TurnRow(trace, turn, tuple((v, _figures(by[v])) for v in variants))
                 for (trace, turn), by in sorted(grouped.items()))
    return PerTurn(rows, len(set(done) - paired))


def _figures(rs: list[TurnResult]) -> TurnFigures:
    return TurnFigures(len(rs), _mean(rs, lambda r: r.wall_ms), _mean(rs, lambda r: r.prompt_ms),
                       _mean(rs, lambda r: r.predicted_ms), _mean(rs, lambda r: r.cache_n),
                       _mean(rs, lambda r: r.prompt_tokens), _mean(rs, lambda r: r.predicted_n),
                       sum(r.draft_n for r in rs), sum(r.draft_n_accepted for r in rs))


def _mean(rs: list[TurnResult], field: Callable[[TurnResult], float | int | None]) -> float | None:
    vals = [float(v) for r in rs if (v := field(r)) is not None]
    return sum(vals) / len(vals) if vals else None
