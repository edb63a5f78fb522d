"""The session model on records made from known cost laws: the fit recovers them, the
forecast hits the measured session, and the gap shares add up."""

import dataclasses
import math
import random

import pytest

from replayer.analysis.session_model import (GAP_PARTS, CostModel, Work, bench_table, compare, fit_cost_model,
                                             fit_speculative)
from replayer.results.record import TurnResult
from replayer.results.summary import BenchDepth, PredictedTurn, SyntheticComparison

BASE = CostModel((5.0, 0.4, 2e-6), (3.0, 1e-5), (20.0, 0.002), 0.0, 0)
# the candidate: 2x slower prefill (MTP), a step costs 1.6x but yields ~2 tokens
CAND = CostModel((5.0, 0.8, 4e-6), (4.8, 1.6e-5), (20.0, 0.002), 0.5, 0)


def rec(model: CostModel, trace: str, turn: int, variant: str, w: Work, noise: random.Random | None = None,
        rep: int = 0) -> TurnResult:
    f = (lambda: 1 + noise.uniform(-0.01, 0.01)) if noise else (lambda: 1.0)
    prompt_ms, predicted_ms, ovh = model.prefill_ms(w) * f(), model.decode_ms(w) * f(), model.overhead_ms(w) * f()
    # token counts are the cost laws' (fractional acceptance included): the numbers the laws were written for
    return TurnResult(trace=trace, turn=turn, variant=variant, repetition=rep, seq=0, max_tokens=512,
                      max_tokens_source="cap", prompt_n=w.n, cache_n=w.c, predicted_n=w.m, prompt_tokens=w.prompt,
                      draft_n=3 * w.steps if model.accepted_fraction else 0, draft_n_accepted=w.accepted,
                      prompt_ms=prompt_ms, predicted_ms=predicted_ms, request_overhead_ms=ovh,
                      wall_ms=prompt_ms + predicted_ms + ovh)


def synth_records(model: CostModel, variant: str) -> tuple[list[TurnResult], dict]:
    recs, labels = [], {}
    acc = model.accepted_fraction
    for d_i, depth in enumerate((0, 4096, 16384)):
        name = f"synth:bench@d{depth}"
        turns = {}
        works = []
        if depth:
            works.append(("fill", Work(depth, 0, 1, 0)))
        works.append(("pp512", Work(512, depth, 1, 0)))
        works.append(("tg128", Work(1, depth + 512, 128, 128 * acc)))
        for k, (test, w) in enumerate(works):
            recs.append(rec(model, name, k, variant, w))
            turns[str(k)] = {"test": test, "depth": depth, "n": 512 if test.startswith("pp") else 128}
        labels[name] = {"kind": "bench", "turns": turns}
    labels["synth:probes"] = {"kind": "probe", "turns": {"0": {"test": "probe-code", "content": "code"},
                                                         "1": {"test": "probe-prose", "content": "prose"}}}
    for k in range(2):
        recs.append(rec(model, "synth:probes", k, variant, Work(520, 0, 128, 128 * acc)))
    shaped = "synth:shaped-code:real"
    labels[shaped] = {"kind": "shaped", "turns": {str(k): {"test": "shaped-code", "content": "code"}
                                                   for k in range(len(REAL))}}
    for k, w in enumerate(REAL):
        recs.append(rec(model, shaped, k, variant, Work(w.n, w.c, w.m, w.m * acc)))
    return recs, labels


# an agent-like session: a big first prefill, then cached history with short outputs
REAL = [Work(9000, 0, 60, 0)] + [Work(300 + 40 * k, 9000 + 500 * k, 20 + 7 * k, 0) for k in range(12)]


def real_records(model: CostModel, variant: str, real_acc: float, reps: int = 3) -> list[TurnResult]:
    noise = random.Random(1)
    return [rec(model, "real", k, variant, Work(w.n, w.c, w.m, w.m * real_acc), noise, rep)
            for rep in range(reps) for k, w in enumerate(REAL)]


def test_the_fit_recovers_the_cost_laws():
    recs, labels = synth_records(CAND, "on")
    m = fit_cost_model(recs, {"synth:probes"})
    assert m.prefill[1] == pytest.approx(0.8, rel=1e-3) and m.prefill[2] == pytest.approx(4e-6, rel=1e-2)
    assert m.decode[0] == pytest.approx(4.8, rel=1e-3) and m.decode[1] == pytest.approx(1.6e-5, rel=1e-2)
    assert m.accepted_fraction == pytest.approx(0.5)
    table = bench_table(recs, labels)
    assert set(table) == {"0", "4096", "16384"} and all(isinstance(v, BenchDepth) for v in table.values())
    assert table["0"].pp_tok_s > table["16384"].pp_tok_s  # deeper context, slower prefill


def test_forecast_matches_the_session_and_the_gap_shares_add_up():
    bs, labels = synth_records(BASE, "off")
    cs, _ = synth_records(CAND, "on")
    # real content is accepted less often than the probes (0.35 vs 0.5)
    out = compare(real_records(BASE, "off", 0.0), real_records(CAND, "on", 0.35), bs, cs, labels)
    assert isinstance(out, SyntheticComparison)
    assert out.prediction_shape_from == "shape-matched synthetic session"
    assert out.tg_speedup > out.session_speedup_measured  # the session gains less than tg says
    assert out.pp_speedup == pytest.approx(0.5, rel=0.05)  # MTP prefill is twice as slow here
    # the forecast knows neither the real acceptance nor the real timings: off by the acceptance only
    assert abs(out.prediction_error) < 0.10
    assert out.accepted_fraction["real"] == pytest.approx(0.35) and out.accepted_fraction["probes"] == 0.5
    assert set(out.gap) == set(GAP_PARTS)
    assert sum(out.gap.values()) == pytest.approx(1.0)
    total = math.log(out.session_speedup_measured / out.tg_speedup)
    assert sum(out.gap_log.values()) == pytest.approx(total)
    # lower real acceptance pulls the speedup down; the MTP prefill penalty too
    assert out.gap_log["acceptance (real vs synthetic content)"] < 0
    assert out.gap_log["MTP prefill penalty"] < 0
    assert abs(out.gap_log["unexplained (model error)"]) < 0.02  # the laws are the truth here
    assert len(out.per_turn) == len(REAL) and all(isinstance(t, PredictedTurn) for t in out.per_turn)
    assert out.speculative_fit is not None and out.speculative_fit.gamma == 3  # 3 drafts per step


def test_the_classic_relation_recovers_acceptance_and_draft_cost():
    gamma, alpha, c = 3, 0.6, 0.2
    tau = (1 - alpha ** (gamma + 1)) / (1 - alpha)
    sigma = tau / (gamma * c + 1)
    base, cand = {}, {}
    for k in range(5):
        m = 100.0 + 10 * k
        base[("t", k)] = {"predicted_n": m, "predicted_ms": m * 10.0}
        steps = m / tau
        cand[("t", k)] = {"predicted_n": m, "predicted_ms": m * 10.0 / sigma, "draft_n": gamma * steps,
                          "draft_n_accepted": m - steps}
    fit = fit_speculative(base, cand)
    assert fit["gamma"] == 3
    assert fit["alpha"] == pytest.approx(alpha, abs=0.01) and fit["c"] == pytest.approx(c, abs=0.01)


def test_the_summary_carries_the_synthetic_sections_and_an_interrupted_calibration_gives_none():
    from replayer.analysis.summary import RunMeta, SyntheticInput, TraceMeta, summarize
    from replayer.results.summary import VariantFacts

    bs, labels = synth_records(BASE, "off")
    cs, _ = synth_records(CAND, "on")
    real = real_records(BASE, "off", 0.0) + real_records(CAND, "on", 0.35)
    meta = RunMeta(scenario="s", baseline="off",
                   variants=(VariantFacts("off", None, False, False), VariantFacts("on", None, True, True)),
                   traces=(TraceMeta("real", "0" * 64, len(REAL), (0.0,) * len(REAL)),),
                   synthetic=SyntheticInput(tuple(bs + cs), labels, complete=True))
    s = summarize(real, meta)
    syn = s.comparisons[0].synthetic
    assert isinstance(syn, SyntheticComparison) and syn.prediction_shape_from == "shape-matched synthetic session"
    assert syn == compare(real[:len(REAL) * 3], real[len(REAL) * 3:], bs, cs, labels)
    assert s.variants["on"].synthetic_bench == bench_table(cs, labels)
    assert s.variants["off"].synthetic_bench["0"].tg_tok_s > 0

    from dataclasses import replace

    cut = summarize(real, replace(meta, synthetic=SyntheticInput(tuple(bs[:5]), labels, complete=False)))
    assert cut.comparisons[0].synthetic is None and cut.variants["on"].synthetic_bench is None
    assert "synthetic calibration interrupted after 5 turns (kept in synthetic.jsonl): no synthetic figures" \
        in cut.notes


def capped(records: list[TurnResult], labels: dict, cap: int) -> list[TurnResult]:
    """The shaped turns as the interleaved calibration runs them: at most ``cap`` tokens
    generated, the real length kept in the labels."""
    shaped = "synth:shaped-code:real"
    for k, w in enumerate(REAL):
        labels[shaped]["turns"][str(k)]["generate"] = w.m
    out = []
    for r in records:
        if r.trace == shaped and (r.predicted_n or 0) > cap:
            model = CAND if r.draft_n else BASE
            w = Work(float(r.prompt_n or 0), float(r.cache_n or 0), float(cap), cap * model.accepted_fraction)
            r = rec(model, r.trace, r.turn, r.variant, w)
        out.append(r)
    return out


def test_shaped_turns_cut_short_still_forecast_the_real_lengths():
    bs, labels = synth_records(BASE, "off")
    cs, _ = synth_records(CAND, "on")
    full = compare(real_records(BASE, "off", 0.0), real_records(CAND, "on", 0.5), bs, cs, labels)
    cut = compare(real_records(BASE, "off", 0.0), real_records(CAND, "on", 0.5), capped(bs, labels, 8),
                  capped(cs, labels, 8), labels)
    assert [t.output_tokens for t in cut.per_turn] == [w.m for w in REAL]  # the lengths the session generates
    assert cut.session_speedup_predicted == pytest.approx(full.session_speedup_predicted, rel=0.01)
    assert abs(cut.prediction_error) < 0.02


def test_the_forecast_interval_brackets_it_is_repeatable_and_widens_with_noisier_calibration():
    bs, labels = synth_records(BASE, "off")
    cs, _ = synth_records(CAND, "on")
    out = compare(real_records(BASE, "off", 0.0), real_records(CAND, "on", 0.5), bs, cs, labels)
    low, high = out.session_speedup_predicted_interval
    assert low <= out.session_speedup_predicted <= high
    assert high - low < 0.01 * out.session_speedup_predicted  # exact laws: resampling changes almost nothing
    again = compare(real_records(BASE, "off", 0.0), real_records(CAND, "on", 0.5), bs, cs, labels)
    assert again.session_speedup_predicted_interval == out.session_speedup_predicted_interval
    noise = random.Random(3)

    def shaken(records: list[TurnResult]) -> list[TurnResult]:
        out = []
        for r in records:
            f = 1 + noise.uniform(-0.3, 0.3)
            out.append(dataclasses.replace(r, prompt_ms=r.prompt_ms * f, predicted_ms=r.predicted_ms * f,
                                           wall_ms=r.wall_ms * f))
        return out

    noisy = compare(real_records(BASE, "off", 0.0), real_records(CAND, "on", 0.5), shaken(bs), shaken(cs), labels)
    n_low, n_high = noisy.session_speedup_predicted_interval
    assert n_high - n_low > 3 * (high - low)


def slowed(records: list[TurnResult], traces: set[str], from_turn: int, factor: float) -> list[TurnResult]:
    """The machine ran ``factor`` times slower from ``from_turn`` of these traces on."""
    return [dataclasses.replace(r, prompt_ms=r.prompt_ms * factor, predicted_ms=r.predicted_ms * factor,
                                wall_ms=r.wall_ms + (r.prompt_ms + r.predicted_ms) * (factor - 1))
            if r.trace in traces and r.turn >= from_turn else r for r in records]


def test_the_forecast_follows_a_fast_phase_its_stand_ins_saw():
    """From turn 4 on the machine ran faster (0.7 of the time) for the session and for the
    stand-ins beside it, not for the tests and probes run first. The laws alone miss that
    phase; each turn scaled by its stand-in's speed does not."""
    bs, labels = synth_records(BASE, "off")
    cs, _ = synth_records(CAND, "on")
    shaped = {"synth:shaped-code:real"}
    real_b, real_c = slowed(real_records(BASE, "off", 0.0), {"real"}, 4, 0.7), \
        slowed(real_records(CAND, "on", 0.5), {"real"}, 4, 0.7)
    bs, cs = slowed(bs, shaped, 4, 0.7), slowed(cs, shaped, 4, 0.7)
    out = compare(real_b, real_c, bs, cs, labels)
    assert abs(out.baseline_wall_error) < 0.01 and abs(out.candidate_wall_error) < 0.01
    law = fit_cost_model(bs, {"synth:probes"})
    measured = sum(r.wall_ms for r in real_b if r.repetition == 0)
    assert sum(law.wall_ms(w) for w in REAL) / measured - 1 > 0.08  # the laws alone: 8 % and more too slow


def test_one_hiccup_in_a_short_stand_in_counts_at_most_twice():
    bs, labels = synth_records(BASE, "off")
    cs, _ = synth_records(CAND, "on")
    shaped = {"synth:shaped-code:real"}
    calm = compare(real_records(BASE, "off", 0.0), real_records(CAND, "on", 0.5), bs, cs, labels)
    # turn 3 of the shaped session on the baseline took 20x its time to decode
    hiccup = [dataclasses.replace(r, predicted_ms=r.predicted_ms * 20) if r.trace in shaped and r.turn == 3 else r
              for r in bs]
    out = compare(real_records(BASE, "off", 0.0), real_records(CAND, "on", 0.5), hiccup, cs, labels)
    extra = out.per_turn[3].baseline_predicted_ms - calm.per_turn[3].baseline_predicted_ms
    # bounded at twice the law (which the outlier moves a little too), not twenty times
    assert BASE.decode_ms(REAL[3]) < extra < 1.5 * BASE.decode_ms(REAL[3])
    assert abs(out.baseline_wall_error) < 0.03
