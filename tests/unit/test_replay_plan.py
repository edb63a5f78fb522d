import json
from pathlib import Path

from types import SimpleNamespace

from replayer.analysis.speculation import spec_problems
from replayer.runner.plan import arm_order, build_request, plan_turns
from replayer.trace.model import assistant_text_as_generated
from replayer.scenario.model import DEFAULT_SAMPLING, Generation, Order, ReplayPolicy, Variant
from replayer.trace import load_trace

TINY = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "tiny_trace.json"


def test_recorded_length_comes_from_usage_and_every_sampler_is_pinned():
    trace = load_trace(TINY)
    policy = ReplayPolicy()
    planned = plan_turns([trace], policy, tokenize=lambda s: None, estimate=len)
    assert [p.max_tokens for p in planned] == [48, 48, 48]
    assert {p.max_tokens_source for p in planned} == {"usage"}
    body = build_request(planned[1], policy)
    assert body["messages"] == trace.data["conversation"][:5]
    assert body["tools"] == trace.tools and body["tool_choice"] == "auto"
    for key, value in DEFAULT_SAMPLING.items():
        assert body[key] == value
    assert body["ignore_eos"] is True and body["cache_prompt"] is True and body["stream"] is False
    assert body["return_tokens"] is True and body["verbose"] is True


def test_without_usage_the_server_tokenizer_sizes_the_output():
    trace = load_trace(TINY)
    for t in trace.data["turns"]:
        del t["response"]["usage"]
    planned = plan_turns([trace], ReplayPolicy(turns=1), tokenize=lambda s: list(range(10)), estimate=len)
    assert len(planned) == 1 and planned[0].max_tokens == 11 and planned[0].max_tokens_source == "server_tokenizer"


def test_natural_generation_is_capped_and_stops_at_eos():
    trace = load_trace(TINY)
    policy = ReplayPolicy(generation=Generation.NATURAL, max_tokens=77)
    planned = plan_turns([trace], policy, tokenize=lambda s: None, estimate=len)
    body = build_request(planned[0], policy)
    assert body["max_tokens"] == 77 and body["ignore_eos"] is False


def test_tool_calls_are_rendered_as_the_model_would_emit_them():
    text = assistant_text_as_generated({"role": "assistant", "content": "Reading.", "tool_calls": [
        {"id": "c", "type": "function", "function": {"name": "read_file", "arguments": "{\"path\": \"a.py\"}"}}]})
    assert text.startswith("Reading.\n<tool_call>\n")
    assert json.loads(text.split("\n")[2]) == {"name": "read_file", "arguments": {"path": "a.py"}}


def test_interleaving_alternates_per_turn_and_flips_per_repetition():
    arms = ["a", "b"]
    assert [arm_order(arms, Order.INTERLEAVED, 0, k) for k in range(3)] == [["a", "b"], ["b", "a"], ["a", "b"]]
    assert arm_order(arms, Order.INTERLEAVED, 1, 0) == ["b", "a"]
    assert arm_order(arms, Order.SEQUENTIAL, 1, 1) == ["a", "b"]


def test_speculation_expectation_is_inferred_from_the_flags():
    assert Variant("on", ("--spec-type", "draft-mtp")).speculates
    assert Variant("d", ("-md", "draft.gguf")).speculates
    assert Variant("h", ("-hfrd", "org/draft")).speculates  # the sweep and the check agree on draft repos
    assert not Variant("off", ()).speculates
    assert not Variant("none", ("--spec-type", "none")).speculates
    assert not Variant("x", ("--spec-type", "draft-mtp"), expect_speculation=False).speculates


def _v(draft, slots, expect, turns=3, errors=0):
    return SimpleNamespace(draft_tokens=draft, slots_speculative=slots, expect_speculation=expect, turns=turns,
                           errors=errors)


def test_spec_problems_name_the_silent_fallback_and_stray_drafts():
    (problem,) = spec_problems({"off": _v(0, False, False), "on": _v(0, False, True)})
    assert "on" in problem and "silent fallback" in problem
    (problem,) = spec_problems({"off": _v(5, False, False), "on": _v(9, True, True)})
    assert "off" in problem and "drafted 5" in problem
    assert spec_problems({"off": _v(0, False, False), "on": _v(9, True, True)}) == ()
    (problem,) = spec_problems({"off": _v(0, False, False), "on": _v(9, True, True, errors=2)})
    assert "on: 2 turn(s) failed" in problem


def test_random_order_is_seeded_reproducible_and_uses_every_order():
    arms = ["a", "b", "c"]
    orders = [tuple(arm_order(arms, Order.RANDOM, rep, k, seed=7)) for rep in range(4) for k in range(10)]
    assert orders == [tuple(arm_order(arms, Order.RANDOM, rep, k, seed=7)) for rep in range(4) for k in range(10)]
    assert all(sorted(o) == arms for o in orders)
    assert len(set(orders)) == 6  # all permutations of three arms appear in 40 draws
    assert orders != [tuple(arm_order(arms, Order.RANDOM, rep, k, seed=8)) for rep in range(4) for k in range(10)]
