"""The in-memory view of a validated trace.

The file stores the conversation once and each turn references the prefix it
sent (``conversation_prefix``) or carries its own ``messages`` when the agent
rewrote its history; :meth:`Trace.request_messages` hides that difference.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

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
            args: Any = json.loads(fn.get("arguments") or "{}")
        except json.JSONDecodeError:
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

    def turns(self) -> list[Turn]:
        return [self.turn(i) for i in range(self.n_turns)]

    def recorded_gaps_s(self) -> list[float | None]:
        """Seconds between each turn's response and the next request (tool runs, the human).

        The last turn has no following request, so its gap is 0. ``None`` where the
        trace has no timestamps.
        """
        turns = self.turns()
        gaps: list[float | None] = []
        for cur, nxt in zip(turns, turns[1:] + [None]):
            if nxt is None:
                gaps.append(0.0)
            elif cur.responded_at and nxt.requested_at:
                gaps.append(max(0.0, (nxt.requested_at - cur.responded_at).total_seconds()))
            else:
                gaps.append(None)
        return gaps


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
