"""The turn-kinds table and the per-request switch line, shared by the terminal, report.md and
report.html so they never disagree, and the plot of each kind's ratio with its interval."""

from __future__ import annotations

import io
import math

from replayer.results.summary import Comparison, KindRatio, KindRow, Summary, TurnKindsSection

LABELS = {"tool_call": "tool call", "code_edit": "code edit", "prose": "prose", "reasoning": "reasoning",
          "prompt-heavy": "prompt-heavy", "decode-heavy": "decode-heavy"}


def _ratio(value: float | None, ci: tuple[float, float] | None) -> str:
    if value is None:
        return "–"
    return f"{value:.2f}x [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else f"{value:.2f}x"


def _theirs(row: KindRow, candidate: str) -> KindRatio | None:
    return next((r for r in row.ratios if r.candidate == candidate), None)


def kind_rows(section: TurnKindsSection, comp: Comparison) -> tuple[list[str], list[list[str]]]:
    """One row per kind, then per shape: turns, tokens, each arm's wall-clock, the candidate's
    paired ratios (candidate / baseline time, 95 % interval) and its acceptance."""
    header = ["kind / shape", "turns", "tokens", f"{comp.baseline} s", f"{comp.candidate} s",
              "wall ratio, 95% CI", "prefill ratio, 95% CI", "decode ratio, 95% CI", "acceptance",
              "by draft position"]
    rows = []
    for row in section.rows:
        base, cand, r = row.arms.get(comp.baseline), row.arms.get(comp.candidate), _theirs(row, comp.candidate)
        if base is None or cand is None:
            continue
        pos = " / ".join(f"{100 * p:.0f}%" for p in cand.acceptance_by_position or ()) or "–"
        rows.append([("  " if row.group == "shape" else "") + LABELS.get(row.name, row.name), str(base.turns),
                     str(base.generated_tokens), f"{base.wall_s:.2f}", f"{cand.wall_s:.2f}",
                     _ratio(r.wall_ratio, r.wall_ratio_ci) if r else "–",
                     _ratio(r.prefill_ratio, r.prefill_ratio_ci) if r else "–",
                     _ratio(r.decode_ratio, r.decode_ratio_ci) if r else "–",
                     "–" if cand.acceptance is None else f"{100 * cand.acceptance:.1f}%", pos])
    return header, rows


def switch_line(comp: Comparison) -> str | None:
    """The per-request switch beside the headline: the realisable rule, and the oracle bound."""
    s = comp.switch
    if s is None:
        return None
    chosen = ", ".join(f"{LABELS.get(k, k)} -> {arm}" for k, arm in s.rule.items())
    return (f"a per-request switch by turn kind would take {s.rule_s:.2f} s ({100 * s.rule_share:.1f}% of the better "
            f"single setting, {s.better}: {s.better_s:.2f} s), bound {s.oracle_s:.2f} s (every turn on its faster "
            f"arm, an oracle); rule chosen on half the turns, scored on the other half ({chosen})")


def kinds_note(section: TurnKindsSection) -> str:
    return (f"Kinds from each turn's recorded response ({section.rule}); prompt-heavy: at least "
            f"{section.prompt_heavy_ratio:g} prompt tokens processed per token generated. Ratios are candidate / "
            "baseline time over the paired turns of the row, below 1 faster (docs/results.md, \"Turn kinds\").")


def kinds_png(summary: Summary) -> bytes | None:
    """Each kind's and shape's wall ratio per candidate, with its 95 % interval; 1 = no change."""
    section = summary.turn_kinds
    if section is None or not section.rows:
        return None
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib import pyplot as plt

    candidates = [c.candidate for c in summary.comparisons]
    names = [LABELS.get(r.name, r.name) for r in section.rows]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(names) * max(1, len(candidates)) ** 0.5), 3.6), dpi=90)
    width = 0.8 / max(len(candidates), 1)
    drawn = 0
    for i, cand in enumerate(candidates):
        xs, ys, lo, hi = [], [], [], []
        for j, row in enumerate(section.rows):
            r = _theirs(row, cand)
            if r is None or r.wall_ratio is None:
                continue
            xs.append(j + i * width)
            ys.append(r.wall_ratio)
            ci = r.wall_ratio_ci or (r.wall_ratio, r.wall_ratio)
            lo.append(r.wall_ratio - ci[0])
            hi.append(ci[1] - r.wall_ratio)
        if xs:
            ax.bar(xs, ys, width, yerr=[lo, hi], capsize=3, label=cand)
            drawn += 1
    if not drawn:  # no kind has a paired ratio (every turn left out or failed): no plot, not an empty one
        plt.close(fig)
        return None
    ax.axhline(1.0, color="#888888", linestyle="--", linewidth=1)
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(names))])
    ax.set_xticklabels(names, fontsize=8)
    ax.set_ylabel(f"wall time / {summary.baseline}'s")
    ax.set_title("By turn kind and shape: candidate / baseline wall-clock, 95% CI (below 1 = faster)")
    top = max((r.wall_ratio_ci[1] for row in section.rows for r in row.ratios if r.wall_ratio_ci), default=1.0)
    ax.set_ylim(0, max(1.2, top * 1.1) if math.isfinite(top) else 2.0)
    ax.legend(fontsize=7)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def kind_matrix(section: TurnKindsSection, candidates: list[str]) -> tuple[list[str], list[list[str]]]:
    """Many candidates (a sweep, a tune): one row per kind, each candidate's wall ratio in a column."""
    header = ["kind / shape", "turns", *(f"{c} wall ratio" for c in candidates)]
    rows = []
    for row in section.rows:
        arms = list(row.arms.values())
        ratios = [_theirs(row, c) for c in candidates]
        rows.append([("  " if row.group == "shape" else "") + LABELS.get(row.name, row.name),
                     str(arms[0].turns if arms else "–"),
                     *(_ratio(r.wall_ratio, r.wall_ratio_ci) if r else "–" for r in ratios)])
    return header, rows
