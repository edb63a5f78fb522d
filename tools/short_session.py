"""A short session of the flagship's shape: its first turns with every text cut, so that its
prompts are a few thousand tokens instead of 13k to 44k. Tests that start many servers or
replay turns from an empty cache use it, and it is traces/draft_depth.json:

    python -m tools.short_session            # rewrite traces/draft_depth.json
    python -m tools.short_session --check    # exit 1 when it is out of date

The tool calls' arguments (the code the agent wrote) are kept whole: they are what the turns
generate, so the session stays decode-heavy, where the draft depth matters.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FLAGSHIP = ROOT / "traces" / "cli_tool.json"
DRAFT_DEPTH = ROOT / "traces" / "draft_depth.json"


def short_session(turns: int = 12, chars: int = 600, completion: int | None = None, name: str = "short") -> dict[str, Any]:
    """The flagship's first ``turns`` turns, every message's text cut to ``chars`` characters (the
    system prompt's too, tool descriptions to 200) and, when given, every recorded answer's length
    capped at ``completion`` tokens."""
    doc = json.loads(FLAGSHIP.read_text(encoding="utf-8"))
    doc["name"] = name
    doc["description"] = f"the flagship's first {turns} turns with every text cut to {chars} characters (tools/short_session.py)"
    keep = max(t["request"]["conversation_prefix"] for t in doc["turns"][:turns]) + 1
    doc["conversation"] = [_cut(m, chars) for m in doc["conversation"][:keep]]
    doc["turns"] = doc["turns"][:turns]
    for t in doc["turns"]:
        t["response"]["message"] = _cut(t["response"]["message"], chars)
        usage = t["response"].get("usage") or {}
        if completion is not None and usage.get("completion_tokens"):
            usage["completion_tokens"] = min(usage["completion_tokens"], completion)
    for tool in doc.get("tools") or []:
        fn = tool.get("function", {})
        fn["description"] = (fn.get("description") or "")[:200]
    return doc


def _cut(message: dict[str, Any], chars: int) -> dict[str, Any]:
    out = dict(message)
    if isinstance(out.get("content"), str):
        out["content"] = out["content"][:chars]
    return out


def draft_depth_text() -> str:
    return json.dumps(short_session(turns=10, chars=800, name="draft_depth"), indent=1, ensure_ascii=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when traces/draft_depth.json is out of date")
    args = parser.parse_args()
    text = draft_depth_text()
    if args.check:
        same = DRAFT_DEPTH.is_file() and DRAFT_DEPTH.read_text(encoding="utf-8") == text
        print("up to date" if same else f"{DRAFT_DEPTH} is out of date: run python -m tools.short_session")
        return 0 if same else 1
    DRAFT_DEPTH.write_text(text, encoding="utf-8")
    print(f"wrote {DRAFT_DEPTH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
