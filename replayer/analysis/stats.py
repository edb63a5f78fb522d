"""Paired statistics for a candidate against the baseline.

The unit is a pair: the same turn of the same trace in the same repetition,
measured on both arms (interleaved, so machine drift hits both). Tables show
the ratio of totals, sum(candidate) / sum(baseline). What the gate judges is a
robust paired estimate (session_ratio): the time-weighted median of the per-pair
log ratios, with a bootstrap over repetitions within each turn (over turns with
one repetition). Chosen with bench/gate_resolution.py on a measured A/A run:
the per-turn median it replaced let one stalled pair or a bimodal cold first turn
hold the interval open, so an unchanged configuration stayed inconclusive.

With fewer than SMOOTH_BELOW pairs the median is the weighted Harrell-Davis one: a
Beta-weighted mean of the order statistics instead of one of them. A bootstrap of a plain
median over 12 pairs can only land on a dozen values, so the interval pinned the estimate
to one of its ends ([1.062, 1.064] around 1.064); the smoothed median moves continuously
with the data. bench/gate_resolution.py --simulate compares the two on the same draws: in
two measured A/A runs they settled as often and as rightly, the smoothed one at most as
many repetitions as the plain one, and with the estimate at an end of its interval less
often (docs/results.md).

The paired test is a Wilcoxon signed-rank test on per-pair log ratios.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

SMOOTH_BELOW = 20  # pairs: fewer, and the median is the smoothed (Harrell-Davis) one


@dataclass(frozen=True)
class RatioEstimate:
    ratio: float  # sum(candidate) / sum(baseline)
    ci_low: float
    ci_high: float
    p_value: float | None  # paired test of "no difference"; None when it cannot be computed
    n_pairs: int
    confidence: float


def _ratio_of_sums(base: np.ndarray, cand: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.sum(cand, axis=axis) / np.sum(base, axis=axis)


def paired_ratio(base: list[float], cand: list[float], confidence: float = 0.95, n_resamples: int = 4000,
                 seed: int = 0) -> RatioEstimate:
    """Ratio of sums with a bootstrap CI. Raises ValueError on inputs that cannot be
    compared (never returns a made-up interval: a gate must not fail open)."""
    if len(base) != len(cand):
        raise ValueError(f"paired samples differ in length: {len(base)} vs {len(cand)}")
    b = np.asarray(base, dtype=float)
    c = np.asarray(cand, dtype=float)
    if len(b) < 2:
        raise ValueError(f"need at least 2 pairs for an interval, got {len(b)}")
    if not (np.all(np.isfinite(b)) and np.all(np.isfinite(c)) and np.all(b > 0) and np.all(c > 0)):
        raise ValueError("paired samples must be positive finite times")
    ratio = float(_ratio_of_sums(b, c))
    if np.allclose(b, b[0]) and np.allclose(c, c[0]):
        lo = hi = ratio  # no spread: the bootstrap distribution is a point
    else:
        res = stats.bootstrap((b, c), lambda x, y, axis=-1: _ratio_of_sums(x, y, axis), paired=True,
                              vectorized=True, confidence_level=confidence, n_resamples=n_resamples,
                              method="percentile", rng=np.random.default_rng(seed))
        lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    log_ratios = np.log(c / b)
    p_value: float | None
    if np.allclose(log_ratios, 0.0):
        p_value = 1.0
    else:
        try:
            p_value = float(stats.wilcoxon(log_ratios).pvalue)
        except ValueError:
            p_value = None
        if p_value is not None and math.isnan(p_value):
            p_value = None
    return RatioEstimate(ratio, lo, hi, p_value, len(b), confidence)


def weighted_median(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Row-wise weighted median of (rows, n) values: the smallest value whose weights, with
    those of every smaller value, reach half of the row's total."""
    order = np.argsort(values, axis=-1)
    v = np.take_along_axis(values, order, axis=-1)
    cw = np.cumsum(np.take_along_axis(weights, order, axis=-1), axis=-1)
    at = np.argmax(cw >= cw[..., -1:] / 2, axis=-1)
    return np.take_along_axis(v, at[..., None], axis=-1)[..., 0]


def harrell_davis_median(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Row-wise weighted Harrell-Davis median of (rows, n) values (Akinshin's weighted form):
    sorted values weighted by the mass a Beta((n*+1)/2, (n*+1)/2) puts on each one's share of
    the cumulative weight, n* the row's effective sample size (Kish)."""
    order = np.argsort(values, axis=-1)
    v = np.take_along_axis(values, order, axis=-1)
    w = np.take_along_axis(weights, order, axis=-1)
    w = w / np.sum(w, axis=-1, keepdims=True)
    half = (1.0 / np.sum(w * w, axis=-1, keepdims=True) + 1) / 2
    cdf = special.betainc(half, half, np.clip(np.cumsum(w, axis=-1), 0.0, 1.0))
    mass = np.diff(cdf, axis=-1, prepend=0.0)
    return np.sum(mass * v, axis=-1)


def session_ratio(base: dict[object, list[float]], cand: dict[object, list[float]], confidence: float = 0.95,
                  n_resamples: int = 2000, seed: int = 0) -> tuple[RatioEstimate, str]:
    """The session ratio the gate judges, from per-turn lists of repeated measurements
    (index = repetition).

    The estimate is the time-weighted median of the per-pair log ratios: every pair (a turn
    of a repetition, measured back to back on both arms, so drift cancels) weighs as much
    as its turn's median baseline time (long turns count as much as in the session), and a
    median, so that a stall of the machine on one pair, or a cold turn that is bimodal per
    server, does not move it. Its interval is a bootstrap over repetitions within each turn
    (the session itself, turn by turn, is fixed: only run-to-run noise moves the estimate);
    with one repetition over the turns themselves, a wider, conservative interval.

    Below SMOOTH_BELOW pairs the median is the smoothed one (see the module docstring).

    Returns the estimate and the method used (see the module docstring)."""
    keys = [k for k in base if k in cand]
    reps = min((min(len(base[k]), len(cand[k])) for k in keys), default=0)
    flat_b = [v for k in keys for v in base[k][:reps]]
    flat_c = [v for k in keys for v in cand[k][:reps]]
    if len(flat_b) < 2:
        raise ValueError(f"need at least 2 pairs for an interval, got {len(flat_b)}")
    b = np.asarray([base[k][:reps] for k in keys], dtype=float)  # (turns, reps)
    c = np.asarray([cand[k][:reps] for k in keys], dtype=float)
    if not (np.all(np.isfinite(b)) and np.all(np.isfinite(c)) and np.all(b > 0) and np.all(c > 0)):
        raise ValueError("paired samples must be positive finite times")
    logs = np.log(c / b)
    weights = np.repeat(np.median(b, axis=1, keepdims=True), reps, axis=1)
    smooth = len(flat_b) < SMOOTH_BELOW
    median = harrell_davis_median if smooth else weighted_median
    estimate = float(median(logs.ravel()[None, :], weights.ravel()[None, :])[0])
    rng = np.random.default_rng(seed)
    n = len(keys)
    if reps >= 2:
        idx = rng.integers(0, reps, size=(n_resamples, n, reps))
        boot_l = logs[np.arange(n)[None, :, None], idx]
        boot_w = np.broadcast_to(weights, boot_l.shape)
        method = f"{_name(smooth)} of per-pair log ratios, bootstrap over {reps} repetitions within turns"
    else:
        idx = rng.integers(0, n, size=(n_resamples, n))
        boot_l, boot_w = logs[idx, 0], weights[idx, 0]
        method = f"{_name(smooth)} of per-turn log ratios, bootstrap over turns (1 repetition)"
    boot = median(boot_l.reshape(n_resamples, -1), np.ascontiguousarray(boot_w).reshape(n_resamples, -1))
    alpha = (1 - confidence) / 2
    lo, hi = (float(x) for x in np.quantile(boot, [alpha, 1 - alpha]))
    ratio = math.exp(estimate)
    p = paired_ratio(flat_b, flat_c, confidence, 200, seed).p_value  # the test uses every pair
    return RatioEstimate(ratio, min(math.exp(lo), ratio), max(math.exp(hi), ratio), p, len(flat_b), confidence), method


def _name(smooth: bool) -> str:
    return f"time-weighted Harrell-Davis median (under {SMOOTH_BELOW} pairs)" if smooth else "time-weighted median"
