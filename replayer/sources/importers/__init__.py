"""Importers: agent session files -> trace v1.

Each importer module is an :class:`Importer`: ``NAME``, ``READS_FOLDERS`` (it also takes a
folder: a Cline task, an OpenHands session), ``detect(path, head) -> bool`` (is this file
mine?, from content, never from the file name alone) and ``load(path, options) -> Imported``.
``IMPORTERS`` is the static table, in detection order; ``--format`` picks one by name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from replayer.errors import InputError
from replayer.sources.builder import build_trace
from replayer.sources.importers import (aider, claude_code, cline_v3, cline_v4, codex, openai_jsonl, opencode,
                                        openhands, swe_agent)
from replayer.sources.importers.base import ImportOptions, Imported


class Importer(Protocol):
    """What every importer module provides (a module satisfies a protocol with these names)."""

    NAME: str
    READS_FOLDERS: bool

    def detect(self, path: Path, head: bytes) -> bool: ...
    def load(self, path: Path, options: ImportOptions) -> Imported: ...


# Order matters for detection: the most specific formats first.
IMPORTERS: tuple[Importer, ...] = (cline_v4, cline_v3, opencode, claude_code, codex, openhands, swe_agent, aider,
                                   openai_jsonl)


def formats() -> dict[str, Importer]:
    return {mod.NAME: mod for mod in IMPORTERS}


def _head(path: Path, n: int = 65536) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(n)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


def detect_format(path: Path) -> str:
    table = formats()
    head = b"" if path.is_dir() else _head(path)
    for name, mod in table.items():
        if mod.detect(path, head):
            return name
    raise InputError(f"{path}: cannot tell which agent wrote this file; pass --format, one of: {', '.join(table)}")


def import_session(path: Path, fmt: str | None = None, options: ImportOptions | None = None,
                   name: str | None = None) -> tuple[dict[str, Any], Imported]:
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if not path.is_dir() and not path.is_file():
        # a pipe or a device would block the reader, or never end
        raise InputError(f"{path}: expected a file or a folder, got a special file (pipe, device or socket)")
    table = formats()
    if fmt is None:
        fmt = detect_format(path)
    elif fmt not in table:
        raise InputError(f"--format {fmt!r}: expected one of {', '.join(table)}")
    if path.is_dir() and not table[fmt].READS_FOLDERS:
        raise InputError(f"{path}: expected a {fmt} file, got a folder")
    imported = table[fmt].load(path, options or ImportOptions())
    if not imported.calls:
        raise InputError(f"{path}: no model call found in this {fmt} session")
    provenance = {"importer": fmt, **imported.provenance}
    doc = build_trace(name or imported.name, imported.calls, provenance=provenance, fidelity=imported.fidelity,
                      repository=imported.repository, description=imported.description)
    return doc, imported
