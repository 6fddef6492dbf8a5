"""The limits of one server process (:class:`ServerConfig`): request size limits (413) and rate
limits (429 with ``Retry-After``)."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

__all__ = ["BodyLimit", "RateLimiter", "ServerConfig"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True)
class ServerConfig:
    """Limits of one server process."""

    max_body_bytes: int = 8 * 1024 * 1024
    max_batch: int = 500
    rate: float = 50.0
    burst: int = 200
    anonymous_rate: float = 2.0
    anonymous_burst: int = 30
    #: Submits one process stores at once (about a second of work under P8's load), and how
    #: many of them one device may hold: beyond either, 503 with ``Retry-After`` at once, so
    #: an admitted submit waits for a bounded amount of work and no device crowds out others.
    max_in_flight: int = 6
    max_in_flight_per_device: int = 2
    #: Answer a device's submit with a ``Server-Timing`` header of where its time went
    #: (:mod:`fieldscreen.sync.server.timing`; ``FIELDSCREEN_SERVER_TIMING=1`` turns it on).
    server_timing: bool = False


class BodyLimit:
    """ASGI middleware: refuse bodies over ``limit`` bytes with 413, whether or not the client
    declared a ``Content-Length`` (a chunked body is counted as it arrives)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = self.limit + 1
                if declared > self.limit:
                    await _problem(send, 413, "request-too-large")
                    return
        seen = 0
        exceeded = False
        replaced = False

        async def counting_receive() -> Message:
            nonlocal seen, exceeded
            if exceeded:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    exceeded = True  # the app sees a client that went away
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal replaced
            if exceeded:  # whatever the app answers, the answer is 413
                if not replaced:
                    replaced = True
                    await _problem(send, 413, "request-too-large")
                return
            await send(message)

        await self.app(scope, counting_receive, guarded_send)
        if exceeded and not replaced:
            await _problem(send, 413, "request-too-large")


async def _problem(send: Send, status: int, code: str) -> None:
    body = json.dumps({"code": code, "status": status}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RateLimiter:
    """Token buckets keyed by caller: ``rate`` requests per second, bursts up to ``burst``."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> float:
        """0 if allowed now; otherwise the seconds to wait (for ``Retry-After``)."""
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                if len(self._buckets) > 100_000:  # bounded memory under a flood of keys
                    self._buckets.clear()
                return 0.0
            self._buckets[key] = (tokens, now)
            return max(1.0, math.ceil((1.0 - tokens) / self.rate))
