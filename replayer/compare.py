"""`replay compare`: the gate's verdict between two saved run directories.

Typical use: a stored baseline run against a new run of the same scenario. The
runs must be comparable — same traces, model file, server build, pinned
flags, replay policy and host — or the comparison is refused with what
differs (``--force`` overrides). Turns pair up by (trace, repetition, turn),
exactly as within one run, so comparing a run with itself reproduces its verdict.
The summary comes from the same builder as a run's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from replayer.analysis.figures import TraceMeta
from replayer.analysis.gate import spec_of
from replayer.analysis.noise import worse
from replayer.runner.probe import read_probes
from replayer.analysis.summary import RunMeta, summarize
from replayer.errors import InputError
from replayer.results import TurnResult, read_results
from replayer.results.summary import ComparedRuns, ServerInfo, Summary, VariantFacts, read_summary
from replayer.scenario.flags import without_per_run
from replayer.scenario.model import GateSpec


@dataclass(frozen=True)
class SavedRun:
    path: Path
    summary: Summary
    records: list[TurnResult]


def load_run(path: Path) -> SavedRun:
    summary = read_summary(path)
    results = path / "results.jsonl"
    if not results.is_file():
        raise InputError(f"{path}: expected results.jsonl beside summary.json")
    return SavedRun(path, summary, read_results(results))


def _common_flags(server: ServerInfo | None) -> list[str]:
    """The flags every arm of a run shares: the command without the binary, per-run values and the arm's own args."""
    if server is None or not server.command:
        return []
    flags = without_per_run(server.command[1:])
    own = [str(a) for a in server.args]
    return flags[: len(flags) - len(own)] if own and flags[len(flags) - len(own):] == own else flags


def differences(a: SavedRun, va: str, b: SavedRun, vb: str) -> list[str]:
    """Why two runs' arms cannot be compared; empty when they can."""
    sa, sb = a.summary, b.summary
    out = []
    ta, tb = [(t.name, t.sha256) for t in sa.traces], [(t.name, t.sha256) for t in sb.traces]
    if ta != tb:
        out.append(f"traces differ: {ta} vs {tb}")
    ma, mb = (sa.model.sha256 if sa.model else None), (sb.model.sha256 if sb.model else None)
    if ma != mb:
        out.append(f"model files differ: sha256 {str(ma)[:12]} vs {str(mb)[:12]}")
    srv_a, srv_b = sa.variants[va].server, sb.variants[vb].server
    for key in ("build", "version", "package"):
        xa, xb = getattr(srv_a, key, None), getattr(srv_b, key, None)
        if xa != xb:
            out.append(f"server {key} differs: {xa!r} vs {xb!r}")
    out += _fingerprint_differences(srv_a, srv_b)
    fa, fb = _common_flags(srv_a), _common_flags(srv_b)
    if fa != fb:
        out.append(f"pinned common server flags differ: {' '.join(fa)!r} vs {' '.join(fb)!r}")
    pa, pb = (sa.run.policy if sa.run else {}), (sb.run.policy if sb.run else {})
    for key in ("sampling", "generation", "cache", "turns", "max_tokens"):
        if pa.get(key) != pb.get(key):
            out.append(f"replay policy {key} differs: {pa.get(key)!r} vs {pb.get(key)!r}")
    ha, hb = (sa.run.host if sa.run else None), (sb.run.host if sb.run else None)
    for key in ("cpu_model", "cpu_affinity", "gpus"):
        xa, xb = getattr(ha, key, None), getattr(hb, key, None)
        if xa != xb:
            out.append(f"host {key} differs: {xa!r} vs {xb!r}")
    return out


def _fingerprint_differences(a: ServerInfo | None, b: ServerInfo | None) -> list[str]:
    """Two servers built differently, by content: the version strings of sdist builds are all alike."""
    fa, fb = (a.fingerprint if a else None), (b.fingerprint if b else None)
    if fa == fb or fa is None or fb is None:  # a remote server, or a run from before fingerprints: nothing to compare
        return []
    files_a, files_b = (a.build_files if a else None) or {}, (b.build_files if b else None) or {}
    changed = sorted(n for n in set(files_a) | set(files_b) if files_a.get(n) != files_b.get(n))
    return [f"llama-server binary fingerprint differs: {fa[:12]} vs {fb[:12]} (files: {', '.join(changed)})"]


def compare_runs(base_dir: Path, cand_dir: Path, base_variant: str | None, cand_variant: str | None,
                 gate: GateSpec | None = None, force: bool = False) -> Summary:
    """The comparison summary; ``gate`` None: the baseline run's own gate settings."""
    a, b = load_run(base_dir), load_run(cand_dir)
    va = base_variant or a.summary.baseline
    vb = cand_variant or (va if va in b.summary.variants else b.summary.baseline)
    for run, v, flag in ((a, va, "--baseline-variant"), (b, vb, "--candidate-variant")):
        if v not in run.summary.variants:
            raise InputError(f"{flag} {v!r}: expected one of {', '.join(run.summary.variants)} ({run.path})")
    diffs = differences(a, va, b, vb)
    if diffs and not force:
        raise InputError(f"runs are not comparable ({base_dir} {va} vs {cand_dir} {vb}): " + "; ".join(diffs)
                         + " (use --force to compare anyway)")
    base_name, cand_name = f"{va} @ {base_dir.name}", f"{vb} @ {cand_dir.name}"
    if base_name == cand_name:
        cand_name += " (again)"
    records = [replace(r, variant=base_name) for r in a.records if r.variant == va]
    records += [replace(r, variant=cand_name) for r in b.records if r.variant == vb]
    temperature = float((a.summary.run.policy if a.summary.run else {}).get("sampling", {}).get("temperature", 0))
    meta = RunMeta(
        scenario=f"compare {base_dir.name} vs {cand_dir.name}", baseline=base_name,
        variants=(_facts(base_name, a.summary, va, temperature), _facts(cand_name, b.summary, vb, temperature)),
        traces=tuple(TraceMeta(t.name, t.sha256, t.turns, ()) for t in a.summary.traces),
        model=a.summary.model, gate=gate or gate_from_run(a.summary), prove_speculation=False,
        compared_runs=ComparedRuns(str(base_dir), str(cand_dir), tuple(diffs)),
        noise=worse(a.summary.noise, b.summary.noise),  # a verdict is as noisy as its noisier run
        probes=read_probes(a.path / "probes.json") if (a.path / "probes.json").is_file() else None,
        kinds=_kinds(a.summary),
    )
    return summarize(records, meta)


def _kinds(summary: Summary) -> dict[tuple[str, int], str] | None:
    """The turn kinds the baseline run classified (the same traces on both runs)."""
    section = summary.turn_kinds
    return {(t.trace, t.turn): t.kind for t in section.turns} if section else None


def _facts(name: str, summary: Summary, variant: str, temperature: float) -> VariantFacts:
    v = summary.variants[variant]
    return VariantFacts(name, v.server, v.slots_speculative, v.expect_speculation, temperature=temperature)


def gate_from_run(summary: Summary) -> GateSpec:
    """The gate settings a run used, so `compare` judges the same way by default."""
    for comp in summary.comparisons:
        if comp.gate:
            return spec_of(comp.gate.settings)
    return GateSpec()
