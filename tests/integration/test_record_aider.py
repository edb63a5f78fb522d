"""A real coding agent, end to end: Aider (PyPI aider-chat, installed by
`scripts/setup.sh --test`) works in a temporary git repository through `replay record`
in front of a real llama-server running SmolLM2; the recording is already a trace: it
validates, shows the repository commit per turn and the recorded gaps, carries no API key,
and replays with `replay run` against two variants (MTP off and on, synthetic model)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import git
import pytest
from recorded import AGENTS, installed, replays_on_both_arms, upstream_server

from replayer.sources.record import journal_path
from replayer.trace import load_trace

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CANARY = "sk-canary-aider-91c4e27d"
STRUTIL = '''def shout(s):
    """Return s in upper case with an exclamation mark."""
    return s.upper() + "!"
'''


@pytest.fixture(scope="module")
def aider() -> Path:
    return installed("Aider", AGENTS / "aider" / "bin" / "aider", "REPLAYER_AIDER")


@pytest.fixture(scope="module")
def smollm2_server(server_bin, smollm2_path, tmp_path_factory):
    # -n caps every answer server-side: Aider sends no max_tokens, and SmolLM2 at T=0 can loop.
    yield from upstream_server("aider-upstream", server_bin, smollm2_path, tmp_path_factory.mktemp("smollm2"), 8192,
                               "-n", "24")


def run_aider(aider: Path, base_url: str, repo: Path, home: Path, stdin: str) -> subprocess.CompletedProcess:
    """One non-interactive Aider session; each stdin line is one user message (one request)."""
    meta = home / "model-metadata.json"
    # A local metadata entry stops Aider fetching litellm's model map from the internet.
    meta.write_text(json.dumps({"openai/smollm": {
        "max_input_tokens": 8192, "max_output_tokens": 1024, "max_tokens": 1024, "input_cost_per_token": 0.0,
        "output_cost_per_token": 0.0, "litellm_provider": "openai", "mode": "chat"}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AIDER_"))}
    env.update(HOME=str(home), LITELLM_LOCAL_MODEL_COST_MAP="True", NO_COLOR="1", TERM="dumb")
    cmd = [str(aider), "--model", "openai/smollm", "--openai-api-base", f"{base_url}/v1",
           "--openai-api-key", CANARY, "--model-metadata-file", str(meta),
           "--yes-always", "--no-check-update", "--no-show-model-warnings", "--analytics-disable",
           "--no-show-release-notes", "--no-gitignore", "--no-pretty", "--no-fancy-input",
           "--chat-history-file", str(home / "chat.md"), "--input-history-file", str(home / "input.txt"),
           "--edit-format", "whole", "--map-tokens", "512", "strutil.py"]
    done = subprocess.run(cmd, cwd=repo, env=env, input=stdin, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"aider failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def test_a_recorded_aider_session_replays_with_commits_and_gaps(aider, smollm2_server, tmp_path):
    from test_record import start_cli_recorder  # the same CLI recorder the other record tests use

    repo_dir, home = tmp_path / "repo", tmp_path / "home"
    repo_dir.mkdir()
    home.mkdir()
    repo = git.Repo.init(repo_dir, initial_branch="main")
    with repo.config_writer() as cw:
        cw.set_value("user", "name", "t").set_value("user", "email", "t@example.invalid")
    (repo_dir / "strutil.py").write_text(STRUTIL)
    repo.index.add(["strutil.py"])
    first = repo.index.commit("strutil: shout").hexsha

    out = tmp_path / "aider-session.json"
    proc, url = start_cli_recorder(smollm2_server, out, "--repo", str(repo_dir))
    try:
        # Session 1: two user messages, one request each, the second carrying the first.
        run_aider(aider, url, repo_dir, home, "What does shout do?\nAdd a function reverse(s).\n")
        # The user edits and commits between two Aider sessions: the trace must follow.
        time.sleep(1.0)
        with (repo_dir / "strutil.py").open("a") as f:
            f.write('\n\ndef whisper(s):\n    return s.lower() + "..."\n')
        repo.index.add(["strutil.py"])
        second = repo.index.commit("strutil: whisper").hexsha
        run_aider(aider, url, repo_dir, home, "Explain whisper.\n")
    finally:
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr

    for path in (out, journal_path(out)):
        assert CANARY.encode() not in path.read_bytes(), path

    trace = load_trace(out)  # validates against the trace schema
    assert trace.n_turns == 3, [t.messages[-1]["content"][:80] for t in trace.turns()]
    turns = trace.turns()
    # Aider's own prompt: a system prompt with its edit-format rules, then the user's words.
    system = turns[0].messages[0]
    assert system["role"] == "system" and "*file listing*" in system["content"]
    assert "What does shout do?" in json.dumps(turns[0].messages)
    assert "Add a function reverse(s)." in json.dumps(turns[1].messages)
    assert "Explain whisper." in json.dumps(turns[2].messages)
    # The second request of a session carries the first exchange (Aider keeps the chat; it moves
    # its format reminder to the newest user message, so the history is rewritten, not extended).
    assert turns[0].response_message["content"] in [m.get("content") for m in turns[1].messages]
    assert all(t.response_message.get("content") for t in turns)
    assert [t.repo["commit"] for t in turns] == [first, first, second]
    # The whisper edit was committed: no diff of strutil.py (Aider's own tag cache is untracked).
    assert "strutil.py" not in (turns[2].repo["dirty_diff"] or "")
    gaps = trace.recorded_gaps_s()
    assert all(g is not None for g in gaps) and gaps[1] >= 1.0  # the edit and commit took over a second
    assert trace.data["repository"]["base_commit"] == first
    shown = subprocess.run([sys.executable, "-m", "replayer.cli", "inspect", str(out)], cwd=ROOT, text=True,
                           capture_output=True, env={**os.environ, "COLUMNS": "200"}, timeout=120)
    assert shown.returncode == 0, shown.stderr
    rows = [line for line in shown.stdout.splitlines() if first[:8] in line or second[:8] in line]
    assert len(rows) == 3 and second[:8] in rows[2], shown.stdout

    summary = replays_on_both_arms(out, 3, tmp_path, warmup=1)
    # Projected session time uses the gaps Aider and the user really took.
    comp = summary["comparisons"][0]
    assert comp["compared_turns"] == 3
