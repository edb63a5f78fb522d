"""What a turn generates, read from its *recorded* response (never the replayed one, which a
synthetic model makes meaningless): a tool call, a code edit, prose or reasoning; and its
shape, prompt-heavy or decode-heavy, from the prompt the replay processed and the tokens it
generated.

The published MTP studies say this is where the decision turns: the same model and flags
run near 3x faster on code and slower than no speculation on creative prose, and a turn
that processes a long prompt to write a short answer is dominated by prefill, which MTP
slows. The rule (docs/results.md, "Turn kinds") is a character count: every character the
model wrote is put in one of four bins, and the bin with the most characters names the turn.

- **code edit**: SEARCH/REPLACE blocks, unified diffs and patches, fenced code of two lines or
  more, and every argument of a tool call that writes files (its name says write, edit,
  replace, patch, create or insert, or an argument carries a diff or a patch);
- **tool call**: every other tool call (its name and JSON arguments), a one-line fenced
  command (SWE-agent's actions), and tool-use tags written in the text (Cline's XML);
- **reasoning**: ``reasoning_content``/``reasoning`` fields and ``<think>`` blocks;
- **prose**: everything else, and an answer with no text at all.

Ties go to the earlier bin in that order.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from replayer.jsontext import Malformed, parse_json

TOOL_CALL, CODE_EDIT, PROSE, REASONING = "tool_call", "code_edit", "prose", "reasoning"
KINDS = (TOOL_CALL, CODE_EDIT, PROSE, REASONING)  # the order reports list them in
PROMPT_HEAVY, DECODE_HEAVY = "prompt-heavy", "decode-heavy"
SHAPES = (PROMPT_HEAVY, DECODE_HEAVY)
# A turn is prompt-heavy when it processes this many prompt tokens per generated token or
# more. llama-server prefills 5-100x faster per token than it decodes (about 7x on this
# project's 2-core CPU, far more on a GPU), so from here on prefill is a large share of the
# turn on any hardware, and MTP's slower prefill weighs against its faster decode.
PROMPT_HEAVY_RATIO = 10.0
RULE = "replayer.turn-kinds/1"

_PRECEDENCE = (CODE_EDIT, TOOL_CALL, REASONING, PROSE)
_EDIT_NAME = re.compile(r"write|edit|replace|patch|create|insert", re.IGNORECASE)
_PATCH_MARK = re.compile(r"^(<<<<<<< SEARCH|\*\*\* Begin Patch|@@ |--- a/|\+\+\+ b/|diff --git )", re.MULTILINE)
_THINK = re.compile(r"<think>.*?(</think>|\Z)", re.DOTALL)
_SEARCH_REPLACE = re.compile(r"^<<<<<<< SEARCH\n.*?^>>>>>>> REPLACE[^\n]*$", re.DOTALL | re.MULTILINE)
_FENCE = re.compile(r"^(`{3,}|~{3,})[^\n]*\n(.*?)^\1[ \t]*$", re.DOTALL | re.MULTILINE)
_TAG = re.compile(r"^<([a-z][a-z0-9]*(?:_[a-z0-9]+)+)>.*?^</\1>", re.DOTALL | re.MULTILINE)


@dataclass(frozen=True)
class KindShares:
    """Characters the model wrote per bin."""

    tool_call: int = 0
    code_edit: int = 0
    prose: int = 0
    reasoning: int = 0

    @property
    def kind(self) -> str:
        best = max(getattr(self, k) for k in _PRECEDENCE)
        if best == 0:
            return PROSE
        return next(k for k in _PRECEDENCE if getattr(self, k) == best)


def classify_message(message: Mapping[str, Any]) -> str:
    """The kind of a recorded assistant message (chat-completions shape, as every importer writes)."""
    return shares_of(message).kind


def shares_of(message: Mapping[str, Any]) -> KindShares:
    bins = {k: 0 for k in KINDS}
    for key in ("reasoning_content", "reasoning"):
        bins[REASONING] += len(_text(message.get(key)))
    _content(_text(message.get("content")), bins)
    for call in message.get("tool_calls") or ():
        kind, size = _call(call)
        bins[kind] += size
    return KindShares(**bins)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # content parts
        return "".join(p.get("text", "") for p in value if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def _content(text: str, bins: dict[str, int]) -> None:
    """Splits the text into its bins; what no pattern claims is prose."""
    for pattern, sort in ((_THINK, lambda m: REASONING), (_SEARCH_REPLACE, lambda m: CODE_EDIT),
                          (_FENCE, _fence_kind), (_TAG, _tag_kind)):
        kept = []
        last = 0
        for m in pattern.finditer(text):
            bins[sort(m)] += len(m.group(0))
            kept.append(text[last:m.start()])
            last = m.end()
        kept.append(text[last:])
        text = "".join(kept)
    bins[PROSE] += len(text.strip())


def _fence_kind(m: re.Match[str]) -> str:
    body = m.group(2).strip("\n")
    if _PATCH_MARK.search(body) or body.count("\n") >= 1:
        return CODE_EDIT
    return TOOL_CALL  # a one-line command in a fence: an action, as SWE-agent writes them


def _tag_kind(m: re.Match[str]) -> str:
    return CODE_EDIT if _EDIT_NAME.search(m.group(1)) or _PATCH_MARK.search(m.group(0)) else TOOL_CALL


def _call(call: Any) -> tuple[str, int]:
    fn = call.get("function") if isinstance(call, dict) else None
    if not isinstance(fn, dict):
        return TOOL_CALL, 0
    name = fn.get("name") if isinstance(fn.get("name"), str) else ""
    args = fn.get("arguments")
    text = args if isinstance(args, str) else json.dumps(args, ensure_ascii=False) if args is not None else ""
    size = len(name) + len(text)
    if _EDIT_NAME.search(name) or any(_PATCH_MARK.search(s) for s in _strings(text)):
        return CODE_EDIT, size
    return TOOL_CALL, size


def _strings(arguments: str) -> Iterable[str]:
    """Every string value inside a tool call's JSON arguments (the text itself if it is not JSON)."""
    try:
        value = parse_json(arguments)  # nesting bounded: a trace's arguments are user input
    except Malformed:
        yield arguments
        return
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            yield v
        elif isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)


def shape_of(processed_prompt: float, generated: float) -> str:
    """prompt-heavy when the turn processed PROMPT_HEAVY_RATIO prompt tokens per generated token or more."""
    return PROMPT_HEAVY if processed_prompt >= PROMPT_HEAVY_RATIO * max(generated, 1.0) else DECODE_HEAVY
