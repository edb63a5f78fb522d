import numpy as np
import pytest

from replayer.analysis.stats import paired_ratio


def test_identical_arms_give_ratio_one_and_no_evidence():
    base = [1.0, 2.0, 3.0, 4.0]
    est = paired_ratio(base, list(base))
    assert est.ratio == 1.0 and est.ci_low <= 1.0 <= est.ci_high and est.p_value == 1.0


def test_a_uniform_10_percent_slowdown_is_tight_and_significant():
    rng = np.random.default_rng(1)
    base = rng.uniform(0.5, 3.0, size=40)
    cand = base * 1.10 * rng.normal(1.0, 0.01, size=40)
    est = paired_ratio(list(base), list(cand))
    assert est.ratio == pytest.approx(1.10, abs=0.01)
    assert 1.08 < est.ci_low < est.ratio < est.ci_high < 1.12
    assert est.p_value < 1e-6 and est.n_pairs == 40


def test_ratio_is_of_sums_so_big_turns_weigh_more():
    est = paired_ratio([1.0, 9.0], [2.0, 9.0])  # the small turn doubled, the big one unchanged
    assert est.ratio == pytest.approx(11 / 10)


def test_noise_without_shift_gives_an_interval_around_one():
    rng = np.random.default_rng(2)
    base = rng.uniform(0.5, 3.0, size=60)
    cand = base * rng.normal(1.0, 0.05, size=60)
    est = paired_ratio(list(base), list(cand))
    assert est.ci_low < 1.0 < est.ci_high and est.p_value > 0.05


@pytest.mark.parametrize("base, cand", [([1.0], [1.0]), ([1.0, 2.0], [1.0]), ([1.0, 0.0], [1.0, 1.0]),
                                        ([1.0, float("nan")], [1.0, 1.0])])
def test_inputs_that_cannot_be_compared_raise_instead_of_guessing(base, cand):
    with pytest.raises(ValueError):
        paired_ratio(base, cand)


def test_with_repetitions_only_run_to_run_noise_widens_the_interval():
    from replayer.analysis.stats import session_ratio

    rng = np.random.default_rng(3)
    sizes = rng.uniform(0.2, 3.0, size=30)
    # the candidate is 20% faster on half the turns and 20% slower on the others: the
    # session ratio is fixed by the trace; only the 1% measurement noise is uncertain
    effect = np.where(np.arange(30) % 2 == 0, 0.8, 1.2)
    base = {t: list(sizes[t] * rng.normal(1, 0.01, 4)) for t in range(30)}
    cand = {t: list(sizes[t] * effect[t] * rng.normal(1, 0.01, 4)) for t in range(30)}
    est, method = session_ratio(base, cand)
    assert "bootstrap over 4 repetitions" in method
    assert est.ci_high - est.ci_low < 0.02
    pooled, pooled_method = session_ratio({t: v[:1] for t, v in base.items()}, {t: v[:1] for t, v in cand.items()})
    assert "1 repetition" in pooled_method and pooled.ci_high - pooled.ci_low > 0.05


def test_one_stall_of_the_machine_does_not_move_the_paired_estimate():
    from replayer.analysis.stats import session_ratio

    rng = np.random.default_rng(5)
    sizes = rng.uniform(0.5, 5.0, size=8)
    base = {t: list(sizes[t] * rng.normal(1, 0.005, 5)) for t in range(8)}
    cand = {t: list(sizes[t] * 1.05 * rng.normal(1, 0.005, 5)) for t in range(8)}
    # the machine stalls once: the baseline's biggest turn takes 2.5x in one repetition
    big = int(np.argmax(sizes))
    base[big][2] *= 2.5
    est, _ = session_ratio(base, cand)
    # the estimate stays at the 5% slowdown (the ratio of sums falls below 1: no slowdown at all)
    assert 1.04 < est.ratio < 1.06 and est.ci_high > 1.03
    assert sum(map(sum, cand.values())) / sum(map(sum, base.values())) < 1.0
    # drift that hits both arms of a pair alike cancels
    drift = {t: [v * (1 + 0.3 * k) for k, v in enumerate(vs)] for t, vs in cand.items()}
    drift_b = {t: [v * (1 + 0.3 * k) for k, v in enumerate(vs)] for t, vs in base.items()}
    est2, _ = session_ratio(drift_b, drift)
    assert abs(est2.ratio - est.ratio) < 1e-3  # (only the weights move a little)


def turn(variant, turn, rep, wall, error=None):
    from replayer.results.record import TurnResult

    return TurnResult(trace="t", turn=turn, variant=variant, repetition=rep, seq=0, wall_ms=wall, max_tokens=64,
                      max_tokens_source="usage", prompt_ms=wall / 4, predicted_ms=wall / 2, error=error)


def test_records_are_paired_by_trace_repetition_and_turn_and_failed_turns_left_out():
    from replayer.analysis.comparison import paired_intervals
    from replayer.results.record import TurnError

    sizes = [100.0, 300.0, 50.0]
    base = [turn("off", k, r, sizes[k] * (1 + 0.5 * r)) for r in range(2) for k in range(3)]  # rep 1 runs slower
    cand = [turn("on", k, r, sizes[k] * (1 + 0.5 * r) * 1.1) for r in reversed(range(2)) for k in range(3)]
    cand.append(turn("on", 3, 0, 10.0))  # no baseline partner
    base.append(turn("off", 4, 0, 10.0))  # no candidate partner
    cand.append(turn("on", 5, 0, 99.0, error=TurnError("timeout", "x")))
    base.append(turn("off", 5, 0, 10.0))  # its partner failed
    out = paired_intervals(base, cand)
    assert out["n_pairs"] == 6 and out["confidence"] == 0.95 and out["notes"] == ()
    for metric in ("wall", "prefill", "decode"):  # each pair is 10% slower whatever the repetition
        assert out[f"{metric}_ratio_paired"] == pytest.approx(1.1)
        assert out[f"{metric}_ratio_ci"] == pytest.approx((1.1, 1.1))
    assert out["ci_method"] == ("time-weighted Harrell-Davis median (under 20 pairs) of per-pair log ratios, "
                                "bootstrap over 2 repetitions within turns")
    assert out["p_value"] is not None and out["p_value"] < 0.05


def test_too_few_pairs_leave_a_note_instead_of_an_interval():
    from replayer.analysis.comparison import paired_intervals

    out = paired_intervals([turn("off", 0, 0, 100.0)], [turn("on", 0, 0, 110.0)])
    assert out["n_pairs"] == 1 and "wall_ratio_ci" not in out and "p_value" not in out
    assert out["notes"] == tuple(f"no {m} interval: need at least 2 pairs for an interval, got 1"
                                 for m in ("wall", "prefill", "decode"))


def test_the_smoothed_median_with_equal_weights_is_harrell_and_davis_own():
    from scipy.stats.mstats import hdquantiles

    from replayer.analysis.stats import harrell_davis_median

    rng = np.random.default_rng(11)
    for n in (3, 12, 19):
        x = rng.lognormal(0, 0.3, size=n)
        ours = harrell_davis_median(x[None, :], np.ones((1, n)))[0]
        assert ours == pytest.approx(float(hdquantiles(x, prob=[0.5])[0]), rel=1e-9)


def test_the_smoothed_median_follows_the_weights():
    from replayer.analysis.stats import harrell_davis_median

    x = np.array([[0.0, 1.0, 2.0, 3.0, 10.0]])
    even = harrell_davis_median(x, np.ones((1, 5)))[0]
    heavy_top = harrell_davis_median(x, np.array([[1.0, 1.0, 1.0, 1.0, 8.0]]))[0]
    assert heavy_top > even + 1.0  # the long turn weighs as much as its time
    assert 1.0 < even < 3.0


def test_a_dozen_pairs_do_not_pin_the_estimate_to_an_end_of_its_interval():
    from replayer.analysis.stats import session_ratio

    rng = np.random.default_rng(2)
    sizes = rng.uniform(0.3, 2.5, size=12)
    base = {t: [sizes[t] * rng.normal(1, 0.02)] for t in range(12)}
    cand = {t: [sizes[t] * 1.06 * rng.normal(1, 0.02)] for t in range(12)}
    est, method = session_ratio(base, cand)
    assert "Harrell-Davis" in method
    width = est.ci_high - est.ci_low
    assert width > 0 and min(est.ratio - est.ci_low, est.ci_high - est.ratio) > 0.15 * width
    assert est.ci_low < 1.06 < est.ci_high
    many, many_method = session_ratio({t: v * 2 for t, v in base.items()}, {t: v * 2 for t, v in cand.items()})
    assert "Harrell-Davis" not in many_method  # 24 pairs: the plain weighted median
