"""Start a new screening shows a busy state at once, and a second press starts no second draft."""

from __future__ import annotations

from typing import Any

from pytestqt.qtbot import QtBot

from fieldscreen.ui.main_window import MainWindow
from tests.gui.conftest import settle, unlock
from tests.support.memory_vault import MemoryVault


def test_a_second_press_starts_no_second_draft(
    qtbot: QtBot, window: MainWindow, vault: MemoryVault
) -> None:
    w = window
    unlock(qtbot, w)
    seen: list[tuple[bool, str]] = []
    forms = w.services.forms
    start = forms.start

    def slow_start(lang: str) -> Any:  # what the button shows while the forms load
        seen.append((w.home.start.isEnabled(), w.home.start.text()))
        return start(lang)

    forms.start = slow_start  # type: ignore[method-assign]
    w.home.start.click()
    w.home.start.click()  # pressed again before the first press was answered
    w.start_screening()  # or by its shortcut
    settle(w)
    assert seen == [(False, "Starting the screening…")]
    assert len(vault.drafts()) == 1
    assert w.stack.currentWidget() is w.wizard
    w.show_home()
    settle(w)
    assert w.home.start.isEnabled()
    assert "Start a new screening" in w.home.start.text()
    w.home.start.click()
    settle(w)
    assert len(vault.drafts()) == 2  # a new press on Home is a new screening
