"""Would this run work here? Pure rules over what ``replay check`` found: the binary, the
GPUs, the model, the context, the memory; and how long the run would take.

Each rule returns findings: a ``problem`` (the run would fail or measure the wrong thing;
``replay check`` exits 2), a ``note`` (worth knowing, the run still works) or ``ok``. A
problem always carries its fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from replayer.analysis.session_model import CostModel, Work, nonnegative_fit
from replayer.models.gguf_facts import ModelFacts
from replayer.results.machine import BinaryFacts, Gpu
from replayer.scenario.flags import flag_value, spellings

PROBLEM, NOTE, OK = "problem", "note", "ok"
GIB = 1 << 30


@dataclass(frozen=True)
class Finding:
    level: str  # problem | note | ok
    subject: str  # binary, gpu, model, speculation, context, memory
    text: str
    fix: str | None = None


@dataclass(frozen=True)
class TurnNeed:
    """The turn that needs the most context: its prompt plus what it generates."""

    trace: str
    turn: int
    prompt_tokens: int
    max_tokens: int
    exact: bool  # counted by the server's own template and tokenizer, not estimated

    @property
    def needed(self) -> int:
        return self.prompt_tokens + self.max_tokens


def offload_asked(args: Sequence[str]) -> str | None:
    """The flags that put work on a GPU ("-ngl all"), or None when they ask for none."""
    layers = flag_value(args, "-ngl")
    device = flag_value(args, "-dev")
    if device is not None and device.lower() != "none":
        return f"-dev {device}"
    if layers is not None and layers not in ("0", "-0"):
        return f"-ngl {layers}"
    return None


def slot_context(args: Sequence[str], training: int | None) -> int | None:
    """Tokens one slot holds: -c (0 or absent: the training context), divided among -np
    slots unless the cache is unified (-np absent means 4 unified slots in this build)."""
    text = flag_value(args, "-c")
    total = int(text) if text and text.lstrip("-").isdigit() and int(text) > 0 else training
    slots_text = flag_value(args, "-np")
    slots = int(slots_text) if slots_text and slots_text.isdigit() and int(slots_text) > 0 else None
    unified = any(str(a) in spellings("-kvu") for a in args) or slots is None
    if total is None:
        return None
    return total if unified or not slots else total // slots


def binary_findings(binary: BinaryFacts) -> list[Finding]:
    if binary.error:
        return [Finding(PROBLEM, "binary", f"{binary.path} does not run: {binary.error}",
                        "rebuild it, or choose another with --server-bin PATH")]
    return [Finding(OK, "binary", f"{binary.version or 'version unknown'}; backends "
                    f"{', '.join(binary.backends) or 'cpu (no backend library beside it)'}")]


def gpu_findings(asked: str | None, binary: BinaryFacts, gpus: Sequence[Gpu], nvml_note: str) -> list[Finding]:
    cpu_only = "" if binary.gpu_backend else "; this llama-server is also built for the CPU only"
    if asked and not gpus:
        return [Finding(PROBLEM, "gpu", f"the scenario puts the model on a GPU ({asked}) but no GPU is visible "
                        f"({nvml_note}){cpu_only}: llama-server would silently run on the CPU",
                        "run it on a machine with a GPU, or use a CPU scenario such as scenarios/cli_tool.yaml")]
    if asked and not binary.gpu_backend:
        return [Finding(PROBLEM, "gpu", f"the scenario puts the model on a GPU ({asked}) but this llama-server has "
                        "no GPU backend (built for the CPU only)",
                        "build llama-server with CUDA (docs/gpu.md) and pass it with --server-bin PATH")]
    if gpus and not asked:
        return [Finding(NOTE, "gpu", f"{len(gpus)} GPU(s) visible but the scenario offloads nothing to them",
                        "for a GPU run use scenarios/cli_tool_gpu.yaml (-ngl all)")]
    if not gpus:
        return [Finding(OK, "gpu", f"none visible ({nvml_note}); the scenario asks for none and runs on the CPU")]
    return [Finding(OK, "gpu", f"the scenario offloads to the GPU ({asked}) with a {', '.join(binary.backends)} build")]


def model_findings(model: ModelFacts, mtp_arms: Sequence[str]) -> list[Finding]:
    if not mtp_arms:
        return []
    arms = ", ".join(mtp_arms)
    if model.mtp_layers == 0:
        return [Finding(PROBLEM, "model", f"no MTP layers: draft-mtp cannot speculate with this model "
                        f"({model.architecture}, arm {arms})",
                        "use a GGUF that keeps the MTP head (e.g. a Qwen3.6 MTP GGUF; docs/gpu.md)")]
    if model.mtp_wired is False:
        return [Finding(PROBLEM, "model", f"{model.architecture} carries {model.mtp_layers} MTP layer(s) but this "
                        "llama.cpp build has no MTP graph for that architecture: draft-mtp cannot use them",
                        "use a model family draft-mtp supports (docs/gpu.md), or another --spec-type")]
    return []


def context_findings(n_ctx: int | None, model: ModelFacts, longest: TurnNeed | None, oversize: int,
                     source: str) -> list[Finding]:
    out: list[Finding] = []
    if n_ctx is None:
        return [Finding(NOTE, "context", "the slot context is unknown (no -c and no training context in the model)")]
    if model.training_context and n_ctx > model.training_context:
        out.append(Finding(NOTE, "context", f"the slot context ({n_ctx}) exceeds the model's training context "
                           f"({model.training_context}): quality may drop past it"))
    if longest is None:
        return out
    counted = "counted by the server" if longest.exact else "estimated"
    if oversize:
        out.append(Finding(PROBLEM, "context",
                           f"{oversize} turn(s) cannot fit the slot context of {n_ctx} tokens ({source}); the longest, "
                           f"{longest.trace} turn {longest.turn}, needs {longest.needed} ({longest.prompt_tokens} "
                           f"prompt {counted} + {longest.max_tokens} generated)",
                           f"-c {_round_up(longest.needed)} or more per slot, --turns, or replay: {{oversize: skip}}"))
    else:
        out.append(Finding(OK, "context", f"every turn fits the slot context of {n_ctx} tokens ({source}); the "
                           f"longest, {longest.trace} turn {longest.turn}, needs {longest.needed} ({counted})"))
    return out


def memory_findings(asked: str | None, model: ModelFacts, n_ctx: int | None, servers: int,
                    gpus: Sequence[Gpu]) -> list[Finding]:
    """The model and its KV cache on the GPUs, once per server (every arm's server is up at
    once). A lower bound: compute buffers and the MTP context come on top."""
    if not asked or not gpus or n_ctx is None or model.kv_bytes_per_token is None:
        return []
    need = servers * (model.file_bytes + model.kv_bytes_per_token * n_ctx)
    free = sum(g.free_mib for g in gpus) << 20
    text = (f"{servers} server(s) x (model {model.file_bytes / GIB:.1f} GiB + KV cache "
            f"{model.kv_bytes_per_token * n_ctx / GIB:.1f} GiB at {n_ctx} tokens) = at least {need / GIB:.1f} GiB")
    if need > free:
        return [Finding(PROBLEM, "memory", f"{text}, more than the {free / GIB:.1f} GiB free on the GPU(s)",
                        "a smaller -c, a smaller quantization, or a GPU with more memory")]
    return [Finding(OK, "memory", f"{text} of {free / GIB:.1f} GiB free")]


@dataclass(frozen=True)
class Timing:
    """One measured request: its work and the server's own prefill and decode times."""

    work: Work  # accepted left at 0: decode cost is per generated token, acceptance folded in
    prefill_ms: float
    decode_ms: float
    wall_ms: float = 0.0  # the whole request as the client saw it: the rest is request handling


def fit_cost_law(timings: Sequence[Timing]) -> CostModel | None:
    """The session model's cost laws (analysis/session_model.py) through two measured
    requests at different depths, without the prefill intercept two points cannot pin down;
    one request: costs flat in depth."""
    if not timings or any(t.work.n <= 0 or t.work.m <= 0 for t in timings):
        return None
    handling = max(0.0, sum(t.wall_ms - t.prefill_ms - t.decode_ms for t in timings) / len(timings))
    two = timings[:2]
    if len(two) < 2:
        w = two[0].work
        return CostModel((0.0, two[0].prefill_ms / w.n, 0.0), (two[0].decode_ms / w.m, 0.0), (handling, 0.0), 0.0, 1)
    a, b = nonnegative_fit([[t.work.n, t.work.n * (t.work.c + t.work.n / 2)] for t in two], [t.prefill_ms for t in two])
    g, h = nonnegative_fit([[t.work.m, t.work.m * (t.work.prompt + t.work.m / 2)] for t in two],
                           [t.decode_ms for t in two])
    return CostModel((0.0, a, b), (g, h), (handling, 0.0), 0.0, len(two))


@dataclass(frozen=True)
class Estimate:
    prefill_tokens: int  # per arm and repetition: what the prompt cache cannot reuse
    generated_tokens: int
    requests: int  # over the whole run
    seconds: float | None  # None without a measured law for every arm

    def describe(self) -> str:
        work = (f"{self.requests} requests; per arm {self.prefill_tokens} prompt tokens to prefill and "
                f"{self.generated_tokens} to generate")
        if self.seconds is None:
            return work + " (no time: no server measured)"
        return f"about {_duration(self.seconds)} of server time ({work}; costs fitted on two trial turns per arm)"


def estimate(work: Sequence[Work], laws: Sequence[CostModel | None], arms: int, repetitions: int,
             warmup: int) -> Estimate:
    """The run's server time: every turn's work on every arm, by each arm's cost laws."""
    requests = (len(work) * repetitions + warmup) * arms
    prefill, generated = round(sum(w.n for w in work)), round(sum(w.m for w in work))
    if not laws or any(law is None for law in laws):
        return Estimate(prefill, generated, requests, None)
    per_rep = sum(law.wall_ms(w) for law in laws if law is not None for w in work) / 1000
    return Estimate(prefill, generated, requests, per_rep * repetitions)  # a warm-up request is a few tokens


def _round_up(tokens: int) -> int:
    return -(-tokens // 1024) * 1024


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"
