"""Canonical JSON bytes: the one encoding that is signed and hashed everywhere in sync."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from fieldscreen.sync.errors import EnvelopeError

__all__ = ["b64d", "b64e", "canonical", "parse_json"]


def canonical(value: Any) -> bytes:
    """Sorted keys, no spaces, ASCII only, no NaN: equal values give equal bytes."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode("ascii")


def b64e(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64d(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise EnvelopeError(f"{what} is not base64 text")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise EnvelopeError(f"{what} is not base64 text") from None


def parse_json(data: bytes | str, what: str) -> Any:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise EnvelopeError(f"{what} is not JSON") from None
