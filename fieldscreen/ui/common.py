"""Small pieces every screen uses: the screens' shared context, tier names, dialogs.

This module is on the start-up path (the unlock screen uses it), so it avoids what is costly to
import: the ports' records are for annotations only, and the ``Qt`` namespace (about 20 ms to
create its enums) is imported where a dialog needs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication, QLabel, QPushButton, QWidget

from fieldscreen.errors import KnownError
from fieldscreen.settings import Settings
from fieldscreen.ui.operations import Operations

if TYPE_CHECKING:
    from fieldscreen.sync.view import SyncViewModel
    from fieldscreen.ui.dialogs import PassphraseDialog, ReasonDialog
    from fieldscreen.ui.ports import FormsPort, StaffServer, UserInfo, VaultPort

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
    #: The coordinator's requests to the enrolled server (built in ``app.py`` over the vault's
    #: provisioning); None where there is no real vault (the server is then "not enrolled").
    server: StaffServer | None = None
    #: The supervisor queue (:class:`fieldscreen.ui.supervision.SupervisionModel`); None: the
    #: main window builds it over ``vault`` (tests and screenshots hand in their own).
    supervision: Any = None
    #: The coordinator's batch view (:class:`fieldscreen.ui.batches.BatchModel`), likewise.
    batches: Any = None
    #: The coordinator's credential file chosen this session, on the Batches or the Report
    #: page (its path only, never its content; forgotten on lock).
    credential_file: Path | None = None


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


def push_button(text: str, parent: QWidget | None = None) -> QPushButton:
    """``QPushButton(text, parent)`` without creating the icon types on the start-up path (the
    text-and-parent constructor makes PySide6 create ``QIcon`` and its enums to choose an
    overload)."""
    button = QPushButton(parent)
    button.setText(text)
    return button


def primary_button(text: str, parent: QWidget | None = None) -> QPushButton:
    button = push_button(text, parent)
    button.setObjectName("primary")
    button.setAccessibleName(text.replace("&", ""))
    return button


def show_error(parent: QWidget, error: KnownError, lang: str) -> None:
    from PySide6.QtWidgets import QMessageBox

    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(QCoreApplication.translate("Errors", "Something went wrong"))
    box.setText(error.message(lang))
    box.setAccessibleName(box.windowTitle())
    box.open()


def __getattr__(name: str) -> object:
    """The dialogs, kept in :mod:`fieldscreen.ui.dialogs` (off the start-up path) and still
    importable from here."""
    if name in {"PassphraseDialog", "ReasonDialog"}:
        from fieldscreen.ui import dialogs

        return getattr(dialogs, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
