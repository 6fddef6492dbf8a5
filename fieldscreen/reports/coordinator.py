"""The coordinator report: counts from the envelopes' aggregate records, suppressed, with
chart-ready series (Qt-free; the app draws the charts and the PDF, the server prints it).

Envelope aggregates arrive as the device wrote them; :func:`normalise` accepts the shapes the
wire allows (a list, or space- or comma-separated codes for the multi-valued dimensions, the
form engine's ``concern`` for ``concerns``, the ISO week derived from the envelope's day when
missing) and :func:`~fieldscreen.reports.aggregates.parse_aggregate` then checks it strictly.
Records that do not pass are counted as *not countable*, never shown.

Every figure the report holds comes out of one :func:`build_report` call, so no cell, total or
series point is under the threshold.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fieldscreen.errors import KnownError
from fieldscreen.reports.aggregates import (
    DEFAULT_THRESHOLD,
    AggregateRecord,
    CountTable,
    build_report,
    parse_aggregate,
)
from fieldscreen.reports.errors import ReportError

__all__ = [
    "REPORT_CROSSTABS",
    "REPORT_DIMENSIONS",
    "CoordinatorReport",
    "ReportFilter",
    "Series",
    "coordinator_report",
    "normalise",
    "screening_aggregate",
    "weeks_and_sites",
]

_WEEK = re.compile(r"^\d{4}-W\d{2}$")

REPORT_DIMENSIONS = ("tier", "concern", "age_band", "sex", "nationality", "site", "week")
REPORT_CROSSTABS = (("week", "tier"), ("site", "tier"))


def _codes(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [v for v in str(value).replace(",", " ").split() if v]


def _week(day: str) -> str:
    year, week, _ = dt.date.fromisoformat(day[:10]).isocalendar()
    return f"{year}-W{week:02d}"


def weeks_and_sites(
    aggregates: Iterable[tuple[Mapping[str, Any], str, str]],
) -> tuple[list[str], list[str]]:
    """The ISO weeks and sites the countable records cover, each sorted (for filter lists)."""
    weeks: set[str] = set()
    sites: set[str] = set()
    for aggregate, created, site in aggregates:
        try:
            record = normalise(aggregate, created, site)
        except KnownError:
            continue
        weeks.add(record.week)
        sites.add(record.site)
    return sorted(weeks), sorted(sites)


def normalise(aggregate: Mapping[str, Any], created: str = "", site: str = "") -> AggregateRecord:
    """An envelope's aggregate as an :class:`AggregateRecord`.

    Raises:
        ReportError: ``aggregate-invalid`` when it cannot be counted.
    """
    try:
        week = str(aggregate.get("week") or _week(created))
    except ValueError:
        raise ReportError("aggregate-invalid", field="week") from None
    concerns = aggregate.get("concerns", aggregate.get("concern"))
    return parse_aggregate(
        {
            "tier": aggregate.get("tier"),
            "concerns": _codes(concerns),
            "age_band": aggregate.get("age_band") or "unknown",
            "sex": aggregate.get("sex") or "unknown",
            "nationality": _codes(aggregate.get("nationality")),
            "site": aggregate.get("site") or site,
            "week": week,
        }
    )


def screening_aggregate(
    per_form: Iterable[Mapping[str, Any]], day: str, site: str = ""
) -> dict[str, Any]:
    """One screening's aggregate record (exactly as :func:`parse_aggregate` accepts) from its
    forms' ``Session.aggregate_record()``: the most urgent tier, the union of concerns and
    nationalities, the first age band, sex and site given, the ISO week of ``day``.

    Raises:
        ReportError: ``aggregate-invalid`` when the result is not a plain-code record.
    """
    from fieldscreen.forms import most_urgent

    tiers: list[str] = []
    concerns: set[str] = set()
    nationality: set[str] = set()
    first: dict[str, Any] = {}
    for record in per_form:
        if record.get("tier"):
            tiers.append(str(record["tier"]))
        concerns.update(_codes(record.get("concerns", record.get("concern"))))
        nationality.update(_codes(record.get("nationality")))
        for key in ("age_band", "sex", "site"):
            if record.get(key) and key not in first:
                first[key] = record[key]
    aggregate = {
        "tier": most_urgent(tiers) if tiers else "T4",
        "concerns": sorted(concerns),
        "age_band": first.get("age_band") or "unknown",
        "sex": first.get("sex") or "unknown",
        "nationality": sorted(nationality),
        "site": first.get("site") or site,
        "week": _week(day),
    }
    return parse_aggregate(aggregate).to_json()


@dataclass(frozen=True, slots=True)
class Series:
    """One chart: labelled bars (suppressed values left out and counted in ``hidden``)."""

    title: str
    labels: tuple[str, ...]
    values: tuple[int, ...]
    hidden: int

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "labels": list(self.labels),
            "values": list(self.values),
            "hidden": self.hidden,
        }


@dataclass
class CoordinatorReport:
    """Tables (from :func:`build_report`) and one bar series per dimension."""

    threshold: int
    counted: int
    not_countable: int
    tables: dict[str, CountTable] = field(default_factory=dict)
    series: dict[str, Series] = field(default_factory=dict)

    @property
    def total(self) -> int | None:
        """Records counted, or None when that total is itself under the threshold."""
        return self.counted if self.counted >= self.threshold else None

    def to_json(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "total": self.total,
            "not_countable": self.not_countable,
            "tables": {k: t.to_json() for k, t in self.tables.items()},
            "series": {k: s.to_json() for k, s in self.series.items()},
        }

    def text(self) -> str:
        """A plain-text rendering for the command line."""
        shown = "<" + str(self.threshold) if self.total is None else str(self.total)
        lines = [f"Screenings counted: {shown} (cells under {self.threshold} suppressed: '<n')"]
        for name in REPORT_DIMENSIONS:
            table = self.tables[name]
            lines.append(f"\nby {name}:")
            for key, value in sorted(table.cells.items()):
                shown_value = "<" + str(self.threshold) if value is None else str(value)
                lines.append(f"  {key[0]:<24} {shown_value}")
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class ReportFilter:
    """Which records a report counts: an ISO-week range (inclusive) and a set of sites.

    Empty bounds and an empty site set mean "all". Weeks compare as ``YYYY-Www`` text, which
    sorts in time order.
    """

    first_week: str = ""
    last_week: str = ""
    sites: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        for week in (self.first_week, self.last_week):
            if week and not _WEEK.match(week):
                raise ReportError("aggregate-invalid", field="week")

    def matches(self, record: AggregateRecord) -> bool:
        if self.first_week and record.week < self.first_week:
            return False
        if self.last_week and record.week > self.last_week:
            return False
        return not self.sites or record.site in self.sites

    def to_params(self) -> dict[str, Any]:
        """The query of ``GET /admin/report`` for this filter."""
        params: dict[str, Any] = {}
        if self.first_week:
            params["from_week"] = self.first_week
        if self.last_week:
            params["to_week"] = self.last_week
        if self.sites:
            params["site"] = sorted(self.sites)
        return params


def coordinator_report(
    aggregates: Iterable[tuple[Mapping[str, Any], str, str]],
    *,
    threshold: int = DEFAULT_THRESHOLD,
    dimensions: Sequence[str] = REPORT_DIMENSIONS,
    crosstabs: Sequence[tuple[str, str]] = REPORT_CROSSTABS,
    keep: ReportFilter | Callable[[AggregateRecord], bool] | None = None,
) -> CoordinatorReport:
    """The report over ``(aggregate, created day, site)`` triples.

    Args:
        threshold: the smallest count shown (at least 2).
        keep: only the records it matches are counted (a :class:`ReportFilter` or a predicate);
            the suppression is computed over what is counted.
    """
    if threshold < 2:
        raise ReportError("aggregate-threshold-low", minimum=2)
    wanted = keep.matches if isinstance(keep, ReportFilter) else keep
    records: list[AggregateRecord] = []
    bad = 0
    for aggregate, created, site in aggregates:
        try:
            record = normalise(aggregate, created, site)
        except KnownError:
            bad += 1
            continue
        if wanted is None or wanted(record):
            records.append(record)
    tables = build_report(records, dimensions, crosstabs, threshold)
    report = CoordinatorReport(threshold, len(records), bad, tables)
    for name in dimensions:
        table = tables[name]
        shown = sorted((k[0], v) for k, v in table.cells.items() if v is not None)
        if name != "week":
            shown.sort(key=lambda item: (-item[1], item[0]))
        report.series[name] = Series(
            name,
            tuple(k for k, _ in shown),
            tuple(v for _, v in shown),
            table.suppressed,
        )
    return report
