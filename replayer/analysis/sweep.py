"""A sweep's table: one row per point, the best point, and how it stands against the baseline.

Diverged turns are checked only when the point and the baseline both run at
temperature 0. The best point is the lowest wall-clock among points that
completed every turn: a point with failed turns sums fewer turns and would look faster.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Mapping, Sequence

from replayer.results.summary import (Comparison, SweepBaseline, SweepRow, SweepSection, VariantSummary)
from replayer.scenario.model import SweepPlan, SweepPoint

EQUALITY_NOTE = ("diverged turns: token ids compared with the baseline turn by turn; checked only when the point "
                 "and the baseline both sample at temperature 0 (at T>0 different outputs are expected)")


def sweep_section(baseline: str, variants: Mapping[str, VariantSummary], comparisons: Sequence[Comparison],
                  plan: SweepPlan) -> SweepSection:
    base = variants.get(baseline)
    comps = {c.candidate: c for c in comparisons if c.baseline == baseline}
    rows = [_row(p, variants.get(p.name), comps.get(p.name), base, p.name == baseline, plan.equality_applies(p.name))
            for p in plan.points]
    best = best_point(rows)
    rows = [replace(r, best=r is best) for r in rows]
    return SweepSection(
        kind=plan.kind, variant=plan.base, parameters=tuple(plan.parameters),
        baseline=SweepBaseline(baseline, base.wall_s if base else None, base.decode_tok_s if base else None,
                               base.prefill_tok_s if base else None),
        rows=tuple(rows), best=best.variant if best else None, best_vs_baseline=against_baseline(best),
        servers={k: tuple(v) for k, v in plan.servers.items()}, notes=(*plan.notes, EQUALITY_NOTE),
    )


def _row(p: SweepPoint, v: VariantSummary | None, comp: Comparison | None, base: VariantSummary | None,
         is_base: bool, equality: bool) -> SweepRow:
    theirs = None if is_base else comp
    ci = theirs.wall_ratio_ci if theirs else None
    decode_ci = theirs.decode_ratio_ci if theirs else None
    return SweepRow(
        variant=p.name, parameters=dict(p.values), value=p.value, label=p.label, is_baseline=is_base,
        measured=v is not None and v.turns > 0,
        wall_s=v.wall_s if v else None, decode_tok_s=v.decode_tok_s if v else None,
        prefill_tok_s=v.prefill_tok_s if v else None, acceptance=v.acceptance if v else None,
        draft_tokens=v.draft_tokens if v else None, generated_tokens=v.generated_tokens if v else None,
        turns=v.turns if v else None, errors=v.errors if v else None,
        wall_ratio=1.0 if is_base and v else (comp.wall_ratio if comp else None),
        wall_ratio_ci=ci, decode_ratio_ci=decode_ci, p_value=theirs.p_value if theirs else None,
        equality_applies=equality,
        compared_turns=theirs.compared_turns if theirs else None,
        diverged_turns=theirs.diverged_turns if theirs and equality else None,
        note="baseline" if is_base else (None if equality else "n/a (T>0): equality not checked"),
        wall_s_ci=(ci[0] * base.wall_s, ci[1] * base.wall_s) if ci and base and base.wall_s else None,
        decode_tok_s_ci=_decode_rate_ci(decode_ci, v, base),
        best=False,
    )


def best_point(rows: Sequence[SweepRow]) -> SweepRow | None:
    """The row with the lowest wall-clock among those that completed every turn without error."""
    done = [r for r in rows if r.measured and r.wall_s is not None]
    if not done:
        return None
    most = max(r.turns or 0 for r in done)
    complete = [r for r in done if not r.errors and (r.turns or 0) == most]
    return min(complete, key=lambda r: r.wall_s or 0.0) if complete else None


def against_baseline(row: SweepRow | None) -> str | None:
    """Whether the best point beats the baseline at 95 %: 'faster', 'slower', 'inconclusive'
    (None without an interval, or when the best point is the baseline)."""
    ci = row.wall_ratio_ci if row else None
    if not ci:
        return None
    return "faster" if ci[1] < 1 else "slower" if ci[0] > 1 else "inconclusive"


def _decode_rate_ci(ci: tuple[float, float] | None, v: VariantSummary | None,
                    base: VariantSummary | None) -> tuple[float, float] | None:
    """decode tok/s interval from the decode-time ratio interval: valid when both arms
    generated the same tokens (recorded generation), so the rate ratio is 1 / time ratio."""
    rate = base.decode_tok_s if base else None
    if not ci or not rate or ci[0] <= 0 or v is None or base is None or v.generated_tokens != base.generated_tokens:
        return None
    return (rate / ci[1], rate / ci[0])
