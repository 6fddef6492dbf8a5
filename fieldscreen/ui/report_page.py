"""The coordinator report: privacy-preserving counts by tier, week, concern, age band, sex,
nationality and site, each as a chart with its table beside it, and a PDF of the same.

Every figure comes from the aggregate records (never a screening) through one
:func:`~fieldscreen.reports.aggregates.build_report` call, with the same small-cell suppression
as the server (threshold 5): a suppressed count shows as ``<5``, never as a number. The source
is the server's ``GET /admin/report`` with the coordinator's credential (fetched on the read
pool, never the GUI thread; the credential is kept in memory only, until the page is left or the
laptop locks), or else this laptop's own finalised screenings still waiting to be sent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QDate, QLocale, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from fieldscreen.errors import KnownError
from fieldscreen.reports.coordinator import ReportFilter, coordinator_report, weeks_and_sites
from fieldscreen.reports.report_view import ReportView, Section, report_view
from fieldscreen.ui.common import Services, heading, primary_button, show_error, tier_label
from fieldscreen.ui.errors import UIError
from fieldscreen.ui.report_charts import ChartWidget, PdfTexts, write_report_pdf

__all__ = [
    "ReportPage",
    "code_label",
    "fetch_server_matches",
    "fetch_server_report",
    "week_label",
]

Triples = list[tuple[dict[str, Any], str, str]]
ServerFetch = Callable[[str, ReportFilter], Mapping[str, Any]]
MatchFetch = Callable[[str], Mapping[str, Any] | None]
SECTION_ORDER = ("tier", "week", "concern", "age_band", "sex", "nationality", "site")


def section_titles() -> dict[str, str]:
    return {
        "tier": QCoreApplication.translate("ReportPage", "Screenings by risk tier"),
        "week": QCoreApplication.translate("ReportPage", "Screenings per ISO week"),
        "concern": QCoreApplication.translate(
            "ReportPage", "Protection concerns (a child may have several)"
        ),
        "age_band": QCoreApplication.translate("ReportPage", "Age band"),
        "sex": QCoreApplication.translate("ReportPage", "Sex"),
        "nationality": QCoreApplication.translate(
            "ReportPage", "Nationality (a child may have several)"
        ),
        "site": QCoreApplication.translate("ReportPage", "Site"),
    }


def _list_labels(name: str, lang: str) -> dict[str, str]:
    from fieldscreen.forms.library import builtin_list

    try:
        return {c.name: c.label.get(lang) for c in builtin_list(name)}
    except KnownError:
        return {}


def code_label(dimension: str, code: str, lang: str) -> str:
    """A code of the aggregate records in words, in ``lang`` (the code itself when unknown)."""
    if dimension == "tier":
        return f"{code} · {tier_label(code)}"
    if dimension == "age_band":
        if code == "unknown":
            return QCoreApplication.translate("ReportPage", "Age not known")
        return QCoreApplication.translate("ReportPage", "%1 years").replace(
            "%1", code.replace("_", "–")
        )
    if dimension == "sex":
        words = {
            "female": QCoreApplication.translate("ReportPage", "Female"),
            "male": QCoreApplication.translate("ReportPage", "Male"),
            "intersex": QCoreApplication.translate("ReportPage", "Intersex"),
            "declined": QCoreApplication.translate("ReportPage", "Prefers not to say"),
            "unknown": QCoreApplication.translate("ReportPage", "Not recorded"),
        }
        return words.get(code, code)
    if dimension == "concern":
        return _list_labels("protection_concerns", lang).get(code, code)
    if dimension == "nationality":
        name = _list_labels("countries", lang).get(code)
        return f"{name} ({code})" if name else code
    return code


def week_label(week: str, lang: str) -> str:
    """An ISO week with the day it starts, for people who do not count in ISO weeks:
    ``2026-W41 · from Mon 5 Oct`` (the code alone when it is not a week)."""
    try:
        year, number = week.split("-W")
        monday = date.fromisocalendar(int(year), int(number), 1)
    except ValueError:
        return week
    day = QLocale(lang).toString(QDate(monday.year, monday.month, monday.day), "ddd d MMM")
    return (
        QCoreApplication.translate("ReportPage", "%1 · from %2")
        .replace("%1", week)
        .replace("%2", day)
    )


def _unavailable(error: KnownError) -> UIError:
    reason = "not-enrolled" if error.code == "sync-not-provisioned" else error.code
    return UIError("report-server-unavailable", reason=reason)


def fetch_server_report(services: Services, credential: str, wanted: ReportFilter) -> Any:
    """``GET /admin/report`` from the server this laptop is enrolled with (run on a worker).

    Raises:
        UIError: ``report-server-unavailable`` with the reason's code.
    """
    if services.server is None:
        raise UIError("report-server-unavailable", reason="not-enrolled")
    try:
        return services.server.report(credential, wanted.to_params())
    except KnownError as error:
        raise _unavailable(error) from None


def fetch_server_matches(services: Services, credential: str) -> Any:
    """``GET /admin/matches`` from the server this laptop is enrolled with (run on a worker):
    the possible matches between screenings of the coordinator's sites.

    Raises:
        UIError: ``report-server-unavailable`` with the reason's code.
    """
    if services.server is None:
        raise UIError("report-server-unavailable", reason="not-enrolled")
    try:
        return services.server.matches(credential)
    except KnownError as error:
        raise _unavailable(error) from None


class ReportPage(QWidget):
    """The Report screen (coordinators and administrators)."""

    back_requested = Signal()
    #: Emitted with the view each time the report is shown (tests wait on it).
    shown = Signal(object)

    def __init__(
        self,
        services: Services,
        parent: QWidget | None = None,
        server: ServerFetch | None = None,
        matches: MatchFetch | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("reportPage")
        self.services = services
        self._server: ServerFetch = server or (
            lambda credential, wanted: fetch_server_report(services, credential, wanted)
        )
        if matches is None and server is not None:  # a given report fetcher: no matches
            matches = lambda _credential: None  # noqa: E731
        self._matches: MatchFetch = matches or (
            lambda credential: fetch_server_matches(services, credential)
        )
        self.view: ReportView | None = None
        self.source = "laptop"
        self.charts: dict[str, ChartWidget] = {}
        self.tables: dict[str, QTableWidget] = {}
        self._weeks: list[str] = []
        self._sites: list[str] = []
        self._busy = False

        outer = QVBoxLayout(self)
        outer.setContentsMargins(24, 16, 24, 16)
        outer.addWidget(heading(self.tr("Coordinator report"), self))
        self.source_label = QLabel("", self)
        self.source_label.setObjectName("reportSource")
        self.source_label.setWordWrap(True)
        outer.addWidget(self.source_label)

        filters = QHBoxLayout()
        self.from_week = QComboBox(self)
        self.to_week = QComboBox(self)
        for combo in (self.from_week, self.to_week):
            # Sized for the week code; the list itself is as wide as its longest entry (the
            # week with its first day), so the filters still fit a small laptop in Spanish.
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            combo.setMinimumContentsLength(14)
        self.site = QComboBox(self)
        for label, combo, name in (
            (self.tr("From &week"), self.from_week, self.tr("First week")),
            (self.tr("To wee&k"), self.to_week, self.tr("Last week")),
            (self.tr("&Site"), self.site, self.tr("Site")),
        ):
            text = QLabel(label, self)
            text.setBuddy(combo)
            combo.setAccessibleName(name)
            combo.setMinimumContentsLength(10)
            combo.activated.connect(lambda _index: self.refresh())  # the user's choice only
            filters.addWidget(text)
            filters.addWidget(combo)
        self.apply_button = QPushButton(self.tr("Sh&ow"), self)
        self.apply_button.setAccessibleName(self.tr("Show the report for these weeks and site"))
        self.apply_button.clicked.connect(self.refresh)
        filters.addWidget(self.apply_button)
        filters.addStretch(1)
        self.pdf_button = primary_button(self.tr("Save as PD&F…"), self)
        self.pdf_button.clicked.connect(self.save_pdf)
        filters.addWidget(self.pdf_button)
        outer.addLayout(filters)

        server_row = QHBoxLayout()
        self.credential = QLineEdit(self)
        self.credential.setEchoMode(QLineEdit.EchoMode.Password)
        self.credential.setPlaceholderText(self.tr("Coordinator credential for the server"))
        self.credential.setAccessibleName(self.tr("Coordinator credential for the server"))
        self.credential_file_button = QPushButton(self.tr("Credential fi&le…"), self)
        self.credential_file_button.setAccessibleName(
            self.tr("Open the coordinator credential file from IT")
        )
        self.credential_file_button.clicked.connect(self.choose_credential_file)
        self.server_button = QPushButton(self.tr("Use the ser&ver's report"), self)
        self.server_button.clicked.connect(self.use_server)
        self.local_button = QPushButton(self.tr("Use this laptop's scr&eenings"), self)
        self.local_button.clicked.connect(self.use_local)
        server_row.addWidget(self.credential, 1)
        server_row.addWidget(self.credential_file_button)
        server_row.addWidget(self.server_button)
        server_row.addWidget(self.local_button)
        self.server_row = QWidget(self)
        self.server_row.setLayout(server_row)
        server_row.setContentsMargins(0, 0, 0, 0)
        #: The server's report needs a laptop enrolled with a server (or a given fetcher).
        self.server_row.setVisible(server is not None or services.sync is not None)
        outer.addWidget(self.server_row)
        self.status = QLabel("", self)
        self.status.setObjectName("reportStatus")
        self.status.setWordWrap(True)
        outer.addWidget(self.status)

        # The coordinators' list of possible matches (the server's, docs/privacy-matching.md):
        # shown with the server's report only.
        self.matches_label = QLabel("", self)
        self.matches_label.setObjectName("matchesLabel")
        self.matches_label.setWordWrap(True)
        self.matches_table = QTableWidget(0, 4, self)
        self.matches_table.setObjectName("matchesTable")
        self.matches_table.setAccessibleName(self.tr("Possible earlier screenings"))
        self.matches_table.setHorizontalHeaderLabels(
            [
                self.tr("This screening"),
                self.tr("Possible earlier screening"),
                self.tr("Matched on"),
                self.tr("Child agreed the specialist be told"),
            ]
        )
        self.matches_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.matches_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.matches_table.setMaximumHeight(160)
        for widget in (self.matches_label, self.matches_table):
            widget.setVisible(False)
            outer.addWidget(widget)

        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        self.body = QWidget(scroll)
        self.column = QVBoxLayout(self.body)
        self.column.setSpacing(8)
        scroll.setWidget(self.body)
        outer.addWidget(scroll, 1)

    # ------------------------------------------------------------------ loading
    def filter(self) -> ReportFilter:
        first = self.from_week.currentData() or ""
        last = self.to_week.currentData() or ""
        if first and last and first > last:
            first, last = last, first
        site = self.site.currentData() or ""
        return ReportFilter(first, last, frozenset({site}) if site else frozenset())

    def refresh(self) -> None:
        """Build the report again from the current source and filters."""
        if self.source == "server" and self.credential.text():
            self.use_server()
        else:
            self.use_local()

    def use_local(self) -> None:
        self.source = "laptop"
        self.show_matches(None)
        wanted = self.filter()
        lang = self.services.lang
        vault = self.services.vault

        def read() -> tuple[Mapping[str, Any], list[str], list[str]]:
            triples: Triples = list(vault.aggregates())
            weeks, sites = weeks_and_sites(triples)
            return coordinator_report(triples, keep=wanted).to_json(), weeks, sites

        self._set_busy(True)
        self.services.ops.read(
            read,
            lambda result: self._show(result[0], lang, result[1], result[2]),
            self._failed,
        )

    def use_server(self) -> None:
        credential = self.credential.text().strip()
        if not credential and self.services.credential_file is not None:
            # The file chosen on the Batches page (or here) earlier this session.
            self.load_credential_file(self.services.credential_file)
            return
        if not credential:
            self.credential.setFocus()
            self.source_label.setText(
                self.tr("Enter the coordinator credential your administrator gave you.")
            )
            return
        self.source = "server"
        wanted = self.filter()
        lang = self.services.lang

        def fetch() -> tuple[Mapping[str, Any], Mapping[str, Any] | None]:
            body = self._server(credential, wanted)
            try:
                found = self._matches(credential)
            except KnownError:  # the report still shows; the list says it could not be read
                found = None
            return body, found

        def shown(result: tuple[Mapping[str, Any], Mapping[str, Any] | None]) -> None:
            self._show(result[0], lang)
            self.show_matches(result[1])

        self._set_busy(True)
        self.services.ops.read(fetch, shown, self._server_failed)

    def choose_credential_file(self) -> None:
        name, _ = QFileDialog.getOpenFileName(
            self, self.tr("Your coordinator credential file (from IT)"), "", ""
        )
        if name:
            self.load_credential_file(Path(name))

    def load_credential_file(self, path: Path) -> None:
        """The credential from the file IT gave the coordinator (the same file the Batches page
        opens), read on the read pool and kept only in the field; then the server's report."""

        from fieldscreen.sync.relay import read_credential_file

        def loaded(token: str) -> None:
            self._set_busy(False)
            if self.services.user is None:
                return  # locked while the file was read: nothing of it stays
            self.services.credential_file = path
            self.credential.setText(token)
            self.use_server()

        def refused(error: KnownError) -> None:
            self._set_busy(False)
            if self.services.credential_file == path:
                self.services.credential_file = None
            if self.services.user is None:
                return
            self.credential.setFocus()
            self.source_label.setText(error.message(self.services.lang))

        self._set_busy(True)
        self.services.ops.read(
            lambda: read_credential_file(path, "report-credential-file"), loaded, refused
        )

    def _server_failed(self, error: KnownError) -> None:
        self.source = "laptop"
        self._set_busy(False)
        self.use_local()
        self._notice = error.message(self.services.lang)

    def _failed(self, error: KnownError) -> None:
        self._set_busy(False)
        show_error(self, error, self.services.lang)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        for widget in (
            self.apply_button,
            self.server_button,
            self.local_button,
            self.pdf_button,
            self.credential_file_button,
        ):
            widget.setEnabled(not busy)
        if busy:
            self.source_label.setText(self.tr("Counting…"))

    _notice = ""

    def _show(
        self,
        body: Mapping[str, Any],
        lang: str,
        weeks: Sequence[str] = (),
        sites: Sequence[str] = (),
    ) -> None:
        self._set_busy(False)
        try:
            view = report_view(body, lambda d, c: code_label(d, c, lang), weeks=weeks, sites=sites)
        except ValueError:
            self._server_failed(UIError("report-server-unavailable", reason="sync-protocol"))
            return
        self.view = view
        self._fill_filters(view.weeks, view.sites)
        notice, self._notice = self._notice, ""
        if self.source == "server":
            text = self.tr("Source: the server, for the sites you coordinate.")
        else:
            text = self.tr(
                "Source: this laptop's finalised screenings that have not been sent yet "
                "(sent ones are counted on the server)."
            )
        self.source_label.setText(f"{notice}\n{text}" if notice else text)
        self._render(view)
        self.shown.emit(view)

    def show_matches(self, answer: Mapping[str, Any] | None) -> None:
        """The server's possible matches between screenings of the coordinator's sites, one
        row a pair: "site · week · tier" of each, the tokens they share, the child's consent.
        ``None`` (the list could not be read) and the laptop's own report hide it."""
        visible = self.source == "server" and answer is not None
        for widget in (self.matches_label, self.matches_table):
            widget.setVisible(visible)
        if answer is None:
            self.matches_table.setRowCount(0)
            return
        found = list(answer.get("matches", ()))
        kinds = {
            "nd": self.tr("given names and date of birth"),
            "nac": self.tr("given names, age band and country"),
            "fdc": self.tr("first name, date of birth and country"),
        }

        def side(row: Mapping[str, Any]) -> str:
            tier = tier_label(str(row.get("tier", "")))
            return f"{row.get('site', '')} · {row.get('week', '')} · {tier}"

        self.matches_table.setRowCount(len(found))
        for index, pair in enumerate(found):
            cells = [
                side(pair),
                side(pair.get("earlier", {})),
                "; ".join(kinds.get(str(k), str(k)) for k in pair.get("tokens", ())),
                self.tr("Yes") if pair.get("consent") else self.tr("No"),
            ]
            for column, text in enumerate(cells):
                self.matches_table.setItem(index, column, QTableWidgetItem(text))
        text = (
            self.tr(
                "Possible earlier screenings of the same child (%n pair(s)), for you to "
                "check with the sites:",
                "",
                len(found),
            )
            if found
            else self.tr("No possible earlier screenings of the same child at your sites.")
        )
        common = int(answer.get("too_common", 0) or 0)
        if common:
            text += " " + self.tr(
                "%n token(s) shared by too many screenings to point at one child are left out.",
                "",
                common,
            )
        self.matches_label.setText(text)

    def _fill_filters(self, weeks: Sequence[str], sites: Sequence[str]) -> None:
        if list(weeks) == self._weeks and list(sites) == self._sites:
            return
        chosen = (self.from_week.currentData(), self.to_week.currentData(), self.site.currentData())
        self._weeks, self._sites = list(weeks), list(sites)
        for combo, first in (
            (self.from_week, self.tr("Earliest")),
            (self.to_week, self.tr("Latest")),
        ):
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(first, "")
            for week in weeks:
                combo.addItem(week_label(week, self.services.lang), week)
            combo.blockSignals(False)
        self.site.clear()
        self.site.addItem(self.tr("All sites"), "")
        for site in sites:
            self.site.addItem(site, site)
        for combo, value in zip((self.from_week, self.to_week, self.site), chosen, strict=True):
            index = combo.findData(value) if value else 0
            combo.setCurrentIndex(max(0, index))

    # ---------------------------------------------------------------- rendering
    def period_text(self, view: ReportView) -> str:
        wanted = self.filter()
        first = wanted.first_week or view.period[0] or "–"
        last = wanted.last_week or view.period[1] or "–"
        site = ", ".join(sorted(wanted.sites)) or self.tr("all sites")
        return (
            self.tr("Period: ISO weeks %1 to %2; %3")
            .replace("%1", first)
            .replace("%2", last)
            .replace("%3", site)
        )

    def threshold_text(self, view: ReportView) -> str:
        return (
            self.tr(
                "Counts under %1 are suppressed and shown as “%2”, and so is any count that would "
                "let a reader work one out from the totals."
            )
            .replace("%1", str(view.threshold))
            .replace("%2", view.small())
        )

    def total_text(self, view: ReportView) -> str:
        text = self.tr("Screenings counted: %1").replace("%1", view.total_text)
        if view.not_countable:
            text += " " + self.tr("(%1 records could not be counted)").replace(
                "%1", str(view.not_countable)
            )
        return text

    def note_text(self) -> str:
        return self.tr(
            "What these figures reveal: only how many children were screened, per risk tier, "
            "concern, age band, sex, nationality, site and week. No name, answer or story is in "
            "them. Small groups can still point at a child when combined with what a reader "
            "already knows, so keep this report within the organisation and do not compare it "
            "with reports of overlapping periods to work out hidden counts."
        )

    def _render(self, view: ReportView) -> None:
        self._render_empty()
        for text in (self.period_text(view), self.total_text(view), self.threshold_text(view)):
            label = QLabel(text, self.body)
            label.setWordWrap(True)
            self.column.addWidget(label)
        note = QLabel(self.note_text(), self.body)
        note.setObjectName("reportNote")
        note.setWordWrap(True)
        self.column.addWidget(note)
        titles = section_titles()
        for name in SECTION_ORDER:
            section = view.sections.get(name)
            if section is None:
                continue
            self.column.addWidget(heading(titles[name], self.body, "sectionTitle"))
            if not section.rows:
                self.column.addWidget(QLabel(self.tr("No screenings in this period."), self.body))
                continue
            row = QHBoxLayout()
            chart = ChartWidget(section, titles[name], self.body)
            table = self._table(section, titles[name])
            row.addWidget(chart, 3, Qt.AlignmentFlag.AlignTop)
            row.addWidget(table, 2, Qt.AlignmentFlag.AlignTop)
            holder = QWidget(self.body)
            holder.setLayout(row)
            self.column.addWidget(holder)
            self.charts[name] = chart
            self.tables[name] = table
        self.column.addStretch(1)

    def _table(self, section: Section, title: str) -> QTableWidget:
        table = QTableWidget(len(section.rows), 2, self.body)
        table.setObjectName(f"reportTable_{section.name}")
        table.setAccessibleName(self.tr("Table: %1").replace("%1", title))
        table.setHorizontalHeaderLabels([self.tr("Group"), self.tr("Screenings")])
        table.verticalHeader().setVisible(False)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        for i, row in enumerate(section.rows):
            label = QTableWidgetItem(row.label)
            value = QTableWidgetItem(row.text)
            value.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if row.suppressed:
                value.setToolTip(
                    self.tr("Suppressed: fewer than %1").replace(
                        "%1", str(self.view.threshold if self.view else 5)
                    )
                )
                value.setData(Qt.ItemDataRole.AccessibleTextRole, self.tr("suppressed"))
            table.setItem(i, 0, label)
            table.setItem(i, 1, value)
        height = table.horizontalHeader().height() + sum(
            table.rowHeight(i) for i in range(table.rowCount())
        )
        height += 2 * table.frameWidth() + 2
        table.setMinimumHeight(min(height, 420))
        table.setMaximumHeight(height)
        return table

    # ---------------------------------------------------------------- PDF
    def pdf_words(self, view: ReportView) -> PdfTexts:
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        source = (
            self.tr("the server, for the sites you coordinate")
            if self.source == "server"
            else self.tr("this laptop's screenings not yet sent")
        )
        return PdfTexts(
            title=self.tr("FieldScreen coordinator report"),
            period=self.period_text(view),
            threshold=self.threshold_text(view),
            total=self.total_text(view),
            note=self.note_text(),
            generated=self.tr("Made %1 from %2.").replace("%1", now).replace("%2", source),
            section_titles=section_titles(),
            label_header=self.tr("Group"),
            count_header=self.tr("Screenings"),
            empty=self.tr("No screenings in this period."),
            page=lambda n: self.tr("Page %1").replace("%1", str(n)),
        )

    def save_pdf(self, path: Path | None = None) -> Path | None:
        """Ask where to save (only where the user chooses) and write the PDF there."""
        view = self.view
        if view is None:
            return None
        if path is None:
            name, _ = QFileDialog.getSaveFileName(
                self,
                self.tr("Save the report as PDF"),
                str(Path.home() / "fieldscreen-report.pdf"),
                self.tr("PDF files (*.pdf)"),
            )
            if not name:
                return None
            path = Path(name)
        if path.suffix.lower() != ".pdf":
            path = path.with_suffix(".pdf")
        try:
            write_report_pdf(path, view, self.pdf_words(view))
        except KnownError as error:
            show_error(self, error, self.services.lang)
            return None
        vault = self.services.vault  # who saved which kind of report, never its figures
        detail = {"what": "coordinator-report-pdf", "source": self.source}
        self.services.ops.write(lambda: vault.record_event("export", detail))
        self.status.setText(
            self.tr("The report was saved as %1. It holds counts only, no names.").replace(
                "%1", path.name
            )
        )
        return path

    def clear(self) -> None:
        """Forget the credential, its file and the figures (on lock)."""
        self.credential.clear()
        self.services.credential_file = None
        self.source = "laptop"
        self.view = None
        self.status.clear()
        self._render_empty()

    def _render_empty(self) -> None:
        while self.column.count():
            item = self.column.takeAt(0)
            if item is not None and (widget := item.widget()) is not None:
                widget.deleteLater()
        self.charts.clear()
        self.tables.clear()
