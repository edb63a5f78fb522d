"""The interleaved calibration (pipeline/calibration.py) with scripted fake endpoints: each
shaped turn is sent on the twin of its arm right after the real turn it stands for, the
tests and probes before the first, and nothing twice."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from test_executor import FakeEndpoint, ListReporter, ListSink

from replayer.pipeline.calibration import Calibration, Interleaved, PairedSink, _capped
from replayer.runner.executor import SequentialExecutor
from replayer.runner.plan import PlannedTurn, ReplayPlan, plan_turns
from replayer.scenario.model import ReplayPolicy
from replayer.sources.builder import Call, build_trace
from replayer.trace import Trace, load_trace

TINY = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "tiny_trace.json"  # 3 turns


def synthetic_trace(tmp_path: Path, name: str, turns: int) -> Trace:
    calls, messages = [], []
    for k in range(turns):
        messages = messages + [{"role": "user", "content": f"q{k}"}]
        calls.append(Call(messages=list(messages), response={"role": "assistant", "content": "a"},
                          usage={"completion_tokens": 100 + k}))
        messages = messages + [{"role": "assistant", "content": "a"}]
    doc = build_trace(name, calls, provenance={"agent": "test", "importer": "test", "source": "test",
                                               "fidelity": {"exact": [], "reconstructed": [], "missing": []}})
    path = tmp_path / f"{name.replace(':', '_').replace('@', '_')}.json"
    import json

    path.write_text(json.dumps(doc))
    return load_trace(path)


def calibration(tmp_path: Path, real: Trace) -> Calibration:
    traces = [synthetic_trace(tmp_path, "synth:bench@d0", 2), synthetic_trace(tmp_path, "synth:probes", 2),
              synthetic_trace(tmp_path, f"synth:shaped-code:{real.name}", real.n_turns)]
    policy = ReplayPolicy()
    turns = tuple(_capped(t, 32) for t in plan_turns(traces, policy, lambda text: None, lambda text: 1))
    return Calibration(ReplayPlan(turns, ("a", "b")), policy)


def test_each_shaped_turn_follows_its_real_turn_on_its_own_arm_and_the_tests_come_first(tmp_path):
    real = load_trace(TINY)
    cal = calibration(tmp_path, real)
    plan = ReplayPlan(tuple(plan_turns([real], ReplayPolicy(), lambda t: None, lambda t: 1)), ("a", "b"))
    session = {"a": FakeEndpoint("a"), "b": FakeEndpoint("b")}
    twins = {"a": FakeEndpoint("a"), "b": FakeEndpoint("b")}
    sink, written, reporter = ListSink(), ListSink(), ListReporter()
    log: list[tuple[str, str, str, int]] = []

    class Journal:  # one sequence across both sinks: the order things happened in
        def __init__(self, where, inner):
            self.where, self.inner = where, inner

        def write(self, r):
            log.append((self.where, r.variant, r.trace, r.turn))
            self.inner.write(r)

    paired = Interleaved(cal, twins, Journal("twin", written), reporter)
    SequentialExecutor().run(plan, session, ReplayPolicy(), PairedSink(Journal("real", sink), paired), reporter,
                             range(1))
    paired.finish()

    shaped = f"synth:shaped-code:{real.name}"
    for arm in ("a", "b"):
        mine = [(w, t, k) for w, v, t, k in log if v == arm]
        assert mine[:6] == [("real", real.name, 0), ("twin", "synth:bench@d0", 0), ("twin", "synth:bench@d0", 1),
                            ("twin", "synth:probes", 0), ("twin", "synth:probes", 1), ("twin", shaped, 0)]
        assert mine[6:] == [("real", real.name, 1), ("twin", shaped, 1), ("real", real.name, 2), ("twin", shaped, 2)]
    assert len(written.records) == 2 * len(cal.plan.turns)  # every calibration turn once per arm
    assert {len(ep.bodies) for ep in twins.values()} == {len(cal.plan.turns)}
    assert all(b["max_tokens"] <= 32 for ep in twins.values() for b in ep.bodies[-3:])  # shaped turns capped
    assert [r.seq for r in written.records] == list(range(len(written.records)))


def test_what_no_real_turn_took_along_is_sent_at_the_end(tmp_path):
    real = load_trace(TINY)
    cal = calibration(tmp_path, real)
    twins = {"a": FakeEndpoint("a")}
    written = ListSink()
    paired = Interleaved(cal, twins, written, ListReporter())
    paired.finish()  # the session sent nothing (stopped, or every turn left out)
    assert [(r.trace, r.turn) for r in written.records] == [(t.trace.name, t.turn.index) for t in cal.plan.turns]


def test_only_shaped_turns_are_capped_and_only_above_the_cap(tmp_path):
    real = load_trace(TINY)
    shaped = synthetic_trace(tmp_path, f"synth:shaped-code:{real.name}", 1)
    bench = synthetic_trace(tmp_path, "synth:bench@d0", 1)
    long = PlannedTurn(shaped, shaped.turn(0), 500, "usage")
    assert _capped(long, 32).max_tokens == 32 and _capped(long, 32).max_tokens_source == "synthetic.shaped_tokens"
    assert _capped(long, None) is long
    assert _capped(replace(long, max_tokens=10), 32).max_tokens == 10
    assert _capped(PlannedTurn(bench, bench.turn(0), 500, "usage"), 32).max_tokens == 500


def test_the_longest_shaped_turns_keep_a_longer_answer_so_the_law_sees_sustained_decoding(tmp_path):
    from replayer.pipeline.calibration import LONG_FACTOR, LONG_TURNS, _longest

    shaped = synthetic_trace(tmp_path, "synth:shaped-code:real", LONG_TURNS + 3)
    bench = synthetic_trace(tmp_path, "synth:bench@d0", 2)
    turns = plan_turns([bench, shaped], ReplayPolicy(), lambda text: None, lambda text: 1)
    turns = [replace(t, max_tokens=1000 * (t.turn.index + 1)) if t.trace is shaped else t for t in turns]
    longest = _longest(turns)
    assert sorted(t.turn.index for t in turns if id(t) in longest) == list(range(3, LONG_TURNS + 3))
    capped = [_capped(t, 32, LONG_FACTOR if id(t) in longest else 1) for t in turns]
    assert [t.max_tokens for t in capped if t.trace is shaped] == [32] * 3 + [32 * LONG_FACTOR] * LONG_TURNS
    assert [t.max_tokens for t in capped if t.trace is bench] == [t.max_tokens for t in turns if t.trace is bench]
