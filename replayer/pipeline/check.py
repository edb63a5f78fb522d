"""``replay check``: would this scenario run here, with this binary and model, and how long
would it take? Nothing is replayed.

Cheap facts first (the binary's own output, NVML, the GGUF's metadata, the flags, token
estimates); then, unless one of them already dooms the run or ``start`` is off, every arm's
server is started as the run would start it and sent two of the session's turns, briefly
(runner/trial.py). The rules that judge the facts are pure (analysis/readiness.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Sequence

from replayer.analysis.readiness import (NOTE, OK, PROBLEM, Estimate, Finding, TurnNeed, binary_findings,
                                         context_findings, estimate, gpu_findings, memory_findings, model_findings,
                                         fit_cost_law, offload_asked, slot_context)
from replayer.analysis.session_model import Work
from replayer.errors import ServerStartError, SpecNotLiveError
from replayer.models import registry
from replayer.models.gguf_facts import ModelFacts, read_model_facts
from replayer.pipeline.calibration import interleaves
from replayer.pipeline.preflight import counted_prompts, estimator

WOULD_FAIL = 4  # replay check's own exit code: 2 means bad input everywhere
from replayer.results.machine import BinaryFacts, Gpu
from replayer.runner.binary import find_server_binary
from replayer.runner.devices import binary_facts, visible_gpus
from replayer.runner.host import server_version
from replayer.runner.plan import PlannedTurn, build_request, plan_turns
from replayer.runner.pool import ServerBuild
from replayer.runner.trial import TRIAL_TOKENS, ArmTrial, Trial, TrialServers, start_failure, trial_servers
from replayer.scenario.flags import flag_value
from replayer.scenario.model import CachePolicy, ReplayPolicy, Scenario
from replayer.tokens import Prompt, TraceEstimate, estimate_tokens
from replayer.trace import Trace, load_trace


@dataclass(frozen=True)
class CheckReport:
    binary: BinaryFacts
    gpus: tuple[Gpu, ...]
    nvml: str
    model: ModelFacts
    servers: TrialServers | None
    arms: tuple[ArmTrial, ...]
    estimate: Estimate | None
    findings: tuple[Finding, ...]

    @property
    def exit_code(self) -> int:
        """0 the run would work; WOULD_FAIL when a problem was found (2 stays bad input: a scenario
        that does not load, as for every command)."""
        return WOULD_FAIL if any(f.level == PROBLEM for f in self.findings) else 0


def check(scenario: Scenario | None, model: str | None, server_bin: str | None, start: bool = True,
          progress: Callable[[str, int, int], None] | None = None) -> CheckReport:
    binary_path, origin = find_server_binary(server_bin, scenario.server.binary if scenario else None)
    binary = binary_facts(binary_path, origin)
    gpus, nvml = visible_gpus()
    prepared = registry.prepare(model or (scenario.server.model if scenario else "synthetic-echo-mtp70"), progress)
    report = CheckReport(binary, gpus, nvml, read_model_facts(prepared.path), None, (), None,
                         tuple(binary_findings(binary)))
    if scenario is None:
        return _add(report, gpu_findings(None, binary, gpus, nvml) + model_findings(report.model, ["draft-mtp"]))
    args = scenario.server.common_args
    asked, n_ctx = offload_asked(args), slot_context(args, report.model.training_context)
    report = _add(report, gpu_findings(asked, binary, gpus, nvml)
                  + model_findings(report.model, [v.name for v in scenario.variants if _mtp(v.args)])
                  + memory_findings(asked, report.model, n_ctx, _servers(scenario), gpus))
    traces = [load_trace(p) for p in scenario.traces]
    turns = plan_turns(traces, scenario.policy, lambda text: None, estimate_tokens)
    if report.exit_code or not start:
        why = "not started: fix the problems above first" if start else "not started (--no-start)"
        longest, oversize = _longest(turns, scenario.policy, n_ctx, None)
        findings = [Finding(NOTE, "servers", f"throw-away servers {why}"),
                    *context_findings(n_ctx, report.model, longest, oversize, "from the flags")]
        return replace(_add(report, findings), estimate=_estimate(scenario, turns, ()))
    build = ServerBuild(binary_path, origin, server_version(binary_path), None, prepared.path, prepared.sha256)
    return _with_servers(report, scenario, build, traces, turns)


def _with_servers(report: CheckReport, scenario: Scenario, build: ServerBuild, traces: list[Trace],
                  turns: list[PlannedTurn]) -> CheckReport:
    try:
        with trial_servers(scenario, build) as trial:
            servers = trial.servers()
            turns = plan_turns(traces, scenario.policy, trial.tokenize, estimate_tokens)  # as the run will plan them
            probes = _trial_turns(turns, servers.n_ctx)
            arms = tuple(trial.measure(v.name, probes, scenario.policy) for v in scenario.variants)
            longest, oversize = _longest(turns, scenario.policy, servers.n_ctx, trial)
    except (ServerStartError, SpecNotLiveError) as exc:
        failed = Finding(PROBLEM, "servers", start_failure(exc), "see the server's message; docs/gpu.md lists the "
                         "usual causes")
        return replace(_add(report, [failed]), estimate=_estimate(scenario, turns, ()))
    findings = _server_findings(scenario, servers, arms, offload_asked(scenario.server.common_args)) \
        + context_findings(servers.n_ctx, report.model, longest, oversize, "as the server reports it")
    return replace(_add(report, findings), servers=servers, arms=arms,
                   estimate=_estimate(scenario, turns, arms, probes))


def _add(report: CheckReport, findings: Sequence[Finding]) -> CheckReport:
    return replace(report, findings=report.findings + tuple(findings))


def _server_findings(scenario: Scenario, servers: TrialServers, arms: Sequence[ArmTrial],
                     asked: str | None) -> list[Finding]:
    out = [Finding(OK, "servers", f"every arm's server started; fingerprint {(servers.fingerprint or '?')[:12]}, "
                   f"backends loaded: {', '.join(servers.backends) or 'unknown'}")]
    for line in servers.warnings:
        ignored = asked and ("GPU" in line or "gpu" in line)
        out.append(Finding(PROBLEM if ignored else NOTE, "servers", f"the server says: {line}",
                           "build llama-server with a GPU backend (docs/gpu.md)" if ignored else None))
    speculating = {v.name for v in scenario.variants if v.speculates}
    for a in arms:
        if a.error:
            out.append(Finding(PROBLEM, "servers", f"{a.arm}: the trial request failed: {a.error}",
                               "see the server log message; the run would fail the same way"))
        elif a.arm in speculating and a.timings and not a.drafted:
            out.append(Finding(PROBLEM, "speculation", f"{a.arm}: drafted no token in a {TRIAL_TOKENS}-token trial: "
                               "this build cannot speculate with this model and these flags",
                               "check the model's MTP layers and the --spec-* flags (docs/gpu.md)"))
        elif a.arm in speculating:
            out.append(Finding(OK, "speculation", f"{a.arm}: speculation live, {a.accepted} of {a.drafted} drafted "
                               "tokens accepted on the trial turns"))
    return out


def _longest(turns: Sequence[PlannedTurn], policy: ReplayPolicy, n_ctx: int | None,
             trial: Trial | None) -> tuple[TurnNeed | None, int]:
    """The turn that needs the most context, and how many turns do not fit ``n_ctx``; turns
    near the limit are counted by the server when one is up, as the run's preflight does."""
    exact = (lambda t: trial.count(build_request(t, policy))) if trial is not None and n_ctx else lambda t: None
    needs = [TurnNeed(t.trace.name, t.turn.index, tokens, t.max_tokens, counted)
             for t, (tokens, counted) in zip(turns, counted_prompts(turns, n_ctx or 0, estimator(), exact))]
    if not needs:
        return None, 0
    return max(needs, key=lambda n: n.needed), sum(1 for n in needs if n_ctx and n.needed > n_ctx)


def _trial_turns(turns: Sequence[PlannedTurn], n_ctx: int | None) -> list[PlannedTurn]:
    """The session's first turn, then the turn nearest the plan's mean prompt (estimated):
    two depths to fit each arm's cost law on, without the cost of the longest turn. Only
    turns that surely fit the context: one that does not is the context check's business."""
    sizes = _prompt_sizes(turns)
    fitting = [k for k, t in enumerate(turns) if not n_ctx or sizes[k] + TRIAL_TOKENS < 0.9 * n_ctx]
    if not fitting:
        return []
    mean = sum(sizes) / len(sizes)
    second = min(fitting, key=lambda k: abs(sizes[k] - mean))
    return [turns[k] for k in sorted({fitting[0], second})]


def _prompt_sizes(turns: Sequence[PlannedTurn]) -> list[int]:
    estimate = estimator()
    return [estimate(t) for t in turns]


def _work(scenario: Scenario, turns: Sequence[PlannedTurn], scale: float) -> list[Work]:
    """Each turn's prefill and decode work, the prompt cache reusing what the previous turn
    of the same trace shares with it; token estimates scaled to the model's tokenizer."""
    out: list[Work] = []
    estimates: dict[int, TraceEstimate] = {}
    previous: PlannedTurn | None = None
    for t in turns:
        est = estimates.setdefault(id(t.trace), TraceEstimate(t.trace))
        prompt = est.prompt(t.turn.index)
        cached = 0
        if previous is not None and previous.trace is t.trace and scenario.policy.cache is CachePolicy.REUSE:
            cached = est.shared(Prompt.of(t.trace, previous.turn.index), Prompt.of(t.trace, t.turn.index))
        out.append(Work(max(1, round((prompt - cached) * scale)), round(cached * scale), t.max_tokens, 0.0))
        previous = t
    return out


def _estimate(scenario: Scenario, turns: Sequence[PlannedTurn], arms: Sequence[ArmTrial],
              probes: Sequence[PlannedTurn] = ()) -> Estimate:
    measured = [sum(t.work.prompt for t in a.timings) for a in arms if a.timings]
    sizes = _prompt_sizes(probes)[: len(arms[0].timings)] if arms and arms[0].timings else []
    scale = measured[0] / sum(sizes) if measured and sizes and sum(sizes) else 1.0
    laws = [fit_cost_law(a.timings) for a in arms]
    return estimate(_work(scenario, turns, scale), laws, len(scenario.variants), scenario.policy.repetitions,
                    scenario.policy.warmup)


def _servers(scenario: Scenario) -> int:
    """Servers up at once in the run: one per arm, and a twin per arm for an interleaved calibration."""
    return len(scenario.variants) * (2 if interleaves(scenario, synthetic_only=False) else 1)


def _mtp(args: Sequence[str]) -> bool:
    return "draft-mtp" in (flag_value(args, "--spec-type") or "").split(",")

