"""A sweep's report section and chart, from the summary's sweep section alone.

The rows, the best point and how it stands against the baseline are computed by
:mod:`replayer.analysis.sweep`; this module only shows them.
"""

from __future__ import annotations

import io
import math
from typing import Any, Callable

from replayer.results.summary import SweepRow, SweepSection, Summary


def render_sweep_markdown(summary: Summary) -> str:
    """A report.md section from ``summary.sweep``, best point first-class."""
    table = summary.sweep
    if table is None:
        return ""
    head = " / ".join(table.parameters)
    out = [f"## Sweep of {table.variant}: {head}", "",
           (f"| {head} | wall-clock (s) | ratio vs {summary.baseline} [95% CI] | decode tok/s | "
            "prefill tok/s | acceptance | diverged at T=0 |"),
           "|---|---:|---:|---:|---:|---:|---:|"]
    out += [_markdown_row(r) for r in table.rows]
    out.append("")
    best = _best(table)
    if best is not None and table.best_vs_baseline and best.wall_ratio is not None and best.wall_ratio_ci:
        out.append(f"Best point: **{best.label}**, {table.best_vs_baseline} than {summary.baseline} "
                   f"(wall-clock ratio {best.wall_ratio:.3f}, 95% CI "
                   f"[{best.wall_ratio_ci[0]:.3f}, {best.wall_ratio_ci[1]:.3f}]).")
        out.append("")
    out.extend(f"- {n}" for n in table.notes)
    out.append("")
    return "\n".join(out)


def _markdown_row(r: SweepRow) -> str:
    value = ", ".join(_value_text(v) for v in r.parameters.values())
    ratio = _num(r.wall_ratio, "{:.3f}")
    if r.wall_ratio_ci:
        ratio += f" [{r.wall_ratio_ci[0]:.3f}, {r.wall_ratio_ci[1]:.3f}]"
    div = ("ref" if r.is_baseline else "n/a (T>0)" if not r.equality_applies
           else "–" if r.diverged_turns is None else f"{r.diverged_turns} of {r.compared_turns}")
    mark = " **(best)**" if r.best else ""
    acceptance = "–" if r.acceptance is None else f"{100 * r.acceptance:.1f}%"
    return (f"| {value}{mark} | {_num(r.wall_s, '{:.2f}')} | {ratio} | {_num(r.decode_tok_s, '{:.1f}')} | "
            f"{_num(r.prefill_tok_s, '{:.1f}')} | {acceptance} | {div} |")


def _best(section: SweepSection) -> SweepRow | None:
    return next((r for r in section.rows if r.best), None)


def render_sweep_png(section: SweepSection, title: str) -> bytes:
    """Two panels against the swept value: decode tok/s and session wall-clock, with
    95 % interval error bars where the section has them, the baseline as a dashed line
    (when it is not itself a sweep point) and the best point starred. A grid sweep
    draws one line per combination of the other parameters, the first parameter on
    the x axis. ``title`` (the scenario's name) heads the chart's caption."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib import pyplot as plt

    xparam = section.parameters[0]
    xs_all = [r.parameters[xparam] for r in section.rows]
    xpos, ticks = _x_axis(xs_all)
    fig, (ax_rate, ax_wall) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=110)
    for i, (rest, rs) in enumerate(_series(section.rows, xparam).items()):
        label = ", ".join(f"{k}={_value_text(v)}" for k, v in rest) or section.variant
        measured = [r for r in rs if r.measured]
        color = f"C{i % 10}"
        _panel(ax_rate, measured, xparam, xpos, lambda r: r.decode_tok_s, lambda r: r.decode_tok_s_ci, color, label)
        _panel(ax_wall, measured, xparam, xpos, lambda r: r.wall_s, lambda r: r.wall_s_ci, color, label)
    _mark_best_and_baseline(section, xparam, xpos, ax_rate, ax_wall)
    ax_rate.set_title("Decode rate")
    ax_rate.set_ylabel("decode tok/s (higher is better)")
    ax_wall.set_title("Session LLM wall-clock")
    ax_wall.set_ylabel("seconds (lower is better)")
    for ax in (ax_rate, ax_wall):
        _axis(ax, xparam, ticks, [xpos(x) for x in xs_all])
    fig.suptitle(f"{title}: sweep of {section.variant} over {', '.join(section.parameters)} "
                 "(error bars: 95% CI vs baseline)", fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def _x_axis(xs: list[Any]) -> tuple[Callable[[Any], float], list[str]]:
    """Where each swept value sits on the x axis, and the tick labels of a categorical sweep
    (none for a numeric one: its values are positions)."""
    if all(isinstance(x, (int, float)) and not isinstance(x, bool) or _is_num_str(x) for x in xs):
        return float, []
    order = list(dict.fromkeys(_value_text(x) for x in xs))
    return (lambda v: float(order.index(_value_text(v)))), order


def _series(rows: tuple[SweepRow, ...], xparam: str) -> dict[tuple[tuple[str, Any], ...], list[SweepRow]]:
    series: dict[tuple[tuple[str, Any], ...], list[SweepRow]] = {}
    for r in rows:
        rest = tuple((k, v) for k, v in r.parameters.items() if k != xparam)
        series.setdefault(rest, []).append(r)
    return series


def _mark_best_and_baseline(section: SweepSection, xparam: str, xpos: Callable[[Any], float], ax_rate,
                            ax_wall) -> None:
    best = _best(section)
    base = section.baseline
    in_sweep = any(r.is_baseline for r in section.rows)
    for ax, best_y, base_y in ((ax_rate, best.decode_tok_s if best else None, base.decode_tok_s),
                               (ax_wall, best.wall_s if best else None, base.wall_s)):
        if best is not None and best_y is not None:
            ax.plot([xpos(best.parameters[xparam])], [best_y], marker="*", markersize=16, color="gold",
                    markeredgecolor="black", linestyle="none", zorder=5, label=f"best: {best.label}")
        if not in_sweep and base_y is not None:
            ax.axhline(base_y, color="grey", linestyle="--", linewidth=1, label=f"baseline {base.variant}")


def _axis(ax, xparam: str, ticks: list[str], positions: list[float]) -> None:
    ax.set_xlabel(xparam)
    ax.grid(True, alpha=0.3)
    if ticks:
        ax.set_xticks(range(len(ticks)), ticks, rotation=30 if max(len(t) for t in ticks) > 6 else 0)
    else:
        values = sorted(set(positions))
        if len(values) <= 12:
            ax.set_xticks(values, [_value_text(v) for v in values])
    ax.legend(fontsize=8, loc="best")


def _panel(ax, rows: list[SweepRow], xparam: str, xpos: Callable[[Any], float],
           value: Callable[[SweepRow], float | None], interval: Callable[[SweepRow], tuple[float, float] | None],
           color: str, label: str) -> None:
    pts = sorted(((xpos(r.parameters[xparam]), y, interval(r)) for r in rows if (y := value(r)) is not None),
                 key=lambda t: t[0])
    if not pts:
        return
    ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", color=color, label=label)
    for r in rows:  # a point with failed turns sums fewer turns: flag it so it does not read as fast
        y = value(r)
        if r.errors and y is not None:
            x = xpos(r.parameters[xparam])
            ax.plot([x], [y], marker="X", markersize=11, color="red", linestyle="none", zorder=6)
            ax.annotate(f"{r.errors} failed", (x, y), textcoords="offset points", xytext=(6, 6),
                        fontsize=8, color="red")
    with_ci = [(x, y, ci) for x, y, ci in pts if ci]
    if with_ci:
        lo = [max(y - ci[0], 0.0) for _, y, ci in with_ci]
        hi = [max(ci[1] - y, 0.0) for _, y, ci in with_ci]
        ax.errorbar([p[0] for p in with_ci], [p[1] for p in with_ci], yerr=[lo, hi], fmt="none", ecolor=color,
                    capsize=4, linewidth=1.2)


def _num(value: Any, fmt: str) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else fmt.format(value)


def _is_num_str(v: Any) -> bool:
    if not isinstance(v, str):
        return False
    try:
        float(v)
    except ValueError:
        return False
    return True


def _value_text(v: Any) -> str:
    if v is None:
        return "(none)"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)
