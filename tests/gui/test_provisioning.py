"""First run with a signed provisioning file on the real vault: found beside the app or
machine-wide, verified, shown (organisation, server, sites with jurisdiction, locked policies),
applied once the administrator exists; the site's jurisdiction reaches the forms' context."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from fieldscreen import crypto
from fieldscreen.app import AppContext, builtin_forms, provisioner_for
from fieldscreen.paths import Paths
from fieldscreen.settings import Settings
from fieldscreen.sync.signed import Provisioning, Site, sign_document
from fieldscreen.ui import provisioning as provisioning_module
from fieldscreen.ui.backends import VaultBackend
from fieldscreen.ui.common import Services
from fieldscreen.ui.main_window import MainWindow
from fieldscreen.ui.operations import Operations
from tests.gui.conftest import WAIT_MS

ADMIN_PASS = "correct horse battery staple"


pytestmark = pytest.mark.usefixtures("light_kdf")  # Argon2id at the test parameters


def signed_file(folder: Path, *, forged: bool = False) -> Path:
    _, sealing_public = crypto.generate_sealing_keypair()
    signing_private, signing_public = crypto.generate_signing_keypair()
    _, receipt_public = crypto.generate_signing_keypair()
    content = Provisioning(
        organisation="Red de Albergues",
        server_url="https://sync.example.org",
        sealing_public_key=sealing_public,
        signing_public_key=signing_public,
        receipt_public_key=receipt_public,
        sites=(Site("tij1", "Tijuana 1", "MX"), Site("sd1", "San Diego", "US")),
        language="en",
        policies={"auto_lock_minutes": 3},
    ).to_content()
    signer = crypto.generate_signing_keypair()[0] if forged else signing_private
    data = sign_document(
        "provisioning", "provisioning", "1", content, signer, signing_public
    ).to_bytes()
    path = folder / "fieldscreen-provisioning.json"
    path.write_bytes(data)
    return path


def make_window(qtbot: QtBot, paths: Paths) -> MainWindow:
    def on_bug(error: BaseException, text: str) -> None:
        raise AssertionError(text)

    light = crypto.KdfParams.for_tests()
    settings = Settings.load(paths.settings_file)
    services = Services(
        vault=VaultBackend(paths.data / "vault", kdf=light, new_key_kdf=light),
        forms=builtin_forms(AppContext(paths, settings, "en")),  # type: ignore[arg-type]
        settings=settings,
        ops=Operations(on_bug=on_bug),
    )
    w = MainWindow(services, provisioner=provisioner_for(services))
    qtbot.addWidget(w)
    w.show()
    return w


def test_first_run_applies_a_found_provisioning_file(
    qtbot: QtBot, paths: Paths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = signed_file(tmp_path)
    monkeypatch.setattr(provisioning_module, "provisioning_candidates", lambda: [path])
    w = make_window(qtbot, paths)
    first = w.first_run
    assert w.stack.currentWidget() is first
    assert "Red de Albergues" in first.provision_status.text()
    assert "Lock after this many idle minutes" in first.provision_status.text()  # locked
    assert first.server.text() == "https://sync.example.org"
    assert first.server.isReadOnly()
    sites = [first.site_choice.itemText(i) for i in range(first.site_choice.count())]
    assert sites == ["Tijuana 1 (MX)", "San Diego (US)"]
    first.site_choice.setCurrentIndex(1)
    first.name.setText("ana")
    first.passphrase.setText(ADMIN_PASS)
    first.repeat.setText(ADMIN_PASS)
    first.create_button.click()
    qtbot.waitUntil(lambda: w.services.user is not None, timeout=WAIT_MS)
    w.services.ops.wait_idle()
    settings = w.services.settings
    assert settings.get("site_id") == "sd1"
    assert settings.is_locked("auto_lock_minutes")
    assert settings.get("auto_lock_minutes") == 3
    assert settings.get("server_url") == "https://sync.example.org"
    store = w.services.vault
    assert isinstance(store, VaultBackend)
    assert store.vault.org_sealing_key() is not None
    # the site and its jurisdiction reach the screenings' context (statutory deadlines)
    context = w.services.forms.context
    assert isinstance(context, dict)  # the engine's own context, cleared below
    assert context["site"] == "sd1"
    assert context["jurisdiction"] == "US"
    # after a lock and an unlock the context is read again from the encrypted provisioning
    context.clear()
    w.lock()
    w.services.ops.wait_idle()
    qtbot.waitUntil(lambda: w.unlock_page.user.count() > 0, timeout=WAIT_MS)
    w.unlock_page.passphrase.setText(ADMIN_PASS)
    w.unlock_page.attempt()
    qtbot.waitUntil(
        lambda: (w.services.forms.context or {}).get("jurisdiction") == "US", timeout=WAIT_MS
    )
    w.services.ops.wait_idle()


def test_a_forged_file_is_refused_and_nothing_is_set(
    qtbot: QtBot, paths: Paths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = signed_file(tmp_path, forged=True)
    monkeypatch.setattr(provisioning_module, "provisioning_candidates", lambda: [path])
    w = make_window(qtbot, paths)
    first = w.first_run
    assert first.provisioning is None
    assert first.error.isVisibleTo(first)
    assert "Red de Albergues" not in first.provision_status.text()
    assert not first.server.isReadOnly()
    assert first.site.isVisibleTo(first)
    w.services.ops.wait_idle()


def test_no_file_means_settings_by_hand(
    qtbot: QtBot, paths: Paths, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(
        provisioning_module, "provisioning_candidates", lambda: [tmp_path / "absent.json"]
    )
    w = make_window(qtbot, paths)
    first = w.first_run
    assert first.provisioning is None
    assert not first.error.isVisibleTo(first)
    assert first.provision_button.isVisible()
    assert not first.site_choice.isVisibleTo(first)
    w.services.ops.wait_idle()


def test_the_apps_provisioner_offers_all_that_the_main_window_asks(paths: Paths) -> None:
    """The lazy provisioner the app wires forwards every method of the Provisioner port: the
    locked policies, the service directory and the enrolment are asked of it after unlock (a
    provisioner without them was once skipped without a word while the window probed)."""
    import inspect

    from fieldscreen.ui.access import Provisioner
    from fieldscreen.ui.provisioning import DeviceProvisioner

    light = crypto.KdfParams.for_tests()
    settings = Settings.load(paths.settings_file)
    services = Services(
        vault=VaultBackend(paths.data / "vault", kdf=light, new_key_kdf=light),
        forms=builtin_forms(AppContext(paths, settings, "en")),  # type: ignore[arg-type]
        settings=settings,
        ops=Operations(),
    )
    provisioner = provisioner_for(services)
    asked = [n for n, v in vars(Provisioner).items() if inspect.isfunction(v) and n[0] != "_"]
    assert {"enforce_policies", "service_directory", "enrolment_status"} <= set(asked)
    for name in asked:
        assert callable(getattr(provisioner, name, None)), name
        assert callable(getattr(DeviceProvisioner, name, None)), name
