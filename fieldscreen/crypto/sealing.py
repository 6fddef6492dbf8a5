"""HPKE (RFC 9180) sealing to the organisation's public key.

Suite: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM, base mode, single shot, through
``cryptography.hazmat.primitives.hpke``. That single-shot API takes ``info`` but no associated
data, so -- as RFC 9180 section 8.1 advises for single-shot use -- both are bound through the
``info`` string of the key schedule, length-prefixed so that no two (info, aad) pairs collide::

    info' = b"FieldScreen-HPKE-v1" || u32(len(info)) || info || u32(len(aad)) || aad

A sealed blob is ``0x01 || enc (32 bytes) || ciphertext || tag``; the leading byte names this
construction so that a later suite can be told apart.

Length hides nothing by itself: a sealed screening with twelve concerns flagged is longer than
one with none. :func:`pad_to_bucket` pads JSON plaintext with ASCII spaces (JSON whitespace, so
every reader reads a padded payload as it read an unpadded one) to the next power of two from a
floor, so what a length tells is one of a few buckets.
"""

from __future__ import annotations

import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from fieldscreen.crypto.errors import CryptoError, DecryptError

__all__ = [
    "SEALED_FORMAT",
    "SEAL_OVERHEAD",
    "generate_sealing_keypair",
    "open_sealed",
    "pad_to_bucket",
    "record_sealing_info",
    "seal",
    "sealing_public_from_private",
    "unpad",
]

SEALED_FORMAT = 1
_LABEL = b"FieldScreen-HPKE-v1"
_SUITE = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM)
_ENC_BYTES = 32
_TAG_BYTES = 16
#: Bytes a sealed blob adds to its plaintext: the format byte, ``enc`` and the tag.
SEAL_OVERHEAD = 1 + _ENC_BYTES + _TAG_BYTES


def pad_to_bucket(data: bytes, *, floor: int, ceiling: int) -> bytes:
    """``data`` followed by ASCII spaces up to the smallest power of two times ``floor`` that
    holds it; a length past ``ceiling`` (the largest a carrier accepts) pads to ``ceiling``
    instead, and data longer than ``ceiling`` is left as it is (the carrier refuses it).

    Only for JSON (or any format to which trailing spaces are whitespace): :func:`unpad` takes
    them off again."""
    size = floor
    while size < len(data):
        size *= 2
    if size > ceiling:
        size = max(ceiling, len(data))
    return data + b" " * (size - len(data))


def unpad(data: bytes) -> bytes:
    """The JSON that :func:`pad_to_bucket` padded (or an unpadded payload, unchanged)."""
    return data.rstrip(b" ")


def _bound_info(info: bytes, aad: bytes) -> bytes:
    return _LABEL + struct.pack(">I", len(info)) + info + struct.pack(">I", len(aad)) + aad


def generate_sealing_keypair() -> tuple[bytes, bytes]:
    """A fresh X25519 key pair as raw bytes: ``(private, public)``."""
    private = x25519.X25519PrivateKey.generate()
    raw_private = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return raw_private, private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def sealing_public_from_private(private_key: bytes) -> bytes:
    """The public half of an X25519 private key."""
    try:
        private = x25519.X25519PrivateKey.from_private_bytes(bytes(private_key))
    except ValueError:
        raise CryptoError("crypto-bad-key") from None
    return private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def seal(public_key: bytes, plaintext: bytes, *, info: bytes, aad: bytes) -> bytes:
    """Encrypt ``plaintext`` so that only the holder of the private key can read it."""
    try:
        recipient = x25519.X25519PublicKey.from_public_bytes(bytes(public_key))
    except ValueError:
        raise CryptoError("crypto-bad-key") from None
    body = _SUITE.encrypt(plaintext, recipient, info=_bound_info(info, aad))
    return bytes([SEALED_FORMAT]) + body


def open_sealed(private_key: bytes, sealed: bytes, *, info: bytes, aad: bytes) -> bytes:
    """Decrypt a :func:`seal` blob; any failure (key, tamper, info, aad) is one DecryptError."""
    try:
        recipient = x25519.X25519PrivateKey.from_private_bytes(bytes(private_key))
    except ValueError:
        raise CryptoError("crypto-bad-key") from None
    if len(sealed) < 1 + _ENC_BYTES + _TAG_BYTES or sealed[0] != SEALED_FORMAT:
        raise DecryptError
    try:
        return _SUITE.decrypt(bytes(sealed[1:]), recipient, info=_bound_info(info, aad))
    except (InvalidTag, ValueError):
        raise DecryptError from None


def record_sealing_info(record_id: str, form_id: str, form_version: str, device_id: str) -> bytes:
    """The HPKE ``info`` of a finalised record: binds record id, form id+version and device id.

    The device seals with it and the central team's export opens with it, so a sealed payload
    moved to another envelope (another record, form or device) does not open.
    """
    parts = ("fieldscreen/record/v1", record_id, form_id, form_version, device_id)
    return b"".join(struct.pack(">I", len(p.encode())) + p.encode() for p in parts)
