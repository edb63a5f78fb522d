"""Reading OpenCode's sessions as stored: its SQLite database (``opencode.db`` in
``~/.local/share/opencode``, OpenCode 1.x) or the JSON of ``opencode export <sessionID>``.

Both become one :class:`Stored` session: the session's info and its messages, each with its
info and its parts, in the order OpenCode sends them. Only the ``session``, ``message`` and
``part`` tables are read: the database also holds account tokens and credentials.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from replayer.errors import InputError
from replayer.jsontext import Malformed, parse_json
from replayer.sources.importers.base import format_error, read_json, want

SQLITE_MAGIC = b"SQLite format 3\x00"
DB_NAME = "opencode.db"


@dataclass(frozen=True)
class StoredMessage:
    info: dict[str, Any]
    parts: list[dict[str, Any]]
    where: str  # its location, for errors: "$.messages[3]" or "message msg_..."
    part_times: list[int | None]  # when each part was written (ms; the database keeps it, an export does not)


@dataclass(frozen=True)
class Stored:
    path: Path
    info: dict[str, Any]
    messages: list[StoredMessage]
    others: int  # other sessions in the same database


def is_database(path: Path, head: bytes) -> bool:
    """An SQLite file with OpenCode's session, message and part tables."""
    if not head.startswith(SQLITE_MAGIC):
        return False
    try:
        with _connect(path) as con:
            names = {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.Error:
        return False
    return {"session", "message", "part"} <= names


def read(path: Path, session: str | None) -> Stored:
    """The session stored at ``path``: a database (or the folder that holds one), or an export."""
    if path.is_dir():
        path = path / DB_NAME
        if not path.is_file():
            raise format_error(path.parent, "", f"expected an OpenCode data folder with {DB_NAME}")
    with path.open("rb") as fh:
        head = fh.read(len(SQLITE_MAGIC))
    if head.startswith(SQLITE_MAGIC):
        return _from_database(path, session)
    if session is not None:
        raise InputError(f"{path}: --session picks a session from OpenCode's database; an export holds one session")
    return _from_export(path)


def _from_export(path: Path) -> Stored:
    doc = want(read_json(path), dict, path, "$", optional=False)
    info = want(doc.get("info"), dict, path, "$.info", optional=False)
    messages = want(doc.get("messages"), list, path, "$.messages", optional=False)
    out = []
    for i, item in enumerate(messages):
        where = f"$.messages[{i}]"
        item = want(item, dict, path, where, optional=False)
        msg_info = want(item.get("info"), dict, path, f"{where}.info", optional=False)
        parts = want(item.get("parts"), list, path, f"{where}.parts", optional=False)
        out.append(StoredMessage(msg_info, parts, where, [None] * len(parts)))
    return Stored(path, info, out, others=0)


def _connect(path: Path) -> sqlite3.Connection:
    # read-only: OpenCode may be running and writing; the WAL beside the file is still read
    return sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True, timeout=5.0)


def _from_database(path: Path, wanted: str | None) -> Stored:
    try:
        with _connect(path) as con:
            con.row_factory = sqlite3.Row
            sessions = [dict(r) for r in con.execute("SELECT * FROM session ORDER BY time_updated DESC, id")]
            row = _pick(path, sessions, wanted)
            messages = con.execute("SELECT id, time_created, data FROM message WHERE session_id = ? "
                                   "ORDER BY time_created, id", (row["id"],)).fetchall()
            parts = con.execute("SELECT id, message_id, time_created, data FROM part WHERE session_id = ? "
                                "ORDER BY message_id, id", (row["id"],)).fetchall()
    except sqlite3.Error as exc:
        raise format_error(path, "", f"cannot read OpenCode's database: {exc}") from None
    by_message: dict[str, list[sqlite3.Row]] = {}
    for part in parts:
        by_message.setdefault(part["message_id"], []).append(part)
    out = []
    for msg in messages:
        where = f"message {msg['id']}"
        info = want(_data(path, where, msg["data"]), dict, path, f"{where}.data", optional=False)
        stored = by_message.get(msg["id"], [])
        out.append(StoredMessage({**info, "id": msg["id"]},
                                 [_data(path, f"part {p['id']}", p["data"]) for p in stored], where,
                                 [p["time_created"] if isinstance(p["time_created"], int) else None for p in stored]))
    return Stored(path, _session_info(row), out, others=len(sessions) - 1)


def _pick(path: Path, sessions: list[dict[str, Any]], wanted: str | None) -> dict[str, Any]:
    """The session asked for; with none asked, the only one, else a list to choose from."""
    if not sessions:
        raise format_error(path, "", "OpenCode's database holds no session")
    if wanted == "latest" or (wanted is None and len(sessions) == 1):
        return sessions[0]
    for row in sessions:
        if row.get("id") == wanted:
            return row
    listed = "; ".join(f"{r.get('id')} ({str(r.get('title') or '')[:40]!r})" for r in sessions[:5])
    more = f" and {len(sessions) - 5} more" if len(sessions) > 5 else ""
    head = f"no session {wanted!r}" if wanted is not None else f"{len(sessions)} sessions"
    raise InputError(f"{path}: {head} in OpenCode's database; pass --session ID (or --session latest), "
                     f"newest first: {listed}{more}")


def _data(path: Path, where: str, text: Any) -> Any:
    if not isinstance(text, str):
        raise format_error(path, f"{where}.data", "expected JSON text")
    try:
        return parse_json(text)
    except Malformed as exc:
        raise format_error(path, f"{where}.data" + (f" {exc.location}" if exc.location else ""), exc.message) from None


def _session_info(row: dict[str, Any]) -> dict[str, Any]:
    """The database's session row in the shape of an export's ``info``."""
    return {"id": row.get("id"), "title": row.get("title"), "version": row.get("version"),
            "directory": row.get("directory"), "parentID": row.get("parent_id"),
            "time": {"created": row.get("time_created"), "updated": row.get("time_updated")}}
