"""Case events: what happens to a child after the screening, as append-only sealed envelopes.

Qt-free and IO-free. A case event (a follow-up done, a referral made, a service reached, the
child moved or left, the case closed with its reason) is recorded on the laptop that holds the
case card (``Vault.record_case_event``) and sealed to the organisation as an envelope of kind
``event`` (``sync.envelope.KINDS``) under a record id of its own: two laptops, or one laptop
twice, adding events to the same case never overwrite one another, and the server never sees
two events of one case as a conflict (it sees two records). The case they belong to is named
inside the sealed payload only: the server learns no more than that a device sent an envelope.

The sealed content (:func:`event_content`) is ``{"case_id", "type", "at", "user", "note",
"reason"}``; ``at`` is the time to the minute (UTC), ``reason`` is required for ``closed``
(one of :data:`CLOSE_REASONS`), ``note`` is free text of at most :data:`MAX_NOTE` characters.
The central export (``reports.export``) lays the events out beside the screenings as a timeline
per child (:func:`timeline`): ordered, each event once (by its id).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from fieldscreen.errors import DeviceError

__all__ = [
    "CLOSE_REASONS",
    "EVENT_TYPES",
    "HANDOVER_ACKNOWLEDGED",
    "HANDOVER_SENT",
    "LINKED",
    "MAX_NOTE",
    "TimelineEntry",
    "check_content",
    "event_content",
    "label",
    "timeline",
]

#: Every type of case event, in the order the forms and the CLI offer them.
EVENT_TYPES: Final = ("follow-up", "referral", "service-reached", "moved", "left", "closed")
#: The event a specialist records by linking the case to an earlier screening of the same child
#: that the server named (``fieldscreen matches --link``; docs/privacy-matching.md): not offered
#: among the types above, its note names the earlier screening.
LINKED: Final = "linked"
#: The events of a handover to a partner organisation (``fieldscreen handover``;
#: docs/handover.md): the packet made, and the partner's signed acknowledgement applied. Their
#: note names the partner and the packet.
HANDOVER_SENT: Final = "handover-sent"
HANDOVER_ACKNOWLEDGED: Final = "handover-acknowledged"
_OTHER_TYPES: Final = frozenset({LINKED, HANDOVER_SENT, HANDOVER_ACKNOWLEDGED})
#: Why a case was closed (``closed`` events only).
CLOSE_REASONS: Final = (
    "stabilised",
    "transferred",
    "returned",
    "reunified",
    "aged-out",
    "lost-contact",
    "other",
)
MAX_NOTE: Final = 500
_CONTENT_FIELDS: Final = frozenset({"case_id", "type", "at", "user", "note", "reason"})

#: English and Spanish labels of the event types and close reasons (the export's and the
#: command line's; the app translates its own through Qt).
_LABELS: Final[dict[str, tuple[str, str]]] = {
    "screening": ("Screening", "Tamizaje"),
    "follow-up": ("Follow-up done", "Seguimiento realizado"),
    "referral": ("Referral made", "Derivación realizada"),
    "service-reached": ("Service reached", "Servicio recibido"),
    "moved": ("Child moved", "Traslado del niño o niña"),
    "left": ("Child left", "El niño o niña se fue"),
    "closed": ("Case closed", "Caso cerrado"),
    "linked": ("Linked to an earlier screening", "Vinculado a un tamizaje anterior"),
    "handover-sent": ("Handover sent to a partner", "Traspaso enviado a un socio"),
    "handover-acknowledged": (
        "Handover acknowledged by the partner",
        "Traspaso confirmado por el socio",
    ),
    "stabilised": ("stabilised", "estabilizado"),
    "transferred": ("transferred", "transferido"),
    "returned": ("returned", "retornado"),
    "reunified": ("reunified with family", "reunificado con su familia"),
    "aged-out": ("turned 18", "cumplió 18 años"),
    "lost-contact": ("contact lost", "se perdió el contacto"),
    "other": ("other", "otro"),
}


def label(code: str, lang: str = "en") -> str:
    """The English or Spanish label of an event type or close reason (the code if unknown)."""
    pair = _LABELS.get(code)
    if pair is None:
        return code
    return pair[1] if lang.startswith("es") else pair[0]


def _minute(when: dt.datetime) -> str:
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%MZ")


def event_content(
    case_id: str,
    kind: str,
    when: dt.datetime,
    *,
    user: str = "",
    note: str = "",
    reason: str = "",
) -> dict[str, Any]:
    """The sealed content of one case event, checked (:func:`check_content`).

    Raises:
        DeviceError: ``case-event-type-unknown``, ``case-event-reason-needed``,
            ``case-event-reason-unknown`` or ``case-event-note-long``.
    """
    content = {
        "case_id": case_id,
        "type": kind,
        "at": _minute(when),
        "user": user,
        "note": note.strip(),
        "reason": reason,
    }
    check_content(content)
    return content


def check_content(content: Any) -> dict[str, Any]:
    """``content`` if it is a well-formed event's content (see the module docstring).

    Raises:
        DeviceError: as :func:`event_content`; ``case-event-malformed`` for a shape no laptop
            writes.
    """
    if not isinstance(content, Mapping) or set(content) != _CONTENT_FIELDS:
        raise DeviceError("case-event-malformed")
    if not all(isinstance(content[k], str) for k in _CONTENT_FIELDS):
        raise DeviceError("case-event-malformed")
    if content["type"] not in EVENT_TYPES and content["type"] not in _OTHER_TYPES:
        raise DeviceError("case-event-type-unknown", type=str(content["type"])[:40])
    if content["type"] == "closed" and not content["reason"]:
        raise DeviceError("case-event-reason-needed")
    if content["reason"] and content["reason"] not in CLOSE_REASONS:
        raise DeviceError("case-event-reason-unknown", reason=str(content["reason"])[:40])
    if len(content["note"]) > MAX_NOTE:
        raise DeviceError("case-event-note-long", limit=MAX_NOTE)
    if not content["case_id"] or len(content["case_id"]) > 36 or len(content["user"]) > 128:
        raise DeviceError("case-event-malformed")
    try:
        dt.datetime.strptime(content["at"], "%Y-%m-%dT%H:%MZ")
    except ValueError:
        raise DeviceError("case-event-malformed") from None
    return dict(content)


@dataclass(frozen=True, slots=True, order=True)
class TimelineEntry:
    """One line of a child's timeline: the screening itself, or one case event."""

    at: str  # the minute (events) or the day (the screening): they sort together
    order: int  # the screening before its day's events
    #: The sending device's sequence number of the event (0 for the screening): one
    #: device's events of the same minute keep the order it recorded them in.
    seq: int
    event_id: str
    case_id: str
    device_id: str
    type: str  # "screening" or one of EVENT_TYPES
    note: str = ""
    reason: str = ""


def timeline(
    screenings: Iterable[tuple[str, str, str]],
    events: Iterable[tuple[str, str, Mapping[str, Any], int]],
) -> dict[str, list[TimelineEntry]]:
    """The timeline of every case: ``screenings`` as ``(case id, device id, day)``, ``events``
    as ``(event id, device id, content, device sequence number)``. Each case's entries in
    order (time, then the screening first, then the device's sequence, so that a handover
    sent and acknowledged within one minute stay in that order, then event id), each event
    once however often it came (by its id)."""
    out: dict[str, dict[str, TimelineEntry]] = {}
    for case_id, device_id, day in screenings:
        out.setdefault(case_id, {})[f"screening/{case_id}/{device_id}"] = TimelineEntry(
            day, 0, 0, case_id, case_id, device_id, "screening"
        )
    for event_id, device_id, content, seq in events:
        case_id = str(content["case_id"])
        entries = out.setdefault(case_id, {})
        entries.setdefault(
            event_id,
            TimelineEntry(
                str(content["at"]),
                1,
                seq,
                event_id,
                case_id,
                device_id,
                str(content["type"]),
                str(content.get("note") or ""),
                str(content.get("reason") or ""),
            ),
        )
    return {case: sorted(entries.values()) for case, entries in sorted(out.items())}
