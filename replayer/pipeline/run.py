"""One run from its servers' start to its summary: what the run is (``Run``), what it
learned while running (``Learned``, kept however it stops), the two ways of replaying
(one pair of servers, or a pair per concurrency level) and the summary with its exports."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from replayer.atomic import write_atomically
from replayer.analysis.load import LoadInput
from replayer.analysis.divergence import Probe
from replayer.analysis.noise import CpuSample, noise_section
from replayer.analysis.summary import RunMeta, summarize
from replayer.analysis.telemetry import Sample
from replayer.outputs.export import write_exports
from replayer.pipeline.calibration import Interleaved, PairedSink, calibration_plan, interleaves, run_after
from replayer.pipeline.execute import execute_session, n_vocab
from replayer.pipeline.load import level_one_facts, requests as load_requests, run_levels
from replayer.pipeline.meta import frozen_detokenizer, gpu_samples_file, run_meta, synthetic_input
from replayer.pipeline.preflight import check_plan
from replayer.pipeline.prepare import finished
from replayer.results import ResultsWriter, read_results_if_any
from replayer.results.codec import to_json
from replayer.results.summary import OwnServer, RunInfo, RunModel, Summary, VariantFacts, write_summary
from replayer.runner.executor import Executor, Reporter, warm_up
from replayer.runner.plan import ReplayPlan, plan_turns
from replayer.runner.pool import ServerBuild, ServerPool
from replayer.runner.probe import probe_divergences, write_probes
from replayer.runner.telemetry import open_sampler
from replayer.scenario.model import GateSpec, RaySpec, Scenario
from replayer.tokens import estimate_tokens
from replayer.trace import Trace



GATE_FILE = "tuned-gate.yaml"  # replay tune's recommendation as a gate scenario, beside the summary


@dataclass(frozen=True)
class Run:
    """What a run is, decided before any server starts."""

    scenario: Scenario
    traces: list[Trace]
    build: ServerBuild | None
    model: RunModel | None
    run_dir: Path
    info: RunInfo
    gate: GateSpec | None
    log: Callable[[str], None]

    @property
    def results(self) -> Path:
        return self.run_dir / "results.jsonl"

    def meta(self, facts: dict[str, VariantFacts], **later: Any) -> RunMeta:
        return run_meta(self.scenario, self.traces, facts, self.info, self.model, self.gate, **later)


@dataclass
class Learned:
    """What the run found out while running: kept, and summarized, however it stops."""

    facts: dict[str, VariantFacts] = field(default_factory=dict)
    level_facts: dict[int, dict[str, VariantFacts]] = field(default_factory=dict)
    samples: list[Sample] = field(default_factory=list)
    gpu_note: str | None = None
    detokenize: Callable[[list[int]], str | None] | None = None
    notes: list[str] = field(default_factory=list)  # for the summary: turns the preflight left out
    cpu: list[CpuSample] = field(default_factory=list)  # the noise guard's samples (runner/noise.py)
    own_servers: list[OwnServer] = field(default_factory=list)  # url arms' servers it counted as the run's
    probes: dict[tuple[str, int, int], Probe] | None = None  # the baseline asked at each divergence; None: not asked
    race: Any = None  # pipeline.tune.Race: a replay tune run's arms, levels and why each race stopped


def replay(run: Run, executor: Executor, synthetic_only: bool, sink: ResultsWriter,
            reporter_factory: Callable[[int], Reporter], learned: Learned) -> None:
    """One pair of servers for the whole run: the session (and the gate's repetitions) and the
    calibration, beside it on twin servers or after it (pipeline/calibration.py)."""
    scenario = run.scenario
    pool = ServerPool(scenario, run.build, run.run_dir, run.log, twins=interleaves(scenario, synthetic_only))
    learned.facts = pool.facts  # filled as servers come up: a failed start still reports the ones that did
    with pool:
        write_json(run.run_dir / "servers.json", pool.server_blocks())
        base = pool.endpoints[scenario.baseline]
        plan = ReplayPlan(tuple(plan_turns(run.traces, scenario.policy, base.tokenize, estimate_tokens)),
                          tuple(pool.endpoints), _sampling(scenario))
        plan, learned.notes = check_plan(plan, pool.facts, base.count_chat_tokens, scenario.policy)  # before any request
        warm_up({**pool.endpoints, **{f"{n}-calibration": ep for n, ep in pool.twins.items()}}, scenario.policy,
                scenario.policy.warmup)
        sampler, learned.gpu_note = open_sampler()
        reporter = reporter_factory(0 if synthetic_only else plan.requests() * scenario.policy.repetitions)

        def interim() -> Summary:  # the gate's view of the repetitions so far
            return summarize(read_results_if_any(run.results), run.meta(pool.facts))

        try:
            _measure(run, executor, plan, pool, sink, reporter, interim, synthetic_only)
        finally:
            learned.samples = sampler.stop() if sampler else []
        learned.probes = _probe(run, pool, plan)
        learned.facts = pool.final_facts()
        learned.detokenize = frozen_detokenizer(read_results_if_any(run.results), scenario.baseline,
                                                pool.detokenizer())


def _measure(run: Run, executor: Executor, plan: ReplayPlan, pool: ServerPool, sink: ResultsWriter,
             reporter: Reporter, interim: Callable[[], Summary], synthetic_only: bool) -> None:
    """The session and the synthetic calibration: interleaved on twin servers, or one after the other."""
    scenario = run.scenario
    cal = calibration_plan(scenario, run.traces, plan, pool.endpoints[scenario.baseline],
                           n_vocab(pool.facts[scenario.baseline].server.models), run.run_dir) \
        if scenario.synthetic else None
    if cal is not None and pool.twins:
        with ResultsWriter(run.run_dir / "synthetic.jsonl") as writer:
            paired = Interleaved(cal, pool.twins, writer, reporter)
            execute_session(executor, plan, pool.endpoints, scenario, PairedSink(sink, paired), reporter, run.gate,
                            interim)
            paired.finish()
        return
    done = synthetic_only or execute_session(executor, plan, pool.endpoints, scenario, sink, reporter, run.gate,
                                             interim)
    if done and cal is not None:
        run_after(executor, cal, pool.endpoints, run.run_dir, reporter)


def replay_levels(run: Run, sink: ResultsWriter, reporter_factory: Callable[[int], Reporter],
                   learned: Learned) -> None:
    """A load run: one pair of servers per concurrency level (pipeline/load.py)."""
    turns = max((t.n_turns if run.scenario.policy.turns is None else min(run.scenario.policy.turns, t.n_turns))
                for t in run.traces)
    reporter = reporter_factory(load_requests(run.scenario, turns))
    run_levels(run.scenario, run.traces, run.build, run.run_dir, sink, reporter, run.log, learned.level_facts,
               learned.notes)
    learned.facts = level_one_facts(learned.level_facts)


def finish(run: Run, learned: Learned, interrupted: bool) -> Summary:
    """The summary of whatever was measured, and every export; runs even when the run failed."""
    records = read_results_if_any(run.results)
    gpu_samples_file(run.run_dir, learned.samples)
    load = LoadInput(run.scenario.load, learned.level_facts) if run.scenario.load is not None else None
    meta = run_meta(run.scenario, run.traces, learned.facts, finished(run.info, interrupted), run.model,
                    None if interrupted else run.gate,
                    synthetic=synthetic_input(run.run_dir, complete=not interrupted),
                    gpu_samples=tuple(learned.samples), gpu_note=learned.gpu_note, detokenize=learned.detokenize,
                    prove_speculation=not interrupted and bool(learned.facts), load=load, notes=tuple(learned.notes),
                    noise=noise_section(learned.cpu, usable_cores(), learned.own_servers), probes=learned.probes,
                    tune=learned.race.input(GATE_FILE) if learned.race is not None else None)
    if learned.race is not None:
        meta = replace(meta, prove_speculation=False)  # the race proves each arm itself and ranks only live ones
    summary = summarize(records, meta)
    if summary.tune is not None:
        from replayer.outputs.tuned_gate import write_tuned_gate

        write_tuned_gate(run.run_dir / GATE_FILE, run.scenario, run.traces, run.model, summary.tune)
    write_summary(run.run_dir / "summary.json", summary)
    write_exports(run.run_dir, summary, records)
    return summary


def _probe(run: Run, pool: ServerPool, plan: ReplayPlan) -> dict[tuple[str, int, int], Probe] | None:
    """After everything is measured: the baseline's top candidates where a candidate diverged
    (greedy runs only: at temperature > 0 outputs are not expected to match)."""
    scenario = run.scenario
    base = pool.endpoints[scenario.baseline]
    if float(scenario.policy.sampling.get("temperature", 0)) != 0 or not pool.alive(scenario.baseline):
        return None
    probes = probe_divergences(read_results_if_any(run.results), scenario.baseline, base, plan.turns, scenario.policy)
    write_probes(run.run_dir / "probes.json", probes)
    return probes


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _sampling(scenario: Scenario) -> dict[str, dict]:
    plan = scenario.sweep
    return {v.name: plan.sampling_override(v.name) for v in scenario.variants} if plan else {}


def write_json(path: Path, data: object) -> None:
    write_atomically(path, json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def replay_units(run: Run, spec: RaySpec, sink: ResultsWriter, reporter_factory: Callable[[int], Reporter],
                 learned: Learned, existing: list) -> None:
    """A run split into units (a trace in a repetition) on a Ray cluster, or in this process
    to resume one (pipeline/distributed.py); the gate's extra repetitions as units too."""
    from replayer.pipeline.distributed import Nodes, run_units
    from replayer.pipeline.merge import Merger
    from replayer.pipeline.units import Job, Unit

    scenario = run.scenario
    job = Job(scenario, tuple(run.traces), run.build, _sampling(scenario))
    arms = tuple(v.name for v in scenario.variants)
    turns = {t.name: t.n_turns if scenario.policy.turns is None else min(scenario.policy.turns, t.n_turns)
             for t in run.traces}
    reporter = reporter_factory(0)
    merger = Merger.resuming(sink, reporter, arms, existing)
    nodes = Nodes()

    def units(reps: range) -> list[Unit]:
        if scenario.load is not None:  # a level is written whole when it ends: one with records is done
            levels = [n for n in scenario.load.sessions if not any(k[4] == n for k in merger.written)]
            reporter.add_total(load_requests(replace(scenario, load=replace(scenario.load, sessions=tuple(levels))),
                                             max(turns.values())) if levels else 0)
            return [Unit(-1, 0, level=n) for n in levels]
        out = []
        for i, trace in enumerate(run.traces):
            for rep in reps:
                done = merger.done_turns(trace.name, rep)
                if len(done) < turns[trace.name]:
                    out.append(Unit(i, rep, done))
                    reporter.add_total((turns[trace.name] - len(done)) * len(arms))
        return out

    def interim() -> Summary:
        return summarize(read_results_if_any(run.results), run.meta(learned.facts))

    reps = max(scenario.policy.repetitions, max((r.repetition for r in existing), default=-1) + 1)
    try:
        run_units(job, units(range(reps)), spec, merger, nodes, run.log)
        learned.facts = dict(nodes.first.facts) if nodes.first else learned.facts
        while run.gate is not None and reps < run.gate.max_repetitions and learned.facts and scenario.load is None:
            if not any(c.gate and c.gate.verdict == "inconclusive" for c in interim().comparisons):
                break
            reporter.log(f"gate inconclusive after {reps} repetition(s): adding one (budget "
                         f"{run.gate.max_repetitions})")
            run_units(job, units(range(reps, reps + 1)), spec, merger, nodes, run.log)
            reps += 1
    finally:
        if nodes.first is not None:
            learned.level_facts = dict(sorted(nodes.level_facts.items()))
            learned.facts = level_one_facts(learned.level_facts) if scenario.load else dict(nodes.first.facts)
            learned.notes = [*nodes.notes(), *nodes.first.notes]
            write_json(run.run_dir / "servers.json", {n: to_json(f.server) for n, f in learned.facts.items()})
            write_json(run.run_dir / "nodes.json", {node: {"host": to_json(r.host),
                                                           "servers": {n: to_json(f.server)
                                                                       for n, f in r.facts.items()}}
                                                    for node, r in nodes.reports.items()})
