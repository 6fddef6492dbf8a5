"""The submit route's ``Server-Timing`` header (opt-in): where a submit's time went, by part,
and nothing of it when it is off."""

from __future__ import annotations

import random
from collections.abc import Callable

import httpx

from fieldscreen.sync.server import timing
from fieldscreen.sync.server.api import ServerConfig
from fieldscreen.sync.server.live import LiveServer
from fieldscreen.sync.server.storage import Storage
from fieldscreen.sync.simulate import SimDevice

NewDevice = Callable[..., SimDevice]


class _Headers(httpx.HTTPTransport):
    """The ``Server-Timing`` header of every submit's answer ('' when absent)."""

    def __init__(self, seen: list[str]) -> None:
        super().__init__()
        self.seen = seen

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.url.path.endswith("/envelopes"):
            self.seen.append(response.headers.get("server-timing", ""))
        return response


def _sync(device: SimDevice, url: str, count: int) -> list[str]:
    device.fill(count, random.Random(count), size=300)
    device.base_url = url
    seen: list[str] = []
    device.sync(max_count=20, pull=False, transport=_Headers(seen))
    return seen


def test_a_submit_says_where_its_time_went_when_asked(
    new_device: NewDevice, storage: Storage
) -> None:
    config = ServerConfig(rate=1000.0, burst=5000, server_timing=True)
    with LiveServer(storage, config) as live:
        seen = _sync(new_device(), live.url, 30)
    assert len(seen) == 2  # two submits (20 + 10)
    for value in seen:
        parts = timing.parse(value)
        for name in (
            "admit-thread-wait",
            "authenticate",
            "rate-read",
            "request-signature",
            "submit-thread-wait",
            "parse",
            "shape",
            "writer-wait",
            "verify-wait",
            "begin",
            "admit",
            "insert",
            "commit",
            "receipt",
            "total",
        ):
            assert name in parts, (name, value)
            assert parts[name] >= 0
        assert parts["n-batches"] == 1  # one device alone: a group of one batch
        inner = sum(v for k, v in parts.items() if k not in {"total", "n-batches"})
        assert inner <= parts["total"] * 1.01 + 0.05


def test_no_timing_is_given_by_default(new_device: NewDevice, storage: Storage) -> None:
    with LiveServer(storage, ServerConfig(rate=1000.0, burst=5000)) as live:
        seen = _sync(new_device(), live.url, 5)
    assert seen == [""]
