"""Cline importers: v4 SDK sessions (the real public fixture) and v3 task histories (hand-written)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from replayer.errors import TraceError
from replayer.sources.importers import cline_v3, cline_v4, detect_format, import_session
from replayer.sources.importers._anthropic import PLACEHOLDER_RESULT
from replayer.sources.importers.base import STANDIN_SYSTEM_PROMPT, ImportOptions
from replayer.trace.load import load_trace

ROOT = Path(__file__).resolve().parents[2]
REAL = Path(__file__).resolve().parents[2].parent / "shared" / "real-traces"
REAL_V4 = REAL / "cline-v4" / "cline_fixture_session.messages.json"
REAL_V4_MANIFEST = REAL / "cline-v4" / "cline_fixture_session.json"

needs_real = pytest.mark.skipif(not REAL_V4.is_file(),
                                reason=f"real Cline v4 session not available at {REAL_V4} (shared/real-traces absent)")


def _messages(doc: dict, i: int) -> list[dict]:
    req = doc["turns"][i]["request"]
    return req["messages"] if "messages" in req else doc["conversation"][: req["conversation_prefix"]]


def _dump(path: Path, value) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


def _text(t: str) -> dict:
    return {"type": "text", "text": t}


ENV = _text("<environment_details>\n# Current Working Directory (/home/dev/proj)\n</environment_details>")


# == Cline v4 ===================================================================================


@needs_real
def test_real_v4_session_is_detected_and_imports_every_answer(tmp_path):
    assert detect_format(REAL_V4) == "cline-v4"
    doc, _ = import_session(REAL_V4)
    stored = json.loads(REAL_V4.read_text(encoding="utf-8"))
    assert len(doc["turns"]) == 16  # 16 assistant messages in 32
    prov = doc["provenance"]
    assert prov["importer"] == "cline-v4" and prov["model"] == "anthropic/claude-opus-4.8-fast"
    fid = prov["fidelity"]
    assert fid["exact"] and fid["reconstructed"] and fid["missing"]
    assert "system prompt (stored in messages.json)" in fid["exact"]
    assert doc["conversation"][0] == {"role": "system", "content": stored["system_prompt"]}
    tool_msgs = [m for m in doc["conversation"] if m["role"] == "tool"]
    calls = [c for m in doc["conversation"] if m["role"] == "assistant" for c in m.get("tool_calls", [])]
    assert len(tool_msgs) == len(calls) == 11
    assert [m["tool_call_id"] for m in tool_msgs] == [c["id"] for c in calls]
    assert {t["function"]["name"] for t in doc["tools"]} == {"editor", "read_files", "run_commands"}
    # The user's attached file is sent as <file_content> text after the request text.
    first_user = doc["conversation"][1]
    assert first_user["content"][1]["text"].startswith('<file_content path="/Users/example/dev/cline/apps/')
    t0 = doc["turns"][0]
    assert t0["response"]["usage"] == {"prompt_tokens": 34334, "completion_tokens": 741}
    assert t0["response"]["finish_reason"] == "tool_calls"
    assert t0["requested_at"] == "2026-07-06T22:27:48.634Z" and t0["responded_at"] == "2026-07-06T22:27:53.493Z"
    assert json.loads(t0["response"]["message"]["tool_calls"][0]["function"]["arguments"])["path"].endswith(
        "agent-sidebar.tsx")
    assert any("forked from session" in n for n in prov["notes"])
    out = tmp_path / "t.json"
    out.write_text(json.dumps(doc))
    assert load_trace(out).n_turns == 16


@needs_real
def test_real_v4_manifest_or_directory_import_the_same_session():
    doc, _ = import_session(REAL_V4)
    for path in (REAL_V4_MANIFEST, REAL_V4.parent):
        assert detect_format(path) == "cline-v4"
        other, _ = import_session(path)
        assert other["turns"] == doc["turns"] and other["conversation"] == doc["conversation"]


@needs_real
def test_cli_import_of_the_real_v4_session(tmp_path):
    out = tmp_path / "cline.json"
    done = subprocess.run([sys.executable, "-m", "replayer.cli", "import", str(REAL_V4), "-o", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "16 turns" in done.stdout and "(cline-v4)" in done.stdout
    assert load_trace(out).n_turns == 16


def _v4_doc(messages: list, **extra) -> dict:
    return {"version": 1, "updated_at": "2026-02-01T10:00:00.000Z", "agent": "lead", "sessionId": "s1",
            "messages": messages, **extra}


def test_v4_blocks_thinking_images_files_and_tool_results(tmp_path):
    messages = [
        {"role": "user", "ts": 1769940000000,
         "content": [_text("Tidy utils.py"), {"type": "file", "path": "/p/utils.py", "content": "def f():\n  pass"},
                     {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}]},
        {"role": "assistant", "ts": 1769940003000, "modelInfo": {"id": "qwen3-coder", "provider": "lmstudio"},
         "metrics": {"inputTokens": 500, "outputTokens": 42},
         "content": [{"type": "thinking", "thinking": "Read it first.", "signature": "sig"},
                     _text("Let me read it."),
                     {"type": "tool_use", "id": "toolu_1", "name": "read_files",
                      "input": {"files": [{"path": "/p/utils.py"}]}},
                     {"type": "tool_use", "id": "toolu_2", "name": "run_commands", "input": ["ls", "pwd"]}]},
        {"role": "user", "ts": 1769940004000,
         "content": [_text("also check the tests"),
                     {"type": "tool_result", "tool_use_id": "toolu_2", "content": "a\nb"},
                     {"type": "tool_result", "tool_use_id": "toolu_1",
                      "content": [{"query": "/p/utils.py", "result": "1 | def f():"}, _text("end"),
                                  {"type": "file", "path": "/p/x", "content": "X"}]}]},
        {"role": "assistant", "ts": 1769940006000, "content": [_text("Done.")]},
        {"role": "user", "ts": 1769940009000, "content": "thanks"},
    ]
    path = _dump(tmp_path / "s1" / "s1.messages.json", _v4_doc(messages, system_prompt="You are Cline."))
    _dump(tmp_path / "s1" / "s1.json", {"version": 1, "session_id": "s1", "model": "qwen3-coder",
                                         "provider": "lmstudio", "started_at": "2026-02-01T09:59:59.000Z",
                                         "messages_path": "/home/u/.cline/data/sessions/s1/s1.messages.json"})
    assert detect_format(path) == "cline-v4"
    doc, _ = import_session(path)
    assert len(doc["turns"]) == 2
    first = _messages(doc, 0)
    assert first[0] == {"role": "system", "content": "You are Cline."}
    assert first[1] == {"role": "user", "content": [
        _text("Tidy utils.py"), _text('<file_content path="/p/utils.py">\ndef f():\n  pass\n</file_content>')]}
    answer = doc["turns"][0]["response"]["message"]
    assert answer["content"] == "Let me read it." and answer["reasoning_content"] == "Read it first."
    assert answer["tool_calls"][0]["function"]["arguments"] == '{"files":[{"path":"/p/utils.py"}]}'
    assert answer["tool_calls"][1]["function"]["arguments"] == '{"commands":["ls","pwd"]}'
    assert doc["turns"][0]["response"]["usage"] == {"prompt_tokens": 500, "completion_tokens": 42}
    assert doc["turns"][0]["request"]["params"] == {"model": "qwen3-coder", "tool_choice": "auto"}
    second = _messages(doc, 1)
    # Tool results come first, in the order of the calls, then the remaining user text.
    assert second[-3:] == [
        {"role": "tool", "tool_call_id": "toolu_1",
         "content": '{"query":"/p/utils.py","result":"1 | def f():"}\nend\n'
                    '<file_content path="/p/x">\nX\n</file_content>'},
        {"role": "tool", "tool_call_id": "toolu_2", "content": "a\nb"},
        {"role": "user", "content": "also check the tests"},
    ]
    assert doc["turns"][1]["response"]["finish_reason"] == "stop"
    assert doc["turns"][1]["requested_at"] == "2026-02-01T10:00:04.000Z"
    prov = doc["provenance"]
    assert prov["created_at"] == "2026-02-01T10:00:00.000Z"
    fid = prov["fidelity"]
    assert any("image" in m for m in fid["missing"])
    assert any("reasoning_content" in r for r in fid["reconstructed"])
    assert any("ends with a user message" in n for n in prov["notes"])


def test_v4_without_system_prompt_uses_the_stand_in_or_the_option(tmp_path):
    path = _dump(tmp_path / "x.messages.json",
                 _v4_doc([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]))
    doc, _ = import_session(path)
    assert doc["conversation"][0]["content"] == STANDIN_SYSTEM_PROMPT
    assert any("system prompt" in m for m in doc["provenance"]["fidelity"]["missing"])
    assert "tools" not in doc and doc["turns"][0]["request"]["tools"] is False
    doc, _ = import_session(path, options=ImportOptions(system_prompt="Mine."))
    assert doc["conversation"][0]["content"] == "Mine."


@pytest.mark.parametrize("doc, location, words", [
    (_v4_doc([{"role": "user", "content": [{"type": "video", "url": "x"}]}]), "$.messages[0].content[0].type",
     "unknown content block type 'video'"),
    (_v4_doc([{"role": "user", "content": "hi"}, {"role": "robot", "content": "x"}]), "$.messages[1].role",
     "expected 'user' or 'assistant'"),
    (_v4_doc([{"role": "assistant", "content": [{"type": "tool_use", "id": "t", "input": {}}]}]),
     "$.messages[0].content[0].name", "tool name"),
    (_v4_doc([{"role": "user", "content": 5}]), "$.messages[0].content", "string or a list"),
    (_v4_doc({"role": "user"}), "$.messages", "list of messages"),
    (_v4_doc([], system_prompt=["not", "text"]), "$.system_prompt", "expected a string"),
])
def test_v4_malformed_session_is_a_located_error(tmp_path, doc, location, words):
    path = _dump(tmp_path / "bad.messages.json", doc)
    with pytest.raises(TraceError) as info:
        import_session(path, "cline-v4")
    assert info.value.exit_code == 2 and info.value.location == location and words in info.value.message


def test_v4_truncated_json_is_a_located_error(tmp_path):
    path = tmp_path / "cut.messages.json"
    path.write_text('{"version":1,"sessionId":"s","messages":[{"role":"user","content":"hi"}', encoding="utf-8")
    assert detect_format(path) == "cline-v4"
    with pytest.raises(TraceError) as info:
        import_session(path)
    assert info.value.exit_code == 2 and info.value.location.startswith("line 1 column ")


# == Cline v3 ===================================================================================


def _xml_task(tmp_path: Path) -> Path:
    task = tmp_path / "tasks" / "1767600000000"
    _dump(task / "api_conversation_history.json", [
        {"role": "user", "content": [_text("<task>\nAdd a --verbose flag to cli.py\n</task>"), ENV]},
        {"role": "assistant", "content": [_text("<thinking>Read cli.py first.</thinking>\n\n"
                                                 "<read_file>\n<path>cli.py</path>\n</read_file>")]},
        {"role": "user", "content": [_text("[read_file for 'cli.py'] Result:"), _text("import argparse\n"), ENV]},
        {"role": "assistant", "content": [_text("<attempt_completion>\n<result>Done.</result>\n"
                                                 "</attempt_completion>")]},
    ])
    _dump(task / "ui_messages.json", [
        {"ts": 1767600000000, "type": "say", "say": "task", "text": "Add a --verbose flag to cli.py"},
        {"ts": 1767600001000, "type": "say", "say": "api_req_started",
         "text": json.dumps({"request": "<task>...", "tokensIn": 1200, "tokensOut": 40, "cacheWrites": 0,
                             "cacheReads": 0, "cost": 0})},
        {"ts": 1767600003000, "type": "say", "say": "text", "text": "Read cli.py first."},
        {"ts": 1767600004000, "type": "say", "say": "api_req_started",
         "text": json.dumps({"request": "[read_file ...]", "tokensIn": 1500, "tokensOut": 25})},
        {"ts": 1767600006000, "type": "say", "say": "completion_result", "text": "Done."},
    ])
    _dump(task / "task_metadata.json", {"files_in_context": [], "environment_history": [], "model_usage": [
        {"ts": 1767600000500, "model_id": "qwen2.5-coder-7b-instruct", "model_provider_id": "lmstudio",
         "mode": "act"}]})
    return task


def test_v3_xml_task_directory_keeps_tools_as_text_with_times_usage_and_model(tmp_path):
    task = _xml_task(tmp_path)
    assert detect_format(task) == "cline-v3"
    assert detect_format(task / "api_conversation_history.json") == "cline-v3"
    doc, _ = import_session(task)
    assert len(doc["turns"]) == 2 and doc["name"] == "cline-1767600000000"
    first = _messages(doc, 0)
    assert first[0] == {"role": "system", "content": STANDIN_SYSTEM_PROMPT}
    assert first[1]["content"][1]["text"].startswith("<environment_details>")  # kept
    answer = doc["turns"][0]["response"]["message"]
    assert "<read_file>\n<path>cli.py</path>\n</read_file>" in answer["content"] and "tool_calls" not in answer
    second = _messages(doc, 1)
    assert second[-1] == {"role": "user", "content": [_text("[read_file for 'cli.py'] Result:"),
                                                        _text("import argparse\n"), ENV]}
    assert all(t["request"]["tools"] is False for t in doc["turns"]) and "tools" not in doc
    assert doc["turns"][0]["requested_at"] == "2026-01-05T08:00:01.000Z"
    assert doc["turns"][1]["requested_at"] == "2026-01-05T08:00:04.000Z"
    assert [t["response"]["usage"] for t in doc["turns"]] == [{"completion_tokens": 40}, {"completion_tokens": 25}]
    prov = doc["provenance"]
    assert prov["model"] == "qwen2.5-coder-7b-instruct" and prov["created_at"] == "2026-01-05T08:00:00.000Z"
    assert any(n.startswith("tool protocol: XML") for n in prov["notes"])
    fid = prov["fidelity"]
    assert any(m.startswith("system prompt: Cline v3 does not store it") for m in fid["missing"])
    assert fid["exact"] and fid["reconstructed"]


def test_v3_native_text_results_are_paired_with_the_calls_by_order(tmp_path):
    history = [
        {"role": "user", "content": [_text("<task>\nRun the tests\n</task>"), ENV]},
        {"role": "assistant", "ts": 1767600002000,
         "modelInfo": {"modelId": "gpt-oss-20b", "providerId": "openai", "mode": "act"},
         "metrics": {"tokens": {"prompt": 900, "completion": 35, "cached": 0}},
         "content": [_text("I'll run them."),
                     {"type": "tool_use", "id": "call_1", "name": "execute_command",
                      "input": {"command": "pytest -q", "requires_approval": False}}]},
        {"role": "user", "ts": 1767600005000,
         "content": [_text("[execute_command for 'pytest -q'] Result:\n1 failed"), ENV]},
        {"role": "assistant", "ts": 1767600007000,
         "content": [{"type": "tool_use", "id": "call_2", "name": "read_file", "input": {"path": "a.py"}},
                     {"type": "tool_use", "id": "call_3", "name": "read_file", "input": {"path": "b.py"}}]},
        {"role": "user", "ts": 1767600008000,
         "content": [_text("[read_file for 'a.py'] Result:"), _text("A = 1"),  # older split: header, then content
                     _text("[read_file for 'b.py'] Result:\nB = 2"),
                     {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
                     ENV]},
        {"role": "assistant", "ts": 1767600010000,
         "content": [{"type": "thinking", "thinking": "fine", "signature": "s"}, _text("All good.")]},
        {"role": "user", "ts": 1767600020000, "content": "thanks"},
    ]
    path = _dump(tmp_path / "api_conversation_history.json", history)
    assert detect_format(path) == "cline-v3"
    doc, _ = import_session(path)
    assert len(doc["turns"]) == 3
    second = _messages(doc, 1)
    assert second[-2:] == [
        {"role": "tool", "tool_call_id": "call_1", "content": "[execute_command for 'pytest -q'] Result:\n1 failed"},
        {"role": "user", "content": [ENV]},
    ]
    third = _messages(doc, 2)
    assert third[-3:] == [
        {"role": "tool", "tool_call_id": "call_2", "content": "[read_file for 'a.py'] Result:\nA = 1"},
        {"role": "tool", "tool_call_id": "call_3", "content": "[read_file for 'b.py'] Result:\nB = 2"},
        {"role": "user", "content": [ENV]},  # the image is dropped
    ]
    assert doc["turns"][2]["response"]["message"] == {"role": "assistant", "content": "All good."}  # no thinking
    t0 = doc["turns"][0]
    assert t0["request"]["params"] == {"model": "gpt-oss-20b", "tool_choice": "auto", "parallel_tool_calls": False}
    assert t0["response"]["usage"] == {"completion_tokens": 35} and t0["response"]["finish_reason"] == "tool_calls"
    assert t0["responded_at"] == "2026-01-05T08:00:02.000Z"
    assert doc["turns"][1]["requested_at"] == "2026-01-05T08:00:05.000Z"
    assert [t["function"]["name"] for t in doc["tools"]] == ["execute_command", "read_file"]
    fid = doc["provenance"]["fidelity"]
    assert any("paired with the preceding tool calls by order" in r for r in fid["reconstructed"])
    assert any("image" in m for m in fid["missing"])
    assert any("empty parameter schemas" in r for r in fid["reconstructed"])
    assert any("ends with a user message" in n for n in doc["provenance"]["notes"])


def test_v3_fallback_id_unanswered_call_and_deleted_range(tmp_path):
    task = tmp_path / "task"
    _dump(task / "api_conversation_history.json", [
        {"role": "user", "content": [_text("<task>go</task>")]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_a", "name": "list_files",
                                           "input": {"path": "."}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "cline", "content": "a.py"}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_b", "name": "list_files",
                                           "input": {"path": "src"}}]},
        {"role": "user", "content": [_text("[TASK RESUMPTION] This task was interrupted.")]},
        {"role": "assistant", "content": [_text("Resuming.")]},
    ])
    _dump(task / "ui_messages.json", [
        {"ts": 1767600001000, "type": "say", "say": "api_req_started", "text": "{}"},
        {"ts": 1767600002000, "type": "say", "say": "api_req_started", "text": "{}"},
        {"ts": 1767600003000, "type": "say", "say": "api_req_started", "text": "{\"tokensOut\": 3}",
         "conversationHistoryDeletedRange": [1, 2]},
    ])
    doc, _ = import_session(task)
    assert len(doc["turns"]) == 3
    second = _messages(doc, 1)
    assert second[-1] == {"role": "tool", "tool_call_id": "toolu_a", "content": "a.py"}  # "cline" id paired
    third = _messages(doc, 2)
    # messages 1..2 were truncated away by Cline; toolu_b never got a result.
    assert [m["role"] for m in third] == ["system", "user", "assistant", "tool", "user"]
    assert third[3] == {"role": "tool", "tool_call_id": "toolu_b", "content": PLACEHOLDER_RESULT}
    assert "messages" in doc["turns"][2]["request"]
    fid = doc["provenance"]["fidelity"]
    assert any("conversationHistoryDeletedRange" in r for r in fid["reconstructed"])
    assert any("placeholder" in r for r in fid["reconstructed"])


def test_v3_options_give_system_prompt_and_tools(tmp_path):
    task = _xml_task(tmp_path)
    tools = [{"type": "function", "function": {"name": "read_file", "parameters": {"type": "object"}}}]
    doc, _ = import_session(task, options=ImportOptions(system_prompt="You are Cline (compact).", tools=tools))
    assert doc["conversation"][0] == {"role": "system", "content": "You are Cline (compact)."}
    assert doc["tools"] == tools
    assert any("--system-prompt" in r for r in doc["provenance"]["fidelity"]["reconstructed"])


def test_cli_import_of_a_v3_task_directory(tmp_path):
    task = _xml_task(tmp_path)
    out = tmp_path / "v3.json"
    done = subprocess.run([sys.executable, "-m", "replayer.cli", "import", str(task), "-o", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "2 turns" in done.stdout and "(cline-v3)" in done.stdout
    assert load_trace(out).n_turns == 2


@pytest.mark.parametrize("history, location, words", [
    ([{"role": "user", "content": "hi"}, {"role": "robot", "content": "x"}], "$[1].role", "'user' or 'assistant'"),
    ([{"role": "user", "content": {"text": "hi"}}], "$[0].content", "string or a list"),
    ([{"role": "user", "content": "hi"}, {"role": "assistant", "content": [{"type": "diagram"}]}],
     "$[1].content[0].type", "unknown content block type 'diagram'"),
    ([{"role": "user", "content": [{"type": "text"}]}], "$[0].content[0].text", "expected a string"),
    ([{"role": "user", "content": [{"type": "tool_use", "id": "x", "name": "y", "input": {}}]}], "$[0].content[0]",
     "tool_use block in a user message"),
    ({"role": "user"}, "$", "JSON array"),
])
def test_v3_malformed_history_is_a_located_error(tmp_path, history, location, words):
    path = _dump(tmp_path / "api_conversation_history.json", history)
    with pytest.raises(TraceError) as info:
        import_session(path, "cline-v3")
    assert info.value.exit_code == 2 and info.value.location == location and words in info.value.message


def test_v3_truncated_history_is_a_located_error(tmp_path):
    path = tmp_path / "api_conversation_history.json"
    path.write_text('[{"role":"user","content":[{"type":"text","text":"hi"}]},{"role":"assis', encoding="utf-8")
    assert detect_format(path) == "cline-v3"
    with pytest.raises(TraceError) as info:
        import_session(path)
    assert info.value.exit_code == 2 and info.value.location.startswith("line 1 column ")


# == detection ===================================================================================


def test_detectors_keep_to_their_own_formats(tmp_path):
    v3 = _dump(tmp_path / "a.json", [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}])
    v4 = _dump(tmp_path / "b.json", _v4_doc([{"role": "user", "content": "hi"}]))
    roo_v2 = _dump(tmp_path / "c.json", {"version": 2, "messages": [{"role": "user", "content": "hi"}]})
    events = _dump(tmp_path / "d.json", [{"id": 0, "timestamp": "2025-01-01T00:00:00", "source": "user",
                                         "message": "hi", "action": "message", "args": {"role": "user"}}])
    system_first = _dump(tmp_path / "e.json", [{"role": "system", "content": "x"}])

    def head(p: Path) -> bytes:
        return p.read_bytes()[:65536]

    assert cline_v3.detect(v3, head(v3)) and not cline_v4.detect(v3, head(v3))
    assert cline_v4.detect(v4, head(v4)) and not cline_v3.detect(v4, head(v4))
    for other in (roo_v2, events, system_first):
        assert not cline_v3.detect(other, head(other)) and not cline_v4.detect(other, head(other)), other
    assert not cline_v3.detect(tmp_path, b"") and not cline_v4.detect(tmp_path, b"")
    for path in REAL.rglob("*") if REAL.is_dir() else []:
        if path.is_file() and "cline-v4" not in path.parts:
            assert not cline_v4.detect(path, head(path)) and not cline_v3.detect(path, head(path)), path


def test_v4_sends_user_text_unwrapped_and_leaves_display_only_notices_out(tmp_path):
    # as Cline CLI 3.0.65 stores a session that ended in an error (see test_record_cline.py for the real one)
    messages = [{"role": "user", "content": [_text('<user_input mode="act">Say hi</user_input>')], "ts": 1},
                {"role": "assistant", "content": [_text("hello")], "ts": 2},
                {"role": "user", "content": "<user_command slash=\"x\">go on</user_command>", "ts": 3},
                {"role": "assistant", "content": [_text("more")], "ts": 4},
                {"role": "assistant", "content": [_text("Model reached the maximum output token limit")], "ts": 5,
                 "metadata": {"displayOnly": True, "displayRole": "error"}}]
    doc, imported = import_session(_dump(tmp_path / "s1.messages.json", _v4_doc(messages, system_prompt="S")))
    assert len(doc["turns"]) == 2
    assert [m["content"] for m in imported.calls[1].messages] == ["S", "Say hi", "hello", "go on"]
    fid = doc["provenance"]["fidelity"]
    assert any(line.startswith("2 user text(s) unwrapped") for line in fid["reconstructed"])
    assert any(line.startswith("1 display-only message(s)") for line in fid["reconstructed"])
    assert any(line.startswith("tool schemas (Cline v4 does not store them") for line in fid["missing"])
