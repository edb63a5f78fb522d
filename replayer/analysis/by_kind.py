"""The ``turn_kinds`` section: every arm's figures per kind and per shape of turn, and each
candidate's paired ratios over the turns of that kind, with their 95 % intervals.

A turn's kind comes from its recorded response (analysis/turn_kinds.py), its shape from what
the baseline processed and generated in this run (the same on every arm: teacher forcing).
The ratios are the comparisons' own statistic (analysis/comparison.py ``paired_intervals``)
over the subset, so a kind's row and the headline never disagree in method.
"""

from __future__ import annotations

from collections import defaultdict
from statistics import mean
from typing import Mapping, Sequence

from replayer.analysis.comparison import paired_intervals
from replayer.analysis.figures import ok
from replayer.analysis.metrics import acceptance_by_position
from replayer.analysis.turn_kinds import KINDS, PROMPT_HEAVY_RATIO, RULE, SHAPES, shape_of
from replayer.results.record import TurnResult
from replayer.results.summary import KindArm, KindRatio, KindRow, TurnClass, TurnKindsSection

TurnKey = tuple[str, int]  # (trace, turn)


def turn_classes(records: Sequence[TurnResult], baseline: str, kinds: Mapping[TurnKey, str]) -> tuple[TurnClass, ...]:
    """Each replayed turn with its kind and shape; the shape from the baseline's records
    (any arm's when the baseline lost the turn: the prompts are the same)."""
    seen: dict[TurnKey, list[TurnResult]] = defaultdict(list)
    for r in ok(records):
        seen[(r.trace, r.turn)].append(r)
    out = []
    for key in sorted(k for k in seen if k in kinds):
        own = [r for r in seen[key] if r.variant == baseline] or seen[key]
        processed = mean(float(r.prompt_n or 0) for r in own)
        generated = mean(float(r.predicted_n or 0) for r in own)
        out.append(TurnClass(key[0], key[1], kinds[key], shape_of(processed, generated), processed, generated))
    return tuple(out)


def turn_kinds_section(by_variant: Mapping[str, list[TurnResult]], baseline: str,
                       kinds: Mapping[TurnKey, str]) -> TurnKindsSection | None:
    """None when no replayed turn has a kind (a run without its traces, `replay synth`)."""
    classes = turn_classes([r for rs in by_variant.values() for r in rs], baseline, kinds)
    if not classes:
        return None
    groups: list[tuple[str, str, frozenset[TurnKey]]] = []
    for group, names, attr in (("kind", KINDS, "kind"), ("shape", SHAPES, "shape")):
        for name in names:
            keys = frozenset((c.trace, c.turn) for c in classes if getattr(c, attr) == name)
            if keys:
                groups.append((group, name, keys))
    rows = tuple(_row(group, name, keys, by_variant, baseline) for group, name, keys in groups)
    return TurnKindsSection(rule=RULE, prompt_heavy_ratio=PROMPT_HEAVY_RATIO, rows=rows, turns=classes)


def _row(group: str, name: str, keys: frozenset[TurnKey], by_variant: Mapping[str, list[TurnResult]],
         baseline: str) -> KindRow:
    subset = {v: [r for r in rs if (r.trace, r.turn) in keys] for v, rs in by_variant.items()}
    arms = {v: _arm(rs) for v, rs in subset.items() if rs}
    ratios = tuple(_ratio(v, subset[baseline], rs) for v, rs in subset.items()
                   if v != baseline and rs and subset.get(baseline))
    return KindRow(group=group, name=name, arms=arms, ratios=ratios)


def _arm(records: list[TurnResult]) -> KindArm:
    good = ok(records)
    reps = max(len({r.repetition for r in records}), 1)
    draft = sum(r.draft_n for r in good)

    def per_rep(values: list[float]) -> float:
        return sum(values) / reps

    return KindArm(
        turns=round(len(good) / reps), generated_tokens=round(per_rep([float(r.predicted_n or 0) for r in good])),
        wall_s=per_rep([r.wall_ms for r in good]) / 1e3, prefill_s=per_rep([r.prompt_ms or 0.0 for r in good]) / 1e3,
        decode_s=per_rep([r.predicted_ms or 0.0 for r in good]) / 1e3,
        acceptance=sum(r.draft_n_accepted for r in good) / draft if draft else None,
        acceptance_by_position=acceptance_by_position(good),
    )


def _ratio(candidate: str, base: list[TurnResult], cand: list[TurnResult]) -> KindRatio:
    got = paired_intervals(base, cand)
    return KindRatio(candidate=candidate, n_pairs=got["n_pairs"],
                     wall_ratio=got.get("wall_ratio_paired"), wall_ratio_ci=got.get("wall_ratio_ci"),
                     prefill_ratio=got.get("prefill_ratio_paired"), prefill_ratio_ci=got.get("prefill_ratio_ci"),
                     decode_ratio=got.get("decode_ratio_paired"), decode_ratio_ci=got.get("decode_ratio_ci"))
