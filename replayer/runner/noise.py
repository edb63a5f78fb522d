"""The sampler behind the noise guard (analysis/noise.py): from /proc, in a thread.

This run's own CPU is its process tree: this process and every descendant (the servers),
each with ``cutime``/``cstime``, so a child that exited and was reaped keeps counting
through its parent. Everything else the machine spent busy is foreign work. Elsewhere
than Linux nothing is sampled and the summary says nothing about noise.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from replayer.analysis.noise import CpuSample

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class NoiseSampler:
    def __init__(self, period_s: float = 0.5, root: int | None = None) -> None:
        self.period_s, self.root = period_s, root or os.getpid()
        self.samples: list[CpuSample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="replayer-noise", daemon=True)

    def __enter__(self) -> "NoiseSampler":
        if Path("/proc/stat").exists():
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> list[CpuSample]:
        if self._thread.is_alive():
            self._stop.set()
            self._thread.join()
            self._take()  # the end of the run, however it ended
        return self.samples

    def _run(self) -> None:
        while True:
            self._take()
            if self._stop.wait(self.period_s):
                return

    def _take(self) -> None:
        try:
            self.samples.append(sample(self.root))
        except (OSError, ValueError, IndexError):  # /proc changed its shape: no sample this time
            pass


def sample(root: int) -> CpuSample:
    t = time.monotonic()
    load1 = float(Path("/proc/loadavg").read_text().split()[0])
    return CpuSample(t, machine_busy_s(), own_cpu_s(root), load1)


def machine_busy_s() -> float:
    """CPU seconds the whole machine has spent busy since boot, all cores together."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    # every state but idle and iowait (fields 4 and 5); guest time is already inside user time
    return sum(int(x) for i, x in enumerate(fields[:8]) if i not in (3, 4)) / TICK


@dataclass(frozen=True)
class ProcStat:
    """What /proc/PID/stat says of one process that matters here."""

    pid: int
    name: str
    state: str
    ppid: int
    pgrp: int
    cpu_s: float  # utime + stime
    children_cpu_s: float  # cutime + cstime: its reaped children


def proc_stats() -> Iterator[ProcStat]:
    """Every process /proc lists now (one that ends while it is read is left out)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # the name is in parentheses and may itself hold spaces and parentheses
        rest = raw[raw.rindex(")") + 2:].split()
        yield ProcStat(int(entry), raw[raw.index("(") + 1:raw.rindex(")")], rest[0], int(rest[1]), int(rest[2]),
                       (int(rest[11]) + int(rest[12])) / TICK, (int(rest[13]) + int(rest[14])) / TICK)


def own_cpu_s(root: int) -> float:
    """CPU seconds of ``root`` and its descendants, reaped children included."""
    procs = {p.pid: p for p in proc_stats()}
    children: dict[int, list[int]] = {}
    for p in procs.values():
        children.setdefault(p.ppid, []).append(p.pid)
    tree, frontier = set(), [root]
    while frontier:
        pid = frontier.pop()
        if pid in procs and pid not in tree:
            tree.add(pid)
            frontier += children.get(pid, [])
    return sum(procs[p].cpu_s + procs[p].children_cpu_s for p in tree)
