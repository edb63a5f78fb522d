"""tuned-gate.yaml: `replay tune`'s recommendation locked into a regression gate for CI.

The current flags (the scenario's baseline) are the gate's baseline and the recommended flags
its candidate, so a later build or flag change that makes the recommendation slower than the
current setting fails CI. When the recommendation *is* the current setting, the best other arm
stands in as the baseline: the gate then fails when that alternative overtakes the choice,
which is the moment to tune again.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import yaml

from replayer.atomic import write_atomically
from replayer.models import registry
from replayer.results.summary import RunModel, TuneLevel, TuneSection
from replayer.scenario.model import Scenario
from replayer.trace import Trace


def write_tuned_gate(path: Path, scenario: Scenario, traces: Sequence[Trace], model: RunModel | None,
                     tune: TuneSection) -> Path | None:
    """Write the gate for the first level that recommended something (None: nothing to lock in)."""
    level = next((lv for lv in tune.levels if lv.recommended), None)
    if level is None:
        return None
    text = gate_text(path.parent, scenario, traces, model, tune, level)
    if not text:
        return None
    return write_atomically(path, text)


def gate_text(where: Path, scenario: Scenario, traces: Sequence[Trace], model: RunModel | None, tune: TuneSection,
              level: TuneLevel) -> str:
    chosen = next(a for a in level.arms if a.variant == level.recommended)
    current = next(a for a in level.arms if a.variant == tune.baseline)
    why = "the current flags (the scenario's baseline)"
    if chosen.variant == current.variant:
        ranked = [a for a in level.arms if a.variant != chosen.variant and a.estimate is not None]
        if not ranked:
            return ""
        current = min(ranked, key=lambda a: a.estimate or float("inf"))
        why = f"the best other arm, {current.variant} (the recommendation is the current setting)"
    doc: dict[str, Any] = {
        "version": 1, "name": f"{scenario.name}-tuned-gate",
        "description": f"replay tune's recommendation at {level.sessions} session(s) against {why}.",
        "traces": [os.path.relpath(t.path.resolve(), where.resolve()) for t in traces],
        "server": {"model": _model(scenario, model), "args": list(scenario.server.common_args)},
        "variants": {"current": {"args": list(current.args)}, "tuned": {"args": list(chosen.args)}},
        "baseline": "current",
        "replay": _replay(scenario),
        "gate": {"max_slowdown": 0.03, "divergence": "fail-confident"},
    }
    if level.sessions > 1:
        doc["load"] = {"sessions": [level.sessions]}
    head = (f"# Written by replay tune ({level.message}).\n"
            f"# Baseline: {why}; candidate: the recommendation. In CI: replay run tuned-gate.yaml\n"
            "# (exit 1 when the tuned flags are slower than the baseline by more than 3 %, 3 when unsure).\n")
    return head + yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=100)


def _model(scenario: Scenario, model: RunModel | None) -> str:
    if model is None:
        return scenario.server.model
    return model.name if registry.is_named(model.name) else model.path


def _replay(scenario: Scenario) -> dict[str, Any]:
    p = scenario.policy
    out: dict[str, Any] = {"generation": p.generation.value, "cache": p.cache.value, "warmup": p.warmup,
                           "repetitions": max(p.repetitions, 3)}
    if p.turns is not None:
        out["turns"] = p.turns
    return out
