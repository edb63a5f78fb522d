import pytest

from replayer.scenario.model import GateSpec
from replayer.analysis.summary import RunMeta, TraceMeta, summarize
from replayer.results.record import TurnError, TurnResult
from replayer.results.summary import ComparisonGate, FirstDivergence, GateSection, Summary, VariantFacts


def rec(variant, turn, rep=0, wall=100.0, prompt_ms=20.0, predicted_ms=70.0, prompt_n=50, cache_n=0,
        predicted_n=11, draft_n=0, acc=0, tokens=None, error=None):
    return TurnResult(
        trace="t", turn=turn, variant=variant, repetition=rep, seq=0, wall_ms=wall, max_tokens=64,
        max_tokens_source="usage", prompt_ms=prompt_ms, predicted_ms=predicted_ms, http_ms=wall - 1.0,
        harness_ms=0.25, request_overhead_ms=wall - prompt_ms - predicted_ms, prompt_tokens=prompt_n + cache_n,
        prompt_n=prompt_n, cache_n=cache_n, predicted_n=predicted_n, draft_n=draft_n, draft_n_accepted=acc,
        tokens=tuple(tokens) if tokens is not None else (1, 2, 3), error=error)


FACTS = (VariantFacts("off", None, slots_speculative=False, expect_speculation=False),
         VariantFacts("on", None, slots_speculative=True, expect_speculation=True))


def build(records, facts=FACTS, **meta) -> Summary:
    return summarize(records, RunMeta(scenario="s", baseline="off", variants=facts,
                                      traces=(TraceMeta("t", "0" * 64, 2, (3.0, 0.0)),), **meta))


def test_session_sums_rates_and_ratios_by_hand():
    records = [
        rec("off", 0), rec("off", 1, cache_n=40, prompt_n=10),
        rec("on", 0, wall=150.0, prompt_ms=40.0, predicted_ms=100.0, draft_n=12, acc=9),
        rec("on", 1, wall=150.0, prompt_ms=40.0, predicted_ms=100.0, cache_n=40, prompt_n=10, draft_n=8, acc=1),
    ]
    s = build(records)
    off, on = s.variants["off"], s.variants["on"]
    assert off.wall_s == pytest.approx(0.2)
    assert off.prefill_s == pytest.approx(0.04) and off.decode_s == pytest.approx(0.14)
    assert off.request_overhead_s == pytest.approx(0.02)
    assert off.harness_overhead_s == pytest.approx(2 * 1.25e-3)
    assert off.prefill_s + off.decode_s <= off.wall_s
    assert off.cached_tokens == 40 and off.processed_prompt_tokens == 60 and off.prompt_tokens == 100
    assert off.prefill_tok_s == pytest.approx(60 / 0.04)
    assert off.decode_tok_s == pytest.approx(20 / 0.14)  # (11 - 1) steps per turn
    assert off.projected_session_s == pytest.approx(3.2)
    assert on.draft_tokens == 20 and on.accepted_tokens == 10 and on.acceptance == pytest.approx(0.5)
    assert on.spec_live is True and off.spec_live is False
    assert len(s.comparisons) == 1
    comp = s.comparisons[0]
    assert (comp.baseline, comp.candidate) == ("off", "on")
    assert comp.wall_ratio == pytest.approx(1.5) and comp.speedup == pytest.approx(1 / 1.5)
    assert comp.prefill_ratio == pytest.approx(2.0)
    assert comp.compared_turns == 2 and comp.diverged_turns == 0 and comp.first_divergence is None
    assert comp.wall_ratio_ci == pytest.approx((1.5, 1.5)) and comp.n_pairs == 2
    assert s.problems == () and s.gate is None  # both arms did what they should; no gate asked for


def test_divergence_is_reported_at_the_earliest_turn():
    records = [rec("off", 0, tokens=[1, 2, 3]), rec("off", 1, tokens=[4, 5, 6]),
               rec("on", 0, tokens=[1, 2, 3]), rec("on", 1, tokens=[4, 9, 6])]
    comp = build(records).comparisons[0]
    assert comp.diverged_turns == 1 and comp.identical_turns == 1
    assert isinstance(comp.first_divergence, FirstDivergence)
    assert comp.first_divergence.turn == 1 and comp.first_divergence.index == 1
    assert comp.first_divergence.baseline_tokens == (4, 5, 6)
    assert comp.first_divergence.baseline_text is None  # no live server to decode the window


def test_the_divergence_window_is_decoded_when_a_server_can():
    records = [rec("off", 0, tokens=[4, 5, 6]), rec("on", 0, tokens=[4, 9, 6])]
    first = build(records, detokenize=lambda ids: f"<{ids[0]}>").comparisons[0].first_divergence
    assert first.baseline_text == ("<4>", "<5>", "<6>") and first.candidate_text == ("<4>", "<9>", "<6>")


def test_errors_are_counted_not_summed():
    records = [rec("off", 0), rec("off", 1), rec("on", 0), rec("on", 1, error=TurnError("timeout", "x"))]
    s = build(records)
    assert s.variants["on"].errors == 1 and s.variants["on"].turns == 1
    on = s.variants["on"]
    assert on.wall_s == pytest.approx(0.1) and on.request_overhead_s == pytest.approx(0.01)
    assert on.harness_overhead_s == pytest.approx(1.25e-3)  # a share of wall_s: the failed turn is in neither
    assert s.comparisons[0].compared_turns == 1
    assert "variant on: 1 turn(s) failed (see results.jsonl)" in s.problems


def test_repetitions_average_session_sums():
    records = [rec("off", t, rep=r, wall=100.0 * (r + 1)) for r in range(2) for t in range(2)]
    records += [rec("on", t, rep=r) for r in range(2) for t in range(2)]
    off = build(records).variants["off"]
    assert off.wall_s_per_repetition == pytest.approx((0.2, 0.4))
    assert off.wall_s == pytest.approx(0.3) and off.repetitions == 2


def test_draft_on_the_off_arm_means_not_live_and_no_drafts_on_the_on_arm_too():
    records = [rec("off", 0, draft_n=3, acc=1), rec("on", 0)]
    s = build(records)
    assert s.variants["on"].spec_live is False  # /slots says yes, but nothing was drafted
    assert s.variants["off"].draft_tokens == 3
    assert set(s.problems) == {"variant off: no speculation expected but the server drafted 3 tokens",
                               "variant on: speculation expected but the server drafted 0 tokens over the run"}
    # one pair cannot give an interval: the comparison says why, and the summary shows it
    assert s.comparisons[0].wall_ratio_ci is None
    assert any(n.startswith("no wall interval:") for n in s.comparisons[0].notes)
    assert any(n.startswith("on vs off: no wall interval:") for n in s.notes)


def test_a_gate_judges_every_comparison_and_sets_the_exit_code():
    records = [rec("off", t, rep=r) for r in range(2) for t in range(2)]
    records += [rec("on", t, rep=r, wall=150.0, draft_n=4, acc=2) for r in range(2) for t in range(2)]
    s = build(records, gate=GateSpec(max_slowdown=0.05))
    gate = s.comparisons[0].gate
    assert isinstance(gate, ComparisonGate)
    assert gate.verdict == "regression" and gate.repetitions == 2 and gate.failures == ()
    assert gate.settings.max_slowdown == 0.05 and gate.settings.divergence == "fail"
    assert s.gate == GateSection(exit_code=1)


def test_token_equality_applies_only_when_both_arms_are_greedy():
    records = [rec("off", 0), rec("on", 0)]
    assert build(records).comparisons[0].equality_applies is True
    warm = (FACTS[0], VariantFacts("on", None, True, True, temperature=0.7))
    assert build(records, facts=warm).comparisons[0].equality_applies is False


def test_the_speculation_proof_counts_every_draft_not_the_per_repetition_mean():
    # three repetitions of one turn: the off arm drafted one token once, the on arm one token once;
    # per repetition that rounds to 0 tokens, over the run it is not 0
    records = [rec("off", 0, rep=r, draft_n=1 if r == 1 else 0) for r in range(3)]
    records += [rec("on", 0, rep=r, draft_n=1 if r == 2 else 0) for r in range(3)]
    s = build(records)
    assert s.variants["off"].draft_tokens == 0  # the session figure is a per-repetition mean
    assert s.problems == ("variant off: no speculation expected but the server drafted 1 tokens",)


def test_ratios_cover_only_the_turns_both_arms_completed():
    # the candidate died after turn 0: its one completed turn against the baseline's two would
    # read as "2x faster"; over the one pair it is 1.5x slower
    err = TurnError("connection_error", "refused")
    records = [rec("off", 0), rec("off", 1), rec("on", 0, wall=150.0), rec("on", 1, error=err)]
    s = build(records)
    comp = s.comparisons[0]
    assert comp.wall_ratio == pytest.approx(1.5) and comp.speedup == pytest.approx(1 / 1.5)
    assert (comp.baseline_lost, comp.candidate_lost, comp.partial) == (0, 1, True)
    assert comp.paired_baseline.wall_s == pytest.approx(0.1) and comp.paired_candidate.turns == 1
    assert s.variants["off"].wall_s == pytest.approx(0.2)  # each arm's own figures stay whole


def test_a_turn_only_one_arm_attempted_counts_as_lost_on_the_other():
    s = build([rec("off", 0), rec("off", 1), rec("on", 0)])
    comp = s.comparisons[0]
    assert (comp.n_pairs, comp.baseline_lost, comp.candidate_lost) == (1, 0, 1)


def test_a_whole_comparison_has_no_paired_copies():
    comp = build([rec("off", 0), rec("on", 0)]).comparisons[0]
    assert not comp.partial and comp.paired_baseline is None and comp.paired_candidate is None


def test_the_headline_and_table_say_the_comparison_is_partial():
    from replayer.outputs.rows import comparison_rows, headline

    err = TurnError("connection_error", "refused")
    s = build([rec("off", 0), rec("off", 1), rec("on", 0, wall=150.0), rec("on", 1, error=err)])
    comp = s.comparisons[0]
    text = headline(s, comp)
    assert text.startswith("on is 1.50x slower than off in LLM wall-clock (partial: over the 1 turn(s) both "
                           "completed; off lost 0, on lost 1)")
    rows = {r[0]: r for r in comparison_rows(s, comp)}
    assert rows["Total LLM wall-clock (s)"][1:3] == ("0.10", "0.15")
    assert rows["Turns lost (left out of every figure above)"][1:3] == ("0", "1")
    assert rows["Turns ok / errors (whole run)"][1:3] == ("2 / 0", "1 / 1")


def test_turns_of_a_speculating_arm_that_never_drafted_are_listed():
    records = [rec("off", 0), rec("off", 1), rec("off", 0, rep=1), rec("off", 1, rep=1),
               rec("on", 0, draft_n=6, acc=3), rec("on", 1, draft_n=0),
               rec("on", 0, rep=1, draft_n=0), rec("on", 1, rep=1, draft_n=0)]  # turn 0 drafted once: not listed
    s = build(records)
    assert [(t.trace, t.turn) for t in s.variants["on"].undrafted_turns] == [("t", 1)]
    assert s.variants["off"].undrafted_turns == ()  # not expected to draft: nothing to list
    assert any(n.startswith("variant on: 1 turn(s) generated 8+ tokens without drafting once (t:1)") for n in s.notes)


def test_a_short_answer_that_did_not_draft_is_not_listed():
    s = build([rec("off", 0), rec("on", 0, draft_n=5, acc=2), rec("off", 1, predicted_n=3),
               rec("on", 1, predicted_n=3, draft_n=0)])
    assert s.variants["on"].undrafted_turns == ()


def _cache_records():
    # turn 1 of repetition 1 found 40 tokens cached on the candidate only, and ran 4x faster for it
    out = []
    for rep in range(3):
        for turn in range(3):
            out.append(rec("off", turn, rep=rep, wall=100.0 + turn + rep))
            cached = 40 if (rep, turn) == (1, 1) else 0
            out.append(rec("on", turn, rep=rep, wall=(25.0 if cached else 102.0 + turn + rep), cache_n=cached))
    return out


def test_pairs_with_different_cached_tokens_are_listed_and_left_out_of_the_interval():
    s = build(_cache_records(), gate=GateSpec(max_slowdown=0.5))
    comp = s.comparisons[0]
    assert [(m.turn, m.repetition, m.baseline_cached, m.candidate_cached) for m in comp.cache_mismatches] \
        == [(1, 1, 0, 40)]
    assert comp.cache_mismatch_excluded and comp.n_pairs == 8
    assert "1 turn(s) whose cached prompt tokens differ between the arms left out" in comp.gate.message
    assert any("reused different amounts of the prompt cache" in n and "t:1 rep 1: 0 vs 40 cached" in n
               for n in s.notes)
    assert comp.gate.settings.cache_mismatch == "exclude"


def test_cache_mismatch_include_keeps_them_in_the_interval():
    s = build(_cache_records(), gate=GateSpec(max_slowdown=0.5, cache_mismatch="include"))
    comp = s.comparisons[0]
    assert not comp.cache_mismatch_excluded and comp.n_pairs == 9
    assert "included (cache_mismatch: include)" in comp.gate.message
