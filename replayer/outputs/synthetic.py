"""Synthetic vs real: the rows every output format shows for a comparison's ``synthetic`` section."""

from __future__ import annotations

import math

from replayer.results.summary import Summary, SyntheticComparison

Row = tuple[str, str]


def _x(v: float | None) -> str:
    return "–" if v is None else f"{v:.3f}x"


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:+.1f}%"


def synthetic_rows(syn: SyntheticComparison) -> list[Row]:
    """Speedups (baseline time / candidate time: above 1 is faster) and the forecast."""
    acc = syn.accepted_fraction
    rows: list[Row] = [
        ("synthetic tg speedup (generation only)", _x(syn.tg_speedup)),
        ("synthetic pp speedup (prompt processing)", _x(syn.pp_speedup)),
        ("real session speedup, measured", _x(syn.session_speedup_measured)),
        ("real session speedup, predicted from the calibration", _x(syn.session_speedup_predicted)
         + _interval(syn.session_speedup_predicted_interval)),
        ("prediction error (speedup)", _pct(syn.prediction_error)),
        ("session wall-clock predicted, baseline / candidate (s)",
         f"{_s(syn.baseline_predicted_s)} / {_s(syn.candidate_predicted_s)}"),
        ("prediction error (session wall-clock, baseline / candidate)",
         f"{_pct(syn.baseline_wall_error)} / {_pct(syn.candidate_wall_error)}"),
        ("accepted share of output: probes / real", f"{_share(acc.get('probes'))} / {_share(acc.get('real'))}"),
    ]
    by_content = [f"{k.split('-', 1)[1]} {_share(v)}" for k, v in acc.items() if k.startswith(("probe-", "shaped-"))]
    if by_content:
        rows.append(("  by content (probe code / prose, shaped sessions)", ", ".join(by_content)))
    fit = syn.speculative_fit
    if fit is not None:
        rows.append(("classic relation fitted to the real turns",
                     f"alpha {fit.alpha:.3f}, c {fit.c:.3f} (gamma {fit.gamma}, {fit.turns} turns)"))
    return rows


def _interval(v: tuple[float, float] | None) -> str:
    return "" if v is None else f" [{v[0]:.3f}, {v[1]:.3f}]"


def _s(v: float | None) -> str:
    return "–" if v is None else f"{v:.2f}"


def _share(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f}%"


def gap_rows(syn: SyntheticComparison) -> list[tuple[str, str, str]]:
    """Each factor that turns the synthetic tg speedup into the real one: its multiplier, the
    reading that always holds, and its share of the log gap where that is a share at all
    (see gap_note)."""
    logs, shares = syn.gap_log or {}, syn.gap or {}
    return [(name, f"x{math.exp(v):.3f}", _gap_share(shares.get(name, 0.0))) for name, v in logs.items()]


def _gap_share(share: float) -> str:
    return f"{100 * share:+.0f}%" if abs(share) <= 1 else "–"


def gap_note(syn: SyntheticComparison) -> str | None:
    """Why a share is left out: factors that pull in opposite directions make the gap a small
    difference of large moves, and a share of it can then exceed the whole."""
    if not any(abs(v) > 1 for v in (syn.gap or {}).values()):
        return None
    return ("Shares beyond ±100 % are left out (–): some factors pull the speedup the other way, so the gap "
            "is a small difference of large moves; read the multipliers, which multiply to the whole gap.")


def bench_rows(summary: Summary) -> tuple[list[str], list[list[str]]]:
    """llama-bench-like table: per variant and depth, pp and tg tokens per second."""
    header = ["variant", "depth", "pp tok/s", "tg tok/s"]
    rows = []
    for name, v in summary.variants.items():
        for depth, figs in (v.synthetic_bench or {}).items():
            rows.append([name, depth, "–" if figs.pp_tok_s is None else f"{figs.pp_tok_s:.1f}",
                         "–" if figs.tg_tok_s is None else f"{figs.tg_tok_s:.1f}"])
    return header, rows


def synthetic_markdown(summary: Summary) -> list[str]:
    out: list[str] = []
    header, rows = bench_rows(summary)
    if rows:
        out += ["## Synthetic benchmarks (llama-bench-like, same servers)", "",
                "| " + " | ".join(header) + " |", "|---|---:|---:|---:|"]
        out += ["| " + " | ".join(r) + " |" for r in rows]
        out.append("")
    for comp in summary.comparisons:
        syn = comp.synthetic
        if syn is None:
            continue
        out += [f"## Synthetic vs real: {comp.candidate} vs {comp.baseline}", "",
                "| figure | value |", "|---|---:|"]
        out += [f"| {a} | {b} |" for a, b in synthetic_rows(syn)]
        out.append("")
        if syn.gap_log:
            out += ["From the synthetic tg speedup to the real session's, factor by factor "
                    "(each a model prediction on the real turns; shares of the log gap):", "",
                    "| factor | multiplies the speedup by | share of the gap |", "|---|---:|---:|"]
            out += [f"| {a} | {b} | {c} |" for a, b, c in gap_rows(syn)]
            out.append("")
            if gap_note(syn):
                out += [str(gap_note(syn)), ""]
    return out
