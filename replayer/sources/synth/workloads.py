"""Synthetic workloads as traces, so the runner replays them like any session.

- **bench** (llama-bench-like): for each depth D, a trace whose turns fill D tokens of
  context (turn ``fill``), then process N more at depth D (``ppN``), then generate M
  tokens at depth D+N with the whole prompt cached (``tgM``). Nothing is shared
  between depths, so each starts cold.
- **shaped**: a real trace with every message's text replaced by synthetic text of the
  same token length (random, prose-like or code-like), keeping roles, tool calls and tool
  results, turn structure, shared prefixes and output lengths: the real session's shape,
  synthetic content.
- **probes**: short code-continuation and prose-continuation prompts, for draft
  acceptance by content type.

Every turn carries its recorded generation length in ``usage.completion_tokens``, which
the runner uses as ``max_tokens`` with ``ignore_eos``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from replayer.jsontext import Malformed, parse_json
from replayer.sources.builder import Call, build_trace
from replayer.sources.synth.content import KINDS, Tokenizer, text_of
from replayer.trace import Trace

PREFIX = "synth"  # every synthetic trace's name starts with "synth:"; reports tell them apart by it


@dataclass(frozen=True)
class SyntheticSpec:
    """The scenario's ``synthetic:`` section."""

    pp: tuple[int, ...] = (512,)
    tg: tuple[int, ...] = (128,)
    # Two depths: the shaped session covers the session's own depths; a third (16384) cost
    # about 5 s of filling, a tenth of the calibration, for a table row the forecast does not use.
    depths: tuple[int, ...] = (0, 4096)
    shaped: tuple[str, ...] = ("code",)  # one kind by default: each is a full replay of every trace
    probes: bool = True
    probe_prompt_tokens: int = 512
    probe_tokens: int = 128
    repetitions: int = 1
    # Calibration turns on twin servers, each shaped turn right after the real turn it stands
    # for, so both see the machine at the same moment (docs/synthetic.md); off: after the session.
    interleave: bool = True
    # A shaped turn generates at most this many tokens (its session's longest few: 8x as many,
    # pipeline/calibration.py): the decode law needs steps at every depth, not every answer
    # in full; the forecast still uses the real lengths. None: all.
    shaped_tokens: int | None = 32


@dataclass(frozen=True)
class Workload:
    kind: str  # bench | shaped | probe
    doc: dict[str, Any]
    labels: dict[int, dict[str, Any]] = field(default_factory=dict)  # turn index -> what it measures


def _provenance(what: str) -> dict[str, Any]:
    return {"agent": "replayer synth", "source": what, "importer": "synth",
            "fidelity": {"exact": [], "reconstructed": [],
                         "missing": ["synthetic content: no real session behind these turns"]}}


def _call(messages: list[dict[str, Any]], answer: str | dict[str, Any], n_out: int,
          tools: list[dict[str, Any]] | None = None) -> Call:
    response = answer if isinstance(answer, dict) else {"role": "assistant", "content": answer}
    return Call(messages=[dict(m) for m in messages], response=dict(response),
                usage={"completion_tokens": n_out}, tools=tools)


def bench_workloads(spec: SyntheticSpec, tok: Tokenizer) -> list[Workload]:
    out = []
    for depth in spec.depths:
        messages: list[dict[str, Any]] = []
        calls: list[Call] = []
        labels: dict[int, dict[str, Any]] = {}
        if depth > 0:
            messages.append({"role": "user", "content": text_of("prose", depth, tok, seed=depth)})
            calls.append(_call(messages, "Ok.", 1))
            labels[len(calls) - 1] = {"test": "fill", "depth": depth}
            messages.append({"role": "assistant", "content": "Ok."})
        for n in spec.pp:
            # each ppN at this depth starts from the same filled context: a turn of its own
            turn_messages = messages + [{"role": "user", "content": text_of("prose", n, tok, seed=depth + n)}]
            calls.append(_call(turn_messages, "Ok.", 1))
            labels[len(calls) - 1] = {"test": f"pp{n}", "depth": depth, "n": n}
        last = messages + [{"role": "user", "content": text_of("prose", max(spec.pp or (16,)), tok,
                                                               seed=depth + max(spec.pp or (16,)))}]
        for m in spec.tg:
            # the same prompt as the last ppN: fully cached, so the turn is generation only
            calls.append(_call(last, text_of("prose", m, tok, seed=m), m))
            labels[len(calls) - 1] = {"test": f"tg{m}", "depth": depth, "n": m}
        doc = build_trace(f"{PREFIX}:bench@d{depth}", calls, provenance=_provenance("llama-bench-like pp/tg"),
                          validate=False)
        out.append(Workload("bench", doc, labels))
    return out


def probe_workloads(spec: SyntheticSpec, tok: Tokenizer) -> list[Workload]:
    calls, labels = [], {}
    for kind, ask in (("code", "Continue this Python module:\n\n"), ("prose", "Continue this text:\n\n")):
        body = text_of(kind, spec.probe_prompt_tokens, tok, seed=7)
        answer = text_of(kind, spec.probe_tokens, tok, seed=8)
        calls.append(_call([{"role": "user", "content": ask + body}], answer, spec.probe_tokens))
        labels[len(calls) - 1] = {"test": f"probe-{kind}", "content": kind}
    doc = build_trace(f"{PREFIX}:probes", calls, provenance=_provenance("content probes"), validate=False)
    return [Workload("probe", doc, labels)]


def _text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content or ""


def _like(text: str, kind: str, tok: Tokenizer, seed: int) -> str:
    """Synthetic text of ``text``'s token length."""
    n = len(tok.encode(text)) if text else 0
    return text_of(kind, n, tok, seed) if n else ""


def _values_like(value: Any, kind: str, tok: Tokenizer, seed: int) -> Any:
    """``value`` with every string in it, at any depth, replaced by synthetic text of its
    length; keys, numbers, booleans and nesting kept."""
    if isinstance(value, str):
        return _like(value, kind, tok, seed)
    if isinstance(value, dict):
        return {k: _values_like(v, kind, tok, seed + 7 * i) for i, (k, v) in enumerate(value.items())}
    if isinstance(value, list):
        return [_values_like(v, kind, tok, seed + 7 * i) for i, v in enumerate(value)]
    return value


def _arguments_like(arguments: Any, kind: str, tok: Tokenizer, seed: int) -> str:
    """Tool-call arguments with the same structure and keys, their text synthetic: the
    template renders them as it renders the real ones."""
    try:
        parsed = parse_json(arguments or "{}") if isinstance(arguments, str) else arguments
    except Malformed:  # arguments that are not JSON are sent as they are: text of their length
        return _like(str(arguments), kind, tok, seed)
    return json.dumps(_values_like(parsed, kind, tok, seed), ensure_ascii=False)


TEXT_FIELDS = ("content", "reasoning_content")  # what a template renders as text of a message


def _synthetic_like(message: dict[str, Any], kind: str, tok: Tokenizer, seed: int) -> dict[str, Any]:
    """``message`` with its text replaced by synthetic text of the same token length. Roles,
    tool-call ids and names, argument keys and tool results keep their structure, so the
    template frames and the server templates them as it does the real ones: the same
    prompt lengths and the same request handling, only the content differs."""
    out = {k: v for k, v in message.items() if k in ("role", "tool_call_id", "name")}
    for i, field_name in enumerate(TEXT_FIELDS):
        value = message.get(field_name)
        if value or field_name == "content":
            out[field_name] = _like(_text(value), kind, tok, seed + i) if value else value
    if message.get("tool_calls"):
        out["tool_calls"] = [{**call, "function": {**call.get("function", {}), "arguments": _arguments_like(
            call.get("function", {}).get("arguments"), kind, tok, seed + 1000 * (i + 1))}}
            for i, call in enumerate(message["tool_calls"])]
    return out


def shaped_workload(trace: Trace, kind: str, tok: Tokenizer, output_tokens: list[int]) -> Workload:
    """``trace``'s turns (as many as ``output_tokens`` gives lengths for) with synthetic content."""
    if kind not in KINDS:
        raise ValueError(f"synthetic.shaped: expected one of {', '.join(KINDS)}, got {kind!r}")
    replaced: dict[str, dict[str, Any]] = {}  # the same real message always gets the same stand-in

    def stand_in(message: dict[str, Any]) -> dict[str, Any]:
        key = json.dumps(message, sort_keys=True, ensure_ascii=False)
        if key not in replaced:
            replaced[key] = _synthetic_like(message, kind, tok, int(hashlib.sha256(key.encode()).hexdigest()[:12], 16))
        return replaced[key]

    calls, labels = [], {}
    for i, n_out in enumerate(output_tokens):
        turn = trace.turn(i)
        # the real tool schemas stay: the template renders them into the prompt, so they are shape
        calls.append(_call([stand_in(m) for m in turn.messages], stand_in(turn.response_message), n_out, turn.tools))
        labels[i] = {"test": f"shaped-{kind}", "content": kind, "real_turn": i, "generate": n_out}
    doc = build_trace(f"{PREFIX}:shaped-{kind}:{trace.name}", calls,
                      provenance=_provenance(f"shape of {trace.name}, {kind} content"), validate=False)
    return Workload("shaped", doc, labels)
