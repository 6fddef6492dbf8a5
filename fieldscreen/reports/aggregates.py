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

from fieldscreen.reports.errors import ReportError
from fieldscreen.reports.matching import parse_tokens
from fieldscreen.vocabulary import TIERS

__all__ = [
    "DEFAULT_THRESHOLD",
    "DIMENSIONS",
    "MATCH_KEYS",
    "AggregateRecord",
    "CountTable",
    "build_report",
    "check_match",
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
_TIERS = frozenset(TIERS)
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
        raise ReportError("aggregate-invalid", field=what)
    return value


def _codes(value: object, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) > _MAX_VALUES:
        raise ReportError("aggregate-invalid", field=what)
    return tuple(sorted({_code(v, what) for v in value}))


def parse_aggregate(data: Mapping[str, Any]) -> AggregateRecord:
    """Check an aggregate record strictly: exactly the known keys, codes only, no free text.

    Raises:
        ReportError: ``aggregate-invalid`` naming the offending field.
    """
    expected = {"tier", "concerns", "age_band", "sex", "nationality", "site", "week"}
    if MATCH_KEYS & set(data):  # the match tokens beside it (docs/privacy-matching.md)
        check_match(data)
        data = {k: v for k, v in data.items() if k not in MATCH_KEYS}
    extra = set(data) - expected
    if extra or set(data) != expected:
        raise ReportError(
            "aggregate-invalid", field=", ".join(sorted(extra or expected - set(data)))
        )
    tier = _code(data["tier"], "tier")
    if tier not in _TIERS:
        raise ReportError("aggregate-invalid", field="tier")
    age_band = _code(data["age_band"], "age_band")
    if age_band not in _AGE_BANDS:
        raise ReportError("aggregate-invalid", field="age_band")
    week = data["week"]
    if not isinstance(week, str) or not _WEEK.match(week):
        raise ReportError("aggregate-invalid", field="week")
    return AggregateRecord(
        tier=tier,
        concerns=_codes(data["concerns"], "concerns"),
        age_band=age_band,
        sex=_code(data["sex"], "sex"),
        nationality=_codes(data["nationality"], "nationality"),
        site=_code(data["site"], "site"),
        week=week,
    )


#: The keys of an aggregate that carry the child's match tokens, not counted.
MATCH_KEYS = frozenset({"match", "match_consent"})


def check_match(data: Mapping[str, Any]) -> tuple[list[str], bool]:
    """An aggregate's match tokens and whether the child consented to be told of a match
    (both absent: ``([], False)``).

    Raises:
        ReportError: ``aggregate-invalid`` naming ``match`` or ``match_consent``.
    """
    if "match" not in data:
        if "match_consent" in data:
            raise ReportError("aggregate-invalid", field="match_consent")
        return [], False
    try:
        tokens = parse_tokens(data["match"])
    except ValueError:
        raise ReportError("aggregate-invalid", field="match") from None
    consent = data.get("match_consent", False)
    if not isinstance(consent, bool):
        raise ReportError("aggregate-invalid", field="match_consent")
    return tokens, consent


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
        raise ReportError("aggregate-dimension-unknown", name=name, known=", ".join(DIMENSIONS))


def count(
    records: Iterable[AggregateRecord], by: str, threshold: int = DEFAULT_THRESHOLD
) -> CountTable:
    """Records per value of one dimension, suppressed as the module describes."""
    return build_report(records, [by], [], threshold)[by]


def crosstab(
    records: Iterable[AggregateRecord],
    rows: str,
    columns: str,
    threshold: int = DEFAULT_THRESHOLD,
) -> CountTable:
    """Records per (row value, column value), with its margins (the one-way tables)."""
    return build_report(records, [rows, columns], [(rows, columns)], threshold)[f"{rows}×{columns}"]


def build_report(
    records: Iterable[AggregateRecord],
    dimensions: Sequence[str],
    crosstabs: Sequence[tuple[str, str]],
    threshold: int = DEFAULT_THRESHOLD,
) -> dict[str, CountTable]:
    """One-way tables for ``dimensions`` and two-way tables for ``crosstabs``, suppressed
    *together*: a value hidden in one table is hidden wherever it appears, so that reading all
    the tables of one report side by side recovers no hidden cell.

    Returns tables keyed by dimension name and by ``"rows×columns"``.
    """
    for name in [*dimensions, *(d for pair in crosstabs for d in pair)]:
        _check_dimension(name)
    dims = list(dict.fromkeys([*dimensions, *(d for pair in crosstabs for d in pair)]))
    records = list(records)
    total = len(records)
    total_shown = total >= threshold
    one: dict[str, Counter[str]] = {d: Counter() for d in dims}
    two: dict[tuple[str, str], Counter[tuple[str, str]]] = {pair: Counter() for pair in crosstabs}
    for record in records:
        for d in dims:
            for value in record.values(d):
                one[d][value] += 1
        for r, c in crosstabs:
            for rv in record.values(r):
                for cv in record.values(c):
                    two[(r, c)][(rv, cv)] += 1
    # Primary suppression.
    hidden1 = {(d, v) for d in dims for v, n in one[d].items() if n < threshold or not total_shown}
    hidden2 = {
        (pair, k)
        for pair in crosstabs
        for k, n in two[pair].items()
        if n < threshold or not total_shown
    }

    def hide_smallest(candidates: Sequence[tuple[int, object]], into: set[Any]) -> bool:
        if not candidates:
            return False
        into.add(min(candidates, key=lambda item: (item[0], repr(item[1])))[1])
        return True

    changed = True
    while changed:
        changed = False
        # One-way tables: their cells add up to the shown grand total.
        for d in dims:
            if DIMENSIONS[d] or not total_shown:
                continue
            keys = [(d, v) for v in one[d]]
            if sum(k in hidden1 for k in keys) == 1:
                visible = [(one[d][k[1]], k) for k in keys if k not in hidden1]
                changed |= hide_smallest(visible, hidden1)
        # Two-way tables: each line adds up to its margin, a cell of a one-way table.
        for r, c in crosstabs:
            pair = (r, c)
            lines: list[tuple[tuple[str, str], list[tuple[str, str]]]] = []
            if not DIMENSIONS[c]:
                lines += [((r, rv), [k for k in two[pair] if k[0] == rv]) for rv in one[r]]
            if not DIMENSIONS[r]:
                lines += [((c, cv), [k for k in two[pair] if k[1] == cv]) for cv in one[c]]
            for margin, keys in lines:
                hidden = sum((pair, k) in hidden2 for k in keys)
                partners = [(two[pair][k], (pair, k)) for k in keys if (pair, k) not in hidden2]
                margin_shown = margin not in hidden1
                if margin_shown and hidden == 1:
                    # Hide a partner cell; with none left, hide the margin itself.
                    changed |= hide_smallest(partners, hidden2) or _add(hidden1, margin)
                elif not margin_shown and keys and hidden == 0:
                    changed |= hide_smallest(partners, hidden2)

    # Audit: the local rules above miss combinations across lines and tables (T2 = total -
    # s1 when s1 is the sum of T0's and T1's hidden lines). Solve what the published figures
    # determine and hide one more figure per determined cell until nothing is determined.
    while True:
        equations = _equations(dims, crosstabs, one, two, total_shown)
        found = _determined(equations, hidden1, hidden2)
        if found is None:
            break
        candidates = [
            (one[v[1]][v[2]] if v[0] == "1" else two[v[1]][v[2]], v)
            for eq in equations
            if found in eq
            for v in eq
            if not _is_hidden(v, hidden1, hidden2)
        ]
        if not candidates:
            total_shown = False
            hidden1 |= {(d, v) for d in dims for v in one[d]}
            hidden2 |= {(pair, k) for pair in crosstabs for k in two[pair]}
            break
        _, chosen = min(candidates, key=lambda item: (item[0], repr(item[1])))
        if chosen[0] == "1":
            hidden1.add((chosen[1], chosen[2]))
        else:
            hidden2.add((chosen[1], chosen[2]))

    tables: dict[str, CountTable] = {}
    shown_total = total if total_shown else None
    for d in dims:
        table = CountTable(dimensions=(d,), threshold=threshold, total=shown_total)
        table.cells = {(v,): (None if (d, v) in hidden1 else n) for v, n in one[d].items()}
        table.suppressed = sum(v is None for v in table.cells.values())
        tables[d] = table
    for r, c in crosstabs:
        pair = (r, c)
        table = CountTable(dimensions=pair, threshold=threshold, total=shown_total)
        table.cells = {k: (None if (pair, k) in hidden2 else n) for k, n in two[pair].items()}
        table.row_totals = {k[0]: v for k, v in tables[r].cells.items()}
        table.column_totals = {k[0]: v for k, v in tables[c].cells.items()}
        table.suppressed = sum(v is None for v in table.cells.values())
        tables[f"{r}×{c}"] = table
    return tables


def _add(into: set[Any], item: object) -> bool:
    if item in into:
        return False
    into.add(item)
    return True


_PRIME = (1 << 61) - 1  # ranks over this field equal those over the rationals for ±1 systems


def _equations(
    dims: Sequence[str],
    crosstabs: Sequence[tuple[str, str]],
    one: Mapping[str, Counter[str]],
    two: Mapping[tuple[str, str], Counter[tuple[str, str]]],
    total_shown: bool,
) -> list[dict[tuple[Any, ...], int]]:
    """Every additive line of a report: variable -> coefficient (its right side is published)."""
    equations: list[dict[tuple[Any, ...], int]] = []
    for d in dims:
        if not DIMENSIONS[d] and total_shown:
            equations.append({("1", d, v): 1 for v in one[d]})
    for r, c in crosstabs:
        pair = (r, c)
        if not DIMENSIONS[c]:
            for rv in one[r]:
                eq: dict[tuple[Any, ...], int] = {
                    ("2", pair, k): 1 for k in two[pair] if k[0] == rv
                }
                eq[("1", r, rv)] = -1
                equations.append(eq)
        if not DIMENSIONS[r]:
            for cv in one[c]:
                eq = {("2", pair, k): 1 for k in two[pair] if k[1] == cv}
                eq[("1", c, cv)] = -1
                equations.append(eq)
    return equations


def _is_hidden(key: tuple[Any, ...], hidden1: set[Any], hidden2: set[Any]) -> bool:
    return (key[1], key[2]) in (hidden1 if key[0] == "1" else hidden2)


def _determined(
    equations: Sequence[Mapping[tuple[Any, ...], int]], hidden1: set[Any], hidden2: set[Any]
) -> tuple[Any, ...] | None:
    """A hidden cell that the published figures determine exactly, or None.

    Shown figures move to the right side; a hidden cell is determined when its unit vector
    lies in the row space of what remains, i.e. when the reduced echelon form has a row with
    that single variable.
    """
    rows: list[dict[tuple[Any, ...], int]] = []
    for eq in equations:
        row = {k: v % _PRIME for k, v in eq.items() if _is_hidden(k, hidden1, hidden2)}
        if row:
            rows.append(row)
    pivots: dict[tuple[Any, ...], dict[tuple[Any, ...], int]] = {}
    for original in rows:
        row = original
        for var, prow in pivots.items():  # reduce by earlier pivots
            coef = row.get(var)
            if coef:
                for k, v in prow.items():
                    row[k] = (row.get(k, 0) - coef * v) % _PRIME
                row = {k: v for k, v in row.items() if v}
        if not row:
            continue
        var = min(row, key=repr)
        inv = pow(row[var], _PRIME - 2, _PRIME)
        row = {k: v * inv % _PRIME for k, v in row.items()}
        for other in pivots.values():  # keep the form fully reduced
            coef = other.get(var)
            if coef:
                for k, v in row.items():
                    other[k] = (other.get(k, 0) - coef * v) % _PRIME
                for k in [k for k, v in other.items() if not v]:
                    del other[k]
        pivots[var] = row
    singles = [var for var, prow in pivots.items() if len(prow) == 1]
    return min(singles, key=repr) if singles else None
