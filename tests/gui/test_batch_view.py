"""The coordinator's batch view over the real vault, the real widgets and a real server on
loopback: laptop A (the coordinator's) exports its own USB bundle and applies the receipt that
comes back, twice; a bundle of laptop B, which is never online, is relayed by A and reaches the
server exactly once, and the second import says it was relayed already; the history and the
per-laptop, per-user counts show each step.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog
from pytestqt.qtbot import QtBot

from fieldscreen import crypto
from fieldscreen.device import VaultDeviceStore, apply_provisioning
from fieldscreen.handover import make_ack, open_packet
from fieldscreen.paths import Paths
from fieldscreen.settings import Settings
from fieldscreen.sync.bundle import export_bundle, read_bundle
from fieldscreen.sync.client import SyncClient
from fieldscreen.sync.relay import relay_bundle
from fieldscreen.sync.server.api import ServerConfig
from fieldscreen.sync.server.live import LiveServer
from fieldscreen.sync.server.storage import Storage
from fieldscreen.sync.signed import Provisioning, Site, sign_document
from fieldscreen.sync.simulate import SimDevice, SimOrg
from fieldscreen.sync.store import DeviceIdentity
from fieldscreen.ui.backends import EnrolledServer, VaultBackend
from fieldscreen.ui.batches import acks_beside
from fieldscreen.ui.common import Services
from fieldscreen.ui.main_window import MainWindow
from fieldscreen.ui.operations import Operations
from fieldscreen.ui.preview import SampleForms
from tests.gui.conftest import WAIT_MS, settle
from tests.integration.server_support import open_storage
from tests.reliability.test_handover_bundle_faults import (
    PARTNER,
    SEALING,
    SIGNING,
    _publish_partner,
)
from tests.support.vouching import ORG, seal_vouched

PASS = "coordinator passphrase"
ADMIN = "administrator passphrase"
SITE = "site-a"


pytestmark = pytest.mark.usefixtures("light_kdf")  # Argon2id at the test parameters


@pytest.fixture
def org() -> SimOrg:
    return SimOrg()


@pytest.fixture
def storage(tmp_path: Path, org: SimOrg) -> Iterator[Storage]:
    store = open_storage(str(tmp_path / "server.sqlite3"))
    store.repos.keys.set_org_keys(org.name, org.sealing_public, org.signing_public)
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def server(storage: Storage) -> Iterator[LiveServer]:
    config = ServerConfig(rate=1000.0, burst=5000, anonymous_rate=1000.0, anonymous_burst=5000)
    live = LiveServer(storage, config).start()
    try:
        yield live
    finally:
        live.stop()


def laptop_a(paths: Paths, storage: Storage, org: SimOrg, server: LiveServer) -> VaultBackend:
    """The coordinator's laptop: provisioned for the loopback server, enrolled, two screenings
    finalised and waiting."""
    light = crypto.KdfParams.for_tests()
    backend = VaultBackend(paths.data / "vault", kdf=light, new_key_kdf=light)
    settings = Settings.load(paths.settings_file)
    backend.create_user("ana", "admin", ADMIN)
    backend.unlock("ana", ADMIN)
    backend.create_user("cora", "coordinator", PASS, confirm=ADMIN)
    content = Provisioning(
        organisation=org.name,
        server_url=server.url,
        sealing_public_key=org.sealing_public,
        signing_public_key=org.signing_public,
        receipt_public_key=storage.repos.keys.keys().receipt_public,
        sites=(Site(SITE, "Site A", "US"),),
        allow_insecure_http=True,
    ).to_content()
    document = sign_document("provisioning", "provisioning", "1", content, *org.signing)
    apply_provisioning(backend.vault, settings, document.to_bytes())
    device = VaultDeviceStore(backend.vault, settings)
    public, sign, device_id = device.enrolment_signer()
    with SyncClient(server.url) as client:
        answer = client.enroll(
            storage.repos.credentials.create_enrol_code(SITE), public, sign, "A", device_id
        )
    device.save_identity(
        DeviceIdentity(answer["device_id"], answer["site"], answer["token"], public)
    )
    backend.unlock("cora", PASS)  # the coordinator screens too
    for _ in range(2):
        rid = backend.new_draft("screening", "1", {"forms": {}})
        backend.finalise(rid, {"state": {"note": "sealed"}}, {"alias": "A"}, None)
    backend.lock()
    return backend


def window(qtbot: QtBot, paths: Paths, store: VaultBackend) -> MainWindow:
    def on_bug(error: BaseException, text: str) -> None:
        raise AssertionError(text)

    services = Services(
        vault=store,
        forms=SampleForms(),
        settings=Settings.load(paths.settings_file),
        ops=Operations(on_bug=on_bug),
        server=EnrolledServer(store),  # as the composition root hands it in
    )
    w = MainWindow(services)
    qtbot.addWidget(w)
    w.show()
    page = w.unlock_page
    qtbot.waitUntil(lambda: page.user.findData("cora") >= 0, timeout=WAIT_MS)
    page.user.setCurrentIndex(page.user.findData("cora"))
    qtbot.keyClicks(page.passphrase, PASS)
    qtbot.keyClick(page.passphrase, "\r")
    qtbot.waitUntil(lambda: w.services.user is not None, timeout=WAIT_MS)
    settle(w)
    return w


def wait_result(qtbot: QtBot, w: MainWindow, text: str) -> str:
    page = w.batch_page
    qtbot.waitUntil(lambda: not page.busy and text in page.result.text(), timeout=WAIT_MS)
    settle(w)
    return page.result.text()


def column(table: object, col: int) -> list[str]:
    return [table.item(r, col).text() for r in range(table.rowCount())]  # type: ignore[attr-defined]


def test_bundles_out_and_in_relay_once_and_receipts_apply_once(  # noqa: PLR0917 -- fixtures
    qtbot: QtBot, paths: Paths, tmp_path: Path, storage: Storage, org: SimOrg, server: LiveServer
) -> None:
    store = laptop_a(paths, storage, org, server)
    token = storage.repos.credentials.create_credential("coordinator", [SITE], "cora")
    token_file = tmp_path / "coordinator.token"
    token_file.write_text(token, encoding="utf-8")
    usb = tmp_path / "usb"
    usb.mkdir()
    # Laptop B never gets online: five screenings leave it on a USB bundle.
    laptop_b = SimDevice(
        org,
        server.url,
        tmp_path / "b.sqlite3",
        receipt_public=storage.repos.keys.keys().receipt_public,
    )
    laptop_b.enroll(storage.repos.credentials.create_enrol_code(SITE))
    laptop_b.fill(5, random.Random(20261127), size=400)
    # ... and a handover packet it queued for a partner, carried in the same bundle.
    _publish_partner(storage, org)
    storage.repos.handovers.add_partner(PARTNER.id, "Casa")
    b_keys = (laptop_b.signing_private, laptop_b.signing_public)
    b_packet = seal_vouched(
        {"packet_id": "d" * 32, "partner": PARTNER.id, "case_id": "c" * 32},
        PARTNER,
        laptop_b.device_id,
        b_keys,
    )
    b_bundle = usb / "laptop-b.fsb"
    export_bundle(b_bundle, laptop_b.device_id, laptop_b.spool, packets=[b_packet])

    w = window(qtbot, paths, store)
    assert w.nav.batches.isVisible()
    w.show_batches()
    page = w.batch_page
    qtbot.waitUntil(lambda: page.groups.rowCount() == 1, timeout=WAIT_MS)
    assert column(page.groups, 2) == ["2"]  # waiting, by cora on this laptop
    assert column(page.groups, 1) == ["cora"]

    # A relays B's bundle: every envelope reaches the server once, with B's receipt.
    page.relay_from(b_bundle, token_file)
    first = wait_result(qtbot, w, "relayed")
    assert "5 screenings relayed, 5 acknowledged" in first
    assert storage.repos.reporting.count("envelopes") == 5
    receipt_b = usb / "laptop-b-receipt.fsr"
    assert receipt_b.exists()
    assert [p["packet_id"] for p in storage.repos.handovers.listing(PARTNER.id)] == ["d" * 32]
    assert not acks_beside(receipt_b).exists()  # nothing acknowledged yet
    content, digest = open_packet(b_packet, "p", PARTNER.id, SEALING[0], ORG[1])
    b_ack = make_ack(content, digest, PARTNER.id, SIGNING[0])
    assert storage.repos.handovers.acknowledge(PARTNER.id, "d" * 32, b_ack) == "stored"
    page.relay_from(b_bundle, token_file)
    second = wait_result(qtbot, w, "Already relayed")
    assert "all 5" in second
    assert storage.repos.reporting.count("envelopes") == 5  # exactly once
    assert len(storage.repos.handovers.listing(PARTNER.id)) == 1  # the packet too
    assert "1 partner acknowledgement(s)" in second
    assert acks_beside(receipt_b).read_bytes() == b_ack + b"\n"  # to carry back to B
    # B applies the receipt A brought back.
    from fieldscreen.sync.bundle import apply_receipt_file

    key = storage.repos.keys.keys().receipt_public
    assert apply_receipt_file(receipt_b, laptop_b.spool, key, laptop_b.device_id)[0] == 5

    # A's own bundle: written, carried to another online machine, and its receipt comes back.
    a_bundle = usb / "laptop-a.fsb"
    page.export_to(a_bundle)
    assert "2 sealed screening(s)" in wait_result(qtbot, w, "written")  # not the audit segment
    assert read_bundle(a_bundle)[0] == store.vault.device_id
    page.relay_from(a_bundle, token_file)  # not to itself
    assert "from this laptop" in wait_result(qtbot, w, "this laptop")
    elsewhere = relay_bundle(
        a_bundle,
        server_url=server.url,
        token=token,
        receipt_key=key,
        allow_insecure=True,
    )
    assert (elsewhere.outcomes, elsewhere.audit_envelopes) == ({"stored": 2}, 1)
    assert elsewhere.receipt is not None
    receipt_a = usb / "laptop-a-receipt.fsr"
    receipt_a.write_bytes(elsewhere.receipt)
    # Beside it, an acknowledgement of no packet of A's: refused (audited), nothing applied.
    acks_beside(receipt_a).write_bytes(b_ack + b"\n")
    page.apply_receipt_from(receipt_a)
    applied = wait_result(qtbot, w, "delivered")
    assert "2 screening(s) marked delivered" in applied
    assert "acknowledgement" not in applied
    page.apply_receipt_from(receipt_a)
    assert "already applied" in wait_result(qtbot, w, "already applied")
    assert storage.repos.reporting.count("envelopes") == 7 + 1
    with store.exclusive():
        assert store.vault.outbox_counts()["delivered"] == 2
        assert store.vault.integrity_check().ok

    # The view: this laptop's screenings delivered, B's relayed, and the history of each step.
    qtbot.waitUntil(lambda: page.history.rowCount() == 5, timeout=WAIT_MS)
    hows = column(page.history, 2)
    assert sorted(hows) == sorted(
        [
            "Relayed to the server",
            "Relayed to the server",
            "USB bundle written",
            "Receipt applied",
            "Receipt applied",
        ]
    )
    assert set(column(page.history, 1)) == {"cora"}
    laptops = column(page.groups, 0)
    assert laptops == ["This laptop", laptop_b.device_id[:8].upper()]
    assert column(page.groups, 4) == ["2", "5"]  # delivered
    assert page.failures.rowCount() == 0
    # The server's own view of the site's laptops, with the coordinator's credential.
    page.ask_server(token_file)
    qtbot.waitUntil(lambda: page.server.rowCount() == 2 and not page.busy, timeout=WAIT_MS)
    assert page.tabs.currentWidget() is page.server
    names = column(page.server, 0)
    assert names[0].startswith(store.vault.device_id[:8].upper())
    assert names[1] == laptop_b.device_id[:8].upper()
    assert column(page.server, 4) == ["2", "5"]  # held by the server (A's audit segment apart)
    assert column(page.server, 1) == [SITE, SITE]


def test_relay_without_a_credential_or_with_a_damaged_bundle_sends_nothing(  # noqa: PLR0917 -- fixtures
    qtbot: QtBot,
    paths: Paths,
    tmp_path: Path,
    storage: Storage,
    org: SimOrg,
    server: LiveServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = laptop_a(paths, storage, org, server)
    w = window(qtbot, paths, store)
    w.show_batches()
    page = w.batch_page
    bundle = tmp_path / "a.fsb"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(bundle), ""))
    page.export_button.click()  # the file is chosen in the dialog
    wait_result(qtbot, w, "written")
    assert read_bundle(bundle)[0] == store.vault.device_id
    data = bytearray(bundle.read_bytes())
    data[len(data) // 2] ^= 1
    damaged = tmp_path / "damaged.fsb"
    damaged.write_bytes(bytes(data))
    token_file = tmp_path / "token"
    token_file.write_text(
        storage.repos.credentials.create_credential("coordinator", [SITE], "c"), encoding="utf-8"
    )
    page.relay_from(damaged, token_file)
    assert "damaged" in wait_result(qtbot, w, "damaged")
    page.relay_from(bundle, None)
    assert "credential" in wait_result(qtbot, w, "credential")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: ("", ""))
    page.relay_button.click()  # cancelled: nothing happens
    assert not page.busy
    # the wrong file chosen as the credential: said, and forgotten, so the next try asks again
    wrong = tmp_path / "notes.txt"
    wrong.write_text("meeting notes, not a credential\n", encoding="utf-8")
    asked: list[str] = []

    def choose(*_args: object, **_kwargs: object) -> tuple[str, str]:
        asked.append("asked")
        return str(wrong), ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", choose)
    page.result.clear()
    page.choose_server()
    assert "credential" in wait_result(qtbot, w, "credential")
    assert page.token_file is None
    page.choose_server()
    assert asked == ["asked", "asked"]
    wait_result(qtbot, w, "credential")
    assert storage.repos.reporting.count("envelopes") == 0
