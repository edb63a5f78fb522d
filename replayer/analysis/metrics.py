"""llama-server's Prometheus /metrics, read before and after a turn to get that turn's
speculative figures: verification steps and per-position acceptance (the response's
`timings` only has the totals)."""

from __future__ import annotations

import re
from typing import Any, Sequence

from replayer.results.record import TurnResult

_LINE = re.compile(r'^(?P<name>[a-zA-Z_:][\w:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)')
_POS = re.compile(r'position="(\d+)"')
PREFIX = "llamacpp:spec_decode_"


def parse_spec_counters(text: str) -> dict[str, Any]:
    """The speculative counters of one scrape: steps, drafted, accepted, accepted per position."""
    out: dict[str, Any] = {"steps": 0.0, "drafted": 0.0, "accepted": 0.0, "per_pos": {}}
    for line in text.splitlines():
        if not line.startswith(PREFIX):
            continue
        m = _LINE.match(line)
        if not m:
            continue
        try:
            value = float(m.group("value"))
        except ValueError:
            continue
        name = m.group("name")[len(PREFIX):]
        if name == "num_drafts_total":
            out["steps"] = value
        elif name == "num_draft_tokens_total":
            out["drafted"] = value
        elif name == "num_accepted_tokens_total":
            out["accepted"] = value
        elif name == "num_accepted_tokens_per_pos_total":
            pos = _POS.search(m.group("labels") or "")
            if pos:
                out["per_pos"][int(pos.group(1))] = value
    return out


def spec_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What one turn added to the counters."""
    positions = sorted(set(before["per_pos"]) | set(after["per_pos"]))
    return {
        "spec_steps": int(after["steps"] - before["steps"]),
        "spec_drafted": int(after["drafted"] - before["drafted"]),
        "spec_accepted": int(after["accepted"] - before["accepted"]),
        "accepted_per_pos": [int(after["per_pos"].get(p, 0) - before["per_pos"].get(p, 0)) for p in positions],
    }


def acceptance_by_position(records: Sequence[TurnResult]) -> tuple[float, ...] | None:
    """Share of verification steps whose draft token at position i was accepted."""
    steps = sum(r.spec_steps or 0 for r in records)
    if not steps:
        return None
    width = max((len(r.accepted_per_pos or ()) for r in records), default=0)
    totals = [0] * width
    for r in records:
        for i, v in enumerate(r.accepted_per_pos or ()):
            totals[i] += v
    return tuple(t / steps for t in totals)
