"""JSON <-> the frozen dataclasses that flow between stages (cattrs does the walking).

Unknown keys are refused, so a typo or a newer file never passes silently; a
structure error becomes one located line (``$.variants.base.wall_s: ...``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import cattrs

from replayer.errors import InputError

T = TypeVar("T")

# tuples (immutable in the dataclasses) are written as JSON lists
_converter = cattrs.Converter(forbid_extra_keys=True, unstruct_collection_overrides={tuple: list})


def to_json(obj: Any) -> Any:
    """Plain dicts and lists, ready for json.dumps or a JSON Schema (str-valued enums stay enums: they dump
    as their value)."""
    return _converter.unstructure(obj)


def from_json(data: Any, cls: type[T], source: Path | str) -> T:
    """``data`` as ``cls``; a mismatch is an InputError naming ``source`` and the JSON path."""
    try:
        return _converter.structure(data, cls)
    except (cattrs.BaseValidationError, AttributeError, TypeError, ValueError, KeyError) as exc:
        raise InputError(f"{source}: {_first_problem(exc)}") from None


def _first_problem(exc: Exception) -> str:
    if isinstance(exc, cattrs.BaseValidationError):
        lines = cattrs.transform_error(exc)
        if lines:
            text, _, where = lines[0].rpartition(" @ ")
            return f"{where}: {text}" if where else lines[0]
    return f"$: {exc}"
