"""OpenAI Codex CLI rollout: ``~/.codex/sessions/YYYY/MM/DD/rollout-<time>-<uuid>.jsonl``.

Each line is ``{timestamp, type, payload}`` with ``type`` one of ``session_meta`` (cwd, cli
version, git, and the system prompt as ``instructions`` or ``base_instructions.text``),
``turn_context`` (model, effort, ...), ``response_item`` (Responses-API items: ``message``,
``function_call``, ``function_call_output``, ``reasoning``, ``custom_tool_call``, ...),
``event_msg`` (UI and telemetry, incl. ``token_count``) and ``compacted``. Early codex-rs
builds wrote the items bare, after a ``{id, timestamp, instructions}`` first line; both are read.

One model call per model response: the model's output items (reasoning, message, tool calls)
that follow the last input item. Its request is the conversation so far: the system prompt,
user/developer messages, earlier answers (consecutive function calls merged into one
assistant message with ``tool_calls``) and tool outputs as ``role: "tool"`` messages.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from replayer.sources.builder import Call, Fidelity, SharedHistory
from replayer.sources.importers.base import (STANDIN_SYSTEM_PROMPT, ImportOptions, Imported, format_error,
                                             names_only_tools, parse_iso, read_jsonl, want)

NAME = "codex"
READS_FOLDERS = False

_LINE_TYPES = ("session_meta", "response_item", "turn_context", "event_msg", "compacted")
_FIRST = re.compile(rb'^\s*\{[^\n]{0,400}?"type"\s*:\s*"(session_meta|response_item|turn_context|event_msg|compacted)"')
_OUTPUT_ITEMS = {"function_call", "custom_tool_call", "local_shell_call", "web_search_call", "reasoning"}
_INPUT_ITEMS = {"function_call_output", "custom_tool_call_output"}
_IGNORED_ITEMS = {"ghost_snapshot", "compaction", "compaction_summary"}
_ROLES = {"user": "user", "assistant": "assistant", "developer": "system", "system": "system"}
PLACEHOLDER_RESULT = "[replayer: no output was recorded for this call]"


def detect(path: Path, head: bytes) -> bool:
    if path.is_dir():
        return False
    first = head.lstrip(b"\xef\xbb\xbf \t\r\n").split(b"\n", 1)[0]
    if _FIRST.match(first):
        return b'"payload"' in first
    # Early codex-rs: {"id":..,"timestamp":..,"instructions":..} then bare response items.
    lines = [ln for ln in head.split(b"\n")[:4] if ln.strip()]
    return (len(lines) >= 2 and lines[0].lstrip().startswith(b"{") and b'"instructions"' in lines[0]
            and b'"timestamp"' in lines[0]
            and re.search(rb'"type"\s*:\s*"(message|function_call|reasoning|function_call_output)"', lines[1])
            is not None)


class _State:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.history: list[dict[str, Any]] = []  # without the system prompt
        self.pending: list[tuple[int, dict[str, Any], str | None]] = []  # (line, output item, timestamp)
        self.last_input_time: str | None = None
        self.model: str | None = None
        self.calls: list[dict[str, Any]] = []  # messages, response, model, requested, responded, line
        self.tool_names: list[str] = []
        self.stats: Counter[str] = Counter()
        self.sent = _Sent(self.stats)  # the history as the model saw it: every tool call answered
        self.unanswered = 0  # input messages since the last answer

    def note_tool(self, name: str) -> None:
        if name not in self.tool_names:
            self.tool_names.append(name)

    # -- outputs ------------------------------------------------------------------------------

    def flush(self) -> None:
        if not self.pending:
            return
        texts: list[str] = []
        tool_calls: list[dict[str, Any]] = []
        for lineno, item, _ in self.pending:
            kind = item["type"]
            if kind == "message":
                texts.append(_message_text(self.path, lineno, item, self.stats))
            elif kind == "function_call":
                name, args = item.get("name"), item.get("arguments", "")
                if not isinstance(name, str) or not name:
                    raise format_error(self.path, f"line {lineno}", "function_call without a 'name'")
                self.note_tool(name)
                tool_calls.append(_tool_call(self.path, lineno, item, name,
                                             args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)))
            elif kind == "custom_tool_call":
                name = item.get("name")
                if not isinstance(name, str) or not name:
                    raise format_error(self.path, f"line {lineno}", "custom_tool_call without a 'name'")
                self.note_tool(name)
                self.stats["custom_tool_calls"] += 1
                tool_calls.append(_tool_call(self.path, lineno, item, name,
                                             json.dumps({"input": item.get("input", "")}, ensure_ascii=False)))
            elif kind == "local_shell_call":
                self.note_tool("local_shell")
                self.stats["local_shell_calls"] += 1
                action = item.get("action") if isinstance(item.get("action"), dict) else {}
                tool_calls.append(_tool_call(self.path, lineno, item, "local_shell",
                                             json.dumps({k: v for k, v in action.items() if k != "type"},
                                                        ensure_ascii=False)))
            elif kind == "web_search_call":
                self.stats["web_search_calls"] += 1
            elif kind == "reasoning":
                self.stats["reasoning"] += 1
        response: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts else None}
        if tool_calls:
            response["tool_calls"] = tool_calls
        if response["content"] is None and not tool_calls:
            response["content"] = ""
            self.stats["empty_responses"] += 1
        self.calls.append({
            "messages": self.sent.snapshot(), "response": response, "model": self.model,
            "requested_at": self.last_input_time, "responded_at": self.pending[-1][2],
        })
        self._append(response)
        self.pending = []
        self.unanswered = 0

    # -- inputs -------------------------------------------------------------------------------

    def add_input(self, message: dict[str, Any], when: str | None) -> None:
        self.flush()
        self._append(message)
        self.last_input_time = when
        self.unanswered += 1

    def _append(self, message: dict[str, Any]) -> None:
        self.history.append(message)
        self.sent.add(message)

    def restart(self, history: list[dict[str, Any]]) -> None:
        """A compaction: the history from here on is ``history``."""
        self.history, self.sent = [], _Sent(self.stats)
        for message in history:
            self._append(message)

    def open_call_ids(self) -> set[str]:
        ids: set[str] = set()
        for msg in reversed(self.history):
            if msg["role"] == "tool":
                continue
            if msg["role"] == "assistant":
                ids = {c["id"] for c in msg.get("tool_calls") or []}
            break
        answered = set()
        for msg in reversed(self.history):
            if msg["role"] != "tool":
                break
            answered.add(msg["tool_call_id"])
        return ids - answered


class _Rollout:
    """Reads the lines: the conversation goes to a _State, the session-level facts stay here."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.state = _State(path)
        self.meta: dict[str, Any] = {}
        self.system: str | None = None
        self.usages: list[dict[str, int]] = []
        self.last_total: Any = None
        self.skipped: Counter[str] = Counter()
        self.compactions = 0
        self.first_time: str | None = None

    def read(self, rows: list[tuple[int, Any]]) -> None:
        for index, (lineno, obj) in enumerate(rows):
            self._line(index, lineno, obj)
        self.state.flush()

    def _line(self, index: int, lineno: int, obj: Any) -> None:
        if not isinstance(obj, dict):
            raise format_error(self.path, f"line {lineno}", "expected a JSON object")
        kind, payload, when = _unwrap(self.path, lineno, index, obj)
        if kind is None:
            return
        if kind.startswith("?"):
            self.skipped[kind[1:]] += 1
            return
        self.first_time = self.first_time or when
        if kind == "session_meta":
            self._session_meta(payload)
        elif kind == "turn_context":
            self.state.flush()  # a new request starts: what is pending was the previous answer
            if isinstance(payload.get("model"), str):
                self.state.model = payload["model"]
            self.state.last_input_time = when or self.state.last_input_time
        elif kind == "event_msg":
            self._event(payload)
        elif kind == "compacted":
            self._compacted(payload, lineno, when)
        else:  # response_item
            _item(self.state, self.path, lineno, payload, when)

    def _session_meta(self, payload: dict[str, Any]) -> None:
        self.meta = payload
        instructions = payload.get("base_instructions")
        if isinstance(instructions, dict):
            instructions = instructions.get("text")
        if not isinstance(instructions, str) or not instructions:
            instructions = payload.get("instructions")
        if isinstance(instructions, str) and instructions:
            self.system = instructions

    def _event(self, payload: dict[str, Any]) -> None:
        if payload.get("type") == "token_count" and isinstance(payload.get("info"), dict):
            info = payload["info"]
            total = info.get("total_token_usage")
            last = info.get("last_token_usage")
            if total is not None and total == self.last_total:
                return  # the same count repeated
            self.last_total = total
            if isinstance(last, dict):
                self.state.flush()  # a new count closes any response still open
                self.usages.append({"prompt_tokens": last.get("input_tokens"),
                                    "completion_tokens": last.get("output_tokens")})
        elif payload.get("type") == "turn_aborted":
            self.state.stats["aborted_turns"] += 1

    def _compacted(self, payload: dict[str, Any], lineno: int, when: str | None) -> None:
        self.state.flush()
        self.compactions += 1
        replacement = payload.get("replacement_history")
        if isinstance(replacement, list):
            # The replacement items are history, not new answers: rebuild them apart.
            rebuilt = _State(self.path)
            for item in replacement:
                if isinstance(item, dict):
                    _item(rebuilt, self.path, lineno, item, when)
            rebuilt.flush()
            self.state.restart(rebuilt.history)
        else:
            summary = payload.get("message")
            self.state.restart([{"role": "user", "content": summary if isinstance(summary, str) else ""}])


def load(path: Path, options: ImportOptions) -> Imported:
    rows = read_jsonl(path)
    rollout = _Rollout(path)
    rollout.read(rows)
    state, meta = rollout.state, rollout.meta
    calls_raw = state.calls
    tail_inputs = state.unanswered if calls_raw else 0
    last_response = calls_raw[-1]["response"] if calls_raw else None
    ended_mid_task = bool(last_response and last_response.get("tool_calls"))

    if options.tools:
        tools = options.tools
    else:
        tools = [_tool_def(n) for n in state.tool_names] or None
    system_text = options.system_prompt if options.system_prompt is not None else rollout.system
    system_msg = {"role": "system", "content": system_text if system_text is not None else STANDIN_SYSTEM_PROMPT}

    usages = rollout.usages
    usage_ok = len(usages) == len(calls_raw) and all(
        isinstance(u["completion_tokens"], int) and isinstance(u["prompt_tokens"], int) for u in usages)
    calls, models = _calls(state, system_msg, tools, usages if usage_ok else None)

    fidelity = _fidelity(options, rollout.system, state, tools, usage_ok, usages, calls, rollout.compactions,
                         ended_mid_task, tail_inputs)
    return Imported(
        name=path.name[: -len(".jsonl")] if path.name.endswith(".jsonl") else path.stem,
        calls=calls,
        provenance={"agent": "codex", "agent_version": meta.get("cli_version") if isinstance(
            meta.get("cli_version"), str) else None,
                    "model": models.most_common(1)[0][0] if models else None, "source": str(path),
                    "created_at": parse_iso(meta.get("timestamp"), path, "session_meta: timestamp")
                    or rollout.first_time,
                    "notes": _notes(rollout, ended_mid_task, tail_inputs)},
        fidelity=fidelity,
        repository=_repository(meta),
    )


def _calls(state: _State, system_msg: dict[str, Any], tools: list[dict[str, Any]] | None,
           usages: list[dict[str, int]] | None) -> tuple[list[Call], Counter[str]]:
    """The recorded answers as calls; usages, when given, pair with them one to one."""
    models: Counter[str] = Counter()
    calls: list[Call] = []
    for k, raw in enumerate(state.calls):
        sent = raw["messages"]
        messages = SharedHistory(sent.history, head=[system_msg], tail=sent.tail, n=sent.n)
        if raw["model"]:
            models[raw["model"]] += 1
        params: dict[str, Any] = {"model": raw["model"]} if raw["model"] else {}
        if tools:
            params["tool_choice"] = "auto"
        response = raw["response"]
        calls.append(Call(messages=messages, response=response, params=params, tools=tools,
                          finish_reason="tool_calls" if response.get("tool_calls") else "stop",
                          usage=usages[k] if usages is not None else None,
                          requested_at=raw["requested_at"], responded_at=raw["responded_at"]))
    return calls, models


def _notes(rollout: _Rollout, ended_mid_task: bool, tail_inputs: int) -> list[str]:
    stats, meta = rollout.state.stats, rollout.meta
    notes = []
    if ended_mid_task:
        notes.append("the session ends mid-task: the last answer is a tool call with no final reply after it")
    if tail_inputs > 0:
        notes.append(f"{tail_inputs} message(s) after the last answer were never answered")
    if stats["aborted_turns"]:
        notes.append(f"{stats['aborted_turns']} turn(s) aborted by the user")
    for item_type, count in sorted(rollout.skipped.items()):
        notes.append(f"{count} line(s) of unknown type {item_type!r} skipped")
    for item_type, count in sorted(stats.items()):
        if item_type.startswith("unknown item "):
            notes.append(f"{count} response item(s) of unknown type {item_type[13:]!r} skipped")
    if isinstance(meta.get("cwd"), str):
        notes.append(f"working directory: {meta['cwd']}")
    if isinstance(meta.get("model_provider"), str):
        notes.append(f"model provider: {meta['model_provider']}")
    return notes


def _repository(meta: dict[str, Any]) -> dict[str, Any] | None:
    git = meta.get("git") if isinstance(meta.get("git"), dict) else None
    if not git:
        return None
    repository = {"remote": git.get("repository_url"), "branch": git.get("branch"),
                  "base_commit": git.get("commit_hash")}
    return {k: v for k, v in repository.items() if isinstance(v, str)} or None


def _unwrap(path: Path, lineno: int, index: int, obj: dict[str, Any]) -> tuple[str | None, dict[str, Any], str | None]:
    when = parse_iso(obj.get("timestamp"), path, f"line {lineno}: timestamp")
    if "payload" in obj and isinstance(obj.get("type"), str):
        kind, payload = obj["type"], obj["payload"]
        if kind not in _LINE_TYPES:
            return "?" + kind, {}, when  # a newer line type this importer does not know: skipped
        if not isinstance(payload, dict):
            raise format_error(path, f"line {lineno}", f"expected the {kind} payload to be an object")
        return kind, payload, when
    if "record_type" in obj:
        return None, {}, when  # early codex-rs state lines
    if index == 0 and "id" in obj and "timestamp" in obj and "type" not in obj:
        return "session_meta", obj, when  # early codex-rs first line
    if isinstance(obj.get("type"), str) and "payload" not in obj:
        return "response_item", obj, None  # early codex-rs bare item
    raise format_error(path, f"line {lineno}", "expected a rollout line with 'type' and 'payload'")


def _item(state: _State, path: Path, lineno: int, item: dict[str, Any], when: str | None) -> None:
    kind = item.get("type")
    if not isinstance(kind, str):
        raise format_error(path, f"line {lineno}", "expected a response item with a 'type'")
    if kind == "message":
        role = want(item.get("role"), str, path, f"line {lineno}: role")
        if role not in _ROLES:
            raise format_error(path, f"line {lineno}", f"unknown message role {json.dumps(role)} (expected user, "
                                                       "assistant, developer or system)")
        if role == "assistant":
            state.pending.append((lineno, item, when))
            return
        if role in ("developer", "system"):
            state.stats["developer_messages"] += 1
        state.add_input({"role": _ROLES[role], "content": _input_content(path, lineno, item, state.stats)}, when)
        return
    if kind in _OUTPUT_ITEMS:
        state.pending.append((lineno, item, when))
        return
    if kind in _INPUT_ITEMS:
        call_id = item.get("call_id")
        if not isinstance(call_id, str):
            raise format_error(path, f"line {lineno}", f"{kind} without a 'call_id'")
        output = _output_text(item.get("output"))
        state.flush()
        if call_id in state.open_call_ids():
            state.add_input({"role": "tool", "tool_call_id": call_id, "content": output}, when)
        else:
            state.stats["orphan_outputs"] += 1
            state.add_input({"role": "user", "content": f"[output of tool call {call_id}]\n{output}"}, when)
        return
    if kind in _IGNORED_ITEMS:
        return
    state.stats[f"unknown item {kind}"] += 1


def _tool_call(path: Path, lineno: int, item: dict[str, Any], name: str, arguments: str) -> dict[str, Any]:
    call_id = item.get("call_id") or item.get("id")
    if not isinstance(call_id, str) or not call_id:
        raise format_error(path, f"line {lineno}", f"{item['type']} without a 'call_id'")
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def _parts(path: Path, lineno: int, item: dict[str, Any], stats: Counter[str]) -> list[str]:
    content = item.get("content")
    if isinstance(content, str):
        return [content]
    if not isinstance(content, list):
        raise format_error(path, f"line {lineno}", "expected message content to be a list of parts")
    texts = []
    for part in content:
        if not isinstance(part, dict):
            raise format_error(path, f"line {lineno}", "expected message content parts to be objects")
        if part.get("type") in ("input_text", "output_text", "text") and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif part.get("type") in ("input_image", "image", "input_file"):
            stats["images"] += 1
        elif part.get("type") == "refusal" and isinstance(part.get("refusal"), str):
            texts.append(part["refusal"])
        else:
            raise format_error(path, f"line {lineno}", f"unknown message content part type {part.get('type')!r}")
    return texts


def _input_content(path: Path, lineno: int, item: dict[str, Any], stats: Counter[str]) -> Any:
    texts = _parts(path, lineno, item, stats)
    if len(texts) == 1:
        return texts[0]
    if not texts:
        return ""
    return [{"type": "text", "text": t} for t in texts]


def _message_text(path: Path, lineno: int, item: dict[str, Any], stats: Counter[str]) -> str:
    return "".join(_parts(path, lineno, item, stats))


def _output_text(output: Any) -> str:
    if isinstance(output, str):
        return output
    if isinstance(output, list):
        return "\n".join(p.get("text", "") for p in output if isinstance(p, dict) and isinstance(p.get("text"), str))
    if isinstance(output, dict):
        if isinstance(output.get("content"), str):
            return output["content"]
        return json.dumps(output, ensure_ascii=False)
    return "" if output is None else json.dumps(output)


class _Sent:
    """The history as each call sent it, kept up as messages come: an earlier tool call without
    a recorded output is answered with a placeholder where the next message begins; calls
    still open at a request are answered at its end. Every call shares this one list."""

    def __init__(self, stats: Counter[str]) -> None:
        self.messages: list[dict[str, Any]] = []
        self.open: list[str] = []  # tool call ids of the last answer without an output yet
        self.stats = stats

    def add(self, message: dict[str, Any]) -> None:
        if message["role"] == "tool":
            if message["tool_call_id"] in self.open:
                self.open.remove(message["tool_call_id"])
        else:
            self.messages.extend(self._placeholders())
            self.open = []
        self.messages.append(message)
        if message["role"] == "assistant":
            self.open.extend(c["id"] for c in message.get("tool_calls") or [])

    def snapshot(self) -> SharedHistory:
        """What a request made now sends (without the system prompt)."""
        return SharedHistory(self.messages, tail=self._placeholders())

    def _placeholders(self) -> list[dict[str, Any]]:
        self.stats["placeholder_results"] += len(self.open)
        return [{"role": "tool", "tool_call_id": cid, "content": PLACEHOLDER_RESULT} for cid in self.open]


def _tool_def(name: str) -> dict[str, Any]:
    return names_only_tools([name])[0]


def _fidelity(options: ImportOptions, system: str | None, state: _State, tools: Any, usage_ok: bool,
              usages: list[dict[str, int]], calls: list[Call], compactions: int, ended_mid_task: bool,
              tail_inputs: int) -> Fidelity:
    f = Fidelity()
    stats = state.stats
    if options.system_prompt is not None:
        f.reconstructed.append("system prompt from --system-prompt" + (" (replacing the stored instructions)"
                                                                        if system is not None else ""))
    elif system is not None:
        f.exact.append("system prompt (session_meta instructions)")
    else:
        f.missing.append("system prompt: this rollout stores no instructions (the CLI used its built-in prompt "
                         "for the model); a labelled stand-in is used, pass --system-prompt FILE")
    f.exact.append("conversation items in order: user and developer messages, assistant messages, tool calls "
                   "with their arguments and call ids, tool outputs as the model saw them")
    if usage_ok:
        f.exact.append("per-call token usage from token_count events (the original model's tokenizer; completion "
                       "tokens include hidden reasoning tokens)")
    else:
        f.missing.append(f"token usage: {len(usages)} token counts for {len(calls)} calls could not be paired"
                         if usages else "token usage (no token_count events)")
    f.exact.append("item times (milliseconds); requested_at = the last input before each answer")
    f.reconstructed.append("one call per model response: the output items after the last input; consecutive "
                           "function calls merged into one assistant message with tool_calls (call_id -> id), "
                           "outputs as role 'tool' messages")
    if stats["developer_messages"]:
        f.reconstructed.append(f"{stats['developer_messages']} developer message(s) sent as role 'system'")
    if options.tools:
        f.reconstructed.append("tool definitions from --tools")
    elif tools:
        f.reconstructed.append(f"tool definitions: {len(tools)} names taken from the calls, with empty parameter "
                               "schemas (Codex does not store tool schemas)")
        f.missing.append("tool descriptions and parameter schemas (pass --tools FILE)")
    f.reconstructed.append("finish_reason ('tool_calls' or 'stop') from the answer's content")
    if stats["reasoning"]:
        f.missing.append(f"{stats['reasoning']} reasoning item(s): encrypted, not replayable (summaries dropped)")
    if stats["custom_tool_calls"]:
        f.reconstructed.append(f"{stats['custom_tool_calls']} custom (freeform) tool call(s) as function calls "
                               "with arguments {\"input\": <text>}")
    if stats["local_shell_calls"]:
        f.reconstructed.append(f"{stats['local_shell_calls']} local_shell call(s) as function 'local_shell' with "
                               "the action as arguments")
    if stats["web_search_calls"]:
        f.missing.append(f"{stats['web_search_calls']} hosted web_search call(s) dropped (no result is stored)")
    if stats["images"]:
        f.missing.append(f"{stats['images']} image/file part(s) dropped (text-only replay)")
    if stats["orphan_outputs"]:
        f.reconstructed.append(f"{stats['orphan_outputs']} tool output(s) without a matching call kept as user text")
    if stats["placeholder_results"]:
        f.reconstructed.append("tool calls without a recorded output answered with a placeholder")
    if stats["empty_responses"]:
        f.reconstructed.append(f"{stats['empty_responses']} response(s) with only reasoning kept as empty "
                               "assistant messages")
    if compactions:
        f.reconstructed.append(f"{compactions} compaction(s): the history after each is the stored replacement "
                               "history, or else the compaction summary alone")
    if ended_mid_task or tail_inputs > 0:
        f.missing.append("the rest of the session: it ends mid-task, with no final answer")
    return f
