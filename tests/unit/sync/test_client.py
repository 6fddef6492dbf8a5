"""The HTTP client with an injected transport: what is retried, what is final, backoff."""

from __future__ import annotations

import random

import httpx
import pytest

from fieldscreen.sync.client import RetryPolicy, SyncClient
from fieldscreen.sync.errors import BatchTooLarge, DeviceRevoked, SyncError, TransientError


def client_with(handler, sleeps: list[float], attempts: int = 4) -> SyncClient:  # type: ignore[no-untyped-def]
    return SyncClient(
        "https://server.example.org",
        token="t",
        transport=httpx.MockTransport(handler),
        policy=RetryPolicy(attempts=attempts, base=0.5, cap=8, rng=random.Random(1)),
        sleep=sleeps.append,
    )


def test_retryable_failures_back_off_with_jitter_and_honour_retry_after() -> None:
    calls = iter([503, 500, 429, 200])
    sleeps: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        status = next(calls)
        headers = {"retry-after": "7"} if status == 429 else {}
        return httpx.Response(status, json={"status": "ok"}, headers=headers)

    with client_with(handler, sleeps) as client:
        assert client.health() == {"status": "ok"}
        assert client.retries == 3
    assert sleeps[0] <= 0.5
    assert sleeps[1] <= 1.0
    assert sleeps[2] >= 7  # Retry-After wins over a shorter jitter


def test_network_errors_are_retried_then_reported_calmly() -> None:
    sleeps: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("down", request=request)

    with client_with(handler, sleeps, attempts=3) as client, pytest.raises(TransientError) as e:
        client.health()
    assert len(sleeps) == 2
    assert "could not be reached" in str(e.value)
    assert "Traceback" not in str(e.value)


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (401, {"code": "unauthenticated"}, SyncError),
        (403, {"code": "sync-revoked", "device_status": "wipe"}, DeviceRevoked),
        (413, {"code": "request-too-large"}, BatchTooLarge),
        (409, {"code": "x"}, SyncError),
    ],
)
def test_final_errors_are_not_retried(status: int, body: dict[str, str], error: type) -> None:
    sleeps: list[float] = []
    with (
        client_with(lambda r: httpx.Response(status, json=body), sleeps) as client,
        pytest.raises(error) as caught,
    ):
        client.device_status(1)
    assert sleeps == []
    if isinstance(caught.value, DeviceRevoked):
        assert caught.value.status == "wipe"


def test_full_jitter_stays_within_the_cap() -> None:
    policy = RetryPolicy(attempts=20, base=0.5, cap=4, rng=random.Random(3))
    delays = [policy.delay(n, None) for n in range(20)]
    assert max(delays) <= 4
    assert len(set(delays)) == 20  # jittered, not lock-step


@pytest.mark.parametrize(
    "content",
    [
        b"[" * 100_000 + b"]" * 100_000,  # nesting past any recursion limit
        b'{"status": NaN}',
        b"\xff\xfe{}",
        b"<html>proxy error</html>",
        b"",
    ],
)
def test_a_hostile_or_broken_answer_is_a_protocol_error_not_a_crash(content: bytes) -> None:
    """Whatever a server (or a captive portal in front of it) sends back, sync reports a calm,
    retryable protocol error: never a crash of the worker on an exception nobody expects."""
    sleeps: list[float] = []
    with (
        client_with(lambda r: httpx.Response(200, content=content), sleeps, attempts=2) as client,
        pytest.raises(TransientError) as caught,
    ):
        client.health()
    assert caught.value.code == "sync-protocol"
    assert "Traceback" not in str(caught.value)
