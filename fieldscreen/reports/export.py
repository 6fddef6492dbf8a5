"""The central team's export: sealed screenings opened, verified and laid out as tables.

Run off the server, with the organisation's private sealing key. Each envelope's signature is
checked against its device's enrolled key *before* it is opened; what cannot be verified, opened
or read is counted (by record id, nothing else) and skipped, never fatal.

A sealed payload is what the vault's ``finalise`` seals: ``{"format", "kind", "record_id",
"form_id", "form_version", "device_id", "day", "content"}`` where ``content["state"]`` holds the
saved state of every form of the screening (``{"started", "forms": {form_id: state}}``). Each
form's values are rebuilt with the form engine (:meth:`Session.restore`), so that labels, repeats
and types are exactly the form's.

Layout (:func:`build_tables`): one table per form (fields in form order), one child table per
repeat (``<form>.<repeat>``, keyed to the parent record by ``record_id`` and ``parent_index``),
a ``screenings`` table (one row per record: tier, concerns) and a codebook.

Profiles (:func:`parse_profile`) decide what leaves the key holder's hands:

* ``full`` -- everything; identifiable.
* ``deidentified`` -- drops every field marked ``identifying``, generalises dates to the month,
  drops free-text actions, and leaves out children who refused statistics (``share_stats=no``).
* ``recipient:<code>`` -- only records whose consent ``share_<code>`` is ``yes``; identifiable.
  A recipient a raised rule of the record's forms withholds (the consulate, when the child
  fears the state) counts as not consented unless a supervisor released it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fieldscreen.errors import KnownError
from fieldscreen.forms import Form, Session
from fieldscreen.forms.model import Field
from fieldscreen.forms.risk import withheld_recipients
from fieldscreen.sync.envelope import Envelope, open_envelope, verify_envelope
from fieldscreen.sync.errors import EnvelopeError

__all__ = [
    "CODEBOOK_COLUMNS",
    "ExportProblems",
    "OpenedRecord",
    "Profile",
    "Table",
    "build_tables",
    "codebook",
    "consented",
    "open_records",
    "parse_profile",
]

CODEBOOK_COLUMNS = ("table", "field", "label", "type", "choices", "sensitivity")
_RECIPIENT = re.compile(r"^recipient:([a-z0-9_]{1,40})$")
_SKIP_KINDS = {"group", "repeat", "note"}
_DATE_KINDS = {"date", "datetime"}


@dataclass(frozen=True, slots=True)
class Profile:
    """What an export may contain (see the module docstring)."""

    name: str
    identifiable: bool
    recipient: str = ""

    def admits(self, record: OpenedRecord) -> bool:
        """Whether ``record``'s consent lets it into this profile."""
        if self.recipient:
            return consented(record.consent, self.recipient)
        if not self.identifiable:
            return record.consent.get("share_stats") != "no"
        return True

    def keeps(self, f: Field) -> bool:
        return self.identifiable or f.sensitivity != "identifying"


def parse_profile(text: str) -> Profile:
    """``full``, ``deidentified`` or ``recipient:<code>``.

    Raises:
        KnownError: ``export-profile-unknown``.
    """
    if text == "full":
        return Profile("full", identifiable=True)
    if text == "deidentified":
        return Profile("deidentified", identifiable=False)
    match = _RECIPIENT.match(text)
    if match:
        return Profile(text, identifiable=True, recipient=match.group(1))
    raise KnownError("export-profile-unknown", profile=text[:60])


def consented(consent: Mapping[str, Any], recipient: str) -> bool:
    """True only when the child's recorded consent to share with ``recipient`` is ``yes``."""
    return consent.get(f"share_{recipient}") in ("yes", True, "true")


@dataclass(frozen=True, slots=True)
class OpenedRecord:
    """One decrypted, verified screening, its forms' values rebuilt by the form engine."""

    record_id: str
    kind: str
    device_id: str
    created: str
    form_version: str
    values: Mapping[str, Mapping[str, Any]]  # form id -> Session.values_json()
    consent: Mapping[str, Any]
    tier: str = ""
    concerns: tuple[str, ...] = ()
    actions_taken: str = ""


@dataclass
class ExportProblems:
    """What could not be exported, by record id only."""

    unverified: list[str] = field(default_factory=list)
    undecryptable: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.unverified) + len(self.undecryptable) + len(self.unreadable)

    def to_json(self) -> dict[str, Any]:
        return {
            "unverified": {"count": len(self.unverified), "ids": self.unverified},
            "undecryptable": {"count": len(self.undecryptable), "ids": self.undecryptable},
            "unreadable": {"count": len(self.unreadable), "ids": self.unreadable},
        }


def _consent(
    values: Mapping[str, Mapping[str, Any]], withheld: Iterable[str] = ()
) -> dict[str, Any]:
    found: dict[str, Any] = {f"share_{w}": "withheld" for w in withheld}
    ordered = sorted(values, key=lambda form_id: form_id != "fs_consent")  # consent form first
    for form_id in ordered:
        for name, value in values[form_id].items():
            if name.startswith("share_") and value is not None:
                found.setdefault(name, value)
    return found


def _read_payload(payload: Mapping[str, Any], forms: Mapping[str, Form]) -> dict[str, Any]:
    content = payload["content"]
    state = content.get("state", content) if isinstance(content, Mapping) else None
    if not isinstance(state, Mapping) or not isinstance(state.get("forms"), Mapping):
        raise ValueError("no form state")
    values: dict[str, dict[str, Any]] = {}
    risks = []
    for form_id, saved in state["forms"].items():
        if form_id not in forms:
            raise ValueError("unknown form")
        session = Session.restore(forms[form_id], saved)
        values[form_id] = session.values_json()
        risks.append(session.risk())
    result = content.get("result") if isinstance(content.get("result"), Mapping) else {}
    concerns = tuple(str(c) for c in (result or {}).get("concerns", ()) if isinstance(c, str))
    return {
        "values": values,
        "tier": str(content.get("tier") or (result or {}).get("tier") or ""),
        "concerns": concerns,
        "actions_taken": str(content.get("actions_taken") or ""),
        "withheld": withheld_recipients(risks),
    }


def open_records(
    envelopes: Iterable[Envelope],
    device_key: Callable[[str], bytes | None],
    sealing_private_key: bytes,
    forms: Mapping[str, Form],
    problems: ExportProblems,
) -> Iterable[OpenedRecord]:
    """Verify, open and read each envelope; yield what succeeds, note the rest in ``problems``.

    Args:
        envelopes: as the server holds them (``Storage.iter_envelopes``).
        device_key: the enrolled public signing key of a device id, or None if unknown.
        sealing_private_key: the organisation's private sealing key.
        forms: the forms by id, at the versions the records were made with.
        problems: filled with the record ids that failed, per kind of failure.
    """
    for envelope in envelopes:
        key = device_key(envelope.device_id)
        try:
            if key is None:
                raise EnvelopeError("unknown device")
            verify_envelope(envelope, key)
        except EnvelopeError:
            problems.unverified.append(envelope.record_id)
            continue
        try:
            plain = open_envelope(envelope, sealing_private_key)
        except EnvelopeError:
            problems.undecryptable.append(envelope.record_id)
            continue
        try:
            payload = json.loads(plain)
            if payload.get("record_id") != envelope.record_id:
                raise ValueError("record id mismatch")
            read = _read_payload(payload, forms)
        except (KnownError, KeyError, TypeError, ValueError, AttributeError):
            problems.unreadable.append(envelope.record_id)
            continue
        yield OpenedRecord(
            record_id=envelope.record_id,
            kind=str(payload.get("kind", envelope.kind)),
            device_id=envelope.device_id,
            created=envelope.created,
            form_version=envelope.form_version,
            values=read["values"],
            consent=_consent(read["values"], read["withheld"]),
            tier=read["tier"],
            concerns=read["concerns"],
            actions_taken=read["actions_taken"],
        )


# ---------------------------------------------------------------------------- tables
@dataclass
class Table:
    """Columns and rows of one exported table; ``kinds`` maps a column to its field type."""

    name: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"columns": self.columns, "rows": self.rows}


def _columns(form: Form, repeat: str, profile: Profile) -> list[Field]:
    return [
        f
        for f in form.fields.values()
        if f.kind not in _SKIP_KINDS
        and (f.repeats[-1] if f.repeats else "") == repeat
        and profile.keeps(f)
    ]


def _cell(f: Field, value: Any, profile: Profile, lang: str | None) -> Any:
    if value is None:
        return None
    if f.kind in _DATE_KINDS and not profile.identifiable and isinstance(value, str):
        return value[:7]  # the month
    if lang and f.choices and f.kind in ("select_one", "select_multiple"):
        labels = {c.name: c.label.get(lang) for c in f.choices}
        if isinstance(value, list):
            return [labels.get(str(v), str(v)) for v in value]
        return labels.get(str(value), str(value))
    return value


def build_tables(
    records: Iterable[OpenedRecord],
    forms: Mapping[str, Form],
    profile: Profile,
    *,
    labels: str | None = None,
) -> dict[str, Table]:
    """The export's tables for the records ``profile`` admits.

    Args:
        labels: a language code to show choices by their label in that language; None keeps
            the codes (lossless).
    """
    base = ["record_id", "device_id", "created"]
    screenings = Table(
        "screenings",
        [*base, "kind", "form_version", "tier", "concerns"]
        + (["actions_taken"] if profile.identifiable else []),
    )
    tables: dict[str, Table] = {"screenings": screenings}
    for form_id in sorted(forms):
        form = forms[form_id]
        for repeat in ["", *(f.name for f in form.fields.values() if f.kind == "repeat")]:
            cols = _columns(form, repeat, profile)
            name = f"{form_id}.{repeat}" if repeat else form_id
            keys = ["record_id", "parent_index", "index"] if repeat else base
            kinds = {f.name: f.kind for f in cols}
            tables[name] = Table(name, keys + [f.name for f in cols], [], kinds)

    def add_rows(
        form: Form, rid: str, data: Mapping[str, Any], path: tuple[int, ...], repeat: str
    ) -> None:
        for f in form.fields.values():
            if f.kind != "repeat" or (f.repeats[-1] if f.repeats else "") != repeat:
                continue
            table = tables[f"{form.id}.{f.name}"]
            cols = _columns(form, f.name, profile)
            for i, instance in enumerate(data.get(f.name) or (), start=1):
                here = (*path, i)
                table.rows.append(
                    [rid, ".".join(map(str, path)), ".".join(map(str, here))]
                    + [_cell(c, instance.get(c.name), profile, labels) for c in cols]
                )
                add_rows(form, rid, instance, here, f.name)

    for record in records:
        if not profile.admits(record):
            continue
        created = record.created if profile.identifiable else record.created[:7]
        row = [record.record_id, record.device_id, created]
        screenings.rows.append(
            [*row, record.kind, record.form_version, record.tier, list(record.concerns)]
            + ([record.actions_taken] if profile.identifiable else [])
        )
        for form_id, data in record.values.items():
            form = forms[form_id]
            cols = _columns(form, "", profile)
            tables[form_id].rows.append(
                row + [_cell(c, data.get(c.name), profile, labels) for c in cols]
            )
            add_rows(form, record.record_id, data, (), "")
    return tables


def codebook(forms: Mapping[str, Form], profile: Profile, lang: str) -> list[list[str]]:
    """One row per exported field: table, field, label, type, ``code=label`` choices,
    sensitivity."""
    rows: list[list[str]] = []
    for form_id in sorted(forms):
        form = forms[form_id]
        for repeat in ["", *(f.name for f in form.fields.values() if f.kind == "repeat")]:
            table = f"{form_id}.{repeat}" if repeat else form_id
            for f in _columns(form, repeat, profile):
                choices = "; ".join(f"{c.name}={c.label.get(lang)}" for c in f.choices)
                kind = f.kind
                if kind in _DATE_KINDS and not profile.identifiable:
                    kind = f"{kind} (generalised to the month)"
                rows.append([table, f.name, f.label.get(lang), kind, choices, f.sensitivity])
    return rows
