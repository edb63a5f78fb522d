"""One variant's running server as seen over HTTP: the chat seam plus the introspection routes.

``Endpoint.complete`` is the single place a turn is sent; it goes through the
``openai`` SDK (non-streaming chat completions) and returns a :class:`Completion`
with the raw JSON body, so llama.cpp's extra fields (``timings``, ``__verbose``)
are read as the server wrote them.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import openai
from openai._constants import DEFAULT_CONNECTION_LIMITS  # its Limits type, whichever httpx the SDK uses

from replayer.results.record import TurnError
from replayer.runner.server import ManagedServer, http_json, http_text


@dataclass(frozen=True)
class Completion:
    body: dict[str, Any] | None
    wall_ms: float
    http_ms: float  # time inside the SDK call (request out .. body parsed)
    error: TurnError | None = None


@dataclass
class Endpoint:
    name: str
    url: str
    server: ManagedServer | None = None
    timeout_s: float = 900.0

    def __post_init__(self) -> None:
        self.url = self.url.rstrip("/")
        if self.url.endswith("/v1"):
            self.url = self.url[:-3]
        # api_key is required by the SDK; llama-server ignores it unless started with --api-key.
        self._client = openai.OpenAI(base_url=self.url + "/v1", api_key="replayer-no-key",
                                     timeout=self.timeout_s, max_retries=0)
        self._async_client: openai.AsyncOpenAI | None = None

    # -- the seam -----------------------------------------------------------
    def complete(self, body: dict[str, Any]) -> Completion:
        standard, extra = _split(body)
        t0 = time.perf_counter()
        try:
            raw = self._client.chat.completions.with_raw_response.create(**standard, extra_body=extra)
            t1 = time.perf_counter()
            parsed = json.loads(raw.content)
            return Completion(parsed, (time.perf_counter() - t0) * 1e3, (t1 - t0) * 1e3)
        except _FAILURES as exc:
            return self._failed(t0, *self._classify(exc, t0))

    async def complete_async(self, body: dict[str, Any]) -> Completion:
        """The same request from an asyncio loop (concurrent sessions share one client). The body
        goes out as it is (the SDK's documented custom-request path): its typed re-walk of every
        message of every request would cost more CPU than everything else the client does."""
        t0 = time.perf_counter()
        try:
            content = await self._async().post("/chat/completions", cast_to=bytes, body=body)
            t1 = time.perf_counter()
            parsed = json.loads(content)
            return Completion(parsed, (time.perf_counter() - t0) * 1e3, (t1 - t0) * 1e3)
        except _FAILURES as exc:
            return self._failed(t0, *self._classify(exc, t0))

    def _async(self) -> openai.AsyncOpenAI:
        if self._async_client is None:
            # The SDK's own aiohttp transport: httpx's pool manager costs time quadratic in the
            # connections open, which shows from a few hundred sessions. aiohttp reads a limit of 0
            # as none: every session in flight gets its connection.
            limits = type(DEFAULT_CONNECTION_LIMITS)(max_connections=0, max_keepalive_connections=None)
            self._async_client = openai.AsyncOpenAI(base_url=self.url + "/v1", api_key="replayer-no-key",
                                                    timeout=self.timeout_s, max_retries=0,
                                                    http_client=openai.DefaultAioHttpClient(limits=limits))
        return self._async_client

    async def close_async(self) -> None:
        """Close the asyncio client inside the loop that used it."""
        if self._async_client is not None:
            await self._async_client.close()
            self._async_client = None

    def _classify(self, exc: Exception, t0: float) -> tuple[str, str, int | None]:
        if isinstance(exc, openai.APIStatusError):
            return "http_error", _error_message(exc), exc.status_code
        refused = _connection_cause(exc)
        if refused is not None:  # the aiohttp transport reports a refused connection as a connect timeout
            return "connection_error", f"{type(refused).__name__}: {refused}", None
        if isinstance(exc, openai.APITimeoutError) and time.perf_counter() - t0 < 0.9 * self.timeout_s:
            # long before the deadline: the transport calls a dropped connection a timeout
            root = _root(exc)
            return "connection_error", f"{type(root).__name__}: {root}", None
        if isinstance(exc, openai.APITimeoutError):
            return "timeout", f"no answer within {self.timeout_s:.0f} s", None
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc
            return "connection_error", f"{type(cause).__name__}: {cause}", None
        return "bad_response", f"response is not JSON: {getattr(exc, 'msg', exc)}", None

    def _failed(self, t0: float, kind: str, message: str, status: int | None) -> Completion:
        wall = (time.perf_counter() - t0) * 1e3
        exited = self.server is not None and not self.server.alive()
        if exited:  # what the server did says more than the refused connection that followed it
            message = f"llama-server {self.server.how_it_ended()} (log: {self.server.log_path})"
        return Completion(None, wall, wall, TurnError(kind, message, status, server_exited=exited))

    # -- introspection --------------------------------------------------------
    # These never raise: a server that died or lacks a route answers None, and the
    # caller decides what a missing fact means.
    def _call(self, route: str, method: str = "GET", body: Any = None, timeout: float = 10.0) -> Any:
        try:
            status, out = http_json(self.url + route, method, body, timeout=timeout)
        except (OSError, ValueError):
            return None
        return out if status == 200 else None

    def get(self, route: str, timeout: float = 10.0) -> Any:
        return self._call(route, timeout=timeout)

    def slots(self) -> list[dict[str, Any]] | None:
        body = self.get("/slots")
        return body if isinstance(body, list) else None

    def speculative(self) -> bool | None:
        slots = self.slots()
        if not slots:
            return None
        return any(bool(s.get("speculative")) for s in slots)

    def metrics(self) -> str | None:
        try:
            return http_text(self.url + "/metrics")
        except (OSError, ValueError):  # /metrics is optional (needs --metrics); absence is not an error
            return None

    def tokenize(self, text: str, add_special: bool = False) -> list[int] | None:
        body = self._call("/tokenize", "POST", {"content": text, "add_special": add_special, "parse_special": True}, 60)
        return body.get("tokens") if isinstance(body, dict) else None

    def detokenize(self, tokens: list[int]) -> str | None:
        body = self._call("/detokenize", "POST", {"tokens": tokens}, 30)
        return body.get("content") if isinstance(body, dict) else None

    def count_chat_tokens(self, body: dict[str, Any]) -> int | None:
        """Exact prompt tokens of a chat request, through the server's own template and tokenizer."""
        out = self._call("/apply-template", "POST", body, 60)
        if not isinstance(out, dict) or "prompt" not in out:
            return None
        tokens = self.tokenize(out["prompt"], add_special=True)
        return len(tokens) if tokens is not None else None

    def reset_cache(self) -> bool:
        """Forget the slot's prompt cache so every repetition starts like the real session did."""
        return self.reset_slot(0)

    def reset_slot(self, slot: int) -> bool:
        return self._call(f"/slots/{slot}?action=erase", "POST", {}, 30) is not None


# APITimeoutError is an APIConnectionError: _classify checks it first
_FAILURES = (openai.APIStatusError, openai.APIConnectionError, json.JSONDecodeError)


def _connection_cause(exc: BaseException) -> ConnectionError | None:
    """The refused or reset connection behind an SDK error, however the transport wrapped it."""
    seen: BaseException | None = exc
    for _ in range(10):  # cause chains are short; a bound keeps a cycle harmless
        if seen is None:
            return None
        if isinstance(seen, ConnectionError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _root(exc: BaseException) -> BaseException:
    for _ in range(10):
        nxt = exc.__cause__ or exc.__context__
        if nxt is None:
            break
        exc = nxt
    return exc


def _split(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The SDK's own parameters, and llama.cpp's extra fields (sent as they are)."""
    standard = {k: body[k] for k in ("model", "messages", "tools") if k in body}
    return standard, {k: v for k, v in body.items() if k not in standard}


def _error_message(exc: openai.APIStatusError) -> str:
    try:
        body = exc.response.json()
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            return str(body["error"].get("message", body["error"]))
    except Exception:  # a garbage error body: fall back to the SDK's text
        pass
    return str(exc)
