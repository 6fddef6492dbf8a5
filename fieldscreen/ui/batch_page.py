"""The coordinator's batch view: per laptop and user, what waits, goes, arrived, failed or is
held; the failures with their reasons; the history of every sync; and the USB bundle actions.

Bound to :class:`fieldscreen.ui.batches.BatchModel`. Files are chosen with
:class:`QFileDialog`; the work runs on the operations helper (the relay's network calls on the
read pool, everything that writes the vault on the writer). A bundle relayed or a receipt
applied a second time changes nothing, and the result line says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from fieldscreen.errors import KnownError
from fieldscreen.ui.batches import (
    STATES,
    THIS_LAPTOP,
    BatchOutcome,
    Failure,
    GroupRow,
    HistoryRow,
    ServerLaptop,
)
from fieldscreen.ui.common import Services, heading, primary_button
from fieldscreen.ui.sync_page import reason_text, state_text

__all__ = ["BatchPage", "via_text"]


def via_text(via: str) -> str:
    """How a sync travelled, in the UI language."""
    labels = {
        "network": QCoreApplication.translate("Batches", "Network"),
        "usb-export": QCoreApplication.translate("Batches", "USB bundle written"),
        "receipt": QCoreApplication.translate("Batches", "Receipt applied"),
        "relay": QCoreApplication.translate("Batches", "Relayed to the server"),
        "forward": QCoreApplication.translate("Batches", "Saved for the next hop"),
    }
    return labels.get(via, via)


def _table(parent: QWidget, headers: Sequence[str], name: str, stretch: int) -> QTableWidget:
    table = QTableWidget(0, len(headers), parent)
    table.setHorizontalHeaderLabels(list(headers))
    table.setAccessibleName(name)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.verticalHeader().hide()
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)  # no wrapped dates
    header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    return table


def _fill(table: QTableWidget, rows: Sequence[Sequence[str]]) -> None:
    table.setRowCount(len(rows))
    for i, cells in enumerate(rows):
        for j, text in enumerate(cells):
            table.setItem(i, j, QTableWidgetItem(text))


class BatchPage(QWidget):
    """Sync of every laptop the coordinator looks after, and the USB bundle actions."""

    back_requested = Signal()
    did_change = Signal()

    def __init__(self, services: Services, model: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("batchPage")
        self.services = services
        self.model = model
        self.busy = False
        outer = QVBoxLayout(self)
        outer.setContentsMargins(32, 24, 32, 24)
        outer.setSpacing(10)
        top = QHBoxLayout()
        top.addWidget(heading(self.tr("Batches and sync history"), self), 1)
        outer.addLayout(top)
        note = QLabel(
            self.tr(
                "Counts per laptop and per user. Only case codes, states and reasons are "
                "shown: nothing of a child's answers."
            ),
            self,
        )
        note.setWordWrap(True)
        outer.addWidget(note)
        self.groups = _table(
            self,
            [self.tr("Laptop"), self.tr("User"), *(state_text(s) for s in STATES)],
            self.tr("Screenings per laptop and user"),
            1,
        )
        self.server = _table(
            self,
            [
                self.tr("Laptop"),
                self.tr("Site"),
                self.tr("State on the server"),
                self.tr("Last contact"),
                self.tr("Held by the server"),
            ],
            self.tr("Laptops as the server sees them"),
            2,
        )
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self.groups, self.tr("Here"))
        self.tabs.addTab(self.server, self.tr("On the server"))
        outer.addWidget(self.tabs, 2)
        outer.addWidget(heading(self.tr("Failed or held for review"), self, "sectionTitle"))
        self.failures = _table(
            self,
            [self.tr("Case"), self.tr("State"), self.tr("Why"), self.tr("User")],
            self.tr("Failed or held screenings"),
            2,
        )
        outer.addWidget(self.failures, 1)
        outer.addWidget(heading(self.tr("History of each sync"), self, "sectionTitle"))
        self.history = _table(
            self,
            [
                self.tr("When"),
                self.tr("Who"),
                self.tr("How"),
                self.tr("Laptop"),
                self.tr("Sent"),
                self.tr("Acknowledged"),
                self.tr("Failed"),
                self.tr("Receipt"),
            ],
            self.tr("History of each sync"),
            2,
        )
        outer.addWidget(self.history, 2)
        self.result = QLabel("", self)
        self.result.setObjectName("batchResult")
        self.result.setWordWrap(True)
        outer.addWidget(self.result)
        row = QHBoxLayout()
        self.export_button = primary_button(self.tr("&Export a USB bundle…"), self)
        self.relay_button = QPushButton(self.tr("&Import and relay…"), self)
        self.forward_button = QPushButton(self.tr("Save for the &next hop…"), self)
        self.receipt_button = QPushButton(self.tr("Apply a &receipt…"), self)
        self.server_button = QPushButton(self.tr("Ask the ser&ver…"), self)
        self.refresh_button = QPushButton(self.tr("Re&fresh"), self)
        self.back = QPushButton(self.tr("Back"), self)
        buttons = (
            self.export_button,
            self.relay_button,
            self.forward_button,
            self.receipt_button,
            self.server_button,
            self.refresh_button,
            self.back,
        )
        for button in buttons:
            button.setAccessibleName(button.text().replace("&", "").rstrip("…"))
        self.export_button.clicked.connect(self.choose_export)
        self.relay_button.clicked.connect(self.choose_relay)
        self.forward_button.clicked.connect(self.choose_forward)
        self.receipt_button.clicked.connect(self.choose_receipt)
        self.server_button.clicked.connect(self.choose_server)
        self.refresh_button.clicked.connect(self.refresh)
        self.back.clicked.connect(self.back_requested)
        for button in buttons[:4]:
            row.addWidget(button)
        row.addStretch(1)
        row.addWidget(self.back)
        outer.addLayout(row)
        # Asking the server and refreshing concern the tables: they sit by the page title, so
        # the row of USB actions still fits a 1024-pixel-wide laptop in Spanish.
        top.addWidget(self.server_button)
        top.addWidget(self.refresh_button)

    # ---------------------------------------------------------------- reading
    def refresh(self) -> None:
        self.services.ops.read(self.model.overview, self._shown, self._error)

    def _shown(self, data: tuple[list[GroupRow], list[Failure], list[HistoryRow]]) -> None:
        self.show_overview(*data)

    def show_overview(
        self, groups: Sequence[GroupRow], failures: Sequence[Failure], history: Sequence[HistoryRow]
    ) -> None:
        def laptop(name: str) -> str:
            return self.tr("This laptop") if name == THIS_LAPTOP else name

        def counts(values: Mapping[str, int]) -> list[str]:
            return [str(values.get(s, 0)) for s in STATES]

        _fill(self.groups, [[laptop(g.laptop), g.user or "—", *counts(g.counts)] for g in groups])
        _fill(
            self.failures,
            [[f.code, state_text(f.state), reason_text(f.reason), f.user or "—"] for f in failures],
        )
        yes, no = self.tr("yes"), self.tr("no")
        _fill(
            self.history,
            [
                [
                    h.when.astimezone().strftime("%Y-%m-%d %H:%M"),
                    h.user or "—",
                    via_text(h.via),
                    h.laptop or self.tr("This laptop"),
                    str(h.sent),
                    str(h.acknowledged),
                    str(h.failed),
                    yes if h.receipt else no,
                ]
                for h in history
            ],
        )
        self._controls()

    def _controls(self) -> None:
        for button in (
            self.export_button,
            self.relay_button,
            self.forward_button,
            self.receipt_button,
            self.server_button,
        ):
            button.setEnabled(not self.busy)

    # ---------------------------------------------------------------- choosing files
    def choose_export(self) -> None:
        name, _ = QFileDialog.getSaveFileName(
            self,
            self.tr("Save the USB bundle"),
            "fieldscreen-bundle.fsb",
            self.tr("FieldScreen bundles (*.fsb);;All files (*)"),
        )
        if name:
            self.export_to(Path(name))

    @property
    def token_file(self) -> Path | None:
        """The coordinator's credential file, shared with the Report page for the session."""
        return self.services.credential_file

    @token_file.setter
    def token_file(self, path: Path | None) -> None:
        self.services.credential_file = path

    def _credential(self) -> Path | None:
        """The coordinator's credential file, asked once per session (only its path is kept,
        and forgotten on lock)."""
        if self.token_file is None:
            token, _ = QFileDialog.getOpenFileName(
                self, self.tr("Your coordinator credential file (from IT)"), "", ""
            )
            if token:
                self.token_file = Path(token)
        return self.token_file

    def choose_server(self) -> None:
        token = self._credential()
        if token is not None:
            self.ask_server(token)

    def ask_server(self, token_file: Path | None) -> None:
        self._start()
        model = self.model
        self.services.ops.read(lambda: model.server_view(token_file), self.show_server, self._error)

    def show_server(self, laptops: Sequence[ServerLaptop]) -> None:
        self.busy = False
        states = {
            "active": self.tr("Active"),
            "revoked": self.tr("Withdrawn"),
            "wipe": self.tr("Wipe ordered"),
        }

        this = self.tr("this laptop")

        def name(row: ServerLaptop) -> str:
            text = f"{row.laptop} ({this})" if row.this else row.laptop
            return text + (" ⚠" if row.rollback_suspected else "")

        _fill(
            self.server,
            [
                [
                    name(r),
                    r.site,
                    states.get(r.status, r.status),
                    r.last_contact or "—",
                    str(r.held),
                ]
                for r in laptops
            ],
        )
        self.tabs.setCurrentWidget(self.server)
        self.result.setText(self.tr("%n laptop(s) of your sites on the server.", "", len(laptops)))
        self._controls()

    def choose_relay(self) -> None:
        bundle, _ = QFileDialog.getOpenFileName(
            self,
            self.tr("Another laptop's bundle"),
            "",
            self.tr("FieldScreen bundles (*.fsb);;All files (*)"),
        )
        if not bundle:
            return
        token = self._credential()
        if token is not None:
            self.relay_from(Path(bundle), token)

    def choose_forward(self) -> None:
        bundle, _ = QFileDialog.getOpenFileName(
            self,
            self.tr("Another laptop's bundle"),
            "",
            self.tr("FieldScreen bundles (*.fsb);;All files (*)"),
        )
        if not bundle:
            return
        out, _ = QFileDialog.getSaveFileName(
            self,
            self.tr("Save it for the next hop"),
            "",
            self.tr("FieldScreen bundles (*.fsb);;All files (*)"),
        )
        if out:
            self.forward_to(Path(bundle), Path(out))

    def choose_receipt(self) -> None:
        name, _ = QFileDialog.getOpenFileName(
            self,
            self.tr("The receipt for this laptop"),
            "",
            self.tr("FieldScreen receipts (*.fsr);;All files (*)"),
        )
        if name:
            self.apply_receipt_from(Path(name))

    # ---------------------------------------------------------------- actions
    def _start(self) -> None:
        self.busy = True
        self.result.setText(self.tr("Working…"))
        self._controls()

    def export_to(self, path: Path) -> None:
        self._start()
        self.services.ops.write(lambda: self.model.export(path), self._done, self._error)

    def apply_receipt_from(self, path: Path) -> None:
        self._start()
        self.services.ops.write(lambda: self.model.apply_receipt(path), self._done, self._error)

    def relay_from(self, bundle: Path, token_file: Path | None) -> None:
        receipt = bundle.with_name(bundle.stem + "-receipt.fsr")
        self._start()
        model = self.model
        self.services.ops.read(
            lambda: model.relay(bundle, token_file, receipt),
            lambda outcome: self._done(outcome, receipt),
            self._error,
        )

    def forward_to(self, bundle: Path, out: Path) -> None:
        self._start()
        self.services.ops.read(lambda: self.model.forward(bundle, out), self._done, self._error)

    def _done(self, outcome: BatchOutcome, receipt: Path | None = None) -> None:
        self.busy = False
        self.result.setText(self.outcome_text(outcome, receipt))
        self.did_change.emit()
        self.refresh()

    def outcome_text(self, outcome: BatchOutcome, receipt: Path | None = None) -> str:
        n = outcome.count
        if outcome.action == "export":
            if not n:
                return self.tr("Nothing waits on this laptop: the bundle is empty.")
            return self.tr(
                "%n sealed screening(s) written to the bundle. They stay waiting here until "
                "the receipt comes back.",
                "",
                n,
            )
        if outcome.action == "receipt":
            if outcome.repeat:
                return self.tr("Receipt already applied: nothing changed.")
            text = self.tr("%n screening(s) marked delivered.", "", outcome.acknowledged)
            if outcome.handover_acks:
                text += " " + self.tr(
                    "%n partner acknowledgement(s) of a handover applied.",
                    "",
                    outcome.handover_acks,
                )
            return text
        if outcome.action == "forward":
            return (
                self.tr("Bundle of laptop %1 checked and saved for the next hop (%2 screenings).")
                .replace("%1", outcome.laptop)
                .replace("%2", str(n))
            )
        where = receipt.name if receipt is not None else ""
        if outcome.repeat:
            text = self.tr("Already relayed: the server held all %1 screenings of laptop %2.")
        else:
            text = self.tr(
                "Laptop %2: %1 screenings relayed, %3 acknowledged by the server, %4 failed."
            )
        text = (
            text.replace("%1", str(n))
            .replace("%2", outcome.laptop)
            .replace("%3", str(outcome.acknowledged))
            .replace("%4", str(outcome.failed))
        )
        text += " " + self.tr("Carry the receipt %1 back to that laptop.").replace("%1", where)
        if outcome.handover_acks:
            text += " " + self.tr(
                "%n partner acknowledgement(s) of its handovers go beside it, in the file "
                "of the same name ending .acks: carry that too.",
                "",
                outcome.handover_acks,
            )
        return text

    def clear(self) -> None:
        """Forget what is shown (on lock)."""
        for table in (self.groups, self.server, self.failures, self.history):
            table.setRowCount(0)
        self.result.clear()
        self.token_file = None

    def _error(self, error: KnownError) -> None:
        self.busy = False
        if error.code == "relay-token-missing":
            self.token_file = None  # not a credential: the next try asks for the file again
        self.result.setText(error.message(self.services.lang))
        self._controls()
