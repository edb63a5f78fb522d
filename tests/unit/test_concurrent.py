"""The concurrent executor (runner/concurrent.py) with a scripted asyncio fake endpoint: no server,
no network. The fake sleeps a little in every request so sessions overlap, hands each request the
lowest free slot (as ``__verbose.id_slot``), and writes every event on one shared clock."""

from __future__ import annotations

import asyncio
import copy
import gc
import itertools
import re
import signal
from dataclasses import replace
from pathlib import Path

import pytest

from replayer.results.record import TurnError
from replayer.runner.concurrent import ConcurrentExecutor, deal_sessions, with_marker
from replayer.runner.endpoint import Completion
from replayer.runner.plan import ReplayPlan, build_request, plan_turns
from replayer.scenario.model import CachePolicy, LoadSpec, OnError, Order, ReplayPolicy, ThinkTime
from replayer.trace import load_trace
from replayer.trace.model import Trace

TINY = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "tiny_trace.json"  # 3 turns, 48 tokens each
MARK = re.compile(r"^\[replayer session (\d+)\]\n")
DELAY = 0.01


def session_of(body: dict) -> int | None:
    """The session a request belongs to, from its marker (None: no marker)."""
    for m in body["messages"]:
        c = m.get("content")
        text = c[0].get("text") if isinstance(c, list) and c and isinstance(c[0], dict) else c
        if isinstance(text, str) and (hit := MARK.match(text)):
            return int(hit.group(1))
    return None


def llama_body(session: int | None, turn: int, slot: int, max_tokens: int) -> dict:
    return {"choices": [{"finish_reason": "length", "message": {"role": "assistant", "content": "x"}}],
            "usage": {"prompt_tokens": 200 + turn, "completion_tokens": max_tokens},
            "timings": {"cache_n": 10 * turn, "prompt_n": 100 + turn, "prompt_ms": 5.0, "predicted_n": max_tokens,
                        "predicted_ms": 10.0, "draft_n": 6, "draft_n_accepted": 4},
            "__verbose": {"tokens": [session if session is not None else -1, turn, slot], "id_slot": slot}}


class Clock:
    """One event log for every fake and the sink: (tick, who, what, session, turn)."""

    def __init__(self):
        self.events: list[tuple] = []
        self._tick = itertools.count()

    def add(self, *event) -> None:
        self.events.append((next(self._tick), *event))


class AsyncFake:
    """An AsyncChatEndpoint. ``script(session, turn)`` may return a Completion (sent at once, no
    sleep), an exception (raised), a callable (called, then the usual answer), or None (usual answer)."""

    def __init__(self, name, clock, turn_of, slots=16, script=None, reset_ok=lambda slot: True, delay=DELAY):
        self.name, self.clock, self.turn_of, self.slots = name, clock, turn_of, slots
        self.script, self.reset_ok, self.delay = script, reset_ok, delay
        self.bodies: list[dict] = []
        self.calls: list[tuple[int | None, int, int]] = []  # (session, turn, slot)
        self.in_flight = self.peak = 0
        self.busy: set[int] = set()
        self.resets: list[int] = []
        self.closed = 0

    async def complete_async(self, body):
        session, turn = session_of(body), self.turn_of[len(body["messages"])]
        slot = min(set(range(self.slots)) - self.busy)
        self.busy.add(slot)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        self.bodies.append(body)
        self.calls.append((session, turn, slot))
        self.clock.add(self.name, "start", session, turn)
        try:
            answer = self.script(session, turn) if self.script else None
            if isinstance(answer, BaseException):
                raise answer
            if isinstance(answer, Completion):
                return answer
            if callable(answer):
                answer()
            await asyncio.sleep(self.delay)
            return Completion(llama_body(session, turn, slot, body["max_tokens"]), 20.0 + turn, 19.0 + turn)
        finally:
            self.in_flight -= 1
            self.busy.discard(slot)
            self.clock.add(self.name, "end", session, turn)

    async def close_async(self):
        self.closed += 1
        self.clock.add(self.name, "close", None, None)

    def reset_slot(self, slot):
        self.resets.append(slot)
        self.clock.add(self.name, "reset", slot, None)
        return self.reset_ok(slot)


class ListSink:
    def __init__(self, clock=None):
        self.records = []
        self.clock = clock

    def write(self, record):
        self.records.append(record)
        if self.clock is not None:
            self.clock.add(record.variant, "write", record.session, record.turn)


class ListReporter:
    def __init__(self):
        self.done, self.lines, self.totals = [], [], []

    def turn_done(self, record):
        self.done.append(record)

    def log(self, message):
        self.lines.append(message)

    def add_total(self, n):
        self.totals.append(n)


def make_plan(policy, arms=("a", "b"), traces=None) -> ReplayPlan:
    turns = plan_turns(traces or [load_trace(TINY)], policy, tokenize=lambda s: None, estimate=len)
    return ReplayPlan(tuple(turns), tuple(arms))


def turn_of(plan: ReplayPlan) -> dict[int, int]:
    """The tiny trace's turns send 2, 5 and 8 messages: the request's length says its turn."""
    out = {len(t.turn.messages): t.turn.index for t in plan.turns}
    assert len(out) == len(plan.turns)
    return out


def run(load, policy=None, repetitions=range(1), arms=("a", "b"), level=None, level_index=0, seq=None, **fake):
    policy = policy or ReplayPolicy()
    plan = make_plan(policy, arms)
    clock = Clock()
    scripts = fake.pop("scripts", {})
    resets = fake.pop("reset_ok", {})
    eps = {a: AsyncFake(a, clock, turn_of(plan), script=scripts.get(a),
                        **({"reset_ok": resets[a]} if a in resets else {}), **fake) for a in arms}
    sink, reporter = ListSink(clock), ListReporter()
    level = level if level is not None else load.sessions[0]
    ok = ConcurrentExecutor(level, load, level_index, seq).run(plan, eps, policy, sink, reporter, repetitions)
    return ok, sink.records, reporter, eps, clock, plan


def blocks(clock: Clock) -> list[tuple[str, list[tuple]]]:
    """The event log cut at each arm's close: one block per arm run."""
    out, current = [], []
    for event in clock.events:
        current.append(event)
        if event[2] == "close":
            out.append((event[1], current))
            current = []
    assert current == [], "events after the last close"
    return out


def http_500_at(session, turn):
    return lambda s, t: Completion(None, 5.0, 5.0, TurnError("http_error", "boom", 500)) if (s, t) == (session, turn) \
        else None


# 1 -------------------------------------------------------------------------------------------
def test_closed_loop_level_2_of_4_sessions_abba_over_repetitions():
    load = LoadSpec(sessions=(2,), sessions_total=4)
    ok, records, reporter, eps, clock, _ = run(load, ReplayPolicy(repetitions=2), range(2))
    assert ok is True
    assert len(records) == 4 * 3 * 2 * 2
    assert [r.seq for r in records] == list(range(48))  # one numbering, in write order
    assert reporter.done == records and reporter.lines == []
    # at most 2 requests in flight, and 2 at some point, on each arm
    assert eps["a"].peak == 2 and eps["b"].peak == 2
    # the arms never overlap: a, b in repetition 0 then b, a in repetition 1 (ABBA)
    cut = blocks(clock)
    assert [arm for arm, _ in cut] == ["a", "b", "b", "a"]
    for arm, events in cut:
        assert {e[1] for e in events} == {arm}
        assert sum(e[2] == "start" for e in events) == 12
    assert [(r.repetition, r.variant) for r in records] == \
        [(0, "a")] * 12 + [(0, "b")] * 12 + [(1, "b")] * 12 + [(1, "a")] * 12
    assert eps["a"].closed == 2 and eps["b"].closed == 2
    for r in records:
        assert r.level == 2 and r.session in range(4) and r.slot in (0, 1)
        assert r.error is None and r.max_tokens == 48 and r.wall_ms == 20.0 + r.turn
        assert 0.0 <= r.send_s < r.receive_s
        assert r.tokens == (r.session, r.turn, r.slot)  # the answer of this very request
        assert (r.draft_n, r.draft_n_accepted) == (6, 4)
    for (arm, rep) in (("a", 0), ("b", 0), ("a", 1), ("b", 1)):
        mine = [r for r in records if (r.variant, r.repetition) == (arm, rep)]
        assert sorted({r.session for r in mine}) == [0, 1, 2, 3]
        for s in range(4):
            assert [r.turn for r in mine if r.session == s] == [0, 1, 2]  # strictly in order
    for ep in eps.values():
        for s in range(4):  # both repetitions
            assert [t for (ss, t, _) in ep.calls if ss == s] == [0, 1, 2] * 2
        assert {slot for *_, slot in ep.calls} == {0, 1}


def test_each_session_waits_for_its_answer_and_its_record_before_its_next_turn():
    load = LoadSpec(sessions=(2,), sessions_total=4)
    _, _, _, _, clock, _ = run(load, arms=("a",))
    at = {}
    for tick, who, what, session, turn in clock.events:
        at.setdefault((what, session, turn), tick)
    for s in range(4):
        for t in range(2):
            assert at[("end", s, t)] < at[("write", s, t)] < at[("start", s, t + 1)]


def test_no_more_than_level_sessions_are_open_at_once():
    """Closed loop: session 2 starts only when session 0 or 1 has finished all its turns."""
    load = LoadSpec(sessions=(2,), sessions_total=4)
    _, _, _, _, clock, _ = run(load, arms=("a",))
    spans = {}
    for tick, _, what, session, _ in clock.events:
        if what in ("start", "write"):
            lo, hi = spans.get(session, (tick, tick))
            spans[session] = (min(lo, tick), max(hi, tick))
    open_at = [sum(lo <= tick <= hi for lo, hi in spans.values()) for tick, *_ in clock.events]
    assert max(open_at) == 2
    first_done = min(spans[0][1], spans[1][1])
    assert spans[2][0] > first_done and spans[3][0] > first_done


def test_level_index_flips_the_first_arm_and_sequential_order_still_alternates():
    load = LoadSpec(sessions=(1,))
    _, records, _, _, _, _ = run(load, ReplayPolicy(repetitions=2), range(2), level_index=1)
    assert [r.variant for r in records] == ["b"] * 3 + ["a"] * 3 + ["a"] * 3 + ["b"] * 3
    _, records, _, _, _, _ = run(load, ReplayPolicy(repetitions=2, order=Order.SEQUENTIAL), range(2))
    assert [r.variant for r in records] == ["a"] * 3 + ["b"] * 3 + ["b"] * 3 + ["a"] * 3


def test_a_shared_counter_numbers_seq_across_levels():
    seq = itertools.count()
    load = LoadSpec(sessions=(1, 2))
    _, first, *_ = run(load, level=1, seq=seq)
    _, second, *_ = run(load, level=2, level_index=1, seq=seq)
    assert [r.seq for r in first] == list(range(12))  # level 1: as many sessions as the largest level
    assert [r.seq for r in second] == list(range(12, 24))
    assert {r.level for r in first} == {1} and {r.level for r in second} == {2}


# 2 -------------------------------------------------------------------------------------------
def originals(plan):
    return {t.turn.index: copy.deepcopy(t.turn.messages) for t in plan.turns}


def test_distinct_sessions_carry_their_marker_at_the_start_of_the_system_message():
    load = LoadSpec(sessions=(2,), sessions_total=3)
    policy = ReplayPolicy()
    before = originals(make_plan(policy, ("a",)))
    _, records, _, eps, _, plan = run(load, policy, arms=("a",))
    assert sorted(session_of(b) for b in eps["a"].bodies) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    for body, (session, turn, _) in zip(eps["a"].bodies, eps["a"].calls):
        orig = before[turn]
        assert body["messages"][0]["role"] == "system"
        assert body["messages"][0]["content"] == f"[replayer session {session}]\n" + orig[0]["content"]
        assert body["messages"][1:] == orig[1:]
        rest = {k: v for k, v in body.items() if k != "messages"}
        expected = {k: v for k, v in build_request(plan.turns[turn], policy).items() if k != "messages"}
        assert rest == expected
    # the trace itself is untouched
    assert {t.turn.index: t.turn.messages for t in plan.turns} == before


def test_without_distinct_no_marker():
    load = LoadSpec(sessions=(2,), distinct=False)
    policy = ReplayPolicy()
    _, records, _, eps, _, plan = run(load, policy, arms=("a",))
    assert len(eps["a"].bodies) == 6
    for body, (session, turn, _) in zip(eps["a"].bodies, eps["a"].calls):
        assert session is None
        assert body["messages"] == plan.turns[turn].turn.messages
        assert "[replayer session" not in str(body["messages"])
    assert sorted(r.session for r in records) == [0, 0, 0, 1, 1, 1]


def test_with_a_shared_prefix_the_marker_goes_on_the_first_non_system_message():
    load = LoadSpec(sessions=(2,), shared_prefix=True)
    policy = ReplayPolicy()
    before = originals(make_plan(policy, ("a",)))
    _, _, _, eps, _, _ = run(load, policy, arms=("a",))
    for body, (session, turn, _) in zip(eps["a"].bodies, eps["a"].calls):
        orig = before[turn]
        assert body["messages"][0] == orig[0]  # the system prompt is shared
        assert body["messages"][1]["role"] == "user"
        assert body["messages"][1]["content"] == f"[replayer session {session}]\n" + orig[1]["content"]
        assert body["messages"][2:] == orig[2:]


def test_with_marker_on_list_content_none_content_and_no_system_message():
    body = {"model": "m", "messages": [
        {"role": "system", "content": [{"type": "text", "text": "sys"}]},
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}
    frozen = copy.deepcopy(body)
    out = with_marker(body, "[replayer session 3]")
    assert out["messages"][0]["content"] == [{"type": "text", "text": "[replayer session 3]\n"},
                                             {"type": "text", "text": "sys"}]
    assert out["messages"][1] == body["messages"][1] and out["model"] == "m"
    assert body == frozen  # the caller's body is not changed
    shared = with_marker(body, "[m]", shared_prefix=True)
    assert shared["messages"][0] == frozen["messages"][0]
    assert shared["messages"][1]["content"][0] == {"type": "text", "text": "[m]\n"}
    assert shared["messages"][1]["content"][1:] == frozen["messages"][1]["content"]
    assert with_marker(body, None) is body
    no_system = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": None}]}
    assert with_marker(no_system, "[m]")["messages"][0]["content"] == "[m]\nhi"
    only_system = {"messages": [{"role": "system", "content": None}]}
    assert with_marker(only_system, "[m]", shared_prefix=True)["messages"][0]["content"] == "[m]\n"


# 3 -------------------------------------------------------------------------------------------
FULL = 4 * 3 * 2  # 4 sessions x 3 turns x 2 arms


def test_on_error_continue_sends_every_request():
    load = LoadSpec(sessions=(2,), sessions_total=4)
    ok, records, reporter, eps, _, _ = run(load, ReplayPolicy(on_error=OnError.CONTINUE),
                                           scripts={"a": http_500_at(1, 1)})
    assert ok is True
    assert len(eps["a"].bodies) + len(eps["b"].bodies) == FULL and len(records) == FULL
    failed = [(r.variant, r.session, r.turn) for r in records if r.error is not None]
    assert failed == [("a", 1, 1)]
    bad = next(r for r in records if r.error is not None)
    assert bad.error == TurnError("http_error", "boom", 500) and bad.wall_ms == 5.0 and bad.tokens is None
    assert bad.slot is None and bad.level == 2 and bad.send_s <= bad.receive_s
    assert [r.turn for r in records if (r.variant, r.session) == ("a", 1)] == [0, 1, 2]
    assert reporter.lines == []


def test_on_error_skip_session_ends_only_that_session():
    load = LoadSpec(sessions=(2,), sessions_total=4)
    ok, records, reporter, eps, _, _ = run(load, ReplayPolicy(on_error=OnError.SKIP_SESSION),
                                           scripts={"a": http_500_at(1, 1)})
    assert ok is True
    assert [t for s, t, _ in eps["a"].calls if s == 1] == [0, 1]  # nothing after the failed turn
    for s in (0, 2, 3):
        assert [t for ss, t, _ in eps["a"].calls if ss == s] == [0, 1, 2]
    assert len(eps["b"].bodies) == 12
    assert len(records) == FULL - 1
    assert [(r.variant, r.session, r.turn) for r in records if r.error] == [("a", 1, 1)]
    assert reporter.lines == ["a session 1: skipped after turn 1 failed: boom"]


def test_on_error_stop_ends_the_level_and_returns_false():
    load = LoadSpec(sessions=(2,), sessions_total=4)
    ok, records, reporter, eps, clock, _ = run(load, ReplayPolicy(on_error=OnError.STOP, repetitions=2), range(2),
                                               scripts={"a": http_500_at(1, 1)})
    assert ok is False
    assert len(eps["a"].bodies) < FULL // 2 and eps["b"].bodies == []  # b's arm and repetition 1 never ran
    got = [(r.session, r.turn, r.error.type if r.error else None) for r in records]
    # sessions 0 and 1 answered turn 0; session 1 failed turn 1 while session 0's turn 1 was in flight
    assert got[:4] == [(0, 0, None), (1, 0, None), (1, 1, "http_error"), (0, 1, "interrupted")]
    assert all(e == "interrupted" for *_, e in got[4:])  # whatever else was in flight was cut short
    assert [r.seq for r in records] == list(range(len(records)))
    assert reporter.lines == ["stopping level 2: a session 1 turn 1: boom"]
    assert eps["a"].closed == 1


def test_on_error_stop_starts_nothing_after_the_failure():
    load = LoadSpec(sessions=(2,), sessions_total=4)
    ok, records, reporter, eps, clock, _ = run(load, ReplayPolicy(on_error=OnError.STOP), scripts={"a": http_500_at(1, 1)})
    assert ok is False
    failed_at = next(tick for tick, who, what, s, t in clock.events if (who, what, s, t) == ("a", "end", 1, 1))
    late = [(s, t) for tick, _, what, s, t in clock.events if what == "start" and tick > failed_at]
    assert late == []
    assert len(eps["a"].bodies) == 4
    got = [(r.session, r.turn, r.error.type if r.error else None) for r in records]
    assert got == [(0, 0, None), (1, 0, None), (1, 1, "http_error"), (0, 1, "interrupted")]


# 4 -------------------------------------------------------------------------------------------
def raise_from_the_loop():
    """As cli.py's SIGTERM handler does while the loop waits: KeyboardInterrupt outside any task."""
    def boom():
        raise KeyboardInterrupt()
    asyncio.get_running_loop().call_later(0.002, boom)


def raise_here():
    """As a second Ctrl-C or cli.py's SIGTERM handler does while a session's code runs: inside the task.
    (A fresh exception each time: one kept in a closure would keep the interrupted tasks alive.)"""
    raise KeyboardInterrupt()


def sigint():
    signal.raise_signal(signal.SIGINT)  # Ctrl-C: asyncio.run's handler cancels the main task


def interrupted_run(how: str, delay: float = 0.05):
    """Sessions 0 and 1 of arm a (level 2, 4 sessions, 2 repetitions); at session 1's turn 1 the fake
    interrupts as ``how`` says, while session 0's turn 1 is in flight."""
    action = {"raise": raise_here, "loop": raise_from_the_loop, "sigint": sigint}[how]
    load = LoadSpec(sessions=(2,), sessions_total=4)
    policy = ReplayPolicy(repetitions=2)
    plan = make_plan(policy)
    clock = Clock()
    eps = {"a": AsyncFake("a", clock, turn_of(plan), script=lambda s, t: action if (s, t) == (1, 1) else None,
                          delay=delay),
           "b": AsyncFake("b", clock, turn_of(plan))}
    sink, reporter = ListSink(), ListReporter()
    with pytest.raises(KeyboardInterrupt):
        ConcurrentExecutor(2, load).run(plan, eps, policy, sink, reporter, range(2))
    return sink, reporter, eps


@pytest.mark.parametrize("how, expected", [
    ("raise", [(0, 1, "interrupted")]),  # the raising request itself has no answer to record
    ("loop", [(0, 1, "interrupted"), (1, 1, "interrupted")]),
    ("sigint", [(0, 1, "interrupted"), (1, 1, "interrupted")]),
])
def test_an_interrupt_propagates_and_requests_in_flight_are_recorded_as_interrupted(how, expected):
    if how == "sigint" and signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("SIGINT is not Python's default handler here, so asyncio.run does not take it over")
    try:
        sink, reporter, eps = interrupted_run(how)
        got = [(r.session, r.turn, r.error.type if r.error else None) for r in sink.records]
        assert got[:2] == [(0, 0, None), (1, 0, None)]  # every answered request is in the sink
        assert sorted(got[2:]) == expected
        assert [r.seq for r in sink.records] == list(range(len(got)))
        assert all(r.variant == "a" and r.repetition == 0 and r.level == 2 for r in sink.records)
        interrupted = [r for r in sink.records if r.error]
        assert all("cancelled while in flight" in r.error.message and r.tokens is None for r in interrupted)
        assert all(r.send_s <= r.receive_s for r in interrupted)
        assert len(eps["a"].bodies) == 4 and eps["b"].bodies == []  # nothing new went out
        assert eps["a"].closed == 1  # the arm's client was closed
        assert reporter.done == sink.records
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler or how != "sigint"
    finally:
        # the interrupted loop's leftover tasks are finalized here, not inside a later compile():
        # on CPython 3.11.7 their finalizer running inside ast.parse raises "SystemError: AST
        # constructor recursion depth mismatch" (pytest's assertion rewriting, a lazy import)
        gc.collect()


def test_an_interrupt_leaves_no_task_with_an_unretrieved_exception(caplog):
    import logging

    try:
        with caplog.at_level(logging.ERROR, logger="asyncio"):
            interrupted_run("raise")
            gc.collect()
        assert [r.getMessage() for r in caplog.records if r.name == "asyncio"] == []
    finally:
        gc.collect()


# 5 -------------------------------------------------------------------------------------------
def untimed(trace: Trace, name: str) -> Trace:
    data = copy.deepcopy(trace.data)
    data["name"] = name
    for turn in data["turns"]:
        turn.pop("requested_at", None)
        turn.pop("responded_at", None)
    return Trace(trace.path, trace.sha256, data)


def test_the_tiny_trace_has_recorded_gaps():
    assert load_trace(TINY).recorded_gaps_s() == [1.5, 4.0, 0.0]


@pytest.mark.parametrize("load, think", [
    (LoadSpec(sessions=(2,), think_time=ThinkTime.RECORDED, scale=2.0, cap_s=5.0), (3.0, 5.0, 0.0)),
    (LoadSpec(sessions=(2,), think_time=ThinkTime.RECORDED, scale=2.0), (3.0, 8.0, 0.0)),
    (LoadSpec(sessions=(2,), think_time=ThinkTime.RECORDED, scale=0.5, cap_s=1.0), (0.75, 1.0, 0.0)),
    (LoadSpec(sessions=(2,), think_time=ThinkTime.NONE, scale=2.0, cap_s=5.0), (0.0, 0.0, 0.0)),
])
def test_think_time_is_the_recorded_gap_scaled_and_capped(load, think):
    sessions = deal_sessions(make_plan(ReplayPolicy()), load, 2)
    assert [s.think_s for s in sessions] == [think, think]


def test_think_time_follows_the_turns_replayed_and_a_trace_without_timestamps_waits_nothing():
    load = LoadSpec(sessions=(1,), sessions_total=4, think_time=ThinkTime.RECORDED, scale=2.0, cap_s=5.0)
    policy = ReplayPolicy(turns=2)
    tiny = load_trace(TINY)
    plan = make_plan(policy, traces=[tiny, untimed(tiny, "other")])
    sessions = deal_sessions(plan, load, 1)
    assert [s.index for s in sessions] == [0, 1, 2, 3]
    assert [s.turns[0].trace.name for s in sessions] == ["tiny", "other", "tiny", "other"]  # round robin
    assert [len(s.turns) for s in sessions] == [2, 2, 2, 2]
    assert [s.think_s for s in sessions] == [(3.0, 5.0), (0.0, 0.0), (3.0, 5.0), (0.0, 0.0)]
    assert [s.marker for s in sessions] == [f"[replayer session {k}]" for k in range(4)]
    assert [s.marker for s in deal_sessions(plan, replace(load, distinct=False), 1)] == [None] * 4


def test_sessions_total_is_at_least_the_level():
    plan = make_plan(ReplayPolicy())
    assert len(deal_sessions(plan, LoadSpec(sessions=(3,)), 3)) == 3
    assert len(deal_sessions(plan, LoadSpec(sessions=(3,), sessions_total=1), 3)) == 3
    assert len(deal_sessions(plan, LoadSpec(sessions=(1, 3), sessions_total=5), 1)) == 5
    # level 1 replays every session the largest level will, one at a time, to compare with
    assert [s.index for s in deal_sessions(plan, LoadSpec(sessions=(1, 4)), 1)] == [0, 1, 2, 3]
    assert len(deal_sessions(plan, LoadSpec(sessions=(4, 1)), 1)) == 4
    assert len(deal_sessions(plan, LoadSpec(sessions=(1,)), 1)) == 1


def test_the_executor_waits_the_think_time_between_a_sessions_turns():
    # gaps 1.5 s and 4.0 s, x 0.02 = 0.03 s and 0.08 s, capped at 0.05 s
    load = LoadSpec(sessions=(1,), think_time=ThinkTime.RECORDED, scale=0.02, cap_s=0.05)
    _, records, _, _, _, _ = run(load, arms=("a",))
    assert [r.turn for r in records] == [0, 1, 2]
    waits = [records[k + 1].send_s - records[k].receive_s for k in range(2)]
    assert waits[0] >= 0.03 - 1e-3 and waits[1] >= 0.05 - 1e-3


# 6 -------------------------------------------------------------------------------------------
def test_every_slot_is_erased_before_each_arm_and_repetition_with_cache_reuse():
    load = LoadSpec(sessions=(2,), parallel=3)
    ok, records, reporter, eps, clock, _ = run(load, ReplayPolicy(repetitions=2), range(2))
    assert ok is True and len(records) == 2 * 3 * 2 * 2
    assert eps["a"].resets == [0, 1, 2, 0, 1, 2] and eps["b"].resets == [0, 1, 2, 0, 1, 2]
    for arm, events in blocks(clock):
        what = [(e[2], e[3]) for e in events if e[2] in ("reset", "start")]
        assert what[:3] == [("reset", 0), ("reset", 1), ("reset", 2)]  # before the arm's first request
        assert all(w == "start" for w, _ in what[3:])
    assert reporter.lines == []


def test_a_cold_cache_erases_nothing():
    load = LoadSpec(sessions=(2,))
    _, records, _, eps, _, _ = run(load, ReplayPolicy(cache=CachePolicy.COLD, repetitions=2), range(2))
    assert eps["a"].resets == [] and eps["b"].resets == []
    assert all(b["cache_prompt"] is False for b in eps["a"].bodies)


def test_a_slot_that_cannot_be_erased_is_said_and_the_run_goes_on():
    load = LoadSpec(sessions=(2,))
    ok, records, reporter, eps, _, _ = run(load, ReplayPolicy(repetitions=2), range(2),
                                           reset_ok={"b": lambda slot: slot != 1})
    assert ok is True and len(records) == 24
    assert reporter.lines == ["b: could not erase slot 1's prompt cache"] * 2
