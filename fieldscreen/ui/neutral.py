"""The neutral screen the panic action leaves behind (Ctrl+Shift+F12).

It shows nothing of FieldScreen's work: no name, no count, no child, no hint that anything was
sealed, only a plain line and a button that leads to the ordinary unlock screen. The window's
title says the same neutral words while it is shown.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from fieldscreen.ui.common import push_button

__all__ = ["PANIC_SHORTCUT", "NeutralPage"]

# One chord no other action of the app uses, hard to press by accident, and no common desktop
# binds: the panic action works from every window of the app, signed in or not.
PANIC_SHORTCUT = "Ctrl+Shift+F12"


class NeutralPage(QWidget):
    """A blank page with one plain line; ``leave_requested`` when the user chooses to go on."""

    leave_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("neutralPage")
        column = QVBoxLayout(self)
        column.addStretch(1)
        self.text = QLabel(self.tr("Session ended."), self)
        self.text.setObjectName("neutralText")
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        column.addWidget(self.text)
        self.go_on = push_button(self.tr("Continue"), self)
        self.go_on.setObjectName("secondary")
        self.go_on.clicked.connect(self.leave_requested)
        column.addWidget(self.go_on, 0, Qt.AlignmentFlag.AlignCenter)
        column.addStretch(2)

    def title(self) -> str:
        """The window title while this page shows."""
        return self.tr("Session ended")
