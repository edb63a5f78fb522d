"""The comparison table's rows, shared by every output format so they never disagree.

The shape follows published MTP session studies: total LLM wall-clock, average
prefill and generation rates, tokens generated, acceptance, divergent outputs
at temperature 0, and a ratio column (candidate / baseline).
"""

from __future__ import annotations

from typing import Any

from replayer.analysis.noise import SPIKE_S
from replayer.results.summary import Comparison, DivergedTurn, GpuFigures, Summary, VariantSummary

Row = tuple[str, str, str, str]  # label, baseline, candidate, ratio


def _f(value: Any, fmt: str = "{:.2f}", none: str = "–") -> str:
    return none if value is None else fmt.format(value)


def _ratio(a: float | None, b: float | None, fmt: str = "{:.3f}x") -> str:
    """a / b: the ratio of the totals beside it."""
    if a is None or not b:
        return "–"
    return fmt.format(a / b)


def _estimates(comp: Comparison) -> list[Row]:
    """The robust paired estimate and its interval, per metric: what the gate judges. It is
    the time-weighted median of per-turn ratios, so it differs from the ratio of totals
    where the change differs by turn (docs/results.md)."""
    metrics = ["wall"] + ([comp.gate.settings.metric] if comp.gate and comp.gate.settings.metric != "wall" else [])
    return [(f"  {'' if m == 'wall' else m + ' '}paired estimate, 95% CI", "", "",
             f"{est:.3f}x [{ci[0]:.3f}, {ci[1]:.3f}]")
            for m in metrics if (ci := comp.ci(m)) is not None and (est := comp.ratio(m)) is not None]


def paired_figures(summary: Summary, comp: Comparison) -> tuple[VariantSummary, VariantSummary]:
    """Each arm's figures over the turns both completed (its own figures when none was lost)."""
    b = comp.paired_baseline or summary.variant(comp.baseline)
    c = comp.paired_candidate or summary.variant(comp.candidate)
    return b, c


def comparison_rows(summary: Summary, comp: Comparison) -> list[Row]:
    b, c = paired_figures(summary, comp)
    full_b, full_c = summary.variant(comp.baseline), summary.variant(comp.candidate)
    return [*_time_rows(comp, b, c)[:3], *_estimates(comp), *_time_rows(comp, b, c)[3:], *_token_rows(comp, b, c), *_lost_rows(comp, full_b, full_c),
            *_gpu_rows(full_b.gpu, full_c.gpu), *_projected_rows(b, c)]


def _lost_rows(comp: Comparison, b: VariantSummary, c: VariantSummary) -> list[Row]:
    rows = [("Turns ok / errors (whole run)", f"{b.turns} / {b.errors}", f"{c.turns} / {c.errors}", "")]
    if comp.partial:
        rows.append(("Turns lost (left out of every figure above)", str(comp.baseline_lost),
                     str(comp.candidate_lost), ""))
    if comp.cache_mismatches:
        rows.append(("Turns with different cached prompt tokens", "", str(len(comp.cache_mismatches)),
                     "not in the CI" if comp.cache_mismatch_excluded else "in the CI"))
    return rows


def _time_rows(comp: Comparison, b: VariantSummary, c: VariantSummary) -> list[Row]:
    return [
        ("Total LLM wall-clock (s)", _f(b.wall_s), _f(c.wall_s), _ratio(c.wall_s, b.wall_s)),
        ("  prefill (s)", _f(b.prefill_s), _f(c.prefill_s), _ratio(c.prefill_s, b.prefill_s)),
        ("  decode (s)", _f(b.decode_s), _f(c.decode_s), _ratio(c.decode_s, b.decode_s)),
        # wall - prefill - decode is mostly llama-server's own request handling, not the client's
        (_handling_label(b, c), _f(b.request_overhead_s, "{:.3f}"),
         _f(c.request_overhead_s, "{:.3f}"), _ratio(c.request_overhead_s, b.request_overhead_s)),
        ("    of which replayer itself (s)", _f(b.harness_overhead_s, "{:.3f}"),
         _f(c.harness_overhead_s, "{:.3f}"), ""),
    ]


def _handling_label(b: VariantSummary, c: VariantSummary) -> str:
    """A url arm's handling time holds whatever sits between replayer and its server too."""
    if any(v.server is not None and not v.server.managed for v in (b, c)):
        return "  request handling, server + HTTP + any proxy or network (s)"
    return "  request handling, server + HTTP (s)"


def _token_rows(comp: Comparison, b: VariantSummary, c: VariantSummary) -> list[Row]:
    diverged = f"{divergence_classes(comp)} of {comp.compared_turns} turns" if comp.equality_applies else "n/a (T>0)"
    return [
        ("Avg prefill tok/s", _f(b.prefill_tok_s, "{:.1f}"), _f(c.prefill_tok_s, "{:.1f}"),
         _ratio(c.prefill_tok_s, b.prefill_tok_s)),
        ("Avg generation tok/s", _f(b.decode_tok_s, "{:.1f}"), _f(c.decode_tok_s, "{:.1f}"),
         _ratio(c.decode_tok_s, b.decode_tok_s)),
        ("Tokens generated", str(b.generated_tokens), str(c.generated_tokens), ""),
        ("Prompt tokens: cached / processed", f"{b.cached_tokens} / {b.processed_prompt_tokens}",
         f"{c.cached_tokens} / {c.processed_prompt_tokens}", ""),
        ("Draft acceptance", _acceptance(b), _acceptance(c), ""),
        ("  by draft position", _positions(b), _positions(c), ""),
        ("Outputs diverged at T=0", "ref", diverged, ""),
    ]


def _gpu_rows(bg: GpuFigures | None, cg: GpuFigures | None) -> list[Row]:
    if bg is None and cg is None:
        return []
    bp, cp = (g.avg_power_w if g else None for g in (bg, cg))
    be, ce = (g.energy_per_token_j if g else None for g in (bg, cg))
    return [
        ("GPU avg power (W)", _f(bp, "{:.1f}"), _f(cp, "{:.1f}"), _ratio(cp, bp)),
        ("GPU energy per generated token (J)", _f(be, "{:.3f}"), _f(ce, "{:.3f}"), _ratio(ce, be)),
        ("GPU peak memory (GiB)", _gib(bg.peak_memory_bytes if bg else None),
         _gib(cg.peak_memory_bytes if cg else None), ""),
    ]


def _projected_rows(b: VariantSummary, c: VariantSummary) -> list[Row]:
    if b.projected_session_s is None:
        return []
    return [("Projected session (LLM + recorded gaps, s)", _f(b.projected_session_s, "{:.1f}"),
             _f(c.projected_session_s, "{:.1f}"), _ratio(c.projected_session_s, b.projected_session_s))]


def _gib(n: int | None) -> str:
    return "–" if n is None else f"{n / 2**30:.2f}"


def gpu_line(summary: Summary) -> str | None:
    """Said plainly when the GPU was not measured; the figures themselves are table rows."""
    gpu = summary.gpu
    if gpu is not None and not gpu.measured:
        return f"GPU power, energy and memory: {gpu.note}"
    return None


def headline(summary: Summary, comp: Comparison) -> str:
    """One sentence a user can paste: faster or slower, where the time went, and equality."""
    r = comp.wall_ratio
    if r is None:
        return f"{comp.candidate} vs {comp.baseline}: no comparable turns"
    _, c = paired_figures(summary, comp)
    speed = f"{1 / r:.2f}x faster" if r < 1 else f"{r:.2f}x slower"
    parts = [f"{comp.candidate} is {speed} than {comp.baseline} in LLM wall-clock"]
    if comp.partial:
        parts[0] += (f" (partial: over the {comp.n_pairs} turn(s) both completed; {comp.baseline} lost "
                     f"{comp.baseline_lost}, {comp.candidate} lost {comp.candidate_lost})")
    if comp.prefill_ratio and comp.decode_ratio:
        parts.append(f"prefill x{comp.prefill_ratio:.2f}, decode x{comp.decode_ratio:.2f}")
    if c.draft_tokens and c.acceptance is not None:
        parts.append(f"acceptance {100 * c.acceptance:.1f}%")
    if comp.equality_applies:
        parts.append(f"identical outputs on {comp.identical_turns}/{comp.compared_turns} turns")
    return "; ".join(parts) + "."


def _positions(v: VariantSummary) -> str:
    pos = v.acceptance_by_position
    return " / ".join(f"{100 * p:.0f}%" for p in pos) if pos else "–"


def _acceptance(v: VariantSummary) -> str:
    if not v.draft_tokens or v.acceptance is None:
        return "no drafts"
    return f"{100 * v.acceptance:.1f}% ({v.accepted_tokens}/{v.draft_tokens})"


def divergence_text(comp: Comparison) -> str | None:
    d = comp.first_divergence
    if d is None:
        return None
    mark = d.index - d.window_start

    def window(text: tuple[str | None, ...] | None, tokens: tuple[int, ...]) -> str:
        pieces = text or [str(t) for t in tokens]
        return "".join(f"[{p!r}]" if i == mark else repr(p) for i, p in enumerate(pieces))

    kind = f"; {d.kind}: {d.why}" if d.kind else ""
    text = (f"first divergence: trace {d.trace} turn {d.turn} (repetition {d.repetition}) at token "
            f"{d.index} (lengths {d.baseline_len} vs {d.candidate_len}){kind}\n"
            f"  {comp.baseline}: {window(d.baseline_text, d.baseline_tokens)}\n"
            f"  {comp.candidate}: {window(d.candidate_text, d.candidate_tokens)}")
    classed = [t for t in comp.diverged if t.kind]
    if classed:
        text += "\n  diverged turns: " + ", ".join(_classed(t) for t in classed)
    return text


def _classed(t: DivergedTurn) -> str:
    margin = f" {t.margin:.3f} nats" if t.margin is not None else ""
    return f"{t.trace}:{t.turn} {t.kind}{margin}"


def divergence_classes(comp: Comparison) -> str:
    """The diverged-turns cell: how many, and of what class when the baseline was asked."""
    if not comp.equality_applies:
        return "–"
    if not any(t.kind for t in comp.diverged):
        return str(comp.diverged_turns)
    return f"{comp.diverged_turns} ({comp.near_tie_turns} near-tie, {comp.confident_turns} confident or unclassified)"


def model_line(summary: Summary) -> str:
    m = summary.model
    if m is None:
        return "model: external server(s)"
    tag = "SYNTHETIC WEIGHTS — speed figures only, the text is meaningless" if m.synthetic else "real weights"
    return f"model: {m.name} ({m.description}; {tag}); sha256 {m.sha256[:12]}…"


def run_line(summary: Summary) -> str | None:
    """When the run happened, how long it took and whether the machine was quiet: what a reader
    of a report checks before its figures."""
    parts = []
    run, noise = summary.run, summary.noise
    if run is not None:
        took = f", took {_took(run.duration_s)}" if run.duration_s is not None else ""
        parts.append(f"run started {run.started_at}{took}")
    if noise is not None:
        parts.append(f"machine {'BUSY' if noise.busy else 'quiet'}: other processes used "
                     f"{noise.foreign_cores_mean:.2f} of {noise.cores} cores on average, "
                     f"{noise.foreign_cores_peak:.2f} at most over {SPIKE_S:.0f} s")
    return "; ".join(parts) or None


def _took(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 60} min {s % 60:02d} s" if s >= 60 else f"{seconds:.1f} s"


def indented(label: str, unit: str) -> str:
    """A row label with its nesting (two spaces a level, as the tables write them) said by ``unit``
    per level: markup that drops leading spaces (a Markdown cell, HTML) needs it said another way."""
    text = label.lstrip(" ")
    return unit * ((len(label) - len(text)) // 2) + text
