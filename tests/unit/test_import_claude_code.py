"""Claude Code session JSONL. The fixtures below are written from the format description
(docs: trace-formats.md section 4); the real sessions in the shared folder's
``claude-code-subagents/`` (each with its ``subagents/`` files) are checked for detection and import."""

import json
from pathlib import Path

import pytest

from replayer.errors import TraceError
from replayer.sources.importers import claude_code, detect_format, import_session
from replayer.sources.importers.base import STANDIN_SYSTEM_PROMPT, ImportOptions
from replayer.trace.load import validate_trace_document

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "real-traces"
SESSION = "7f3c2a10-5b1e-4c8e-9d2a-0c1b2a3d4e5f"


def rec(kind, uuid, parent, ts, message=None, **extra):
    out = {"parentUuid": parent, "isSidechain": False, "userType": "external", "cwd": "/home/dev/calc",
           "sessionId": SESSION, "version": "1.0.83", "gitBranch": "main", "type": kind, "uuid": uuid,
           "timestamp": f"2025-08-14T09:{ts}Z"}
    if message is not None:
        out["message"] = message
    out.update(extra)
    return out


def user(uuid, parent, ts, content, **extra):
    return rec("user", uuid, parent, ts, {"role": "user", "content": content}, **extra)


def assistant(uuid, parent, ts, msg_id, blocks, stop=None, out_tokens=None, **extra):
    message = {"id": msg_id, "type": "message", "role": "assistant", "model": "claude-sonnet-4-20250514",
               "content": blocks, "stop_reason": stop, "stop_sequence": None,
               "usage": {"input_tokens": 4, "cache_creation_input_tokens": 1200, "cache_read_input_tokens": 14000,
                         "output_tokens": out_tokens if out_tokens is not None else 180}}
    return rec("assistant", uuid, parent, ts, message, requestId=f"req_{msg_id}", **extra)


def tool_result(tool_id, content, is_error=False):
    return {"type": "tool_result", "tool_use_id": tool_id, "content": content, "is_error": is_error}


def session_records():
    """A session with the traps: split streamed blocks, parallel tool results hanging off the
    blocks that asked for them (a tree), thinking, a sidechain, and a rewound branch."""
    return [
        {"type": "summary", "summary": "Fix the failing divide test", "leafUuid": "a5"},
        {"type": "file-history-snapshot", "messageId": "u1", "isSnapshotUpdate": False,
         "snapshot": {"messageId": "u1", "trackedFileBackups": {}, "timestamp": "2025-08-14T09:00:00.000Z"}},
        user("u0", None, "00:00.500", "<command-name>/clear</command-name>\n<command-message>clear</command-message>",
             isMeta=False),
        user("u1", "u0", "00:01.000", "The divide test fails, please fix calc.py"),
        assistant("a1a", "u1", "00:03.100", "msg_01AAA", [{"type": "thinking", "thinking": "", "signature": "EqQBCkYI"}],
                  out_tokens=8),
        assistant("a1b", "a1a", "00:03.400", "msg_01AAA",
                  [{"type": "text", "text": "Let me look at the code and run the tests."}],
                  out_tokens=8),
        assistant("a1c", "a1b", "00:03.900", "msg_01AAA",
                  [{"type": "tool_use", "id": "toolu_01Read", "name": "Read",
                    "input": {"file_path": "/home/dev/calc/calc.py"}}], out_tokens=8),
        assistant("a1d", "a1c", "00:04.200", "msg_01AAA",
                  [{"type": "tool_use", "id": "toolu_02Bash", "name": "Bash",
                    "input": {"command": "pytest -q", "description": "Run the tests"}}], stop="tool_use", out_tokens=96),
        # results arrive out of order, each child of the block that asked for it
        user("r1", "a1d", "00:06.000", [tool_result("toolu_02Bash", "F.\nFAILED test_calc.py::test_divide", True)],
             toolUseResult={"stdout": "F.", "stderr": "", "interrupted": False}),
        user("r2", "a1c", "00:06.100",
             [tool_result("toolu_01Read", "     1\tdef divide(a, b):\n     2\t    return a // b\n")],
             toolUseResult={"type": "text", "file": {"filePath": "/home/dev/calc/calc.py"}}),
        assistant("a2", "r2", "00:09.000", "msg_02BBB",
                  [{"type": "tool_use", "id": "toolu_03Edit", "name": "Edit",
                    "input": {"file_path": "/home/dev/calc/calc.py", "old_string": "a // b", "new_string": "a / b"}}],
                  stop="tool_use", out_tokens=75),
        user("r3", "a2", "00:09.500",
             [tool_result("toolu_03Edit", [{"type": "text", "text": "The file calc.py has been updated."}])]),
        # a subagent's messages: not part of the main conversation
        rec("user", "s1", "r3", "00:09.600", {"role": "user", "content": "Survey the repo"}, isSidechain=True),
        assistant("s2", "s1", "00:09.700", "msg_SIDE", [{"type": "text", "text": "side answer"}], isSidechain=True),
        assistant("a3", "r3", "00:11.000", "msg_03CCC", [{"type": "text", "text": "Fixed: divide now uses true division."}],
                  stop="end_turn", out_tokens=12),
        # the user asked something, then rewound to a3 and asked something else
        user("u4", "a3", "00:20.000", "Now add a docstring"),
        assistant("a4", "u4", "00:22.000", "msg_04DDD", [{"type": "text", "text": "Docstring added."}], stop="end_turn"),
        user("u5", "a3", "00:30.000", [{"type": "text", "text": "Now add type hints"},
                                       {"type": "text", "text": "<system-reminder>calc.py was modified</system-reminder>"}]),
        assistant("a5", "u5", "00:33.000", "msg_05EEE", [{"type": "text", "text": "Added type hints to divide."}],
                  stop="end_turn", out_tokens=10),
    ]


def write(tmp_path, records, pretty=False, name=f"{SESSION}.jsonl", newline=True):
    p = tmp_path / name
    text = "\n".join(json.dumps(r, indent=2 if pretty else None) for r in records)
    p.write_text(text + ("\n" if newline else ""))
    return p


EXPECTED = [
    {"role": "system", "content": STANDIN_SYSTEM_PROMPT},
    {"role": "user", "content": "<command-name>/clear</command-name>\n<command-message>clear</command-message>"},
    {"role": "user", "content": "The divide test fails, please fix calc.py"},
    {"role": "assistant", "content": "Let me look at the code and run the tests.", "tool_calls": [
        {"id": "toolu_01Read", "type": "function",
         "function": {"name": "Read", "arguments": '{"file_path": "/home/dev/calc/calc.py"}'}},
        {"id": "toolu_02Bash", "type": "function",
         "function": {"name": "Bash", "arguments": '{"command": "pytest -q", "description": "Run the tests"}'}}]},
    {"role": "tool", "tool_call_id": "toolu_01Read", "content": "     1\tdef divide(a, b):\n     2\t    return a // b\n"},
    {"role": "tool", "tool_call_id": "toolu_02Bash", "content": "F.\nFAILED test_calc.py::test_divide"},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "toolu_03Edit", "type": "function", "function": {
            "name": "Edit",
            "arguments": '{"file_path": "/home/dev/calc/calc.py", "old_string": "a // b", "new_string": "a / b"}'}}]},
    {"role": "tool", "tool_call_id": "toolu_03Edit", "content": "The file calc.py has been updated."},
    {"role": "assistant", "content": "Fixed: divide now uses true division."},
    {"role": "user", "content": [{"type": "text", "text": "Now add type hints"},
                                 {"type": "text", "text": "<system-reminder>calc.py was modified</system-reminder>"}]},
    {"role": "assistant", "content": "Added type hints to divide."},
]


@pytest.mark.parametrize("pretty", [False, True], ids=["jsonl", "pretty-printed"])
def test_a_session_becomes_one_turn_per_api_response(tmp_path, pretty):
    p = write(tmp_path, session_records(), pretty=pretty)
    assert detect_format(p) == "claude-code"
    doc, imported = import_session(p)
    validate_trace_document(doc)
    # merged streamed blocks, tool results gathered from the tree, sidechain and rewound branch left out
    assert doc["conversation"] == EXPECTED
    assert [t["request"]["conversation_prefix"] for t in doc["turns"]] == [3, 6, 8, 10]
    assert [t["response"]["finish_reason"] for t in doc["turns"]] == ["tool_calls", "tool_calls", "stop", "stop"]
    first = doc["turns"][0]
    assert first["response"]["usage"] == {"prompt_tokens": 15204, "completion_tokens": 96}
    assert first["requested_at"] == "2025-08-14T09:00:01.000Z"
    assert first["responded_at"] == "2025-08-14T09:00:04.200Z"
    assert first["request"]["params"] == {"model": "claude-sonnet-4-20250514"}
    assert first["repo"] == {"branch": "main"}
    assert [t["function"]["name"] for t in doc["tools"]] == ["Read", "Bash", "Edit"]
    assert all(t["function"]["parameters"] == {"type": "object", "properties": {}} for t in doc["tools"])
    prov = doc["provenance"]
    assert prov["agent"] == "Claude Code" and prov["agent_version"] == "1.0.83"
    assert prov["model"] == "claude-sonnet-4-20250514" and doc["name"] == SESSION
    assert doc["description"] == "Fix the failing divide test"
    fidelity = prov["fidelity"]
    assert any("system prompt" in m for m in fidelity["missing"])
    assert any("tool schemas" in m for m in fidelity["missing"])
    assert any("thinking" in m for m in fidelity["missing"])
    assert fidelity["exact"] and fidelity["reconstructed"]


def test_a_low_streamed_output_count_is_not_used_to_size_the_turn(tmp_path):
    records = session_records()
    # msg_02's only record carries the message_start count
    records[10]["message"]["usage"]["output_tokens"] = 1
    doc, _ = import_session(write(tmp_path, records))
    assert "completion_tokens" not in doc["turns"][1]["response"]["usage"]
    assert doc["turns"][1]["response"]["usage"]["prompt_tokens"] == 15204


def test_system_prompt_and_tools_from_options(tmp_path):
    tools = [{"type": "function", "function": {"name": "Read", "parameters": {
        "type": "object", "properties": {"file_path": {"type": "string"}}, "required": ["file_path"]}}}]
    doc, _ = import_session(write(tmp_path, session_records()),
                            options=ImportOptions(system_prompt="You are Claude Code.", tools=tools))
    assert doc["conversation"][0] == {"role": "system", "content": "You are Claude Code."}
    assert doc["tools"] == tools
    exact = doc["provenance"]["fidelity"]["exact"]
    assert "system prompt supplied with --system-prompt" in exact and "tool schemas supplied with --tools" in exact


def test_a_compaction_starts_a_new_context(tmp_path):
    records = [
        user("c1", None, "00:00.000", "Plan the refactor"),
        assistant("c2", "c1", "00:02.000", "msg_P1", [{"type": "text", "text": "Here is a plan."}], stop="end_turn"),
        rec("system", "cb", None, "10:00.000", subtype="compact_boundary", content="Conversation compacted",
            logicalParentUuid="c2", level="info", compactMetadata={"trigger": "auto", "preTokens": 150000}),
        user("cs", "cb", "10:00.100", "This session is being continued from a previous conversation. Summary: a plan.",
             isCompactSummary=True),
        user("c3", "cs", "10:05.000", "Go on with step 1"),
        assistant("c4", "c3", "10:07.000", "msg_P2", [{"type": "text", "text": "Step 1 done."}], stop="end_turn"),
        # an API error is written as a synthetic assistant message: not model output
        assistant("c5", "c4", "10:08.000", "msg_ERR", [{"type": "text", "text": "API Error: 529 overloaded"}],
                  isApiErrorMessage=True),
    ]
    records[-1]["message"]["model"] = "<synthetic>"
    doc, _ = import_session(write(tmp_path, records))
    validate_trace_document(doc)
    assert len(doc["turns"]) == 2
    second = doc["turns"][1]["request"]["messages"]
    assert [m["role"] for m in second] == ["system", "user", "user"]
    assert second[1]["content"].startswith("This session is being continued")
    assert any("compaction" in r for r in doc["provenance"]["fidelity"]["reconstructed"])
    assert any("synthetic" in n for n in doc["provenance"]["notes"])


def test_headless_stream_json_without_parent_links(tmp_path):
    lines = [
        {"type": "system", "subtype": "init", "session_id": "s-42", "cwd": "/w", "model": "claude-opus-4-1",
         "tools": ["Task", "Bash", "Read"], "permissionMode": "default"},
        {"type": "user", "session_id": "s-42", "parent_tool_use_id": None,
         "message": {"role": "user", "content": [{"type": "text", "text": "list files"}]}},
        {"type": "assistant", "session_id": "s-42", "parent_tool_use_id": None,
         "message": {"id": "msg_H1", "role": "assistant", "model": "claude-opus-4-1", "content": [
             {"type": "tool_use", "id": "toolu_H1", "name": "Bash", "input": {"command": "ls"}}],
             "stop_reason": None, "usage": {"input_tokens": 10, "output_tokens": 20}}},
        {"type": "user", "session_id": "s-42", "parent_tool_use_id": None,
         "message": {"role": "user", "content": [tool_result("toolu_H1", "a.py\nb.py")]}},
        {"type": "assistant", "session_id": "s-42", "parent_tool_use_id": None,
         "message": {"id": "msg_H2", "role": "assistant", "model": "claude-opus-4-1", "content": [
             {"type": "text", "text": "Two files: a.py and b.py."}], "stop_reason": None,
             "usage": {"input_tokens": 30, "output_tokens": 9}}},
        {"type": "result", "subtype": "success", "session_id": "s-42", "num_turns": 2, "result": "Two files"},
    ]
    p = tmp_path / "headless.jsonl"
    p.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    assert detect_format(p) == "claude-code"
    doc, _ = import_session(p)
    validate_trace_document(doc)
    assert len(doc["turns"]) == 2
    assert [t["response"]["finish_reason"] for t in doc["turns"]] == ["tool_calls", "stop"]
    assert [t["function"]["name"] for t in doc["tools"]] == ["Task", "Bash", "Read"]
    assert doc["name"] == "s-42" and doc["provenance"]["model"] == "claude-opus-4-1"


def test_images_and_mixed_results_are_flattened_to_text(tmp_path):
    records = [
        user("m1", None, "00:00.000", [{"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                                    "data": "iVBORw0KGgo="}},
                                       {"type": "text", "text": "What is wrong in this screenshot?"}]),
        assistant("m2", "m1", "00:01.000", "msg_M1",
                  [{"type": "tool_use", "id": "toolu_M1", "name": "Read", "input": {"file_path": "shot.png"}}],
                  stop="tool_use"),
        user("m3", "m2", "00:02.000", [tool_result("toolu_M1", [{"type": "image", "source": {
            "type": "base64", "media_type": "image/png", "data": "AAAA"}}]),
            {"type": "text", "text": "[Request interrupted by user]"}]),
        assistant("m4", "m3", "00:03.000", "msg_M2", [{"type": "text", "text": "Stopping."}], stop="end_turn"),
    ]
    doc, _ = import_session(write(tmp_path, records))
    validate_trace_document(doc)
    conv = doc["conversation"]
    assert conv[1]["content"] == [{"type": "text", "text": "[image omitted: image/png]"},
                                  {"type": "text", "text": "What is wrong in this screenshot?"}]
    assert conv[3] == {"role": "tool", "tool_call_id": "toolu_M1", "content": "[image omitted: image/png]"}
    assert conv[4] == {"role": "user", "content": "[Request interrupted by user]"}
    assert any("images" in m for m in doc["provenance"]["fidelity"]["missing"])


def test_a_torn_last_record_is_skipped(tmp_path):
    records = session_records()[:12]
    text = "\n".join(json.dumps(r) for r in records) + "\n" + json.dumps(session_records()[14])[:50]
    p = tmp_path / "torn.jsonl"
    p.write_text(text)
    doc, _ = import_session(p, "claude-code")
    assert len(doc["turns"]) == 2
    assert any("torn" in n for n in doc["provenance"]["notes"])


def test_a_broken_record_in_the_middle_is_a_located_error(tmp_path):
    records = session_records()
    text = "\n".join(json.dumps(r) for r in records[:4]) + "\n{\"type\": \"user\", oops\n" + \
        "\n".join(json.dumps(r) for r in records[4:]) + "\n"
    p = tmp_path / "broken.jsonl"
    p.write_text(text)
    with pytest.raises(TraceError, match=r"broken.jsonl: line 5: invalid JSON") as info:
        import_session(p, "claude-code")
    assert info.value.exit_code == 2


@pytest.mark.parametrize("mutate, where", [
    (lambda r: r[3]["message"].update(content=42), r"line 4: message.content: expected a string or a list"),
    (lambda r: r[6]["message"]["content"][0].pop("name"), r"line 7: message.content\[0\]: expected a tool_use block"),
    (lambda r: r[3].pop("message"), r"line 4: a 'user' record without 'message'"),
    (lambda r: r[3].update(timestamp="yesterday"), r"line 4: timestamp: expected an ISO 8601 time"),
])
def test_malformed_records_are_located_errors(tmp_path, mutate, where):
    records = session_records()
    mutate(records)
    with pytest.raises(TraceError, match=where) as info:
        import_session(write(tmp_path, records), "claude-code")
    assert info.value.exit_code == 2


def test_a_file_without_conversation_is_an_error(tmp_path):
    p = write(tmp_path, [{"type": "summary", "summary": "x", "leafUuid": "nope"}])
    with pytest.raises(TraceError, match="no user or assistant message") as info:
        import_session(p, "claude-code")
    assert info.value.exit_code == 2


def test_a_first_record_longer_than_the_detection_head_is_still_detected(tmp_path):
    records = session_records()
    records[3]["message"]["content"] = "x" * 70000
    p = write(tmp_path, records[2:])
    assert detect_format(p) == "claude-code"


# The real Claude Code sessions in the shared folder: each session file, and its subagents' files beside it.
REAL_CLAUDE = "claude-code-subagents"


def _real_files() -> list[Path]:
    if not REAL.is_dir():
        pytest.skip(f"real traces not available: {REAL} (the shared real-traces folder is absent)")
    return sorted(f for f in REAL.rglob("*") if f.is_file() and f.suffix != ".md")


def test_other_formats_are_not_claimed(tmp_path):
    openai = tmp_path / "chat.jsonl"
    openai.write_text(json.dumps({"request": {"messages": [{"role": "user", "content": "hi"}]}, "response": {}}) + "\n")
    assert not claude_code.detect(openai, openai.read_bytes())
    others = [f for f in _real_files() if REAL_CLAUDE not in f.relative_to(REAL).parts]
    assert others, f"no real file of another format under {REAL}"
    for f in others:
        assert not claude_code.detect(f, f.read_bytes()[:65536]), f


def test_real_claude_code_files_are_claimed():
    """Every file of the real Claude Code sessions, the subagents' and the compaction agent's too."""
    ours = [f for f in _real_files() if REAL_CLAUDE in f.relative_to(REAL).parts]
    if not ours:
        pytest.skip(f"no real Claude Code session under {REAL / REAL_CLAUDE}")
    assert any("subagents" in f.parts for f in ours)
    for f in ours:
        assert claude_code.detect(f, f.read_bytes()[:65536]), f
        assert detect_format(f) == "claude-code", f


def test_real_claude_code_sessions_import():
    sessions = [f for f in _real_files() if f.parent.name == REAL_CLAUDE and f.suffix == ".jsonl"]
    if not sessions:
        pytest.skip(f"no real Claude Code session under {REAL / REAL_CLAUDE}")
    for f in sessions:
        doc, _ = import_session(f)
        validate_trace_document(doc)
        assert doc["provenance"]["agent"] == "Claude Code" and len(doc["turns"]) >= 50, f
