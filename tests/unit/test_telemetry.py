"""GPU telemetry aggregation on recorded samples (no GPU needed)."""

import pytest

from replayer.analysis.telemetry import Sample, aggregate, by_variant


def samples(power_of):  # 10 Hz for 10 s
    return [Sample(t / 10, power_of(t / 10), int(1e9 + 1e8 * (t / 10)), 50.0) for t in range(101)]


def test_energy_power_and_memory_over_request_windows():
    s = samples(lambda t: 300.0 if t < 5 else 100.0)
    out = aggregate(s, [(1.0, 3.0, 100), (6.0, 7.0, 50)])  # 2 s at 300 W, 1 s at 100 W
    assert out["energy_j"] == pytest.approx(700.0)
    assert out["avg_power_w"] == pytest.approx(700.0 / 3)
    assert out["energy_per_token_j"] == pytest.approx(700.0 / 150)
    assert out["peak_memory_bytes"] == int(1e9 + 1e8 * 7.0)  # the largest sample inside a window
    assert out["measured_s"] == pytest.approx(3.0)


def test_a_window_shorter_than_the_period_takes_the_nearest_sample():
    s = samples(lambda t: 10.0 * t)
    out = aggregate(s, [(2.02, 2.04, 1)])  # no sample inside; nearest is t = 2.0 (20 W)
    assert out["avg_power_w"] == pytest.approx(20.0)
    assert out["energy_j"] == pytest.approx(20.0 * 0.02)


def test_arms_interleaved_turn_by_turn_get_their_own_samples():
    s = samples(lambda t: 200.0 if int(t) % 2 == 0 else 50.0)  # the busy arm runs in even seconds
    records = [{"variant": "on" if k % 2 == 0 else "off", "mono_start_s": k + 0.1, "mono_end_s": k + 0.9,
                "predicted_n": 10, "error": None} for k in range(10)]
    records.append({"variant": "off", "mono_start_s": 0.0, "mono_end_s": 9.0, "predicted_n": 1,
                    "error": {"type": "http"}})  # failed requests do not count
    out = by_variant(s, records)
    assert out["on"]["avg_power_w"] == pytest.approx(200.0)
    assert out["off"]["avg_power_w"] == pytest.approx(50.0)
    assert out["on"]["energy_per_token_j"] == pytest.approx(200.0 * 0.8 / 10)


def test_no_samples_no_figures():
    assert aggregate([], [(0.0, 1.0, 5)]) is None
