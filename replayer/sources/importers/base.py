"""What every importer shares: its options, its result, its error, and reading agent files.

Agent files are read as they come: every field that is indexed, hashed or iterated is first
taken through :func:`want`, which names the field's location when its type is not the one
expected; every time goes through :func:`parse_iso` or :func:`posix_iso`, which refuse a
time outside 1970-2100 with its location.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from json import JSONDecodeError
from datetime import datetime
from pathlib import Path
from typing import Any

from replayer.errors import TraceError
from replayer.jsontext import MAX_DEPTH, NEWLINE, Malformed, decoder, parse_json, too_deep
from replayer.sources.builder import Call, Fidelity, iso
from replayer.trace.model import sane_time

STANDIN_SYSTEM_PROMPT = (
    "[replayer stand-in system prompt: the source format does not store the system prompt the agent sent; "
    "supply the real one with `replay import --system-prompt FILE` for exact replay]"
)


@dataclass
class ImportOptions:
    system_prompt: str | None = None  # text of --system-prompt FILE
    tools: list[dict[str, Any]] | None = None  # OpenAI function tools from --tools FILE
    session: str | None = None  # --session: which session of a store that holds several ("latest": the newest)


@dataclass
class Imported:
    name: str
    calls: list[Call]
    provenance: dict[str, Any]  # agent, agent_version, model, source, importer, created_at, notes
    fidelity: Fidelity = field(default_factory=Fidelity)
    repository: dict[str, Any] | None = None
    description: str | None = None


def format_error(path: Path | str, location: str, message: str) -> TraceError:
    """A located one-line error for a malformed agent file (exit code 2)."""
    return TraceError(str(path), location, message)


def read_text(path: Path) -> str:
    """The UTF-8 text of an agent file (a leading BOM dropped), or a located error."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise format_error(path, "", f"cannot read: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise format_error(path, f"line {data.count(NEWLINE, 0, exc.start) + 1}", "expected UTF-8 text") from None


def read_json(path: Path) -> Any:
    """A JSON agent file. NaN and Infinity are read (Python writes them; the trace builder
    replaces them); nesting is bounded."""
    try:
        return parse_json(read_text(path), standard=False)
    except Malformed as exc:
        raise format_error(path, exc.location, exc.message) from None


def read_jsonl(path: Path) -> list[tuple[int, Any]]:
    """(line number, object) for every non-empty line. A torn last line (a writer killed
    mid-line: no final newline) is skipped; any other bad line is an error."""
    text = read_text(path)
    lines = text.split("\n")
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    out = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            out.append((i + 1, parse_json(line, standard=False)))
        except Malformed as exc:
            if i == last and not text.endswith("\n") and exc.message.startswith("invalid JSON"):
                break
            raise format_error(path, f"line {i + 1}", exc.message) from None
    return out


def raw_values(path: Path, text: str, pos: int) -> tuple[Any, int]:
    """The JSON value at ``pos`` of a text of concatenated values and where it ends (for
    readers of streams that are not one value per line); nesting bounded like read_json's."""
    try:
        value, end = decoder(standard=False).raw_decode(text, pos)
    except RecursionError:
        value, end = None, -1
    except ValueError as exc:  # an integer of more digits than int() converts (not a JSONDecodeError)
        if isinstance(exc, JSONDecodeError):
            raise
        raise format_error(path, f"line {text.count(chr(10), 0, pos) + 1}",
                           f"invalid JSON number: {str(exc).split(':')[0]}") from None
    if end < 0 or too_deep(value):
        raise format_error(path, f"line {text.count(chr(10), 0, pos) + 1}", f"nested deeper than {MAX_DEPTH} levels")
    return value, end


_KINDS = {dict: "an object", list: "a list", str: "a string", int: "an integer", float: "a number",
          bool: "true or false"}


def json_type(value: Any) -> str:
    """The JSON name of a value's type, for messages."""
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number")


def want(value: Any, kind: type | tuple[type, ...], path: Path | str, loc: str, *, optional: bool = True) -> Any:
    """``value`` when it is of ``kind`` (None passes when ``optional``), else a located error.
    The one check an importer makes before it indexes, hashes or iterates a field of an agent file."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if value is None and optional:
        return None
    if isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds):
        return value
    expected = " or ".join(_KINDS.get(k, k.__name__) for k in kinds)
    raise format_error(path, loc, f"expected {expected}, got {json_type(value)}")


def note_tools(fidelity: Fidelity, given: bool, names: list[str], agent: str) -> None:
    """The fidelity lines of a format that stores no tool schemas: from --tools, names only, or none."""
    if given:
        fidelity.reconstructed.append("tool definitions from --tools")
    elif names:
        fidelity.reconstructed.append(f"tool definitions: {len(names)} names taken from the calls, with empty "
                                      f"parameter schemas ({agent} does not store tool schemas)")
        fidelity.missing.append("tool descriptions and parameter schemas (pass --tools FILE)")
    else:
        fidelity.missing.append(f"tool schemas ({agent} does not store them, and no call names a tool): the trace "
                                "has none; pass --tools FILE")


def names_only_tools(names: list[str]) -> list[dict[str, Any]]:
    """Tool definitions reconstructed from the names an agent called (formats that keep no schemas)."""
    return [{"type": "function", "function": {"name": n, "parameters": {"type": "object", "properties": {}}}}
            for n in names]


def parse_iso(value: Any, path: Path | str, loc: str) -> str | None:
    """An ISO 8601 text as the trace's UTC form; None when it is not one; a located error
    when it is one outside 1970-2100."""
    if not isinstance(value, str) or not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if not sane_time(when):
        raise format_error(path, loc, f"expected a time between 1970 and 2100, got {value!r}")
    return iso(when)


def check_times(path: Path | str, items: list[Any], where: str, key: str = "ts", per_second: float = 1000.0,
                text: bool = True) -> None:
    """A located error for the first item whose time (a POSIX number, or ISO text when the
    importer reads text) is out of range, so that it can convert them later without checking again."""
    for i, item in enumerate(items):
        value = item.get(key) if isinstance(item, dict) else None
        if isinstance(value, str):
            if text:
                parse_iso(value, path, f"{where}[{i}].{key}")
        else:
            posix_iso(value, path, f"{where}[{i}].{key}", per_second)


def posix_iso(value: Any, path: Path | str, loc: str, per_second: float = 1.0) -> str | None:
    """A POSIX time (seconds, or milliseconds with per_second=1000) as ISO text; None when it
    is not a positive number; a located error when it is outside 1970-2100."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
        return None
    if not 0 <= value < 4102444800 * per_second:  # 2100-01-01; no division yet: a huge int is no float
        raise format_error(path, loc, f"expected a time between 1970 and 2100, got {value!r}")
    return iso(value / per_second)
