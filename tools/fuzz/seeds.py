"""Valid seed inputs of every format the project reads, small enough to mutate thousands of times.

A seed is a set of files (name -> bytes); the contract's target says how to read them. Every
seed here is accepted unmutated (tests/unit/test_fuzz_inputs.py checks it). Trimmed copies of the
real agent files in ../shared/real-traces are added when that folder is there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT.parent / "shared" / "real-traces"


@dataclass(frozen=True)
class Seed:
    target: str  # "trace", "scenario" or an importer's format name
    name: str
    files: dict[str, bytes]  # relative path -> content; the first one is the input
    kind: str  # how its input is structured: "json", "jsonl", "text" or "yaml"
    input: str = ""  # what the loader is given (a file or a folder); default: the first file

    @property
    def main(self) -> str:
        return self.input or next(iter(self.files))


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=1).encode()


def _jsonl(values: list[Any]) -> bytes:
    return b"".join(json.dumps(v, ensure_ascii=False).encode() + b"\n" for v in values)


def _trace() -> list[Seed]:
    tiny = (ROOT / "tests" / "fixtures" / "tiny_trace.json").read_bytes()
    return [Seed("trace", "tiny", {"trace.json": tiny}, "json")]


SCENARIO = """\
version: 1
name: fuzz
description: a scenario with every section the loader reads
traces: [trace.json]
server:
  model: synthetic-echo-mtp70
  args: [-c, "4096", -np, "1", -t, "2"]
variants:
  mtp-off: {args: []}
  mtp-on:
    args: [--spec-type, mtp, --spec-draft-n-max, "3"]
    expect_speculation: true
baseline: mtp-off
replay:
  max_tokens: 64
  warmup: 0
  repetitions: 2
  order: interleaved
  on_error: continue
  oversize: skip
  sampling: {temperature: 0.0, seed: 1}
gate:
  max_slowdown: 0.05
  divergence: allow
  max_repetitions: 4
output:
  dir: runs/{scenario}-{timestamp}
"""


def _scenarios() -> list[Seed]:
    out = [Seed("scenario", "all-sections", {"scenario.yaml": SCENARIO.encode()}, "yaml")]
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        out.append(Seed("scenario", path.stem, {"scenario.yaml": path.read_bytes()}, "yaml"))
    return out


def _anthropic_messages() -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": [{"type": "text", "text": "<task>\nFix the divide bug\n</task>"}], "ts": 1760000000000},
        {"role": "assistant", "ts": 1760000003000, "modelInfo": {"id": "qwen3-coder"},
         "metrics": {"inputTokens": 900, "outputTokens": 40},
         "content": [{"type": "thinking", "thinking": "look first"}, {"type": "text", "text": "Reading calc.py."},
                     {"type": "tool_use", "id": "toolu_1", "name": "read_file", "input": {"path": "calc.py"}}]},
        {"role": "user", "ts": 1760000004000, "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "return a // b"}]},
            {"type": "text", "text": "<environment_details>cwd /w</environment_details>"}]},
        {"role": "assistant", "ts": 1760000009000, "content": [
            {"type": "text", "text": "[read_file for 'calc.py'] Result: looks wrong"},
            {"type": "tool_use", "id": "toolu_2", "name": "attempt_completion", "input": {"result": "Fixed."}}]},
    ]


def _cline() -> list[Seed]:
    v4 = {"version": 1, "updated_at": "2025-10-09T08:53:29Z", "agent": "cline", "sessionId": "s1",
          "system_prompt": "You are Cline.", "messages": _anthropic_messages()}
    manifest = {"session_id": "s1", "messages_path": "s1.messages.json", "provider": "openai", "model": "qwen3-coder",
                "cwd": "/w", "started_at": "2025-10-09T08:53:20Z"}
    ui = [{"ts": 1760000000000, "type": "say", "say": "api_req_started",
           "text": json.dumps({"tokensIn": 900, "tokensOut": 40, "conversationHistoryDeletedRange": [1, 2]})},
          {"ts": 1760000005000, "type": "say", "say": "api_req_started", "text": json.dumps({"tokensOut": 12})}]
    meta = {"model_usage": [{"ts": 1760000000000, "model_id": "qwen3-coder", "mode": "act"}]}
    v3 = {"api_conversation_history.json": _json(_anthropic_messages()), "ui_messages.json": _json(ui),
          "task_metadata.json": _json(meta)}
    out = [Seed("cline-v4", "session", {"s1.messages.json": _json(v4), "s1.json": _json(manifest)}, "json"),
           Seed("cline-v3", "task", {"1760000000000/api_conversation_history.json": v3["api_conversation_history.json"],
                                     "1760000000000/ui_messages.json": v3["ui_messages.json"],
                                     "1760000000000/task_metadata.json": v3["task_metadata.json"]}, "json",
                input="1760000000000")]
    real = REAL / "cline-v4" / "cline_fixture_session.messages.json"
    if real.is_file():
        out.append(Seed("cline-v4", "real", {"s.messages.json": real.read_bytes()}, "json"))
    return out


def _claude_code() -> list[Seed]:
    def rec(kind: str, uuid: str, parent: str | None, sec: int, message: dict[str, Any], **extra: Any) -> dict:
        return {"parentUuid": parent, "isSidechain": False, "cwd": "/w", "sessionId": "s1", "version": "1.0.83",
                "gitBranch": "main", "type": kind, "uuid": uuid, "timestamp": f"2025-08-14T09:00:{sec:02d}.000Z",
                "message": message, **extra}

    def asst(mid: str, blocks: list[dict[str, Any]], stop: str | None) -> dict[str, Any]:
        return {"id": mid, "role": "assistant", "model": "claude-sonnet-4", "content": blocks, "stop_reason": stop,
                "usage": {"input_tokens": 4, "cache_read_input_tokens": 1400, "output_tokens": 30}}

    records = [
        {"type": "summary", "summary": "Fix divide", "leafUuid": "a3"},
        rec("user", "u1", None, 1, {"role": "user", "content": "The divide test fails"}),
        rec("assistant", "a1", "u1", 2, asst("m1", [{"type": "thinking", "thinking": "", "signature": "x"}], None)),
        rec("assistant", "a2", "a1", 3, asst("m1", [{"type": "text", "text": "Reading."},
                                                     {"type": "tool_use", "id": "t1", "name": "Read",
                                                      "input": {"file_path": "/w/calc.py"}}], "tool_use")),
        rec("user", "u2", "a2", 4, {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t1", "content": "return a // b"},
            {"type": "image", "source": {"media_type": "image/png", "data": "AA=="}}]}),
        rec("assistant", "a3", "u2", 5, asst("m2", [{"type": "text", "text": "Fixed."}], "end_turn")),
        rec("assistant", "s1", "u2", 6, asst("m3", [{"type": "text", "text": "side"}], "end_turn"), isSidechain=True),
    ]
    return [Seed("claude-code", "session", {"s1.jsonl": _jsonl(records)}, "jsonl")]


def _codex() -> list[Seed]:
    def line(sec: int, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        return {"timestamp": f"2025-11-17T15:30:{sec:02d}.000Z", "type": kind, "payload": payload}

    def msg(role: str, text: str, kind: str = "input_text") -> dict[str, Any]:
        return {"type": "message", "role": role, "content": [{"type": kind, "text": text}]}

    rows = [
        line(0, "session_meta", {"id": "x", "timestamp": "2025-11-17T15:30:00.000Z", "cwd": "/w", "cli_version": "0.58.0",
                                 "instructions": "You are Codex.", "git": {"commit_hash": "abc", "branch": "main"}}),
        line(1, "turn_context", {"model": "gpt-5-codex", "cwd": "/w"}),
        line(2, "response_item", msg("developer", "sandbox: on")),
        line(3, "response_item", msg("user", "Fix the divide bug")),
        line(4, "response_item", {"type": "reasoning", "summary": [], "encrypted_content": "gAAA"}),
        line(5, "response_item", {"type": "function_call", "name": "shell", "arguments": "{\"command\":[\"ls\"]}",
                                  "call_id": "c1"}),
        line(6, "event_msg", {"type": "token_count", "info": {"total_token_usage": {"input_tokens": 900},
                                                              "last_token_usage": {"input_tokens": 900,
                                                                                   "output_tokens": 30}}}),
        line(7, "response_item", {"type": "function_call_output", "call_id": "c1", "output": "calc.py"}),
        line(8, "response_item", msg("assistant", "Done.", "output_text")),
        line(9, "event_msg", {"type": "token_count", "info": {"total_token_usage": {"input_tokens": 1900},
                                                              "last_token_usage": {"input_tokens": 1000,
                                                                                   "output_tokens": 5}}}),
        line(10, "compacted", {"message": "summary", "replacement_history": [msg("user", "Fix the divide bug")]}),
        line(11, "response_item", msg("assistant", "Still here.", "output_text")),
    ]
    out = [Seed("codex", "rollout", {"rollout-1.jsonl": _jsonl(rows)}, "jsonl")]
    real = REAL / "codex-rollout" / "AcidicSoil_rollout-2025-11-17T15-30-28-019a93b9.jsonl"
    if real.is_file():
        out.append(Seed("codex", "real", {"rollout-real.jsonl": b"".join(real.read_bytes().splitlines(True)[:40])},
                        "jsonl"))
    return out


def _openhands() -> list[Seed]:
    def resp(rid: str, content: str, name: str, cid: str, args: dict[str, Any]) -> dict[str, Any]:
        return {"id": rid, "created": 1760000003, "model": "qwen3-coder",
                "choices": [{"finish_reason": "tool_calls", "index": 0, "message": {
                    "role": "assistant", "content": content, "tool_calls": [
                        {"id": cid, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}]}}],
                "usage": {"completion_tokens": 40, "prompt_tokens": 900}}

    r1 = resp("r1", "Running tests.", "execute_bash", "t1", {"command": "pytest"})
    events = [
        {"id": 0, "timestamp": "2025-10-09T10:53:20", "source": "agent", "action": "system", "message": "sys",
         "args": {"content": "You are OpenHands.", "tools": [{"type": "function", "function": {
             "name": "execute_bash", "parameters": {"type": "object"}}}], "openhands_version": "0.51.0"}},
        {"id": 1, "timestamp": "2025-10-09T10:53:21", "source": "user", "action": "message", "message": "Fix it",
         "args": {"content": "Fix it"}},
        {"id": 2, "timestamp": "2025-10-09T10:53:23", "source": "agent", "action": "run", "message": "Running",
         "args": {"command": "pytest", "thought": "Running tests."},
         "tool_call_metadata": {"function_name": "execute_bash", "tool_call_id": "t1", "model_response": r1}},
        {"id": 3, "timestamp": "2025-10-09T10:53:25", "source": "agent", "observation": "run", "cause": 2,
         "content": "1 failed", "extras": {"command": "pytest", "metadata": {"exit_code": 1, "working_dir": "/w"}},
         "tool_call_metadata": {"function_name": "execute_bash", "tool_call_id": "t1", "model_response": r1}},
        {"id": 4, "timestamp": "2025-10-09T10:53:26", "source": "agent", "action": "condensation",
         "args": {"forgotten_event_ids": [], "summary": "tests fail", "summary_offset": 1}},
        {"id": 5, "timestamp": "2025-10-09T10:53:27", "source": "agent", "action": "edit", "message": "Edit",
         "args": {"path": "/w/calc.py", "thought": "Fixing."},
         "tool_call_metadata": {"function_name": "str_replace_editor", "tool_call_id": "t2"}},
        {"id": 6, "timestamp": "2025-10-09T10:53:28", "source": "agent", "observation": "edit", "content": "ok",
         "extras": {"impl_source": "oh_aci", "formatted_output_and_error": "edited"},
         "tool_call_metadata": {"function_name": "str_replace_editor", "tool_call_id": "t2"}},
        {"id": 7, "timestamp": "2025-10-09T10:53:30", "source": "agent", "action": "finish",
         "args": {"final_thought": "Fixed.", "thought": ""}},
    ]
    out = [Seed("openhands", "trajectory", {"trajectory.json": _json(events)}, "json"),
           Seed("openhands", "events-dir", {f"sid/events/{i}.json": _json(e) for i, e in enumerate(events[:4])}, "json",
                input="sid")]
    real = REAL / "openhands" / "openhands_basic_gui_mode.json"
    if real.is_file():
        out.append(Seed("openhands", "real", {"real.json": real.read_bytes()}, "json"))
    return out


def _swe_agent() -> list[Seed]:
    history = [
        {"role": "system", "content": "You are a software engineer.", "agent": "main", "message_type": "system_prompt"},
        {"role": "user", "content": "Fix divide", "agent": "main", "message_type": "observation"},
        {"role": "assistant", "content": "Look.", "agent": "main", "message_type": "action", "thought": "Look.",
         "action": "cat calc.py", "tool_calls": [{"id": "c1", "type": "function",
                                                   "function": {"name": "bash", "arguments": {"command": "cat calc.py"}}}]},
        {"role": "tool", "content": [{"type": "text", "text": "return a // b"}], "agent": "main",
         "message_type": "observation", "tool_call_ids": ["c1"]},
        {"role": "assistant", "content": "Done.", "agent": "main", "message_type": "action", "tool_calls": [
            {"id": "c2", "type": "function", "function": {"name": "submit", "arguments": "{}"}}]},
    ]
    config = {"agent": {"name": "main", "model": {"name": "gpt-4o", "temperature": 0.0, "top_p": 1.0},
                        "history_processors": [{"type": "last_n_observations", "n": 5},
                                               {"type": "remove_regex", "remove": ["<diff>.*?</diff>"]}],
                        "tools": {"parse_function": {"type": "function_calling"},
                                  "command_docs": "bash:\n  docstring: run a command\n  arguments:\n"
                                                  "    - command (string) [required]: the command\n"}},
              "env": {"repo": {"type": "github", "repo_name": "acme/calc", "base_commit": "abc"}},
              "problem_statement": {"id": "acme__calc-1"}}
    traj = {"environment": "docker", "history": history, "info": {"exit_status": "submitted",
                                                                   "swe_agent_version": "1.0"},
            "replay_config": json.dumps(config),
            "trajectory": [{"action": "cat calc.py", "observation": "x", "response": "Look.", "thought": "Look.",
                            "state": "{\"open_file\": \"n/a\"}", "query": [{}]},
                           {"action": "submit", "observation": "", "response": "Done.", "thought": "", "state": {}}]}
    out = [Seed("swe-agent", "traj", {"acme__calc-1.traj": _json(traj)}, "json")]
    for path in sorted((REAL / "swe-agent").glob("*.traj")) if REAL.is_dir() else []:
        out.append(Seed("swe-agent", "real-" + path.stem[-12:], {path.name: path.read_bytes()}, "json"))
    return out


AIDER = """\
TO LLM 2025-01-31T11:21:36
-------
SYSTEM Act as an expert code analyst.
-------
USER type: text
USER text: I am working with you on code in a git repository.
USER cache_control: {'type': 'ephemeral'}
-------
ASSISTANT Ok.
-------
USER Fix the divide bug
USER in calc.py
LLM RESPONSE 2025-01-31T11:21:41
ASSISTANT calc.py
ASSISTANT <<<<<<< SEARCH
ASSISTANT return a // b
ASSISTANT =======
ASSISTANT return a / b
ASSISTANT >>>>>>> REPLACE
TO LLM 2025-01-31T11:22:00
-------
SYSTEM Act as an expert code analyst.
-------
USER Thanks
LLM RESPONSE 2025-01-31T11:22:02

"""


def _aider() -> list[Seed]:
    out = [Seed("aider", "history", {"s.aider.llm.history": AIDER.encode()}, "text")]
    real = REAL / "aider-llm-history" / "jkassemi_friendly_names.aider.llm.history"
    if real.is_file():
        text = real.read_bytes()
        third = text.find(b"\nTO LLM ", text.find(b"\nTO LLM ", text.find(b"\nTO LLM ") + 1) + 1)
        out.append(Seed("aider", "real", {"real.aider.llm.history": text[: third + 1] if third > 0 else text}, "text"))
    return out


def _openai_jsonl() -> list[Seed]:
    msgs = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    answer = {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "ls", "arguments": "{}"}}]}
    tools = [{"type": "function", "function": {"name": "ls", "parameters": {"type": "object"}}}]
    lines = [
        {"type": "header", "name": "journal", "agent": "aider", "model": "m", "created_at": "2025-01-01T00:00:00Z",
         "notes": ["n"], "repository": {"remote": "r"}},
        {"request": {"model": "m", "messages": msgs, "tools": tools, "temperature": 0},
         "response": {"choices": [{"message": answer, "finish_reason": "tool_calls"}],
                      "usage": {"prompt_tokens": 20, "completion_tokens": 5}, "timings": {"predicted_n": 5}},
         "requested_at": "2025-01-01T00:00:01.000Z", "responded_at": "2025-01-01T00:00:02.000Z",
         "repo": {"commit": "abc", "dirty": False}},
        {"request": {"model": "m", "messages": msgs + [answer, {"role": "tool", "tool_call_id": "c1", "content": "a"}]},
         "response": {"error": {"message": "boom"}}},
    ]
    return [Seed("openai-jsonl", "journal", {"journal.jsonl": _jsonl(lines)}, "jsonl"),
            Seed("openai-jsonl", "wire-journal", {"wire.jsonl": _jsonl(_wire_lines())}, "jsonl")]


def _wire_lines() -> list[dict]:
    """A recorder journal of the Anthropic Messages and Responses APIs (sources/wire/)."""
    schema = {"type": "object", "properties": {"path": {"type": "string"}}}
    messages = {"model": "m", "max_tokens": 16, "system": [{"type": "text", "text": "Be brief.",
                                                            "cache_control": {"type": "ephemeral"}}],
                "tools": [{"name": "Read", "input_schema": schema}, {"type": "web_search_20250305", "name": "w"}],
                "tool_choice": {"type": "auto"},
                "messages": [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
                             {"role": "assistant", "content": [{"type": "thinking", "thinking": "t"},
                                                               {"type": "tool_use", "id": "t1", "name": "Read",
                                                                "input": {"path": "x"}}]},
                             {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1",
                                                           "content": [{"type": "text", "text": "ok"}]}]}]}
    answer = {"role": "assistant", "content": [{"type": "text", "text": "done"}], "stop_reason": "end_turn",
              "usage": {"input_tokens": 30, "output_tokens": 2, "cache_read_input_tokens": 4}}
    responses = {"model": "m", "instructions": "Be brief.", "max_output_tokens": 16,
                 "tools": [{"type": "function", "name": "ls", "parameters": schema}, {"type": "web_search"}],
                 "input": [{"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "d"}]},
                           {"role": "user", "content": "hi"}, {"type": "reasoning", "summary": []},
                           {"type": "function_call", "call_id": "c1", "name": "ls", "arguments": "{}"},
                           {"type": "function_call_output", "call_id": "c1", "output": "a.py"}]}
    output = {"status": "completed", "usage": {"input_tokens": 40, "output_tokens": 3},
              "output": [{"type": "message", "content": [{"type": "output_text", "text": "ok"}]},
                         {"type": "function_call", "call_id": "c2", "name": "ls", "arguments": "{}"}]}
    return [{"type": "header", "format": "replayer.record-journal", "version": 1, "name": "wire", "agent": "x"},
            {"type": "messages", "body": messages, "response": answer, "status": 200,
             "requested_at": "2025-01-01T00:00:01.000Z", "responded_at": "2025-01-01T00:00:02.000Z",
             "client": {"user-agent": "claude-cli/2.1.197"}},
            {"type": "responses", "body": responses, "response": output, "status": 200}]


def _opencode() -> list[Seed]:
    # an `opencode export`: steps, tool results and errors, a compaction, an aborted call
    export = (ROOT / "tests" / "fixtures" / "opencode_export.json").read_bytes()
    return [Seed("opencode", "export", {"export.json": export}, "json")]


def all_seeds() -> list[Seed]:
    return [*_trace(), *_scenarios(), *_cline(), *_claude_code(), *_codex(), *_openhands(), *_swe_agent(),
            *_aider(), *_openai_jsonl(), *_opencode()]


def seeds_for(target: str) -> list[Seed]:
    return [s for s in all_seeds() if s.target == target]


TARGETS = ("trace", "scenario", "cline-v4", "cline-v3", "claude-code", "codex", "openhands", "swe-agent", "aider",
           "openai-jsonl", "opencode")
