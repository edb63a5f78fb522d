"""The public API: run a scenario, re-render a finished run, compare two saved runs.

``run_scenario`` reads straight through the data flow (docs/architecture.md):
load -> plan -> server pool -> execute (gate loop included) -> summarize -> write.
Whatever stops a run (Ctrl-C, a failing server, bad input found late), every
finished turn is in results.jsonl and the summary says what was measured.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from replayer.compare import compare_runs
from replayer.errors import InputError, ReplayerError
from replayer.pipeline.distributed import join_cluster
from replayer.outputs.export import rewrite_exports
from replayer.pipeline.prepare import Overrides, make_run_dir, resolve, resumed_run_dir, run_info, server_build
from replayer.pipeline.run import Learned, Run, finish, replay, replay_levels, replay_units, write_json
from replayer.pipeline.tune import Race, TuneOverrides, arms_of, default_tune, race_levels
from replayer.results import ResultsWriter, TurnResult, read_results_if_any
from replayer.results.codec import to_json
from replayer.results.summary import Summary
from replayer.runner.executor import Executor, Reporter, SequentialExecutor
from replayer.runner.noise import NoiseSampler
from replayer.scenario.model import RaySpec, Scenario
from replayer.trace import load_trace


@dataclass(frozen=True)
class RunOutcome:
    run_dir: Path
    summary: Summary
    records: list[TurnResult]
    interrupted: bool = False

    @property
    def exit_code(self) -> int:
        """130 interrupted; 1 a problem (no speculation proof, failed turns); else the gate's; a tune:
        1 when no level could rank an arm, 3 when a race ran out of rounds or budget undecided."""
        if self.interrupted:
            return 130
        if self.summary.problems:
            return 1
        tune = self.summary.tune
        if tune is not None:
            if not any(lv.recommended for lv in tune.levels):
                return 1
            return 3 if any(lv.outcome in ("rounds", "budget") for lv in tune.levels) else 0
        return self.summary.gate.exit_code if self.summary.gate else 0


def run_scenario(scenario: Scenario, overrides: Overrides, reporter_factory: Callable[[int], Reporter],
                 log: Callable[[str], None] = lambda m: None,
                 prepare_progress: Callable[[str, int, int], None] | None = None,
                 executor: Executor | None = None) -> RunOutcome:
    scenario, gate = resolve(scenario, overrides)
    spec = overrides.distributed if overrides.distributed is not None else scenario.executor
    units = spec is not None or overrides.resume
    if not units and any(v.endpoints for v in scenario.variants):
        raise InputError(f"{scenario.path}: a variant with endpoints: sends each session to its own server, which "
                         "needs a run split into units: add --ray (or executor: {kind: ray})")
    if units:
        spec = spec or RaySpec(address=None)
        _check_units(scenario, overrides, spec)
        join_cluster(spec)
    traces = [load_trace(p) for p in scenario.traces]
    build, model = server_build(scenario, overrides, prepare_progress)
    run_dir = resumed_run_dir(scenario, overrides.out) if overrides.resume else make_run_dir(scenario, overrides.out)
    existing = whole_turns(run_dir / "results.jsonl", [v.name for v in scenario.variants], log) \
        if overrides.resume else []
    run = Run(scenario, traces, build, model, run_dir, run_info(scenario, overrides.synthetic_only), gate, log)
    if not overrides.resume:
        (run_dir / "scenario.yaml").write_text(scenario.path.read_text(encoding="utf-8"), encoding="utf-8")
        write_json(run_dir / "run.json", to_json(run.info))
    log(f"run directory: {run_dir}" + (f" (resumed: {len(existing)} record(s) kept)" if overrides.resume else ""))
    learned, interrupted = Learned(), False
    noise = NoiseSampler(urls=url_arms(scenario))
    try:
        with noise, ResultsWriter(run.results) as sink:
            learned.cpu = noise.samples  # the same list: an interrupted run keeps what was sampled
            learned.own_servers = noise.own_servers
            if units:
                replay_units(run, spec, sink, reporter_factory, learned, existing)
            elif scenario.load is not None:
                replay_levels(run, sink, reporter_factory, learned)
            else:
                replay(run, executor or SequentialExecutor(), overrides.synthetic_only, sink, reporter_factory,
                       learned)
    except KeyboardInterrupt:
        interrupted = True
        log("interrupted: servers stopped; every finished turn is in results.jsonl")
    finally:
        summary = finish(run, learned, interrupted)
    return RunOutcome(run_dir, summary, read_results_if_any(run.results), interrupted)


def tune_scenario(scenario: Scenario, overrides: Overrides, tune: TuneOverrides,
                  reporter_factory: Callable[[int], Reporter], log: Callable[[str], None] = lambda m: None,
                  prepare_progress: Callable[[str, int, int], None] | None = None) -> RunOutcome:
    """`replay tune`: the race of the scenario's tune: section (or its defaults), level by level."""
    if scenario.sweep is not None:
        raise InputError(f"{scenario.path}: replay tune expands its own grid (a tune: section, or n-max 1 to 6); "
                         "this scenario's sweep: is for replay run")
    scenario, _ = resolve(scenario, replace(overrides, gate={}))
    spec = tune.applied(scenario.tune or default_tune(scenario))
    arms = replace(scenario, variants=spec.plan.variants, baseline=spec.plan.baseline, sweep=None, load=None,
                   gate=None, synthetic=None, tune=spec)
    traces = [load_trace(p) for p in scenario.traces]
    build, model = server_build(arms, overrides, prepare_progress)
    run_dir = make_run_dir(scenario, overrides.out)
    run = Run(arms, traces, build, model, run_dir, run_info(scenario, False), None, log)
    (run_dir / "scenario.yaml").write_text(scenario.path.read_text(encoding="utf-8"), encoding="utf-8")
    write_json(run_dir / "run.json", to_json(run.info))
    log(f"run directory: {run_dir}")
    turns = {t.name: t.n_turns if scenario.policy.turns is None else min(scenario.policy.turns, t.n_turns)
             for t in traces}
    race = Race(spec, arms_of(spec, arms), arms.baseline, turns)
    learned, interrupted = Learned(race=race), False
    noise = NoiseSampler(urls=url_arms(arms))
    try:
        with noise, ResultsWriter(run.results) as sink:
            learned.cpu = noise.samples
            learned.own_servers = noise.own_servers
            race_levels(arms, traces, build, run_dir, race, sink, reporter_factory(0), log, learned.notes)
    except KeyboardInterrupt:
        interrupted = True
        for level in spec.sessions:  # a level whose servers never started was not raced at all
            race.stops.setdefault(level, "interrupted" if level in race.facts else "skipped")
        log("interrupted: servers stopped; every finished turn is in results.jsonl, what was decided is in the summary")
    finally:
        learned.level_facts = dict(race.facts)
        learned.facts = dict(next(iter(race.facts.values()))) if race.facts else {}
        summary = finish(run, learned, interrupted)
    return RunOutcome(run_dir, summary, read_results_if_any(run.results), interrupted)


def url_arms(scenario: Scenario) -> list[tuple[str, str]]:
    """(arm, url) of every server this run does not start: the noise guard looks for them here."""
    return [(v.name, u) for v in scenario.variants for u in ((v.url,) if v.url else v.endpoints)]


def whole_turns(path: Path, arms: list[str], log: Callable[[str], None]) -> list[TurnResult]:
    """A resumed run's records, without those of a turn that not every arm finished: that turn
    runs again whole, so that its pair shares one server start (results.jsonl rewritten)."""
    records = read_results_if_any(path)
    arms_of: dict[tuple, set[str]] = {}
    for r in records:
        arms_of.setdefault(r.key, set()).add(r.variant)
    kept = [r for r in records if arms_of[r.key] >= set(arms)]
    if len(kept) < len(records):
        tmp = path.with_suffix(".jsonl.tmp")
        tmp.unlink(missing_ok=True)
        with ResultsWriter(tmp) as writer:
            for r in kept:
                writer.write(r)
        tmp.replace(path)
        log(f"resuming: {len(records) - len(kept)} record(s) of half-finished turns dropped; those turns run again")
    return kept


def _check_units(scenario: Scenario, overrides: Overrides, spec: RaySpec) -> None:
    """What a run split into units cannot do yet (docs/distributed.md)."""
    flag = "--ray" if spec.address is not None else "--resume"
    if scenario.synthetic is not None or overrides.synthetic or overrides.synthetic_only:
        raise InputError(f"{flag}: the synthetic calibration runs on one pair of servers; run it without {flag}")
    if scenario.load is not None and scenario.load.search:
        raise InputError(f"{flag}: load.sessions: auto searches one level after another on one machine; list the "
                         "levels (load.sessions: [1, 2, 4]) to replay them as units")
    if scenario.load is not None and any(v.endpoints for v in scenario.variants):
        raise InputError(f"{flag}: a load level runs on servers of its own; endpoints: arms are not for load runs")


def report_run(run_dir: Path) -> tuple[Summary, list[TurnResult]]:
    """`replay report`: read a finished run and write its exports again."""
    return rewrite_exports(run_dir)


__all__ = ["Overrides", "RunOutcome", "TuneOverrides", "run_scenario", "tune_scenario", "report_run", "compare_runs",
           "ReplayerError"]
