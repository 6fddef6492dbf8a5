"""Consent and data protection in every export profile, counted as violations (must be 0)."""

from __future__ import annotations

import io
import json
import random
import zipfile
from collections.abc import Mapping

import pytest

from fieldscreen.errors import KnownError
from fieldscreen.forms.library import builtin_forms
from fieldscreen.reports.export import (
    OpenedRecord,
    Profile,
    Table,
    build_tables,
    codebook,
    consented,
    parse_profile,
)
from fieldscreen.reports.export_files import pack, render, unpack
from tests.integration.export_support import answer

RECORDS = 30
FORMS = ("fs_consent", "fs_intake", "fs_family")


@pytest.fixture(scope="module")
def records() -> list[OpenedRecord]:
    forms = builtin_forms()
    rng = random.Random(27)
    out = []
    for n in range(RECORDS):
        consent = answer(forms["fs_consent"], rng, f"r{n}", instances=1)
        case = consent.values_json()
        values = {"fs_consent": case}
        for form_id in FORMS[1:]:
            values[form_id] = answer(forms[form_id], rng, f"r{n}", case, instances=1).values_json()
        shares = {k: v for k, v in case.items() if k.startswith("share_")}
        out.append(
            OpenedRecord(
                f"rec-{n:03d}",
                "screening",
                "dev-1",
                "2026-11-20",
                "v",
                values,
                shares,
                "T2",
                ("unaccompanied",),
                f"CANARY-identifying-actions-{n}",
            )
        )
    return out


def _profiles() -> list[str]:
    codes = [
        name.removeprefix("share_")
        for name in builtin_forms()["fs_consent"].fields
        if name.startswith("share_")
    ]
    return ["full", "deidentified", *(f"recipient:{c}" for c in codes)]


def _plain(name: str, data: bytes) -> bytes:
    """File content as text (a workbook is a zip: its parts, inflated)."""
    if not name.endswith(".xlsx"):
        return data
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return b"".join(archive.read(n) for n in archive.namelist())


def _record_ids(tables: Mapping[str, Table]) -> set[str]:
    ids: set[str] = set()
    for table in tables.values():
        ids.update(row[0] for row in table.rows)
    return ids


def test_consent_scopes_are_honoured_in_every_profile(records: list[OpenedRecord]) -> None:
    forms = {k: v for k, v in builtin_forms().items() if k in FORMS}
    identifying = {
        (fid, name)
        for fid, form in forms.items()
        for name, f in form.fields.items()
        if f.sensitivity == "identifying"
    }
    by_id = {r.record_id: r for r in records}
    violations: dict[str, int] = {}
    checked = held_back = 0
    for name in _profiles():
        profile = parse_profile(name)
        tables = build_tables(records, forms, profile)
        bad = 0
        shown = _record_ids(tables)
        for record_id in shown:
            checked += 1
            record = by_id[record_id]
            if profile.recipient and not consented(record.consent, profile.recipient):
                bad += 1
            if not profile.identifiable and record.consent.get("share_stats") == "no":
                bad += 1
        held_back += len(by_id) - len(shown)
        if name == "full":
            bad += len(by_id) - len(shown)  # the central team loses nothing
        if not profile.identifiable:
            for table_name, table in tables.items():
                form_id = table_name.split(".")[0]
                bad += sum((form_id, c) in identifying for c in table.columns)
                for column, kind in table.kinds.items():
                    at = table.columns.index(column)
                    if kind in ("date", "datetime"):
                        bad += sum(isinstance(r[at], str) and len(r[at]) > 7 for r in table.rows)
            book = codebook(forms, profile, "en")
            for fmt in ("csv", "xlsx", "json"):
                files = render(fmt, tables, book, "readme", {})
                blob = b"".join(_plain(name, data) for name, data in files.items())
                bad += blob.count(b"CANARY-identifying")
        violations[name] = bad
    assert violations == dict.fromkeys(_profiles(), 0)
    assert checked > RECORDS * 2
    assert held_back > 0  # the control: consent really excludes children from some profiles


def test_the_identifiable_output_carries_its_canaries_and_a_deidentified_one_does_not(
    records: list[OpenedRecord],
) -> None:
    forms = {k: v for k, v in builtin_forms().items() if k in FORMS}
    full = render("json", build_tables(records, forms, parse_profile("full")), [], "", {})
    assert b"CANARY-identifying" in full["export.json"]  # the canary is real
    dei = build_tables(records, forms, parse_profile("deidentified"))
    assert "dob" not in dei["fs_intake"].columns
    assert "given_names" not in dei["fs_intake"].columns
    assert "fm_name" not in dei["fs_family.family_member"].columns
    assert "actions_taken" not in dei["screenings"].columns


def test_labels_follow_the_chosen_language(records: list[OpenedRecord]) -> None:
    forms = {k: v for k, v in builtin_forms().items() if k in FORMS}
    es = build_tables(records, forms, Profile("full", True), labels="es")
    codes = build_tables(records, forms, Profile("full", True))
    at = es["fs_consent"].columns.index("share_legal")
    assert {r[at] for r in codes["fs_consent"].rows} <= {"yes", "no", None}
    assert {r[at] for r in es["fs_consent"].rows} <= {"Sí", "No", None}
    book = {(row[0], row[1]): row for row in codebook(forms, Profile("full", True), "es")}
    assert "yes=Sí" in book[("fs_consent", "share_legal")][4]
    assert book[("fs_intake", "dob")][5] == "identifying"
    assert book[("fs_family.family_member", "fm_name")][5] == "identifying"


def test_unknown_profiles_and_a_wrong_export_passphrase_are_calm_errors() -> None:
    for text in ("everything", "recipient:", "recipient:../x"):
        with pytest.raises(KnownError, match="export profile"):
            parse_profile(text)
    from fieldscreen import crypto

    crypto.permit_test_parameters(True)
    try:
        packed = pack({"a.csv": b"x"}, b"right passphrase", params=crypto.KdfParams.for_tests())
        assert unpack(packed, b"right passphrase") == {"a.csv": b"x"}
        with pytest.raises(KnownError, match="does not open"):
            unpack(packed, b"wrong passphrase")
        damaged = json.loads(packed)
        damaged["format"] = "other"
        with pytest.raises(KnownError, match="does not open"):
            unpack(json.dumps(damaged).encode(), b"right passphrase")
    finally:
        crypto.permit_test_parameters(False)


def test_spreadsheet_formulas_are_neutralised(records: list[OpenedRecord]) -> None:
    forms = {k: v for k, v in builtin_forms().items() if k in FORMS}
    tables = build_tables(records, forms, Profile("full", True))
    files = render("csv", tables, [], "", {})
    # every free text of the fixture contains "=1+2" mid-text; none starts a cell with "="
    text = files["fs_intake.csv"].decode()
    assert "=1+2" in text
    assert not any(cell.startswith("=") for line in text.splitlines() for cell in line.split(","))


def test_what_cannot_be_verified_opened_or_read_is_counted_by_id_and_skipped() -> None:
    import dataclasses
    import uuid

    from fieldscreen import crypto
    from fieldscreen.reports.export import ExportProblems, open_records
    from fieldscreen.sync.envelope import Envelope, build_envelope

    forms = builtin_forms()
    rng = random.Random(5)
    org_private, org_public = crypto.generate_sealing_keypair()
    _other_private, other_public = crypto.generate_sealing_keypair()
    device_private, device_public = crypto.generate_signing_keypair()
    session = answer(forms["fs_consent"], rng, "p")

    def envelope(payload: Mapping[str, object] | bytes, to: bytes = org_public) -> Envelope:
        record_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if not isinstance(payload, bytes):
            payload = json.dumps({**payload, "record_id": record_id}).encode()
        return build_envelope(
            record_id,
            "screening",
            "builtin",
            "dev-1",
            1,
            "2026-11-27",
            payload,
            to,
            device_private,
        )

    good: dict[str, object] = {
        "kind": "screening",
        "content": {"state": {"forms": {"fs_consent": session.to_state()}}},
    }
    envelopes = [envelope(good) for _ in range(3)]
    forged = dataclasses.replace(envelope(good), signature=b"\0" * 64)
    wrong_key = envelope(good, other_public)
    garbage = envelope(b"not json")
    old_form = envelope({"kind": "screening", "content": {"state": {"forms": {"fs_old": {}}}}})
    unknown_device = dataclasses.replace(envelope(good), device_id="dev-2")
    problems = ExportProblems()
    opened = list(
        open_records(
            [*envelopes, forged, wrong_key, garbage, old_form, unknown_device],
            lambda d: device_public if d == "dev-1" else None,
            org_private,
            forms,
            problems,
        )
    )
    assert [r.record_id for r in opened] == [e.record_id for e in envelopes]
    assert problems.unverified == [forged.record_id, unknown_device.record_id]
    assert problems.undecryptable == [wrong_key.record_id]
    assert problems.unreadable == [garbage.record_id, old_form.record_id]
    assert opened[0].values["fs_consent"] == session.values_json()
    assert opened[0].consent == {
        k: v for k, v in session.values_json().items() if k.startswith("share_") and v is not None
    }
    assert "CANARY" not in json.dumps(problems.to_json())
