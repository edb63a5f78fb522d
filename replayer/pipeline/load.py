"""A run with a ``load:`` section: one pair of servers per concurrency level, the
concurrent executor on each, every level's records into the run's one results.jsonl."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from pathlib import Path
from typing import Callable

from replayer.pipeline.preflight import check_plan
from replayer.results import ResultsWriter
from replayer.results.summary import VariantFacts
from replayer.runner.concurrent import ConcurrentExecutor
from replayer.runner.executor import Reporter, warm_up
from replayer.runner.plan import ReplayPlan, plan_turns
from replayer.runner.pool import ServerBuild, ServerPool
from replayer.scenario.flags import flag_value, set_flag
from replayer.scenario.model import OnError, Scenario
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


def requests(scenario: Scenario, turns_per_session: int) -> int:
    """How many requests the whole load run sends (for the progress bar)."""
    load = scenario.load
    assert load is not None
    arms = len(scenario.variants)
    return sum(load.total(n) for n in load.sessions) * turns_per_session * arms * scenario.policy.repetitions


def run_levels(scenario: Scenario, traces: list[Trace], build: ServerBuild | None, run_dir: Path,
               sink: ResultsWriter, reporter: Reporter, log: Callable[[str], None],
               facts: dict[int, dict[str, VariantFacts]], notes: list[str]) -> None:
    """Every level in the order given; each level's servers are stopped before the next start.
    ``facts`` gets each level's servers as soon as they are up (an interrupted run keeps them);
    ``notes`` the preflight's, once each (every level gives each slot the same context)."""
    load = scenario.load
    assert load is not None
    seq = itertools.count()
    for index, level in enumerate(load.sessions):
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
            done = ConcurrentExecutor(level, load, index, seq).run(plan, pool.endpoints, scenario.policy, sink,
                                                                   reporter, range(scenario.policy.repetitions))
            facts[level] = pool.final_facts()
        if not done and scenario.policy.on_error is OnError.STOP:
            break


def level_one_facts(facts: dict[int, dict[str, VariantFacts]]) -> dict[str, VariantFacts]:
    """The facts the summary's variants show: the servers of the first level that ran."""
    return dict(next(iter(facts.values()))) if facts else {}
