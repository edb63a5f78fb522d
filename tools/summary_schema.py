"""Write (or --check) replayer/results/summary.schema.json from the Summary dataclasses.

The dataclasses are the one definition of summary.json; the JSON Schema, for
readers outside Python, is derived from them so the two cannot drift. Every
object refuses keys it does not declare, and every declared key is required
(the writer always writes all of them).

    python -m tools.summary_schema          # rewrite the schema
    python -m tools.summary_schema --check  # exit 1 when it is out of date
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import types
import typing
from pathlib import Path

from replayer.results import summary as model

SCHEMA_PATH = Path(model.__file__).with_name("summary.schema.json")


def _type(t: typing.Any) -> dict[str, typing.Any]:
    origin, args = typing.get_origin(t), typing.get_args(t)
    if t is typing.Any:
        return {}
    if origin in (typing.Union, types.UnionType):
        inner = [_type(a) for a in args if a is not type(None)]
        if len(inner) == 1 and isinstance(inner[0].get("type"), str):
            return {**inner[0], "type": [inner[0]["type"], "null"]}
        return {"anyOf": [*inner, {"type": "null"}]} if all(inner) else {}
    simple = {str: "string", bool: "boolean", int: "integer", float: "number"}
    if t in simple:
        return {"type": simple[t]}
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return {"type": "array", "items": _type(args[0])}
    if origin is tuple:
        return {"type": "array", "prefixItems": [_type(a) for a in args], "minItems": len(args), "maxItems": len(args)}
    if origin is list:
        return {"type": "array", "items": _type(args[0]) if args else {}}
    if origin is dict:
        return {"type": "object", "additionalProperties": _type(args[1])}
    if dataclasses.is_dataclass(t):
        return {"$ref": f"#/$defs/{t.__name__}"}
    raise TypeError(f"no JSON Schema for {t!r}")


def _nested(t: typing.Any) -> list[type]:
    own = [t] if dataclasses.is_dataclass(t) else []
    return own + [c for a in typing.get_args(t) for c in _nested(a)]


def definitions() -> dict[str, dict[str, typing.Any]]:
    """One object schema per dataclass reachable from Summary, Summary first."""
    defs: dict[str, dict[str, typing.Any]] = {}
    todo: list[type] = [model.Summary]
    while todo:
        cls = todo.pop(0)
        if cls.__name__ in defs:
            continue
        hints = typing.get_type_hints(cls, vars(model))
        names = [f.name for f in dataclasses.fields(cls)]
        defs[cls.__name__] = {"type": "object", "additionalProperties": False, "required": names,
                              "properties": {n: _type(hints[n]) for n in names}}
        todo += [c for n in names for c in _nested(hints[n])]
    return defs


def render() -> str:
    defs = definitions()
    top = defs.pop("Summary")
    top["properties"]["schema"] = {"const": model.SUMMARY_SCHEMA}
    head = {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": f"replayer summary, {model.SUMMARY_SCHEMA}",
            "description": "summary.json of a run (docs/results.md). Generated from replayer/results/summary.py "
                           "by `python -m tools.summary_schema`: every key is declared, no other is allowed.",
            **{k: v for k, v in top.items() if k != "properties"}}
    lines = ["{", *(f"  {json.dumps(k)}: {json.dumps(v)}," for k, v in head.items())]
    lines += ['  "properties": {', *_props(top["properties"], "    "), "  },", '  "$defs": {']
    for i, (name, d) in enumerate(defs.items()):
        lines.append(f"    {json.dumps(name)}: {{")
        lines += [f"      {json.dumps(k)}: {json.dumps(v)}," for k, v in d.items() if k != "properties"]
        lines += ['      "properties": {', *_props(d["properties"], "        "), "      }"]
        lines.append("    }" + ("," if i < len(defs) - 1 else ""))
    return "\n".join([*lines, "  }", "}"]) + "\n"


def _props(props: dict[str, typing.Any], indent: str) -> list[str]:
    items = list(props.items())
    return [f"{indent}{json.dumps(k)}: {json.dumps(v)}" + ("," if i < len(items) - 1 else "")
            for i, (k, v) in enumerate(items)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the committed schema is out of date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if SCHEMA_PATH.read_text(encoding="utf-8") != text:
            print(f"{SCHEMA_PATH}: out of date: run python -m tools.summary_schema", file=sys.stderr)
            return 1
        print(f"{SCHEMA_PATH}: up to date")
        return 0
    SCHEMA_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {SCHEMA_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
