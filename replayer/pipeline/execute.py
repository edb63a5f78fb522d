"""Executing a run's replays through an executor: the session (with the gate's extra
repetitions while its verdict is inconclusive) and the synthetic calibration."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable, Mapping

from replayer.results import ResultsWriter
from replayer.results.summary import Summary
from replayer.runner.endpoint import Endpoint
from replayer.runner.executor import Executor, Reporter
from replayer.runner.plan import ReplayPlan, plan_turns
from replayer.scenario.model import CachePolicy, GateSpec, Generation, Scenario
from replayer.tokens import estimate_tokens
from replayer.trace import Trace


def execute_session(executor: Executor, plan: ReplayPlan, endpoints: Mapping[str, Endpoint], scenario: Scenario,
                    sink: ResultsWriter, reporter: Reporter, gate: GateSpec | None,
                    interim: Callable[[], Summary]) -> bool:
    """The policy's repetitions, then one more at a time while the gate is inconclusive
    (up to its budget). False when the on_error policy stopped the replay."""
    policy = scenario.policy
    finished = executor.run(plan, endpoints, policy, sink, reporter, range(policy.repetitions))
    done = policy.repetitions
    while finished and gate is not None and done < gate.max_repetitions:
        if not any(c.gate and c.gate.verdict == "inconclusive" for c in interim().comparisons):
            break
        reporter.log(f"gate inconclusive after {done} repetition(s): adding one (budget {gate.max_repetitions})")
        reporter.add_total(plan.requests())
        finished = executor.run(plan, endpoints, policy, sink, reporter, range(done, done + 1))
        done += 1
    return finished


def run_calibration(executor: Executor, scenario: Scenario, traces: list[Trace], plan: ReplayPlan,
                    endpoints: Mapping[str, Endpoint], n_vocab: int, run_dir: Path, reporter: Reporter) -> None:
    """The calibration workloads, on the same servers right after the session (synthetic.jsonl)."""
    from replayer.sources.synth import ServerTokenizer, build_workloads, write_workloads

    spec = scenario.synthetic
    assert spec is not None
    base = endpoints[scenario.baseline]
    lengths: dict[str, list[int]] = {}
    for item in plan.turns:
        lengths.setdefault(item.trace.name, []).append(item.max_tokens)
    tok = ServerTokenizer(base.tokenize, base.detokenize, n_vocab)
    workloads = build_workloads(spec, [t for t in traces if t.name in lengths], lengths, tok)
    synth_traces = write_workloads(workloads, run_dir / "synthetic")
    policy = replace(scenario.policy, turns=None, repetitions=spec.repetitions, cache=CachePolicy.REUSE,
                     generation=Generation.RECORDED)
    synth_plan = replace(plan, turns=tuple(plan_turns(synth_traces, policy, base.tokenize, estimate_tokens)))
    reporter.add_total(synth_plan.requests() * spec.repetitions)
    reporter.log(f"synthetic calibration: {len(synth_traces)} workloads, {len(synth_plan.turns)} turns per arm")
    with ResultsWriter(run_dir / "synthetic.jsonl") as writer:
        executor.run(synth_plan, endpoints, policy, writer, reporter, range(spec.repetitions))


def n_vocab(models: list | None) -> int:
    """The model's vocabulary size from /v1/models (synthetic text must stay inside it)."""
    meta = ((models or [{}])[0] or {}).get("meta") or {}
    return int(meta.get("n_vocab") or 32000)
