"""The driver's side of a distributed run: records from many units into one results.jsonl.

A turn is written once every arm's record of it has arrived, so a unit killed halfway
through a turn leaves nothing of it behind (the turn runs again, whole, on another node:
a pair never spans two nodes). A record whose key is already in results.jsonl (a resumed
run, a unit run again) is dropped, so no key is ever written twice. Each record gets its
place in the run's order (``seq``) as it is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Hashable, Iterable

from replayer.errors import NodeMismatch
from replayer.results.record import TurnResult
from replayer.results.summary import VariantFacts
from replayer.runner.executor import RecordSink, Reporter

Key = tuple[str, int, int, str, "int | None", "int | None"]  # trace, repetition, turn, arm, level, session
TurnKey = tuple[str, int, int, "int | None", "int | None"]  # the same without the arm


def key_of(rec: TurnResult) -> Key:
    return (rec.trace, rec.repetition, rec.turn, rec.variant, rec.level, rec.session)


@dataclass
class Merger:
    sink: RecordSink
    reporter: Reporter
    arms: tuple[str, ...]
    written: set[Key] = field(default_factory=set)  # every key in results.jsonl
    seq: int = 0
    _open: dict[Hashable, dict[TurnKey, dict[str, TurnResult]]] = field(default_factory=dict)  # per unit

    @classmethod
    def resuming(cls, sink: RecordSink, reporter: Reporter, arms: tuple[str, ...],
                 existing: Iterable[TurnResult]) -> "Merger":
        records = list(existing)
        return cls(sink, reporter, arms, {key_of(r) for r in records},
                   max((r.seq for r in records), default=-1) + 1)

    def add(self, unit: Hashable, records: Iterable[TurnResult], whole_unit: bool = False) -> None:
        """``unit``'s records; a turn is written once every arm has it (``whole_unit``: only when
        the unit ends, for a load level whose arms run one after the other)."""
        held = self._open.setdefault(unit, {})
        for rec in records:
            turn = key_of(rec)[:3] + key_of(rec)[4:]
            arrived = held.setdefault(turn, {})
            arrived[rec.variant] = rec
            if not whole_unit and all(a in arrived for a in self.arms):
                self._commit(held.pop(turn).values())

    def unit_done(self, unit: Hashable) -> None:
        """A unit that ended normally: everything it held is written (an arm the on_error policy
        stopped leaves its turns with fewer arms)."""
        for records in self._open.pop(unit, {}).values():
            self._commit(records.values())

    def unit_lost(self, unit: Hashable) -> int:
        """A unit whose node or worker died: what it held is dropped (it runs again)."""
        return len(self._open.pop(unit, {}))

    def done_turns(self, trace: str, repetition: int) -> frozenset[int]:
        """Turns of a trace's repetition that every arm has in results.jsonl."""
        by_turn: dict[int, int] = {}
        for t, rep, turn, *_ in self.written:
            if (t, rep) == (trace, repetition):
                by_turn[turn] = by_turn.get(turn, 0) + 1
        return frozenset(turn for turn, n in by_turn.items() if n >= len(self.arms))

    def _commit(self, records: Iterable[TurnResult]) -> None:
        for rec in records:
            if key_of(rec) in self.written:
                continue
            rec = replace(rec, seq=self.seq)
            self.sink.write(rec)
            self.written.add(key_of(rec))
            self.seq += 1
            self.reporter.turn_done(rec)


def same_servers(first: dict[str, VariantFacts], other: dict[str, VariantFacts], node: str, first_node: str) -> None:
    """Refuses a node whose servers differ from the first node's in build or model (docs/distributed.md)."""
    for name, facts in other.items():
        a, b = first.get(name), facts
        if a is None or a.server is None or b.server is None:
            continue
        for what, x, y in (("llama-server build", a.server.fingerprint, b.server.fingerprint),
                           ("model", a.server.model_sha256, b.server.model_sha256)):
            if x is not None and y is not None and x != y:
                raise NodeMismatch(f"node {node} runs a different {what} for {name} than node {first_node} "
                                   f"({y[:12]} vs {x[:12]}): pairs from both cannot be pooled; give every node the "
                                   "same binary and model")
