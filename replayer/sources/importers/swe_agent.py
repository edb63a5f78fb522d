"""SWE-agent ``.traj`` files (``SWE-agent/SWE-agent : sweagent/types.py``).

A ``.traj`` is one JSON object ``{environment, trajectory[], history[], info, replay_config}``:

- ``history`` is the agent's message list (system prompt first). Assistant entries are the
  model's answers; with native function calling they carry OpenAI ``tool_calls`` and the
  observations that follow are ``role: tool`` entries whose ``tool_call_ids`` is a *list*.
  In thought/action mode there are no tools: the command sits in a fenced block of the
  assistant text and observations are plain user messages.
- ``trajectory[i]`` is one step ``{action, observation, response, thought, state, query?}``;
  newer builds keep ``query``, the exact history items sent for that step. ``state`` is a
  JSON *string* in older files.
- ``replay_config`` (a dict, or a JSON string) holds the agent configuration: model name
  and sampling, history processors, and the tool bundles with their rendered
  ``command_docs`` (from which the function-calling schemas are rebuilt).

Each non-demonstration assistant entry of ``history`` is one model call. Its request is the
step's ``query`` when recorded; otherwise the history before it, passed through the
history processors named in ``replay_config`` (as SWE-agent does before every query).
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from replayer.jsontext import Malformed, parse_json
from replayer.sources.builder import Call, Fidelity
from replayer.sources.importers.base import ImportOptions, Imported, format_error, names_only_tools, read_json, want

NAME = "swe-agent"
READS_FOLDERS = False

_ROLES = {"system", "user", "assistant", "tool"}


def detect(path: Path, head: bytes) -> bool:
    text = head.lstrip()
    if not text.startswith(b"{"):
        return False
    if re.search(rb'"trajectory"\s*:\s*\[', head) is None:
        return False
    return any(key in head for key in (b'"history"', b'"observation"', b'"replay_config"', b'"environment"'))


@dataclass(frozen=True)
class _Plan:
    """What every call is built from: the main agent's history and the agent configuration."""
    config: dict[str, Any]
    agent_cfg: dict[str, Any]
    items: list[dict[str, Any]]  # the main agent's history messages
    where: list[str]  # the JSON location of each of them
    answer_positions: list[int]  # indexes in items of the model's answers (demonstrations are not)
    function_calling: bool
    processors: list[dict[str, Any]]
    unknown_processors: list[str]

    @property
    def tools_cfg(self) -> dict[str, Any]:
        return _dict(self.agent_cfg.get("tools"))

    @property
    def model_cfg(self) -> dict[str, Any]:
        return _dict(self.agent_cfg.get("model"))

    @property
    def convert_system(self) -> bool:
        return bool(self.model_cfg.get("convert_system_to_user"))


def load(path: Path, options: ImportOptions) -> Imported:
    data, history, trajectory = _read_traj(path)
    notes: list[str] = []
    plan = _plan(path, data, history, notes)
    paired = len(trajectory) == len(plan.answer_positions)
    if trajectory and not paired:
        notes.append(f"{len(trajectory)} trajectory steps but {len(plan.answer_positions)} assistant messages in "
                     "history: prompts rebuilt from history")
    tools, tools_source = _tools(path, options, plan.tools_cfg, plan.items, plan.function_calling)
    params = _params(plan.model_cfg)
    calls: list[Call] = []
    n_query = 0
    for n, pos in enumerate(plan.answer_positions):
        messages, from_query = _request(path, plan, trajectory[n] if paired else None, n, pos)
        n_query += from_query
        response = _message(path, plan.where[pos], plan.items[pos], plan.convert_system)
        calls.append(Call(
            messages=messages, response=response, params=dict(params),
            tools=tools if plan.function_calling else None,
            finish_reason="tool_calls" if response.get("tool_calls") else "stop",
        ))
    fidelity = _fidelity(plan, calls, n_query, tools_source, params)
    info = _dict(data.get("info"))
    if _repeated_ids(calls):
        notes.append("some tool call ids repeat across turns; kept as recorded")
    if info.get("exit_status"):
        notes.append(f"exit status: {info['exit_status']}")
    problem = _dict(plan.config.get("problem_statement")).get("id")
    version = info.get("swe_agent_version")
    return Imported(
        name=str(problem or plan.agent_cfg.get("name") or path.name.split(".")[0]),
        calls=calls,
        provenance={"agent": "SWE-agent", "agent_version": str(version) if version else None,
                    "model": plan.model_cfg.get("name"), "source": str(path), "created_at": None, "notes": notes},
        fidelity=fidelity,
        repository=_repository(plan.config),
    )


def _read_traj(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """(the document, its history, its trajectory), every history item and step checked."""
    data = read_json(path)
    if not isinstance(data, dict):
        raise format_error(path, "$", "expected a JSON object (a SWE-agent .traj file)")
    history = data.get("history")
    trajectory = data.get("trajectory", [])
    if not isinstance(history, list) or not history:
        raise format_error(path, "$.history", "expected a non-empty list of history messages")
    if not isinstance(trajectory, list):
        raise format_error(path, "$.trajectory", "expected a list of steps")
    for i, item in enumerate(history):
        _check_item(path, f"$.history[{i}]", item)
    for i, step in enumerate(trajectory):
        if not isinstance(step, dict):
            raise format_error(path, f"$.trajectory[{i}]", "expected an object")
        if isinstance(step.get("state"), str) and step["state"].strip():
            try:
                parse_json(step["state"], standard=False)
            except Malformed as exc:
                raise format_error(path, f"$.trajectory[{i}].state", _embedded(exc)) from None
    return data, history, trajectory


def _plan(path: Path, data: dict[str, Any], history: list[dict[str, Any]], notes: list[str]) -> _Plan:
    config = _replay_config(path, data.get("replay_config"))
    agent_cfg = _dict(config.get("agent"))
    # Only the main agent's messages were sent to its model (SWE-agent filters on `agent`).
    agent_name = history[0].get("agent")
    indexed = [(i, h) for i, h in enumerate(history) if h.get("agent", agent_name) == agent_name]
    if len(indexed) < len(history):
        notes.append(f"{len(history) - len(indexed)} history messages of other agents than {agent_name!r} left out")
    items = [h for _, h in indexed]
    answer_positions = [k for k, h in enumerate(items) if h["role"] == "assistant" and not h.get("is_demo")]
    if not answer_positions:
        raise format_error(path, "$.history", "no assistant message: the agent made no model call")
    n_demo = sum(1 for h in items if h.get("is_demo"))
    if n_demo:
        notes.append(f"{n_demo} demonstration messages are part of every prompt (they are not model calls)")
    parse_type = _dict(_dict(agent_cfg.get("tools")).get("parse_function")).get("type")
    processors, unknown_processors = _processors(agent_cfg)
    return _Plan(config=config, agent_cfg=agent_cfg, items=items, where=[f"$.history[{i}]" for i, _ in indexed],
                 answer_positions=answer_positions,
                 function_calling=parse_type == "function_calling" or any(h.get("tool_calls") for h in items),
                 processors=processors, unknown_processors=unknown_processors)


def _params(model_cfg: dict[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if model_cfg.get("name"):
        params["model"] = model_cfg["name"]
    for key in ("temperature", "top_p"):
        if isinstance(model_cfg.get(key), (int, float)):
            params[key] = model_cfg[key]
    if isinstance(model_cfg.get("completion_kwargs"), dict):
        params.update({k: v for k, v in model_cfg["completion_kwargs"].items() if k not in ("messages", "tools")})
    return params


def _request(path: Path, plan: _Plan, step: dict[str, Any] | None, n: int,
             pos: int) -> tuple[list[dict[str, Any]], bool]:
    """(the messages of the n-th call's request, whether they are the step's recorded query)."""
    convert_system = plan.convert_system
    query = step.get("query") if step else None
    if _has_query(query):
        for j, item in enumerate(query):
            _check_item(path, f"$.trajectory[{n}].query[{j}]", item)
        messages = [_message(path, f"$.trajectory[{n}].query[{j}]", item, convert_system)
                    for j, item in enumerate(query)]
    else:
        before = _apply_processors(plan.processors, plan.items[:pos])
        messages = [_message(path, plan.where[k], item, convert_system) for k, item in enumerate(before)]
    if not messages:
        raise format_error(path, plan.where[pos], "an assistant message with nothing before it (no prompt)")
    return messages, _has_query(query)


def _fidelity(plan: _Plan, calls: list[Call], n_query: int, tools_source: str, params: dict[str, Any]) -> Fidelity:
    fidelity = Fidelity()
    exact, missing = fidelity.exact, fidelity.missing
    if plan.items[0]["role"] == "system":
        exact.append("system prompt (history[0], as rendered by the agent)")
    else:
        missing.append("system prompt (history does not start with one)")
    exact.append("assistant responses (history; tool calls as the model returned them)" if plan.function_calling
                 else "assistant responses (history; thought and action as free text, no native tools)")
    exact.append("observations as the agent put them in the conversation")
    if n_query == len(calls):
        exact.append("every request: the per-step prompt (trajectory[].query)")
    else:
        _note_rebuilt_requests(fidelity, plan, len(calls), n_query)
    if plan.function_calling:
        _note_tools(fidelity, plan.tools_cfg, tools_source)
    else:
        exact.append("no tools sent (thought/action mode: the commands are described in the system prompt)")
    if params:
        exact.append("model and sampling parameters (replay_config.agent.model)")
    missing.append("timestamps (a .traj records none; only per-step execution_time)")
    missing.append("per-call token usage (only session totals in info.model_stats)")
    return fidelity


def _note_rebuilt_requests(fidelity: Fidelity, plan: _Plan, n_calls: int, n_query: int) -> None:
    """Fidelity of the requests that had no recorded query and were rebuilt from the history."""
    if n_query:
        fidelity.exact.append(f"requests of {n_query} of {n_calls} calls (trajectory[].query)")
    rest = n_calls - n_query
    text = f"requests of {rest} call{'s' if rest != 1 else ''}: the history before each answer"
    if plan.processors:
        names = ", ".join(_processor_name(p) for p in plan.processors)
        text += f", passed through the configured history processors ({names})"
    fidelity.reconstructed.append(text)
    fidelity.missing.append("re-queries after answers the agent could not parse (history keeps only accepted answers)")
    if plan.unknown_processors:
        fidelity.missing.append("history processors not re-applied: " + ", ".join(plan.unknown_processors)
                                + " (the prompts sent were edited by them)")
    if not plan.config:
        fidelity.missing.append("agent configuration (no replay_config): model, sampling parameters and history "
                                "processors unknown; prompts are the unprocessed history")


def _note_tools(fidelity: Fidelity, tools_cfg: dict[str, Any], tools_source: str) -> None:
    if tools_source == "options":
        fidelity.exact.append("tool schemas supplied with --tools")
    elif tools_source == "command_docs":
        listed = tools_cfg.get("bundles")
        bundles = [b.get("path") for b in listed if isinstance(b, dict)] if isinstance(listed, list) else []
        fidelity.reconstructed.append("tool schemas parsed from replay_config command_docs"
                                      + (f" (bundles {', '.join(str(b) for b in bundles)})" if bundles else "")
                                      + ": names, descriptions, argument types and required flags")
    else:
        fidelity.reconstructed.append("tools: names taken from the recorded calls")
        fidelity.missing.append("tool schemas (no replay_config tool docs; empty parameter schemas; "
                                "supply them with --tools)")


# -- history items -> OpenAI messages ------------------------------------------------------


def _check_item(path: Path, loc: str, item: Any) -> None:
    if not isinstance(item, dict):
        raise format_error(path, loc, "expected a message object")
    role = want(item.get("role"), str, path, f"{loc}.role", optional=False)
    want(item.get("tags"), list, path, f"{loc}.tags")
    for i, call in enumerate(want(item.get("tool_calls"), list, path, f"{loc}.tool_calls") or []):
        want(want(call, dict, path, f"{loc}.tool_calls[{i}]", optional=False).get("function"), dict, path,
             f"{loc}.tool_calls[{i}].function")
    if role not in _ROLES:
        raise format_error(path, f"{loc}.role", f"expected one of 'system', 'user', 'assistant', 'tool', got {role!r}")
    content = item.get("content")
    if content is not None and not isinstance(content, (str, list)):
        raise format_error(path, f"{loc}.content", "expected a string or a list of content parts")


def _has_query(query: Any) -> bool:
    # StepOutput.query defaults to [{}]: that is "not recorded".
    return isinstance(query, list) and any(isinstance(q, dict) and q for q in query)


def _message(path: Path, loc: str, item: dict[str, Any], convert_system: bool) -> dict[str, Any]:
    role = item["role"]
    if role == "system" and convert_system:
        role = "user"
    content = _content(item.get("content"))
    if role == "tool":
        ids = item.get("tool_call_ids")
        if isinstance(ids, str):
            ids = [ids]
        if not isinstance(ids, list) or not ids or not isinstance(ids[0], str):
            raise format_error(path, f"{loc}.tool_call_ids", "expected a non-empty list of tool call ids")
        return {"role": "tool", "tool_call_id": ids[0], "content": content if content is not None else ""}
    if role == "assistant":
        msg: dict[str, Any] = {"role": "assistant", "content": content}
        calls = item.get("tool_calls")
        if calls:
            if not isinstance(calls, list):
                raise format_error(path, f"{loc}.tool_calls", "expected a list of tool calls")
            msg["tool_calls"] = [_tool_call(path, f"{loc}.tool_calls[{i}]", c, i) for i, c in enumerate(calls)]
        return msg
    return {"role": role, "content": content if content is not None else ""}


def _tool_call(path: Path, loc: str, call: Any, i: int) -> dict[str, Any]:
    if not isinstance(call, dict):
        raise format_error(path, loc, "expected a tool call object")
    fn = call.get("function")
    if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"]:
        raise format_error(path, f"{loc}.function.name", "expected the called function's name")
    args = fn.get("arguments", "{}")
    if not isinstance(args, str):
        args = json.dumps(args, ensure_ascii=False)
    call_id = call.get("id") if isinstance(call.get("id"), str) else f"call_{i}"
    return {"id": call_id, "type": "function", "function": {"name": fn["name"], "arguments": args}}


def _content(content: Any) -> Any:
    if content is None or isinstance(content, str):
        return content
    parts = []
    for part in content:
        if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
            parts.append({"type": "text", "text": part["text"]})
        elif isinstance(part, dict) and part.get("type") in ("image_url", "image"):
            parts.append({"type": "text", "text": "[image omitted]"})
        elif isinstance(part, str):
            parts.append({"type": "text", "text": part})
        else:
            parts.append({"type": "text", "text": json.dumps(part, ensure_ascii=False)})
    return parts


# -- history processors (sweagent/agent/history_processors.py) -------------------------------


def _processors(agent_cfg: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    raw = agent_cfg.get("history_processors")
    if raw is None:
        raw = agent_cfg.get("history_processor")
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list):
        return [], []
    known, unknown = [], []
    for proc in raw:
        kind = proc.get("type") if isinstance(proc, dict) else proc
        if kind in ("default", "DefaultHistoryProcessor", "cache_control", "tag_tool_call_observations"):
            continue  # no effect on the text of the messages
        if kind in ("last_n_observations", "remove_regex", "closed_window") and isinstance(proc, dict):
            if _usable(proc):
                known.append(proc)
            else:
                unknown.append(f"{kind} (parameters it cannot run with)")
        else:
            unknown.append(str(kind))
    return known, unknown


def _usable(proc: dict[str, Any]) -> bool:
    """Whether a processor's parameters are what it takes: tag lists of strings, patterns that compile."""
    for key in ("always_remove_output_for_tags", "always_keep_output_for_tags", "remove"):
        value = proc.get(key)
        if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            return False
    try:
        for pattern in proc.get("remove") or []:
            re.compile(pattern)
    except (re.error, RecursionError, OverflowError):
        return False
    return True


def _processor_name(proc: dict[str, Any]) -> str:
    if proc["type"] == "last_n_observations":
        return f"last_n_observations n={proc.get('n')}"
    return str(proc["type"])


def _apply_processors(processors: list[dict[str, Any]], history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = history
    for proc in processors:
        if proc["type"] == "last_n_observations":
            out = _last_n_observations(out, proc)
        elif proc["type"] == "remove_regex":
            out = _remove_regex(out, proc)
        elif proc["type"] == "closed_window":
            out = _closed_window(out)
    return out


def _text_lines(content: Any) -> tuple[int, int]:
    if isinstance(content, str):
        return len(content.splitlines()), 0
    if isinstance(content, list):
        texts = [p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"]
        lines = sum(len(t.splitlines()) for t in texts)
        images = sum(1 for p in content if isinstance(p, dict) and p.get("type") == "image_url")
        return lines, images
    return 0, 0


def _last_n_observations(history: list[dict[str, Any]], proc: dict[str, Any]) -> list[dict[str, Any]]:
    n = proc.get("n")
    if not isinstance(n, int) or n <= 0:
        return history
    polling = proc.get("polling", 1) if isinstance(proc.get("polling"), int) and proc.get("polling") > 0 else 1
    remove_tags = set(proc.get("always_remove_output_for_tags") or ["remove_output"])
    keep_tags = set(proc.get("always_keep_output_for_tags") or ["keep_output"])
    observations = [i for i, h in enumerate(history)
                    if h.get("message_type") == "observation" and not h.get("is_demo")]
    last_removed = max(0, (len(observations) // polling) * polling - n)
    omit = set(observations[1:last_removed])  # the first observation (the task) is never elided
    out = []
    for i, entry in enumerate(history):
        tags = set(entry.get("tags") or [])
        if (i not in omit or tags & keep_tags) and not tags & remove_tags:
            out.append(entry)
            continue
        lines, images = _text_lines(entry.get("content"))
        data = dict(entry)
        data["content"] = f"Old environment output: ({lines} lines omitted)"
        if images:
            data["content"] += f" ({images} images omitted)"
        out.append(data)
    return out


def _remove_regex(history: list[dict[str, Any]], proc: dict[str, Any]) -> list[dict[str, Any]]:
    patterns = proc.get("remove") or ["<diff>.*?</diff>"]
    keep_last = proc.get("keep_last", 0) if isinstance(proc.get("keep_last"), int) else 0
    out = []
    for back, entry in enumerate(reversed(history)):
        entry = copy.deepcopy(entry)
        if back >= keep_last:
            if isinstance(entry.get("content"), str):
                for pattern in patterns:
                    entry["content"] = re.sub(pattern, "", entry["content"], flags=re.DOTALL)
            elif isinstance(entry.get("content"), list):
                for part in entry["content"]:
                    if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
                        for pattern in patterns:
                            part["text"] = re.sub(pattern, "", part["text"], flags=re.DOTALL)
        out.append(entry)
    return list(reversed(out))


_WINDOW_LINE = re.compile(r"^(\d+)\:.*?(\n|$)", re.MULTILINE)
_WINDOW_FILE = re.compile(r"\[File:\s+(.*)\s+\(\d+\s+lines\ total\)\]")


def _closed_window(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    windows: set[str] = set()
    for entry in reversed(history):
        content = entry.get("content")
        if entry.get("role") != "user" or entry.get("is_demo") or not isinstance(content, str):
            out.append(entry)
            continue
        matches = list(_WINDOW_LINE.finditer(content))
        data = dict(entry)
        if matches:
            found = _WINDOW_FILE.search(content)
            if not found:
                continue  # as SWE-agent does: such an entry is dropped
            if found.group(1) in windows:
                data["content"] = (content[:matches[0].start()]
                                   + f"Outdated window with {len(matches)} lines omitted...\n"
                                   + content[matches[-1].end():])
            windows.add(found.group(1))
        out.append(data)
    return list(reversed(out))


# -- configuration, tools, repository ---------------------------------------------------------


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _embedded(exc: Malformed) -> str:
    """What is wrong with a JSON text stored in a string field."""
    return "invalid JSON string: " + exc.message.removeprefix("invalid JSON: ")


def _replay_config(path: Path, raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if isinstance(raw, str):
        try:
            raw = parse_json(raw, standard=False)
        except Malformed as exc:
            raise format_error(path, "$.replay_config", _embedded(exc)) from None
    if not isinstance(raw, dict):
        raise format_error(path, "$.replay_config", "expected an object (or a JSON string of one)")
    return raw


def _tools(path: Path, options: ImportOptions, tools_cfg: dict[str, Any], items: list[dict[str, Any]],
           function_calling: bool) -> tuple[list[dict[str, Any]] | None, str]:
    if not function_calling:
        return None, "none"
    if options.tools:
        return options.tools, "options"
    used: list[str] = []
    for item in items:
        for call in item.get("tool_calls") or []:
            fn = call.get("function") if isinstance(call, dict) else None  # checked: a dict or None
            name = fn.get("name") if isinstance(fn, dict) else None
            if isinstance(name, str) and name and name not in used:
                used.append(name)
    tools: list[dict[str, Any]] = []
    source = "names"
    docs = tools_cfg.get("command_docs")
    if isinstance(docs, str) and docs.strip():
        tools = parse_command_docs(docs)
        if tools:
            source = "command_docs"
    names = {t["function"]["name"] for t in tools}
    for name in used:
        if name not in names:
            tools.extend(names_only_tools([name]))
    return tools or None, source


_HEADER = re.compile(r"^([A-Za-z_][\w\-]*):\s*$")
_ARG = re.compile(r"^\s+-\s+([A-Za-z_][\w\-]*)\s+\(([^)]*)\)\s+\[(required|optional)\]:\s?(.*)$")


def parse_command_docs(docs: str) -> list[dict[str, Any]]:
    """OpenAI tools from SWE-agent's rendered command docs (``generate_command_docs``):

        name:
          docstring: ...
          signature: ...
          arguments:
            - arg (type) [required]: description
    """
    commands: list[dict[str, Any]] = []
    cur: dict[str, Any] | None = None
    section = None
    for line in docs.splitlines():
        header = _HEADER.match(line)
        if header:
            cur = {"name": header.group(1), "doc": [], "args": []}
            commands.append(cur)
            section = None
            continue
        if cur is None:
            continue
        if line.startswith("  docstring:"):
            section = "doc"
            cur["doc"].append(line[len("  docstring:"):].strip())
        elif line.startswith("  signature:"):
            section = "signature"
        elif line.startswith("  arguments:"):
            section = "args"
        elif section == "args":
            arg = _ARG.match(line)
            if arg:
                cur["args"].append({"name": arg.group(1), "type": arg.group(2).strip() or "string",
                                    "required": arg.group(3) == "required", "description": arg.group(4).strip()})
            elif line.strip() and cur["args"]:
                cur["args"][-1]["description"] += " " + line.strip()
        elif section == "doc" and line.strip():
            cur["doc"].append(line.strip())
    tools = []
    for cmd in commands:
        fn: dict[str, Any] = {"name": cmd["name"], "description": "\n".join(cmd["doc"]).strip()}
        if cmd["args"]:
            fn["parameters"] = {
                "type": "object",
                "properties": {a["name"]: {"type": a["type"], "description": a["description"]} for a in cmd["args"]},
                "required": [a["name"] for a in cmd["args"] if a["required"]],
            }
        else:
            fn["parameters"] = {"type": "object"}
        tools.append({"type": "function", "function": fn})
    return tools


def _repository(config: dict[str, Any]) -> dict[str, Any] | None:
    repo = _dict(_dict(config.get("env")).get("repo"))
    if not repo:
        return None
    out: dict[str, Any] = {}
    if isinstance(repo.get("base_commit"), str):
        out["base_commit"] = repo["base_commit"]
    remote = repo.get("github_url") or repo.get("url")
    if not remote and repo.get("type") == "github" and isinstance(repo.get("repo_name"), str):
        remote = f"https://github.com/{repo['repo_name']}"
    if isinstance(remote, str):
        out["remote"] = remote
    return out or None


def _repeated_ids(calls: list[Call]) -> bool:
    seen: set[str] = set()
    for call in calls:
        for tc in call.response.get("tool_calls") or []:
            if tc["id"] in seen:
                return True
            seen.add(tc["id"])
    return False
