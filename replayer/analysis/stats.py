"""Paired statistics for a candidate against the baseline.

The unit is a pair: the same turn of the same trace in the same repetition,
measured on both arms (interleaved, so machine drift hits both). The session
ratio is sum(candidate) / sum(baseline). Its confidence interval:

- with two or more repetitions, a paired, robust estimate: per turn the median
  of candidate/baseline over repetitions, weighted by the turn's baseline time,
  with a bootstrap *within each turn* over its repetitions: only run-to-run
  noise moves the ratio, because the session itself, turn by turn, is fixed,
  and a single stall of a shared machine cannot;
- with one repetition there is no run-to-run information, so the pairs
  themselves are resampled (scipy's paired bootstrap). That also counts
  turn-to-turn differences as uncertainty: a conservative, wider interval.

The paired test is a Wilcoxon signed-rank test on per-pair log ratios.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats


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


def session_ratio(base: dict[object, list[float]], cand: dict[object, list[float]], confidence: float = 0.95,
                  n_resamples: int = 4000, seed: int = 0) -> tuple[RatioEstimate, str]:
    """Session ratio from per-turn lists of repeated measurements (index = repetition).

    With two or more repetitions the estimate is paired and robust: per turn, the median
    over repetitions of candidate/baseline (each pair measured back to back, so slow drift
    cancels; a median, so one stall of the machine does not move it), weighted by the
    turn's median baseline time (so long turns count as much as they do in the session).
    Its interval is a bootstrap over repetitions within each turn.

    Returns the estimate and the method used (see the module docstring)."""
    keys = [k for k in base if k in cand]
    reps = min((min(len(base[k]), len(cand[k])) for k in keys), default=0)
    flat_b = [v for k in keys for v in base[k][:reps]]
    flat_c = [v for k in keys for v in cand[k][:reps]]
    if reps < 2:
        return paired_ratio(flat_b, flat_c, confidence, n_resamples, seed), "bootstrap over turns (1 repetition)"
    b = np.asarray([base[k][:reps] for k in keys], dtype=float)  # (turns, reps)
    c = np.asarray([cand[k][:reps] for k in keys], dtype=float)
    if not (np.all(np.isfinite(b)) and np.all(np.isfinite(c)) and np.all(b > 0) and np.all(c > 0)):
        raise ValueError("paired samples must be positive finite times")
    r = c / b
    weights = np.median(b, axis=1)
    weights = weights / weights.sum()
    ratio = float(weights @ np.median(r, axis=1))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, reps, size=(n_resamples, len(keys), reps))
    turns = np.arange(len(keys))[None, :, None]
    boot = np.median(r[turns, idx], axis=2) @ weights
    alpha = (1 - confidence) / 2
    lo, hi = (float(x) for x in np.quantile(boot, [alpha, 1 - alpha]))
    p = paired_ratio(flat_b, flat_c, confidence, 200, seed).p_value  # the test uses every pair
    return RatioEstimate(ratio, min(lo, ratio), max(hi, ratio), p, len(flat_b), confidence), \
        f"paired median within turns, bootstrap over {reps} repetitions"
