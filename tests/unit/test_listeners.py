"""Which process serves a url arm: /proc/net/tcp and /proc/PID/fd, on a recorded table and a fake
/proc tree, and on a real process this test starts outside its own tree."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from replayer.analysis.noise import CpuSample, noise_section, own_note
from replayer.results.summary import OwnServer
from replayer.runner import listeners
from replayer.runner.listeners import Sockets, adopt, is_local, listening_inodes, socket_owners, upstream_ports
from replayer.runner.noise import NoiseSampler

FIXTURES = Path(__file__).parent.parent / "fixtures" / "proc"


@pytest.fixture
def proc(tmp_path: Path) -> Path:
    """A /proc with the recorded TCP tables; pid 100 holds the listener on 127.0.0.1:59373
    (inode 201931), pid 200 a connection to 127.0.0.1:37547 (inode 203169), pid 300 nothing."""
    root = tmp_path / "proc"
    (root / "net").mkdir(parents=True)
    shutil.copy(FIXTURES / "net_tcp.txt", root / "net" / "tcp")
    shutil.copy(FIXTURES / "net_tcp6.txt", root / "net" / "tcp6")
    for pid, links in {100: ["/dev/null", "socket:[201931]"], 200: ["socket:[203169]"], 300: ["pipe:[5]"]}.items():
        (root / str(pid) / "fd").mkdir(parents=True)
        for fd, target in enumerate(links):
            os.symlink(target, root / str(pid) / "fd" / str(fd))
    return root


def test_listening_sockets_by_port_on_the_recorded_table(proc):
    assert listening_inodes(0xE7ED, proc) == {201931}
    assert listening_inodes(0x07E8, proc) == {317}  # 0.0.0.0:2024 is local too
    assert listening_inodes(0xCE8E, proc) == set()  # only the client end of a connection uses it


def test_the_process_holding_the_listener(proc):
    assert socket_owners({201931}, proc) == ((100,), 0)
    assert socket_owners({999}, proc) == ((), 0)


def test_a_proxy_is_seen_connected_to_its_upstream(proc):
    sockets = Sockets.read(proc)
    assert sockets.connected[203169] == 0x92AB and 0x92AB in sockets.listening
    assert upstream_ports(200, sockets, proc) == {0x92AB}
    assert upstream_ports(300, sockets, proc) == set()


def test_adopt_says_why_when_it_cannot(proc, monkeypatch):
    monkeypatch.setattr(listeners, "is_local", lambda host: host != "gpu-box.example")
    assert adopt("on", "http://127.0.0.1:59373", proc).pids == (100,)
    remote = adopt("on", "http://gpu-box.example:8080", proc)
    assert not remote.local and "not this machine" in remote.reason
    assert "nothing listens on port 9" in adopt("on", "http://127.0.0.1:9", proc).reason
    hidden = adopt("on", "http://127.0.0.1:2024", proc)  # inode 317: no process here holds it
    assert hidden.pids == () and "another PID namespace" in hidden.reason
    real_listdir = os.listdir

    def denied(path):
        if str(path).endswith("300/fd"):
            raise PermissionError(13, "Permission denied")
        return real_listdir(path)

    monkeypatch.setattr(listeners.os, "listdir", denied)
    assert "cannot inspect (another user's)" in adopt("on", "http://127.0.0.1:2024", proc).reason


def test_local_addresses():
    assert is_local("127.0.0.1") and is_local("localhost")
    assert not is_local("192.0.2.1")  # TEST-NET-1: nobody's interface
    assert not is_local("no-such-host.invalid")


def test_what_the_reports_say():
    servers = [OwnServer("off", "http://127.0.0.1:18601", (11,)), OwnServer(None, ":18605", (12,)),
               OwnServer("gpu", "http://gpu-box:8080", (), "gpu-box is not this machine", local=False)]
    note = own_note(servers)
    assert note.startswith("servers at :18601, :18605 (behind a proxy) counted as this run's: pid(s) 11, 12")
    assert "covers only this machine: gpu (http://gpu-box:8080) not measured" in note
    busy = [CpuSample(0.0, 0.0, 0.0, 1.0), CpuSample(10.0, 18.0, 0.0, 1.0)]
    missed = noise_section(busy, 2, [OwnServer("on", "http://127.0.0.1:18603", (), "another user's")])
    assert missed.busy and "on's server (http://127.0.0.1:18603) could not be counted as this run's: " \
                           "another user's (--allow-noisy" in missed.message


BURNER = """
import os, socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
if os.fork():
    os._exit(0)  # the parent goes: the server is nobody's child but init's (or a subreaper's)
open(sys.argv[1] + ".tmp", "w").write(f"{os.getpid()} {s.getsockname()[1]}")
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
end = time.monotonic() + 20
while time.monotonic() < end:
    pass
"""


def test_a_server_started_outside_the_run_counts_as_its_own(tmp_path):
    """A CPU-burning listener that is not this process's descendant: foreign until adopted."""
    info = tmp_path / "burner"
    subprocess.run([sys.executable, "-c", BURNER, str(info)], check=True, timeout=10)
    deadline = time.monotonic() + 10
    while not info.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    pid, port = (int(x) for x in info.read_text().split())
    try:
        with NoiseSampler(period_s=0.2) as plain:
            time.sleep(1.5)
        a, b = plain.samples[0], plain.samples[-1]
        assert (b.own_s - a.own_s) / (b.t - a.t) < 0.3  # without the url it is foreign
        with NoiseSampler(period_s=0.2, urls=[("on", f"http://127.0.0.1:{port}")]) as sampler:
            time.sleep(1.5)
            os.kill(pid, 9)  # the process this test started, by its PID: it ends mid-run
            time.sleep(0.6)
        assert sampler.own_servers[0].pids == (pid,)
        first, last = sampler.samples[0], sampler.samples[-1]
        assert (last.own_s - first.own_s) / (last.t - first.t) > 0.4  # the burner's core is the run's own
        owns = [s.own_s for s in sampler.samples]
        assert owns == sorted(owns)  # what it spent stays counted after it ended
    finally:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
