"""Device requests signed with the device's key: the credential is bound to that key.

A device's bearer token alone opens nothing. Every request a device makes carries three
headers, and the server refuses the request unless the device key it enrolled signed them:

* ``FS-Timestamp``: the device's clock, in whole seconds since the epoch (corrected by the
  offset the server reported, see below);
* ``FS-Nonce``: 16 random bytes in hex, never reused;
* ``FS-Signature``: Ed25519, base64, over :func:`request_message`: a domain-separation prefix,
  the method, the path from ``/api/`` on with its query string, the timestamp, the nonce, the
  device id and the SHA-256 of the exact body bytes.

The body hash makes one signature per request cover every envelope in a batch: the server
checks one signature per batch instead of one per envelope, and an envelope in a request the
device key signed is exactly as authentic as one whose own signature is checked (the same key
vouches for the same bytes). Each envelope still carries its own signature, which the central
team's export checks end to end and which the server checks on the relay path (bundles carried
by somebody else).

Replays: the server refuses a timestamp more than :data:`WINDOW_SECONDS` away from its clock
and a nonce it already saw from the device within that window. A device whose clock is off gets
``401 request-stale`` with the server's time in ``FS-Server-Time``; the client corrects its
offset once and retries, so a laptop with a wrong clock still syncs.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from fieldscreen import crypto

__all__ = [
    "HEADER_NONCE",
    "HEADER_SERVER_TIME",
    "HEADER_SIGNATURE",
    "HEADER_TIMESTAMP",
    "REQUEST_PREFIX",
    "WINDOW_SECONDS",
    "DeviceSigner",
    "api_path",
    "request_message",
]

REQUEST_PREFIX: Final = b"fieldscreen request v1\n"
HEADER_TIMESTAMP: Final = "fs-timestamp"
HEADER_NONCE: Final = "fs-nonce"
HEADER_SIGNATURE: Final = "fs-signature"
HEADER_SERVER_TIME: Final = "fs-server-time"
#: How far a request's timestamp may be from the server's clock, either way.
WINDOW_SECONDS: Final = 300


def api_path(raw_path: bytes) -> bytes:
    """The signed part of a request target: from ``/api/`` on (a reverse proxy may mount the
    server under a prefix), query string included."""
    index = raw_path.find(b"/api/")
    return raw_path if index < 0 else raw_path[index:]


def request_message(  # noqa: PLR0917 -- the signed fields, in the order they are signed
    method: str,
    path: bytes,
    timestamp: int,
    nonce: str,
    device_id: str,
    body_sha256: str,
) -> bytes:
    """The exact bytes a device signs for one request."""
    return REQUEST_PREFIX + b"\n".join(
        (
            method.upper().encode("ascii"),
            path,
            str(timestamp).encode("ascii"),
            nonce.encode("ascii"),
            device_id.encode("ascii"),
            body_sha256.encode("ascii"),
        )
    )


@dataclass(frozen=True)
class DeviceSigner:
    """Signs this device's requests: its id and a signer (the vault's key never leaves it)."""

    device_id: str
    sign: Callable[[bytes], bytes]

    @classmethod
    def from_private_key(cls, device_id: str, private_key: bytes) -> DeviceSigner:
        return cls(device_id, lambda message: crypto.sign(private_key, message))

    @classmethod
    def for_stores(cls, stores: Any, device_id: str) -> DeviceSigner:
        """The signer of a device's stores: the vault's own signer where the key never leaves
        it (``enrolment_signer``), else the reference store's key pair."""
        signer = getattr(stores, "enrolment_signer", None)
        if signer is not None:
            _public, sign, _device_id = signer()
            return cls(device_id, sign)
        private, _public = stores.signing_key_pair()
        return cls.from_private_key(device_id, private)

    def headers(self, method: str, raw_path: bytes, body: bytes, now: float) -> dict[str, str]:
        """The three headers for one request sent at ``now`` (server-corrected seconds)."""
        timestamp = int(now)
        nonce = secrets.token_hex(16)
        message = request_message(
            method,
            api_path(raw_path),
            timestamp,
            nonce,
            self.device_id,
            hashlib.sha256(body).hexdigest(),
        )
        return {
            HEADER_TIMESTAMP: str(timestamp),
            HEADER_NONCE: nonce,
            HEADER_SIGNATURE: base64.b64encode(self.sign(message)).decode("ascii"),
        }
