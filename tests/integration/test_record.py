"""`replay record` in front of a real llama-server (synthetic-echo model), driven by the openai
SDK: what a client receives is unchanged, every exchange is on disk before the client has the
last byte, secrets never reach a file, and a killed or interrupted recorder leaves a readable
journal (and, on Ctrl-C / SIGTERM, the trace). A small aiohttp fake upstream stands in only
where a real server cannot fail on demand (500, hang, dying mid-stream, odd SSE framing)."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import git
import openai
import pytest
from aiohttp import web

from replayer.runner.server import ManagedServer, free_port
from replayer.sources.importers.base import read_jsonl
from replayer.sources.record import finalise
from replayer.sources.record.journal import Journal, journal_path
from replayer.sources.record.proxy import ProxyConfig, RecordingProxy
from replayer.sources.record.repo import RepoContext
from replayer.trace import load_trace

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CANARY = "sk-canary-7f3a9c0e5b1d"
USER_CANARY = "user-canary-4e8d2a6b"
MESSAGES = [{"role": "system", "content": "You are a coding agent."},
            {"role": "user", "content": "Add a function that reverses a string."}]
SAMPLING = {"temperature": 0, "max_tokens": 24, "seed": 1}


# -- helpers ---------------------------------------------------------------------------------

class LoopThread:
    """An asyncio loop in a daemon thread, for servers that tests talk to synchronously."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro, timeout: float = 30.0):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        async def cancel_the_rest():
            rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in rest:
                task.cancel()
            await asyncio.gather(*rest, return_exceptions=True)

        try:
            self.run(cancel_the_rest(), 10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()


class Recorder:
    """The recording proxy in this process (a thread), on a free port."""

    def __init__(self, upstream: str, out: Path, repo: Path | None = None, **config) -> None:
        self.out = out
        self.journal_path = journal_path(out)
        self._thread = LoopThread()
        self._journal = Journal(self.journal_path)
        self.proxy = RecordingProxy(ProxyConfig(upstream=upstream, port=0, name=out.stem, **config), self._journal,
                                    RepoContext(repo) if repo else None)

    def __enter__(self) -> "Recorder":
        try:
            self._thread.run(self.proxy.start())
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        try:
            self._thread.run(self.proxy.stop(grace_s=1.0))
        finally:
            self._thread.close()
            self._journal.close()

    @property
    def url(self) -> str:
        return self.proxy.url

    def lines(self) -> list[dict]:
        return [obj for _, obj in read_jsonl(self.journal_path)]

    def exchanges(self) -> list[dict]:
        return [obj for obj in self.lines() if obj.get("type") != "header"]


class FakeUpstream:
    """Fault injection only: the request's "model" picks the misbehaviour."""

    def __init__(self) -> None:
        self.raw_pieces: list[bytes] = []
        self._thread = LoopThread()
        self._runner: web.AppRunner | None = None
        self.port = free_port()

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        mode = (await request.json()).get("model")
        if mode == "fail-500":
            return web.json_response({"error": {"code": 500, "message": "boom: the model exploded",
                                                "type": "server_error"}}, status=500)
        if mode == "hang":
            await asyncio.sleep(30)
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        if mode == "raw":
            for piece in self.raw_pieces:
                await resp.write(piece)
                await asyncio.sleep(0.02)
            await resp.write_eof()
            return resp
        chunk = {"choices": [{"index": 0, "delta": {"content": "partial "}, "finish_reason": None}],
                 "id": "chatcmpl-f", "created": 1, "model": mode, "object": "chat.completion.chunk"}
        for _ in range(2):
            await resp.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
        if mode == "slow-then-rest":
            await asyncio.sleep(1.0)
            await resp.write(b"data: [DONE]\n\n")
            await resp.write_eof()
            return resp
        if mode == "hang-mid-stream":
            await asyncio.sleep(30)
        if mode == "die-mid-stream":
            await asyncio.sleep(0.05)
            request.transport.close()
        return resp

    def __enter__(self) -> "FakeUpstream":
        async def start():
            app = web.Application()
            app.router.add_post("/v1/chat/completions", self._chat)
            self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.2)
            await self._runner.setup()
            await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

        self._thread.run(start())
        return self

    def __exit__(self, *exc) -> None:
        try:
            self._thread.run(self._runner.cleanup())
        finally:
            self._thread.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def client(base: str, **kw) -> openai.OpenAI:
    return openai.OpenAI(base_url=base + "/v1", api_key=kw.pop("api_key", "x"), max_retries=0, timeout=60, **kw)


_VOLATILE = [(re.compile(rb'"(id|\w+_id)":"[^"]*"'), b'"\\1":"X"'), (re.compile(rb'"(created|\w+_at)":\d+'), b'"\\1":0'),
             (re.compile(rb'"timings":\{[^}]*\}'), b'"timings":{}'), (re.compile(rb'"cached_tokens":\d+'),
                                                                        b'"cached_tokens":0')]


def normalise(body: bytes) -> bytes:
    """Blank what differs between two identical requests: ids, creation times, timings, cache hits."""
    for pattern, repl in _VOLATILE:
        body = pattern.sub(repl, body)
    return body


def request(method: str, url: str, body: dict | bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    """A plain HTTP/1.1 request: (status, lower-cased headers, body as the client receives it)."""
    host, _, rest = url.removeprefix("http://").partition("/")
    conn = http.client.HTTPConnection(host, timeout=60)
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    try:
        conn.request(method, "/" + rest, body=data, headers={"Content-Type": "application/json"} if data else {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def same_headers(a, b) -> None:
    for name in ("content-type", "server", "x-accel-buffering", "access-control-allow-origin"):
        assert a.get(name) == b.get(name), name


@pytest.fixture(scope="module")
def llama(server_bin, synthetic_model, tmp_path_factory):
    log = tmp_path_factory.mktemp("llama") / "server.log"
    server = ManagedServer("record-upstream", server_bin, synthetic_model("synthetic-echo"),
                           ["-c", "8192", "-np", "1", "-t", "2", "--no-webui"], log)
    with server:
        server.start(120)
        yield server.url
    assert not server.alive()


def start_cli_recorder(upstream: str, out: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "replayer.cli", "record", "--upstream", upstream,
                             "--listen", f"127.0.0.1:{port}", "--out", str(out), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"recorder exited early: {proc.communicate()[1]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    pytest.fail("recorder did not listen in time")


@pytest.fixture()
def cli_recorders():
    procs: list[subprocess.Popen] = []

    def start(*args):
        proc, url = start_cli_recorder(*args)
        procs.append(proc)
        return proc, url

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


def no_canary(*paths: Path) -> None:
    for path in paths:
        data = path.read_bytes()
        assert CANARY.encode() not in data and USER_CANARY.encode() not in data, path


# -- a real llama-server upstream ------------------------------------------------------------

def test_a_non_streamed_answer_is_unchanged_and_on_disk_before_the_client_has_it(llama, tmp_path):
    direct = client(llama).chat.completions.with_raw_response.create(model="m", messages=MESSAGES, **SAMPLING)
    with Recorder(llama, tmp_path / "s.json") as rec:
        proxied = client(rec.url).chat.completions.with_raw_response.create(model="m", messages=MESSAGES, **SAMPLING)
        lines = rec.lines()  # read at once: the line had to be there before the answer was sent
    assert proxied.status_code == direct.status_code == 200
    same_headers(proxied.headers, direct.headers)
    assert normalise(proxied.http_response.content) == normalise(direct.http_response.content)
    header, line = lines
    assert header["type"] == "header" and header["model"].endswith("synthetic-echo.g1.gguf")
    assert line["request"] == {"messages": MESSAGES, "model": "m", **SAMPLING}
    assert line["response"] == json.loads(proxied.http_response.content)
    assert line["status"] == 200 and line["requested_at"] <= line["responded_at"]
    assert line["response"]["timings"]["predicted_n"] == 24


def test_a_streamed_answer_is_unchanged_byte_for_byte_and_recorded_before_done(llama, tmp_path):
    def stream(base: str, journal: Path | None = None):
        seen_before_done = None
        body = b""
        with client(base).chat.completions.with_streaming_response.create(
                model="m", messages=MESSAGES, stream=True, stream_options={"include_usage": True}, **SAMPLING) as r:
            for piece in r.iter_bytes():
                if journal is not None and seen_before_done is None and b"data: [DONE]" in body + piece:
                    seen_before_done = len(read_jsonl(journal))
                body += piece
            return r.status_code, r.headers, body, seen_before_done

    status, headers, direct, _ = stream(llama)
    plain = client(llama).chat.completions.create(model="m", messages=MESSAGES, **SAMPLING)
    with Recorder(llama, tmp_path / "s.json") as rec:
        p_status, p_headers, proxied, lines_at_done = stream(rec.url, rec.journal_path)
        # The SDK's own parsing through the proxy gives the same text.
        sdk_text = "".join(c.choices[0].delta.content or "" for c in client(rec.url).chat.completions.create(
            model="m", messages=MESSAGES, stream=True, **SAMPLING) if c.choices)
        exchanges = rec.exchanges()
    assert p_status == status == 200
    same_headers(p_headers, headers)
    assert proxied.count(b"\n\n") > 20  # really streamed: one event per token
    assert normalise(proxied) == normalise(direct)
    assert lines_at_done == 2  # header + this exchange, before [DONE] reached the client
    recorded = exchanges[0]["response"]
    # Re-assembled from the chunks, it reads like the non-streamed answer to the same request.
    assert recorded["object"] == "chat.completion"
    assert recorded["choices"][0]["message"] == {"role": "assistant", "content": plain.choices[0].message.content}
    assert recorded["choices"][0]["finish_reason"] == plain.choices[0].finish_reason == "length"
    assert recorded["usage"]["completion_tokens"] == plain.usage.completion_tokens == 24
    assert recorded["timings"]["predicted_n"] == 24
    assert exchanges[0]["stream"]["chunks"] >= 24 and exchanges[0]["stream"]["first_byte_ms"] > 0
    assert sdk_text == plain.choices[0].message.content


def test_every_other_route_passes_through_unchanged(llama, tmp_path):
    calls = [("GET", "/v1/models", None), ("GET", "/health", None), ("GET", "/props", None),
             ("POST", "/tokenize", {"content": "hello world", "with_pieces": True}),
             ("POST", "/v1/responses", {"model": "m", "input": "hi", "max_output_tokens": 4, "temperature": 0}),
             ("GET", "/no/such/route?x=1", None), ("DELETE", "/v1/models", None)]
    with Recorder(llama, tmp_path / "s.json") as rec:
        for method, path, body in calls:
            status, headers, content = request(method, llama + path, body)
            p_status, p_headers, p_content = request(method, rec.url + path, body)
            assert p_status == status, path
            assert p_headers.get("content-type") == headers.get("content-type"), path
            assert normalise(p_content) == normalise(content), path
        # Only the Responses-API call is journalled (apart from the chat lines the importer reads).
        (line,) = rec.exchanges()
    assert line["type"] == "responses" and line["body"]["input"] == "hi" and line["status"] == 200
    assert line["response"]["object"] == "response" and line["response"]["output"]


def test_a_streamed_responses_api_call_passes_through_and_keeps_its_final_response(llama, tmp_path):
    def stream(base: str) -> tuple[list[str], bytes]:
        with client(base).responses.with_streaming_response.create(
                model="m", input="hi", max_output_tokens=8, temperature=0, stream=True) as r:
            body = b"".join(r.iter_bytes())
        return [e["type"] for e in (json.loads(x[6:]) for x in body.decode().split("\n") if x.startswith("data: "))], body

    types, direct = stream(llama)
    with Recorder(llama, tmp_path / "s.json") as rec:
        p_types, proxied = stream(rec.url)
        (line,) = rec.exchanges()
    assert p_types == types and types[-1] == "response.completed"
    assert normalise(proxied) == normalise(direct)
    assert line["type"] == "responses" and line["response"]["status"] == "completed"
    assert line["response"]["usage"]["output_tokens"] == 8


def test_a_canary_key_in_the_header_and_the_body_reaches_no_file(llama, tmp_path):
    out = tmp_path / "s.json"
    with Recorder(llama, out, redact_fields=("api_key", "user", "metadata.token")) as rec:
        c = client(rec.url, api_key=CANARY, default_headers={"x-api-key": CANARY, "api-key": CANARY})
        extra = {"api_key": CANARY, "user": USER_CANARY, "metadata": {"token": CANARY, "note": f"key={CANARY}"}}
        first = c.chat.completions.create(model="m", messages=MESSAGES, extra_body=extra, **SAMPLING)
        list(c.chat.completions.create(model="m", stream=True, extra_body=extra, **SAMPLING, messages=[
            *MESSAGES, first.choices[0].message.model_dump(exclude_none=True),
            {"role": "user", "content": "and tests"}]))
        lines = rec.exchanges()
    doc = finalise(rec.journal_path, out)
    no_canary(rec.journal_path, out)
    req = lines[0]["request"]
    assert req["api_key"] == req["user"] == req["metadata"]["token"] == "[redacted]"
    assert req["metadata"]["note"] == "key=[redacted]"  # the last line of defence: the value anywhere
    assert lines[0]["client"] == {"user-agent": c.user_agent}
    assert len(doc["turns"]) == 2 and doc["turns"][1]["request"]["conversation_prefix"] == 4


def test_a_client_leaving_mid_stream_keeps_what_was_seen_and_frees_the_server(llama, tmp_path):
    with Recorder(llama, tmp_path / "s.json") as rec:
        c = client(rec.url)
        stream = c.chat.completions.create(model="m", messages=MESSAGES, stream=True, temperature=0,
                                           max_tokens=3000, extra_body={"ignore_eos": True})
        got = [next(stream) for _ in range(4)]
        stream.close()
        deadline = time.monotonic() + 20
        while not rec.exchanges() and time.monotonic() < deadline:
            time.sleep(0.05)
        # The upstream request was closed: the server answers the next request at once.
        t0 = time.monotonic()
        c.chat.completions.create(model="m", messages=MESSAGES, **SAMPLING)
        assert time.monotonic() - t0 < 10
        first, second = rec.exchanges()
    assert "client disconnected mid-stream" in first["error"]
    assert first["response"]["choices"][0]["finish_reason"] is None
    content = first["response"]["choices"][0]["message"]["content"]
    assert content.startswith("".join(g.choices[0].delta.content or "" for g in got))
    assert first["response"]["error"]["message"] == first["error"]
    assert second["status"] == 200 and "error" not in second


def test_an_unreplayable_request_is_forwarded_and_kept_apart(llama, tmp_path):
    out = tmp_path / "s.json"
    with Recorder(llama, out) as rec:
        status, _, _ = request("POST", rec.url + "/v1/chat/completions", b"{not json")
        assert status == request("POST", llama + "/v1/chat/completions", b"{not json")[0] >= 400
        client(rec.url).chat.completions.create(model="m", messages=MESSAGES, **SAMPLING)
        lines = rec.exchanges()
    assert lines[0]["type"] == "unreplayable" and lines[0]["body"] == "{not json"
    assert lines[0]["status"] == status and lines[0]["error"]
    assert len(finalise(rec.journal_path, out)["turns"]) == 1


def test_repository_context_follows_edits_and_commits(llama, tmp_path):
    work = tmp_path / "work"
    repo = git.Repo.init(work, initial_branch="main")
    with repo.config_writer() as cw:
        cw.set_value("user", "name", "t")
        cw.set_value("user", "email", "t@example.invalid")
    (work / "s.py").write_text("def f():\n    pass\n")
    repo.index.add(["s.py"])
    base = repo.index.commit("base").hexsha
    out = tmp_path / "s.json"
    with Recorder(llama, out, repo=work) as rec:
        c = client(rec.url)
        c.chat.completions.create(model="m", messages=MESSAGES, **SAMPLING)
        (work / "s.py").write_text("def f():\n    return 1\n")
        c.chat.completions.create(model="m", messages=MESSAGES, **SAMPLING)
        repo.index.add(["s.py"])
        head = repo.index.commit("edit").hexsha
        c.chat.completions.create(model="m", messages=MESSAGES, **SAMPLING)
        header, *lines = rec.lines()
    assert header["repository"] == {"remote": None, "branch": "main", "base_commit": base}
    assert [line["repo"]["commit"] for line in lines] == [base, base, head]
    assert [line["repo"]["dirty"] for line in lines] == [False, True, False]
    assert "+    return 1" in lines[1]["repo"]["dirty_diff"]
    doc = finalise(rec.journal_path, out)
    assert doc["repository"]["base_commit"] == base and doc["turns"][1]["repo"]["dirty"] is True


# -- faults from a fake upstream -------------------------------------------------------------

def test_an_upstream_500_reaches_the_client_as_is_and_is_recorded(tmp_path):
    with FakeUpstream() as fake, Recorder(fake.url, tmp_path / "s.json") as rec:
        with pytest.raises(openai.InternalServerError) as info:
            client(rec.url).chat.completions.create(model="fail-500", messages=MESSAGES)
        (line,) = rec.exchanges()
    assert info.value.status_code == 500 and "boom: the model exploded" in str(info.value)
    assert line["status"] == 500 and line["error"] == "boom: the model exploded"
    assert line["response"]["error"]["message"] == "boom: the model exploded"


def test_an_unreachable_upstream_is_a_502_and_is_recorded(tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"
    with Recorder(dead, tmp_path / "s.json") as rec:
        with pytest.raises(openai.APIStatusError) as info:
            client(rec.url).chat.completions.create(model="m", messages=MESSAGES, stream=True)
        (line,) = rec.exchanges()
    assert info.value.status_code == 502 and "unreachable" in str(info.value)
    assert line["status"] == 502 and "unreachable" in line["error"] and line["request"]["messages"] == MESSAGES


def test_an_upstream_silent_before_answering_is_a_504_and_is_recorded(tmp_path):
    with FakeUpstream() as fake, Recorder(fake.url, tmp_path / "s.json", upstream_timeout_s=0.5) as rec:
        t0 = time.monotonic()
        with pytest.raises(openai.APIStatusError) as info:
            client(rec.url).chat.completions.create(model="hang", messages=MESSAGES)
        assert time.monotonic() - t0 < 5
        (line,) = rec.exchanges()
    assert info.value.status_code == 504 and line["status"] == 504
    assert "sent nothing for 0.5 s" in line["error"]


@pytest.mark.parametrize("mode, reason", [("hang-mid-stream", "sent nothing for 0.5 s"),
                                          ("die-mid-stream", "broke off its answer")])
def test_an_upstream_failing_mid_stream_ends_the_stream_with_an_error_event_and_is_recorded(tmp_path, mode, reason):
    with FakeUpstream() as fake, Recorder(fake.url, tmp_path / "s.json", upstream_timeout_s=0.5) as rec:
        got = []
        with pytest.raises(openai.APIError, match=reason):
            for c in client(rec.url).chat.completions.create(model=mode, messages=MESSAGES, stream=True):
                got.append(c.choices[0].delta.content)
        (line,) = rec.exchanges()
    assert got == ["partial ", "partial "]
    assert reason in line["error"] and "after 2 chunk(s)" in line["error"]
    assert line["response"]["choices"][0]["message"]["content"] == "partial partial "


def test_odd_sse_framing_passes_byte_for_byte_with_no_chunk_held_back(tmp_path):
    def event(obj, eol=b"\n"):
        return b"data: " + json.dumps(obj).encode() + eol + eol

    def tool(delta):
        return {"choices": [{"index": 0, "delta": {"tool_calls": [delta]}, "finish_reason": None}], "id": "c",
                "created": 1, "model": "raw", "object": "chat.completion.chunk"}

    pieces = [b": keep-alive\r\n\r\n",
              event(tool({"index": 0, "id": "call_1", "type": "function", "function": {"name": "read", "arguments": ""}}),
                    b"\r\n"),
              event(tool({"index": 0, "function": {"arguments": "{\"path\":"}}))[:9],
              event(tool({"index": 0, "function": {"arguments": "{\"path\":"}}))[9:],
              event(tool({"index": 0, "function": {"arguments": " \"a.py\"}"}}))
              + event({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}], "id": "c",
                       "timings": {"predicted_n": 7}}) + b"data: [DONE]\n\n"]
    with FakeUpstream() as fake, Recorder(fake.url, tmp_path / "s.json") as rec:
        fake.raw_pieces = pieces
        _, _, received = request("POST", rec.url + "/v1/chat/completions",
                                 {"model": "raw", "messages": MESSAGES, "stream": True})
        (line,) = rec.exchanges()
    assert received == b"".join(pieces)
    message = line["response"]["choices"][0]["message"]
    assert message["tool_calls"] == [{"id": "call_1", "type": "function",
                                      "function": {"name": "read", "arguments": "{\"path\": \"a.py\"}"}}]
    assert line["response"]["choices"][0]["finish_reason"] == "tool_calls"
    assert line["response"]["timings"] == {"predicted_n": 7}


def test_a_chunk_reaches_the_client_before_the_upstream_sends_the_next(tmp_path):
    with FakeUpstream() as fake, Recorder(fake.url, tmp_path / "s.json") as rec:
        t0 = time.monotonic()
        stream = client(rec.url).chat.completions.create(model="slow-then-rest", messages=MESSAGES, stream=True)
        next(stream)
        first_after = time.monotonic() - t0
        rest = list(stream)
        total = time.monotonic() - t0
    assert first_after < 0.5 and total >= 1.0 and len(rest) == 1


# -- the `replay record` process -------------------------------------------------------------

def test_a_sigkilled_recorder_leaves_a_journal_that_replay_import_reads(llama, tmp_path, cli_recorders):
    out = tmp_path / "s.json"
    proc, url = cli_recorders(llama, out)
    c = client(url)
    first = c.chat.completions.create(model="m", messages=MESSAGES, **SAMPLING)
    list(c.chat.completions.create(model="m", stream=True, **SAMPLING, messages=[
        *MESSAGES, first.choices[0].message.model_dump(exclude_none=True), {"role": "user", "content": "more"}]))
    proc.kill()
    proc.wait(10)
    assert not out.exists()
    done = subprocess.run([sys.executable, "-m", "replayer.cli", "import", str(journal_path(out)),
                           "-o", str(tmp_path / "x.json")], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    trace = load_trace(tmp_path / "x.json")
    assert trace.n_turns == 2


def test_a_torn_last_line_is_skipped_by_replay_import(llama, tmp_path, cli_recorders):
    out = tmp_path / "s.json"
    proc, url = cli_recorders(llama, out)
    client(url).chat.completions.create(model="m", messages=MESSAGES, **SAMPLING)
    proc.kill()
    proc.wait(10)
    with journal_path(out).open("ab") as fh:  # what a kill in the middle of a write would leave
        fh.write(b'{"request": {"messages": [{"role": "user", "con')
    done = subprocess.run([sys.executable, "-m", "replayer.cli", "import", str(journal_path(out)),
                           "-o", str(tmp_path / "x.json")], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert load_trace(tmp_path / "x.json").n_turns == 1


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_writes_a_valid_trace_and_keeps_the_journal(llama, tmp_path, cli_recorders, sig):
    out = tmp_path / "session.json"
    proc, url = cli_recorders(llama, out, "--redact-field", "metadata.token")
    c = client(url, api_key=CANARY)
    history = list(MESSAGES)
    for turn in range(3):
        answer = c.chat.completions.create(model="m", messages=history, extra_body={
            "api_key": CANARY, "user": USER_CANARY, "metadata": {"token": CANARY}}, **SAMPLING)
        history += [answer.choices[0].message.model_dump(exclude_none=True),
                    {"role": "user", "content": f"next step {turn}"}]
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr and "3 turns" in stdout
    trace = load_trace(out)
    assert trace.n_turns == 3
    doc = json.loads(out.read_text())
    assert [t["request"]["conversation_prefix"] for t in doc["turns"]] == [2, 4, 6]
    assert doc["provenance"]["importer"] == "openai-jsonl"
    assert journal_path(out).is_file()
    no_canary(journal_path(out), out)


def test_ctrl_c_in_the_middle_of_a_stream_records_the_part_seen(llama, tmp_path, cli_recorders):
    out = tmp_path / "s.json"
    proc, url = cli_recorders(llama, out)
    c = client(url)
    c.chat.completions.create(model="m", messages=MESSAGES, **SAMPLING)
    stream = c.chat.completions.create(model="m", messages=MESSAGES, stream=True, temperature=0,
                                       max_tokens=100000, extra_body={"ignore_eos": True})
    next(stream)
    proc.send_signal(signal.SIGINT)
    try:
        for _ in stream:
            pass
    except openai.APIError:
        pass
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    lines = [obj for _, obj in read_jsonl(journal_path(out))]
    assert "recorder stopped mid-stream" in lines[-1]["error"]
    assert load_trace(out).n_turns == 2


def test_record_refuses_to_overwrite_a_journal_and_bad_flags_in_one_line(tmp_path):
    out = tmp_path / "s.json"
    journal_path(out).write_text('{"type": "header"}\n')

    def replay(*args):
        return subprocess.run([sys.executable, "-m", "replayer.cli", "record", *args], capture_output=True,
                              text=True, cwd=ROOT, timeout=60, env={**os.environ, "COLUMNS": "200"})

    done = replay("--upstream", "http://127.0.0.1:1", "--listen", "127.0.0.1:0", "--out", str(out))
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "pass --append" in done.stderr
    done = replay("--upstream", "http://127.0.0.1:1", "--listen", "127.0.0.1:http", "--out", str(tmp_path / "t.json"))
    assert done.returncode == 2 and "--listen 127.0.0.1:http: expected HOST:PORT" in done.stderr
    done = replay("--upstream", "localhost:8080", "--out", str(tmp_path / "t.json"))
    assert done.returncode == 2 and "expected an http:// or https:// URL" in done.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = replay("--upstream", "http://127.0.0.1:1", "--listen", f"127.0.0.1:{port}", "--out",
                      str(tmp_path / "u.json"))
    assert done.returncode == 1 and "cannot listen" in done.stderr and "Traceback" not in done.stderr
    assert not journal_path(tmp_path / "u.json").exists()  # nothing half-written


# -- the Messages and Responses APIs, recorded and converted --------------------------------

WIRE_TOOL = {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}
ANTHROPIC_BODY = {
    "model": "m", "max_tokens": 12, "temperature": 0,
    "system": [{"type": "text", "text": "You are Claude Code."}, {"type": "text", "text": "Be brief."}],
    "tools": [{"name": "Read", "description": "Read a file", "input_schema": WIRE_TOOL}],
    "messages": [
        {"role": "user", "content": [{"type": "text", "text": "fix the bug"}, {"type": "text", "text": "in a.py"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "Reading."},
                                          {"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {"path": "a.py"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "print(1)"},
                                     {"type": "text", "text": "go on"}]}]}
RESPONSES_BODY = {
    "model": "m", "instructions": "You are Codex.", "max_output_tokens": 12, "temperature": 0,
    "tools": [{"type": "function", "name": "read_file", "description": "Read a file", "parameters": WIRE_TOOL}],
    "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "fix the bug"}]},
              {"type": "function_call", "call_id": "c1", "name": "read_file", "arguments": '{"path": "a.py"}'},
              {"type": "function_call_output", "call_id": "c1", "output": "print(1)"}]}


def test_messages_and_responses_exchanges_import_with_the_servers_own_prompt_token_counts(llama, tmp_path):
    """Each recorded exchange becomes the equivalent chat request; rendered through the
    server's chat template it has exactly the prompt tokens the server reported for the
    original request."""
    from replayer.runner.endpoint import Endpoint
    from replayer.sources.importers import import_session
    from replayer.sources.importers.base import ImportOptions

    with Recorder(llama, tmp_path / "wire.json") as rec:
        status, _, _ = request("POST", rec.url + "/v1/messages", ANTHROPIC_BODY)
        assert status == 200
        status, headers, streamed = request("POST", rec.url + "/v1/messages", {**ANTHROPIC_BODY, "stream": True})
        assert status == 200 and headers["content-type"].startswith("text/event-stream")
        assert b"message_stop" in streamed
        status, _, _ = request("POST", rec.url + "/v1/responses", RESPONSES_BODY)
        assert status == 200
        lines = rec.exchanges()
    assert [line["type"] for line in lines] == ["messages", "messages", "responses"]
    plain, stream = lines[0]["response"], lines[1]["response"]
    assert stream["content"] == plain["content"] and stream["usage"]["output_tokens"] == plain["usage"]["output_tokens"]

    doc, _ = import_session(rec.journal_path, None, ImportOptions(), "wire")
    endpoint = Endpoint("count", llama)
    for i, turn in enumerate(doc["turns"]):
        prefix = turn["request"].get("conversation_prefix")
        messages = doc["conversation"][:prefix] if prefix is not None else turn["request"]["messages"]
        tools = doc.get("tools") if turn["request"].get("tools") is True else turn["request"].get("tools") or None
        counted = endpoint.count_chat_tokens({"messages": messages, **({"tools": tools} if tools else {})})
        assert counted == turn["response"]["usage"]["prompt_tokens"], (i, messages)
    exact = " ".join(doc["provenance"]["fidelity"]["exact"])
    assert "2 messages exchange(s) converted" in exact and "1 responses exchange(s) converted" in exact


@pytest.mark.parametrize("api", ["messages", "responses"])
def test_a_recorder_sigkilled_mid_stream_on_either_api_leaves_a_journal_that_replay_import_reads(
        llama, tmp_path, cli_recorders, api):
    out = tmp_path / "s.json"
    proc, url = cli_recorders(llama, out)
    path, body = ("/v1/messages", ANTHROPIC_BODY) if api == "messages" else ("/v1/responses", RESPONSES_BODY)
    headers = {"Content-Type": "application/json", "x-api-key": CANARY, "Authorization": f"Bearer {CANARY}"}
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    conn.request("POST", path, body=json.dumps(body), headers=headers)
    first = conn.getresponse()
    assert first.status == 200 and first.read()
    conn.close()
    # a long streamed answer, killed after its first bytes
    long = {**body, "stream": True, **({"max_tokens": 4000} if api == "messages" else {"max_output_tokens": 4000})}
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    conn.request("POST", path, body=json.dumps(long), headers=headers)
    resp = conn.getresponse()
    assert resp.status == 200 and resp.read1(64)
    proc.kill()
    proc.wait(10)
    conn.close()
    done = subprocess.run([sys.executable, "-m", "replayer.cli", "import", str(journal_path(out)),
                           "-o", str(tmp_path / "x.json")], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert load_trace(tmp_path / "x.json").n_turns == 1  # the finished exchange; the killed one never reached disk
    no_canary(journal_path(out), tmp_path / "x.json")
