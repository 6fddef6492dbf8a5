"""The vault's outbox seen as an :class:`~fieldscreen.sync.store.OutboxStore` (wired by app).

The vault seals and signs at finalise with its own header field names; this module is where
the two meet, without importing the vault (sync reaches it only through protocols):

* :func:`header_signing_bytes` is the ``signing_bytes`` callable the app passes to the vault,
  so what the device signs at finalise is exactly :meth:`Envelope.signing_bytes` of the
  envelope the server will verify;
* :func:`envelope_from_item` turns one queued outbox row into the wire :class:`Envelope`;
* :class:`VaultOutboxStore` adapts the vault's ``outbox_page`` / ``outbox_mark`` /
  ``last_device_seq`` to the sync engine.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from fieldscreen.sync.envelope import COUNTED_KINDS, Envelope, key_id_hex
from fieldscreen.sync.store import OutboxItem, RecordState

__all__ = ["VaultOutbox", "VaultOutboxStore", "envelope_from_item", "header_signing_bytes"]

_REASON = re.compile(r"[^a-z0-9-]+")


class VaultOutbox(Protocol):
    """The part of the vault's API the sync side uses."""

    def outbox_page(
        self, *, limit: int = ..., after_seq: int = ..., states: Iterable[str] = ...
    ) -> list[Any]: ...

    def outbox_send_page(self, *, limit: int = ..., after_seq: int = ...) -> list[Any]: ...

    def outbox_mark(self, record_id: str, state: str, *, reason: str | None = None) -> None: ...

    def outbox_mark_many(
        self, record_ids: Sequence[str], state: str, *, reason: str | None = None
    ) -> None: ...

    def outbox_quarantine_tampered(self, record_ids: Sequence[str]) -> None: ...

    def last_device_seq(self) -> int: ...


def _envelope(header: Mapping[str, Any], key_id: str, sealed: bytes, signature: bytes) -> Envelope:
    return Envelope(
        record_id=str(header["record_id"]),
        kind=str(header["kind"]),
        form_id=str(header["form_id"]),
        form_version=str(header["form_version"]),
        device_id=str(header["device_id"]),
        seq=int(header["device_seq"]),
        created=str(header["created_day"]),
        key_id=key_id,
        sealed=sealed,
        sha256=str(header["payload_sha256"]),
        aggregate=dict(header.get("aggregate") or {}),
        signature=signature,
    )


def header_signing_bytes(org_sealing_public_key: bytes) -> Callable[[Mapping[str, Any]], bytes]:
    """The vault's ``signing_bytes``: the envelope's signing bytes for a finalise header."""
    key_id = key_id_hex(org_sealing_public_key)

    def signing_bytes(header: Mapping[str, Any]) -> bytes:
        return _envelope(header, key_id, b"", b"").signing_bytes()

    return signing_bytes


def envelope_from_item(item: Any, key_id: str) -> Envelope:
    """The wire envelope of one vault outbox row (which still holds its sealed copy)."""
    if item.sealed is None or item.signature is None:
        raise ValueError("this record was delivered: its sealed copy is gone")
    return _envelope(item.header(), key_id, bytes(item.sealed), bytes(item.signature))


class VaultOutboxStore:
    """:class:`~fieldscreen.sync.store.OutboxStore` over the vault's outbox.

    The checkpoint lives in memory for the process (the vault has no slot for it yet): after a
    crash the next run starts from the beginning, and the "missing" question keeps that cheap.
    """

    def __init__(self, vault: VaultOutbox, org_sealing_public_key: bytes) -> None:
        self.vault = vault
        self.key_id = key_id_hex(org_sealing_public_key)
        self._checkpoint = 0

    def pending_page(self, after_seq: int, limit: int) -> Sequence[OutboxItem]:
        # the vault checks each row's state against its stamp as it reads it (a row moved
        # outside FieldScreen is queued again, audited, and comes back marked)
        rows = self.vault.outbox_send_page(limit=limit, after_seq=after_seq)
        out = []
        for row in rows:
            if row.sealed is None or row.signature is None:
                continue  # delivered, its state edited back: nothing to send (the vault's
                # check at unlock marks it delivered again)
            envelope = envelope_from_item(row, self.key_id)
            out.append(
                OutboxItem(
                    envelope.record_id,
                    envelope.sha256,
                    envelope.seq,
                    envelope.to_bytes(),
                    envelope.kind,
                    bool(getattr(row, "state_changed", False)),
                )
            )
        return out

    def pending_totals(self) -> tuple[int, int]:
        count = 0
        cursor = 0
        while True:
            rows = self.vault.outbox_page(
                limit=1000, after_seq=cursor, states=("pending", "sending")
            )
            if not rows:
                return count, 0  # bytes are not known without reading every payload
            count += len(rows)
            cursor = rows[-1].device_seq

    def set_state(
        self, record_ids: Sequence[str], state: RecordState, reason: str | None = None
    ) -> None:
        clean = _REASON.sub("-", reason.lower()).strip("-")[:64] if reason else None
        if (state, clean) == ("quarantined", "tampered"):  # audited with it, or noted if locked
            self.vault.outbox_quarantine_tampered(record_ids)
            return
        self.vault.outbox_mark_many(record_ids, state, reason=clean or None)  # one commit

    def apply_receipt(
        self, delivered: Sequence[tuple[str, str]], checkpoint: int | None = None
    ) -> int:
        if checkpoint is not None:
            self._checkpoint = checkpoint  # in memory only: nothing to make atomic with
        wanted = dict(delivered)
        changed = 0
        cursor = 0
        while wanted:
            rows = self.vault.outbox_page(
                limit=1000, after_seq=cursor, states=("pending", "sending", "failed", "quarantined")
            )
            if not rows:
                break
            for row in rows:
                if wanted.get(row.record_id) == row.payload_sha256:
                    self.vault.outbox_mark(row.record_id, "delivered")
                    del wanted[row.record_id]
                    changed += row.kind in COUNTED_KINDS  # screenings and drafts, as the vault's
            cursor = rows[-1].device_seq
        return changed

    def load_checkpoint(self) -> int:
        return self._checkpoint

    def save_checkpoint(self, seq: int) -> None:
        self._checkpoint = seq

    def highest_seq(self) -> int:
        return self.vault.last_device_seq()
