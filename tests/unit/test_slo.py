"""Agents within an SLO: the two figures from records, the bisection over levels, the section."""

from __future__ import annotations

import pytest

from replayer.analysis.slo import meets, next_level, session_decode_p10, slo_section, ttft_p90_s
from replayer.results.record import TurnError, TurnResult
from replayer.scenario.load import load_scenario
from replayer.scenario.model import SloSpec


def rec(session: int, turn: int, wall: float, predicted_ms: float, predicted_n: int, rep: int = 0,
        error: bool = False) -> TurnResult:
    return TurnResult(trace="t", turn=turn, variant="on", repetition=rep, seq=0, wall_ms=wall, max_tokens=64,
                      max_tokens_source="usage", predicted_ms=None if error else predicted_ms,
                      predicted_n=None if error else predicted_n, level=2, session=session,
                      error=TurnError("timeout", "no answer") if error else None)


def test_first_token_is_the_wall_clock_less_the_decode():
    records = [rec(0, k, wall=1000.0 + 100 * k, predicted_ms=500.0, predicted_n=51) for k in range(10)]
    # waits 0.5 .. 1.4 s: the 90th percentile by linear interpolation
    assert ttft_p90_s(records) == pytest.approx(1.31)
    assert ttft_p90_s([rec(0, 0, 1.0, 1.0, 1, error=True)]) is None


def test_session_decode_speed_counts_steps_as_llama_server_does():
    fast = [rec(0, k, 1000.0, predicted_ms=500.0, predicted_n=51) for k in range(3)]  # 150 steps in 1.5 s
    slow = [rec(1, k, 1000.0, predicted_ms=1000.0, predicted_n=51) for k in range(3)]  # 150 in 3.0 s
    assert session_decode_p10(fast) == pytest.approx(100.0)
    assert session_decode_p10(fast + slow) == pytest.approx(50.0 + 0.1 * 50.0)  # p10 of {50, 100}


@pytest.mark.parametrize("slo, ttft, decode, ok", [
    (SloSpec(ttft_p90_s=2.0), 1.9, None, True),
    (SloSpec(ttft_p90_s=2.0), 2.1, 500.0, False),
    (SloSpec(decode_tok_s_p10=20.0), 99.0, 20.0, True),
    (SloSpec(decode_tok_s_p10=20.0), 0.1, 19.9, False),
    (SloSpec(ttft_p90_s=2.0, decode_tok_s_p10=20.0), 1.0, 25.0, True),
    (SloSpec(ttft_p90_s=2.0, decode_tok_s_p10=20.0), 1.0, None, False),  # a figure it lacks fails it
])
def test_meets(slo, ttft, decode, ok):
    assert meets(slo, ttft, decode) is ok


def search(capacity: dict[str, int], most: int) -> tuple[list[int], dict[str, dict[int, bool]]]:
    """Run the search against arms that meet the SLO up to ``capacity`` sessions."""
    passed: dict[str, dict[int, bool]] = {a: {} for a in capacity}
    tried = []
    while (level := next_level(passed, list(capacity), most)) is not None:
        assert level not in tried, "a level is never run twice"
        tried.append(level)
        for arm, cap in capacity.items():
            passed[arm][level] = level <= cap
    return tried, passed


@pytest.mark.parametrize("capacity, most", [
    ({"off": 3, "on": 5}, 8), ({"off": 1, "on": 1}, 8), ({"off": 0, "on": 2}, 8), ({"off": 8, "on": 12}, 12),
    ({"off": 6, "on": 6}, 6), ({"off": 0, "on": 0}, 4), ({"off": 7, "on": 29}, 32),
])
def test_the_search_finds_each_arms_largest_level(capacity, most):
    tried, passed = search(capacity, most)
    section = slo_section(SloSpec(ttft_p90_s=1.0), {n: {a: ((0.5 if passed[a][n] else 2.0), None) for a in passed}
                                                    for n in tried}, True, most)
    assert section.largest == {a: min(c, most) for a, c in capacity.items()}
    assert len(tried) <= 2 * most.bit_length() + 1  # doubling, then bisection: logarithmic in the range
    for arm, cap in capacity.items():
        # proven exactly unless the arm met the SLO at the largest level allowed
        assert section.bounded[arm] == (cap < most)


def test_listed_levels_give_the_largest_that_met_it():
    figures = {1: {"off": (0.5, 30.0), "on": (0.4, 40.0)}, 2: {"off": (1.5, 30.0), "on": (0.8, 35.0)},
               4: {"off": (3.0, 10.0), "on": (1.9, 22.0)}}
    section = slo_section(SloSpec(ttft_p90_s=2.0, decode_tok_s_p10=20.0), figures, False, 4)
    assert section.largest == {"off": 2, "on": 4}
    assert section.bounded == {"off": True, "on": False}  # on met it at the largest level run: at least 4
    assert [lv.passed for lv in section.levels][1] == {"off": True, "on": True}


def test_sessions_auto_is_read_with_its_bound(tmp_path):
    trace = tmp_path / "t.json"
    trace.write_text("{}")
    p = tmp_path / "s.yaml"
    p.write_text("version: 1\ntraces: [t.json]\nvariants:\n  off: {args: []}\n  on: {args: [--spec-type, draft-mtp]}\n"
                 "load:\n  sessions: auto\n  sessions_max: 6\n  slo: {ttft_p90_s: 2.5, decode_tok_s_p10: 15}\n")
    load = load_scenario(p).load
    assert load.search and load.sessions == (1, 2, 3, 4, 5, 6)
    assert load.slo == SloSpec(ttft_p90_s=2.5, decode_tok_s_p10=15.0)
    assert load.total(1) == 1  # a search's level 1 replays one session: its largest level is not known yet
