"""Home (start, drafts, follow-ups, deadlines, sync state) and the searchable case list.

:class:`CaseTableModel` is a plain :class:`QAbstractTableModel` over rows read from the vault on
the read pool; it does search-as-you-type over the decrypted case cards held in memory while
unlocked (the vault keeps no plaintext index), and sorts by due date or tier.
"""

from __future__ import annotations

import heapq
import html
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from fieldscreen.errors import KnownError
from fieldscreen.ui.common import (
    Services,
    countdown,
    heading,
    primary_button,
    scale_font,
    show_error,
    tier_label,
)
from fieldscreen.ui.ports import TIERS, CaseSummary, DraftSummary, VaultPort

__all__ = [
    "CaseCardDialog",
    "CaseListPage",
    "CaseLoad",
    "CaseRow",
    "CaseTableModel",
    "HomePage",
    "first_screenful",
    "load_rows",
    "rows_of",
    "sort_rows",
]

Index = QModelIndex | QPersistentModelIndex
_FAR = datetime.max.replace(tzinfo=UTC)


class CaseRow(NamedTuple):
    """One row: a finalised case or a draft, with its search text folded once (a named tuple:
    50,000 are made per listing, several times faster than a frozen dataclass)."""

    screening_id: str
    code: str
    alias: str
    tier: str
    concerns: tuple[str, ...]
    due: datetime | None
    status: str
    haystack: str

    @classmethod
    def of_case(cls, case: CaseSummary) -> CaseRow:
        text = " ".join((case.code, case.alias, *case.concerns)).casefold()
        return cls(
            case.screening_id,
            case.code,
            case.alias,
            case.tier,
            case.concerns,
            case.next_due,
            case.status,
            text,
        )

    @classmethod
    def of_draft(cls, draft: DraftSummary) -> CaseRow:
        return cls(draft.screening_id, draft.code, "", "", (), None, "draft", draft.code.casefold())


class CaseTableModel(QAbstractTableModel):
    """The case list: every row read from the vault, filtered and sorted in plain Python.

    Rows are kept sorted by the chosen key, so a search only filters (order is preserved) and
    a query that extends the previous one filters only the previous hits. With 50,000 rows a
    keystroke costs one pass over at most the previous hits and a model reset; a
    :class:`QSortFilterProxyModel` would call back into Python for every row and every
    comparison.
    """

    COLUMNS = ("code", "alias", "tier", "due", "status")
    ROW_ROLE = Qt.ItemDataRole.UserRole + 1
    SORT_KEYS = ("due", "tier")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._all: list[CaseRow] = []
        self._shown: list[CaseRow] = []
        self._query = ""
        self._words: tuple[str, ...] = ()
        self._sort = "due"
        self._total = 0

    # ----------------------------------------------------------- contents
    def set_rows(
        self, rows: Sequence[CaseRow], *, presorted: str | None = None, total: int | None = None
    ) -> None:
        """Show ``rows`` (filtered by the current search).

        Args:
            rows: the rows; sorted here unless ``presorted`` names the current sort key (a
                worker sorted them with :func:`sort_rows`, off the GUI thread).
            total: how many rows the full list has, when ``rows`` is only its first screenful
                (the count line says so until the rest arrives).
        """
        self.beginResetModel()
        self._all = list(rows) if presorted == self._sort else sort_rows(rows, self._sort)
        self._shown = self._filter(self._all, self._words)
        self._total = len(self._all) if total is None else total
        self.endResetModel()

    def clear(self) -> None:
        self._query = ""
        self._words = ()
        self.set_rows([])

    @property
    def total(self) -> int:
        return self._total

    @property
    def sort_key(self) -> str:
        return self._sort

    def sort_by(self, key: str) -> None:
        if key not in self.SORT_KEYS:
            raise ValueError(key)
        self._sort = key
        self.set_rows(self._all, total=self._total)

    def set_query(self, text: str) -> None:
        words = tuple(text.casefold().split())
        narrowing = (
            bool(self._words)
            and len(words) >= len(self._words)
            and all(new.startswith(old) for new, old in zip(words, self._words, strict=False))
        )
        source = self._shown if narrowing else self._all
        self.beginResetModel()
        self._query, self._words = text, words
        self._shown = self._filter(source, words)
        self.endResetModel()

    @staticmethod
    def _filter(rows: list[CaseRow], words: tuple[str, ...]) -> list[CaseRow]:
        if not words:
            return list(rows)
        if len(words) == 1:
            word = words[0]
            return [r for r in rows if word in r.haystack]
        return [r for r in rows if all(w in r.haystack for w in words)]

    def row_at(self, row: int) -> CaseRow | None:
        return self._shown[row] if 0 <= row < len(self._shown) else None

    # -------------------------------------------------------------- model
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._shown)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or role != Qt.ItemDataRole.DisplayRole:
            return None
        if not 0 <= section < len(self.COLUMNS):
            return None
        titles = {
            "code": self.tr("Case"),
            "alias": self.tr("Name or alias"),
            "tier": self.tr("Tier"),
            "due": self.tr("Next follow-up"),
            "status": self.tr("Status"),
        }
        return titles[self.COLUMNS[section]]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._shown):
            return None
        if not 0 <= index.column() < len(self.COLUMNS):
            return None
        row = self._shown[index.row()]
        column = self.COLUMNS[index.column()]
        if role == self.ROW_ROLE:
            return row
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            if column == "tier":
                return tier_label(row.tier) if row.tier else ""
            if column == "due":
                return countdown(row.due) if row.due else ""
            if column == "status":
                return {
                    "draft": self.tr("Draft"),
                    "finalised": self.tr("Finalised"),
                    "sealed": self.tr("Sealed"),
                }.get(row.status, row.status)
            return getattr(row, column)
        return None


def order_of(tier: str) -> int:
    return TIERS.index(tier) if tier in TIERS else len(TIERS)


def _order(key: str) -> Callable[[datetime | None, str], tuple[Any, Any]]:
    """The list's order for ``key`` over (due, tier): ``due`` soonest first, ``tier`` gravest."""
    ranks = {t: i for i, t in enumerate(TIERS)}
    last = len(TIERS)
    if key == "tier":
        return lambda due, tier: (ranks.get(tier, last), due or _FAR)
    return lambda due, tier: (due or _FAR, ranks.get(tier, last))


def sort_key(key: str) -> Callable[[CaseRow], Any]:
    """The order of the case list for ``key`` (``due``: soonest first; ``tier``: gravest)."""
    order = _order(key)
    return lambda r: order(r.due, r.tier)


def sort_rows(rows: Iterable[CaseRow], key: str) -> list[CaseRow]:
    """``rows`` in the case list's order for ``key`` (safe to call on a worker thread)."""
    return sorted(rows, key=sort_key(key))


def first_screenful(rows: Iterable[CaseRow], key: str, count: int) -> list[CaseRow]:
    """The first ``count`` rows of ``rows`` in the order for ``key``, without sorting them all."""
    return heapq.nsmallest(count, rows, key=sort_key(key))


@dataclass(frozen=True, slots=True)
class CaseLoad:
    """The case list read from the vault: its first screenful ready to show, the rest to build.

    ``build`` makes every row (unsorted, in the order they were read); :meth:`rows` calls it
    on the read pool.
    """

    first: list[CaseRow]
    total: int
    build: Callable[[], list[CaseRow]]

    def rows(self, key: str) -> list[CaseRow]:
        """Every row in the order for ``key`` (on the read pool: it builds and sorts them all)."""
        return sort_rows(self.build(), key)


def _when(value: Any) -> datetime | None:
    if not value or not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def rows_of(
    records: Iterable[tuple[str, str, str | None]], entries: Mapping[str, Sequence[Any]]
) -> list[CaseRow]:
    """List rows of ``records`` (``(id, status, updated day)``) with their cards' index
    entries (:class:`fieldscreen.vault.CaseColumns`), in the order given: a finalised record
    with an entry shows its card's fields, a draft is a draft, anything else (a sealed or
    purged record, a card that could not be read) is listed without fields."""
    from fieldscreen.ui.ports import record_code
    from fieldscreen.vault.listindex import ALIAS, CONCERNS, NEXT_DUE, SEP, TIER

    out: list[CaseRow] = []
    append = out.append
    get = entries.get
    for rid, status, _day in records:
        code = record_code(rid)
        entry = get(rid) if status == "finalised" else None
        if entry is not None:
            alias = entry[ALIAS] or ""
            joined = entry[CONCERNS]
            concerns = tuple(joined.split(SEP)) if joined else ()
            text = " ".join((code, alias, *concerns)).casefold()
            append(
                CaseRow(
                    rid, code, alias, entry[TIER] or "", concerns, _when(entry[NEXT_DUE]),
                    "finalised", text,
                )
            )  # fmt: skip
        else:
            shown = status if status in ("draft", "finalised") else "sealed"
            append(CaseRow(rid, code, "", "", (), None, shown, code.casefold()))
    return out


def load_rows(vault: VaultPort, key: str, count: int) -> CaseLoad:
    """Read every case and draft, and make list rows of only the first ``count`` in the order
    for ``key`` (blocks on the vault: run it on the read pool).

    Over the vault's list index (``case_columns`` not None), the first screenful is picked
    from the decoded index entries, and rows are made only for it; every other row is made by
    :meth:`CaseLoad.rows`, later, on the pool.
    """
    columns = vault.case_columns()
    if columns is None:  # a store without the list index (the in-memory one of the tests)
        cases = vault.cases()
        drafts = [CaseRow.of_draft(d) for d in vault.drafts()]
        order = _order(key)
        top = heapq.nsmallest(count, cases, key=lambda c: order(c.next_due, c.tier))
        first = first_screenful([*(CaseRow.of_case(c) for c in top), *drafts], key, count)

        def every() -> list[CaseRow]:
            return [*(CaseRow.of_case(c) for c in cases), *drafts]

        return CaseLoad(first, len(cases) + len(drafts), every)
    from fieldscreen.vault.listindex import NEXT_DUE, TIER

    records, entries = columns
    get = entries.get
    parse = datetime.fromisoformat
    tier_of = {t: i for i, t in enumerate(TIERS)}.get
    last = len(TIERS)
    by_tier = key == "tier"
    none = (last, _FAR) if by_tier else (_FAR, last)

    # The order of :func:`_order` for one record, in one call (no nested call of its own
    # per record but the date's parse: this runs once per record at every unlock).
    def rank(record: tuple[str, str, str | None]) -> Any:
        entry = get(record[0]) if record[1] == "finalised" else None
        if entry is None:
            return none
        due = entry[NEXT_DUE]
        try:
            when = parse(due) if due else _FAR
        except (TypeError, ValueError):
            when = _FAR
        tier = tier_of(entry[TIER] or "", last)
        return (tier, when) if by_tier else (when, tier)

    head = heapq.nsmallest(count, records, key=rank)
    first = first_screenful(rows_of(head, entries), key, count)
    return CaseLoad(first, len(records), lambda: rows_of(records, entries))


class CaseCardDialog(QDialog):
    """What is kept of a finalised screening for follow-up, read-only, and the button that
    records a follow-up done (the next date then moves on by the tier's cadence)."""

    follow_up_done = Signal()
    #: Another case event to record: its type, the reason (a closed case's) and a note.
    event_requested = Signal(str, str, str)

    #: The specialist asks the server for earlier screenings of this child (with consent).
    earlier_requested = Signal()
    #: A handover to a partner: its id in the directory, the packet's file (may be empty when
    #: it goes through the server), a coordinator's reason to share without the child's
    #: consent (empty: the child's consent decides), whether a PDF of the summary in both
    #: languages is saved beside it, and whether the packet goes through the server.
    handover_requested = Signal(str, str, str, bool, bool)

    def __init__(
        self,
        code: str,
        card: Mapping[str, Any],
        parent: QWidget | None = None,
        *,
        can_check_earlier: bool = False,
        partners: Sequence[tuple[str, str]] = (),
        can_release: bool = False,
        can_send: bool = False,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("caseCardDialog")
        self._can_send = can_send
        self._earlier: list[Mapping[str, Any]] = []
        self._partners = list(partners)
        self._can_release = can_release
        self.handover_dialog: HandoverDialog | None = None
        self.setWindowTitle(self.tr("Case %s") % code)
        self.resize(640, 480)
        layout = QVBoxLayout(self)
        layout.addWidget(heading(self.tr("Case %s") % code, self))
        names = {
            "alias": self.tr("Name or alias"),
            "tier": self.tr("Tier"),
            "due": self.tr("Next follow-up"),
            "concerns": self.tr("Protection concerns"),
        }
        values: dict[str, str] = {}
        if card.get("alias"):
            values["alias"] = str(card["alias"])
        if card.get("tier"):
            values["tier"] = tier_label(str(card["tier"]))
        if card.get("next_due"):
            values["due"] = countdown(datetime.fromisoformat(str(card["next_due"])))
        if card.get("concerns"):
            values["concerns"] = ", ".join(str(c) for c in card["concerns"])
        lines = [
            f"<b>{html.escape(names[key])}:</b> {html.escape(value)}"
            for key, value in values.items()
        ]
        for d in card.get("deadlines", ()):
            due = datetime.fromisoformat(str(d["due"]))
            lines.append(f"• {html.escape(str(d['label']))}: {html.escape(countdown(due))}")
        for r in card.get("referrals", ()):
            state = "" if r.get("consented") else " — " + self.tr("not shared (no consent)")
            who = ", ".join(str(p.get("name", "")) for p in r.get("providers", ()))
            where = f": {who}" if who and r.get("consented") else ""
            lines.append(f"• {html.escape(str(r['label']))}{html.escape(where + state)}")
        for h in card.get("handovers", ()):
            sent = str(h.get("sent", ""))[:16].replace("T", " ") + " UTC"
            acknowledged = str(h.get("acknowledged") or "")[:16].replace("T", " ")
            acknowledged += " UTC" if acknowledged else ""
            text = (
                self.tr("Handed over to %1 on %2, acknowledged on %3").replace("%3", acknowledged)
                if acknowledged
                else self.tr("Handed over to %1 on %2, not acknowledged yet")
            )
            lines.append(
                "• "
                + html.escape(text.replace("%1", str(h.get("partner", ""))).replace("%2", sent))
            )
        plan = card.get("follow_up") or {}
        done = list(plan.get("done", ()))
        if done:
            last = datetime.fromisoformat(str(done[-1])).astimezone()
            lines.append(
                html.escape(
                    self.tr("Follow-ups done: %1 (last on %2)")
                    .replace("%1", str(len(done)))
                    .replace("%2", last.strftime("%Y-%m-%d %H:%M"))
                )
            )
        if plan and not card.get("next_due"):
            lines.append(html.escape(self.tr("No further follow-up is scheduled on this laptop.")))
        self.body = QLabel("<br>".join(lines) or html.escape(self.tr("Nothing was kept.")), self)
        self.body.setWordWrap(True)
        self.body.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.body, 1)
        layout.addWidget(QLabel(f"<b>{html.escape(self.tr('Timeline'))}</b>", self))
        self.timeline = QListWidget(self)
        self.timeline.setObjectName("caseTimeline")
        self.timeline.setAccessibleName(self.tr("Timeline"))
        for text in self.timeline_lines(card):
            self.timeline.addItem(text)
        layout.addWidget(self.timeline, 1)
        self.earlier = QLabel("", self)
        self.earlier.setObjectName("caseEarlier")
        self.earlier.setWordWrap(True)
        self.earlier.setVisible(False)
        layout.addWidget(self.earlier)
        buttons = QHBoxLayout()
        self.record = primary_button(self.tr("&Record a follow-up done now"), self)
        self.record.setVisible(bool(card.get("next_due")))
        self.record.clicked.connect(self._record)
        close = QPushButton(self.tr("&Close"), self)
        close.setObjectName("secondary")
        close.clicked.connect(self.accept)
        self.add_event = QPushButton(self.tr("Record an &event…"), self)
        self.add_event.setObjectName("secondary")
        self.add_event.clicked.connect(self._ask_event)
        self.check_earlier = QPushButton(self.tr("Earlier &screenings…"), self)
        self.check_earlier.setObjectName("secondary")
        self.check_earlier.setAccessibleName(
            self.tr("Ask the server whether this child was screened before at another site")
        )
        self.check_earlier.setVisible(can_check_earlier)
        self.check_earlier.clicked.connect(self._ask_earlier)
        self.link = QPushButton(self.tr("&Link the cases"), self)
        self.link.setObjectName("secondary")
        self.link.setVisible(False)
        self.link.clicked.connect(self._link)
        self.handover = QPushButton(self.tr("&Hand over…"), self)
        self.handover.setObjectName("secondary")
        self.handover.setAccessibleName(
            self.tr("Hand the case over to a partner organisation of the service directory")
        )
        self.handover.setVisible(bool(self._partners))
        self.handover.clicked.connect(self._ask_handover)
        self.handover_done = QLabel("", self)
        self.handover_done.setObjectName("caseHandoverDone")
        self.handover_done.setWordWrap(True)
        self.handover_done.setVisible(False)
        layout.addWidget(self.handover_done)
        buttons.addWidget(self.record)
        buttons.addWidget(self.add_event)
        buttons.addWidget(self.check_earlier)
        buttons.addWidget(self.link)
        buttons.addWidget(self.handover)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout.addLayout(buttons)

    def _record(self) -> None:
        self.record.setEnabled(False)
        self.follow_up_done.emit()

    def _ask_earlier(self) -> None:
        self.check_earlier.setEnabled(False)
        self.earlier_requested.emit()

    def show_earlier(self, earlier: Sequence[Mapping[str, Any]]) -> None:
        """The earlier screenings the server named for this case (site, week, tier), or that
        it named none (no match, or the child did not agree to be told)."""
        self.check_earlier.setEnabled(True)
        self._earlier = list(earlier)
        if earlier:
            lines = [
                self.tr("A previous screening exists: site %1, week %2, tier %3.")
                .replace("%1", str(e.get("site", "")))
                .replace("%2", str(e.get("week", "")))
                .replace("%3", tier_label(str(e.get("tier", ""))))
                for e in earlier
            ]
        else:
            lines = [
                self.tr(
                    "No earlier screening is known for this child, or the child did not agree "
                    "to be told."
                )
            ]
        self.earlier.setText("\n".join(lines))
        self.earlier.setVisible(True)
        self.link.setVisible(bool(earlier))

    def _link(self) -> None:
        """Link the case to the (first) earlier screening shown: a sealed case event."""
        if not self._earlier:
            return
        e = self._earlier[0]
        self.link.setEnabled(False)
        note = (
            f"earlier screening {e.get('record_id', '')} (site {e.get('site', '')}, week "
            f"{e.get('week', '')}, tier {e.get('tier', '')})"
        )
        self.event_requested.emit("linked", "", note)

    def _ask_handover(self) -> None:
        dialog = HandoverDialog(
            self._partners, self, can_release=self._can_release, can_send=self._can_send
        )
        self.handover_dialog = dialog
        dialog.accepted.connect(
            lambda: self.handover_requested.emit(
                dialog.partner(),
                dialog.path(),
                dialog.reason(),
                dialog.pdf.isChecked() and bool(dialog.path()),
                dialog.send.isChecked(),
            )
        )
        dialog.open()

    def show_handover(self, done: Mapping[str, Any]) -> None:
        """Say where the packet went and how many concerns the consent kept out of it."""
        self.handover.setEnabled(True)
        partner, out = str(done.get("partner", "")), str(done.get("out", ""))
        if done.get("queued"):
            text = self.tr(
                "Handover packet for %1 queued, sealed to its key: it goes to the server at the "
                "next sync, and the partner's acknowledgement comes back the same way."
            ).replace("%1", partner)
            if out:
                text += " " + self.tr("A copy is in %1.").replace("%1", out)
        else:
            text = (
                self.tr("Handover packet for %1 written to %2, sealed to its key. Send the file.")
                .replace("%1", partner)
                .replace("%2", out)
            )
        kept = int(done.get("concerns_kept_out", 0) or 0)
        if kept:
            text += " " + self.tr(
                "%1 concern(s) left out: the consent to this recipient does not cover them."
            ).replace("%1", str(kept))
        if done.get("pdf"):
            text += " " + self.tr(
                "The summary in English and Spanish is in %1 (not encrypted)."
            ).replace("%1", str(done["pdf"]))
        self.handover_done.setText(text)
        self.handover_done.setVisible(True)

    def _ask_event(self) -> None:
        dialog = CaseEventDialog(self._event_labels(), self)
        self.event_dialog = dialog
        dialog.accepted.connect(
            lambda: self.event_requested.emit(dialog.kind(), dialog.reason(), dialog.note())
        )
        dialog.open()

    def _event_labels(self) -> dict[str, str]:
        return {
            "screening": self.tr("Screening"),
            "follow-up": self.tr("Follow-up done"),
            "referral": self.tr("Referral made"),
            "service-reached": self.tr("Service reached"),
            "moved": self.tr("Child moved"),
            "left": self.tr("Child left"),
            "closed": self.tr("Case closed"),
            "linked": self.tr("Linked to an earlier screening"),
            "handover-sent": self.tr("Handover sent to a partner"),
            "handover-acknowledged": self.tr("Handover acknowledged by the partner"),
            "stabilised": self.tr("stabilised"),
            "transferred": self.tr("transferred"),
            "returned": self.tr("returned"),
            "reunified": self.tr("reunified with family"),
            "aged-out": self.tr("turned 18"),
            "lost-contact": self.tr("contact lost"),
            "other": self.tr("other"),
        }

    def timeline_lines(self, card: Mapping[str, Any]) -> list[str]:
        """The case's timeline as this laptop knows it: the screening, then every case event
        recorded here (each sealed for the team), oldest first."""
        names = self._event_labels()

        def when(text: str) -> str:
            try:
                return (
                    datetime.fromisoformat(text.replace("Z", "+00:00"))
                    .astimezone()
                    .strftime("%Y-%m-%d %H:%M")
                )
            except ValueError:
                return text[:16]

        start = str((card.get("follow_up") or {}).get("start") or "")
        out = [f"{when(start) if start else '—'}  {names['screening']}"]
        for event in sorted(card.get("events", ()), key=lambda e: str(e.get("at", ""))):
            kind = str(event.get("type", ""))
            text = f"{when(str(event.get('at', '')))}  {names.get(kind, kind)}"
            if event.get("reason"):
                text += f" ({names.get(str(event['reason']), str(event['reason']))})"
            if event.get("note"):
                text += f": {event['note']}"
            out.append(text)
        return out


class CaseEventDialog(QDialog):
    """What happened to the case: the event's type, a closed case's reason, a short note."""

    def __init__(self, labels: Mapping[str, str], parent: QWidget | None = None) -> None:
        from fieldscreen.caseevents import CLOSE_REASONS, EVENT_TYPES, MAX_NOTE

        super().__init__(parent)
        self.setObjectName("caseEventDialog")
        self.setWindowTitle(self.tr("Record a case event"))
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(self.tr("What happened"), self))
        self.types = QComboBox(self)
        self.types.setAccessibleName(self.tr("What happened"))
        for code in EVENT_TYPES:
            self.types.addItem(labels.get(code, code), code)
        layout.addWidget(self.types)
        layout.addWidget(QLabel(self.tr("Why the case was closed"), self))
        self.reasons = QComboBox(self)
        self.reasons.setAccessibleName(self.tr("Why the case was closed"))
        for code in CLOSE_REASONS:
            self.reasons.addItem(labels.get(code, code), code)
        layout.addWidget(self.reasons)
        layout.addWidget(QLabel(self.tr("Note (optional)"), self))
        self.notes = QLineEdit(self)
        self.notes.setAccessibleName(self.tr("Note (optional)"))
        self.notes.setMaxLength(MAX_NOTE)
        layout.addWidget(self.notes)
        self.ok = _accept_and_cancel(self, layout, self.tr("&Record"), self.tr("&Cancel"))
        self.types.currentIndexChanged.connect(self._closing)
        self._closing()

    def _closing(self) -> None:
        self.reasons.setEnabled(self.kind() == "closed")

    def kind(self) -> str:
        return str(self.types.currentData())

    def reason(self) -> str:
        return str(self.reasons.currentData()) if self.kind() == "closed" else ""

    def note(self) -> str:
        return self.notes.text().strip()


def write_handover_pdf(path: Path, document_html: str) -> None:
    """The handover's summary as a PDF (Qt's own writer; only to the file the user chose)."""
    from PySide6.QtCore import QMarginsF
    from PySide6.QtGui import QPageLayout, QPageSize, QPdfWriter, QTextDocument

    writer = QPdfWriter(str(path))
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    writer.setPageMargins(QMarginsF(15, 15, 15, 15), QPageLayout.Unit.Millimeter)
    writer.setTitle("Case handover")
    writer.setCreator("FieldScreen")
    document = QTextDocument()
    document.setHtml(document_html)
    document.print_(writer)
    if not path.is_file():  # Qt says nothing when it cannot write the file
        raise OSError(f"no PDF written to {path.name}")


class HandoverDialog(QDialog):
    """To whom the case goes (a partner of the site's directory that has keys), where its
    packet file is written, and a coordinator's reason to share without the child's consent
    (only for a coordinator or an admin; audited)."""

    def __init__(
        self,
        partners: Sequence[tuple[str, str]],
        parent: QWidget | None = None,
        *,
        can_release: bool = False,
        can_send: bool = False,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("handoverDialog")
        self.setWindowTitle(self.tr("Hand the case over"))
        layout = QVBoxLayout(self)
        layout.addWidget(
            QLabel(
                self.tr(
                    "Only what the child consented to share with this partner goes, sealed to "
                    "its key: the best-interests summary and the return plan."
                ),
                self,
            )
        )
        layout.addWidget(QLabel(self.tr("Partner"), self))
        self.partners = QComboBox(self)
        self.partners.setAccessibleName(self.tr("Partner"))
        for partner_id, name in partners:
            self.partners.addItem(name, partner_id)
        layout.addWidget(self.partners)
        self.send = QCheckBox(
            self.tr(
                "Send through the server at the next sync (the server cannot read it); the "
                "packet file is then optional"
            ),
            self,
        )
        self.send.setVisible(can_send)
        layout.addWidget(self.send)
        layout.addWidget(QLabel(self.tr("Packet file"), self))
        row = QHBoxLayout()
        self.file = QLineEdit(self)
        self.file.setAccessibleName(self.tr("Packet file"))
        self.choose = QPushButton(self.tr("C&hoose…"), self)
        self.choose.setObjectName("secondary")
        self.choose.clicked.connect(self._choose)
        row.addWidget(self.file, 1)
        row.addWidget(self.choose)
        layout.addLayout(row)
        self.reason_label = QLabel(
            self.tr("Reason to share without the child's consent (coordinators; audited)"), self
        )
        self.reasons = QLineEdit(self)
        self.reasons.setAccessibleName(self.reason_label.text())
        self.reasons.setMaxLength(200)
        for widget in (self.reason_label, self.reasons):
            widget.setVisible(can_release)
            layout.addWidget(widget)
        self.pdf = QCheckBox(
            self.tr(
                "Also save the summary as a PDF in English and Spanish, beside the packet, for "
                "a partner without the software (not encrypted: anyone who gets it can read it)"
            ),
            self,
        )
        layout.addWidget(self.pdf)
        self.ok = _accept_and_cancel(self, layout, self.tr("&Hand over"), self.tr("&Cancel"))
        self.file.textChanged.connect(self._ready)
        self.send.toggled.connect(self._ready)
        self._ready()

    def _choose(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getSaveFileName(
            self,
            self.tr("Save the handover packet"),
            f"handover-{self.partner()}.json",
            self.tr("Handover packets (*.json)"),
        )
        if path:
            self.file.setText(path)

    def _ready(self) -> None:
        chosen = bool(self.path()) or self.send.isChecked()
        self.ok.setEnabled(chosen and self.partners.count() > 0)
        self.pdf.setEnabled(bool(self.path()))  # the PDF goes beside the packet file

    def partner(self) -> str:
        return str(self.partners.currentData() or "")

    def path(self) -> str:
        return self.file.text().strip()

    def reason(self) -> str:
        return self.reasons.text().strip() if self.reasons.isVisibleTo(self) else ""


class CaseListPage(QWidget):
    open_requested = Signal(str, str)  # screening id, status
    # A follow-up was recorded (the window refreshes home and this list).
    follow_up_recorded = Signal(str)

    def __init__(self, services: Services, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("casesPage")
        self.services = services
        # When a follow-up is recorded as done (tests set a fake clock).
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self.card_dialog: CaseCardDialog | None = None
        #: The site's service directory (set by the window once read from the vault): its
        #: partners with keys can receive a handover from the case card.
        self.directory: Any = None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(24, 16, 24, 16)
        outer.addWidget(heading(self.tr("Cases and drafts"), self))
        bar = QHBoxLayout()
        self.search = QLineEdit(self)
        self.search.setPlaceholderText(self.tr("Search by case code, name or concern"))
        self.search.setAccessibleName(self.tr("Search cases"))
        self.search.setClearButtonEnabled(True)
        self.sort = QComboBox(self)
        self.sort.setAccessibleName(self.tr("Sort by"))
        self.sort.addItem(self.tr("Sort by due date"), "due")
        self.sort.addItem(self.tr("Sort by tier"), "tier")
        bar.addWidget(self.search, 1)
        bar.addWidget(self.sort)
        outer.addLayout(bar)
        self.model = CaseTableModel(self)
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setAccessibleName(self.tr("Cases"))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        # Fixed sections: Stretch or ResizeToContents would measure every row on each reset.
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() * 2)
        self.table.setAlternatingRowColors(True)
        outer.addWidget(self.table, 1)
        self.count = QLabel("", self)
        outer.addWidget(self.count)
        self.search.textChanged.connect(self._search)
        self.sort.currentIndexChanged.connect(self._sort)
        self.table.activated.connect(self._activated)

    def set_rows(
        self, rows: Sequence[CaseRow], *, presorted: str | None = None, total: int | None = None
    ) -> None:
        self.model.set_rows(rows, presorted=presorted, total=total)
        self._count()

    def clear(self) -> None:
        self.search.clear()
        self.model.clear()
        self.directory = None  # read again after the next unlock

    def _search(self, text: str) -> None:
        self.model.set_query(text)
        self._count()

    def _sort(self) -> None:
        self.model.sort_by(str(self.sort.currentData()))

    def _count(self) -> None:
        shown, total = self.model.rowCount(), self.model.total
        if total == 0 and not self.search.text().strip():
            text = self.tr("No cases or drafts yet: a screening appears here once it is started.")
        elif shown == 0:  # an empty table alone would look like lost data
            text = self.tr(
                "Nothing matches this search. Search by case code, name or alias, or concern; "
                "clear the search to see all %1."
            ).replace("%1", str(total))
        else:
            text = self.tr("%1 of %2 shown").replace("%1", str(shown)).replace("%2", str(total))
        self.count.setText(text)

    def _activated(self, index: QModelIndex) -> None:
        row = self.model.row_at(index.row())
        if row is None:
            return
        if row.status != "finalised":
            self.open_requested.emit(row.screening_id, row.status)
            return
        self.open_card(row.screening_id, row.code)

    def open_card(self, screening_id: str, code: str) -> None:
        """Show what is kept of a finalised case (read on the pool)."""
        vault = self.services.vault
        self.services.ops.read(
            lambda: vault.case_card(screening_id),
            lambda card: self._show_card(screening_id, code, card),
            lambda error: show_error(self, error, self.services.lang),
        )

    def _show_card(self, screening_id: str, code: str, card: Mapping[str, Any]) -> None:
        if self.services.user is None:
            return
        sync = self.services.sync
        lang = self.services.lang
        partners = [
            (p.id, p.name.get(lang) or p.name.get("en") or p.id)
            for p in getattr(self.directory, "partners", ())
            if p.can_receive
        ]
        dialog = CaseCardDialog(
            code,
            card,
            self,
            can_check_earlier=sync is not None and sync.matches is not None,
            partners=partners,
            can_release=self.services.user.role in ("coordinator", "admin"),
            can_send=sync is not None,
        )
        dialog.handover_requested.connect(
            lambda partner, path, reason, pdf, send: self.hand_over(
                screening_id, partner, path, reason, dialog, pdf=pdf, send=send
            )
        )
        dialog.earlier_requested.connect(lambda: self.check_earlier(screening_id, dialog))
        dialog.follow_up_done.connect(lambda: self.record_follow_up(screening_id, dialog))
        dialog.event_requested.connect(
            lambda kind, reason, note: self.record_event(screening_id, kind, reason, note, dialog)
        )
        self.card_dialog = dialog
        dialog.open()

    def check_earlier(self, screening_id: str, dialog: CaseCardDialog) -> None:
        """Ask the server (on the read pool) for earlier screenings of this case's child: it
        names them only when the child agreed that the specialist be told."""
        sync = self.services.sync
        fetch = sync.matches if sync is not None else None
        if fetch is None:
            return

        def shown(found: list[Mapping[str, Any]]) -> None:
            if self.services.user is None:
                return
            mine = [m for m in found if m.get("record_id") == screening_id]
            dialog.show_earlier([e for m in mine for e in m.get("earlier", ())])

        def failed(error: KnownError) -> None:
            dialog.check_earlier.setEnabled(True)
            show_error(self, error, self.services.lang)

        self.services.ops.read(fetch, shown, failed)

    def record_event(
        self, screening_id: str, kind: str, reason: str, note: str, dialog: QDialog | None = None
    ) -> None:
        """Record a case event of ``screening_id`` now, sealed for the team (on the writer)."""
        vault, when = self.services.vault, self.clock()

        def done(_card: Any) -> None:
            if dialog is not None:
                dialog.accept()
            self.follow_up_recorded.emit(screening_id)

        self.services.ops.write(
            lambda: vault.record_case_event(screening_id, kind, when, note=note, reason=reason),
            done,
            lambda error: show_error(self, error, self.services.lang),
        )

    def hand_over(
        self,
        screening_id: str,
        partner: str,
        path: str,
        reason: str = "",
        dialog: CaseCardDialog | None = None,
        *,
        pdf: bool = False,
        send: bool = False,
    ) -> None:
        """Hand the case over to ``partner`` (on the writer): the packet written to ``path``
        and the case event ``handover-sent``, as ``fieldscreen handover`` does; with ``pdf``,
        the summary in English and Spanish beside it (``path`` with ``.pdf``); with ``send``,
        the packet queued to go through the server at the next sync (``path`` may be empty)."""
        vault, directory = self.services.vault, self.directory
        site = str(self.services.settings.get("site_id") or "")
        if dialog is not None:
            dialog.handover.setEnabled(False)

        def done(result: Mapping[str, Any]) -> None:
            shown = {k: v for k, v in result.items() if k != "summary_html"}
            if pdf and path and result.get("summary_html"):
                target = Path(path).with_suffix(".pdf")
                try:
                    write_handover_pdf(target, str(result["summary_html"]))
                    shown["pdf"] = str(target)
                except OSError as exc:
                    show_error(
                        self, KnownError("io-error", detail=type(exc).__name__), self.services.lang
                    )
            if dialog is not None:
                dialog.show_handover(shown)
            self.follow_up_recorded.emit(screening_id)

        def failed(error: KnownError) -> None:
            if dialog is not None:
                dialog.handover.setEnabled(True)
            show_error(self, error, self.services.lang)

        self.services.ops.write(
            lambda: vault.hand_over(
                screening_id,
                partner,
                Path(path) if path else None,
                directory=directory,
                site=site,
                release_reason=reason,
                summary=pdf and bool(path),
                send=send,
            ),
            done,
            failed,
        )

    def record_follow_up(self, screening_id: str, dialog: QDialog | None = None) -> None:
        """Record a follow-up of ``screening_id`` done now (on the writer)."""
        vault, when = self.services.vault, self.clock()

        def done(_card: Any) -> None:
            if dialog is not None:
                dialog.accept()
            self.follow_up_recorded.emit(screening_id)

        self.services.ops.write(
            lambda: vault.record_follow_up(screening_id, when),
            done,
            lambda error: show_error(self, error, self.services.lang),
        )


class HomePage(QWidget):
    start_requested = Signal()
    resume_requested = Signal(str)
    cases_requested = Signal()
    case_requested = Signal(str, str)  # screening id, code: a follow-up due, opened

    def __init__(self, services: Services, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        #: What a supervisor sent back, made the first time there is any.
        self.sent_back: QLabel | None = None
        self.setObjectName("homePage")
        self.services = services
        # "Now" for the due-today and overdue lists (tests set a fake clock).
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(32, 24, 32, 24)
        outer.setSpacing(12)
        top = QHBoxLayout()
        self.greeting = heading("", self)
        top.addWidget(self.greeting, 1)
        self.sync_state = QLabel("", self)
        self.sync_state.setObjectName("syncState")
        self.sync_state.setAccessibleName(self.tr("Sync state"))
        top.addWidget(self.sync_state)
        outer.addLayout(top)
        self.start = primary_button(self.tr("&Start a new screening"), self)
        self.start.setObjectName("bigPrimary")
        scale_font(self.start, 1.3, bold=True)
        self.start.clicked.connect(self.start_requested)
        outer.addWidget(self.start, alignment=Qt.AlignmentFlag.AlignLeft)
        columns = QHBoxLayout()
        columns.setSpacing(24)
        self.drafts = self._list(columns, self.tr("Drafts to resume"))
        self.follow_ups = self._list(columns, self.tr("Follow-ups due today and overdue"))
        self.deadlines = self._list(columns, self.tr("Deadlines running"))
        outer.addLayout(columns, 1)
        self.all_cases = primary_button(self.tr("All cases and drafts…"), self)
        self.all_cases.setObjectName("secondary")
        self.all_cases.clicked.connect(self.cases_requested)
        outer.addWidget(self.all_cases, alignment=Qt.AlignmentFlag.AlignLeft)
        self.drafts.itemActivated.connect(
            lambda item: self.resume_requested.emit(item.data(Qt.ItemDataRole.UserRole))
        )
        self.follow_ups.itemActivated.connect(self._follow_up_activated)
        self.deadlines.itemActivated.connect(self._follow_up_activated)

    def _follow_up_activated(self, item: QListWidgetItem) -> None:
        data = item.data(Qt.ItemDataRole.UserRole)
        if isinstance(data, tuple) and len(data) == 2:
            self.case_requested.emit(str(data[0]), str(data[1]))

    def set_starting(self, starting: bool) -> None:
        """Show at once that a screening is being prepared (loading the forms takes seconds
        the first time), and take no second press meanwhile."""
        self.start.setEnabled(not starting)
        self.start.setText(
            self.tr("Starting the screening…") if starting else self.tr("&Start a new screening")
        )
        if starting:
            self.start.setCursor(Qt.CursorShape.BusyCursor)
        else:
            self.start.unsetCursor()

    def _list(self, row: QHBoxLayout, title: str) -> QListWidget:
        column = QVBoxLayout()
        column.addWidget(heading(title, self, "sectionTitle"))
        widget = QListWidget(self)
        widget.setAccessibleName(title)
        widget.setWordWrap(True)  # a long deadline name wraps instead of hiding the countdown
        widget.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        column.addWidget(widget, 1)
        row.addLayout(column, 1)
        return widget

    def set_data(
        self,
        user: str,
        drafts: Sequence[DraftSummary],
        cases: Sequence[CaseSummary],
        sync_text: str,
        now: datetime | None = None,
    ) -> None:
        now = now or self.clock()
        self.greeting.setText(self.tr("Hello, %s") % user)
        self.sync_state.setText(sync_text)
        self.drafts.clear()
        for draft in sorted(drafts, key=lambda d: d.updated, reverse=True):
            text = (
                self.tr("Draft %1, last saved %2")
                .replace("%1", draft.code)
                .replace("%2", draft.updated.astimezone().strftime("%Y-%m-%d %H:%M"))
            )
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, draft.screening_id)
            self.drafts.addItem(item)
        if not drafts:
            self.drafts.addItem(self.tr("No drafts."))
        end_of_day = now.astimezone().replace(hour=23, minute=59, second=59).astimezone(UTC)
        self.follow_ups.clear()
        due = sorted(
            (c for c in cases if c.next_due is not None and c.next_due <= end_of_day),
            key=lambda c: c.next_due or _FAR,
        )
        for case in due:
            assert case.next_due is not None
            item = QListWidgetItem(
                f"{case.code} {case.alias} · {tier_label(case.tier)} · "
                f"{countdown(case.next_due, now)}"
            )
            item.setData(Qt.ItemDataRole.UserRole, (case.screening_id, case.code))
            self.follow_ups.addItem(item)
        if not due:
            self.follow_ups.addItem(self.tr("Nothing due today."))
        self.deadlines.clear()
        running = sorted(
            (
                c
                for c in cases
                if c.deadline is not None
                and now - timedelta(days=1) < c.deadline <= now + timedelta(days=7)
            ),
            key=lambda c: c.deadline or _FAR,
        )
        for case in running:
            assert case.deadline is not None
            what = f" · {case.deadline_label}" if case.deadline_label else ""
            item = QListWidgetItem(
                f"{case.code} {case.alias} · {countdown(case.deadline, now)}{what}"
            )
            item.setData(Qt.ItemDataRole.UserRole, (case.screening_id, case.code))
            self.deadlines.addItem(item)
        if not running:
            self.deadlines.addItem(self.tr("No deadlines running."))

    def set_sent_back(self, items: Sequence[Any]) -> None:
        """Cases a supervisor sent back to this user, with the supervisor's note (above the
        lists, hidden when there are none). ``items`` are
        :class:`fieldscreen.ui.supervision.SentBack`."""
        label = self.sent_back
        if label is None:
            label = QLabel("", self)
            label.setObjectName("sentBack")
            label.setWordWrap(True)
            label.setAccessibleName(self.tr("Sent back by a supervisor"))
            layout = self.layout()
            assert isinstance(layout, QVBoxLayout)
            layout.insertWidget(2, label)
            self.sent_back = label
        lines = [
            self.tr("Case %1 was sent back by %2: %3")
            .replace("%1", item.code)
            .replace("%2", item.by or "—")
            .replace("%3", item.note)
            for item in items
        ]
        label.setText("\n".join(lines))
        label.setVisible(bool(lines))

    def clear(self) -> None:
        for widget in (self.drafts, self.follow_ups, self.deadlines):
            widget.clear()
        self.greeting.clear()
        if (label := self.sent_back) is not None:
            label.clear()
            label.hide()


def _accept_and_cancel(
    dialog: QDialog, layout: QVBoxLayout, accept: str, cancel_text: str
) -> QPushButton:
    """The dialog's last row: its primary button (returned) at the left, Cancel at the right
    (the texts come translated from the dialog, in its own context)."""
    buttons = QHBoxLayout()
    ok = primary_button(accept, dialog)
    ok.clicked.connect(dialog.accept)
    cancel = QPushButton(cancel_text, dialog)
    cancel.setObjectName("secondary")
    cancel.clicked.connect(dialog.reject)
    buttons.addWidget(ok)
    buttons.addStretch(1)
    buttons.addWidget(cancel)
    layout.addLayout(buttons)
    return ok
