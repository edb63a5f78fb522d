"""The chat seam's error classes, on a loopback port where nothing listens: a refused
connection is a connection error on both the blocking and the asyncio client (the SDK's
aiohttp transport reports it as a connect timeout)."""

from __future__ import annotations

import asyncio
import socket

from replayer.runner.endpoint import Endpoint


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # released on close: nothing listens there now


def test_a_refused_connection_is_a_connection_error_not_a_timeout():
    ep = Endpoint("x", f"http://127.0.0.1:{closed_port()}", None, 60.0)
    sync = ep.complete({"model": "m", "messages": []})

    async def both() -> tuple:
        try:
            return await ep.complete_async({"model": "m", "messages": []})
        finally:
            await ep.close_async()

    concurrent = asyncio.run(both())
    for completion in (sync, concurrent):
        assert completion.body is None and completion.error is not None
        assert completion.error.type == "connection_error", completion.error
        assert "refused" in completion.error.message.lower() or "connect" in completion.error.message.lower()
        assert completion.wall_ms < 30_000
