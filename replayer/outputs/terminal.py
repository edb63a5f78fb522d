"""Terminal output with rich: the progress bar during a run and the tables after it.

Progress and logs go to stderr; the result tables go to stdout.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from replayer.outputs.rows import comparison_rows, divergence_text, gpu_line, headline, model_line


class ProgressReporter:
    """Implements runner.replay.Reporter on a rich progress bar."""

    def __init__(self, console: Console, total: int) -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[last]}"), TimeElapsedColumn(), TimeRemainingColumn(),
            console=console, transient=False,
        )
        self.task = self.progress.add_task("replaying", total=total, last="")
        self.progress.start()

    def turn_done(self, record: dict[str, Any]) -> None:
        if record.get("error"):
            self.progress.log(f"[red]{record['variant']} turn {record['turn']}: {record['error']['message']}")
            last = f"{record['variant']} t{record['turn']} error"
        else:
            last = (f"{record['variant']} t{record['turn']} {record['wall_ms']:.0f} ms"
                    f" (cache {record.get('cache_n')}, +{record.get('prompt_n')}, gen {record.get('predicted_n')})")
        self.progress.update(self.task, advance=1, last=last)

    def log(self, message: str) -> None:
        self.progress.log(message)

    def add_total(self, n: int) -> None:
        task = self.progress.tasks[0]
        self.progress.update(self.task, total=(task.total or 0) + n)

    def close(self) -> None:
        self.progress.stop()


def render_terminal(summary: dict[str, Any], console: Console, records: list[dict[str, Any]] | None = None,
                    per_turn: bool = False) -> None:
    console.print(f"[bold]{summary['scenario']}[/]  {model_line(summary)}")
    if summary.get("model", {}) and summary["model"].get("synthetic"):
        console.print("[yellow]Synthetic model: figures show server mechanics, not a real model's speed.")
    if gpu_line(summary):
        console.print(gpu_line(summary), highlight=False)
    replayed = not summary.get("run", {}).get("synthetic_only")
    for comp in summary["comparisons"] if replayed else []:
        table = Table(title=f"{comp['candidate']} vs {comp['baseline']}", title_justify="left")
        table.add_column("metric")
        table.add_column(comp["baseline"], justify="right")
        table.add_column(comp["candidate"], justify="right")
        table.add_column(f"ratio {comp['candidate']}/{comp['baseline']}", justify="right")
        for row in comparison_rows(summary, comp):
            table.add_row(*row)
        console.print(table)
        console.print(f"[bold]{headline(summary, comp)}[/]")
        text = divergence_text(comp)
        if text:
            console.print(text, markup=False)
    _synthetic(summary, console)
    if per_turn and records:
        console.print(per_turn_table(summary, records))
    for c in summary["comparisons"]:
        if c.get("verdict"):
            color = {"pass": "green", "regression": "red", "inconclusive": "yellow"}[c["verdict"]]
            console.print(f"[bold {color}]gate {c['candidate']}: {c['gate']['message']}[/]")
            for f in c["gate"]["failures"]:
                console.print(f"[bold red]gate {c['candidate']}: failure: {f}[/]")
    for p in summary.get("problems") or []:
        console.print(f"[red]problem:[/] {p}")
    for note in summary.get("stats_notes") or []:
        console.print(f"[yellow]note:[/] {note}", highlight=False)


def _synthetic(summary: dict[str, Any], console: Console) -> None:
    from replayer.outputs.synthetic import bench_rows, gap_rows, synthetic_rows

    header, rows = bench_rows(summary)
    if rows:
        table = Table(title="synthetic benchmarks (llama-bench-like, same servers)", title_justify="left")
        for i, col in enumerate(header):
            table.add_column(col, justify="left" if i == 0 else "right")
        for r in rows:
            table.add_row(*r)
        console.print(table)
    for comp in summary["comparisons"]:
        syn = comp.get("synthetic")
        if not syn:
            continue
        table = Table(title=f"synthetic vs real: {comp['candidate']} vs {comp['baseline']} (speedup = baseline "
                            "time / candidate time)", title_justify="left")
        table.add_column("figure")
        table.add_column("value", justify="right")
        for r in synthetic_rows(syn):
            table.add_row(*r)
        console.print(table)
        if syn.get("gap_log"):
            gap = Table(title="from synthetic tg speedup to the real session's, factor by factor", title_justify="left")
            gap.add_column("factor")
            gap.add_column("x speedup", justify="right")
            gap.add_column("share of gap", justify="right")
            for r in gap_rows(syn):
                gap.add_row(*r)
            console.print(gap)


def per_turn_table(summary: dict[str, Any], records: list[dict[str, Any]]) -> Table:
    names = list(summary["variants"])
    table = Table(title="per turn (mean over repetitions)", title_justify="left")
    table.add_column("trace")
    table.add_column("turn", justify="right")
    table.add_column("prompt", justify="right")
    table.add_column("gen", justify="right")
    for n in names:
        table.add_column(f"{n} cached", justify="right")
        table.add_column(f"{n} prefill ms", justify="right")
        table.add_column(f"{n} decode ms", justify="right")
    for n in names[1:]:
        table.add_column(f"{n} acc", justify="right")
    grouped: dict[tuple[str, int], dict[str, list[dict[str, Any]]]] = {}
    for r in records:
        if r.get("warmup") or r.get("error"):
            continue
        grouped.setdefault((r["trace"], r["turn"]), {}).setdefault(r["variant"], []).append(r)
    for (trace, turn), by in sorted(grouped.items()):
        first = next(iter(by.values()))[0]
        row = [trace, str(turn), str(first.get("prompt_tokens")), str(first.get("predicted_n"))]
        for n in names:
            rs = by.get(n, [])
            row += [_mean(rs, "cache_n", "{:.0f}"), _mean(rs, "prompt_ms", "{:.1f}"), _mean(rs, "predicted_ms", "{:.1f}")]
        for n in names[1:]:
            rs = by.get(n, [])
            d = sum(r.get("draft_n") or 0 for r in rs)
            a = sum(r.get("draft_n_accepted") or 0 for r in rs)
            row.append(f"{100 * a / d:.0f}%" if d else "–")
        table.add_row(*row)
    return table


def _mean(rs: list[dict[str, Any]], key: str, fmt: str) -> str:
    vals = [float(r[key]) for r in rs if r.get(key) is not None]
    return fmt.format(sum(vals) / len(vals)) if vals else "–"


class PreparationProgress:
    """A rich progress bar per model-preparation step (download, verify, extract, generate)."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                                 TimeElapsedColumn(), console=console, transient=True)
        self.tasks: dict[str, Any] = {}

    def __call__(self, label: str, done: int, total: int) -> None:
        if not self.tasks:
            self.progress.start()
        if label not in self.tasks:
            self.tasks[label] = self.progress.add_task(label, total=max(total, 1))
        self.progress.update(self.tasks[label], completed=done, total=max(total, 1))

    def close(self) -> None:
        if self.tasks:
            self.progress.stop()
