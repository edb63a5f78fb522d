"""OpenCode's stored sessions: `opencode export` JSON and its SQLite database. The fixture is
hand-made in OpenCode 1.18's shapes; the real client's own files are imported in
tests/integration/test_record_opencode.py and checked against what it sent on the wire."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from replayer.errors import InputError, TraceError
from replayer.sources.importers import detect_format, import_session
from replayer.sources.importers.base import ImportOptions
from replayer.sources.importers.opencode import CLEARED, INTERRUPTED

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "opencode_export.json"


def export() -> dict:
    return json.loads(FIXTURE.read_text())


def database(path: Path, *sessions: dict) -> Path:
    """An OpenCode database (the columns the importer reads) holding these exports' sessions."""
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE session (id text PRIMARY KEY, project_id text, parent_id text, slug text, directory text,
                              title text, version text, time_created integer, time_updated integer);
        CREATE TABLE message (id text PRIMARY KEY, session_id text, time_created integer, time_updated integer,
                              data text);
        CREATE TABLE part (id text PRIMARY KEY, message_id text, session_id text, time_created integer,
                           time_updated integer, data text);
        CREATE TABLE credential (id text PRIMARY KEY, value text);""")
    for doc in sessions:
        info = doc["info"]
        con.execute("INSERT INTO session VALUES (?, ?, NULL, ?, ?, ?, ?, ?, ?)",
                    (info["id"], info["projectID"], info["slug"], info["directory"], info["title"], info["version"],
                     info["time"]["created"], info["time"]["updated"]))
        for m in doc["messages"]:
            mi = {k: v for k, v in m["info"].items() if k not in ("id", "sessionID")}
            created = mi["time"]["created"]
            con.execute("INSERT INTO message VALUES (?, ?, ?, ?, ?)",
                        (m["info"]["id"], info["id"], created, created, json.dumps(mi)))
            for j, p in enumerate(m["parts"]):
                data = {k: v for k, v in p.items() if k not in ("id", "sessionID", "messageID")}
                con.execute("INSERT INTO part VALUES (?, ?, ?, ?, ?, ?)",
                            (p["id"], m["info"]["id"], info["id"], created + 10 * j, created + 10 * j,
                             json.dumps(data)))
    con.execute("INSERT INTO credential VALUES ('c1', 'sk-never-read')")
    con.commit()
    con.close()
    return path


def test_each_step_is_a_call_with_the_conversation_opencode_sends():
    doc, imported = import_session(FIXTURE)
    turns = doc["turns"]
    assert len(turns) == 5  # 3 steps, the compaction's summary, the aborted step; the failed message is left out
    calls = imported.calls
    second = list(calls[1].messages)
    assert second[1] == {"role": "user", "content": "Read a.py and fix it"}  # image dropped, ignored text left out
    assert second[2]["tool_calls"][0]["function"] == {"name": "read", "arguments": '{"filePath":"/repo/a.py"}'}
    assert second[3] == {"role": "tool", "tool_call_id": "call_read_1", "content": "print(1)\n"}
    third = list(calls[2].messages)
    assert third[4]["content"] == "" and "ü" in third[4]["tool_calls"][0]["function"]["arguments"]
    assert third[5]["content"] == "oldString not found in content"  # an error is sent as its text
    assert [c.finish_reason for c in calls] == ["tool_calls", "tool_calls", "stop", "stop", "tool_calls"]
    assert [c.usage for c in calls[:3]] == [{"prompt_tokens": 900, "completion_tokens": 20},
                                            {"prompt_tokens": 980, "completion_tokens": 30},  # cache read counted
                                            {"prompt_tokens": 1070, "completion_tokens": 3}]
    assert calls[4].usage is None
    times = [(c.requested_at, c.responded_at) for c in calls]
    assert all(a < b for a, b in times) and times == sorted(times)


def test_after_a_compaction_the_requests_start_from_its_summary():
    _, imported = import_session(FIXTURE)
    summary_call, after = imported.calls[3], list(imported.calls[4].messages)
    assert list(summary_call.messages)[-1] == {"role": "user", "content": "What did we do so far?"}
    assert len(summary_call.messages) == 9  # the whole conversation before it
    assert [m["content"] for m in after[1:]] == ["What did we do so far?", "Summary: a.py was read; the edit failed.",
                                                 "continue"]
    assert imported.calls[4].response["tool_calls"][0]["function"]["name"] == "bash"


def test_the_fidelity_report_says_what_opencode_does_not_store():
    _, imported = import_session(FIXTURE)
    f = imported.fidelity
    assert any(line.startswith("system prompt (OpenCode does not store it)") for line in f.missing)
    assert "tool definitions: 3 names taken from the calls, with empty parameter schemas (OpenCode does not store " \
        "tool schemas)" in f.reconstructed
    assert any("1 reasoning part(s)" in line for line in f.missing)
    assert any("1 image(s)" in line for line in f.missing)
    assert any("ended in an error" in line for line in f.missing)
    assert any(INTERRUPTED in line for line in f.reconstructed)
    assert imported.provenance["agent"] == "OpenCode 1.18.33" and imported.provenance["model"] == "qwen3-coder"


def test_a_compacted_tool_output_is_sent_as_opencode_sends_it(tmp_path):
    doc = export()
    read = doc["messages"][1]["parts"][3]
    read["state"]["time"]["compacted"] = read["state"]["time"]["end"] + 1000
    path = tmp_path / "export.json"
    path.write_text(json.dumps(doc))
    _, imported = import_session(path)
    assert list(imported.calls[1].messages)[3]["content"] == CLEARED
    assert any("1 compacted tool output(s)" in line for line in imported.fidelity.reconstructed)


def test_the_database_gives_the_same_session_as_the_export(tmp_path):
    db = database(tmp_path / "opencode.db", export())
    assert detect_format(db) == "opencode" and detect_format(tmp_path) == "opencode"
    assert detect_format(FIXTURE) == "opencode"
    from_export, _ = import_session(FIXTURE)
    for source in (db, tmp_path):
        doc, imported = import_session(source)
        assert doc["turns"] == from_export["turns"] or _same_but_part_times(doc, from_export)
        assert doc["conversation"] == from_export["conversation"]
        assert imported.provenance["source"] == str(db)
    assert b"sk-never-read" not in json.dumps(doc).encode()


def _same_but_part_times(a: dict, b: dict) -> bool:
    """The database keeps when each part was written, which an export leaves out."""
    strip = lambda doc: [{k: v for k, v in t.items() if k not in ("requested_at", "responded_at")}
                         for t in doc["turns"]]
    return strip(a) == strip(b)


def test_a_database_with_several_sessions_asks_which(tmp_path):
    other = export()
    other["info"].update(id="ses_other", title="Later session", time={"created": 1795990000000,
                                                                     "updated": 1795990000000})
    for m in other["messages"]:
        m["info"]["id"] = m["info"]["id"].replace("fixture", "other")
        for p in m["parts"]:
            p["id"] = p["id"].replace("fixture", "other")
    db = database(tmp_path / "opencode.db", export(), other)
    with pytest.raises(InputError, match=r"2 sessions in OpenCode's database; pass --session ID \(or --session "
                                         r"latest\), newest first: ses_other \('Later session'\); ses_fixture"):
        import_session(db)
    doc, _ = import_session(db, options=ImportOptions(session="latest"))
    assert doc["name"] == "ses_other"
    doc, imported = import_session(db, options=ImportOptions(session="ses_fixture0000000000000001"))
    assert doc["name"] == "ses_fixture0000000000000001"
    assert any("1 other session(s)" in n for n in imported.provenance["notes"])
    with pytest.raises(InputError, match="no session 'ses_nope'"):
        import_session(db, options=ImportOptions(session="ses_nope"))


def test_bad_stores_get_a_located_one_line_error(tmp_path):
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    with pytest.raises(TraceError, match="cannot read OpenCode's database"):
        import_session(broken, "opencode")
    db = database(tmp_path / "opencode.db", export())
    con = sqlite3.connect(db)
    con.execute("UPDATE part SET data = '{not json' WHERE id = 'prt_fixture000201'")
    con.commit()
    con.close()
    with pytest.raises(TraceError, match=r"part prt_fixture000201\.data line 1 column 2: invalid JSON"):
        import_session(db)
    bad = tmp_path / "bad.json"
    doc = export()
    doc["messages"][1]["parts"][3]["state"] = "done"
    bad.write_text(json.dumps(doc))
    with pytest.raises(TraceError, match=r"\$\.messages\[1\]\.parts\[3\]\.state: expected an object, got a string"):
        import_session(bad)
    doc["messages"][2]["info"]["role"] = "tool"
    bad.write_text(json.dumps(doc))
    with pytest.raises(TraceError, match=r"\$\.messages\[2\]\.info\.role: expected 'user' or 'assistant'"):
        import_session(bad)
    with pytest.raises(InputError, match="an export holds one session"):
        import_session(FIXTURE, options=ImportOptions(session="latest"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(TraceError, match="expected an OpenCode data folder with opencode.db"):
        import_session(empty, "opencode")


def test_the_cli_takes_a_session_and_says_which_when_it_must(tmp_path):
    db = database(tmp_path / "opencode.db", export())
    out = tmp_path / "t.json"
    done = subprocess.run([sys.executable, "-m", "replayer.cli", "import", str(tmp_path), "-o", str(out),
                           "--session", "nope"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "no session 'nope'" in done.stderr
    done = subprocess.run([sys.executable, "-m", "replayer.cli", "import", str(db), "-o", str(out), "--session",
                           "latest"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text())["provenance"]["importer"] == "opencode"
