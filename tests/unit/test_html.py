"""report.html from a summary and the records alone: escaped text, GPU figures when measured,
the plots that the data supports, the sweep chart drawn in place (the browser test loads a
real run's page). The typed builders here are shared by test_exports.py."""

from __future__ import annotations

from dataclasses import replace

from replayer.analysis.figures import TraceMeta
from replayer.scenario.model import GateSpec
from replayer.analysis.summary import RunMeta, VariantFacts, summarize
from replayer.outputs.html import render_html
from replayer.results import TurnResult
from replayer.results.summary import GpuFigures, GpuSection, HostInfo, RunInfo, ServerInfo, Summary
from replayer.scenario.model import DEFAULT_SAMPLING, Variant
from replayer.scenario.model import SweepPlan
from replayer.scenario.sweep import expand_sweep

RUN = RunInfo(replayer_version="0", command="replay run <x>.yaml", started_at="2025-01-01T00:00:00+00:00",
              scenario="s.yaml", policy={}, host=HostInfo(cpu_model="cpu & co", cpu_affinity=2, memory_gib=8.0))
TRACE = TraceMeta("t", "0" * 64, 2, (3.0, 0.0))


def rec(variant: str, turn: int, rep: int = 0, wall: float = 100.0, prompt_ms: float = 20.0,
        predicted_ms: float = 70.0, prompt_n: int = 50, cache_n: int = 0, predicted_n: int = 11, draft_n: int = 0,
        acc: int = 0, tokens: tuple[int, ...] = (1, 2, 3)) -> TurnResult:
    return TurnResult(trace="t", turn=turn, variant=variant, repetition=rep, seq=0, wall_ms=wall, max_tokens=64,
                      max_tokens_source="usage", http_ms=wall - 1.0, harness_ms=0.25, prompt_ms=prompt_ms,
                      predicted_ms=predicted_ms, request_overhead_ms=wall - prompt_ms - predicted_ms,
                      prompt_tokens=prompt_n + cache_n, prompt_n=prompt_n, cache_n=cache_n, predicted_n=predicted_n,
                      draft_n=draft_n, draft_n_accepted=acc, tokens=tokens)


def records() -> list[TurnResult]:
    """One repetition; "on" is slower, drafts, and diverges at turn 1."""
    return [rec("off", 0), rec("off", 1, cache_n=40, prompt_n=10),
            rec("on", 0, wall=150.0, draft_n=12, acc=9),
            rec("on", 1, wall=150.0, cache_n=40, prompt_n=10, draft_n=8, acc=1, tokens=(1, 9, 3))]


def facts(name: str, speculative: bool, args: tuple[str, ...] = ()) -> VariantFacts:
    server = ServerInfo(url="http://127.0.0.1:1", managed=True, args=args, build="b1", version="v1")
    return VariantFacts(name, server, speculative, speculative)


def build(recs: list[TurnResult], *, gate: GateSpec | None = None, run: RunInfo | None = RUN,
          notes: tuple[str, ...] = ()) -> Summary:
    meta = RunMeta(scenario="s", baseline="off", variants=(facts("off", False), facts("on", True, ("-md", "<d>"))),
                   traces=(TRACE,), run=run, gate=gate, notes=notes)
    return summarize(recs, meta)


def summary() -> Summary:
    return build(records())


SWEEP = {"variant": "on", "args": {"--spec-draft-n-max": [2, 4]}}


def sweep_run() -> tuple[Summary, list[TurnResult]]:
    """An args sweep of "on" against "off": the point n-max=4 is the fastest."""
    plan: SweepPlan = expand_sweep(SWEEP, (Variant("off"), Variant("on", ("--spec-type", "draft-mtp"))), "off",
                                   DEFAULT_SAMPLING)
    walls = {"off": 100.0, plan.names[0]: 90.0, plan.names[1]: 80.0}
    recs = [rec(v, t, rep, wall=w + rep + t, draft_n=4 if v != "off" else 0, acc=3 if v != "off" else 0)
            for rep in range(3) for v, w in walls.items() for t in range(2)]
    meta = RunMeta(scenario="sweepy", baseline="off",
                   variants=(facts("off", False), *(facts(n, True) for n in plan.names)),
                   traces=(TRACE,), run=RUN, sweep=plan)
    return summarize(recs, meta), recs


def test_text_is_escaped_and_divergence_is_shown():
    html = render_html(summary(), records())
    assert "replay run &lt;x&gt;.yaml" in html and "cpu &amp; co" in html and "<x>" not in html
    assert "-md &lt;d&gt;" in html and "<d>" not in html
    assert "first divergence: trace t turn 1" in html
    assert "request handling, server + HTTP (s)" in html and "of which replayer itself (s)" in html
    assert html.count('<img class="plot"') == 3  # per-turn times, speedups, acceptance; no synthetic data


def test_gpu_figures_appear_when_measured_and_are_named_when_not():
    s = replace(summary(), gpu=GpuSection(measured=False, note="not measured (no NVIDIA GPU)"))
    assert "GPU power, energy and memory: not measured (no NVIDIA GPU)" in render_html(s, records())
    figures = {name: GpuFigures(avg_power_w=power, energy_j=power * 10, energy_per_token_j=power / 100,
                                peak_memory_bytes=3 * 2**30, avg_utilization_pct=None, measured_s=10.0)
               for name, power in (("off", 200.0), ("on", 250.0))}
    s = replace(s, gpu=GpuSection(measured=True, samples=10),
                variants={n: replace(v, gpu=figures[n]) for n, v in s.variants.items()})
    html = render_html(s, records())
    assert "GPU avg power (W)" in html and "250.0" in html and "1.250x" in html and "3.00" in html


def test_a_synthetic_only_run_has_no_session_tables():
    s = replace(summary(), run=replace(RUN, synthetic_only=True))
    html = render_html(s, [])
    assert "<h2>on vs off</h2>" not in html and "Per turn" not in html


def test_notes_problems_and_the_gate_are_shown():
    s = build(records(), gate=GateSpec(), notes=("calibration <interrupted>",))
    gate = s.comparisons[0].gate
    assert gate is not None and gate.failures  # the divergence at T=0 fails the gate
    html = render_html(s, records())
    assert '<p class="warn">note: calibration &lt;interrupted&gt;</p>' in html
    assert f"<b>Gate: {gate.verdict.upper()}</b>" in html and '<p class="regression">failure: ' in html
    assert all(f'problem: {p}' in html for p in s.problems)


def test_the_sweep_chart_is_drawn_from_the_summary_not_read_from_disk(tmp_path, monkeypatch):
    s, recs = sweep_run()
    monkeypatch.chdir(tmp_path)  # no sweep.png anywhere near
    html = render_html(s, recs)
    assert "<h2>Sweep</h2>" in html and html.count('<img class="plot"') == 4
    assert 'alt="sweep"' in html and "data:image/png;base64,iVBORw0KGgo" in html
    assert "<h2>Sweep</h2>" not in render_html(s, [])  # nothing replayed: no chart, as no sweep.png


