"""Agents served within a service level: per arm, the most concurrent sessions whose requests
still get their first token in time and whose sessions still decode fast enough.

The two figures, per level and arm, over every request of every repetition:

- **time to first token, 90th percentile**: a non-streamed request's wall-clock minus the
  server's decode time, i.e. the wait for a slot and the prefill (llama-server's ``prompt_ms``
  alone leaves out the queue, which is what grows with a team);
- **per-session decode speed, 10th percentile**: each session's generated tokens (less its
  first token per request, as llama-server counts) over its decode time, the slowest tenth of
  sessions.

With ``sessions: auto`` the levels are not listed but searched, assuming that both figures get
worse as sessions are added: level 1, then doubling while every arm still meets the SLO, then
bisection between the largest level that met it and the smallest that did not, per arm.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Mapping, Sequence

import numpy as np

from replayer.results.record import TurnResult
from replayer.results.summary import SloLevel, SloSection
from replayer.scenario.model import SloSpec


def ttft_p90_s(records: Sequence[TurnResult]) -> float | None:
    waits = [(r.wall_ms - (r.predicted_ms or 0.0)) / 1e3 for r in records if r.ok]
    return float(np.percentile(waits, 90)) if waits else None


def session_decode_p10(records: Sequence[TurnResult]) -> float | None:
    by: dict[tuple[int, int | None], list[TurnResult]] = defaultdict(list)
    for r in records:
        if r.ok:
            by[(r.repetition, r.session)].append(r)
    speeds = []
    for rs in by.values():
        ms = sum(r.predicted_ms or 0.0 for r in rs)
        steps = sum(max((r.predicted_n or 0) - 1, 0) for r in rs)
        if ms > 0:
            speeds.append(steps / ms * 1e3)
    return float(np.percentile(speeds, 10)) if speeds else None


def meets(slo: SloSpec, ttft: float | None, decode: float | None) -> bool:
    """Whether an arm at a level meets every bound the SLO sets (a figure it lacks fails it)."""
    if slo.ttft_p90_s is not None and (ttft is None or ttft > slo.ttft_p90_s):
        return False
    return slo.decode_tok_s_p10 is None or (decode is not None and decode >= slo.decode_tok_s_p10)


def bounds(passed: Mapping[int, bool]) -> tuple[int, int | None]:
    """(the largest level that met the SLO, 0 for none; the smallest level above it that did not)."""
    lo = max((n for n, ok in passed.items() if ok), default=0)
    hi = min((n for n, ok in passed.items() if not ok and n > lo), default=None)
    return lo, hi


def next_level(passed: Mapping[str, Mapping[int, bool]], arms: Sequence[str], most: int) -> int | None:
    """The next level to run (every arm runs it), or None once every arm's largest level is found."""
    if not any(passed.get(a) for a in arms):
        return 1
    wanted = []
    for arm in arms:
        lo, hi = bounds(passed.get(arm, {}))
        tried = passed.get(arm, {})
        if lo == 0 and 1 in tried:
            continue  # not even one session meets it
        if hi is None:
            if lo < most:
                wanted.append(min(2 * lo, most))
        elif hi - lo > 1:
            wanted.append((lo + hi) // 2)
    wanted = [n for n in wanted if any(n not in passed.get(a, {}) for a in arms)]
    return min(wanted) if wanted else None


def slo_section(slo: SloSpec, figures: Mapping[int, Mapping[str, tuple[float | None, float | None]]],
                search: bool, most: int) -> SloSection:
    """``figures``: per level run, per arm, (ttft p90 s, session decode p10 tok/s)."""
    levels = []
    passed: dict[str, dict[int, bool]] = defaultdict(dict)
    for level in sorted(figures):
        ok = {arm: meets(slo, *f) for arm, f in figures[level].items()}
        for arm, v in ok.items():
            passed[arm][level] = v
        levels.append(SloLevel(sessions=level, passed=ok))
    largest, proven = {}, {}
    for arm, tried in passed.items():
        lo, hi = bounds(tried)
        largest[arm] = lo
        proven[arm] = hi is not None or lo == 0  # else no larger level failed: it serves at least lo
    return SloSection(ttft_p90_s=slo.ttft_p90_s, decode_tok_s_p10=slo.decode_tok_s_p10, levels=tuple(levels),
                      largest=largest, bounded=proven, searched=search, most=most)
