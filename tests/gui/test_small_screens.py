"""Every main screen fits a small laptop (1024×640) in Spanish, the longer of the two languages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from fieldscreen.app import apply_style
from fieldscreen.paths import Paths
from fieldscreen.ui.i18n import install_translator
from fieldscreen.ui.main_window import MainWindow
from tools import screenshots

SMALL = (1024, 640)


@pytest.fixture
def spanish(qapp: QApplication) -> Iterator[QApplication]:
    """Spanish and the app's own stylesheet (its paddings make buttons wider than Qt's)."""
    sheet = qapp.styleSheet()
    apply_style(qapp)
    install_translator(qapp, "es")
    yield qapp
    install_translator(qapp, "en")
    qapp.setStyleSheet(sheet)


@pytest.mark.parametrize("name", [n for n in screenshots.SCREENS if n != "enrol"])
def test_the_screen_fits_a_small_laptop_in_spanish(
    qtbot: QtBot, tmp_path: Path, spanish: QApplication, name: str
) -> None:
    paths = Paths.for_profile(tmp_path).ensure()
    window = screenshots.SCREENS[name](paths, "es")
    assert isinstance(window, MainWindow)
    qtbot.addWidget(window)
    window.resize(*SMALL)
    window.show()
    screenshots._settle(window)
    # A window whose layouts need more than the screen is wider than asked (the nav bar, a row
    # of buttons): the right-hand buttons would be off the screen of a small laptop.
    assert window.width() <= SMALL[0], (name, window.minimumSizeHint())
    assert window.height() <= SMALL[1], (name, window.minimumSizeHint())
    window.services.ops.wait_idle()
