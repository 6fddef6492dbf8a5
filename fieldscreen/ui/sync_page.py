"""The Sync screen: each sealed record's state, the counts, "sync now", "retry failed", and the
background switch, bound to :class:`fieldscreen.sync.view.SyncViewModel`.

Every call into the view model runs through the operations helper: reads of the queue and the
network on the read pool, "retry failed" (a write to the vault's outbox) on the writer. The GUI
thread never waits for the server. Only record codes, states and reasons are shown: nothing of
a child's answers is readable here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from fieldscreen.errors import BugError, KnownError, render
from fieldscreen.ui.common import Services, heading, primary_button
from fieldscreen.ui.ports import record_code

__all__ = ["STATES", "SyncPage", "reason_text", "state_text", "sync_glance"]

#: The states of a sealed record, in the order the screen lists them.
STATES = ("failed", "quarantined", "sending", "pending", "delivered")


def state_text(state: str) -> str:
    labels = {
        "pending": QCoreApplication.translate("Sync", "Waiting to be sent"),
        "sending": QCoreApplication.translate("Sync", "Sending"),
        "delivered": QCoreApplication.translate("Sync", "Delivered"),
        "failed": QCoreApplication.translate("Sync", "Failed"),
        "quarantined": QCoreApplication.translate("Sync", "Held for review"),
    }
    return labels.get(state, state)


def reason_text(reason: str | None) -> str:
    """Why a record failed or was held, in the current language (the codes of
    :data:`fieldscreen.sync.view.REASONS`); an unknown code is shown as it is."""
    if not reason:
        return ""
    code = reason.split(":")[0]
    texts = {
        "conflict": QCoreApplication.translate(
            "Sync", "The server holds a different version of this record; IT will review it."
        ),
        "held-for-review": QCoreApplication.translate(
            "Sync", "The server set this record aside for review."
        ),
        "revoked-device": QCoreApplication.translate(
            "Sync", "This laptop was withdrawn; the record is held for review."
        ),
        "sequence-reused": QCoreApplication.translate(
            "Sync", "Looks like a restored old copy of the vault; held for review."
        ),
        "signature": QCoreApplication.translate(
            "Sync", "The record's signature did not verify; tell IT."
        ),
        "too-large": QCoreApplication.translate(
            "Sync", "The record is larger than the server accepts; tell IT."
        ),
        "tampered": QCoreApplication.translate(
            "Sync",
            "This record's sealed copy was changed on this laptop after it was signed, so it "
            "was not sent; the readable record is kept. Tell IT.",
        ),
    }
    return texts.get(code, code)


def sync_glance(counts: Mapping[str, int], reachable: bool, enabled: bool) -> str:
    """One line for home: what waits, what failed, and whether the server answers."""
    waiting = counts.get("pending", 0) + counts.get("sending", 0)
    trouble = counts.get("failed", 0) + counts.get("quarantined", 0)
    parts = [
        QCoreApplication.translate("Sync", "%n waiting to be sent", "", waiting)
        if waiting
        else QCoreApplication.translate("Sync", "nothing waiting to be sent")
    ]
    if trouble:
        parts.append(QCoreApplication.translate("Sync", "%n need attention", "", trouble))
    if not enabled:
        parts.append(QCoreApplication.translate("Sync", "background sync off"))
    elif not reachable:
        parts.append(QCoreApplication.translate("Sync", "server not reached yet"))
    return " · ".join(parts)


class SyncPage(QWidget):
    """The queue of sealed screenings and the controls of sync.

    ``services.sync`` is the :class:`~fieldscreen.sync.view.SyncViewModel` of this laptop, or
    None while the laptop is not enrolled with a server (the screen then says so and its
    controls are off; screenings stay sealed on the laptop).
    """

    back_requested = Signal()
    did_sync = Signal()

    def __init__(self, services: Services, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("syncPage")
        self.services = services
        self.busy = False
        outer = QVBoxLayout(self)
        outer.setContentsMargins(32, 24, 32, 24)
        outer.setSpacing(12)
        outer.addWidget(heading(self.tr("Sync with the organisation's server"), self))
        self.note = QLabel("", self)
        self.note.setWordWrap(True)
        outer.addWidget(self.note)
        counts = QHBoxLayout()
        self.counts: dict[str, QLabel] = {}
        for state in STATES:
            label = QLabel("", self)
            label.setObjectName(f"syncCount_{state}")
            counts.addWidget(label)
            self.counts[state] = label
        counts.addStretch(1)
        outer.addLayout(counts)
        self.table = QTableWidget(0, 3, self)
        self.table.setHorizontalHeaderLabels(
            [self.tr("Record"), self.tr("State"), self.tr("What happened")]
        )
        self.table.setAccessibleName(self.tr("Sealed screenings and their sync state"))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        outer.addWidget(self.table, 1)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 0)  # busy: the engine reports batches, not a total up front
        self.progress.setAccessibleName(self.tr("Sync in progress"))
        self.progress.hide()
        outer.addWidget(self.progress)
        self.result = QLabel("", self)
        self.result.setObjectName("syncResult")
        self.result.setWordWrap(True)
        outer.addWidget(self.result)
        row = QHBoxLayout()
        self.sync_now_button = primary_button(self.tr("&Sync now"), self)
        self.sync_now_button.clicked.connect(self.sync_now)
        self.retry_button = QPushButton(self.tr("&Retry failed"), self)
        self.retry_button.clicked.connect(self.retry_failed)
        self.background = QCheckBox(self.tr("Sync in the &background"), self)
        self.background.toggled.connect(self._background_toggled)
        self.back = QPushButton(self.tr("Back"), self)
        self.back.clicked.connect(self.back_requested)
        row.addWidget(self.sync_now_button)
        row.addWidget(self.retry_button)
        row.addWidget(self.background)
        row.addStretch(1)
        row.addWidget(self.back)
        outer.addLayout(row)
        self.refresh()

    # ---------------------------------------------------------------- state
    def _controls(self) -> None:
        enrolled = self.services.sync is not None
        self.sync_now_button.setEnabled(enrolled and not self.busy)
        self.retry_button.setEnabled(
            enrolled and not self.busy and self._count("failed") + self._count("quarantined") > 0
        )
        settings = self.services.settings
        self.background.blockSignals(True)
        self.background.setChecked(bool(settings.get("background_sync")))
        self.background.blockSignals(False)
        locked = settings.is_locked("background_sync")
        self.background.setEnabled(enrolled and not locked)
        self.background.setToolTip(
            self.tr("Set by your organisation; it cannot be changed here.") if locked else ""
        )
        self.progress.setVisible(self.busy)

    def _count(self, state: str) -> int:
        text = self.counts[state].property("count")
        return int(text) if text is not None else 0

    def refresh(self) -> None:
        """Read the queue on the pool and show it."""
        model = self.services.sync
        if model is None:
            self.note.setText(
                self.tr(
                    "This laptop is not enrolled with a server yet. Finalised screenings stay "
                    "sealed here, readable only by the central team, until it is enrolled or a "
                    "coordinator carries them on a USB bundle."
                )
            )
            self._show([], dict.fromkeys(STATES, 0))
            return
        self.note.setText(
            self.tr(
                "Finalised screenings are sealed for the central team before they leave this "
                "laptop. Only record codes and states are shown here."
            )
        )
        self.services.ops.read(lambda: (model.rows(), model.counts()), self._shown, self._error)

    def _shown(self, data: tuple[list[Any], dict[str, int]]) -> None:
        self._show(*data)

    def _show(self, rows: list[Any], counts: Mapping[str, int]) -> None:
        for state, label in self.counts.items():
            label.setProperty("count", counts.get(state, 0))
            label.setText(f"{state_text(state)}: {counts.get(state, 0)}")
        self.table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            cells = (record_code(row.record_id), state_text(row.state), reason_text(row.reason))
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, row.record_id)
                self.table.setItem(i, j, item)
        self._controls()

    # -------------------------------------------------------------- actions
    def sync_now(self) -> None:
        model = self.services.sync
        if model is None or self.busy:
            return
        self.busy = True
        self.result.setText(self.tr("Syncing…"))
        self._controls()
        self.services.ops.network(model.sync_now, self._synced, self._error)

    def _synced(self, summary: Any) -> None:
        self.busy = False
        model = self.services.sync
        if summary is None:
            code = model.background.last_error if model is not None else None
            self.result.setText(
                self.tr("The sync did not finish: %1").replace("%1", self._why(code))
            )
        else:
            text = (
                self.tr("Sent %1, delivered %2, held for review %3.")
                .replace("%1", str(summary.sent))
                .replace("%2", str(summary.delivered))
                .replace("%3", str(summary.quarantined + summary.conflicts))
            )
            if summary.handovers_sent or summary.handover_acks:
                text += " " + self.tr(
                    "Handover packets sent %1, partner acknowledgements applied %2."
                ).replace("%1", str(summary.handovers_sent)).replace(
                    "%2", str(summary.handover_acks)
                )
            if summary.handovers_held:
                text += " " + self.tr(
                    "%1 handover packet(s) held, not sent: their partner is no longer in the "
                    "site's service directory. They are kept sealed until someone decides "
                    "(fieldscreen handover held)."
                ).replace("%1", str(summary.handovers_held))
            moved = int(getattr(summary, "state_changed", 0))
            if moved:  # rows moved outside FieldScreen, found as the sync read them to send
                text += " " + render("sync-outbox-state-changed", self.services.lang, rows=moved)
            self.result.setText(text)
        self._controls()  # the buttons come back with the result, not after the re-read
        self.did_sync.emit()
        self.refresh()

    def _why(self, code: str | None) -> str:
        """The catalogue's text for the code the sync stopped on, with the details the policy
        kept (a text whose details are missing gives way to a general one)."""
        model = self.services.sync
        context = dict(model.background.last_context) if model is not None else {}
        if code:
            try:
                return render(code, self.services.lang, **context)
            except BugError:
                pass
        return self.tr(
            "the server could not be reached or refused the sync. The screenings stay sealed "
            "on this laptop; try again later or tell IT (%1)."
        ).replace("%1", code or "-")

    def retry_failed(self) -> None:
        model = self.services.sync
        if model is None or self.busy:
            return
        self.services.ops.write(model.retry_failed, self._retried, self._error)

    def _retried(self, count: int) -> None:
        self.result.setText(self.tr("%n record(s) will be sent again.", "", int(count)))
        self.refresh()

    def _background_toggled(self, on: bool) -> None:
        settings = self.services.settings
        if settings.is_locked("background_sync"):
            return
        settings.set("background_sync", on)
        self.services.ops.write(settings.save, None, self._error)
        if self.services.sync is not None:
            self.services.sync.set_background(on)

    def clear(self) -> None:
        """Forget what is shown (on lock)."""
        self.table.setRowCount(0)
        self.result.clear()

    def _error(self, error: KnownError) -> None:
        self.busy = False
        self.result.setText(error.message(self.services.lang))
        self._controls()
