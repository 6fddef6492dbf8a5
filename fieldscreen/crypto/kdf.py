"""Argon2id key derivation (RFC 9106) with its parameters kept beside what it protects.

The parameters travel with every wrapped key as a plain dict (:meth:`KdfParams.to_dict`), so they
can be raised later without breaking older vaults. Creating or opening anything with parameters
below the floor (64 MiB, t=3) is refused. Unit tests may use the explicit, much lighter
:meth:`KdfParams.for_tests` set, but only after :func:`permit_test_parameters` has been called in
that process: production code never calls it, and a vault written with test parameters does not
open in a normal process.
"""

from __future__ import annotations

import base64
import contextlib
import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from fieldscreen.crypto.errors import CryptoError
from fieldscreen.crypto.symmetric import random_bytes

__all__ = [
    "DEFAULT_ITERATIONS",
    "DEFAULT_LANES",
    "DEFAULT_MEMORY_KIB",
    "FLOOR_ITERATIONS",
    "FLOOR_MEMORY_KIB",
    "KdfParams",
    "argon2id_available",
    "derive_key",
    "permit_test_parameters",
    "permitting_test_parameters",
]

DEFAULT_MEMORY_KIB = 256 * 1024
DEFAULT_ITERATIONS = 3
DEFAULT_LANES = 4
FLOOR_MEMORY_KIB = 64 * 1024
FLOOR_ITERATIONS = 3
SALT_BYTES = 16
KEY_BYTES = 32
_ALGORITHM = "argon2id"

_test_parameters_permitted = False


def permit_test_parameters(enabled: bool = True) -> None:
    """Allow parameters below the floor in this process (test suites and benchmarks only)."""
    global _test_parameters_permitted  # noqa: PLW0603 -- a deliberate, process-wide switch
    _test_parameters_permitted = enabled


@contextlib.contextmanager
def permitting_test_parameters() -> Iterator[None]:
    """:func:`permit_test_parameters` inside a ``with`` block only, then as it was before."""
    before = _test_parameters_permitted
    permit_test_parameters(True)
    try:
        yield
    finally:
        permit_test_parameters(before)


@dataclass(frozen=True, slots=True)
class KdfParams:
    """Argon2id cost parameters and salt."""

    memory_kib: int
    iterations: int
    lanes: int
    salt: bytes

    @classmethod
    def default(cls) -> KdfParams:
        """The production parameters (about 256 MiB, t=3, p=4) with a fresh salt."""
        return cls(DEFAULT_MEMORY_KIB, DEFAULT_ITERATIONS, DEFAULT_LANES, random_bytes(SALT_BYTES))

    @classmethod
    def for_tests(cls) -> KdfParams:
        """Light parameters for unit tests; usable only after :func:`permit_test_parameters`."""
        return cls(256, 1, 1, random_bytes(SALT_BYTES))

    @property
    def below_floor(self) -> bool:
        return self.memory_kib < FLOOR_MEMORY_KIB or self.iterations < FLOOR_ITERATIONS

    def to_dict(self) -> dict[str, Any]:
        return {
            "alg": _ALGORITHM,
            "memory_kib": self.memory_kib,
            "iterations": self.iterations,
            "lanes": self.lanes,
            "salt": base64.b64encode(self.salt).decode("ascii"),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KdfParams:
        try:
            if data["alg"] != _ALGORITHM:
                raise ValueError("unknown algorithm")
            params = cls(
                int(data["memory_kib"]),
                int(data["iterations"]),
                int(data["lanes"]),
                base64.b64decode(data["salt"], validate=True),
            )
        except (KeyError, TypeError, ValueError):
            raise CryptoError("crypto-kdf-params-invalid") from None
        if (
            not 1 <= params.lanes <= 64
            or not 8 * params.lanes <= params.memory_kib <= 4 * 1024 * 1024
            or not 1 <= params.iterations <= 64
            or len(params.salt) < 8
        ):  # an edited file must not make the device allocate terabytes or spin for hours
            raise CryptoError("crypto-kdf-params-invalid")
        return params


@functools.cache
def argon2id_available() -> bool:
    """Whether this build of ``cryptography`` (and its OpenSSL) provides Argon2id."""
    try:
        Argon2id(salt=b"\0" * 16, length=32, iterations=1, lanes=1, memory_cost=8).derive(b"x")
    except UnsupportedAlgorithm:
        return False
    return True


def derive_key(passphrase: bytes, params: KdfParams) -> bytes:
    """Derive a 32-byte key-encryption key from ``passphrase``.

    Raises:
        CryptoError: ``crypto-kdf-unavailable`` when Argon2id is missing (never a fallback),
            ``crypto-kdf-too-weak`` for parameters below the floor outside tests.
    """
    if not argon2id_available():
        raise CryptoError("crypto-kdf-unavailable")
    if params.below_floor and not _test_parameters_permitted:
        raise CryptoError("crypto-kdf-too-weak")
    return raw_argon2id(passphrase, params)


def raw_argon2id(
    passphrase: bytes,
    params: KdfParams,
    *,
    length: int = KEY_BYTES,
    secret: bytes | None = None,
    ad: bytes | None = None,
) -> bytes:
    """Argon2id without the floor check (known-answer tests use RFC 9106's tiny parameters)."""
    return Argon2id(
        salt=params.salt,
        length=length,
        iterations=params.iterations,
        lanes=params.lanes,
        memory_cost=params.memory_kib,
        ad=ad,
        secret=secret,
    ).derive(passphrase)
