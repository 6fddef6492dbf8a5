"""Randomness, AES-256-GCM with associated data, and RFC 3394 key wrapping."""

from __future__ import annotations

import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from fieldscreen.crypto.errors import CryptoError, DecryptError

__all__ = [
    "KEY_BYTES",
    "NONCE_BYTES",
    "TAG_BYTES",
    "AeadKey",
    "decrypt",
    "derive_subkey",
    "encrypt",
    "hmac_sha256",
    "random_bytes",
    "unwrap_key",
    "wrap_key",
]

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16


def random_bytes(n: int) -> bytes:
    """``n`` bytes from the operating system's CSPRNG."""
    return os.urandom(n)


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes | bytearray) or len(key) != KEY_BYTES:
        raise CryptoError("crypto-bad-key")


def encrypt(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """AES-256-GCM with a fresh 96-bit random nonce; returns ``nonce || ciphertext || tag``."""
    _check_key(key)
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(bytes(key)).encrypt(nonce, plaintext, aad)


def decrypt(key: bytes, blob: bytes, aad: bytes) -> bytes:
    """Reverse :func:`encrypt`; any failure (key, tamper, ``aad``, length) is one DecryptError."""
    _check_key(key)
    if not isinstance(blob, bytes | bytearray) or len(blob) < NONCE_BYTES + TAG_BYTES:
        raise DecryptError
    try:
        return AESGCM(bytes(key)).decrypt(bytes(blob[:NONCE_BYTES]), bytes(blob[NONCE_BYTES:]), aad)
    except InvalidTag:
        raise DecryptError from None


class AeadKey:
    """One AES-256-GCM key set up once, for sealing or opening many ciphertexts in a row.

    The same format as :func:`encrypt` / :func:`decrypt` (a fresh random nonce per call); it
    saves the per-call key setup when a listing opens thousands of rows under one key, or a
    save encrypts several small values under the vault's subkeys.
    """

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        _check_key(key)
        self._aead = AESGCM(bytes(key))

    def encrypt(self, plaintext: bytes, aad: bytes) -> bytes:
        """Like :func:`encrypt` under this key (a fresh random nonce)."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, aad)

    def decrypt(self, blob: bytes, aad: bytes) -> bytes:
        """Like :func:`decrypt` under this key."""
        if not isinstance(blob, bytes | bytearray) or len(blob) < NONCE_BYTES + TAG_BYTES:
            raise DecryptError
        try:
            return self._aead.decrypt(bytes(blob[:NONCE_BYTES]), bytes(blob[NONCE_BYTES:]), aad)
        except InvalidTag:
            raise DecryptError from None


def wrap_key(kek: bytes, key: bytes) -> bytes:
    """RFC 3394 AES key wrap of ``key`` (16-byte multiple) under a 256-bit ``kek``."""
    _check_key(kek)
    return aes_key_wrap(bytes(kek), bytes(key))


def unwrap_key(kek: bytes, wrapped: bytes) -> bytes:
    """Reverse :func:`wrap_key`; a wrong ``kek`` or any change is one DecryptError."""
    _check_key(kek)
    try:
        return aes_key_unwrap(bytes(kek), bytes(wrapped))
    except (InvalidUnwrap, ValueError):
        raise DecryptError from None


def derive_subkey(master: bytes, label: str, length: int = KEY_BYTES) -> bytes:
    """A key for one purpose, derived from ``master`` with HKDF-SHA256 (RFC 5869)."""
    _check_key(master)
    return HKDF(algorithm=SHA256(), length=length, salt=None, info=label.encode("utf-8")).derive(
        bytes(master)
    )


def hmac_sha256(key: bytes, data: bytes) -> bytes:
    """HMAC-SHA256 (RFC 2104) of ``data`` (the standard library's one-shot HMAC over OpenSSL:
    the same bytes as ``cryptography``'s HMAC, without setting up an object per call)."""
    return hmac.digest(bytes(key), bytes(data), "sha256")
