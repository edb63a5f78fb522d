"""A real OpenCode (npm opencode-ai, installed by `scripts/setup.sh --test`) speaks chat
completions with native tools through `replay record` to a real llama-server, headless and
offline (isolated HOME, no model list fetch, no plugins, updates or sharing, a canary key).
The recording keeps its system prompt and tool schemas exactly as sent, each turn has the
prompt tokens the server reported, the key is nowhere, and it replays on MTP off and on."""

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
CANARY = "sk-canary-opencode-8b2d4f60"
OPENCODE = Path(os.environ.get("REPLAYER_OPENCODE")
                or ROOT / ".venv-agents" / "opencode" / "node_modules" / ".bin" / "opencode")
CTX = 16384  # its main turn is about 8,000 tokens (system prompt and 10 tool schemas)
OFFLINE = {"OPENCODE_DISABLE_MODELS_FETCH": "1", "OPENCODE_DISABLE_AUTOUPDATE": "1", "OPENCODE_DISABLE_LSP_DOWNLOAD": "1",
           "OPENCODE_DISABLE_SHARE": "1", "OPENCODE_DISABLE_DEFAULT_PLUGINS": "1", "OPENCODE_DISABLE_CLAUDE_CODE": "1",
           "OPENCODE_DISABLE_EXTERNAL_SKILLS": "1"}


@pytest.fixture(scope="module")
def opencode() -> Path:
    if OPENCODE.is_file():
        return OPENCODE
    reason = f"OpenCode is not installed at {OPENCODE}: run ./scripts/setup.sh --test (or set REPLAYER_OPENCODE)"
    if os.environ.get("CI"):
        pytest.fail(reason)  # CI installs it; a skip there would hide a broken set-up
    pytest.skip(reason)


@pytest.fixture(scope="module")
def upstream(server_bin, synthetic_model, tmp_path_factory):
    log = tmp_path_factory.mktemp("opencode-upstream") / "server.log"
    server = ManagedServer("opencode-upstream", server_bin, synthetic_model("synthetic-echo-mtp70"),
                           ["-c", str(CTX), "-np", "1", "-t", "2", "-n", "32", "--no-webui"], log)
    with server:
        server.start(120)
        yield server.url
    assert not server.alive()


def config(url: str) -> dict:
    model = {"name": "local", "tool_call": True, "limit": {"context": CTX, "output": 32}}
    return {"provider": {"llamacpp": {"npm": "@ai-sdk/openai-compatible", "name": "llama.cpp (local)",
                                      "options": {"baseURL": f"{url}/v1", "apiKey": CANARY},
                                      "models": {"local": model}}},
            "model": "llamacpp/local", "small_model": "llamacpp/local", "autoupdate": False, "share": "disabled"}


def test_a_recorded_opencode_session_keeps_its_prompt_and_tools_and_replays(opencode, upstream, tmp_path):
    from test_record import start_cli_recorder  # the same CLI recorder the other record tests use

    repo_dir, home = tmp_path / "repo", tmp_path / "home"
    repo_dir.mkdir()
    home.mkdir()
    git.Repo.init(repo_dir, initial_branch="main")
    (repo_dir / "a.py").write_text("print(1)\n")
    out = tmp_path / "opencode-session.json"
    proc, url = start_cli_recorder(upstream, out, "--repo", str(repo_dir))
    try:
        cfg = tmp_path / "opencode.json"
        cfg.write_text(json.dumps(config(url)))
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCODE_")}
        env.update(HOME=str(home), OPENCODE_CONFIG=str(cfg), NO_COLOR="1", **OFFLINE)
        session = subprocess.run([str(opencode), "run", "--format", "json", "--auto", "-m", "llamacpp/local", "Say hi"],
                                 cwd=repo_dir, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                 timeout=300)
    finally:
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert session.returncode == 0, session.stdout[-2000:] + session.stderr[-2000:]
    requests = [obj["request"] for _, obj in read_jsonl(journal_path(out)) if "request" in obj]
    no_key(out, CANARY)

    trace = load_trace(out)
    assert trace.n_turns == len(requests) >= 2  # a title request, then the main turn
    assert trace.provenance["agent"] == "OpenCode 1.18.33"  # from its user-agent
    main = next(r for r in requests if r.get("tools"))
    turn = next(t for t in trace.turns() if t.tools)
    assert turn.messages == main["messages"] and turn.tools == main["tools"] and len(main["tools"]) >= 8
    assert "opencode" in json.dumps(turn.messages[0]).lower()
    same_prompt_tokens(trace, upstream)
    replays_on_both_arms(out, trace.n_turns, tmp_path, CTX)
