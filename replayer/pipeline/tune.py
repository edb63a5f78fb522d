"""`replay tune`: race the arms of a ``tune:`` section, level by level, spending server time only
on contenders.

Per concurrency level: every arm's server starts (an arm that cannot start, or does not
speculate when it should, is left out with its reason); then rounds. A round replays a sample
of each trace's turns spread over its depths (runner/plan.py ``sample_turns``) on every arm
still in the race, interleaved turn by turn at one session (the sequential executor) or as
that many sessions at once (the concurrent executor), each sampled turn primed first so that
it finds the prompt cache the session had. After each round the racing rule
(analysis/race.py, through analysis/tune.py ``race_step``) drops the arms that are clearly
slower than the leader and says whether the race is decided. No round starts once the budget
is spent. Every record goes to results.jsonl as it is measured; the summary rebuilds the
decisions from them, so an interrupted race says what it had decided.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from replayer.analysis.tune import ArmInfo, TuneInput, race_step, rule_for
from replayer.pipeline.load import at_level
from replayer.pipeline.preflight import check_plan
from replayer.results import ResultsWriter
from replayer.results.record import TurnResult
from replayer.results.summary import VariantFacts
from replayer.runner.concurrent import ConcurrentExecutor
from replayer.runner.executor import Executor, Reporter, SequentialExecutor, warm_up
from replayer.runner.plan import PlannedTurn, ReplayPlan, plan_turns, sample_turns, with_primes
from replayer.runner.pool import ServerBuild, ServerPool
from replayer.scenario.model import LoadSpec, Scenario, TuneSpec
from replayer.tokens import estimate_tokens
from replayer.trace import Trace


@dataclass
class Race:
    """What the race learned, kept however it stops (the summary is built from it and the records)."""

    spec: TuneSpec
    arms: tuple[ArmInfo, ...]
    baseline: str
    turns: dict[str, int]
    unranked: dict[int, dict[str, str]] = field(default_factory=dict)
    stops: dict[int, str] = field(default_factory=dict)
    finished: dict[int, int] = field(default_factory=dict)  # level -> rounds run to their end
    facts: dict[int, dict[str, VariantFacts]] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    def input(self, gate_scenario: str | None) -> TuneInput:
        return TuneInput(spec=self.spec, arms=self.arms, baseline=self.baseline, variant=self.spec.plan.base,
                         turns=self.turns, unranked=self.unranked, stops=self.stops, finished=self.finished,
                         gate_scenario=gate_scenario)

    def spent(self) -> bool:
        return self.spec.budget_s is not None and time.monotonic() - self.started >= self.spec.budget_s


@dataclass(frozen=True)
class TuneOverrides:
    """What `replay tune`'s command line changes in the tune: section."""

    sessions: tuple[int, ...] | None = None
    budget_s: float | None = None
    sample: int | None = None
    max_rounds: int | None = None

    def applied(self, spec: TuneSpec) -> TuneSpec:
        from dataclasses import replace

        changes = {k: v for k, v in (("sessions", self.sessions), ("budget_s", self.budget_s),
                                     ("sample", self.sample), ("max_rounds", self.max_rounds)) if v is not None}
        return replace(spec, **changes)


def default_tune(scenario: Scenario) -> TuneSpec:
    """The race of a scenario without a tune: section: no speculation against draft-mtp at n-max 1 to 6."""
    from replayer.errors import InputError
    from replayer.scenario.tune import tune_problems, tune_spec

    kw = {"cache": scenario.policy.cache.value, "common_args": scenario.server.common_args}
    problems = tune_problems({}, scenario.variants, scenario.baseline, **kw)
    if problems:
        where, message = problems[0]
        raise InputError(f"{scenario.path}: {'.'.join(str(w) for w in where)}: {message}")
    spec = tune_spec(None, scenario.variants, scenario.baseline, scenario.policy.sampling, **kw)
    load = scenario.load
    if load is not None and not load.search:  # a load scenario: race at its levels, against its SLO
        from dataclasses import replace

        spec = replace(spec, sessions=load.sessions, slo=load.slo)
    return spec


def arms_of(spec: TuneSpec, scenario: Scenario) -> tuple[ArmInfo, ...]:
    """The race's arms, simplest first: the baseline, the scenario's other variants, the grid in order."""
    plan = spec.plan
    points = {p.name: p for p in plan.points}
    order = [scenario.baseline, *(v.name for v in plan.variants if v.name != scenario.baseline and v.name not in points),
             *(p.name for p in plan.points if p.name != scenario.baseline)]
    variants = {v.name: v for v in plan.variants}
    return tuple(ArmInfo(name, tuple(variants[name].args), dict(points[name].values) if name in points else {},
                         variants[name].speculates) for name in order)


def race_levels(scenario: Scenario, traces: list[Trace], build: ServerBuild | None, run_dir: Path, race: Race,
                sink: ResultsWriter, reporter: Reporter, log: Callable[[str], None], notes: list[str]) -> None:
    """Every level of the section, in order; each level's servers stop before the next level's start."""
    for level in race.spec.sessions:
        if race.spent():
            race.stops[level] = "budget"
            log(f"tune: the budget of {race.spec.budget_s:.0f} s is spent: level {level} not raced")
            continue
        _race_level(level, scenario, traces, build, run_dir, race, sink, reporter, log, notes)


def _race_level(level: int, scenario: Scenario, traces: list[Trace], build: ServerBuild | None, run_dir: Path,
                race: Race, sink: ResultsWriter, reporter: Reporter, log: Callable[[str], None],
                notes: list[str]) -> None:
    spec = race.spec
    level_scenario = at_level(_as_load(scenario, level), level) if level > 1 else scenario
    level_dir = run_dir / f"level-{level}"
    level_dir.mkdir(parents=True, exist_ok=True)
    log(f"tune: {level} session(s) in flight: racing {len(race.arms)} arm(s), {spec.sample} turn(s) per trace "
        f"and round, at most {spec.max_rounds} round(s)")
    pool = ServerPool(level_scenario, build, level_dir, log, lenient=True)
    race.facts[level] = pool.facts
    with pool:
        race.unranked[level] = dict(pool.failed)
        live = [a.name for a in race.arms if a.name in pool.endpoints]
        if not live:
            race.stops[level] = "none"
            return
        base = pool.endpoints[live[0]]
        turns = list(plan_turns(traces, scenario.policy, base.tokenize, estimate_tokens))
        planned, left_out = check_plan(ReplayPlan(tuple(turns), tuple(live), {}), pool.facts,
                                       base.count_chat_tokens, scenario.policy)
        notes.extend(n for n in left_out if n not in notes)
        warm_up({a: pool.endpoints[a] for a in live}, scenario.policy, scenario.policy.warmup)
        _rounds(level, list(planned.turns), live, pool, race, sink, reporter, log)
        race.facts[level] = pool.final_facts()


def _rounds(level: int, turns: list[PlannedTurn], survivors: list[str], pool: ServerPool, race: Race,
            sink: ResultsWriter, reporter: Reporter, log: Callable[[str], None]) -> None:
    spec = race.spec
    infos = {a.name: a for a in race.arms}
    simplicity = [a.name for a in race.arms]
    rule = rule_for(spec, len(survivors))
    seen: dict[str, list[TurnResult]] = {a: [] for a in survivors}
    tee = _Tee(sink, seen)
    seq = itertools.count()
    for index in range(spec.max_rounds):
        if race.spent():
            race.stops[level] = "budget"
            log(f"tune: the budget of {spec.budget_s:.0f} s is spent after {index} round(s) at {level} session(s)")
            return
        plan = ReplayPlan(_round_turns(turns, spec.sample, index), tuple(survivors), {})
        reporter.add_total(plan.requests() * level)
        _executor(level, index, seq).run(plan, {a: pool.endpoints[a] for a in survivors}, pool.scenario.policy,
                                         tee, reporter, range(index, index + 1))
        race.finished[level] = index + 1
        decision, silent = race_step(seen, survivors, infos, simplicity, rule, first=index == 0)
        for arm, why in silent.items():
            log(f"tune: {arm} is not ranked: {why}")
        out = [*silent, *(decision.dropped if decision else ())]
        for arm in decision.dropped if decision else ():
            v = decision.dropped[arm]
            log(f"tune: round {index}: {arm} dropped, {v.ratio:.3f}x the time of {decision.leader} "
                f"[{v.low:.3f}, {v.high:.3f}]")
        survivors = [a for a in survivors if a not in out]
        if decision is None:
            race.stops[level] = "none"
            return
        log(f"tune: round {index} at {level} session(s): {decision.leader} leads; {len(survivors)} arm(s) left")
        if decision.outcome != "running":
            return
    race.stops[level] = "rounds"


def _round_turns(turns: list[PlannedTurn], size: int, index: int) -> tuple[PlannedTurn, ...]:
    """This round's sampled turns of every trace, each walk in session order."""
    by_trace: dict[str, list[PlannedTurn]] = {}
    for t in turns:
        by_trace.setdefault(t.trace.name, []).append(t)
    out: list[PlannedTurn] = []
    for name, mine in by_trace.items():
        out += with_primes(mine, sample_turns(len(mine), size, index, seed=hash_seed(name)))
    return tuple(out)


def hash_seed(name: str) -> int:
    """A seed per trace that is the same in every process (str hashes are not)."""
    return sum((i + 1) * ord(c) for i, c in enumerate(name)) % 1_000_003


def _executor(level: int, index: int, seq: "itertools.count[int]") -> Executor:
    if level == 1:
        return SequentialExecutor()
    return ConcurrentExecutor(level, LoadSpec(sessions=(level,)), index, seq)


def _as_load(scenario: Scenario, level: int) -> Scenario:
    """A scenario with a load section of this level, so that load's server sizing applies."""
    from dataclasses import replace

    return replace(scenario, load=LoadSpec(sessions=(level,)))


class _Tee:
    """The run's sink, and the race's own view of the records, per arm."""

    def __init__(self, sink: ResultsWriter, seen: dict[str, list[TurnResult]]) -> None:
        self.sink, self.seen = sink, seen

    def write(self, record: TurnResult) -> None:
        self.sink.write(record)
        self.seen.setdefault(record.variant, []).append(record)
