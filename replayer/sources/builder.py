"""Turn a list of model calls into a trace v1 document.

Every source (importers, the recorder, generators) ends here, so the
storage rule of the format lives in one place: the conversation is stored
once, and a call whose messages extend (or are a prefix of) the stored
conversation references it by length; a call that rewrote its history is
stored whole.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import chain, islice
from typing import Any, Iterator

from replayer.sources.writable import make_writable
from replayer.trace.load import validate_trace_document
from replayer.trace.model import LATEST, sane_time


class SharedHistory(Sequence[dict[str, Any]]):
    """``head``, then the first ``n`` messages of ``history`` (all it has now), then
    ``tail``, without copying the history: the messages of a call that sent the conversation so
    far. Importers that keep one growing history hand each call one of these, so that their
    calls take memory linear in the session rather than quadratic. ``history`` may only grow
    (by appending) afterwards."""

    __slots__ = ("head", "history", "n", "tail")

    def __init__(self, history: list[dict[str, Any]], head: Sequence[dict[str, Any]] = (),
                 tail: Sequence[dict[str, Any]] = (), n: int | None = None) -> None:
        self.head, self.history, self.tail = tuple(head), history, tuple(tail)
        self.n = len(history) if n is None else n

    def __len__(self) -> int:
        return len(self.head) + self.n + len(self.tail)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return chain(self.head, islice(self.history, self.n), self.tail)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return self._range(*i.indices(len(self))) if i.step in (None, 1) else list(self)[i]
        k = i + len(self) if i < 0 else i
        if not 0 <= k < len(self):
            raise IndexError(i)
        if k < len(self.head):
            return self.head[k]
        k -= len(self.head)
        return self.history[k] if k < self.n else self.tail[k - self.n]

    def _range(self, start: int, stop: int, _: int = 1) -> list[dict[str, Any]]:
        """Items start..stop, copying only those (the builder asks for what is new in each call)."""
        h, n = len(self.head), self.n
        out = list(self.head[start:stop])
        if stop > h and start < h + n:
            out += self.history[max(start - h, 0): min(stop - h, n)]
        if stop > h + n:
            out += self.tail[max(start - h - n, 0): stop - h - n]
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, (list, tuple, SharedHistory)):
            return NotImplemented
        return len(self) == len(other) and all(a is b or a == b for a, b in zip(self, other))

    __hash__ = None  # type: ignore[assignment]  # mutable underneath, like a list

    def __repr__(self) -> str:
        return repr(list(self))


@dataclass
class Call:
    """One model call as the agent made it."""

    messages: list[dict[str, Any]] | SharedHistory
    response: dict[str, Any]  # the assistant message
    params: dict[str, Any] = field(default_factory=dict)  # every other request field (model, tool_choice, ...)
    tools: list[dict[str, Any]] | None = None
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    timings: dict[str, Any] | None = None
    requested_at: str | None = None  # ISO 8601
    responded_at: str | None = None
    repo: dict[str, Any] | None = None
    error: str | None = None


@dataclass
class Fidelity:
    exact: list[str] = field(default_factory=list)
    reconstructed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[str]]:
        return {"exact": self.exact, "reconstructed": self.reconstructed, "missing": self.missing}


def iso(ts: float | datetime | None) -> str | None:
    """ISO 8601 UTC with milliseconds, from a POSIX time or a datetime (ValueError outside
    1970-2100: importers check their times with their location first, see importers/base.py)."""
    if ts is None:
        return None
    if not isinstance(ts, datetime):
        if not 0 <= ts < LATEST.timestamp():  # NaN too
            raise ValueError(f"time {ts!r} is outside 1970-2100")
        ts = datetime.fromtimestamp(ts, tz=timezone.utc)
    if not sane_time(ts):
        raise ValueError(f"time {ts.isoformat()} is outside 1970-2100")
    dt = ts if ts.tzinfo is not None else ts.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def build_trace(name: str, calls: list[Call], *, provenance: dict[str, Any], fidelity: Fidelity | None = None,
                repository: dict[str, Any] | None = None, description: str | None = None,
                validate: bool = True) -> dict[str, Any]:
    if not calls:
        raise ValueError("a trace needs at least one model call")
    tools = _common_tools(calls)
    stored = _Stored()
    conversation = stored.messages
    turns = []
    for call in calls:
        request = stored.request(call.messages)
        if call.tools:
            request["tools"] = True if call.tools == tools else call.tools
        else:
            request["tools"] = False
        request["params"] = call.params
        response: dict[str, Any] = {"message": call.response}
        if call.finish_reason is not None:
            response["finish_reason"] = call.finish_reason
        if call.usage:
            response["usage"] = call.usage
        if call.timings:
            response["timings"] = call.timings
        if call.error:
            response["error"] = call.error
        turn: dict[str, Any] = {"request": request, "response": response}
        if call.requested_at:
            turn["requested_at"] = call.requested_at
        if call.responded_at:
            turn["responded_at"] = call.responded_at
        if call.repo:
            turn["repo"] = call.repo
        turns.append(turn)
        # The next call usually continues from this answer: keep it in the stored conversation.
        if request.get("conversation_prefix") == len(conversation):
            conversation.append(call.response)
    doc: dict[str, Any] = {"format": "replayer.trace", "version": 1, "name": name}
    if description:
        doc["description"] = description
    doc["provenance"] = {**{k: v for k, v in provenance.items() if v is not None},
                         "fidelity": (fidelity or Fidelity()).as_dict()}
    if repository:
        doc["repository"] = repository
    if tools:
        doc["tools"] = tools
    doc["conversation"] = conversation
    doc["turns"] = turns
    doc["provenance"]["fidelity"]["reconstructed"] += make_writable(doc)
    if validate:
        validate_trace_document(doc, f"<{name}>")
    return doc


class _Stored:
    """The conversation the trace stores, and how much of it is known to be the start of a
    shared history (SharedHistory): a call that shares it is compared on what is new only,
    so a long session is stored in time linear in its length."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        # (history, head, m): messages[: len(head) + m] are head + history[:m], the same objects
        self.mirror: tuple[list[dict[str, Any]], tuple[dict[str, Any], ...], int] | None = None

    def request(self, msgs: list[dict[str, Any]] | SharedHistory) -> dict[str, Any]:
        """How a call's messages are stored: a prefix of the conversation (extending it when they
        go further), or, for a call that rewrote its history, the messages themselves."""
        stored = self.messages
        if self._extends(msgs):
            stored.extend(msgs[len(stored):])
            if isinstance(msgs, SharedHistory):
                self.mirror = (msgs.history, msgs.head, msgs.n)
            return {"conversation_prefix": len(msgs)}
        if stored[: len(msgs)] == msgs:
            return {"conversation_prefix": len(msgs)}
        return {"messages": list(msgs)}

    def _extends(self, msgs: list[dict[str, Any]] | SharedHistory) -> bool:
        stored = self.messages
        if len(msgs) < len(stored):
            return False
        known = 0
        if isinstance(msgs, SharedHistory) and self.mirror is not None:
            history, head, m = self.mirror
            if msgs.history is history and msgs.n >= m and len(msgs.head) == len(head) \
                    and all(a is b for a, b in zip(msgs.head, head)):
                known = len(head) + m
        return msgs[known: len(stored)] == stored[known:]


def _common_tools(calls: list[Call]) -> list[dict[str, Any]] | None:
    """The tool list most calls sent; calls that sent another list keep their own."""
    counts: dict[str, tuple[int, list[dict[str, Any]]]] = {}
    keys: dict[int, str] = {}  # most calls share one list object: serialize it once
    for call in calls:
        if call.tools:
            key = keys.get(id(call.tools)) or keys.setdefault(id(call.tools), json.dumps(call.tools, sort_keys=True))
            n, _ = counts.get(key, (0, call.tools))
            counts[key] = (n + 1, call.tools)
    if not counts:
        return None
    return max(counts.values(), key=lambda item: item[0])[1]
