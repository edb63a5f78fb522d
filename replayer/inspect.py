"""`replay inspect`: what a trace holds, turn by turn, and how much of it a prompt cache can reuse.

Token counts are exact when a llama-server URL is given (its chat template and
tokenizer), otherwise a tiktoken estimate over a ChatML-like rendering, and
labelled as such.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from rich.console import Console
from rich.table import Table

from replayer.errors import InputError
from replayer.runner.endpoint import Endpoint
from replayer.tokens import ESTIMATE_LABEL, _encoding
from replayer.trace import Trace, load_trace
from replayer.trace.model import assistant_text_as_generated


@dataclass(frozen=True)
class TurnStats:
    index: int
    messages: int
    tool_calls: int
    prompt_tokens: int
    output_tokens: int
    shared_prefix_tokens: int  # longest common token prefix with the previous turn's prompt
    gap_s: float | None
    repo: str | None  # short commit, "+dirty" when the tree had uncommitted changes; None: not recorded


def repo_label(repo: dict[str, Any] | None) -> str | None:
    if not repo or not repo.get("commit"):
        return None
    return repo["commit"][:8] + ("+dirty" if repo.get("dirty") else "")


@dataclass(frozen=True)
class Inspection:
    trace: Trace
    counting: str
    turns: list[TurnStats]


def render_chatml(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> str:
    """A stand-in rendering for estimates: ChatML framing, tool schemas in the system turn."""
    out = []
    for i, m in enumerate(messages):
        content = m.get("content")
        if isinstance(content, list):
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        text = content or ""
        if m.get("role") == "assistant" and m.get("tool_calls"):
            text = assistant_text_as_generated(m)
        if i == 0 and tools and m.get("role") == "system":
            text += "\n<tools>\n" + "\n".join(json.dumps(t, ensure_ascii=False) for t in tools) + "\n</tools>"
        out.append(f"<|im_start|>{m.get('role')}\n{text}<|im_end|>\n")
    return "".join(out) + "<|im_start|>assistant\n"


def inspect_trace(path: Path, server_url: str | None = None) -> Inspection:
    trace = load_trace(path)
    if server_url:
        ep = Endpoint("inspect", server_url)

        def prompt_ids(messages, tools):
            body = {"messages": messages, **({"tools": tools} if tools else {})}
            from replayer.runner.server import http_json

            status, out = http_json(ep.url + "/apply-template", "POST", body, timeout=120)
            if status != 200 or not isinstance(out, dict):
                raise InputError(f"{server_url}: /apply-template failed with HTTP {status}: {out}")
            ids = ep.tokenize(out["prompt"], add_special=True)
            if ids is None:
                raise InputError(f"{server_url}: /tokenize failed")
            return ids

        def count(text: str) -> int:
            return len(ep.tokenize(text) or [])

        counting = f"exact ({server_url} /tokenize)"
    else:
        enc = _encoding()

        def prompt_ids(messages, tools):
            return enc.encode(render_chatml(messages, tools), disallowed_special=())

        def count(text: str) -> int:
            return len(enc.encode(text, disallowed_special=()))

        counting = ESTIMATE_LABEL
    return Inspection(trace, counting, _stats(trace, prompt_ids, count))


def _stats(trace: Trace, prompt_ids: Callable, count: Callable[[str], int]) -> list[TurnStats]:
    gaps = trace.recorded_gaps_s()
    out, previous = [], None
    for turn in trace.turns():
        ids = prompt_ids(turn.messages, turn.tools)
        shared = 0
        if previous is not None:
            n = min(len(ids), len(previous))
            while shared < n and ids[shared] == previous[shared]:
                shared += 1
        usage = turn.response.get("usage") or {}
        output = usage.get("completion_tokens") or count(assistant_text_as_generated(turn.response_message))
        out.append(TurnStats(turn.index, len(turn.messages), len(turn.response_message.get("tool_calls") or []),
                             len(ids), output, shared, gaps[turn.index], repo_label(turn.repo)))
        previous = ids
    return out


def render_inspection(insp: Inspection, console: Console) -> None:
    t = insp.trace
    prov = t.provenance
    console.print(f"[bold]{t.name}[/] ({t.path}) — {t.n_turns} turns, {len(t.data['conversation'])} messages, "
                  f"{len(t.tools)} tools; agent: {prov.get('agent')}; sha256 {t.sha256[:12]}…")
    fidelity = prov.get("fidelity") or {}
    for key in ("exact", "reconstructed", "missing"):
        if fidelity.get(key):
            console.print(f"  fidelity {key}: " + "; ".join(fidelity[key]), markup=False, highlight=False)
    console.print(f"token counts: [bold]{insp.counting}[/]")
    table = Table(title_justify="left")
    with_repo = any(s.repo for s in insp.turns)  # recorded sessions carry git context; imports rarely do
    columns = [("turn", "right"), ("msgs", "right"), ("calls", "right"), ("prompt tok", "right"),
               ("output tok", "right"), ("prompt/output", "right"), ("prefix of prev", "right"),
               ("gap after (s)", "right")] + ([("repo commit", "left")] if with_repo else [])
    for col, just in columns:
        table.add_column(col, justify=just)
    for s in insp.turns:
        reuse = f"{100 * s.shared_prefix_tokens / s.prompt_tokens:.1f}%" if s.index and s.prompt_tokens else "–"
        table.add_row(str(s.index), str(s.messages), str(s.tool_calls), str(s.prompt_tokens), str(s.output_tokens),
                      f"{s.prompt_tokens / max(s.output_tokens, 1):.0f}", reuse,
                      "–" if s.gap_s is None else f"{s.gap_s:.1f}", *([s.repo or "–"] if with_repo else []))
    console.print(table)
    prompt = sum(s.prompt_tokens for s in insp.turns)
    output = sum(s.output_tokens for s in insp.turns)
    shared = sum(s.shared_prefix_tokens for s in insp.turns)
    gaps = [s.gap_s for s in insp.turns if s.gap_s is not None]
    console.print(f"total: {prompt} prompt tokens, {output} output tokens (ratio {prompt / max(output, 1):.0f}:1); "
                  f"{100 * shared / max(prompt, 1):.1f}% of all prompt tokens are a prefix of the previous turn's prompt "
                  f"(cache-reuse potential); recorded gaps {sum(gaps):.0f} s")
