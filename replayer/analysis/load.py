"""The ``load`` section: per concurrency level and arm, throughput, latency and acceptance;
per level, the candidate's speedup over the baseline; and truth under load (every slot of a
speculating arm drafted; tokens against the same turn replayed alone on the baseline)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from statistics import mean
from typing import Mapping, Sequence

import numpy as np

from replayer.analysis.equality import first_divergence
from replayer.analysis.slo import session_decode_p10, slo_section, ttft_p90_s
from replayer.results.record import TurnResult
from replayer.results.summary import LoadArm, LoadLevel, LoadSection, VariantFacts
from replayer.scenario.model import LoadSpec


@dataclass(frozen=True)
class LoadInput:
    spec: LoadSpec
    facts: Mapping[int, Mapping[str, VariantFacts]]  # per level: each arm's server as it ran that level


def load_section(records: Sequence[TurnResult], baseline: str, load: LoadInput,
                 temperatures: Mapping[str, float]) -> tuple[LoadSection, tuple[str, ...]]:
    """The section, and the problems it found (a speculating arm's slot that never drafted)."""
    by: dict[tuple[int, str], list[TurnResult]] = defaultdict(list)
    for r in records:
        if r.level is not None:
            by[(r.level, r.variant)].append(r)
    arms = sorted({v for _, v in by}, key=lambda v: (v != baseline, v))
    levels, problems = [], []
    alone = _alone(by, baseline)
    ran = sorted({n for n, _ in by} | set(load.facts)) if load.spec.search else load.spec.sessions
    for level in ran:
        facts = load.facts.get(level, {})
        figures = {v: _arm(v, by[(level, v)], load.spec.slots(level), facts.get(v)) for v in arms if (level, v) in by}
        problems += _slot_problems(level, figures, facts)
        greedy = {v: temperatures.get(v, 0.0) == 0 and temperatures.get(baseline, 0.0) == 0 for v in arms}
        levels.append(_level(level, load.spec.total(level), figures, by, baseline, alone, greedy))
    notes = () if alone else ("no level 1 in load.sessions: outputs are not compared with turns replayed alone",)
    slo = None
    if load.spec.slo is not None:
        figures = {lv.sessions: {v: (a.ttft_p90_s, a.session_decode_tok_s_p10) for v, a in lv.arms.items()}
                   for lv in levels if lv.arms}
        slo = slo_section(load.spec.slo, figures, load.spec.search, max(load.spec.sessions))
    section = LoadSection(baseline=baseline, levels=tuple(levels), think_time=load.spec.think_time.value,
                          distinct=load.spec.distinct, shared_prefix=load.spec.shared_prefix, notes=notes, slo=slo)
    return section, tuple(problems)


def _arm(variant: str, records: list[TurnResult], slots: int, facts: VariantFacts | None) -> LoadArm:
    reps = sorted({r.repetition for r in records})
    good = [r for r in records if r.ok]
    durations = [_duration([r for r in records if r.repetition == k]) for k in reps]
    total = mean(durations) if durations else 0.0
    n_reps = max(len(reps), 1)

    def rate(count: float) -> float | None:
        return count / n_reps / total if total > 0 else None

    drafted, accepted = _by_slot(good)
    draft_sum = sum(r.draft_n for r in good)
    return LoadArm(
        variant=variant, slots=slots, requests=round(len(records) / n_reps), errors=len(records) - len(good),
        duration_s=total, generated_tok_s=rate(sum(r.predicted_n or 0 for r in good)),
        prompt_tok_s=rate(sum(r.prompt_n or 0 for r in good)), requests_s=rate(len(good)),
        latency_p50_ms=_pct([r.wall_ms for r in good], 50), latency_p90_ms=_pct([r.wall_ms for r in good], 90),
        latency_p99_ms=_pct([r.wall_ms for r in good], 99),
        queue_wait_p50_ms=_pct([r.request_overhead_ms for r in good], 50),
        queue_wait_p99_ms=_pct([r.request_overhead_ms for r in good], 99),
        session_p50_s=_pct(_sessions(records), 50), session_p90_s=_pct(_sessions(records), 90),
        acceptance=sum(r.draft_n_accepted for r in good) / draft_sum if draft_sum else None,
        slot_drafted={str(k): v for k, v in sorted(drafted.items())},
        slot_acceptance={str(k): (accepted[k] / v if v else None) for k, v in sorted(drafted.items())},
        slots_speculative=facts.slots_speculative if facts else None,
        ttft_p90_s=ttft_p90_s(records), session_decode_tok_s_p10=session_decode_p10(records),
    )


def _duration(records: list[TurnResult]) -> float:
    sends = [r.send_s for r in records if r.send_s is not None]
    receives = [r.receive_s for r in records if r.receive_s is not None]
    return max(receives) - min(sends) if sends and receives else 0.0


def _sessions(records: list[TurnResult]) -> list[float]:
    spans: dict[tuple[int, int | None], list[TurnResult]] = defaultdict(list)
    for r in records:
        spans[(r.repetition, r.session)].append(r)
    return [_duration(rs) for rs in spans.values()]


def _by_slot(records: list[TurnResult]) -> tuple[dict[int, int], dict[int, int]]:
    drafted: dict[int, int] = defaultdict(int)
    accepted: dict[int, int] = defaultdict(int)
    for r in records:
        if r.slot is not None:
            drafted[r.slot] += r.draft_n
            accepted[r.slot] += r.draft_n_accepted
    return drafted, accepted


def _pct(values: Sequence[float | None], q: float) -> float | None:
    clean = [v for v in values if v is not None]
    return float(np.percentile(clean, q)) if clean else None


def _slot_problems(level: int, figures: Mapping[str, LoadArm], facts: Mapping[str, VariantFacts]) -> list[str]:
    out = []
    for name, arm in figures.items():
        f = facts.get(name)
        if not (f and f.expect_speculation):
            continue
        idle = [slot for slot, n in arm.slot_drafted.items() if n == 0]
        if idle:
            out.append(f"variant {name}: at {level} session(s), slot(s) {', '.join(idle)} served requests but never "
                       "drafted (speculation not live on every slot)")
    return out


def _level(level: int, total: int, figures: Mapping[str, LoadArm], by: Mapping[tuple[int, str], list[TurnResult]],
           baseline: str, alone: Mapping[tuple, TurnResult], greedy: Mapping[str, bool]) -> LoadLevel:
    speedup, ci, compared, diverged = {}, {}, {}, {}
    for name in figures:
        records = by[(level, name)]
        if greedy.get(name):
            compared[name], diverged[name] = _against_alone(records, alone)
        if name == baseline or baseline not in figures:
            continue
        speedup[name], ci[name] = _speedup(by[(level, baseline)], records)
    return LoadLevel(sessions=level, sessions_total=total, arms=dict(figures), speedup=speedup, speedup_ci=ci,
                     compared_alone=compared, diverged_alone=diverged)


def _speedup(base: list[TurnResult], cand: list[TurnResult]) -> tuple[float | None, tuple[float, float] | None]:
    """Baseline duration / candidate duration, summed over the repetitions (the arms did the same
    work), with a 95 % interval from a bootstrap over repetitions, the sessions in each and the turns
    in each (``speedup_interval``)."""
    reps = sorted({r.repetition for r in base} & {r.repetition for r in cand})
    b = [_duration([r for r in base if r.repetition == k]) for k in reps]
    c = [_duration([r for r in cand if r.repetition == k]) for k in reps]
    if not reps or not all(x > 0 for x in b + c):
        return None, None
    estimate = sum(b) / sum(c)
    return estimate, speedup_interval(base, cand, estimate)


def speedup_interval(base: Sequence[TurnResult], cand: Sequence[TurnResult], estimate: float,
                     confidence: float = 0.95, n_resamples: int = 2000,
                     seed: int = 0) -> tuple[float, float] | None:
    """A level's speedup interval, at one repetition too. Under a closed loop with no think time a
    level's duration is its sessions' request times end to end, so the ratio of summed request
    times (baseline / candidate, over the pairs of the same turn of the same session) moves as the
    duration ratio does. Its bootstrap draws repetitions (when there are several), then sessions
    within each, then turns within each; the spread of the resampled ratio around its full-sample
    value, multiplied onto the duration estimate, is the interval (None: fewer than 2 pairs)."""
    mine = {r.key: r for r in base if r.ok}
    tree: dict[int, dict[int | None, list[tuple[float, float]]]] = defaultdict(lambda: defaultdict(list))
    for r in cand:
        b = mine.get(r.key)
        if r.ok and b is not None and b.wall_ms > 0 and r.wall_ms > 0:
            tree[r.repetition][r.session].append((b.wall_ms, r.wall_ms))
    if sum(len(turns) for sessions in tree.values() for turns in sessions.values()) < 2:
        return None
    rng = np.random.default_rng(seed)
    reps = [list(sessions.values()) for sessions in tree.values()]
    full = _sum_ratio([p for sessions in reps for turns in sessions for p in turns])
    boot = np.empty(n_resamples)
    for i in range(n_resamples):
        drawn = [reps[j] for j in rng.integers(0, len(reps), len(reps))] if len(reps) > 1 else reps
        pairs = []
        for sessions in drawn:
            for s in rng.integers(0, len(sessions), len(sessions)):
                turns = sessions[s]
                pairs += [turns[t] for t in rng.integers(0, len(turns), len(turns))]
        boot[i] = _sum_ratio(pairs)
    alpha = (1 - confidence) / 2
    lo, hi = (float(q) * estimate / full for q in np.quantile(boot, [alpha, 1 - alpha]))
    return min(lo, estimate), max(hi, estimate)


def _sum_ratio(pairs: Sequence[tuple[float, float]]) -> float:
    return sum(b for b, _ in pairs) / sum(c for _, c in pairs)


def _alone(by: Mapping[tuple[int, str], list[TurnResult]], baseline: str) -> dict[tuple, TurnResult]:
    """The baseline's turns at level 1: each session replayed with nothing else in flight."""
    return {(r.trace, r.turn, r.session, r.repetition): r for r in by.get((1, baseline), []) if r.ok and r.tokens}


def _against_alone(records: list[TurnResult], alone: Mapping[tuple, TurnResult]) -> tuple[int, int]:
    compared = diverged = 0
    for r in records:
        ref = alone.get((r.trace, r.turn, r.session, r.repetition))
        if ref is None or not r.ok or r.tokens is None or ref is r:
            continue
        compared += 1
        if first_divergence(list(ref.tokens or ()), list(r.tokens)) is not None:
            diverged += 1
    return compared, diverged
