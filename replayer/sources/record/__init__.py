"""`replay record`: an OpenAI-compatible recording proxy a user points an agent at.

    agent --HTTP--> RecordingProxy (127.0.0.1:PORT) --HTTP--> upstream llama-server
                          |
                          +--> FILE.jsonl  (journal: one fsynced line per chat completion)
                          +--> FILE        (trace v1, written from the journal on Ctrl-C / SIGTERM)

Modules: ``proxy`` (the HTTP server), ``stream`` (SSE splitting and chunk re-assembly),
``journal`` (the crash-safe append-only writer), ``redact`` (named secret filters),
``repo`` (git context through gitpython).
"""

from __future__ import annotations

import asyncio
import json
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from replayer.atomic import write_atomically
from replayer.errors import InputError, ReplayerError
from replayer.sources.record.journal import Journal, journal_path
from replayer.sources.record.proxy import ProxyConfig, RecordingProxy
from replayer.sources.record.redact import DEFAULT_REDACT_FIELDS
from replayer.sources.record.repo import RepoContext

__all__ = ["RecordOptions", "RecordOutcome", "record", "finalise", "journal_path", "parse_listen"]


@dataclass
class RecordOptions:
    upstream: str
    out: Path
    host: str = "127.0.0.1"
    port: int = 8081
    repo: Path | None = None
    redact_fields: tuple[str, ...] = DEFAULT_REDACT_FIELDS
    upstream_timeout_s: float = 600.0
    append: bool = False
    grace_s: float = 5.0  # how long requests in flight at Ctrl-C may still finish


@dataclass
class RecordOutcome:
    journal: Path
    trace: Path | None
    recorded: int
    turns: int = 0
    problems: list[str] = field(default_factory=list)


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT``, ``:PORT`` or ``PORT`` (host 127.0.0.1)."""
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "", text
    host = host.strip("[]") or "127.0.0.1"
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise InputError(f"--listen {text}: expected HOST:PORT with a port between 0 and 65535")
    return host, number


def _check_upstream(url: str) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"--upstream {url}: expected an http:// or https:// URL, e.g. http://127.0.0.1:8080")


def record(options: RecordOptions, log: Callable[[str], None] = lambda message: None,
           on_ready: Callable[[str], None] | None = None) -> RecordOutcome:
    """Serve until SIGINT or SIGTERM, then write the trace. Blocking; main thread only."""
    _check_upstream(options.upstream)
    out = options.out
    repo = RepoContext(options.repo) if options.repo else None
    journal = Journal(journal_path(out), append=options.append)
    name = out.name.removesuffix(".json") or "session"
    config = ProxyConfig(upstream=options.upstream, host=options.host, port=options.port,
                         redact_fields=tuple(dict.fromkeys(options.redact_fields)),
                         upstream_timeout_s=options.upstream_timeout_s, name=name)
    try:
        proxy = asyncio.run(_serve(config, journal, repo, log, on_ready, options.grace_s))
    except BaseException:
        journal.close()
        if journal.is_new and journal.lines <= 1:
            journal.path.unlink(missing_ok=True)  # no exchange (never listened): leave nothing behind
        raise
    journal.close()
    outcome = RecordOutcome(journal=journal.path, trace=None, recorded=proxy.stats.recorded,
                            problems=list(proxy.stats.journal_errors))
    try:
        doc = finalise(journal.path, out)
    except InputError as exc:
        outcome.problems.append(f"no trace written: {exc} (the journal is kept: {journal.path})")
        return outcome
    outcome.trace, outcome.turns = out, len(doc["turns"])
    return outcome


async def _serve(config: ProxyConfig, journal: Journal, repo: RepoContext | None, log: Callable[[str], None],
                 on_ready: Callable[[str], None] | None, grace_s: float) -> RecordingProxy:
    loop = asyncio.get_running_loop()
    stop, hurry = asyncio.Event(), asyncio.Event()

    def on_signal() -> None:
        (hurry if stop.is_set() else stop).set()

    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        loop.add_signal_handler(sig, on_signal)
    proxy = RecordingProxy(config, journal, repo, log)
    try:
        try:
            await proxy.start()
        except OSError as exc:
            raise ReplayerError(f"--listen {config.host}:{config.port}: cannot listen: {exc.strerror or exc}") from None
        if on_ready is not None:
            on_ready(proxy.url)
        if config.host not in ("127.0.0.1", "localhost", "::1"):
            log(f"warning: listening on {config.host}, not loopback: whoever reaches this port uses the upstream "
                "through it and is recorded")
        await stop.wait()
        log("stopping: finishing the journal")
        await proxy.stop(grace_s, hurry)
    finally:
        for sig, handler in previous.items():
            loop.remove_signal_handler(sig)
            signal.signal(sig, handler)
    return proxy


def finalise(journal: Path, out: Path) -> dict[str, Any]:
    """Convert the journal into a trace v1 at ``out`` (written atomically); the journal stays."""
    from replayer.sources.importers import import_session

    doc, _ = import_session(journal, "openai-jsonl")
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(out, json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    return doc
