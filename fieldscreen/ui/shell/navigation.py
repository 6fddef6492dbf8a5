"""The main window's navigation bar: its buttons are made when someone first signs in (it is
hidden while the app is locked, so start-up does not build them), and show what the signed-in
user may open. During a screening only Lock shows; the supervisor queue and batches show for
the supervisor capability, the report for coordinators and administrators.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from fieldscreen.ui.common import push_button, scale_font

if TYPE_CHECKING:
    from PySide6.QtWidgets import QPushButton

    from fieldscreen.ui.main_window import MainWindow

__all__ = ["NavigationBar"]


class NavigationBar(QWidget):
    """The bar over the window's screens; ``window`` is where its buttons lead."""

    home: QPushButton
    cases: QPushButton
    sync: QPushButton
    settings: QPushButton
    queue: QPushButton
    batches: QPushButton
    report: QPushButton
    lock: QPushButton

    def __init__(self, window: MainWindow, parent: QWidget) -> None:
        super().__init__(parent)
        self._window = window
        self.setObjectName("navBar")
        self.hide()
        self.built = False

    def build(self) -> None:
        """The bar's content, made at the first unlock."""
        from PySide6.QtCore import Qt  # not at start-up: the Qt namespace costs ~20 ms

        # A QWidget subclass paints a style sheet's background only when asked to: without this
        # the bar is transparent and its white brand and button text vanish on the window.
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        w = self._window
        bar = QHBoxLayout(self)
        bar.setContentsMargins(16, 8, 16, 8)
        brand = QLabel(self.tr("FieldScreen"), self)
        brand.setObjectName("brand")
        scale_font(brand, 1.25, bold=True)
        bar.addWidget(brand)
        bar.addStretch(1)
        self.home = push_button(self.tr("&Home"), self)
        self.cases = push_button(self.tr("&Cases"), self)
        self.sync = push_button(self.tr("S&ync"), self)
        self.settings = push_button(self.tr("Se&ttings"), self)
        self.queue = push_button(self.tr("Su&pervisor queue"), self)
        self.batches = push_button(self.tr("&Batches"), self)
        self.report = push_button(self.tr("&Report"), self)
        self.lock = push_button(self.tr("&Lock (Ctrl+L)"), self)
        buttons = (
            self.home,
            self.cases,
            self.sync,
            self.queue,
            self.batches,
            self.settings,
            self.report,
            self.lock,
        )
        for button in buttons:
            button.setObjectName("navButton")
            button.setAccessibleName(button.text().replace("&", ""))
            bar.addWidget(button)
        self.home.clicked.connect(w.show_home)
        self.cases.clicked.connect(w.show_cases)
        self.sync.clicked.connect(w.show_sync)
        self.settings.clicked.connect(w.show_settings)
        self.queue.clicked.connect(w.show_queue)
        self.batches.clicked.connect(w.show_batches)
        self.report.clicked.connect(w.show_report)
        self.lock.clicked.connect(w.lock)
        self.built = True

    def follow(
        self, *, signed_in: bool, in_screening: bool, supervises: bool, may_report: bool
    ) -> None:
        """Show the bar while someone is signed in, with the buttons they may use now."""
        if signed_in and not self.built:
            self.build()
        self.setVisible(signed_in)
        if not self.built:
            return
        for button in (self.home, self.cases, self.sync, self.settings):
            button.setEnabled(signed_in)
            button.setVisible(not in_screening)
        for button in (self.queue, self.batches):  # the supervisor capability only
            button.setEnabled(signed_in)
            button.setVisible(not in_screening and supervises)
        self.report.setEnabled(may_report)
        self.report.setVisible(may_report and not in_screening)
        self.lock.setEnabled(signed_in)
