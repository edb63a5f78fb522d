"""The racing rule of ``replay tune``: after each round, which arms stay, and whether it is decided.

Every arm still in the race has replayed the same sampled turns in every round so far (an arm
that is dropped stops running), so any two of them form pairs: the same turn of the same
session in the same round, measured back to back. The statistic is the ratio of summed
wall-clock over those pairs (how the session's time would change), its uncertainty a bootstrap
standard error of its logarithm over the pairs.

- **Leader**: the arm with the least summed time over the pairs every survivor shares.
- **Drop**: an arm whose interval against the leader lies wholly above 1 + the tolerance
  (slower by more than the tolerance, with confidence: an arm within the tolerance is as good
  as the leader, and ends in a tie rather than a drop). The level of each interval is
  corrected for multiple comparisons: the race's error budget (1 - confidence) is split over
  every arm it could drop and every round it could look (Bonferroni), and Student's t stands in
  for the normal quantile at few pairs, so that the chance of ever dropping an arm that is as
  fast as the leader stays far within it however many rounds are run.
- **Confident pick**: one arm left.
- **Tie**: every survivor's interval against the leader, at the race's own confidence, lies
  within the tolerance (e.g. +-2 %); the simplest of them (the order the caller gives: no
  speculation first, then the grid in order) is recommended, and the report says they tie.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Mapping, Sequence

import numpy as np
from scipy import stats

from replayer.results.record import TurnResult

PairKey = tuple


@dataclass(frozen=True)
class RaceRule:
    confidence: float = 0.95
    tolerance: float = 0.02  # survivors within this of the leader tie
    arms: int = 2  # arms in the race at the start (the correction's comparisons: arms - 1)
    looks: int = 10  # the most rounds the race may run (the correction's looks)
    n_resamples: int = 1000

    @property
    def alpha(self) -> float:
        """The corrected two-sided error level of every interval the race draws."""
        return (1 - self.confidence) / (max(self.arms - 1, 1) * max(self.looks, 1))

    @property
    def z(self) -> float:
        """The corrected quantile with many pairs (few pairs use Student's t: ``quantile``)."""
        return NormalDist().inv_cdf(1 - self.alpha / 2)

    def quantile(self, pairs: int) -> float:
        """Student's t at the corrected level with ``pairs - 1`` degrees of freedom: a round of 8
        turns estimates its own spread too roughly for the normal quantile (which, on simulated
        equal arms, dropped one in 10 races instead of 1 in 20 at the most)."""
        return float(stats.t.ppf(1 - self.alpha / 2, max(pairs - 1, 1)))


@dataclass(frozen=True)
class Versus:
    """One arm against another over their shared pairs: time ratio (mine / theirs) and its
    corrected interval."""

    ratio: float
    low: float
    high: float
    pairs: int


@dataclass(frozen=True)
class Decision:
    leader: str
    dropped: dict[str, Versus]  # arm -> how it stood against the leader when dropped
    against_leader: dict[str, Versus]  # every other survivor
    outcome: str  # "running" | "confident" | "tie"
    pick: str | None  # the recommendation when decided


def pair_walls(a: Sequence[TurnResult], b: Sequence[TurnResult]) -> list[tuple[float, float]]:
    """(a's wall, b's wall) in ms for every turn both completed."""
    theirs = {r.key: r.wall_ms for r in b if r.ok}
    return [(r.wall_ms, theirs[r.key]) for r in a if r.ok and r.key in theirs and r.wall_ms > 0 and theirs[r.key] > 0]


def versus(pairs: Sequence[tuple[float, float]], rule: RaceRule, seed: int = 0) -> Versus | None:
    """Ratio of sums of the first over the second, with its corrected interval: the bootstrap
    standard error of its logarithm (scaled by sqrt(n / (n - 1)), the bootstrap's own bias at
    few pairs) times Student's t (None: fewer than 2 pairs)."""
    n = len(pairs)
    if n < 2:
        return None
    a = np.asarray([p[0] for p in pairs])
    b = np.asarray([p[1] for p in pairs])
    log_ratio = math.log(a.sum() / b.sum())
    idx = np.random.default_rng(seed).integers(0, n, size=(rule.n_resamples, n))
    se = float(np.std(np.log(a[idx].sum(axis=1) / b[idx].sum(axis=1)))) * math.sqrt(n / (n - 1))
    q = rule.quantile(n)
    return Versus(math.exp(log_ratio), math.exp(log_ratio - q * se), math.exp(log_ratio + q * se), n)


def decide(records: Mapping[str, Sequence[TurnResult]], survivors: Sequence[str], simplicity: Sequence[str],
           rule: RaceRule) -> Decision:
    """After a round: the leader, who is dropped, and whether the race is decided.
    ``records``: every record of the race so far, per arm; ``simplicity``: arms, simplest first."""
    shared = _shared(records, survivors)
    totals = {a: sum(r.wall_ms for r in records.get(a, ()) if r.ok and r.key in shared) for a in survivors}
    leader = min(survivors, key=lambda a: (totals[a], simplicity.index(a) if a in simplicity else len(simplicity)))
    against = {}
    for arm in survivors:
        if arm != leader:
            v = versus(pair_walls(records.get(arm, ()), records.get(leader, ())), rule)
            if v is not None:
                against[arm] = v
    band = 1.0 + rule.tolerance
    dropped = {a: v for a, v in against.items() if v.low > band}
    left = [a for a in survivors if a not in dropped]
    if len(left) == 1:
        return Decision(leader, dropped, against, "confident", leader)
    close = [_plain(pair_walls(records.get(a, ()), records.get(leader, ())), rule) for a in left if a != leader]
    if close and all(v is not None and 1 / band <= v.low and v.high <= band for v in close):
        pick = min(left, key=lambda a: simplicity.index(a) if a in simplicity else len(simplicity))
        return Decision(leader, dropped, against, "tie", pick)
    return Decision(leader, dropped, against, "running", None)


def _plain(pairs: Sequence[tuple[float, float]], rule: RaceRule) -> Versus | None:
    """The interval at the race's own confidence, uncorrected: what a tie is judged by. A tie
    recommends the simplest of arms that all lie within the tolerance, so it needs no guard
    against the many looks that dropping does (a wrong drop loses the best arm for good)."""
    return versus(pairs, RaceRule(rule.confidence, rule.tolerance, arms=2, looks=1, n_resamples=rule.n_resamples))


def _shared(records: Mapping[str, Sequence[TurnResult]], arms: Sequence[str]) -> set[PairKey]:
    """The pair keys every one of ``arms`` completed."""
    keys = [{r.key for r in records.get(a, ()) if r.ok} for a in arms]
    return set.intersection(*keys) if keys else set()
