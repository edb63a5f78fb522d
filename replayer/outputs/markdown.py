"""report.md: the comparison tables and findings, from the summary alone."""

from __future__ import annotations

from replayer.outputs.rows import (comparison_rows, divergence_text, gpu_line, headline, indented, model_line,
                                   run_line)
from replayer.outputs.sweep import render_sweep_markdown
from replayer.outputs.synthetic import synthetic_markdown
from replayer.outputs.turn_kinds import kind_matrix, kind_rows, kinds_note, switch_line
from replayer.results.summary import Comparison, ServerInfo, Summary

_NO_SERVER = ServerInfo(url="", managed=False)  # a variant whose server said nothing: every field unknown


def render_markdown(summary: Summary) -> str:
    out = [f"# replayer report: {summary.scenario}", "", *_facts(summary), ""]
    out += _servers(summary)
    out.append("")
    if summary.tune is not None:
        from replayer.outputs.tune import tune_markdown

        out += tune_markdown(summary.tune)
    elif summary.load is not None:
        from replayer.outputs.load import load_markdown

        out += load_markdown(summary.load)
    for comp in summary.comparisons if summary.replayed and summary.load is None and summary.tune is None else ():
        out += _comparison(summary, comp)
    if summary.tune is None:
        out += _kinds(summary)
    out += synthetic_markdown(summary)
    if summary.sweep is not None:
        out += [render_sweep_markdown(summary), "![sweep](sweep.png)", ""]
    out += _gate(summary)
    out += _listed("Notes", summary.notes)
    out += _listed("Problems", summary.problems)
    return "\n".join(out)


def _facts(summary: Summary) -> list[str]:
    out = [f"- {model_line(summary)}"]
    out += [f"- trace `{t.name}`: {t.turns} turns, sha256 `{t.sha256[:12]}…`" for t in summary.traces]
    run = summary.run
    host = run.host if run else None
    if host is not None:
        out.append(f"- host: {host.cpu_model} ({host.cpu_affinity} cores usable), {host.memory_gib} GiB")
    line = gpu_line(summary)
    if line:
        out.append(f"- {line}")
    when = run_line(summary)
    if when:
        out.append(f"- {when}")
    if run is not None and run.interrupted:
        out.append("- **interrupted**: partial results")
    out.append("- plots, per-turn detail and provenance: [report.html](report.html)")
    return out


_LEVEL = "&nbsp;" * 4  # a table cell's leading spaces are dropped: a nesting level said this way


def _servers(summary: Summary) -> list[str]:
    out = []
    for name, v in summary.variants.items():
        s = v.server or _NO_SERVER
        spec = "speculating" if v.spec_live else "not speculating"
        out.append(f"- `{name}`: {spec}; args `{' '.join(s.args) or '(common only)'}`; "
                   f"build {s.build}, {s.version or ''} {s.package or ''}".rstrip()
                   + (f"; binary fingerprint {s.fingerprint[:12]} ({', '.join(s.backends or ())})"
                      if s.fingerprint else ""))
    return out


def _comparison(summary: Summary, comp: Comparison) -> list[str]:
    out = [f"## {comp.candidate} vs {comp.baseline}", "", f"**{headline(summary, comp)}**", "",
           f"| metric | {comp.baseline} | {comp.candidate} | ratio {comp.candidate}/{comp.baseline} |",
           "|---|---:|---:|---:|"]
    out += [f"| {indented(label, _LEVEL)} | {b} | {c} | {r} |" for label, b, c, r in comparison_rows(summary, comp)]
    out.append("")
    switch = switch_line(comp)
    if switch:
        out += [switch, ""]
    text = divergence_text(comp)
    if text:
        out += ["```", text, "```", ""]
    return out


def _kinds(summary: Summary) -> list[str]:
    section = summary.turn_kinds
    if section is None or not summary.replayed or summary.load is not None:
        return []
    out = ["## By turn kind", ""]
    if summary.sweep is not None or len(summary.comparisons) > 2:
        tables = [kind_matrix(section, [c.candidate for c in summary.comparisons])]
    else:
        tables = [kind_rows(section, c) for c in summary.comparisons]
    for header, rows in tables:
        out += ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
        out += ["| " + " | ".join(c.strip() for c in r) + " |" for r in rows]
        out.append("")
    return out + [kinds_note(section), ""]


def _gate(summary: Summary) -> list[str]:
    gated = [(c, c.gate) for c in summary.comparisons if c.gate is not None]
    if not gated:
        return []
    out = ["## Gate", "", "| comparison | verdict | ratio | 95% CI | p | repetitions |",
           "|---|---|---:|---:|---:|---:|"]
    for c, gate in gated:
        ratio, ci, p = c.ratio(gate.settings.metric), c.ci(gate.settings.metric), c.p_value
        out.append(f"| {c.candidate} vs {c.baseline} | **{gate.verdict.upper()}** | "
                   f"{'–' if ratio is None else f'{ratio:.3f}'} | "
                   f"{'–' if not ci else f'[{ci[0]:.3f}, {ci[1]:.3f}]'} | "
                   f"{'–' if p is None else f'{p:.2g}'} | {gate.repetitions} |")
    out.append("")
    for c, gate in gated:
        out.append(f"- {c.candidate}: {gate.message}")
        out.extend(f"  - failure: {f}" for f in gate.failures)
    out.append("")
    return out


def _listed(title: str, items: tuple[str, ...]) -> list[str]:
    if not items:
        return []
    return [f"## {title}", *(f"- {item}" for item in items), ""]
