import pytest

from replayer.analysis.gate import (DivergencePolicy, GateSpec, Verdict, evaluate, exit_code, interval_verdict,
                                    repetitions_to_settle)


@pytest.mark.parametrize("ci, verdict", [
    ([0.95, 1.02], Verdict.PASS),           # excludes a slowdown > 3%
    ([1.031, 1.10], Verdict.REGRESSION),    # excludes staying within 3%
    ([0.99, 1.05], Verdict.INCONCLUSIVE),   # straddles 1.03
    ([1.0, 1.03], Verdict.PASS),            # the limit itself is allowed
    (None, Verdict.INCONCLUSIVE),           # no interval never passes
])
def test_interval_against_a_3_percent_threshold(ci, verdict):
    assert interval_verdict(ci, 0.03) is verdict


def comp(ci, ratio=1.0, diverged=0, pairs=40):
    return {"baseline": "off", "candidate": "on", "wall_ratio": ratio, "wall_ratio_ci": ci, "n_pairs": pairs,
            "diverged_turns": diverged}


def test_divergence_at_temperature_zero_fails_unless_allowed():
    res = evaluate(comp([0.9, 1.0], diverged=2), {}, GateSpec(), repetitions=1, temperature=0.0)
    assert res.verdict is Verdict.PASS and res.failures and exit_code([res]) == 1
    allowed = evaluate(comp([0.9, 1.0], diverged=2), {}, GateSpec(divergence=DivergencePolicy.ALLOW), 1, 0.0)
    assert not allowed.failures and exit_code([allowed]) == 0
    warm = evaluate(comp([0.9, 1.0], diverged=2), {}, GateSpec(), 1, temperature=0.7)
    assert not warm.failures


def test_min_acceptance_applies_to_speculating_candidates():
    spec = GateSpec(min_acceptance=0.5)
    low = evaluate(comp([0.9, 1.0]), {"expect_speculation": True, "acceptance": 0.2}, spec, 1, 0.0)
    assert low.failures == ["acceptance 20.0% below the gate's min_acceptance 50.0%"]
    assert not evaluate(comp([0.9, 1.0]), {"expect_speculation": False}, spec, 1, 0.0).failures


def test_inconclusive_says_how_many_more_repetitions():
    # ratio 1.06 with half-width 0.05 after 2 repetitions of 40 pairs: distance to 1.03 is 0.03
    res = evaluate(comp([1.01, 1.11], ratio=1.06, pairs=80), {}, GateSpec(), repetitions=2, temperature=0.0)
    assert res.verdict is Verdict.INCONCLUSIVE and exit_code([res]) == 3
    # pairs needed ~ 80 * (0.05/0.03)^2 = 222.2 -> 6 repetitions of 40 -> 4 more
    assert res.more_repetitions == 4 and "about 4 more repetition(s)" in res.message


def test_no_estimate_when_the_ratio_sits_on_the_threshold():
    assert repetitions_to_settle(1.03, [1.0, 1.06], 0.03, 40, 40, 1) is None


def test_exit_codes_order_failure_before_inconclusive():
    ok = evaluate(comp([0.9, 1.0]), {}, GateSpec(), 1, 0.0)
    unsure = evaluate(comp([0.99, 1.05]), {}, GateSpec(), 1, 0.0)
    bad = evaluate(comp([1.1, 1.2], ratio=1.15), {}, GateSpec(), 1, 0.0)
    assert exit_code([ok]) == 0 and exit_code([ok, unsure]) == 3 and exit_code([unsure, bad]) == 1


def aa_comp(ci, ratio=1.0):
    return {**comp(ci, ratio), "candidate": "off-aa", "aa": True}


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
    small = evaluate(comp([0.99, 1.01]), {}, GateSpec(), 3, 0.0, noisy)
    assert small.verdict is Verdict.INCONCLUSIVE and "failed A/A check" in small.message
    assert evaluate(comp([0.99, 1.01]), {}, GateSpec(), 3, 0.0).verdict is Verdict.PASS
    # a large slowdown is a regression whatever the A/A spread
    big = evaluate(comp([1.5, 1.6], 1.55), {}, GateSpec(), 3, 0.0, noisy)
    assert big.verdict is Verdict.REGRESSION
    # a clear speed-up passes too
    assert evaluate(comp([0.6, 0.7], 0.65), {}, GateSpec(), 3, 0.0, noisy).verdict is Verdict.PASS
