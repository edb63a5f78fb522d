"""A run split into units that any node can replay on its own: one trace in one repetition.

A unit starts every managed arm's server on the node it runs on, replays its turns with the
arms interleaved exactly as a local run does (so each pair shares hardware), and hands back,
as they finish, a report on the node and then each turn's records. The driver
(``pipeline/distributed.py``) runs units as Ray tasks, or in its own process when resuming a
run without Ray; this module imports no Ray. A unit's server logs are kept (and named in the
error) only when it fails.
"""

from __future__ import annotations

import queue
import shutil
import tempfile
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator, Union

from replayer.errors import UnitFailed
from replayer.pipeline.preflight import check_plan
from replayer.results.record import TurnResult
from replayer.results.summary import HostInfo, VariantFacts
from replayer.runner.executor import SequentialExecutor, warm_up
from replayer.runner.host import host_info
from replayer.runner.plan import ReplayPlan, plan_turns
from replayer.runner.pool import ServerBuild, ServerPool
from replayer.scenario.model import Scenario
from replayer.tokens import estimate_tokens
from replayer.trace import Trace

BATCH = 512  # records handed back at once when they come faster than they can be sent


@dataclass(frozen=True)
class Job:
    """What every unit of a run shares (put once into Ray's object store)."""

    scenario: Scenario
    traces: tuple[Trace, ...]
    build: ServerBuild | None
    sampling: dict[str, dict]  # per arm: a sampling sweep's point


@dataclass(frozen=True)
class Unit:
    trace: int  # index into Job.traces (-1 for a load level: all of them)
    repetition: int
    done: frozenset[int] = frozenset()  # turns already in results.jsonl (every arm): not replayed again
    attempt: int = 1
    level: int | None = None  # a load run's concurrency level: its sessions, every repetition, on one node

    @property
    def key(self) -> tuple[int, int, int | None]:
        """The same for every attempt of a unit."""
        return (self.trace, self.repetition, self.level)

    def label(self, job: Job) -> str:
        if self.level is not None:
            return f"load level {self.level}"
        return f"{job.traces[self.trace].name} repetition {self.repetition}"


@dataclass(frozen=True)
class NodeReport:
    """Where a unit runs: the node, its host and what its servers are (build, model, flags)."""

    node: str
    host: HostInfo
    facts: dict[str, VariantFacts]
    notes: tuple[str, ...] = ()
    level: int | None = None  # the load level these servers ran


Item = Union[NodeReport, list[TurnResult]]


def run_unit(job: Job, unit: Unit, node: str) -> Iterator[Item]:
    """The unit's node report, then its records in batches as they finish. The servers live in
    a thread of this process, so they die with it (PR_SET_PDEATHSIG), killed or not."""
    _check_node(job, node)
    out: queue.Queue = queue.Queue()
    worker = threading.Thread(target=_replay, args=(job, unit, node, out), name="replayer-unit", daemon=True)
    worker.start()
    while True:
        item = out.get()
        if isinstance(item, BaseException):
            raise item
        if item is None:
            worker.join()
            return
        if isinstance(item, NodeReport):
            yield item
            continue
        batch = [item]
        while len(batch) < BATCH:
            try:
                more = out.get_nowait()
            except queue.Empty:
                break
            if not isinstance(more, TurnResult):
                out.queue.appendleft(more)  # the end or an error: after this batch
                break
            batch.append(more)
        yield batch


def _check_node(job: Job, node: str) -> None:
    build = job.build
    if build is None:
        return
    for what, path in (("llama-server binary", build.binary), ("model", build.model_path)):
        if not Path(path).is_file():
            raise UnitFailed(f"node {node}: no {what} at {path}: every node needs it at the same path "
                             "(docs/distributed.md)")


class _QueueSink:
    def __init__(self, out: queue.Queue, node: str) -> None:
        self.out, self.node = out, node

    def write(self, record: TurnResult) -> None:
        self.out.put(replace(record, node=self.node))


class Silent:
    """A Reporter that says nothing: a unit's (progress is the driver's to show), a bench's, a test's."""

    def turn_done(self, record: TurnResult) -> None:
        pass

    def log(self, message: str) -> None:
        pass

    def add_total(self, n: int) -> None:
        pass


def _replay(job: Job, unit: Unit, node: str, out: queue.Queue) -> None:
    try:
        if unit.level is not None:
            _replay_level(job, unit.level, node, out)
            return
        trace = job.traces[unit.trace]
        # url arms with several endpoints: this session's one, always the same
        scenario = replace(job.scenario, variants=tuple(v.for_session(trace.name) for v in job.scenario.variants))
        work = Path(tempfile.mkdtemp(prefix="replayer-unit-"))
        with ServerPool(scenario, job.build, work) as pool:
            base = pool.endpoints[scenario.baseline]
            turns = plan_turns([trace], scenario.policy, base.tokenize, estimate_tokens)
            plan = ReplayPlan(tuple(t for t in turns if t.turn.index not in unit.done), tuple(pool.endpoints),
                              job.sampling)
            plan, notes = check_plan(plan, pool.facts, base.count_chat_tokens, scenario.policy)
            out.put(NodeReport(node, HostInfo(**host_info()), dict(pool.facts), tuple(notes)))
            warm_up(pool.endpoints, scenario.policy, scenario.policy.warmup)
            SequentialExecutor().run(plan, pool.endpoints, scenario.policy, _QueueSink(out, node), Silent(),
                                     range(unit.repetition, unit.repetition + 1))
        shutil.rmtree(work, ignore_errors=True)
        out.put(None)
    except BaseException as exc:  # handed to the generator, which raises it in the task
        out.put(exc)


def _replay_level(job: Job, level: int, node: str, out: queue.Queue) -> None:
    """A load level as a local run replays it (pipeline/load.py), on this node's own servers."""
    from replayer.pipeline.load import run_levels

    load = job.scenario.load
    assert load is not None
    # this level alone, with as many sessions as it has in the whole run (level 1 replays as many as the largest)
    scenario = replace(job.scenario, load=replace(load, sessions=(level,), sessions_total=load.total(level)))
    work = Path(tempfile.mkdtemp(prefix="replayer-unit-"))
    facts: dict[int, dict[str, VariantFacts]] = {}
    notes: list[str] = []
    run_levels(scenario, list(job.traces), job.build, work, _QueueSink(out, node), Silent(), lambda m: None, facts,
               notes)
    out.put(NodeReport(node, HostInfo(**host_info()), facts.get(level, {}), tuple(notes), level))
    shutil.rmtree(work, ignore_errors=True)
    out.put(None)
