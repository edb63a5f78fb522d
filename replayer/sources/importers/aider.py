"""Aider ``--llm-history-file`` (``.aider.llm.history``).

Aider appends two blocks per model call (``aider/io.py`` ``log_llm_history``)::

    TO LLM 2025-01-31T11:21:36
    -------
    SYSTEM Act as an expert code analyst.
    -------
    USER I am working with you on code in a git repository.
    LLM RESPONSE 2025-01-31T11:21:41
    ASSISTANT I notice that ...

Every content line of every message is prefixed with the upper-case role and one space;
``-------`` starts each message of the request. Lines without a role prefix continue the
previous line (multi-line values of list content, ``ROLE text: ...``). A failed call logs
an empty response (a blank line). Each ``TO LLM`` block is the complete prompt of one call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from replayer.sources.builder import Call, Fidelity, iso
from replayer.trace.model import sane_time
from replayer.sources.importers.base import ImportOptions, Imported, format_error, read_text

NAME = "aider"
READS_FOLDERS = False

_HEADER = re.compile(r"^(TO LLM|LLM RESPONSE) (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)\s*$")
_ROLE = re.compile(r"^(SYSTEM|USER|ASSISTANT)(?: (.*)|)$", re.DOTALL)
_SEPARATOR = "-------"
_ROLES = {"SYSTEM": "system", "USER": "user", "ASSISTANT": "assistant"}
_LIST_KEY = re.compile(r"^([A-Za-z_]+)(?: URL)?: ?(.*)$", re.DOTALL)


def detect(path: Path, head: bytes) -> bool:
    if path.is_dir():
        return False
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    for line in text.splitlines():
        if line.strip():
            return bool(re.match(r"^TO LLM \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", line))
    return False


@dataclass
class _Message:
    role: str
    line: int
    # (has_role_prefix, text) per source line
    lines: list[tuple[bool, str]] = field(default_factory=list)


@dataclass
class _Block:
    kind: str  # "TO LLM" | "LLM RESPONSE"
    stamp: datetime
    line: int
    messages: list[_Message] = field(default_factory=list)


def load(path: Path, options: ImportOptions) -> Imported:
    blocks = _parse(path, read_text(path))

    stats = {"list_content": 0, "images": 0, "cache_control": 0, "empty": 0, "unanswered": 0}
    calls: list[Call] = []
    i = 0
    while i < len(blocks):
        call, i = _call(path, blocks, i, options, stats)
        calls.append(call)
    notes = ["aider sends no tools: file edits are text blocks (SEARCH/REPLACE, whole file, udiff) in the reply"]
    return Imported(
        name=_name(path),
        calls=calls,
        provenance={"agent": "aider", "agent_version": None, "model": None, "source": str(path),
                    "created_at": calls[0].requested_at if calls else None, "notes": notes},
        fidelity=_fidelity(options, stats),
    )


def _call(path: Path, blocks: list[_Block], i: int, options: ImportOptions,
          stats: dict[str, int]) -> tuple[Call, int]:
    """The call of the 'TO LLM' block blocks[i] (with its reply when one follows), and the next block's index."""
    block = blocks[i]
    if block.kind != "TO LLM":
        raise format_error(path, f"line {block.line}",
                           "expected a 'TO LLM <time>' block before this 'LLM RESPONSE'")
    if not block.messages:
        raise format_error(path, f"line {block.line}", "expected at least one message in this 'TO LLM' block")
    messages = [_to_chat(path, m, stats) for m in block.messages]
    if options.system_prompt is not None:
        messages = _with_system(messages, options.system_prompt)
    response: dict[str, Any] = {"role": "assistant", "content": ""}
    responded_at = None
    error = None
    finish = None
    if i + 1 < len(blocks) and blocks[i + 1].kind == "LLM RESPONSE":
        reply = blocks[i + 1]
        responded_at = iso(reply.stamp)
        content = "\n".join(_text_of(reply.messages[0])) if reply.messages else ""
        response["content"] = content
        if content:
            finish = "stop"
        else:
            stats["empty"] += 1
            error = "empty response: the call failed or was interrupted (aider logged no text)"
        i += 2
    else:
        stats["unanswered"] += 1
        error = "no 'LLM RESPONSE' block follows this request (aider stopped before it answered)"
        i += 1
    return Call(messages=messages, response=response, params={}, tools=None, finish_reason=finish,
                requested_at=iso(block.stamp), responded_at=responded_at, error=error), i


def _fidelity(options: ImportOptions, stats: dict[str, int]) -> Fidelity:
    fidelity = Fidelity(
        exact=[
            "every request's complete message list as aider logged it (system prompt, examples, repository map, "
            "file contents, history, current request)",
            "response text",
            "request and response times, to the second",
        ],
        reconstructed=[
            "message text re-joined from aider's role-prefixed lines: the trailing newline of every message is lost "
            "(aider logs content.splitlines())",
            "times are the recording machine's local time without a zone; stored as if UTC",
            "finish_reason 'stop' assumed for non-empty responses",
        ],
        missing=[
            "model name and request parameters (aider does not log them)",
            "token usage (generation length is re-tokenized at replay)",
        ],
    )
    if options.system_prompt is not None:
        fidelity.reconstructed.append("system prompt replaced by --system-prompt")
    if stats["list_content"]:
        fidelity.reconstructed.append(
            f"{stats['list_content']} message(s) with list content (prompt caching / images) flattened to text"
            + (f"; {stats['cache_control']} cache_control marker(s) dropped" if stats["cache_control"] else ""))
    if stats["images"]:
        fidelity.missing.append(f"{stats['images']} image part(s) dropped (text-only replay)")
    if stats["empty"]:
        fidelity.reconstructed.append(f"{stats['empty']} empty response(s) (failed calls) kept as empty assistant "
                                      "messages, marked as errors")
    if stats["unanswered"]:
        fidelity.missing.append(f"{stats['unanswered']} request(s) without a logged response (kept with an empty "
                                "answer, marked as errors)")
    return fidelity


def _parse(path: Path, text: str) -> list[_Block]:
    blocks: list[_Block] = []
    current: _Block | None = None
    for n, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        m = _HEADER.match(line)
        if m:
            try:
                stamp = datetime.fromisoformat(m.group(2))
            except ValueError:
                raise format_error(path, f"line {n}", f"invalid timestamp {m.group(2)!r}") from None
            if not sane_time(stamp):
                raise format_error(path, f"line {n}", f"expected a time between 1970 and 2100, got {m.group(2)!r}")
            current = _Block(m.group(1), stamp, n)
            blocks.append(current)
            continue
        if current is None:
            if line.strip():
                raise format_error(path, f"line {n}", "expected a 'TO LLM <time>' header (is this an aider "
                                                      "--llm-history-file?)")
            continue
        if current.kind == "TO LLM" and line == _SEPARATOR:
            current.messages.append(_Message("", n))
            continue
        rm = _ROLE.match(line)
        if rm:
            role, rest = rm.group(1), rm.group(2) or ""
            if current.kind == "LLM RESPONSE" and role != "ASSISTANT":
                raise format_error(path, f"line {n}", f"expected 'ASSISTANT' lines in an LLM RESPONSE block, "
                                                      f"got {role!r}")
            if not current.messages or (current.messages[-1].role and current.messages[-1].role != role):
                current.messages.append(_Message(role, n))
            msg = current.messages[-1]
            msg.role = role
            msg.lines.append((True, rest))
            continue
        # A line without a role prefix continues the previous message line.
        if not line.strip() and (not current.messages or not current.messages[-1].lines):
            continue  # the blank line of an empty response, or a stray blank line
        if not current.messages or not current.messages[-1].lines:
            raise format_error(path, f"line {n}", "expected a role prefix (SYSTEM, USER or ASSISTANT) at the start "
                                                  "of a message, got a line without one")
        current.messages[-1].lines.append((False, line))
    for block in blocks:
        for msg in block.messages:
            if not msg.role:
                raise format_error(path, f"line {msg.line}", "message without a role: no 'SYSTEM', 'USER' or "
                                                             "'ASSISTANT' line follows this '-------'")
            while msg.lines and not msg.lines[-1][0] and not msg.lines[-1][1].strip():
                msg.lines.pop()  # trailing blank lines come from the log format, not the message
    return blocks


def _text_of(msg: _Message) -> list[str]:
    """Source lines re-joined: a continuation line extends the previous line."""
    out: list[str] = []
    for prefixed, text in msg.lines:
        if prefixed or not out:
            out.append(text)
        else:
            out[-1] += "\n" + text
    return out


def _to_chat(path: Path, msg: _Message, stats: dict[str, int]) -> dict[str, Any]:
    lines = _text_of(msg)
    role = _ROLES[msg.role]
    if lines and lines[0] in ("type: text", "type: image_url"):
        content = _flatten_list_content(lines, stats)
        if content is not None:
            stats["list_content"] += 1
            return {"role": role, "content": content}
    return {"role": role, "content": "\n".join(lines)}


def _flatten_list_content(lines: list[str], stats: dict[str, int]) -> str | None:
    """``ROLE type: text`` / ``ROLE text: ...`` / ``ROLE cache_control: {...}`` items -> text."""
    items: list[dict[str, str]] = []
    for line in lines:
        m = _LIST_KEY.match(line)
        if not m:
            return None  # not list content after all: keep the lines as they are
        key, value = m.group(1), m.group(2)
        if key == "type":
            items.append({"type": value})
        elif not items:
            return None
        else:
            items[-1][key.lower()] = value
    texts = []
    for item in items:
        if item["type"] == "text":
            texts.append(item.get("text", ""))
            if "cache_control" in item:
                stats["cache_control"] += 1
        else:
            stats["images"] += 1
    return "\n".join(texts)


def _with_system(messages: list[dict[str, Any]], system: str) -> list[dict[str, Any]]:
    if messages and messages[0]["role"] == "system":
        return [{"role": "system", "content": system}, *messages[1:]]
    return [{"role": "system", "content": system}, *messages]


def _name(path: Path) -> str:
    name = path.name
    for suffix in (".aider.llm.history", ".llm.history", ".history", ".txt", ".log"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    name = name.strip(".")
    return name or path.resolve().parent.name or "aider-session"
