"""P4's baseline: a bare PySide6 window of the app's size, shown, then quit when idle."""

from __future__ import annotations

import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow

app = QApplication(sys.argv[:1])
window = QMainWindow()
window.resize(1100, 760)
window.show()
QTimer.singleShot(0, app.quit)
sys.exit(app.exec())
