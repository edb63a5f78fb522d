"""Managed llama-server processes: start on a free loopback port, wait for health, stop for sure.

Every process started here is tracked in ``_LIVE``; :func:`stop_all` (called on
normal exit, on error, on Ctrl-C and SIGTERM through the CLI, and at interpreter
exit) stops them. Children also get ``PR_SET_PDEATHSIG`` so that even a
SIGKILLed replayer takes its servers with it.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from replayer.errors import ServerStartError

_LIVE: set["ManagedServer"] = set()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass
    os.setsid()  # own process group: a terminal Ctrl-C reaches replayer, which stops servers in order
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _HELD)  # the server itself takes signals as usual


# Held while a server process is forked: a Ctrl-C landing in Python's fork handlers (run because of
# preexec_fn) is printed as "Exception ignored" and lost, so the run went on to the end. The mask
# covers this thread only and a signal sent to the process may land on another (the noise sampler,
# the progress bar), whose C handler still leaves it to this thread's next bytecode, so the main
# thread also swaps in handlers that only note the signal and send it again once the server is
# started and registered, to stop it with the others.
_HELD = {signal.SIGINT, signal.SIGTERM}
_CRASHES = {signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE, signal.SIGABRT}


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    noted: list[int] = []
    main = threading.current_thread() is threading.main_thread()
    handlers = {s: signal.signal(s, lambda signum, _frame: noted.append(signum)) for s in _HELD} if main else {}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
        for signum, handler in handlers.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        for signum in dict.fromkeys(noted):
            signal.raise_signal(signum)


def http_json(url: str, method: str = "GET", body: Any = None, timeout: float = 10.0) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
            status = resp.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read(), exc.code
    try:
        return status, json.loads(raw) if raw else None
    except json.JSONDecodeError:
        return status, raw.decode(errors="replace")


def http_text(url: str, timeout: float = 10.0) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.read().decode(errors="replace")


@dataclass(eq=False)
class ManagedServer:
    name: str
    binary: Path
    model: Path
    args: list[str]
    log_path: Path
    host: str = "127.0.0.1"
    port: int = 0
    proc: subprocess.Popen | None = field(default=None, repr=False)
    started_s: float = 0.0
    ready_s: float = 0.0

    def __post_init__(self) -> None:
        self.port = self.port or free_port(self.host)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def command(self) -> list[str]:
        return [str(self.binary), "-m", str(self.model), "--host", self.host, "--port", str(self.port), *self.args]

    def start(self, timeout_s: float) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.started_s = time.monotonic()
        try:
            with _signals_held():
                self.proc = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
                _LIVE.add(self)
        except OSError as exc:
            raise ServerStartError(f"variant {self.name}: cannot start {self.binary}: {exc.strerror}") from None
        finally:
            log.close()
        self._wait_healthy(timeout_s)
        self.ready_s = time.monotonic() - self.started_s

    def _wait_healthy(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            code = self.proc.poll() if self.proc else None
            if code is not None:
                self.stop()
                raise ServerStartError(f"variant {self.name}: llama-server exited with code {code} before it was ready "
                                       f"(log: {self.log_path})", self.log_tail())
            try:
                status, _ = http_json(self.url + "/health", timeout=2.0)
                if status == 200:
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise ServerStartError(f"variant {self.name}: llama-server not healthy after {timeout_s:.0f} s "
                                       f"(log: {self.log_path})", self.log_tail())
            time.sleep(0.05)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def how_it_ended(self) -> str:
        """For a person: "was killed by SIGSEGV (a crash)", "exited with code 1"."""
        if self.proc is None:
            return "was stopped by replayer"
        code = self.proc.poll()
        if code is None:
            return "is running"
        if code >= 0:
            return f"exited with code {code}"
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was killed by {name}" + (" (a crash)" if -code in _CRASHES else "")

    def log_tail(self, n: int = 25) -> str:
        try:
            with self.log_path.open("r", errors="replace") as fh:
                return "".join(deque(fh, maxlen=n)).rstrip()
        except OSError:
            return ""

    def stop(self, grace_s: float = 10.0) -> None:
        proc, self.proc = self.proc, None
        _LIVE.discard(self)
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def __enter__(self) -> "ManagedServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def stop_all() -> None:
    for server in list(_LIVE):
        server.stop(grace_s=5.0)


atexit.register(stop_all)
