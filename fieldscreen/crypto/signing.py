"""Ed25519 signatures (RFC 8032) and short key fingerprints."""

from __future__ import annotations

import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from fieldscreen.crypto.errors import CryptoError

__all__ = ["generate_signing_keypair", "key_id", "public_from_private", "sign", "verify"]


def generate_signing_keypair() -> tuple[bytes, bytes]:
    """A fresh Ed25519 key pair as raw bytes: ``(private seed, public)``."""
    private = Ed25519PrivateKey.generate()
    seed = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return seed, private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def public_from_private(private_key: bytes) -> bytes:
    """The public half of an Ed25519 private seed."""
    return _private(private_key).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def _private(private_key: bytes) -> Ed25519PrivateKey:
    try:
        return Ed25519PrivateKey.from_private_bytes(bytes(private_key))
    except ValueError:
        raise CryptoError("crypto-bad-key") from None


def sign(private_key: bytes, message: bytes) -> bytes:
    """A 64-byte Ed25519 signature of ``message``."""
    return _private(private_key).sign(message)


def verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is valid; never raises for a bad signature or malformed key."""
    try:
        Ed25519PublicKey.from_public_bytes(bytes(public_key)).verify(bytes(signature), message)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def key_id(public_key: bytes) -> str:
    """A short, stable fingerprint of a public key: 16 hex digits of its SHA-256."""
    return hashlib.sha256(bytes(public_key)).hexdigest()[:16]
