"""The main window: one stack of screens, switched by the controllers."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from fieldscreen import __version__
from fieldscreen.settings import Settings

__all__ = ["MainWindow", "WelcomePage"]


class WelcomePage(QWidget):
    """The first screen until a vault exists."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcomePage")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(48, 48, 48, 48)
        layout.setSpacing(16)
        title = QLabel(self.tr("FieldScreen"))
        title.setObjectName("pageTitle")
        title.setAccessibleName(self.tr("FieldScreen"))
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 2.0)
        font.setBold(True)
        title.setFont(font)
        intro = QLabel(
            self.tr(
                "Protection screening for children on the move. Everything you record stays "
                "encrypted on this laptop until it is sent, sealed, to your organisation."
            )
        )
        intro.setWordWrap(True)
        version = QLabel(self.tr("Version %s") % __version__)
        version.setObjectName("versionLabel")
        layout.addStretch(1)
        layout.addWidget(title, alignment=Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(intro)
        layout.addWidget(version, alignment=Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)


class MainWindow(QMainWindow):
    """Top-level window. Screens are pages of :attr:`stack`."""

    def __init__(self, settings: Settings, lang: str = "en") -> None:
        super().__init__()
        self.settings = settings
        self.lang = lang
        self.setWindowTitle(self.tr("FieldScreen"))
        self.setObjectName("mainWindow")
        self.resize(1100, 760)
        self.stack = QStackedWidget(self)
        self.setCentralWidget(self.stack)
        self.welcome = WelcomePage(self.stack)
        self.stack.addWidget(self.welcome)
        self.quit_shortcut = QShortcut(QKeySequence(QKeySequence.StandardKey.Quit), self)
        self.quit_shortcut.activated.connect(self.close)
