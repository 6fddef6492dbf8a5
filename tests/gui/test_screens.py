"""Settings, the language switch at runtime, overrides with a supervisor, stopping, waits."""

from __future__ import annotations

from typing import TypeVar

from PySide6.QtWidgets import QApplication, QComboBox, QDialog, QLabel, QPushButton
from pytestqt.qtbot import QtBot

from fieldscreen.ui.access import wait_seconds
from fieldscreen.ui.dialogs import PassphraseDialog, ReasonDialog
from fieldscreen.ui.main_window import MainWindow
from tests.gui.conftest import WAIT_MS, current_page, settle, unlock
from tests.gui.test_journeys import click, consent_and_intake
from tests.support.memory_vault import MemoryVault

D = TypeVar("D", bound=QDialog)


def open_dialog(name: str, kind: type[D]) -> D:
    """The one visible top-level dialog named ``name``, checked to be a ``kind``."""
    dialogs = [
        w for w in QApplication.topLevelWidgets() if w.objectName() == name and w.isVisible()
    ]
    assert len(dialogs) == 1, [w.objectName() for w in QApplication.topLevelWidgets()]
    dialog = dialogs[0]
    assert isinstance(dialog, kind)
    return dialog


def test_unlock_waits_grow_after_repeated_failures() -> None:
    assert [wait_seconds(n) for n in range(7)] == [0, 0, 0, 2, 4, 8, 16]
    assert wait_seconds(40) == 300


def test_settings_save_and_switch_the_language_at_runtime(qtbot: QtBot, window: MainWindow) -> None:
    w = window
    unlock(qtbot, w)
    click(qtbot, w.nav.settings)
    page = w.settings_page
    assert w.stack.currentWidget() is page
    page.editors["auto_lock_minutes"].setValue(9)  # type: ignore[attr-defined]
    language = page.editors["language"]
    assert isinstance(language, QComboBox)
    language.setCurrentIndex(language.findData("es"))
    try:
        click(qtbot, page.save)
        settle(w)
        spanish_everywhere(qtbot, w)
    finally:
        w.language.switch("en")
    settle(w)
    assert w.nav.home.text() == "&Home"


def spanish_everywhere(qtbot: QtBot, w: MainWindow) -> None:
    assert w.services.settings.get("auto_lock_minutes") == 9
    assert w.idle.timer.interval() == 9 * 60_000
    assert w.services.lang == "es"
    assert current_page(w).objectName() == "settingsPage"
    texts = {b.text().replace("&", "") for b in w.findChildren(QPushButton) if b.isVisible()}
    assert "Guardar ajustes" in texts
    assert "Inicio" in texts
    assert "Save settings" not in texts
    click(qtbot, w.nav.home)
    settle(w)
    labels = {label.text() for label in w.findChildren(QLabel) if label.isVisible()}
    assert "Borradores por continuar" in labels


def test_a_tier_override_needs_a_reason_and_a_supervisors_passphrase(
    qtbot: QtBot, window: MainWindow, vault: MemoryVault
) -> None:
    w = window
    unlock(qtbot, w)
    consent_and_intake(qtbot, w, feared="no", work="no")
    click(qtbot, w.wizard.next)
    r = w.results
    assert r.tier_now == "T1"
    click(qtbot, r.override)
    reason = open_dialog("overrideDialog", ReasonDialog)
    ok = reason.buttons.button(reason.buttons.StandardButton.Ok)
    assert not ok.isEnabled()
    reason.choice.setCurrentIndex(reason.choice.findData("T0"))
    qtbot.keyClicks(reason.reason, "Threatening calls to the shelter")
    click(qtbot, ok)
    sign = open_dialog("signOffDialog", PassphraseDialog)
    assert sign.user.findData("ana") == -1  # not one's own
    sign.user.setCurrentIndex(sign.user.findData("sup"))
    qtbot.keyClicks(sign.passphrase, "wrong one")
    sign.buttons.accepted.emit()
    settle(w)
    assert sign.error.isVisible()
    assert r.tier_now == "T1"
    qtbot.keyClicks(sign.passphrase, "supervisor passphrase")
    sign.buttons.accepted.emit()
    settle(w)
    assert r.tier_now == "T0"
    assert r.overrides == {
        "tier": "T0",
        "reason": "Threatening calls to the shelter",
        "supervisor": "sup",
    }
    assert "overridden" in r.tier.text()
    assert not r.finalise.isEnabled()  # an act-now case needs the actions taken
    qtbot.keyClicks(r.actions_taken, "Safety plan with shelter staff")
    click(qtbot, r.finalise)
    qtbot.waitUntil(lambda: w.stack.currentWidget() is w.home, timeout=WAIT_MS)
    (record,) = vault.finalised.values()
    assert record["tier"] == "T0"
    assert record["result"]["tier"] == "T1"
    assert record["overrides"]["supervisor"] == "sup"


def test_stopping_keeps_the_draft_with_the_reason(
    qtbot: QtBot, window: MainWindow, vault: MemoryVault
) -> None:
    w = window
    unlock(qtbot, w)
    consent_and_intake(qtbot, w, feared="no", work="no")
    # The draft's id comes from its first write, on the writer: read it once the stop has
    # been written (reading it at once failed whenever the first autosave was still queued).
    controller = w.wizard.controller
    assert controller is not None
    click(qtbot, w.wizard.stop)
    dialog = open_dialog("stopDialog", ReasonDialog)
    dialog.choice.setCurrentIndex(dialog.choice.findData("distress"))
    qtbot.keyClicks(dialog.reason, "Cried, asked for her aunt")
    dialog.buttons.accepted.emit()
    settle(w)
    assert w.stack.currentWidget() is w.home
    record_id = controller.record_id
    assert record_id is not None
    draft = vault.load_draft(record_id) if vault._unlocked else None
    assert draft is not None
    assert draft["stopped"] == {"reason": "distress", "note": "Cried, asked for her aunt"}
    assert draft["session"]["answers"]["alias"] == "Ana"


def test_copied_case_text_is_cleared_after_the_set_time_and_on_lock(
    qtbot: QtBot, window: MainWindow
) -> None:
    w = window
    unlock(qtbot, w)
    clipboard = QApplication.clipboard()
    w.clipboard_guard.timer.setInterval(50)
    w.home.start.setFocus()
    clipboard.setText("Ana, 15, feared person nearby")
    assert w.clipboard_guard.timer.isActive()
    qtbot.waitUntil(lambda: clipboard.text() == "", timeout=WAIT_MS)
    w.clipboard_guard.timer.setInterval(60_000)
    clipboard.setText("Ana again")
    assert clipboard.text() == "Ana again"
    w.lock()
    settle(w)
    assert clipboard.text() == ""


def test_the_language_can_be_chosen_before_unlocking(qtbot: QtBot, window: MainWindow) -> None:
    w = window
    picker = w.unlock_page.language
    try:
        picker.setCurrentIndex(picker.findData("es"))
        qtbot.waitUntil(
            lambda: w.unlock_page.unlock_button.text() == "&Desbloquear", timeout=WAIT_MS
        )
        assert w.services.settings.get("language") == "es"
        assert w.unlock_page.language.currentData() == "es"
        unlock(qtbot, w)
        assert w.nav.home.text() == "&Inicio"
    finally:
        w.language.switch("en")


def test_the_navigation_bar_paints_its_dark_background(qtbot: QtBot, window: MainWindow) -> None:
    """The bar's brand and buttons are white on the bar's dark blue: the bar must paint the
    style sheet's background, or they vanish on the window's light grey."""
    from PySide6.QtGui import QColor

    from fieldscreen.app import apply_style

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    before = app.styleSheet()
    apply_style(app)
    try:
        unlock(qtbot, window)
        settle(window)
        bar = window.nav
        assert bar.isVisible()
        shot = window.grab().toImage()  # as the window shows it, not the bar on its own
        at = bar.mapTo(window, bar.rect().topLeft())
        corner = QColor(shot.pixel(at.x() + 2, at.y() + 2))
        assert (corner.red(), corner.green(), corner.blue()) == (0x1F, 0x3A, 0x4D)
    finally:
        app.setStyleSheet(before)
