"""The GUI part of ``--self-test``: build the main screens offscreen and render them.

Each language renders the unlock screen and the first page of the screening wizard; an image
that is empty or too small fails the step.
"""

from __future__ import annotations

from fieldscreen.paths import Paths

__all__ = ["render_main_screens"]


def render_main_screens(paths: Paths) -> None:
    from fieldscreen.app import apply_style, create_application
    from fieldscreen.ui.i18n import install_translator
    from fieldscreen.ui.screenshots import SCREENS

    app = create_application()
    apply_style(app)
    try:
        for lang in ("en", "es"):
            install_translator(app, lang)
            for name in ("unlock", "consent"):
                window = SCREENS[name](paths, lang)
                window.show()
                app.processEvents()
                image = window.grab()
                if image.isNull() or image.width() < 100:
                    raise RuntimeError(f"the {name} screen did not render")
                window.close()
                window.deleteLater()
                app.processEvents()
    finally:
        install_translator(app, "en")
