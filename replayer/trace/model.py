"""The in-memory view of a validated trace.

The file stores the conversation once and each turn references the prefix it
sent (``conversation_prefix``) or carries its own ``messages`` when the agent
rewrote its history; :meth:`Trace.request_messages` hides that difference.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from replayer.jsontext import Malformed, parse_json

FORMAT = "replayer.trace"
# Version history of the trace format:
#   1 - first version: conversation stored once, turns reference a prefix.
SUPPORTED_VERSIONS = (1,)


def assistant_text_as_generated(message: dict[str, Any]) -> str:
    """The text a model emits for a recorded assistant message: content, then tool calls
    in the Hermes ``<tool_call>`` form most local templates use. Only used to size
    ``max_tokens`` when the trace has no recorded usage."""
    parts = []
    content = message.get("content")
    if isinstance(content, list):
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    if content:
        parts.append(content)
    for call in message.get("tool_calls") or []:
        fn = call.get("function", {})
        try:
            args: Any = parse_json(fn.get("arguments") or "{}")
        except Malformed:  # arguments that are not JSON are generated as they are
            args = fn.get("arguments")
        parts.append("<tool_call>\n" + json.dumps({"name": fn.get("name"), "arguments": args}, ensure_ascii=False)
                     + "\n</tool_call>")
    return "\n".join(parts)



@dataclass(frozen=True)
class Turn:
    index: int
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None
    params: dict[str, Any]
    response: dict[str, Any]
    requested_at: datetime | None
    responded_at: datetime | None
    repo: dict[str, Any] | None

    @property
    def response_message(self) -> dict[str, Any]:
        return self.response["message"]

    @property
    def recorded_completion_tokens(self) -> int | None:
        usage = self.response.get("usage") or {}
        value = usage.get("completion_tokens")
        return int(value) if isinstance(value, int) else None


@dataclass(frozen=True)
class Trace:
    path: Path
    sha256: str
    data: dict[str, Any]

    @property
    def name(self) -> str:
        return self.data["name"]

    @property
    def provenance(self) -> dict[str, Any]:
        return self.data.get("provenance", {})

    @property
    def tools(self) -> list[dict[str, Any]]:
        return self.data.get("tools") or []

    @property
    def n_turns(self) -> int:
        return len(self.data["turns"])

    def request_messages(self, index: int) -> list[dict[str, Any]]:
        request = self.data["turns"][index]["request"]
        if "messages" in request:
            return request["messages"]
        return self.data["conversation"][: request["conversation_prefix"]]

    def turn(self, index: int) -> Turn:
        raw = self.data["turns"][index]
        request = raw["request"]
        tools_field = request.get("tools", False)
        if tools_field is True:
            tools = self.tools or None
        elif isinstance(tools_field, list):
            tools = tools_field or None
        else:
            tools = None
        return Turn(
            index=index,
            messages=self.request_messages(index),
            tools=tools,
            params=dict(request.get("params") or {}),
            response=raw["response"],
            requested_at=parse_time(raw.get("requested_at")),
            responded_at=parse_time(raw.get("responded_at")),
            repo=raw.get("repo"),
        )

    def recorded_message(self, index: int) -> dict[str, Any]:
        """The assistant message the agent's model sent back at turn ``index``, as recorded."""
        return self.data["turns"][index]["response"]["message"]

    def turns(self) -> list[Turn]:
        return [self.turn(i) for i in range(self.n_turns)]

    def recorded_gaps_s(self) -> list[float | None]:
        """Seconds between each turn's response and the next request (tool runs, the human).

        The last turn has no following request, so its gap is 0. ``None`` where the
        trace has no timestamps.
        """
        # from the raw turns: building every Turn would copy each turn's prompt
        raw = self.data["turns"]
        gaps: list[float | None] = []
        for cur, nxt in zip(raw, raw[1:] + [None]):
            responded = parse_time(cur.get("responded_at"))
            requested = parse_time(nxt.get("requested_at")) if nxt is not None else None
            if nxt is None:
                gaps.append(0.0)
            elif responded and requested:
                gaps.append(max(0.0, (requested - responded).total_seconds()))
            else:
                gaps.append(None)
        return gaps


def parse_time(value: str | None) -> datetime | None:
    """An ISO 8601 time; one without a zone is read as UTC (so that any two can be subtracted)."""
    if not value:
        return None
    when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)


EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2100, 1, 1, tzinfo=timezone.utc)


def sane_time(when: datetime) -> bool:
    """A time a recorded session can have: from 1970 to 2100 (anything else is a unit or a
    clock gone wrong, and would break the arithmetic on gaps)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    try:
        return EARLIEST <= when < LATEST
    except OverflowError:  # an offset that moves the time past datetime's range
        return False
