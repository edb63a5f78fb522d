"""The divergence classifier on log-probabilities a real baseline (SmolLM2-135M Q4_1, the
tiny trace's turn 0, position 3) returned when asked where an arm diverged."""

import pytest

from replayer.analysis.divergence import CONFIDENT, NEAR_TIE, UNCLASSIFIED, Probe, classify

# recorded from /completion n_probs=5: the baseline's "def" (1604) and the candidate's "import" (2017)
RECORDED = Probe(3, ((1604, -1.481510043144226), (2017, -1.517001986503601), (19, -2.352022171020508),
                     (1455, -2.6896495), (44, -3.3692)))


def test_the_runner_up_a_hair_behind_is_a_near_tie():
    c = classify(RECORDED, 1604, 2017)
    assert c.kind == NEAR_TIE and c.margin == pytest.approx(0.0355, abs=1e-4)


def test_a_tighter_threshold_makes_the_same_flip_confident():
    assert classify(RECORDED, 1604, 2017, threshold=0.01).kind == CONFIDENT


def test_a_token_further_down_is_a_confident_change_with_its_margin():
    c = classify(RECORDED, 1604, 19)
    assert c.kind == CONFIDENT and c.margin == pytest.approx(0.8705, abs=1e-4)


def test_a_token_outside_the_top_candidates_is_confident():
    c = classify(RECORDED, 1604, 99999)
    assert c.kind == CONFIDENT and c.margin is None


def test_asked_again_the_baseline_may_flip_a_tie_itself():
    assert classify(RECORDED, 2017, 1604).kind == NEAR_TIE  # the margin is negative: still a tie


def test_what_cannot_be_checked_is_unclassified():
    assert classify(None, 1604, 2017).kind == UNCLASSIFIED
    assert classify(RECORDED, 12345, 2017).kind == UNCLASSIFIED  # its own token not among its top candidates
    assert classify(RECORDED, 1604, None).kind == UNCLASSIFIED  # one arm stopped


def test_fail_confident_fails_only_on_confident_or_unclassified_turns():
    from replayer.analysis.gate import _divergence_failures
    from replayer.results.summary import DivergedTurn
    from replayer.scenario.model import DivergencePolicy, GateSpec

    from dataclasses import replace
    from test_summary import build, rec

    comp = build([rec("off", 0), rec("on", 0, tokens=[1, 9, 3])]).comparisons[0]
    ties = replace(comp, diverged=(DivergedTurn("t", 0, NEAR_TIE, 0.02),), near_tie_turns=1, confident_turns=0)
    spec = GateSpec(divergence=DivergencePolicy.FAIL_CONFIDENT)
    assert _divergence_failures(ties, spec, 0.0) == []
    assert _divergence_failures(ties, GateSpec(divergence=DivergencePolicy.FAIL), 0.0)
    unknown = replace(comp, diverged=(DivergedTurn("t", 0, None, None),))
    assert "confident change or unclassified" in _divergence_failures(unknown, spec, 0.0)[0]
