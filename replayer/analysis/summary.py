"""The one builder of the summary document: ``summarize(records, meta) -> Summary``.

Conventions: times in seconds at this level; a variant's session figures are
the mean over repetitions of per-repetition sums; rates follow llama-server
(decode tok/s counts ``predicted_n - 1`` steps per turn, the first token being
part of prefill); ratios are candidate / baseline times (below 1 = faster) and
``speedup`` is their inverse. Every section (gate, sweep, synthetic, GPU,
speculation proof) comes from a pure function; nothing amends the result.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping, Sequence

from replayer.analysis.by_kind import turn_kinds_section
from replayer.analysis.comparison import compare_variants
from replayer.analysis.divergence import NEAR_TIE_NATS
from replayer.analysis.figures import TraceMeta, variant_figures
from replayer.analysis.gate import judge
from replayer.analysis.speculation import spec_problems, undrafted_note, undrafted_turns
from replayer.analysis.switch import switch_estimate
from replayer.analysis.telemetry import Sample, gpu_section
from replayer.results.record import TurnResult
from replayer.scenario.model import GateSpec
from replayer.results.summary import (BenchDepth, ComparedRuns, Comparison, NoiseSection, RunModel, RunInfo, Summary,
                                      TraceProvenance, TraceRef, VariantFacts, VariantSummary)


@dataclass(frozen=True)
class SyntheticInput:
    records: tuple[TurnResult, ...]  # synthetic.jsonl
    labels: dict[str, Any]  # synthetic/labels.json
    complete: bool  # False: the calibration was interrupted, so no fit is made


@dataclass(frozen=True)
class RunMeta:
    """Everything ``summarize`` needs besides the records."""

    scenario: str
    baseline: str
    variants: tuple[VariantFacts, ...]
    traces: tuple[TraceMeta, ...]
    run: RunInfo | None = None
    model: RunModel | None = None
    provenance: tuple[TraceProvenance, ...] = ()
    gate: GateSpec | None = None
    sweep: Any = None  # scenario.sweep.SweepPlan
    synthetic: SyntheticInput | None = None
    gpu_samples: tuple[Sample, ...] = ()
    gpu_note: str | None = None  # why the GPU was not measured; None: no GPU section (compare)
    detokenize: Callable[[list[int]], str | None] | None = None  # a live server, for divergence windows
    prove_speculation: bool = True  # False for an interrupted run: a partial run proves nothing
    compared_runs: ComparedRuns | None = None
    notes: tuple[str, ...] = ()
    load: Any = None  # analysis.load.LoadInput: a run with concurrent sessions
    noise: NoiseSection | None = None  # other work on the machine while the run measured
    probes: Any = None  # {(trace, turn, position): analysis.divergence.Probe}: the baseline asked at divergences; None: not asked
    kinds: Mapping[tuple[str, int], str] | None = None  # (trace, turn) -> what its recorded response generates
    tune: Any = None  # analysis.tune.TuneInput: a replay tune run


def summarize(records: Sequence[TurnResult], meta: RunMeta) -> Summary:
    by_variant: dict[str, list[TurnResult]] = {f.name: [] for f in meta.variants}
    for r in records:
        by_variant.setdefault(r.variant, []).append(r)
    gaps = {(t.name, k): g for t in meta.traces for k, g in enumerate(t.gaps_s)}
    facts = {f.name: f for f in meta.variants}
    variants = {name: _variant(by_variant[name], gaps, facts.get(name)) for name in by_variant}
    comparisons = [compare_variants(meta.baseline, name, by_variant, lambda v, rs: _variant(rs, gaps, facts.get(v)),
                                    _equality(facts, meta.baseline, name), aa=bool(variants[name].aa_of),
                                    exclude_cache_mismatch=meta.gate is None or meta.gate.cache_mismatch == "exclude",
                                    probes=meta.probes,
                                    near_tie_nats=meta.gate.near_tie_nats if meta.gate else NEAR_TIE_NATS)
                   for name in variants if name != meta.baseline]
    comparisons = [_decoded(c, meta.detokenize) for c in comparisons]
    turn_kinds = None
    if meta.kinds and meta.load is None:  # a load run's turns are judged per level, not per kind
        turn_kinds = turn_kinds_section(by_variant, meta.baseline, meta.kinds)
        comparisons = [replace(c, switch=switch_estimate(c.baseline, c.candidate, by_variant[c.baseline],
                                                         by_variant[c.candidate], meta.kinds))
                       for c in comparisons]
    notes = list(meta.notes)
    synthetic_bench: dict[str, dict[str, BenchDepth]] = {}
    if meta.synthetic is not None:
        from replayer.analysis.session_model import synthetic_sections

        comparisons, synthetic_bench, synth_notes = synthetic_sections(comparisons, records, meta.synthetic)
        notes += synth_notes
    gpu, gpu_figures = gpu_section(meta.gpu_samples, records, meta.gpu_note)
    variants = {name: replace(v, synthetic_bench=synthetic_bench.get(name), gpu=gpu_figures.get(name))
                for name, v in variants.items()}
    gate = None
    if meta.gate is not None:
        reps = max((r.repetition for r in records), default=-1) + 1
        noisy = meta.noise.message if meta.noise is not None and meta.noise.busy else None
        comparisons, gate = judge(comparisons, variants, meta.gate, reps, {n: f.temperature for n, f in facts.items()},
                                  noisy)
    sweep = None
    if meta.sweep is not None:
        from replayer.analysis.sweep import sweep_section

        sweep = sweep_section(meta.baseline, variants, comparisons, meta.sweep)
    problems = spec_problems(variants, _speculation_records(records, meta)) if meta.prove_speculation else ()
    load = None
    if meta.load is not None:
        from replayer.analysis.load import load_section

        load, load_problems = load_section(records, meta.baseline, meta.load, {n: f.temperature for n, f in facts.items()})
        problems = (*problems, *load_problems) if meta.prove_speculation else problems
    notes += [f"{c.candidate} vs {c.baseline}: {n}" for c in comparisons for n in c.notes]
    notes += [undrafted_note(name, v.undrafted_turns) for name, v in variants.items() if v.undrafted_turns]
    if meta.noise is not None and meta.noise.own_note:
        notes.insert(0, meta.noise.own_note)
    if meta.noise is not None and meta.noise.message:
        notes.insert(0, meta.noise.message)
    tune = None
    if meta.tune is not None:
        from replayer.analysis.tune import tune_section

        tune = tune_section(records, meta.tune)
    return Summary(
        scenario=meta.scenario, baseline=meta.baseline,
        traces=tuple(TraceRef(t.name, t.sha256, t.turns) for t in meta.traces),
        variants=variants, comparisons=tuple(comparisons), run=meta.run, model=meta.model,
        trace_provenance=meta.provenance, gate=gate, sweep=sweep, gpu=gpu, problems=tuple(problems),
        notes=tuple(notes), compared_runs=meta.compared_runs, load=load, noise=meta.noise, turn_kinds=turn_kinds,
        tune=tune,
    )


def _variant(records: list[TurnResult], gaps: dict[tuple[str, int], float | None],
             facts: VariantFacts | None) -> VariantSummary:
    figs = variant_figures(records, gaps)
    slots = facts.slots_speculative if facts else None
    return VariantSummary(
        **figs, spec_live=bool(slots) and figs["draft_tokens"] > 0, slots_speculative=slots,
        undrafted_turns=undrafted_turns(records) if facts and facts.expect_speculation else (),
        expect_speculation=facts.expect_speculation if facts else None,
        server=facts.server if facts else None, aa_of=facts.aa_of if facts else None,
    )


def _equality(facts: dict[str, VariantFacts], baseline: str, candidate: str) -> bool:
    """Token equality is a correctness check only when both arms sample greedily."""
    return all(facts[n].temperature == 0 for n in (baseline, candidate) if n in facts)


def _decoded(comp: Comparison, detokenize: Callable[[list[int]], str | None] | None) -> Comparison:
    d = comp.first_divergence
    if d is None or detokenize is None:
        return comp
    text = replace(d, baseline_text=tuple(detokenize([t]) for t in d.baseline_tokens),
                   candidate_text=tuple(detokenize([t]) for t in d.candidate_tokens))
    return replace(comp, first_divergence=text)


def _speculation_records(records: Sequence[TurnResult], meta: RunMeta) -> Sequence[TurnResult]:
    """`replay synth` replays no session turn: the speculation proof runs on the calibration.
    Otherwise on the session records themselves: the variants' figures are per-repetition means,
    rounded, so a stray draft or a lone completed turn could round to 0."""
    if meta.run is not None and meta.run.synthetic_only and meta.synthetic is not None:
        return meta.synthetic.records
    return records
