"""The preflight: turns whose prompt plus generation cannot fit the slot context, found before
any request, and either refused (with the fixes) or left out (with a note)."""

from pathlib import Path

import pytest

from replayer.errors import InputError
from replayer.pipeline.preflight import EXACT_FROM, check_plan, fit_plan, oversize_turns, prompt_counts
from replayer.results.summary import ServerInfo, VariantFacts
from replayer.runner.plan import ReplayPlan, plan_turns
from replayer.scenario.model import ReplayPolicy
from replayer.tokens import TraceEstimate
from replayer.trace import load_trace

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "fixtures" / "tiny_trace.json"
FLAGSHIP = ROOT / "traces" / "cli_tool.json"


def plan_of(path: Path, policy: ReplayPolicy = ReplayPolicy()) -> ReplayPlan:
    planned = plan_turns([load_trace(path)], policy, tokenize=lambda s: None, estimate=len)
    return ReplayPlan(tuple(planned), ("off", "on"))


def facts(*n_ctx: int | None) -> dict[str, VariantFacts]:
    return {f"v{i}": VariantFacts(f"v{i}", ServerInfo(url="http://x", managed=True, n_ctx=n), None, None) for i, n in enumerate(n_ctx)}


def test_turns_that_fit_are_replayed_as_planned_and_far_ones_cost_no_server_call():
    plan = plan_of(FLAGSHIP)
    asked = []
    kept, notes = check_plan(plan, facts(1_000_000), lambda body: asked.append(body) or 1, ReplayPolicy())
    assert kept == plan and notes == [] and asked == []  # every estimate is far below half the room


def test_an_oversize_turn_stops_the_run_naming_trace_turn_tokens_and_the_fixes():
    plan = plan_of(FLAGSHIP)
    estimate = TraceEstimate(plan.turns[0].trace)
    limit = estimate.prompt(20) + plan.turns[20].max_tokens  # turn 20 just fits, later ones do not
    with pytest.raises(InputError) as info:
        check_plan(plan, facts(limit + 5000, limit), lambda body: None, ReplayPolicy())
    text = str(info.value)
    assert info.value.exit_code == 2 and "\n" not in text
    assert f"cannot fit the slot context of {limit} tokens" in text
    assert "cli_tool turn 21 needs" in text and "prompt +" in text and "nothing was sent" in text
    assert "-c, at least" in text and "--turns 21" in text and "replay: {oversize: skip}" in text
    assert "and " in text and "more" in text  # 19 turns: the first 8 named, the rest counted


def test_skip_leaves_the_oversize_turns_out_and_says_how_many():
    plan = plan_of(FLAGSHIP)
    estimate = TraceEstimate(plan.turns[0].trace)
    limit = estimate.prompt(20) + plan.turns[20].max_tokens
    kept, notes = check_plan(plan, facts(limit), lambda body: None, ReplayPolicy(oversize="skip"))
    assert [t.turn.index for t in kept.turns] == list(range(21))
    assert len(notes) == 1 and notes[0].startswith("19 turn(s) left out (replay.oversize: skip)")


def test_exact_counts_are_asked_only_near_the_limit_and_win_over_the_estimate():
    plan = plan_of(TINY)
    turns = plan.turns
    room = 1000
    estimates = {t.turn.index: e for t, e in zip(turns, (10, int(EXACT_FROM * 1000), 2000))}
    asked = []

    def exact(t):
        asked.append(t.turn.index)
        return 5000 if t.turn.index == 2 else None  # None: the server could not count

    counts = prompt_counts(turns, room + turns[0].max_tokens, lambda t: estimates[t.turn.index], exact)
    assert asked == [1, 2] and counts == [10, 500, 5000]
    problems = oversize_turns(turns, counts, room + turns[0].max_tokens)
    assert [(p.turn, p.needed) for p in problems] == [(2, 5000 + turns[2].max_tokens)]


def test_turn_zero_too_long_suggests_no_turn_count_and_no_server_context_skips_the_check():
    plan = plan_of(TINY)
    problems = oversize_turns(plan.turns, [10_000] * 3, 4096)
    with pytest.raises(InputError) as info:
        fit_plan(plan, problems, 4096, "fail")
    assert "--turns" not in str(info.value) and "3 planned turn(s)" in str(info.value)
    assert check_plan(plan, facts(None), lambda body: 1, ReplayPolicy()) == (plan, [])
