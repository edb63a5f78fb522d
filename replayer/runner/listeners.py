"""Which process serves a `url:` arm on this machine, so the noise guard counts it as the run's own.

A server the user started is not in this run's process tree, so without this the guard counts
its CPU as foreign and every gate on self-started local servers comes out "the machine was
busy". The lookup is Linux's own bookkeeping: the listening socket's inode in
``/proc/net/tcp``/``tcp6``, then the process whose ``/proc/PID/fd`` holds that socket. Where
that cannot be told (a remote host, a listener of another user's, a port forwarded from a
container) the reason is kept, and the report says it instead of only calling the machine busy.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable
from urllib.parse import urlsplit

LISTEN = "0A"  # the TCP states /proc/net/tcp writes: listening, connected
ESTABLISHED = "01"


@dataclass(frozen=True)
class Adoption:
    """One url arm's server as the noise guard sees it."""

    arm: str
    url: str
    port: int | None
    local: bool
    pids: tuple[int, ...] = ()  # the listening process(es); their descendants count too
    reason: str | None = None  # why nothing was adopted (None when pids is not empty)


def adopt_servers(urls: Iterable[tuple[str, str]], proc: Path = Path("/proc")) -> tuple[Adoption, ...]:
    """For each (arm, url): the process listening on it here, or why there is none to adopt."""
    return tuple(adopt(arm, url, proc) for arm, url in urls)


def adopt(arm: str, url: str, proc: Path = Path("/proc")) -> Adoption:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = parts.hostname or "127.0.0.1"
    if not is_local(host):
        return Adoption(arm, url, port, False, reason=f"{host} is not this machine: the noise guard sees only this one")
    inodes = listening_inodes(port, proc)
    if not inodes:
        return Adoption(arm, url, port, True, reason=f"nothing listens on port {port} in this machine's network "
                                                      "namespace (a container's or a forwarded port?)")
    pids, denied = socket_owners(inodes, proc)
    if pids:
        return Adoption(arm, url, port, True, pids=pids)
    if denied:
        return Adoption(arm, url, port, True, reason=f"the listener on port {port} belongs to a process this user "
                                                      "cannot inspect (another user's)")
    return Adoption(arm, url, port, True, reason=f"no process visible here holds the listener on port {port} "
                                                  "(another PID namespace, e.g. a container)")


def is_local(host: str) -> bool:
    """Whether ``host`` names this machine: loopback, or an address one of its interfaces has
    (binding to it succeeds only then)."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_UDP)
    except OSError:
        return False
    for family, _, _, _, addr in infos:
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as s:
                s.bind((addr[0], 0))
            return True
        except OSError:
            continue
    return False


@dataclass(frozen=True)
class Sockets:
    """This network namespace's TCP sockets, as far as adoption needs them."""

    listening: dict[int, set[int]]  # port -> inodes listening on it
    connected: dict[int, int]  # inode of a socket connected within this machine -> the port it is connected to

    @classmethod
    def read(cls, proc: Path = Path("/proc")) -> "Sockets":
        listening: dict[int, set[int]] = {}
        connected: dict[int, int] = {}
        for name in ("tcp", "tcp6"):
            try:
                lines = (proc / "net" / name).read_text().splitlines()[1:]
            except OSError:
                continue
            for line in lines:
                fields = line.split()
                if len(fields) < 10 or fields[9] == "0":
                    continue
                if fields[3] == LISTEN:
                    listening.setdefault(int(fields[1].rsplit(":", 1)[1], 16), set()).add(int(fields[9]))
                elif fields[3] == ESTABLISHED:
                    local_ip, remote = fields[1].rsplit(":", 1)[0], fields[2].rsplit(":", 1)
                    if remote[0] == local_ip:  # a connection within this machine shows one address at both ends
                        connected[int(fields[9])] = int(remote[1], 16)
        return cls(listening, connected)


def listening_inodes(port: int, proc: Path = Path("/proc")) -> set[int]:
    """Inodes of the TCP sockets listening on ``port`` (any local address, IPv4 or IPv6)."""
    return Sockets.read(proc).listening.get(port, set())


def socket_inodes(pid: int, proc: Path = Path("/proc")) -> set[int]:
    """The inodes of the sockets process ``pid`` holds (none when it cannot be looked into)."""
    fd_dir = proc / str(pid) / "fd"
    out = set()
    try:
        fds = os.listdir(fd_dir)
    except OSError:
        return out
    for fd in fds:
        try:
            link = os.readlink(fd_dir / fd)
        except OSError:
            continue
        if link.startswith("socket:["):
            out.add(int(link[8:-1]))
    return out


def upstream_ports(pid: int, sockets: Sockets, proc: Path = Path("/proc")) -> set[int]:
    """Ports on this machine that ``pid`` is connected to and something here listens on: what a
    proxy in front of a local server forwards to (seen while a request is in flight)."""
    return {port for i in socket_inodes(pid, proc) if (port := sockets.connected.get(i)) in sockets.listening}


def socket_owners(inodes: set[int], proc: Path = Path("/proc")) -> tuple[tuple[int, ...], int]:
    """(the PIDs holding any of the sockets, how many processes could not be looked into)."""
    wanted = {f"socket:[{i}]" for i in inodes}
    owners, denied = [], 0
    for entry in sorted(os.listdir(proc), key=lambda e: (len(e), e)):
        if not entry.isdigit():
            continue
        fd_dir = proc / entry / "fd"
        try:
            fds = os.listdir(fd_dir)
        except PermissionError:
            denied += 1
            continue
        except OSError:  # it ended while we looked
            continue
        for fd in fds:
            try:
                if os.readlink(fd_dir / fd) in wanted:
                    owners.append(int(entry))
                    break
            except OSError:
                continue
    return tuple(owners), denied
