"""A real Cline CLI 3 (npm cline, installed by `scripts/setup.sh --test`) speaks chat
completions with native tools through `replay record` to a real llama-server, headless and
offline (isolated HOME and --data-dir, telemetry and updates off, a canary key). The
recording keeps its system prompt and tool schemas exactly as sent, each turn has the prompt
tokens the server reported, the key is nowhere, and it replays on MTP off and on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from recorded import (AGENTS, disk_matches_wire, installed, no_key, recording, replays_on_both_arms,
                      same_prompt_tokens, scratch, upstream_server)

from replayer.sources.importers.base import read_jsonl
from replayer.sources.record import journal_path
from replayer.trace import load_trace

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CANARY = "sk-canary-cline-0c7e5a93"
CTX = 32768  # its requests are about 20,000 tokens (system prompt and 21 tool schemas)
# tools that reach out or spawn more agents; the 16 team_* tools have no switch
DISABLED = ["teams", "spawn_agent", "fetch_web_content", "ask_question", "search_codebase"]


@pytest.fixture(scope="module")
def cline() -> Path:
    return installed("Cline CLI", AGENTS / "cline" / "node_modules" / ".bin" / "cline", "REPLAYER_CLINE")


@pytest.fixture(scope="module")
def upstream(server_bin, synthetic_model, tmp_path_factory):
    # Cline sends no max_tokens: -n caps each answer of a model that never stops
    yield from upstream_server("cline-upstream", server_bin, synthetic_model("synthetic-echo-mtp70"),
                               tmp_path_factory.mktemp("cline-upstream"), CTX, "-n", "32")


def data_dir(where: Path, url: str) -> Path:
    """Cline's isolated state: the provider, and the settings that turn telemetry off (read only
    through CLINE_GLOBAL_SETTINGS_PATH, before --data-dir applies)."""
    settings = where / "settings"
    settings.mkdir(parents=True)
    provider = {"provider": "openai-compatible", "apiKey": CANARY, "model": "local", "baseUrl": f"{url}/v1"}
    (settings / "providers.json").write_text(json.dumps({
        "version": 1, "lastUsedProvider": "openai-compatible", "modes": {},
        "providers": {"openai-compatible": {"settings": provider, "updatedAt": "2026-01-01T00:00:00.000Z",
                                            "tokenSource": "manual"}}}))
    (settings / "global-settings.json").write_text(json.dumps({"telemetryOptOut": True, "autoUpdateEnabled": False,
                                                               "disabledTools": DISABLED}))
    return where


def test_a_recorded_cline_session_keeps_its_prompt_and_tools_and_replays(cline, upstream, tmp_path):
    repo_dir, home = scratch(tmp_path)
    out = tmp_path / "cline-session.json"
    with recording(upstream, out, repo_dir) as url:
        data = data_dir(tmp_path / "data", url)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLINE_")}
        env.update(HOME=str(home), CLINE_GLOBAL_SETTINGS_PATH=str(data / "settings" / "global-settings.json"))
        # Every answer is cut at 32 tokens: Cline retries, then gives up with exit 1; what it sent is recorded.
        session = subprocess.run([str(cline), "--data-dir", str(data), "-P", "openai-compatible", "-m", "local",
                                  "-k", CANARY, "--json", "-t", "120", "--retries", "0", "-c", str(repo_dir),
                                  "Say hi to me"], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                 timeout=300)
    requests = [obj["request"] for _, obj in read_jsonl(journal_path(out)) if "request" in obj]
    assert requests, session.stdout[-2000:] + session.stderr[-2000:]
    no_key(out, CANARY)

    trace = load_trace(out)
    assert trace.n_turns == len(requests)
    first = trace.turn(0)
    assert first.messages == requests[0]["messages"] and first.tools == requests[0]["tools"]
    names = {t["function"]["name"] for t in first.tools}
    assert len(names) >= 10 and not names & {"spawn_agent", "fetch_web_content"}
    assert "cline" in json.dumps(first.messages[0]).lower()
    same_prompt_tokens(trace, upstream)
    replays_on_both_arms(out, trace.n_turns, tmp_path, CTX)

    # What Cline wrote to its --data-dir is the same session: its own system prompt, and (given
    # the tool schemas it does not store) each call's request exactly as sent
    stored = sorted((tmp_path / "data" / "sessions").iterdir())
    assert len(stored) == 1, stored
    fidelity = disk_matches_wire(stored[0], trace, tmp_path, server_usage=False)
    assert "system prompt from --system-prompt (replacing the stored one)" in fidelity["reconstructed"]
    assert any("display-only" in line for line in fidelity["reconstructed"])  # its closing error notice
    bare = tmp_path / "bare.json"
    done = subprocess.run([sys.executable, "-m", "replayer.cli", "import", str(stored[0]), "-o", str(bare)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "system prompt (stored in messages.json)" in load_trace(bare).provenance["fidelity"]["exact"]
    assert load_trace(bare).turn(0).messages == first.messages  # no help needed for the prompt
