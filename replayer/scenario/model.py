"""The scenario: traces x variants x replay policy, as plain frozen dataclasses."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from replayer.scenario.flags import selects_speculation, spell

if TYPE_CHECKING:
    from replayer.sources.synth.workloads import SyntheticSpec


class DivergencePolicy(str, Enum):
    FAIL = "fail"
    ALLOW = "allow"
    FAIL_CONFIDENT = "fail-confident"  # fail only on confident changes; near-ties are allowed


@dataclass(frozen=True)
class GateSpec:
    max_slowdown: float = 0.03  # candidate/baseline wall-clock may exceed 1 by at most this
    divergence: DivergencePolicy = DivergencePolicy.FAIL
    min_acceptance: float | None = None
    max_repetitions: int = 10
    metric: str = "wall"  # wall | prefill | decode
    # turns whose cached prompt tokens differ between the arms measure the cache, not the flag:
    # "exclude" leaves them out of the interval the gate judges, "include" keeps them
    cache_mismatch: str = "exclude"
    allow_noisy: bool = False  # a verdict stands on a busy machine (--allow-noisy); else it is inconclusive
    near_tie_nats: float = 0.1  # a divergence to the baseline's runner-up closer than this is a near-tie


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
    SKIP_SESSION = "skip_session"  # under load: a failed request ends its session; the others go on


class ThinkTime(str, Enum):
    NONE = "none"  # the next request of a session goes out as soon as the answer is in
    RECORDED = "recorded"  # the recorded gap between a response and the next request (tool runs, the human)


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
    # Running servers of this arm, one per session (a distributed run): a session always goes to the same one.
    endpoints: tuple[str, ...] = ()

    @property
    def managed(self) -> bool:
        return self.url is None and not self.endpoints

    def for_session(self, session: str) -> "Variant":
        """This arm as one session sees it: with endpoints, the one its name hashes to, so that the
        session's prefix cache stays on one server."""
        if not self.endpoints:
            return self
        pick = int.from_bytes(hashlib.sha256(session.encode()).digest()[:8], "big") % len(self.endpoints)
        return replace(self, url=self.endpoints[pick], endpoints=())

    @property
    def speculates(self) -> bool:
        """Whether this arm should draft: as declared, else from its flags."""
        if self.expect_speculation is not None:
            return self.expect_speculation
        return selects_speculation(self.args)


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
    oversize: str = "fail"  # a turn that cannot fit the slot context: "fail" (stop before the first request) or "skip"


@dataclass(frozen=True)
class SloSpec:
    """``slo:``: what every agent of a team must get (either bound, or both). Time to first token is
    what a non-streamed request waits before its first token (wall - the server's decode time)."""

    ttft_p90_s: float | None = None  # the 90th percentile of time to first token, over every request
    decode_tok_s_p10: float | None = None  # the 10th percentile of each session's decode speed

    @classmethod
    def of(cls, raw: Mapping[str, Any] | None) -> "SloSpec | None":
        """From a scenario's ``slo:`` mapping (validated: positive numbers, at least one)."""
        if raw is None:
            return None
        return cls(ttft_p90_s=float(raw["ttft_p90_s"]) if "ttft_p90_s" in raw else None,
                   decode_tok_s_p10=float(raw["decode_tok_s_p10"]) if "decode_tok_s_p10" in raw else None)

    def describe(self) -> str:
        parts = []
        if self.ttft_p90_s is not None:
            parts.append(f"time to first token p90 <= {self.ttft_p90_s:g} s")
        if self.decode_tok_s_p10 is not None:
            parts.append(f"per-session decode p10 >= {self.decode_tok_s_p10:g} tok/s")
        return ", ".join(parts)


@dataclass(frozen=True)
class LoadSpec:
    """The scenario's ``load:`` section: concurrent sessions against ``--parallel`` servers."""

    sessions: tuple[int, ...]  # concurrency levels: sessions in flight at once (search: the levels it may try)
    sessions_total: int | None = None  # sessions per level (None: as many as in flight)
    parallel: int | None = None  # server slots (-np) at every level; None: match the level
    think_time: ThinkTime = ThinkTime.NONE
    scale: float = 1.0  # recorded think time multiplied by this
    cap_s: float | None = None  # and capped at this
    distinct: bool = True  # a session marker keeps concurrent copies of a trace out of each other's cache
    shared_prefix: bool = False  # the marker goes after the system prompt: sessions share it, as a team would
    slo: SloSpec | None = None  # per arm, the largest level that meets it (analysis/slo.py)
    search: bool = False  # sessions: auto: the levels run are found by bisection against the slo

    def slots(self, level: int) -> int:
        return self.parallel or level

    def total(self, level: int) -> int:
        """Sessions replayed at ``level``. Level 1 replays as many as the largest level, one at a
        time: every session of every level then has its turns replayed alone to compare with (a
        search does not know its largest level in advance: its level 1 replays one session)."""
        if level == 1 and self.sessions_total is None and not self.search:
            return max(self.sessions)
        return max(self.sessions_total or level, level)


DEFAULT_TUNE_ARGS: dict[str, tuple[Any, ...]] = {"--spec-draft-n-max": (1, 2, 3, 4, 6)}


@dataclass(frozen=True)
class TuneSpec:
    """The scenario's ``tune:`` section (read by `replay tune` only): which flags to race, how."""

    plan: "SweepPlan"  # the arms: the baseline, the other variants and the grid over the drafting variant
    sessions: tuple[int, ...] = (1,)  # concurrency levels, a race at each
    sample: int = 8  # turns per trace and round, spread over the session's depths
    max_rounds: int = 6
    tolerance: float = 0.02  # survivors within this of the leader tie (the simplest wins)
    confidence: float = 0.95
    budget_s: float | None = None  # stop starting rounds after this much wall-clock
    slo: SloSpec | None = None  # per arm, the largest level that meets it


@dataclass(frozen=True)
class RaySpec:
    """Where and how a run's units run (``executor: {kind: ray}`` or ``--ray``;
    pipeline/distributed.py): ``address`` None runs them in this process, one at a time."""

    address: str | None = "auto"
    num_cpus: float = 1.0
    num_gpus: float = 0.0
    resources: Mapping[str, float] = field(default_factory=dict)  # custom resources a unit needs (llama_host: 1)
    placement_timeout_s: float = 600.0  # a unit that has not started by then: the run fails
    attempts: int = 3  # a unit whose worker or node died runs again, up to this many times in all

    @classmethod
    def asking(cls, address: str | None, resources: Mapping[str, float], **more: float) -> "RaySpec":
        """The spec for these resources per unit (``CPU`` and ``GPU`` among them, as Ray names them)."""
        res = dict(resources)
        return cls(address=address, num_cpus=res.pop("CPU", 1.0), num_gpus=res.pop("GPU", 0.0), resources=res,
                   **more)

    @property
    def asked(self) -> dict[str, float]:
        return {"CPU": self.num_cpus, "GPU": self.num_gpus, **self.resources}


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
    sweep: SweepPlan | None = None
    synthetic: "SyntheticSpec | None" = None
    load: LoadSpec | None = None  # concurrent sessions (runner/concurrent.py)
    executor: RaySpec | None = None  # executor: {kind: ray}: units on a Ray cluster (docs/distributed.md)
    tune: TuneSpec | None = None  # replay tune's race (None: no tune: section; replay tune uses the defaults)
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def variant(self, name: str) -> Variant:
        for v in self.variants:
            if v.name == name:
                return v
        raise KeyError(name)


@dataclass(frozen=True)
class SweepPoint:
    """One arm of the sweep."""

    variant: Variant  # name like ``mtp-on[--spec-draft-n-max=4]``; args with the flag(s) set
    values: tuple[tuple[str, Any], ...]  # (parameter, value) per swept parameter, in sweep order
    sampling: Mapping[str, Any] = field(hash=False)  # per-request override for this arm ({} for an args sweep)
    server: str = ""  # the server this arm runs on (a key of SweepPlan.servers)

    @property
    def name(self) -> str:
        return self.variant.name

    @property
    def value(self) -> Any:
        """The swept value (a one-parameter sweep) or the tuple of values (a grid)."""
        return self.values[0][1] if len(self.values) == 1 else tuple(v for _, v in self.values)

    @property
    def label(self) -> str:
        return ",".join(f"{k}={spell(v)}" for k, v in self.values)


@dataclass(frozen=True)
class SweepPlan:
    kind: str  # "args" | "sampling"
    base: str  # the variant that was expanded
    parameters: tuple[str, ...]  # swept flags or sampling keys, in sweep order (first = x axis)
    points: tuple[SweepPoint, ...]  # in grid order: the first parameter varies slowest
    variants: tuple[Variant, ...]  # every arm to run: the other variants + the points, scenario order kept
    baseline: str  # unchanged, unless the baseline was the expanded variant (then its matching point)
    sampling: Mapping[str, Any] = field(hash=False)  # the scenario's sampling (defaults + replay.sampling)
    servers: Mapping[str, tuple[str, ...]] = field(hash=False)  # server key -> the arms it serves, in arm order
    server_args: Mapping[str, tuple[str, ...]] = field(hash=False)  # server key -> its variant args
    notes: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.points)

    def point(self, name: str) -> SweepPoint | None:
        return next((p for p in self.points if p.name == name), None)

    def server_of(self, arm: str) -> str:
        for key, arms in self.servers.items():
            if arm in arms:
                return key
        raise KeyError(arm)

    def shared(self, arm: str) -> bool:
        return len(self.servers[self.server_of(arm)]) > 1

    def sampling_override(self, arm: str) -> dict[str, Any]:
        p = self.point(arm)
        return dict(p.sampling) if p else {}

    def effective_sampling(self, arm: str) -> dict[str, Any]:
        """The samplers an arm's requests carry: the scenario's, then the arm's override."""
        return {**self.sampling, **self.sampling_override(arm)}

    def equality_applies(self, arm: str) -> bool:
        """Token equality with the baseline is a correctness check only when both sample greedily."""
        return (float(self.effective_sampling(arm).get("temperature", 0)) == 0
                and float(self.effective_sampling(self.baseline).get("temperature", 0)) == 0)
