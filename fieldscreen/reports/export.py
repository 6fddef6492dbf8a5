"""The central team's export: sealed screenings opened, verified and laid out as tables.

Run off the server, with the organisation's private sealing key. Each envelope's signature is
checked against its device's enrolled key *before* it is opened; what cannot be verified, opened
or read is counted (by record id, nothing else) and skipped, never fatal.

A sealed payload is what the vault's ``finalise`` seals: ``{"format", "kind", "record_id",
"form_id", "form_version", "device_id", "day", "content"}`` where ``content["state"]`` holds the
saved state of every form of the screening (``{"started", "forms": {form_id: state}}``). Each
form's values are rebuilt with the form engine (:meth:`Session.restore`), so that labels, repeats
and types are exactly the form's.

Each form is read with the definition it was filled with (its saved state names the form id
and version), looked up in a :class:`~fieldscreen.reports.form_versions.FormCatalogue`; a record
holding a form version that no definition matches is reported as *could not decode: form X
version Y unknown* and skipped.

Layout (:func:`build_tables`): one table per form (the fields of every version exported, newest
version's order first, then fields that only older versions had; a ``form_version`` column says
which version each row was filled with), one child table per repeat (``<form>.<repeat>``, keyed
to the parent record by ``record_id``, ``device_id`` and ``parent_index``), a ``screenings``
table (one row per record: tier, concerns) and a codebook with one section per form version.
A record id two devices sent genuinely (a contest :func:`open_records` could not decide) has a
row per device: ``record_id`` and ``device_id`` together name a record everywhere.

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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fieldscreen.caseevents import check_content, timeline
from fieldscreen.errors import KnownError
from fieldscreen.forms import Form, Session
from fieldscreen.forms.model import Field
from fieldscreen.forms.risk import withheld_recipients
from fieldscreen.reports.errors import ReportError
from fieldscreen.reports.form_versions import FormCatalogue
from fieldscreen.sync.envelope import EVENT_FORM, Envelope, open_envelope, verify_envelope
from fieldscreen.sync.errors import EnvelopeError

__all__ = [
    "ATTACHMENT_PATH",
    "AUDIT_COLUMNS",
    "CODEBOOK_COLUMNS",
    "EVENTS_HELD_COLUMNS",
    "EVENT_COLUMNS",
    "TIMELINE_COLUMNS",
    "Contest",
    "ExportProblems",
    "OpenedRecord",
    "Profile",
    "Table",
    "attachment_files",
    "build_tables",
    "codebook",
    "consented",
    "open_records",
    "parse_profile",
    "versions_used",
]

#: The ``audit`` table: the devices' audit logs as their ``audit`` envelopes carried them.
AUDIT_COLUMNS = ("device_id", "seq", "time", "user_id", "action", "record_id")
#: The ``events`` table: every case event once (``note`` in identifiable profiles only).
EVENT_COLUMNS = ("event_id", "record_id", "device_id", "at", "type", "reason", "note")
#: The ``timeline`` table: per child (``record_id`` of the screening), the screening and its
#: events in order, each once; ``step`` counts from 1.
TIMELINE_COLUMNS = ("record_id", "step", "at", "type", "event_id", "device_id", "reason")
#: The ``events_held`` table (full profile): case events kept out of every timeline, and why:
#: ``another-device`` (sent by a device neither the screening's nor of its site: forged or
#: replayed for someone else's case), ``unknown-case`` (no screening of that id is held).
EVENTS_HELD_COLUMNS = ("event_id", "record_id", "device_id", "at", "type", "why")
CODEBOOK_COLUMNS = ("table", "field", "label", "type", "choices", "sensitivity", "form_version")
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
        ReportError: ``export-profile-unknown``.
    """
    if text == "full":
        return Profile("full", identifiable=True)
    if text == "deidentified":
        return Profile("deidentified", identifiable=False)
    match = _RECIPIENT.match(text)
    if match:
        return Profile(text, identifiable=True, recipient=match.group(1))
    raise ReportError("export-profile-unknown", profile=text[:60])


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
    #: form id -> the version its values were filled with (empty: the catalogue's newest).
    versions: Mapping[str, str] = field(default_factory=dict)
    #: form id -> the files its media questions hold (file name -> bytes).
    attachments: Mapping[str, Mapping[str, bytes]] = field(default_factory=dict)
    #: An ``audit`` envelope's entries (kind ``audit``: no forms, no consent), each
    #: ``{"seq", "t", "u", "a", "r"}``: the device's audit log, sequence number, time, user,
    #: action and record id.
    audit: tuple[Mapping[str, Any], ...] = ()
    #: An ``event`` envelope's content (kind ``event``): ``caseevents.check_content``.
    event: Mapping[str, Any] | None = None
    #: The sending device's sequence number of the envelope (events: their order within a
    #: minute on one device).
    device_seq: int = 0


@dataclass(frozen=True, slots=True)
class Contest:
    """A record id that more than one device sent (see :func:`open_records`)."""

    record_id: str
    #: The devices whose copy is exported: genuinely theirs. Two or more: each is a real record
    #: of its device under the same id, and the central team decides which child is which.
    exported: tuple[str, ...]
    #: (device id, why) of the copies left out: not genuinely the device's own.
    left_out: tuple[tuple[str, str], ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "record_id": self.record_id,
            "exported": list(self.exported),
            "left_out": [{"device": d, "why": why} for d, why in self.left_out],
        }


@dataclass
class ExportProblems:
    """What could not be exported, by record id only (and which record ids were contested)."""

    unverified: list[str] = field(default_factory=list)
    undecryptable: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    #: (record id, form id, version) of records filled with a form version no definition matches.
    unknown_version: list[tuple[str, str, str]] = field(default_factory=list)
    #: Record ids sent by more than one device, and which copies were exported.
    contested: list[Contest] = field(default_factory=list)

    def undecided(self) -> list[Contest]:
        """Contests with more than one genuine copy: each exported, for the team to decide."""
        return [c for c in self.contested if len(c.exported) > 1]

    @property
    def total(self) -> int:
        return (
            len(self.unverified)
            + len(self.undecryptable)
            + len(self.unreadable)
            + len(self.unknown_version)
        )

    def unknown_forms(self) -> dict[tuple[str, str], int]:
        """Records per unknown (form id, version)."""
        counts: dict[tuple[str, str], int] = {}
        for _, form_id, version in self.unknown_version:
            counts[(form_id, version)] = counts.get((form_id, version), 0) + 1
        return counts

    def messages(self) -> list[str]:
        """One line per unknown form version: ``could not decode: form X version Y unknown``."""
        return [
            f"could not decode: form {form_id} version {version} unknown ({n} records)"
            for (form_id, version), n in sorted(self.unknown_forms().items())
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "unverified": {"count": len(self.unverified), "ids": self.unverified},
            "undecryptable": {"count": len(self.undecryptable), "ids": self.undecryptable},
            "unreadable": {"count": len(self.unreadable), "ids": self.unreadable},
            "unknown_form_version": {
                "count": len(self.unknown_version),
                "ids": [rid for rid, _, _ in self.unknown_version],
                "forms": [
                    {"form": form_id, "version": version, "records": n}
                    for (form_id, version), n in sorted(self.unknown_forms().items())
                ],
            },
        }


class _UnknownVersion(Exception):
    def __init__(self, form_id: str, version: str) -> None:
        super().__init__(form_id, version)
        self.form_id = form_id
        self.version = version


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


def _saved_version(form_id: str, saved: Any) -> str:
    """The version a saved form state names (ValueError when it names no such form)."""
    named = saved.get("form") if isinstance(saved, Mapping) else None
    if not isinstance(named, Mapping) or named.get("id") != form_id:
        raise ValueError("form state without its form")
    version = named.get("version")
    if not isinstance(version, str) or not version or len(version) > 64:
        raise ValueError("form state without a version")
    return version


def _read_payload(payload: Mapping[str, Any], forms: FormCatalogue) -> dict[str, Any]:
    content = payload["content"]
    state = content.get("state", content) if isinstance(content, Mapping) else None
    if not isinstance(state, Mapping) or not isinstance(state.get("forms"), Mapping):
        raise ValueError("no form state")
    values: dict[str, dict[str, Any]] = {}
    files: dict[str, dict[str, bytes]] = {}
    versions: dict[str, str] = {}
    risks = []
    for form_id, saved in state["forms"].items():
        version = _saved_version(str(form_id), saved)
        form = forms.get_version(form_id, version)
        if form is None:
            raise _UnknownVersion(str(form_id)[:64], version)
        session = Session.restore(form, saved)
        values[form_id] = session.values_json()
        if session.attached():
            files[form_id] = session.attached()
        risks.append(session.risk())
        versions[form_id] = version
    result = content.get("result") if isinstance(content.get("result"), Mapping) else {}
    concerns = tuple(str(c) for c in (result or {}).get("concerns", ()) if isinstance(c, str))
    return {
        "values": values,
        "tier": str(content.get("tier") or (result or {}).get("tier") or ""),
        "concerns": concerns,
        "actions_taken": str(content.get("actions_taken") or ""),
        "versions": versions,
        "attachments": files,
        "withheld": withheld_recipients(risks),
    }


#: A copy that did not open as its device's own, by why (the order: most to least genuine).
_FAILURES = ("unknown_version", "unreadable", "undecryptable", "unverified")


def _open_one(
    envelope: Envelope,
    device_key: Callable[[str], bytes | None],
    sealing_private_key: bytes,
    catalogue: FormCatalogue,
) -> OpenedRecord | tuple[str, str, str]:
    """The record ``envelope`` holds, or why not: ``(failure, form id, version)``, the form
    naming the unknown version for ``unknown_version``.

    A record is its device's own only when all of it says so: the envelope verifies under the
    key of the device it names, the payload opens with the seal bound to that device id (and
    the record id, form and version), and the payload itself names the same record id and, when
    it names one, the same device.
    """
    key = device_key(envelope.device_id)
    try:
        if key is None:
            raise EnvelopeError("unknown device")
        verify_envelope(envelope, key)
    except EnvelopeError:
        return ("unverified", "", "")
    try:
        plain = open_envelope(envelope, sealing_private_key)
    except EnvelopeError:
        return ("undecryptable", "", "")
    try:
        payload = json.loads(plain)
        if payload.get("record_id") != envelope.record_id:
            raise ValueError("record id mismatch")
        if payload.get("device_id", envelope.device_id) != envelope.device_id:
            raise ValueError("device id mismatch")
        if envelope.kind == "audit" or payload.get("kind") == "audit":
            return _audit_segment(envelope, payload)
        if envelope.kind == "event" or payload.get("kind") == "event":
            return _case_event(envelope, payload)
        read = _read_payload(payload, catalogue)
    except _UnknownVersion as unknown:
        return ("unknown_version", unknown.form_id, unknown.version)
    except (KnownError, KeyError, TypeError, ValueError, AttributeError):
        return ("unreadable", "", "")
    return OpenedRecord(
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
        versions=read["versions"],
        attachments=read["attachments"],
    )


#: An audit entry's fields in an ``audit`` envelope, and their types.
_AUDIT_FIELDS: dict[str, type | tuple[type, ...]] = {
    "seq": int,
    "t": str,
    "u": str,
    "a": str,
    "r": (str, type(None)),
}


def _audit_segment(envelope: Envelope, payload: Mapping[str, Any]) -> OpenedRecord:
    """An ``audit`` envelope's entries (ValueError unless both the envelope and the payload
    say ``audit`` and every entry has exactly the audit fields)."""
    if envelope.kind != "audit" or payload.get("kind") != "audit":
        raise ValueError("kind mismatch")
    entries = payload["content"]["entries"]
    if not isinstance(entries, list):
        raise TypeError("audit entries are not a list")
    for entry in entries:
        if not isinstance(entry, dict) or set(entry) != set(_AUDIT_FIELDS):
            raise ValueError("audit entry fields are wrong")
        for name, types in _AUDIT_FIELDS.items():
            if not isinstance(entry[name], types) or isinstance(entry[name], bool):
                raise TypeError("audit entry field has the wrong type")
    return OpenedRecord(
        record_id=envelope.record_id,
        kind="audit",
        device_id=envelope.device_id,
        created=envelope.created,
        form_version=envelope.form_version,
        values={},
        consent={},
        audit=tuple(entries),
    )


def _case_event(envelope: Envelope, payload: Mapping[str, Any]) -> OpenedRecord:
    """An ``event`` envelope's case event (ValueError unless both the envelope and the payload
    say ``event``, under the event form, and the content is one a laptop writes)."""
    if envelope.kind != "event" or payload.get("kind") != "event":
        raise ValueError("kind mismatch")
    if (envelope.form_id, envelope.form_version) != EVENT_FORM:
        raise ValueError("an event names no form")
    try:
        content = check_content(payload["content"])
    except KnownError:
        raise ValueError("malformed case event") from None
    return OpenedRecord(
        record_id=envelope.record_id,
        kind="event",
        device_id=envelope.device_id,
        created=envelope.created,
        form_version=envelope.form_version,
        values={},
        consent={},
        event=content,
        device_seq=envelope.seq,
    )


def _note(problems: ExportProblems, record_id: str, failure: tuple[str, str, str]) -> None:
    kind, form_id, version = failure
    if kind == "unknown_version":
        problems.unknown_version.append((record_id, form_id, version))
    else:
        getattr(problems, kind).append(record_id)


def open_records(  # noqa: PLR0917 -- the export's inputs, in the order the callers pass them
    envelopes: Iterable[Envelope],
    device_key: Callable[[str], bytes | None],
    sealing_private_key: bytes,
    forms: Mapping[str, Form] | FormCatalogue,
    problems: ExportProblems,
    contested: Iterable[Envelope] = (),
) -> Iterable[OpenedRecord]:
    """Verify, open and read each envelope; yield what succeeds, note the rest in ``problems``.

    Args:
        envelopes: as the server holds them (``Reporting.iter_envelopes``).
        device_key: the enrolled public signing key of a device id, or None if unknown.
        sealing_private_key: the organisation's private sealing key.
        forms: the form definitions by id and version (a plain mapping: one version each).
        problems: filled with the record ids that failed, per kind of failure.
        contested: the copies the server kept apart because another device had sent their
            record id first (``Reporting.iter_contested``). The server keeps the first copy it
            sees, and that may be another enrolled device's: each such record id is decided
            here, over every copy, by :func:`_open_one` -- the copies that are genuinely their
            device's own are exported (one, or several from different devices, each row naming
            its device), those that are not are left out, and the contest is reported in
            ``problems.contested``. A contest is not a failure: it adds nothing to
            ``problems.total`` unless no copy could be exported.
    """
    catalogue = FormCatalogue.of(forms)
    copies: dict[str, list[Envelope]] = {}
    for copy in contested:
        copies.setdefault(copy.record_id, []).append(copy)
    for envelope in envelopes:
        others = copies.pop(envelope.record_id, None)
        if others is not None:
            yield from _decide(
                [envelope, *others], device_key, sealing_private_key, catalogue, problems
            )
            continue
        opened = _open_one(envelope, device_key, sealing_private_key, catalogue)
        if isinstance(opened, OpenedRecord):
            yield opened
        else:
            _note(problems, envelope.record_id, opened)
    for others in copies.values():  # the held copy is gone (retention): decide among the rest
        yield from _decide(others, device_key, sealing_private_key, catalogue, problems)


def _decide(
    candidates: Sequence[Envelope],
    device_key: Callable[[str], bytes | None],
    sealing_private_key: bytes,
    catalogue: FormCatalogue,
    problems: ExportProblems,
) -> Iterable[OpenedRecord]:
    """Every genuine copy of one contested record id (see :func:`open_records`)."""
    seen: set[tuple[str, str]] = set()
    kept: list[OpenedRecord] = []
    left_out: list[tuple[str, str]] = []  # (device id, why)
    failures: list[tuple[str, str, str]] = []
    for envelope in candidates:
        if (envelope.device_id, envelope.sha256) in seen:
            continue
        seen.add((envelope.device_id, envelope.sha256))
        opened = _open_one(envelope, device_key, sealing_private_key, catalogue)
        if isinstance(opened, OpenedRecord):
            kept.append(opened)
        else:
            left_out.append((envelope.device_id, opened[0]))
            failures.append(opened)
    record_id = candidates[0].record_id
    problems.contested.append(Contest(record_id, tuple(r.device_id for r in kept), tuple(left_out)))
    if not kept:  # nothing genuine: counted once, under its most genuine failure
        _note(problems, record_id, min(failures, key=lambda f: _FAILURES.index(f[0])))
    yield from kept


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


def versions_used(
    records: Iterable[OpenedRecord], forms: Mapping[str, Form] | FormCatalogue
) -> dict[str, list[str]]:
    """Form id -> the versions ``records`` were filled with, newest first."""
    catalogue = FormCatalogue.of(forms)
    used: dict[str, set[str]] = {}
    for record in records:
        for form_id in record.values:
            version = record.versions.get(form_id) or catalogue[form_id].version
            used.setdefault(form_id, set()).add(version)
    order = {f: catalogue.versions(f) for f in used}
    return {
        f: sorted(v, key=lambda x: order[f].index(x) if x in order[f] else -1, reverse=True)
        for f, v in used.items()
    }


def _sections(
    catalogue: FormCatalogue, used: Mapping[str, Sequence[str]] | None
) -> list[tuple[str, Form]]:
    """(form id, definition) per form version to lay out: the versions used, newest first; a
    form no record used appears at its newest version."""
    out: list[tuple[str, Form]] = []
    for form_id in catalogue.form_ids():
        versions = list((used or {}).get(form_id) or [catalogue[form_id].version])
        for version in versions:
            form = catalogue.get_version(form_id, version)
            out.append((form_id, form if form is not None else catalogue[form_id]))
    return out


def _version_form(catalogue: FormCatalogue, record: OpenedRecord, form_id: str) -> Form:
    version = record.versions.get(form_id)
    form = catalogue.get_version(form_id, version) if version else None
    return form if form is not None else catalogue[form_id]


def build_tables(
    records: Iterable[OpenedRecord],
    forms: Mapping[str, Form] | FormCatalogue,
    profile: Profile,
    *,
    labels: str | None = None,
    site_of: Callable[[str], str | None] | None = None,
) -> dict[str, Table]:
    """The export's tables for the records ``profile`` admits.

    Case events (kind ``event``) go to the ``events`` and ``timeline`` tables of the screening
    they name, when the profile admits that screening; an event whose author device is neither
    the screening's nor (with ``site_of``, a device id's site) one of its site is held apart
    in ``events_held`` (full profile only), never in a timeline.

    A form's table holds the fields of every version the records used (newest version's order
    first, then fields only older versions had); a row leaves the fields its own version does
    not have empty, and its ``form_version`` column names that version.

    Args:
        forms: the form definitions (a catalogue of versions, or one version per form id).
        labels: a language code to show choices by their label in that language; None keeps
            the codes (lossless).
    """
    catalogue = FormCatalogue.of(forms)
    records = list(records)
    base = ["record_id", "device_id", "created"]
    screenings = Table(
        "screenings",
        [*base, "kind", "form_version", "tier", "concerns"]
        + (["actions_taken"] if profile.identifiable else []),
    )
    tables: dict[str, Table] = {"screenings": screenings}
    audit_rows: dict[tuple[str, int], list[Any]] = {}  # (device, seq): an entry sent twice once
    fields_of: dict[str, list[str]] = {}  # table -> field names, in column order
    for form_id, form in _sections(catalogue, versions_used(records, catalogue)):
        for repeat in ["", *(f.name for f in form.fields.values() if f.kind == "repeat")]:
            name = f"{form_id}.{repeat}" if repeat else form_id
            if name not in tables:
                keys = (
                    ["record_id", "device_id", "parent_index", "index"]
                    if repeat
                    else [*base, "form_version"]
                )
                tables[name] = Table(name, keys)
                fields_of[name] = []
            table = tables[name]
            for f in _columns(form, repeat, profile):
                if f.name not in table.kinds:
                    table.kinds[f.name] = f.kind
                    table.columns.append(f.name)
                    fields_of[name].append(f.name)

    def cells(form: Form, table: str, data: Mapping[str, Any], repeat: str) -> list[Any]:
        kept = {f.name: f for f in _columns(form, repeat, profile)}
        return [
            _cell(kept[n], data.get(n), profile, labels) if n in kept else None
            for n in fields_of[table]
        ]

    def add_rows(
        form: Form,
        key: tuple[str, str],
        data: Mapping[str, Any],
        path: tuple[int, ...],
        repeat: str,
    ) -> None:
        for f in form.fields.values():
            if f.kind != "repeat" or (f.repeats[-1] if f.repeats else "") != repeat:
                continue
            name = f"{form.id}.{f.name}"
            for i, instance in enumerate(data.get(f.name) or (), start=1):
                here = (*path, i)
                tables[name].rows.append(
                    [
                        *key,
                        ".".join(map(str, path)),
                        ".".join(map(str, here)),
                        *cells(form, name, instance, f.name),
                    ]
                )
                add_rows(form, key, instance, here, f.name)

    events: list[OpenedRecord] = []
    for record in records:
        if record.kind == "event":
            events.append(record)
            continue
        if record.kind == "audit":
            for e in record.audit:
                audit_rows[(record.device_id, e["seq"])] = [
                    record.device_id,
                    e["seq"],
                    e["t"],
                    e["u"],
                    e["a"],
                    e["r"],
                ]
            continue
        if not profile.admits(record):
            continue
        created = record.created if profile.identifiable else record.created[:7]
        row = [record.record_id, record.device_id, created]
        screenings.rows.append(
            [*row, record.kind, record.form_version, record.tier, list(record.concerns)]
            + ([record.actions_taken] if profile.identifiable else [])
        )
        for form_id, data in record.values.items():
            form = _version_form(catalogue, record, form_id)
            tables[form_id].rows.append([*row, form.version, *cells(form, form_id, data, "")])
            add_rows(form, (record.record_id, record.device_id), data, (), "")
    if audit_rows and profile.identifiable and not profile.recipient:
        # the full export only: the organisation's own record of who opened which record, when
        tables["audit"] = Table("audit", list(AUDIT_COLUMNS))
        tables["audit"].rows = [audit_rows[k] for k in sorted(audit_rows)]
    _event_tables(tables, records, events, profile, site_of)
    return tables


def _event_tables(
    tables: dict[str, Table],
    records: Sequence[OpenedRecord],
    events: Sequence[OpenedRecord],
    profile: Profile,
    site_of: Callable[[str], str | None] | None,
) -> None:
    """The ``events``, ``timeline`` and ``events_held`` tables (see :func:`build_tables`);
    none when no case event was sent."""
    if not events:
        return
    cases: dict[str, list[OpenedRecord]] = {}
    for record in records:
        if record.kind not in ("audit", "event"):
            cases.setdefault(record.record_id, []).append(record)
    sites: dict[str, str | None] = {}

    def site(device_id: str) -> str | None:
        if site_of is None:
            return None
        if device_id not in sites:
            sites[device_id] = site_of(device_id)
        return sites[device_id]

    def why_held(event: OpenedRecord, content: Mapping[str, Any]) -> str | None:
        copies = cases.get(str(content["case_id"]))
        if not copies:
            return "unknown-case"
        for case in copies:
            if case.device_id == event.device_id:
                return None
            here = site(event.device_id)
            if here is not None and here == site(case.device_id):
                return None
        return "another-device"

    kept: dict[str, tuple[OpenedRecord, Mapping[str, Any]]] = {}
    held: dict[str, list[Any]] = {}
    for event in events:
        content = event.event or {}
        why = why_held(event, content)
        if why is not None:
            row = [event.record_id, content["case_id"], event.device_id, content["at"]]
            held.setdefault(event.record_id, [*row, content["type"], why])
            continue
        if any(profile.admits(c) for c in cases[str(content["case_id"])]):
            kept.setdefault(event.record_id, (event, content))  # an event sent twice: once
    month = not profile.identifiable

    def at(value: str) -> str:
        return value[:7] if month else value

    rows = []
    for event, content in kept.values():
        rows.append(
            [event.record_id, content["case_id"], event.device_id, at(content["at"])]
            + [content["type"], content["reason"]]
            + ([content["note"]] if profile.identifiable else [])
        )
    columns = list(EVENT_COLUMNS if profile.identifiable else EVENT_COLUMNS[:-1])
    tables["events"] = Table("events", columns, sorted(rows, key=lambda r: (r[1], r[3], r[0])))
    admitted = [
        (r.record_id, r.device_id, r.created)
        for copies in cases.values()
        for r in copies
        if profile.admits(r)
    ]
    lines = timeline(
        admitted, ((e.record_id, e.device_id, c, e.device_seq) for e, c in kept.values())
    )
    tables["timeline"] = Table(
        "timeline",
        list(TIMELINE_COLUMNS),
        [
            [case, step, at(entry.at), entry.type, entry.event_id, entry.device_id, entry.reason]
            for case, entries in lines.items()
            for step, entry in enumerate(entries, start=1)
        ],
    )
    if held and profile.identifiable and not profile.recipient:
        tables["events_held"] = Table(
            "events_held", list(EVENTS_HELD_COLUMNS), [held[k] for k in sorted(held)]
        )


#: Where an attachment is in an export: ``attachments/<record>-<device>/<form>/<file name>``.
ATTACHMENT_PATH = re.compile(
    r"attachments/[A-Za-z0-9][A-Za-z0-9_.-]{0,127}/[A-Za-z0-9][A-Za-z0-9_.-]{0,127}"
    r"/[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}"
)


def attachment_files(records: Iterable[OpenedRecord], profile: Profile) -> dict[str, bytes]:
    """The files of media questions, for an identifiable profile's export (a de-identified one
    carries none: a photo of a document is the child): ``attachments/<record_id>-<device_id>/
    <form_id>/<file name>``, the file name being the answer in the form's table. Every part of
    the path was checked when the record was read (the form engine refuses an unsafe file
    name); a part that is still not a plain name is left out rather than written."""
    if not profile.identifiable:
        return {}
    out: dict[str, bytes] = {}
    for record in records:
        if not profile.admits(record):
            continue
        folder = f"{record.record_id}-{record.device_id}"
        for form_id, files in record.attachments.items():
            for name, data in files.items():
                path = f"attachments/{folder}/{form_id}/{name}"
                if ATTACHMENT_PATH.fullmatch(path) and ".." not in path:
                    out[path] = bytes(data)
    return out


def codebook(
    forms: Mapping[str, Form] | FormCatalogue,
    profile: Profile,
    lang: str,
    *,
    used: Mapping[str, Sequence[str]] | None = None,
) -> list[list[str]]:
    """One row per exported field and form version: table, field, label, type, ``code=label``
    choices, sensitivity, form version.

    Args:
        used: form id -> the versions exported (:func:`versions_used`); a section per version.
            By default, each form's newest version.
    """
    rows: list[list[str]] = []
    for form_id, form in _sections(FormCatalogue.of(forms), used):
        for repeat in ["", *(f.name for f in form.fields.values() if f.kind == "repeat")]:
            table = f"{form_id}.{repeat}" if repeat else form_id
            for f in _columns(form, repeat, profile):
                choices = "; ".join(f"{c.name}={c.label.get(lang)}" for c in f.choices)
                kind = f.kind
                if kind in _DATE_KINDS and not profile.identifiable:
                    kind = f"{kind} (generalised to the month)"
                rows.append(
                    [table, f.name, f.label.get(lang), kind, choices, f.sensitivity, form.version]
                )
    return rows
