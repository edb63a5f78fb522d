"""The ``tune:`` section of a scenario: the search space of `replay tune` and how it races.

    tune:
      variant: mtp-on                 # the drafting variant whose flags are tuned (default: the first that speculates)
      args:                           # flag -> values, each value (each grid point) an arm
        --spec-draft-n-max: [1, 2, 3, 4, 6]
      sessions: [1, 2, 4]             # concurrency levels, a race at each (default [1])
      sample: 8                       # turns per trace per round, spread over the session's depths
      max_rounds: 6
      tolerance: 0.02                 # survivors within 2 % of the leader tie: the simplest wins
      confidence: 0.95
      budget: 30m                     # no round starts after this much wall-clock (s, m or h; a number: seconds)
      slo: {ttft_p90_s: 2, decode_tok_s_p10: 20}

The arms are the scenario's baseline (speculation off, the current flags), its other variants,
and one arm per grid point of the tuned variant, expanded as a sweep would
(scenario/sweep.py): the common flags stay pinned, each arm has a server of its own. Every
problem is (json path, message), so the loader can name the YAML line.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

from replayer.scenario.model import DEFAULT_TUNE_ARGS, SloSpec, TuneSpec, Variant
from replayer.scenario.sweep import expand_sweep, validate_sweep

TUNE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "variant": {"type": "string", "minLength": 1},
        "args": {"type": "object", "minProperties": 1,
                 "additionalProperties": {"type": "array", "minItems": 1, "items": {"type": ["string", "number"]}}},
        "sessions": {"type": "array", "minItems": 1, "items": {"type": "integer", "minimum": 1}},
        "sample": {"type": "integer", "minimum": 1},
        "max_rounds": {"type": "integer", "minimum": 1},
        "tolerance": {"type": "number", "exclusiveMinimum": 0, "maximum": 0.5},
        "confidence": {"type": "number", "minimum": 0.5, "exclusiveMaximum": 1},
        "budget": {"type": ["string", "number"]},
        "slo": {"$ref": "#/$defs/slo"},
    },
}

Problem = tuple[list[Any], str]
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*$")


def parse_duration(value: Any) -> float | None:
    """Seconds from ``90``, ``"90s"``, ``"30m"`` or ``"1.5h"`` (None: not a duration)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if value > 0 else None
    m = _DURATION.match(str(value))
    if not m or float(m.group(1)) <= 0:
        return None
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def drafting_variant(variants: Sequence[Variant], baseline: str) -> str | None:
    """The variant tune expands by default: the first one that speculates."""
    return next((v.name for v in variants if v.name != baseline and v.speculates and v.managed), None)


def tune_problems(raw: Mapping[str, Any], variants: Sequence[Variant], baseline: str, cache: str,
                  common_args: Sequence[Any]) -> list[Problem]:
    root: list[Any] = ["tune"]
    name = raw.get("variant") or drafting_variant(variants, baseline)
    if name is None:
        return [(root, "no variant speculates, so there is no drafting variant to tune: add one with "
                       "--spec-type draft-mtp (or name it in tune.variant)")]
    if name == baseline:
        return [(root + ["variant"], f"{name!r} is the baseline: tune expands a drafting variant and races it "
                                     "against the baseline")]
    if "budget" in raw and parse_duration(raw["budget"]) is None:
        return [(root + ["budget"], f"expected a duration like 90s, 30m or 1h, got {raw['budget']!r}")]
    sessions = raw.get("sessions") or []
    if len(set(sessions)) != len(sessions):
        return [(root + ["sessions"], f"expected distinct levels, got {list(sessions)}")]
    sweep = {"variant": name, "args": raw.get("args") or _default_args()}
    # the sweep's checks, reported at tune's own paths
    return [(root + where[1:], message)
            for where, message in validate_sweep(sweep, variants, cache=cache, common_args=common_args)]


def tune_spec(raw: Mapping[str, Any] | None, variants: tuple[Variant, ...], baseline: str,
              sampling: Mapping[str, Any], cache: str, common_args: Sequence[Any]) -> TuneSpec:
    """The race from a valid section (``tune_problems`` found nothing), or from the defaults when ``raw`` is None."""
    raw = raw or {}
    name = raw.get("variant") or drafting_variant(variants, baseline)
    plan = expand_sweep({"variant": name, "args": raw.get("args") or _default_args()}, variants, baseline, sampling,
                        cache=cache, common_args=common_args)
    return TuneSpec(
        plan=plan, sessions=tuple(int(n) for n in raw.get("sessions") or (1,)), sample=int(raw.get("sample", 8)),
        max_rounds=int(raw.get("max_rounds", 6)), tolerance=float(raw.get("tolerance", 0.02)),
        confidence=float(raw.get("confidence", 0.95)),
        budget_s=parse_duration(raw["budget"]) if "budget" in raw else None,
        slo=SloSpec.of(raw.get("slo")),
    )


def _default_args() -> dict[str, list[Any]]:
    return {flag: list(values) for flag, values in DEFAULT_TUNE_ARGS.items()}
