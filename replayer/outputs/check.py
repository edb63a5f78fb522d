"""``replay check`` on the terminal: the facts, then one line per finding, problems with their fix."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from replayer.analysis.readiness import GIB, NOTE, OK, PROBLEM
from replayer.pipeline.check import CheckReport

_MARK = {OK: ("ok", "green"), NOTE: ("note", "yellow"), PROBLEM: ("PROBLEM", "bold red")}


def render_check(report: CheckReport, console: Console) -> None:
    for label, value in facts(report):
        console.print(Text.assemble((f"{label:<10}", "bold"), value), highlight=False, soft_wrap=True)
    console.print()
    for f in report.findings:
        word, style = _MARK[f.level]
        line = Text.assemble((f"{word:<8}", style), f"{f.subject}: {f.text}")
        if f.fix:
            line.append(f"; fix: {f.fix}")
        console.print(line, highlight=False, soft_wrap=True)
    problems = sum(1 for f in report.findings if f.level == PROBLEM)
    console.print()
    console.print(f"{problems} problem(s): the run would fail or mislead" if problems else "ready to run",
                  style="bold red" if problems else "bold green", highlight=False)


def facts(report: CheckReport) -> list[tuple[str, str]]:
    b, m = report.binary, report.model
    wired = {True: "draft-mtp wired for it in this build", False: "but no MTP graph for it in this build",
             None: "an architecture this build's lists do not name: the trial tells"}[m.mtp_wired]
    mtp = f"{m.mtp_layers} MTP layer(s), {wired}" if m.mtp_layers else "no MTP layers"
    rows = [("binary", f"{b.path} ({b.origin})"),
            ("build", f"{b.version or 'unknown version'}; sha256 {b.sha256[:12]}; "
                      f"backends {', '.join(b.backends) or 'cpu'}"
                      + (f"; devices {', '.join(b.devices)}" if b.devices else "")),
            ("gpus", "; ".join(f"{g.index}: {g.name}, {g.free_mib} of {g.total_mib} MiB free, compute "
                               f"{g.compute_capability or '?'}" for g in report.gpus) or f"none ({report.nvml})"),
            ("model", f"{m.path}: {m.architecture}{' (synthetic weights)' if m.synthetic else ''}, "
                      f"{m.parameters / 1e6:,.1f}M parameters, {m.file_bytes / GIB:.2f} GiB, training context "
                      f"{m.training_context or '?'}, {mtp}")]
    if report.servers is not None:
        s = report.servers
        rows.append(("servers", f"slot context {s.n_ctx}; fingerprint {s.fingerprint or '?'}"))
    for a in report.arms:
        trials = ", ".join(f"{t.work.prompt:.0f} tokens deep: prefill {_rate(t.work.n, t.prefill_ms)}, "
                           f"generation {_rate(t.work.m, t.decode_ms)}" for t in a.timings)
        if trials:
            rows.append((f"  {a.arm}", trials + (f"; {a.accepted}/{a.drafted} drafts accepted" if a.drafted else "")))
    if report.estimate is not None:
        rows.append(("estimate", report.estimate.describe()))
    return rows


def _rate(tokens: float, ms: float) -> str:
    return f"{tokens / ms * 1e3:.0f} tok/s" if ms > 0 else "?"
