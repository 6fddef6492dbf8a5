"""The app's sync over the real vault: none before enrolment; after it, a view model whose
ledger is the vault's outbox and whose background policy probes the server (loopback)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from fieldscreen import crypto
from fieldscreen.device import VaultDeviceStore
from fieldscreen.paths import Paths
from fieldscreen.settings import Settings
from fieldscreen.sync.signed import Provisioning, Site, sign_document
from fieldscreen.sync.store import DeviceIdentity
from fieldscreen.ui.backends import VaultBackend
from fieldscreen.ui.provisioning import DeviceProvisioner
from fieldscreen.ui.sync_wiring import LockedDeviceStore, LockedOutbox, VaultSyncLedger, build_sync

PASS = "correct horse battery staple"


pytestmark = pytest.mark.usefixtures("light_kdf")  # Argon2id at the test parameters


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def provisioning_bytes(server: str) -> bytes:
    _, sealing_public = crypto.generate_sealing_keypair()
    signing_private, signing_public = crypto.generate_signing_keypair()
    _, receipt_public = crypto.generate_signing_keypair()
    content = Provisioning(
        organisation="Org",
        server_url=server,
        sealing_public_key=sealing_public,
        signing_public_key=signing_public,
        receipt_public_key=receipt_public,
        sites=(Site("sd1", "San Diego", "US"),),
        allow_insecure_http=True,
    ).to_content()
    return sign_document(
        "provisioning", "provisioning", "1", content, signing_private, signing_public
    ).to_bytes()


def test_sync_exists_only_once_enrolled_and_reads_the_vault_outbox(paths: Paths) -> None:
    light = crypto.KdfParams.for_tests()
    store = VaultBackend(paths.data / "vault", kdf=light, new_key_kdf=light)
    settings = Settings.load(paths.settings_file)
    store.create_user("ana", "admin", PASS)
    store.unlock("ana", PASS)
    assert build_sync(store, settings) is None  # not provisioned
    DeviceProvisioner(store, settings).apply(
        provisioning_bytes(f"http://127.0.0.1:{closed_port()}")
    )
    assert build_sync(store, settings) is None  # provisioned, not enrolled
    device = VaultDeviceStore(store.vault, settings)
    public, _sign, device_id = device.enrolment_signer()
    device.save_identity(DeviceIdentity(str(device_id), "sd1", "token-1", public))
    model = build_sync(store, settings)
    assert model is not None
    assert model.rows() == []
    assert model.counts()["pending"] == 0
    assert model.background.tick() is None  # nobody listens on the port
    assert model.background.reachable is False
    assert model.retry_failed() == 0
    store.vault.close()


class Outbox:
    def __init__(self, n: int) -> None:
        self.rows = [
            (f"{i:032x}", i, "failed" if i % 3 == 0 else "delivered") for i in range(1, n + 1)
        ]
        self.marked: list[tuple[str, str]] = []
        self.pages = 0

    def outbox_page(self, *, limit: int, after_seq: int, states: tuple[str, ...]) -> list[object]:
        self.pages += 1

        class Item:
            def __init__(self, rid: str, seq: int, state: str) -> None:
                self.record_id, self.device_seq, self.state, self.reason = rid, seq, state, None

        wanted = [r for r in self.rows if r[1] > after_seq and r[2] in states]
        return [Item(*r) for r in wanted[:limit]]

    def outbox_mark(self, record_id: str, state: str) -> None:
        self.marked.append((record_id, state))


def test_the_ledger_pages_through_the_outbox_and_retries_only_failed() -> None:
    outbox = Outbox(1201)
    ledger = VaultSyncLedger(LockedOutbox(outbox, __import__("threading").RLock()))
    states = ledger.states()
    assert len(states) == 1201
    assert outbox.pages == 3  # 500 a page: never the whole backlog at once
    assert ledger.retry_failed() == len([r for r in outbox.rows if r[2] == "failed"])
    assert {s for _, s in outbox.marked} == {"pending"}


def test_locked_calls_hold_the_lock_one_call_at_a_time(tmp_path: Path) -> None:
    import threading

    lock = threading.RLock()
    seen: list[bool] = []

    class Device:
        def highest_seq(self) -> int:
            seen.append(lock._is_owned())  # type: ignore[attr-defined]
            return 7

        def sign_as_device(self, message: bytes) -> bytes:
            seen.append(lock._is_owned())  # type: ignore[attr-defined]
            return message[::-1]

    store = LockedDeviceStore(Device(), lock)  # type: ignore[arg-type]
    assert store.highest_seq() == 7
    assert LockedOutbox(Device(), lock).sign_as_device(b"ab") == b"ba"
    assert seen == [True, True]
    assert not lock._is_owned()  # type: ignore[attr-defined]


def test_the_coordinator_server_is_built_over_the_vault_provisioning(paths: Paths) -> None:
    """The report's and the batch view's requests go through the one client the composition
    root hands in: nothing before provisioning, the client's refusal after it."""
    from fieldscreen.errors import KnownError
    from fieldscreen.reports.coordinator import ReportFilter
    from fieldscreen.ui.backends import EnrolledServer
    from fieldscreen.ui.common import Services
    from fieldscreen.ui.errors import UIError
    from fieldscreen.ui.operations import Operations
    from fieldscreen.ui.preview import SampleForms
    from fieldscreen.ui.report_page import fetch_server_matches, fetch_server_report

    light = crypto.KdfParams.for_tests()
    store = VaultBackend(paths.data / "vault", kdf=light, new_key_kdf=light)
    settings = Settings.load(paths.settings_file)
    store.create_user("ana", "admin", PASS)
    store.unlock("ana", PASS)
    server = EnrolledServer(store)
    services = Services(store, SampleForms(), settings, Operations(), server=server)
    for ask in (server.stats, server.matches, lambda token: server.report(token, {})):
        with pytest.raises(KnownError) as refused:
            ask("coordinator-token")
        assert refused.value.code == "sync-not-provisioned"
    with pytest.raises(UIError) as shown:
        fetch_server_report(services, "coordinator-token", ReportFilter())
    assert shown.value.code == "report-server-unavailable"
    assert shown.value.context.get("reason") == "not-enrolled"
    DeviceProvisioner(store, settings).apply(
        provisioning_bytes(f"http://127.0.0.1:{closed_port()}")
    )
    with pytest.raises(UIError) as shown:
        fetch_server_matches(services, "coordinator-token")  # nobody listens on the port
    assert shown.value.context.get("reason") not in {None, "not-enrolled"}
    without = Services(store, SampleForms(), settings, Operations())  # no server handed in
    with pytest.raises(UIError) as shown:
        fetch_server_matches(without, "coordinator-token")
    assert shown.value.context.get("reason") == "not-enrolled"
    store.vault.close()


def test_the_apps_sync_store_carries_the_handover_queue_under_the_lock() -> None:
    """The app's sync (Sync now and the background sync) posts the packets the case card
    queued and applies the acknowledgements: its store is a handover queue, each call under
    the lock and handed to the vault's store."""
    import threading

    from fieldscreen.sync.store import HandoverQueue

    lock = threading.RLock()
    calls: list[tuple[str, bool]] = []

    class Device:
        def __getattr__(self, name: str) -> object:
            def call(*args: object) -> object:
                calls.append((name, lock._is_owned()))  # type: ignore[attr-defined]
                return {"queued_handovers": [], "apply_handover_acks": (1, 0)}.get(name, 0)

            return call

    store = LockedDeviceStore(Device(), lock)  # type: ignore[arg-type]
    assert isinstance(store, HandoverQueue)
    assert store.queued_handovers() == []
    store.handover_posted("p")
    assert store.apply_handover_acks([b"a"]) == (1, 0)
    assert store.hold_withdrawn_handovers() == 0
    store.handover_acks_cursor()
    store.save_handover_acks_cursor("c")
    assert [owned for _, owned in calls] == [True] * 6
    assert [name for name, _ in calls] == [
        "queued_handovers",
        "handover_posted",
        "apply_handover_acks",
        "hold_withdrawn_handovers",
        "handover_acks_cursor",
        "save_handover_acks_cursor",
    ]
