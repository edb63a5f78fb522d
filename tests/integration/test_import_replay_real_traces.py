"""Every real agent file in ../shared/real-traces imports with its format detected, validates,
and replays its first turns against the synthetic MTP model on real llama-server processes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scenarios import Quiet, mtp_scenario

from replayer.api import Overrides, run_scenario
from replayer.scenario.load import load_scenario
from replayer.sources.importers import detect_format, import_session
from replayer.trace import load_trace

pytestmark = pytest.mark.integration

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "real-traces"
FILES = [
    ("aider", "aider-llm-history/jkassemi_friendly_names.aider.llm.history"),
    ("cline-v4", "cline-v4/cline_fixture_session.messages.json"),
    ("codex", "codex-rollout/AcidicSoil_rollout-2025-11-17T15-30-28-019a93b9.jsonl"),
    ("openhands", "openhands/openhands_basic_gui_mode.json"),
    ("swe-agent", "swe-agent/sweagent_marshmallow-1867_function_calling_replace.traj"),
    ("swe-agent", "swe-agent/sweagent_marshmallow-1867_default_thought_action.traj"),
]


@pytest.mark.parametrize("fmt, rel", FILES)
def test_real_agent_file_imports_and_replays(tmp_path, fmt, rel):
    path = REAL / rel
    if not path.is_file():
        pytest.skip(f"real trace not available: {path} (the shared real-traces folder is absent)")
    assert detect_format(path) == fmt
    doc, _ = import_session(path)
    trace_path = tmp_path / "trace.json"
    trace_path.write_text(json.dumps(doc))
    trace = load_trace(trace_path)
    assert trace.n_turns >= 2 and trace.provenance["fidelity"]
    scenario = mtp_scenario(tmp_path / "s.yaml", f"real-{fmt}", [trace_path], ctx=61440,
                            extra="replay: {turns: 2, max_tokens: 64}\n")
    outcome = run_scenario(load_scenario(scenario), Overrides(out=str(tmp_path / "run")), lambda n: Quiet())
    assert outcome.exit_code == 0, outcome.summary.problems
    on = outcome.summary.variants["mtp-on"]
    assert on.turns == 2 and on.errors == 0 and on.accepted_tokens > 0
    assert outcome.summary.comparisons[0].diverged_turns == 0
