"""Render resources/icons/fieldscreen.svg into the raster icons the installers need.

    QT_QPA_PLATFORM=offscreen python tools/make_icons.py

Writes fieldscreen-<size>.png (Linux desktop entry), fieldscreen.ico (Windows) and
fieldscreen.icns (macOS) beside the SVG, through Qt's own image writers.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"


def render(renderer: QSvgRenderer, size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    renderer.render(painter)
    painter.end()
    return image


def main() -> int:
    app = QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(ICONS / "fieldscreen.svg"))
    for size in (48, 128, 256):
        render(renderer, size).save(str(ICONS / f"fieldscreen-{size}.png"))
    render(renderer, 256).save(str(ICONS / "fieldscreen.ico"))
    render(renderer, 512).save(str(ICONS / "fieldscreen.icns"))
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
