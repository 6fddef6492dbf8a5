"""Follow-up dates from the tier's cadence (Qt-free, no clock of its own: callers pass ``now``).

A finalised case is checked on again every ``every_days`` days, ``times`` times (an empty
``times``: until stabilised), as the tier's row of ``lists/risk_tiers.csv`` says; the form
engine's case combination (:func:`fieldscreen.forms.risk.combine_case`) gives the cadence at
finalise. :func:`schedule` writes it on the case card with the first date; :func:`record_done`
moves the date when a follow-up is recorded.

The follow-up window (the ``follow_up_window_days`` setting) is respected: after it the readable
copy is purged and the case leaves this laptop's lists, so no follow-up is scheduled past the
window's end; a cadence date beyond it is brought forward to the window's last day, and once a
follow-up has been done on or after that day nothing more is scheduled here (the central team
carries the case on). A window of 0 days keeps nothing readable and schedules by the cadence
alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

__all__ = ["Cadence", "cadence_of", "next_due", "record_done", "schedule"]

#: Dates kept for a cadence with no end ("until stabilised") when listing them.
OPEN_ENDED = 4


@dataclass(frozen=True, slots=True)
class Cadence:
    every_days: float | None
    times: int | None  # None: until stabilised

    def to_json(self) -> dict[str, Any]:
        return {"every_days": self.every_days, "times": self.times}


def cadence_of(tier: str, risk_tiers: Any = None) -> Cadence:
    """The cadence of ``tier`` from the rows of ``lists/risk_tiers.csv`` (the built-in list
    when ``risk_tiers`` is None)."""
    if risk_tiers is None:
        from fieldscreen.forms.library import builtin_list

        risk_tiers = [c.row() for c in builtin_list("risk_tiers")]
    row: Mapping[str, str] = next((r for r in risk_tiers if r.get("name") == tier), {})
    every = _number(row.get("follow_up_every_days"))
    times = _number(row.get("follow_up_times"))
    return Cadence(every, int(times) if times is not None else None)


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text not in {None, ""} else None
    except ValueError:
        return None


def next_due(plan: Mapping[str, Any]) -> datetime | None:
    """The next follow-up of a case card's ``follow_up`` entry, or None when none is due."""
    every = plan.get("every_days")
    if not every:
        return None
    done = [datetime.fromisoformat(d) for d in plan.get("done", ())]
    times = plan.get("times")
    if times is not None and len(done) >= int(times):
        return None
    last = max(done) if done else datetime.fromisoformat(str(plan["start"]))
    due = last + timedelta(days=float(every))
    end = plan.get("window_end")
    if end:
        window_end = datetime.fromisoformat(str(end))
        if due > window_end:
            return window_end if last < window_end else None
    return due


def schedule(cadence: Cadence, finalised: datetime, window_days: int) -> dict[str, Any]:
    """The case card's ``follow_up`` entry at finalise (``next_due`` is :func:`next_due` of it)."""
    plan: dict[str, Any] = {
        **cadence.to_json(),
        "start": finalised.isoformat(),
        "done": [],
        "window_end": (
            (finalised + timedelta(days=window_days)).isoformat() if window_days > 0 else None
        ),
    }
    return plan


def record_done(card: Mapping[str, Any], when: datetime) -> dict[str, Any]:
    """``card`` with a follow-up done at ``when``: the date moves to the next one (or none)."""
    plan = dict(card.get("follow_up") or {})
    if not plan:
        plan = {"every_days": None, "times": None, "start": when.isoformat(), "done": []}
    plan["done"] = [*plan.get("done", ()), when.isoformat()]
    due = next_due(plan)
    return {**card, "follow_up": plan, "next_due": due.isoformat() if due else None}
