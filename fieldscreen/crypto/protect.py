"""Passphrase protection of the organisation's private keys (kept by the central team).

The result is a JSON-serialisable dict: format name, Argon2id parameters and the AES-256-GCM
blob (base64). The associated data binds the format name and the parameters, so a blob whose
parameters were edited does not open.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from fieldscreen.crypto.errors import CryptoError, DecryptError
from fieldscreen.crypto.kdf import KdfParams, derive_key
from fieldscreen.crypto.symmetric import decrypt, encrypt

__all__ = ["PROTECTED_KEY_FORMAT", "protect_private_key", "unprotect_private_key"]

PROTECTED_KEY_FORMAT = "fieldscreen-protected-key/1"


def _aad(kdf: dict[str, Any]) -> bytes:
    return json.dumps([PROTECTED_KEY_FORMAT, kdf], sort_keys=True).encode("utf-8")


def protect_private_key(
    private: bytes, passphrase: bytes, *, params: KdfParams | None = None
) -> dict[str, Any]:
    """Encrypt ``private`` under a key derived from ``passphrase`` (default Argon2id cost)."""
    params = params or KdfParams.default()
    kdf = params.to_dict()
    blob = encrypt(derive_key(passphrase, params), private, _aad(kdf))
    return {
        "format": PROTECTED_KEY_FORMAT,
        "kdf": kdf,
        "ciphertext": base64.b64encode(blob).decode("ascii"),
    }


def unprotect_private_key(blob: dict[str, Any], passphrase: bytes) -> bytes:
    """Reverse :func:`protect_private_key`; a wrong passphrase or tamper is one DecryptError."""
    try:
        if blob["format"] != PROTECTED_KEY_FORMAT:
            raise ValueError("format")
        kdf = dict(blob["kdf"])
        ciphertext = base64.b64decode(blob["ciphertext"], validate=True)
    except (KeyError, TypeError, ValueError):
        raise CryptoError("crypto-protected-key-invalid") from None
    params = KdfParams.from_dict(kdf)
    try:
        return decrypt(derive_key(passphrase, params), ciphertext, _aad(params.to_dict()))
    except DecryptError:
        raise DecryptError from None
