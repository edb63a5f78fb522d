"""What the wire converters share: the converted request, what a conversion had to leave out,
and the one type check at every field they index or iterate (``field``)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Lost:
    """What a conversion could not carry over, counted by kind (for the fidelity report)."""

    counts: Counter = field(default_factory=Counter)

    def add(self, what: str, n: int = 1) -> None:
        self.counts[what] += n

    def merge(self, other: "Lost") -> None:
        self.counts.update(other.counts)

    def notes(self, api: str) -> list[str]:
        return [f"{n} {what} ({api})" for what, n in sorted(self.counts.items())]


@dataclass(frozen=True)
class Wire:
    """A request of another API as the equivalent chat-completions request."""

    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None
    params: dict[str, Any]  # every other chat-completions field (model, max_tokens, tool_choice, ...)
    lost: Lost


def text_of(content: Any, lost: Lost) -> str:
    """The text of a content field: a string, or a list of text parts of any of the APIs'
    shapes (input_text, output_text, text); other parts (images, files) are counted as lost."""
    if isinstance(content, str):
        return content
    parts = []
    for part in content if isinstance(content, list) else []:
        if isinstance(part, dict) and isinstance(part.get("text"), str):
            parts.append(part["text"])
        elif isinstance(part, str):
            parts.append(part)
        else:
            kind = part.get("type") if isinstance(part, dict) else "not an object"
            lost.add(f"content parts that are not text ({kind})")
    return "".join(parts)


def chat_content(content: Any, lost: Lost) -> Any:
    """A content field as chat content: a string stays a string, one text part becomes its
    text, several stay text parts (chat templates join them with a line break, as llama-server
    does when it converts these APIs itself: the prompt is then the same)."""
    if isinstance(content, str):
        return content
    texts = [text_of([part], lost) for part in content if _is_text(part)] if isinstance(content, list) else []
    for part in content if isinstance(content, list) else []:
        if not _is_text(part):
            text_of([part], lost)  # counted as lost
    if len(texts) == 1:
        return texts[0]
    return [{"type": "text", "text": t} for t in texts] if texts else ""


def _is_text(part: Any) -> bool:
    return isinstance(part, str) or (isinstance(part, dict) and isinstance(part.get("text"), str))


class WireShape(ValueError):
    """A field of another API's body that is not of the type the API gives it: ``where`` (a path
    like ``messages[2].content``) and what was expected; the importer adds the file and line."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where, self.message = where, message


_NAMES = {dict: "an object", list: "a list", str: "a string", int: "an integer", float: "a number", bool: "true or false"}


def field(obj: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str, default: Any = None) -> Any:
    """``obj[key]`` when it is of ``kind`` (absent or null: ``default``), else WireShape."""
    value = obj.get(key)
    if value is None:
        return default
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds):
        return value
    expected = " or ".join(_NAMES.get(k, k.__name__) for k in kinds)
    raise WireShape(f"{where}.{key}" if where else key, f"expected {expected}, got {type(value).__name__}")
