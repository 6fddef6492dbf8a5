"""The signed-request format: what exactly a device signs, and who signs it."""

from __future__ import annotations

import base64
import hashlib

import httpx

from fieldscreen import crypto
from fieldscreen.sync.client import SyncClient
from fieldscreen.sync.request_auth import (
    HEADER_NONCE,
    HEADER_SERVER_TIME,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    DeviceSigner,
    api_path,
    request_message,
)


def test_the_signed_path_starts_at_api_and_keeps_the_query() -> None:
    assert api_path(b"/api/v1/envelopes") == b"/api/v1/envelopes"
    assert api_path(b"/fieldscreen/api/v1/device/status?seq=3") == b"/api/v1/device/status?seq=3"
    assert api_path(b"/other") == b"/other"


def test_headers_verify_over_method_path_time_nonce_device_and_body() -> None:
    private, public = crypto.generate_signing_keypair()
    signer = DeviceSigner.from_private_key("dev-1", private)
    body = b'{"envelopes":[]}'
    headers = signer.headers("post", b"/x/api/v1/envelopes", body, 1_800_000_000.7)
    assert headers[HEADER_TIMESTAMP] == "1800000000"
    assert len(headers[HEADER_NONCE]) == 32
    message = request_message(
        "POST",
        b"/api/v1/envelopes",
        1_800_000_000,
        headers[HEADER_NONCE],
        "dev-1",
        hashlib.sha256(body).hexdigest(),
    )
    signature = base64.b64decode(headers[HEADER_SIGNATURE])
    assert crypto.verify(public, message, signature)
    for changed in (
        message.replace(b"POST", b"GET!"),
        message.replace(b"dev-1", b"dev-2"),
        message.replace(hashlib.sha256(body).hexdigest().encode(), b"0" * 64),
    ):
        assert not crypto.verify(public, changed, signature)
    assert (
        signer.headers("POST", b"/api/v1/envelopes", body, 0)[HEADER_NONCE] != headers[HEADER_NONCE]
    )


def test_the_vaults_signer_is_used_where_the_key_never_leaves_it() -> None:
    calls: list[bytes] = []

    class VaultLike:
        def enrolment_signer(self) -> tuple[bytes, object, str]:
            def sign(message: bytes) -> bytes:
                calls.append(message)
                return b"s" * 64

            return b"p" * 32, sign, "dev-9"

    signer = DeviceSigner.for_stores(VaultLike(), "dev-9")
    signer.headers("GET", b"/api/v1/receipt", b"", 1.0)
    assert len(calls) == 1
    assert calls[0].startswith(b"fieldscreen request v1\n")


def test_a_stale_answer_sets_the_clock_offset_and_the_request_goes_once_more() -> None:
    private, _public = crypto.generate_signing_keypair()
    seen: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(int(request.headers[HEADER_TIMESTAMP]))
        if len(seen) == 1:
            return httpx.Response(
                401, json={"code": "request-stale"}, headers={HEADER_SERVER_TIME: "5000"}
            )
        return httpx.Response(200, json={"status": "active"})

    client = SyncClient(
        "http://127.0.0.1:1",
        token="t",
        transport=httpx.MockTransport(handler),
        signer=DeviceSigner.from_private_key("dev-1", private),
        clock=lambda: 1000.0,
    )
    with client:
        assert client.device_status(1) == {"status": "active"}
    assert seen == [1000, 5000]
    assert client.clock_offset == 4000.0
