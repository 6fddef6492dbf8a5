"""Errors of the vault (codes in :data:`fieldscreen.errors.CATALOGUE`).

:class:`UnlockFailed` is raised with one and the same message whether the login is unknown, the
passphrase wrong or the wrapped key damaged, so nothing tells a prober which it was.
SQLite's "disk full" and I/O failures become the catalogue's ``disk-full`` and ``io-error``:
the transaction is rolled back, so the state before the call is intact.
"""

from __future__ import annotations

from typing import Any

from fieldscreen.errors import KnownError

__all__ = ["IntegrityError", "UnlockFailed", "VaultError"]


class VaultError(KnownError):
    """The vault cannot do what was asked (locked, missing, not allowed, damaged ...)."""


class UnlockFailed(VaultError):
    """Unknown login, wrong passphrase or damaged key: deliberately indistinguishable."""

    def __init__(self, code: str = "vault-unlock-failed", /, **context: Any) -> None:
        super().__init__(code, **context)


class IntegrityError(VaultError):
    """A row does not match what the vault last wrote (rolled back, altered or deleted outside
    FieldScreen). Nothing is changed because of it; the vault audits it once the transaction
    that found it has been rolled back (``detail`` holds codes only)."""

    def __init__(
        self, code: str, /, *, record_id: str | None, detail: dict[str, Any], **context: Any
    ) -> None:
        super().__init__(code, **context)
        self.record_id = record_id
        self.detail = detail
        self.audited = False
