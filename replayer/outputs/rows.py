"""The comparison table's rows, shared by every output format so they never disagree.

The shape follows published MTP session studies: total LLM wall-clock, average
prefill and generation rates, tokens generated, acceptance, divergent outputs
at temperature 0, and a ratio column (candidate / baseline).
"""

from __future__ import annotations

from typing import Any

Row = tuple[str, str, str, str]  # label, baseline, candidate, ratio


def _f(value: Any, fmt: str = "{:.2f}", none: str = "–") -> str:
    return none if value is None else fmt.format(value)


def _ratio(a: Any, b: Any, fmt: str = "{:.3f}x", ci: list[float] | None = None, estimate: float | None = None) -> str:
    """a / b; with an interval, the estimate the interval is about (the paired median with
    repetitions, which can differ a little from the ratio of the totals beside it)."""
    if a is None or not b:
        return "–"
    text = fmt.format(estimate if ci and estimate is not None else a / b)
    return f"{text} [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else text


def _timed(comp: dict[str, Any], name: str, c: Any, b: Any) -> str:
    return _ratio(c, b, ci=comp.get(f"{name}_ratio_ci"), estimate=comp.get(f"{name}_ratio_paired"))


def comparison_rows(summary: dict[str, Any], comp: dict[str, Any]) -> list[Row]:
    b = summary["variants"][comp["baseline"]]
    c = summary["variants"][comp["candidate"]]
    div = comp["diverged_turns"]
    rows: list[Row] = [
        ("Total LLM wall-clock (s)", _f(b["wall_s"]), _f(c["wall_s"]), _timed(comp, "wall", c["wall_s"], b["wall_s"])),
        ("  prefill (s)", _f(b["prefill_s"]), _f(c["prefill_s"]),
         _timed(comp, "prefill", c["prefill_s"], b["prefill_s"])),
        ("  decode (s)", _f(b["decode_s"]), _f(c["decode_s"]), _timed(comp, "decode", c["decode_s"], b["decode_s"])),
        ("  client overhead (s)", _f(b["client_overhead_s"], "{:.3f}"), _f(c["client_overhead_s"], "{:.3f}"),
         _ratio(c["client_overhead_s"], b["client_overhead_s"])),
        ("    of which replayer itself (s)", _f(b.get("harness_overhead_s"), "{:.3f}"),
         _f(c.get("harness_overhead_s"), "{:.3f}"), ""),
        ("Avg prefill tok/s", _f(b["prefill_tok_s"], "{:.1f}"), _f(c["prefill_tok_s"], "{:.1f}"),
         _ratio(c["prefill_tok_s"], b["prefill_tok_s"])),
        ("Avg generation tok/s", _f(b["decode_tok_s"], "{:.1f}"), _f(c["decode_tok_s"], "{:.1f}"),
         _ratio(c["decode_tok_s"], b["decode_tok_s"])),
        ("Tokens generated", str(b["generated_tokens"]), str(c["generated_tokens"]), ""),
        ("Prompt tokens: cached / processed", f"{b['cached_tokens']} / {b['processed_prompt_tokens']}",
         f"{c['cached_tokens']} / {c['processed_prompt_tokens']}", ""),
        ("Draft acceptance", _acceptance(b), _acceptance(c), ""),
        ("  by draft position", _positions(b), _positions(c), ""),
        ("Outputs diverged at T=0", "ref",
         f"{div} of {comp['compared_turns']} turns" if comp["equality_applies"] else "n/a (T>0)", ""),
        ("Turns ok / errors", f"{b['turns']} / {b['errors']}", f"{c['turns']} / {c['errors']}", ""),
    ]
    bg, cg = b.get("gpu") or {}, c.get("gpu") or {}
    if bg or cg:
        rows += [
            ("GPU avg power (W)", _f(bg.get("avg_power_w"), "{:.1f}"), _f(cg.get("avg_power_w"), "{:.1f}"),
             _ratio(cg.get("avg_power_w"), bg.get("avg_power_w"))),
            ("GPU energy per generated token (J)", _f(bg.get("energy_per_token_j"), "{:.3f}"),
             _f(cg.get("energy_per_token_j"), "{:.3f}"),
             _ratio(cg.get("energy_per_token_j"), bg.get("energy_per_token_j"))),
            ("GPU peak memory (GiB)", _gib(bg.get("peak_memory_bytes")), _gib(cg.get("peak_memory_bytes")), ""),
        ]
    if b.get("projected_session_s") is not None:
        rows.append(("Projected session (LLM + recorded gaps, s)", _f(b["projected_session_s"], "{:.1f}"),
                     _f(c["projected_session_s"], "{:.1f}"), _ratio(c["projected_session_s"], b["projected_session_s"])))
    return rows


def _gib(n: Any) -> str:
    return "–" if n is None else f"{n / 2**30:.2f}"


def gpu_line(summary: dict[str, Any]) -> str | None:
    """Said plainly when the GPU was not measured; the figures themselves are table rows."""
    gpu = summary.get("gpu")
    if gpu and not gpu.get("measured"):
        return f"GPU power, energy and memory: {gpu.get('note')}"
    return None


def headline(summary: dict[str, Any], comp: dict[str, Any]) -> str:
    """One sentence a user can paste: faster or slower, where the time went, and equality."""
    r = comp.get("wall_ratio")
    if r is None:
        return f"{comp['candidate']} vs {comp['baseline']}: no comparable turns"
    c = summary["variants"][comp["candidate"]]
    speed = f"{1 / r:.2f}x faster" if r < 1 else f"{r:.2f}x slower"
    parts = [f"{comp['candidate']} is {speed} than {comp['baseline']} in LLM wall-clock"]
    if comp.get("prefill_ratio") and comp.get("decode_ratio"):
        parts.append(f"prefill x{comp['prefill_ratio']:.2f}, decode x{comp['decode_ratio']:.2f}")
    if c["draft_tokens"]:
        parts.append(f"acceptance {100 * c['acceptance']:.1f}%")
    if comp["equality_applies"]:
        parts.append(f"identical outputs on {comp['identical_turns']}/{comp['compared_turns']} turns")
    return "; ".join(parts) + "."


def _positions(v: dict[str, Any]) -> str:
    pos = v.get("acceptance_by_position")
    return " / ".join(f"{100 * p:.0f}%" for p in pos) if pos else "–"


def _acceptance(v: dict[str, Any]) -> str:
    if not v["draft_tokens"]:
        return "no drafts"
    return f"{100 * v['acceptance']:.1f}% ({v['accepted_tokens']}/{v['draft_tokens']})"


def divergence_text(comp: dict[str, Any]) -> str | None:
    d = comp.get("first_divergence")
    if not d:
        return None

    def window(side: str) -> str:
        pieces = d.get(f"{side}_text") or [str(t) for t in d[f"{side}_tokens"]]
        mark = d["index"] - d["window_start"]
        return "".join(f"[{p!r}]" if i == mark else repr(p) for i, p in enumerate(pieces))

    return (f"first divergence: trace {d['trace']} turn {d['turn']} (repetition {d['repetition']}) at token "
            f"{d['index']} (lengths {d['baseline_len']} vs {d['candidate_len']})\n"
            f"  {comp['baseline']}: {window('baseline')}\n  {comp['candidate']}: {window('candidate')}")


def model_line(summary: dict[str, Any]) -> str:
    m = summary.get("model")
    if not m:
        return "model: external server(s)"
    tag = "SYNTHETIC WEIGHTS — speed figures only, the text is meaningless" if m["synthetic"] else "real weights"
    return f"model: {m['name']} ({m['description']}; {tag}); sha256 {m['sha256'][:12]}…"
