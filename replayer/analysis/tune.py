"""The ``tune`` section: `replay tune`'s race at each concurrency level, rebuilt from its records.

The race's decisions are a pure function of the records (analysis/race.py): the summary replays
them round by round, so `replay report` rebuilds exactly what the run decided, and an
interrupted run says what was decided so far. What the records cannot say comes in
``TuneInput``: each arm's flags, which arms could not start or did not speculate at start, and
why a race that was still running stopped (its budget, its last round, Ctrl-C).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from statistics import mean
from typing import Any, Mapping, Sequence

from replayer.analysis.race import Decision, RaceRule, decide, pair_walls, versus
from replayer.analysis.slo import session_decode_p10, slo_section, ttft_p90_s
from replayer.results.record import TurnResult
from replayer.results.summary import TuneArm, TuneLevel, TuneRound, TuneSection
from replayer.scenario.model import TuneSpec

UNDRAFTED_TOKENS = 8  # a speculating arm that generated this many tokens in its first round without drafting


@dataclass(frozen=True)
class ArmInfo:
    name: str
    args: tuple[str, ...]
    values: Mapping[str, Any]
    speculates: bool


@dataclass(frozen=True)
class TuneInput:
    spec: TuneSpec
    arms: tuple[ArmInfo, ...]  # simplest first: the baseline, the other variants, the grid in order
    baseline: str
    variant: str  # the tuned (drafting) variant
    turns: Mapping[str, int]  # per trace, the turns the session has (to estimate its time from samples)
    unranked: Mapping[int, Mapping[str, str]] = field(default_factory=dict)  # level -> arm -> why it never ran
    stops: Mapping[int, str] = field(default_factory=dict)  # level -> why a race still running ended
    # level -> rounds run to their end: an interrupted round's records are kept and estimated
    # from, but the race never judged them, so neither does the summary (absent: every round)
    finished: Mapping[int, int] = field(default_factory=dict)
    gate_scenario: str | None = None


def level_of(r: TurnResult) -> int:
    return r.level or 1  # level 1 runs on the sequential executor, which records no level


def rule_for(spec: TuneSpec, arms: int) -> RaceRule:
    return RaceRule(confidence=spec.confidence, tolerance=spec.tolerance, arms=arms, looks=spec.max_rounds)


def not_drafting(records: Sequence[TurnResult], info: ArmInfo) -> str | None:
    """Why a speculating arm cannot be ranked after its first round: it drafted nothing."""
    good = [r for r in records if r.ok]
    generated = sum(r.predicted_n or 0 for r in good)
    if info.speculates and good and generated >= UNDRAFTED_TOKENS and not any(r.draft_n for r in good):
        return (f"drafted no token in {len(good)} turn(s) ({generated} tokens generated) with "
                f"`{' '.join(info.args)}`: speculation is not live on this arm, so it is not ranked")
    return None


def race_step(by_arm: Mapping[str, Sequence[TurnResult]], survivors: list[str], infos: Mapping[str, ArmInfo],
              simplicity: Sequence[str], rule: RaceRule, first: bool) -> tuple[Decision | None, dict[str, str]]:
    """One round's verdict: (the decision, arms not ranked because they never drafted). The same
    function drives the live race (pipeline/tune.py) and rebuilds it here."""
    silent = {a: why for a in survivors if first and (why := not_drafting(by_arm.get(a, ()), infos[a]))}
    left = [a for a in survivors if a not in silent]
    if not left:
        return None, silent
    return decide(by_arm, left, simplicity, rule), silent


def tune_section(records: Sequence[TurnResult], inp: TuneInput) -> TuneSection:
    levels = tuple(_level(n, [r for r in records if level_of(r) == n], inp) for n in inp.spec.sessions
                   if any(level_of(r) == n for r in records) or n in inp.unranked or n in inp.stops)
    slo = None
    if inp.spec.slo is not None and levels:
        figures = {n: {a: (ttft_p90_s(rs), session_decode_p10(rs)) for a, rs in _by_arm(
            [r for r in records if level_of(r) == n]).items()} for n in (lv.sessions for lv in levels)}
        slo = slo_section(inp.spec.slo, figures, False, max(inp.spec.sessions))
    plan = inp.spec.plan
    return TuneSection(
        baseline=inp.baseline, variant=inp.variant, parameters=tuple(plan.parameters), levels=levels,
        sample=inp.spec.sample, max_rounds=inp.spec.max_rounds, tolerance=inp.spec.tolerance,
        confidence=inp.spec.confidence, budget_s=inp.spec.budget_s,
        server_s=sum(r.wall_ms + (r.prime_ms or 0.0) for r in records) / 1e3, slo=slo,
        gate_scenario=inp.gate_scenario if any(lv.recommended for lv in levels) else None,
    )


def _by_arm(records: Sequence[TurnResult]) -> dict[str, list[TurnResult]]:
    out: dict[str, list[TurnResult]] = defaultdict(list)
    for r in records:
        out[r.variant].append(r)
    return out


def _level(level: int, records: list[TurnResult], inp: TuneInput) -> TuneLevel:
    infos = {a.name: a for a in inp.arms}
    simplicity = [a.name for a in inp.arms]
    unranked = {a: ("failed" if why.startswith(FAILED) else "not-live", why)
                for a, why in inp.unranked.get(level, {}).items()}
    rule = rule_for(inp.spec, len([a for a in simplicity if a not in unranked]))
    survivors = [a for a in simplicity if a not in unranked]
    why_dropped: dict[str, tuple[int, str]] = {}
    rounds, decision = [], None
    indices = sorted(i for i in {r.repetition for r in records} if i < inp.finished.get(level, i + 1))
    for index in indices:
        so_far = _by_arm([r for r in records if r.repetition <= index])
        ran = [a for a in survivors if any(r.repetition == index for r in so_far.get(a, ()))]
        decision, silent = race_step(so_far, ran, infos, simplicity, rule, first=index == indices[0])
        unranked.update({a: ("not-live", why) for a, why in silent.items()})
        for a, v in (decision.dropped.items() if decision else ()):
            why_dropped[a] = (index, f"slower than {decision.leader} by {v.ratio:.3f}x [{v.low:.3f}, {v.high:.3f}] "
                                     f"(corrected interval) after round {index}")
        out = [*silent, *(decision.dropped if decision else ())]
        survivors = [a for a in ran if a not in out]
        mine = [r for r in records if r.repetition == index]
        rounds.append(TuneRound(index=index, arms=tuple(ran),
                                turns=tuple(sorted({f"{r.trace}:{r.turn}" for r in mine}, key=_turn_order)),
                                leader=decision.leader if decision else None, dropped=tuple(out),
                                server_s=sum(r.wall_ms + (r.prime_ms or 0.0) for r in mine) / 1e3))
    settled = decision is not None and decision.outcome != "running"
    outcome = _outcome(decision, settled, inp.stops.get(level))
    pick = (decision.pick if settled else decision.leader) if decision else None
    tied = decision is not None and decision.outcome == "tie"
    arms = tuple(_arm(infos[a], records, inp, pick, tied, why_dropped, unranked) for a in simplicity)
    return _summarised(level, arms, tuple(rounds), outcome, pick, records, inp)


def _outcome(decision: Decision | None, settled: bool, stop: str | None) -> str:
    if settled:
        return decision.outcome
    if stop in ("interrupted", "budget", "skipped"):
        return stop  # even before a first round ended: the summary says why nothing is decided
    return "none" if decision is None else (stop or "rounds")


FAILED = "did not start"  # how the pipeline words an arm whose server failed to start


def _arm(info: ArmInfo, records: list[TurnResult], inp: TuneInput, pick: str | None, tied: bool,
         why_dropped: Mapping[str, tuple[int, str]], unranked: Mapping[str, tuple[str, str]]) -> TuneArm:
    by = _by_arm(records)
    mine, base = by.get(info.name, []), by.get(inp.baseline, [])
    est = None if info.name == inp.baseline else versus(pair_walls(mine, base),
                                                         RaceRule(inp.spec.confidence, arms=2, looks=1))
    good = [r for r in mine if r.ok]
    drafted = sum(r.draft_n for r in good)
    dropped_round = why_dropped[info.name][0] if info.name in why_dropped else None
    if info.name in unranked:
        status, reason = unranked[info.name]
    elif info.name == pick:
        status, reason = "recommended", None
    elif info.name in why_dropped:
        status, reason = "dropped", why_dropped[info.name][1]
    elif tied:
        status, reason = "tied", f"within {inp.spec.tolerance:.0%} of the leader: the simplest arm is recommended"
    else:
        status, reason = "running", None
    return TuneArm(variant=info.name, args=tuple(info.args), values=dict(info.values),
                   estimate=(1.0 if base else None) if info.name == inp.baseline else (est.ratio if est else None),
                   estimate_ci=(est.low, est.high) if est else None, pairs=est.pairs if est else len(good),
                   acceptance=sum(r.draft_n_accepted for r in good) / drafted if drafted else None,
                   rounds=len({r.repetition for r in mine}), status=status, dropped_round=dropped_round, reason=reason)


def _summarised(level: int, arms: tuple[TuneArm, ...], rounds: tuple[TuneRound, ...], outcome: str,
                pick: str | None, records: list[TurnResult], inp: TuneInput) -> TuneLevel:
    chosen = next((a for a in arms if a.variant == pick), None)
    session = _session_s(records, inp)
    saved = session * (1 - chosen.estimate) if session is not None and chosen and chosen.estimate is not None else None
    return TuneLevel(sessions=level, arms=arms, rounds=rounds, outcome=outcome, recommended=pick,
                     recommended_args=chosen.args if chosen else (), baseline_session_s=session, saved_s=saved,
                     message=_message(level, outcome, chosen, arms, inp))


def _session_s(records: list[TurnResult], inp: TuneInput) -> float | None:
    """The baseline's session time, each trace's mean sampled turn times its turns (the rounds
    sample every depth alike), summed over traces; per session at this level."""
    mine = [r for r in records if r.variant == inp.baseline and r.ok]
    if not mine:
        return None
    per_trace: dict[str, list[float]] = defaultdict(list)
    for r in mine:
        per_trace[r.trace].append(r.wall_ms / 1e3)
    return sum(mean(walls) * inp.turns.get(trace, len(walls)) for trace, walls in per_trace.items())


_OUTCOMES = {"confident": "leads with confidence", "tie": "ties the leader within the tolerance and is the simplest",
             "rounds": "leads, not settled after the last round", "budget": "leads, not settled when the budget ran out",
             "interrupted": "leads, not settled when the run was interrupted"}


def _message(level: int, outcome: str, chosen: TuneArm | None, arms: tuple[TuneArm, ...], inp: TuneInput) -> str:
    if chosen is None and outcome == "interrupted":
        return f"at {level} session(s): interrupted before the race's first round ended"
    if chosen is None and outcome == "budget":
        return f"at {level} session(s): not raced, the budget ran out first"
    if chosen is None and outcome == "skipped":
        return f"at {level} session(s): not raced, the run was interrupted first"
    if chosen is None:
        return f"at {level} session(s): no arm could be ranked"
    est = "" if chosen.variant == inp.baseline or chosen.estimate is None else (
        f" ({1 / chosen.estimate:.2f}x faster than {inp.baseline})" if chosen.estimate < 1
        else f" ({chosen.estimate:.2f}x slower than {inp.baseline})")
    flags = " ".join(chosen.args) or "(no speculation flags)"
    return f"at {level} session(s): {chosen.variant} {_OUTCOMES.get(outcome, outcome)}{est}: {flags}"


def _turn_order(text: str) -> tuple[str, int]:
    trace, _, turn = text.rpartition(":")
    return trace, int(turn)
