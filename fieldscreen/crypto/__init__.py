"""All of FieldScreen's cryptography, and the only package that imports ``cryptography``.

Raw bytes in, raw bytes out: no type of the ``cryptography`` library leaks past this package.

* :func:`derive_key` -- Argon2id (RFC 9106) with :class:`KdfParams` stored beside each wrapped
  key; default 256 MiB / t=3 / p=4, floor 64 MiB / t=3, no fallback when Argon2id is missing.
* :func:`wrap_key` / :func:`unwrap_key` -- RFC 3394 AES key wrap.
* :func:`encrypt` / :func:`decrypt` -- AES-256-GCM, 96-bit random nonce, associated data.
* :func:`seal` / :func:`open_sealed` -- HPKE (RFC 9180) base mode, X25519 / HKDF-SHA256 /
  AES-256-GCM, with ``info`` and ``aad`` bound into the key schedule; :func:`pad_to_bucket` /
  :func:`unpad` -- JSON padded to power-of-two size buckets, so a length says little.
* :func:`derive_subkey` (HKDF-SHA256) and :func:`hmac_sha256` -- keys per purpose, MACs.
* :func:`sign` / :func:`verify` -- Ed25519 (RFC 8032); :func:`verify` returns False, never raises.
* :func:`protect_private_key` / :func:`unprotect_private_key` -- the organisation's private
  keys at rest, under a passphrase.

Errors: :class:`CryptoError` (``crypto-*`` codes) and its subclass :class:`DecryptError`, which
is raised with one and the same message for every kind of authentication failure.
"""

from __future__ import annotations

from fieldscreen.crypto.errors import CryptoError, DecryptError
from fieldscreen.crypto.kdf import (
    DEFAULT_ITERATIONS,
    DEFAULT_LANES,
    DEFAULT_MEMORY_KIB,
    FLOOR_ITERATIONS,
    FLOOR_MEMORY_KIB,
    KdfParams,
    argon2id_available,
    derive_key,
    permit_test_parameters,
    permitting_test_parameters,
)
from fieldscreen.crypto.protect import protect_private_key, unprotect_private_key
from fieldscreen.crypto.sealing import (
    SEAL_OVERHEAD,
    generate_sealing_keypair,
    open_sealed,
    pad_to_bucket,
    record_sealing_info,
    seal,
    sealing_public_from_private,
    unpad,
)
from fieldscreen.crypto.signing import (
    generate_signing_keypair,
    key_id,
    public_from_private,
    sign,
    verify,
)
from fieldscreen.crypto.symmetric import (
    KEY_BYTES,
    NONCE_BYTES,
    AeadKey,
    decrypt,
    derive_subkey,
    encrypt,
    hmac_sha256,
    random_bytes,
    unwrap_key,
    wrap_key,
)

__all__ = [
    "DEFAULT_ITERATIONS",
    "DEFAULT_LANES",
    "DEFAULT_MEMORY_KIB",
    "FLOOR_ITERATIONS",
    "FLOOR_MEMORY_KIB",
    "KEY_BYTES",
    "NONCE_BYTES",
    "SEAL_OVERHEAD",
    "AeadKey",
    "CryptoError",
    "DecryptError",
    "KdfParams",
    "argon2id_available",
    "decrypt",
    "derive_key",
    "derive_subkey",
    "encrypt",
    "generate_sealing_keypair",
    "generate_signing_keypair",
    "hmac_sha256",
    "key_id",
    "open_sealed",
    "pad_to_bucket",
    "permit_test_parameters",
    "permitting_test_parameters",
    "protect_private_key",
    "public_from_private",
    "random_bytes",
    "record_sealing_info",
    "seal",
    "sealing_public_from_private",
    "sign",
    "unpad",
    "unprotect_private_key",
    "unwrap_key",
    "verify",
    "wrap_key",
]
