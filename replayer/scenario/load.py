"""Load a scenario YAML file into a :class:`Scenario`, with errors located by line.

Validation runs on the parsed document with a JSON Schema; each error's path
is mapped back to the YAML node's line so the user reads
``scenarios/x.yaml:14: replay.order: expected one of 'interleaved', 'sequential', got 'random'``.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from replayer.analysis.gate import DivergencePolicy, GateSpec
from replayer.errors import ScenarioError
from replayer.scenario.model import (
    DEFAULT_COMMON_ARGS,
    DEFAULT_SAMPLING,
    CachePolicy,
    Generation,
    OnError,
    Order,
    ReplayPolicy,
    Scenario,
    ServerSpec,
    Variant,
)
from replayer.trace.load import _describe, _most_specific

DEFAULT_MODEL = "synthetic-echo-mtp70"


class _Loader(yaml.SafeLoader):
    """YAML 1.2 booleans: only true/false. Under YAML 1.1 a variant named `off` or a
    flag value like `--fit off` would silently become a boolean."""


_Loader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))
DEFAULT_OUTPUT_DIR = "runs/{scenario}-{timestamp}"


@lru_cache(maxsize=1)
def scenario_schema() -> dict[str, Any]:
    from replayer.scenario.sweep import SWEEP_SCHEMA

    schema = json.loads(resources.files("replayer.scenario").joinpath("scenario.schema.json").read_text())
    schema["properties"]["sweep"] = SWEEP_SCHEMA  # one definition, kept beside the sweep logic
    return schema


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(str(path), "", "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(str(path), "", f"cannot read: {exc}") from None
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = str(mark.line + 1) if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(str(path), line, f"invalid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise ScenarioError(str(path), "1", "expected a mapping with 'version', 'traces' and 'variants'")
    validator = jsonschema.Draft202012Validator(scenario_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        error = _most_specific(errors[0])
        where = list(error.absolute_path)
        if error.validator == "additionalProperties":
            extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
            allowed = ", ".join(sorted(error.schema.get("properties", {})))
            where = where + extra[:1]
            message = f"unknown field {extra[0]!r} (allowed: {allowed})" if extra else error.message
        else:
            message = _describe(error)
        raise ScenarioError(str(path), _line_of(node, where), f"{_dotted(where)}: {message}")
    return _build(path, data, node)


def _build(path: Path, data: dict[str, Any], node: yaml.Node) -> Scenario:
    base = path.parent
    traces = tuple(_resolve(base, t) for t in data["traces"])
    server_raw = data.get("server") or {}
    server = ServerSpec(
        model=str(server_raw.get("model", DEFAULT_MODEL)),
        binary=server_raw.get("binary"),
        common_args=tuple(str(a) for a in server_raw.get("args", DEFAULT_COMMON_ARGS)),
        host=server_raw.get("host", "127.0.0.1"),
        startup_timeout_s=float(server_raw.get("startup_timeout_s", 180.0)),
        request_timeout_s=float(server_raw.get("request_timeout_s", 900.0)),
    )
    variants = tuple(
        Variant(
            name=name,
            args=tuple(str(a) for a in (spec or {}).get("args", [])),
            url=(spec or {}).get("url"),
            expect_speculation=(spec or {}).get("expect_speculation"),
        )
        for name, spec in data["variants"].items()
    )
    baseline = data.get("baseline", variants[0].name)
    if baseline not in {v.name for v in variants}:
        names = ", ".join(repr(v.name) for v in variants)
        raise ScenarioError(str(path), _line_of(node, ["baseline"]), f"baseline: expected one of {names}, got {baseline!r}")
    for v in variants:
        if v.url and v.args:
            raise ScenarioError(str(path), _line_of(node, ["variants", v.name]),
                                f"variants.{v.name}: give either 'url' (a running server) or 'args' (a managed one), not both")
    replay = data.get("replay") or {}
    sampling = dict(DEFAULT_SAMPLING)
    sampling.update(replay.get("sampling") or {})
    policy = ReplayPolicy(
        sampling=sampling,
        generation=Generation(replay.get("generation", "recorded")),
        max_tokens=int(replay.get("max_tokens", 1024)),
        cache=CachePolicy(replay.get("cache", "reuse")),
        warmup=int(replay.get("warmup", 1)),
        repetitions=int(replay.get("repetitions", 1)),
        order=Order(replay.get("order", "interleaved")),
        order_seed=int(replay.get("order_seed", 0)),
        aa=bool(replay.get("aa", False)),
        turns=replay.get("turns"),
        on_error=OnError(replay.get("on_error", "continue")),
    )
    plan = None
    if data.get("sweep") is not None:
        from replayer.scenario.sweep import expand_sweep, validate_sweep

        kw = {"cache": policy.cache.value, "common_args": server.common_args}
        problems = validate_sweep(data["sweep"], variants, **kw)
        if problems:
            where, message = problems[0]
            raise ScenarioError(str(path), _line_of(node, list(where)), f"{_dotted(list(where))}: {message}")
        plan = expand_sweep(data["sweep"], variants, baseline, policy.sampling, **kw)
        variants, baseline = plan.variants, plan.baseline
    if policy.aa:
        problem = aa_problem(variants, baseline)
        if problem:
            where = ["variants", f"{baseline}-aa"] if "taken" in problem else ["replay", "aa"]
            raise ScenarioError(str(path), _line_of(node, where), f"replay.aa: {problem}")
        variants = with_aa_arm(variants, baseline)
    gate = None
    if data.get("gate") is not None:
        g = data["gate"]
        gate = GateSpec(
            max_slowdown=float(g.get("max_slowdown", 0.03)),
            divergence=DivergencePolicy(g.get("divergence", "fail")),
            min_acceptance=g.get("min_acceptance"),
            max_repetitions=int(g.get("max_repetitions", max(10, policy.repetitions))),
            metric=g.get("metric", "wall"),
        )
        if gate.max_repetitions < policy.repetitions:
            raise ScenarioError(str(path), _line_of(node, ["gate", "max_repetitions"]),
                                f"gate.max_repetitions: expected at least replay.repetitions ({policy.repetitions}), "
                                f"got {gate.max_repetitions}")
    synthetic = None
    if data.get("synthetic") is not None:
        from replayer.sources.synth.workloads import SyntheticSpec

        syn = data["synthetic"]
        synthetic = SyntheticSpec(**{k: tuple(v) if isinstance(v, list) else v for k, v in syn.items()})
        if not (synthetic.pp or synthetic.tg or synthetic.shaped or synthetic.probes):
            raise ScenarioError(str(path), _line_of(node, ["synthetic"]),
                                "synthetic: expected at least one workload (pp, tg, shaped or probes)")
    return Scenario(
        synthetic=synthetic,
        gate=gate,
        sweep=plan,
        path=path,
        name=str(data.get("name", path.stem)),
        description=str(data.get("description", "")),
        traces=traces,
        server=server,
        variants=variants,
        baseline=baseline,
        policy=policy,
        output_dir=str((data.get("output") or {}).get("dir", DEFAULT_OUTPUT_DIR)),
        raw=data,
    )


def aa_problem(variants: tuple[Variant, ...], baseline: str) -> str | None:
    """Why an A/A arm cannot be added (None: it can)."""
    base = next(v for v in variants if v.name == baseline)
    if not base.managed:
        return (f"expected a managed baseline (args), but {baseline!r} is a url: an A/A arm needs a second, "
                "identical server")
    if f"{baseline}-aa" in {v.name for v in variants}:
        return f"the A/A arm's name {baseline}-aa is taken by a variant; rename that variant"
    return None


def with_aa_arm(variants: tuple[Variant, ...], baseline: str) -> tuple[Variant, ...]:
    """The variants plus ``<baseline>-aa``: the baseline's exact configuration on a second server."""
    base = next(v for v in variants if v.name == baseline)
    return (*variants, Variant(name=f"{baseline}-aa", args=base.args, expect_speculation=base.expect_speculation,
                               aa_of=baseline))


def _resolve(base: Path, value: str) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else (base / p)


def _line_of(node: yaml.Node | None, where: list[Any]) -> str:
    """The 1-based line of the YAML node at ``where`` (or of its nearest existing parent)."""
    line = node.start_mark.line + 1 if node is not None else 1
    for key in where:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == str(key):
                    line = k.start_mark.line + 1
                    node = v
                    break
            else:
                return str(line)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return str(line)
    return str(line)


def _dotted(where: list[Any]) -> str:
    out = ""
    for key in where:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out or "(top level)"
