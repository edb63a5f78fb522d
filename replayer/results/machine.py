"""What a machine and a llama-server build offer, as ``replay check`` finds them: plain
facts that runner/ gathers and analysis/ judges."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Gpu:
    index: int
    name: str
    total_mib: int
    free_mib: int
    compute_capability: str | None  # "9.0"; what CMAKE_CUDA_ARCHITECTURES wants without the dot


@dataclass(frozen=True)
class BinaryFacts:
    path: str
    origin: str  # how it was found (flag, scenario, env, PATH, package)
    version: str | None
    sha256: str  # of the executable; the fingerprint of everything it loads needs a running server
    backends: tuple[str, ...]  # ggml backends it can load: cpu, cuda, metal, vulkan, ...
    devices: tuple[str, ...]  # what it lists with --list-devices: "CUDA0: NVIDIA H200 (...)"
    error: str | None = None  # why it could not say (it failed to run)

    @property
    def gpu_backend(self) -> bool:
        return any(b != "cpu" for b in self.backends) or bool(self.devices)
