"""The files a run leaves beside summary.json: report.md, report.html, junit.xml, sweep.png.

Every one is a pure function of summary.json and results.jsonl, so `replay report`
can rewrite them all from a finished run directory (:func:`rewrite_exports`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from replayer.atomic import write_atomically
from replayer.outputs.html import render_html
from replayer.outputs.junit import render_junit
from replayer.outputs.markdown import render_markdown
from replayer.outputs.sweep import render_sweep_png
from replayer.results import TurnResult, read_results_if_any
from replayer.results.summary import Summary, read_summary


def write_exports(run_dir: Path, summary: Summary, records: Sequence[TurnResult]) -> list[Path]:
    """Write the exports into ``run_dir``; returns the paths written, in order."""
    report = render_markdown(summary)
    written = [write_atomically(run_dir / "report.md", report.encode()),
               write_atomically(run_dir / "report.html", render_html(summary, records).encode())]
    if summary.gate is not None:
        written.append(write_atomically(run_dir / "junit.xml", render_junit(summary).encode()))
        _to_step_summary(report)
    if summary.sweep is not None and records:
        written.append(write_atomically(run_dir / "sweep.png", render_sweep_png(summary.sweep, summary.scenario)))
    return written


def rewrite_exports(run_dir: Path) -> tuple[Summary, list[TurnResult]]:
    """Read a finished run (summary.json, results.jsonl when there is one) and write its exports again."""
    summary = read_summary(run_dir)
    records = read_results_if_any(run_dir / "results.jsonl")
    write_exports(run_dir, summary, records)
    return summary, records


def _to_step_summary(report: str) -> None:
    # In GitHub Actions (and compatible CIs) the verdict shows on the job page.
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as fh:
            fh.write(report + "\n")
