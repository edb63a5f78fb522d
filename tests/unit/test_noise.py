"""The noise guard: foreign CPU from samples, the busy verdict, and what the gate makes of it."""

import os

import pytest

from replayer.analysis.noise import CpuSample, noise_section, worse
from replayer.runner.noise import own_cpu_s, sample


def samples(foreign_per_s, own_per_s=1.5, period=0.5, load=0.5):
    """A run whose other work uses foreign_per_s[i] cores during second i."""
    out, busy, own, t = [CpuSample(0.0, 100.0, 10.0, load)], 100.0, 10.0, 0.0
    for f in foreign_per_s:
        for _ in range(int(1 / period)):
            t += period
            own += own_per_s * period
            busy += (own_per_s + f) * period
            out.append(CpuSample(t, busy, own, load))
    return out


def test_a_quiet_machine_is_not_busy():
    n = noise_section(samples([0.02] * 30), cores=2)
    assert not n.busy and n.message is None
    assert n.foreign_cores_mean == pytest.approx(0.02, abs=1e-6) and n.seconds == 30.0


def test_a_quarter_core_on_average_makes_it_busy():
    n = noise_section(samples([0.3] * 30), cores=2)
    assert n.busy and n.foreign_cores_mean == pytest.approx(0.3)
    assert n.message.startswith("the machine was busy: other processes used 0.30 core(s) on average")


def test_a_sustained_spike_makes_it_busy_even_when_the_mean_is_low():
    n = noise_section(samples([0.0] * 50 + [1.5] * 6 + [0.0] * 50), cores=2)
    assert n.foreign_cores_mean < 0.25 and n.foreign_cores_peak == pytest.approx(1.5)
    assert n.busy


def test_a_short_blip_is_not_a_spike():
    n = noise_section(samples([0.0] * 50 + [1.8] + [0.0] * 50), cores=2)
    assert n.foreign_cores_peak < 1.0 and not n.busy


def test_too_few_samples_say_nothing():
    assert noise_section([], 2) is None and noise_section(samples([])[:1], 2) is None


def test_the_busier_of_two_runs_is_the_one_a_comparison_carries():
    quiet, busy = noise_section(samples([0.0] * 10), 2), noise_section(samples([0.9] * 10), 2)
    assert worse(quiet, busy) is busy and worse(None, quiet) is quiet


def test_this_process_tree_counts_as_its_own():
    s = sample(os.getpid())
    assert s.busy_s > 0 and 0 < s.own_s <= s.busy_s + 1
    assert own_cpu_s(os.getpid()) >= 0


def test_a_busy_machine_turns_a_verdict_inconclusive_unless_allowed():
    from replayer.analysis.gate import GateResult, Verdict, _on_a_busy_machine

    passed = GateResult(Verdict.PASS, [], "pass: wall ratio 1.000, 95% CI [0.98, 1.01] stays within +3.0%", None)
    why = "the machine was busy: other processes used 0.90 core(s) on average"
    held = _on_a_busy_machine(passed, why, allowed=False)
    assert held.verdict is Verdict.INCONCLUSIVE and held.message.startswith(f"inconclusive: {why}")
    assert "--allow-noisy" in held.message
    kept = _on_a_busy_machine(passed, why, allowed=True)
    assert kept.verdict is Verdict.PASS and "kept with --allow-noisy" in kept.message
    assert _on_a_busy_machine(passed, None, allowed=False) is passed
