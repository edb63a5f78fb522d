"""Cline v4 SDK session: ``<sessionId>.messages.json`` (+ the manifest ``<sessionId>.json``).

``messages.json`` = ``{version, updated_at, agent, sessionId, messages: [...], system_prompt}``
where ``messages`` are Anthropic-style ``{role, content: string | Block[], id?, ts?, modelInfo?,
metrics?}`` (``sdk/packages/core/src/services/session-artifacts.ts``). The manifest beside it
holds the provider, model, cwd and start/end times. Pass the messages file, the manifest, or
the session directory.

Every assistant message is one model call whose request is the system prompt plus every
stored message before it, converted the way the SDK's OpenAI converter does.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from replayer.sources.builder import Call, Fidelity, SharedHistory
from replayer.sources.importers._anthropic import Converter, Stats, reconstructed_tools, with_system
from replayer.sources.importers.base import (STANDIN_SYSTEM_PROMPT, ImportOptions, Imported, check_times, format_error,
                                             note_tools, parse_iso, posix_iso, read_json)

NAME = "cline-v4"
READS_FOLDERS = True  # a session folder

_MESSAGES_KEY = re.compile(rb'"messages"\s*:\s*\[')


def detect(path: Path, head: bytes) -> bool:
    if path.is_dir():
        return _messages_file_in(path) is not None
    return _is_messages_doc(head) or _is_manifest(head)


def _is_messages_doc(head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text.startswith(b"{"):
        return False
    m = _MESSAGES_KEY.search(text[:16384])
    if not m:
        return False
    before = text[: m.start()]
    return (b'"sessionId"' in before or b'"system_prompt"' in text
            or (b'"agent"' in before and b'"updated_at"' in before))


def _is_manifest(head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return text.startswith(b"{") and b'"session_id"' in text and b'"messages_path"' in text


def _messages_file_in(directory: Path) -> Path | None:
    candidates = sorted(directory.glob("*.messages.json"))
    preferred = [c for c in candidates if c.name == f"{directory.name}.messages.json"]
    for candidate in preferred + candidates:
        try:
            with candidate.open("rb") as fh:
                if _is_messages_doc(fh.read(65536)):
                    return candidate
        except OSError:
            continue
    return None


def _resolve(path: Path) -> tuple[Path, Path | None]:
    """(messages file, manifest or None)."""
    if path.is_dir():
        found = _messages_file_in(path)
        if found is None:
            raise format_error(path, "", "expected a Cline v4 session directory with a <id>.messages.json file")
        path = found
    with path.open("rb") as fh:
        head = fh.read(65536)
    if not _is_messages_doc(head) and _is_manifest(head):
        manifest = read_json(path)
        if not isinstance(manifest, dict):
            raise format_error(path, "$", "expected a JSON object")
        names = [f"{path.name[:-len('.json')] if path.name.endswith('.json') else path.name}.messages.json"]
        if isinstance(manifest.get("session_id"), str):
            names.append(f"{manifest['session_id']}.messages.json")
        if isinstance(manifest.get("messages_path"), str):
            names.append(Path(manifest["messages_path"]).name)
        names = list(dict.fromkeys(names))
        for name in names:
            if _is_file(path.parent / name):
                return path.parent / name, path
        raise format_error(path, "$.messages_path", f"the session's messages file ({' or '.join(names) or '?'}) is "
                                                   "not beside this manifest")
    manifest_path = None
    if path.name.endswith(".messages.json"):
        candidate = path.with_name(path.name[: -len(".messages.json")] + ".json")
        if candidate.is_file():
            manifest_path = candidate
    return path, manifest_path


def _is_file(path: Path) -> bool:
    """Whether a file named by the session's own content is there (a name can be anything)."""
    try:
        return path.is_file()
    except (OSError, ValueError):  # too long, a NUL in it
        return False


@dataclass(frozen=True)
class _Session:
    """One session's files as read, before any conversion."""
    messages_path: Path
    doc: dict[str, Any]
    stored: list[Any]
    manifest: dict[str, Any]  # {} when there is none
    stored_system: str | None

    @property
    def manifest_model(self) -> str | None:
        return self.manifest.get("model") if isinstance(self.manifest.get("model"), str) else None


@dataclass(frozen=True)
class _Calls:
    calls: list[Call]
    models: Counter[str]  # model named by each answer (or the manifest)
    have_usage: int
    have_times: int
    display_only: int  # stored messages shown to the user only


def load(path: Path, options: ImportOptions) -> Imported:
    session = _read_session(path)
    system = options.system_prompt if options.system_prompt is not None else session.stored_system
    system_text = system if system is not None else STANDIN_SYSTEM_PROMPT

    conv = Converter(session.messages_path, "v4", "$.messages")
    converted = [[] if _display_only(m) else conv.convert(i, m) for i, m in enumerate(session.stored)]
    tool_names = conv.stats.tool_names
    tools = options.tools if options.tools else (reconstructed_tools(tool_names) if tool_names else None)
    made = _calls(session, converted, system_text, tools)

    manifest_model = session.manifest_model
    model = made.models.most_common(1)[0][0] if made.models else manifest_model
    provider = session.manifest.get("provider")
    return Imported(
        name=_name(session),
        calls=made.calls,
        provenance={"agent": "cline (v4 SDK)", "agent_version": None, "model": model,
                    "source": str(session.messages_path), "created_at": _created(session),
                    "notes": _notes(session, made.models)
                    + ([f"provider: {provider}"] if isinstance(provider, str) else [])},
        fidelity=_fidelity(options, session.stored_system, conv.stats, made),
    )


def _read_session(path: Path) -> _Session:
    messages_path, manifest_path = _resolve(path)
    doc = read_json(messages_path)
    if not isinstance(doc, dict):
        raise format_error(messages_path, "$", "expected a JSON object with 'messages'")
    stored = doc.get("messages")
    if not isinstance(stored, list):
        raise format_error(messages_path, "$.messages", "expected a list of messages")
    if manifest_path is None and isinstance(doc.get("sessionId"), str):
        candidate = messages_path.parent / f"{doc['sessionId']}.json"
        if _is_file(candidate) and candidate != messages_path:
            manifest_path = candidate
    manifest: dict[str, Any] = {}
    if manifest_path is not None:
        loaded = read_json(manifest_path)
        if isinstance(loaded, dict):
            manifest = loaded
            manifest["started_at"] = parse_iso(manifest.get("started_at"), manifest_path, "$.started_at")
    check_times(messages_path, stored, "$.messages")
    stored_system = doc.get("system_prompt")
    if stored_system is not None and not isinstance(stored_system, str):
        raise format_error(messages_path, "$.system_prompt", "expected a string")
    return _Session(messages_path, doc, stored, manifest, stored_system)


def _calls(session: _Session, converted: list[list[dict[str, Any]]], system_text: str,
           tools: list[dict[str, Any]] | None) -> _Calls:
    """One call per assistant message; its request is everything stored before it."""
    stored = session.stored
    history: list[dict[str, Any]] = with_system(system_text, [])  # grows; each call shares it
    calls: list[Call] = []
    models: Counter[str] = Counter()
    for i, (raw, out) in enumerate(zip(stored, converted)):
        if not out:
            continue  # shown to the user only: neither a model call nor sent to the model
        if raw["role"] == "assistant":
            model = _model_of(raw) or session.manifest_model
            if model:
                models[model] += 1
            before = stored[i - 1] if i > 0 else None
            calls.append(_call(SharedHistory(history, tail=out[:-1]), out[-1], raw, before, model, tools))
        history.extend(out)
    return _Calls(calls, models, have_usage=sum(c.usage is not None for c in calls),
                  have_times=sum(c.responded_at is not None for c in calls),
                  display_only=sum(not out for out in converted))


def _display_only(msg: Any) -> bool:
    """An error or notice the CLI shows (``metadata.displayOnly``), never sent to the model."""
    meta = msg.get("metadata") if isinstance(msg, dict) else None
    return isinstance(meta, dict) and meta.get("displayOnly") is True


def _call(messages: SharedHistory, response: dict[str, Any], raw: dict[str, Any],
          before: dict[str, Any] | None, model: str | None, tools: list[dict[str, Any]] | None) -> Call:
    params: dict[str, Any] = {"model": model} if model else {}
    if tools:
        params["tool_choice"] = "auto"
    return Call(messages=messages, response=response, params=params, tools=tools,
                finish_reason="tool_calls" if response.get("tool_calls") else "stop",
                usage=_usage(raw.get("metrics")),
                requested_at=_ts(before.get("ts")) if before is not None else None,
                responded_at=_ts(raw.get("ts")))


def _fidelity(options: ImportOptions, stored_system: str | None, stats: Stats, made: _Calls) -> Fidelity:
    fidelity = Fidelity()
    if options.system_prompt is not None:
        fidelity.reconstructed.append("system prompt from --system-prompt" +
                                      (" (replacing the stored one)" if stored_system is not None else ""))
    elif stored_system is not None:
        fidelity.exact.append("system prompt (stored in messages.json)")
    else:
        fidelity.missing.append("system prompt (this messages.json has none): a labelled stand-in is used; pass "
                                "--system-prompt FILE")
    fidelity.exact.append("message history: text, tool calls with their arguments, tool results, in order")
    if made.have_usage:
        # Cline CLI 3.0.65 against llama-server stored 19 tokens fewer than the server reported, on every call
        fidelity.reconstructed.append(f"token usage of {made.have_usage} of {len(made.calls)} calls as Cline accounted "
                                      "it (it can differ from the server's own count by a few tokens; `replay inspect "
                                      "--server URL` counts them exactly)")
    if made.have_times:
        fidelity.exact.append("message times (milliseconds)")
    fidelity.reconstructed.append(
        "converted from Anthropic-style blocks to OpenAI chat as Cline's SDK converter does: tool_result -> role "
        "'tool' messages before the remaining user text, file blocks -> <file_content> text, tool arguments = "
        "compact JSON of the input")
    fidelity.reconstructed.append(
        "each call's request = system prompt + every stored message before the answer; the SDK's per-request "
        "rewrites (middle truncation of tool results over 50,000 characters, the 'outdated - see the latest "
        "file content' stub for superseded file reads) are not re-applied")
    note_tools(fidelity, bool(options.tools), stats.tool_names, "Cline v4")
    if stats.unwrapped:
        fidelity.reconstructed.append(f"{stats.unwrapped} user text(s) unwrapped from <user_input>/<user_command> "
                                      "as the SDK does before sending")
    if made.display_only:
        fidelity.reconstructed.append(f"{made.display_only} display-only message(s) (errors and notices the CLI "
                                      "showed) left out: they are never sent to the model")
    fidelity.reconstructed.append("finish_reason ('tool_calls' or 'stop') from the answer's content; "
                                  "requested_at = time of the message before the answer")
    _note_blocks(fidelity, stats)
    stats.note_losses(fidelity, made.have_usage, len(made.calls))
    return fidelity


def _note_blocks(fidelity: Fidelity, stats: Stats) -> None:
    """What the block conversion dropped or had to guess."""
    if stats.thinking:
        fidelity.reconstructed.append(f"{stats.thinking} thinking block(s) sent as reasoning_content")
    if stats.redacted_thinking:
        fidelity.missing.append(f"{stats.redacted_thinking} redacted thinking block(s) dropped")
    if stats.missing_results:
        fidelity.reconstructed.append(f"{stats.missing_results} tool call(s) without a stored result answered with a "
                                      "placeholder")
    if stats.id_results_paired or stats.text_results_paired:
        fidelity.reconstructed.append(f"{stats.id_results_paired + stats.text_results_paired} tool result(s) "
                                      "without a matching id paired with the open calls by order")


def _notes(session: _Session, models: Counter[str]) -> list[str]:
    manifest, stored, manifest_model = session.manifest, session.stored, session.manifest_model
    notes = [f"Cline v4 SDK session, messages.json version {session.doc.get('version')}"]
    if manifest_model and models and manifest_model not in models:
        notes.append(f"the manifest names model {manifest_model!r}; the stored answers name "
                     f"{', '.join(repr(m) for m in models)}")
    fork = (manifest.get("metadata") or {}).get("fork") if isinstance(manifest.get("metadata"), dict) else None
    if isinstance(fork, dict) and fork.get("forkedFromSessionId"):
        notes.append(f"forked from session {fork['forkedFromSessionId']}: the history includes the parent's messages")
    if isinstance(manifest.get("cwd"), str):
        notes.append(f"working directory: {manifest['cwd']}")
    if stored and stored[-1].get("role") == "user":
        notes.append("the session ends with a user message that has no stored answer")
    return notes


def _created(session: _Session) -> str | None:
    stored = session.stored
    return (_ts(stored[0].get("ts")) if stored and isinstance(stored[0], dict) else None) \
        or session.manifest.get("started_at")


def _name(session: _Session) -> str:
    doc, messages_path = session.doc, session.messages_path
    name = doc.get("sessionId") if isinstance(doc.get("sessionId"), str) else None
    if not name:
        name = messages_path.name[: -len(".messages.json")] if messages_path.name.endswith(".messages.json") \
            else messages_path.stem
    return name


def _model_of(msg: dict[str, Any]) -> str | None:
    info = msg.get("modelInfo")
    if isinstance(info, dict):
        for key in ("id", "modelId"):
            if isinstance(info.get(key), str) and info[key]:
                return info[key]
    return None


def _usage(metrics: Any) -> dict[str, int] | None:
    if not isinstance(metrics, dict):
        return None
    prompt, completion = metrics.get("inputTokens"), metrics.get("outputTokens")
    tokens = metrics.get("tokens")
    if completion is None and isinstance(tokens, dict):
        prompt, completion = tokens.get("prompt"), tokens.get("completion")
    out = {}
    if isinstance(prompt, int) and prompt >= 0:
        out["prompt_tokens"] = prompt
    if isinstance(completion, int) and completion >= 0:
        out["completion_tokens"] = completion
    return out or None


def _ts(value: Any) -> str | None:
    """A message time (POSIX milliseconds or ISO text) as ISO text; checked on reading (check_times)."""
    if isinstance(value, str):
        return parse_iso(value, "", "")
    return posix_iso(value, "", "", per_second=1000.0)

