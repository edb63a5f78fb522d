"""What this machine can run on: the GPUs NVML sees, and what a llama-server binary was
built for, from its own output (``--version``, ``--list-devices``) and the ggml backend
libraries beside it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from replayer.results.machine import BinaryFacts, Gpu
from replayer.runner.fingerprint import file_sha256
from replayer.runner.host import server_version

# "  CUDA0: NVIDIA H200 (143000 MiB, 142000 MiB free)": a device line of --list-devices
_DEVICE = re.compile(r"^\s+([A-Za-z]+)(\d+): (.+?)(?: \((\d+) MiB, (\d+) MiB free\))?\s*$")
_BACKEND_LIB = re.compile(r"^libggml-(?!base)([a-z0-9]+)(?:-[\w]+)?\.so$")


def visible_gpus() -> tuple[tuple[Gpu, ...], str]:
    """The NVIDIA GPUs NVML sees, and how it answered ("NVML: 1 GPU", "no NVIDIA driver", ...)."""
    try:
        import pynvml as nvml
    except ImportError:
        return (), "nvidia-ml-py is not installed"
    try:
        nvml.nvmlInit()
    except Exception as exc:  # noqa: BLE001  (NVMLError_LibraryNotFound / DriverNotLoaded on CPU machines)
        return (), f"no NVIDIA driver, NVML says: {exc}"
    try:
        gpus = tuple(_gpu(nvml, i) for i in range(nvml.nvmlDeviceGetCount()))
    finally:
        nvml.nvmlShutdown()
    return gpus, f"NVML: {len(gpus)} GPU(s)"


def _gpu(nvml, index: int) -> Gpu:
    handle = nvml.nvmlDeviceGetHandleByIndex(index)
    name = nvml.nvmlDeviceGetName(handle)
    memory = nvml.nvmlDeviceGetMemoryInfo(handle)
    try:
        major, minor = nvml.nvmlDeviceGetCudaComputeCapability(handle)
        capability: str | None = f"{major}.{minor}"
    except Exception:  # noqa: BLE001  (old drivers lack the call)
        capability = None
    return Gpu(index, name.decode() if isinstance(name, bytes) else str(name), memory.total >> 20,
               memory.free >> 20, capability)


def binary_facts(binary: Path, origin: str) -> BinaryFacts:
    version = server_version(binary)
    libs = _backend_libraries(binary)
    try:
        out = subprocess.run([str(binary), "--list-devices"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return BinaryFacts(str(binary), origin, version, file_sha256(binary), libs, (), f"--list-devices: {exc}")
    devices = tuple(line.strip() for line in out.stdout.splitlines() if _DEVICE.match(line))
    kinds = {m.group(1).lower() for line in out.stdout.splitlines() if (m := _DEVICE.match(line))}
    error = None if out.returncode == 0 else f"--list-devices exited with {out.returncode}: {_last(out.stderr)}"
    return BinaryFacts(str(binary), origin, version, file_sha256(binary), tuple(sorted(set(libs) | kinds)), devices,
                       error)


def _backend_libraries(binary: Path) -> tuple[str, ...]:
    """The ggml backends built beside the binary (libggml-cuda.so, libggml-cpu.so, ...): a
    build with dynamically loaded backends keeps them in its own or a sibling lib folder."""
    found = set()
    for folder in (binary.parent, binary.parent.parent / "lib", binary.parent.parent / "lib64"):
        if folder.is_dir():
            found |= {m.group(1) for p in folder.iterdir() if (m := _BACKEND_LIB.match(p.name))}
    return tuple(sorted(found))


def _last(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"
