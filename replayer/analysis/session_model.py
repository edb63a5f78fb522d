"""A session model: predict a real session's per-turn times from a synthetic calibration,
and explain the gap between a synthetic speedup and the real one.

Per variant, three cost laws are fitted (non-negative least squares) on the synthetic
turns, whose token counts span depths and lengths:

    prefill_ms  = k + n * (a + b * (c + n/2))      n new prompt tokens on top of c cached
    decode_ms   = s * (g + h * (ctx + m/2))        s verification steps for m tokens, at context ctx
    overhead_ms = o + p * t                        t prompt tokens (the server templates and tokenizes them)

where s = m - accepted (a step yields one token plus the drafts it accepts). For the
*prediction* the token counts come from the shape-matched synthetic session (same shape,
synthetic content) and acceptance from the content probes, so nothing measured on the real
session enters it. A turn's predicted wall-clock is the sum of the three laws, its prefill
and decode each scaled by how its stand-in turn ran against the same laws (the stand-in runs
seconds after the real turn, so it carries the machine's speed at that moment). The *decomposition*
then walks from the synthetic tg speedup to the measured session speedup one named
factor at a time, each step a prediction on the real turns' counts, and reports each
factor's share of the gap (in log space, so the shares add up to 1).

The classic speculative-decoding relation, speedup = (1 - a^(g+1)) / ((1 - a)(g c + 1)),
is fitted to the real candidate turns for the acceptance rate a and relative draft cost c.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any, Iterable, Sequence

import numpy as np
from scipy import optimize

from replayer.results.record import TurnResult
from replayer.results.summary import BenchDepth, Comparison, PredictedTurn, SpeculativeFit, SyntheticComparison

SYNTH_PREFIX = "synth:"


@dataclass(frozen=True)
class Work:
    """The token work of one turn: what the cost laws take."""

    n: float  # prompt tokens processed
    c: float  # prompt tokens reused from the cache
    m: float  # tokens generated
    accepted: float  # of which accepted drafts

    @property
    def prompt(self) -> float:
        return self.n + self.c

    @property
    def steps(self) -> float:
        return max(self.m - self.accepted, 1.0) if self.m else 0.0


def work_of(r: TurnResult) -> Work:
    return Work(float(r.prompt_n or 0), float(r.cache_n or 0), float(r.predicted_n or 0), float(r.draft_n_accepted))


@dataclass(frozen=True)
class CostModel:
    prefill: tuple[float, float, float]  # k, a, b
    decode: tuple[float, float]  # g, h
    overhead: tuple[float, float]  # o, p
    accepted_fraction: float  # of generated tokens, on synthetic content (probes)
    n_turns: int

    def prefill_ms(self, w: Work) -> float:
        k, a, b = self.prefill
        return (k + w.n * (a + b * (w.c + w.n / 2))) if w.n else 0.0

    def decode_ms(self, w: Work) -> float:
        g, h = self.decode
        return w.steps * (g + h * (w.prompt + w.m / 2))

    def overhead_ms(self, w: Work) -> float:
        o, p = self.overhead
        return o + p * w.prompt

    def wall_ms(self, w: Work) -> float:
        return self.prefill_ms(w) + self.decode_ms(w) + self.overhead_ms(w)

    def as_dict(self) -> dict[str, Any]:
        return {"prefill_k_ms": self.prefill[0], "prefill_ms_per_token": self.prefill[1],
                "prefill_ms_per_token_per_depth": self.prefill[2], "decode_ms_per_step": self.decode[0],
                "decode_ms_per_step_per_depth": self.decode[1], "overhead_ms": self.overhead[0],
                "overhead_ms_per_prompt_token": self.overhead[1], "accepted_fraction": self.accepted_fraction,
                "fitted_turns": self.n_turns}


def nonnegative_fit(rows: list[list[float]], y: list[float]) -> list[float]:
    """Least squares with every coefficient at least zero (scipy's NNLS): a noisy turn must
    not make a cost fall with depth, nor a per-token cost negative."""
    if not rows:
        raise ValueError("no turns to fit")
    a = np.asarray(rows, dtype=float)
    b = np.asarray(y, dtype=float)
    # scale the columns so that nnls sees comparable magnitudes (depth terms are ~1e4 larger)
    scale = np.where(np.abs(a).max(axis=0) > 0, np.abs(a).max(axis=0), 1.0)
    x, _ = optimize.nnls(a / scale, b)
    return list(x / scale)


def fit_cost_model(records: Iterable[TurnResult], probe_traces: set[str]) -> CostModel:
    ok = [r for r in records if r.ok and r.prompt_ms is not None]
    pre = [(work_of(r), r.prompt_ms) for r in ok if r.prompt_n]
    dec = [(work_of(r), r.predicted_ms) for r in ok if r.predicted_n]
    ovh = [(work_of(r), max(float(r.request_overhead_ms or 0), 0.0)) for r in ok]
    k, a, b = nonnegative_fit([[1.0, w.n, w.n * (w.c + w.n / 2)] for w, _ in pre], [y for _, y in pre])
    g, h = nonnegative_fit([[w.steps, w.steps * (w.prompt + w.m / 2)] for w, _ in dec], [y for _, y in dec])
    o, p = nonnegative_fit([[1.0, w.prompt] for w, _ in ovh], [y for _, y in ovh])
    probes = [r for r in ok if r.trace in probe_traces and r.predicted_n]
    generated = sum(r.predicted_n or 0 for r in probes)
    frac = sum(r.draft_n_accepted for r in probes) / generated if generated else 0.0
    return CostModel((k, a, b), (g, h), (o, p), frac, len(ok))


def _mean_by_turn(records: Iterable[TurnResult]) -> dict[tuple[str, int], dict[str, float]]:
    """Per (trace, turn): the mean over repetitions of times and counts."""
    groups: dict[tuple[str, int], list[TurnResult]] = defaultdict(list)
    for r in records:
        if r.ok:
            groups[(r.trace, r.turn)].append(r)
    keys = ("wall_ms", "prompt_ms", "predicted_ms", "prompt_n", "cache_n", "predicted_n", "draft_n",
            "draft_n_accepted", "request_overhead_ms")
    return {k: {f: float(np.mean([float(getattr(r, f) or 0) for r in rs])) for f in keys}
            for k, rs in groups.items()}


def _bench(records: Sequence[TurnResult], labels: dict[str, Any], test_prefix: str) -> dict[int, float]:
    """Per depth: mean ms of the bench turns whose label starts with ``test_prefix``."""
    out: dict[int, list[float]] = defaultdict(list)
    field = "prompt_ms" if test_prefix == "pp" else "predicted_ms"
    for r in records:
        label = labels.get(r.trace, {}).get("turns", {}).get(str(r.turn))
        if label and label["test"].startswith(test_prefix) and r.ok:
            count = r.prompt_n if field == "prompt_ms" else r.predicted_n
            out[label["depth"]].append(float(getattr(r, field) or 0) / max(float(count or 1), 1.0))
    return {d: float(np.mean(v)) for d, v in out.items()}  # ms per token


def bench_table(records: Sequence[TurnResult], labels: dict[str, Any]) -> dict[str, BenchDepth]:
    """llama-bench-like figures per depth: prefill and generation tokens per second."""
    pp, tg = _bench(records, labels, "pp"), _bench(records, labels, "tg")
    return {str(d): BenchDepth(1000 / pp[d] if pp.get(d) else None, 1000 / tg[d] if tg.get(d) else None)
            for d in sorted(set(pp) | set(tg))}


def _speedup(base: float, cand: float) -> float | None:
    return base / cand if cand > 0 else None


def fit_speculative(base_turns: dict[tuple[str, int], dict[str, Any]],
                    cand_turns: dict[tuple[str, int], dict[str, Any]]) -> dict[str, Any] | None:
    """Fit a (acceptance rate) and c (draft cost relative to a target step) of the classic
    relation to the candidate's real turns: tokens per step and decode speedup per turn."""
    tau, sigma, gammas = [], [], []
    for key, c in cand_turns.items():
        b = base_turns.get(key)
        m, acc, drafted = c["predicted_n"], c["draft_n_accepted"], c["draft_n"]
        if not b or m < 2 or drafted <= 0 or not c["predicted_ms"] or not b["predicted_ms"]:
            continue
        steps = max(m - acc, 1.0)
        tau.append(m / steps)
        sigma.append((b["predicted_ms"] / b["predicted_n"]) / (c["predicted_ms"] / m))
        gammas.append(drafted / steps)
    if len(tau) < 2:
        return None
    gamma = max(1, round(float(np.mean(gammas))))

    def tokens_per_step(alpha: float) -> float:
        return float(gamma + 1) if alpha >= 1 else (1 - alpha ** (gamma + 1)) / (1 - alpha)

    def residuals(x: np.ndarray) -> np.ndarray:
        alpha, cost = x
        t = tokens_per_step(alpha)
        return np.concatenate([np.asarray(tau) - t, np.asarray(sigma) - t / (gamma * cost + 1)])

    res = optimize.least_squares(residuals, x0=[0.5, 0.5], bounds=([0.0, 0.0], [0.999, 10.0]))
    alpha, cost = (float(v) for v in res.x)
    return {"alpha": alpha, "c": cost, "gamma": gamma, "turns": len(tau),
            "predicted_decode_speedup": tokens_per_step(alpha) / (gamma * cost + 1),
            "measured_decode_speedup": float(np.mean(sigma))}


def _total(model: CostModel, works: list[Work], parts: str = "wall", **change: Any) -> float:
    total = 0.0
    for w in works:
        if change.get("cold"):
            w = Work(w.prompt, 0.0, w.m, w.accepted)
        if "accepted_fraction" in change:
            w = Work(w.n, w.c, w.m, w.m * change["accepted_fraction"])
        prefill_model = change.get("prefill_model", model)
        if "prefill" in parts:
            total += prefill_model.prefill_ms(w)
        if "decode" in parts:
            total += model.decode_ms(w)
        if "overhead" in parts:
            total += model.overhead_ms(w)
    return total


def compare(base_real: Sequence[TurnResult], cand_real: Sequence[TurnResult], base_synth: Sequence[TurnResult],
            cand_synth: Sequence[TurnResult], labels: dict[str, Any]) -> SyntheticComparison:
    """The ``synthetic`` object of one comparison (see docs/results.md)."""
    probe_traces = {name for name, v in labels.items() if v["kind"] == "probe"}
    mb, mc = fit_cost_model(base_synth, probe_traces), fit_cost_model(cand_synth, probe_traces)
    bt, ct = _mean_by_turn(base_real), _mean_by_turn(cand_real)
    keys = sorted(k for k in bt if k in ct)
    replayed = bool(keys)
    if not replayed:  # calibration only (`replay synth`): forecast the turns the shaped session stands for
        keys = sorted({(name.split(":", 2)[2], int(t)) for name, v in labels.items() if v["kind"] == "shaped"
                       for t in v["turns"]})
    real_b = [Work(bt[k]["prompt_n"], bt[k]["cache_n"], bt[k]["predicted_n"], bt[k]["draft_n_accepted"])
              for k in keys if k in bt]
    real_c = [Work(ct[k]["prompt_n"], ct[k]["cache_n"], ct[k]["predicted_n"], ct[k]["draft_n_accepted"])
              for k in keys if k in ct]
    measured_b = sum(bt[k]["wall_ms"] for k in keys if k in bt)
    measured_c = sum(ct[k]["wall_ms"] for k in keys if k in ct)

    # The forecast: shape from the shape-matched synthetic session, acceptance from the probes.
    shape_b, shape_c = _stand_ins(base_synth, labels, keys), _stand_ins(cand_synth, labels, keys)
    source = "shape-matched synthetic session" if shape_b and shape_c else "the real turns' token counts"
    fb = shape_b or [StandIn(w, w.m) for w in real_b]
    fc = shape_c or [StandIn(w, w.m) for w in real_c]
    pred_b, pred_c = _forecast(mb, fb), _forecast(mc, fc)
    predicted = _speedup(sum(pred_b), sum(pred_c))
    measured = _speedup(measured_b, measured_c) if replayed else None

    pp, tg = _ratios(base_synth, cand_synth, labels, "pp"), _ratios(base_synth, cand_synth, labels, "tg")
    tg_speedup = tg[min(tg)] if tg else None  # the shallowest depth: what a llama-bench tgN reports
    pp_speedup = pp[min(pp)] if pp else None

    gap, gap_log = _decompose(tg_speedup, measured, mb, mc, real_b, real_c)
    per_turn = tuple(PredictedTurn(k[0], k[1], bt[k]["wall_ms"] if replayed else None, pred_b[i],
                                   ct[k]["wall_ms"] if replayed else None, pred_c[i], fb[i].work.prompt, fb[i].work.m)
                     for i, k in enumerate(keys) if i < len(pred_b) and i < len(pred_c))
    accepted_real = sum(w.accepted for w in real_c) / sum(w.m for w in real_c) if real_c else None
    fit = fit_speculative(bt, ct) if replayed else None
    return SyntheticComparison(
        tg_speedup=tg_speedup,
        pp_speedup=pp_speedup,
        tg_speedup_by_depth={str(d): v for d, v in sorted(tg.items())},
        pp_speedup_by_depth={str(d): v for d, v in sorted(pp.items())},
        session_speedup_measured=measured,
        session_speedup_predicted=predicted,
        prediction_error=(predicted / measured - 1) if predicted and measured else None,
        baseline_predicted_s=sum(pred_b) / 1000, candidate_predicted_s=sum(pred_c) / 1000,
        baseline_wall_error=sum(pred_b) / measured_b - 1 if replayed and measured_b else None,
        candidate_wall_error=sum(pred_c) / measured_c - 1 if replayed and measured_c else None,
        prediction_shape_from=source,
        gap=gap,
        gap_log=gap_log,
        accepted_fraction={"probes": mc.accepted_fraction, "real": accepted_real,
                           **_accepted_by_content(cand_synth, labels)},
        speculative_fit=SpeculativeFit(**fit) if fit else None,
        models={"baseline": mb.as_dict(), "candidate": mc.as_dict()},
        per_turn=per_turn,
        session_speedup_predicted_interval=_bootstrap(base_synth, cand_synth, probe_traces, fb, fc,
                                                       [k[0] for k in keys]),
    )


@dataclass(frozen=True)
class StandIn:
    """One real turn's stand-in: the turn that ran (without a shape-matched session, the
    real turn's counts), the real answer's length, and the stand-in's measured times when
    it ran."""

    ran: Work  # it may have generated fewer tokens than the real turn
    generate: float
    prefill_ms: float | None = None
    decode_ms: float | None = None

    @property
    def work(self) -> Work:
        """What the forecast charges: the stand-in's prompt, the real answer's length
        (accepted drafts left to the probes)."""
        return Work(self.ran.n, self.ran.c, self.generate, 0.0)


# A stand-in measured beyond these multiples of its law is taken at the bound: one hiccup in
# a 50 ms turn must not scale a real turn of seconds by it.
SPEED_BOUNDS = (0.5, 2.0)


def _speed(measured: float, law_ms: float) -> float:
    """The stand-in's measured time over its law's: how fast the machine ran at that moment
    (1 when the law gives too little time to compare against)."""
    if law_ms < 1.0 or measured <= 0:
        return 1.0
    return min(max(measured / law_ms, SPEED_BOUNDS[0]), SPEED_BOUNDS[1])


def _speeds(model: CostModel, s: StandIn) -> tuple[float, float]:
    """How fast the stand-in's prefill and decode ran against the laws (1, 1 unmeasured)."""
    if s.prefill_ms is None or s.decode_ms is None:
        return 1.0, 1.0
    return _speed(s.prefill_ms, model.prefill_ms(s.ran)), _speed(s.decode_ms, model.decode_ms(s.ran))


def _forecast(model: CostModel, stand_ins: list[StandIn],
              wobble: Sequence[tuple[float, float]] | None = None) -> list[float]:
    """Each turn's predicted wall-clock: its shape and the probes' acceptance through the
    laws, prefill and decode each scaled by how its stand-in ran against the same laws. The
    stand-in ran seconds after the real turn, so it saw the machine's speed at that moment,
    which no law fitted over the whole calibration knows. ``wobble``: factors on those
    speeds, per turn (the bootstrap's)."""
    out = []
    for i, s in enumerate(stand_ins):
        w = Work(s.work.n, s.work.c, s.work.m, s.work.m * model.accepted_fraction)
        pre, dec = _speeds(model, s)
        if wobble is not None:
            pre, dec = pre * wobble[i][0], dec * wobble[i][1]
        out.append(model.prefill_ms(w) * pre + model.decode_ms(w) * dec + model.overhead_ms(w))
    return out


BOOTSTRAP = 400  # resamples: the interval's ends move by well under a percent between seeds
NEIGHBOURS = 2  # a stand-in's moment: the stand-ins at most this many turns away, in the same trace


def _strays(model: CostModel, stand_ins: list[StandIn], traces: list[str]) -> list[tuple[float, float]]:
    """Each stand-in's speeds over the median speeds of the stand-ins around it: how far one
    short stand-in strays from the speed of its moment, which is how far it may be from the
    real turn beside it."""
    speeds = [_speeds(model, s) for s in stand_ins]
    out = []
    for i, trace in enumerate(traces[:len(speeds)]):
        near = [speeds[j] for j in range(max(0, i - NEIGHBOURS), min(len(speeds), i + NEIGHBOURS + 1))
                if traces[j] == trace]
        level = (float(np.median([p for p, _ in near])), float(np.median([d for _, d in near])))
        out.append((speeds[i][0] / level[0], speeds[i][1] / level[1]))
    return out


def _wobble(strays: list[tuple[float, float]], n: int, rng: np.random.Generator) -> list[tuple[float, float]]:
    """Per turn, one stray drawn over another, independently: the stand-in strays from its
    moment's speed (divided out), and so may the real turn beside it (multiplied in)."""
    real, stand_in = rng.integers(0, len(strays), n), rng.integers(0, len(strays), n)
    return [(strays[i][0] / strays[j][0], strays[i][1] / strays[j][1]) for i, j in zip(real, stand_in)]


def _bootstrap(base_synth: Sequence[TurnResult], cand_synth: Sequence[TurnResult], probe_traces: set[str],
               fb: list[StandIn], fc: list[StandIn], traces: list[str]) -> tuple[float, float] | None:
    """95 % interval of the predicted speedup. Each resample refits both arms' laws on their
    calibration turns drawn with replacement within each workload (a draw keeps every test,
    probe and shaped session; only which of its turns, and how often, changes), and moves
    every turn's stand-in speeds by strays drawn from that arm's (see _strays, _wobble): a
    stand-in tells its moment's speed only to within how far stand-ins stray from their
    neighbours. It leaves out what no calibration shows: how real content runs unlike
    synthetic content. Fixed seed: the same run gives the same interval."""
    rng = np.random.default_rng(0)
    if len(base_synth) < 8 or len(cand_synth) < 8 or not fb or not fc:
        return None
    groups_b, groups_c = _by_trace(base_synth), _by_trace(cand_synth)
    out = []
    for _ in range(BOOTSTRAP):
        try:
            mb = fit_cost_model(_draw(groups_b, rng), probe_traces)
            mc = fit_cost_model(_draw(groups_c, rng), probe_traces)
        except ValueError:  # a draw without a single usable turn of some kind
            continue
        strays_b, strays_c = _strays(mb, fb, traces), _strays(mc, fc, traces)
        wobble_b = _wobble(strays_b, len(fb), rng)
        wobble_c = _wobble(strays_c, len(fc), rng)
        speedup = _speedup(sum(_forecast(mb, fb, wobble_b)), sum(_forecast(mc, fc, wobble_c)))
        if speedup:
            out.append(speedup)
    if len(out) < BOOTSTRAP // 2:
        return None
    low, high = np.percentile(out, [2.5, 97.5])
    return float(low), float(high)


def synthetic_sections(comparisons: Sequence[Comparison], real: Sequence[TurnResult], synthetic: Any
                       ) -> tuple[list[Comparison], dict[str, dict[str, BenchDepth]], list[str]]:
    """Each comparison with its synthetic-vs-real object, each variant's llama-bench-like
    table, and notes. ``synthetic``: an analysis.summary.SyntheticInput."""
    if not synthetic.complete:  # a fit on part of the calibration would forecast from whichever workloads ran first
        return list(comparisons), {}, [f"synthetic calibration interrupted after {len(synthetic.records)} turns "
                                       "(kept in synthetic.jsonl): no synthetic figures"]
    by_variant: dict[str, list[TurnResult]] = defaultdict(list)
    for r in synthetic.records:
        by_variant[r.variant].append(r)
    names = {c.baseline for c in comparisons} | {c.candidate for c in comparisons}
    bench = {name: bench_table(by_variant.get(name, []), synthetic.labels) for name in sorted(names)}
    out, notes = [], []
    for comp in comparisons:
        b, c = comp.baseline, comp.candidate
        try:
            syn = compare([r for r in real if r.variant == b], [r for r in real if r.variant == c],
                          by_variant.get(b, []), by_variant.get(c, []), synthetic.labels)
        except Exception as exc:  # noqa: BLE001  (too little calibration data, or a bug: say so, keep the run)
            syn = None
            notes.append(f"synthetic model for {c} vs {b}: {exc}")
        out.append(replace(comp, synthetic=syn))
    return out, bench, notes


def _by_trace(records: Sequence[TurnResult]) -> list[list[TurnResult]]:
    groups: dict[str, list[TurnResult]] = defaultdict(list)
    for r in records:
        groups[r.trace].append(r)
    return list(groups.values())


def _draw(groups: list[list[TurnResult]], rng: np.random.Generator) -> list[TurnResult]:
    return [g[i] for g in groups for i in rng.integers(0, len(g), len(g))]


def _stand_ins(synth: Sequence[TurnResult], labels: dict[str, Any], keys: list[tuple[str, int]]) -> list[StandIn]:
    """Each real turn's stand-in in its trace's (first) shape-matched session; empty when
    some turn has none."""
    shaped_of: dict[str, str] = {}
    for name, v in labels.items():
        if v["kind"] == "shaped":
            shaped_of.setdefault(name.split(":", 2)[2], name)
    turns = _mean_by_turn([r for r in synth if r.trace in shaped_of.values()])
    out = []
    for trace, k in keys:
        name = shaped_of.get(trace, "")
        t = turns.get((name, k))
        if t is None:
            return []
        # a shaped turn may have generated fewer tokens than its real turn (synthetic.shaped_tokens)
        m = labels[name]["turns"].get(str(k), {}).get("generate", t["predicted_n"])
        ran = Work(t["prompt_n"], t["cache_n"], t["predicted_n"], t["draft_n_accepted"])
        out.append(StandIn(ran, float(m), t["prompt_ms"], t["predicted_ms"]))
    return out


def _ratios(base: Sequence[TurnResult], cand: Sequence[TurnResult], labels: dict[str, Any],
            test: str) -> dict[int, float]:
    b, c = _bench(base, labels, test), _bench(cand, labels, test)
    return {d: b[d] / c[d] for d in b if d in c and c[d] > 0}


def _accepted_by_content(records: Sequence[TurnResult], labels: dict[str, Any]) -> dict[str, float]:
    by: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for r in records:
        label = labels.get(r.trace, {}).get("turns", {}).get(str(r.turn))
        if label and label.get("content") and r.ok and r.predicted_n:
            key = label["test"]
            by[key][0] += float(r.draft_n_accepted)
            by[key][1] += float(r.predicted_n)
    return {k: a / n for k, (a, n) in sorted(by.items()) if n}


GAP_PARTS = ("output length and depth", "acceptance (real vs synthetic content)", "share of time in prefill",
             "MTP prefill penalty", "cache reuse", "request overhead", "unexplained (model error)")


def _decompose(tg_speedup: float | None, measured: float | None, mb: CostModel, mc: CostModel,
               real_b: list[Work], real_c: list[Work]) -> tuple[dict[str, float] | None, dict[str, float] | None]:
    """Walk from the synthetic tg speedup to the measured session speedup, one factor at a time."""
    if not tg_speedup or not measured or not real_b:
        return None, None

    def s(parts: str, **change: Any) -> float:
        cb = {k: v for k, v in change.items() if k != "prefill_model"}
        b = _total(mb, real_b, parts, **({**cb, "accepted_fraction": mb.accepted_fraction}
                                         if change.get("synthetic_acceptance") else cb))
        c = _total(mc, real_c, parts, **({**change, "accepted_fraction": mc.accepted_fraction}
                                         if change.get("synthetic_acceptance") else change))
        return b / c if c > 0 else float("nan")

    chain = [
        tg_speedup,
        s("decode", synthetic_acceptance=True),
        s("decode"),
        s("decode+prefill", cold=True, prefill_model=mb),
        s("decode+prefill", cold=True),
        s("decode+prefill"),
        s("decode+prefill+overhead"),
        measured,
    ]
    if any(not (x > 0) for x in chain):
        return None, None
    logs = {name: math.log(chain[i + 1] / chain[i]) for i, name in enumerate(GAP_PARTS)}
    total = math.log(measured / tg_speedup)
    shares = {name: (v / total if abs(total) > 1e-9 else 0.0) for name, v in logs.items()}
    return shares, logs
