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
from typing import TYPE_CHECKING, Any

import jsonschema
import yaml

from replayer.errors import ScenarioError
from replayer.jsontext import MAX_DEPTH
from replayer.scenario.model import (
    DEFAULT_COMMON_ARGS,
    DEFAULT_SAMPLING,
    CachePolicy,
    DivergencePolicy,
    GateSpec,
    RaySpec,
    Generation,
    LoadSpec,
    OnError,
    Order,
    ReplayPolicy,
    Scenario,
    ServerSpec,
    SloSpec,
    SweepPlan,
    TuneSpec,
    ThinkTime,
    Variant,
)
from replayer.trace.load import _describe, _most_specific

if TYPE_CHECKING:  # imported lazily below: only scenarios with these sections need them
    from replayer.sources.synth.workloads import SyntheticSpec

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
    from replayer.scenario.tune import TUNE_SCHEMA

    schema = json.loads(resources.files("replayer.scenario").joinpath("scenario.schema.json").read_text())
    schema["properties"]["sweep"] = SWEEP_SCHEMA  # one definition, kept beside the sweep logic
    schema["properties"]["tune"] = TUNE_SCHEMA
    return schema


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(str(path), "", "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(str(path), "", f"cannot read: {exc}") from None
    node, data = _parse_yaml(path, text)
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
    _check_no_nul(path, data, node)
    return _build(path, data, node)


def _check_no_nul(path: Path, data: Any, node: yaml.Node | None) -> None:
    """No text holds a NUL byte (YAML writes one as "\\0"): no path, flag or name can, and the
    OS would refuse it only later, as a bare ValueError. Iterative: the tree is bounded above."""
    stack: list[tuple[list[Any], Any]] = [([], data)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, dict):
            for k, v in value.items():
                if isinstance(k, str) and "\0" in k:
                    raise ScenarioError(str(path), _line_of(node, where), f"{_dotted(where) or 'a key'}: "
                                        "a key holds a NUL byte")
                stack.append((where + [k], v))
        elif isinstance(value, list):
            stack.extend((where + [i], v) for i, v in enumerate(value))
        elif isinstance(value, str) and "\0" in value:
            raise ScenarioError(str(path), _line_of(node, where),
                                f"{_dotted(where)}: a NUL byte in text (no path, flag or name can hold one)")


def _parse_yaml(path: Path, text: str) -> tuple[yaml.Node | None, Any]:
    """The document's node tree and its value, bounded before anything walks them: nesting
    (the composer recurses once per level) and what aliases expand to (a few nested aliases
    can stand for millions of values, and a recursive one for infinitely many)."""
    try:
        depth = 0
        for event in yaml.parse(text, Loader=_Loader):  # the parser itself does not recurse
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise ScenarioError(str(path), str(event.start_mark.line + 1),
                                        f"nested deeper than {MAX_DEPTH} levels")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
        node = yaml.compose(text, Loader=_Loader)
        _check_expansion(path, node)
        return node, yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        line, problem = _yaml_problem(text, exc)
        raise ScenarioError(str(path), line, f"invalid YAML: {problem}") from None


MAX_EXPANDED = 100_000  # values a scenario may stand for once its aliases are expanded


def _check_expansion(path: Path, root: yaml.Node | None) -> None:
    """What the document stands for once its aliases are expanded: at most MAX_EXPANDED values
    and MAX_DEPTH levels, and no alias inside itself. Post-order over the node graph, each node
    once (an alias is the same node again), without recursion: a chain of aliases can nest far
    deeper than the text does."""
    done: dict[int, tuple[int, int]] = {}  # node -> (values, depth) once expanded
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)] if root is not None else []
    while stack:
        node, children_done = stack.pop()
        if id(node) in done:
            continue
        kids = [c for pair in node.value for c in pair] if isinstance(node, yaml.MappingNode) else (
            node.value if isinstance(node, yaml.SequenceNode) else [])
        where = str(node.start_mark.line + 1)
        if not children_done:
            if id(node) in on_path:
                raise ScenarioError(str(path), where, "an alias that contains itself")
            on_path.add(id(node))
            stack.append((node, True))
            stack.extend((k, False) for k in kids if id(k) not in done)
            continue
        values = 1 + sum(done[id(k)][0] for k in kids)
        depth = 1 + max((done[id(k)][1] for k in kids), default=0)
        if values > MAX_EXPANDED:
            raise ScenarioError(str(path), where, f"aliases expand to more than {MAX_EXPANDED} values")
        if depth > MAX_DEPTH:
            raise ScenarioError(str(path), where, f"aliases nest deeper than {MAX_DEPTH} levels")
        on_path.discard(id(node))
        done[id(node)] = (values, depth)


def _yaml_problem(text: str, exc: yaml.YAMLError) -> tuple[str, str]:
    """(line, what is wrong) of a YAML error, on one line (PyYAML's own text spans several)."""
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1 if isinstance(exc.position, int) else ""
        code = ord(exc.character) if isinstance(exc.character, str) else exc.character
        return str(line), f"unacceptable character #x{code:04x} ({exc.reason})"
    mark = getattr(exc, "problem_mark", None)
    return (str(mark.line + 1) if mark else ""), getattr(exc, "problem", None) or str(exc).splitlines()[0]


def _build(path: Path, data: dict[str, Any], node: yaml.Node) -> Scenario:
    # the checks run in this order so that a file with several problems reports the same first one
    traces = tuple(_resolve(path.parent, t) for t in data["traces"])
    server = _server(data.get("server") or {})
    variants = _variants(data["variants"])
    baseline = data.get("baseline", variants[0].name)
    _check_variants(path, node, variants, baseline)
    policy = _policy(data.get("replay") or {})
    plan = None
    if data.get("sweep") is not None:
        plan = _sweep_plan(path, node, data["sweep"], variants, baseline, policy, server)
        variants, baseline = plan.variants, plan.baseline
    if policy.aa:
        variants = _add_aa_arm(path, node, variants, baseline)
    gate = _gate(path, node, data["gate"], policy) if data.get("gate") is not None else None
    synthetic = _synthetic(path, node, data["synthetic"]) if data.get("synthetic") is not None else None
    load = _load(path, node, data["load"], policy, plan) if data.get("load") is not None else None
    if data.get("tune") is not None and plan is not None:
        raise ScenarioError(str(path), _line_of(node, ["tune"]), "tune: expands its own grid of flags, and sweep: "
                            "expands one for replay run: keep one of the two")
    tune = _tune(path, node, data["tune"], variants, baseline, policy, server) \
        if data.get("tune") is not None else None
    return Scenario(
        tune=tune,
        load=load,
        executor=_executor(data.get("executor")),
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


def _executor(raw: dict[str, Any] | None) -> RaySpec | None:
    """``executor: {kind: ray, address, resources, placement_timeout_s}``; kind local: None."""
    if not raw or raw["kind"] == "local":
        return None
    more = {"placement_timeout_s": float(raw["placement_timeout_s"])} if "placement_timeout_s" in raw else {}
    return RaySpec.asking(raw.get("address", "auto"), raw.get("resources") or {}, **more)


def _server(raw: dict[str, Any]) -> ServerSpec:
    return ServerSpec(
        model=str(raw.get("model", DEFAULT_MODEL)),
        binary=raw.get("binary"),
        common_args=tuple(str(a) for a in raw.get("args", DEFAULT_COMMON_ARGS)),
        host=raw.get("host", "127.0.0.1"),
        startup_timeout_s=float(raw.get("startup_timeout_s", 180.0)),
        request_timeout_s=float(raw.get("request_timeout_s", 900.0)),
    )


def _variants(raw: dict[str, Any]) -> tuple[Variant, ...]:
    return tuple(
        Variant(
            name=name,
            args=tuple(str(a) for a in (spec or {}).get("args", [])),
            url=(spec or {}).get("url"),
            endpoints=tuple((spec or {}).get("endpoints") or ()),
            expect_speculation=(spec or {}).get("expect_speculation"),
        )
        for name, spec in raw.items()
    )


def _check_variants(path: Path, node: yaml.Node, variants: tuple[Variant, ...], baseline: str) -> None:
    """What the schema cannot say: the baseline names a variant, and no variant is both remote and managed."""
    if baseline not in {v.name for v in variants}:
        names = ", ".join(repr(v.name) for v in variants)
        raise ScenarioError(str(path), _line_of(node, ["baseline"]), f"baseline: expected one of {names}, got {baseline!r}")
    for v in variants:
        if (v.url or v.endpoints) and v.args:
            raise ScenarioError(str(path), _line_of(node, ["variants", v.name]),
                                f"variants.{v.name}: give either 'url' or 'endpoints' (running servers) or 'args' (a "
                                "managed one), not both")
        if v.url and v.endpoints:
            raise ScenarioError(str(path), _line_of(node, ["variants", v.name]),
                                f"variants.{v.name}: give either 'url' (one running server) or 'endpoints' (several, "
                                "a session to each), not both")


def _policy(replay: dict[str, Any]) -> ReplayPolicy:
    sampling = dict(DEFAULT_SAMPLING)
    sampling.update(replay.get("sampling") or {})
    return ReplayPolicy(
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
        oversize=replay.get("oversize", "fail"),
    )


def _sweep_plan(path: Path, node: yaml.Node, sweep: Any, variants: tuple[Variant, ...], baseline: str,
                policy: ReplayPolicy, server: ServerSpec) -> SweepPlan:
    from replayer.scenario.sweep import expand_sweep, validate_sweep

    kw = {"cache": policy.cache.value, "common_args": server.common_args}
    problems = validate_sweep(sweep, variants, **kw)
    if problems:
        where, message = problems[0]
        raise ScenarioError(str(path), _line_of(node, list(where)), f"{_dotted(list(where))}: {message}")
    return expand_sweep(sweep, variants, baseline, policy.sampling, **kw)


def _add_aa_arm(path: Path, node: yaml.Node, variants: tuple[Variant, ...], baseline: str) -> tuple[Variant, ...]:
    problem = aa_problem(variants, baseline)
    if problem:
        # a name clash is the clashing variant's fault; anything else is the aa switch's
        where = ["variants", f"{baseline}-aa"] if "taken" in problem else ["replay", "aa"]
        raise ScenarioError(str(path), _line_of(node, where), f"replay.aa: {problem}")
    return with_aa_arm(variants, baseline)


def _gate(path: Path, node: yaml.Node, g: dict[str, Any], policy: ReplayPolicy) -> GateSpec:
    gate = GateSpec(
        max_slowdown=float(g.get("max_slowdown", 0.03)),
        divergence=DivergencePolicy(g.get("divergence", "fail")),
        min_acceptance=g.get("min_acceptance"),
        max_repetitions=int(g.get("max_repetitions", max(10, policy.repetitions))),
        metric=g.get("metric", "wall"),
        cache_mismatch=g.get("cache_mismatch", "exclude"),
        near_tie_nats=float(g.get("near_tie_nats", 0.1)),
    )
    if gate.max_repetitions < policy.repetitions:
        raise ScenarioError(str(path), _line_of(node, ["gate", "max_repetitions"]),
                            f"gate.max_repetitions: expected at least replay.repetitions ({policy.repetitions}), "
                            f"got {gate.max_repetitions}")
    return gate


def _synthetic(path: Path, node: yaml.Node, syn: dict[str, Any]) -> SyntheticSpec:
    from replayer.sources.synth.workloads import SyntheticSpec

    synthetic = SyntheticSpec(**{k: tuple(v) if isinstance(v, list) else v for k, v in syn.items()})
    if not (synthetic.pp or synthetic.tg or synthetic.shaped or synthetic.probes):
        raise ScenarioError(str(path), _line_of(node, ["synthetic"]),
                            "synthetic: expected at least one workload (pp, tg, shaped or probes)")
    return synthetic


def _load(path: Path, node: yaml.Node, raw: dict[str, Any], policy: ReplayPolicy, plan: SweepPlan | None) -> LoadSpec:
    parallel = raw.get("parallel", "match")
    total = raw.get("sessions_total")
    search = raw["sessions"] == "auto"
    if search and raw.get("slo") is None:
        raise ScenarioError(str(path), _line_of(node, ["load", "sessions"]),
                            "load.sessions: auto searches for the most sessions within an SLO: add load.slo "
                            "(ttft_p90_s and/or decode_tok_s_p10), or list the levels")
    if "sessions_max" in raw and not search:
        raise ScenarioError(str(path), _line_of(node, ["load", "sessions_max"]),
                            "load.sessions_max: only with sessions: auto (it bounds the search)")
    most = int(raw.get("sessions_max", 8))
    # JSON Schema's integer admits 2.0: levels are counts
    spec = LoadSpec(sessions=tuple(range(1, most + 1)) if search else tuple(int(n) for n in raw["sessions"]),
                    search=search, slo=SloSpec.of(raw.get("slo")),
                    sessions_total=None if total is None else int(total),
                    parallel=None if parallel == "match" else int(parallel),
                    think_time=ThinkTime(raw.get("think_time", "none")), scale=float(raw.get("scale", 1.0)),
                    cap_s=raw.get("cap_s"), distinct=bool(raw.get("distinct", True)),
                    shared_prefix=bool(raw.get("shared_prefix", False)))
    if len(set(spec.sessions)) != len(spec.sessions):
        raise ScenarioError(str(path), _line_of(node, ["load", "sessions"]), f"load.sessions: expected distinct levels, got {list(spec.sessions)}")
    if spec.parallel is not None and spec.parallel < max(spec.sessions):
        raise ScenarioError(str(path), _line_of(node, ["load", "parallel"]), f"load.parallel: expected at least the largest level "
                            f"({max(spec.sessions)}) so every session in flight has a slot, got {spec.parallel}")
    if plan is not None or policy.aa:
        raise ScenarioError(str(path), _line_of(node, ["load"]), "load: cannot be combined with sweep: or replay.aa yet")
    return spec


def _tune(path: Path, node: yaml.Node, raw: dict[str, Any], variants: tuple[Variant, ...], baseline: str,
          policy: ReplayPolicy, server: ServerSpec) -> TuneSpec:
    from replayer.scenario.tune import tune_problems, tune_spec

    kw = {"cache": policy.cache.value, "common_args": server.common_args}
    problems = tune_problems(raw, variants, baseline, **kw)
    if problems:
        where, message = problems[0]
        raise ScenarioError(str(path), _line_of(node, list(where)), f"{_dotted(list(where))}: {message}")
    return tune_spec(raw, variants, baseline, policy.sampling, **kw)


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
