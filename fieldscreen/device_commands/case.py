"""``fieldscreen case event CASE --type T ...`` and ``fieldscreen case timeline CASE``: record a
case event of a screening on this laptop (sealed for the team as an ``event`` envelope, queued
for the next sync or bundle, durable when the command returns), or show its timeline.

CASE is the screening's record id or the short code the app shows for it (its first six
characters, in any case)."""

from __future__ import annotations

import argparse
import datetime as dt

from fieldscreen.caseevents import CLOSE_REASONS, EVENT_TYPES, label
from fieldscreen.device_commands import unlocked_vault
from fieldscreen.errors import DeviceError
from fieldscreen.vault import Vault
from fieldscreen.vault.cli_common import add_unlock_arguments, emit
from fieldscreen.vault.errors import VaultError

__all__ = ["add_arguments", "resolve_case", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    event = actions.add_parser(
        "event",
        help="record a case event (sealed for the team, sent at the next sync)",
        description="Record a case event of a screening on this laptop: sealed to the "
        "organisation, queued for the next sync or bundle, added to the case's timeline.",
    )
    event.add_argument("case", metavar="CASE", help="the screening's record id or its code")
    event.add_argument("--type", required=True, choices=EVENT_TYPES, help="what happened")
    event.add_argument(
        "--reason", default="", choices=("", *CLOSE_REASONS), help="why (closed: required)"
    )
    event.add_argument("--note", default="", help="a short note (at most 500 characters)")
    event.add_argument(
        "--at", metavar="ISO", help="when it happened (default: now), e.g. 2026-12-04T10:30"
    )
    timeline = actions.add_parser(
        "timeline",
        help="the screening and its case events, in order",
        description="The screening and the case events recorded on this laptop, in order.",
    )
    timeline.add_argument("case", metavar="CASE", help="the screening's record id or its code")
    for sub in (event, timeline):
        add_unlock_arguments(sub)
        sub.add_argument("--json", action="store_true", help="print one JSON object")


def resolve_case(vault: Vault, text: str) -> str:
    """The record id of the finalised screening ``text`` names (its id or its code).

    Raises:
        VaultError: ``vault-record-unknown``; DeviceError ``case-code-ambiguous``.
    """
    wanted = text.strip().lower().replace("-", "")
    found = [
        r.record_id
        for r in vault.list_records("finalised") + vault.list_records("purged")
        if r.record_id == wanted or (len(wanted) >= 6 and r.record_id.startswith(wanted))
    ]
    if not found:
        raise VaultError("vault-record-unknown")
    if len(found) > 1:
        raise DeviceError("case-code-ambiguous", code=text[:40], count=len(found))
    return found[0]


def _when(text: str | None) -> dt.datetime:
    if not text:
        return dt.datetime.now(dt.UTC)
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise DeviceError("case-event-time-bad", value=text[:40]) from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def run(args: argparse.Namespace) -> int:
    with unlocked_vault(args) as (vault, settings):
        lang = str(getattr(args, "lang", None) or settings.get("language") or "en")
        record_id = resolve_case(vault, args.case)
        if args.action == "event":
            event = vault.record_case_event(
                record_id, args.type, _when(args.at), note=args.note, reason=args.reason
            )
            text = label(args.type, lang) + (
                f" ({label(args.reason, lang)})" if args.reason else ""
            )
            emit(
                args,
                {"case": record_id, **event},
                f"{record_id[:6].upper()}: {text}, {event['at']}; "
                + (
                    "sellado, se enviará en la próxima sincronización."
                    if lang == "es"
                    else "sealed, to be sent at the next sync."
                ),
            )
            return 0
        card = vault.case_card(record_id)
        events = list(card.get("events", ()))
        plan = card.get("follow_up") or {}
        day = str(plan.get("start") or "")[:10] or next(
            (str(r.updated_day) for r in vault.list_records() if r.record_id == record_id), ""
        )
        lines = [f"{record_id[:6].upper()}: {day}  {label('screening', lang)}"]
        lines += [
            f"  {e['at']}  {label(e['type'], lang)}"
            + (f" ({label(e['reason'], lang)})" if e.get("reason") else "")
            + (f": {e['note']}" if e.get("note") else "")
            for e in events
        ]
        emit(args, {"case": record_id, "screened": day, "events": events}, "\n".join(lines))
        return 0
