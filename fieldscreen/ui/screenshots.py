"""``python -m fieldscreen.ui.screenshots OUT_DIR``: render the main screens offscreen to PNG.

Every entry of :data:`SCREENS` builds one screen in a given state over a throwaway profile; it is
rendered in English and Spanish as ``OUT_DIR/<name>-<lang>.png`` for the README and for review.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication, QWidget

from fieldscreen.app import create_application
from fieldscreen.paths import Paths
from fieldscreen.settings import Settings
from fieldscreen.ui.i18n import install_translator
from fieldscreen.ui.main_window import MainWindow

__all__ = ["SCREENS", "render_all"]

ScreenFactory = Callable[[Paths, str], QWidget]


def _welcome(paths: Paths, lang: str) -> QWidget:
    return MainWindow(Settings.load(paths.settings_file), lang=lang)


#: Screen name -> factory building it in a representative state.
SCREENS: dict[str, ScreenFactory] = {
    "welcome": _welcome,
}


def render_all(out_dir: Path, langs: tuple[str, ...] = ("en", "es")) -> list[Path]:
    app = create_application()
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for lang in langs:
        install_translator(app, lang)
        for name, factory in SCREENS.items():
            with tempfile.TemporaryDirectory(prefix="fieldscreen-shot-") as tmp:
                paths = Paths.for_profile(Path(tmp)).ensure()
                widget = factory(paths, lang)
                widget.show()
                _settle(app)
                target = out_dir / f"{name}-{lang}.png"
                if not widget.grab().save(str(target)):
                    raise RuntimeError(f"could not write {target}")
                written.append(target)
                widget.close()
                widget.deleteLater()
                _settle(app)
    install_translator(app, "en")
    return written


def _settle(app: QApplication) -> None:
    for _ in range(3):
        app.processEvents()


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else Path("docs/screenshots")
    for path in render_all(out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
