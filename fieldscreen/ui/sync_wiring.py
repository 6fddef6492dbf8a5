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
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["Guarded", "VaultSyncLedger", "build_sync"]

#: Every state a sealed record can be in (``fieldscreen.vault.outbox.OUTBOX_STATES``).
ALL_STATES = ("pending", "sending", "delivered", "failed", "quarantined")
_PAGE = 500


class Guarded:
    """``target``'s methods, each called under ``lock`` (one call at a time, not a whole sync)."""

    def __init__(self, target: Any, lock: threading.RLock) -> None:
        self._target = target
        self._lock = lock

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if not callable(value):
            return value
        lock = self._lock

        def call(*args: Any, **kwargs: Any) -> Any:
            with lock:
                return value(*args, **kwargs)

        return call


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
    vault = Guarded(backend.vault, lock)
    store = Guarded(device, lock)
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
