"""The recording proxy: an HTTP server that forwards every request to the upstream server
unchanged and appends each chat-completion exchange to the journal.

- ``POST /v1/chat/completions`` (and ``/chat/completions``): the body goes upstream as
  received. A streamed (SSE) answer is forwarded chunk by chunk as it arrives; only the
  ``data: [DONE]`` event (or the end of the stream) waits until the exchange is on disk.
  A plain answer is read whole, recorded, then sent. Status and headers are the upstream's,
  minus hop-by-hop ones.
- Every other route and method (``/v1/models``, ``/v1/responses``, ``/v1/messages``,
  ``/health``, ``/tokenize``, ...) is a byte pipe. ``POST /v1/responses`` (OpenAI's
  Responses API) and ``POST /v1/messages`` (Anthropic's Messages API) are also journalled,
  their bodies finished only once the line is on disk; the importer converts them to chat
  completions (sources/wire/).
- Upstream unreachable / timing out before it answers: the client gets a 502 / 504 JSON
  error, and the exchange is recorded with it. Failing mid-stream: the client gets what
  came, then an SSE ``data: {"error": ...}`` event. A client leaving mid-stream: the
  upstream request is closed (llama-server stops generating) and what was seen is recorded.

Journal lines (see ``replayer.sources.importers.openai_jsonl``)::

    {"type": "header", "format": "replayer.record-journal", "version": 1, "name", "agent",
     "created_at", "model", "upstream", "repository"?, "repo"?, "notes"}
    {"request": <body as sent, redacted>, "response": <chat.completion, streams re-assembled>,
     "requested_at", "responded_at", "status", "repo"?, "stream"?, "error"?, "client"?, "path"?}
    {"type": "unreplayable", "reason", "body", "response", ...}   # a chat request without messages
    {"type": "responses", "body", "response", ...}   # Responses API: the final response object of a stream
    {"type": "messages", "body", "response", ...}    # Messages API: the message, a stream re-assembled

Version history of the journal: 1: first version.
"""

from __future__ import annotations

import asyncio
import json
import time
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from replayer.sources.builder import iso
from replayer.sources.record.journal import Journal
from replayer.sources.record.redact import (DEFAULT_REDACT_FIELDS, field_values, header_secrets, recorded_headers,
                                            redact_fields, scrub_values, strip_url_credentials)
from replayer.sources.record.repo import RepoContext
from replayer.sources.record.stream import ChatStreamAssembler, SSESplitter
from replayer.sources.wire import anthropic

JOURNAL_FORMAT = "replayer.record-journal"
JOURNAL_VERSION = 1
CHAT_PATHS = frozenset({"/v1/chat/completions", "/chat/completions"})
RESPONSES_PATHS = frozenset({"/v1/responses", "/responses"})
MESSAGES_PATHS = frozenset({"/v1/messages"})
WIRE_PATHS = RESPONSES_PATHS | MESSAGES_PATHS
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-connection", "te", "trailer",
                        "trailers", "transfer-encoding", "upgrade", "host", "content-length", "expect"})
MAX_BODY_BYTES = 512 * 1024 * 1024


@dataclass
class ProxyConfig:
    upstream: str  # base URL of the server; a trailing /v1 is ignored (clients send /v1/... paths)
    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port (see RecordingProxy.port once started)
    redact_fields: tuple[str, ...] = DEFAULT_REDACT_FIELDS
    upstream_timeout_s: float = 600.0  # longest wait for the upstream's next bytes
    connect_timeout_s: float = 10.0
    name: str = "session"


@dataclass
class Exchange:
    number: int
    path: str
    body: bytes
    requested_at: float
    secrets: list[str]
    client: dict[str, str]
    repo_task: asyncio.Future | None = None
    status: int | None = None
    response: Any = None
    responded_at: float | None = None
    error: str | None = None
    stream: dict[str, Any] | None = None
    first_byte_at: float | None = None


@dataclass
class ProxyStats:
    recorded: int = 0
    upstream_errors: int = 0
    journal_errors: list[str] = field(default_factory=list)


class RecordingProxy:
    def __init__(self, config: ProxyConfig, journal: Journal, repo: RepoContext | None = None,
                 log: Callable[[str], None] = lambda message: None) -> None:
        self.config = config
        self.journal = journal
        self.repo = repo
        self.log = log
        self.stats = ProxyStats()
        self.port = config.port
        self._base = config.upstream.rstrip("/").removesuffix("/v1")
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._inflight: set[asyncio.Task] = set()
        self._counter = 0
        self._last_repo: dict[str, Any] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Write the journal header (a new journal), then listen."""
        self._session = aiohttp.ClientSession(
            auto_decompress=False, trust_env=False,
            cookie_jar=aiohttp.DummyCookieJar(),  # a proxy keeps no cookies: each request goes up as sent
            timeout=aiohttp.ClientTimeout(total=None, connect=self.config.connect_timeout_s,
                                          sock_read=self.config.upstream_timeout_s),
            # llama-server drops idle connections after 5 s: never reuse one older than that.
            connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=4.0),
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
        )
        if self.journal.is_new:
            try:
                await self._write_header()
            except BaseException:
                await self._close_client()
                raise
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, self.config.host, self.config.port, reuse_address=True)
        try:
            await self._site.start()
        except OSError:
            await self._close_client()
            await self._runner.cleanup()
            raise
        self.port = self._runner.addresses[0][1]

    async def stop(self, grace_s: float = 5.0, hurry: asyncio.Event | None = None) -> None:
        """Stop listening; give in-flight exchanges ``grace_s`` (or until ``hurry`` is set) to
        finish, then cut them: each records what it had seen."""
        if self._site is not None:
            await self._site.stop()
            self._site = None
        pending = {t for t in self._inflight if not t.done()}
        if pending:
            self.log(f"waiting up to {grace_s:.0f} s for {len(pending)} request(s) in flight")
            waiters = [asyncio.ensure_future(asyncio.wait(pending))]
            if hurry is not None:
                waiters.append(asyncio.ensure_future(hurry.wait()))
            await asyncio.wait(waiters, timeout=grace_s, return_when=asyncio.FIRST_COMPLETED)
            for w in waiters:
                w.cancel()
            for task in pending:
                if not task.done():
                    task.cancel()
            await asyncio.wait(pending, timeout=5.0)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self._close_client()

    async def _close_client(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _write_header(self) -> None:
        model = await self._upstream_model()
        header: dict[str, Any] = {
            "type": "header", "format": JOURNAL_FORMAT, "version": JOURNAL_VERSION, "name": self.config.name,
            "agent": "OpenAI-compatible client", "created_at": iso(time.time()), "model": model,
            "upstream": strip_url_credentials(self.config.upstream),
            "notes": [f"recorded by `replay record` in front of {strip_url_credentials(self.config.upstream)}"],
        }
        if self.repo is not None:
            header["repository"] = await asyncio.to_thread(self.repo.repository)
            self._last_repo = await asyncio.to_thread(self.repo.snapshot)
            header["repo"] = self._last_repo
        await self.journal.append(header)

    async def _upstream_model(self) -> str | None:
        """The first model the upstream lists (best effort: it may not be up yet)."""
        assert self._session is not None
        try:
            async with self._session.get(self._base + "/v1/models", timeout=aiohttp.ClientTimeout(total=3)) as r:
                data = await r.json(content_type=None)
            return str(data["data"][0]["id"])
        except Exception:  # noqa: BLE001  (no model name is fine; the first request does not depend on it)
            return None

    # -- routing -----------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        try:
            if request.method == "POST" and request.path in CHAT_PATHS:
                return await self._chat(request)
            return await self._passthrough(request)
        finally:
            if task is not None:
                self._inflight.discard(task)

    def _target(self, request: web.Request) -> URL:
        return URL(self._base + request.raw_path, encoded=True)

    @staticmethod
    def _request_headers(request: web.Request, identity: bool) -> CIMultiDict:
        headers = CIMultiDict((k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP)
        if identity:
            # Recording needs the plain stream; llama-server never compresses anyway.
            headers.popall("Accept-Encoding", None)
            headers["Accept-Encoding"] = "identity"
        return headers

    @staticmethod
    def _response_headers(up: aiohttp.ClientResponse, keep_length: bool = False) -> CIMultiDict:
        drop = HOP_BY_HOP - {"content-length"} if keep_length else HOP_BY_HOP
        return CIMultiDict((k, v) for k, v in up.headers.items() if k.lower() not in drop)

    async def _passthrough(self, request: web.Request) -> web.StreamResponse:
        """A byte pipe. Responses and Messages calls are also kept in the journal (``"type":
        "responses" | "messages"``), written before the end of the body like chat completions."""
        assert self._session is not None
        ex = self._exchange(request) if request.method == "POST" and request.path in WIRE_PATHS else None
        body = await request.read()
        if ex is not None:
            ex.body = body
        try:
            up = await self._session.request(request.method, self._target(request),
                                             headers=self._request_headers(request, identity=ex is not None),
                                             data=body if body or request.body_exists else None,
                                             allow_redirects=False)
        except (asyncio.TimeoutError, aiohttp.ClientError, OSError) as exc:
            status, kind, message = _upstream_failure(exc, self.config)
            if ex is not None:
                return await self._fail(ex, status, kind, message)
            self.log(f"{request.method} {request.path} -> {status} {message}")
            return web.json_response({"error": {"code": status, "message": message, "type": kind}}, status=status)
        try:
            # A recorded body goes out chunked, so that its last byte waits for the journal.
            resp = web.StreamResponse(status=up.status, reason=up.reason,
                                      headers=self._response_headers(up, keep_length=ex is None))
            seen: list[bytes] = []
            client_gone = False
            try:
                await resp.prepare(request)
                async for data in up.content.iter_any():
                    if ex is not None:
                        seen.append(data)
                    await resp.write(data)
            except ConnectionError:
                client_gone = True
                if ex is not None:
                    ex.error = "the client disconnected mid-body"
            except (asyncio.TimeoutError, aiohttp.ClientError) as exc:
                if ex is not None:
                    ex.error = _upstream_failure(exc, self.config, answered=True)[2]
                    self.stats.upstream_errors += 1
            except asyncio.CancelledError:
                if ex is not None:
                    ex.error = "the recorder stopped mid-body"
                    ex.status, ex.responded_at = up.status, time.time()
                    ex.response = _wire_body(ex.path, b"".join(seen), up.content_type, up.status)
                    await self._record(ex, sync=True)
                raise
            if ex is not None:
                ex.status, ex.responded_at = up.status, time.time()
                ex.response = _wire_body(ex.path, b"".join(seen), up.content_type, up.status)
                if up.status >= 400 and not ex.error:
                    ex.error = _error_text(ex.response) or f"upstream answered HTTP {up.status}"
                await self._record(ex)
            if not client_gone:
                try:
                    await resp.write_eof()
                except ConnectionError:
                    pass
            return resp
        finally:
            up.release()

    # -- chat completions --------------------------------------------------------------------

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        ex = self._exchange(request)
        try:
            ex.body = await request.read()
        except (ConnectionError, asyncio.CancelledError):
            ex.error = "the client went away while sending its request"
            ex.responded_at = time.time()
            await self._record(ex, sync=True)
            raise
        try:
            up = await self._session.post(self._target(request), data=ex.body,
                                          headers=self._request_headers(request, identity=True),
                                          allow_redirects=False)
        except (asyncio.TimeoutError, aiohttp.ClientError, OSError) as exc:
            status, kind, message = _upstream_failure(exc, self.config)
            return await self._fail(ex, status, kind, message)
        except asyncio.CancelledError:
            ex.error = "the recorder stopped before the upstream answered"
            ex.responded_at = time.time()
            await self._record(ex, sync=True)
            raise
        try:
            encoding = up.headers.get("Content-Encoding", "identity").lower()
            if up.content_type == "text/event-stream" and encoding == "identity":
                return await self._relay_stream(request, up, ex)
            return await self._relay_body(request, up, ex, encoding)
        finally:
            up.release()

    def _exchange(self, request: web.Request) -> Exchange:
        self._counter += 1
        ex = Exchange(number=self._counter, path=request.path, body=b"", requested_at=time.time(),
                      secrets=header_secrets(request.headers), client=recorded_headers(request.headers))
        if self.repo is not None:  # runs while the upstream works
            ex.repo_task = asyncio.ensure_future(asyncio.to_thread(self.repo.snapshot))
        return ex

    async def _fail(self, ex: Exchange, status: int, kind: str, message: str) -> web.Response:
        body = {"error": {"code": status, "message": message, "type": kind}}
        ex.status, ex.response, ex.error, ex.responded_at = status, body, message, time.time()
        self.stats.upstream_errors += 1
        await self._record(ex)
        return web.json_response(body, status=status)

    async def _relay_body(self, request: web.Request, up: aiohttp.ClientResponse, ex: Exchange,
                          encoding: str) -> web.StreamResponse:
        ex.status = up.status
        try:
            data = await up.read()
        except (asyncio.TimeoutError, aiohttp.ClientError) as exc:
            status, kind, message = _upstream_failure(exc, self.config, answered=True)
            return await self._fail(ex, status, kind, message)
        except asyncio.CancelledError:
            ex.error, ex.responded_at = "the recorder stopped while the upstream answered", time.time()
            await self._record(ex, sync=True)
            raise
        ex.responded_at = time.time()
        ex.response = _parse_body(data, encoding, up.status)
        if up.status >= 400:
            ex.error = _error_text(ex.response) or f"upstream answered HTTP {up.status}"
            self.stats.upstream_errors += 1
        await self._record(ex)  # on disk before the client gets a byte of the answer
        resp = web.Response(body=data, status=up.status, reason=up.reason, headers=self._response_headers(up))
        return resp

    async def _relay_stream(self, request: web.Request, up: aiohttp.ClientResponse,
                            ex: Exchange) -> web.StreamResponse:
        ex.status = up.status
        resp = web.StreamResponse(status=up.status, reason=up.reason, headers=self._response_headers(up))
        splitter, assembler = SSESplitter(), ChatStreamAssembler()
        client_gone = upstream_failed = False
        try:
            try:
                await resp.prepare(request)
                async for data in up.content.iter_any():
                    if ex.first_byte_at is None:
                        ex.first_byte_at = time.time()
                    forward, events = splitter.feed(data)
                    try:
                        if forward:
                            await resp.write(forward)
                    finally:
                        for payload in events:  # what the proxy saw, even if the client just left
                            assembler.add_payload(payload)
            except ConnectionError:  # the client left: close the upstream request, keep what was seen
                client_gone = True
                ex.error = f"the client disconnected mid-stream after {assembler.chunks} chunk(s)"
            except (asyncio.TimeoutError, aiohttp.ClientError) as exc:
                upstream_failed = True
                _, _, message = _upstream_failure(exc, self.config, answered=True)
                ex.error = f"{message} (after {assembler.chunks} chunk(s))"
                self.stats.upstream_errors += 1
        except asyncio.CancelledError:
            ex.error = f"the recorder stopped mid-stream after {assembler.chunks} chunk(s)"
            self._finish_stream(ex, assembler)
            await self._record(ex, sync=True)
            raise
        tail = splitter.flush()
        self._finish_stream(ex, assembler)
        await self._record(ex)  # on disk before the [DONE] event and the end of the body
        if client_gone:
            return resp
        if upstream_failed and not splitter.done:
            error = {"error": {"code": 502, "message": ex.error, "type": "upstream_error"}}
            tail += (b"\n\n" if tail else b"") + b"data: " + json.dumps(error).encode() + b"\n\n"
        try:
            if tail:
                await resp.write(tail)
            await resp.write_eof()
        except ConnectionError:
            pass
        return resp

    def _finish_stream(self, ex: Exchange, assembler: ChatStreamAssembler) -> None:
        ex.responded_at = time.time()
        ex.response = assembler.result()
        if ex.error and "error" not in ex.response:
            ex.response["error"] = {"message": ex.error}
        elif "error" in ex.response and not ex.error:
            ex.error = _error_text(ex.response) or "error event in the stream"
        ex.stream = {"chunks": assembler.chunks}
        if ex.first_byte_at is not None:
            ex.stream["first_byte_ms"] = round((ex.first_byte_at - ex.requested_at) * 1000, 3)
        if assembler.unparsed:
            ex.stream["unparsed_events"] = assembler.unparsed

    # -- recording ---------------------------------------------------------------------------

    async def _record(self, ex: Exchange, sync: bool = False) -> None:
        line = self._line(ex, await self._repo_of(ex, wait=not sync))
        try:
            if sync:
                self.journal.write(line)
            else:
                await self.journal.append(line, alone=len(self._inflight) <= 1)
        except OSError as exc:
            message = f"exchange #{ex.number} NOT recorded: cannot write {self.journal.path}: {exc.strerror}"
            self.stats.journal_errors.append(message)
            self.log(message)
            return
        self.stats.recorded += 1
        took = (ex.responded_at or time.time()) - ex.requested_at
        kind = f"stream, {ex.stream['chunks']} chunks" if ex.stream else \
            "responses API" if ex.path in RESPONSES_PATHS else "messages API" if ex.path in MESSAGES_PATHS else "json"
        message = f"#{ex.number} {ex.path} -> {ex.status or '-'} ({kind}) {took:.2f} s" \
            + (f"  error: {ex.error}" if ex.error else "")
        # Logging (a terminal write) waits until the answer has gone out.
        asyncio.get_running_loop().call_soon(self.log, message)

    async def _repo_of(self, ex: Exchange, wait: bool) -> dict[str, Any] | None:
        task = ex.repo_task
        if task is None or (not wait and not task.done()):
            return None
        try:
            snap = await task if wait else task.result()
        except Exception as exc:  # noqa: BLE001  (a git failure must not lose the exchange)
            self.log(f"#{ex.number}: repository state unavailable: {exc}")
            return None
        if snap != self._last_repo:
            if self._last_repo is not None:
                what = "HEAD moved" if snap["commit"] != self._last_repo["commit"] else "working tree changed"
                self.log(f"#{ex.number}: repository: {what} ({(snap['commit'] or '')[:12]} on {snap['branch']})")
            self._last_repo = snap
        return snap

    def _line(self, ex: Exchange, repo: dict[str, Any] | None) -> dict[str, Any]:
        try:
            body: Any = json.loads(ex.body) if ex.body else None
            reason = None
        except (json.JSONDecodeError, UnicodeDecodeError):
            body, reason = ex.body.decode("utf-8", errors="replace"), "the request body is not JSON"
        secrets = list(ex.secrets)
        if isinstance(body, dict):
            secrets += field_values(body, self.config.redact_fields)
            body = redact_fields(body, self.config.redact_fields)
            messages = body.get("messages")
            if not (isinstance(messages, list) and messages and all(isinstance(m, dict) for m in messages)):
                reason = "the request has no messages list"
        elif reason is None:
            reason = "the request body is not a JSON object" if ex.body else "the request body is empty"
        line: dict[str, Any] = {}
        if ex.path in WIRE_PATHS:
            line.update({"type": "responses" if ex.path in RESPONSES_PATHS else "messages", "body": body})
        elif reason:
            line.update({"type": "unreplayable", "reason": reason, "body": body})
        else:
            line["request"] = body
        line["response"] = ex.response
        line["requested_at"] = iso(ex.requested_at)
        line["responded_at"] = iso(ex.responded_at or time.time())
        line["status"] = ex.status
        if repo is not None:
            line["repo"] = repo
        if ex.stream is not None:
            line["stream"] = ex.stream
        if ex.error:
            line["error"] = ex.error
        if ex.client:
            line["client"] = ex.client
        if ex.path != "/v1/chat/completions":
            line["path"] = ex.path
        return scrub_values(line, secrets)


def _upstream_failure(exc: BaseException, config: ProxyConfig, answered: bool = False) -> tuple[int, str, str]:
    """(status for the client, error type, message) for a failed upstream call."""
    where = strip_url_credentials(config.upstream)
    if isinstance(exc, asyncio.TimeoutError):
        limit = config.upstream_timeout_s if answered or isinstance(exc, aiohttp.SocketTimeoutError) \
            else config.connect_timeout_s
        return 504, "upstream_timeout", f"upstream {where} sent nothing for {limit:g} s"
    if isinstance(exc, aiohttp.ClientConnectorError):
        reason = exc.os_error.strerror if exc.os_error and exc.os_error.strerror else str(exc)
        return 502, "upstream_unreachable", f"upstream {where} unreachable: {reason}"
    if answered:
        return 502, "upstream_error", f"upstream {where} broke off its answer: {exc.__class__.__name__}: {exc}"
    return 502, "upstream_error", f"upstream {where} failed: {exc.__class__.__name__}: {exc}"


def _parse_body(data: bytes, encoding: str, status: int) -> Any:
    try:
        if encoding in ("gzip", "x-gzip"):
            data = zlib.decompress(data, 16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            data = zlib.decompress(data)
    except zlib.error:
        return {"error": {"code": status, "message": f"body in {encoding} encoding could not be decoded"}}
    try:
        obj = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError):
        obj = None
    if isinstance(obj, dict):
        return obj
    text = data.decode("utf-8", errors="replace")
    if status < 400 and encoding != "identity" and text.lstrip().startswith("data:"):
        assembler = ChatStreamAssembler()  # a compressed stream, recorded after the fact
        splitter = SSESplitter()
        _, events = splitter.feed(data)
        for payload in events:
            assembler.add_payload(payload)
        return assembler.result()
    return {"error": {"code": status, "message": f"upstream answered HTTP {status} with a body that is not a JSON "
                                                 f"object", "body": text[:20000]}}


def _wire_body(path: str, data: bytes, content_type: str, status: int) -> Any:
    """A Responses or Messages answer: the JSON body, or what its stream describes."""
    if content_type != "text/event-stream":
        return _parse_body(data, "identity", status)
    if path in MESSAGES_PATHS:
        return _messages_stream(data, status)
    return _responses_stream(data, status)


def _messages_stream(data: bytes, status: int) -> Any:
    _, payloads = SSESplitter().feed(data + b"\n\n")
    events = []
    for payload in payloads:
        try:
            events.append(json.loads(payload))
        except json.JSONDecodeError:
            continue
    message = anthropic.assemble_stream(events)
    if message is not None:
        return message
    return {"error": {"code": status, "message": f"the stream never started a message ({len(events)} events)"}}


def _responses_stream(data: bytes, status: int) -> Any:
    """The ``response`` object of a Responses stream's final ``response.completed`` /
    ``.incomplete`` / ``.failed`` event."""
    _, events = SSESplitter().feed(data + b"\n\n")
    final = None
    for payload in events:
        try:
            event = json.loads(payload)
        except json.JSONDecodeError:
            continue
        if isinstance(event, dict) and event.get("type") in ("response.completed", "response.incomplete",
                                                              "response.failed") and "response" in event:
            final = event["response"]
    if final is not None:
        return final
    return {"error": {"code": status, "message": f"the stream ended without a final response event "
                                                 f"({len(events)} events)"}}


def _error_text(response: Any) -> str | None:
    if isinstance(response, dict) and response.get("error") is not None:
        err = response["error"]
        return str(err.get("message") if isinstance(err, dict) else err)
    return None
