"""The panic action: one chord (Ctrl+Shift+F12), no passphrase, from the middle of an interview
on the real vault: the screen goes neutral at once, the draft (with the answer just typed) is
sealed for the team, nothing readable is left, and the way back is the ordinary unlock."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from fieldscreen import crypto
from fieldscreen.paths import Paths
from fieldscreen.ui.main_window import MainWindow
from fieldscreen.ui.neutral import PANIC_SHORTCUT, NeutralPage
from tests.gui.conftest import PASS, WAIT_MS, current_page, settle, unlock
from tests.gui.test_journeys import click, consent_and_intake, type_into
from tests.gui.test_real_vault import backend, canary_hits, window

CANARY = "Zq7canaryXw"  # the same canary the real-vault tests look for in every file
CHORD = (Qt.Key.Key_F12, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)


pytestmark = pytest.mark.usefixtures("light_kdf")  # Argon2id at the test parameters


def _first_run(qtbot: QtBot, w: MainWindow) -> None:
    page = w.first_run
    qtbot.keyClicks(page.name, "ana")
    qtbot.keyClicks(page.passphrase, PASS)
    qtbot.keyClicks(page.repeat, PASS)
    qtbot.keyClick(page.repeat, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: w.stack.currentWidget() is w.home, timeout=WAIT_MS)
    settle(w)


def _visible_text(w: MainWindow) -> str:
    from PySide6.QtWidgets import QAbstractButton, QLabel, QLineEdit

    parts = [w.windowTitle()]
    for kind in (QLabel, QAbstractButton, QLineEdit):
        parts += [x.text() for x in w.findChildren(kind) if x.isVisible()]  # type: ignore[attr-defined]
    return "\n".join(parts)


def test_the_panic_chord_seals_the_interview_and_leaves_a_neutral_screen(
    qtbot: QtBot, paths: Paths
) -> None:
    store = backend(paths)
    w = window(qtbot, paths, store)
    _first_run(qtbot, w)
    sealing_private, sealing_public = crypto.generate_sealing_keypair()
    _signing_private, signing_public = crypto.generate_signing_keypair()
    store.vault.set_org_keys(sealing_public, signing_public)  # what provisioning does

    consent_and_intake(qtbot, w, feared="no", work="yes")
    type_into(qtbot, w, "notes", CANARY)  # typed, perhaps not yet saved, when the chord comes
    assert w.panic_shortcut is not None
    assert w.panic_shortcut.key().toString() == PANIC_SHORTCUT
    qtbot.keyClick(w.wizard.widgets["notes"].editor, *CHORD)  # type: ignore[attr-defined]
    # At once, before anything on disk has finished: neutral, nothing of the child on screen.
    assert current_page(w).objectName() == "neutralPage"
    assert w.services.user is None
    shown = _visible_text(w)
    assert "FieldScreen" not in shown
    assert CANARY not in shown
    assert "Ana" not in shown
    assert not w.nav.isVisible()
    settle(w)
    vault = store.vault
    assert not vault.is_unlocked
    assert [r.status for r in vault.list_records()] == ["purged"]  # nothing readable is left
    (item,) = vault.outbox_page(states=("pending",))
    assert item.kind == "draft"
    assert item.sealed is not None  # the team gets it at the next sync or bundle
    info = crypto.record_sealing_info(
        item.record_id, item.form_id, item.form_version, item.device_id
    )
    sealed = crypto.open_sealed(sealing_private, item.sealed, info=info, aad=b"")
    assert CANARY.encode() in sealed  # with the answer typed just before the chord
    assert canary_hits(paths) == 0
    # The way back is the ordinary unlock screen, and there is nothing to resume.
    click(qtbot, _neutral(w).go_on)
    assert w.stack.currentWidget() is w.unlock_page
    assert w.windowTitle() == "FieldScreen"
    unlock(qtbot, w)
    settle(w)
    assert w.stack.currentWidget() is w.home
    assert store.drafts() == []
    assert [w.home.drafts.item(i).text() for i in range(w.home.drafts.count())] == ["No drafts."]
    w.close()


def test_the_panic_chord_only_locks_where_travel_mode_is_switched_off(
    qtbot: QtBot, paths: Paths
) -> None:
    store = backend(paths)
    w = window(qtbot, paths, store)
    _first_run(qtbot, w)
    w.services.settings.set("travel_mode_allowed", False)
    consent_and_intake(qtbot, w, feared="no", work="yes")
    qtbot.keyClick(w.wizard.next, *CHORD)
    assert current_page(w).objectName() == "neutralPage"
    settle(w)
    assert not store.vault.is_unlocked
    assert [r.status for r in store.vault.list_records()] == ["draft"]  # kept, locked
    click(qtbot, _neutral(w).go_on)
    unlock(qtbot, w)
    settle(w)
    assert len(store.drafts()) == 1
    w.close()


def test_the_panic_chord_on_the_unlock_screen_goes_neutral_too(
    qtbot: QtBot, window: MainWindow
) -> None:
    w = window
    w.make_shortcuts()
    assert w.stack.currentWidget() is w.unlock_page
    qtbot.keyClicks(w.unlock_page.passphrase, "half a pass")
    qtbot.keyClick(w.unlock_page.passphrase, *CHORD)
    assert current_page(w).objectName() == "neutralPage"
    assert QApplication.focusWidget() is _neutral(w).go_on
    qtbot.keyClick(_neutral(w).go_on, Qt.Key.Key_Space)
    assert w.stack.currentWidget() is w.unlock_page
    assert w.unlock_page.passphrase.text() == ""  # what was half typed is gone


def _neutral(w: MainWindow) -> NeutralPage:
    page = current_page(w)
    assert isinstance(page, NeutralPage)
    return page
