"""GPU telemetry aggregation on recorded samples (no GPU needed)."""

import pytest

from replayer.analysis.telemetry import Sample, aggregate, by_variant, gpu_section
from replayer.results.record import TurnError, TurnResult
from replayer.results.summary import GpuFigures, GpuSection


def samples(power_of):  # 10 Hz for 10 s
    return [Sample(t / 10, power_of(t / 10), int(1e9 + 1e8 * (t / 10)), 50.0) for t in range(101)]


def rec(variant, start, end, predicted_n=10, error=None):
    return TurnResult(trace="t", turn=0, variant=variant, repetition=0, seq=0, wall_ms=800.0,
                      max_tokens=64, max_tokens_source="usage", mono_start_s=start, mono_end_s=end,
                      predicted_n=predicted_n, error=error)


def test_energy_power_and_memory_over_request_windows():
    s = samples(lambda t: 300.0 if t < 5 else 100.0)
    out = aggregate(s, [(1.0, 3.0, 100), (6.0, 7.0, 50)])  # 2 s at 300 W, 1 s at 100 W
    assert isinstance(out, GpuFigures)
    assert out.energy_j == pytest.approx(700.0)
    assert out.avg_power_w == pytest.approx(700.0 / 3)
    assert out.energy_per_token_j == pytest.approx(700.0 / 150)
    assert out.peak_memory_bytes == int(1e9 + 1e8 * 7.0)  # the largest sample inside a window
    assert out.avg_utilization_pct == pytest.approx(50.0)
    assert out.measured_s == pytest.approx(3.0)


def test_a_window_shorter_than_the_period_takes_the_nearest_sample():
    s = samples(lambda t: 10.0 * t)
    out = aggregate(s, [(2.02, 2.04, 1)])  # no sample inside; nearest is t = 2.0 (20 W)
    assert out.avg_power_w == pytest.approx(20.0)
    assert out.energy_j == pytest.approx(20.0 * 0.02)


def test_arms_interleaved_turn_by_turn_get_their_own_samples():
    s = samples(lambda t: 200.0 if int(t) % 2 == 0 else 50.0)  # the busy arm runs in even seconds
    records = [rec("on" if k % 2 == 0 else "off", k + 0.1, k + 0.9) for k in range(10)]
    records.append(rec("off", 0.0, 9.0, predicted_n=1, error=TurnError("http_error", "x", 500)))  # failed: no count
    out = by_variant(s, records)
    assert out["on"].avg_power_w == pytest.approx(200.0)
    assert out["off"].avg_power_w == pytest.approx(50.0)
    assert out["on"].energy_per_token_j == pytest.approx(200.0 * 0.8 / 10)


def test_requests_without_a_window_are_left_out():
    s = samples(lambda t: 100.0)
    out = by_variant(s, [rec("on", 1.0, 2.0), rec("on", None, 3.0), rec("on", 4.0, None), rec("off", None, None)])
    assert set(out) == {"on"} and out["on"].measured_s == pytest.approx(1.0)


def test_no_samples_no_figures():
    assert aggregate([], [(0.0, 1.0, 5)]) is None


def test_the_runs_gpu_section():
    records = [rec("on", 1.0, 2.0), rec("off", 3.0, 3.0)]  # an empty window measures nothing
    section, figures = gpu_section(samples(lambda t: 100.0), records, None)
    assert section == GpuSection(measured=True, samples=101)
    assert set(figures) == {"on"} and figures["on"].energy_j == pytest.approx(100.0)
    # no samples: a note when the run asked for the GPU, nothing at all when it did not (replay compare)
    assert gpu_section([], records, "not measured (no NVIDIA GPU)") == (
        GpuSection(measured=False, note="not measured (no NVIDIA GPU)"), {})
    assert gpu_section([], records, None) == (None, {})
