"""Executing the session through an executor, with the gate's extra repetitions while its
verdict is inconclusive (the synthetic calibration: pipeline/calibration.py)."""

from __future__ import annotations

from typing import Callable, Mapping

from replayer.results.summary import Summary
from replayer.runner.endpoint import Endpoint
from replayer.runner.executor import Executor, RecordSink, Reporter
from replayer.runner.plan import ReplayPlan
from replayer.scenario.model import GateSpec, Scenario


def execute_session(executor: Executor, plan: ReplayPlan, endpoints: Mapping[str, Endpoint], scenario: Scenario,
                    sink: RecordSink, reporter: Reporter, gate: GateSpec | None,
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


def n_vocab(models: list | None) -> int:
    """The model's vocabulary size from /v1/models (synthetic text must stay inside it)."""
    meta = ((models or [{}])[0] or {}).get("meta") or {}
    return int(meta.get("n_vocab") or 32000)
