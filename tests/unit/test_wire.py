"""The Responses and Anthropic Messages APIs as chat completions: requests, answers,
streams, and a recorder journal of both read by `replay import`."""

import json

from replayer.sources.wire import anthropic, responses

TOOL_SCHEMA = {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}


def test_a_responses_request_becomes_the_equivalent_chat_request():
    body = {
        "model": "gpt-5-codex", "instructions": "You are Codex.", "max_output_tokens": 256, "temperature": 0,
        "tools": [{"type": "function", "name": "read_file", "description": "Read a file", "parameters": TOOL_SCHEMA},
                  {"type": "web_search"}],
        "input": [
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "sandbox: none"}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "fix the bug"}]},
            {"type": "reasoning", "summary": []},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Reading."}]},
            {"type": "function_call", "call_id": "call_1", "name": "read_file", "arguments": '{"path": "a.py"}'},
            {"type": "function_call_output", "call_id": "call_1", "output": "print(1)"},
        ],
    }
    wire = responses.chat_request(body)
    assert wire.messages == [
        {"role": "system", "content": "You are Codex."},
        {"role": "developer", "content": "sandbox: none"},
        {"role": "user", "content": "fix the bug"},
        {"role": "assistant", "content": "Reading.", "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "read_file", "arguments": '{"path": "a.py"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "print(1)"},
    ]
    assert wire.tools == [{"type": "function", "function": {"name": "read_file", "description": "Read a file",
                                                            "parameters": TOOL_SCHEMA}}]
    assert wire.params == {"model": "gpt-5-codex", "temperature": 0, "max_tokens": 256}
    assert dict(wire.lost.counts) == {"reasoning items (not sent in chat completions)": 1,
                                      "built-in tools (web_search)": 1}


def test_a_responses_answer_gives_text_tool_calls_and_usage():
    answer = {"status": "completed", "usage": {"input_tokens": 120, "output_tokens": 9},
              "output": [{"type": "reasoning"}, {"type": "function_call", "call_id": "c2", "name": "read_file",
                                                 "arguments": "{}"}]}
    message, usage, finish = responses.chat_response(answer)
    assert message["tool_calls"][0]["id"] == "c2" and message["content"] is None
    assert usage == {"prompt_tokens": 120, "completion_tokens": 9} and finish == "tool_calls"


def test_a_messages_request_becomes_the_equivalent_chat_request():
    body = {
        "model": "claude-sonnet", "max_tokens": 512, "stop_sequences": ["\n\nHuman:"],
        "system": [{"type": "text", "text": "You are Claude Code."},
                   {"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        "tools": [{"name": "Read", "description": "Read a file", "input_schema": TOOL_SCHEMA},
                  {"type": "web_search_20250305", "name": "web_search"}],
        "tool_choice": {"type": "any"},
        "messages": [
            {"role": "user", "content": "fix the bug"},
            {"role": "assistant", "content": [{"type": "thinking", "thinking": "hm"}, {"type": "text", "text": "Reading."},
                                              {"type": "tool_use", "id": "toolu_1", "name": "Read",
                                               "input": {"path": "a.py"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
                                          "content": [{"type": "text", "text": "print(1)"}]},
                                         {"type": "text", "text": "go on"}]},
        ],
    }
    wire = anthropic.chat_request(body)
    assert wire.messages == [
        {"role": "system", "content": "You are Claude Code.Be brief."},
        {"role": "user", "content": "fix the bug"},
        {"role": "assistant", "content": "Reading.", "tool_calls": [
            {"id": "toolu_1", "type": "function", "function": {"name": "Read", "arguments": '{"path": "a.py"}'}}]},
        {"role": "tool", "tool_call_id": "toolu_1", "content": "print(1)"},
        {"role": "user", "content": "go on"},
    ]
    assert wire.tools == [{"type": "function", "function": {"name": "Read", "description": "Read a file",
                                                            "parameters": TOOL_SCHEMA}}]
    assert wire.params == {"model": "claude-sonnet", "max_tokens": 512, "stop": ["\n\nHuman:"],
                           "tool_choice": "required"}
    assert dict(wire.lost.counts) == {"cache_control markers": 1, "thinking blocks (not sent in chat completions)": 1,
                                      "server tools (web_search_20250305)": 1}


def test_a_streamed_messages_answer_is_put_back_together():
    events = [
        {"type": "message_start", "message": {"id": "msg_1", "role": "assistant", "content": [],
                                              "usage": {"input_tokens": 300, "output_tokens": 1}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Let me "}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "look."}},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_2",
                                                                       "name": "Read", "input": {}}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": '{"pa'}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": 'th": "b"}'}},
        {"type": "content_block_stop", "index": 1},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 17}},
        {"type": "message_stop"},
    ]
    message = anthropic.assemble_stream(events)
    chat, usage, finish = anthropic.chat_response(message)
    assert chat == {"role": "assistant", "content": "Let me look.", "tool_calls": [
        {"id": "toolu_2", "type": "function", "function": {"name": "Read", "arguments": '{"path": "b"}'}}]}
    assert usage == {"prompt_tokens": 300, "completion_tokens": 17} and finish == "tool_calls"


def test_a_journal_of_both_apis_imports_as_a_trace(tmp_path):
    from replayer.sources.importers import import_session
    from replayer.sources.importers.base import ImportOptions

    header = {"type": "header", "format": "replayer.record-journal", "version": 1, "name": "mixed",
              "agent": "Claude Code", "created_at": "2026-11-29T10:00:00Z"}
    first = {"messages": [{"role": "user", "content": "fix the bug"}], "system": "You are Claude Code.",
             "tools": [{"name": "Read", "input_schema": TOOL_SCHEMA}], "max_tokens": 64}
    answer = {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "Read",
                                                "input": {"path": "a.py"}}],
              "stop_reason": "tool_use", "usage": {"input_tokens": 40, "output_tokens": 12}}
    second = {**first, "messages": first["messages"] + [
        {"role": "assistant", "content": answer["content"]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "print(1)"}]}]}
    codex = {"instructions": "You are Codex.", "input": "hello", "max_output_tokens": 32}
    lines = [header,
             {"type": "messages", "body": first, "response": answer, "requested_at": "2026-11-29T10:00:01Z",
              "responded_at": "2026-11-29T10:00:02Z", "status": 200},
             {"type": "messages", "body": second, "status": 200, "requested_at": "2026-11-29T10:00:05Z",
              "responded_at": "2026-11-29T10:00:06Z",
              "response": {"role": "assistant", "content": [{"type": "text", "text": "Fixed."}],
                           "stop_reason": "end_turn", "usage": {"input_tokens": 60, "output_tokens": 3}}},
             {"type": "responses", "body": codex, "status": 200,
              "response": {"status": "completed", "output": [{"type": "message", "role": "assistant",
                                                              "content": [{"type": "output_text", "text": "hi"}]}],
                           "usage": {"input_tokens": 10, "output_tokens": 2}}}]
    journal = tmp_path / "mixed.jsonl"
    journal.write_text("".join(json.dumps(x) + "\n" for x in lines))
    doc, _ = import_session(journal, None, ImportOptions(), None)
    assert len(doc["turns"]) == 3
    assert doc["conversation"][0] == {"role": "system", "content": "You are Claude Code."}
    assert doc["turns"][1]["request"]["conversation_prefix"] == 4  # the second call extends the first
    assert doc["tools"][0]["function"]["parameters"] == TOOL_SCHEMA
    exact = " ".join(doc["provenance"]["fidelity"]["exact"])
    assert "2 messages exchange(s) converted" in exact and "1 responses exchange(s) converted" in exact


def test_the_agent_is_named_from_the_clients_user_agent():
    from replayer.sources.importers.openai_jsonl import agent_name

    assert agent_name("OpenAI-compatible client", "claude-cli/2.1.197 (external, sdk-cli)") == "Claude Code 2.1.197"
    assert agent_name(None, "codex_exec/0.169.0 (Debian 12.0.0; x86_64) xterm") == "Codex CLI 0.169.0"
    assert agent_name("Aider 0.86.2", "litellm/1.0") == "Aider 0.86.2"  # a declared name stands
    assert agent_name("OpenAI-compatible client", "python-requests/2.32") == "OpenAI-compatible client"
