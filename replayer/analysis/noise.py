"""Was the machine quiet while the run measured? CPU used by anything other than the run.

A benchmark on a shared machine is only as good as its quiet: while other work ran on this
project's 2-core machine, a decode ratio came out 4.37x with an interval of [0.63, 18.3].
The sampler (runner/noise.py) reads, every half second, how much CPU the whole machine
spent busy and how much of it was this run's own process tree (replayer and its servers,
reaped children included); the difference is foreign work. This module turns the samples
into the summary's ``noise`` section, pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from replayer.results.summary import NoiseSection, OwnServer

FOREIGN_MEAN_CORES = 0.25  # a quarter of a core of other work on average makes the run busy
SPIKE_CORES = 1.0  # ... and so does a whole core of it ...
SPIKE_S = 5.0  # ... held for this long


@dataclass(frozen=True)
class CpuSample:
    t: float  # monotonic seconds
    busy_s: float  # CPU seconds the whole machine has spent busy (all cores, since boot)
    own_s: float  # CPU seconds of this run's process tree (reaped children included)
    load1: float  # the host's one-minute load average


def foreign_cores(a: CpuSample, b: CpuSample) -> float:
    """Cores' worth of other work between two samples (never negative: clocks tick apart)."""
    dt = b.t - a.t
    return max(0.0, ((b.busy_s - a.busy_s) - (b.own_s - a.own_s)) / dt) if dt > 0 else 0.0


def noise_section(samples: Sequence[CpuSample], cores: int,
                  own_servers: Sequence[OwnServer] = ()) -> NoiseSection | None:
    """The noise over the run; None with fewer than two samples (nothing to difference).
    ``own_servers``: url arms' servers the sampler counted as this run's, or why it could not."""
    if len(samples) < 2:
        return None
    seconds = samples[-1].t - samples[0].t
    if seconds <= 0:
        return None
    mean = foreign_cores(samples[0], samples[-1])
    peak = _peak(samples)
    load = sum(s.load1 for s in samples) / len(samples)
    busy = mean > FOREIGN_MEAN_CORES or peak > SPIKE_CORES
    message = None
    if busy:
        message = (f"the machine was busy: other processes used {mean:.2f} core(s) on average and up to "
                   f"{peak:.2f} over {SPIKE_S:.0f} s (of {cores}; load average {load:.1f}) while this run measured; "
                   "its timings are not trustworthy")
        missed = [s for s in own_servers if s.local and not s.pids]
        if missed:
            message += "; " + "; ".join(f"{s.arm}'s server ({s.address}) could not be counted as this run's: "
                                        f"{s.reason}" for s in missed) + " (--allow-noisy if that is what was busy)"
    return NoiseSection(foreign_cores_mean=round(mean, 3), foreign_cores_peak=round(peak, 3),
                        load_mean=round(load, 2), cores=cores, seconds=round(seconds, 1), samples=len(samples),
                        busy=busy, threshold_mean_cores=FOREIGN_MEAN_CORES, threshold_spike_cores=SPIKE_CORES,
                        message=message, own_servers=tuple(own_servers), own_note=own_note(own_servers))


def own_note(servers: Sequence[OwnServer]) -> str | None:
    """One line: which servers this run did not start were counted as its own, and which arms
    the guard cannot see (remote ones, said once)."""
    counted = [s for s in servers if s.pids]
    remote = [s for s in servers if not s.local]
    parts = []
    if counted:
        where = ", ".join(f"{_port(s.address)}" + ("" if s.arm else " (behind a proxy)") for s in counted)
        pids = ", ".join(str(p) for s in counted for p in s.pids)
        parts.append(f"servers at {where} counted as this run's: pid(s) {pids}")
    if remote:
        parts.append("the noise guard covers only this machine: " +
                     ", ".join(f"{s.arm} ({s.address})" for s in remote) + " not measured")
    return "; ".join(parts) or None


def _port(address: str) -> str:
    return ":" + address.rstrip("/").rsplit(":", 1)[-1].split("/")[0] if ":" in address else address


def _peak(samples: Sequence[CpuSample]) -> float:
    """The most foreign work over any window of SPIKE_S or more (the whole run when shorter)."""
    if samples[-1].t - samples[0].t < SPIKE_S:
        return foreign_cores(samples[0], samples[-1])
    best, start = 0.0, 0
    for end in range(1, len(samples)):
        while samples[end].t - samples[start + 1].t >= SPIKE_S:  # the shortest window ending here
            start += 1
        if samples[end].t - samples[start].t >= SPIKE_S:
            best = max(best, foreign_cores(samples[start], samples[end]))
    return best


def worse(a: NoiseSection | None, b: NoiseSection | None) -> NoiseSection | None:
    """Of two runs' noise (``replay compare``), the busier."""
    if a is None or b is None:
        return a or b
    return max(a, b, key=lambda n: (n.busy, n.foreign_cores_mean))
