"""Dialogs the screens open after unlock: a second passphrase, and a reason.

Kept apart from :mod:`fieldscreen.ui.common` (which re-exports them) because the unlock screen
needs none of their widget types at start-up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from fieldscreen.ui.operations import Operations
    from fieldscreen.ui.ports import UserInfo

__all__ = ["PassphraseDialog", "ReasonDialog"]

#: Wide enough that an explanation reads as a paragraph, not a column of two-word lines.
DIALOG_MIN_WIDTH = 460


def _name_the_action(dialog: QDialog, buttons: QDialogButtonBox, title: str) -> QPushButton:
    """The confirming button says what it does (the dialog's title: "Switch on travel mode",
    "Stop the interview"), not "OK", so a tired user does not confirm the wrong thing."""
    dialog.setMinimumWidth(DIALOG_MIN_WIDTH)
    ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
    ok.setText(title)
    return ok


class PassphraseDialog(QDialog):
    """A second passphrase entry: for sensitive actions, and for a supervisor's sign-off.

    The check runs through the operations helper (a key derivation takes a moment); the
    passphrase is kept only until :meth:`take_passphrase` hands it to the action it confirms.
    """

    def __init__(  # noqa: PLR0917 (Qt puts the parent after the content arguments)
        self,
        title: str,
        explanation: str,
        users: Sequence[UserInfo],
        verify: Callable[[str, str], bool],
        ops: Operations,
        parent: QWidget | None = None,
        *,
        fixed_user: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setObjectName("passphraseDialog")
        self._verify = verify
        self._ops = ops
        self._secret = ""
        layout = QVBoxLayout(self)
        text = QLabel(explanation, self)
        text.setWordWrap(True)
        layout.addWidget(text)
        form = QFormLayout()
        self.user = QComboBox(self)
        for user in users:
            if fixed_user is None or user.name == fixed_user:
                self.user.addItem(user.name, user.name)
        self.user.setAccessibleName(self.tr("User"))
        self.passphrase = QLineEdit(self)
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase.setAccessibleName(self.tr("Passphrase"))
        form.addRow(self.tr("&User"), self.user)
        form.addRow(self.tr("&Passphrase"), self.passphrase)
        layout.addLayout(form)
        self.error = QLabel("", self)
        self.error.setObjectName("fieldMessage")
        self.error.hide()
        layout.addWidget(self.error)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        _name_the_action(self, self.buttons, title)
        self.buttons.accepted.connect(self._check)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.passphrase.setFocus()
        self.signed_by = ""

    def _check(self) -> None:
        name = str(self.user.currentData() or "")
        passphrase = self.passphrase.text()
        self.passphrase.clear()
        if not name:
            return
        self.buttons.setEnabled(False)
        verify = self._verify
        self._ops.write(
            lambda: verify(name, passphrase),
            lambda ok: self._checked(bool(ok), name, passphrase),
            lambda _: self._checked(False, name, ""),
        )

    def _checked(self, ok: bool, name: str, passphrase: str) -> None:
        self.buttons.setEnabled(True)
        if ok:
            self.signed_by = name
            self._secret = passphrase
            self.accept()
            return
        self.error.setText(self.tr("That did not work. Check the user and the passphrase."))
        self.error.show()
        self.passphrase.setFocus()

    def take_passphrase(self) -> str:
        """The confirmed passphrase, once; the dialog forgets it."""
        secret, self._secret = self._secret, ""
        return secret


class ReasonDialog(QDialog):
    """Asks for a reason (stopping an interview, overriding a tier or consent)."""

    def __init__(
        self,
        title: str,
        explanation: str,
        parent: QWidget | None = None,
        choices: Sequence[tuple[str, str]] = (),
        *,
        text_required: bool = True,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        layout = QVBoxLayout(self)
        text = QLabel(explanation, self)
        text.setWordWrap(True)
        layout.addWidget(text)
        self.choice = QComboBox(self)
        self.choice.setAccessibleName(title)
        for value, label in choices:
            self.choice.addItem(label, value)
        self.choice.setVisible(bool(choices))
        layout.addWidget(self.choice)
        self.reason = QPlainTextEdit(self)
        self.reason.setTabChangesFocus(True)
        self.reason.setAccessibleName(self.tr("Reason"))
        self.reason.setPlaceholderText(
            self.tr("Reason (required)") if text_required else self.tr("Note (optional)")
        )
        layout.addWidget(self.reason)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        ok = _name_the_action(self, self.buttons, title)
        if text_required:
            ok.setEnabled(False)
            self.reason.textChanged.connect(
                lambda: ok.setEnabled(bool(self.reason.toPlainText().strip()))
            )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        from PySide6.QtCore import Qt

        self.setWindowModality(Qt.WindowModality.WindowModal)

    @property
    def text(self) -> str:
        return self.reason.toPlainText().strip()
