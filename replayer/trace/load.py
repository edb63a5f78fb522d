"""Load a trace file, validate it against the JSON Schema and its own references.

Every problem becomes one :class:`TraceError` line:
``FILE: $.turns[3].request.messages[2].role: expected one of ...``.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError

from replayer.errors import TraceError
from replayer.jsontext import Malformed, parse_json
from replayer.trace.model import FORMAT, SUPPORTED_VERSIONS, Trace, parse_time, sane_time

# A \uD800-\uDFFF escape (not itself escaped): the only way a JSON text holds a surrogate.
_ESCAPED_SURROGATE = re.compile(rb"(?<!\\)(?:\\\\)*\\u[dD][89a-fA-F]")


@lru_cache(maxsize=1)
def trace_schema() -> dict[str, Any]:
    text = resources.files("replayer.trace").joinpath("trace.schema.json").read_text()
    return json.loads(text)


@lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    """The schema with its $refs written out in place: the same checks, a fifth faster on a
    big trace (jsonschema resolves a $ref at every use)."""
    schema = trace_schema()

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"$ref"}:
                return inline(schema["$defs"][node["$ref"].rsplit("/", 1)[-1]])
            return {k: inline(v) for k, v in node.items() if k != "$defs"}
        return [inline(v) for v in node] if isinstance(node, list) else node

    return jsonschema.Draft202012Validator(inline(schema), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def load_trace(path: str | Path) -> Trace:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise TraceError(str(path), "", "file not found") from None
    except OSError as exc:
        raise TraceError(str(path), "", f"cannot read: {exc.strerror}") from None
    try:
        data = parse_json(raw)
    except Malformed as exc:
        raise TraceError(str(path), exc.location, exc.message) from None
    if _ESCAPED_SURROGATE.search(raw):  # rare: only then walk the strings
        _check_text(data, str(path))
    validate_trace_document(data, str(path))
    return Trace(path=path, sha256=hashlib.sha256(raw).hexdigest(), data=data)


def validate_trace_document(data: Any, path: str = "<trace>") -> None:
    """Raise TraceError for the first problem found; return None for a valid v1 trace."""
    if not isinstance(data, dict):
        raise TraceError(path, "$", f"expected a JSON object, got {_json_type(data)}")
    if data.get("format") != FORMAT:
        raise TraceError(path, "$.format", f"expected {FORMAT!r}, got {data.get('format')!r} (is this a replayer trace? "
                         "agent files go through `replay import`)")
    version = data.get("version")
    if version not in SUPPORTED_VERSIONS:
        reads = ", ".join(str(v) for v in SUPPORTED_VERSIONS)
        raise TraceError(path, "$.version", f"version {version!r} not supported (this replayer reads {reads})")
    errors = sorted(_validator().iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        error = _most_specific(errors[0])
        raise TraceError(path, error.json_path, _describe(error))
    _check_references(data, path)


def _most_specific(error: ValidationError) -> ValidationError:
    # oneOf/anyOf errors wrap the real cause; descend to the deepest location
    # so the user sees `...messages[2].role`, not `...request`.
    while error.context:
        deepest = max(error.context, key=lambda e: len(e.absolute_path))
        if len(deepest.absolute_path) <= len(error.absolute_path):
            # alternatives at the same place: the one of the value's own type says what is wrong with it
            own = [e for e in error.context if e.validator not in ("type", "const", "enum")]
            return own[0] if error.validator == "anyOf" and len(own) == 1 else error
        error = deepest
    return error


def _describe(error: ValidationError) -> str:
    got = _short(error.instance)
    if error.validator == "enum":
        choices = ", ".join(repr(v) for v in error.validator_value)
        return f"expected one of {choices}, got {got}"
    if error.validator == "const":
        return f"expected {error.validator_value!r}, got {got}"
    if error.validator == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return f"expected {expected}, got {_json_type(error.instance)}"
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return f"missing required field {missing!r}"
    if error.validator == "oneOf" and error.schema_path and "request" in error.json_path:
        return "expected exactly one of 'conversation_prefix' or 'messages'"
    if error.validator == "format":
        return f"expected an ISO 8601 {error.validator_value}, got {got}"
    if error.validator == "anyOf" and error.context and all(e.validator in ("type", "const") for e in error.context):
        wanted = [" or ".join(e.validator_value) if isinstance(e.validator_value, list) else str(e.validator_value)
                  if e.validator == "type" else repr(e.validator_value) for e in error.context]
        return f"expected {' or '.join(wanted)}, got {_json_type(error.instance)}"
    if error.validator == "minItems":
        return f"expected at least {error.validator_value} item(s), got {len(error.instance)}"
    if error.validator == "exclusiveMinimum":
        return f"expected a number > {error.validator_value}, got {got}"
    if error.validator == "minProperties":
        return f"expected at least {error.validator_value} field(s), got {got}"
    if error.validator == "minimum":
        return f"expected a number >= {error.validator_value}, got {got}"
    return error.message


def _check_references(data: dict[str, Any], path: str) -> None:
    conversation = data["conversation"]
    for i, turn in enumerate(data["turns"]):
        request = turn["request"]
        prefix = request.get("conversation_prefix")
        if prefix is not None and prefix > len(conversation):
            raise TraceError(path, f"$.turns[{i}].request.conversation_prefix",
                             f"expected at most {len(conversation)} (the conversation length), got {prefix}")
        if request.get("tools") is True and not data.get("tools"):
            raise TraceError(path, f"$.turns[{i}].request.tools",
                             "expected the trace to define top-level 'tools' when a turn sends them")
        for field in ("requested_at", "responded_at"):
            if field in turn:
                try:
                    when = parse_time(turn[field])
                except ValueError:
                    raise TraceError(path, f"$.turns[{i}].{field}",
                                     f"expected an ISO 8601 date-time, got {turn[field]!r}") from None
                if when is not None and not sane_time(when):
                    raise TraceError(path, f"$.turns[{i}].{field}",
                                     f"expected a time between 1970 and 2100, got {turn[field]!r}")


def _check_text(data: Any, path: str) -> None:
    """A lone surrogate (half of a UTF-16 pair) is not Unicode text: no server or terminal takes it."""
    stack: list[tuple[Any, str]] = [(data, "$")]
    while stack:
        node, where = stack.pop()
        if isinstance(node, str):
            if _SURROGATE.search(node):
                raise TraceError(path, where, "expected Unicode text, got a lone UTF-16 surrogate (\\ud800-\\udfff)")
        elif isinstance(node, dict):
            stack.extend((v, f"{where}.{k}") for k, v in node.items())
            stack.extend((k, f"{where} (a key)") for k in node)
        elif isinstance(node, list):
            stack.extend((v, f"{where}[{i}]") for i, v in enumerate(node))


_SURROGATE = re.compile("[\ud800-\udfff]")


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _json_type(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number" if isinstance(value, (int, float)) else type(value).__name__
    )
