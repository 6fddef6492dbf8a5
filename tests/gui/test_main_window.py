from __future__ import annotations

from pytestqt.qtbot import QtBot

from fieldscreen.paths import Paths
from fieldscreen.settings import Settings
from fieldscreen.ui.main_window import MainWindow


def test_main_window_opens_on_the_welcome_screen(qtbot: QtBot, paths: Paths) -> None:
    window = MainWindow(Settings.load(paths.settings_file))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert window.stack.currentWidget() is window.welcome
    assert window.windowTitle() == "FieldScreen"
