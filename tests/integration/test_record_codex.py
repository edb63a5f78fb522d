"""A real Codex CLI (npm @openai/codex, installed by `scripts/setup.sh --test`) speaks the
Responses API through `replay record` to a real llama-server, headless and offline
(isolated HOME and CODEX_HOME, plugins, analytics and update checks off, a canary key).
The recording imports with Codex's exact developer instructions and function tool schemas,
each turn's converted request has the prompt tokens the server reported, the key is
nowhere, and the trace replays on MTP off and on with no error."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from recorded import (AGENTS, converted_exactly, installed, recording, replays_on_both_arms, same_prompt_tokens,
                      scratch, upstream_server)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CANARY = "sk-canary-codex-3e9a71c0"
CTX = 16384  # Codex's first request is about 6,500 tokens
CONFIG = """\
model = "local-model"
model_provider = "llamacpp"
approval_policy = "never"
sandbox_mode = "read-only"
check_for_update_on_startup = false

[model_providers.llamacpp]
name = "llama.cpp"
base_url = "{url}/v1"
wire_api = "responses"
env_key = "LLAMACPP_API_KEY"

[analytics]
enabled = false

[otel]
exporter = "none"

[features]
plugins = false
remote_plugin = false
"""


@pytest.fixture(scope="module")
def codex() -> Path:
    return installed("Codex CLI", AGENTS / "codex" / "node_modules" / ".bin" / "codex", "REPLAYER_CODEX")


@pytest.fixture(scope="module")
def upstream(server_bin, synthetic_model, tmp_path_factory):
    # Codex sends no max_output_tokens: -n caps each answer of a model that never stops
    yield from upstream_server("codex-upstream", server_bin, synthetic_model("synthetic-echo-mtp70"),
                               tmp_path_factory.mktemp("codex-upstream"), CTX, "-n", "32")


def test_a_recorded_codex_session_imports_exactly_and_replays(codex, upstream, tmp_path):
    repo_dir, home = scratch(tmp_path)
    (home / ".codex").mkdir(parents=True)
    out = tmp_path / "codex-session.json"
    with recording(upstream, out, repo_dir) as url:
        (home / ".codex" / "config.toml").write_text(CONFIG.format(url=url))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CODEX_"))}
        env.update(HOME=str(home), CODEX_HOME=str(home / ".codex"), LLAMACPP_API_KEY=CANARY, NO_COLOR="1")
        session = subprocess.run([str(codex), "exec", "--json", "--skip-git-repo-check", "--ephemeral",
                                  "-C", str(repo_dir), "Say hi"], env=env, stdin=subprocess.DEVNULL,
                                 capture_output=True, text=True, timeout=300)
    assert session.returncode == 0, session.stdout[-2000:] + session.stderr[-2000:]
    exchanges, trace = converted_exactly(out, "responses", CANARY)
    assert trace.provenance["agent"] == "Codex CLI 0.169.0"  # from its user-agent
    # Codex's instructions (developer messages) and its function tools, exactly as sent
    body = exchanges[0]["body"]
    sent_developer = [i for i in body["input"] if i.get("role") == "developer"]
    first = trace.turn(0)
    assert [m["role"] for m in first.messages[: len(sent_developer)]] == ["developer"] * len(sent_developer)
    sent = {t["name"]: t["parameters"] for t in body["tools"] if t.get("type") == "function"}
    assert len(sent) >= 5
    assert {t["function"]["name"]: t["function"]["parameters"] for t in first.tools} == sent
    same_prompt_tokens(trace, upstream)
    replays_on_both_arms(out, trace.n_turns, tmp_path, CTX)
