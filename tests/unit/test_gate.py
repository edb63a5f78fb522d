import pytest

from replayer.scenario.model import DivergencePolicy, GateSpec
from replayer.analysis.gate import (Verdict, evaluate, exit_code, interval_verdict, judge,
                                    repetitions_to_settle, spec_of)
from replayer.results.summary import Comparison, GateSection, GateSettings, VariantSummary


@pytest.mark.parametrize("ci, verdict", [
    ([0.95, 1.02], Verdict.PASS),           # excludes a slowdown > 3%
    ([1.031, 1.10], Verdict.REGRESSION),    # excludes staying within 3%
    ([0.99, 1.05], Verdict.INCONCLUSIVE),   # straddles 1.03
    ([1.0, 1.03], Verdict.PASS),            # the limit itself is allowed
    (None, Verdict.INCONCLUSIVE),           # no interval never passes
])
def test_interval_against_a_3_percent_threshold(ci, verdict):
    assert interval_verdict(ci, 0.03) is verdict


def comp(ci, ratio=1.0, diverged=0, pairs=40, candidate="on", aa=False):
    return Comparison(
        baseline="off", candidate=candidate, aa=aa, wall_ratio=ratio, prefill_ratio=None, decode_ratio=None,
        speedup=1 / ratio, decode_tok_s_ratio=None, prefill_tok_s_ratio=None, projected_session_ratio=None,
        compared_turns=pairs, identical_turns=pairs - diverged, diverged_turns=diverged, diverged=(),
        equality_applies=True, first_divergence=None, n_pairs=pairs, confidence=0.95,
        wall_ratio_ci=tuple(ci) if ci is not None else None)


def variant(expect_speculation=None, acceptance=None):
    """A candidate's session figures: only what the gate reads matters."""
    return VariantSummary(
        wall_s=1.0, prefill_s=0.2, decode_s=0.7, request_overhead_s=0.1, harness_overhead_s=0.0, prompt_tokens=100,
        cached_tokens=0, processed_prompt_tokens=100, generated_tokens=10, prefill_tok_s=500.0, decode_tok_s=13.0,
        draft_tokens=0, accepted_tokens=0, acceptance=acceptance, verification_steps=0, acceptance_by_position=None,
        turns=1, errors=0, repetitions=1, wall_s_per_repetition=(1.0,), recorded_gaps_s=None,
        projected_session_s=None, spec_live=bool(expect_speculation), slots_speculative=expect_speculation,
        expect_speculation=expect_speculation)


PLAIN = variant()


def test_divergence_at_temperature_zero_fails_unless_allowed():
    res = evaluate(comp([0.9, 1.0], diverged=2), PLAIN, GateSpec(), repetitions=1, temperature=0.0)
    assert res.verdict is Verdict.PASS and res.failures and exit_code([res]) == 1
    allowed = evaluate(comp([0.9, 1.0], diverged=2), PLAIN, GateSpec(divergence=DivergencePolicy.ALLOW), 1, 0.0)
    assert not allowed.failures and exit_code([allowed]) == 0
    warm = evaluate(comp([0.9, 1.0], diverged=2), PLAIN, GateSpec(), 1, temperature=0.7)
    assert not warm.failures


def test_min_acceptance_applies_to_speculating_candidates():
    spec = GateSpec(min_acceptance=0.5)
    low = evaluate(comp([0.9, 1.0]), variant(True, 0.2), spec, 1, 0.0)
    assert low.failures == ["acceptance 20.0% below the gate's min_acceptance 50.0%"]
    assert not evaluate(comp([0.9, 1.0]), variant(False), spec, 1, 0.0).failures


def test_inconclusive_says_how_many_more_repetitions():
    # ratio 1.06 with half-width 0.05 after 2 repetitions of 40 pairs: distance to 1.03 is 0.03
    res = evaluate(comp([1.01, 1.11], ratio=1.06, pairs=80), PLAIN, GateSpec(), repetitions=2, temperature=0.0)
    assert res.verdict is Verdict.INCONCLUSIVE and exit_code([res]) == 3
    # pairs needed ~ 80 * (0.05/0.03)^2 = 222.2 -> 6 repetitions of 40 -> 4 more
    assert res.more_repetitions == 4 and "about 4 more repetition(s)" in res.message


def test_no_estimate_when_the_ratio_sits_on_the_threshold():
    assert repetitions_to_settle(1.03, [1.0, 1.06], 0.03, 40, 40, 1) is None


def test_exit_codes_order_failure_before_inconclusive():
    ok = evaluate(comp([0.9, 1.0]), PLAIN, GateSpec(), 1, 0.0)
    unsure = evaluate(comp([0.99, 1.05]), PLAIN, GateSpec(), 1, 0.0)
    bad = evaluate(comp([1.1, 1.2], ratio=1.15), PLAIN, GateSpec(), 1, 0.0)
    assert exit_code([ok]) == 0 and exit_code([ok, unsure]) == 3 and exit_code([unsure, bad]) == 1


def aa_comp(ci, ratio=1.0):
    return comp(ci, ratio, candidate="off-aa", aa=True)


def test_an_a_a_check_passes_only_within_the_threshold_on_both_sides():
    from replayer.analysis.gate import evaluate_aa

    assert evaluate_aa(aa_comp([0.98, 1.02]), GateSpec(), 3).verdict is Verdict.PASS
    faster = evaluate_aa(aa_comp([0.94, 0.99], 0.965), GateSpec(), 3)  # identical arms, one 3.5% "faster"
    assert faster.verdict is Verdict.INCONCLUSIVE and faster.interval == (0.94, 0.99)
    biased = evaluate_aa(aa_comp([0.92, 0.95], 0.935), GateSpec(), 3)
    assert biased.more_repetitions is None and "bias between the two servers" in biased.message


def test_a_failed_a_a_check_keeps_only_verdicts_that_survive_its_interval():
    from replayer.analysis.gate import evaluate_aa

    noisy = evaluate_aa(aa_comp([0.95, 1.05]), GateSpec(), 3)
    assert noisy.verdict is Verdict.INCONCLUSIVE
    # within 3% on its own, but not once the A/A spread is allowed for
    small = evaluate(comp([0.99, 1.01]), PLAIN, GateSpec(), 3, 0.0, noisy)
    assert small.verdict is Verdict.INCONCLUSIVE and "failed A/A check" in small.message
    assert evaluate(comp([0.99, 1.01]), PLAIN, GateSpec(), 3, 0.0).verdict is Verdict.PASS
    # a large slowdown is a regression whatever the A/A spread
    big = evaluate(comp([1.5, 1.6], 1.55), PLAIN, GateSpec(), 3, 0.0, noisy)
    assert big.verdict is Verdict.REGRESSION
    # a clear speed-up passes too
    assert evaluate(comp([0.6, 0.7], 0.65), PLAIN, GateSpec(), 3, 0.0, noisy).verdict is Verdict.PASS


def test_the_gate_judges_the_paired_estimate_when_there_is_one():
    from dataclasses import replace

    # the ratio of totals says 6% slower; the paired estimate (what the interval is about) says 1%
    res = evaluate(replace(comp([0.99, 1.05], ratio=1.06), wall_ratio_paired=1.01), PLAIN, GateSpec(), 1, 0.0)
    assert "wall ratio 1.010" in res.message


def test_judge_runs_the_a_a_check_first_and_keeps_the_order():
    comparisons = [comp([0.99, 1.01]), aa_comp([0.95, 1.05])]  # the A/A arm listed last
    out, section = judge(comparisons, {"on": PLAIN, "off-aa": PLAIN}, GateSpec(), 3, {"on": 0.0, "off-aa": 0.0})
    assert [c.candidate for c in out] == ["on", "off-aa"]
    assert out[0].gate.verdict == "inconclusive" and "failed A/A check" in out[0].gate.message
    assert out[1].gate.verdict == "inconclusive" and out[0].gate.repetitions == 3
    assert section == GateSection(exit_code=3)
    # without the A/A arm the same interval passes
    alone, section = judge(comparisons[:1], {"on": PLAIN}, GateSpec(), 3, {"on": 0.0})
    assert alone[0].gate.verdict == "pass" and section == GateSection(exit_code=0)
    assert judge([], {}, GateSpec(), 1, {}) == ([], None)


def test_judge_takes_each_candidates_temperature():
    diverged = [comp([0.9, 1.0], diverged=2)]
    greedy, section = judge(diverged, {"on": PLAIN}, GateSpec(), 1, {"on": 0.0})
    assert greedy[0].gate.failures and section.exit_code == 1
    sampled, section = judge(diverged, {"on": PLAIN}, GateSpec(), 1, {"on": 0.7})
    assert sampled[0].gate.failures == () and section.exit_code == 0


def test_a_saved_gate_is_judged_again_the_same_way():
    from dataclasses import replace

    spec = GateSpec(max_slowdown=0.05, divergence=DivergencePolicy.ALLOW, min_acceptance=0.4, max_repetitions=7,
                    metric="decode")
    c = replace(comp(None), decode_ratio=0.95, decode_ratio_ci=(0.9, 1.0))
    out, _ = judge([c], {"on": variant(True, 0.6)}, spec, 2, {"on": 0.0})
    settings = out[0].gate.settings
    assert settings == GateSettings(max_slowdown=0.05, metric="decode", divergence="allow", min_acceptance=0.4,
                                    max_repetitions=7)
    assert out[0].gate.verdict == "pass"  # judged on the decode interval, not the (missing) wall one
    assert spec_of(settings) == spec


@pytest.mark.parametrize("ci", [[0.90, 0.95], [0.95, 1.10]])  # a clear pass, and an interval already unsure
def test_a_busy_machine_always_names_the_way_out(ci):
    busy = "the machine was busy"
    out, section = judge([comp(ci)], {"on": PLAIN}, GateSpec(), 3, {"on": 0.0}, noisy=busy)
    assert out[0].gate.verdict == "inconclusive" and section.exit_code == 3
    assert busy in out[0].gate.message and "--allow-noisy" in out[0].gate.message
    kept, _ = judge([comp(ci)], {"on": PLAIN}, GateSpec(allow_noisy=True), 3, {"on": 0.0}, noisy=busy)
    assert "kept with --allow-noisy" in kept[0].gate.message
