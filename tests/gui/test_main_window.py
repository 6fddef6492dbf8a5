from __future__ import annotations

from pytestqt.qtbot import QtBot

from fieldscreen.paths import Paths
from fieldscreen.ui.main_window import MainWindow
from tests.gui.conftest import WAIT_MS, make_services
from tests.support.memory_vault import MemoryVault


def test_a_new_laptop_opens_on_first_run_and_a_set_up_one_on_unlock(
    qtbot: QtBot, paths: Paths
) -> None:
    window = MainWindow(make_services(paths))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window, timeout=WAIT_MS)
    assert window.stack.currentWidget() is window.first_run
    assert window.windowTitle() == "FieldScreen"
    assert not window.nav.isVisible()
    vault = MemoryVault.with_users([("ana", "specialist", "correct horse battery")])
    second = MainWindow(make_services(paths, vault))
    qtbot.addWidget(second)
    second.show()
    assert second.stack.currentWidget() is second.unlock_page
    assert second.unlock_page.passphrase.hasFocus() or not second.isActiveWindow()
    qtbot.waitUntil(lambda: second.unlock_page.user.currentData() == "ana", timeout=WAIT_MS)


def test_the_gui_self_test_renders_the_unlock_screen_and_form_pages(
    qtbot: QtBot, paths: Paths
) -> None:
    from fieldscreen.ui.selftest import render_main_screens

    assert render_main_screens(paths) >= 2  # one page per form, in each language


def test_quit_works_on_the_unlock_screen_and_ctrl_l_waits_for_a_user(
    qtbot: QtBot, paths: Paths
) -> None:
    vault = MemoryVault.with_users([("ana", "specialist", "correct horse battery")])
    window = MainWindow(make_services(paths, vault))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window, timeout=WAIT_MS)
    window.make_shortcuts()  # what the app does after the first paint
    window.make_shortcuts()  # and again at the first unlock: still one of each
    from PySide6.QtGui import QShortcut

    assert len(window.findChildren(QShortcut)) == 3  # lock, quit, panic
    assert window.lock_shortcut is not None
    assert window.quit_shortcut is not None
    assert window.panic_shortcut is not None
    keys = {s.key().toString() for s in window.findChildren(QShortcut)}
    assert len(keys) == 3  # no chord is taken twice
    window.lock_shortcut.activated.emit()  # nobody signed in: nothing to hide, nothing breaks
    assert window.stack.currentWidget() is window.unlock_page
    window.quit_shortcut.activated.emit()
    assert not window.isVisible()
