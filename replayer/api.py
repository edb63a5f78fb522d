"""The public API: run a scenario, re-render a finished run, compare two saved runs.

``run_scenario`` reads straight through the data flow (docs/architecture.md):
load -> plan -> server pool -> execute (gate loop included) -> summarize -> write.
Whatever stops a run (Ctrl-C, a failing server, bad input found late), every
finished turn is in results.jsonl and the summary says what was measured.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from replayer.analysis.summary import summarize
from replayer.compare import compare_runs
from replayer.errors import ReplayerError
from replayer.outputs.export import rewrite_exports, write_exports
from replayer.pipeline.execute import execute_session, n_vocab, run_calibration
from replayer.pipeline.meta import frozen_detokenizer, gpu_samples_file, run_meta, synthetic_input
from replayer.pipeline.prepare import Overrides, finished, make_run_dir, resolve, run_info, server_build
from replayer.results import ResultsWriter, TurnResult, read_results_if_any
from replayer.results.codec import to_json
from replayer.results.summary import Summary, write_summary
from replayer.runner.executor import Executor, Reporter, SequentialExecutor, warm_up
from replayer.runner.plan import ReplayPlan, plan_turns
from replayer.runner.pool import ServerPool
from replayer.runner.telemetry import open_sampler
from replayer.scenario.model import Scenario
from replayer.tokens import estimate_tokens
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
    executor = executor or SequentialExecutor()
    scenario, gate = resolve(scenario, overrides)
    traces = [load_trace(p) for p in scenario.traces]
    build, model = server_build(scenario, overrides, prepare_progress)
    run_dir = make_run_dir(scenario, overrides.out)
    info = run_info(scenario, overrides.synthetic_only)
    (run_dir / "scenario.yaml").write_text(scenario.path.read_text(encoding="utf-8"), encoding="utf-8")
    _write_json(run_dir / "run.json", to_json(info))
    log(f"run directory: {run_dir}")
    results = run_dir / "results.jsonl"
    interrupted, samples, later = False, [], {}
    pool = ServerPool(scenario, build, run_dir, log)
    try:
        with pool, ResultsWriter(results) as sink:
            _write_json(run_dir / "servers.json", pool.server_blocks())
            base = pool.endpoints[scenario.baseline]
            plan = ReplayPlan(tuple(plan_turns(traces, scenario.policy, base.tokenize, estimate_tokens)),
                              tuple(pool.endpoints), _sampling(scenario))
            warm_up(pool.endpoints, scenario.policy, scenario.policy.warmup)
            sampler, gpu_note = open_sampler()
            later["gpu_note"] = gpu_note
            reporter = reporter_factory(0 if overrides.synthetic_only else plan.requests() * scenario.policy.repetitions)
            def interim() -> Summary:  # the gate's view of the repetitions so far
                return summarize(read_results_if_any(results), run_meta(scenario, traces, pool.facts, info, model, gate))

            try:
                done = overrides.synthetic_only or execute_session(executor, plan, pool.endpoints, scenario, sink,
                                                                   reporter, gate, interim)
                if done and scenario.synthetic:
                    run_calibration(executor, scenario, traces, plan, pool.endpoints,
                                    n_vocab(pool.facts[scenario.baseline].server.models), run_dir, reporter)
            finally:
                samples = sampler.stop() if sampler else []
            later["facts"] = pool.final_facts()
            later["detokenize"] = frozen_detokenizer(read_results_if_any(results), scenario.baseline,
                                                     pool.detokenizer())
    except KeyboardInterrupt:
        interrupted = True
        log("interrupted: servers stopped; every finished turn is in results.jsonl")
    finally:
        summary = _finish(run_dir, scenario, traces, pool, info, model, gate, samples, later, interrupted)
    return RunOutcome(run_dir, summary, read_results_if_any(results), interrupted)


def _finish(run_dir, scenario, traces, pool, info, model, gate, samples, later, interrupted) -> Summary:
    """The summary of whatever was measured, and every export; runs even when the run failed."""
    records = read_results_if_any(run_dir / "results.jsonl")
    gpu_samples_file(run_dir, samples)
    meta = run_meta(scenario, traces, later.get("facts", pool.facts), finished(info, interrupted), model,
                    None if interrupted else gate, synthetic=synthetic_input(run_dir, complete=not interrupted),
                    gpu_samples=tuple(samples), gpu_note=later.get("gpu_note"), detokenize=later.get("detokenize"),
                    prove_speculation=not interrupted and bool(pool.facts))
    summary = summarize(records, meta)
    write_summary(run_dir / "summary.json", summary)
    write_exports(run_dir, summary, records)
    return summary


def _sampling(scenario: Scenario) -> dict[str, dict]:
    plan = scenario.sweep
    return {v.name: plan.sampling_override(v.name) for v in scenario.variants} if plan else {}


def report_run(run_dir: Path) -> tuple[Summary, list[TurnResult]]:
    """`replay report`: read a finished run and write its exports again."""
    return rewrite_exports(run_dir)


def _write_json(path: Path, data: object) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    tmp.replace(path)


__all__ = ["Overrides", "RunOutcome", "run_scenario", "report_run", "compare_runs", "ReplayerError"]
