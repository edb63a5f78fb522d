"""The scenario: traces x variants x replay policy, as plain frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from replayer.analysis.gate import GateSpec

if TYPE_CHECKING:
    from replayer.scenario.sweep import SweepPlan
    from replayer.sources.synth.workloads import SyntheticSpec


class Generation(str, Enum):
    RECORDED = "recorded"  # max_tokens = recorded completion length, ignore_eos
    NATURAL = "natural"  # stop at EOS, capped by max_tokens


class CachePolicy(str, Enum):
    REUSE = "reuse"  # cache_prompt true: later turns reuse the prefix, as in the real session
    COLD = "cold"  # cache_prompt false: every turn is a full prefill


class Order(str, Enum):
    INTERLEAVED = "interleaved"  # per repetition ABBA..., so drift hits both arms alike
    RANDOM = "random"  # arms in a seeded random order per turn (replay.order_seed): no fixed pattern to alias
    SEQUENTIAL = "sequential"  # all repetitions of A, then of B


class OnError(str, Enum):
    CONTINUE = "continue"
    STOP = "stop"


# Every sampler is sent explicitly: a GGUF can carry other defaults (general.sampling.*).
DEFAULT_SAMPLING: dict[str, Any] = {
    "temperature": 0.0,
    "top_k": 0,
    "top_p": 1.0,
    "min_p": 0.0,
    "typical_p": 1.0,
    "top_n_sigma": -1.0,
    "xtc_probability": 0.0,
    "repeat_penalty": 1.0,
    "repeat_last_n": 0,
    "presence_penalty": 0.0,
    "frequency_penalty": 0.0,
    "dry_multiplier": 0.0,
    "mirostat": 0,
    "seed": 42,
}

# Flags pinned identically on every managed arm unless the scenario says otherwise.
DEFAULT_COMMON_ARGS: list[str] = [
    "-c", "61440", "-np", "1", "--fit", "off", "-fa", "off", "--poll", "0", "-t", "2", "-b", "2048", "-ub", "512",
    "--cache-ram", "0", "--metrics", "--no-webui",
]


@dataclass(frozen=True)
class Variant:
    name: str
    args: tuple[str, ...] = ()
    url: str | None = None
    # None: inferred from the args (a --spec-type other than none, or a draft model).
    expect_speculation: bool | None = None
    # The A/A arm (replay.aa): a second server identical to this baseline, to measure noise.
    aa_of: str | None = None

    @property
    def managed(self) -> bool:
        return self.url is None


@dataclass(frozen=True)
class ServerSpec:
    model: str
    binary: str | None
    common_args: tuple[str, ...]
    host: str = "127.0.0.1"
    startup_timeout_s: float = 180.0
    request_timeout_s: float = 900.0


@dataclass(frozen=True)
class ReplayPolicy:
    sampling: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_SAMPLING))
    generation: Generation = Generation.RECORDED
    max_tokens: int = 1024
    cache: CachePolicy = CachePolicy.REUSE
    warmup: int = 1
    repetitions: int = 1
    order: Order = Order.INTERLEAVED
    order_seed: int = 0
    aa: bool = False  # add an A/A arm: the baseline's exact configuration on a second server
    turns: int | None = None
    on_error: OnError = OnError.CONTINUE


@dataclass(frozen=True)
class Scenario:
    path: Path
    name: str
    description: str
    traces: tuple[Path, ...]
    server: ServerSpec
    variants: tuple[Variant, ...]
    baseline: str
    policy: ReplayPolicy
    output_dir: str
    gate: GateSpec | None = None
    sweep: "SweepPlan | None" = None
    synthetic: "SyntheticSpec | None" = None  # calibration workloads run on the same servers after the replay
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def variant(self, name: str) -> Variant:
        for v in self.variants:
            if v.name == name:
                return v
        raise KeyError(name)
