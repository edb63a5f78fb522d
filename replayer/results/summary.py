"""The summary document (``summary.json``, ``replayer.summary/3``) as frozen dataclasses.

Built once by :func:`replayer.analysis.summary.summarize`; read by every export
and by ``replay compare``. Field meanings are in docs/results.md; the JSON
schema beside this module refuses any key not declared here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from replayer.atomic import write_atomically
from replayer.errors import InputError
from replayer.results.codec import from_json, to_json

SUMMARY_SCHEMA = "replayer.summary/3"
# Version history:
#   1 - untyped document; client_overhead_s; gate fields flat on each comparison.
#   2 - request_overhead_s; comparisons[].gate holds the verdict; notes shown; no unknown keys.
#   3 - turn_kinds; comparisons[].switch; load.levels[].speedup_ci at one repetition; tune; load.slo.
READABLE_SUMMARIES = ("replayer.summary/2", SUMMARY_SCHEMA)  # /3 only adds sections: a /2 file reads as is


@dataclass(frozen=True)
class TraceRef:
    name: str
    sha256: str
    turns: int


@dataclass(frozen=True)
class TraceProvenance:
    name: str
    agent: str | None = None
    source: str | None = None
    model: str | None = None


@dataclass(frozen=True)
class RunModel:
    name: str
    path: str
    sha256: str
    synthetic: bool
    description: str


@dataclass(frozen=True)
class HostInfo:
    hostname: str | None = None
    os: str | None = None
    machine: str | None = None
    python: str | None = None
    cpu_count: int | None = None
    cpu_affinity: int | None = None
    cpu_model: str | None = None
    memory_gib: float | None = None
    gpus: tuple[str, ...] | None = None


@dataclass(frozen=True)
class RunInfo:
    replayer_version: str
    command: str
    started_at: str
    scenario: str  # the scenario file's path
    policy: dict[str, Any]  # the replay policy as run (enums as their values)
    host: HostInfo
    synthetic_only: bool = False  # `replay synth`: no session turns were replayed
    finished_at: str | None = None
    duration_s: float | None = None
    interrupted: bool = False


@dataclass(frozen=True)
class ServerInfo:
    """What one variant's server said about itself, and how a managed one was started."""

    url: str
    managed: bool
    args: tuple[str, ...] = ()
    build: Any = None  # /props build_info
    n_ctx: int | None = None
    total_slots: int | None = None
    model_path: str | None = None
    chat_template_caps: dict[str, Any] | None = None
    models: list[Any] | None = None  # /v1/models data, as the server wrote it
    binary: str | None = None
    binary_origin: str | None = None
    version: str | None = None
    package: str | None = None
    command: tuple[str, ...] | None = None
    log: str | None = None
    ready_s: float | None = None
    model_sha256: str | None = None
    speculative_types: str | None = None  # /slots params at the end of the run
    # sha256 over the executable and every llama/ggml library the running server loaded
    # (runner/fingerprint.py): version strings of sdist builds are all alike
    fingerprint: str | None = None
    build_files: dict[str, str] | None = None  # file name -> sha256
    backends: tuple[str, ...] | None = None  # the ggml backends it loaded


@dataclass(frozen=True)
class VariantFacts:
    """What the runner knows of a variant outside its records: its server and what it should do."""

    name: str
    server: ServerInfo | None
    slots_speculative: bool | None
    expect_speculation: bool | None
    aa_of: str | None = None
    temperature: float = 0.0  # as its requests sample (a sampling sweep's point may differ)


@dataclass(frozen=True)
class BenchDepth:
    pp_tok_s: float | None
    tg_tok_s: float | None


@dataclass(frozen=True)
class GpuFigures:
    avg_power_w: float
    energy_j: float
    energy_per_token_j: float | None
    peak_memory_bytes: int
    avg_utilization_pct: float | None
    measured_s: float


@dataclass(frozen=True)
class VariantSummary:
    wall_s: float
    prefill_s: float
    decode_s: float
    request_overhead_s: float  # wall - prefill - decode: mostly the server's own request handling
    harness_overhead_s: float  # replayer's own time
    prompt_tokens: int
    cached_tokens: int
    processed_prompt_tokens: int
    generated_tokens: int
    prefill_tok_s: float | None
    decode_tok_s: float | None
    draft_tokens: int
    accepted_tokens: int
    acceptance: float | None
    verification_steps: int
    acceptance_by_position: tuple[float, ...] | None
    turns: int
    errors: int
    repetitions: int
    wall_s_per_repetition: tuple[float, ...]
    recorded_gaps_s: float | None
    projected_session_s: float | None
    spec_live: bool
    slots_speculative: bool | None
    expect_speculation: bool | None
    server: ServerInfo | None = None
    aa_of: str | None = None
    synthetic_bench: dict[str, BenchDepth] | None = None  # per depth, from the calibration
    gpu: GpuFigures | None = None
    # a speculating arm's turns that generated tokens without drafting once (analysis/speculation.py)
    undrafted_turns: tuple[DivergedTurn, ...] = ()


@dataclass(frozen=True)
class DivergedTurn:
    trace: str
    turn: int
    kind: str | None = None  # near-tie | confident | unclassified (analysis/divergence.py); None: not asked
    margin: float | None = None  # nats between the baseline's token and the candidate's, where known


@dataclass(frozen=True)
class CacheMismatch:
    """A pair whose arms reused different amounts of the prompt cache: its ratio measures the cache."""

    trace: str
    turn: int
    repetition: int
    baseline_cached: int
    candidate_cached: int


@dataclass(frozen=True)
class FirstDivergence:
    trace: str
    turn: int
    repetition: int
    index: int
    baseline_len: int
    candidate_len: int
    window_start: int
    baseline_tokens: tuple[int, ...]
    candidate_tokens: tuple[int, ...]
    baseline_text: tuple[str | None, ...] | None = None  # the window decoded, when a server was alive to do it
    candidate_text: tuple[str | None, ...] | None = None
    kind: str | None = None  # near-tie | confident | unclassified
    margin: float | None = None
    why: str | None = None


@dataclass(frozen=True)
class SpeculativeFit:
    alpha: float
    c: float
    gamma: int
    turns: int
    predicted_decode_speedup: float
    measured_decode_speedup: float


@dataclass(frozen=True)
class PredictedTurn:
    trace: str
    turn: int
    baseline_measured_ms: float | None
    baseline_predicted_ms: float
    candidate_measured_ms: float | None
    candidate_predicted_ms: float
    prompt_tokens: float
    output_tokens: float


@dataclass(frozen=True)
class SyntheticComparison:
    """Synthetic vs real for one comparison (docs/synthetic.md)."""

    tg_speedup: float | None
    pp_speedup: float | None
    tg_speedup_by_depth: dict[str, float]
    pp_speedup_by_depth: dict[str, float]
    session_speedup_measured: float | None
    session_speedup_predicted: float | None
    prediction_error: float | None
    baseline_predicted_s: float
    candidate_predicted_s: float
    baseline_wall_error: float | None
    candidate_wall_error: float | None
    prediction_shape_from: str
    gap: dict[str, float] | None
    gap_log: dict[str, float] | None
    accepted_fraction: dict[str, float | None]
    speculative_fit: SpeculativeFit | None
    models: dict[str, dict[str, float]]  # fitted cost laws per arm
    per_turn: tuple[PredictedTurn, ...]
    # 95 % bootstrap interval of the predicted speedup: the laws refitted on calibration turns
    # drawn with replacement (None: too few turns to resample)
    session_speedup_predicted_interval: tuple[float, float] | None = None


@dataclass(frozen=True)
class GateSettings:
    max_slowdown: float
    metric: str
    divergence: str
    min_acceptance: float | None
    max_repetitions: int
    cache_mismatch: str = "exclude"
    allow_noisy: bool = False
    near_tie_nats: float = 0.1


@dataclass(frozen=True)
class ComparisonGate:
    verdict: str  # pass | regression | inconclusive
    repetitions: int
    message: str
    failures: tuple[str, ...]
    more_repetitions: int | None
    settings: GateSettings


@dataclass(frozen=True)
class SwitchEstimate:
    """What a per-request switch between the two arms would have saved (analysis/switch.py):
    session seconds (sums over the paired turns, means over repetitions)."""

    baseline_s: float
    candidate_s: float
    better: str  # the better single setting
    better_s: float
    oracle_s: float  # every turn on its faster arm: a bound no rule can beat
    rule_s: float  # the best arm per turn kind, chosen on one half of the turns, scored on the other
    rule: dict[str, str]  # turn kind -> the arm the rule picks, learned on all turns (what a user would set)
    folds: int
    turns: int

    @property
    def rule_share(self) -> float:
        """The rule's time as a share of the better single setting's (below 1: it saves time)."""
        return self.rule_s / self.better_s if self.better_s else 1.0


@dataclass(frozen=True)
class Comparison:
    baseline: str
    candidate: str
    aa: bool  # an A/A arm: every difference is noise
    wall_ratio: float | None  # ratio of totals over the paired turns, candidate / baseline
    prefill_ratio: float | None
    decode_ratio: float | None
    speedup: float | None
    decode_tok_s_ratio: float | None
    prefill_tok_s_ratio: float | None
    projected_session_ratio: float | None
    compared_turns: int
    identical_turns: int
    diverged_turns: int
    diverged: tuple[DivergedTurn, ...]
    equality_applies: bool
    first_divergence: FirstDivergence | None
    n_pairs: int
    confidence: float
    wall_ratio_ci: tuple[float, float] | None = None
    prefill_ratio_ci: tuple[float, float] | None = None
    decode_ratio_ci: tuple[float, float] | None = None
    wall_ratio_paired: float | None = None  # the estimate each interval is about
    prefill_ratio_paired: float | None = None
    decode_ratio_paired: float | None = None
    p_value: float | None = None
    ci_method: str | None = None
    notes: tuple[str, ...] = ()  # why an interval could not be computed
    synthetic: SyntheticComparison | None = None
    gate: ComparisonGate | None = None
    baseline_lost: int = 0  # turns (x repetitions) attempted on either arm that this arm did not complete
    candidate_lost: int = 0
    # each arm's figures over the paired turns only, when an arm lost turns (else: the variants' own)
    paired_baseline: VariantSummary | None = None
    paired_candidate: VariantSummary | None = None
    cache_mismatches: tuple[CacheMismatch, ...] = ()
    cache_mismatch_excluded: bool = False  # whether the intervals (and so the gate) leave those pairs out
    near_tie_turns: int = 0  # of diverged_turns: where the candidate took the baseline's close runner-up
    confident_turns: int = 0  # of diverged_turns: anything else (unclassified ones count here too)
    switch: SwitchEstimate | None = None  # a per-request switch by turn kind (None: too few paired turns)

    @property
    def partial(self) -> bool:
        """Whether an arm lost turns, so that the ratios cover only part of the run."""
        return bool(self.baseline_lost or self.candidate_lost)

    def ratio(self, metric: str) -> float | None:
        """The estimate for ``metric`` (wall, prefill, decode): paired when there is an interval."""
        paired = getattr(self, f"{metric}_ratio_paired")
        return paired if paired is not None else getattr(self, f"{metric}_ratio")

    def ci(self, metric: str) -> tuple[float, float] | None:
        return getattr(self, f"{metric}_ratio_ci")


@dataclass(frozen=True)
class TurnClass:
    """One replayed turn: what its recorded response generates, and its shape in this run."""

    trace: str
    turn: int
    kind: str  # tool_call | code_edit | prose | reasoning (analysis/turn_kinds.py)
    shape: str  # prompt-heavy | decode-heavy
    processed_tokens: float  # prompt tokens the baseline processed (mean over repetitions)
    generated_tokens: float


@dataclass(frozen=True)
class KindArm:
    """One arm over the turns of one kind: per-repetition means, like the variants' figures."""

    turns: int
    generated_tokens: int
    wall_s: float
    prefill_s: float
    decode_s: float
    acceptance: float | None
    acceptance_by_position: tuple[float, ...] | None


@dataclass(frozen=True)
class KindRatio:
    """A candidate against the baseline over the paired turns of one kind (candidate / baseline times)."""

    candidate: str
    n_pairs: int
    wall_ratio: float | None  # the paired estimate (the gate's statistic), as in the comparisons
    wall_ratio_ci: tuple[float, float] | None
    prefill_ratio: float | None
    prefill_ratio_ci: tuple[float, float] | None
    decode_ratio: float | None
    decode_ratio_ci: tuple[float, float] | None


@dataclass(frozen=True)
class KindRow:
    group: str  # "kind" (what the turn generates) or "shape"
    name: str  # a kind or a shape
    arms: dict[str, KindArm]
    ratios: tuple[KindRatio, ...]


@dataclass(frozen=True)
class TurnKindsSection:
    """Every report's breakdown by turn kind and shape (docs/results.md, "Turn kinds")."""

    rule: str  # the classifier's version
    prompt_heavy_ratio: float  # processed prompt tokens per generated token from which a turn is prompt-heavy
    rows: tuple[KindRow, ...]
    turns: tuple[TurnClass, ...]


@dataclass(frozen=True)
class OwnServer:
    """A server this run did not start, counted as its own by the noise guard (or why not)."""

    arm: str | None  # the url arm it serves; None: found behind another (a proxy's upstream)
    address: str  # the arm's url, or ":PORT" behind one
    pids: tuple[int, ...]  # the processes counted (with their descendants); empty: not counted
    reason: str | None = None  # why it was not counted (remote, another user's, hidden)
    local: bool = True


@dataclass(frozen=True)
class NoiseSection:
    """CPU used on the machine by anything but this run while it measured (analysis/noise.py)."""

    foreign_cores_mean: float
    foreign_cores_peak: float  # the most over any 5 s window
    load_mean: float
    cores: int
    seconds: float
    samples: int
    busy: bool
    threshold_mean_cores: float
    threshold_spike_cores: float
    message: str | None  # what every report says when busy
    # url arms' servers: counted as this run's when local and visible (runner/listeners.py)
    own_servers: tuple[OwnServer, ...] = ()
    own_note: str | None = None  # what every report says of them


@dataclass(frozen=True)
class GateSection:
    exit_code: int  # 0 pass, 1 regression or failure, 3 inconclusive


@dataclass(frozen=True)
class SweepBaseline:
    variant: str
    wall_s: float | None
    decode_tok_s: float | None
    prefill_tok_s: float | None


@dataclass(frozen=True)
class SweepRow:
    variant: str
    parameters: dict[str, Any]
    value: Any
    label: str
    is_baseline: bool
    measured: bool
    wall_s: float | None
    decode_tok_s: float | None
    prefill_tok_s: float | None
    acceptance: float | None
    draft_tokens: int | None
    generated_tokens: int | None
    turns: int | None
    errors: int | None
    wall_ratio: float | None
    wall_ratio_ci: tuple[float, float] | None
    decode_ratio_ci: tuple[float, float] | None
    p_value: float | None
    equality_applies: bool
    compared_turns: int | None
    diverged_turns: int | None
    note: str | None
    wall_s_ci: tuple[float, float] | None
    decode_tok_s_ci: tuple[float, float] | None
    best: bool


@dataclass(frozen=True)
class SweepSection:
    kind: str  # server | sampling
    variant: str  # the swept variant
    parameters: tuple[str, ...]
    baseline: SweepBaseline
    rows: tuple[SweepRow, ...]
    best: str | None
    best_vs_baseline: str | None  # faster | slower | inconclusive
    servers: dict[str, tuple[str, ...]]  # server -> the arms that share it
    notes: tuple[str, ...]


@dataclass(frozen=True)
class LoadArm:
    """One arm at one concurrency level: throughput and latency of all its sessions together
    (means over repetitions; percentiles over every request of every repetition)."""

    variant: str
    slots: int  # server slots (-np)
    requests: int  # per repetition
    errors: int  # over all repetitions
    duration_s: float  # first request out .. last answer in
    generated_tok_s: float | None  # aggregate: every session's generated tokens / duration
    prompt_tok_s: float | None  # processed (not cached) prompt tokens / duration
    requests_s: float | None
    latency_p50_ms: float | None
    latency_p90_ms: float | None
    latency_p99_ms: float | None
    queue_wait_p50_ms: float | None  # request wall-clock minus the server's prompt and predicted time
    queue_wait_p99_ms: float | None
    session_p50_s: float | None  # a session's first request out .. its last answer in
    session_p90_s: float | None
    acceptance: float | None
    slot_drafted: dict[str, int]  # per server slot (as __verbose.id_slot says): tokens drafted
    slot_acceptance: dict[str, float | None]
    slots_speculative: bool | None  # /slots at the end of the level: every slot reports speculative
    ttft_p90_s: float | None = None  # time to first token (wall - decode), 90th percentile over requests
    session_decode_tok_s_p10: float | None = None  # each session's decode speed, 10th percentile (analysis/slo.py)


@dataclass(frozen=True)
class LoadLevel:
    sessions: int  # in flight at once
    sessions_total: int
    arms: dict[str, LoadArm]
    speedup: dict[str, float | None]  # per candidate: baseline duration / candidate duration
    # 95 %: a bootstrap over repetitions, sessions and turns (analysis/load.py speedup_interval)
    speedup_ci: dict[str, tuple[float, float] | None]
    compared_alone: dict[str, int]  # turns compared with the same turn replayed alone on the baseline
    diverged_alone: dict[str, int]  # of which differ at temperature 0


@dataclass(frozen=True)
class SloLevel:
    sessions: int
    passed: dict[str, bool]  # per arm: whether it met every bound at this level


@dataclass(frozen=True)
class SloSection:
    """Per arm, the most concurrent sessions served within the SLO (analysis/slo.py)."""

    ttft_p90_s: float | None
    decode_tok_s_p10: float | None
    levels: tuple[SloLevel, ...]  # every level run, in order
    largest: dict[str, int]  # per arm: the largest level that met the SLO (0: not even one session)
    bounded: dict[str, bool]  # per arm: a larger level was run and failed (else it serves at least that many)
    searched: bool  # sessions: auto (levels found by bisection) or the levels listed
    most: int  # the largest level the search or the list allowed


@dataclass(frozen=True)
class LoadSection:
    baseline: str
    levels: tuple[LoadLevel, ...]
    think_time: str
    distinct: bool
    shared_prefix: bool
    notes: tuple[str, ...]
    slo: SloSection | None = None


@dataclass(frozen=True)
class TuneArm:
    """One arm of a `replay tune` race at one concurrency level."""

    variant: str
    args: tuple[str, ...]  # its own flags (the common flags are pinned as in replay run)
    values: dict[str, Any]  # the tuned flags' values ({} for the baseline)
    estimate: float | None  # time ratio against the baseline over their paired sampled turns (below 1: faster)
    estimate_ci: tuple[float, float] | None  # 95 %, bootstrap over the pairs
    pairs: int
    acceptance: float | None
    rounds: int  # rounds it ran
    status: str  # recommended | tied | running | dropped | not-live | failed
    dropped_round: int | None = None  # the round after which it stopped running
    reason: str | None = None  # why it was dropped, or not ranked


@dataclass(frozen=True)
class TuneRound:
    index: int
    arms: tuple[str, ...]  # the arms that ran it
    turns: tuple[str, ...]  # the sampled turns, "trace:turn"
    leader: str | None
    dropped: tuple[str, ...]  # dropped after this round
    server_s: float  # wall-clock of its requests, the priming ones included


@dataclass(frozen=True)
class TuneLevel:
    sessions: int
    arms: tuple[TuneArm, ...]  # simplest first (the baseline, then the grid in order)
    rounds: tuple[TuneRound, ...]
    outcome: str  # confident | tie | rounds | budget | interrupted | skipped (not raced) | none
    recommended: str | None
    recommended_args: tuple[str, ...]
    baseline_session_s: float | None  # the baseline's session time, estimated from its sampled turns
    saved_s: float | None  # what the recommendation saves of it (negative: costs)
    message: str


@dataclass(frozen=True)
class TuneSection:
    """`replay tune`: the best server flags per concurrency level (analysis/tune.py)."""

    baseline: str
    variant: str  # the drafting variant whose flags were tuned
    parameters: tuple[str, ...]
    levels: tuple[TuneLevel, ...]
    sample: int
    max_rounds: int
    tolerance: float
    confidence: float
    budget_s: float | None
    server_s: float  # server time the race spent: every timed and priming request's wall-clock
    slo: SloSection | None = None
    gate_scenario: str | None = None  # the tuned-gate.yaml written beside the summary


@dataclass(frozen=True)
class GpuSection:
    measured: bool
    note: str | None = None
    samples: int | None = None


@dataclass(frozen=True)
class ComparedRuns:
    baseline: str
    candidate: str
    differences: tuple[str, ...]


@dataclass(frozen=True)
class Summary:
    scenario: str
    baseline: str
    traces: tuple[TraceRef, ...]
    variants: dict[str, VariantSummary]
    comparisons: tuple[Comparison, ...]
    run: RunInfo | None = None
    model: RunModel | None = None
    trace_provenance: tuple[TraceProvenance, ...] = ()
    gate: GateSection | None = None
    sweep: SweepSection | None = None
    gpu: GpuSection | None = None
    problems: tuple[str, ...] = ()  # what makes the run fail (exit 1): no speculation proof, failed turns
    notes: tuple[str, ...] = ()  # what a reader must know: interrupted calibration, missing intervals
    compared_runs: ComparedRuns | None = None  # set by `replay compare`
    load: LoadSection | None = None  # concurrent sessions (a scenario's load: section)
    noise: NoiseSection | None = None  # other work on the machine while the run measured
    turn_kinds: TurnKindsSection | None = None  # per kind and shape of turn (analysis/turn_kinds.py)
    tune: TuneSection | None = None  # replay tune's race per concurrency level
    schema: str = field(default=SUMMARY_SCHEMA)

    @property
    def replayed(self) -> bool:
        """False for `replay synth`: the calibration ran, no session turn did."""
        return not (self.run and self.run.synthetic_only)

    def variant(self, name: str) -> VariantSummary:
        return self.variants[name]

    def to_json(self) -> dict[str, Any]:
        return to_json(self)

    @classmethod
    def from_json(cls, data: Any, source: Path | str) -> "Summary":
        if not isinstance(data, dict) or data.get("schema") not in READABLE_SUMMARIES:
            found = data.get("schema") if isinstance(data, dict) else type(data).__name__
            raise InputError(f"{source}: $.schema: expected {SUMMARY_SCHEMA!r}, got {found!r}")
        return from_json({**data, "schema": SUMMARY_SCHEMA}, cls, source)


def write_summary(path: Path, summary: Summary) -> None:
    write_atomically(path, json.dumps(summary.to_json(), indent=2, ensure_ascii=False) + "\n")


def read_summary(run_dir: Path) -> Summary:
    """A run directory's summary.json; any problem is one InputError line naming the file."""
    path = run_dir / "summary.json"
    if not path.is_file():
        raise InputError(f"{run_dir}: expected a run directory with summary.json")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: line {exc.lineno} column {exc.colno}: invalid JSON: {exc.msg}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None
    if isinstance(data, dict) and data.get("schema") == "replayer.summary/1":
        raise InputError(f"{path}: $.schema: replayer.summary/1 comes from replayer before typed summaries; this "
                         f"version reads {SUMMARY_SCHEMA}: re-run the scenario (its results.jsonl is still readable)")
    return Summary.from_json(data, path)
