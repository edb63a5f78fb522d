"""report.html from a summary alone: escaped text, GPU figures when measured, the plots
that the data supports (the browser test loads a real run's page)."""

from test_summary import build, rec

from replayer.outputs.html import render_html


def records():
    return [rec("off", 0), rec("off", 1, cache_n=40, prompt_n=10),
            rec("on", 0, wall=150.0, draft_n=12, acc=9), rec("on", 1, wall=150.0, cache_n=40, prompt_n=10,
                                                            draft_n=8, acc=1, tokens=[1, 9, 3])]


def summary():
    s = build(records())
    s["run"] = {"command": "replay run <x>.yaml", "host": {"cpu_model": "cpu & co"}}
    return s


def test_text_is_escaped_and_divergence_is_shown():
    html = render_html(summary(), records())
    assert "replay run &lt;x&gt;.yaml" in html and "cpu &amp; co" in html and "<x>" not in html
    assert "first divergence: trace t turn 1" in html
    assert html.count('<img class="plot"') == 3  # per-turn times, speedups, acceptance; no synthetic data


def test_gpu_figures_appear_when_measured_and_are_named_when_not():
    s = summary()
    s["gpu"] = {"measured": False, "note": "not measured (no NVIDIA GPU)"}
    assert "GPU power, energy and memory: not measured (no NVIDIA GPU)" in render_html(s, records())
    s["gpu"] = {"measured": True, "samples": 10}
    for name, power in (("off", 200.0), ("on", 250.0)):
        s["variants"][name]["gpu"] = {"avg_power_w": power, "energy_per_token_j": power / 100,
                                      "peak_memory_bytes": 3 * 2**30}
    html = render_html(s, records())
    assert "GPU avg power (W)" in html and "250.0" in html and "1.250x" in html and "3.00" in html


def test_a_synthetic_only_run_has_no_session_tables():
    s = summary()
    s["run"]["synthetic_only"] = True
    html = render_html(s, [])
    assert "<h2>on vs off</h2>" not in html and "Per turn" not in html
