"""Risk results of one form, and of a whole case (several forms of one child).

A form's :class:`Risk` comes from its raised rules (``Session.risk()``). :func:`combine_case`
joins the results of a case's forms: the most urgent tier, the union of concerns, the referrals
split by the consent the case holds (``share_<recipient>`` fields, through the ``recipient``
column of ``lists/service_types.csv``), the deadlines, and the follow-up schedule from the
tier's cadence in ``lists/risk_tiers.csv``.

Two rule columns narrow the consent further, as data: ``withholds`` names recipients that no
referral of the case may go to while the rule is raised (the child fears the state: no
consulate, whatever form A recorded), and ``declines`` names service types the child refused in
that form (form D's per-service consent). Either is lifted only by a :class:`Release`: a
supervisor's sign-off with a reason, kept with the case.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from fieldscreen.forms.model import TIERS

__all__ = [
    "CaseRisk",
    "DeadlineDue",
    "FollowUp",
    "Override",
    "Release",
    "Risk",
    "combine_case",
    "most_urgent",
    "referral_consent",
    "withheld_recipients",
]


def most_urgent(tiers: Iterable[str]) -> str:
    """The most urgent of ``tiers`` (``T4`` when there are none)."""
    ranked = [TIERS.index(t) for t in tiers if t in TIERS]
    return TIERS[min(ranked)] if ranked else "T4"


@dataclass(frozen=True, slots=True)
class Override:
    """A specialist's change of the tier, with the supervisor who signed it off."""

    tier: str
    computed: str
    reason: str
    supervisor: str

    def to_json(self) -> dict[str, str]:
        return {
            "tier": self.tier,
            "computed": self.computed,
            "reason": self.reason,
            "supervisor": self.supervisor,
        }


@dataclass(frozen=True, slots=True)
class Release:
    """A supervisor's sign-off that lifts a rule's ``withholds`` or ``declines`` for one name
    (a recipient such as ``consulate``, or a service type), with the reason."""

    name: str
    reason: str
    supervisor: str

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "reason": self.reason, "supervisor": self.supervisor}


@dataclass(frozen=True, slots=True)
class DeadlineDue:
    """A deadline that applies in the session's jurisdiction because a rule raised it."""

    name: str
    jurisdiction: str
    hours: float
    label: str
    basis: str
    rules: tuple[str, ...]
    #: When it falls due: ``hours`` after the first of ``rules`` was raised.
    due: datetime | None = None
    #: The authorities this deadline is a notification to (``cp_authority``, ``otip`` ...).
    notifies: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "jurisdiction": self.jurisdiction,
            "hours": self.hours,
            "label": self.label,
            "basis": self.basis,
            "rules": list(self.rules),
            "due": self.due.isoformat() if self.due else None,
            "notifies": list(self.notifies),
        }


@dataclass(frozen=True, slots=True)
class Risk:
    """Everything the rules of one form say about the child right now."""

    form_id: str
    flags: tuple[str, ...]
    concerns: tuple[str, ...]
    computed_tier: str
    tier: str
    referrals: tuple[str, ...]
    deadlines: tuple[DeadlineDue, ...]
    opens: tuple[str, ...]
    messages: tuple[tuple[str, str], ...]
    override: Override | None = None
    #: Recipients the raised rules withhold (before any release).
    withholds: tuple[str, ...] = ()
    #: Service types the child declined in this form (before any release).
    declines: tuple[str, ...] = ()
    #: The releases recorded in this form.
    releases: tuple[Release, ...] = ()
    #: For each referral, the most urgent tier among the raised rules naming it (``T3`` when
    #: none of them sets a tier).
    urgency: tuple[tuple[str, str], ...] = ()

    @property
    def act_now(self) -> bool:
        return self.tier == "T0" or self.computed_tier == "T0"

    def to_json(self) -> dict[str, Any]:
        return {
            "flags": list(self.flags),
            "concerns": list(self.concerns),
            "tier": self.tier,
            "computed_tier": self.computed_tier,
            "override": self.override.to_json() if self.override else None,
            "referrals": list(self.referrals),
            "deadlines": [d.to_json() for d in self.deadlines],
            "opens": list(self.opens),
            "messages": [{"rule": r, "text": t} for r, t in self.messages],
            "withholds": list(self.withholds),
            "declines": list(self.declines),
            "releases": [r.to_json() for r in self.releases],
        }


@dataclass(frozen=True, slots=True)
class FollowUp:
    """When to check on the child again."""

    respond_within_hours: float | None
    every_days: float | None
    times: int | None  # None: until stabilised
    dates: tuple[datetime, ...] = ()


@dataclass(frozen=True, slots=True)
class CaseRisk:
    """The combined result of a case's forms."""

    tier: str
    computed_tier: str
    concerns: tuple[str, ...]
    flags: tuple[str, ...]
    suggested: tuple[str, ...]
    needs_consent: tuple[str, ...]
    deadlines: tuple[DeadlineDue, ...]
    opens: tuple[str, ...]
    follow_up: FollowUp
    overrides: tuple[Override, ...] = field(default_factory=tuple)
    #: Referrals not suggested because a raised rule withholds their recipient.
    withheld: tuple[str, ...] = ()
    #: Referrals not suggested because the child declined that service.
    declined: tuple[str, ...] = ()
    #: The recipients withheld for the whole case (after releases).
    withheld_recipients: tuple[str, ...] = ()
    releases: tuple[Release, ...] = ()
    #: service type -> its most urgent tier across the forms.
    urgency: Mapping[str, str] = field(default_factory=dict)

    def consent(self, service: str) -> str:
        """``suggested``, ``needs_consent``, ``withheld``, ``declined`` or ``''`` (not raised)."""
        for state, names in (
            ("suggested", self.suggested),
            ("needs_consent", self.needs_consent),
            ("withheld", self.withheld),
            ("declined", self.declined),
        ):
            if service in names:
                return state
        return ""


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text not in {None, ""} else None
    except ValueError:
        return None


def combine_case(
    results: Sequence[Risk],
    *,
    consent: Mapping[str, Any],
    service_types: Sequence[Mapping[str, str]],
    risk_tiers: Sequence[Mapping[str, str]],
    start: datetime | None = None,
) -> CaseRisk:
    """Combine the risk of several forms of one case.

    Args:
        results: ``Session.risk()`` of each form of the case.
        consent: the case's values, at least its ``share_<recipient>`` fields.
        service_types: rows of ``lists/service_types.csv`` (``name``, ``recipient``).
        risk_tiers: rows of ``lists/risk_tiers.csv`` (``name``, ``respond_within_hours``,
            ``follow_up_every_days``, ``follow_up_times``).
        start: when the follow-up schedule starts (the finalisation time); no dates if omitted.
    """
    tier = most_urgent(r.tier for r in results)
    computed = most_urgent(r.computed_tier for r in results)
    recipients = {row.get("name", ""): row.get("recipient", "") for row in service_types}
    releases = tuple(x for r in results for x in r.releases)
    released = {x.name for x in releases}
    withheld = withheld_recipients(results)
    buckets: dict[str, list[str]] = {k: [] for k in _STATES}
    for service in _unique(s for r in results for s in r.referrals):
        declined = all(
            service in r.declines and service not in released
            for r in results
            if service in r.referrals
        )
        state = referral_consent(recipients.get(service, ""), consent, withheld, declined=declined)
        buckets[state].append(service)
    urgency: dict[str, str] = {}
    for r in results:
        for service, level in r.urgency:
            urgency[service] = most_urgent((level, urgency.get(service, "T4")))
    seen: dict[str, DeadlineDue] = {}
    for result in results:
        for due in result.deadlines:
            if due.name not in seen or due.hours < seen[due.name].hours:
                seen[due.name] = due
    cadence = next((row for row in risk_tiers if row.get("name") == tier), {})
    every = _float(cadence.get("follow_up_every_days"))
    times_value = _float(cadence.get("follow_up_times"))
    times = int(times_value) if times_value is not None else None
    dates: tuple[datetime, ...] = ()
    if start is not None and every:
        count = times if times is not None else 4
        dates = tuple(start + timedelta(days=every * (i + 1)) for i in range(count))
    return CaseRisk(
        tier=tier,
        computed_tier=computed,
        concerns=_unique(c for r in results for c in r.concerns),
        flags=_unique(f for r in results for f in r.flags),
        suggested=tuple(buckets["suggested"]),
        needs_consent=tuple(buckets["needs_consent"]),
        deadlines=tuple(sorted(seen.values(), key=lambda d: (d.hours, d.name))),
        opens=_unique(o for r in results for o in r.opens),
        follow_up=FollowUp(_float(cadence.get("respond_within_hours")), every, times, dates),
        overrides=tuple(r.override for r in results if r.override is not None),
        withheld=tuple(buckets["withheld"]),
        declined=tuple(buckets["declined"]),
        withheld_recipients=withheld,
        releases=releases,
        urgency=urgency,
    )


_STATES = ("suggested", "needs_consent", "withheld", "declined")


def withheld_recipients(results: Sequence[Risk]) -> tuple[str, ...]:
    """The recipients the raised rules of a case's forms withhold, less those a supervisor
    released. Nothing of the case may go to them, whatever its ``share_<recipient>`` says."""
    released = {x.name for r in results for x in r.releases}
    return _unique(w for r in results for w in r.withholds if w not in released)


def referral_consent(
    recipient: str,
    consent: Mapping[str, Any],
    withheld_recipients: Iterable[str] = (),
    *,
    declined: bool = False,
) -> str:
    """Whether a referral to a service with ``recipient`` may be suggested.

    Returns ``declined`` (the child refused this service in the form that raised it),
    ``withheld`` (a raised rule withholds the recipient), ``needs_consent`` (the case does not
    hold ``share_<recipient> = yes``) or ``suggested``. A service given on site (blank
    recipient) is suggested unless declined.
    """
    if declined:
        return "declined"
    if not recipient:
        return "suggested"
    if recipient in set(withheld_recipients):
        return "withheld"
    if str(consent.get(f"share_{recipient}", "")).lower() in {"yes", "true"}:
        return "suggested"
    return "needs_consent"
