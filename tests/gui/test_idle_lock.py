"""The idle lock designed for interviews: a warning with a countdown first, any input keeps the
app open, and what is typed in the moment of locking never reaches the passphrase box."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, Qt
from pytestqt.qtbot import QtBot

from fieldscreen.ui.main_window import MainWindow
from tests.gui.conftest import PASS, WAIT_MS, controller, settle, unlock
from tests.gui.test_journeys import click, consent_and_intake
from tests.support.memory_vault import MemoryVault


def short_idle(w: MainWindow, total_ms: int, warning_s: int) -> None:
    w.idle.warning_seconds = warning_s
    w.idle.timer.setInterval(total_ms)
    w.idle.start()


def test_a_warning_counts_down_first_and_any_input_keeps_the_app_open(
    qtbot: QtBot, window: MainWindow
) -> None:
    w = window
    unlock(qtbot, w)
    click(qtbot, w.home.start)
    assert w.stack.currentWidget() is w.wizard
    banner = w.idle_warning
    assert not banner.isVisible()
    for nudge in ("key", "mouse"):
        short_idle(w, 2_400, 2)  # the warning is at most half of it: from 1.2 s
        qtbot.waitUntil(banner.isVisible, timeout=WAIT_MS)
        assert w.services.user is not None  # a warning, not yet a lock
        text = banner.text.text()
        assert "locks in" in text
        assert " s " in text
        assert "saved" in text
        if nudge == "key":
            qtbot.keyClick(w.wizard, Qt.Key.Key_Shift)
        else:
            qtbot.mouseMove(w.wizard, QPoint(40, 40))
            qtbot.mouseMove(w.wizard, QPoint(60, 70))
        assert not banner.isVisible()
        assert w.services.user is not None
        assert w.idle.is_active()
        assert w.idle.left() > 1  # the wait started again
    # Nobody touches anything: the countdown runs out and the app locks.
    short_idle(w, 1_200, 1)
    qtbot.waitUntil(lambda: w.stack.currentWidget() is w.unlock_page, timeout=WAIT_MS)
    assert w.services.user is None
    assert not banner.isVisible()


def test_keys_typed_as_it_locks_never_reach_the_passphrase_box(
    qtbot: QtBot, window: MainWindow, vault: MemoryVault
) -> None:
    """The issue's case: the child's age "15" became a wrong passphrase, submitted by the next
    Tab and Space (a counted failure), and Alt+N left a character in the box."""
    w = window
    unlock(qtbot, w)
    consent_and_intake(qtbot, w, feared="no", work="no")
    age = w.wizard.widgets["age"].editor  # type: ignore[attr-defined]
    age.clear()
    qtbot.keyClicks(age, "1")
    w.grace.timer.setInterval(WAIT_MS)  # the moment lasts until the test ends it
    short_idle(w, 30, 0)  # the lock fires between the "1" and the "5"
    qtbot.waitUntil(lambda: w.stack.currentWidget() is w.unlock_page, timeout=WAIT_MS)
    w.idle.set_minutes(5)
    page = w.unlock_page
    # Where the keys land: the box has the focus; Tab would move it to the Unlock button.
    box = page.passphrase
    qtbot.keyClicks(box, "5")
    qtbot.keyClick(box, Qt.Key.Key_Tab)
    qtbot.keyClick(page.unlock_button, Qt.Key.Key_Space)
    qtbot.keyClick(box, Qt.Key.Key_N, Qt.KeyboardModifier.AltModifier)
    qtbot.keyClick(box, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    settle(w)
    assert page.passphrase.text() == ""
    assert vault.failed_attempts("ana") == 0
    assert not page.error.isVisible()
    note = page.note.text()
    assert "without use" in note
    assert "saved" in note
    # The moment has passed, but the box still takes nothing until the user clearly begins.
    w.grace.end()
    qtbot.keyClicks(page.passphrase, "5 more words")
    qtbot.keyClick(page.unlock_button, Qt.Key.Key_Space)
    settle(w)
    assert page.passphrase.text() == ""
    assert vault.failed_attempts("ana") == 0
    qtbot.keyClick(page.passphrase, Qt.Key.Key_Return)  # begins
    assert not page.waiting_to_begin
    qtbot.keyClicks(page.passphrase, PASS)
    qtbot.keyClick(page.passphrase, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: w.services.user is not None, timeout=WAIT_MS)
    settle(w)
    assert w.stack.currentWidget() is w.wizard
    assert w.wizard.current_page_name() == "intake"
    assert controller(w.wizard).session.value("age") == 1


def test_an_empty_box_is_never_an_attempt(
    qtbot: QtBot, window: MainWindow, vault: MemoryVault
) -> None:
    page = window.unlock_page
    qtbot.waitUntil(lambda: page.user.count() > 0, timeout=WAIT_MS)
    qtbot.keyClick(page.passphrase, Qt.Key.Key_Return)
    settle(window)
    assert vault.failed_attempts("ana") == 0
    assert page.error.isVisible()
    assert window.services.user is None


def test_the_quick_lock_takes_the_passphrase_at_once(qtbot: QtBot, window: MainWindow) -> None:
    w = window
    unlock(qtbot, w)
    short_idle(w, 30, 0)
    qtbot.waitUntil(lambda: w.stack.currentWidget() is w.unlock_page, timeout=WAIT_MS)
    w.idle.set_minutes(5)
    w.grace.end()
    qtbot.keyClick(w.unlock_page.passphrase, Qt.Key.Key_Return)
    unlock(qtbot, w)
    settle(w)
    qtbot.keyClick(w.home.start, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    settle(w)
    page = w.unlock_page
    assert w.stack.currentWidget() is page
    assert not page.waiting_to_begin
    assert "without use" not in page.note.text()
    assert not w.grace.active()
    unlock(qtbot, w)  # types at once, Enter submits


def test_an_interview_in_progress_gets_the_organisations_longer_idle_time(
    qtbot: QtBot, window: MainWindow
) -> None:
    """A child may talk for minutes without a key being pressed: while a screening is open the
    idle lock waits the organisation's interview time (a policy it may lock), elsewhere the
    usual one; the unlock screen says the time it waited."""
    w = window
    settings = w.services.settings
    settings.set("auto_lock_minutes", 5)
    settings.set("interview_lock_minutes", 20)
    unlock(qtbot, w)
    assert not w.idle_lock.interviewing
    assert w.idle.minutes == 5
    click(qtbot, w.home.start)
    assert w.stack.currentWidget() is w.wizard
    assert w.idle_lock.interviewing
    assert w.idle.minutes == 20
    assert w.idle.is_active()
    w.idle.idle.emit()  # the interview time has run out
    settle(w)
    assert "20 min" in w.unlock_page.note.text()
    assert w.idle.minutes == 5  # the unlock screen is no interview
    # the moment of locking is over: its grace timer has run (on a busy machine it may run late)
    qtbot.waitUntil(lambda: not w.grace.active(), timeout=WAIT_MS)
    w.unlock_page._begin()
    qtbot.keyClicks(w.unlock_page.passphrase, PASS)
    qtbot.keyClick(w.unlock_page.passphrase, "\r")
    qtbot.waitUntil(lambda: w.stack.currentWidget() is w.wizard, timeout=WAIT_MS)
    assert w.idle.minutes == 20
    # never shorter than the usual time, whatever the interview time says
    settings.set("interview_lock_minutes", 2)
    w.apply_settings()
    assert w.idle.minutes == 5


def test_the_interview_time_is_a_policy_the_organisation_may_lock(tmp_path: Path) -> None:
    from fieldscreen.settings import Settings

    settings = Settings.load(tmp_path / "settings.json")
    settings.lock("interview_lock_minutes", 30)
    assert settings.get("interview_lock_minutes") == 30
    assert settings.is_locked("interview_lock_minutes")
