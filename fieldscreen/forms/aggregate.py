"""The aggregate record of one screening: what the server may count, and nothing else.

:func:`case_aggregate` merges the ``aggregate_record()`` of every form of a case into exactly the
shape :func:`fieldscreen.reports.aggregates.parse_aggregate` accepts (tier, concerns, age band,
sex, nationality, site, ISO week). A child who said no to being counted (``share_stats`` no)
gives ``None``: the envelope then carries no aggregate at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Any

from fieldscreen.forms.model import TIERS
from fieldscreen.forms.session import Session

__all__ = ["case_aggregate", "iso_week"]

_CODE = re.compile(r"^[A-Za-z0-9_\-]{1,48}$")
_AGE_BANDS = frozenset({"0_5", "6_11", "12_14", "15_17"})


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def _code(value: Any, default: str = "unknown") -> str:
    return value if isinstance(value, str) and _CODE.match(value) else default


def _codes(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return sorted({v for v in items if isinstance(v, str) and _CODE.match(v)})[:16]


def case_aggregate(sessions: Iterable[Session], *, site: str, day: date) -> dict[str, Any] | None:
    """The case's aggregate record, or ``None`` when the child declined statistics."""
    sessions = list(sessions)
    for session in sessions:
        if "share_stats" in session.form.fields and session.value("share_stats") == "no":
            return None
    tiers: list[str] = []
    concerns: set[str] = set()
    merged: dict[str, Any] = {}
    for session in sessions:
        record = session.aggregate_record()
        tiers.append(str(record.pop("tier", "")))
        concerns.update(_codes(record.pop("concern", [])))
        for key, value in record.items():
            if value not in (None, "", []) and key not in merged:
                merged[key] = value
    tier = next((t for t in TIERS if t in tiers), TIERS[-1])
    age_band = merged.get("age_band")
    return {
        "tier": tier,
        "concerns": sorted(concerns)[:16],
        "age_band": age_band if age_band in _AGE_BANDS else "unknown",
        "sex": _code(merged.get("sex")),
        "nationality": _codes(merged.get("nationality", [])),
        "site": _code(site or merged.get("site")),
        "week": iso_week(day),
    }
