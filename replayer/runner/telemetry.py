"""NVML sampling in a background thread while the arms run (``nvidia-ml-py``).

Without the NVIDIA driver (every CPU machine) :func:`open_sampler` returns ``None`` and
the reason, and the report says the GPU was not measured.
"""

from __future__ import annotations

import threading
import time

from replayer.analysis.telemetry import NOT_MEASURED, Sample


class GpuSampler:
    def __init__(self, nvml, handles: list, period_s: float = 0.1) -> None:
        self._nvml, self._handles, self.period_s = nvml, handles, period_s
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gpu-sampler", daemon=True)

    def start(self) -> "GpuSampler":
        self._thread.start()
        return self

    def stop(self) -> list[Sample]:
        self._stop.set()
        self._thread.join(5)
        try:
            self._nvml.nvmlShutdown()
        except Exception:  # noqa: BLE001  (shutting down a library that may already be gone)
            pass
        return self.samples

    def _run(self) -> None:
        nvml = self._nvml
        while not self._stop.is_set():
            try:
                power = sum(nvml.nvmlDeviceGetPowerUsage(h) for h in self._handles) / 1000.0  # mW -> W
                memory = sum(nvml.nvmlDeviceGetMemoryInfo(h).used for h in self._handles)
                util = sum(nvml.nvmlDeviceGetUtilizationRates(h).gpu for h in self._handles) / len(self._handles)
                self.samples.append(Sample(time.perf_counter(), power, int(memory), float(util)))
            except Exception:  # noqa: BLE001  (one failed read: skip the sample, keep sampling)
                pass
            self._stop.wait(self.period_s)


def open_sampler(period_s: float = 0.1) -> tuple[GpuSampler | None, str | None]:
    """A started sampler over every visible NVIDIA GPU, or (None, why not)."""
    try:
        import pynvml as nvml
    except ImportError:
        return None, NOT_MEASURED + ": nvidia-ml-py is not installed"
    try:
        nvml.nvmlInit()
        handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(nvml.nvmlDeviceGetCount())]
    except Exception:  # noqa: BLE001  (NVMLError_LibraryNotFound / DriverNotLoaded on CPU machines)
        return None, NOT_MEASURED
    if not handles:
        return None, NOT_MEASURED
    return GpuSampler(nvml, handles, period_s).start(), None
