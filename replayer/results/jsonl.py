"""Append-only ``results.jsonl``: every finished turn is on disk before the next one starts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from replayer.errors import InputError
from replayer.atomic import refused
from replayer.results.codec import from_json, to_json
from replayer.results.record import READABLE_SCHEMAS, RESULT_SCHEMA, TurnResult, upgrade


class ResultsWriter:
    """The record sink of a run: one flushed JSON line per :class:`TurnResult`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._fh = path.open("a", encoding="utf-8")
        except OSError as exc:
            raise refused(path, exc) from None
        self.count = 0

    def write(self, record: TurnResult) -> None:
        """One line, flushed: a refused write (a full disk) ends the run in one line, and every
        turn written before it stays in the file."""
        try:
            self._fh.write(json.dumps(to_json(record), ensure_ascii=False, separators=(",", ":")) + "\n")
            self._fh.flush()
        except OSError as exc:
            raise refused(self.path, exc, f"the {self.count} turn(s) before it are kept") from None
        self.count += 1

    def close(self) -> None:
        try:
            self._fh.close()
        except OSError:
            pass  # what could not be flushed was said when it was written

    def __enter__(self) -> "ResultsWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_results(path: Path) -> list[TurnResult]:
    return list(iter_results(path))


def read_results_if_any(path: Path) -> list[TurnResult]:
    """A run stopped before its first turn has no file: that is no records, not an error."""
    return read_results(path) if path.is_file() else []


def iter_results(path: Path) -> Iterator[TurnResult]:
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                # A run killed mid-write can leave a torn last line; everything before it is intact.
                if not line.endswith("\n"):
                    return
                raise InputError(f"{path}:{lineno}: invalid JSON line: {exc.msg}") from None
            if not isinstance(data, dict) or data.get("schema") not in READABLE_SCHEMAS:
                found = data.get("schema") if isinstance(data, dict) else type(data).__name__
                raise InputError(f"{path}:{lineno}: expected schema {RESULT_SCHEMA!r}, got {found!r}")
            yield from_json(upgrade(data), TurnResult, f"{path}:{lineno}")
