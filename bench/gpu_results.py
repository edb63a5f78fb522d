"""Write docs/gpu-results.md from the runs of bench/gpu_check.sh.

    .venv/bin/python bench/gpu_results.py --out docs/gpu-results.md \
        --build-command "CMAKE_ARGS=... pip install ..." --build-note "built in 6m 10s" \
        cli_tool=runs/gpu-check-X/default cli_tool_gpu=runs/gpu-check-X/gpu

Each LABEL=RUN_DIR names a finished run directory; its summary.json (the typed Summary of
replayer.results.summary) gives the machine, the commands and, per arm, the figures. GPU
figures come from NVML during the run; where it saw no GPU they read "not measured (no GPU
seen)". A missing or unreadable summary is one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path

from replayer.errors import InputError
from replayer.outputs.rows import headline
from replayer.results.summary import Summary, VariantSummary, read_summary

NOT_MEASURED = "not measured (no GPU seen)"


def _label_and_dir(text: str) -> tuple[str, Path]:
    label, sep, path = text.partition("=")
    if not sep or not label or not path:
        raise argparse.ArgumentTypeError(f"expected LABEL=RUN_DIR, got {text!r}")
    return label, Path(path)


def load_runs(runs: list[tuple[str, Path]]) -> list[tuple[str, Path, Summary]]:
    loaded = []
    for label, run_dir in runs:
        if not (run_dir / "summary.json").is_file():
            raise InputError(f"{run_dir}: no summary.json (the {label} run did not finish, or this is not its run "
                             f"directory)")
        loaded.append((label, run_dir, read_summary(run_dir)))
    return loaded


def _num(value: float | None, fmt: str) -> str:
    return "–" if value is None else fmt.format(value)


def _acceptance(v: VariantSummary) -> str:
    if not v.draft_tokens or v.acceptance is None:
        return "no drafts"
    return f"{100 * v.acceptance:.1f} % ({v.accepted_tokens}/{v.draft_tokens})"


def _identical(summary: Summary, arm: str) -> str:
    if arm == summary.baseline:
        return "reference"
    comp = next((c for c in summary.comparisons if c.candidate == arm and c.baseline == summary.baseline), None)
    if comp is None:
        return "–"
    if not comp.equality_applies:
        return "n/a (T>0)"
    return f"{comp.identical_turns} of {comp.compared_turns} turns"


def _gpu_cells(v: VariantSummary) -> list[str]:
    g = v.gpu
    if g is None:
        return [NOT_MEASURED] * 3
    return [f"{g.avg_power_w:.1f}", _num(g.energy_per_token_j, "{:.3f}"), f"{g.peak_memory_bytes / 2**30:.2f} GiB"]


def arm_rows(summary: Summary) -> list[tuple[str, list[str]]]:
    """(metric, one cell per arm), the arms in the summary's order (the baseline first)."""
    arms = list(summary.variants.values())
    gpu = [_gpu_cells(v) for v in arms]
    return [
        ("LLM wall-clock (s)", [f"{v.wall_s:.2f}" for v in arms]),
        ("prefill (s)", [f"{v.prefill_s:.2f}" for v in arms]),
        ("decode (s)", [f"{v.decode_s:.2f}" for v in arms]),
        ("generation tok/s", [_num(v.decode_tok_s, "{:.1f}") for v in arms]),
        ("prefill tok/s", [_num(v.prefill_tok_s, "{:.1f}") for v in arms]),
        ("draft acceptance", [_acceptance(v) for v in arms]),
        ("outputs identical at T=0", [_identical(summary, name) for name in summary.variants]),
        ("turns ok / errors", [f"{v.turns} / {v.errors}" for v in arms]),
        ("GPU power, mean (W)", [cells[0] for cells in gpu]),
        ("GPU energy per generated token (J)", [cells[1] for cells in gpu]),
        ("GPU peak memory", [cells[2] for cells in gpu]),
    ]


def _gpu_facts(line: str) -> str:
    """A host.gpus entry, as nvidia-smi wrote it: "name, memory.total, driver_version"."""
    parts = [p.strip() for p in line.split(",")]
    if len(parts) == 3:
        return f"{parts[0]} ({parts[1]}), driver {parts[2]}"
    return line


def machine_lines(summary: Summary) -> list[str]:
    host = summary.run.host if summary.run else None
    if host is None:
        return ["- host: not recorded"]
    gpus = [_gpu_facts(g) for g in host.gpus or ()]
    out = [f"- GPU: {g}" for g in gpus] or ["- GPU: none seen (nvidia-smi listed no GPU)"]
    out.append(f"- CPU: {host.cpu_model or 'unknown'}, {host.cpu_affinity or host.cpu_count} cores usable; "
               f"memory {host.memory_gib} GiB; {host.os}")
    return out


def _common_args(command: tuple[str, ...] | None, own: tuple[str, ...]) -> tuple[str, ...] | None:
    """The scenario's server.args, out of a managed server's command line: replayer starts
    ``llama-server -m M --host H --port P <server.args> <variant.args> --slot-save-path D``."""
    if not command or "--port" not in command:
        return None
    args = list(command[command.index("--port") + 2:])
    if "--slot-save-path" in args:
        args = args[:args.index("--slot-save-path")]
    if own and tuple(args[-len(own):]) == own:
        args = args[:-len(own)]
    return tuple(args)


def _server_lines(summary: Summary) -> list[str]:
    servers = {name: v.server for name, v in summary.variants.items() if v.server is not None}
    if not servers:
        return []
    first = next(iter(servers.values()))
    out = []
    if first.binary:
        fingerprint = f", fingerprint `{first.fingerprint[:12]}`" if first.fingerprint else ""
        backends = f", backends {', '.join(first.backends)}" if first.backends else ""
        out.append(f"- llama-server `{first.binary}`{backends}{fingerprint}")
    common = _common_args(first.command, tuple(first.args))
    if common is not None:
        out.append(f"- common server args: `{' '.join(common)}`")
    out += [f"- `{name}` adds: `{' '.join(s.args)}`" if s.args else f"- `{name}` adds nothing"
            for name, s in servers.items()]
    return out


def render(runs: list[tuple[str, Path, Summary]], build_command: str | None, build_note: str | None,
           script_command: str | None, now: datetime) -> str:
    first = runs[0][2]
    # the machine: the first run whose host listed a GPU (all of them ran on one machine)
    machine = next((s for _, _, s in runs if s.run and s.run.host.gpus), first)
    out = ["# GPU results", "",
           f"Written by `bench/gpu_results.py` on {now:%Y-%m-%d %H:%M} UTC"
           + (f" (from `{script_command}`; run it again to refresh this page)" if script_command else "")
           + ". What the figures mean and how to read them: [gpu.md](gpu.md).", "",
           "## Machine", "", *machine_lines(machine)]
    if build_command:
        out += [f"- llama-server build ({build_note or 'as run'}):", "", "  ```sh", f"  {build_command}", "  ```"]
    out.append("")
    out += ["## Commands", "", "```sh"]
    if script_command:
        out.append(script_command)
    out += [s.run.command for _, _, s in runs if s.run is not None]
    out += ["```", ""]
    for label, run_dir, summary in runs:
        out += _scenario_section(label, run_dir, summary)
    return "\n".join(out).rstrip() + "\n"


def _scenario_section(label: str, run_dir: Path, summary: Summary) -> list[str]:
    run = summary.run
    model = summary.model
    out = [f"## {label}", ""]
    if run is not None:
        out.append(f"- scenario `{run.scenario}`, started {run.started_at}; run directory `{run_dir}`")
    if model is not None:
        kind = "synthetic weights: its timings are real, its outputs meaningless" if model.synthetic else "real weights"
        out.append(f"- model `{model.name}` ({kind}), sha256 `{model.sha256[:12]}…`")
    out += [f"- trace `{t.name}`: {t.turns} turns" for t in summary.traces]
    out += _server_lines(summary)
    if summary.gpu is not None and not summary.gpu.measured:
        out.append(f"- GPU telemetry: {summary.gpu.note or NOT_MEASURED}")
    out.append("")
    arms = list(summary.variants)
    out += [f"| metric | {' | '.join(arms)} |", "|---|" + "---:|" * len(arms)]
    out += [f"| {metric} | {' | '.join(cells)} |" for metric, cells in arm_rows(summary)]
    out.append("")
    for comp in summary.comparisons:
        out += [f"**{headline(summary, comp)}**", ""]
    if summary.problems:
        out += ["Problems (the run exited 1):", "", *[f"- {p}" for p in summary.problems], ""]
    if summary.notes:
        out += ["Notes:", "", *[f"- {n}" for n in summary.notes], ""]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gpu_results.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=_label_and_dir, metavar="LABEL=RUN_DIR")
    parser.add_argument("--out", type=Path, default=Path("docs/gpu-results.md"))
    parser.add_argument("--build-command", help="how the llama-server under test was built")
    parser.add_argument("--build-note", help="e.g. 'built in 6m 10s'")
    parser.add_argument("--script-command", help="the command that made these runs")
    args = parser.parse_args(argv)
    try:
        runs = load_runs(args.runs)
    except InputError as exc:
        print("gpu_results: " + " ".join(str(exc).split()), file=sys.stderr)
        return 2
    text = render(runs, args.build_command, args.build_note, args.script_command, datetime.now(timezone.utc))
    tmp = args.out.with_suffix(args.out.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(args.out)
    print(f"gpu_results: wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
