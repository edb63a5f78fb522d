"""OpenAI chat JSONL: one request/response pair per line (also what `replay record` writes).

Each line is ``{"request": {<chat completion request body>}, "response": {<chat completion
response body>}, "requested_at"?, "responded_at"?, "repo"?}``. A recorder journal also holds
``{"type": "responses" | "messages", "body", "response", ...}`` lines: exchanges of the
Responses API and of Anthropic's Messages API, converted to the equivalent chat request
(sources/wire/). Lines of other kinds (``{"type": "header" | "unreplayable" | ...}``) are
metadata and skipped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from replayer.sources.builder import Call, Fidelity
from replayer.sources.importers.base import ImportOptions, Imported, format_error, parse_iso, read_jsonl, want
from replayer.sources.wire import anthropic, responses
from replayer.sources.wire.common import Lost, WireShape

WIRES = {"responses": responses, "messages": anthropic}

NAME = "openai-jsonl"
READS_FOLDERS = False
_DROP = {"messages", "tools"}


def detect(path: Path, head: bytes) -> bool:
    lines = [line.strip() for line in head.split(b"\n")[:5] if line.strip()]
    return bool(lines) and all(line.startswith(b"{") for line in lines) and any(
        (b'"request"' in line and b'"messages"' in line) or b'"replayer.record-journal"' in line for line in lines)


def load(path: Path, options: ImportOptions) -> Imported:
    calls: list[Call] = []
    header: dict[str, Any] = {}
    converted = Converted()
    client = None
    for lineno, obj in read_jsonl(path):
        if client is None and isinstance(obj.get("client") if isinstance(obj, dict) else None, dict):
            client = obj["client"].get("user-agent")
        if not isinstance(obj, dict):
            raise format_error(path, f"line {lineno}", "expected a JSON object")
        if obj.get("type") == "header":
            header = obj
        elif isinstance(obj.get("type"), str) and obj["type"] in WIRES:
            call = converted.call(path, lineno, obj)
            if call is not None:
                calls.append(call)
        elif "request" in obj:
            calls.append(_call(path, lineno, obj))
    if not calls:
        raise format_error(path, "", "expected at least one recorded model call (chat, Responses or Messages)")
    fidelity = Fidelity(
        exact=["request messages, tools and parameters as sent", "response message"] + converted.exact(),
        reconstructed=converted.reconstructed(),
        missing=[] if any(c.usage for c in calls) else ["usage (generation length is re-tokenized at replay)"],
    )
    return Imported(
        name=header.get("name") or path.stem.split(".")[0],
        calls=calls,
        provenance={"agent": agent_name(header.get("agent"), client), "source": str(path),
                    "model": header.get("model"), "created_at": header.get("created_at"),
                    "notes": header.get("notes", [])},
        fidelity=fidelity,
        repository=header.get("repository"),
    )


def _call(path: Path, lineno: int, obj: dict[str, Any]) -> Call:
    req, resp = obj.get("request"), obj.get("response")
    where = f"line {lineno}"
    if not isinstance(req, dict) or not isinstance(req.get("messages"), list) or not req["messages"]:
        raise format_error(path, where, "expected request.messages to be a non-empty list")
    message: dict[str, Any] = {"role": "assistant", "content": None}
    finish = usage = timings = error = None
    if isinstance(resp, dict) and resp.get("choices"):
        choices = want(resp["choices"], list, path, f"{where}: response.choices")
        choice = want(choices[0], dict, path, f"{where}: response.choices[0]", optional=False)
        got = want(choice.get("message"), dict, path, f"{where}: response.choices[0].message")
        message = {k: v for k, v in (got or {}).items() if v is not None or k == "content"}
        message.setdefault("role", "assistant")
        finish = choice.get("finish_reason")
        usage = _usage(resp.get("usage"))
        timings = want(resp.get("timings"), dict, path, f"{where}: response.timings")
    elif isinstance(resp, dict) and resp.get("error"):
        error = str(resp["error"].get("message") if isinstance(resp["error"], dict) else resp["error"])
    elif resp is not None and not isinstance(resp, dict):
        raise format_error(path, where, "expected response to be an object")
    return Call(
        messages=req["messages"], response=message,
        params={k: v for k, v in req.items() if k not in _DROP},
        tools=req.get("tools") or None, finish_reason=finish, usage=usage, timings=timings,
        requested_at=parse_iso(obj.get("requested_at"), path, f"{where}: requested_at"),
        responded_at=parse_iso(obj.get("responded_at"), path, f"{where}: responded_at"), repo=obj.get("repo"),
        error=error,
    )


def _usage(usage: Any) -> dict[str, Any] | None:
    if not isinstance(usage, dict):
        return None
    return {k: usage[k] for k in ("prompt_tokens", "completion_tokens") if isinstance(usage.get(k), int)} or None


class Converted:
    """Exchanges of the other APIs, made chat calls; what each conversion left out, counted."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.lost: dict[str, Lost] = {}

    def call(self, path: Path, lineno: int, obj: dict[str, Any]) -> Call | None:
        wire = WIRES[obj["type"]]
        where = f"line {lineno}"
        body = want(obj.get("body"), dict, path, f"{where}: body")
        if not body:
            return None  # not replayable: the journal line says why
        response = want(obj.get("response"), dict, path, f"{where}: response") or {}
        try:
            request = wire.chat_request(body)
            message, usage, finish = wire.chat_response(response)
        except WireShape as exc:
            raise format_error(path, f"{where}: {'' if exc.where.startswith('response') else 'body.'}{exc.where}",
                               exc.message) from None
        if not request.messages:
            raise format_error(path, where, f"expected {wire.API} input that makes at least one message")
        error = response.get("error")
        self.counts[wire.API] = self.counts.get(wire.API, 0) + 1
        self.lost.setdefault(wire.API, Lost()).merge(request.lost)
        return Call(messages=request.messages, response=message, params=request.params, tools=request.tools,
                    finish_reason=finish, usage=usage, timings=None,
                    requested_at=parse_iso(obj.get("requested_at"), path, f"{where}: requested_at"),
                    responded_at=parse_iso(obj.get("responded_at"), path, f"{where}: responded_at"),
                    repo=obj.get("repo"),
                    error=str(error.get("message") if isinstance(error, dict) else error) if error else None)

    def exact(self) -> list[str]:
        if not self.counts:
            return []
        converted = [f"{n} {api} exchange(s) converted to chat completions (messages, and tool calls with their ids)"
                     for api, n in sorted(self.counts.items())]
        return ["system prompt", "tool schemas", *converted]

    def reconstructed(self) -> list[str]:
        return [note for api, lost in sorted(self.lost.items()) for note in lost.notes(f"left out of {api} requests")]


# user-agent prefix -> the agent's name (the recorder writes its header before any request comes)
_AGENTS = (("claude-cli/", "Claude Code"), ("codex_exec/", "Codex CLI"), ("codex_cli_rs/", "Codex CLI"),
           ("aider/", "Aider"), ("opencode/", "OpenCode"), ("cline/", "Cline"))
GENERIC = "OpenAI-compatible client"


def agent_name(declared: Any, user_agent: Any) -> str:
    """The header's agent, unless it is the recorder's generic one and the client's user-agent names it."""
    if isinstance(declared, str) and declared and declared != GENERIC:
        return declared
    if isinstance(user_agent, str):
        for prefix, name in _AGENTS:
            if user_agent.lower().startswith(prefix):
                version = user_agent[len(prefix):].split(" ", 1)[0]
                return f"{name} {version}".strip()
    return GENERIC
