"""The unlock screen: pick a user, enter the passphrase.

It is the first thing start-up shows, so this module is kept small and cheap to import: no
vault, no ports' records at run time, and not the ``Qt`` namespace (creating its enums costs
about 20 ms). The first-run screen (:mod:`fieldscreen.ui.access`) shares its layout helpers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from fieldscreen.ui.common import heading, primary_button

if TYPE_CHECKING:
    from collections.abc import Sequence

    from PySide6.QtCore import QEvent

    from fieldscreen.errors import KnownError
    from fieldscreen.ui.common import Services
    from fieldscreen.ui.ports import UserInfo

__all__ = ["Card", "LanguagePicker", "UnlockPage", "at_right", "centred", "wait_seconds"]


def wait_seconds(failures: int) -> int:
    """How long the unlock button waits after ``failures`` wrong attempts in a row."""
    if failures < 3:
        return 0
    return int(min(2 ** (failures - 2), 300))


class Card(QFrame):
    """A centred column of limited width, so forms do not stretch across a wide screen."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        self.setMaximumWidth(620)
        self.column = QVBoxLayout(self)
        self.column.setContentsMargins(32, 28, 32, 28)
        self.column.setSpacing(12)


class LanguagePicker(QComboBox):
    """English / Español, always in its own language, on the screens before unlocking."""

    def __init__(self, lang: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("languagePicker")
        self.addItem("English", "en")
        self.addItem("Español", "es")
        self.setCurrentIndex(max(self.findData(lang), 0))
        self.setAccessibleName("Language / Idioma")


def centred(page: QWidget, lang: str) -> tuple[Card, LanguagePicker]:
    """Lay ``page`` out as a language picker at the top right and a centred card."""
    outer = QVBoxLayout(page)
    top = QHBoxLayout()
    top.addStretch(1)
    picker = LanguagePicker(lang, page)
    top.addWidget(picker)
    outer.addLayout(top)
    outer.addStretch(1)
    row = QHBoxLayout()
    row.addStretch(1)
    card = Card(page)
    row.addWidget(card, 4)
    row.addStretch(1)
    outer.addLayout(row)
    outer.addStretch(2)
    return card, picker


def at_right(widget: QWidget) -> QHBoxLayout:
    """A row that puts ``widget`` at its right end (a stretch, not ``Qt.AlignRight``, which
    would create the ``Qt`` namespace on the start-up path)."""
    row = QHBoxLayout()
    row.addStretch(1)
    row.addWidget(widget)
    return row


class UnlockPage(QWidget):
    """Pick a user, enter the passphrase. Growing waits after repeated failures."""

    did_unlock = Signal(object)  # UserInfo
    language_requested = Signal(str)

    def __init__(self, services: Services, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("unlockPage")
        self.services = services
        card, self.language = centred(self, services.lang)
        self.language.currentIndexChanged.connect(
            lambda _: self.language_requested.emit(str(self.language.currentData()))
        )
        card.column.addWidget(heading(self.tr("FieldScreen is locked"), card))
        self.note = QLabel(self._quick_note(), card)
        self.note.setWordWrap(True)
        card.column.addWidget(self.note)
        form = QFormLayout()
        self.user = QComboBox(card)
        self.user.setAccessibleName(self.tr("User"))
        self.passphrase = QLineEdit(card)
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase.setAccessibleName(self.tr("Passphrase"))
        form.addRow(self.tr("&User"), self.user)
        form.addRow(self.tr("&Passphrase"), self.passphrase)
        card.column.addLayout(form)
        self.error = QLabel("", card)
        self.error.setObjectName("fieldMessage")
        self.error.setWordWrap(True)
        self.error.hide()
        card.column.addWidget(self.error)
        self.unlock_button = primary_button(self.tr("&Unlock"), card)
        self.unlock_button.clicked.connect(self.attempt)
        self.passphrase.returnPressed.connect(self.attempt)
        card.column.addLayout(at_right(self.unlock_button))
        self._wait = QTimer(self)
        self._wait.setInterval(1000)
        self._wait.timeout.connect(self._tick)
        self._remaining = 0
        self._busy = False
        # After an idle lock the box takes no text until the user clearly begins (Enter or a
        # click): what was being typed for the child's answers never becomes a passphrase.
        self.waiting_to_begin = False
        self._watching_box = False

    def _quick_note(self) -> str:
        return self.tr("Case details are hidden. Enter your passphrase to continue.")

    def refresh_users(self, users: Sequence[UserInfo], preferred: str | None = None) -> None:
        self.show_logins([user.name for user in users], preferred)

    def show_logins(self, logins: Sequence[str], preferred: str | None = None) -> None:
        """List ``logins``; keep ``preferred`` (or the one chosen now) selected."""
        current = preferred or self.user.currentData()
        self.user.clear()
        for login in logins:
            self.user.addItem(login, login)
        index = self.user.findData(current)
        if index >= 0:
            self.user.setCurrentIndex(index)

    def prepare(self, idle_minutes: int = 0) -> None:
        """Show an empty box with the focus. ``idle_minutes``: the app locked itself after that
        long without input; say so, and take no text until the user begins."""
        self.passphrase.clear()
        self.error.hide()
        if idle_minutes > 0:
            self.note.setText(
                self.tr(
                    "FieldScreen locked itself after %d min without use. Your work is saved and "
                    "case details are hidden. Press Enter, or click the passphrase box, to type "
                    "your passphrase."
                )
                % idle_minutes
            )
            self.waiting_to_begin = True
            self.passphrase.setReadOnly(True)
            self.passphrase.setPlaceholderText(self.tr("Press Enter to type your passphrase"))
            if not self._watching_box:
                self.passphrase.installEventFilter(self)
                self._watching_box = True
        else:
            self.note.setText(self._quick_note())
            self._begin()
        self.passphrase.setFocus()

    def _begin(self) -> None:
        """The user began: the box takes the passphrase from now on."""
        self.waiting_to_begin = False
        self.passphrase.setReadOnly(False)
        self.passphrase.setPlaceholderText("")
        self.passphrase.clear()
        if self._watching_box:
            self.passphrase.removeEventFilter(self)
            self._watching_box = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """While waiting for the user to begin: Enter or a click begins; other keys are
        dropped (the box is read-only; Enter must not submit)."""
        if watched is not self.passphrase or not self.waiting_to_begin:
            return False
        from PySide6.QtCore import QEvent, Qt
        from PySide6.QtGui import QKeyEvent

        kind = event.type()
        if kind == QEvent.Type.MouseButtonPress:
            self._begin()
            return False
        if kind == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self._begin()
            return True
        return False

    def attempt(self) -> None:
        if self._busy or self._remaining > 0 or self.waiting_to_begin:
            return
        name = str(self.user.currentData() or "")
        passphrase = self.passphrase.text()
        self.passphrase.clear()
        if not name:
            return
        if not passphrase:  # an empty box is never an attempt (nor a counted failure)
            self.error.setText(self.tr("Type your passphrase, then press Enter."))
            self.error.show()
            self.passphrase.setFocus()
            return
        self._busy = True
        self.unlock_button.setEnabled(False)
        self.unlock_button.setText(self.tr("Unlocking…"))
        self.services.ops.write(
            lambda: self.services.vault.unlock(name, passphrase),
            self._unlocked,
            lambda error: self._failed(name, error),
        )

    def _unlocked(self, user: UserInfo) -> None:
        self._busy = False
        self._reset_button()
        self.error.hide()
        self.services.user = user
        self.did_unlock.emit(user)

    def _failed(self, name: str, error: KnownError) -> None:
        self._busy = False
        failures = self.services.vault.failed_attempts(name)
        self.error.setText(error.message(self.services.lang))
        self.error.show()
        self._remaining = wait_seconds(failures)
        if self._remaining:
            self._wait.start()
            self._tick(advance=False)
        else:
            self._reset_button()
        self.passphrase.setFocus()

    def _tick(self, advance: bool = True) -> None:
        if advance:
            self._remaining -= 1
        if self._remaining <= 0:
            self._wait.stop()
            self._reset_button()
            return
        self.unlock_button.setEnabled(False)
        self.unlock_button.setText(self.tr("Wait %d s") % self._remaining)

    def _reset_button(self) -> None:
        self.unlock_button.setEnabled(True)
        self.unlock_button.setText(self.tr("&Unlock"))
