"""The summary's ``load`` section (analysis/load.py) from hand-built records: 2 levels x 2 arms x
2 repetitions with known send/receive times, token counts, drafts and slots."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import numpy as np
import pytest

from replayer.analysis.load import LoadInput, load_section
from replayer.analysis.summary import RunMeta, TraceMeta, summarize
from replayer.results.record import TurnError, TurnResult
from replayer.results.summary import LoadSection, Summary, VariantFacts
from replayer.scenario.model import LoadSpec, ThinkTime

# Per (level, arm, repetition): per session, per turn, (send_s, receive_s).
# Level 1 runs its 2 sessions one after the other; level 2 runs them together.
SPANS = {
    (1, "off", 0): [[(0.0, 1.0), (1.0, 2.0)], [(2.0, 3.0), (3.0, 4.0)]],  # 4.0 s
    (1, "off", 1): [[(0.0, 1.0), (1.0, 2.0)], [(2.0, 3.0), (3.0, 4.5)]],  # 4.5 s
    (1, "on", 0): [[(0.0, 0.5), (0.5, 1.0)], [(1.0, 1.5), (1.5, 2.0)]],  # 2.0 s
    (1, "on", 1): [[(0.0, 0.5), (0.5, 1.0)], [(1.0, 1.5), (1.5, 2.0)]],  # 2.0 s
    (2, "off", 0): [[(0.0, 1.0), (1.0, 2.0)], [(0.0, 1.5), (1.5, 3.0)]],  # 3.0 s
    (2, "off", 1): [[(0.0, 1.0), (1.0, 2.5)], [(0.0, 1.0), (1.0, 2.0)]],  # 2.5 s
    (2, "on", 0): [[(0.0, 0.5), (0.5, 1.0)], [(0.0, 0.75), (0.75, 1.5)]],  # 1.5 s
    (2, "on", 1): [[(0.0, 0.5), (0.5, 1.0)], [(0.0, 0.4), (0.4, 0.8)]],  # 1.0 s
}
# "on" drafts per turn, by slot: (drafted, accepted)
DRAFTS = {0: (8, 6), 1: (4, 1)}


def tokens_of(session: int, turn: int) -> tuple[int, ...]:
    return (100 + 10 * session + turn, 7, 8)


def rec(level, variant, rep, session, turn, send, receive, *, slot, seq=0, predicted_n=10, prompt_n=100,
        draft=(0, 0), tokens=None, error=None, overhead=None):
    wall = (receive - send) * 1e3
    return TurnResult(
        trace="t", turn=turn, variant=variant, repetition=rep, seq=seq, wall_ms=wall, max_tokens=10,
        max_tokens_source="usage", http_ms=wall - 1.0, prompt_ms=None if error else 20.0,
        predicted_ms=None if error else 50.0,
        request_overhead_ms=None if error else (overhead if overhead is not None else 3.0 * (session + 1) + turn),
        prompt_tokens=None if error else prompt_n + 5, completion_tokens=None if error else predicted_n,
        cache_n=None if error else 5, prompt_n=None if error else prompt_n,
        predicted_n=None if error else predicted_n, draft_n=draft[0], draft_n_accepted=draft[1],
        finish_reason=None if error else "length",
        tokens=None if error else (tokens if tokens is not None else tokens_of(session, turn)), error=error,
        level=level, session=session, slot=slot, send_s=send, receive_s=receive)


def dataset(levels=(1, 2), reps=(0, 1), differ=None, idle_slot=None) -> list[TurnResult]:
    """Every record of SPANS for ``levels`` and ``reps``. ``differ``: the one (level, arm, rep, session,
    turn) whose tokens differ from the turn replayed alone; ``idle_slot``: an "on" slot that drafted 0."""
    out = []
    for (level, arm, rep), sessions in SPANS.items():
        if level not in levels or rep not in reps:
            continue
        for session, turns in enumerate(sessions):
            for turn, (send, receive) in enumerate(turns):
                slot = 0 if level == 1 else session
                draft = DRAFTS[slot] if arm == "on" and slot != idle_slot else (0, 0)
                tokens = (1, 2, 3) if differ == (level, arm, rep, session, turn) else None
                out.append(rec(level, arm, rep, session, turn, send, receive, slot=slot, seq=len(out),
                               draft=draft, tokens=tokens))
    return out


def facts(levels=(1, 2)):
    return {n: {"off": VariantFacts("off", None, slots_speculative=False, expect_speculation=False),
                "on": VariantFacts("on", None, slots_speculative=True, expect_speculation=True)} for n in levels}


SPEC = LoadSpec(sessions=(1, 2), sessions_total=2)
GREEDY = {"off": 0.0, "on": 0.0}


def section(records, spec=SPEC, temperatures=GREEDY, level_facts=None) -> tuple[LoadSection, tuple[str, ...]]:
    return load_section(records, "off", LoadInput(spec, level_facts if level_facts is not None else facts()),
                        temperatures)


def level(sec: LoadSection, n: int):
    return next(lv for lv in sec.levels if lv.sessions == n)


# ---------------------------------------------------------------------------------------------
def test_levels_and_arms_are_laid_out_baseline_first():
    sec, problems = section(dataset())
    assert problems == ()
    assert sec.baseline == "off" and [lv.sessions for lv in sec.levels] == [1, 2]
    assert [lv.sessions_total for lv in sec.levels] == [2, 2]
    assert [list(lv.arms) for lv in sec.levels] == [["off", "on"], ["off", "on"]]
    assert (sec.think_time, sec.distinct, sec.shared_prefix, sec.notes) == ("none", True, False, ())


def test_throughput_is_tokens_over_the_mean_duration():
    sec, _ = section(dataset())
    off, on = level(sec, 2).arms["off"], level(sec, 2).arms["on"]
    # off: 3.0 s and 2.5 s; on: 1.5 s and 1.0 s
    assert off.duration_s == pytest.approx(2.75) and on.duration_s == pytest.approx(1.25)
    assert off.requests == 4 and off.errors == 0 and off.slots == 2
    # 4 turns x 10 generated tokens per repetition, over the mean duration
    assert off.generated_tok_s == pytest.approx(40 / 2.75)
    assert on.generated_tok_s == pytest.approx(40 / 1.25)
    assert off.prompt_tok_s == pytest.approx(400 / 2.75)
    assert off.requests_s == pytest.approx(4 / 2.75) and on.requests_s == pytest.approx(4 / 1.25)
    one = level(sec, 1).arms["off"]
    assert one.duration_s == pytest.approx(4.25) and one.generated_tok_s == pytest.approx(40 / 4.25)
    assert one.slots == 1


def test_latency_queue_wait_and_session_percentiles():
    sec, _ = section(dataset())
    off = level(sec, 2).arms["off"]
    walls = [1000.0, 1000.0, 1500.0, 1500.0, 1000.0, 1500.0, 1000.0, 1000.0]
    assert off.latency_p50_ms == pytest.approx(1000.0)
    assert off.latency_p90_ms == pytest.approx(1500.0)
    for q, got in ((50, off.latency_p50_ms), (90, off.latency_p90_ms), (99, off.latency_p99_ms)):
        assert got == pytest.approx(float(np.percentile(walls, q)))
    # request_overhead_ms = 3 (session + 1) + turn: 3, 4, 6, 7 in each repetition
    assert off.queue_wait_p50_ms == pytest.approx(5.0)
    assert off.queue_wait_p99_ms == pytest.approx(float(np.percentile([3, 4, 6, 7] * 2, 99)))
    # a session's first send .. its last receive: rep 0: 2.0, 3.0; rep 1: 2.5, 2.0
    assert off.session_p50_s == pytest.approx(2.25)
    assert off.session_p90_s == pytest.approx(float(np.percentile([2.0, 3.0, 2.5, 2.0], 90)))
    on1 = level(sec, 1).arms["on"]
    assert on1.session_p50_s == pytest.approx(1.0) and on1.latency_p50_ms == pytest.approx(500.0)


def test_drafts_and_acceptance_per_slot():
    sec, _ = section(dataset())
    on2, off2, on1 = level(sec, 2).arms["on"], level(sec, 2).arms["off"], level(sec, 1).arms["on"]
    # level 2: session k on slot k, 2 turns x 2 repetitions each
    assert on2.slot_drafted == {"0": 32, "1": 16}
    assert on2.slot_acceptance == {"0": pytest.approx(0.75), "1": pytest.approx(0.25)}
    assert on2.acceptance == pytest.approx((24 + 4) / (32 + 16))
    assert on2.slots_speculative is True and off2.slots_speculative is False
    assert off2.slot_drafted == {"0": 0, "1": 0} and off2.slot_acceptance == {"0": None, "1": None}
    assert off2.acceptance is None
    assert on1.slot_drafted == {"0": 64} and on1.slot_acceptance == {"0": pytest.approx(0.75)}


def test_speedup_is_baseline_over_candidate_duration_with_an_interval_from_two_repetitions():
    sec, _ = section(dataset())
    two = level(sec, 2)
    assert set(two.speedup) == {"on"} and set(two.speedup_ci) == {"on"}  # no speedup of the baseline on itself
    assert two.speedup["on"] == pytest.approx((3.0 + 2.5) / (1.5 + 1.0))
    lo, hi = two.speedup_ci["on"]
    # per repetition 2.0 and 2.5, per request 1.33x to 2.5x: the interval spans the repetitions' spread
    assert lo < 2.0 < 2.5 < hi and lo < two.speedup["on"] < hi
    one = level(sec, 1)
    assert one.speedup["on"] == pytest.approx((4.0 + 4.5) / (2.0 + 2.0))
    assert one.speedup_ci["on"] is not None


def test_one_repetition_has_an_interval_over_sessions_and_turns():
    sec, _ = section(dataset(reps=(0,)))
    two = level(sec, 2)
    assert two.speedup["on"] == pytest.approx(3.0 / 1.5)
    lo, hi = two.speedup_ci["on"]
    # request by request the candidate took 0.5/1.0, 0.5/1.0, 0.75/1.5, 0.75/1.5 of the time: 2x throughout
    assert lo == pytest.approx(2.0) and hi == pytest.approx(2.0)
    assert two.arms["off"].duration_s == pytest.approx(3.0)
    assert two.arms["off"].generated_tok_s == pytest.approx(40 / 3.0)


def test_a_level_interval_tells_noise_from_a_difference():
    """Sessions whose every turn is 0.9x to 1.1x apart give an interval around 1; a 1.5x change
    everywhere gives one well above it (what the parallel.yaml orderings could not say)."""
    from replayer.analysis.load import speedup_interval

    rng = np.random.default_rng(1)

    def level_records(effect: float) -> tuple[list[TurnResult], list[TurnResult]]:
        base, cand = [], []
        for session in range(4):
            t = 0.0
            for turn in range(12):
                w = float(rng.uniform(0.5, 2.0))
                base.append(rec(4, "off", 0, session, turn, t, t + w, slot=session))
                cand.append(rec(4, "on", 0, session, turn, t, t + w / effect * float(rng.uniform(0.9, 1.1)),
                                slot=session))
                t += w
        return base, cand

    same = speedup_interval(*level_records(1.0), estimate=1.0)
    faster = speedup_interval(*level_records(1.5), estimate=1.5)
    assert same[0] < 1.0 < same[1] and same[1] - same[0] < 0.15
    assert faster[0] > 1.35


def test_outputs_under_load_are_compared_with_the_same_turn_replayed_alone():
    sec, _ = section(dataset(differ=(2, "on", 1, 1, 1)))
    two, one = level(sec, 2), level(sec, 1)
    # every level-2 record has its (trace, turn, session, repetition) at level 1 on the baseline
    assert two.compared_alone == {"off": 8, "on": 8}
    assert two.diverged_alone == {"off": 0, "on": 1}
    # at level 1 the baseline is the reference itself; the candidate is compared with it
    assert one.compared_alone == {"off": 0, "on": 8} and one.diverged_alone == {"off": 0, "on": 0}


def test_a_baseline_turn_that_diverges_under_load_is_counted_for_the_baseline():
    sec, _ = section(dataset(differ=(2, "off", 0, 0, 1)))
    assert level(sec, 2).diverged_alone == {"off": 1, "on": 0}


def test_sampling_arms_are_not_compared_alone():
    sec, _ = section(dataset(differ=(2, "on", 1, 1, 1)), temperatures={"off": 0.0, "on": 0.7})
    two = level(sec, 2)
    assert two.compared_alone == {"off": 8} and two.diverged_alone == {"off": 0}
    assert "on" in two.speedup  # the speedup does not depend on greedy sampling


def test_a_speculating_arm_with_a_slot_that_never_drafted_is_a_problem():
    sec, problems = section(dataset(idle_slot=1))
    assert level(sec, 2).arms["on"].slot_drafted == {"0": 32, "1": 0}
    assert level(sec, 2).arms["on"].slot_acceptance["1"] is None
    assert problems == ("variant on: at 2 session(s), slot(s) 1 served requests but never drafted "
                        "(speculation not live on every slot)",)


def test_an_arm_not_expected_to_speculate_is_no_problem_without_drafts():
    quiet = {n: {"off": VariantFacts("off", None, False, False), "on": VariantFacts("on", None, False, False)}
             for n in (1, 2)}
    _, problems = section(dataset(idle_slot=1), level_facts=quiet)
    assert problems == ()


def test_without_level_1_nothing_is_compared_alone_and_a_note_says_so():
    spec = LoadSpec(sessions=(2,), sessions_total=2)
    sec, _ = section(dataset(levels=(2,)), spec=spec, level_facts=facts((2,)))
    assert [lv.sessions for lv in sec.levels] == [2]
    assert sec.notes == ("no level 1 in load.sessions: outputs are not compared with turns replayed alone",)
    assert level(sec, 2).compared_alone == {"off": 0, "on": 0}


def test_failed_requests_are_counted_and_left_out_of_the_figures():
    records = dataset(levels=(2,), reps=(0,))
    # the baseline's session 1, turn 1 failed (still inside the arm's time window)
    records = [r for r in records if not (r.variant == "off" and r.session == 1 and r.turn == 1)]
    records.append(rec(2, "off", 0, 1, 1, 1.5, 3.0, slot=1, error=TurnError("http_error", "boom", 500)))
    sec, _ = section(records, spec=LoadSpec(sessions=(2,)), level_facts=facts((2,)))
    off = level(sec, 2).arms["off"]
    assert off.errors == 1 and off.requests == 4
    assert off.duration_s == pytest.approx(3.0)
    assert off.generated_tok_s == pytest.approx(30 / 3.0) and off.requests_s == pytest.approx(3 / 3.0)
    assert off.latency_p50_ms == pytest.approx(1000.0)  # 1000, 1000, 1500: the failed turn's 1500 left out


def test_records_without_a_level_are_not_load_records():
    records = dataset(levels=(2,), reps=(0,))
    sequential = rec(None, "off", 0, None, 0, 0.0, 100.0, slot=None, overhead=1.0, tokens=(1,))
    sec, _ = section([*records, sequential], spec=LoadSpec(sessions=(2,)), level_facts=facts((2,)))
    assert level(sec, 2).arms["off"].duration_s == pytest.approx(3.0)
    assert level(sec, 2).arms["off"].requests == 4


# ---------------------------------------------------------------------------------------------
def test_summarize_carries_the_load_section_and_the_document_validates():
    records = dataset(differ=(2, "on", 1, 1, 1))
    spec = LoadSpec(sessions=(1, 2), sessions_total=2, think_time=ThinkTime.RECORDED, scale=0.5, cap_s=10.0)
    variants = tuple(facts((1,))[1].values())
    meta = RunMeta(scenario="s", baseline="off", variants=variants, traces=(TraceMeta("t", "0" * 64, 2, (1.0, 0.0)),),
                   load=LoadInput(spec, facts()))
    s = summarize(records, meta)
    assert s.load is not None
    assert [lv.sessions for lv in s.load.levels] == [1, 2]
    assert s.load.think_time == "recorded"
    assert level(s.load, 2).speedup["on"] == pytest.approx(2.2)
    assert level(s.load, 2).diverged_alone == {"off": 0, "on": 1}
    data = s.to_json()
    schema = json.loads(resources.files("replayer.results").joinpath("summary.schema.json").read_text("utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    errors = [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(data)]
    assert errors == []
    assert data["load"]["levels"][1]["arms"]["on"]["slot_drafted"] == {"0": 32, "1": 16}
    again = Summary.from_json(json.loads(json.dumps(data)), "summary.json")
    assert again.load == s.load


def test_an_idle_slot_is_a_problem_of_the_summary():
    variants = tuple(facts((1,))[1].values())
    meta = RunMeta(scenario="s", baseline="off", variants=variants, traces=(TraceMeta("t", "0" * 64, 2, (1.0, 0.0)),),
                   load=LoadInput(SPEC, facts()))
    s = summarize(dataset(idle_slot=1), meta)
    assert any("slot(s) 1 served requests but never drafted" in p for p in s.problems)
