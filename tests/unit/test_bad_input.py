"""Bad input never crashes: one example of each class of input that once ended in a traceback
(issue 10), through the real command, each refused with a one-line located `Error:` and
exit code 2 (or, where the input is usable, accepted)."""

from __future__ import annotations

import io
import json
import sys
import time
from pathlib import Path

import pytest

from replayer.cli import main
from replayer.errors import InputError, one_line
from replayer.jsontext import MAX_DEPTH
from replayer.scenario.load import load_scenario
from replayer.trace import load_trace

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "fixtures" / "tiny_trace.json"
DEEP = "[" * 10_000 + "]" * 10_000


def replay(*argv: str) -> tuple[int, str, str]:
    """The command in this process, its output encoded as a UTF-8 terminal's (strictly)."""
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict", write_through=True)
    err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict", write_through=True)
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        code = main([str(a) for a in argv])
    finally:
        sys.stdout, sys.stderr = saved
    return code, out.buffer.getvalue().decode(), err.buffer.getvalue().decode()


def refused(*argv: str) -> str:
    code, _, err = replay(*argv)
    lines = err.splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("Error: "), err
    return lines[0]


def claude_records(**first: object) -> list[dict]:
    rec = {"type": "user", "uuid": "u1", "parentUuid": None, "sessionId": "s", "timestamp": "2025-08-14T09:00:00Z",
           "message": {"role": "user", "content": "hi"}}
    answer = {"type": "assistant", "uuid": "a1", "parentUuid": "u1", "sessionId": "s",
              "timestamp": "2025-08-14T09:00:01Z", "message": {"id": "m1", "role": "assistant", "content": "hello"}}
    return [{**rec, **first}, answer]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


# -- deep nesting ---------------------------------------------------------------------------

@pytest.mark.parametrize("fmt, name", [("cline-v3", "h.json"), ("openhands", "t.json"), ("swe-agent", "t.traj"),
                                       ("claude-code", "s.jsonl"), ("codex", "r.jsonl"), ("openai-jsonl", "j.jsonl"),
                                       (None, "x.json")])
def test_deep_nesting_is_a_located_error_in_every_reader(tmp_path, fmt, name):
    path = tmp_path / name
    path.write_text(DEEP + "\n")
    line = refused("import", path, "-o", tmp_path / "o.json", *(["--format", fmt] if fmt else []))
    assert f"nested deeper than {MAX_DEPTH} levels" in line or "cannot tell which agent" in line


def test_deep_nesting_in_a_trace_and_a_scenario(tmp_path):
    (tmp_path / "t.json").write_text('{"format": "replayer.trace", "x": ' + DEEP + "}")
    assert f"t.json: line 1: nested deeper than {MAX_DEPTH} levels" in refused("inspect", tmp_path / "t.json")
    for text in (DEEP, "- " * 3000 + "x\n"):
        (tmp_path / "s.yaml").write_text(text)
        with pytest.raises(InputError, match=f"s.yaml:1: nested deeper than {MAX_DEPTH} levels"):
            load_scenario(tmp_path / "s.yaml")


# -- paths ----------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["claude-code", "codex", "aider", "swe-agent", "openai-jsonl"])
def test_a_folder_where_a_file_is_expected(tmp_path, fmt):
    (tmp_path / "d").mkdir()
    assert f"expected a {fmt} file, got a folder" in refused("import", tmp_path / "d", "-o", tmp_path / "o.json",
                                                              "--format", fmt)


def test_a_folder_inside_a_folder_format_and_a_pipe(tmp_path):
    events = tmp_path / "sid" / "events"
    (events / "0.json").mkdir(parents=True)
    assert "0.json: cannot read: Is a directory" in refused("import", tmp_path / "sid", "-o", tmp_path / "o.json",
                                                           "--format", "openhands")
    import os
    os.mkfifo(tmp_path / "pipe")
    assert "got a special file" in refused("import", tmp_path / "pipe", "-o", tmp_path / "o.json")


# -- types inside agent files ----------------------------------------------------------------

def test_fields_of_the_wrong_type_are_named(tmp_path):
    cases = [
        ("claude-code", write_jsonl(tmp_path / "a.jsonl", claude_records(parentUuid={"x": 1})),
         "line 1: parentUuid: expected a string, got an object"),
        ("openai-jsonl", write_jsonl(tmp_path / "b.jsonl", [{"request": {"messages": [{"role": "user", "content": "x"}]},
                                                             "response": {"choices": {"0": {}}}}]),
         "line 1: response.choices: expected a list, got an object"),
        ("codex", write_jsonl(tmp_path / "c.jsonl", [{"timestamp": "2025-01-01T00:00:00Z", "type": "response_item",
                                                      "payload": {"type": "message", "role": ["user"]}}]),
         "line 1: role: expected a string, got a list"),
    ]
    for fmt, path, expected in cases:
        assert expected in refused("import", path, "-o", tmp_path / "o.json", "--format", fmt)


def test_an_openhands_system_event_without_args_is_read(tmp_path):
    events = [{"id": 0, "source": "agent", "action": "system", "args": None},
              {"id": 1, "source": "user", "action": "message", "args": {"content": "hi"}},
              {"id": 2, "source": "agent", "action": "message", "args": {"content": "hello"}}]
    (tmp_path / "t.json").write_text(json.dumps(events))
    code, out, err = replay("import", tmp_path / "t.json", "-o", tmp_path / "o.json", "--format", "openhands")
    assert code == 0, err
    assert load_trace(tmp_path / "o.json").n_turns == 1


# -- times -----------------------------------------------------------------------------------

def test_out_of_range_times_are_named(tmp_path):
    events = [{"id": 0, "source": "user", "action": "message", "args": {"content": "hi"}, "timestamp": 1e20},
              {"id": 1, "source": "agent", "action": "message", "args": {"content": "hello"}}]
    (tmp_path / "t.json").write_text(json.dumps(events))
    assert "$[0].timestamp: expected" in refused("import", tmp_path / "t.json", "-o", tmp_path / "o.json",
                                                 "--format", "openhands")
    path = write_jsonl(tmp_path / "s.jsonl", claude_records(timestamp="0001-01-01T00:00:00+01:00"))
    assert "line 1: timestamp: expected a time between 1970 and 2100" in refused(
        "import", path, "-o", tmp_path / "o.json")
    doc = json.loads(TINY.read_text())
    doc["turns"][0]["requested_at"] = "9999-12-31T23:59:59-01:00"
    (tmp_path / "t2.json").write_text(json.dumps(doc))
    assert "$.turns[0].requested_at: expected a time between 1970 and 2100" in refused("inspect", tmp_path / "t2.json")


# -- text that cannot be written ---------------------------------------------------------------

def test_a_lone_surrogate_is_replaced_on_import_and_refused_in_a_trace(tmp_path):
    rows = claude_records(message={"role": "user", "content": "cut \ud83d"})
    path = tmp_path / "s.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))  # json.dumps escapes it: \ud83d
    code, out, err = replay("import", path, "-o", tmp_path / "o.json")
    assert code == 0, err
    trace = load_trace(tmp_path / "o.json")
    assert trace.data["conversation"][1]["content"] == "cut \ufffd"
    assert "lone UTF-16 surrogate" in out and "$.conversation[1].content" in out
    doc = json.loads(TINY.read_text())
    doc["conversation"][1]["content"] = "cut \ud83d"
    (tmp_path / "t.json").write_text(json.dumps(doc))
    assert "$.conversation[1].content: expected Unicode text, got a lone UTF-16 surrogate" in refused(
        "inspect", tmp_path / "t.json")


def test_nan_and_infinity_are_not_json_in_a_trace(tmp_path):
    doc = TINY.read_text().replace('"temperature": 0', '"temperature": NaN', 1)
    (tmp_path / "t.json").write_text(doc)
    assert "NaN is not a JSON number" in refused("inspect", tmp_path / "t.json")


# -- one line --------------------------------------------------------------------------------

def test_errors_are_one_line_whatever_the_input_holds(tmp_path):
    (tmp_path / "s.yaml").write_bytes(b"version: 1\n\x00\n")
    with pytest.raises(InputError) as info:
        load_scenario(tmp_path / "s.yaml")
    assert str(info.value).endswith("s.yaml:2: invalid YAML: unacceptable character #x0000 (special characters are "
                                    "not allowed)")
    (tmp_path / "s.yaml").write_text('version: 1\ntraces: [t.json]\nvariants: {a: {}}\n"a\\nb": 1\n')
    with pytest.raises(InputError) as info:
        load_scenario(tmp_path / "s.yaml")
    assert "\n" not in str(info.value) and "a\\nb" in str(info.value)
    assert one_line("a\nb\r\u2028\x1b\ud800") == "a\\nb\\r\\u2028\\x1b\\ud800"


def test_an_alias_bomb_is_refused_before_it_expands(tmp_path):
    lines = ["version: 1", "traces: [t.json]", "a0: &a0 [x]"]
    lines += [f"a{k}: &a{k} [" + ", ".join([f"*a{k - 1}"] * 9) + "]" for k in range(1, 8)]
    (tmp_path / "s.yaml").write_text("\n".join(lines + ["variants:", "  off: {args: *a7}"]) + "\n")
    started = time.monotonic()
    with pytest.raises(InputError, match="aliases expand to more than"):
        load_scenario(tmp_path / "s.yaml")
    assert time.monotonic() - started < 1.0
    (tmp_path / "r.yaml").write_text("version: 1\nvariants: &v {a: *v}\n")
    with pytest.raises(InputError, match="an alias that contains itself"):
        load_scenario(tmp_path / "r.yaml")
