"""The main window's language switch: every screen rebuilt in the other language at once,
keeping the user where they are (a screening in progress reopens on the same page).

The picker on the first-run and unlock screens remembers the choice in the settings; Settings
saves it itself and asks for the switch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication

from fieldscreen.errors import KnownError
from fieldscreen.ui.common import show_error

if TYPE_CHECKING:
    from fieldscreen.ui.common import Services
    from fieldscreen.ui.main_window import MainWindow

__all__ = ["LanguageSwitch"]


class LanguageSwitch(QObject):
    """Switches one window's screens between English and Spanish."""

    def __init__(self, services: Services, window: MainWindow) -> None:
        super().__init__(window)
        self._services = services
        self._window = window

    def choose(self, lang: str) -> None:
        """The picker on the first-run and unlock screens: switch now and remember it."""
        if lang == self._services.lang:
            return
        settings = self._services.settings
        try:
            settings.set("language", lang)
            settings.save()
        except KnownError as error:
            show_error(self._window, error, self._services.lang)
        QTimer.singleShot(0, lambda: self.switch(lang))  # not inside the picker's signal

    def switch(self, lang: str) -> None:
        """Switch every screen to ``lang`` now, keeping the user where they are."""
        from fieldscreen.ui.i18n import install_translator

        w = self._window
        app = QApplication.instance()
        if app is not None:
            install_translator(app, lang)
        self._services.lang = lang
        shown = w.stack.currentWidget()
        current = shown.objectName() if shown is not None else ""
        resume = None
        resume_saved = False
        if (controller := w.screening_controller()) is not None:
            controller.page = w.wizard.current_page_name()
            resume = (controller.session, controller.page, controller.record_id)
            resume_saved = controller.record_id is not None and not controller.saving
        old = w.centralWidget()
        w.build_screens()
        if old is not None:
            old.deleteLater()
        central = w.centralWidget()
        if w.isVisible() and central is not None:
            central.show()
        if self._services.user is None:
            if self._services.vault.is_set_up():
                w.show_unlock()
            else:
                w.stack.setCurrentWidget(w.first_run)
            return
        if resume is not None:
            w.wizard.open(*resume, saved=resume_saved)
            w.stack.setCurrentWidget(w.wizard)
        elif current == "settingsPage":
            w.show_settings()
        elif current == "casesPage":
            w.show_cases()
        elif current == "queuePage":
            w.show_queue()
        elif current == "batchPage":
            w.show_batches()
        elif current == "reportPage":
            w.show_report()
        else:
            w.show_home()
