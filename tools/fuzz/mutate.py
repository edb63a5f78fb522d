"""Hypothesis strategies that mutate a valid seed into the inputs real agent logs turn into.

Structural mutations work on the parsed document (drop, retype or duplicate a key or an item,
out-of-range numbers and timestamps, NaN/Infinity, lone surrogates, huge strings, deep nesting);
textual ones on its bytes (truncate at any byte, invalid UTF-8, a BOM, NUL, duplicated keys,
lines dropped or repeated). YAML seeds also get alias bombs and keys with line breaks.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import yaml
from hypothesis import strategies as st

from tools.fuzz.seeds import Seed

DIRECTORY = None  # a file's content that asks for a directory in its place
DEEP = 10_000  # nesting levels of the deep values (the crash depth)
_MARK = "\x00deep-{}\x00"

# Values a field can be retyped to; deep nesting and huge strings are spliced in as text.
_ODD_VALUES: list[Any] = [
    None, True, False, 0, -1, 1, 2**63, -(2**63) - 1, 10**30, 1e308, -1e308, 1.5, 0.0,
    float("nan"), float("inf"), float("-inf"),
    "", " ", "x", "\ud800", "a\nb", "\x00", "\u2028", "{}", "[]", "null",
    [], {}, [None], [[]], [{}], {"": None}, {"type": None},
    # timestamps: out of range as POSIX seconds and milliseconds, and at the edges of datetime
    1e20, -1e20, 253402300800000, -62135596800001, 1e12, "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00", "2025-13-45T99:99:99", "9999-12-31T23:59:59.999999Z",
]


def _children(node: Any) -> list[tuple[Any, Any]]:
    if isinstance(node, dict):
        return list(node.items())
    if isinstance(node, list):
        return list(enumerate(node))
    return []


def _all_paths(doc: Any, limit: int = 50_000) -> list[list[Any]]:
    paths: list[list[Any]] = []
    stack: list[tuple[list[Any], Any]] = [([], doc)]
    while stack and len(paths) < limit:
        path, node = stack.pop()
        paths.append(path)
        stack.extend((path + [k], v) for k, v in _children(node))
    return paths


@st.composite
def _node_path(draw: st.DrawFn, doc: Any) -> list[Any]:
    """A path from the root to a node: any node alike (every field gets its turn), or a
    walk biased to go deep."""
    if draw(st.booleans()):
        paths = _all_paths(doc)
        return paths[draw(st.integers(0, len(paths) - 1))]
    path: list[Any] = []
    node = doc
    while True:
        kids = _children(node)
        if not kids or (path and draw(st.integers(0, 4)) == 0):
            return path
        key, node = kids[draw(st.integers(0, len(kids) - 1))]
        path.append(key)


def _get(doc: Any, path: list[Any]) -> Any:
    for key in path:
        doc = doc[key]
    return doc


@st.composite
def _odd_value(draw: st.DrawFn, current: Any, marks: dict[str, str]) -> Any:
    choice = draw(st.integers(0, 99))
    if choice < 6:  # deep nesting, spliced in after serialization
        mark = _MARK.format(len(marks))
        depth = draw(st.sampled_from([DEEP, 2_000, 300, 150]))
        opener = draw(st.sampled_from(["[", '{"a":']))
        closer = "]" if opener == "[" else "}"
        marks[mark] = opener * depth + "1" + closer * depth
        return mark
    if choice < 9:  # a huge string
        return "y" * draw(st.sampled_from([100_000, 1_000_000]))
    if choice < 15:
        return [current, current]
    if choice < 20:
        return {"k": current}
    if choice < 25:
        return str(current)
    if choice < 30:
        return draw(st.text(max_size=20))
    if choice < 35:
        return draw(st.integers())
    return copy.deepcopy(draw(st.sampled_from(_ODD_VALUES)))  # a copy: later mutations must not change the table


@st.composite
def _mutate_tree(draw: st.DrawFn, doc: Any, marks: dict[str, str]) -> Any:
    for _ in range(draw(st.integers(1, 3))):
        path = draw(_node_path(doc))
        if not path:
            doc = draw(_odd_value(doc, marks))
            continue
        parent, key = _get(doc, path[:-1]), path[-1]
        op = draw(st.integers(0, 9))
        if op < 3:  # drop the key or the item
            del parent[key]
        elif op < 8:  # retype it
            parent[key] = draw(_odd_value(parent[key], marks))
        elif isinstance(parent, list):  # duplicate the item
            parent.insert(key, parent[key])
        else:  # rename the key
            parent[draw(st.sampled_from(["", "a\nb", "\ud800", "type", "role", "content", key + "x"]))] = parent.pop(key)
    return doc


def _dump_json(doc: Any, marks: dict[str, str], ascii_only: bool, indent: int | None) -> bytes:
    text = json.dumps(doc, ensure_ascii=ascii_only, indent=indent)
    for mark, value in marks.items():
        text = text.replace(json.dumps(mark, ensure_ascii=ascii_only), value)
    return text.encode("utf-8", "surrogatepass")


@st.composite
def _json_structural(draw: st.DrawFn, data: bytes) -> bytes:
    marks: dict[str, str] = {}
    doc = draw(_mutate_tree(json.loads(data), marks))
    return _dump_json(doc, marks, draw(st.booleans()), draw(st.sampled_from([None, 1])))


@st.composite
def _jsonl_structural(draw: st.DrawFn, data: bytes) -> bytes:
    lines = [json.loads(line) for line in data.splitlines() if line.strip()]
    marks: dict[str, str] = {}
    out = []
    k = draw(st.integers(0, len(lines) - 1))
    ascii_only = draw(st.booleans())
    for i, obj in enumerate(lines):
        if i == k:
            obj = draw(_mutate_tree(obj, marks))
        out.append(_dump_json(obj, marks, ascii_only, None))
    return b"\n".join(out) + b"\n"


@st.composite
def _yaml_structural(draw: st.DrawFn, data: bytes) -> bytes:
    doc = yaml.safe_load(data)
    marks: dict[str, str] = {}
    doc = draw(_mutate_tree(doc, marks))
    text = yaml.safe_dump(doc, allow_unicode=draw(st.booleans()), width=10**9)
    for mark, value in marks.items():
        text = text.replace(yaml.safe_dump(mark).removesuffix("\n...\n").strip(), value)
    return text.encode("utf-8", "surrogatepass")


def alias_bomb(levels: int, fan: int = 9) -> bytes:
    """A scenario whose variant args expand to fan**levels items through nested aliases."""
    lines = ["version: 1", "traces: [trace.json]", "a0: &a0 [x]"]
    for level in range(1, levels + 1):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * fan) + "]")
    lines += ["variants:", f"  off: {{args: *a{levels}}}"]
    return ("\n".join(lines) + "\n").encode()


@st.composite
def _textual(draw: st.DrawFn, data: bytes, kind: str) -> bytes:
    op = draw(st.integers(0, 13))
    if op == 0:  # truncated at any byte
        return data[: draw(st.integers(0, max(0, len(data) - 1)))]
    if op == 1:  # invalid UTF-8
        at = draw(st.integers(0, len(data)))
        return data[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x80\x80"])) + data[at:]
    if op == 2:
        return draw(st.sampled_from([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"])) + data
    if op == 3:  # a NUL or a control character
        at = draw(st.integers(0, len(data)))
        return data[:at] + draw(st.sampled_from([b"\x00", b"\x1b", b"\r", b"\t", b"\x0c"])) + data[at:]
    lines = data.split(b"\n")
    if op == 4 and len(lines) > 1:
        del lines[draw(st.integers(0, len(lines) - 1))]
        return b"\n".join(lines)
    if op == 5:
        k = draw(st.integers(0, len(lines) - 1))
        lines.insert(k, lines[k])
        return b"\n".join(lines)
    if op == 6 and kind in ("json", "jsonl"):  # a duplicated key
        at = data.find(b'{"', draw(st.integers(0, len(data))))
        if at >= 0:
            end = data.find(b",", at)
            if end > at:
                return data[: end + 1] + data[at + 1: end + 1] + data[end + 1:]
    if op == 7:  # deep nesting spliced in anywhere
        at = draw(st.integers(0, len(data)))
        return data[:at] + b"[" * DEEP + data[at:]
    if op == 8 and kind in ("json", "jsonl"):  # NaN, Infinity and out-of-range numbers as JSON text
        at = data.find(b": ", draw(st.integers(0, len(data))))
        if at >= 0:
            word = draw(st.sampled_from([b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e400", b"9" * 5000]))
            return data[: at + 2] + word + b"," + data[at + 2:]
    if op == 9 and kind == "yaml":
        return draw(st.sampled_from([alias_bomb(draw(st.integers(2, 7))), b"version: 1\n\x00\n",
                                     b"version: 1\n\"a\\nb\": 1\n", b"- " * 3000 + b"x\n",
                                     b"version: 1\nvariants: &v {a: *v}\n", data + b"\n\t- x\n"]))
    if op == 10:  # a random byte flipped
        if data:
            at = draw(st.integers(0, len(data) - 1))
            return data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1:]
    if op == 11:
        return data + draw(st.binary(max_size=64))
    if op == 12 and kind == "text":  # an aider header with an odd time
        k = draw(st.integers(0, len(lines) - 1))
        lines[k] = b"TO LLM " + draw(st.sampled_from([b"0000-01-01T00:00:00", b"9999-12-31T23:59:59.9999999",
                                                      b"2025-02-30T25:61:61", b"1970-01-01T00:00:00"]))
        return b"\n".join(lines)
    return data


@st.composite
def mutated_files(draw: st.DrawFn, seed: Seed) -> dict[str, bytes | None]:
    """The seed's files with one of them mutated (the input itself, mostly)."""
    files = dict(seed.files)
    names = list(files)
    name = names[0] if len(names) == 1 or draw(st.integers(0, 3)) else draw(st.sampled_from(names[1:]))
    data = files[name]
    kind = seed.kind
    if draw(st.integers(0, 9)) < 6:
        structural = {"json": _json_structural, "jsonl": _jsonl_structural, "yaml": _yaml_structural}.get(kind)
        files[name] = draw(structural(data)) if structural else draw(_textual(data, kind))
    else:
        files[name] = draw(_textual(data, kind))
    if draw(st.integers(0, 4)) == 0:  # and sometimes a textual mutation on top
        files[name] = draw(_textual(files[name], kind))
    if draw(st.integers(0, 39)) == 0:  # a directory where a file is expected
        files[name] = DIRECTORY
    return files
