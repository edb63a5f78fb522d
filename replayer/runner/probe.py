"""Ask the baseline server what it would have picked where a candidate diverged.

For each first divergence, the (non-speculative) baseline is given the turn's prompt, in
its own chat template, followed by its own generated tokens up to the divergent position,
and asked for one token with its top candidates (``/completion``, ``n_probs``): the
baseline's distribution at exactly that position. (Simply requesting the turn again does
not do: with a different prompt-cache state the baseline's own numerics move, and on a real
model it then parts from its own earlier output.) This runs after the measured work is
done, so no figure changes. What comes back is classified by analysis/divergence.py, and
kept in the run directory (``probes.json``) so that ``replay compare`` classifies the same
way without a server.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Sequence

from replayer.analysis.comparison import compare_tokens
from replayer.analysis.divergence import Probe
from replayer.results.record import TurnResult
from replayer.runner.endpoint import Endpoint
from replayer.runner.plan import PlannedTurn, build_request
from replayer.runner.server import http_json
from replayer.scenario.model import ReplayPolicy

TOP = 5  # candidates per position: the runner-up, and the candidate's token when it is further down
MAX_PROBES = 32  # a run that diverged everywhere needs no more to be judged


def wanted(records: Sequence[TurnResult], baseline: str) -> dict[tuple[str, int, int], tuple[int, ...]]:
    """(trace, turn, position) -> the baseline's tokens before it, for every first divergence."""
    by_variant: dict[str, list[TurnResult]] = {}
    for r in records:
        by_variant.setdefault(r.variant, []).append(r)
    base_by = {r.key: r for r in by_variant.get(baseline, []) if r.ok}
    out: dict[tuple[str, int, int], tuple[int, ...]] = {}
    for name, recs in by_variant.items():
        if name != baseline:
            for r, d in compare_tokens(by_variant.get(baseline, []), recs)[2]:
                out.setdefault((r.trace, r.turn, d.index), tuple((base_by[r.key].tokens or ())[: d.index]))
    return dict(sorted(out.items())[:MAX_PROBES])


def probe_turn(endpoint: Endpoint, planned: PlannedTurn, policy: ReplayPolicy,
               prefix: Sequence[int]) -> Probe | None:
    """The baseline's top candidates after ``prefix`` of its own answer; None if it could not say."""
    body = build_request(planned, policy)
    chat = {"messages": body["messages"], **({"tools": body["tools"]} if body.get("tools") else {})}
    status, rendered = http_json(endpoint.url + "/apply-template", "POST", chat, timeout=120)
    ids = endpoint.tokenize(rendered["prompt"], add_special=True) if status == 200 and isinstance(rendered, dict) \
        else None
    if ids is None:
        return None
    request = {**policy.sampling, "prompt": ids + list(prefix), "n_predict": 1, "n_probs": TOP,
               "cache_prompt": False}
    status, out = http_json(endpoint.url + "/completion", "POST", request, timeout=endpoint.timeout_s)
    try:
        top = out["completion_probabilities"][0]["top_logprobs"]
        return Probe(len(prefix), tuple((int(c["id"]), float(c["logprob"])) for c in top))
    except (KeyError, IndexError, TypeError, ValueError):  # an error, or a server without n_probs
        return None


def probe_divergences(records: Sequence[TurnResult], baseline: str, endpoint: Endpoint,
                      turns: Sequence[PlannedTurn], policy: ReplayPolicy) -> dict[tuple[str, int, int], Probe]:
    planned = {(t.trace.name, t.turn.index): t for t in turns}
    out = {}
    for (trace, turn, index), prefix in wanted(records, baseline).items():
        if (trace, turn) in planned:
            probe = probe_turn(endpoint, planned[(trace, turn)], policy, prefix)
            if probe is not None:
                out[(trace, turn, index)] = probe
    return out


def write_probes(path: Path, probes: Mapping[tuple[str, int, int], Probe]) -> None:
    doc = [{"trace": t, "turn": k, "index": i, "top": [list(c) for c in p.top]}
           for (t, k, i), p in sorted(probes.items())]
    path.write_text(json.dumps(doc) + "\n", encoding="utf-8")


def read_probes(path: Path) -> dict[tuple[str, int, int], Probe]:
    """A run's probes; none when the file is unreadable (the divergences stay unclassified)."""
    try:
        doc: Any = json.loads(path.read_text(encoding="utf-8"))
        return {(d["trace"], int(d["turn"]), int(d["index"])):
                Probe(int(d["index"]), tuple((int(i), float(lp)) for i, lp in d["top"])) for d in doc}
    except (OSError, ValueError, KeyError, TypeError):
        return {}
