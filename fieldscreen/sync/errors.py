"""Errors of the sync package (device and server side).

All of them are :class:`~fieldscreen.errors.KnownError` with a catalogue code, so the app and the
command line render them in the user's language and the server can name the same codes in its
problem responses. None of them ever carries an answer, a name or a key: only ids, counts,
addresses and reasons from a fixed vocabulary.
"""

from __future__ import annotations

from typing import Any

from fieldscreen.errors import KnownError

__all__ = [
    "BatchTooLarge",
    "DeviceRevoked",
    "EnvelopeError",
    "ServerError",
    "SyncError",
    "TransientError",
]


class SyncError(KnownError):
    """Something about syncing failed in a way the user or IT can act on."""


class TransientError(SyncError):
    """A failure worth retrying later (network down, server busy, 5xx)."""

    def __init__(self, code: str, /, *, retry_after: float | None = None, **context: Any) -> None:
        super().__init__(code, **context)
        self.retry_after = retry_after


class DeviceRevoked(SyncError):
    """The server says this device is revoked or must wipe (``status``)."""

    def __init__(self, status: str) -> None:
        super().__init__("sync-revoked")
        self.status = status


class BatchTooLarge(SyncError):
    """The server refused a batch as too large (413); the engine splits it and sends again."""

    def __init__(self) -> None:
        super().__init__("sync-refused", status=413, reason="batch too large")


class EnvelopeError(SyncError):
    """An envelope, bundle, receipt or signed document failed validation or verification."""

    def __init__(self, reason: str) -> None:
        super().__init__("sync-envelope-invalid", reason=reason)
        self.reason = reason


class ServerError(KnownError):
    """An administrative command of the server cannot be carried out."""
