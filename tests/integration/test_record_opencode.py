"""A real OpenCode (npm opencode-ai, installed by `scripts/setup.sh --test`) speaks chat
completions with native tools through `replay record` to a real llama-server, headless and
offline (isolated HOME, no model list fetch, no plugins, updates or sharing, a canary key).
The recording keeps its system prompt and tool schemas exactly as sent, each turn has the
prompt tokens the server reported, the key is nowhere, and it replays on MTP off and on."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from recorded import (AGENTS, disk_matches_wire, installed, no_key, recording, replays_on_both_arms,
                      same_prompt_tokens, scratch, upstream_server)

from replayer.sources.importers.base import read_jsonl
from replayer.sources.record import journal_path
from replayer.trace import load_trace

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CANARY = "sk-canary-opencode-8b2d4f60"
CTX = 16384  # its main turn is about 8,000 tokens (system prompt and 10 tool schemas)
OFFLINE = {"OPENCODE_DISABLE_MODELS_FETCH": "1", "OPENCODE_DISABLE_AUTOUPDATE": "1", "OPENCODE_DISABLE_LSP_DOWNLOAD": "1",
           "OPENCODE_DISABLE_SHARE": "1", "OPENCODE_DISABLE_DEFAULT_PLUGINS": "1", "OPENCODE_DISABLE_CLAUDE_CODE": "1",
           "OPENCODE_DISABLE_EXTERNAL_SKILLS": "1"}


@pytest.fixture(scope="module")
def opencode() -> Path:
    return installed("OpenCode", AGENTS / "opencode" / "node_modules" / ".bin" / "opencode", "REPLAYER_OPENCODE")


@pytest.fixture(scope="module")
def upstream(server_bin, synthetic_model, tmp_path_factory):
    yield from upstream_server("opencode-upstream", server_bin, synthetic_model("synthetic-echo-mtp70"),
                               tmp_path_factory.mktemp("opencode-upstream"), CTX, "-n", "32")


def config(url: str) -> dict:
    model = {"name": "local", "tool_call": True, "limit": {"context": CTX, "output": 32}}
    return {"provider": {"llamacpp": {"npm": "@ai-sdk/openai-compatible", "name": "llama.cpp (local)",
                                      "options": {"baseURL": f"{url}/v1", "apiKey": CANARY},
                                      "models": {"local": model}}},
            "model": "llamacpp/local", "small_model": "llamacpp/local", "autoupdate": False, "share": "disabled"}


def test_a_recorded_opencode_session_keeps_its_prompt_and_tools_and_replays(opencode, upstream, tmp_path):
    repo_dir, home = scratch(tmp_path)
    out = tmp_path / "opencode-session.json"
    with recording(upstream, out, repo_dir) as url:
        cfg = tmp_path / "opencode.json"
        cfg.write_text(json.dumps(config(url)))
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCODE_")}
        env.update(HOME=str(home), OPENCODE_CONFIG=str(cfg), NO_COLOR="1", **OFFLINE)
        # two prompts in one session (--continue): the second request carries the first exchange
        for more, prompt in ((), "Say hi"), (("--continue",), "Now say bye"):
            session = subprocess.run([str(opencode), "run", "--format", "json", "--auto", "-m", "llamacpp/local", *more,
                                      prompt], cwd=repo_dir, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                                     text=True, timeout=300)
            assert session.returncode == 0, session.stdout[-2000:] + session.stderr[-2000:]
    requests = [obj["request"] for _, obj in read_jsonl(journal_path(out)) if "request" in obj]
    no_key(out, CANARY)

    trace = load_trace(out)
    assert trace.n_turns == len(requests) >= 3  # a title request, then a turn per prompt
    assert trace.provenance["agent"] == "OpenCode 1.18.33"  # from its user-agent
    main = next(r for r in requests if r.get("tools"))
    turn = next(t for t in trace.turns() if t.tools)
    assert turn.messages == main["messages"] and turn.tools == main["tools"] and len(main["tools"]) >= 8
    assert "opencode" in json.dumps(turn.messages[0]).lower()
    same_prompt_tokens(trace, upstream)
    replays_on_both_arms(out, trace.n_turns, tmp_path, CTX)

    # What OpenCode stored in its database is the same session: given the system prompt and tool
    # schemas it does not store, each call's request exactly as sent, with the server's usage
    agent_turns = [t.index for t in trace.turns() if t.tools]
    assert len(agent_turns) == 2 and len(trace.turn(agent_turns[1]).messages) == 4  # system, hi, answer, bye
    data = home / ".local" / "share" / "opencode"
    fidelity = disk_matches_wire(data, trace, tmp_path, wire_turns=agent_turns)
    assert any("title generation" in line for line in fidelity["missing"])
