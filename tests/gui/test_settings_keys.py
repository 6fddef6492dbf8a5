"""Settings on the real vault: an admin removes a user and rotates the keys, each after a
confirmation that says what happens and the passphrase again; other roles cannot."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QDialog, QDialogButtonBox, QMessageBox
from pytestqt.qtbot import QtBot

from fieldscreen import crypto
from fieldscreen.paths import Paths
from fieldscreen.ui.backends import VaultBackend
from fieldscreen.ui.dialogs import PassphraseDialog
from fieldscreen.ui.main_window import MainWindow
from fieldscreen.vault import UnlockFailed, Vault, VaultError
from tests.gui.conftest import PASS, WAIT_MS, settle
from tests.gui.test_journeys import click
from tests.gui.test_real_vault import backend, window

OTHER = "another good passphrase"


@pytest.fixture(autouse=True)
def light_kdf() -> Iterator[None]:
    crypto.permit_test_parameters(True)
    yield
    crypto.permit_test_parameters(False)


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


def _dialog(qtbot: QtBot, kind: type, name: str) -> QDialog:
    found: list[QDialog] = []

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
    click(qtbot, w.nav_settings)
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
    _confirm(qtbot, w, "An old copy of the key file then opens nothing")
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
    click(qtbot, w.nav_settings)
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
    click(qtbot, w.nav_settings)
    page = w.settings_page
    page.users.setCurrentRow(0)
    assert not page.remove_user.isEnabled()
    assert not page.rotate_keys.isEnabled()
