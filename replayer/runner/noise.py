"""The sampler behind the noise guard (analysis/noise.py): from /proc, in a thread.

This run's own CPU is its process tree: this process and every descendant (the servers),
each with ``cutime``/``cstime``, so a child that exited and was reaped keeps counting
through its parent; and the servers of its local ``url:`` arms, which the user started
(runner/listeners.py), with a server a proxy arm forwards to, found while a request is in
flight. Everything else the machine spent busy is foreign work. Elsewhere than Linux nothing
is sampled and the summary says nothing about noise.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

from replayer.analysis.noise import CpuSample
from replayer.results.summary import OwnServer
from replayer.runner.listeners import Adoption, Sockets, adopt_servers, socket_owners, upstream_ports

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class NoiseSampler:
    def __init__(self, period_s: float = 0.5, root: int | None = None, urls: Iterable[tuple[str, str]] = ()) -> None:
        """``urls``: (arm, url) of the arms whose servers this run did not start."""
        self.period_s, self.root = period_s, root or os.getpid()
        self.samples: list[CpuSample] = []
        self._urls = tuple(urls)
        self.own_servers: list[OwnServer] = []  # what the summary says of them
        self._adopted: dict[int, float] = {}  # pid -> the CPU it (and its tree) had spent when adopted
        self._solo: set[int] = set()  # adopted ancestors of this process: their own CPU only
        self._spent: dict[int, float] = {}  # pid -> what it spent since adoption when last seen
        self._ports_seen: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="replayer-noise", daemon=True)

    def __enter__(self) -> "NoiseSampler":
        if Path("/proc/stat").exists():
            for a in adopt_servers(self._urls):
                self._take_in(a.pids)
                self.own_servers.append(_own(a))
                self._ports_seen.add(a.port or 0)
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
            if self._adopted:
                self._follow()
            self.samples.append(sample(self.root, self._adopted_cpu))
        except (OSError, ValueError, IndexError):  # /proc changed its shape: no sample this time
            pass

    def _take_in(self, pids: Iterable[int]) -> None:
        """Adopt ``pids`` from now on: what they spent before is not this run's."""
        procs = {p.pid: p for p in proc_stats()}
        ours = tree_of(procs, [self.root, *(p for p in self._adopted if p not in self._solo)]) | self._solo
        ancestors = ancestors_of(procs, self.root)
        for pid in pids:
            if pid in ours or pid == 1 or pid not in procs:
                continue  # already counted, or init (which holds socket-activated listeners for everyone)
            solo = pid in ancestors  # its tree holds this run and whatever else it started
            if solo:
                self._solo.add(pid)
            self._adopted[pid] = procs[pid].cpu_s if solo else cpu_of(procs, tree_of(procs, [pid]))

    def _adopted_cpu(self, procs: dict[int, ProcStat]) -> float:
        """What the adopted processes spent since their adoption; one that has ended keeps what it
        spent when last seen (it is nobody's child here, so no cutime keeps it for us)."""
        for pid, before in self._adopted.items():
            if pid in procs:
                now = procs[pid].cpu_s if pid in self._solo else cpu_of(procs, tree_of(procs, [pid]))
                self._spent[pid] = now - before
        return sum(self._spent.values())

    def _follow(self) -> None:
        """A proxy arm's upstream: a local server an adopted process is connected to right now."""
        sockets = Sockets.read()
        for pid in list(self._adopted):
            for port in upstream_ports(pid, sockets) - self._ports_seen:
                self._ports_seen.add(port)
                owners, _ = socket_owners(sockets.listening[port])
                fresh = [p for p in owners if p not in self._adopted and p != self.root]
                if fresh:
                    self._take_in(fresh)
                    self.own_servers.append(OwnServer(None, f":{port}", tuple(fresh)))


def sample(root: int, adopted: Callable[[dict[int, ProcStat]], float] | None = None) -> CpuSample:
    """The machine now: its busy CPU, and this run's (``root``'s tree, plus what ``adopted``
    counts of the processes it took in)."""
    t = time.monotonic()
    load1 = float(Path("/proc/loadavg").read_text().split()[0])
    procs = {p.pid: p for p in proc_stats()}
    own = cpu_of(procs, tree_of(procs, [root])) + (adopted(procs) if adopted else 0.0)
    return CpuSample(t, machine_busy_s(), own, load1)


def _own(a: Adoption) -> OwnServer:
    return OwnServer(a.arm, a.url, a.pids, a.reason, a.local)


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
    return cpu_of(procs, tree_of(procs, [root]))


def tree_of(procs: dict[int, ProcStat], roots: Iterable[int]) -> set[int]:
    children: dict[int, list[int]] = {}
    for p in procs.values():
        children.setdefault(p.ppid, []).append(p.pid)
    tree, frontier = set(), list(roots)
    while frontier:
        pid = frontier.pop()
        if pid in procs and pid not in tree:
            tree.add(pid)
            frontier += children.get(pid, [])
    return tree


def ancestors_of(procs: dict[int, ProcStat], pid: int) -> set[int]:
    out = set()
    while pid in procs and procs[pid].ppid not in out and procs[pid].ppid > 0:
        pid = procs[pid].ppid
        out.add(pid)
    return out


def cpu_of(procs: dict[int, ProcStat], pids: set[int]) -> float:
    return sum(procs[p].cpu_s + procs[p].children_cpu_s for p in pids if p in procs)
