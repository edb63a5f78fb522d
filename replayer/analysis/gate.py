"""The regression gate: a verdict per comparison from its confidence interval.

    pass          the interval excludes a slowdown larger than the threshold
    regression    the interval excludes staying within the threshold
    inconclusive  neither: the data cannot tell (more repetitions may)

Never fails open: a comparison without an interval is inconclusive, not a pass.
Forbidden divergence, too little acceptance and a dead speculation arm are
failures of their own, listed beside the verdict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import Enum
from typing import Mapping, Sequence

from replayer.results.summary import Comparison, ComparisonGate, GateSection, GateSettings, VariantSummary
from replayer.scenario.model import DivergencePolicy, GateSpec


class Verdict(str, Enum):
    PASS = "pass"
    REGRESSION = "regression"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class GateResult:
    verdict: Verdict
    failures: list[str]
    message: str
    more_repetitions: int | None  # for inconclusive: a rough estimate of what would settle it
    interval: tuple[float, float] | None = None  # the interval judged (kept for the A/A check)


def interval_verdict(ci: list[float] | None, max_slowdown: float) -> Verdict:
    if not ci:
        return Verdict.INCONCLUSIVE
    limit = 1.0 + max_slowdown
    lo, hi = ci
    if hi <= limit:
        return Verdict.PASS
    if lo > limit:
        return Verdict.REGRESSION
    return Verdict.INCONCLUSIVE


def repetitions_to_settle(ratio: float | None, ci: list[float] | None, max_slowdown: float, pairs: int,
                          pairs_per_repetition: int, repetitions: int) -> int | None:
    """Interval half-width shrinks about as 1/sqrt(pairs): how many more repetitions until
    it no longer straddles the threshold. None when it cannot be estimated."""
    if ratio is None or not ci or pairs < 2 or pairs_per_repetition < 1:
        return None
    distance = abs(ratio - (1.0 + max_slowdown))
    half = (ci[1] - ci[0]) / 2
    if distance == 0 or half <= 0:
        return None
    needed_pairs = pairs * (half / distance) ** 2
    return max(1, math.ceil(needed_pairs / pairs_per_repetition) - repetitions)


def _metric(comp: Comparison, spec: GateSpec) -> tuple[float | None, list[float] | None]:
    ci = comp.ci(spec.metric)
    return comp.ratio(spec.metric), list(ci) if ci else None


def evaluate_aa(comp: Comparison, spec: GateSpec, repetitions: int) -> GateResult:
    """The A/A arm (the baseline's configuration on a second server): pass when its interval
    lies within +-max_slowdown of 1, i.e. this machine can resolve the threshold right now."""
    ratio, ci = _metric(comp, spec)
    t = spec.max_slowdown
    shown_ci = f"[{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "none"
    shown = f"A/A noise: identical arms, {spec.metric} ratio {ratio:.3f}, 95% CI {shown_ci}" if ratio is not None \
        else "A/A noise: not measured"
    if ci and ci[0] >= 1 - t and ci[1] <= 1 + t:
        return GateResult(Verdict.PASS, [], f"{shown}: within +-{100 * t:.1f}%, the threshold is resolvable", None,
                          tuple(ci))
    more = None
    if ratio is not None and ci and abs(ratio - 1) < t:
        # distance from the estimate to the nearer edge, against the half-width, as in repetitions_to_settle
        edge = 1 + t if ratio >= 1 else 1 - t
        more = repetitions_to_settle(ratio, ci, edge - 1, comp.n_pairs, max(comp.n_pairs // max(repetitions, 1), 1),
                                     repetitions)
    why = ("more repetitions may narrow it" if more else
           "the identical arms differ by more than the threshold: a bias between the two servers, not just noise")
    return GateResult(Verdict.INCONCLUSIVE, [], f"{shown} is not within +-{100 * t:.1f}%: {why}", more,
                      tuple(ci) if ci else None)


def evaluate(comp: Comparison, candidate: VariantSummary, spec: GateSpec, repetitions: int,
             temperature: float, aa_noise: GateResult | None = None) -> GateResult:
    """``aa_noise``: a failed A/A check; then only verdicts that survive the A/A interval
    (the candidate's interval divided by each end of it) stand, the rest are inconclusive."""
    ratio, ci = _metric(comp, spec)
    verdict = interval_verdict(ci, spec.max_slowdown)
    aa_ci = _aa_interval(aa_noise)
    if aa_ci and ci:
        verdict = interval_verdict([ci[0] / aa_ci[1], ci[1] / aa_ci[0]], spec.max_slowdown)
    failures: list[str] = []
    failures += _divergence_failures(comp, spec, temperature)
    if spec.min_acceptance is not None and candidate.expect_speculation:
        acc = candidate.acceptance
        if acc is None or acc < spec.min_acceptance:
            shown = "none" if acc is None else f"{100 * acc:.1f}%"
            failures.append(f"acceptance {shown} below the gate's min_acceptance {100 * spec.min_acceptance:.1f}%")
    limit = f"{100 * spec.max_slowdown:.1f}%"
    shown_ci = f"[{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "none"
    shown_ratio = f"{ratio:.3f}" if ratio is not None else "n/a"
    more = None
    if verdict is Verdict.PASS:
        message = f"pass: {spec.metric} ratio {shown_ratio}, 95% CI {shown_ci} stays within +{limit}"
    elif verdict is Verdict.REGRESSION:
        message = f"regression: {spec.metric} ratio {shown_ratio}, 95% CI {shown_ci} is entirely above +{limit}"
    else:
        pairs = comp.n_pairs
        more = repetitions_to_settle(ratio, ci, spec.max_slowdown, pairs, max(pairs // max(repetitions, 1), 1),
                                     repetitions)
        hint = (f"about {more} more repetition(s) would likely settle it (--repetitions {repetitions + more})"
                if more else "the estimate sits on the threshold; more repetitions may not settle it")
        message = (f"inconclusive: {spec.metric} ratio {shown_ratio}, 95% CI {shown_ci} straddles +{limit} "
                   f"after {repetitions} repetition(s); {hint}")
    if aa_ci:
        message += f" (widened by the failed A/A check, CI [{aa_ci[0]:.3f}, {aa_ci[1]:.3f}])"
    return GateResult(verdict, failures, message + _cache_clause(comp), more)


def _cache_clause(comp: Comparison) -> str:
    n = len(comp.cache_mismatches)
    if not n:
        return ""
    if comp.cache_mismatch_excluded:
        return f"; {n} turn(s) whose cached prompt tokens differ between the arms left out (cache_mismatch: exclude)"
    return f"; {n} turn(s) whose cached prompt tokens differ between the arms included (cache_mismatch: include)"


def _divergence_failures(comp: Comparison, spec: GateSpec, temperature: float) -> list[str]:
    if temperature != 0 or not comp.diverged_turns:
        return []
    if spec.divergence is DivergencePolicy.FAIL:
        return [f"{comp.diverged_turns} turn(s) diverged from {comp.baseline} at temperature 0 (gate divergence: fail)"]
    if spec.divergence is DivergencePolicy.FAIL_CONFIDENT:
        # a divergence nobody classified counts as confident: the gate never passes on what it could not check
        confident = [d for d in comp.diverged if d.kind != "near-tie"]
        if confident:
            return [f"{len(confident)} turn(s) diverged from {comp.baseline} at temperature 0 by a confident change "
                    f"or unclassified ({comp.near_tie_turns} near-tie(s) allowed; gate divergence: fail-confident)"]
    return []


def _on_a_busy_machine(res: GateResult, noisy: str | None, allowed: bool) -> GateResult:
    """A verdict measured while other work ran is not a verdict: inconclusive, saying why."""
    if noisy is None:
        return res
    if allowed:
        return replace(res, message=f"{res.message} ({noisy}; kept with --allow-noisy)")
    if res.verdict is Verdict.INCONCLUSIVE:
        # the interval alone was already unsure; the user still needs to hear the way out
        return replace(res, message=f"{res.message}; besides, {noisy}; rerun on a quiet machine "
                                    f"or pass --allow-noisy")
    return replace(res, verdict=Verdict.INCONCLUSIVE, more_repetitions=None,
                   message=f"inconclusive: {noisy}; rerun on a quiet machine or pass --allow-noisy "
                           f"(the interval alone said: {res.message})")


def _aa_interval(aa_noise: GateResult | None) -> list[float] | None:
    return list(aa_noise.interval) if aa_noise is not None and aa_noise.interval else None


def exit_code(results: list[GateResult]) -> int:
    """0 pass, 1 regression or a gate failure, 3 inconclusive."""
    if any(r.verdict is Verdict.REGRESSION or r.failures for r in results):
        return 1
    if any(r.verdict is Verdict.INCONCLUSIVE for r in results):
        return 3
    return 0


def judge(comparisons: Sequence[Comparison], variants: Mapping[str, VariantSummary], spec: GateSpec,
          repetitions: int, temperatures: Mapping[str, float],
          noisy: str | None = None) -> tuple[list[Comparison], GateSection | None]:
    """Every comparison with its verdict, and the run's gate section (its exit code).
    ``noisy``: why the machine was too busy to trust; every verdict is then inconclusive
    unless the gate allows a noisy machine."""
    # The A/A arm is judged first: when identical servers cannot be told apart within the
    # threshold, no other verdict from this run can be trusted.
    aa_noise: GateResult | None = None
    judged: dict[str, tuple[Comparison, GateResult]] = {}
    for comp in sorted(comparisons, key=lambda c: not c.aa):
        if comp.aa:
            res = evaluate_aa(comp, spec, repetitions)
            aa_noise = res if res.verdict is not Verdict.PASS else aa_noise
        else:
            res = evaluate(comp, variants[comp.candidate], spec, repetitions,
                           temperatures.get(comp.candidate, 0.0), aa_noise)
        res = _on_a_busy_machine(res, noisy, spec.allow_noisy)
        judged[comp.candidate] = (replace(comp, gate=_gate_block(res, spec, repetitions)), res)
    results = [res for _, res in judged.values()]
    out = [judged[c.candidate][0] for c in comparisons]
    return out, GateSection(exit_code(results)) if results else None


def _gate_block(res: GateResult, spec: GateSpec, repetitions: int) -> ComparisonGate:
    settings = GateSettings(max_slowdown=spec.max_slowdown, metric=spec.metric, divergence=spec.divergence.value,
                            min_acceptance=spec.min_acceptance, max_repetitions=spec.max_repetitions,
                            cache_mismatch=spec.cache_mismatch, allow_noisy=spec.allow_noisy,
                            near_tie_nats=spec.near_tie_nats)
    return ComparisonGate(verdict=res.verdict.value, repetitions=repetitions, message=res.message,
                          failures=tuple(res.failures), more_repetitions=res.more_repetitions, settings=settings)


def spec_of(settings: GateSettings) -> GateSpec:
    """The gate a saved run used, so `compare` judges the same way by default."""
    return GateSpec(max_slowdown=settings.max_slowdown, divergence=DivergencePolicy(settings.divergence),
                    min_acceptance=settings.min_acceptance, max_repetitions=settings.max_repetitions,
                    metric=settings.metric, cache_mismatch=settings.cache_mismatch, allow_noisy=settings.allow_noisy,
                    near_tie_nats=settings.near_tie_nats)
