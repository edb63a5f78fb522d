"""What the summary builder needs besides the records, gathered from a run's parts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Sequence

from replayer.analysis.comparison import first_divergence_of
from replayer.analysis.figures import TraceMeta
from replayer.analysis.summary import RunMeta, SyntheticInput
from replayer.analysis.telemetry import Sample
from replayer.analysis.turn_kinds import classify_message
from replayer.results import TurnResult, read_results_if_any
from replayer.results.summary import RunInfo, RunModel, TraceProvenance, VariantFacts
from replayer.scenario.model import GateSpec, Scenario
from replayer.trace import Trace


def trace_metas(traces: Sequence[Trace], turns: int | None) -> tuple[TraceMeta, ...]:
    out = []
    for t in traces:
        n = t.n_turns if turns is None else min(turns, t.n_turns)
        gaps = t.recorded_gaps_s()[:n]
        if gaps:
            gaps[-1] = 0.0  # no gap after the last replayed turn
        out.append(TraceMeta(t.name, t.sha256, n, tuple(gaps)))
    return tuple(out)


def turn_kinds(traces: Sequence[Trace], turns: int | None) -> dict[tuple[str, int], str]:
    """What each replayed turn's recorded response generates (analysis/turn_kinds.py)."""
    return {(t.name, i): classify_message(t.recorded_message(i))
            for t in traces for i in range(t.n_turns if turns is None else min(turns, t.n_turns))}


def provenance(traces: Sequence[Trace]) -> tuple[TraceProvenance, ...]:
    return tuple(TraceProvenance(t.name, **{k: t.provenance.get(k) for k in ("agent", "source", "model")})
                 for t in traces)


def synthetic_input(run_dir: Path, complete: bool) -> SyntheticInput | None:
    """synthetic.jsonl and its labels, when the calibration ran."""
    labels = run_dir / "synthetic" / "labels.json"
    if not labels.is_file():
        return None
    records = tuple(read_results_if_any(run_dir / "synthetic.jsonl"))
    return SyntheticInput(records, json.loads(labels.read_text(encoding="utf-8")), complete)


def run_meta(scenario: Scenario, traces: Sequence[Trace], facts: dict[str, VariantFacts], run: RunInfo,
             model: RunModel | None, gate: GateSpec | None, **later: Any) -> RunMeta:
    """``later``: what only the end of a run knows (synthetic, gpu_samples, gpu_note,
    detokenize, prove_speculation); absent for an interim summary."""
    names = [v.name for v in scenario.variants]
    variants = tuple(facts.get(n) or VariantFacts(n, None, None, None) for n in names)
    return RunMeta(scenario=scenario.name, baseline=scenario.baseline, variants=variants,
                   traces=trace_metas(traces, scenario.policy.turns), run=run, model=model,
                   provenance=provenance(traces), gate=gate, sweep=scenario.sweep,
                   kinds=turn_kinds(traces, scenario.policy.turns), **later)


def gpu_samples_file(run_dir: Path, samples: Sequence[Sample]) -> None:
    """The raw NVML samples beside the results, when there are any."""
    if samples:
        with open(run_dir / "gpu_samples.jsonl", "w", encoding="utf-8") as fh:
            for s in samples:
                fh.write(json.dumps(s.__dict__) + "\n")



def frozen_detokenizer(records: Sequence[TurnResult], baseline: str,
                       detokenize: Callable[[list[int]], str | None] | None
                       ) -> Callable[[list[int]], str | None] | None:
    """The texts of the tokens around each first divergence, asked of a live server now,
    so the summary can show them after the servers are stopped."""
    if detokenize is None:
        return None
    by_variant: dict[str, list[TurnResult]] = {}
    for r in records:
        by_variant.setdefault(r.variant, []).append(r)
    wanted: set[int] = set()
    for name, rs in by_variant.items():
        d = first_divergence_of(by_variant.get(baseline, []), rs) if name != baseline else None
        if d is not None:
            wanted |= {*d.baseline_tokens, *d.candidate_tokens}
    texts = {t: detokenize([t]) for t in sorted(wanted)}
    return lambda ids: texts.get(ids[0]) if len(ids) == 1 else None
