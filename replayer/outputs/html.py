"""report.html: one self-contained file (plots inlined as PNG data URIs, no script or
style from elsewhere), from summary.json and results.jsonl alone.

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
from collections import defaultdict
from html import escape
from pathlib import Path
from typing import Any

from replayer.outputs.rows import comparison_rows, divergence_text, gpu_line, headline, model_line

COLORS = ("#4477aa", "#ee6677", "#228833", "#ccbb44", "#66ccee", "#aa3377", "#bbbbbb")


def _png(fig) -> str:
    from matplotlib import pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _per_turn(records: list[dict[str, Any]]) -> dict[str, dict[tuple[str, int], dict[str, float]]]:
    """variant -> (trace, turn) -> means over repetitions."""
    acc: dict[str, dict[tuple[str, int], list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        if not r.get("error") and not r.get("warmup"):
            acc[r["variant"]][(r["trace"], r["turn"])].append(r)
    fields = ("wall_ms", "prompt_ms", "predicted_ms", "prompt_tokens", "predicted_n", "draft_n", "draft_n_accepted")
    return {v: {k: {f: sum(float(x.get(f) or 0) for x in rs) / len(rs) for f in fields} for k, rs in turns.items()}
            for v, turns in acc.items()}


def _figure(width: float = 9.0, height: float = 3.4, ncols: int = 1):
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib import pyplot as plt

    return plt.subplots(1, ncols, figsize=(width, height), squeeze=False)


def plot_turn_times(turns: dict[str, dict], variants: list[str]) -> str | None:
    keys = sorted({k for v in variants for k in turns.get(v, {})})
    if not keys:
        return None
    fig, axes = _figure(max(9.0, 0.28 * len(keys) * len(variants)), 3.6)
    ax = axes[0][0]
    width = 0.8 / len(variants)
    for i, name in enumerate(variants):
        xs = [j + i * width for j in range(len(keys))]
        pre = [turns.get(name, {}).get(k, {}).get("prompt_ms", 0) / 1000 for k in keys]
        dec = [turns.get(name, {}).get(k, {}).get("predicted_ms", 0) / 1000 for k in keys]
        color = COLORS[i % len(COLORS)]
        ax.bar(xs, pre, width, color=color, alpha=0.45, label=f"{name} prefill")
        ax.bar(xs, dec, width, bottom=pre, color=color, label=f"{name} decode")
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(keys))])
    ax.set_xticklabels([str(k[1]) if len({t for t, _ in keys}) == 1 else f"{k[0]}:{k[1]}" for k in keys],
                       fontsize=7, rotation=90 if len(keys) > 30 else 0)
    ax.set_xlabel("turn")
    ax.set_ylabel("seconds")
    ax.set_title("Per turn: prefill (light) and decode (dark) per variant")
    ax.legend(fontsize=7, ncol=len(variants))
    return _png(fig)


def plot_speedup(turns: dict[str, dict], baseline: str, candidates: list[str]) -> str | None:
    base = turns.get(baseline, {})
    series = []
    for name in candidates:
        pts = [(t["prompt_tokens"], t["predicted_n"], base[k]["wall_ms"] / t["wall_ms"])
               for k, t in turns.get(name, {}).items() if k in base and t["wall_ms"] > 0]
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


def plot_acceptance(turns: dict[str, dict], summary: dict[str, Any]) -> str | None:
    spec = [n for n, v in summary["variants"].items() if v.get("draft_tokens")]
    if not spec:
        return None
    from matplotlib.ticker import MaxNLocator

    positions = {n: summary["variants"][n].get("acceptance_by_position") for n in spec}
    with_pos = any(positions.values())
    fig, axes = _figure(10.0, 3.2, 2 if with_pos else 1)
    ax = axes[0][0]
    for i, name in enumerate(spec):
        keys = sorted(turns.get(name, {}))
        ys = [100 * t["draft_n_accepted"] / t["draft_n"] if t["draft_n"] else math.nan
              for t in (turns[name][k] for k in keys)]
        ax.plot(range(len(keys)), ys, marker="o", markersize=3, color=COLORS[(i + 1) % len(COLORS)], label=name)
    ax.set_ylim(0, 100)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("turn")
    ax.set_ylabel("accepted drafts (%)")
    ax.set_title("Draft acceptance per turn")
    ax.legend(fontsize=7)
    if with_pos:
        ax = axes[0][1]
        width = 0.8 / len(spec)
        for i, name in enumerate(spec):
            pos = positions[name] or []
            ax.bar([j + i * width for j in range(len(pos))], [100 * p for p in pos], width,
                   color=COLORS[(i + 1) % len(COLORS)], label=name)
        n_pos = max(len(p or []) for p in positions.values())
        ax.set_xticks([j + 0.4 - width / 2 for j in range(n_pos)])
        ax.set_xticklabels([str(j + 1) for j in range(n_pos)])
        ax.set_xlabel("draft position")
        ax.set_ylabel("accepted (% of steps)")
        ax.set_title("Acceptance by draft position")
        ax.legend(fontsize=7)
    return _png(fig)


def plot_synthetic(comp: dict[str, Any]) -> str | None:
    syn = comp.get("synthetic")
    if not syn:
        return None
    fig, axes = _figure(10.5, 3.6, 2)
    ax = axes[0][0]
    bars = [("synthetic tg", syn.get("tg_speedup")), ("synthetic pp", syn.get("pp_speedup")),
            ("session predicted", syn.get("session_speedup_predicted")),
            ("session measured", syn.get("session_speedup_measured"))]
    bars = [(k, v) for k, v in bars if v is not None]
    ax.bar([k for k, _ in bars], [v for _, v in bars], color=[COLORS[0], COLORS[0], COLORS[3], COLORS[1]][:len(bars)])
    ax.axhline(1.0, color="#888888", linestyle="--", linewidth=1)
    ax.set_ylabel(f"speedup of {comp['candidate']}")
    ax.set_title("Synthetic vs real speedup")
    ax.tick_params(axis="x", labelsize=7)
    ax = axes[0][1]
    gap = syn.get("gap_log") or {}
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


def plot_prediction(comp: dict[str, Any]) -> str | None:
    syn = comp.get("synthetic") or {}
    rows = [t for t in syn.get("per_turn") or [] if t.get("baseline_measured_ms") is not None]
    if not rows:
        return None
    fig, axes = _figure(5.5, 4.2)
    ax = axes[0][0]
    for i, arm in enumerate(("baseline", "candidate")):
        ax.scatter([t[f"{arm}_measured_ms"] / 1000 for t in rows], [t[f"{arm}_predicted_ms"] / 1000 for t in rows],
                   s=14, color=COLORS[i], label=comp[arm])
    top = max(max(t["baseline_measured_ms"], t["candidate_measured_ms"], t["baseline_predicted_ms"],
                  t["candidate_predicted_ms"]) for t in rows) / 1000
    ax.plot([0, top], [0, top], color="#888888", linestyle="--", linewidth=1)
    ax.set_xlabel("measured (s)")
    ax.set_ylabel("predicted from calibration (s)")
    ax.set_title("Per-turn wall-clock: predicted vs measured")
    ax.legend(fontsize=7)
    return _png(fig)


def _table(header: list[str], rows: list[list[str]] | list[tuple]) -> str:
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


def render_html(summary: dict[str, Any], records: list[dict[str, Any]], run_dir: Path | None = None) -> str:
    from replayer.outputs.synthetic import bench_rows, gap_rows, synthetic_rows

    turns = _per_turn(records)
    variants = list(summary["variants"])
    baseline = summary["baseline"]
    candidates = [c["candidate"] for c in summary["comparisons"]]
    run = summary.get("run", {})
    host = run.get("host", {})
    parts = [f"<h1>replayer report: {escape(summary['scenario'])}</h1>",
             f"<p>{escape(model_line(summary))}</p>"]
    if summary.get("model", {}) and summary["model"].get("synthetic"):
        parts.append('<p class="warn">Synthetic model: figures show server mechanics, not a real model\'s speed.</p>')
    if gpu_line(summary):
        parts.append(f"<p>{escape(gpu_line(summary))}</p>")
    if run.get("interrupted"):
        parts.append('<p class="warn"><b>Interrupted</b>: partial results.</p>')
    replayed = not run.get("synthetic_only")
    for comp in summary["comparisons"] if replayed else []:
        parts.append(f"<h2>{escape(comp['candidate'])} vs {escape(comp['baseline'])}</h2>")
        parts.append(f'<p class="headline">{escape(headline(summary, comp))}</p>')
        parts.append(_table(["metric", comp["baseline"], comp["candidate"],
                             f"ratio {comp['candidate']}/{comp['baseline']}"],
                            [[r[0].strip(), r[1], r[2], r[3]] for r in comparison_rows(summary, comp)]))
        if comp.get("verdict"):
            parts.append(f'<p class="{escape(comp["verdict"])}"><b>Gate: {escape(comp["verdict"].upper())}</b> — '
                         f"{escape(comp['gate']['message'])}</p>")
            parts += [f'<p class="regression">failure: {escape(f)}</p>' for f in comp["gate"]["failures"]]
    if replayed:
        parts.append("<h2>Per turn</h2>")
        parts.append(_img(plot_turn_times(turns, variants), "per-turn prefill and decode",
                          "Mean over repetitions. Light: prompt processing (server prompt_ms); dark: generation "
                          "(predicted_ms)."))
        parts.append(_img(plot_speedup(turns, baseline, candidates), "per-turn speedup",
                          "Baseline wall-clock / candidate wall-clock per turn; above the dashed line is faster."))
        parts.append(_img(plot_acceptance(turns, summary), "acceptance",
                          "Accepted drafts / drafted tokens per turn; by draft position from /metrics."))
    header, rows = bench_rows(summary)
    if rows:
        parts.append("<h2>Synthetic benchmarks (llama-bench-like, same servers)</h2>")
        parts.append(_table(header, rows))
    for comp in summary["comparisons"]:
        syn = comp.get("synthetic")
        if not syn:
            continue
        parts.append(f"<h2>Synthetic vs real: {escape(comp['candidate'])} vs {escape(comp['baseline'])}</h2>")
        parts.append(_table(["figure", "value"], synthetic_rows(syn)))
        if syn.get("gap_log"):
            parts.append(_table(["factor", "multiplies the speedup by", "share of the gap"], gap_rows(syn)))
        parts.append(_img(plot_synthetic(comp), "synthetic vs real",
                          "Speedup = baseline time / candidate time. Right: each factor applied in turn from the "
                          "synthetic tg speedup to the measured session (docs/synthetic.md)."))
        parts.append(_img(plot_prediction(comp), "prediction", "Each point one turn; on the dashed line the "
                          "calibration predicted the turn exactly."))
    if summary.get("sweep") and run_dir is not None and (run_dir / "sweep.png").is_file():
        src = "data:image/png;base64," + base64.b64encode((run_dir / "sweep.png").read_bytes()).decode()
        parts.append("<h2>Sweep</h2>")
        parts.append(_img(src, "sweep", "Decode tok/s and session wall-clock against the swept value, 95% "
                                        "intervals; the best point starred."))
    findings = [t for t in (divergence_text(c) for c in summary["comparisons"]) if t]
    parts.append("<h2>Equality at temperature 0</h2>")
    eq_rows = [[f"{c['candidate']} vs {c['baseline']}",
                f"{c['identical_turns']} of {c['compared_turns']}" if c["equality_applies"] else "n/a (T>0)",
                str(c["diverged_turns"]) if c["equality_applies"] else "–"] for c in summary["comparisons"]]
    parts.append(_table(["comparison", "identical turns", "diverged turns"], eq_rows))
    parts += [f"<pre>{escape(t)}</pre>" for t in findings]
    parts.append("<h2>Provenance</h2>")
    prov = []
    for name, v in summary["variants"].items():
        s = v.get("server", {})
        prov.append([name, " ".join(s.get("args", [])) or "(common only)", s.get("build") or "–",
                     s.get("version") or "–", (s.get("model_sha256") or "–")[:16],
                     "yes" if v.get("spec_live") else "no"])
    parts.append(_table(["variant", "flags", "build", "version", "model sha256", "speculating"], prov))
    parts.append(_table(["host", "value"], [["cpu", host.get("cpu_model")], ["cores usable", host.get("cpu_affinity")],
                                            ["memory GiB", host.get("memory_gib")],
                                            ["command", run.get("command")], ["started", run.get("started_at")]]))
    for t in summary.get("traces", []):
        parts.append(f"<p>trace <code>{escape(t['name'])}</code>: {t['turns']} turns, sha256 "
                     f"<code>{escape(t['sha256'][:16])}</code></p>")
    for p in summary.get("problems") or []:
        parts.append(f'<p class="regression">problem: {escape(p)}</p>')
    for note in summary.get("stats_notes") or []:
        parts.append(f'<p class="warn">note: {escape(note)}</p>')
    body = "\n".join(x for x in parts if x)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>replayer: {escape(summary['scenario'])}</title><style>{STYLE}</style></head>\n"
            f"<body>\n{body}\n<script>{CHECK}</script>\n</body></html>\n")
