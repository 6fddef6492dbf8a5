"""The supervisor queue: what waits for a supervisor, opened, approved or sent back.

Bound to :class:`fieldscreen.ui.supervision.SupervisionModel`. Each row shows only what the
supervisor needs to decide (case code, alias, tier, why it waits, who asked and when); the
answers stay in the case. Approving or sending back asks the supervisor's own passphrase again
(checked against their account on the writer, never the signed-in specialist's).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from fieldscreen.errors import KnownError
from fieldscreen.ui.common import (
    PassphraseDialog,
    ReasonDialog,
    Services,
    heading,
    primary_button,
    tier_label,
)
from fieldscreen.ui.errors import SignOffError
from fieldscreen.ui.ports import UserInfo
from fieldscreen.ui.supervision import QueueItem, can_supervise

__all__ = ["QueuePage", "kind_text"]


def kind_text(kind: str, requested_tier: str = "") -> str:
    """Why a screening waits, in the UI language."""
    if kind == "tier-override":
        text = QCoreApplication.translate("Queue", "Tier override asked")
        if requested_tier:
            text += " → " + tier_label(requested_tier)
        return text
    labels = {
        "consent-override": QCoreApplication.translate(
            "Queue", "Shared without consent: check the legal basis"
        ),
        "act-now": QCoreApplication.translate("Queue", "Act now: no actions recorded"),
        "bid-required": QCoreApplication.translate(
            "Queue", "Return recommended: best-interests determination needed"
        ),
    }
    return labels.get(kind, kind)


class QueuePage(QWidget):
    """The queue of screenings waiting for a supervisor."""

    back_requested = Signal()
    open_requested = Signal(str, str)  # record id, status
    did_sign_off = Signal(str)  # decision

    def __init__(self, services: Services, model: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("queuePage")
        self.services = services
        self.model = model
        self.items: list[QueueItem] = []
        self.dialog: QDialog | None = None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(32, 24, 32, 24)
        outer.setSpacing(12)
        outer.addWidget(heading(self.tr("Waiting for a supervisor"), self))
        self.summary = QLabel("", self)
        self.summary.setObjectName("queueSummary")
        self.summary.setWordWrap(True)
        outer.addWidget(self.summary)
        self.table = QTableWidget(0, 6, self)
        self.table.setHorizontalHeaderLabels(
            [
                self.tr("Case"),
                self.tr("Name or alias"),
                self.tr("Tier"),
                self.tr("Why it waits"),
                self.tr("Who"),
                self.tr("When"),
            ]
        )
        self.table.setAccessibleName(self.tr("Screenings waiting for a supervisor"))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._controls)
        self.table.itemActivated.connect(lambda _: self.open_selected())
        outer.addWidget(self.table, 1)
        self.result = QLabel("", self)
        self.result.setObjectName("queueResult")
        self.result.setWordWrap(True)
        outer.addWidget(self.result)
        row = QHBoxLayout()
        self.open_button = QPushButton(self.tr("&Open case"), self)
        self.approve_button = primary_button(self.tr("&Approve…"), self)
        self.send_back_button = QPushButton(self.tr("Send &back…"), self)
        self.refresh_button = QPushButton(self.tr("&Refresh"), self)
        self.back = QPushButton(self.tr("Back"), self)
        for button in (self.open_button, self.send_back_button, self.refresh_button, self.back):
            button.setAccessibleName(button.text().replace("&", "").rstrip("…"))
        self.open_button.clicked.connect(self.open_selected)
        self.approve_button.clicked.connect(lambda: self.ask_sign_off("approve"))
        self.send_back_button.clicked.connect(lambda: self.ask_sign_off("send-back"))
        self.refresh_button.clicked.connect(self.refresh)
        self.back.clicked.connect(self.back_requested)
        row.addWidget(self.open_button)
        row.addWidget(self.approve_button)
        row.addWidget(self.send_back_button)
        row.addStretch(1)
        row.addWidget(self.refresh_button)
        row.addWidget(self.back)
        outer.addLayout(row)
        self._controls()

    # ---------------------------------------------------------------- reading
    def refresh(self) -> None:
        """Read the queue on the writer (it decrypts drafts and appends view entries)."""
        lang = self.services.lang
        model = self.model
        self.services.ops.write(lambda: model.items(lang), self.show_items, self._error)

    def show_items(self, items: Sequence[QueueItem]) -> None:
        self.items = list(items)
        self.table.setRowCount(len(self.items))
        for i, item in enumerate(self.items):
            why = "; ".join(kind_text(k, item.requested_tier) for k in item.kinds)
            cells = (
                item.code,
                item.alias,
                tier_label(item.tier),
                why,
                item.requested_by or "—",
                item.when.astimezone().strftime("%Y-%m-%d %H:%M"),
            )
            for j, text in enumerate(cells):
                cell = QTableWidgetItem(text)
                cell.setData(Qt.ItemDataRole.UserRole, item.record_id)
                if item.tier == "T0":  # act-now rows stand out (sorted first already)
                    font = cell.font()
                    font.setBold(True)
                    cell.setFont(font)
                if j == 3 and item.reason:
                    cell.setToolTip(item.reason)
                self.table.setItem(i, j, cell)
        if not self.items:
            self.summary.setText(self.tr("Nothing waits for a supervisor."))
        else:
            self.summary.setText(
                self.tr("%n screening(s) wait for a supervisor.", "", len(self.items))
                + " "
                + self.tr("Act-now cases first. Open a case to read it before you sign off.")
            )
        if self.items:
            self.table.selectRow(0)
        self._controls()

    def selected(self) -> QueueItem | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        index = rows[0].row()
        return self.items[index] if 0 <= index < len(self.items) else None

    def _controls(self) -> None:
        chosen = self.selected() is not None
        for button in (self.open_button, self.approve_button, self.send_back_button):
            button.setEnabled(chosen)

    def open_selected(self) -> None:
        item = self.selected()
        if item is not None:
            self.open_requested.emit(item.record_id, item.status)

    # ---------------------------------------------------------------- sign-off
    def _signers(self, item: QueueItem) -> list[UserInfo]:
        """Supervisors who may sign ``item`` off: never the specialist who asked."""
        users = self.services.vault.users()
        me = self.services.user.name if self.services.user else ""
        signers = [u for u in users if can_supervise(u.role) and u.name != item.requested_by]
        signers.sort(key=lambda u: u.name != me)  # the signed-in supervisor first
        return signers

    def ask_sign_off(self, decision: str) -> None:
        item = self.selected()
        if item is None:
            return
        if decision == "send-back":
            reason = ReasonDialog(
                self.tr("Send back to the specialist"),
                self.tr(
                    "Say what the specialist should do. They see this note on their home "
                    "screen; do not write the child's answers in it."
                ),
                self,
            )
            reason.setObjectName("sendBackDialog")
            self.dialog = reason

            def reasoned(code: int) -> None:
                if code == QDialog.DialogCode.Accepted:
                    self._ask_passphrase(item, decision, reason.text)

            reason.finished.connect(reasoned)
            reason.open()
            return
        self._ask_passphrase(item, decision, "")

    def _ask_passphrase(self, item: QueueItem, decision: str, note: str) -> None:
        model = self.model
        title = (
            self.tr("Approve as supervisor")
            if decision == "approve"
            else self.tr("Send back as supervisor")
        )
        explanation = self.tr(
            "Case %1: %2. Type your own passphrase to sign this off; it is recorded in the "
            "audit log with your name and the time."
        )
        explanation = explanation.replace("%1", item.code).replace(
            "%2", "; ".join(kind_text(k, item.requested_tier) for k in item.kinds)
        )

        def sign(name: str, passphrase: str) -> bool:
            try:
                model.sign_off(item, decision, supervisor=name, passphrase=passphrase, note=note)
            except SignOffError as error:
                if error.code == "signoff-refused":
                    return False
                raise
            return True

        dialog = PassphraseDialog(
            title, explanation, self._signers(item), sign, self.services.ops, self
        )
        dialog.setObjectName("signOffDialog")
        self.dialog = dialog
        dialog.finished.connect(lambda code: self._signed(dialog, decision, code))
        dialog.open()

    def _signed(self, dialog: PassphraseDialog, decision: str, code: int) -> None:
        dialog.take_passphrase()  # not kept: the sign-off is written already
        self.dialog = None
        if code != QDialog.DialogCode.Accepted:
            return
        self.result.setText(
            self.tr("Approved by %1.").replace("%1", dialog.signed_by)
            if decision == "approve"
            else self.tr("Sent back to the specialist by %1.").replace("%1", dialog.signed_by)
        )
        self.did_sign_off.emit(decision)
        self.refresh()

    # ---------------------------------------------------------------- misc
    def clear(self) -> None:
        """Forget what is shown (on lock)."""
        self.items = []
        if self.model is not None:
            self.model.forget()
        self.table.setRowCount(0)
        self.summary.clear()
        self.result.clear()

    def _error(self, error: KnownError) -> None:
        self.result.setText(error.message(self.services.lang))
