"""A run with a ``load:`` section: one pair of servers per concurrency level, the
concurrent executor on each, every level's records into the run's one results.jsonl."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterator

from replayer.analysis.slo import meets, next_level, session_decode_p10, ttft_p90_s
from replayer.pipeline.preflight import check_plan
from replayer.results import ResultsWriter
from replayer.results.record import TurnResult
from replayer.results.summary import VariantFacts
from replayer.runner.concurrent import ConcurrentExecutor
from replayer.runner.executor import Reporter, warm_up
from replayer.runner.plan import ReplayPlan, plan_turns
from replayer.runner.pool import ServerBuild, ServerPool
from replayer.scenario.flags import flag_value, set_flag
from replayer.scenario.model import LoadSpec, OnError, Scenario
from replayer.tokens import estimate_tokens
from replayer.trace import Trace


def at_level(scenario: Scenario, level: int) -> Scenario:
    """The scenario as one level runs it: ``-np`` slots, and a context that gives each slot
    the per-slot context the scenario pins (llama-server splits ``-c`` across its slots)."""
    load = scenario.load
    assert load is not None
    slots = load.slots(level)
    args = set_flag(scenario.server.common_args, "-np", slots)
    per_slot = flag_value(args, "-c")
    if per_slot is not None and per_slot.isdigit():
        args = set_flag(args, "-c", int(per_slot) * slots)
    return replace(scenario, server=replace(scenario.server, common_args=tuple(args)))


def requests(scenario: Scenario, turns_per_session: int, levels: tuple[int, ...] | None = None) -> int:
    """How many requests the load run sends at ``levels`` (default: all; a search: none known yet)."""
    load = scenario.load
    assert load is not None
    arms = len(scenario.variants)
    if levels is None:
        levels = () if load.search else load.sessions
    return sum(load.total(n) for n in levels) * turns_per_session * arms * scenario.policy.repetitions


class _Tee:
    """The run's sink, keeping a copy of the level's records for the SLO search."""

    def __init__(self, sink: ResultsWriter) -> None:
        self.sink, self.records = sink, []

    def write(self, record: TurnResult) -> None:
        self.sink.write(record)
        self.records.append(record)


def _levels(load: LoadSpec, arms: list[str], ran: dict[int, list[TurnResult]]) -> Iterator[int]:
    """The levels in the order given, or, for sessions: auto, each next level of the SLO search
    (analysis/slo.py) from what the levels so far measured."""
    if not load.search:
        yield from load.sessions
        return
    assert load.slo is not None
    while True:
        passed: dict[str, dict[int, bool]] = {a: {} for a in arms}
        for n, records in ran.items():
            for a in arms:
                mine = [r for r in records if r.variant == a]
                passed[a][n] = meets(load.slo, ttft_p90_s(mine), session_decode_p10(mine))
        level = next_level(passed, arms, max(load.sessions))
        if level is None:
            return
        yield level


def run_levels(scenario: Scenario, traces: list[Trace], build: ServerBuild | None, run_dir: Path,
               sink: ResultsWriter, reporter: Reporter, log: Callable[[str], None],
               facts: dict[int, dict[str, VariantFacts]], notes: list[str]) -> None:
    """Every level in the order given; each level's servers are stopped before the next start.
    ``facts`` gets each level's servers as soon as they are up (an interrupted run keeps them);
    ``notes`` the preflight's, once each (every level gives each slot the same context)."""
    load = scenario.load
    assert load is not None
    seq = itertools.count()
    ran: dict[int, list[TurnResult]] = {}
    arms = [v.name for v in scenario.variants]
    turns = max(t.n_turns if scenario.policy.turns is None else min(scenario.policy.turns, t.n_turns) for t in traces)
    for index, level in enumerate(_levels(load, arms, ran)):
        if load.search:
            reporter.add_total(requests(scenario, turns, (level,)))
            log(f"SLO search ({load.slo.describe() if load.slo else ''}): trying {level} session(s)")
        tee = _Tee(sink)
        level_scenario = at_level(scenario, level)
        level_dir = run_dir / f"level-{level}"
        level_dir.mkdir(parents=True, exist_ok=True)
        log(f"level {level}: {load.total(level)} session(s), {level} in flight, -np {load.slots(level)}")
        pool = ServerPool(level_scenario, build, level_dir, log)
        facts[level] = pool.facts
        with pool:
            (level_dir / "servers.json").write_text(json.dumps(pool.server_blocks(), indent=2, default=str) + "\n")
            base = pool.endpoints[scenario.baseline]
            plan = ReplayPlan(tuple(plan_turns(traces, scenario.policy, base.tokenize, estimate_tokens)),
                              tuple(pool.endpoints), {})
            plan, left_out = check_plan(plan, pool.facts, base.count_chat_tokens, scenario.policy)
            notes.extend(n for n in left_out if n not in notes)
            warm_up(pool.endpoints, scenario.policy, scenario.policy.warmup)
            done = ConcurrentExecutor(level, load, index, seq).run(plan, pool.endpoints, scenario.policy, tee,
                                                                   reporter, range(scenario.policy.repetitions))
            facts[level] = pool.final_facts()
        ran[level] = tee.records
        if not done and scenario.policy.on_error is OnError.STOP:
            break


def level_one_facts(facts: dict[int, dict[str, VariantFacts]]) -> dict[str, VariantFacts]:
    """The facts the summary's variants show: the servers of the first level that ran."""
    return dict(next(iter(facts.values()))) if facts else {}
