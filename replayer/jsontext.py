"""JSON text from outside replayer (traces, agent files): bounded nesting, located problems.

Python's JSON parser recurses once per nesting level, so a file of ten thousand ``[``
would end in a RecursionError, and a document a few hundred levels deep parses but
breaks whatever walks it later. Every reader goes through :func:`parse_json` (or
:func:`decoder` and :func:`too_deep` for a stream of values), and a problem comes back as
one :class:`Malformed` with its location, which the caller turns into its own InputError.
"""

from __future__ import annotations

import json
import math
import re
import sys
from typing import Any

NEWLINE = b"\n"
MAX_DEPTH = 200  # deeper than any agent file or trace needs; far from the interpreter's limit


class Malformed(ValueError):
    """A JSON text that cannot be read: ``location`` ("line 3 column 5", or "") and what is wrong."""

    def __init__(self, location: str, message: str) -> None:
        super().__init__(f"{location}: {message}" if location else message)
        self.location, self.message = location, message


def _refuse_constant(name: str) -> Any:
    raise Malformed("", f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise Malformed("", f"{text} is out of the range of a JSON number")
    return value


def decoder(standard: bool = True) -> json.JSONDecoder:
    """A decoder that, when ``standard``, refuses NaN, Infinity and numbers that overflow to
    them (Python would read them; no other JSON reader, llama-server included, would)."""
    if standard:
        return json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)
    return json.JSONDecoder()


def parse_json(text: str | bytes, standard: bool = True) -> Any:
    """The value of a whole JSON text, or Malformed."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise Malformed(f"line {text.count(NEWLINE, 0, exc.start) + 1}", "expected UTF-8 text") from None
    try:
        value = decoder(standard).decode(text)
    except json.JSONDecodeError as exc:
        raise Malformed(f"line {exc.lineno} column {exc.colno}", f"invalid JSON: {exc.msg}") from None
    except Malformed as exc:
        raise Malformed(number_line(text), exc.message) from None
    except RecursionError:
        raise Malformed(nesting_line(text), f"nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # an integer of more digits than int() converts
        raise Malformed(number_line(text), f"invalid JSON number: {str(exc).split(':')[0]}") from None
    if too_deep(value):
        raise Malformed(nesting_line(text), f"nested deeper than {MAX_DEPTH} levels")
    return value


def too_deep(value: Any) -> bool:
    """Whether ``value`` nests deeper than MAX_DEPTH (iterative: a deep value cannot break it)."""
    if type(value) is not dict and type(value) is not list:
        return False
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if type(node) is dict else node
        for child in children:
            if type(child) is dict or type(child) is list:
                if depth >= MAX_DEPTH:
                    return True
                stack.append((child, depth + 1))
    return False


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def nesting_line(text: str, start: int = 0) -> str:
    """The line where the nesting of ``text`` first passes MAX_DEPTH ("" when it does not)."""
    depth = 0
    for m in _TOKEN.finditer(text, start):
        c = m.group()
        if c in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return f"line {text.count(chr(10), 0, m.start()) + 1}"
        elif c in "]}":
            depth -= 1
    return ""


_ODD_NUMBER = re.compile(r"(?<![\w\".])(?:-?Infinity|NaN|-?\d[\d.eE+-]*)(?![\w\"])")


def number_line(text: str) -> str:
    """The line of the first number outside strings that JSON cannot carry ("" when none is found)."""
    for m in _ODD_NUMBER.finditer(re.sub(r'"(?:[^"\\]|\\.)*"', lambda s: " " * len(s.group()), text)):
        word = m.group()
        if word in ("NaN", "Infinity", "-Infinity") or len(word) > sys.get_int_max_str_digits() or (
                "e" in word.lower() and math.isinf(_float_or_zero(word))):
            return f"line {text.count(chr(10), 0, m.start()) + 1}"
    return ""


def _float_or_zero(word: str) -> float:
    try:
        return float(word)
    except ValueError:
        return 0.0
