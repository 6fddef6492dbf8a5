"""After an unlock the screening comes back saved, and says so: "✓ Saved" does not wait for
the next edit to reappear."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from fieldscreen.ui.main_window import MainWindow
from tests.gui.conftest import WAIT_MS, settle, unlock


def test_saved_still_shows_after_unlock(qtbot: QtBot, window: MainWindow) -> None:
    w = window
    unlock(qtbot, w)
    w.start_screening()
    settle(w)
    wizard = w.wizard
    name = next(n for n, widget in wizard.widgets.items() if widget.view.kind == "text")
    wizard.widgets[name].set_value("Luz")
    wizard._answered(name, "Luz")
    qtbot.waitUntil(lambda: wizard.saved.text() == "✓ Saved", timeout=WAIT_MS)
    w.lock()
    settle(w)
    assert w.stack.currentWidget() is w.unlock_page
    w.grace.end()
    unlock(qtbot, w)
    settle(w)
    qtbot.waitUntil(lambda: w.stack.currentWidget() is w.wizard, timeout=WAIT_MS)
    assert w.wizard.controller is not None
    assert w.wizard.controller.session.value(name) == "Luz"
    assert w.wizard.saved.text() == "✓ Saved"
    assert w.wizard.saved.property("state") == "saved"
