"""A run's units on a Ray cluster (``replay run --ray``), or in this process (``--resume``
without Ray): the driver hands out units (a trace in a repetition, pipeline/units.py), merges
the records they stream back into the one results.jsonl (pipeline/merge.py), runs a unit
again elsewhere when its worker or node dies, and stops every unit it started when it is
interrupted. Ray places the units; nothing here schedules or sends anything itself.
"""

from __future__ import annotations

import os
import socket
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator

from replayer.errors import InputError, ReplayerError, RunFailed
from replayer.pipeline.merge import Merger, same_servers
from replayer.pipeline.units import Item, Job, NodeReport, Unit, run_unit
from replayer.results.summary import VariantFacts
from replayer.scenario.model import RaySpec

INSTALL = "pip install -e '.[ray]' (in the replayer checkout)"
CONNECT_TIMEOUT_S = 10.0


@dataclass
class Nodes:
    """Every node seen, and the facts of the first (what the summary reports)."""

    reports: dict[str, NodeReport] = field(default_factory=dict)
    first: NodeReport | None = None
    level_facts: dict[int, dict[str, VariantFacts]] = field(default_factory=dict)  # a load run's, per level

    def add(self, report: NodeReport) -> None:
        if report.level is not None:
            self.level_facts[report.level] = report.facts
        if self.first is None:
            self.first = report
        else:
            same_servers(self.first.facts, report.facts, report.node, self.first.node)
        self.reports.setdefault(report.node, report)

    def notes(self) -> list[str]:
        hosts = {(r.host.cpu_model, tuple(r.host.gpus or ())) for r in self.reports.values()}
        if set(self.reports) == {"local"}:
            return ["resumed: what was missing ran as units (a trace in a repetition), each with servers of its own"]
        out = [f"distributed over {len(self.reports)} node(s); each turn's arms ran on one node"]
        if len(hosts) > 1:
            out.append(f"the nodes differ in hardware ({len(hosts)} kinds): each pair shares a node, but the "
                       "pooled figures mix them (nodes.json)")
        return out


def run_units(job: Job, units: list[Unit], spec: RaySpec, merger: Merger, nodes: Nodes,
              log: Callable[[str], None], body: Callable[[Job, Unit], Iterator[Item]] | None = None) -> None:
    """Every unit to its end; raises when one cannot run (bad input, a node missing a file) or
    keeps failing. ``body``: what a Ray task runs for a unit (a stub in bench/driver_throughput.py)."""
    if spec.address is None:
        for unit in units:
            _consume(job, unit, run_unit(job, unit, "local"), merger, nodes)
        return
    _on_ray(job, units, spec, merger, nodes, log, body or _unit_task)


def _consume(job: Job, unit: Unit, items: Iterator[Item], merger: Merger, nodes: Nodes) -> None:
    for item in items:
        _take(item, unit, merger, nodes)
    merger.unit_done(unit.key)


def _take(item: Item, unit: Unit, merger: Merger, nodes: Nodes) -> None:
    if isinstance(item, NodeReport):
        nodes.add(item)
    else:
        merger.add(unit.key, item, whole_unit=unit.level is not None)


@contextmanager
def _ray_quiet() -> Iterator[None]:
    """Ray's C++ core writes warnings straight to fd 2 while it starts (e.g. that it cannot reach
    the internet to learn the machine's address): they would print over a one-line error."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def ray_module() -> Any:
    try:
        with _ray_quiet():
            import ray
    except ImportError:
        raise InputError(f"--ray needs Ray, which is not installed: {INSTALL}") from None
    return ray


def join_cluster(spec: RaySpec) -> None:
    """Before the run directory exists: the cluster answers and some node could hold a unit."""
    if spec.address is None:
        return
    ray = ray_module()
    connect(ray, spec.address)
    check_placeable(ray, spec)


def connect(ray: Any, address: str) -> None:
    """Joins the cluster at ``address`` (or starts none: an unreachable address is an error)."""
    if ray.is_initialized():
        return
    host = _reachable(address)
    # a cluster on loopback: this driver is on loopback too (else Ray looks for the machine's own
    # address, warns when it cannot reach the internet, and may register the driver elsewhere)
    local = {"_node_ip_address": host} if host in ("127.0.0.1", "::1", "localhost") else {}
    try:
        with _ray_quiet():
            ray.init(address=address, logging_level="ERROR", log_to_driver=False, include_dashboard=False, **local)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise InputError(f"--ray {address}: cannot reach a Ray cluster there: {str(exc).splitlines()[0]}") from None


def _reachable(address: str) -> str | None:
    """The address's host, once something answers there: Ray waits minutes on an address nobody
    answers at, a plain connection says it at once."""
    if address == "auto":
        address = _local_cluster()
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not port.isdigit():
        return None  # a form Ray resolves itself
    host = host.strip("[]")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise InputError(f"--ray {address}: no Ray cluster answers there ({exc.strerror or exc})") from None
    return host


def _local_cluster() -> str:
    """What Ray's ``auto`` means: $RAY_ADDRESS, else the cluster `ray start --head` started here."""
    if os.environ.get("RAY_ADDRESS"):
        return os.environ["RAY_ADDRESS"]
    try:
        return Path(tempfile.gettempdir(), "ray", "ray_current_cluster").read_text().strip()
    except OSError:
        raise InputError("--ray: no Ray cluster runs on this machine (start one with `ray start --head`) and no "
                         "address was given (--ray HOST:PORT)") from None


def check_placeable(ray: Any, spec: RaySpec) -> None:
    """A unit that no node could ever hold is bad input, said now rather than after the timeout."""
    need = {k: v for k, v in spec.asked.items() if v}
    for node in ray.nodes():
        have = node.get("Resources") or {}
        if node.get("Alive") and all(have.get(k, 0) >= v for k, v in need.items()):
            return
    raise InputError(f"--ray: no node of the cluster offers what a unit needs ({_resources(need)}); "
                     "start nodes with those resources or change --ray-resources")


def _resources(need: dict[str, float]) -> str:
    return ", ".join(f"{k}: {v:g}" for k, v in need.items()) or "nothing"


@dataclass
class _InFlight:
    unit: Unit
    submitted: float
    started: bool = False


def _on_ray(job: Job, units: list[Unit], spec: RaySpec, merger: Merger, nodes: Nodes,
            log: Callable[[str], None], body: Callable[[Job, Unit], Iterator[Item]]) -> None:
    ray = ray_module()
    assert spec.address is not None
    connect(ray, spec.address)  # again after the last round's shutdown; never a new local cluster
    task = ray.remote(body).options(num_cpus=spec.num_cpus, num_gpus=spec.num_gpus,
                                    resources=dict(spec.resources) or None, max_retries=0)
    job_ref = ray.put(job)
    flight: dict[Any, _InFlight] = {task.remote(job_ref, u): _InFlight(u, time.monotonic()) for u in units}
    try:
        while flight:
            ready, _ = ray.wait(list(flight), num_returns=1, timeout=1.0)
            if not ready:
                _check_placement(job, flight, spec)
            for gen in ready:
                state = flight.pop(gen)
                nxt = _next(ray, job, gen, state, merger, nodes)
                if nxt is gen:
                    flight[gen] = state
                elif nxt is not None:
                    again = _again(job, state.unit, merger, spec, log)
                    flight[task.remote(job_ref, again)] = _InFlight(again, time.monotonic())
    finally:
        for gen in flight:  # interrupted or failed: no unit keeps its servers running
            ray.cancel(gen, force=True)
        ray.shutdown()  # the summary and reports need no cluster: leave it as soon as the units are done


def _next(ray: Any, job: Job, gen: Any, state: _InFlight, merger: Merger, nodes: Nodes) -> Any:
    """``gen`` while the unit goes on; None when it ended; an exception when its worker died."""
    try:
        item = ray.get(next(gen))
    except StopIteration:
        merger.unit_done(state.unit.key)
        return None
    except ray.exceptions.RayTaskError as exc:
        cause = exc.as_instanceof_cause() if hasattr(exc, "as_instanceof_cause") else exc
        if isinstance(cause, ReplayerError):
            raise cause from None  # the unit's own verdict: bad input, a missing file, servers that differ
        raise RunFailed(f"unit {state.unit.label(job)} failed: {str(exc).strip().splitlines()[-1]}") from None
    except (ray.exceptions.RayError, ConnectionError) as exc:
        merger.unit_lost(state.unit.key)
        return exc
    state.started = True
    _take(item, state.unit, merger, nodes)
    return gen


def _again(job: Job, unit: Unit, merger: Merger, spec: RaySpec, log: Callable[[str], None]) -> Unit:
    if unit.attempt >= spec.attempts:
        raise RunFailed(f"unit {unit.label(job)}: its worker or node died {unit.attempt} times; "
                        "the turns it finished are kept in results.jsonl (--resume runs the rest)")
    # a load level runs again whole: its sessions' concurrency is what it measures
    done = frozenset() if unit.level is not None else merger.done_turns(job.traces[unit.trace].name,
                                                                        unit.repetition)
    log(f"unit {unit.label(job)}: its worker or node died; running it again elsewhere without the "
        f"{len(done)} turn(s) it finished")
    return replace(unit, done=done, attempt=unit.attempt + 1)


def _check_placement(job: Job, flight: dict[Any, _InFlight], spec: RaySpec) -> None:
    now = time.monotonic()
    if any(s.started for s in flight.values()):
        return
    waiting = [s for s in flight.values() if now - s.submitted > spec.placement_timeout_s]
    if waiting:
        raise RunFailed(f"no unit could be placed within {spec.placement_timeout_s:g} s (first: "
                        f"{waiting[0].unit.label(job)}): the cluster has no free node with what a unit needs")


def _unit_task(job: Job, unit: Unit) -> Iterator[Item]:
    """The Ray task: one unit on whatever node Ray placed it."""
    import ray

    yield from run_unit(job, unit, ray.get_runtime_context().get_node_id())

