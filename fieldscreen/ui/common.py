"""Small pieces every screen uses: the screens' shared context, tier names, dialogs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from fieldscreen.errors import KnownError
from fieldscreen.settings import Settings
from fieldscreen.ui.operations import Operations
from fieldscreen.ui.ports import FormsPort, UserInfo, VaultPort

if TYPE_CHECKING:
    from fieldscreen.sync.view import SyncViewModel

__all__ = [
    "PassphraseDialog",
    "ReasonDialog",
    "Services",
    "countdown",
    "heading",
    "primary_button",
    "scale_font",
    "show_error",
    "tier_label",
]


@dataclass
class Services:
    """What the screens are handed by the composition root (no global registry)."""

    vault: VaultPort
    forms: FormsPort
    settings: Settings
    ops: Operations
    lang: str = "en"
    user: UserInfo | None = None
    #: True while screenings run the sample form instead of the built-in forms.
    preview: bool = False
    #: Sync of this laptop (:class:`fieldscreen.sync.view.SyncViewModel`), None while it is not
    #: enrolled with a server.
    sync: SyncViewModel | None = None
    #: The supervisor queue (:class:`fieldscreen.ui.supervision.SupervisionModel`); None: the
    #: main window builds it over ``vault`` (tests and screenshots hand in their own).
    supervision: Any = None
    #: The coordinator's batch view (:class:`fieldscreen.ui.batches.BatchModel`), likewise.
    batches: Any = None


def tier_label(tier: str) -> str:
    labels = {
        "T0": QCoreApplication.translate("Tiers", "Act now"),
        "T1": QCoreApplication.translate("Tiers", "Within 24 hours"),
        "T2": QCoreApplication.translate("Tiers", "Within 72 hours"),
        "T3": QCoreApplication.translate("Tiers", "Within 7 days"),
        "T4": QCoreApplication.translate("Tiers", "No current risk"),
    }
    return labels.get(tier, tier)


def countdown(due: datetime, now: datetime | None = None) -> str:
    """``due in 3 h 20 min`` / ``overdue by 1 d 2 h`` / ``now``, in the UI language."""
    now = now or datetime.now(UTC)
    seconds = int((due - now).total_seconds())
    overdue = seconds < 0
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        span = QCoreApplication.translate("Time", "%1 d %2 h").replace("%1", str(days))
        span = span.replace("%2", str(hours))
    elif hours:
        span = QCoreApplication.translate("Time", "%1 h %2 min").replace("%1", str(hours))
        span = span.replace("%2", str(minutes))
    elif minutes:
        span = QCoreApplication.translate("Time", "%1 min").replace("%1", str(minutes))
    else:
        return QCoreApplication.translate("Time", "now")
    if overdue:
        return QCoreApplication.translate("Time", "overdue by %1").replace("%1", span)
    return QCoreApplication.translate("Time", "due in %1").replace("%1", span)


def scale_font(widget: QWidget, factor: float, bold: bool = False) -> None:
    """Make ``widget``'s text ``factor`` times the system size (so it follows the user's)."""
    font = widget.font()
    font.setPointSizeF(QApplication.font().pointSizeF() * factor)
    font.setBold(bold or font.bold())
    widget.setFont(font)


def heading(text: str, parent: QWidget | None = None, name: str = "pageTitle") -> QLabel:
    label = QLabel(text, parent)
    label.setObjectName(name)
    scale_font(label, 1.6 if name == "pageTitle" else 1.15, bold=True)
    label.setWordWrap(True)
    label.setAccessibleName(text)
    return label


def primary_button(text: str, parent: QWidget | None = None) -> QPushButton:
    button = QPushButton(text, parent)
    button.setObjectName("primary")
    button.setAccessibleName(text.replace("&", ""))
    return button


def show_error(parent: QWidget, error: KnownError, lang: str) -> None:
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(QCoreApplication.translate("Errors", "Something went wrong"))
    box.setText(error.message(lang))
    box.setAccessibleName(box.windowTitle())
    box.open()


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
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        if text_required:
            ok.setEnabled(False)
            self.reason.textChanged.connect(
                lambda: ok.setEnabled(bool(self.reason.toPlainText().strip()))
            )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.setWindowModality(Qt.WindowModality.WindowModal)

    @property
    def text(self) -> str:
        return self.reason.toPlainText().strip()
