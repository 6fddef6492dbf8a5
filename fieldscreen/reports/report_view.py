"""What the coordinator report page shows, Qt-free: one section per dimension, each a list of
rows that the table *and* the chart draw, so the two cannot disagree.

Built from a report's JSON (:meth:`CoordinatorReport.to_json`, the same from the server's
``GET /admin/report`` and from the laptop's own records). A count the report suppressed is shown
as ``<threshold`` and never as a number; a count under the threshold that arrives unsuppressed
(a server of another version) is treated as suppressed too, so nothing under the threshold is
ever shown, whatever the source.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fieldscreen.reports.aggregates import DEFAULT_THRESHOLD
from fieldscreen.vocabulary import TIERS

__all__ = ["NATURAL_ORDER", "ReportView", "Row", "Section", "report_view"]

#: Dimensions whose rows keep their natural order; the others are sorted largest first.
NATURAL_ORDER: Mapping[str, tuple[str, ...]] = {
    "tier": TIERS,
    "age_band": ("0_5", "6_11", "12_14", "15_17", "unknown"),
}
_SECTIONS = ("tier", "week", "concern", "age_band", "sex", "nationality", "site")


@dataclass(frozen=True, slots=True)
class Row:
    """One line of a table and one bar of its chart."""

    code: str
    label: str
    value: int | None  # None: suppressed
    text: str  # what is shown: the number, or "<5"

    @property
    def suppressed(self) -> bool:
        return self.value is None


@dataclass(frozen=True, slots=True)
class Section:
    """One dimension: its rows in display order (weeks in time order)."""

    name: str
    rows: tuple[Row, ...]

    @property
    def suppressed(self) -> int:
        return sum(r.suppressed for r in self.rows)

    @property
    def largest(self) -> int:
        return max((r.value for r in self.rows if r.value is not None), default=0)

    def alternative_text(self, title: str) -> str:
        """The chart as text (its accessible description): ``title: label 12; label <5``."""
        return f"{title}: " + "; ".join(f"{r.label} {r.text}" for r in self.rows)


@dataclass
class ReportView:
    """Everything the page and the PDF show."""

    threshold: int
    total: int | None
    not_countable: int
    sections: dict[str, Section] = field(default_factory=dict)
    weeks: list[str] = field(default_factory=list)
    sites: list[str] = field(default_factory=list)

    def small(self) -> str:
        return f"<{self.threshold}"

    @property
    def total_text(self) -> str:
        return self.small() if self.total is None else str(self.total)

    @property
    def period(self) -> tuple[str, str]:
        """The first and last week with a row (shown or suppressed), or empty strings."""
        weeks = [r.code for r in self.sections["week"].rows] if "week" in self.sections else []
        return (weeks[0], weeks[-1]) if weeks else ("", "")

    def texts(self) -> list[str]:
        """Every figure the view shows, as shown (for the privacy checks)."""
        return [self.total_text] + [r.text for s in self.sections.values() for r in s.rows]


def _count(value: Any, threshold: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if value >= threshold else None


def report_view(
    report: Mapping[str, Any],
    label: Callable[[str, str], str] = lambda _dimension, code: code,
    *,
    weeks: Sequence[str] = (),
    sites: Sequence[str] = (),
    minimum_threshold: int = DEFAULT_THRESHOLD,
) -> ReportView:
    """The view of a report's JSON; ``label(dimension, code)`` names a code in the UI language.

    Args:
        minimum_threshold: the smallest threshold shown, whatever the report says (a report
            made with a lower one shows its counts under this one as suppressed).

    Raises:
        ValueError: when ``report`` is not a coordinator report.
    """
    threshold = report.get("threshold")
    tables = report.get("tables")
    if not isinstance(threshold, int) or threshold < 2 or not isinstance(tables, Mapping):
        raise ValueError("not a coordinator report")
    threshold = max(threshold, minimum_threshold)
    view = ReportView(
        threshold,
        _count(report.get("total"), threshold),
        int(report.get("not_countable") or 0),
        weeks=list(weeks or report.get("weeks") or ()),
        sites=list(sites or report.get("sites") or ()),
    )
    small = view.small()
    for name in _SECTIONS:
        table = tables.get(name)
        if not isinstance(table, Mapping):
            continue
        rows = []
        for cell in table.get("cells") or ():
            key = cell.get("key") if isinstance(cell, Mapping) else None
            if not isinstance(key, list) or len(key) != 1:
                continue
            code = str(key[0])
            value = _count(cell.get("count"), threshold)
            rows.append(Row(code, label(name, code), value, small if value is None else str(value)))
        if name == "week":
            rows.sort(key=lambda r: r.code)
        elif name in NATURAL_ORDER:
            order = NATURAL_ORDER[name]
            rows.sort(key=lambda r: (order.index(r.code) if r.code in order else 99, r.code))
        else:
            rows.sort(key=lambda r: (r.value is None, -(r.value or 0), r.label))
        view.sections[name] = Section(name, tuple(rows))
    return view
