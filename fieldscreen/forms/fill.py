"""Rows for a form's referral and notification repeats, from what the rules suggest.

Form B's summary (B12) records each referral made and each authority notified in two repeats.
Most of those rows follow from the screening itself: the referrals the case's consent allows and
the deadlines that are notifications. :func:`suggested_rows` gives those rows so the app can
fill a repeat in one step; the specialist then edits, completes or removes them like any row.

A repeat is fillable when its fields follow this naming convention (docs/forms.md):

* a **referral repeat** has ``ref_service`` (a ``service_types.csv`` choice) and any of
  ``ref_provider``, ``ref_urgency`` (``T0``..``T4``), ``ref_consent`` (``consent_given``,
  ``not_needed``, ``override_legal_basis``) and ``ref_status`` (``pending``);
* a **notification repeat** has ``notif_authority`` and may have ``notif_basis``; the rows come
  from the ``notifies`` column of the deadlines the rules raised.

Only referrals that may be made are given: a referral that needs consent, is withheld (fear of
the state) or was declined by the child is left out until consent or a supervisor's release.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fieldscreen.forms.model import Form
from fieldscreen.forms.risk import CaseRisk

__all__ = ["fill_kind", "merge_rows", "row_key", "suggested_rows"]

_KEYS = {"referral": "ref_service", "notification": "notif_authority"}


def fill_kind(form: Form, repeat: str) -> str:
    """``referral``, ``notification`` or ``''`` (the repeat is not filled from suggestions)."""
    field = form.fields.get(repeat)
    if field is None or field.kind != "repeat":
        return ""
    for kind, key in _KEYS.items():
        if key in field.children:
            return kind
    return ""


def _choices(form: Form, name: str) -> set[str] | None:
    """The choice names of ``name``, or None when the field takes free text."""
    field = form.fields[name]
    return {c.name for c in field.choices} if field.kind.startswith("select") else None


def _put(form: Form, row: dict[str, Any], children: Sequence[str], name: str, value: str) -> None:
    if name not in children or not value:
        return
    allowed = _choices(form, name)
    if allowed is None or value in allowed:
        row[name] = value


def suggested_rows(
    form: Form,
    repeat: str,
    case: CaseRisk,
    *,
    recipients: Mapping[str, str] | None = None,
    providers: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The rows ``case`` implies for ``repeat`` of ``form`` (child field name -> value).

    Args:
        form: the form holding the repeat (form B).
        repeat: the repeat's name (``referral``, ``notification``).
        case: the combined risk of the case's forms (:func:`combine_case`).
        recipients: service type -> the recipient it needs consent for (``service_types.csv``);
            a suggested service with a recipient is marked ``consent_given``, one without
            ``not_needed``, one the child had declined and a supervisor released
            ``override_legal_basis``.
        providers: service type -> the provider of the site's service directory.
    """
    kind = fill_kind(form, repeat)
    if not kind:
        return []
    children = form.fields[repeat].children
    rows: list[dict[str, Any]] = []
    if kind == "referral":
        released = {r.name for r in case.releases}
        services = _choices(form, "ref_service")
        for service in case.suggested:
            if services is not None and service not in services:
                continue
            row: dict[str, Any] = {"ref_service": service}
            _put(form, row, children, "ref_provider", (providers or {}).get(service, ""))
            _put(form, row, children, "ref_urgency", case.urgency.get(service, ""))
            if service in released:
                consent = "override_legal_basis"
            elif (recipients or {}).get(service, ""):
                consent = "consent_given"
            else:
                consent = "not_needed"
            _put(form, row, children, "ref_consent", consent)
            _put(form, row, children, "ref_status", "pending")
            rows.append(row)
        return rows
    authorities = _choices(form, "notif_authority")
    seen: set[str] = set()
    for due in case.deadlines:  # most urgent first
        for authority in due.notifies:
            if authority in seen or (authorities is not None and authority not in authorities):
                continue
            seen.add(authority)
            row = {"notif_authority": authority}
            _put(form, row, children, "notif_basis", due.basis)
            rows.append(row)
    return rows


def merge_rows(
    existing: Sequence[Mapping[str, Any]], suggested: Sequence[Mapping[str, Any]], key: str
) -> list[dict[str, Any]]:
    """``existing`` rows kept as they are, then each suggested row whose ``key`` value is not
    there yet (filling twice adds nothing; rows the specialist edited are never replaced)."""
    have = {row.get(key) for row in existing}
    out = [dict(row) for row in existing]
    out.extend(dict(row) for row in suggested if row.get(key) not in have)
    return out


def row_key(kind: str) -> str:
    """The field that identifies a row of a fillable repeat of ``kind``."""
    return _KEYS.get(kind, "")
