"""A real Codex CLI (npm @openai/codex, installed by `scripts/setup.sh --test`) speaks the
Responses API through `replay record` to a real llama-server, headless and offline
(isolated HOME and CODEX_HOME, plugins, analytics and update checks off, a canary key).
The recording imports with Codex's exact developer instructions and function tool schemas,
each turn's converted request has the prompt tokens the server reported, the key is
nowhere, and the trace replays on MTP off and on with no error."""

from __future__ import annotations

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
CANARY = "sk-canary-codex-3e9a71c0"
CODEX = Path(os.environ.get("REPLAYER_CODEX") or ROOT / ".venv-agents" / "codex" / "node_modules" / ".bin" / "codex")
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
    if CODEX.is_file():
        return CODEX
    reason = f"Codex CLI is not installed at {CODEX}: run ./scripts/setup.sh --test (or set REPLAYER_CODEX)"
    if os.environ.get("CI"):
        pytest.fail(reason)  # CI installs it; a skip there would hide a broken set-up
    pytest.skip(reason)


@pytest.fixture(scope="module")
def upstream(server_bin, synthetic_model, tmp_path_factory):
    # Codex sends no max_output_tokens: -n caps each answer of a model that never stops
    log = tmp_path_factory.mktemp("codex-upstream") / "server.log"
    server = ManagedServer("codex-upstream", server_bin, synthetic_model("synthetic-echo-mtp70"),
                           ["-c", str(CTX), "-np", "1", "-t", "2", "-n", "32", "--no-webui"], log)
    with server:
        server.start(120)
        yield server.url
    assert not server.alive()


def test_a_recorded_codex_session_imports_exactly_and_replays(codex, upstream, tmp_path):
    from test_record import start_cli_recorder  # the same CLI recorder the other record tests use

    repo_dir, home = tmp_path / "repo", tmp_path / "home"
    repo_dir.mkdir()
    (home / ".codex").mkdir(parents=True)
    git.Repo.init(repo_dir, initial_branch="main")
    (repo_dir / "a.py").write_text("print(1)\n")
    out = tmp_path / "codex-session.json"
    proc, url = start_cli_recorder(upstream, out, "--repo", str(repo_dir))
    try:
        (home / ".codex" / "config.toml").write_text(CONFIG.format(url=url))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CODEX_"))}
        env.update(HOME=str(home), CODEX_HOME=str(home / ".codex"), LLAMACPP_API_KEY=CANARY, NO_COLOR="1")
        session = subprocess.run([str(codex), "exec", "--json", "--skip-git-repo-check", "--ephemeral",
                                  "-C", str(repo_dir), "Say hi"], env=env, stdin=subprocess.DEVNULL,
                                 capture_output=True, text=True, timeout=300)
    finally:
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert session.returncode == 0, session.stdout[-2000:] + session.stderr[-2000:]
    exchanges = [obj for _, obj in read_jsonl(journal_path(out)) if obj.get("type") == "responses"]
    assert exchanges, "Codex sent no /v1/responses request"
    no_key(out, CANARY)

    trace = load_trace(out)
    assert trace.n_turns == len(exchanges)
    assert trace.provenance["agent"] == "Codex CLI 0.169.0"  # from its user-agent
    fidelity = trace.provenance["fidelity"]
    assert any("responses exchange(s) converted to chat completions" in e for e in fidelity["exact"])
    assert {"system prompt", "tool schemas"} <= set(fidelity["exact"])
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
