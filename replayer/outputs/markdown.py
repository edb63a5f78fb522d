"""report.md: the comparison tables and findings, from summary.json alone."""

from __future__ import annotations

from typing import Any

from replayer.outputs.rows import comparison_rows, divergence_text, gpu_line, headline, model_line


def render_markdown(summary: dict[str, Any]) -> str:
    out = [f"# replayer report: {summary['scenario']}", ""]
    out.append(f"- {model_line(summary)}")
    for t in summary["traces"]:
        out.append(f"- trace `{t['name']}`: {t['turns']} turns, sha256 `{t['sha256'][:12]}…`")
    run = summary.get("run", {})
    host = run.get("host", {})
    out.append(f"- host: {host.get('cpu_model')} ({host.get('cpu_affinity')} cores usable), {host.get('memory_gib')} GiB")
    if gpu_line(summary):
        out.append(f"- {gpu_line(summary)}")
    if run.get("interrupted"):
        out.append("- **interrupted**: partial results")
    out.append("")
    for name, v in summary["variants"].items():
        s = v.get("server", {})
        spec = "speculating" if v["spec_live"] else "not speculating"
        out.append(f"- `{name}`: {spec}; args `{' '.join(s.get('args', [])) or '(common only)'}`; "
                   f"build {s.get('build')}, {s.get('version') or ''} {s.get('package') or ''}".rstrip())
    out.append("")
    replayed = not run.get("synthetic_only")
    for comp in summary["comparisons"] if replayed else []:
        out.append(f"## {comp['candidate']} vs {comp['baseline']}")
        out.append("")
        out.append(f"**{headline(summary, comp)}**")
        out.append("")
        out.append(f"| metric | {comp['baseline']} | {comp['candidate']} | ratio {comp['candidate']}/{comp['baseline']} |")
        out.append("|---|---:|---:|---:|")
        for label, b, c, r in comparison_rows(summary, comp):
            out.append(f"| {label.strip()} | {b} | {c} | {r} |")
        out.append("")
        text = divergence_text(comp)
        if text:
            out.append("```")
            out.append(text)
            out.append("```")
            out.append("")
    from replayer.outputs.synthetic import synthetic_markdown

    out += synthetic_markdown(summary)
    if summary.get("sweep"):
        from replayer.outputs.sweep import render_sweep_markdown

        out.append(render_sweep_markdown(summary))
        out.append("![sweep](sweep.png)")
        out.append("")
    gated = [c for c in summary["comparisons"] if c.get("verdict")]
    if gated:
        out.append("## Gate")
        out.append("")
        out.append("| comparison | verdict | ratio | 95% CI | p | repetitions |")
        out.append("|---|---|---:|---:|---:|---:|")
        for c in gated:
            ci = c.get(f"{c['gate']['metric']}_ratio_ci")
            ratio = c.get(f"{c['gate']['metric']}_ratio_paired", c.get(f"{c['gate']['metric']}_ratio"))
            p = c.get("p_value")
            out.append(f"| {c['candidate']} vs {c['baseline']} | **{c['verdict'].upper()}** | "
                       f"{'–' if ratio is None else f'{ratio:.3f}'} | "
                       f"{'–' if not ci else f'[{ci[0]:.3f}, {ci[1]:.3f}]'} | "
                       f"{'–' if p is None else f'{p:.2g}'} | {c['repetitions']} |")
        out.append("")
        for c in gated:
            out.append(f"- {c['candidate']}: {c['gate']['message']}")
            out.extend(f"  - failure: {f}" for f in c["gate"]["failures"])
        out.append("")
    notes = summary.get("stats_notes") or []
    if notes:
        out.append("## Notes")
        out.extend(f"- {n}" for n in notes)
        out.append("")
    problems = summary.get("problems") or []
    if problems:
        out.append("## Problems")
        out.extend(f"- {p}" for p in problems)
        out.append("")
    return "\n".join(out)
