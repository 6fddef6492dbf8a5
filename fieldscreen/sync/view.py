"""What the sync view shows, without Qt: one row per queued record and the controls' actions.

The UI binds :class:`SyncViewModel` to a table (record, state, reason), a progress bar fed by
:class:`~fieldscreen.sync.engine.Progress`, a "Sync now" button, a "Retry failed" button and a
"Sync in the background" switch; it calls :meth:`SyncViewModel.sync_now` and
:meth:`BackgroundSync.tick` through its operations helper, off the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from fieldscreen.sync.background import BackgroundSync
from fieldscreen.sync.engine import SyncSummary

__all__ = ["SyncLedger", "SyncRow", "SyncViewModel"]

#: How each reason a record failed or was held reads to a coordinator.
REASONS: Mapping[str, str] = {
    "conflict": "The server holds a different version of this record; IT will review it.",
    "held-for-review": "The server set this record aside for review.",
    "revoked-device": "This laptop was withdrawn; the record is held for review.",
    "sequence-reused": "Looks like a restored old copy of the vault; held for review.",
    "signature": "The record's signature did not verify; tell IT.",
    "tampered": (
        "This record's sealed copy was changed on this laptop after it was signed, so it was "
        "not sent; the readable record is kept. Tell IT."
    ),
    "too-large": "The record is larger than the server accepts; tell IT.",
}


class SyncLedger(Protocol):
    """The queue's bookkeeping the sync view reads (the vault's outbox, or the spool)."""

    def states(self) -> Mapping[str, tuple[str, str | None]]: ...

    def retry_failed(self) -> int: ...


@dataclass(frozen=True, slots=True)
class SyncRow:
    record_id: str
    state: str
    reason: str | None

    @property
    def explanation(self) -> str:
        if self.reason is None:
            return ""
        return REASONS.get(self.reason.split(":")[0], self.reason)


class SyncViewModel:
    def __init__(
        self,
        ledger: SyncLedger,
        background: BackgroundSync,
        matches: Callable[[], list[dict[str, Any]]] | None = None,
    ) -> None:
        self.ledger = ledger
        self.background = background
        #: The server's earlier screenings of this laptop's consenting children
        #: (``GET /device/matches``; docs/privacy-matching.md), or None when not wired.
        self.matches = matches

    def rows(self) -> list[SyncRow]:
        order = {"failed": 0, "quarantined": 1, "sending": 2, "pending": 3, "delivered": 4}
        rows = [
            SyncRow(rid, state, reason) for rid, (state, reason) in self.ledger.states().items()
        ]
        return sorted(rows, key=lambda r: (order.get(r.state, 9), r.record_id))

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(("pending", "sending", "delivered", "failed", "quarantined"), 0)
        for state, _reason in self.ledger.states().values():
            out[state] = out.get(state, 0) + 1
        return out

    def retry_failed(self) -> int:
        return self.ledger.retry_failed()

    def sync_now(self) -> SyncSummary | None:
        return self.background.sync_now()

    def set_background(self, enabled: bool) -> None:
        self.background.enabled = enabled
