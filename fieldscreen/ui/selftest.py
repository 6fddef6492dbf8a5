"""The GUI part of ``--self-test``: build the main screens offscreen and render them."""

from __future__ import annotations

from fieldscreen.paths import Paths
from fieldscreen.settings import Settings

__all__ = ["render_main_screens"]


def render_main_screens(paths: Paths) -> None:
    from fieldscreen.app import create_application
    from fieldscreen.ui.i18n import install_translator
    from fieldscreen.ui.main_window import MainWindow

    app = create_application()
    for lang in ("en", "es"):
        install_translator(app, lang)
        window = MainWindow(Settings.load(paths.settings_file), lang=lang)
        window.show()
        app.processEvents()
        image = window.grab()
        if image.isNull() or image.width() < 100:
            raise RuntimeError("the main window did not render")
        window.close()
        window.deleteLater()
    install_translator(app, "en")
