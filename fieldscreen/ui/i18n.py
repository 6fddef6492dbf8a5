"""Loading the compiled Qt translations (``resources/translations/fieldscreen_<lang>.qm``)."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

from fieldscreen.errors import KnownError
from fieldscreen.paths import resource_path

__all__ = ["install_translator"]

_installed: list[QTranslator] = []


def install_translator(app: QCoreApplication, lang: str) -> None:
    """Replace the installed translators with those for ``lang`` (``en`` needs none)."""
    for translator in _installed:
        app.removeTranslator(translator)
    _installed.clear()
    QLocale.setDefault(QLocale(lang))
    if lang == "en":
        return
    ours = QTranslator(app)
    try:
        qm = resource_path("translations", f"fieldscreen_{lang}.qm")
    except KnownError:
        qm = None
    if qm is not None and ours.load(str(qm)):
        app.installTranslator(ours)
        _installed.append(ours)
    qt_base = QTranslator(app)
    if qt_base.load(f"qtbase_{lang}", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        app.installTranslator(qt_base)
        _installed.append(qt_base)
