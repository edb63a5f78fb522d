"""GPU telemetry per variant from NVML samples, attributed by request windows.

Arms are interleaved turn by turn, so a variant's GPU figures come from the samples
taken while one of its requests was in flight. Energy over a window is its mean sampled
power times its duration (the nearest sample's power when the window is shorter than the
sampling period); energy per generated token divides the variant's energy by its tokens.
Pure functions, tested on recorded samples.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Iterable, Sequence

from replayer.results.record import TurnResult
from replayer.results.summary import GpuFigures, GpuSection

NOT_MEASURED = "not measured (no NVIDIA GPU)"


@dataclass(frozen=True)
class Sample:
    t: float  # time.perf_counter() seconds, the clock of the records' mono_start_s / mono_end_s
    power_w: float  # summed over the GPUs sampled
    memory_bytes: int  # used, summed over the GPUs sampled
    utilization: float  # percent, mean over the GPUs sampled


def aggregate(samples: list[Sample], windows: Iterable[tuple[float, float, int]]) -> GpuFigures | None:
    """``windows``: (start, end, generated tokens) of one variant's requests."""
    if not samples:
        return None
    samples = sorted(samples, key=lambda s: s.t)
    times = [s.t for s in samples]
    energy = duration = 0.0
    tokens = 0
    peak = 0
    util: list[float] = []
    for start, end, n in windows:
        if end <= start:
            continue
        lo, hi = bisect.bisect_left(times, start), bisect.bisect_right(times, end)
        inside = samples[lo:hi]
        if not inside:  # shorter than the sampling period: the nearest sample stands for it
            i = min(max(bisect.bisect_left(times, (start + end) / 2), 0), len(samples) - 1)
            if i > 0 and abs(times[i - 1] - (start + end) / 2) < abs(times[i] - (start + end) / 2):
                i -= 1
            inside = [samples[i]]
        power = sum(s.power_w for s in inside) / len(inside)
        energy += power * (end - start)
        duration += end - start
        tokens += n
        peak = max(peak, max(s.memory_bytes for s in inside))
        util.extend(s.utilization for s in inside)
    if duration <= 0:
        return None
    return GpuFigures(
        avg_power_w=energy / duration,
        energy_j=energy,
        energy_per_token_j=energy / tokens if tokens else None,
        peak_memory_bytes=peak,
        avg_utilization_pct=sum(util) / len(util) if util else None,
        measured_s=duration,
    )


def by_variant(samples: Sequence[Sample], records: Iterable[TurnResult]) -> dict[str, GpuFigures | None]:
    windows: dict[str, list[tuple[float, float, int]]] = {}
    for r in records:
        if r.mono_start_s is None or r.mono_end_s is None or not r.ok:
            continue
        windows.setdefault(r.variant, []).append((r.mono_start_s, r.mono_end_s, r.predicted_n or 0))
    return {name: aggregate(list(samples), w) for name, w in windows.items()}


def gpu_section(samples: Sequence[Sample], records: Iterable[TurnResult], note: str | None
                ) -> tuple[GpuSection | None, dict[str, GpuFigures]]:
    """The run's GPU line and each variant's figures. ``note`` None: not asked (replay compare)."""
    if not samples:
        return (None if note is None else GpuSection(measured=False, note=note)), {}
    figures = {name: figs for name, figs in by_variant(samples, records).items() if figs is not None}
    return GpuSection(measured=True, samples=len(samples)), figures
