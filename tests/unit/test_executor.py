"""The executor seam with a scripted fake endpoint: no server, no network."""

from pathlib import Path

import pytest

from replayer.results.record import TurnError
from replayer.runner.endpoint import Completion
from replayer.runner.executor import SequentialExecutor, warm_up
from replayer.runner.plan import ReplayPlan, plan_turns
from replayer.scenario.model import CachePolicy, OnError, ReplayPolicy
from replayer.trace import load_trace

TINY = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "tiny_trace.json"  # 3 turns, 48 tokens each

# Who sends what, 2 arms x 3 turns, INTERLEAVED: per turn A B / B A, first arm flips per repetition.
ORDER_REP0 = [("a", 0), ("b", 0), ("b", 1), ("a", 1), ("a", 2), ("b", 2)]
ORDER_REP1 = [("b", 0), ("a", 0), ("a", 1), ("b", 1), ("b", 2), ("a", 2)]


def ok_body(n: int, max_tokens: int, drafted: bool) -> dict:
    """llama-server's answer to this endpoint's n-th request (1-based); the numbers depend on n."""
    timings = {"cache_n": 7 * n, "prompt_n": 100 + n, "prompt_ms": 10.0 * n, "predicted_n": max_tokens,
               "predicted_ms": 20.0}
    if drafted:
        timings.update(draft_n=4 * n, draft_n_accepted=3 * n)
    return {"choices": [{"finish_reason": "length", "message": {"role": "assistant", "content": "x"}}],
            "usage": {"prompt_tokens": 200 + n, "completion_tokens": max_tokens},
            "timings": timings, "__verbose": {"tokens": [n, n + 1, n + 2]}}


def wall(n: int) -> float:
    return 100.0 + n


def exited() -> Completion:
    return Completion(None, 3.0, 3.0, TurnError("connection_error", "ConnectError: refused", None, server_exited=True))


class FakeEndpoint:
    """Answers every request with ok_body, unless ``script(n)`` returns a Completion (sent as is)
    or an exception (raised). With ``spec_metrics``, /metrics counters grow only inside complete():
    request n adds n steps, 3n drafted, 2n accepted (n at position 0 and at position 1)."""

    def __init__(self, name, script=lambda n: None, drafted=False, spec_metrics=False):
        self.name = name
        self.script = script
        self.drafted = drafted
        self.spec_metrics = spec_metrics
        self.bodies: list[dict] = []
        self.resets = 0
        self.metrics_calls = 0
        self.counters = {"steps": 1000, "drafted": 5000, "accepted": 3000, "pos0": 2000, "pos1": 1000}

    def complete(self, body):
        self.bodies.append(body)
        n = len(self.bodies)
        answer = self.script(n)
        if isinstance(answer, BaseException):
            raise answer
        if answer is not None:
            return answer
        for key, step in (("steps", n), ("drafted", 3 * n), ("accepted", 2 * n), ("pos0", n), ("pos1", n)):
            self.counters[key] += step
        return Completion(ok_body(n, body["max_tokens"], self.drafted), wall(n), wall(n) - 1.0)

    def metrics(self):
        self.metrics_calls += 1
        if not self.spec_metrics:
            return None
        c = self.counters
        return "\n".join([
            "# HELP llamacpp:spec_decode_num_drafts_total Number of drafts.",
            "llamacpp:prompt_tokens_total 12345",
            f"llamacpp:spec_decode_num_drafts_total {c['steps']}",
            f"llamacpp:spec_decode_num_draft_tokens_total {c['drafted']}",
            f"llamacpp:spec_decode_num_accepted_tokens_total {c['accepted']}",
            f'llamacpp:spec_decode_num_accepted_tokens_per_pos_total{{position="0"}} {c["pos0"]}',
            f'llamacpp:spec_decode_num_accepted_tokens_per_pos_total{{position="1"}} {c["pos1"]}',
        ])

    def reset_cache(self):
        self.resets += 1
        return True


class ListSink:
    def __init__(self):
        self.records = []

    def write(self, record):
        self.records.append(record)


class ListReporter:
    def __init__(self):
        self.done = []
        self.lines = []
        self.totals = []

    def turn_done(self, record):
        self.done.append(record)

    def log(self, message):
        self.lines.append(message)

    def add_total(self, n):
        self.totals.append(n)


def make_plan(policy, arms=("a", "b")) -> ReplayPlan:
    turns = plan_turns([load_trace(TINY)], policy, tokenize=lambda s: None, estimate=len)
    return ReplayPlan(tuple(turns), tuple(arms))


def replay(endpoints, policy=None, repetitions=range(1)):
    policy = policy or ReplayPolicy()
    plan = make_plan(policy, tuple(endpoints))
    sink, reporter = ListSink(), ListReporter()
    ok = SequentialExecutor().run(plan, endpoints, policy, sink, reporter, repetitions)
    return ok, sink.records, reporter, plan


def who(records):
    return [(r.variant, r.turn) for r in records]


# 1 -----------------------------------------------------------------------------------------
def test_every_arm_turn_and_repetition_is_recorded_in_interleaved_order():
    eps = {"a": FakeEndpoint("a"), "b": FakeEndpoint("b", drafted=True)}
    ok, records, reporter, plan = replay(eps, ReplayPolicy(repetitions=2), range(2))
    assert ok is True
    assert who(records) == ORDER_REP0 + ORDER_REP1
    assert [r.repetition for r in records] == [0] * 6 + [1] * 6
    assert [r.seq for r in records] == list(range(12))
    assert reporter.done == records and reporter.lines == []
    assert {r.trace for r in records} == {load_trace(TINY).name}
    assert all(r.error is None and r.max_tokens == 48 and r.max_tokens_source == "usage" for r in records)
    # cache reuse: each arm's slot is erased once at the start of each repetition
    assert eps["a"].resets == 2 and eps["b"].resets == 2
    assert all(body["cache_prompt"] is True and body["max_tokens"] == 48 for body in eps["a"].bodies)

    # b's 3rd request: repetition 0, turn 2 (see ORDER_REP0)
    b3 = [r for r in records if r.variant == "b"][2]
    assert (b3.turn, b3.repetition) == (2, 0)
    assert b3.wall_ms == wall(3) and b3.http_ms == wall(3) - 1.0
    assert b3.prompt_ms == 30.0 and b3.predicted_ms == 20.0
    assert b3.request_overhead_ms == pytest.approx(wall(3) - 30.0 - 20.0)
    assert (b3.prompt_n, b3.cache_n, b3.predicted_n) == (103, 21, 48)
    assert (b3.prompt_tokens, b3.completion_tokens) == (203, 48)
    assert (b3.draft_n, b3.draft_n_accepted) == (12, 9)
    assert b3.finish_reason == "length"
    assert b3.tokens == (3, 4, 5) and isinstance(b3.tokens, tuple)
    assert b3.mono_start_s <= b3.mono_end_s and b3.harness_ms >= 0.0
    # no drafts -> draft_n absent from timings -> 0; no /metrics -> no per-turn spec detail
    a1 = [r for r in records if r.variant == "a"][0]
    assert (a1.draft_n, a1.draft_n_accepted) == (0, 0)
    assert a1.request_overhead_ms == pytest.approx(wall(1) - 10.0 - 20.0)


def test_later_repetitions_number_seq_after_the_earlier_ones():
    eps = {"a": FakeEndpoint("a"), "b": FakeEndpoint("b")}
    ok, records, _, plan = replay(eps, ReplayPolicy(repetitions=3), range(2, 3))
    assert ok is True and plan.requests() == 6
    assert [r.seq for r in records] == list(range(12, 18))
    assert {r.repetition for r in records} == {2}
    assert who(records) == ORDER_REP0  # repetition 2 starts with the same arm as repetition 0


def test_cold_cache_never_erases_the_slot():
    eps = {"a": FakeEndpoint("a"), "b": FakeEndpoint("b")}
    replay(eps, ReplayPolicy(cache=CachePolicy.COLD))
    assert eps["a"].resets == 0 and eps["b"].resets == 0
    assert eps["a"].bodies[0]["cache_prompt"] is False


class NoErase(FakeEndpoint):
    def reset_cache(self):
        self.resets += 1
        return False


def test_a_slot_that_cannot_be_erased_is_said_and_the_replay_goes_on():
    eps = {"a": FakeEndpoint("a"), "b": NoErase("b")}
    ok, records, reporter, _ = replay(eps, ReplayPolicy(), repetitions=range(2))
    assert ok and len(records) == 12
    assert reporter.lines == ["b: could not erase the slot's prompt cache (llama-server allows it only when "
                              "started with --slot-save-path): repetition 0 may start warm",
                              "b: could not erase the slot's prompt cache (llama-server allows it only when "
                              "started with --slot-save-path): repetition 1 may start warm"]


# 2, 3 --------------------------------------------------------------------------------------
def http_500_on(call):
    return lambda n: Completion(None, 5.0, 5.0, TurnError("http_error", "boom", 500)) if n == call else None


def test_on_error_stop_writes_the_failed_turn_and_sends_nothing_after_it():
    eps = {"a": FakeEndpoint("a"), "b": FakeEndpoint("b", script=http_500_on(2))}  # b's 2nd request: turn 1
    ok, records, reporter, _ = replay(eps, ReplayPolicy(on_error=OnError.STOP))
    assert ok is False
    assert who(records) == [("a", 0), ("b", 0), ("b", 1)]
    assert records[-1].error == TurnError("http_error", "boom", 500)
    assert records[-1].prompt_ms is None and records[-1].tokens is None and records[-1].wall_ms == 5.0
    assert [r.error for r in records[:2]] == [None, None]
    assert len(eps["a"].bodies) == 1 and len(eps["b"].bodies) == 2  # a's turn 1 was never sent
    assert reporter.done == records
    assert reporter.lines == ["stopping: b turn 1: boom"]


def test_on_error_continue_records_the_error_and_goes_on():
    eps = {"a": FakeEndpoint("a"), "b": FakeEndpoint("b", script=http_500_on(2))}
    ok, records, reporter, _ = replay(eps, ReplayPolicy(on_error=OnError.CONTINUE))
    assert ok is True
    assert who(records) == ORDER_REP0
    assert [(r.variant, r.turn) for r in records if r.error is not None] == [("b", 1)]
    assert records[2].error.type == "http_error" and records[2].error.status == 500
    assert reporter.lines == []  # an ordinary error is not worth a log line under continue


# 4 -----------------------------------------------------------------------------------------
def test_a_server_that_exits_mid_run_fails_its_remaining_turns_only():
    eps = {"a": FakeEndpoint("a"), "b": FakeEndpoint("b", script=lambda n: exited() if n >= 2 else None)}
    ok, records, reporter, _ = replay(eps, ReplayPolicy(repetitions=2), range(2))
    assert ok is True and len(records) == 12
    failed = [(r.variant, r.repetition, r.turn) for r in records if r.error is not None]
    assert failed == [("b", 0, 1), ("b", 0, 2), ("b", 1, 0), ("b", 1, 1), ("b", 1, 2)]
    assert all(r.error.server_exited and r.error.type == "connection_error" for r in records if r.error)
    assert all(r.error is None and r.prompt_ms is not None for r in records if r.variant == "a")
    assert len(reporter.lines) == 1, reporter.lines  # said once, not once per failed turn
    assert reporter.lines[0].startswith("b:") and "server exited" in reporter.lines[0]


# 5 -----------------------------------------------------------------------------------------
def test_an_interrupt_propagates_and_keeps_every_record_before_it():
    # b's 4th request is repetition 1, turn 0 - the 7th request of the run (ORDER_REP0 + ORDER_REP1[0]).
    eps = {"a": FakeEndpoint("a"), "b": FakeEndpoint("b", script=lambda n: KeyboardInterrupt() if n == 4 else None)}
    policy = ReplayPolicy(repetitions=2)
    plan = make_plan(policy)
    sink, reporter = ListSink(), ListReporter()
    with pytest.raises(KeyboardInterrupt):
        SequentialExecutor().run(plan, eps, policy, sink, reporter, range(2))
    assert who(sink.records) == ORDER_REP0
    assert [r.seq for r in sink.records] == list(range(6))
    assert all(r.error is None for r in sink.records)
    assert len(eps["a"].bodies) == 3  # a's rep-1 turn 0 comes after b's and was never sent


# 6 -----------------------------------------------------------------------------------------
def test_a_body_without_timings_is_a_bad_response():
    def no_timings(n):
        body = ok_body(n, 48, False)
        del body["timings"]
        return Completion(body, 50.0, 49.0)

    eps = {"a": FakeEndpoint("a", script=no_timings)}
    ok, records, _, _ = replay(eps)
    assert ok is True and len(records) == 3
    assert all(r.error is not None and r.error.type == "bad_response" for r in records)
    assert "timings" in records[0].error.message
    assert records[0].prompt_ms == 0.0 and records[0].predicted_n is None
    assert records[0].tokens == (1, 2, 3)  # the body is kept for what it does have


# 7 -----------------------------------------------------------------------------------------
def test_per_turn_spec_counters_are_the_deltas_of_metrics_around_each_request():
    eps = {"a": FakeEndpoint("a", spec_metrics=True), "b": FakeEndpoint("b", spec_metrics=True)}
    ok, records, _, _ = replay(eps)
    assert ok is True
    for r in records:
        n = [x.turn for x in records if x.variant == r.variant].index(r.turn) + 1  # the arm's n-th request
        assert (r.spec_steps, r.spec_drafted, r.spec_accepted) == (n, 3 * n, 2 * n), r
        assert r.accepted_per_pos == (n, n) and isinstance(r.accepted_per_pos, tuple)
    # one probe at the start, then one scrape before and one after each of the 3 turns
    assert eps["a"].metrics_calls == 1 + 2 * 3


def test_no_spec_counters_without_metrics_or_on_a_failed_turn():
    eps = {"a": FakeEndpoint("a"), "b": FakeEndpoint("b", spec_metrics=True, script=http_500_on(2))}
    ok, records, _, _ = replay(eps)
    for r in records:
        if r.variant == "a" or r.error is not None:
            assert (r.spec_steps, r.spec_drafted, r.spec_accepted, r.accepted_per_pos) == (None,) * 4, r
        else:
            assert r.spec_steps is not None
    assert eps["a"].metrics_calls == 1  # None at the probe: never scraped again


# 8 -----------------------------------------------------------------------------------------
def test_warm_up_sends_count_short_uncached_requests_to_every_endpoint():
    eps = {"a": FakeEndpoint("a"), "b": FakeEndpoint("b")}
    policy = ReplayPolicy()
    warm_up(eps, policy, 3)
    for ep in eps.values():
        assert len(ep.bodies) == 3
        for body in ep.bodies:
            assert body["max_tokens"] == 16 and body["cache_prompt"] is False
            assert body["temperature"] == policy.sampling["temperature"] and body["seed"] == policy.sampling["seed"]
    warm_up(eps, policy, 0)
    assert len(eps["a"].bodies) == 3
