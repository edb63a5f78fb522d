"""One candidate against the baseline: ratios, paired intervals and token equality."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from replayer.analysis.divergence import (CONFIDENT, NEAR_TIE, NEAR_TIE_NATS, UNCLASSIFIED, Classified, Probe,
                                          classify)
from replayer.analysis.equality import Divergence, first_divergence
from replayer.analysis.figures import ok
from replayer.analysis.stats import session_ratio
from replayer.results.record import TurnResult
from replayer.results.summary import CacheMismatch, Comparison, DivergedTurn, FirstDivergence, VariantSummary

CONFIDENCE = 0.95


def compare_tokens(base: list[TurnResult], cand: list[TurnResult]) -> tuple[int, int, list[tuple[TurnResult, Divergence]]]:
    """(compared, identical, divergences) over turns both arms completed."""
    base_by = {r.key: r for r in ok(base) if r.tokens is not None}
    compared = identical = 0
    divergences: list[tuple[TurnResult, Divergence]] = []
    for r in ok(cand):
        b = base_by.get(r.key)
        if b is None or r.tokens is None or b.tokens is None:
            continue
        compared += 1
        d = first_divergence(list(b.tokens), list(r.tokens))
        if d is None:
            identical += 1
        else:
            divergences.append((r, d))
    return compared, identical, divergences


def cache_mismatches(base: list[TurnResult], cand: list[TurnResult]) -> list[tuple[TurnResult, TurnResult]]:
    """The pairs (baseline, candidate) whose arms reused a different number of cached prompt tokens."""
    base_by = {r.key: r for r in ok(base)}
    out = [(base_by[c.key], c) for c in ok(cand) if c.key in base_by and (base_by[c.key].cache_n or 0) != (c.cache_n or 0)]
    return sorted(out, key=lambda bc: (bc[1].repetition, bc[1].trace, bc[1].turn))


def paired_intervals(base: list[TurnResult], cand: list[TurnResult],
                     leave_out: frozenset[tuple] = frozenset()) -> dict[str, Any]:
    """Bootstrap intervals of the wall, prefill and decode ratios (see analysis/stats.py), over
    the pairs whose key is not in ``leave_out``."""
    base_by = {r.key: r for r in ok(base) if r.key not in leave_out}
    pairs = sorted(((base_by[r.key], r) for r in ok(cand) if r.key in base_by), key=lambda bc: bc[1].repetition)
    out: dict[str, Any] = {"n_pairs": len(pairs), "confidence": CONFIDENCE}
    notes: list[str] = []
    for name, field in (("wall", "wall_ms"), ("prefill", "prompt_ms"), ("decode", "predicted_ms")):
        per_turn_b: dict[tuple, list[float]] = defaultdict(list)
        per_turn_c: dict[tuple, list[float]] = defaultdict(list)
        for b, c in pairs:  # one list per turn (of one session at one level), one value per repetition
            per_turn_b[_turn_of(b)].append(float(getattr(b, field) or 0))
            per_turn_c[_turn_of(c)].append(float(getattr(c, field) or 0))
        try:
            est, method = session_ratio(per_turn_b, per_turn_c, CONFIDENCE)
        except ValueError as exc:
            notes.append(f"no {name} interval: {exc}")
            continue
        out[f"{name}_ratio_ci"] = (est.ci_low, est.ci_high)
        out[f"{name}_ratio_paired"] = est.ratio  # the estimate the interval is about
        if name == "wall":
            out["p_value"] = est.p_value
            out["ci_method"] = method
    out["notes"] = tuple(notes)
    return out


def _turn_of(r: TurnResult) -> tuple:
    return (r.trace, r.turn, r.level, r.session)


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def first_divergence_of(base: list[TurnResult], cand: list[TurnResult]) -> FirstDivergence | None:
    """Where the candidate first parted from the baseline (earliest repetition, trace, turn)."""
    return _first(compare_tokens(base, cand)[2], {})


def _first(divs: list[tuple[TurnResult, Divergence]], classes: Mapping[tuple, Classified]) -> FirstDivergence | None:
    if not divs:
        return None
    r, d = min(divs, key=lambda rd: (rd[0].repetition, rd[0].trace, rd[0].turn))
    c = classes.get(r.key)
    return FirstDivergence(trace=r.trace, turn=r.turn, repetition=r.repetition, index=d.index,
                           baseline_len=d.baseline_len, candidate_len=d.candidate_len, window_start=d.window_start,
                           baseline_tokens=d.baseline_window, candidate_tokens=d.candidate_window,
                           kind=c.kind if c else None, margin=c.margin if c else None, why=c.why if c else None)


def classify_all(base: list[TurnResult], divs: list[tuple[TurnResult, Divergence]],
                 probes: Mapping[tuple[str, int, int], Probe] | None, threshold: float) -> dict[tuple, Classified]:
    """Each divergence's class (key: the candidate record's), when probes were taken at all."""
    if probes is None:
        return {}
    base_by = {r.key: r for r in ok(base)}
    out = {}
    for r, d in divs:
        mine, theirs = base_by[r.key].tokens or (), r.tokens or ()
        out[r.key] = classify(probes.get((r.trace, r.turn, d.index)), _at(mine, d.index), _at(theirs, d.index),
                              threshold)
    return out


def _at(tokens: tuple[int, ...] | list[int], i: int) -> int | None:
    return tokens[i] if i < len(tokens) else None


_SEVERITY = {NEAR_TIE: 0, UNCLASSIFIED: 1, CONFIDENT: 2}


def diverged_turns(divs: list[tuple[TurnResult, Divergence]], classes: Mapping[tuple, Classified]) -> tuple[DivergedTurn, ...]:
    """One entry per diverged turn, with the most severe class over its repetitions."""
    worst: dict[tuple[str, int], Classified | None] = {}
    for r, _ in divs:
        c, seen = classes.get(r.key), worst.get((r.trace, r.turn))
        if (r.trace, r.turn) not in worst or (c and (seen is None or _SEVERITY[c.kind] > _SEVERITY[seen.kind])):
            worst[(r.trace, r.turn)] = c
    return tuple(DivergedTurn(t, k, c.kind if c else None, c.margin if c else None)
                 for (t, k), c in sorted(worst.items()))


def compare_variants(baseline: str, candidate: str, records: dict[str, list[TurnResult]],
                     figures: Callable[[str, list[TurnResult]], VariantSummary], equality_applies: bool,
                     aa: bool = False, exclude_cache_mismatch: bool = True,
                     probes: Mapping[tuple[str, int, int], Probe] | None = None,
                     near_tie_nats: float = NEAR_TIE_NATS) -> Comparison:
    """Every ratio over the turns (and repetitions) both arms completed: a turn one arm lost
    would otherwise weigh on one side of the ratio only. ``figures(variant, records)``: that
    variant's summary of some of its records. ``exclude_cache_mismatch``: the intervals leave
    out the pairs whose arms reused different amounts of the prompt cache."""
    pairing = pair(records[baseline], records[candidate])
    mismatched = cache_mismatches(records[baseline], records[candidate])
    leave_out = frozenset(c.key for _, c in mismatched) if exclude_cache_mismatch else frozenset()
    base, cand = figures(baseline, pairing.baseline), figures(candidate, pairing.candidate)
    compared, identical, divs = compare_tokens(records[baseline], records[candidate])
    classes = classify_all(records[baseline], divs, probes, near_tie_nats)
    diverged = diverged_turns(divs, classes)
    partial = bool(pairing.baseline_lost or pairing.candidate_lost)
    intervals = paired_intervals(records[baseline], records[candidate], leave_out)
    if mismatched:
        intervals["notes"] = (*intervals["notes"], _cache_note(mismatched, bool(leave_out)))
    return Comparison(
        baseline=baseline, candidate=candidate, aa=aa,
        wall_ratio=_ratio(cand.wall_s, base.wall_s),
        prefill_ratio=_ratio(cand.prefill_s, base.prefill_s),
        decode_ratio=_ratio(cand.decode_s, base.decode_s),
        speedup=_ratio(base.wall_s, cand.wall_s),
        decode_tok_s_ratio=_ratio(cand.decode_tok_s, base.decode_tok_s),
        prefill_tok_s_ratio=_ratio(cand.prefill_tok_s, base.prefill_tok_s),
        projected_session_ratio=_ratio(cand.projected_session_s, base.projected_session_s),
        compared_turns=compared, identical_turns=identical, diverged_turns=len(diverged),
        diverged=diverged, near_tie_turns=sum(d.kind == NEAR_TIE for d in diverged),
        confident_turns=sum(d.kind in (CONFIDENT, UNCLASSIFIED) for d in diverged),
        equality_applies=equality_applies, first_divergence=_first(divs, classes),
        baseline_lost=pairing.baseline_lost, candidate_lost=pairing.candidate_lost,
        paired_baseline=base if partial else None, paired_candidate=cand if partial else None,
        cache_mismatches=tuple(CacheMismatch(c.trace, c.turn, c.repetition, b.cache_n or 0, c.cache_n or 0)
                               for b, c in mismatched),
        cache_mismatch_excluded=bool(leave_out),
        **intervals,
    )


def _cache_note(mismatched: list[tuple[TurnResult, TurnResult]], excluded: bool) -> str:
    shown = "; ".join(f"{c.trace}:{c.turn} rep {c.repetition}: {b.cache_n or 0} vs {c.cache_n or 0} cached"
                      for b, c in mismatched[:6]) + (f"; and {len(mismatched) - 6} more" if len(mismatched) > 6 else "")
    where = "left out of the intervals (gate cache_mismatch: exclude)" if excluded else \
        "kept in the intervals (gate cache_mismatch: include)"
    return (f"{len(mismatched)} turn(s) reused different amounts of the prompt cache on the two arms ({shown}): "
            f"their ratio measures the cache, not the flag; {where}")


@dataclass(frozen=True)
class Pairing:
    baseline: list[TurnResult]  # the completed turns the other arm completed too
    candidate: list[TurnResult]
    baseline_lost: int  # turns (x repetitions) either arm attempted that this arm did not complete
    candidate_lost: int


def pair(base: list[TurnResult], cand: list[TurnResult]) -> Pairing:
    done_b, done_c = {r.key for r in ok(base)}, {r.key for r in ok(cand)}
    attempted = {r.key for r in base} | {r.key for r in cand}
    both = done_b & done_c
    return Pairing([r for r in ok(base) if r.key in both], [r for r in ok(cand) if r.key in both],
                   len(attempted - done_b), len(attempted - done_c))
