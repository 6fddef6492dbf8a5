"""Settings on the real vault: an admin removes a user, changes a user's role and rotates the keys,
each after a confirmation that says what happens and the passphrase again, a rotation behind a
progress dialog; other roles cannot."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any, TypeVar

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QMessageBox,
    QProgressDialog,
)
from pytestqt.qtbot import QtBot

from fieldscreen.paths import Paths
from fieldscreen.ui.backends import VaultBackend
from fieldscreen.ui.dialogs import PassphraseDialog
from fieldscreen.ui.main_window import MainWindow
from fieldscreen.ui.settings_page import PassphraseChangeDialog, RoleDialog
from fieldscreen.vault import UnlockFailed, Vault, VaultError
from tests.gui.conftest import PASS, WAIT_MS, settle
from tests.gui.test_journeys import click
from tests.gui.test_real_vault import backend, window

OTHER = "another good passphrase"


pytestmark = pytest.mark.usefixtures("light_kdf")  # Argon2id at the test parameters


@pytest.fixture
def store(paths: Paths) -> VaultBackend:
    store = backend(paths)
    store.create_user("admin1", "admin", PASS)
    store.unlock("admin1", PASS)
    store.create_user("spec1", "specialist", OTHER, PASS)
    store.vault.new_draft("fs_intake", "1", {"answer": "kept"})
    store.lock()
    return store


def _unlock_as(qtbot: QtBot, w: MainWindow, login: str, passphrase: str) -> None:
    page = w.unlock_page
    qtbot.waitUntil(lambda: page.user.count() > 1, timeout=WAIT_MS)
    page.user.setCurrentIndex(page.user.findText(login))
    qtbot.keyClicks(page.passphrase, passphrase)
    qtbot.keyClick(page.passphrase, "\r")
    qtbot.waitUntil(lambda: w.services.user is not None, timeout=WAIT_MS)


D = TypeVar("D", bound=QDialog)


def _dialog(qtbot: QtBot, kind: type[D], name: str) -> D:
    found: list[D] = []

    def visible() -> bool:
        found[:] = [
            d
            for d in QApplication.topLevelWidgets()
            if isinstance(d, kind) and d.isVisible() and d.objectName() == name
        ]
        return bool(found)

    qtbot.waitUntil(visible, timeout=WAIT_MS)
    return found[0]


def _confirm(qtbot: QtBot, w: MainWindow, words: str) -> None:
    sure = _dialog(qtbot, QMessageBox, "sureDialog")
    assert isinstance(sure, QMessageBox)
    assert words in sure.text()
    sure.done(QMessageBox.StandardButton.Yes)
    dialog = _dialog(qtbot, PassphraseDialog, "confirmDialog")
    assert isinstance(dialog, PassphraseDialog)
    dialog.passphrase.setText(PASS)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    ok.click()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=WAIT_MS)
    settle(w)


def _generation(paths: Paths) -> int:
    with Vault.open(paths.data / "vault") as vault:
        keyring = vault._require_keyring()
        return keyring.current.generation


def test_an_admin_removes_a_user_and_rotates_the_keys(
    qtbot: QtBot, paths: Paths, store: VaultBackend, tmp_path: Path
) -> None:
    old_keys = tmp_path / "old.keys"
    shutil.copy(paths.data / "vault" / "vault.keys", old_keys)
    w = window(qtbot, paths, store)
    _unlock_as(qtbot, w, "admin1", PASS)
    click(qtbot, w.nav.settings)
    page = w.settings_page
    assert page.rotate_keys.isEnabled()
    assert not page.remove_user.isEnabled()  # nobody selected yet
    page.users.setCurrentRow(page.users.count() - 1)
    assert page.users.currentItem().text().startswith("spec1")
    assert page.remove_user.isEnabled()
    before = _generation(paths)
    page.remove_user.click()
    _confirm(qtbot, w, "spec1 will no longer be able to unlock this laptop")
    qtbot.waitUntil(lambda: "spec1 removed" in page.status.text(), timeout=WAIT_MS)
    assert [u.name for u in store.users()] == ["admin1"]
    assert _generation(paths) == before + 1
    page.rotate_keys.click()
    _confirm(qtbot, w, "its owner changes it instead")
    qtbot.waitUntil(lambda: "moved to new keys" in page.status.text(), timeout=WAIT_MS)
    assert _generation(paths) == before + 2
    assert len(store.drafts()) == 1  # nothing lost
    w.close()
    store.lock()
    with Vault.open(paths.data / "vault") as vault, pytest.raises(UnlockFailed):
        vault.unlock("spec1", OTHER.encode())
    shutil.copy(old_keys, paths.data / "vault" / "vault.keys")
    with Vault.open(paths.data / "vault") as vault, pytest.raises(VaultError):
        vault.unlock("spec1", OTHER.encode())  # the old key file opens nothing


def test_a_cancelled_confirmation_changes_nothing(
    qtbot: QtBot, paths: Paths, store: VaultBackend
) -> None:
    w = window(qtbot, paths, store)
    _unlock_as(qtbot, w, "admin1", PASS)
    click(qtbot, w.nav.settings)
    before = _generation(paths)
    w.settings_page.rotate_keys.click()
    sure = _dialog(qtbot, QMessageBox, "sureDialog")
    sure.done(QMessageBox.StandardButton.Cancel)
    settle(w)
    assert _generation(paths) == before


def test_a_specialist_can_neither_remove_nor_rotate(
    qtbot: QtBot, paths: Paths, store: VaultBackend
) -> None:
    w = window(qtbot, paths, store)
    _unlock_as(qtbot, w, "spec1", OTHER)
    click(qtbot, w.nav.settings)
    page = w.settings_page
    page.users.setCurrentRow(0)
    assert not page.remove_user.isEnabled()
    assert not page.rotate_keys.isEnabled()


def _role_dialog(qtbot: QtBot, role: str) -> None:
    dialog = _dialog(qtbot, RoleDialog, "roleDialog")
    assert isinstance(dialog, RoleDialog)
    dialog.role.setCurrentIndex(dialog.role.findData(role))
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()


def _passphrase(qtbot: QtBot) -> None:
    dialog = _dialog(qtbot, PassphraseDialog, "confirmDialog")
    assert isinstance(dialog, PassphraseDialog)
    dialog.passphrase.setText(PASS)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()


def test_an_admin_changes_a_role_from_the_users_screen_behind_a_progress_dialog(
    qtbot: QtBot, paths: Paths, store: VaultBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A promotion (no new keys) and a demotion (said first, then new keys behind a progress
    dialog that holds the window until the rotation ends), through the vault's own
    ``change_role``, the command line's call."""
    w = window(qtbot, paths, store)
    _unlock_as(qtbot, w, "admin1", PASS)
    click(qtbot, w.nav.settings)
    page = w.settings_page
    assert not page.change_role.isEnabled()  # nobody selected
    page.users.setCurrentRow(0)
    assert page.users.currentItem().text().startswith("admin1")
    assert not page.change_role.isEnabled()  # not one's own role
    page.users.setCurrentRow(page.users.count() - 1)
    assert page.change_role.isEnabled()
    before = _generation(paths)
    page.change_role.click()
    _role_dialog(qtbot, "coordinator")
    _passphrase(qtbot)
    qtbot.waitUntil(lambda: "spec1 is now coordinator" in page.status.text(), timeout=WAIT_MS)
    assert {u.name: u.role for u in store.users()}["spec1"] == "coordinator"
    assert _generation(paths) == before  # a promotion only re-signs the roster
    gate, seen = threading.Event(), []
    real = store.change_role

    def held(*args: Any) -> Any:
        assert gate.wait(WAIT_MS / 1000)
        return real(*args)

    monkeypatch.setattr(store, "change_role", held)
    page.users.setCurrentRow(page.users.count() - 1)
    page.change_role.click()
    _role_dialog(qtbot, "specialist")
    sure = _dialog(qtbot, QMessageBox, "sureDialog")
    assert "moves to new keys" in sure.text()
    sure.done(QMessageBox.StandardButton.Yes)
    _passphrase(qtbot)
    progress = _dialog(qtbot, QProgressDialog, "rekeyProgress")
    seen.append(progress.isModal() or progress.windowModality() != Qt.WindowModality.NonModal)
    assert "keep the laptop on" in progress.labelText()
    gate.set()
    qtbot.waitUntil(lambda: "spec1 is now specialist" in page.status.text(), timeout=WAIT_MS)
    assert not progress.isVisible()
    assert seen == [True]
    assert "moved to new keys" in page.status.text()
    assert {u.name: u.role for u in store.users()}["spec1"] == "specialist"
    assert _generation(paths) == before + 1
    assert len(store.drafts()) == 1  # nothing lost
    w.close()


def test_rotating_the_keys_shows_a_progress_dialog_until_it_ends(
    qtbot: QtBot, paths: Paths, store: VaultBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = window(qtbot, paths, store)
    _unlock_as(qtbot, w, "admin1", PASS)
    click(qtbot, w.nav.settings)
    page = w.settings_page
    gate = threading.Event()
    real = store.rotate_keys

    def held(confirm: str) -> Any:
        assert gate.wait(WAIT_MS / 1000)
        return real(confirm)

    monkeypatch.setattr(store, "rotate_keys", held)
    page.rotate_keys.click()
    sure = _dialog(qtbot, QMessageBox, "sureDialog")
    sure.done(QMessageBox.StandardButton.Yes)
    _passphrase(qtbot)
    progress = _dialog(qtbot, QProgressDialog, "rekeyProgress")
    assert progress.isVisible()
    gate.set()
    qtbot.waitUntil(lambda: not progress.isVisible(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "moved to new keys" in page.status.text(), timeout=WAIT_MS)
    w.close()


def test_a_specialist_cannot_change_a_role(qtbot: QtBot, paths: Paths, store: VaultBackend) -> None:
    w = window(qtbot, paths, store)
    _unlock_as(qtbot, w, "spec1", OTHER)
    click(qtbot, w.nav.settings)
    page = w.settings_page
    for row in range(page.users.count()):
        page.users.setCurrentRow(row)
        assert not page.change_role.isEnabled()
    w.close()


def test_a_specialist_changes_their_passphrase_and_an_admin_signs_the_new_key_in(
    qtbot: QtBot, paths: Paths, store: VaultBackend, tmp_path: Path
) -> None:
    """Settings → "Change my passphrase…" on the real vault: the dialog refuses a mismatch, the
    change runs behind the progress dialog, the old passphrase then opens nothing (nor does
    the key file from before with it), and the next admin unlock signs the new key in."""
    old_keys = tmp_path / "old.keys"
    shutil.copy(paths.data / "vault" / "vault.keys", old_keys)
    new = "a brand new specialist passphrase"
    w = window(qtbot, paths, store)
    _unlock_as(qtbot, w, "spec1", OTHER)
    click(qtbot, w.nav.settings)
    page = w.settings_page
    assert page.change_passphrase.isEnabled()
    page.change_passphrase.click()
    dialog = _dialog(qtbot, PassphraseChangeDialog, "passphraseChangeDialog")
    dialog.current.setText(OTHER)
    dialog.passphrase.setText(new)
    dialog.repeat.setText(new + "x")
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert dialog.isVisible()
    assert "different" in dialog.error.text()
    dialog.repeat.setText(new)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    qtbot.waitUntil(lambda: "passphrase was changed" in page.status.text(), timeout=WAIT_MS)
    assert "administrator's next unlock" in page.status.text()
    assert dialog.current.text() == dialog.passphrase.text() == ""  # not kept in the widgets
    assert len(store.drafts()) == 1  # nothing lost
    w.close()
    store.lock()
    with Vault.open(paths.data / "vault") as vault:
        assert [u.login for u in vault._require_keyring().current.changes] == ["spec1"]
        with pytest.raises(UnlockFailed):
            vault.unlock("spec1", OTHER.encode())
        vault.unlock("spec1", new.encode())
        vault.lock()
        vault.unlock("admin1", PASS.encode())
        assert not vault._require_keyring().current.changes  # signed in by the admin
        vault.lock()
        vault.unlock("spec1", new.encode())
    shutil.copy(old_keys, paths.data / "vault" / "vault.keys")
    with Vault.open(paths.data / "vault") as vault, pytest.raises(VaultError):
        vault.unlock("spec1", OTHER.encode())  # the key file from before opens nothing


def test_the_passphrase_change_dialog_speaks_spanish(qtbot: QtBot) -> None:
    from fieldscreen.ui.i18n import install_translator

    app = QApplication.instance()
    assert app is not None
    install_translator(app, "es")
    try:
        dialog = PassphraseChangeDialog()
        qtbot.addWidget(dialog)
        assert dialog.windowTitle() == "Cambiar mi frase de acceso"
        dialog.current.setText("x")
        dialog.passphrase.setText("y")
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
        assert "caracteres" in dialog.error.text()
    finally:
        install_translator(app, "en")
