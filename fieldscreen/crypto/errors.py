"""Errors of the crypto package (codes in :data:`fieldscreen.errors.CATALOGUE`).

Every failure to authenticate or decrypt -- a wrong key, a flipped bit, a truncated blob, a
ciphertext moved to another row -- raises the same :class:`DecryptError` with the same message,
so that nothing about *why* it failed leaks to whoever is probing.
"""

from __future__ import annotations

from typing import Any

from fieldscreen.errors import KnownError

__all__ = ["CryptoError", "DecryptError"]


class CryptoError(KnownError):
    """A cryptographic operation could not be carried out."""


class DecryptError(CryptoError):
    """Authentication or decryption failed (wrong key, or the data was changed)."""

    def __init__(self, code: str = "crypto-decrypt-failed", /, **context: Any) -> None:
        super().__init__(code, **context)
