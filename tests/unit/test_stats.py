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
