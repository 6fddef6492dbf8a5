""" "Enrol now" through the real widgets against a real server on loopback: first run with a
provisioning file, the dialog opens by itself; a wrong code says so and saves nothing; the right
code enrols the laptop and sync works; a server without the organisation's keys is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from fieldscreen import crypto
from fieldscreen.app import sync_factory_for
from fieldscreen.errors import render
from fieldscreen.paths import Paths
from fieldscreen.settings import Settings
from fieldscreen.sync.server.live import LiveServer
from fieldscreen.sync.server.storage import Storage
from fieldscreen.sync.signed import Provisioning, Site, sign_document
from fieldscreen.sync.simulate import SimOrg
from fieldscreen.ui.backends import VaultBackend
from fieldscreen.ui.common import Services
from fieldscreen.ui.enrol import EnrolDialog
from fieldscreen.ui.main_window import MainWindow
from fieldscreen.ui.operations import Operations
from fieldscreen.ui.ports import FormsPort
from fieldscreen.ui.preview import SampleForms
from fieldscreen.ui.provisioning import DeviceProvisioner
from tests.gui.conftest import WAIT_MS
from tests.integration.server_support import open_storage

PASS = "correct horse battery staple"


pytestmark = pytest.mark.usefixtures("light_kdf")  # Argon2id at the test parameters


@pytest.fixture
def org() -> SimOrg:
    return SimOrg()


@pytest.fixture
def storage(tmp_path: Path, org: SimOrg) -> Iterator[Storage]:
    store = open_storage(str(tmp_path / "server.sqlite3"))
    store.repos.keys.set_org_keys(org.name, org.sealing_public, org.signing_public)
    yield store
    store.close()


@pytest.fixture
def server(storage: Storage) -> Iterator[LiveServer]:
    live = LiveServer(storage).start()
    yield live
    live.stop()


def provisioning_file(
    tmp_path: Path, org: SimOrg, url: str, receipt_public: bytes, name: str = "prov.json"
) -> Path:
    content = Provisioning(
        organisation=org.name,
        server_url=url,
        sealing_public_key=org.sealing_public,
        signing_public_key=org.signing_public,
        receipt_public_key=receipt_public,
        sites=(Site("tij1", "Tijuana 1", "MX"),),
        allow_insecure_http=True,
    ).to_content()
    path = tmp_path / name
    path.write_bytes(
        sign_document("provisioning", "provisioning", "1", content, *org.signing).to_bytes()
    )
    return path


@pytest.fixture
def app_window(qtbot: QtBot, paths: Paths) -> Iterator[MainWindow]:
    light = crypto.KdfParams.for_tests()
    backend = VaultBackend(paths.vault_dir, kdf=light, new_key_kdf=light)
    forms: FormsPort = SampleForms()
    services = Services(
        vault=backend,
        forms=forms,
        settings=Settings.load(paths.settings_file),
        ops=Operations(),
    )
    window = MainWindow(
        services,
        provisioner=DeviceProvisioner(backend, services.settings),
        sync_factory=sync_factory_for(services),
    )
    qtbot.addWidget(window)
    window.show()
    yield window
    window.services.ops.wait_idle()
    window.services.sync = None
    if backend._vault is not None:
        backend._vault.close()


def first_run(qtbot: QtBot, window: MainWindow, provisioning: Path) -> EnrolDialog:
    page = window.first_run
    page._apply_provisioning(provisioning)  # what the file picker calls
    qtbot.keyClicks(page.name, "admin1")
    qtbot.keyClicks(page.passphrase, PASS)
    qtbot.keyClicks(page.repeat, PASS)
    page.create_button.click()
    qtbot.waitUntil(lambda: window.enrolment.dialog is not None, timeout=WAIT_MS)
    dialog = window.enrolment.dialog
    assert dialog is not None
    assert dialog.isVisible()
    assert dialog.server.text().startswith("http://127.0.0.1:")
    return dialog


def enter_code(qtbot: QtBot, dialog: EnrolDialog, code: str) -> None:
    dialog.code.clear()
    qtbot.keyClicks(dialog.code, code)
    qtbot.mouseClick(dialog.enrol_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.busy, timeout=WAIT_MS)


def enrolled(window: MainWindow) -> bool:
    provisioner = window.enrolment.provisioner
    assert isinstance(provisioner, DeviceProvisioner)
    return provisioner.enrolment_status().enrolled


def test_enrol_now_with_a_wrong_then_the_right_code(  # noqa: PLR0917 -- fixtures
    qtbot: QtBot,
    tmp_path: Path,
    app_window: MainWindow,
    org: SimOrg,
    storage: Storage,
    server: LiveServer,
) -> None:
    path = provisioning_file(tmp_path, org, server.url, storage.repos.keys.keys().receipt_public)
    dialog = first_run(qtbot, app_window, path)
    assert not dialog.enrol_button.isEnabled()  # no code yet

    enter_code(qtbot, dialog, "WRONG-CODE")
    assert dialog.error.isVisible()
    assert dialog.error.text() == render("sync-enrol-code", "en")
    assert not enrolled(app_window)  # nothing half-written
    assert app_window.services.sync is None
    assert storage.repos.reporting.count("devices") == 0  # nor on the server

    enter_code(qtbot, dialog, storage.repos.credentials.create_enrol_code("tij1"))
    assert not dialog.error.isVisible()
    assert "tij1" in dialog.step_label.text()
    assert enrolled(app_window)
    assert storage.repos.reporting.count("devices") == 1
    qtbot.waitUntil(lambda: app_window.services.sync is not None, timeout=WAIT_MS)
    model = app_window.services.sync
    assert model is not None
    summary = model.sync_now()  # sync works with the new credential
    assert summary is not None, model.background.last_error
    assert model.background.last_error is None
    dialog.later.click()
    assert not dialog.isVisible()
    app_window.show_settings()
    app_window.services.ops.wait_idle()
    state = app_window.settings_page.enrolment.text()
    assert "tij1" in state
    assert state.startswith("Enrolled with http://127.0.0.1:")


def test_a_server_without_the_organisation_keys_is_refused(  # noqa: PLR0917 -- fixtures
    qtbot: QtBot,
    tmp_path: Path,
    app_window: MainWindow,
    org: SimOrg,
    storage: Storage,
    server: LiveServer,
) -> None:
    _, other_receipt = crypto.generate_signing_keypair()
    path = provisioning_file(tmp_path, org, server.url, other_receipt)
    dialog = first_run(qtbot, app_window, path)
    enter_code(qtbot, dialog, storage.repos.credentials.create_enrol_code("tij1"))
    assert dialog.error.text() == render("enrol-wrong-organisation", "en")
    assert not enrolled(app_window)
    assert (
        storage.repos.reporting.count("devices") == 0
    )  # refused before the code was spent: nothing to revoke
    dialog.later.click()  # "Later": the app goes on offline
    assert app_window.stack.currentWidget() is app_window.home


def test_later_and_an_unreachable_server(
    qtbot: QtBot, tmp_path: Path, app_window: MainWindow, org: SimOrg
) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _, receipt = crypto.generate_signing_keypair()
    path = provisioning_file(tmp_path, org, f"http://127.0.0.1:{port}", receipt)
    dialog = first_run(qtbot, app_window, path)
    enter_code(qtbot, dialog, "ABCD-EFGH")
    assert "could not be reached" in dialog.error.text()
    assert not enrolled(app_window)
    dialog.later.click()
    app_window.show_settings()
    app_window.settings_page.enrol.click()  # later, from Settings → Server
    qtbot.waitUntil(lambda: app_window.enrolment.dialog is not dialog, timeout=WAIT_MS)
    shown = app_window.enrolment.dialog
    assert shown is not None
    assert shown.isVisible()


def directory_doc(org: SimOrg, site: str, version: str, *, broken: bool = False) -> bytes:
    import json

    from fieldscreen.paths import resource_path

    data = json.loads(resource_path("samples", "service-directory-mx.json").read_text())
    data.update(sample_data=False, version=version)
    data["site"]["id"] = site
    if broken:
        data["services"][0]["provider_kind"] = "unknown"
    content = json.dumps(data).encode()
    return sign_document("directory", f"dir-{site}", version, content, *org.signing).to_bytes()


def test_the_directory_comes_down_on_sync_and_a_bad_one_is_refused(  # noqa: PLR0917 -- fixtures
    qtbot: QtBot,
    tmp_path: Path,
    app_window: MainWindow,
    org: SimOrg,
    storage: Storage,
    server: LiveServer,
) -> None:
    import sqlalchemy as sa

    w = app_window
    path = provisioning_file(tmp_path, org, server.url, storage.repos.keys.keys().receipt_public)
    dialog = first_run(qtbot, w, path)
    enter_code(qtbot, dialog, storage.repos.credentials.create_enrol_code("tij1"))
    dialog.later.click()
    qtbot.waitUntil(lambda: w.services.sync is not None, timeout=WAIT_MS)
    assert w.enrolment.directory is None
    storage.repos.documents.publish(directory_doc(org, "tij1", "2026-11-01"), "admin")
    storage.repos.documents.publish(
        directory_doc(org, "sd1", "2026-11-01"), "admin"
    )  # another site's

    def sync() -> None:
        w.show_sync()
        w.sync_page.sync_now()
        qtbot.waitUntil(lambda: not w.sync_page.busy, timeout=WAIT_MS)
        w.services.ops.wait_idle()

    sync()
    directory = w.enrolment.directory
    assert directory is not None
    assert (directory.site_id, directory.version, directory.sample) == ("tij1", "2026-11-01", False)
    assert w.results.directory is directory

    # A directory altered on the server after signing: refused, the one in use stays.
    storage.repos.documents.publish(directory_doc(org, "tij1", "2026-11-02"), "admin")
    from fieldscreen.sync.server import db as tables

    with storage.engine.begin() as conn:
        row = conn.execute(
            sa.select(tables.documents.c.document).where(tables.documents.c.version == "2026-11-02")
        ).scalar_one()
        document = __import__("json").loads(row)
        document["content"] = document["content"][:-8] + "AAAAAAA="
        conn.execute(
            tables.documents.update()
            .where(tables.documents.c.version == "2026-11-02")
            .values(document=__import__("json").dumps(document).encode())
        )
    sync()
    assert "not signed by your organisation" in w.sync_page.result.text()
    assert w.enrolment.directory is not None
    assert w.enrolment.directory.version == "2026-11-01"

    # Signed but malformed: refused as well.
    with storage.engine.begin() as conn:
        conn.execute(tables.documents.delete().where(tables.documents.c.version == "2026-11-02"))
    storage.repos.documents.publish(directory_doc(org, "tij1", "2026-11-03", broken=True), "admin")
    sync()
    assert "cannot be used" in w.sync_page.result.text()
    assert w.enrolment.directory.version == "2026-11-01"

    # A newer signed file loaded by the administrator from Settings.
    newer = tmp_path / "directory.json"
    newer.write_bytes(directory_doc(org, "tij1", "2026-11-04"))
    w.enrolment.import_directory(str(newer))
    w.services.ops.wait_idle()
    assert w.enrolment.directory.version == "2026-11-04"


def test_without_provisioning_the_dialog_reads_the_file_then_enrols(  # noqa: PLR0917 -- fixtures
    qtbot: QtBot,
    tmp_path: Path,
    app_window: MainWindow,
    org: SimOrg,
    storage: Storage,
    server: LiveServer,
) -> None:
    page = app_window.first_run
    qtbot.keyClicks(page.server, server.url)  # typed by hand: no provisioning file yet
    qtbot.keyClicks(page.name, "admin1")
    qtbot.keyClicks(page.passphrase, PASS)
    qtbot.keyClicks(page.repeat, PASS)
    page.create_button.click()
    qtbot.waitUntil(lambda: app_window.enrolment.dialog is not None, timeout=WAIT_MS)
    dialog = app_window.enrolment.dialog
    assert dialog is not None
    assert dialog.provision_button.isVisible()
    assert not dialog.code.isEnabled()  # the server's keys come from the provisioning file
    assert not dialog.enrol_button.isEnabled()
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"{}")
    dialog.use_provisioning_file(bad)
    assert dialog.error.isVisible()
    assert not dialog.provision_button.isHidden()
    path = provisioning_file(tmp_path, org, server.url, storage.repos.keys.keys().receipt_public)
    dialog.use_provisioning_file(path)
    qtbot.waitUntil(lambda: dialog.status.provisioned, timeout=WAIT_MS)
    assert dialog.server.text() == server.url
    assert dialog.provision_button.isHidden()
    enter_code(qtbot, dialog, storage.repos.credentials.create_enrol_code("tij1"))
    assert not dialog.error.isVisible(), dialog.error.text()
    assert enrolled(app_window)
