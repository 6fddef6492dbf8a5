"""The interface between sync and the device's vault, as two ``typing.Protocol`` classes.

Sync never imports the vault: the app wires an object that satisfies :class:`OutboxStore` (the
queue of sealed envelopes) and :class:`DeviceState` (enrolment, provisioning, device status,
signed updates). The tests, the benchmarks and ``fieldscreen simulate`` use
:class:`fieldscreen.sync.spool.Spool`, a reference implementation over a plain SQLite file.

Record states shown in the sync view: ``pending`` (queued), ``sending`` (in the current batch),
``delivered`` (named by a verified receipt; the sealed copy is deleted), ``failed`` (with a
reason: a conflict, a rejection), ``quarantined`` (held by the server for review).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple, Protocol, runtime_checkable

from fieldscreen.sync.signed import Provisioning, SignedDocument

__all__ = [
    "DeviceIdentity",
    "DeviceState",
    "DeviceStatus",
    "HandoverQueue",
    "OutboxItem",
    "OutboxStore",
    "RecordState",
]

RecordState = Literal["pending", "sending", "delivered", "failed", "quarantined"]
DeviceStatus = Literal["active", "revoked", "wipe"]


class OutboxItem(NamedTuple):
    """One queued envelope: its ids, its device sequence number, its wire bytes and its kind
    (``screening``, ``draft`` or ``audit``: the audit log's segments are counted apart)."""

    record_id: str
    sha256: str
    seq: int
    data: bytes
    kind: str = "screening"
    #: The store found the row's state changed outside the product as it read it (queued
    #: again and audited there); the sync counts it (``SyncSummary.state_changed``).
    state_changed: bool = False


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    """What enrolment gave this device. ``token`` is a secret: the vault keeps it encrypted."""

    device_id: str
    site: str
    token: str
    public_key: bytes


@runtime_checkable
class OutboxStore(Protocol):
    """The device's queue of sealed envelopes."""

    def pending_page(self, after_seq: int, limit: int) -> Sequence[OutboxItem]:
        """Up to ``limit`` pending items with ``seq > after_seq``, in ``seq`` order."""
        ...

    def pending_totals(self) -> tuple[int, int]:
        """(records, bytes) still pending."""
        ...

    def set_state(
        self, record_ids: Sequence[str], state: RecordState, reason: str | None = None
    ) -> None:
        """Record what happened to these records (``reason`` is from a fixed vocabulary)."""
        ...

    def apply_receipt(
        self, delivered: Sequence[tuple[str, str]], checkpoint: int | None = None
    ) -> int:
        """Mark each (record id, sha256) delivered and delete its sealed copy; idempotent.

        Only pairs whose hash matches the queued envelope count. Returns how many records
        changed state (0 when the same receipt is applied again). With ``checkpoint``, also
        save that checkpoint, in the same transaction where the store can.
        """
        ...

    def load_checkpoint(self) -> int:
        """The ``seq`` of the last acknowledged batch of an unfinished run (0: none)."""
        ...

    def save_checkpoint(self, seq: int) -> None:
        """Durably record the last acknowledged batch (reset to 0 when a run completes)."""
        ...

    def highest_seq(self) -> int:
        """The highest sequence number this device has ever issued (rollback detection)."""
        ...


@runtime_checkable
class DeviceState(Protocol):
    """Enrolment, provisioning, device status and signed updates of this device."""

    def signing_key_pair(self) -> tuple[bytes, bytes]:
        """This device's Ed25519 (private, public) pair, created on first use; the vault keeps
        the private half encrypted and signs envelopes with it at finalise."""
        ...

    def provisioning(self) -> Provisioning | None: ...

    def save_provisioning(self, provisioning: Provisioning) -> None: ...

    def identity(self) -> DeviceIdentity | None: ...

    def save_identity(self, identity: DeviceIdentity) -> None: ...

    def apply_device_status(self, status: DeviceStatus) -> None:
        """Act on the server's word: ``revoked`` stops sync, ``wipe`` crypto-shreds the profile."""
        ...

    def update_versions(self) -> Mapping[tuple[str, str], str]:
        """(kind, name) -> version of every signed update already applied."""
        ...

    def apply_update(self, document: SignedDocument) -> None:
        """Store a verified form, service directory or provisioning update for use."""
        ...


@runtime_checkable
class HandoverQueue(Protocol):
    """A device state that also queues handover packets for the server (docs/handover.md):
    the sync posts each queued packet, drops it once the server holds it, and hands the
    partners' acknowledgements back to be checked and applied."""

    def queued_handovers(self) -> Sequence[tuple[str, str, bytes]]:
        """``(partner, packet id, packet bytes)`` of each packet still to send."""
        ...

    def handover_posted(self, packet_id: str) -> None:
        """The server holds the packet (``stored`` or ``duplicate``): drop it from the queue."""
        ...

    def apply_handover_acks(self, acks: Sequence[bytes]) -> tuple[int, int]:
        """Check and apply acknowledgements: (newly applied, refused)."""
        ...

    def hold_withdrawn_handovers(self) -> int:
        """Take off the queue, kept, the packets whose partner the organisation withdrew;
        how many are held in all, waiting for a person."""
        ...

    def handover_acks_cursor(self) -> str:
        """The cursor of the last acknowledgement applied (empty: none yet)."""
        ...

    def save_handover_acks_cursor(self, cursor: str) -> None:
        """Keep ``cursor`` once the acknowledgements up to it are applied (durable)."""
        ...
