"""The generator's long texts, kept as files under ``texts/`` next to this module.

Two kinds of file:

- exact files (:func:`exact`): the content is used byte for byte, final newline
  included. The files of the ``wordstat`` project (``texts/base/``,
  ``texts/written/``) are of this kind: what is on disk here is what the
  session writes.
- prose (:func:`prose`): texts that the trace holds without a final newline
  (the system prompt, the task, the SEARCH/REPLACE edits). Their files end
  with one newline, as text files do, and it is dropped on reading.
"""

from __future__ import annotations

from pathlib import Path

TEXTS = Path(__file__).resolve().parent / "texts"


def exact(relative: str) -> str:
    """Content of ``texts/<relative>``, unchanged (no newline translation)."""
    with open(TEXTS / relative, encoding="utf-8", newline="") as handle:
        return handle.read()


def prose(relative: str) -> str:
    """Content of ``texts/<relative>`` without its one final newline."""
    text = exact(relative)
    if not text.endswith("\n") or text.endswith("\n\n"):
        raise ValueError(f"texts/{relative} must end with exactly one newline")
    return text[:-1]
