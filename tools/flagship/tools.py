"""Tool definitions (OpenAI function schema) of the flagship session.

The definitions, in ``texts/tools.json``, are replayer's own text.  They are
deliberately as thorough as the ones real coding agents send, because the
tool block is part of every prompt and so part of what a replay measures.
``@@CWD@@`` in any string stands for the session's working directory.
"""

from __future__ import annotations

import json
from typing import Any

from .data import exact


def _fill(value: Any, cwd: str) -> Any:
    if isinstance(value, str):
        return value.replace("@@CWD@@", cwd)
    if isinstance(value, list):
        return [_fill(item, cwd) for item in value]
    if isinstance(value, dict):
        return {key: _fill(item, cwd) for key, item in value.items()}
    return value


def build_tools(cwd: str) -> list[dict[str, Any]]:
    """Return the eight tool definitions, in the order the agent sends them."""
    return _fill(json.loads(exact("tools.json")), cwd)
