"""The app's sync, composed over the vault (Qt-free): the Sync screen's view model after unlock.

:func:`build_sync` returns a :class:`~fieldscreen.sync.view.SyncViewModel` once the laptop is
provisioned and enrolled (None before): its ledger is the vault's outbox
(:class:`VaultSyncLedger`), its :class:`~fieldscreen.sync.background.BackgroundSync` probes the
server's health and runs :class:`~fieldscreen.sync.engine.Syncer` over
:class:`fieldscreen.device.VaultDeviceStore`, exactly as ``fieldscreen sync`` does.

Every call into the vault holds the vault backend's lock for that one call only, so the sync
(on the read pool) and the screens' writes (on the writer) never use the vault at the same
time, and a slow server never holds up an autosave.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fieldscreen.device import VaultDeviceStore
    from fieldscreen.sync.signed import Provisioning, SignedDocument
    from fieldscreen.sync.store import (
        DeviceIdentity,
        DeviceStatus,
        OutboxItem,
        RecordState,
    )

__all__ = ["LockedDeviceStore", "LockedOutbox", "VaultSyncLedger", "build_sync"]

#: Every state a sealed record can be in (``fieldscreen.vault.outbox.OUTBOX_STATES``).
ALL_STATES = ("pending", "sending", "delivered", "failed", "quarantined")
_PAGE = 500


class LockedOutbox:
    """The vault's outbox pages, marks and device signature, each call under ``lock`` (the
    ledger's reads and the enrolled client's request signatures)."""

    def __init__(self, vault: Any, lock: threading.RLock) -> None:
        self._vault = vault
        self._lock = lock

    def outbox_page(self, *, limit: int, after_seq: int, states: Sequence[str]) -> list[Any]:
        with self._lock:
            return list(self._vault.outbox_page(limit=limit, after_seq=after_seq, states=states))

    def outbox_mark(self, record_id: str, state: str) -> None:
        with self._lock:
            self._vault.outbox_mark(record_id, state)

    def sign_as_device(self, message: bytes) -> bytes:
        with self._lock:
            return bytes(self._vault.sign_as_device(message))


class LockedDeviceStore:
    """:class:`~fieldscreen.sync.store.OutboxStore` and
    :class:`~fieldscreen.sync.store.DeviceState` over :class:`fieldscreen.device.VaultDeviceStore`,
    each call under ``lock`` (one call at a time, never a whole sync: a slow server does not
    hold up an autosave)."""

    def __init__(self, device: VaultDeviceStore, lock: threading.RLock) -> None:
        self._device = device
        self._lock = lock

    # ------------------------------------------------------------------ OutboxStore
    def pending_page(self, after_seq: int, limit: int) -> Sequence[OutboxItem]:
        with self._lock:
            return self._device.pending_page(after_seq, limit)

    def pending_totals(self) -> tuple[int, int]:
        with self._lock:
            return self._device.pending_totals()

    def set_state(
        self, record_ids: Sequence[str], state: RecordState, reason: str | None = None
    ) -> None:
        with self._lock:
            self._device.set_state(record_ids, state, reason)

    def apply_receipt(
        self, delivered: Sequence[tuple[str, str]], checkpoint: int | None = None
    ) -> int:
        with self._lock:
            return self._device.apply_receipt(delivered, checkpoint)

    def load_checkpoint(self) -> int:
        with self._lock:
            return self._device.load_checkpoint()

    def save_checkpoint(self, seq: int) -> None:
        with self._lock:
            self._device.save_checkpoint(seq)

    def highest_seq(self) -> int:
        with self._lock:
            return self._device.highest_seq()

    # ------------------------------------------------------------------ DeviceState
    def signing_key_pair(self) -> tuple[bytes, bytes]:
        with self._lock:
            return self._device.signing_key_pair()

    def provisioning(self) -> Provisioning | None:
        with self._lock:
            return self._device.provisioning()

    def save_provisioning(self, provisioning: Provisioning) -> None:
        with self._lock:
            self._device.save_provisioning(provisioning)

    def identity(self) -> DeviceIdentity | None:
        with self._lock:
            return self._device.identity()

    def save_identity(self, identity: DeviceIdentity) -> None:
        with self._lock:
            self._device.save_identity(identity)

    def apply_device_status(self, status: DeviceStatus) -> None:
        with self._lock:
            self._device.apply_device_status(status)

    def update_versions(self) -> Mapping[tuple[str, str], str]:
        with self._lock:
            return self._device.update_versions()

    def apply_update(self, document: SignedDocument) -> None:
        with self._lock:
            self._device.apply_update(document)

    # ------------------------------------------------------------------ HandoverQueue
    # The app's sync posts the packets the case card queued ("Send through the server at
    # the next sync") and applies the partners' acknowledgements, as the command line's does.
    def queued_handovers(self) -> Sequence[tuple[str, str, bytes]]:
        with self._lock:
            return self._device.queued_handovers()

    def handover_posted(self, packet_id: str) -> None:
        with self._lock:
            self._device.handover_posted(packet_id)

    def apply_handover_acks(self, acks: Sequence[bytes]) -> tuple[int, int]:
        with self._lock:
            return self._device.apply_handover_acks(acks)

    def hold_withdrawn_handovers(self) -> int:
        with self._lock:
            return self._device.hold_withdrawn_handovers()

    def handover_acks_cursor(self) -> str:
        with self._lock:
            return self._device.handover_acks_cursor()

    def save_handover_acks_cursor(self, cursor: str) -> None:
        with self._lock:
            self._device.save_handover_acks_cursor(cursor)


class VaultSyncLedger:
    """:class:`~fieldscreen.sync.view.SyncLedger` over the vault's outbox (paged, never whole)."""

    def __init__(self, vault: Any) -> None:
        self._vault = vault

    def states(self) -> Mapping[str, tuple[str, str | None]]:
        out: dict[str, tuple[str, str | None]] = {}
        after = 0
        while True:
            page = self._vault.outbox_page(limit=_PAGE, after_seq=after, states=ALL_STATES)
            for item in page:
                out[item.record_id] = (item.state, item.reason)
            if len(page) < _PAGE:
                return out
            after = page[-1].device_seq

    def retry_failed(self) -> int:
        again = [rid for rid, (state, _) in self.states().items() if state == "failed"]
        for rid in again:
            self._vault.outbox_mark(rid, "pending")
        return len(again)


def build_sync(backend: Any, settings: Any) -> Any:
    """The view model of this laptop's sync, or None while it is not provisioned or enrolled.

    Call with the vault unlocked (the identity and provisioning are kept encrypted), on the
    writer. ``backend`` is the app's :class:`~fieldscreen.ui.backends.VaultBackend`.
    """
    from fieldscreen.device import VaultDeviceStore, stored_provisioning
    from fieldscreen.sync.background import BackgroundSync
    from fieldscreen.sync.client import SyncClient
    from fieldscreen.sync.engine import Syncer, SyncSummary
    from fieldscreen.sync.errors import SyncError
    from fieldscreen.sync.request_auth import DeviceSigner
    from fieldscreen.sync.view import SyncViewModel

    lock = backend.exclusive()
    with lock:
        if stored_provisioning(backend.vault) is None:
            return None
        device = VaultDeviceStore(backend.vault, settings)
    vault = LockedOutbox(backend.vault, lock)
    store = LockedDeviceStore(device, lock)
    provisioning = store.provisioning()
    identity = store.identity()
    if provisioning is None or identity is None:
        return None

    def client() -> Any:
        return SyncClient(
            provisioning.server_url,
            token=identity.token,
            allow_insecure=provisioning.allow_insecure_http,
            signer=DeviceSigner(identity.device_id, vault.sign_as_device),
        )

    def probe() -> bool:  # short timeouts and no retry: a silent server is given up on fast
        try:
            with client() as c:
                return c.probe()
        except SyncError:  # e.g. the address is refused before any request
            return False

    def run_sync() -> SyncSummary:
        with lock:  # before sync: the state digest and the audit log (audited when wrong)
            if backend.vault.is_unlocked:
                backend.vault.check_state()
                backend.vault.seal_audit_segments()  # sent with the screenings
        with client() as c:
            summary: SyncSummary = Syncer(
                c,
                store,
                store,
                receipt_key=provisioning.receipt_public_key,
                signing_key=provisioning.signing_public_key,
            ).run()
        from fieldscreen.ui.batches import record_network_sync

        with lock:  # the coordinator's sync history (counts only; skipped while locked)
            record_network_sync(backend.vault, summary)
        return summary

    pending: Callable[[], int] = lambda: int(store.pending_totals()[0])  # noqa: E731
    background = BackgroundSync(
        probe=probe,
        run_sync=run_sync,
        pending=pending,
        enabled=bool(settings.get("background_sync")),
    )

    def matches() -> list[dict[str, Any]]:
        with client() as c:
            return list(c.matches()["matches"])

    return SyncViewModel(VaultSyncLedger(vault), background, matches)
