"""report.html: one self-contained file (plots inlined as PNG data URIs, no script or
style from elsewhere), from the summary and the per-turn records alone.

Sections: the headline and comparison tables, the gate verdict, per-turn plots
(stacked prefill/decode bars per variant, speedup against prompt and output length,
acceptance per turn and per draft position), synthetic vs real (benchmarks, forecast,
the gap factor by factor), the sweep plot when a sweep ran, equality findings with the
first divergence, and provenance (servers, flags, model and hash, host).
"""

from __future__ import annotations

import base64
import io
import math
from html import escape
from typing import Sequence

from replayer.analysis.per_turn import PerTurn, per_turn
from replayer.outputs.rows import (comparison_rows, divergence_classes, divergence_text, gpu_line, headline,
                                   indented, model_line, run_line)
from replayer.outputs.sweep import render_sweep_png
from replayer.outputs.synthetic import bench_rows, gap_note, gap_rows, synthetic_rows
from replayer.outputs.turn_kinds import kind_matrix, kind_rows, kinds_note, kinds_png, switch_line
from replayer.results.record import TurnResult
from replayer.results.summary import Comparison, ServerInfo, Summary

_LEVEL = "\u00a0" * 4  # HTML collapses leading spaces: a row's nesting level said this way
COLORS = ("#4477aa", "#ee6677", "#228833", "#ccbb44", "#66ccee", "#aa3377", "#bbbbbb")


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def _png(fig) -> str:
    from matplotlib import pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return _data_uri(buf.getvalue())


def _seconds(ms: float | None) -> float:
    return math.nan if ms is None else ms / 1000


def _figure(width: float = 9.0, height: float = 3.4, ncols: int = 1):
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib import pyplot as plt

    return plt.subplots(1, ncols, figsize=(width, height), squeeze=False)


def plot_turn_times(turns: PerTurn, variants: list[str]) -> str | None:
    keys = [(row.trace, row.turn) for row in turns.rows]
    if not keys:
        return None
    fig, axes = _figure(max(9.0, 0.28 * len(keys) * len(variants)), 3.6)
    ax = axes[0][0]
    width = 0.8 / len(variants)
    for i, name in enumerate(variants):
        xs = [j + i * width for j in range(len(keys))]
        figures = [row.of(name) for row in turns.rows]
        pre = [_seconds(f.prompt_ms) for f in figures]
        dec = [_seconds(f.predicted_ms) for f in figures]
        color = COLORS[i % len(COLORS)]
        ax.bar(xs, pre, width, color=color, alpha=0.45, label=f"{name} prefill")
        ax.bar(xs, dec, width, bottom=[0.0 if math.isnan(p) else p for p in pre], color=color,
               label=f"{name} decode")
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(keys))])
    ax.set_xticklabels([str(k[1]) if turns.traces == 1 else f"{k[0]}:{k[1]}" for k in keys],
                       fontsize=7, rotation=90 if len(keys) > 30 else 0)
    ax.set_xlabel("turn")
    ax.set_ylabel("seconds")
    ax.set_title("Per turn: prefill (light) and decode (dark) per variant")
    ax.legend(fontsize=7, ncol=len(variants))
    return _png(fig)


def plot_speedup(turns: PerTurn, baseline: str, candidates: list[str]) -> str | None:
    series = []
    for name in candidates:
        pts = [(f.prompt_tokens, f.predicted_n, b.wall_ms / f.wall_ms)
               for b, f in ((row.of(baseline), row.of(name)) for row in turns.rows)
               if b.wall_ms and f.wall_ms and f.prompt_tokens is not None and f.predicted_n is not None]
        if pts:
            series.append((name, pts))
    if not series:
        return None
    fig, axes = _figure(10.0, 3.4, 2)
    for col, (label, idx) in enumerate((("prompt tokens", 0), ("output tokens", 1))):
        ax = axes[0][col]
        for i, (name, pts) in enumerate(series):
            ax.scatter([p[idx] for p in pts], [p[2] for p in pts], s=14, color=COLORS[(i + 1) % len(COLORS)],
                       label=name)
        ax.axhline(1.0, color="#888888", linestyle="--", linewidth=1)
        ax.set_xlabel(label)
        ax.set_ylabel(f"speedup vs {baseline}")
        ax.set_title(f"Per-turn speedup against {label}")
        ax.legend(fontsize=7)
    return _png(fig)


def plot_acceptance(turns: PerTurn, summary: Summary) -> str | None:
    spec = [n for n, v in summary.variants.items() if v.draft_tokens]
    if not spec:
        return None
    from matplotlib.ticker import MaxNLocator

    positions = {n: summary.variant(n).acceptance_by_position for n in spec}
    with_pos = any(positions.values())
    fig, axes = _figure(10.0, 3.2, 2 if with_pos else 1)
    ax = axes[0][0]
    for i, name in enumerate(spec):
        rates = [row.of(name).acceptance for row in turns.rows]
        ys = [math.nan if a is None else 100 * a for a in rates]
        ax.plot(range(len(ys)), ys, marker="o", markersize=3, color=COLORS[(i + 1) % len(COLORS)], label=name)
    ax.set_ylim(0, 100)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("turn")
    ax.set_ylabel("accepted drafts (%)")
    ax.set_title("Draft acceptance per turn")
    ax.legend(fontsize=7)
    if with_pos:
        _positions_panel(axes[0][1], positions)
    return _png(fig)


def _positions_panel(ax, positions: dict[str, tuple[float, ...] | None]) -> None:
    width = 0.8 / len(positions)
    for i, (name, pos) in enumerate(positions.items()):
        pos = pos or ()
        ax.bar([j + i * width for j in range(len(pos))], [100 * p for p in pos], width,
               color=COLORS[(i + 1) % len(COLORS)], label=name)
    n_pos = max(len(p or ()) for p in positions.values())
    ax.set_xticks([j + 0.4 - width / 2 for j in range(n_pos)])
    ax.set_xticklabels([str(j + 1) for j in range(n_pos)])
    ax.set_xlabel("draft position")
    ax.set_ylabel("accepted (% of steps)")
    ax.set_title("Acceptance by draft position")
    ax.legend(fontsize=7)


def plot_synthetic(comp: Comparison) -> str | None:
    syn = comp.synthetic
    if syn is None:
        return None
    fig, axes = _figure(10.5, 3.6, 2)
    ax = axes[0][0]
    bars = [("synthetic tg", syn.tg_speedup), ("synthetic pp", syn.pp_speedup),
            ("session predicted", syn.session_speedup_predicted),
            ("session measured", syn.session_speedup_measured)]
    shown = [(k, v) for k, v in bars if v is not None]
    ax.bar([k for k, _ in shown], [v for _, v in shown],
           color=[COLORS[0], COLORS[0], COLORS[3], COLORS[1]][:len(shown)])
    ax.axhline(1.0, color="#888888", linestyle="--", linewidth=1)
    ax.set_ylabel(f"speedup of {comp.candidate}")
    ax.set_title("Synthetic vs real speedup")
    ax.tick_params(axis="x", labelsize=7)
    ax = axes[0][1]
    gap = syn.gap_log or {}
    if gap:
        names = list(gap)
        vals = [math.exp(gap[n]) for n in names]
        ax.barh(names, [v - 1 for v in vals], left=1, color=[COLORS[2] if v >= 1 else COLORS[1] for v in vals])
        ax.axvline(1.0, color="#888888", linewidth=1)
        ax.invert_yaxis()
        ax.tick_params(axis="y", labelsize=7)
        ax.set_xlabel("multiplies the speedup by")
        ax.set_title("From synthetic tg to the real session")
    else:
        ax.axis("off")
        ax.text(0.5, 0.5, "no gap decomposition\n(no replayed session)", ha="center", va="center")
    return _png(fig)


def plot_prediction(comp: Comparison) -> str | None:
    syn = comp.synthetic
    rows = [t for t in (syn.per_turn if syn else ())
            if t.baseline_measured_ms is not None and t.candidate_measured_ms is not None]
    if not rows:
        return None
    fig, axes = _figure(5.5, 4.2)
    ax = axes[0][0]
    arms = ((comp.baseline, [(t.baseline_measured_ms or 0.0, t.baseline_predicted_ms) for t in rows]),
            (comp.candidate, [(t.candidate_measured_ms or 0.0, t.candidate_predicted_ms) for t in rows]))
    for i, (name, pts) in enumerate(arms):
        ax.scatter([m / 1000 for m, _ in pts], [p / 1000 for _, p in pts], s=14, color=COLORS[i], label=name)
    top = max(max(m, p) for _, pts in arms for m, p in pts) / 1000
    ax.plot([0, top], [0, top], color="#888888", linestyle="--", linewidth=1)
    ax.set_xlabel("measured (s)")
    ax.set_ylabel("predicted from calibration (s)")
    ax.set_title("Per-turn wall-clock: predicted vs measured")
    ax.legend(fontsize=7)
    return _png(fig)


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _img(src: str | None, alt: str, caption: str) -> str:
    if not src:
        return ""
    return (f'<figure><img class="plot" src="{src}" alt="{escape(alt)}">'
            f"<figcaption>{escape(caption)}</figcaption></figure>")


STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}td,th{border:1px solid #ddd;padding:3px 8px}
td:not(:first-child){text-align:right;font-variant-numeric:tabular-nums}th{background:#f4f4f4}
.headline{font-weight:bold}.warn{color:#a60}.pass{color:#161}.regression{color:#b00}.inconclusive{color:#a60}
figure{margin:1em 0}img.plot{max-width:100%;border:1px solid #eee}figcaption{font-size:.85em;color:#555}
pre{background:#f7f7f7;padding:.6em;overflow-x:auto;font-size:.85em}
"""

# Checks every plot decoded; a broken one is a console error, which the browser test looks for.
CHECK = """
window.addEventListener('load', function () {
  var imgs = document.querySelectorAll('img.plot'), ok = 0;
  imgs.forEach(function (img) {
    if (img.complete && img.naturalWidth > 0) { ok += 1; } else { console.error('plot did not load: ' + img.alt); }
  });
  document.body.setAttribute('data-plots-ok', String(ok));
  document.body.setAttribute('data-plots-total', String(imgs.length));
});
"""


def render_html(summary: Summary, records: Sequence[TurnResult]) -> str:
    """The whole page; ``records`` (results.jsonl) feed the per-turn plots and the sweep chart,
    without them the page has the tables only."""
    parts = _heading(summary)
    parts += _tune(summary)
    parts += _load(summary) if summary.tune is None else []
    if summary.replayed and summary.load is None and summary.tune is None:
        for comp in summary.comparisons:
            parts += _comparison(summary, comp)
        parts += _kinds(summary)
        parts += _per_turn_plots(summary, records)
    parts += _synthetic(summary)
    parts += _sweep(summary, records)
    parts += _equality(summary)
    parts += _provenance(summary)
    parts += [f'<p class="regression">problem: {escape(p)}</p>' for p in summary.problems]
    parts += [f'<p class="warn">note: {escape(n)}</p>' for n in summary.notes]
    body = "\n".join(x for x in parts if x)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>replayer: {escape(summary.scenario)}</title><style>{STYLE}</style></head>\n"
            f"<body>\n{body}\n<script>{CHECK}</script>\n</body></html>\n")


def _heading(summary: Summary) -> list[str]:
    parts = [f"<h1>replayer report: {escape(summary.scenario)}</h1>", f"<p>{escape(model_line(summary))}</p>"]
    when = run_line(summary)
    if when:
        parts.append(f"<p>{escape(when)}</p>")
    if summary.model is not None and summary.model.synthetic:
        parts.append('<p class="warn">Synthetic model: figures show server mechanics, not a real model\'s speed.</p>')
    line = gpu_line(summary)
    if line:
        parts.append(f"<p>{escape(line)}</p>")
    if summary.run is not None and summary.run.interrupted:
        parts.append('<p class="warn"><b>Interrupted</b>: partial results.</p>')
    return parts


def _comparison(summary: Summary, comp: Comparison) -> list[str]:
    parts = [f"<h2>{escape(comp.candidate)} vs {escape(comp.baseline)}</h2>",
             f'<p class="headline">{escape(headline(summary, comp))}</p>',
             _table(["metric", comp.baseline, comp.candidate, f"ratio {comp.candidate}/{comp.baseline}"],
                    [[indented(r[0], _LEVEL), r[1], r[2], r[3]] for r in comparison_rows(summary, comp)])]
    switch = switch_line(comp)
    if switch:
        parts.append(f"<p>{escape(switch)}</p>")
    gate = comp.gate
    if gate is not None:
        parts.append(f'<p class="{escape(gate.verdict)}"><b>Gate: {escape(gate.verdict.upper())}</b> — '
                     f"{escape(gate.message)}</p>")
        parts += [f'<p class="regression">failure: {escape(f)}</p>' for f in gate.failures]
    return parts


def _kinds(summary: Summary) -> list[str]:
    section = summary.turn_kinds
    if section is None:
        return []
    if summary.sweep is not None or len(summary.comparisons) > 2:
        tables = [kind_matrix(section, [c.candidate for c in summary.comparisons])]
    else:
        tables = [kind_rows(section, c) for c in summary.comparisons]
    png = kinds_png(summary)
    return ["<h2>By turn kind</h2>", *(_table(h, [[c.strip() for c in r] for r in rows]) for h, rows in tables),
            f"<p>{escape(kinds_note(section))}</p>",
            _img(_data_uri(png) if png else None, "turn kinds",
                 "Candidate / baseline wall-clock per kind and shape of turn, with the 95% interval.")]


def _per_turn_plots(summary: Summary, records: Sequence[TurnResult]) -> list[str]:
    turns = per_turn(records, list(summary.variants))
    candidates = [c.candidate for c in summary.comparisons]
    return [
        "<h2>Per turn</h2>",
        _img(plot_turn_times(turns, list(summary.variants)), "per-turn prefill and decode",
             "Mean over the repetitions of each turn that every variant completed"
             + (f" ({turns.left_out} turn(s) of a repetition left out)" if turns.left_out else "")
             + ". Light: prompt processing (server prompt_ms); dark: generation (predicted_ms)."),
        _img(plot_speedup(turns, summary.baseline, candidates), "per-turn speedup",
             "Baseline wall-clock / candidate wall-clock per turn; above the dashed line is faster."),
        _img(plot_acceptance(turns, summary), "acceptance",
             "Accepted drafts / drafted tokens per turn; by draft position from /metrics."),
    ]


def _synthetic(summary: Summary) -> list[str]:
    parts = []
    header, rows = bench_rows(summary)
    if rows:
        parts += ["<h2>Synthetic benchmarks (llama-bench-like, same servers)</h2>", _table(header, rows)]
    for comp in summary.comparisons:
        syn = comp.synthetic
        if syn is None:
            continue
        parts.append(f"<h2>Synthetic vs real: {escape(comp.candidate)} vs {escape(comp.baseline)}</h2>")
        parts.append(_table(["figure", "value"], synthetic_rows(syn)))
        if syn.gap_log:
            parts.append(_table(["factor", "multiplies the speedup by", "share of the gap"], gap_rows(syn)))
            if gap_note(syn):
                parts.append(f"<p>{escape(str(gap_note(syn)))}</p>")
        parts.append(_img(plot_synthetic(comp), "synthetic vs real",
                          "Speedup = baseline time / candidate time. Right: each factor applied in turn from the "
                          "synthetic tg speedup to the measured session (docs/synthetic.md)."))
        parts.append(_img(plot_prediction(comp), "prediction", "Each point one turn; on the dashed line the "
                          "calibration predicted the turn exactly."))
    return parts


def _sweep(summary: Summary, records: Sequence[TurnResult]) -> list[str]:
    # the same condition as sweep.png beside the report: a sweep that replayed nothing has no chart
    if summary.sweep is None or not records:
        return []
    src = _data_uri(render_sweep_png(summary.sweep, summary.scenario))
    return ["<h2>Sweep</h2>",
            _img(src, "sweep", "Decode tok/s and session wall-clock against the swept value, 95% intervals; "
                               "the best point starred.")]


def _tune(summary: Summary) -> list[str]:
    tune = summary.tune
    if tune is None:
        return []
    from replayer.outputs.tune import footer, level_lines, level_rows, raced, tune_png

    parts = ["<h2>Tune</h2>"]
    for level in tune.levels:
        lines = level_lines(tune, level)
        parts += [f"<h3>{level.sessions} session(s)</h3>", f'<p class="headline">{escape(lines[0])}</p>',
                  *([_table(*level_rows(tune, level))] if raced(level) else []),
                  *(f"<p>{escape(line)}</p>" for line in lines[1:])]
    png = tune_png(tune, summary.scenario)
    parts.append(_img(_data_uri(png) if png else None, "tune",
                      "Speedup over the baseline against the tuned flag, per concurrency level, 95% intervals "
                      "(an arm dropped early has the wider interval of its few rounds)."))
    return parts + [f"<p>{escape(footer(tune))}</p>"]


def _load(summary: Summary) -> list[str]:
    if summary.load is None or not summary.load.levels:
        return []
    from replayer.outputs.load import latency_rows, load_png, load_rows, slo_lines

    parts = ["<h2>Concurrent sessions</h2>", *(f"<p><b>{escape(line)}</b></p>" for line in slo_lines(summary.load)),
             _table(*load_rows(summary.load)), _table(*latency_rows(summary.load)),
             _img(_data_uri(load_png(summary.load, summary.scenario)), "load",
                  "Speedup, aggregate generated tok/s and median request latency against sessions in flight.")]
    return parts + [f'<p class="warn">note: {escape(n)}</p>' for n in summary.load.notes]


def _equality(summary: Summary) -> list[str]:
    rows = [[f"{c.candidate} vs {c.baseline}",
             f"{c.identical_turns} of {c.compared_turns}" if c.equality_applies else "n/a (T>0)",
             divergence_classes(c)] for c in summary.comparisons]
    findings = [t for t in (divergence_text(c) for c in summary.comparisons) if t]
    return ["<h2>Equality at temperature 0</h2>", _table(["comparison", "identical turns", "diverged turns"], rows),
            *(f"<pre>{escape(t)}</pre>" for t in findings)]


_NO_SERVER = ServerInfo(url="", managed=False)  # a variant whose server said nothing: every field unknown


def _provenance(summary: Summary) -> list[str]:
    servers = []
    for name, v in summary.variants.items():
        s = v.server or _NO_SERVER
        servers.append([name, " ".join(s.args) or "(common only)", s.build or "–", s.version or "–",
                        (s.fingerprint or "–")[:16], ", ".join(s.backends or ()) or "–",
                        (s.model_sha256 or "–")[:16], "yes" if v.spec_live else "no"])
    run = summary.run
    host = run.host if run else None
    parts = ["<h2>Provenance</h2>",
             _table(["variant", "flags", "build", "version", "binary fingerprint", "ggml backends", "model sha256",
                     "speculating"], servers),
             _table(["host", "value"], [["cpu", host.cpu_model if host else None],
                                        ["cores usable", host.cpu_affinity if host else None],
                                        ["memory GiB", host.memory_gib if host else None],
                                        ["command", run.command if run else None],
                                        ["started", run.started_at if run else None]])]
    parts += [f"<p>trace <code>{escape(t.name)}</code>: {t.turns} turns, sha256 "
              f"<code>{escape(t.sha256[:16])}</code></p>" for t in summary.traces]
    return parts
