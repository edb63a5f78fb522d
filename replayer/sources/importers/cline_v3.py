"""Cline v3 (VS Code extension / CLI) task: ``tasks/<taskId>/api_conversation_history.json``.

Pass the task directory or its ``api_conversation_history.json``. The history is a JSON
array of Anthropic ``MessageParam`` objects plus Cline fields (``ts``, ``modelInfo``,
``metrics``). Beside it, ``ui_messages.json`` (``say: "api_req_started"`` entries: one per
model request, with token counts and the truncation range in force) and
``task_metadata.json`` (``model_usage``) give times, usage and the model when present.

Two tool protocols share the format: XML (tools described in the system prompt, the
assistant writes ``<read_file>...`` as text, results come back as ``[read_file for 'x']
Result:`` user text) and native (``tool_use`` / ``tool_result`` blocks). XML turns are kept
as text. Native results that were stored as text blocks (Cline's fallback) are paired with
the open tool calls by order. The system prompt is **not** stored in v3.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from replayer.jsontext import Malformed, parse_json
from replayer.sources.builder import Call, Fidelity, SharedHistory
from replayer.sources.importers._anthropic import Converter, Stats, reconstructed_tools, with_system
from replayer.sources.importers.base import (STANDIN_SYSTEM_PROMPT, ImportOptions, Imported, check_times, format_error,
                                             posix_iso, read_json, want)

NAME = "cline-v3"
READS_FOLDERS = True  # a task folder

HISTORY = "api_conversation_history.json"
_START = re.compile(
    rb'^\s*\[\s*\{\s*(?:"(?:ts|id)"\s*:\s*(?:-?\d+(?:\.\d+)?|"[^"]*")\s*,\s*)*"role"\s*:\s*"(?:user|assistant)"\s*,'
    rb'\s*"content"\s*:')
_XML_TOOL = re.compile(
    r"<(read_file|write_to_file|replace_in_file|execute_command|search_files|list_files|list_code_definition_names|"
    r"browser_action|use_mcp_tool|access_mcp_resource|ask_followup_question|attempt_completion|new_task|"
    r"plan_mode_respond|load_mcp_documentation|web_fetch|apply_diff|insert_content|search_and_replace)>")


def detect(path: Path, head: bytes) -> bool:
    if path.is_dir():
        return (path / HISTORY).is_file()
    return bool(_START.match(head.lstrip(b"\xef\xbb\xbf")))


@dataclass(frozen=True)
class _Task:
    """One task's files as read, before any conversion."""
    history_path: Path
    task_dir: Path | None
    data: list[Any]
    stored: list[tuple[int, Any]]  # (index in data, message) without the standalone reasoning items
    skipped_reasoning: int
    ui: list[Any] | None
    meta: dict[str, Any] | None


def load(path: Path, options: ImportOptions) -> Imported:
    task = _read_task(path)
    base = Converter(task.history_path, "v3", "$")
    converted = {i: base.convert(i, m) for i, m in task.stored}
    stats = base.stats
    native = bool(stats.tool_names)
    xml = any(m.get("role") == "assistant" and _XML_TOOL.search(_text(m.get("content"))) for _, m in task.stored)
    tools = options.tools if options.tools else (reconstructed_tools(stats.tool_names) if native else None)
    system_text = options.system_prompt if options.system_prompt is not None else STANDIN_SYSTEM_PROMPT
    requests = _Requests(task, converted, tools, system_text)
    calls = [requests.call(n, i) for n, i in enumerate(requests.assistant_idx)]
    return Imported(
        name=_name(task),
        calls=calls,
        provenance={"agent": "cline", "agent_version": None,
                    "model": requests.models.most_common(1)[0][0] if requests.models else None,
                    "source": str(task.history_path), "created_at": _created(task),
                    "notes": _notes(task, native, xml)},
        fidelity=_fidelity(options, stats, native, requests, len(calls)),
    )


def _read_task(path: Path) -> _Task:
    if path.is_dir():
        task_dir, history_path = path, path / HISTORY
        if not history_path.is_file():
            raise format_error(path, "", f"expected a Cline task directory with {HISTORY}")
    else:
        history_path = path
        task_dir = path.parent if path.name == HISTORY else None
    data = read_json(history_path)
    if not isinstance(data, list):
        raise format_error(history_path, "$", "expected a JSON array of messages")
    # Roo Code writes standalone {type: "reasoning", encrypted_content} items between messages.
    stored = [(i, m) for i, m in enumerate(data)
              if not (isinstance(m, dict) and "role" not in m and m.get("type") == "reasoning")]
    ui = _read_list(task_dir / "ui_messages.json") if task_dir else None
    meta = _read_dict(task_dir / "task_metadata.json") if task_dir else None
    check_times(history_path, data, "$", text=False)  # Cline v3 times are numbers; text is not read
    if ui and task_dir:
        check_times(task_dir / "ui_messages.json", ui, "$", text=False)
    return _Task(history_path, task_dir, data, stored, len(data) - len(stored), ui, meta)


class _Requests:
    """Builds one call per stored answer, and counts what the fidelity report needs."""

    def __init__(self, task: _Task, converted: dict[int, list[dict[str, Any]]], tools: list[dict[str, Any]] | None,
                 system_text: str) -> None:
        self.task, self.converted, self.tools, self.system_text = task, converted, tools, system_text
        self.assistant_idx = [i for i, m in task.stored if m["role"] == "assistant"]
        self.api_reqs = [m for m in task.ui or [] if isinstance(m, dict) and m.get("say") == "api_req_started"]
        # ui_messages.json has no link to the answers but their order: pair only when the counts agree.
        self.paired = len(self.api_reqs) == len(self.assistant_idx) and bool(self.api_reqs)
        usage = want((task.meta or {}).get("model_usage"), list, task.history_path.parent / "task_metadata.json",
                     "$.model_usage")
        self.model_usage = [u for u in usage or [] if isinstance(u, dict)]
        self.pos = {i: k for k, (i, _) in enumerate(task.stored)}
        # A truncation range in force changes the request (messages [start..end] were not sent).
        self.by_range: dict[tuple[int, int], dict[int, list[dict[str, Any]]]] = {}
        self.system = with_system(system_text, [])
        self.flats: dict[int, tuple[list[dict[str, Any]], list[int]]] = {}
        self.models: Counter[str] = Counter()
        self.truncated_calls = 0
        self.have_usage = 0

    def call(self, n: int, i: int) -> Call:
        raw = self.task.data[i]
        req = self.api_reqs[n] if self.paired else None
        info = _json_text(req.get("text")) if req else {}
        outs = self._outputs_for(self._range_in_force(req, i))
        flat, starts = self._flat(outs)
        own = outs[i]
        messages = SharedHistory(flat, head=self.system, tail=own[:-1], n=starts[self.pos[i]])
        response = own[-1]
        requested = _ts(req.get("ts")) if req else None
        if requested is None and self.pos[i] > 0:
            requested = _ts(self.task.stored[self.pos[i] - 1][1].get("ts"))
        model = _model_of(raw) or (_model_of(req) if req else None) or _usage_model(self.model_usage, req, raw)
        if model:
            self.models[model] += 1
        params: dict[str, Any] = {"model": model} if model else {}
        if self.tools:
            params.update({"tool_choice": "auto", "parallel_tool_calls": False})
        completion = info.get("tokensOut")
        if not isinstance(completion, int):
            completion = _completion(raw.get("metrics"))
        usage = {"completion_tokens": completion} if isinstance(completion, int) and completion >= 0 else None
        self.have_usage += usage is not None
        return Call(messages=messages, response=response, params=params, tools=self.tools,
                    finish_reason="tool_calls" if response.get("tool_calls") else "stop", usage=usage,
                    requested_at=requested, responded_at=_ts(raw.get("ts")))

    def _flat(self, outs: dict[int, list[dict[str, Any]]]) -> tuple[list[dict[str, Any]], list[int]]:
        """Every stored message's outputs in one list, and where each message's begin: a call's
        request is a prefix of it, shared rather than copied (a copy per call is quadratic)."""
        if id(outs) not in self.flats:
            flat: list[dict[str, Any]] = []
            starts = []
            for j, _ in self.task.stored:
                starts.append(len(flat))
                flat.extend(outs.get(j, []))
            self.flats[id(outs)] = (flat, starts)
        return self.flats[id(outs)]

    def _range_in_force(self, req: dict[str, Any] | None, i: int) -> tuple[int, int] | None:
        """The deleted range, when it applied to this answer's request (the answer itself is outside it)."""
        rng = _range(req.get("conversationHistoryDeletedRange")) if req else None
        if rng is not None and not rng[0] <= i <= rng[1]:
            self.truncated_calls += 1
            return rng
        return None

    def _outputs_for(self, rng: tuple[int, int] | None) -> dict[int, list[dict[str, Any]]]:
        if rng is None:
            return self.converted
        if rng not in self.by_range:
            # Tool-result pairing depends on what came before, so a shorter history is converted afresh.
            conv = Converter(self.task.history_path, "v3", "$")
            self.by_range[rng] = {i: conv.convert(i, m) for i, m in self.task.stored if not rng[0] <= i <= rng[1]}
        return self.by_range[rng]


def _fidelity(options: ImportOptions, stats: Stats, native: bool, requests: _Requests, n_calls: int) -> Fidelity:
    fidelity = Fidelity()
    if options.system_prompt is not None:
        fidelity.reconstructed.append("system prompt from --system-prompt (Cline v3 does not store it)")
    else:
        fidelity.missing.append("system prompt: Cline v3 does not store it (it is rebuilt for every request); a "
                                "labelled stand-in is used, pass --system-prompt FILE for exact replay")
    fidelity.exact.append("message history as stored: user turns with <environment_details>, assistant text, "
                          + ("tool calls and results" if native else "XML tool calls kept as text"))
    if requests.have_usage:
        fidelity.exact.append(f"generation length (completion tokens) of {requests.have_usage} of {n_calls} calls, "
                              "as the provider counted them")
    fidelity.reconstructed.append(
        "converted from Anthropic blocks to OpenAI chat as Cline's convertToOpenAiMessages does (tool_result -> "
        "role 'tool' before the remaining user text, thinking not sent); each request = system prompt + the stored "
        "history before the answer")
    if native:
        if options.tools:
            fidelity.reconstructed.append("tool definitions from --tools")
        else:
            fidelity.reconstructed.append(f"tool definitions: {len(stats.tool_names)} names taken from the calls, "
                                          "with empty parameter schemas (Cline does not store tool schemas)")
            fidelity.missing.append("tool descriptions and parameter schemas (pass --tools FILE)")
    if stats.text_results_paired or stats.id_results_paired:
        fidelity.reconstructed.append(
            f"{stats.text_results_paired + stats.id_results_paired} tool result(s) stored as \"<tool> for 'x' ... "
            "Result:\" text blocks or under an unknown id, paired with the preceding tool calls by order")
    if stats.missing_results:
        fidelity.reconstructed.append(f"{stats.missing_results} tool call(s) without a stored result answered with "
                                      "a placeholder")
    _note_requests(fidelity, requests)
    fidelity.missing.append("context_history.json edits (Cline's per-request rewrites of old turns) are not applied")
    if stats.thinking or stats.redacted_thinking:
        fidelity.reconstructed.append(f"{stats.thinking + stats.redacted_thinking} thinking block(s) dropped, as "
                                      "Cline's OpenAI converter does")
    stats.note_losses(fidelity, requests.have_usage, n_calls)
    return fidelity


def _note_requests(fidelity: Fidelity, requests: _Requests) -> None:
    """What ui_messages.json's api_req_started entries did or did not give."""
    if requests.paired:
        fidelity.reconstructed.append("request times from ui_messages.json api_req_started entries (paired with the "
                                      "answers by order)")
    elif requests.api_reqs:
        fidelity.missing.append(f"request times: ui_messages.json has {len(requests.api_reqs)} api_req_started "
                                f"entries for {len(requests.assistant_idx)} answers, so they were not paired")
    if requests.truncated_calls:
        fidelity.reconstructed.append(f"{requests.truncated_calls} request(s) leave out the "
                                      "conversationHistoryDeletedRange Cline had truncated")


def _notes(task: _Task, native: bool, xml: bool) -> list[str]:
    notes = []
    if native and xml:
        notes.append("tool protocol: mixed (native tool_use blocks and XML tool text)")
    elif native:
        notes.append("tool protocol: native (tool_use / tool_result blocks)")
    elif xml:
        notes.append("tool protocol: XML (tools described in the system prompt; calls and results are text)")
    if task.skipped_reasoning:
        notes.append(f"{task.skipped_reasoning} standalone reasoning item(s) (Roo Code) skipped")
    if task.stored and task.stored[-1][1]["role"] == "user":
        notes.append("the task ends with a user message that has no stored answer")
    return notes


def _task_id(task: _Task) -> str | None:
    return task.task_dir.name if task.task_dir else None


def _created(task: _Task) -> str | None:
    created = None
    if task.ui:
        created = _ts(task.ui[0].get("ts")) if isinstance(task.ui[0], dict) else None
    if created is None and task.stored:
        created = _ts(task.stored[0][1].get("ts"))
    task_id = _task_id(task)
    if created is None and task_id and task_id.isdigit() and int(task_id) < 4102444800000:  # a time, in ms
        created = _ts(int(task_id))
    return created


def _name(task: _Task) -> str:
    task_id = _task_id(task)
    if task_id and task_id.isdigit():
        return f"cline-{task_id}"
    if task.task_dir and task.history_path.name == HISTORY:
        return task.task_dir.name or "cline-task"
    return task.history_path.stem


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(b.get("text", "") for b in content if isinstance(b, dict) and isinstance(b.get("text"), str))
    return ""


def _read_list(path: Path) -> list[Any] | None:
    if not path.is_file():
        return None
    data = read_json(path)
    if not isinstance(data, list):
        raise format_error(path, "$", "expected a JSON array")
    return data


def _read_dict(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    data = read_json(path)
    if not isinstance(data, dict):
        raise format_error(path, "$", "expected a JSON object")
    return data


def _json_text(text: Any) -> dict[str, Any]:
    if not isinstance(text, str):
        return {}
    try:
        value = parse_json(text, standard=False)
    except Malformed:
        return {}
    return value if isinstance(value, dict) else {}


def _range(value: Any) -> tuple[int, int] | None:
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value) and value[0] <= value[1]:
        return value[0], value[1]
    return None


def _ts(value: Any) -> str | None:
    """A Cline time (POSIX milliseconds) as ISO text; the files' times were checked on reading."""
    return posix_iso(value, "", "", per_second=1000.0)


def _model_of(msg: Any) -> str | None:
    info = msg.get("modelInfo") if isinstance(msg, dict) else None
    if isinstance(info, dict):
        for key in ("modelId", "id"):
            if isinstance(info.get(key), str) and info[key]:
                return info[key]
    return None


def _usage_model(model_usage: list[dict[str, Any]], req: dict[str, Any] | None, raw: dict[str, Any]) -> str | None:
    """The model task_metadata.json says was in use at the time of this call."""
    when = (req or {}).get("ts") or raw.get("ts")
    best = None
    for entry in model_usage:
        if not isinstance(entry.get("model_id"), str):
            continue
        if isinstance(when, (int, float)) and isinstance(entry.get("ts"), (int, float)) and entry["ts"] > when:
            continue
        best = entry["model_id"]
    return best


def _completion(metrics: Any) -> int | None:
    if not isinstance(metrics, dict):
        return None
    if isinstance(metrics.get("outputTokens"), int):
        return metrics["outputTokens"]
    tokens = metrics.get("tokens")
    if isinstance(tokens, dict) and isinstance(tokens.get("completion"), int):
        return tokens["completion"]
    return None
