"""OpenCode (npm ``opencode-ai`` 1.x) sessions, for sessions recorded without `replay record`.

Pass OpenCode's database (``~/.local/share/opencode/opencode.db``, or that folder; pick a
session with ``--session ID`` or ``--session latest`` when it holds several), or the JSON of
``opencode export <sessionID>``. A session is a list of messages, each an ``info`` (role,
model, tokens, times) and ``parts``: ``text``, ``file``, ``tool`` (call id, tool, input and
state with its output), ``reasoning``, ``compaction``, and ``step-start`` / ``step-finish``
markers around each model call.

Each step (``step-start`` .. ``step-finish``) of an assistant message is one model call. Its
request is the conversation so far (since the last compaction), converted the way OpenCode
builds its model messages and the AI SDK's OpenAI-compatible provider sends them: one
assistant message per step (its texts joined, ``tool_calls`` with the compact JSON of each
input), then a ``tool`` message per call. OpenCode stores neither its system prompt nor its
tool schemas: the fidelity report says so, and ``--system-prompt`` / ``--tools`` supply them.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from replayer.sources.builder import Call, Fidelity, SharedHistory
from replayer.sources.importers._opencode_store import (DB_NAME, SQLITE_MAGIC, Stored, StoredMessage, is_database,
                                                        read)
from replayer.sources.importers.base import (STANDIN_SYSTEM_PROMPT, ImportOptions, Imported, format_error,
                                             names_only_tools, note_tools, posix_iso, want)

NAME = "opencode"
READS_FOLDERS = True  # OpenCode's data folder

CLEARED = "[Old tool result content cleared]"  # what OpenCode sends for a compacted tool output
INTERRUPTED = "[Tool execution was interrupted]"  # ... and for a call that never finished
COMPACTION_PROMPT = "What did we do so far?"
SUBTASK_PROMPT = "The following tool was executed by the user"
_FINISH = {"tool-calls": "tool_calls", "content-filter": "content_filter"}


def detect(path: Path, head: bytes) -> bool:
    if path.is_dir():
        return (path / DB_NAME).is_file()
    if head.startswith(SQLITE_MAGIC):
        return is_database(path, head)
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:8192]
    return (text.startswith(b"{") and b'"info"' in text and b'"messages"' in text
            and (b'"projectID"' in text or b'"slug"' in text))


@dataclass
class _Stats:
    tool_names: list[str] = field(default_factory=list)
    reasoning: int = 0
    media: int = 0
    compactions: int = 0
    cleared: int = 0
    interrupted: int = 0
    failed_messages: int = 0  # assistant messages with an error and nothing OpenCode would send again


@dataclass
class _Step:
    """One model call of an assistant message: the parts between two step-start markers."""
    start: int | None = None  # index of its step-start part
    texts: list[str] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    results: list[dict[str, Any]] = field(default_factory=list)
    finish: dict[str, Any] | None = None
    finish_at: int | None = None  # index of its step-finish part
    last_seen: int | None = None  # ms: the latest time a part of it mentions
    tools_done: int | None = None  # ms: when its last tool call ended (the next step is asked then)

    def message(self) -> dict[str, Any]:
        out: dict[str, Any] = {"role": "assistant", "content": "".join(self.texts)}
        if self.calls:
            out["tool_calls"] = self.calls
        return out

    @property
    def sent_again(self) -> bool:
        return bool(self.texts or self.calls)


def load(path: Path, options: ImportOptions) -> Imported:
    stored = read(path, options.session)
    stats = _Stats()
    steps = [(m, _steps(stored.path, m, stats)) if m.info.get("role") == "assistant" else (m, None)
             for m in _checked(stored)]
    tools = options.tools or (names_only_tools(stats.tool_names) if stats.tool_names else None)
    system = options.system_prompt if options.system_prompt is not None else STANDIN_SYSTEM_PROMPT
    calls = _calls(stored, steps, system, tools, stats)
    models = Counter(m.info["modelID"] for m, s in steps if s and isinstance(m.info.get("modelID"), str))
    info = stored.info
    version = info.get("version") if isinstance(info.get("version"), str) else None
    return Imported(
        name=str(info.get("id") or path.stem),
        calls=calls,
        provenance={"agent": f"OpenCode {version}" if version else "OpenCode", "agent_version": version,
                    "model": models.most_common(1)[0][0] if models else None, "source": str(stored.path),
                    "created_at": posix_iso(_time(info, "created"), stored.path, "$.info.time.created", 1000.0),
                    "notes": _notes(stored)},
        fidelity=_fidelity(options, stats, calls),
    )


def _checked(stored: Stored) -> list[StoredMessage]:
    for m in stored.messages:
        if m.info.get("role") not in ("user", "assistant"):
            raise format_error(stored.path, f"{m.where}.info.role",
                               f"expected 'user' or 'assistant', got {json.dumps(m.info.get('role'))}")
        for j, part in enumerate(m.parts):
            part = want(part, dict, stored.path, f"{m.where}.parts[{j}]", optional=False)
            want(part.get("type"), str, stored.path, f"{m.where}.parts[{j}].type", optional=False)
    return stored.messages


def _calls(stored: Stored, messages: list[tuple[StoredMessage, list[_Step] | None]], system: str,
           tools: list[dict[str, Any]] | None, stats: _Stats) -> list[Call]:
    history: list[dict[str, Any]] = [{"role": "system", "content": system}]
    restart: int | None = None  # where the history starts again once a compaction's summary is written
    calls: list[Call] = []
    for msg, steps in messages:
        if steps is None:
            if any(p["type"] == "compaction" for p in msg.parts):
                stats.compactions += 1
                restart = len(history)
            history.extend(_user(stored.path, msg, stats))
            continue
        for k, step in enumerate(steps):
            if step.start is not None or step.finish is not None:
                calls.append(_call(stored.path, msg, steps, k, SharedHistory(history), tools))
            if step.sent_again:
                history.append(step.message())
                history.extend(step.results)
        if restart is not None and msg.info.get("summary") is True:
            # OpenCode sends only what follows the compaction once its summary exists
            history = [history[0], *history[restart:]]
            restart = None
    return calls


def _user(path: Path, msg: StoredMessage, stats: _Stats) -> list[dict[str, Any]]:
    texts: list[str] = []
    for j, part in enumerate(msg.parts):
        kind = part["type"]
        if kind == "text" and not part.get("ignored"):
            text = want(part.get("text"), str, path, f"{msg.where}.parts[{j}].text", optional=False)
            if text:
                texts.append(text)
        elif kind == "file" and part.get("mime") not in ("text/plain", "application/x-directory"):
            stats.media += 1  # text files were inlined as text parts when attached
        elif kind == "compaction":
            texts.append(COMPACTION_PROMPT)
        elif kind == "subtask":
            texts.append(SUBTASK_PROMPT)
    if not texts:
        return []
    content: Any = texts[0] if len(texts) == 1 else [{"type": "text", "text": t} for t in texts]
    return [{"role": "user", "content": content}]


def _steps(path: Path, msg: StoredMessage, stats: _Stats) -> list[_Step]:
    """The model calls of one assistant message, in order; none when OpenCode would not send it again."""
    error = msg.info.get("error")
    if error is not None and not (isinstance(error, dict) and error.get("name") == "MessageAbortedError"
                                  and any(p["type"] not in ("step-start", "reasoning") for p in msg.parts)):
        stats.failed_messages += 1
        return []
    steps: list[_Step] = [_Step()]
    for j, part in enumerate(msg.parts):
        kind, step, loc = part["type"], steps[-1], f"{msg.where}.parts[{j}]"
        if kind == "step-start":
            if step.start is not None or step.sent_again or step.finish is not None:
                steps.append(_Step())
            steps[-1].start = j
        elif kind == "step-finish":
            step.finish, step.finish_at = part, j
        elif kind == "text":
            step.texts.append(want(part.get("text"), str, path, f"{loc}.text", optional=False))
            step.last_seen = _later(step.last_seen, _time(part, "end"))
        elif kind == "tool":
            _tool(path, loc, part, step, stats)
        elif kind == "reasoning":
            stats.reasoning += 1
    return [s for s in steps if s.start is not None or s.finish is not None or s.sent_again]


def _tool(path: Path, loc: str, part: dict[str, Any], step: _Step, stats: _Stats) -> None:
    call_id = want(part.get("callID"), str, path, f"{loc}.callID", optional=False)
    name = want(part.get("tool"), str, path, f"{loc}.tool", optional=False)
    state = want(part.get("state"), dict, path, f"{loc}.state", optional=False)
    if name not in stats.tool_names:
        stats.tool_names.append(name)
    step.calls.append({"id": call_id, "type": "function",
                       "function": {"name": name, "arguments": _js_json(state.get("input") or {})}})
    step.results.append({"role": "tool", "tool_call_id": call_id, "content": _result(state, stats)})
    step.last_seen = _later(step.last_seen, _time(state, "start"))
    step.tools_done = _later(step.tools_done, _time(state, "end"))


def _result(state: dict[str, Any], stats: _Stats) -> str:
    status = state.get("status")
    if status == "completed":
        if _time(state, "compacted"):
            stats.cleared += 1
            return CLEARED
        output = state.get("output")
        stats.media += len(state["attachments"]) if isinstance(state.get("attachments"), list) else 0
        return output if isinstance(output, str) else _js_json(output)
    if status == "error":
        meta = state.get("metadata") if isinstance(state.get("metadata"), dict) else {}
        if meta.get("interrupted") is True and isinstance(meta.get("output"), str):
            return meta["output"]
        error = state.get("error")
        return error if isinstance(error, str) else _js_json(error)
    stats.interrupted += 1  # pending or running when the session stopped
    return INTERRUPTED


def _call(path: Path, msg: StoredMessage, steps: list[_Step], k: int, messages: SharedHistory,
          tools: list[dict[str, Any]] | None) -> Call:
    step = steps[k]
    model = msg.info.get("modelID")
    params: dict[str, Any] = {"model": model} if isinstance(model, str) else {}
    if tools:
        params["tool_choice"] = "auto"
    finish = step.finish or {}
    reason = finish.get("reason") if isinstance(finish.get("reason"), str) else None
    before = steps[k - 1] if k else None
    asked = _part_time(msg, step.start) or (_time(msg.info, "created") if before is None
                                            else before.tools_done or before.last_seen)
    answered = _part_time(msg, step.finish_at) or (_time(msg.info, "completed") if k == len(steps) - 1
                                                   else step.last_seen)
    return Call(messages=messages, response=step.message(), params=params, tools=tools,
                finish_reason=_FINISH.get(reason, reason) if reason else ("tool_calls" if step.calls else None),
                usage=_usage(finish.get("tokens")),
                requested_at=posix_iso(asked, path, f"{msg.where} step {k + 1} start", 1000.0),
                responded_at=posix_iso(answered, path, f"{msg.where} step {k + 1} end", 1000.0))


def _usage(tokens: Any) -> dict[str, int] | None:
    """The provider's counts as OpenCode stored them: its ``input`` leaves out the cached part."""
    if not isinstance(tokens, dict) or not isinstance(tokens.get("input"), int):
        return None
    cache = tokens.get("cache") if isinstance(tokens.get("cache"), dict) else {}
    prompt = tokens["input"] + sum(v for v in (cache.get("read"), cache.get("write")) if isinstance(v, int))
    out = {"prompt_tokens": prompt}
    if isinstance(tokens.get("output"), int):
        reasoning = tokens.get("reasoning")
        out["completion_tokens"] = tokens["output"] + (reasoning if isinstance(reasoning, int) else 0)
    return out


def _fidelity(options: ImportOptions, stats: _Stats, calls: list[Call]) -> Fidelity:
    fidelity = Fidelity()
    if options.system_prompt is not None:
        fidelity.reconstructed.append("system prompt from --system-prompt")
    else:
        fidelity.missing.append("system prompt (OpenCode does not store it): a labelled stand-in is used; pass "
                                "--system-prompt FILE, or record with `replay record` for the exact one")
    note_tools(fidelity, bool(options.tools), stats.tool_names, "OpenCode")
    fidelity.exact.append("message history: user text, assistant text, tool calls with their arguments, tool "
                          "results, in order")
    with_usage = sum(c.usage is not None for c in calls)
    if with_usage:
        fidelity.exact.append(f"token usage of {with_usage} of {len(calls)} calls (the provider's counts as "
                              "OpenCode stored them)")
    if with_usage < len(calls):
        fidelity.missing.append(f"token usage of {len(calls) - with_usage} call(s)")
    if any(c.responded_at for c in calls):
        fidelity.exact.append("times (milliseconds): each message's, and each part's in the database")
    fidelity.reconstructed.append(
        "each step (step-start .. step-finish) of an assistant message is one call; its request = system prompt + "
        "the messages since the last compaction, converted as OpenCode and the AI SDK's OpenAI-compatible provider "
        "send them (a step's texts joined, tool arguments = compact JSON of the input, a tool message per result)")
    _note_losses(fidelity, stats)
    fidelity.missing.append("requests OpenCode makes beside the session (title generation) are not stored")
    return fidelity


def _note_losses(fidelity: Fidelity, stats: _Stats) -> None:
    if stats.reasoning:
        fidelity.missing.append(f"{stats.reasoning} reasoning part(s) left out of the requests")
    if stats.media:
        fidelity.missing.append(f"{stats.media} image(s) or file attachment(s) dropped (text-only replay)")
    if stats.compactions:
        fidelity.reconstructed.append(f"{stats.compactions} compaction(s): later requests start from the summary, "
                                      "as OpenCode sends them; the summary call's own system prompt is not stored")
    if stats.cleared:
        fidelity.reconstructed.append(f"{stats.cleared} compacted tool output(s) sent as {CLEARED!r}, as OpenCode "
                                      "does")
    if stats.interrupted:
        fidelity.reconstructed.append(f"{stats.interrupted} unfinished tool call(s) answered {INTERRUPTED!r}, as "
                                      "OpenCode does")
    if stats.failed_messages:
        fidelity.missing.append(f"{stats.failed_messages} assistant message(s) that ended in an error left out "
                                "(OpenCode does not send them again)")


def _notes(stored: Stored) -> list[str]:
    info = stored.info
    notes = [f"OpenCode session {info.get('id')}"]
    if isinstance(info.get("title"), str) and info["title"]:
        notes.append(f"title: {info['title']}")
    if isinstance(info.get("directory"), str):
        notes.append(f"working directory: {info['directory']}")
    if info.get("parentID"):
        notes.append(f"a subagent session of {info['parentID']}")
    if stored.others:
        notes.append(f"{stored.others} other session(s) in the same database (subagents run in sessions of their "
                     "own): pick one with --session ID")
    return notes


def _time(obj: dict[str, Any], key: str) -> int | None:
    times = obj.get("time") if isinstance(obj, dict) else None
    value = times.get(key) if isinstance(times, dict) else None
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _part_time(msg: StoredMessage, j: int | None) -> int | None:
    return msg.part_times[j] if j is not None else None


def _later(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


def _js_json(value: Any) -> str:
    """JSON.stringify: compact, non-ASCII kept."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
