"""The export reads each record with the form version it was filled with: the built-in forms,
the forms published to the server, and a folder of older versions; a record of a version none
of them has is listed as "could not decode", and the rest is exported."""

from __future__ import annotations

import csv
import json
import uuid
from pathlib import Path

import pytest

from fieldscreen import crypto
from fieldscreen.forms import Session, load_form_text
from fieldscreen.reports.export import (
    ExportProblems,
    Profile,
    build_tables,
    codebook,
    open_records,
    versions_used,
)
from fieldscreen.reports.form_versions import FormCatalogue
from fieldscreen.sync.envelope import Envelope, build_envelope
from fieldscreen.sync.server.cli import main as server_main
from fieldscreen.sync.signed import sign_document
from fieldscreen.sync.simulate import SimOrg
from tests.integration.server_support import open_storage

_V1 = """
| survey |
|        | type            | name      | label::English (en) | label::Español (es) | sensitivity |
|        | select_one feel | feeling   | How do you feel?    | ¿Cómo te sientes?   | low         |
|        | integer         | nights    | Nights travelled    | Noches de viaje     | low         |

| choices |
|         | list_name | name  | label::English (en) | label::Español (es) |
|         | feel      | good  | Good                | Bien                |
|         | feel      | sad   | Sad                 | Triste              |

| settings |
|          | form_id | version | default_language |
|          | fs_demo | {version} | English (en)   |
"""
V1 = _V1.format(version="1")
# v2: a field added (shelter_nights) and a choice renamed (sad -> unhappy)
V2 = (
    _V1.replace("| feel      | sad   | Sad ", "| feel      | unhappy | Unhappy ")
    .replace(
        "| Noches de viaje     | low         |",
        "| Noches de viaje     | low         |\n"
        "| | integer | shelter_nights | Nights in shelters | Noches en albergues | low |",
    )
    .format(version="2")
)
V0 = _V1.format(version="0")
PASS = "correct horse battery staple"


pytestmark = pytest.mark.usefixtures("light_kdf")  # Argon2id at the test parameters


def _envelopes(
    org: SimOrg, device_private: bytes, answers: list[tuple[str, dict[str, object]]]
) -> list[Envelope]:
    forms = {"1": load_form_text(V1), "2": load_form_text(V2), "0": load_form_text(V0)}
    out: list[Envelope] = []
    for n, (version, values) in enumerate(answers):
        session = Session.start(forms[version], "en", {}, {})
        for name, value in values.items():
            session.set_answer(name, value)
        record_id = str(uuid.UUID(int=n + 1, version=4))
        payload = {
            "record_id": record_id,
            "kind": "screening",
            "content": {"state": {"forms": {"fs_demo": session.to_state()}}, "tier": "T3"},
        }
        out.append(
            build_envelope(
                record_id,
                "screening",
                "builtin",
                "dev-1",
                n + 1,
                "2026-11-27",
                json.dumps(payload).encode(),
                org.sealing_public,
                device_private,
            )
        )
    return out


ANSWERS: list[tuple[str, dict[str, object]]] = [
    ("1", {"feeling": "sad", "nights": 3}),
    ("2", {"feeling": "unhappy", "nights": 4, "shelter_nights": 2}),
    ("1", {"feeling": "good", "nights": 9}),
    ("0", {"feeling": "good", "nights": 1}),  # a version nobody kept
    ("2", {"feeling": "good", "nights": 5, "shelter_nights": 1}),
]


def test_each_record_is_read_with_its_own_version() -> None:
    org = SimOrg()
    device_private, device_public = crypto.generate_signing_keypair()
    envelopes = _envelopes(org, device_private, ANSWERS)
    catalogue = FormCatalogue()
    catalogue.add(load_form_text(V2), "published")
    catalogue.add(load_form_text(V1), "folder")
    problems = ExportProblems()
    records = list(
        open_records(envelopes, lambda _d: device_public, org.sealing[0], catalogue, problems)
    )
    assert len(records) == 4
    assert problems.unknown_version == [(envelopes[3].record_id, "fs_demo", "0")]
    assert problems.messages() == ["could not decode: form fs_demo version 0 unknown (1 records)"]
    assert problems.total == 1
    tables = build_tables(records, catalogue, Profile("full", True))
    demo = tables["fs_demo"]
    assert demo.columns[3:] == ["form_version", "feeling", "nights", "shelter_nights"]
    rows = {r[0]: r[3:] for r in demo.rows}
    assert rows[envelopes[0].record_id] == ["1", "sad", 3, None]
    assert rows[envelopes[1].record_id] == ["2", "unhappy", 4, 2]
    labelled = build_tables(records, catalogue, Profile("full", True), labels="en")
    by_id = {r[0]: r[4] for r in labelled["fs_demo"].rows}
    assert by_id[envelopes[0].record_id] == "Sad"  # v1's label for v1's code
    assert by_id[envelopes[1].record_id] == "Unhappy"  # v2's renamed choice
    book = codebook(catalogue, Profile("full", True), "en", used=versions_used(records, catalogue))
    sections = [(row[0], row[6]) for row in book if row[0] == "fs_demo"]
    assert sections == [("fs_demo", "2")] * 3 + [("fs_demo", "1")] * 2
    choices = {(row[6], row[1]): row[4] for row in book}
    assert choices[("1", "feeling")] == "good=Good; sad=Sad"
    assert choices[("2", "feeling")] == "good=Good; unhappy=Unhappy"


def test_the_export_command_finds_published_and_folder_versions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    org = SimOrg()
    device_private, device_public = crypto.generate_signing_keypair()
    db = str(tmp_path / "server.sqlite3")
    storage = open_storage(db)
    try:
        storage.repos.keys.set_org_keys(org.name, org.sealing_public, org.signing_public)
        storage.repos.credentials.register_device("dev-1", "s1", device_public, "laptop")
        v2 = sign_document("form", "fs_demo", "2", V2.encode(), org.signing[0], org.signing_public)
        storage.repos.documents.publish(v2.to_bytes(), "test")
        envelopes = [e.to_json() for e in _envelopes(org, device_private, ANSWERS)]
        from fieldscreen.sync.server.storage import Principal

        outcomes = storage.repos.ingest.ingest(envelopes, Principal("admin", frozenset(), "test"))
        assert all(o.delivered for o in outcomes), [o.outcome for o in outcomes]
    finally:
        storage.close()
    old = tmp_path / "old-forms"
    old.mkdir()
    (old / "fs_demo_v1.md").write_text(V1, encoding="utf-8")
    (old / "broken.md").write_text("| survey |\n| | nonsense |\n", encoding="utf-8")
    key = tmp_path / "sealing-private.json"
    key.write_text(
        json.dumps(
            crypto.protect_private_key(
                org.sealing[0], PASS.encode(), params=crypto.KdfParams.for_tests()
            )
        )
    )
    passfile = tmp_path / "pass"
    passfile.write_text(PASS + "\n")
    args = ["export", "--db", db, "--key", str(key), "--passphrase-file", str(passfile)]
    args += ["--format", "csv", "--out", str(tmp_path / "out"), "--forms", str(old), "--json"]
    code = server_main(args)
    out, err = capsys.readouterr()
    assert code == 1  # one record could not be decoded: reported, the rest written
    summary = json.loads(out)
    assert summary["exported"] == 4
    assert summary["problems"]["unknown_form_version"]["forms"] == [
        {"form": "fs_demo", "version": "0", "records": 1}
    ]
    assert "could not decode: form fs_demo version 0 unknown" in err
    assert "form not loaded: broken.md" in err
    folder = Path(summary["out"])
    with (folder / "fs_demo.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted((r["form_version"], r["feeling"], r["shelter_nights"]) for r in rows) == [
        ("1", "good", ""),
        ("1", "sad", ""),
        ("2", "good", "1"),
        ("2", "unhappy", "2"),
    ]
    with (folder / "codebook.csv").open(encoding="utf-8") as handle:
        book = [r for r in csv.DictReader(handle) if r["table"] == "fs_demo"]
    assert {(r["form_version"], r["field"]) for r in book} == {
        ("1", "feeling"),
        ("1", "nights"),
        ("2", "feeling"),
        ("2", "nights"),
        ("2", "shelter_nights"),
    }
