"""Synthetic calibration on real llama-server processes (the synthetic MTP model): the
workloads run on the same servers after the session, the session model predicts it, and
`replay synth` forecasts without replaying. Prediction accuracy is a figure
(bench/synthetic_prediction.py), not asserted here: only that it is computed from real
measurements and hangs together."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from scenarios import mtp_scenario

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
FLAGSHIP = ROOT / "traces" / "cli_tool.json"


def scenario(tmp_path: Path) -> Path:
    return mtp_scenario(tmp_path / "syn.yaml", "syn", [FLAGSHIP], ctx=16384, extra="""\
replay: {turns: 4}
synthetic:
  pp: [256]
  tg: [48]
  depths: [0, 2048]
  shaped: [code, random]
  probe_prompt_tokens: 256
  probe_tokens: 48
""")


def replay_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "replayer.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


def test_run_with_calibration_predicts_the_session_and_explains_the_gap(tmp_path):
    done = replay_cli("run", str(scenario(tmp_path)), "--out", str(tmp_path / "run"))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    run_dir = tmp_path / "run"
    summary = json.loads((run_dir / "summary.json").read_text())
    labels = json.loads((run_dir / "synthetic" / "labels.json").read_text())
    synth = [json.loads(x) for x in (run_dir / "synthetic.jsonl").read_text().splitlines()]
    # every workload ran on both arms: 2 bench traces (d0: pp+tg, d2048: fill+pp+tg), 2 probes, 2 x 4 shaped turns
    assert len(synth) == 2 * (2 + 3 + 2 + 8) and not any(r["error"] for r in synth)
    assert {v["kind"] for v in labels.values()} == {"bench", "probe", "shaped"}
    # the ppN turn at depth 2048 really reused the filled context; its tg turn reused everything
    deep = [r for r in synth if r["trace"] == "synth:bench@d2048" and r["variant"] == "mtp-off"]
    fill, pp, tg = sorted(deep, key=lambda r: r["turn"])
    assert fill["prompt_n"] > 2000 and pp["cache_n"] >= 2000 and 240 < pp["prompt_n"] < 300
    assert tg["predicted_n"] == 48 and tg["prompt_n"] < 0.05 * tg["prompt_tokens"]
    # the shape-matched session has the real session's shape: prompt lengths within a few %
    real = {r["turn"]: r for r in (json.loads(x) for x in (run_dir / "results.jsonl").read_text().splitlines())
            if r["variant"] == "mtp-off"}
    shaped = {r["turn"]: r for r in synth if r["trace"].startswith("synth:shaped-code") and r["variant"] == "mtp-off"}
    generate = labels[shaped[0]["trace"]]["turns"]
    for k, r in real.items():
        assert abs(shaped[k]["prompt_tokens"] / r["prompt_tokens"] - 1) < 0.05, (k, shaped[k], r)
        # each of these 4 is among its session's longest: up to 8 x 32 tokens; the forecast keeps the real length
        assert shaped[k]["predicted_n"] == min(r["predicted_n"], 8 * 32) and generate[str(k)]["generate"] == \
            r["predicted_n"]
    # interleaved: on each arm, shaped turn k ran on the arm's twin after real turn k and before real turn k + 1
    for arm in ("mtp-off", "mtp-on"):
        starts = {(r["trace"].startswith("synth:shaped-code"), r["turn"]): r["mono_start_s"] for r in
                  [*(json.loads(x) for x in (run_dir / "results.jsonl").read_text().splitlines()), *synth]
                  if r["variant"] == arm and (r["trace"] == "cli_tool" or r["trace"].startswith("synth:shaped-code"))}
        for k in range(4):
            assert starts[(False, k)] < starts[(True, k)] < starts.get((False, k + 1), float("inf"))
        assert (run_dir / "servers" / f"{arm}-calibration.log").is_file()

    from importlib import resources

    import jsonschema

    schema = json.loads(resources.files("replayer.results").joinpath("summary.schema.json").read_text())
    jsonschema.validate(summary, schema)
    gpu = summary["gpu"]  # on a CPU machine the report says so; with a GPU each arm has figures
    assert gpu["note"].startswith("not measured") if not gpu["measured"] else \
        summary["variants"]["mtp-on"]["gpu"]["energy_per_token_j"] > 0
    syn = summary["comparisons"][0]["synthetic"]
    assert syn["tg_speedup"] > 0 and syn["pp_speedup"] > 0 and syn["session_speedup_measured"] > 0
    assert syn["prediction_shape_from"] == "shape-matched synthetic session"
    assert syn["prediction_error"] == pytest.approx(syn["session_speedup_predicted"]
                                                    / syn["session_speedup_measured"] - 1)
    low, high = syn["session_speedup_predicted_interval"]
    assert low <= syn["session_speedup_predicted"] <= high
    assert sum(syn["gap"].values()) == pytest.approx(1.0)
    assert sum(syn["gap_log"].values()) == pytest.approx(
        math.log(syn["session_speedup_measured"] / syn["tg_speedup"]))
    # on this model the MTP arm processes prompts more slowly: the penalty works against it
    assert syn["gap_log"]["MTP prefill penalty"] < 0
    fit = syn["speculative_fit"]
    assert 0 < fit["alpha"] < 1 and fit["c"] > 0 and fit["gamma"] == 3
    acc = syn["accepted_fraction"]
    assert 0 < acc["probes"] < 1 and 0 < acc["real"] < 1 and {"probe-code", "probe-prose"} <= set(acc)
    assert summary["variants"]["mtp-off"]["synthetic_bench"]["2048"]["tg_tok_s"] > 0
    assert len(syn["per_turn"]) == 4
    assert "synthetic vs real" in done.stdout and "MTP prefill penalty" in done.stdout
    assert "Synthetic vs real" in (run_dir / "report.md").read_text()


def test_synth_alone_forecasts_without_replaying_the_session(tmp_path):
    done = replay_cli("synth", str(scenario(tmp_path)), "--out", str(tmp_path / "run"))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert (tmp_path / "run" / "results.jsonl").read_text() == ""  # no session turn was replayed
    syn = summary["comparisons"][0]["synthetic"]
    assert syn["session_speedup_measured"] is None and syn["session_speedup_predicted"] > 0
    assert syn["baseline_predicted_s"] > 0 and len(syn["per_turn"]) == 4
    assert summary["run"]["synthetic_only"] is True and summary["problems"] == []
    assert "mtp-on vs mtp-off\n" not in done.stdout  # no empty session table
