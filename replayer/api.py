"""The public API: run a scenario, re-render a finished run, compare two saved runs.

``run_scenario`` reads straight through the data flow (docs/architecture.md):
load -> plan -> server pool -> execute (gate loop included) -> summarize -> write.
Whatever stops a run (Ctrl-C, a failing server, bad input found late), every
finished turn is in results.jsonl and the summary says what was measured.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from replayer.compare import compare_runs
from replayer.errors import ReplayerError
from replayer.outputs.export import rewrite_exports
from replayer.pipeline.prepare import Overrides, make_run_dir, resolve, run_info, server_build
from replayer.pipeline.run import Learned, Run, finish, replay, replay_levels, write_json
from replayer.results import ResultsWriter, TurnResult, read_results_if_any
from replayer.results.codec import to_json
from replayer.results.summary import Summary
from replayer.runner.executor import Executor, Reporter, SequentialExecutor
from replayer.runner.noise import NoiseSampler
from replayer.scenario.model import Scenario
from replayer.trace import load_trace


@dataclass(frozen=True)
class RunOutcome:
    run_dir: Path
    summary: Summary
    records: list[TurnResult]
    interrupted: bool = False

    @property
    def exit_code(self) -> int:
        """130 interrupted; 1 a problem (no speculation proof, failed turns); else the gate's."""
        if self.interrupted:
            return 130
        if self.summary.problems:
            return 1
        return self.summary.gate.exit_code if self.summary.gate else 0


def run_scenario(scenario: Scenario, overrides: Overrides, reporter_factory: Callable[[int], Reporter],
                 log: Callable[[str], None] = lambda m: None,
                 prepare_progress: Callable[[str, int, int], None] | None = None,
                 executor: Executor | None = None) -> RunOutcome:
    scenario, gate = resolve(scenario, overrides)
    traces = [load_trace(p) for p in scenario.traces]
    build, model = server_build(scenario, overrides, prepare_progress)
    run_dir = make_run_dir(scenario, overrides.out)
    run = Run(scenario, traces, build, model, run_dir, run_info(scenario, overrides.synthetic_only), gate, log)
    (run_dir / "scenario.yaml").write_text(scenario.path.read_text(encoding="utf-8"), encoding="utf-8")
    write_json(run_dir / "run.json", to_json(run.info))
    log(f"run directory: {run_dir}")
    learned, interrupted = Learned(), False
    noise = NoiseSampler()
    try:
        with noise, ResultsWriter(run.results) as sink:
            learned.cpu = noise.samples  # the same list: an interrupted run keeps what was sampled
            if scenario.load is not None:
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


def report_run(run_dir: Path) -> tuple[Summary, list[TurnResult]]:
    """`replay report`: read a finished run and write its exports again."""
    return rewrite_exports(run_dir)


__all__ = ["Overrides", "RunOutcome", "run_scenario", "report_run", "compare_runs", "ReplayerError"]
