"""The system prompt of the flagship session.

The text, in ``texts/system_prompt.md``, is replayer's own, written for this
trace.  It is meant to be as long and as detailed as the prompts real coding
agents send (about ten thousand cl100k tokens), so that a replay puts the same
pressure on the server's prompt processing and prompt cache as a real agent
does.

Placeholders of the form ``@@NAME@@`` are filled in by
:func:`build_system_prompt`.
"""

from __future__ import annotations

from .data import prose


def build_system_prompt(*, cwd: str, os_name: str, shell: str, home: str) -> str:
    """Return the full system prompt for a session in ``cwd``."""
    text = prose("system_prompt.md")
    for key, value in (("@@CWD@@", cwd), ("@@OS@@", os_name), ("@@SHELL@@", shell), ("@@HOME@@", home)):
        text = text.replace(key, value)
    return text
