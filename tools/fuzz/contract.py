"""The contract every input meets: it is accepted and the result validates against the trace
schema, or the project's InputError says why, with exit code 2, on one line. Anything else
(a traceback, a multi-line error, another exit code, an output that does not load) is a violation.

Traces and agent files go through the real command (``replay inspect`` / ``replay import``) in
this process, with stdout and stderr encoded as strict UTF-8 like a terminal's; scenarios
through ``load_scenario`` (``replay run`` would go on to start servers).
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import sys
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from tools.fuzz.mutate import DIRECTORY
from tools.fuzz.seeds import Seed

HANG_S = 20.0


@dataclass(frozen=True)
class Outcome:
    kind: str  # "ok", "error" (both meet the contract), "traceback", "multiline", "exit", "output", "hang"
    detail: str = ""  # the error line, or where and what went wrong

    @property
    def kept(self) -> bool:
        """The contract held."""
        return self.kind in ("ok", "error")


class Hang(BaseException):
    """Raised by the alarm when one input takes longer than HANG_S (BaseException: no
    ``except Exception`` in the code under test swallows it)."""


def write_files(workdir: Path, files: dict[str, bytes | None]) -> None:
    if workdir.exists():
        shutil.rmtree(workdir)
    for name, content in files.items():
        path = workdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if content is DIRECTORY:
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.write_bytes(content)


def check(seed: Seed, files: dict[str, bytes | None], workdir: Path, detect: bool = False) -> Outcome:
    """Write ``files`` under ``workdir`` and read them as ``seed.target`` says."""
    write_files(workdir, files)
    target = workdir / seed.main
    try:
        with _alarm(HANG_S):
            if seed.target == "scenario":
                return _scenario(target)
            if seed.target == "trace":
                return _cli(["inspect", str(target)], None)
            out = workdir / "out" / "trace.json"
            fmt = [] if detect else ["--format", seed.target]
            return _cli(["import", str(target), "-o", str(out), *fmt], out)
    except Hang:
        return Outcome("hang", f"no answer within {HANG_S:.0f} s")


@contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    def ring(*_: object) -> None:
        raise Hang()

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _scenario(path: Path) -> Outcome:
    from replayer.errors import ReplayerError
    from replayer.scenario.load import load_scenario

    try:
        load_scenario(path)
    except ReplayerError as exc:
        return _error_line(exc.exit_code, f"Error: {exc}")
    except Exception as exc:  # the violation this harness looks for: reported, not hidden
        return Outcome("traceback", _where(exc))
    return Outcome("ok")


def _cli(argv: list[str], output: Path | None) -> Outcome:
    from replayer.cli import main

    out, err = _strict_stream(), _strict_stream()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        code = main(argv)
    except Exception as exc:  # the violation this harness looks for: reported, not hidden
        return Outcome("traceback", _where(exc))
    finally:
        sys.stdout, sys.stderr = saved
    if code == 0:
        return _output_loads(output)
    stderr = err.buffer.getvalue().decode("utf-8")
    return _error_line(code, stderr.rstrip("\n"))


def _strict_stream() -> io.TextIOWrapper:
    # A terminal's stream: text that is not valid Unicode cannot be written to it.
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict", write_through=True)


def _error_line(code: int, text: str) -> Outcome:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return Outcome("multiline", f"not printable: {text!r}"[:300])
    if len(text.splitlines()) != 1 or not text.startswith("Error: "):
        return Outcome("multiline", repr(text)[:300])
    if code != 2:
        return Outcome("exit", f"exit code {code}: {text}"[:300])
    return Outcome("error", text)


def _output_loads(output: Path | None) -> Outcome:
    if output is None:
        return Outcome("ok")
    from replayer.errors import ReplayerError
    from replayer.trace import load_trace

    try:
        load_trace(output)
    except ReplayerError as exc:
        return Outcome("output", str(exc)[:300])
    return Outcome("ok")


def _where(exc: BaseException) -> str:
    """The exception and the innermost frame of replayer that raised it: one crash site."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f"{os.sep}replayer{os.sep}" in f.filename]
    site = frames[-1] if frames else traceback.extract_tb(exc.__traceback__)[-1]
    name = site.filename.split(f"{os.sep}replayer{os.sep}")[-1]
    return f"{type(exc).__name__} at replayer/{name}:{site.lineno} ({site.name}): {str(exc)[:160]}"
