"""The main window's parts: the screen registry and the controllers the window is a shell over."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from fieldscreen.errors import KnownError
from fieldscreen.ui.common import show_error

if TYPE_CHECKING:
    from fieldscreen.ui.common import Services
    from fieldscreen.ui.main_window import MainWindow

__all__ = ["WindowController"]


class WindowController(QObject):
    """A controller of one main window (its child): the window's services, and its errors
    shown over the window in the user's language."""

    def __init__(self, services: Services, window: MainWindow) -> None:
        super().__init__(window)
        self._services = services
        self._window = window

    def _error(self, error: KnownError) -> None:
        show_error(self._window, error, self._services.lang)
