"""The `replay` command as a user meets it: help, bad input, exit codes, no tracebacks."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def replay(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "replayer.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=120, env={**os.environ, "COLUMNS": "200"})


def test_help_lists_commands_and_run_overrides():
    out = replay("--help").stdout
    for cmd in ("run", "check", "inspect", "models", "report"):
        assert cmd in out
    run_help = replay("run", "--help").stdout
    for flag in ("--model", "--server-bin", "--turns", "--repetitions", "--out", "--per-turn"):
        assert flag in run_help


def test_malformed_scenario_is_one_located_line_with_exit_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\ntraces: [t.json]\nvariants:\n  a: {args: [x]}\nreplay:\n  warmup: -1\n")
    done = replay("run", bad)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"Error: {bad}:6: replay.warmup: expected a number >= 0, got -1"]


def test_malformed_trace_is_one_located_line_with_exit_2(tmp_path):
    doc = json.loads((ROOT / "tests" / "fixtures" / "tiny_trace.json").read_text())
    doc["turns"][1]["response"]["message"]["role"] = "bot"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    scenario = tmp_path / "s.yaml"
    scenario.write_text(f"version: 1\ntraces: [{bad}]\nvariants:\n  a: {{}}\n")
    for done in (replay("inspect", bad), replay("run", scenario)):
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in done.stderr
        assert lines[0].startswith(f"Error: {bad}: $.turns[1].response.message.role: expected one of")


def test_bad_flag_value_exits_2():
    done = replay("run", "scenarios/cli_tool.yaml", "--turns", "0")
    assert done.returncode == 2 and "expected a positive integer" in done.stderr


def test_unknown_model_is_bad_input(tmp_path):
    done = replay("run", "scenarios/cli_tool.yaml", "--model", "no-such-model", "--out", tmp_path / "r")
    assert done.returncode == 2
    assert "unknown model" not in done.stdout
    assert "expected a path to a .gguf file or one of" in done.stderr or "expected an existing .gguf" in done.stderr


def test_a_model_file_that_is_not_a_gguf_is_refused_and_nothing_is_written_beside_it(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a model\n")
    for command in (("check",), ("run", "scenarios/cli_tool.yaml", "--out", str(tmp_path / "r"))):
        done = replay(*command, "--model", notes)
        assert done.returncode == 2, done.stderr
        assert done.stderr.strip().splitlines() == [f"Error: model {notes}: not a GGUF file (it does not start with "
                                                    "the GGUF magic); expected a .gguf model or a named model"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_inspect_flagship_shows_estimates_labelled_and_high_cache_reuse():
    done = replay("inspect", "traces/cli_tool.json")
    assert done.returncode == 0, done.stderr
    assert "tiktoken cl100k_base estimate" in done.stdout
    assert "cache-reuse potential" in done.stdout
    share = float(done.stdout.split("% of all prompt tokens")[0].split()[-1])
    assert share > 90


def test_report_rerenders_a_saved_summary(tmp_path):
    done = replay("report", tmp_path)
    assert done.returncode == 2 and "expected a run directory with summary.json" in done.stderr


def test_run_with_traces_and_no_scenario_checks_its_input_in_one_line(tmp_path):
    missing = replay("run", "--trace", tmp_path / "nope.json")
    assert missing.returncode == 2 and missing.stderr.strip() == f"Error: --trace {tmp_path / 'nope.json'}: file not found"
    both = replay("run", "scenarios/cli_tool.yaml", "--trace", "traces/cli_tool.json")
    assert both.returncode == 2 and "a scenario file (scenarios/cli_tool.yaml) or --trace FILE, not both" in both.stderr
    alone = replay("run", "scenarios/cli_tool.yaml", "--write-scenario", tmp_path / "s.yaml")
    assert alone.returncode == 2 and "--write-scenario: only with --trace FILE" in alone.stderr
    assert not (tmp_path / "s.yaml").exists()


def test_the_scenario_written_for_traces_loads_and_pairs_mtp_off_with_on(tmp_path):
    from replayer.scenario.default import default_scenario_text
    from replayer.scenario.load import load_scenario

    out = tmp_path / "mine.yaml"
    out.write_text(default_scenario_text([ROOT / "traces" / "cli_tool.json"]))
    scenario = load_scenario(out)
    assert [v.name for v in scenario.variants] == ["mtp-off", "mtp-on"] and scenario.baseline == "mtp-off"
