"""Composition root of the desktop app: builds the collaborators and hands each screen its own.

Nothing else creates long-lived objects; screens receive what they need as arguments (no global
registry). Qt is allowed here and in :mod:`fieldscreen.ui` only.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from fieldscreen.paths import Paths
from fieldscreen.settings import Settings
from fieldscreen.ui.i18n import install_translator
from fieldscreen.ui.main_window import MainWindow

__all__ = ["AppContext", "build_context", "create_application", "run_gui"]

#: When set, the app quits as soon as the event loop is idle after the first window is shown.
#: Used by the start-up benchmark (P4) and the frozen smoke test; never by users.
QUIT_WHEN_IDLE_ENV = "FIELDSCREEN_QUIT_WHEN_IDLE"


@dataclass
class AppContext:
    """The long-lived collaborators of one running app."""

    paths: Paths
    settings: Settings
    lang: str


def build_context(profile: str | None = None, lang: str | None = None) -> AppContext:
    paths = Paths.resolve(profile).ensure()
    settings = Settings.load(paths.settings_file)
    return AppContext(paths=paths, settings=settings, lang=lang or settings.get("language"))


def create_application(argv: list[str] | None = None) -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("FieldScreen")
    app.setOrganizationName("FieldScreen")
    return app


def run_gui(profile: str | None = None, lang: str | None = None) -> int:
    """Start the desktop app; returns the process exit status."""
    app = create_application()
    context = build_context(profile, lang)
    install_translator(app, context.lang)
    window = MainWindow(context.settings, lang=context.lang)
    window.show()
    if os.environ.get(QUIT_WHEN_IDLE_ENV):
        QTimer.singleShot(0, app.quit)
    return app.exec()
