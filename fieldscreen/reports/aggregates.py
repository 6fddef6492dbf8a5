"""Non-identifying aggregate records and count tables with small-cell suppression.

Each finalised screening travels with a small plaintext *aggregate record* (see
``docs/aggregates.md``): its risk tier, protection concerns, age band, sex, nationality, site and
ISO week, and nothing else. The server can count these without the organisation's private key.

Counts are shown only where they cannot single out a child: a cell under the threshold (default
5) is suppressed (*primary suppression*), and where a displayed total would let a reader recover
a suppressed cell by subtraction, the next smallest cell of that line is suppressed too
(*complementary suppression*), repeated until no line gives one away. A total under the
threshold suppresses its whole line.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fieldscreen.errors import KnownError

__all__ = [
    "DEFAULT_THRESHOLD",
    "DIMENSIONS",
    "AggregateRecord",
    "CountTable",
    "count",
    "crosstab",
    "parse_aggregate",
]

DEFAULT_THRESHOLD = 5

#: Dimension name -> whether a record may hold several values (a child has several concerns).
DIMENSIONS: Mapping[str, bool] = {
    "tier": False,
    "concern": True,
    "age_band": False,
    "sex": False,
    "nationality": True,
    "site": False,
    "week": False,
}

_CODE = re.compile(r"^[A-Za-z0-9_\-]{1,48}$")
_WEEK = re.compile(r"^\d{4}-W(0[1-9]|[1-4]\d|5[0-3])$")
_TIERS = {"T0", "T1", "T2", "T3", "T4"}
_AGE_BANDS = {"0_5", "6_11", "12_14", "15_17", "unknown"}
_MAX_VALUES = 24


@dataclass(frozen=True, slots=True)
class AggregateRecord:
    """The plaintext that travels beside a sealed screening. Codes only, never free text."""

    tier: str
    concerns: tuple[str, ...]
    age_band: str
    sex: str
    nationality: tuple[str, ...]
    site: str
    week: str

    def values(self, dimension: str) -> tuple[str, ...]:
        """The record's value(s) along ``dimension``."""
        if dimension == "concern":
            return self.concerns
        if dimension == "nationality":
            return self.nationality
        return (str(getattr(self, dimension)),)

    def to_json(self) -> dict[str, Any]:
        return {
            "tier": self.tier,
            "concerns": list(self.concerns),
            "age_band": self.age_band,
            "sex": self.sex,
            "nationality": list(self.nationality),
            "site": self.site,
            "week": self.week,
        }


def _code(value: object, what: str) -> str:
    if not isinstance(value, str) or not _CODE.match(value):
        raise KnownError("aggregate-invalid", field=what)
    return value


def _codes(value: object, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) > _MAX_VALUES:
        raise KnownError("aggregate-invalid", field=what)
    return tuple(sorted({_code(v, what) for v in value}))


def parse_aggregate(data: Mapping[str, Any]) -> AggregateRecord:
    """Check an aggregate record strictly: exactly the known keys, codes only, no free text.

    Raises:
        KnownError: ``aggregate-invalid`` naming the offending field.
    """
    expected = {"tier", "concerns", "age_band", "sex", "nationality", "site", "week"}
    extra = set(data) - expected
    if extra or set(data) != expected:
        raise KnownError(
            "aggregate-invalid", field=", ".join(sorted(extra or expected - set(data)))
        )
    tier = _code(data["tier"], "tier")
    if tier not in _TIERS:
        raise KnownError("aggregate-invalid", field="tier")
    age_band = _code(data["age_band"], "age_band")
    if age_band not in _AGE_BANDS:
        raise KnownError("aggregate-invalid", field="age_band")
    week = data["week"]
    if not isinstance(week, str) or not _WEEK.match(week):
        raise KnownError("aggregate-invalid", field="week")
    return AggregateRecord(
        tier=tier,
        concerns=_codes(data["concerns"], "concerns"),
        age_band=age_band,
        sex=_code(data["sex"], "sex"),
        nationality=_codes(data["nationality"], "nationality"),
        site=_code(data["site"], "site"),
        week=week,
    )


@dataclass
class CountTable:
    """Counts along one or two dimensions; ``None`` marks a suppressed cell or total."""

    dimensions: tuple[str, ...]
    threshold: int
    cells: dict[tuple[str, ...], int | None] = field(default_factory=dict)
    #: Margins: for one dimension the grand total; for two, per row and per column.
    row_totals: dict[str, int | None] = field(default_factory=dict)
    column_totals: dict[str, int | None] = field(default_factory=dict)
    total: int | None = None
    suppressed: int = 0

    def shown(self) -> dict[tuple[str, ...], int]:
        return {k: v for k, v in self.cells.items() if v is not None}

    def to_json(self) -> dict[str, Any]:
        return {
            "dimensions": list(self.dimensions),
            "threshold": self.threshold,
            "cells": [{"key": list(k), "count": v} for k, v in sorted(self.cells.items())],
            "row_totals": self.row_totals,
            "column_totals": self.column_totals,
            "total": self.total,
            "suppressed": self.suppressed,
        }


def _check_dimension(name: str) -> None:
    if name not in DIMENSIONS:
        raise KnownError("aggregate-dimension-unknown", name=name, known=", ".join(DIMENSIONS))


def _protect_line(
    cells: dict[tuple[str, ...], int | None],
    raw: Mapping[tuple[str, ...], int],
    keys: Sequence[tuple[str, ...]],
    total_shown: bool,
    additive: bool,
) -> bool:
    """Complementary suppression along one line; True when a cell was newly suppressed."""
    if not total_shown or not additive:
        return False
    hidden = [k for k in keys if cells[k] is None]
    if len(hidden) != 1:
        return False
    visible = sorted((k for k in keys if cells[k] is not None), key=lambda k: (raw[k], k))
    if not visible:
        return False
    cells[visible[0]] = None
    return True


def count(
    records: Iterable[AggregateRecord], by: str, threshold: int = DEFAULT_THRESHOLD
) -> CountTable:
    """Records per value of one dimension, suppressed as the module describes."""
    _check_dimension(by)
    records = list(records)
    raw: Counter[tuple[str, ...]] = Counter()
    for record in records:
        for value in record.values(by):
            raw[(value,)] += 1
    table = CountTable(dimensions=(by,), threshold=threshold)
    total = len(records)
    table.total = total if total >= threshold else None
    cells: dict[tuple[str, ...], int | None] = {
        k: (v if v >= threshold and table.total is not None else None) for k, v in raw.items()
    }
    additive = not DIMENSIONS[by]  # a multi-valued dimension's cells do not sum to the total
    _protect_line(cells, raw, sorted(cells), table.total is not None, additive)
    table.cells = cells
    table.suppressed = sum(v is None for v in cells.values())
    return table


def crosstab(
    records: Iterable[AggregateRecord],
    rows: str,
    columns: str,
    threshold: int = DEFAULT_THRESHOLD,
) -> CountTable:
    """Records per (row value, column value).

    The margins are exactly the published one-dimension tables (:func:`count`), so combining
    this table with those gives nothing away either: along every additive line, a displayed
    margin never sits beside exactly one hidden cell, and a hidden margin never sits beside a
    line of displayed cells that would add up to it.
    """
    _check_dimension(rows)
    _check_dimension(columns)
    records = list(records)
    raw: Counter[tuple[str, ...]] = Counter()
    for record in records:
        for r in record.values(rows):
            for c in record.values(columns):
                raw[(r, c)] += 1
    row_table, col_table = count(records, rows, threshold), count(records, columns, threshold)
    table = CountTable(dimensions=(rows, columns), threshold=threshold, total=row_table.total)
    table.row_totals = {k[0]: v for k, v in row_table.cells.items()}
    table.column_totals = {k[0]: v for k, v in col_table.cells.items()}
    cells: dict[tuple[str, ...], int | None] = {
        k: (v if v >= threshold and table.total is not None else None) for k, v in raw.items()
    }
    lines: list[tuple[list[tuple[str, ...]], bool]] = []
    if not DIMENSIONS[columns]:  # each record of a row sits in one column: rows add up
        for r, margin in table.row_totals.items():
            lines.append((sorted(k for k in cells if k[0] == r), margin is not None))
    if not DIMENSIONS[rows]:
        for c, margin in table.column_totals.items():
            lines.append((sorted(k for k in cells if k[1] == c), margin is not None))
    changed = True
    while changed:
        changed = False
        for keys, margin_shown in lines:
            hidden = sum(cells[k] is None for k in keys)
            if (margin_shown and hidden == 1) or (not margin_shown and hidden == 0):
                visible = sorted(
                    (k for k in keys if cells[k] is not None), key=lambda k: (raw[k], k)
                )
                if visible:
                    cells[visible[0]] = None
                    changed = True
    table.cells = cells
    table.suppressed = sum(v is None for v in cells.values())
    return table
