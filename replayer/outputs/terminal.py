"""Terminal output with rich: the progress bar during a run and the tables after it.

Progress and logs go to stderr; the result tables go to stdout.
"""

from __future__ import annotations

import time
from typing import Any, Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from replayer.analysis.per_turn import per_turn
from replayer.outputs.rows import comparison_rows, divergence_text, gpu_line, headline, model_line
from replayer.outputs.synthetic import bench_rows, gap_note, gap_rows, synthetic_rows
from replayer.outputs.turn_kinds import kind_matrix, kind_rows, kinds_note, switch_line
from replayer.results.record import TurnResult
from replayer.results.summary import Comparison, Summary, SyntheticComparison


PLAIN_EVERY_S = 5.0  # without a terminal, a progress line this often


class ProgressReporter:
    """Implements runner.executor.Reporter: a rich progress bar on a terminal; without one (a CI
    log, a pipe) a plain line every few seconds instead, as a bar redrawn in a log is one line
    printed at the end, cut to the width."""

    def __init__(self, console: Console, total: int, every_s: float = PLAIN_EVERY_S) -> None:
        self.console = console
        self.total, self.done = total, 0
        self.exited: set[str] = set()  # arms whose server is gone: their later turns fail alike, said once
        self.started = time.monotonic()
        self.every_s = every_s
        self.said: tuple[float, int] | None = None  # when the last plain line was printed, at which count
        self.last = ""
        self.progress: Progress | None = None
        if console.is_terminal:
            self.progress = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[last]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                console=console, transient=False,
            )
            self.task = self.progress.add_task("replaying", total=total, last="")
            self.progress.start()

    def turn_done(self, record: TurnResult) -> None:
        error = record.error
        if error is not None:
            if not (error.server_exited and record.variant in self.exited):
                self.console.print(Text(f"{record.variant} turn {record.turn}: {error.message}", "red"),
                                   highlight=False, soft_wrap=True)
            if error.server_exited:
                self.exited.add(record.variant)
            self.last = f"{record.variant} t{record.turn} error"
        else:
            self.last = (f"{record.variant} t{record.turn} {record.wall_ms:.0f} ms"
                         f" (cache {record.cache_n}, +{record.prompt_n}, gen {record.predicted_n})")
        self.done += 1
        if self.progress is not None:
            self.progress.update(self.task, advance=1, last=self.last)
        else:
            self._plain()

    def _plain(self, final: bool = False) -> None:
        now = time.monotonic()
        if self.said is not None and (self.said[1] == self.done or (not final and now - self.said[0] < self.every_s)):
            return
        self.said = (now, self.done)
        elapsed = now - self.started
        left = f", about {_clock(elapsed / self.done * (self.total - self.done))} left" if 0 < self.done < self.total else ""
        self.console.print(f"replaying {self.done}/{self.total} turns, {_clock(elapsed)} elapsed{left}; last: {self.last}",
                           markup=False, highlight=False, soft_wrap=True)

    def log(self, message: str) -> None:
        # printed above the live bar; plain text (paths, flags) and no source location, unlike Progress.log
        self.console.print(message, markup=False, highlight=False, soft_wrap=True)

    def add_total(self, n: int) -> None:
        self.total += n
        if self.progress is not None:
            self.progress.update(self.task, total=self.total)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
        else:
            self._plain(final=True)


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def render_terminal(summary: Summary, console: Console, records: Sequence[TurnResult] | None = None,
                    per_turn: bool = False) -> None:
    console.print(f"[bold]{summary.scenario}[/]  {model_line(summary)}")
    if summary.model is not None and summary.model.synthetic:
        console.print("[yellow]Synthetic model: figures show server mechanics, not a real model's speed.")
    line = gpu_line(summary)
    if line:
        console.print(line, highlight=False)
    if summary.tune is not None:
        _tune(summary, console)
    elif summary.load is not None:
        _load(summary, console)
    for comp in summary.comparisons if summary.replayed and summary.load is None and summary.tune is None else ():
        _comparison(summary, comp, console)
    if summary.tune is None:
        _kinds(summary, console)
    _synthetic(summary, console)
    if per_turn and records:
        console.print(per_turn_table(summary, records))
    for c in summary.comparisons:
        _gate(c, console)
    for p in summary.problems:
        console.print(f"[red]problem:[/] {p}")
    for note in summary.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)


def _load(summary: Summary, console: Console) -> None:
    from replayer.outputs.load import latency_rows, load_rows, slo_lines

    assert summary.load is not None
    header, rows = latency_rows(summary.load)
    # the per-arm figures as two tables that each fit 80 columns: a cut figure is a lost figure
    tables = [("concurrent sessions: aggregate generated tok/s per level", load_rows(summary.load)),
              ("per level and arm: throughput and latency", _columns(header, rows, [0, 1, 2, 3, 4])),
              ("per level and arm: sessions and truth", _columns(header, rows, [0, 1, 5, 6, 7, 8])),
              ("per level and arm: what each agent gets", _columns(header, rows, [0, 1, 9, 10]))]
    for title, (head, body) in tables:
        table = Table(title=title, title_justify="left")
        for i, col in enumerate(head):
            key = i == 0 or col == "variant"
            table.add_column(col, justify="left" if key else "right", no_wrap=key)
        for row in body:
            table.add_row(*row)
        console.print(table)
    for i, line in enumerate(slo_lines(summary.load)):
        console.print(Text(line, style="bold" if i == 0 else ""), highlight=False)
    for note in summary.load.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)


def _tune(summary: Summary, console: Console) -> None:
    from replayer.outputs.tune import footer, level_lines, level_rows, raced

    tune = summary.tune
    assert tune is not None
    for level in tune.levels:
        if not raced(level):
            console.print(Text(level_lines(tune, level)[0], style="bold"), highlight=False)
            continue
        header, rows = level_rows(tune, level)
        table = Table(title=f"tune at {level.sessions} session(s): {tune.variant}'s "
                            f"{', '.join(tune.parameters)} against {tune.baseline}", title_justify="left")
        for i, col in enumerate(header):
            table.add_column(col, justify="left" if i in (0, 4) else "right", no_wrap=i in (0, 1))
        for row in rows:
            table.add_row(*row)
        console.print(table)
        for i, line in enumerate(level_lines(tune, level)):
            console.print(Text(line, style="bold" if i == 0 else ""), highlight=False)
    if tune.slo is not None:
        from replayer.outputs.load import slo_lines
        from replayer.results.summary import LoadSection

        for line in slo_lines(LoadSection(tune.baseline, (), "none", True, False, (), slo=tune.slo)):
            console.print(line, highlight=False)
    console.print(footer(tune), highlight=False)


def _columns(header: list[str], rows: list[list[str]], keep: list[int]) -> tuple[list[str], list[list[str]]]:
    return [header[i] for i in keep], [[r[i] for i in keep] for r in rows]


def _comparison(summary: Summary, comp: Comparison, console: Console) -> None:
    table = Table(title=f"{comp.candidate} vs {comp.baseline}", title_justify="left")
    table.add_column("metric")
    table.add_column(comp.baseline, justify="right")
    table.add_column(comp.candidate, justify="right")
    table.add_column(f"ratio {comp.candidate}/{comp.baseline}", justify="right", no_wrap=True)  # an interval read whole
    for row in comparison_rows(summary, comp):
        table.add_row(*row)
    console.print(table)
    console.print(f"[bold]{headline(summary, comp)}[/]")
    switch = switch_line(comp)
    if switch:
        console.print(switch, markup=False, highlight=False)
    text = divergence_text(comp)
    if text:
        console.print(text, markup=False)


def _kinds(summary: Summary, console: Console) -> None:
    section = summary.turn_kinds
    if section is None or not summary.replayed or summary.load is not None:
        return
    if summary.sweep is not None or len(summary.comparisons) > 2:
        tables = [("by turn kind: wall ratio against " + summary.baseline,
                   kind_matrix(section, [c.candidate for c in summary.comparisons]))]
    else:  # two tables that each fit 80 columns, as for the load section
        tables = []
        for c in summary.comparisons:
            header, rows = kind_rows(section, c)
            tables += [(f"by turn kind: {c.candidate} vs {c.baseline} (time ratios: candidate / baseline)",
                        _columns(header, rows, [0, 1, 2, 5, 8])),
                       (f"by turn kind: {c.candidate} vs {c.baseline}, prefill and decode",
                        _columns(header, rows, [0, 6, 7, 9]))]
    for title, (header, rows) in tables:
        table = Table(title=title, title_justify="left")
        for i, col in enumerate(header):
            table.add_column(col, justify="left" if i == 0 else "right", no_wrap=i == 0 or "CI" in col or "position" in col)
        for row in rows:
            table.add_row(*row)
        console.print(table)
    console.print(kinds_note(section), highlight=False)


def _gate(comp: Comparison, console: Console) -> None:
    gate = comp.gate
    if gate is None:
        return
    color = {"pass": "green", "regression": "red", "inconclusive": "yellow"}.get(gate.verdict, "yellow")
    console.print(f"[bold {color}]gate {comp.candidate}: {gate.message}[/]")
    for f in gate.failures:
        console.print(f"[bold red]gate {comp.candidate}: failure: {f}[/]")


def _synthetic(summary: Summary, console: Console) -> None:
    header, rows = bench_rows(summary)
    if rows:
        table = Table(title="synthetic benchmarks (llama-bench-like, same servers)", title_justify="left")
        for i, col in enumerate(header):
            table.add_column(col, justify="left" if i == 0 else "right")
        for r in rows:
            table.add_row(*r)
        console.print(table)
    for comp in summary.comparisons:
        if comp.synthetic is not None:
            _synthetic_comparison(comp, comp.synthetic, console)


def _synthetic_comparison(comp: Comparison, syn: SyntheticComparison, console: Console) -> None:
    table = Table(title=f"synthetic vs real: {comp.candidate} vs {comp.baseline} (speedup = baseline "
                        "time / candidate time)", title_justify="left")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for r in synthetic_rows(syn):
        table.add_row(*r)
    console.print(table)
    if syn.gap_log:
        gap = Table(title="from synthetic tg speedup to the real session's, factor by factor", title_justify="left")
        gap.add_column("factor")
        gap.add_column("x speedup", justify="right")
        gap.add_column("share of gap", justify="right")
        for g in gap_rows(syn):
            gap.add_row(*g)
        console.print(gap)
        if gap_note(syn):
            console.print(gap_note(syn), highlight=False)


def per_turn_table(summary: Summary, records: Sequence[TurnResult]) -> Table:
    names = list(summary.variants)
    figures = per_turn(records, names)
    caption = (f"{figures.left_out} turn(s) of a repetition left out: not completed by every variant"
               if figures.left_out else None)
    table = Table(title="per turn (mean over the repetitions every variant completed)", title_justify="left",
                  caption=caption, caption_justify="left")
    for col in ("trace", "turn", "prompt", "gen"):
        table.add_column(col, justify="left" if col == "trace" else "right")
    for n in names:
        for col in ("cached", "prefill ms", "decode ms"):
            table.add_column(f"{n} {col}", justify="right")
    for n in names[1:]:
        table.add_column(f"{n} acc", justify="right")
    for row in figures.rows:
        first = row.of(names[0])
        cells = [row.trace, str(row.turn), _shown(first.prompt_tokens, "{:.0f}"), _shown(first.predicted_n, "{:.0f}")]
        for n in names:
            f = row.of(n)
            cells += [_shown(f.cache_n, "{:.0f}"), _shown(f.prompt_ms, "{:.1f}"), _shown(f.predicted_ms, "{:.1f}")]
        cells += [_shown(None if row.of(n).acceptance is None else 100 * row.of(n).acceptance, "{:.0f}%")
                  for n in names[1:]]
        table.add_row(*cells)
    return table


def _shown(value: float | None, fmt: str) -> str:
    return "–" if value is None else fmt.format(value)


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
