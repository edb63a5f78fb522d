"""The synthetic calibration: its plan, and running it beside the session or after it.

Interleaved (``synthetic.interleave``, the default with a replayed session): every arm has
a twin server, started with the same command, that runs only calibration turns. Right
after the session's turn k on an arm, the twin of that arm replays turn k of the
shape-matched session (the llama-bench-like tests and probes come right after the first
turn, before the shaped session begins). Both then see the machine at the same moment,
so a machine that speeds up or slows down for half a minute moves the session and its
forecast alike; and the twin's own slot keeps the shaped session's prompt cache, as the
session's server keeps the session's. Otherwise the calibration runs after the session on
the session's own servers (``replay synth``, remote or swept arms, ``interleave: false``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Mapping

from replayer.results import ResultsWriter
from replayer.results.record import TurnResult
from replayer.runner.endpoint import Endpoint
from replayer.runner.executor import Executor, Reporter, send_turn
from replayer.runner.plan import PlannedTurn, ReplayPlan, plan_turns
from replayer.scenario.model import CachePolicy, Generation, ReplayPolicy, Scenario
from replayer.sources.synth.workloads import PREFIX
from replayer.tokens import estimate_tokens
from replayer.trace import Trace

SHAPED = f"{PREFIX}:shaped-"  # the name every shape-matched session's trace starts with


@dataclass(frozen=True)
class Calibration:
    plan: ReplayPlan  # the synthetic workloads' turns, on the session's arms
    policy: ReplayPolicy  # its repetitions are the calibration's (synthetic.repetitions)


def calibration_plan(scenario: Scenario, traces: list[Trace], plan: ReplayPlan, base: Endpoint, n_vocab: int,
                     run_dir: Path) -> Calibration:
    """The workloads for the planned turns, written into ``run_dir/synthetic``; shaped turns
    cut to ``synthetic.shaped_tokens`` generated tokens."""
    from replayer.sources.synth import ServerTokenizer, build_workloads, write_workloads

    spec = scenario.synthetic
    assert spec is not None
    lengths: dict[str, list[int]] = {}
    for item in plan.turns:
        lengths.setdefault(item.trace.name, []).append(item.max_tokens)
    tok = ServerTokenizer(base.tokenize, base.detokenize, n_vocab)
    workloads = build_workloads(spec, [t for t in traces if t.name in lengths], lengths, tok)
    synth_traces = write_workloads(workloads, run_dir / "synthetic")
    policy = replace(scenario.policy, turns=None, repetitions=spec.repetitions, cache=CachePolicy.REUSE,
                     generation=Generation.RECORDED)
    turns = plan_turns(synth_traces, policy, base.tokenize, estimate_tokens)
    longest = _longest(turns)
    turns = [_capped(t, spec.shaped_tokens, LONG_FACTOR if id(t) in longest else 1) for t in turns]
    return Calibration(replace(plan, turns=tuple(turns)), policy)


# The longest turns of each shaped session generate up to LONG_FACTOR x shaped_tokens: a long
# answer decodes slower per step than short ones predict (on this project's machine 7-12 %
# for answers over a second), and the session's decode time is mostly its long answers.
# Six at 8x rather than three at 16x: the same tokens, and one slow moment weighs less.
LONG_TURNS, LONG_FACTOR = 6, 8


def _longest(turns: list[PlannedTurn]) -> set[int]:
    """ids of the LONG_TURNS turns with the most to generate, per shaped session."""
    by_trace: dict[str, list[PlannedTurn]] = {}
    for t in turns:
        if t.trace.name.startswith(SHAPED):
            by_trace.setdefault(t.trace.name, []).append(t)
    return {id(t) for group in by_trace.values()
            for t in sorted(group, key=lambda t: -t.max_tokens)[:LONG_TURNS]}


def interleaves(scenario: Scenario, synthetic_only: bool) -> bool:
    """Whether the calibration runs beside the session on twin servers: only with a session
    to pair it with, and only where replayer starts every arm's server (one per arm)."""
    spec = scenario.synthetic
    return (spec is not None and spec.interleave and not synthetic_only and scenario.sweep is None
            and all(v.managed for v in scenario.variants))


def _capped(t: PlannedTurn, cap: int | None, factor: int = 1) -> PlannedTurn:
    if cap is None or not t.trace.name.startswith(SHAPED) or t.max_tokens <= cap * factor:
        return t
    return replace(t, max_tokens=cap * factor, max_tokens_source="synthetic.shaped_tokens")


def run_after(executor: Executor, cal: Calibration, endpoints: Mapping[str, Endpoint], run_dir: Path,
              reporter: Reporter) -> None:
    """The calibration on the session's servers, after the session (synthetic.jsonl)."""
    reporter.add_total(cal.plan.requests() * cal.policy.repetitions)
    reporter.log(f"synthetic calibration: {len(cal.plan.turns)} turns per arm, after the session")
    with ResultsWriter(run_dir / "synthetic.jsonl") as writer:
        executor.run(cal.plan, endpoints, cal.policy, writer, reporter, range(cal.policy.repetitions))


class Interleaved:
    """The calibration's turns on the twins, each sent after the session turn it is paired
    with (``after``); ``finish`` sends whatever no session turn took along."""

    def __init__(self, cal: Calibration, twins: Mapping[str, Endpoint], writer: ResultsWriter,
                 reporter: Reporter) -> None:
        self.cal, self.twins, self.writer, self.reporter = cal, twins, writer, reporter
        self.scrape = {name: twins[name].metrics() is not None for name in twins}
        self.pending = {name: list(cal.plan.turns) for name in twins}  # per arm, in the order they must run
        self.position = {id(t): k for k, t in enumerate(cal.plan.turns)}
        self.paired = _pairs(cal.plan.turns)
        self.seq = 0
        reporter.add_total(cal.plan.requests() * cal.policy.repetitions)
        reporter.log(f"synthetic calibration: {len(cal.plan.turns)} turns per arm, interleaved with the session "
                     "on twin servers")

    def after(self, record: TurnResult) -> None:
        """Send, on the record's arm, the calibration turns up to the one paired with it."""
        if record.repetition != 0 or record.variant not in self.twins:
            return
        last = self.paired.get((record.trace, record.turn))
        if last is not None:
            self._send(record.variant, lambda k: k <= last)

    def finish(self) -> None:
        for name in self.twins:
            self._send(name, lambda k: True)
        # further repetitions run after the session, each from an empty slot
        for rep in range(1, self.cal.policy.repetitions):
            for name in self.twins:
                self.twins[name].reset_cache()
                self.pending[name] = list(self.cal.plan.turns)
                self._send(name, lambda k: True, rep)

    def _send(self, arm: str, wanted: Callable[[int], bool], repetition: int = 0) -> None:
        pending = self.pending[arm]
        while pending and wanted(self.position[id(pending[0])]):
            rec = send_turn(self.twins[arm], pending.pop(0), self.cal.plan, self.cal.policy, repetition, self.seq,
                            self.scrape[arm])
            self.writer.write(rec)
            self.seq += 1
            self.reporter.turn_done(rec)


def _pairs(turns: tuple[PlannedTurn, ...]) -> dict[tuple[str, int], int]:
    """Real (trace, turn) -> the position of its stand-in in the first shape-matched session
    of its trace. Everything before that stand-in (the tests and probes, before the first)
    goes with it."""
    out: dict[tuple[str, int], int] = {}
    kind: str | None = None
    for k, t in enumerate(turns):
        name = t.trace.name
        if name.startswith(SHAPED):
            shaped_kind, _, real = name[len(SHAPED):].partition(":")
            kind = kind or shaped_kind
            if shaped_kind == kind:  # another kind would evict this one's prompt cache: it runs at the end
                out.setdefault((real, t.turn.index), k)
    return out


class PairedSink:
    """The session's sink, calling the interleaved calibration after each record it keeps."""

    def __init__(self, sink: ResultsWriter, calibration: Interleaved) -> None:
        self.sink, self.calibration = sink, calibration

    def write(self, record: TurnResult) -> None:
        self.sink.write(record)
        self.calibration.after(record)
