"""What JSON and UTF-8 cannot carry, replaced before a trace is written.

Agents written in JavaScript cut strings between the two halves of a UTF-16 pair and
write the lone half as ``\\ud83d``; Python-written logs can hold NaN and Infinity. Neither
can be written as standard UTF-8 JSON (nor sent to a server), so a lone surrogate becomes
U+FFFD and a non-finite number null, and the fidelity report says how many and where.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

_SURROGATE = re.compile("[\\ud800-\\udfff]")


def make_writable(doc: dict[str, Any]) -> list[str]:
    """Replace, in place, what cannot be written; returns fidelity notes (none when nothing was)."""
    try:
        json.dumps(doc, ensure_ascii=False, allow_nan=False).encode("utf-8")
        return []  # the common case: one pass in C, nothing to walk
    except (ValueError, UnicodeEncodeError):
        pass
    found: dict[str, list[str]] = {"text": [], "number": []}
    _walk(doc, "$", found)
    notes = []
    if found["text"]:
        notes.append(f"{len(found['text'])} text(s) with a lone UTF-16 surrogate (not Unicode) written with U+FFFD "
                     f"in its place (first at {found['text'][0]})")
    if found["number"]:
        notes.append(f"{len(found['number'])} NaN or Infinity number(s) (not JSON) written as null "
                     f"(first at {found['number'][0]})")
    return notes


def _clean(value: Any, where: str, found: dict[str, list[str]]) -> Any:
    if isinstance(value, str) and _SURROGATE.search(value):
        found["text"].append(where)
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, float) and not math.isfinite(value):
        found["number"].append(where)
        return None
    return value


def _walk(doc: Any, root: str, found: dict[str, list[str]]) -> None:
    stack: list[tuple[Any, str]] = [(doc, root)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, dict):
            for key in list(node):
                clean_key = _clean(key, f"{where} (a key)", found)
                value = node.pop(key) if clean_key is not key else node[key]
                node[clean_key] = _clean(value, f"{where}.{clean_key}", found)
                stack.append((node[clean_key], f"{where}.{clean_key}"))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                node[i] = _clean(value, f"{where}[{i}]", found)
                stack.append((node[i], f"{where}[{i}]"))
