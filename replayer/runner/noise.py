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
from pathlib import Path

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
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    # every state but idle and iowait (fields 4 and 5); guest time is already inside user time
    busy = sum(int(x) for i, x in enumerate(fields[:8]) if i not in (3, 4)) / TICK
    load1 = float(Path("/proc/loadavg").read_text().split()[0])
    return CpuSample(t, busy, own_cpu_s(root), load1)


def own_cpu_s(root: int) -> float:
    """CPU seconds of ``root`` and its descendants, reaped children included."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:  # it ended between the listing and the read
            continue
        rest = raw[raw.rindex(")") + 2:].split()
        pid = int(entry)
        parents[pid] = int(rest[1])
        cpu[pid] = sum(int(x) for x in rest[11:15]) / TICK  # utime stime cutime cstime
    tree, frontier = set(), [root]
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    while frontier:
        pid = frontier.pop()
        if pid in cpu and pid not in tree:
            tree.add(pid)
            frontier += children.get(pid, [])
    return sum(cpu[p] for p in tree)
