"""OpenHands trajectories (``All-Hands-AI/OpenHands : openhands/events/serialization/event.py``).

A trajectory (``save_trajectory_path``, the UI download, ``replay_trajectory_path``) is a JSON
list of events ``{id, timestamp, source: user|agent|environment, message, action|observation,
cause?, args|extras|content, tool_call_metadata?, llm_metrics?}``. A server session stores one
file per event, ``sessions/<sid>/events/<n>.json``: pass that folder (or its parent).

Events are not messages. The conversation is rebuilt the way OpenHands' ConversationMemory
does before every LLM call:

- an agent action with ``tool_call_metadata`` came from an LLM response: its
  ``model_response`` (a litellm ChatCompletion) gives the assistant message with its
  ``tool_calls``; actions of one response share ``model_response.id`` (one model call);
- the observation carrying the same ``tool_call_id`` becomes the ``role: tool`` message;
  the assistant message enters the conversation once all of its tool results are in;
- user messages become user messages; an agent message without tool metadata is a plain
  assistant answer (one model call); state changes, null observations and the like are not
  part of the prompt;
- a ``condensation`` action forgets events (and may insert a summary) for later prompts.

Newer builds store the system prompt and tool schemas as a first ``system`` action; older
ones do not, and the system prompt is a stand-in (``--system-prompt`` supplies the real one).
"""

from __future__ import annotations

import json
import re
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from replayer.sources.builder import Call, Fidelity, SharedHistory, iso
from replayer.trace.model import sane_time
from replayer.sources.importers.base import (
    STANDIN_SYSTEM_PROMPT,
    names_only_tools,
    ImportOptions,
    Imported,
    format_error,
    read_json,
    want,
)

NAME = "openhands"
READS_FOLDERS = True  # a session's events folder

# Actions that are not LLM output and never part of the prompt.
_SILENT_ACTIONS = {"change_agent_state", "null", "recall", "condensation", "condensation_request", "pause",
                   "resume", "stop", "push", "send_pr", "start", "loop_recovery"}
_SILENT_OBSERVATIONS = {"agent_state_changed", "null", "recall"}
_SOURCE = re.compile(rb'"source"\s*:\s*"(agent|user|environment)"')


def detect(path: Path, head: bytes) -> bool:
    if path.is_dir():
        return bool(_event_files(path))
    text = head.lstrip()
    if not text.startswith(b"["):
        return False
    return (_SOURCE.search(head) is not None and (b'"action"' in head or b'"observation"' in head)
            and re.search(rb'"id"\s*:\s*\d', head) is not None)


def _event_files(path: Path) -> list[Path]:
    folder = path / "events" if (path / "events").is_dir() else path
    files = [p for p in folder.glob("*.json") if p.stem.isdigit()]
    return sorted(files, key=lambda p: int(p.stem))


def _read_events(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Events and a location for each (for error messages)."""
    if path.is_dir():
        files = _event_files(path)
        if not files:
            raise format_error(path, "", "no event files (<n>.json) in this folder")
        events = []
        for f in files:
            events.append(read_json(f))
        return events, [str(f) for f in files]
    data = read_json(path)
    if isinstance(data, dict) and isinstance(data.get("history"), list):
        return data["history"], [f"$.history[{i}]" for i in range(len(data["history"]))]
    if not isinstance(data, list):
        raise format_error(path, "$", "expected a JSON list of events (an OpenHands trajectory)")
    return data, [f"$[{i}]" for i in range(len(data))]


@dataclass(frozen=True)
class _Setup:
    """The system prompt and tools every call is sent with, and where they came from."""
    system_text: str
    system_source: str  # "system event", "options" or "stand-in"
    tools: list[dict[str, Any]] | None
    tool_source: str | None  # "system event", "options", "names" or None
    system_event: dict[str, Any] | None

    @property
    def version(self) -> Any:
        return ((self.system_event or {}).get("args") or {}).get("openhands_version")


class _Answers:
    """Tells which agent actions were model calls and what each answered."""

    def __init__(self, path: Path, locs: list[str]) -> None:
        self.path, self.locs = path, locs
        self.seen_responses: set[str] = set()
        self.n_plain = self.n_synthetic = 0
        self.model: str | None = None

    def answer(self, k: int, ev: dict[str, Any]) -> tuple[dict[str, Any], str | None, dict | None] | None:
        """(message, finish reason, usage) when agent event k was a model call's answer, else None."""
        action = ev["action"]
        meta = ev.get("tool_call_metadata")
        if isinstance(meta, dict) and isinstance(meta.get("model_response"), dict):
            resp = meta["model_response"]
            rid = str(resp.get("id") or f"event-{ev.get('id')}")
            if rid in self.seen_responses:
                return None  # another action of the same LLM response
            self.seen_responses.add(rid)
            answer = _response(self.path, f"{self.locs[k]}.tool_call_metadata.model_response", resp)
            self.model = self.model or resp.get("model")
            return answer
        if isinstance(meta, dict) and action not in _SILENT_ACTIONS and action != "system":
            # Tool metadata without the model response: rebuild the call from the action.
            self.n_synthetic += 1
            return _synthetic(ev), "tool_calls", None
        if action in ("message", "finish", "reject") or (action not in _SILENT_ACTIONS and action != "system"):
            self.n_plain += 1
            return {"role": "assistant", "content": _action_text(ev)}, "stop", None
        return None


def load(path: Path, options: ImportOptions) -> Imported:
    events, locs = _read_events(path)
    for ev, loc in zip(events, locs):
        _check_event(path, loc, ev)
    offset, offset_note = _clock_offset(events)
    notes: list[str] = []
    if offset_note:
        notes.append(offset_note)
    setup = _setup(events, options)
    answers = _Answers(path, locs)
    prompts = _Prompts(path, setup.system_text)
    calls: list[Call] = []
    for k, ev in enumerate(events):
        answer = answers.answer(k, ev) if ev.get("source") == "agent" and "action" in ev else None
        prompt = prompts.prompt() if answer is not None else None  # what events[:k] make it
        prompts.add(ev)
        if answer is None:
            continue
        message, finish, usage = answer
        before = _time(events[k - 1].get("timestamp"), offset) if k else None
        calls.append(Call(
            messages=prompt, response=message,
            params={"model": answers.model} if answers.model else {},
            tools=setup.tools, finish_reason=finish, usage=usage,
            requested_at=before, responded_at=_time(ev.get("timestamp"), offset),
        ))
    if not calls:
        raise format_error(path, "$", "no agent action in this trajectory: the agent made no model call")
    for call in calls:
        if not call.params and answers.model:
            call.params = {"model": answers.model}
    first_user = next((e for e in events if e.get("source") == "user" and e.get("action") == "message"), None)
    return Imported(
        name=path.name if path.is_dir() else path.name.split(".")[0],
        calls=calls,
        provenance={"agent": "OpenHands", "agent_version": str(setup.version) if setup.version else None,
                    "model": answers.model, "source": str(path),
                    "created_at": _time(events[0].get("timestamp"), offset) if events else None, "notes": notes},
        fidelity=_fidelity(setup, answers, calls, events),
        description=_short(first_user.get("message")) if first_user else None,
    )


def _setup(events: list[dict[str, Any]], options: ImportOptions) -> _Setup:
    system_event = next((e for e in events if e.get("action") == "system"), None)
    system_text = None
    tools: list[dict[str, Any]] | None = None
    if system_event is not None:
        args = system_event.get("args") or {}
        if isinstance(args.get("content"), str):
            system_text = args["content"]
        if isinstance(args.get("tools"), list) and args["tools"]:
            tools = [_tool(t) for t in args["tools"] if isinstance(t, dict)]
    # What the trajectory stored wins over the options: it is what was sent.
    if system_text is not None:
        system_source = "system event"
    elif options.system_prompt is not None:
        system_text, system_source = options.system_prompt, "options"
    else:
        system_text, system_source = STANDIN_SYSTEM_PROMPT, "stand-in"
    tool_source = "system event" if tools else None
    if not tools and options.tools:
        tools, tool_source = options.tools, "options"
    names = _tool_names(events)
    if not tools and names:
        tools = names_only_tools(names)
        tool_source = "names"
    return _Setup(system_text, system_source, tools, tool_source, system_event)


def _fidelity(setup: _Setup, answers: _Answers, calls: list[Call], events: list[dict[str, Any]]) -> Fidelity:
    exact: list[str] = []
    reconstructed: list[str] = []
    missing: list[str] = []
    if setup.system_source == "system event":
        exact.append("system prompt (the trajectory's system event)")
    elif setup.system_source == "options":
        exact.append("system prompt supplied with --system-prompt")
    else:
        missing.append("system prompt (not stored in this trajectory; a stand-in is used: pass --system-prompt)")
    n_meta = len(answers.seen_responses)
    if n_meta:
        exact.append(f"assistant responses of {_calls(n_meta)} "
                     "(tool_call_metadata.model_response: content and tool calls)")
    if answers.n_plain:
        reconstructed.append(f"assistant responses of {_calls(answers.n_plain)} without tool metadata "
                             "(from the action's text; no model response stored)")
    if answers.n_synthetic:
        reconstructed.append(f"assistant responses of {_calls(answers.n_synthetic)} whose model response is not "
                             "stored (tool call rebuilt from the action's fields)")
    exact.append("user messages")
    reconstructed.append("conversation rebuilt from events as OpenHands' ConversationMemory does "
                         "(tool results formatted from observations)")
    if setup.tool_source == "system event":
        exact.append("tool schemas (the trajectory's system event)")
    elif setup.tool_source == "options":
        exact.append("tool schemas supplied with --tools")
    elif setup.tool_source == "names":
        reconstructed.append("tools: names taken from the recorded calls")
        missing.append("tool schemas (not stored; empty parameter schemas; supply them with --tools)")
    if any(c.usage for c in calls):
        exact.append("token usage of the calls with a model response")
    if any(e.get("observation") == "recall" for e in events):
        missing.append("workspace context / microagent messages (recall observations are rendered from "
                       "templates that are not stored)")
    if any(e.get("action") == "condensation" for e in events):
        reconstructed.append("history condensation re-applied (forgotten events and summary)")
    missing.append("sampling parameters (not stored)")
    return Fidelity(exact=exact, reconstructed=reconstructed, missing=missing)


def _calls(n: int) -> str:
    return f"{n} call" if n == 1 else f"{n} calls"


def _check_event(path: Path, loc: str, ev: Any) -> None:
    if not isinstance(ev, dict):
        raise format_error(path, loc, "expected an event object")
    if "action" not in ev and "observation" not in ev:
        raise format_error(path, loc, "expected an event with 'action' or 'observation'")
    if ev.get("source") not in ("agent", "user", "environment", None):
        raise format_error(path, f"{loc}.source",
                           f"expected 'agent', 'user' or 'environment', got {ev.get('source')!r}")
    for key, kind in _EVENT_FIELDS.items():
        want(ev.get(key), kind, path, f"{loc}.{key}")
    for key, kind in _ARGS_FIELDS.items():
        want((ev.get("args") or {}).get(key), kind, path, f"{loc}.args.{key}")
    for i, forgotten in enumerate((ev.get("args") or {}).get("forgotten_event_ids") or []):
        want(forgotten, (int, str), path, f"{loc}.args.forgotten_event_ids[{i}]")
    want((ev.get("extras") or {}).get("metadata"), dict, path, f"{loc}.extras.metadata")
    meta = ev.get("tool_call_metadata")
    if meta is not None:
        want(meta.get("tool_call_id"), str, path, f"{loc}.tool_call_metadata.tool_call_id", optional=False)
        want(meta.get("function_name"), str, path, f"{loc}.tool_call_metadata.function_name")
        _check_response(path, f"{loc}.tool_call_metadata.model_response", meta.get("model_response"))
    if ev.get("timestamp") is not None:
        try:
            when = _parse_time(ev["timestamp"])
        except (TypeError, ValueError, OverflowError, OSError):
            raise format_error(path, f"{loc}.timestamp",
                               f"expected an ISO 8601 time, got {ev['timestamp']!r}") from None
        # a day's margin: a local time is moved by its zone's offset (_clock_offset) later
        if not (sane_time(when) and sane_time(when - _DAY) and sane_time(when + _DAY)):
            raise format_error(path, f"{loc}.timestamp",
                               f"expected a time between 1970 and 2100, got {ev['timestamp']!r}")


def _check_response(path: Path, loc: str, resp: Any) -> None:
    """The parts of a stored litellm response that are read: choices, messages, tool calls."""
    want(resp, dict, path, loc)
    for i, choice in enumerate(want((resp or {}).get("choices"), list, path, f"{loc}.choices") or []):
        want(choice, dict, path, f"{loc}.choices[{i}]", optional=False)
        message = want(choice.get("message"), dict, path, f"{loc}.choices[{i}].message") or {}
        for j, call in enumerate(want(message.get("tool_calls"), list, path, f"{loc}.choices[{i}].message.tool_calls")
                                 or []):
            want(call, dict, path, f"{loc}.choices[{i}].message.tool_calls[{j}]", optional=False)
            want(call.get("function"), dict, path, f"{loc}.choices[{i}].message.tool_calls[{j}].function")


# Event fields the importer hashes, compares or indexes, and their types.
_EVENT_FIELDS = {"id": (int, str), "action": str, "observation": str, "message": str, "args": dict, "extras": dict,
                 "content": (str, list), "tool_call_metadata": dict}
_ARGS_FIELDS = {"content": str, "thought": str, "tools": list, "forgotten_event_ids": list,
                "forgotten_events_start_id": int, "forgotten_events_end_id": int, "summary": str,
                "summary_offset": int, "command": str}


def _short(text: Any) -> str | None:
    if not isinstance(text, str) or not text.strip():
        return None
    line = text.strip().splitlines()[0]
    return line if len(line) <= 120 else line[:117] + "..."


# -- responses -------------------------------------------------------------------------------


def _response(path: Path, loc: str, resp: dict[str, Any]) -> tuple[dict[str, Any], str | None, dict | None]:
    choices = resp.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict) \
            or not isinstance(choices[0].get("message"), dict):
        raise format_error(path, f"{loc}.choices", "expected a list of choices with a message")
    raw = choices[0]["message"]
    message = _assistant(path, f"{loc}.choices[0].message", raw)
    finish = choices[0].get("finish_reason")
    usage = None
    if isinstance(resp.get("usage"), dict):
        usage = {k: resp["usage"][k] for k in ("prompt_tokens", "completion_tokens")
                 if isinstance(resp["usage"].get(k), int)} or None
    return message, finish if isinstance(finish, str) else None, usage


def _assistant(path: Path, loc: str, raw: dict[str, Any]) -> dict[str, Any]:
    content = _text(raw.get("content"))
    msg: dict[str, Any] = {"role": "assistant", "content": content if content and content.strip() else None}
    calls = raw.get("tool_calls")
    if calls:
        if not isinstance(calls, list):
            raise format_error(path, f"{loc}.tool_calls", "expected a list")
        out = []
        for i, call in enumerate(calls):
            fn = call.get("function") if isinstance(call, dict) else None
            if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"]:
                raise format_error(path, f"{loc}.tool_calls[{i}].function.name", "expected the called function's name")
            args = fn.get("arguments", "{}")
            if not isinstance(args, str):
                args = json.dumps(args, ensure_ascii=False)
            out.append({"id": str(call.get("id") or f"call_{i}"), "type": "function",
                        "function": {"name": fn["name"], "arguments": args}})
        msg["tool_calls"] = out
    if isinstance(raw.get("reasoning_content"), str) and raw["reasoning_content"]:
        msg["reasoning_content"] = raw["reasoning_content"]
    return msg


def _action_text(ev: dict[str, Any]) -> str:
    args = ev.get("args") or {}
    if ev.get("action") == "message" and isinstance(args.get("content"), str):
        return args["content"]
    thought = args.get("thought") if isinstance(args.get("thought"), str) else ""
    body = args.get("final_thought") or args.get("content") or ev.get("message") or ""
    if thought and body and thought != body:
        return f"{thought}\n{body}"
    return thought or str(body)


def _text(content: Any) -> str | None:
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):
        out = []
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                out.append(part["text"])
            elif isinstance(part, dict) and part.get("type") in ("image_url", "image"):
                out.append("[image omitted]")
            elif isinstance(part, str):
                out.append(part)
        return "\n".join(out)
    return json.dumps(content, ensure_ascii=False)


def _tool(raw: dict[str, Any]) -> dict[str, Any]:
    fn = raw.get("function") if isinstance(raw.get("function"), dict) else raw
    out: dict[str, Any] = {"name": str(fn.get("name") or "tool")}
    if isinstance(fn.get("description"), str):
        out["description"] = fn["description"]
    params = fn.get("parameters")
    out["parameters"] = params if isinstance(params, dict) else {"type": "object", "properties": {}}
    return {"type": "function", "function": out}


def _tool_names(events: list[dict[str, Any]]) -> list[str]:
    names: list[str] = []
    for ev in events:
        meta = ev.get("tool_call_metadata")
        if not isinstance(meta, dict):
            continue
        resp = meta.get("model_response")
        found = []
        if isinstance(resp, dict):
            for choice in resp.get("choices") or []:
                msg = choice.get("message") if isinstance(choice, dict) else None
                for call in (msg or {}).get("tool_calls") or []:
                    fn = call.get("function") if isinstance(call, dict) else None
                    if isinstance(fn, dict) and isinstance(fn.get("name"), str):
                        found.append(fn["name"])
        if isinstance(meta.get("function_name"), str):
            found.append(meta["function_name"])
        for name in found:
            if name and name not in names:
                names.append(name)
    return names


# -- the prompt (ConversationMemory.process_events, simplified) ------------------------------


class _Prompts:
    """Each call's prompt as OpenHands' ConversationMemory builds it from the events before the
    call (simplified), kept up event by event: the messages are one growing list that every
    call shares (rebuilding it for every call is quadratic in the session), until a
    condensation changes what the model sees and it is built again from the new view."""

    def __init__(self, path: Path, system_text: str) -> None:
        self.path, self.system = path, {"role": "system", "content": system_text}
        self.seen: list[dict[str, Any]] = []
        self.forgetting = _Forgetting()
        self.volatile = False  # a summary placed relative to the end: rebuilt for every call
        self._restart([])

    def _restart(self, view: list[dict[str, Any]]) -> None:
        self.messages: list[dict[str, Any]] = [self.system]
        self.pending: dict[str, dict[str, Any]] = {}  # response id -> assistant message waiting for its tool results
        self.order: list[str] = []
        self.results: dict[str, dict[str, Any]] = {}
        for ev in view:
            self._add(ev)

    def prompt(self) -> SharedHistory:
        if self.volatile:
            self._restart(self.forgetting.view(self.seen))
        return SharedHistory(self.messages)

    def add(self, ev: dict[str, Any]) -> None:
        self.seen.append(ev)
        if ev.get("action") == "condensation":
            self.forgetting = _Forgetting(self.seen)
            view = self.forgetting.view(self.seen)
            self.volatile = self.forgetting.summary is not None and not 0 <= self.forgetting.summary[0] <= len(view) - 1
            self._restart(view)
        elif not self.forgetting.gone(ev.get("id")):
            self._add(ev)

    def _add(self, ev: dict[str, Any]) -> None:
        if "action" in ev:
            out = _action_messages(self.path, ev, self.pending, self.order)
        else:
            out = _observation_messages(ev, self.results)
        for rid in list(self.order):
            msg = self.pending[rid]
            ids = list(dict.fromkeys(tc["id"] for tc in msg.get("tool_calls") or []))  # a repeated id: one result
            if all(i in self.results for i in ids):
                out.append(msg)
                out.extend(self.results.pop(i) for i in ids)
                self.order.remove(rid)
                del self.pending[rid]
        for msg in out:
            # Consecutive user messages are separated by a blank line (_apply_user_message_formatting).
            if msg["role"] == "user" and self.messages[-1]["role"] == "user" and isinstance(msg["content"], str) \
                    and msg["content"]:
                msg = {**msg, "content": "\n\n" + msg["content"]}
            self.messages.append(msg)


class _Forgetting:
    """What the condensations among some events forget (openhands/memory/view.py)."""

    def __init__(self, events: list[dict[str, Any]] = ()) -> None:
        self.forgotten: set[Any] = set()
        self.spans: list[tuple[int, int]] = []  # id ranges, tested rather than listed: a range can be huge
        self.summary: tuple[int, str] | None = None
        for ev in events:
            if ev.get("action") == "condensation":
                args = ev.get("args") or {}
                self.forgotten.update(args.get("forgotten_event_ids") or [])  # ids and args checked by _check_event
                start, end = args.get("forgotten_events_start_id"), args.get("forgotten_events_end_id")
                if start is not None and end is not None:
                    self.spans.append((start, end))
                if args.get("summary") is not None and args.get("summary_offset") is not None:
                    self.summary = (args["summary_offset"], args["summary"])

    def gone(self, ev_id: Any) -> bool:
        return ev_id in self.forgotten or (isinstance(ev_id, int) and any(a <= ev_id <= b for a, b in self.spans))

    def view(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The events the LLM sees, with the summary where the condensation put it."""
        kept = [ev for ev in events if not self.gone(ev.get("id"))]
        if self.summary is not None:
            at = max(min(self.summary[0], len(kept)), -len(kept) - 1)  # list.insert's own clamping, for any int
            kept.insert(at, {"observation": "agent_condensation", "content": self.summary[1], "source": "agent"})
        return kept


def _action_messages(path: Path, ev: dict[str, Any], pending: dict[str, dict[str, Any]],
                     order: list[str]) -> list[dict[str, Any]]:
    action = ev.get("action")
    args = ev.get("args") or {}
    source = ev.get("source")
    if action in _SILENT_ACTIONS or action == "system":
        return []
    meta = ev.get("tool_call_metadata")
    if action == "finish" and source == "agent":
        # OpenHands turns the finish call into a plain assistant message.
        text = args.get("thought") or ""
        if isinstance(meta, dict) and isinstance(meta.get("model_response"), dict):
            content = _first_content(meta["model_response"]) or ""
            if text and content and text != content:
                text = f"{text}\n{content}"
            else:
                text = text or content
        text = text or args.get("final_thought") or ev.get("message") or ""
        return [{"role": "assistant", "content": text}]
    if action == "message":
        role = "user" if source == "user" else "assistant"
        content = args.get("content") if isinstance(args.get("content"), str) else ev.get("message") or ""
        return [{"role": role, "content": content}]
    if action == "run" and source == "user":
        return [{"role": "user", "content": f"User executed the command:\n{args.get('command', '')}"}]
    if isinstance(meta, dict) and isinstance(meta.get("model_response"), dict):
        resp = meta["model_response"]
        rid = str(resp.get("id") or f"event-{ev.get('id')}")
        if rid not in pending:
            msg, _, _ = _response(path, "tool_call_metadata.model_response", resp)
            if not msg.get("tool_calls"):
                return [msg]
            pending[rid] = msg
            order.append(rid)
        return []
    if isinstance(meta, dict) and isinstance(meta.get("tool_call_id"), str):
        rid = f"event-{ev.get('id')}"
        if rid not in pending:  # a repeated event id: one answer waiting, not two
            order.append(rid)
        pending[rid] = _synthetic(ev)
        return []
    if source == "agent":
        return [{"role": "assistant", "content": _action_text(ev)}]
    return []


_NOT_ARGUMENTS = {"thought", "blocking", "hidden", "confirmation_state", "is_input", "impl_source",
                  "translated_ipython_code", "security_risk", "is_confirmed", "kernel_init_code"}


def _synthetic(ev: dict[str, Any]) -> dict[str, Any]:
    """The assistant message of an action whose model response was not stored."""
    meta = ev["tool_call_metadata"]
    args = ev.get("args") or {}
    arguments = {k: v for k, v in args.items() if k not in _NOT_ARGUMENTS}
    thought = args.get("thought") if isinstance(args.get("thought"), str) and args["thought"].strip() else None
    name = meta.get("function_name") if isinstance(meta.get("function_name"), str) and meta["function_name"] \
        else str(ev.get("action"))
    return {"role": "assistant", "content": thought, "tool_calls": [{
        "id": meta["tool_call_id"], "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments, ensure_ascii=False)}}]}


def _first_content(resp: dict[str, Any]) -> str | None:
    choices = resp.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        return _text((choices[0].get("message") or {}).get("content"))
    return None


def _observation_messages(ev: dict[str, Any], results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    kind = ev.get("observation")
    if kind in _SILENT_OBSERVATIONS:
        return []
    text = _observation_text(ev)
    meta = ev.get("tool_call_metadata")
    if isinstance(meta, dict) and isinstance(meta.get("tool_call_id"), str):
        results[meta["tool_call_id"]] = {"role": "tool", "tool_call_id": meta["tool_call_id"], "content": text}
        return []
    if kind == "run":
        text = f"\nObserved result of command executed by user:\n{text}"
    return [{"role": "user", "content": text}]


def _observation_text(ev: dict[str, Any]) -> str:
    kind = ev.get("observation")
    content = _text(ev.get("content"))
    if content is None:
        content = ev.get("message") if isinstance(ev.get("message"), str) else ""
    extras = ev.get("extras") or {}
    if kind == "run":
        meta = extras.get("metadata") if isinstance(extras.get("metadata"), dict) else {}
        text = f"{meta.get('prefix') or ''}{content}{meta.get('suffix') or ''}"
        if meta.get("working_dir"):
            text += f"\n[Current working directory: {meta['working_dir']}]"
        if meta.get("py_interpreter_path"):
            text += f"\n[Python interpreter: {meta['py_interpreter_path']}]"
        if isinstance(meta.get("exit_code"), int) and meta["exit_code"] != -1:
            text += f"\n[Command finished with exit code {meta['exit_code']}]"
        return text
    if kind == "edit" and extras.get("impl_source") == "oh_aci" \
            and isinstance(extras.get("formatted_output_and_error"), str):
        return extras["formatted_output_and_error"]  # what the agent-computer interface printed
    if kind == "error":
        return content + "\n[Error occurred in processing last action]"
    if kind == "user_rejected":
        return "OBSERVATION:\n" + content + "\n[Last action has been rejected by the user]"
    if kind == "run_ipython":
        return "\n".join("![image](data:image/png;base64, ...) already displayed to user"
                         if "![image](data:image/png;base64," in line else line for line in content.split("\n"))
    if kind == "delegate":
        outputs = extras.get("outputs") if isinstance(extras.get("outputs"), dict) else {}
        return str(outputs.get("content", content))
    return content


# -- time ------------------------------------------------------------------------------------


_DAY = timedelta(days=1)


def _parse_time(value: Any) -> datetime:
    if isinstance(value, (int, float)):
        if not 86400 <= value < 4102444800 - 86400:  # 1970-01-02 .. 2099-12-31, NaN excluded
            raise ValueError(f"time {value!r} out of range")
        return datetime.fromtimestamp(value, tz=timezone.utc)
    return datetime.fromisoformat(str(value))


def _clock_offset(events: list[dict[str, Any]]) -> tuple[timedelta | None, str | None]:
    """OpenHands writes local wall-clock times without a zone. The litellm response's
    ``created`` (POSIX seconds) tells the zone offset; without it the times are read as UTC."""
    naive = [e for e in events if isinstance(e.get("timestamp"), str) and _parse_time(e["timestamp"]).tzinfo is None]
    if not naive:
        return None, None
    diffs = []
    for ev in naive:
        meta = ev.get("tool_call_metadata")
        resp = meta.get("model_response") if isinstance(meta, dict) else None
        created = resp.get("created") if isinstance(resp, dict) else None
        if isinstance(created, (int, float)) and 0 < created < 4102444800:  # NaN and absurd times excluded
            local = _parse_time(ev["timestamp"]).replace(tzinfo=timezone.utc)
            diffs.append(created - local.timestamp())
    if not diffs:
        return None, "event times carry no time zone; read as UTC"
    quarter = round(statistics.median(diffs) / 900) * 900
    if abs(quarter) > 14 * 3600:
        return None, "event times carry no time zone; read as UTC"
    hours = -quarter / 3600
    return timedelta(seconds=quarter), (f"event times are local (UTC{hours:+g}, inferred from the model responses' "
                                        "'created'); converted to UTC")


def _time(value: Any, offset: timedelta | None) -> str | None:
    if value is None:
        return None
    dt = _parse_time(value)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
        if offset is not None:
            dt = dt + offset
    return iso(dt)
