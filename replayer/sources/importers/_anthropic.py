"""Anthropic-style message history -> OpenAI chat messages (shared by the Cline importers).

Cline stores ``{role: "user"|"assistant", content: string | Block[]}`` and converts it for
OpenAI-compatible servers itself; the two flavours follow the two converters Cline uses:

- ``"v3"``: classic Cline ``convertToOpenAiMessages`` (``src/core/api/transform/openai-format.ts``):
  user content stays a list of text parts, thinking blocks are not sent.
- ``"v4"``: the SDK's ``convertToOpenAIMessages`` (``sdk/packages/llms/.../openai-format.ts``):
  a single text part becomes a string, ``file`` blocks become ``<file_content path=...>``
  text, thinking goes to ``reasoning_content``.

Both: ``tool_use`` -> assistant ``tool_calls`` (``arguments`` = compact JSON of ``input``),
``tool_result`` -> ``role: "tool"`` messages placed *before* the remaining user text.
Tool results that came back as plain ``[name for '...'] Result:`` text blocks (Cline's
fallback when it cannot map ids) are paired with the open tool calls by order.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from replayer.sources.importers.base import format_error, names_only_tools

PLACEHOLDER_RESULT = "[replayer: no tool result was recorded for this call]"
IMAGE_OMITTED = "[replayer: image omitted]"
_TEXT_RESULT = re.compile(r"^\s*\[(?P<name>[A-Za-z_][\w.:-]*)(?: for .*?)?\] Result:", re.DOTALL)
_SDK_WRAPPERS = ("user_input", "user_command")
_KNOWN_BLOCKS = {"text", "image", "document", "file", "tool_use", "tool_result", "thinking", "redacted_thinking"}


@dataclass
class Stats:
    images: int = 0
    documents: int = 0
    thinking: int = 0
    redacted_thinking: int = 0
    text_results_paired: int = 0
    id_results_paired: int = 0
    missing_results: int = 0
    unwrapped: int = 0  # user texts whose <user_input> wrapper the SDK strips before sending
    tool_names: list[str] = field(default_factory=list)

    def note_tool(self, name: str) -> None:
        if name not in self.tool_names:
            self.tool_names.append(name)

    def note_losses(self, fidelity, have_usage: int, n_calls: int) -> None:
        """The fidelity lines every Anthropic-shaped format shares: dropped media, missing usage."""
        if self.images or self.documents:
            fidelity.missing.append(f"{self.images} image(s) and {self.documents} document(s) dropped (text-only "
                                    "replay)")
        if have_usage < n_calls:
            fidelity.missing.append(f"token usage of {n_calls - have_usage} call(s)")


class Converter:
    def __init__(self, path: Path, flavour: str, where: str) -> None:
        self.path, self.flavour, self.where = path, flavour, where  # where: "$" or "$.messages"
        self.stats = Stats()
        self.open_calls: list[str] = []  # tool call ids of the last assistant message still without a result

    # -- validation -------------------------------------------------------------------------

    def _err(self, loc: str, message: str) -> Exception:
        return format_error(self.path, loc, message)

    def check(self, i: int, msg: Any) -> tuple[str, Any]:
        loc = f"{self.where}[{i}]"
        if not isinstance(msg, dict):
            raise self._err(loc, "expected a message object")
        role = msg.get("role")
        if role not in ("user", "assistant"):
            raise self._err(f"{loc}.role", f"expected 'user' or 'assistant', got {json.dumps(role)}")
        content = msg.get("content")
        if isinstance(content, str):
            return role, content
        if not isinstance(content, list):
            raise self._err(f"{loc}.content", "expected a string or a list of content blocks")
        for j, block in enumerate(content):
            if not isinstance(block, dict) or not isinstance(block.get("type"), str):
                raise self._err(f"{loc}.content[{j}]", "expected a content block with a 'type'")
            kind = block["type"]
            if kind not in _KNOWN_BLOCKS:
                raise self._err(f"{loc}.content[{j}].type", f"unknown content block type {kind!r}")
            if kind == "text" and not isinstance(block.get("text"), str):
                raise self._err(f"{loc}.content[{j}].text", "expected a string")
            if kind == "tool_use":
                if role != "assistant":
                    raise self._err(f"{loc}.content[{j}]", "tool_use block in a user message")
                if not isinstance(block.get("name"), str) or not block["name"]:
                    raise self._err(f"{loc}.content[{j}].name", "expected a tool name")
                if not isinstance(block.get("id"), str):
                    raise self._err(f"{loc}.content[{j}].id", "expected a tool call id")
            if kind == "tool_result" and not isinstance(block.get("tool_use_id"), str):
                raise self._err(f"{loc}.content[{j}].tool_use_id", "expected a tool call id")
            if kind == "file" and not (isinstance(block.get("path"), str) and isinstance(block.get("content"), str)):
                raise self._err(f"{loc}.content[{j}]", "expected a file block with 'path' and 'content' strings")
        return role, content

    # -- conversion ---------------------------------------------------------------------------

    def convert(self, i: int, msg: Any) -> list[dict[str, Any]]:
        """One stored message -> the OpenAI messages it becomes (in order)."""
        role, content = self.check(i, msg)
        if role == "assistant":
            # Two assistant messages in a row: the first one's calls never got a result.
            unanswered = [{"role": "tool", "tool_call_id": cid, "content": PLACEHOLDER_RESULT}
                          for cid in self.open_calls]
            self.stats.missing_results += len(unanswered)
            out = self._assistant(content)
            self.open_calls = [c["id"] for c in out.get("tool_calls", [])]
            return [*unanswered, out]
        out_msgs = self._user(content)
        self.open_calls = []
        return out_msgs

    def _assistant(self, content: Any) -> dict[str, Any]:
        if isinstance(content, str):
            return {"role": "assistant", "content": content}
        texts, calls, reasoning = [], [], []
        for block in content:
            kind = block["type"]
            if kind == "text":
                texts.append(block["text"])
            elif kind == "tool_use":
                self.stats.note_tool(block["name"])
                arguments = _js_json(_tool_input(block.get("input"), self.flavour))
                calls.append({"id": block["id"], "type": "function",
                              "function": {"name": block["name"], "arguments": arguments}})
            elif kind == "thinking":
                self.stats.thinking += 1
                if isinstance(block.get("thinking"), str) and block["thinking"]:
                    reasoning.append(block["thinking"])
            elif kind == "redacted_thinking":
                self.stats.redacted_thinking += 1
            elif kind == "image":
                self.stats.images += 1
        out: dict[str, Any] = {"role": "assistant", "content": "\n".join(texts) if texts else None}
        if calls:
            out["tool_calls"] = calls
        if reasoning and self.flavour == "v4":
            out["reasoning_content"] = "\n".join(reasoning)
        return out

    def _user(self, content: Any) -> list[dict[str, Any]]:
        if isinstance(content, str):
            content = self._sent_text(content)
            if self.open_calls:
                self.stats.missing_results += len(self.open_calls)
                return [*({"role": "tool", "tool_call_id": cid, "content": PLACEHOLDER_RESULT}
                          for cid in self.open_calls), {"role": "user", "content": content}]
            return [{"role": "user", "content": content}]
        open_ids = list(self.open_calls)
        results, unmatched, rest = self._split_results(content, open_ids)
        waiting = [cid for cid in open_ids if cid not in results]
        # Results whose id does not match (Cline's "cline" fallback id) answer the open calls in order.
        while waiting and unmatched:
            results[waiting.pop(0)] = unmatched.pop(0)[1]
            self.stats.id_results_paired += 1
        # Then "[tool for 'x'] Result:" text blocks, in order.
        if waiting:
            rest = self._pair_text_results(rest, waiting, results)
        self.stats.missing_results += len(waiting)
        out: list[dict[str, Any]] = []
        for cid in open_ids:
            out.append({"role": "tool", "tool_call_id": cid, "content": results.get(cid, PLACEHOLDER_RESULT)})
        for cid, text in unmatched:
            out.append({"role": "tool", "tool_call_id": cid, "content": text})
        parts = self._user_parts(rest)
        if parts:
            if self.flavour == "v4" and len(parts) == 1:
                out.append({"role": "user", "content": parts[0]["text"]})
            else:
                out.append({"role": "user", "content": parts})
        return out

    def _split_results(self, content: list[dict[str, Any]], open_ids: list[str]) -> tuple[
            dict[str, str], list[tuple[str, str]], list[dict[str, Any]]]:
        """(results by open call id, results whose id matches no open call, the other blocks)."""
        results: dict[str, str] = {}
        unmatched: list[tuple[str, str]] = []  # (original id, content)
        rest: list[dict[str, Any]] = []
        for block in content:
            if block["type"] == "tool_result":
                text = self._tool_result_text(block.get("content"))
                cid = block["tool_use_id"]
                if cid in open_ids and cid not in results:
                    results[cid] = text
                else:
                    unmatched.append((cid, text))
            else:
                rest.append(block)
        return results, unmatched, rest

    def _pair_text_results(self, rest: list[dict[str, Any]], waiting: list[str],
                           results: dict[str, str]) -> list[dict[str, Any]]:
        """Moves "[tool for 'x'] Result:" text blocks into results (taking ids off waiting); returns the others."""
        kept: list[dict[str, Any]] = []
        j = 0
        while j < len(rest):
            block = rest[j]
            if waiting and block["type"] == "text" and _TEXT_RESULT.match(block["text"]):
                text = block["text"]
                header_only = not text.split("Result:", 1)[1].strip()
                nxt = rest[j + 1] if j + 1 < len(rest) else None
                if header_only and nxt is not None and nxt["type"] == "text" and _is_result_body(nxt["text"]):
                    text = text + "\n" + nxt["text"]  # older Cline: header and content in two blocks
                    j += 1
                results[waiting.pop(0)] = text
                self.stats.text_results_paired += 1
            else:
                kept.append(block)
            j += 1
        return kept

    def _user_parts(self, rest: list[dict[str, Any]]) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = []
        for block in rest:
            kind = block["type"]
            if kind == "text":
                parts.append({"type": "text", "text": self._sent_text(block["text"])})
            elif kind == "file":
                parts.append({"type": "text", "text": _file_block(block["path"], block["content"])})
            elif kind == "image":
                self.stats.images += 1
            elif kind == "document":
                self.stats.documents += 1
            elif kind in ("thinking", "redacted_thinking"):
                pass  # not sent in user turns
        dropped_all = not parts and any(b["type"] in ("image", "document") for b in rest)
        if dropped_all:
            parts.append({"type": "text", "text": IMAGE_OMITTED})
        return parts

    def _sent_text(self, text: str) -> str:
        """User text as the SDK sends it: it stores the prompt inside ``<user_input mode=...>``
        (``<user_command>`` for slash commands) and unwraps it on the way out (seen on the wire
        of Cline CLI 3.0.65)."""
        if self.flavour != "v4" or "<user_" not in text:
            return text
        sent = text.strip()
        for tag in _SDK_WRAPPERS:
            unwrapped = re.sub(rf"<{tag}\b[^>]*>([\s\S]*?)</{tag}>", r"\1", sent)
            sent = (unwrapped if unwrapped != sent else re.sub(rf"<{tag}[^>]*>", "", sent)).strip()
        self.stats.unwrapped += sent != text
        return sent

    def _tool_result_text(self, content: Any) -> str:
        if content is None:
            return ""
        if isinstance(content, str):
            return content
        if not isinstance(content, list):
            return _js_json(content)
        pieces = []
        for part in content:
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text" and isinstance(part.get("text"), str):
                pieces.append(part["text"])
            elif kind == "file" and isinstance(part.get("path"), str):
                pieces.append(_file_block(part["path"], str(part.get("content", ""))))
            elif kind == "image":
                self.stats.images += 1
                pieces.append("(see following user message for image)" if self.flavour == "v3" else IMAGE_OMITTED)
            elif self.flavour == "v4":
                pieces.append(_js_json(part))  # the SDK sends any other part as its JSON
            else:
                pieces.append(str(part.get("text", "")) if isinstance(part, dict) else str(part))
        return "\n".join(pieces)


def _is_result_body(text: str) -> bool:
    head = text.lstrip()
    return not (_TEXT_RESULT.match(text) or head.startswith(("<environment_details>", "<task>", "<feedback>",
                                                               "<user_message>", "[TASK RESUMPTION]")))


def _file_block(path: str, content: str) -> str:
    return f'<file_content path="{path}">\n{content}\n</file_content>'


def _tool_input(value: Any, flavour: str) -> Any:
    if isinstance(value, list) and flavour == "v4":
        return {"commands": value}  # the SDK's normalizeToolUseInput
    return {} if value is None else value


def _js_json(value: Any) -> str:
    """JSON.stringify: compact, non-ASCII kept."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def reconstructed_tools(names: list[str]) -> list[dict[str, Any]]:
    return names_only_tools(names)


def with_system(system: str, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"role": "system", "content": system}, *messages]
