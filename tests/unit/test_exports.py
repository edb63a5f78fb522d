"""report.md, junit.xml, the terminal tables and the files of a run directory, from typed
summaries (builders in test_html.py)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest
from rich.console import Console
from test_html import RUN, build, records, sweep_run

from replayer.scenario.model import GateSpec
from replayer.errors import InputError
from replayer.outputs.export import rewrite_exports, write_exports
from replayer.outputs.junit import render_junit
from replayer.outputs.markdown import render_markdown
from replayer.outputs.terminal import ProgressReporter, render_terminal
from replayer.results import ResultsWriter, TurnError
from replayer.results.summary import write_summary


def test_markdown_shows_the_table_gate_and_notes():
    s = build(records(), gate=GateSpec(), notes=("no decode interval: too few pairs",))
    text = render_markdown(s)
    assert "| Total LLM wall-clock (s) | 0.20 | 0.30 |" in text
    assert "| &nbsp;&nbsp;&nbsp;&nbsp;request handling, server + HTTP (s) | 0.020 | 0.120 |" in text
    assert "| &nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;of which replayer itself (s) |" in text and "client overhead" not in text
    gate = s.comparisons[0].gate
    assert gate is not None
    assert f"| on vs off | **{gate.verdict.upper()}** |" in text and f"- on: {gate.message}" in text
    assert "  - failure: " in text
    assert "## Notes\n- no decode interval: too few pairs" in text
    assert "- host: cpu & co (2 cores usable), 8.0 GiB" in text
    assert "first divergence: trace t turn 1" in text


def test_markdown_of_a_synthetic_only_run_has_no_session_tables():
    text = render_markdown(replace(build(records()), run=replace(RUN, synthetic_only=True)))
    assert "## on vs off" not in text and "# replayer report: s" in text


def test_junit_has_one_failing_case_per_failed_gate():
    s = build(records(), gate=GateSpec())
    suite = ET.fromstring(render_junit(s))
    assert suite.get("tests") == "1" and suite.get("failures") == "1"
    case = suite.find("testcase")
    assert case is not None and case.get("name") == "on vs off" and case.get("time") == "0.300"
    assert case.find("failure") is not None
    assert "<testcase" not in render_junit(build(records()))  # nothing gated: an empty suite


def test_terminal_shows_tables_gate_notes_and_per_turn():
    s = build(records(), gate=GateSpec(), notes=("a note",))
    console = Console(record=True, width=200)
    render_terminal(s, console, records(), per_turn=True)
    text = console.export_text()
    assert "request handling, server + HTTP (s)" in text and "per turn (mean over the repetitions every variant completed)" in text
    assert "gate on: " in text and "gate on: failure: " in text and "note: a note" in text


def test_progress_reporter_takes_typed_records():
    console = Console(record=True, width=200)
    reporter = ProgressReporter(console, 2)
    reporter.turn_done(records()[0])
    reporter.turn_done(replace(records()[1], error=TurnError("timeout", "took too long")))
    reporter.add_total(3)
    assert reporter.total == 5 and reporter.done == 2
    reporter.close()
    assert "off turn 1: took too long" in console.export_text()


def test_on_a_terminal_progress_is_a_bar():
    console = Console(record=True, width=200, force_terminal=True)
    reporter = ProgressReporter(console, 2)
    reporter.turn_done(records()[0])
    assert reporter.progress is not None and reporter.progress.tasks[0].completed == 1
    reporter.close()


def test_without_a_terminal_progress_is_a_plain_line_now_and_then_and_at_the_end():
    console = Console(record=True, width=200)  # not a terminal: a CI log, a pipe
    reporter = ProgressReporter(console, 4, every_s=3600)
    for k in range(3):
        reporter.turn_done(replace(records()[0], turn=k))
    reporter.close()
    lines = [ln for ln in console.export_text().splitlines() if ln.startswith("replaying")]
    assert reporter.progress is None and len(lines) == 2, lines
    assert lines[0].startswith("replaying 1/4 turns, 0:00:00 elapsed, about 0:00:00 left; last: off t0")
    assert lines[1].startswith("replaying 3/4 turns")


def test_a_dead_server_is_said_once_not_once_per_turn():
    console = Console(record=True, width=200)
    reporter = ProgressReporter(console, 4)
    gone = TurnError("connection_error", "llama-server was killed by SIGSEGV (a crash) (log: a.log)", server_exited=True)
    for turn in range(3):
        reporter.turn_done(replace(records()[0], turn=turn, error=gone))
    reporter.turn_done(replace(records()[1], error=TurnError("timeout", "took too long")))
    reporter.close()
    text = console.export_text()
    assert text.count("SIGSEGV") == 1 and "off turn 1: took too long" in text


def _run_dir(tmp_path, summary, recs):
    write_summary(tmp_path / "summary.json", summary)
    with ResultsWriter(tmp_path / "results.jsonl") as writer:
        for r in recs:
            writer.write(r)
    return tmp_path


def test_rewrite_exports_writes_every_file_from_the_run_directory(tmp_path, monkeypatch):
    step = tmp_path / "step.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    s = build(records(), gate=GateSpec())
    (tmp_path / "run").mkdir()
    run_dir = _run_dir(tmp_path / "run", s, records())
    summary, recs = rewrite_exports(run_dir)
    assert summary == s and recs == records()
    report = (run_dir / "report.md").read_text(encoding="utf-8")
    assert "| Total LLM wall-clock (s) | 0.20 | 0.30 |" in report and step.read_text(encoding="utf-8") == report + "\n"
    assert "first divergence" in (run_dir / "report.html").read_text(encoding="utf-8")
    assert ET.parse(run_dir / "junit.xml").getroot().get("failures") == "1"
    assert not (run_dir / "sweep.png").exists() and not list(run_dir.glob("*.tmp"))


def test_exports_of_a_sweep_include_the_chart_and_no_junit_without_a_gate(tmp_path, monkeypatch):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    s, recs = sweep_run()
    run_dir = _run_dir(tmp_path, s, recs)
    rewrite_exports(run_dir)
    assert (run_dir / "sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "## Sweep of on: --spec-draft-n-max" in (run_dir / "report.md").read_text(encoding="utf-8")
    assert not (run_dir / "junit.xml").exists()
    assert [p.name for p in write_exports(run_dir, s, [])] == ["report.md", "report.html"]  # no records: no chart


def test_rewrite_exports_refuses_a_missing_or_broken_summary(tmp_path):
    with pytest.raises(InputError, match=r"expected a run directory with summary\.json"):
        rewrite_exports(tmp_path)
    (tmp_path / "summary.json").write_text("{", encoding="utf-8")
    with pytest.raises(InputError, match=r"summary\.json: line 1 column 2: invalid JSON"):
        rewrite_exports(tmp_path)
    (tmp_path / "summary.json").write_text(json.dumps({"schema": "replayer.summary/1"}), encoding="utf-8")
    with pytest.raises(InputError, match=r"summary\.json: \$\.schema"):
        rewrite_exports(tmp_path)


def test_reports_say_when_the_run_happened_how_long_it_took_and_keep_the_rows_nesting():
    from replayer.outputs.html import render_html
    from replayer.results.summary import NoiseSection

    quiet = NoiseSection(foreign_cores_mean=0.12, foreign_cores_peak=0.4, load_mean=0.3, cores=2, seconds=80.0,
                         samples=160, busy=False, threshold_mean_cores=0.5, threshold_spike_cores=1.0, message=None)
    s = replace(build(records()), run=replace(RUN, duration_s=134.2), noise=quiet)
    md = render_markdown(s)
    said = (f"run started {RUN.started_at}, took 2 min 14 s; machine quiet: other processes used 0.12 of 2 cores "
            "on average, 0.40 at most over 5 s")
    assert f"- {said}" in md and "[report.html](report.html)" in md
    assert "| &nbsp;&nbsp;&nbsp;&nbsp;prefill (s) |" in md
    assert "| &nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;of which replayer itself (s) |" in md
    html = render_html(s, records())
    assert f"<p>{said}</p>" in html and "<td>\u00a0\u00a0\u00a0\u00a0prefill (s)</td>" in html
