"""Claude Code sessions: ``~/.claude/projects/<project>/<sessionId>.jsonl``.

Each record is ``{type, uuid, parentUuid, isSidechain, sessionId, timestamp, cwd, gitBranch,
version, message?, ...}``; ``type`` ``user``/``assistant`` records carry an Anthropic message.
Other records (``summary``, ``system``, ``attachment``, ``file-history-snapshot``,
``queue-operation``, ``progress``, ...) are not conversation.

Traps handled here:

- one API response is written as one record per content block, all sharing ``message.id``:
  records of one id are merged into one assistant message (one model call);
- the records form a tree through ``uuid``/``parentUuid`` (rewinds, forks; parallel tool
  results hang off the record holding their ``tool_use``): the main chain is walked back from
  the last non-sidechain message, then each response's blocks and tool results are gathered
  by message id and ``tool_use_id``; sidechains (subagents) are left out;
- a ``compact_boundary`` system record starts a new context: calls after it sent only the
  messages after it (its ``logicalParentUuid`` leads back to the calls before);
- files are sometimes pretty-printed: records are read with a ``raw_decode`` loop, not per line;
- Anthropic blocks become OpenAI messages: ``tool_use`` -> assistant ``tool_calls``
  (``arguments`` a JSON string), ``tool_result`` -> ``role: tool`` messages placed before the
  user's remaining text, ``thinking`` dropped, images replaced by a text marker;
- the system prompt and tool schemas are not stored: ``--system-prompt`` / ``--tools``, or a
  stand-in prompt and the tool names seen in the calls with empty schemas.

Headless ``claude -p --output-format stream-json --verbose`` output (no ``parentUuid``; a first
``system``/``init`` record listing the tools) is read in file order.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from replayer.sources.builder import Call, Fidelity, SharedHistory
from replayer.errors import TraceError
from replayer.sources.importers.base import (STANDIN_SYSTEM_PROMPT, ImportOptions, Imported, format_error,
                                             names_only_tools, parse_iso, raw_values, read_text, want)

NAME = "claude-code"
READS_FOLDERS = False

_STOP = {"end_turn": "stop", "tool_use": "tool_calls", "max_tokens": "length", "stop_sequence": "stop",
         "pause_turn": "stop", "refusal": "stop"}
_KEYS = re.compile(rb'"(parentUuid|sessionId|session_id|leafUuid)"\s*:')
_TYPE = re.compile(rb'"type"\s*:\s*"(user|assistant|summary|system|file-history-snapshot|queue-operation|attachment)"')


def detect(path: Path, head: bytes) -> bool:
    text = head.lstrip()
    if not text.startswith((b"{", b"[")):
        return False
    found = False
    try:
        records, _ = _decode(head.decode("utf-8", errors="replace"), path=None, limit=20)
    except ValueError:
        records = []
    for obj, _ in records:
        if not isinstance(obj, dict):
            return False
        kind = obj.get("type")
        if kind in ("user", "assistant") and isinstance(obj.get("message"), dict) and (
                "parentUuid" in obj or "sessionId" in obj or "session_id" in obj):
            return True
        if kind == "summary" and "leafUuid" in obj:
            found = True
        if kind == "system" and obj.get("subtype") == "init" and "session_id" in obj:
            return True
        if kind == "file-history-snapshot" and "snapshot" in obj:
            found = True
        if kind in ("queue-operation", "progress", "attachment", "last-prompt", "ai-title", "permission-mode") \
                and "sessionId" in obj:
            found = True
    if found:
        return True
    if not records:
        # The first record is longer than the head: look at its keys.
        return bool(_KEYS.search(head)) and bool(_TYPE.search(head)) and b'"parentUuid"' in head
    return False


# -- reading ---------------------------------------------------------------------------------


def _decode(text: str, path: Path | None, limit: int | None = None) -> tuple[list[tuple[Any, int]], bool]:
    """(object, line) pairs from a text of concatenated JSON values (JSONL or pretty-printed).
    A JSON list contributes its items. A torn final record (no newline after it) is skipped.
    Returns the records and whether one was skipped."""
    ws = re.compile(r"\s*")
    out: list[tuple[Any, int]] = []
    pos, line, counted = 0, 1, 0
    n = len(text)
    while True:
        pos = ws.match(text, pos).end()
        if pos >= n or (limit is not None and len(out) >= limit):
            return out, False
        line += text.count("\n", counted, pos)
        counted = pos
        try:
            obj, end = raw_values(path or Path("<head>"), text, pos)
        except TraceError:
            if path is None:
                return out, True  # detection: too deep to be a session
            raise
        except json.JSONDecodeError as exc:
            rest = text[pos:]
            if path is None:
                return out, True
            if not text.endswith("\n") and (exc.pos >= len(text.rstrip()) or "\n" not in rest.strip()):
                return out, True
            err_line = text.count("\n", 0, exc.pos) + 1
            raise format_error(path, f"line {err_line}", f"invalid JSON: {exc.msg}") from None
        if isinstance(obj, list):
            out.extend((item, line) for item in obj)
        else:
            out.append((obj, line))
        pos = end


def _read(path: Path) -> tuple[list[tuple[dict[str, Any], int]], bool]:
    records, torn = _decode(read_text(path), path)
    out = []
    for obj, line in records:
        if not isinstance(obj, dict):
            raise format_error(path, f"line {line}", "expected a JSON object")
        out.append((obj, line))
    return out, torn


def _check(path: Path, rec: dict[str, Any], line: int) -> None:
    msg = rec.get("message")
    if not isinstance(msg, dict):
        raise format_error(path, f"line {line}: message", "expected an object (the Anthropic message)")
    content = msg.get("content")
    if not isinstance(content, (str, list)):
        raise format_error(path, f"line {line}: message.content", "expected a string or a list of content blocks")
    if isinstance(content, list):
        for i, block in enumerate(content):
            where = f"line {line}: message.content[{i}]"
            if not isinstance(block, dict) or not isinstance(block.get("type"), str):
                raise format_error(path, where, "expected a content block with a 'type'")
            if block["type"] == "tool_use":
                if not isinstance(block.get("id"), str) or not isinstance(block.get("name"), str) or not block["name"]:
                    raise format_error(path, where, "expected a tool_use block with 'id' and 'name'")
            if block["type"] == "tool_result" and not isinstance(block.get("tool_use_id"), str):
                raise format_error(path, where, "expected a tool_result block with 'tool_use_id'")
    if rec.get("timestamp") is not None:
        try:
            datetime.fromisoformat(str(rec["timestamp"]))
        except ValueError:
            raise format_error(path, f"line {line}: timestamp",
                               f"expected an ISO 8601 time, got {rec['timestamp']!r}") from None


# Record fields the reader hashes, compares or indexes, and their types.
_RECORD_FIELDS = {"type": str, "uuid": str, "parentUuid": str, "logicalParentUuid": str, "timestamp": str,
                  "sessionId": str, "session_id": str, "subtype": str, "parent_tool_use_id": str, "gitBranch": str,
                  "summary": str, "tools": list, "cwd": str, "version": str}
_MESSAGE_FIELDS = {"id": str, "model": str, "stop_reason": str, "usage": dict}


def _check_record(path: Path, rec: dict[str, Any], line: int) -> None:
    """Every field used is of its type; the time, when there is one, is in range and in the
    trace's UTC form from here on."""
    for key, kind in _RECORD_FIELDS.items():
        want(rec.get(key), kind, path, f"line {line}: {key}")
    if rec.get("type") in ("user", "assistant") and "message" in rec:
        _check(path, rec, line)
        for key, kind in _MESSAGE_FIELDS.items():
            want(rec["message"].get(key), kind, path, f"line {line}: message.{key}")
    elif rec.get("type") in ("user", "assistant"):
        raise format_error(path, f"line {line}", f"a {rec['type']!r} record without 'message'")
    if rec.get("timestamp") is not None:
        rec["timestamp"] = parse_iso(rec["timestamp"], path, f"line {line}: timestamp")


# -- the main chain --------------------------------------------------------------------------

_BOUNDARY = object()


def _chain(path: Path, records: list[tuple[dict[str, Any], int]], notes: list[str]) -> list[Any]:
    """Records from the root to the last leaf, with _BOUNDARY where a compaction cut the context."""
    convo = [(r, ln) for r, ln in records if r.get("type") in ("user", "assistant") and "message" in r]
    main = [(r, ln) for r, ln in convo if not r.get("isSidechain")]
    if not main:
        return []
    if not any("parentUuid" in r for r, _ in records):
        # stream-json: file order; subagent messages carry parent_tool_use_id
        return [r for r, _ in main if not r.get("parent_tool_use_id")]
    by_uuid: dict[str, tuple[dict[str, Any], int]] = {}
    for rec, ln in records:
        uid = rec.get("uuid")
        if isinstance(uid, str) and uid not in by_uuid:
            by_uuid[uid] = (rec, ln)
    leaf, _ = main[-1]
    chain: list[Any] = []
    seen: set[str] = set()
    cur: dict[str, Any] | None = leaf
    while cur is not None:
        uid = cur.get("uuid")
        if isinstance(uid, str):
            if uid in seen:
                raise format_error(path, f"line {by_uuid[uid][1]}", f"parentUuid cycle through {uid!r}")
            seen.add(uid)
        chain.append(cur)
        parent = cur.get("parentUuid")
        if parent is None and cur.get("type") == "system" and isinstance(cur.get("logicalParentUuid"), str):
            chain.append(_BOUNDARY)
            parent = cur["logicalParentUuid"]
        if parent is None:
            break
        if parent not in by_uuid:
            notes.append(f"the chain stops at a parent not in the file ({parent})")
            break
        cur = by_uuid[parent][0]
    chain.reverse()
    n_main_ids = {id(r) for r, _ in main}
    off = len([r for r in chain if r is not _BOUNDARY and id(r) in n_main_ids])
    if off < len(main):
        notes.append(f"{len(main) - off} message records off the main chain (rewound branches, or parallel tool "
                     "calls and results gathered by id)")
    return chain


# -- Anthropic blocks -> OpenAI messages ------------------------------------------------------


def _flatten(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        out = []
        for block in content:
            if isinstance(block, dict) and block.get("type") == "text":
                out.append(str(block.get("text", "")))
            elif isinstance(block, dict):
                out.append(_marker(block))
            else:
                out.append(str(block))
        return "\n".join(out)
    return json.dumps(content, ensure_ascii=False)


def _marker(block: dict[str, Any]) -> str:
    kind = block.get("type")
    if kind == "image":
        source = block.get("source")
        media = source.get("media_type", "image") if isinstance(source, dict) else "image"
        return f"[image omitted: {media}]"
    if kind == "document":
        return "[document omitted]"
    return json.dumps(block, ensure_ascii=False)


def _user_parts(blocks: list[dict[str, Any]]) -> Any:
    parts = []
    for block in blocks:
        if block.get("type") == "text":
            parts.append({"type": "text", "text": str(block.get("text", ""))})
        else:
            parts.append({"type": "text", "text": _marker(block)})
    if len(parts) == 1:
        return parts[0]["text"]
    return parts


class _Builder:
    """Turns the main chain into segments of OpenAI messages and the model calls."""

    def __init__(self, records: list[tuple[dict[str, Any], int]]):
        main = [(r, ln) for r, ln in records if r.get("type") in ("user", "assistant")
                and isinstance(r.get("message"), dict) and not r.get("isSidechain")]
        self.groups: dict[str, list[dict[str, Any]]] = {}
        for rec, _ in main:
            if rec["type"] == "assistant" and isinstance(rec["message"].get("id"), str):
                self.groups.setdefault(rec["message"]["id"], []).append(rec)
        self.results: dict[str, dict[str, Any]] = {}  # tool_use_id -> user record holding the result
        for rec, _ in main:
            content = rec["message"].get("content")
            if rec["type"] == "user" and isinstance(content, list):
                for block in content:
                    if block.get("type") == "tool_result":
                        self.results.setdefault(block["tool_use_id"], rec)
        self.consumed: set[int] = set()
        self.emitted_ids: set[str] = set()
        self.open_calls: set[str] = set()  # tool calls emitted without a result yet
        self.thinking = self.synthetic = self.other_blocks = self.images = 0
        self.unanswered = 0

    def assistant(self, rec: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]],
                                                       list[dict[str, Any]]] | None:
        mid = rec["message"].get("id")
        if isinstance(mid, str):
            if mid in self.emitted_ids:
                return None
            self.emitted_ids.add(mid)
            group = self.groups.get(mid, [rec])
        else:
            group = [rec]
        texts: list[str] = []
        calls: list[dict[str, Any]] = []
        seen_calls: set[str] = set()
        seen_text: set[str] = set()
        for part in group:
            content = part["message"]["content"]
            blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
            for block in blocks:
                kind = block.get("type")
                if kind == "text":
                    text = str(block.get("text", ""))
                    if text and text not in seen_text:
                        seen_text.add(text)
                        texts.append(text)
                elif kind == "tool_use":
                    if block["id"] in seen_calls:
                        continue
                    seen_calls.add(block["id"])
                    args = block.get("input", {})
                    calls.append({"id": block["id"], "type": "function",
                                  "function": {"name": block["name"],
                                               "arguments": args if isinstance(args, str)
                                               else json.dumps(args, ensure_ascii=False)}})
                elif kind in ("thinking", "redacted_thinking"):
                    self.thinking += 1
                else:
                    self.other_blocks += 1
        message: dict[str, Any] = {"role": "assistant", "content": "\n\n".join(texts) if texts else None}
        if calls:
            message["tool_calls"] = calls
        # Results of these calls, wherever they hang in the tree, then the rest of those user records.
        after: list[dict[str, Any]] = []
        trailing: list[dict[str, Any]] = []
        for call in calls:
            holder = self.results.get(call["id"])
            if holder is None:
                self.unanswered += 1
                continue
            for block in holder["message"]["content"]:
                if block.get("type") == "tool_result" and block["tool_use_id"] == call["id"]:
                    after.append({"role": "tool", "tool_call_id": call["id"], "content": self._result_text(block)})
            if id(holder) not in self.consumed:
                self.consumed.add(id(holder))
                rest = [b for b in holder["message"]["content"] if b.get("type") != "tool_result"]
                if rest:
                    trailing.append({"role": "user", "content": _user_parts(rest)})
                    self.images += sum(1 for b in rest if b.get("type") == "image")
        return message, after + trailing, group

    def user(self, rec: dict[str, Any]) -> list[dict[str, Any]]:
        if id(rec) in self.consumed:
            return []
        self.consumed.add(id(rec))
        content = rec["message"]["content"]
        if isinstance(content, str):
            return [{"role": "user", "content": content}]
        out: list[dict[str, Any]] = []
        rest = []
        for block in content:
            if block.get("type") == "tool_result":
                # A result whose call was not matched above: keep the text, as the user's.
                rest.append({"type": "text", "text": f"[tool result {block['tool_use_id']}]\n"
                                                     + self._result_text(block)})
            else:
                rest.append(block)
        if rest:
            self.images += sum(1 for b in rest if b.get("type") == "image")
            out.append({"role": "user", "content": _user_parts(rest)})
        return out

    def _result_text(self, block: dict[str, Any]) -> str:
        content = block.get("content")
        if isinstance(content, list):
            self.images += sum(1 for b in content if isinstance(b, dict) and b.get("type") == "image")
        return _flatten(content)


def _usage(group: list[dict[str, Any]], message: dict[str, Any], notes_flag: list[bool]) -> dict[str, Any] | None:
    usages = [r["message"].get("usage") for r in group if isinstance(r["message"].get("usage"), dict)]
    if not usages:
        return None
    last = usages[-1]
    prompt = sum(last.get(k) or 0 for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
                 if isinstance(last.get(k), int))
    outs = [u.get("output_tokens") for u in usages if isinstance(u.get("output_tokens"), int)]
    usage: dict[str, Any] = {}
    if prompt:
        usage["prompt_tokens"] = prompt
    if outs:
        completion = max(outs)
        visible = len(message.get("content") or "") + sum(len(tc["function"]["arguments"]) + len(tc["function"]["name"])
                                                           for tc in message.get("tool_calls") or [])
        # Streamed records may carry the count from message_start (a handful of tokens):
        # an implausibly low count is dropped so that replay sizes the turn itself.
        if completion * 4 >= visible // 4:
            usage["completion_tokens"] = completion
        else:
            notes_flag[0] = True
    return usage or None


class _Walk:
    """Walks the main chain into calls: each request is its context segment so far."""

    def __init__(self, records: list[tuple[dict[str, Any], int]], system: str) -> None:
        self.builder = _Builder(records)
        self.system = system
        self.system_message = {"role": "system", "content": system}
        self.segments: list[list[dict[str, Any]]] = [[]]  # a compaction starts a new one
        self.calls: list[Call] = []
        self.last_time: str | None = None
        self.low_usage = [False]
        self.compactions = 0

    def walk(self, chain: list[Any]) -> None:
        for rec in chain:
            if rec is _BOUNDARY:
                self.segments.append([])
                self.compactions += 1
                continue
            kind = rec.get("type")
            if kind == "assistant" and "message" in rec:
                self._assistant(rec)
            elif kind == "user" and "message" in rec:
                self.segments[-1].extend(self.builder.user(rec))
                self.last_time = rec.get("timestamp") or self.last_time
            elif rec.get("timestamp"):
                self.last_time = rec["timestamp"]

    def _assistant(self, rec: dict[str, Any]) -> None:
        msg = rec["message"]
        if rec.get("isApiErrorMessage") or msg.get("model") == "<synthetic>":
            self.builder.synthetic += 1
            return
        built = self.builder.assistant(rec)
        if built is None:
            return  # a later record of a response already taken
        message, after, group = built
        seg = self.segments[-1]
        stops = [r["message"].get("stop_reason") for r in group if r["message"].get("stop_reason")]
        finish = _STOP.get(stops[-1], "stop") if stops else ("tool_calls" if message.get("tool_calls") else "stop")
        times = [r.get("timestamp") for r in group if r.get("timestamp")]
        self.calls.append(Call(
            messages=SharedHistory(seg, head=[self.system_message]),
            response=message,
            params={"model": msg["model"]} if isinstance(msg.get("model"), str) else {},
            tools=None, finish_reason=finish, usage=_usage(group, message, self.low_usage),
            requested_at=_iso(self.last_time), responded_at=_iso(times[-1] if times else None),
            repo={"branch": rec["gitBranch"]} if isinstance(rec.get("gitBranch"), str) and rec["gitBranch"]
            else None,
        ))
        seg.append(message)
        seg.extend(after)
        self.last_time = times[-1] if times else self.last_time


def load(path: Path, options: ImportOptions) -> Imported:
    records, torn = _read(path)
    notes: list[str] = []
    if torn:
        notes.append("a torn last record (the writer was interrupted) was skipped")
    for rec, line in records:
        _check_record(path, rec, line)
    chain = _chain(path, records, notes)
    if not chain:
        raise format_error(path, "", "no user or assistant message in this file (is it a Claude Code session?)")

    walk = _Walk(records, options.system_prompt if options.system_prompt is not None else STANDIN_SYSTEM_PROMPT)
    walk.walk(chain)
    calls = walk.calls
    if not calls:
        raise format_error(path, "", "no assistant response on the main chain: the session made no model call")
    tools, tool_source = _tools(records, calls, options)
    for call in calls:
        call.tools = tools
    fidelity = _fidelity(options, tool_source, walk, records)
    notes.extend(_walk_notes(walk))

    first = next((r for r, _ in records if r.get("type") in ("user", "assistant")), {})
    init = next((r for r, _ in records if r.get("type") == "system" and r.get("subtype") == "init"), {})
    cwd = first.get("cwd") or init.get("cwd")
    if cwd:
        notes.append(f"working directory: {cwd}")
    branch = first.get("gitBranch")
    return Imported(
        name=str(first.get("sessionId") or init.get("session_id") or path.stem),
        calls=calls,
        provenance={"agent": "Claude Code", "agent_version": first.get("version") or init.get("claude_code_version"),
                    "model": next((c.params.get("model") for c in calls if c.params.get("model")), None)
                    or init.get("model"),
                    "source": str(path),
                    "created_at": _iso(next((r.get("timestamp") for r, _ in records if r.get("timestamp")), None)),
                    "notes": notes},
        fidelity=fidelity,
        repository={"branch": branch} if isinstance(branch, str) and branch else None,
        description=next((r.get("summary") for r, _ in reversed(records) if r.get("type") == "summary"
                          and isinstance(r.get("summary"), str)), None),
    )


def _fidelity(options: ImportOptions, tool_source: str, walk: _Walk,
              records: list[tuple[dict[str, Any], int]]) -> Fidelity:
    builder = walk.builder
    exact = ["user messages and tool results (the tool_result blocks the model saw)",
             "assistant responses (text and tool calls; streamed records merged by message id)"]
    reconstructed = ["Anthropic blocks mapped to OpenAI messages (tool_result -> role tool, before the user's text)",
                     "requests: the main chain of messages before each response"]
    missing: list[str] = []
    if options.system_prompt is not None:
        exact.append("system prompt supplied with --system-prompt")
    else:
        missing.append("system prompt (Claude Code does not store it; a stand-in is used: pass --system-prompt)")
    if tool_source == "options":
        exact.append("tool schemas supplied with --tools")
    else:
        reconstructed.append("tools: names " + ("from the init record" if tool_source == "init" else
                                                "taken from the recorded calls"))
        missing.append("tool schemas (not stored; empty parameter schemas; supply them with --tools)")
    if builder.thinking:
        missing.append(f"{builder.thinking} thinking blocks (dropped: their signatures only work with Anthropic)")
    if builder.images:
        missing.append(f"{builder.images} images (replaced by a text marker)")
    if walk.compactions:
        reconstructed.append(f"{walk.compactions} compaction(s): calls after a compact boundary sent only the "
                             "summary and the messages after it")
    n_attach = sum(1 for r, _ in records if r.get("type") == "attachment")
    if n_attach:
        missing.append(f"{n_attach} attachment records (context Claude Code injects as <system-reminder> text) "
                       "not reconstructed")
    if any(c.usage for c in walk.calls):
        exact.append("token usage (Anthropic counts: prompt = input + cache creation + cache read)")
    reconstructed.append("timestamps: request = the record before the response, response = its last record")
    missing.append("sampling parameters (not stored)")
    return Fidelity(exact=exact, reconstructed=reconstructed, missing=missing)


def _walk_notes(walk: _Walk) -> list[str]:
    builder = walk.builder
    notes = []
    if builder.other_blocks:
        notes.append(f"{builder.other_blocks} other assistant blocks (server tools and the like) left out")
    if builder.synthetic:
        notes.append(f"{builder.synthetic} synthetic assistant records (API errors, not model output) left out")
    if builder.unanswered:
        notes.append(f"{builder.unanswered} tool calls have no recorded result")
    if walk.low_usage[0]:
        notes.append("some streamed records carry an implausibly low output token count; those turns are sized "
                     "at replay instead")
    return notes


def _tools(records: list[tuple[dict[str, Any], int]], calls: list[Call],
           options: ImportOptions) -> tuple[list[dict[str, Any]] | None, str]:
    if options.tools:
        return options.tools, "options"
    names: list[str] = []
    source = "calls"
    init = next((r for r, _ in records if r.get("type") == "system" and r.get("subtype") == "init"), None)
    if init and isinstance(init.get("tools"), list):
        names = [t for t in init["tools"] if isinstance(t, str) and t]
        source = "init"
    for call in calls:
        for tc in call.response.get("tool_calls") or []:
            if tc["function"]["name"] not in names:
                names.append(tc["function"]["name"])
    if not names:
        return None, source
    return names_only_tools(names), source


def _iso(value: Any) -> str | None:
    return value if isinstance(value, str) else None  # times are checked and in UTC form (_check_record)
