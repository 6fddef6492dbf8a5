"""The HTTP client of the sync protocol: one method per route, retries apart from final errors.

The transport is injectable (``httpx.MockTransport`` in unit tests, a fault-injecting transport
in the reliability tests). Plain ``http://`` is refused except to a loopback address unless the
provisioning file allows it. Retryable failures (network errors, 429, 5xx) are retried with
exponential backoff and full jitter, honouring ``Retry-After``; final ones raise at once.
"""

from __future__ import annotations

import gc
import ipaddress
import random
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from fieldscreen import PROTOCOL_VERSION, __version__, crypto
from fieldscreen.sync.canonical import b64e
from fieldscreen.sync.errors import BatchTooLarge, DeviceRevoked, SyncError, TransientError
from fieldscreen.sync.request_auth import HEADER_SERVER_TIME, DeviceSigner

__all__ = ["RetryPolicy", "SyncClient", "check_url"]

ENROL_PREFIX = b"fieldscreen enrol v1\n"
#: The health probe: how long to wait for a connection, and for the whole answer. A server
#: that accepts and never answers is given up on after this, not after the transfer timeout.
PROBE_CONNECT_TIMEOUT = 1.5
PROBE_TIMEOUT = 2.5
RETRYABLE = frozenset({429, 500, 502, 503, 504})
#: The most acknowledgements one answer of ``GET /handover/acks`` may hold (the server sends
#: at most this many after the cursor), and the most bytes such an answer is read to: a
#: server answering with more is a protocol error, refused before the rest is read.
MAX_ACKS_PER_ANSWER = 500
MAX_ACKS_ANSWER_BYTES = 4 * 1024 * 1024


@dataclass
class RetryPolicy:
    """Exponential backoff with full jitter: wait ``uniform(0, min(cap, base * 2**n))``."""

    attempts: int = 6
    base: float = 0.5
    cap: float = 30.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        jitter = self.rng.uniform(0, min(self.cap, self.base * 2**attempt))
        return max(jitter, min(retry_after or 0.0, self.cap * 4))


def check_url(url: str, *, allow_insecure: bool = False) -> str:
    """The base URL without a trailing slash; refuse plain http except to loopback."""
    parts = urlsplit(url)
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise SyncError("sync-insecure-url", url=url)
    if parts.scheme == "http" and not allow_insecure and not _loopback(parts.hostname):
        raise SyncError("sync-insecure-url", url=url)
    return url.rstrip("/")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SyncClient:
    """Talks to one server. ``retries`` counts every retried attempt (for the reports).

    A device passes ``signer`` (its id and its key's signer): every request is then signed
    (``docs/protocol.md``, "Signed requests"), which the server requires of devices. A request
    refused as stale corrects the clock offset by the server's time and is sent again once.
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        transport: httpx.BaseTransport | None = None,
        allow_insecure: bool = False,
        timeout: float = 30.0,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        signer: DeviceSigner | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = check_url(base_url, allow_insecure=allow_insecure)
        self.token = token
        self.signer = signer
        self.clock_offset = 0.0
        self._clock = clock
        self.policy = policy or RetryPolicy()
        self.retries = 0
        #: The ``Date`` header of the last answer (the server's clock), if it sent one.
        self.last_date: str | None = None
        #: What the health route said at the last successful :meth:`probe`.
        self.last_health: dict[str, Any] = {}
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=f"{self.base_url}/api/v{PROTOCOL_VERSION}",
            transport=transport,
            verify=_tls_context(),
            timeout=timeout,
            headers={"user-agent": f"fieldscreen/{__version__}"},
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ plumbing
    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        params: dict[str, Any] | None = None,
        retry: bool = True,
        timeout: httpx.Timeout | None = None,
        limit: int | None = None,
    ) -> Any:
        """The answer's JSON; with ``limit``, an answer of more bytes is refused
        (``sync-protocol``) as soon as it passes that many, the rest never read."""
        attempt = 0
        while True:
            try:
                return self._once(
                    method,
                    path,
                    json=json,
                    content=content,
                    params=params,
                    timeout=timeout,
                    limit=limit,
                )
            except TransientError as error:
                if not retry or attempt + 1 >= self.policy.attempts:
                    raise
                self._sleep(self.policy.delay(attempt, error.retry_after))
                attempt += 1
                self.retries += 1

    def _once(
        self,
        method: str,
        path: str,
        *,
        json: Any,
        content: bytes | None,
        params: dict[str, Any] | None,
        timeout: httpx.Timeout | None = None,
        limit: int | None = None,
    ) -> Any:
        headers = {"authorization": f"Bearer {self.token}"} if self.token else {}
        if content is not None:
            headers["content-type"] = "application/json"
        extra: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        request = self._http.build_request(
            method, path, json=json, content=content, params=params, headers=headers, **extra
        )
        response = self._send(request, limit)
        if (
            response.status_code == 401
            and self.signer is not None
            and HEADER_SERVER_TIME in response.headers
        ):  # our clock is off: take the server's word for the time, and try once more
            try:
                self.clock_offset = float(response.headers[HEADER_SERVER_TIME]) - self._clock()
            except ValueError:
                pass
            else:
                response = self._send(request, limit)
        status = response.status_code
        self.last_date = response.headers.get("date")
        if status in RETRYABLE:
            raise TransientError(
                "sync-busy",
                seconds=response.headers.get("retry-after", "?"),
                retry_after=_retry_after(response),
            )
        try:
            # orjson: a batch's answer lists every envelope, and the standard library took a
            # tenth of the client's time per envelope parsing it. Stricter too (UTF-8 only, no
            # NaN, bounded nesting): anything else is a protocol error, never a crash.
            body = orjson.loads(response.content)
        except ValueError:
            raise TransientError("sync-protocol", detail=f"HTTP {status}") from None
        if status == 200:
            return body
        code = body.get("code", "") if isinstance(body, dict) else ""
        if status == 403 and isinstance(body, dict) and body.get("device_status"):
            raise DeviceRevoked(str(body["device_status"]))
        if status == 401:
            raise SyncError("sync-not-enrolled")
        if status == 403 and code == "sync-enrol-code":
            raise SyncError("sync-enrol-code")
        if status == 413:
            raise BatchTooLarge
        raise SyncError("sync-refused", status=status, reason=str(code)[:40] or "refused")

    def _send(self, request: httpx.Request, limit: int | None = None) -> httpx.Response:
        if self.signer is not None and self.token:
            request.headers.update(
                self.signer.headers(
                    request.method,
                    request.url.raw_path,
                    request.content,
                    self._clock() + self.clock_offset,
                )
            )
        try:
            if limit is None:
                return self._http.send(request)
            return _bounded(self._http.send(request, stream=True), limit)
        except httpx.TransportError:
            raise TransientError("sync-unreachable", url=self.base_url) from None

    # ------------------------------------------------------------------ routes
    def health(self) -> dict[str, Any]:
        return dict(self.request("GET", "/health"))

    def probe(self) -> bool:
        """Whether the server answers its health route now: one attempt, short timeouts
        (:data:`PROBE_CONNECT_TIMEOUT` to connect, :data:`PROBE_TIMEOUT` in all), no retry."""
        timeout = httpx.Timeout(PROBE_TIMEOUT, connect=PROBE_CONNECT_TIMEOUT)
        try:
            answer = self.request("GET", "/health", retry=False, timeout=timeout)
        except SyncError:
            return False
        self.last_health = dict(answer) if isinstance(answer, dict) else {}
        return True

    def enroll(
        self,
        code: str,
        public_key: bytes,
        private_key: bytes | Callable[[bytes], bytes],
        label: str = "",
        device_id: str | None = None,
    ) -> dict[str, Any]:
        """Enrol with a one-time code; ``private_key`` may be a signer (the vault's key)."""
        normal = "".join(ch for ch in code.upper() if ch.isalnum())
        message = ENROL_PREFIX + normal.encode() + public_key
        proof = private_key(message) if callable(private_key) else crypto.sign(private_key, message)
        body = {
            "code": code,
            "public_key": b64e(public_key),
            "proof": b64e(proof),
            "label": label[:128],
        }
        if device_id:
            body["device_id"] = device_id
        return dict(self.request("POST", "/enroll", json=body, retry=False))

    def device_status(self, seq: int | None = None) -> dict[str, Any]:
        params = {"seq": seq} if seq is not None else None
        return dict(self.request("GET", "/device/status", params=params))

    def missing(self, pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
        items = [{"record_id": r, "sha256": s} for r, s in pairs]
        return dict(self.request("POST", "/envelopes/missing", json={"items": items}))

    def submit(self, envelopes: Sequence[bytes], *, path: str = "/envelopes") -> dict[str, Any]:
        """Post envelopes as they are queued (their bytes are spliced, never re-encoded)."""
        body = b'{"envelopes":[' + b",".join(envelopes) + b"]}"
        try:
            return dict(self.request("POST", path, content=body))
        finally:
            # httpx's request, response and streams hold each other in reference cycles, and
            # with them this 1-2 MB body: collected only by the cycle collector, they pile up
            # with the backlog (P7). The young generations hold just this post's: free it now.
            del body
            gc.collect(1)

    def relay(self, envelopes: Sequence[bytes]) -> dict[str, Any]:
        return self.submit(envelopes, path="/admin/bundles")

    def relay_handover(self, packet: bytes) -> str:
        """Relay a handover packet from another laptop's USB bundle with a staff credential
        (``POST /admin/handover/packets``): ``stored`` or ``duplicate``."""
        answer = self.request("POST", "/admin/handover/packets", content=packet)
        return str(answer.get("outcome", "")) if isinstance(answer, dict) else ""

    def receipt(self) -> dict[str, Any]:
        return dict(self.request("GET", "/receipt"))

    def staff_receipt(self, device_id: str) -> dict[str, Any]:
        return dict(self.request("GET", f"/admin/receipts/{device_id}"))

    def updates(self) -> list[dict[str, str]]:
        return list(self.request("GET", "/updates")["documents"])

    def update(self, kind: str, name: str, version: str) -> dict[str, Any]:
        return dict(self.request("GET", f"/updates/{kind}/{name}/{version}"))

    def matches(self) -> dict[str, Any]:
        """Earlier screenings of this device's consenting children (``GET /device/matches``)."""
        return dict(self.request("GET", "/device/matches"))

    def post_handover(self, partner: str, packet_id: str, packet: bytes) -> str:
        """Post a handover packet sealed to ``partner`` (its bytes as they are); ``stored`` or
        ``duplicate`` (``POST /handover/packets/{partner}/{packet_id}``)."""
        answer = self.request("POST", f"/handover/packets/{partner}/{packet_id}", content=packet)
        return str(answer.get("outcome", ""))

    def staff_handover_acks(self, device_id: str, after: str = "") -> list[dict[str, str]]:
        """A laptop's acknowledgements for a coordinator's relay
        (``GET /admin/handover/acks/{device_id}``), bounded as :meth:`handover_acks`."""
        return self.handover_acks(after, path=f"/admin/handover/acks/{device_id}")

    def handover_acks(
        self, after: str = "", *, path: str = "/handover/acks"
    ) -> list[dict[str, str]]:
        """The partners' acknowledgements of this device's packets after the cursor ``after``
        (``GET /handover/acks``): at most :data:`MAX_ACKS_PER_ANSWER`, the answer read to at
        most :data:`MAX_ACKS_ANSWER_BYTES`."""
        answer = self.request(
            "GET",
            path,
            params={"after": after} if after else None,
            limit=MAX_ACKS_ANSWER_BYTES,
        )
        acks = answer.get("acks") if isinstance(answer, dict) else None
        if not isinstance(acks, list):  # a hostile or broken server: no acknowledgement
            raise SyncError("sync-protocol", detail="not a list of acknowledgements")
        if len(acks) > MAX_ACKS_PER_ANSWER:
            raise SyncError("sync-protocol", detail="more acknowledgements than one answer holds")
        return acks

    def staff_matches(self) -> dict[str, Any]:
        """Possible matches between screenings (``GET /admin/matches``; a coordinator's or an
        admin's token)."""
        return dict(self.request("GET", "/admin/matches"))

    def report(self, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """The coordinator report (``GET /admin/report``; a coordinator's or admin's token)."""
        return dict(self.request("GET", "/admin/report", params=params or None))


def _bounded(response: httpx.Response, limit: int) -> httpx.Response:
    """``response`` (streamed) read whole when it is at most ``limit`` bytes; else closed
    unread past the limit, and a protocol error."""
    try:
        data = bytearray()
        for chunk in response.iter_bytes():  # decoded: a compressed bomb stops here too
            data += chunk
            if len(data) > limit:
                raise SyncError("sync-protocol", detail=f"an answer over {limit} bytes")
    finally:
        response.close()
    headers = {
        k: v
        for k, v in response.headers.items()
        if k.lower() not in {"content-encoding", "content-length", "transfer-encoding"}
    }
    return httpx.Response(
        response.status_code, headers=headers, content=bytes(data), request=response.request
    )


_TLS: ssl.SSLContext | None = None
_TLS_LOCK = threading.Lock()


def _tls_context() -> ssl.SSLContext:
    """httpx's default verifying context, built once per process (loading the certificate
    store takes some 40 ms, which every sync run paid)."""
    global _TLS  # noqa: PLW0603 -- one immutable-after-build context per process
    with _TLS_LOCK:
        if _TLS is None:
            _TLS = httpx.create_ssl_context()
        return _TLS


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
