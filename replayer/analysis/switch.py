"""What a per-request switch between two arms would save, estimated honestly.

MTP is a server-level switch in llama-server (the per-request speculative fields are compiled
out of this build), so a mixed workload pays for the turns it hurts. Two figures bound what a
router that sends each request to the better server could gain:

- the **oracle**: every turn on its faster arm, from the paired measurements themselves. No
  rule can beat it; it is labelled as a bound, because it is fitted to the very noise it sums;
- the **rule**: one arm per turn kind, chosen on half of the turns and scored on the other half
  (two folds, each kind's turns dealt alternately in session order, so both halves span the
  session), so the figure is never fitted to itself. A kind absent from a fold's training half
  goes to the arm that was better over that whole half.

Times are sums over the turns both arms completed, each turn's time the mean over its repetitions.
"""

from __future__ import annotations

from collections import defaultdict
from statistics import mean
from typing import Mapping, Sequence

from replayer.analysis.figures import ok
from replayer.results.record import TurnResult
from replayer.results.summary import SwitchEstimate

FOLDS = 2
MIN_TURNS = 4  # fewer paired turns cannot be split into halves that each teach and score something

TurnKey = tuple[str, int]


def switch_estimate(baseline: str, candidate: str, base: Sequence[TurnResult], cand: Sequence[TurnResult],
                    kinds: Mapping[TurnKey, str]) -> SwitchEstimate | None:
    times = _paired_means(base, cand)
    keys = sorted(k for k in times if k in kinds)
    if len(keys) < MIN_TURNS:
        return None
    b_total = sum(times[k][0] for k in keys)
    c_total = sum(times[k][1] for k in keys)
    better = baseline if b_total <= c_total else candidate
    fold = _folds(keys, kinds)
    rule_s = 0.0
    for f in range(FOLDS):
        learned = _learn([k for k in keys if fold[k] != f], times, kinds)
        rule_s += sum(times[k][learned.get(kinds[k], learned.get("", 0))] for k in keys if fold[k] == f)
    learned_all = _learn(keys, times, kinds)
    names = (baseline, candidate)
    return SwitchEstimate(
        baseline_s=b_total, candidate_s=c_total, better=better, better_s=min(b_total, c_total),
        oracle_s=sum(min(times[k]) for k in keys), rule_s=rule_s,
        rule={kind: names[arm] for kind, arm in sorted(learned_all.items()) if kind}, folds=FOLDS, turns=len(keys),
    )


def _paired_means(base: Sequence[TurnResult], cand: Sequence[TurnResult]) -> dict[TurnKey, tuple[float, float]]:
    """Per turn, (baseline, candidate) mean wall seconds over the repetitions both arms completed."""
    mine = {r.key: r for r in ok(base)}
    walls: dict[TurnKey, list[tuple[float, float]]] = defaultdict(list)
    for r in ok(cand):
        b = mine.get(r.key)
        if b is not None:
            walls[(r.trace, r.turn)].append((b.wall_ms / 1e3, r.wall_ms / 1e3))
    return {k: (mean(b for b, _ in v), mean(c for _, c in v)) for k, v in walls.items()}


def _folds(keys: list[TurnKey], kinds: Mapping[TurnKey, str]) -> dict[TurnKey, int]:
    """Each kind's turns dealt to the folds in turn, in session order."""
    count: dict[str, int] = defaultdict(int)
    out = {}
    for k in keys:
        out[k] = count[kinds[k]] % FOLDS
        count[kinds[k]] += 1
    return out


def _learn(keys: list[TurnKey], times: Mapping[TurnKey, tuple[float, float]],
           kinds: Mapping[TurnKey, str]) -> dict[str, int]:
    """Kind -> the arm (0 baseline, 1 candidate) with the smaller total over ``keys``; under ""
    the arm that was better over all of them (for kinds these turns do not have). With no turns
    to learn from, nothing is learned and the caller keeps the baseline: the current setting."""
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for k in keys:
        for arm in (0, 1):
            totals[kinds[k]][arm] += times[k][arm]
            totals[""][arm] += times[k][arm]
    return {kind: (0 if t[0] <= t[1] else 1) for kind, t in totals.items()}
