"""The driver's merge of records from units (pipeline/merge.py) and what a unit checks on its node."""

from __future__ import annotations

from pathlib import Path

import pytest

from replayer.pipeline.distributed import Nodes, RaySpec, RunFailed, _check_placement, _InFlight
from replayer.pipeline.merge import Merger, NodeMismatch
from replayer.pipeline.units import Job, NodeReport, Silent, Unit, UnitFailed, run_unit
from replayer.results.record import TurnResult
from replayer.results.summary import HostInfo, ServerInfo, VariantFacts
from replayer.runner.pool import ServerBuild

ARMS = ("off", "on")


def rec(trace: str, turn: int, variant: str, rep: int = 0, node: str = "n1") -> TurnResult:
    return TurnResult(trace=trace, turn=turn, variant=variant, repetition=rep, seq=99, wall_ms=1.0, max_tokens=8,
                      max_tokens_source="usage", node=node)


class Sink:
    def __init__(self) -> None:
        self.records: list[TurnResult] = []

    def write(self, record: TurnResult) -> None:
        self.records.append(record)


def test_a_turn_is_written_once_every_arm_has_it_and_numbered_in_order():
    sink = Sink()
    merger = Merger(sink, Silent(), ARMS)
    merger.add("u", [rec("a", 0, "off"), rec("b", 0, "on")])
    assert sink.records == []  # neither turn is whole yet
    merger.add("u", [rec("a", 0, "on"), rec("b", 0, "off")])
    assert [(r.trace, r.variant, r.seq) for r in sink.records] == [("a", "off", 0), ("a", "on", 1), ("b", "on", 2),
                                                                   ("b", "off", 3)]
    assert merger.done_turns("a", 0) == frozenset({0}) and merger.done_turns("a", 1) == frozenset()


def test_a_lost_unit_leaves_no_half_turn_and_its_rerun_adds_no_duplicate():
    sink = Sink()
    merger = Merger(sink, Silent(), ARMS)
    merger.add("a0", [rec("a", 0, "off"), rec("a", 0, "on"), rec("a", 1, "off")])  # the node dies here
    assert merger.unit_lost("a0") == 1
    merger.add("a0", [rec("a", 0, "off", node="n2"), rec("a", 0, "on", node="n2"),  # a rerun replaying turn 0 again
                      rec("a", 1, "on", node="n2"), rec("a", 1, "off", node="n2")])
    merger.unit_done("a0")
    keys = [(r.turn, r.variant) for r in sink.records]
    assert sorted(keys) == [(0, "off"), (0, "on"), (1, "off"), (1, "on")]
    assert {r.node for r in sink.records if r.turn == 1} == {"n2"}  # the whole pair from the node that finished it


def test_resuming_keeps_the_written_keys_and_continues_the_numbering():
    sink = Sink()
    existing = [rec("a", 0, "off"), rec("a", 0, "on")]
    existing = [TurnResult(**{**r.__dict__, "seq": i}) for i, r in enumerate(existing)]
    merger = Merger.resuming(sink, Silent(), ARMS, existing)
    merger.add("u", [rec("a", 0, "off"), rec("a", 0, "on"), rec("a", 1, "off"), rec("a", 1, "on")])
    assert [(r.turn, r.seq) for r in sink.records] == [(1, 2), (1, 3)]


def test_a_unit_that_ended_keeps_what_an_arm_stopped_left():
    sink = Sink()
    merger = Merger(sink, Silent(), ARMS)
    merger.add("u", [rec("a", 0, "off")])  # on_error: stop ended the unit after this record
    merger.unit_done("u")
    assert [r.variant for r in sink.records] == ["off"]


def test_a_load_level_is_written_whole_when_it_ends_or_not_at_all():
    from dataclasses import replace

    sink = Sink()
    merger = Merger(sink, Silent(), ARMS)
    level = [replace(rec("a", 0, arm), level=2, session=s) for arm in ARMS for s in (0, 1)]  # arms one after another
    merger.add("L2", level[:3], whole_unit=True)
    assert merger.unit_lost("L2") == 2 and sink.records == []
    merger.add("L2", level, whole_unit=True)
    assert sink.records == []
    merger.unit_done("L2")
    assert len(sink.records) == 4 and {(r.session, r.variant) for r in sink.records} == {
        (s, arm) for s in (0, 1) for arm in ARMS}  # two sessions' same turn: two keys, not one


def facts(fingerprint: str) -> dict[str, VariantFacts]:
    return {"off": VariantFacts(name="off", server=ServerInfo(url="u", managed=True, fingerprint=fingerprint),
                                slots_speculative=False, expect_speculation=False)}


def test_nodes_with_another_build_are_refused_and_other_hardware_is_noted():
    nodes = Nodes()
    nodes.add(NodeReport("n1", HostInfo(cpu_model="A"), facts("f" * 64)))
    nodes.add(NodeReport("n2", HostInfo(cpu_model="B", gpus=("G",)), facts("f" * 64)))
    assert any("differ in hardware" in n for n in nodes.notes())
    with pytest.raises(NodeMismatch, match="node n3 runs a different llama-server build for off"):
        nodes.add(NodeReport("n3", HostInfo(cpu_model="A"), facts("e" * 64)))


def test_a_unit_says_which_file_its_node_lacks(tmp_path):
    build = ServerBuild(binary=tmp_path / "llama-server", origin="flag", version=None, package=None,
                        model_path=tmp_path / "m.gguf", model_sha256=None)
    job = Job(scenario=None, traces=(), build=build, sampling={})  # type: ignore[arg-type]
    with pytest.raises(UnitFailed, match=r"node n1: no llama-server binary at .*llama-server: every node needs it"):
        next(run_unit(job, Unit(0, 0), "n1"))


def test_placement_fails_only_when_nothing_started_in_time():
    spec = RaySpec(placement_timeout_s=10)
    job = Job(scenario=None, traces=(type("T", (), {"name": "a"})(),), build=None, sampling={})  # type: ignore
    waiting = {1: _InFlight(Unit(0, 0), submitted=0.0)}
    with pytest.raises(RunFailed, match="no unit could be placed within 10 s"):
        _check_placement(job, waiting, spec)
    _check_placement(job, {**waiting, 2: _InFlight(Unit(0, 1), submitted=0.0, started=True)}, spec)
    _check_placement(job, {1: _InFlight(Unit(0, 0), submitted=float("inf"))}, spec)


def test_the_command_line_goes_over_the_scenarios_executor_section():
    import argparse

    from replayer.cli import _ray_spec

    section = type("S", (), {"executor": RaySpec(address="auto", num_gpus=1.0, resources={"llama_host": 1})})()
    none = type("S", (), {"executor": None})()

    def args(**kw) -> argparse.Namespace:
        return argparse.Namespace(**{"ray": None, "ray_resources": {}, "placement_timeout": None, **kw})

    assert _ray_spec(args(), section) is section.executor and _ray_spec(args(), none) is None
    spec = _ray_spec(args(ray="10.0.0.5:6379"), section)  # the address only: the section's resources stay
    assert spec.address == "10.0.0.5:6379" and spec.num_gpus == 1.0 and spec.resources == {"llama_host": 1}
    spec = _ray_spec(args(ray="auto", ray_resources={"CPU": 2.0, "x": 1.0}, placement_timeout=5.0), section)
    assert (spec.num_cpus, spec.num_gpus, dict(spec.resources), spec.placement_timeout_s) == (2.0, 0.0, {"x": 1.0}, 5.0)
    assert _ray_spec(args(ray="auto"), none) == RaySpec(address="auto")


def test_auto_is_the_address_ray_start_left_here_or_a_clear_error(tmp_path, monkeypatch):
    import tempfile

    from replayer.errors import InputError
    from replayer.pipeline.distributed import _local_cluster

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(InputError, match="no Ray cluster runs on this machine"):
        _local_cluster()
    (tmp_path / "ray").mkdir()
    (tmp_path / "ray" / "ray_current_cluster").write_text("127.0.0.1:6390\n")
    assert _local_cluster() == "127.0.0.1:6390"
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.5:6379")
    assert _local_cluster() == "10.0.0.5:6379"
