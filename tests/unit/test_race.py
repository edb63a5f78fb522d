"""The racing rule of `replay tune` on simulated arms: a truly 5 % slower arm is dropped, two equal
arms end in a declared tie (never a confident pick), a clearly bad arm goes in the first round."""

from __future__ import annotations

import random

import pytest

from replayer.analysis.race import RaceRule, decide, pair_walls, versus
from replayer.results.record import TurnResult


def rec(arm: str, rnd: int, turn: int, wall: float) -> TurnResult:
    return TurnResult(trace="t", turn=turn, variant=arm, repetition=rnd, seq=0, wall_ms=wall, max_tokens=8,
                      max_tokens_source="usage")


def race(speed: dict[str, float], rule: RaceRule, seed: int, noise: float = 0.04, per_round: int = 8,
         simplicity: list[str] | None = None) -> tuple[str, str | None, dict[str, int], int]:
    """Run rounds until decided or rule.looks: (outcome, pick, the round each arm was dropped in, rounds)."""
    rng = random.Random(seed)
    survivors = list(speed)
    records: dict[str, list[TurnResult]] = {a: [] for a in speed}
    dropped_in: dict[str, int] = {}
    for rnd in range(rule.looks):
        for k in range(per_round):
            turn = rnd * per_round + k
            base = rng.uniform(200, 3000)  # turns differ widely in length; the arms' ratio is what is tested
            for a in survivors:
                records[a].append(rec(a, rnd, turn, base * speed[a] * rng.lognormvariate(0, noise)))
        d = decide(records, survivors, simplicity or list(speed), rule)
        for a in d.dropped:
            dropped_in[a] = rnd
        survivors = [a for a in survivors if a not in d.dropped]
        if d.outcome != "running":
            return d.outcome, d.pick, dropped_in, rnd + 1
    return "rounds", None, dropped_in, rule.looks


def test_a_truly_5_percent_slower_arm_is_dropped():
    rule = RaceRule(arms=2, looks=20, tolerance=0.02)
    outcomes = [race({"off": 1.0, "on": 1.05}, rule, seed) for seed in range(20)]
    assert all(pick == "off" and "on" in dropped for _, pick, dropped, _ in outcomes), outcomes
    assert all(outcome == "confident" for outcome, *_ in outcomes)


def test_two_equal_arms_tie_and_are_never_picked_with_confidence():
    rule = RaceRule(arms=2, looks=30, tolerance=0.02)
    outcomes = [race({"off": 1.0, "on": 1.0}, rule, seed) for seed in range(40)]
    assert not any(outcome == "confident" for outcome, *_ in outcomes), outcomes
    ties = [o for o in outcomes if o[0] == "tie"]
    assert len(ties) >= 32  # the rest ran out of rounds undecided, which is allowed; a confident pick is not
    assert all(pick == "off" for _, pick, _, _ in ties)  # a tie goes to the simplest arm


def test_a_tie_goes_to_the_simplest_arm_in_the_callers_order():
    rule = RaceRule(arms=2, looks=30, tolerance=0.02)
    outcome, pick, _, _ = race({"off": 1.0, "on": 1.0}, rule, 1, simplicity=["on", "off"])
    assert outcome == "tie" and pick == "on"


def test_a_bad_arm_is_dropped_in_the_first_round_and_the_order_kept():
    speed = {"off": 1.0, "n1": 1.3, "n3": 1.6, "n6": 1.9, "n16": 3.5}
    rule = RaceRule(arms=len(speed), looks=10)
    for seed in range(10):
        outcome, pick, dropped, rounds = race(speed, rule, seed)
        assert dropped["n16"] == 0, dropped
        assert outcome == "confident" and pick == "off"
        assert dropped["n1"] >= dropped["n3"] >= dropped["n6"]  # the closer an arm, the longer it lasts


def test_the_correction_widens_with_arms_looks_and_few_pairs():
    assert RaceRule(arms=2, looks=1).z == pytest.approx(1.96, abs=0.01)
    assert RaceRule(arms=6, looks=10).z > RaceRule(arms=2, looks=10).z > RaceRule(arms=2, looks=1).z
    assert RaceRule(arms=2, looks=1).quantile(8) == pytest.approx(2.36, abs=0.01)  # t with 7 degrees of freedom
    assert RaceRule(arms=2, looks=1).quantile(1000) == pytest.approx(1.96, abs=0.01)


def test_versus_is_the_ratio_of_sums_with_an_interval():
    pairs = [(110.0, 100.0), (220.0, 200.0), (330.0, 300.0)]
    v = versus(pairs, RaceRule())
    assert v.ratio == pytest.approx(1.1) and v.low == pytest.approx(1.1) and v.high == pytest.approx(1.1)
    assert versus(pairs[:1], RaceRule()) is None
    a = [rec("a", 0, k, 100.0) for k in range(3)] + [rec("a", 1, 0, 50.0)]
    b = [rec("b", 0, k, 200.0) for k in range(3)]
    assert pair_walls(a, b) == [(100.0, 200.0)] * 3  # round 1 of turn 0 has no partner
