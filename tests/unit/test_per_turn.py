"""The per-turn table every view renders: paired turns only, missing figures left out, not zeros."""

from dataclasses import replace

from rich.console import Console

from replayer.analysis.per_turn import per_turn
from replayer.outputs.terminal import per_turn_table
from replayer.results.record import TurnError

from test_summary import build, rec


def test_a_turn_one_arm_lost_is_left_out_for_every_arm_and_counted():
    err = TurnError("connection_error", "refused")
    records = [rec("off", 0), rec("off", 1), rec("on", 0), rec("on", 1, error=err)]
    table = per_turn(records, ["off", "on"])
    assert [(r.trace, r.turn) for r in table.rows] == [("t", 0)]
    assert table.left_out == 1


def test_pairing_is_per_repetition_so_both_arms_average_the_same_repetitions():
    err = TurnError("timeout", "slow")
    records = [rec("off", 0, rep=0, wall=100), rec("on", 0, rep=0, wall=50),
               rec("off", 0, rep=1, wall=300), rec("on", 0, rep=1, wall=10, error=err)]
    row = per_turn(records, ["off", "on"]).rows[0]
    assert row.of("off").wall_ms == 100 and row.of("on").wall_ms == 50  # not 200 against 50
    assert row.of("off").repetitions == 1


def test_a_figure_the_server_did_not_report_is_left_out_of_its_mean_not_counted_as_zero():
    records = [rec("off", 0, rep=0, prompt_ms=30.0), replace(rec("off", 0, rep=1), prompt_ms=None, cache_n=None),
               rec("on", 0, rep=0, draft_n=10, acc=7), rec("on", 0, rep=1, draft_n=10, acc=5)]
    row = per_turn(records, ["off", "on"]).rows[0]
    assert row.of("off").prompt_ms == 30.0 and row.of("off").cache_n == 0
    assert row.of("on").acceptance == 0.6 and row.of("off").acceptance is None
    only_missing = per_turn([replace(rec("off", 0), prompt_ms=None), rec("on", 0)], ["off", "on"])
    assert only_missing.rows[0].of("off").prompt_ms is None


def test_the_terminal_table_shows_what_the_analysis_gives_and_says_what_it_left_out():
    err = TurnError("connection_error", "refused")
    records = [rec("off", 0), replace(rec("off", 1), prompt_ms=None), rec("on", 0, draft_n=4, acc=3),
               rec("on", 1), rec("off", 2), rec("on", 2, error=err)]
    summary = build(records)
    console = Console(width=200, record=True)
    console.print(per_turn_table(summary, records))
    text = console.export_text()
    assert "75%" in text and "–" in text
    assert "1 turn(s) of a repetition left out" in text
    lines = [ln for ln in text.splitlines() if ln.startswith("│ t ")]
    assert len(lines) == 2
