"""Aggregate per-turn records into the ``replayer.summary/1`` document (see docs/results.md).

Conventions: times in seconds at this level; a variant's session figures are
the mean over repetitions of per-repetition sums; rates follow llama-server
(decode tok/s counts ``predicted_n - 1`` steps per turn, the first token being
part of prefill); ratios are candidate / baseline times (below 1 = faster) and
``speedup`` is their inverse.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from statistics import mean
from typing import Any, Iterable

from replayer.analysis.equality import Divergence, first_divergence
from replayer.analysis.metrics import acceptance_by_position
from replayer.analysis.stats import session_ratio

SUMMARY_SCHEMA = "replayer.summary/1"


@dataclass(frozen=True)
class TraceMeta:
    name: str
    sha256: str
    turns: int
    gaps_s: tuple[float | None, ...]


def _ok(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if not r.get("error")]


def variant_figures(records: list[dict[str, Any]], gaps: dict[tuple[str, int], float | None]) -> dict[str, Any]:
    """Session figures for one variant, from its (non-warm-up) records.

    ``gaps`` maps (trace, turn) to the recorded idle time after that turn; only the
    turns this variant actually replayed count towards the projected session.
    """
    by_rep: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        by_rep[r["repetition"]].append(r)
    reps = sorted(by_rep)

    def per_rep(fn) -> list[float]:
        return [fn(_ok(by_rep[k])) for k in reps]

    def total(key: str):
        return lambda rs: sum(float(r.get(key) or 0) for r in rs)

    wall = per_rep(lambda rs: total("wall_ms")(rs) / 1e3)
    prefill = per_rep(lambda rs: total("prompt_ms")(rs) / 1e3)
    decode = per_rep(lambda rs: total("predicted_ms")(rs) / 1e3)
    overhead = per_rep(lambda rs: total("client_overhead_ms")(rs) / 1e3)
    # replayer's own share: building the request, parsing and recording the response
    harness = per_rep(lambda rs: sum(float(r.get("harness_ms") or 0) + float(r.get("wall_ms") or 0)
                                     - float(r.get("http_ms") or r.get("wall_ms") or 0) for r in rs) / 1e3)
    ok = _ok(records)
    n_reps = max(len(reps), 1)
    processed = sum(int(r.get("prompt_n") or 0) for r in ok)
    decode_steps = sum(max(int(r.get("predicted_n") or 0) - 1, 0) for r in ok)
    draft = sum(int(r.get("draft_n") or 0) for r in ok)
    accepted = sum(int(r.get("draft_n_accepted") or 0) for r in ok)
    prefill_sum = sum(float(r.get("prompt_ms") or 0) for r in ok) / 1e3
    decode_sum = sum(float(r.get("predicted_ms") or 0) for r in ok) / 1e3
    wall_s = mean(wall) if wall else 0.0
    replayed = {(r["trace"], r["turn"]) for r in records}
    gap_values = [gaps.get(key) for key in replayed]
    gaps_total_s = sum(g for g in gap_values if g is not None) if all(g is not None for g in gap_values) else None
    return {
        "wall_s": wall_s,
        "prefill_s": mean(prefill) if prefill else 0.0,
        "decode_s": mean(decode) if decode else 0.0,
        "client_overhead_s": mean(overhead) if overhead else 0.0,
        "harness_overhead_s": mean(harness) if harness else 0.0,
        "prompt_tokens": round(sum(int(r.get("prompt_tokens") or 0) for r in ok) / n_reps),
        "cached_tokens": round(sum(int(r.get("cache_n") or 0) for r in ok) / n_reps),
        "processed_prompt_tokens": round(processed / n_reps),
        "generated_tokens": round(sum(int(r.get("predicted_n") or 0) for r in ok) / n_reps),
        "prefill_tok_s": processed / prefill_sum if prefill_sum > 0 else None,
        "decode_tok_s": decode_steps / decode_sum if decode_sum > 0 else None,
        "draft_tokens": round(draft / n_reps),
        "accepted_tokens": round(accepted / n_reps),
        "acceptance": accepted / draft if draft else None,
        "verification_steps": round(sum(int(r.get("spec_steps") or 0) for r in ok) / n_reps),
        "acceptance_by_position": acceptance_by_position(ok),
        "turns": round(len(ok) / n_reps),
        "errors": len(records) - len(ok),
        "repetitions": len(reps),
        "wall_s_per_repetition": wall,
        "recorded_gaps_s": gaps_total_s,
        "projected_session_s": wall_s + gaps_total_s if gaps_total_s is not None else None,
    }


def _pair_key(r: dict[str, Any]) -> tuple[str, int, int]:
    return (r["trace"], r["repetition"], r["turn"])


def compare_tokens(base: list[dict[str, Any]], cand: list[dict[str, Any]]) -> tuple[int, int, list[tuple[dict, Divergence]]]:
    """(compared, identical, divergences) over turns both arms completed."""
    base_by = {_pair_key(r): r for r in _ok(base) if r.get("tokens") is not None}
    compared = identical = 0
    divergences: list[tuple[dict, Divergence]] = []
    for r in _ok(cand):
        b = base_by.get(_pair_key(r))
        if b is None or r.get("tokens") is None:
            continue
        compared += 1
        d = first_divergence(b["tokens"], r["tokens"])
        if d is None:
            identical += 1
        else:
            divergences.append((r, d))
    return compared, identical, divergences


def paired_intervals(base: list[dict[str, Any]], cand: list[dict[str, Any]]) -> dict[str, Any]:
    """Bootstrap intervals of the wall, prefill and decode ratios (see analysis/stats.py)."""
    base_by = {_pair_key(r): r for r in _ok(base)}
    pairs = [(base_by[_pair_key(r)], r) for r in _ok(cand) if _pair_key(r) in base_by]
    out: dict[str, Any] = {"n_pairs": len(pairs), "confidence": 0.95}
    for name, key in (("wall", "wall_ms"), ("prefill", "prompt_ms"), ("decode", "predicted_ms")):
        per_turn_b: dict[tuple[str, int], list[float]] = defaultdict(list)
        per_turn_c: dict[tuple[str, int], list[float]] = defaultdict(list)
        for b, c in sorted(pairs, key=lambda bc: bc[1]["repetition"]):
            per_turn_b[(b["trace"], b["turn"])].append(float(b.get(key) or 0))
            per_turn_c[(c["trace"], c["turn"])].append(float(c.get(key) or 0))
        try:
            est, method = session_ratio(per_turn_b, per_turn_c)
        except ValueError as exc:
            out[f"{name}_ratio_ci"] = None
            out.setdefault("stats_notes", []).append(f"{name}: {exc}")
            continue
        out[f"{name}_ratio_ci"] = [est.ci_low, est.ci_high]
        out[f"{name}_ratio_paired"] = est.ratio  # the estimate the interval is about
        if name == "wall":
            out["p_value"] = est.p_value
            out["ci_method"] = method
    out.setdefault("p_value", None)
    return out


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def summarize(
    records: list[dict[str, Any]],
    *,
    scenario: str,
    baseline: str,
    variant_names: list[str],
    traces: list[TraceMeta],
    variant_info: dict[str, dict[str, Any]],
    temperature: float,
) -> dict[str, Any]:
    """Build the summary document. ``variant_info`` carries per-variant facts measured
    outside the records (server block, /slots speculative flag, expected speculation)."""
    measured = [r for r in records if not r.get("warmup")]
    gaps = {(t.name, k): g for t in traces for k, g in enumerate(t.gaps_s)}
    by_variant: dict[str, list[dict[str, Any]]] = {v: [] for v in variant_names}
    for r in measured:
        by_variant.setdefault(r["variant"], []).append(r)

    variants: dict[str, Any] = {}
    for name in variant_names:
        figs = variant_figures(by_variant[name], gaps)
        info = variant_info.get(name, {})
        slots_spec = info.get("slots_speculative")
        figs["spec_live"] = bool(slots_spec) and figs["draft_tokens"] > 0
        figs["slots_speculative"] = slots_spec
        figs["expect_speculation"] = info.get("expect_speculation")
        figs["server"] = info.get("server", {})
        variants[name] = figs

    comparisons = []
    for name in variant_names:
        if name == baseline:
            continue
        base, cand = variants[baseline], variants[name]
        compared, identical, divs = compare_tokens(by_variant[baseline], by_variant[name])
        diverged_turns = sorted({(r["trace"], r["turn"]) for r, _ in divs})
        first = None
        if divs:
            r, d = min(divs, key=lambda rd: (rd[0]["repetition"], rd[0]["trace"], rd[0]["turn"]))
            first = {
                "trace": r["trace"], "turn": r["turn"], "repetition": r["repetition"], "index": d.index,
                "baseline_len": d.baseline_len, "candidate_len": d.candidate_len,
                "window_start": d.window_start,
                "baseline_tokens": list(d.baseline_window), "candidate_tokens": list(d.candidate_window),
            }
        comparisons.append({
            "baseline": baseline,
            "candidate": name,
            "aa": bool(variant_info.get(name, {}).get("aa_of")),  # an A/A arm: every difference is noise
            "wall_ratio": _ratio(cand["wall_s"], base["wall_s"]),
            "prefill_ratio": _ratio(cand["prefill_s"], base["prefill_s"]),
            "decode_ratio": _ratio(cand["decode_s"], base["decode_s"]),
            "speedup": _ratio(base["wall_s"], cand["wall_s"]),
            "decode_tok_s_ratio": _ratio(cand["decode_tok_s"], base["decode_tok_s"]),
            "prefill_tok_s_ratio": _ratio(cand["prefill_tok_s"], base["prefill_tok_s"]),
            "projected_session_ratio": _ratio(cand["projected_session_s"], base["projected_session_s"]),
            "compared_turns": compared,
            "identical_turns": identical,
            "diverged_turns": len(diverged_turns),
            "diverged": [{"trace": t, "turn": k} for t, k in diverged_turns],
            "equality_applies": temperature == 0,
            "first_divergence": first,
            **paired_intervals(by_variant[baseline], by_variant[name]),
        })
    return {
        "schema": SUMMARY_SCHEMA,
        "scenario": scenario,
        "traces": [{"name": t.name, "sha256": t.sha256, "turns": t.turns} for t in traces],
        "baseline": baseline,
        "variants": variants,
        "comparisons": comparisons,
    }
