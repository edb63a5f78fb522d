"""A real Cline CLI 3 (npm cline, installed by `scripts/setup.sh --test`) speaks chat
completions with native tools through `replay record` to a real llama-server, headless and
offline (isolated HOME and --data-dir, telemetry and updates off, a canary key). The
recording keeps its system prompt and tool schemas exactly as sent, each turn has the prompt
tokens the server reported, the key is nowhere, and it replays on MTP off and on."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import git
import pytest
from recorded import no_key, replays_on_both_arms, same_prompt_tokens

from replayer.runner.server import ManagedServer
from replayer.sources.importers.base import read_jsonl
from replayer.sources.record import journal_path
from replayer.trace import load_trace

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CANARY = "sk-canary-cline-0c7e5a93"
CLINE = Path(os.environ.get("REPLAYER_CLINE") or ROOT / ".venv-agents" / "cline" / "node_modules" / ".bin" / "cline")
CTX = 32768  # its requests are about 20,000 tokens (system prompt and 21 tool schemas)
# tools that reach out or spawn more agents; the 16 team_* tools have no switch
DISABLED = ["teams", "spawn_agent", "fetch_web_content", "ask_question", "search_codebase"]


@pytest.fixture(scope="module")
def cline() -> Path:
    if CLINE.is_file():
        return CLINE
    reason = f"Cline CLI is not installed at {CLINE}: run ./scripts/setup.sh --test (or set REPLAYER_CLINE)"
    if os.environ.get("CI"):
        pytest.fail(reason)  # CI installs it; a skip there would hide a broken set-up
    pytest.skip(reason)


@pytest.fixture(scope="module")
def upstream(server_bin, synthetic_model, tmp_path_factory):
    # Cline sends no max_tokens: -n caps each answer of a model that never stops
    log = tmp_path_factory.mktemp("cline-upstream") / "server.log"
    server = ManagedServer("cline-upstream", server_bin, synthetic_model("synthetic-echo-mtp70"),
                           ["-c", str(CTX), "-np", "1", "-t", "2", "-n", "32", "--no-webui"], log)
    with server:
        server.start(120)
        yield server.url
    assert not server.alive()


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
    from test_record import start_cli_recorder  # the same CLI recorder the other record tests use

    repo_dir, home = tmp_path / "repo", tmp_path / "home"
    repo_dir.mkdir()
    home.mkdir()
    git.Repo.init(repo_dir, initial_branch="main")
    (repo_dir / "a.py").write_text("print(1)\n")
    out = tmp_path / "cline-session.json"
    proc, url = start_cli_recorder(upstream, out, "--repo", str(repo_dir))
    try:
        data = data_dir(tmp_path / "data", url)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLINE_")}
        env.update(HOME=str(home), CLINE_GLOBAL_SETTINGS_PATH=str(data / "settings" / "global-settings.json"))
        # Every answer is cut at 32 tokens: Cline retries, then gives up with exit 1; what it sent is recorded.
        session = subprocess.run([str(cline), "--data-dir", str(data), "-P", "openai-compatible", "-m", "local",
                                  "-k", CANARY, "--json", "-t", "120", "--retries", "0", "-c", str(repo_dir),
                                  "Say hi to me"], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                 timeout=300)
    finally:
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
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
