"""A real Claude Code (npm @anthropic-ai/claude-code, installed by `scripts/setup.sh --test`)
speaks Anthropic's Messages API through `replay record` to a real llama-server, headless and
offline (isolated HOME, telemetry and updates off, a canary key). The recording imports
with Claude Code's exact system prompt and tool schemas, every turn's converted request has
the prompt tokens the server reported, the key is nowhere, and the trace replays on MTP off
and on with no error."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from recorded import (AGENTS, converted_exactly, installed, recording, replays_on_both_arms, same_prompt_tokens,
                      scratch, upstream_server)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CANARY = "sk-ant-canary-5d0e8b1f2a"
CTX = 32768  # Claude Code's first request is about 18,500 tokens (its system prompt and 24 tool schemas)


@pytest.fixture(scope="module")
def claude() -> Path:
    return installed("Claude Code", AGENTS / "claude-code" / "node_modules" / ".bin" / "claude", "REPLAYER_CLAUDE_CODE")


@pytest.fixture(scope="module")
def upstream(server_bin, synthetic_model, tmp_path_factory):
    yield from upstream_server("claude-upstream", server_bin, synthetic_model("synthetic-echo-mtp70"),
                               tmp_path_factory.mktemp("claude-upstream"), CTX)


def run_claude(claude: Path, base_url: str, repo: Path, home: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE_"))}
    env.update(HOME=str(home), ANTHROPIC_BASE_URL=base_url, ANTHROPIC_API_KEY=CANARY, DISABLE_TELEMETRY="1",
               DISABLE_AUTOUPDATER="1", CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
               # the synthetic model never stops on its own: 32 tokens keep each answer short
               CLAUDE_CODE_MAX_OUTPUT_TOKENS="32", NO_COLOR="1", TERM="dumb")
    return subprocess.run([str(claude), "-p", "Say hi", "--model", "local-model"], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=300)


def test_a_recorded_claude_code_session_imports_exactly_and_replays(claude, upstream, tmp_path):
    repo_dir, home = scratch(tmp_path)
    out = tmp_path / "claude-session.json"
    with recording(upstream, out, repo_dir) as url:
        # Claude Code gives up with exit 1 once an answer hits the 32-token cap: what it sent is recorded.
        session = run_claude(claude, url, repo_dir, home)
    exchanges, trace = converted_exactly(out, "messages", CANARY,
                                         f":\n{session.stdout[-2000:]}\n{session.stderr[-2000:]}")
    assert trace.provenance["agent"] == "Claude Code 2.1.197"  # from its user-agent
    # the system prompt and the tool schemas exactly as Claude Code sent them
    body = exchanges[0]["body"]
    system = "".join(b["text"] for b in body["system"]) if isinstance(body["system"], list) else body["system"]
    first = trace.turn(0)
    assert first.messages[0] == {"role": "system", "content": system} and "Claude" in system
    sent = {t["name"]: t["input_schema"] for t in body["tools"] if "input_schema" in t}
    assert len(sent) >= 10
    assert {t["function"]["name"]: t["function"]["parameters"] for t in first.tools} == sent
    same_prompt_tokens(trace, upstream)
    replays_on_both_arms(out, trace.n_turns, tmp_path, CTX)
