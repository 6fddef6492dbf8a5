"""The central team's export end to end: screenings answered through the form engine and
finalised in the real vault, synced by the real client to a real server on loopback, exported
with ``fieldscreen-server export`` in CSV, XLSX and JSON -- the decrypted values equal what the
form engine held, field by field and repeat instance by repeat instance, for every built-in form.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from fieldscreen import crypto
from fieldscreen.forms import Form
from fieldscreen.forms.library import builtin_forms
from fieldscreen.sync.client import SyncClient
from fieldscreen.sync.engine import Syncer
from fieldscreen.sync.request_auth import DeviceSigner
from fieldscreen.sync.server.cli import main as server_main
from fieldscreen.sync.server.live import LiveServer
from fieldscreen.sync.server.storage import Storage
from fieldscreen.sync.signed import Provisioning, Site
from fieldscreen.sync.simulate import SimOrg
from fieldscreen.sync.spool import Spool
from fieldscreen.sync.store import DeviceIdentity
from fieldscreen.sync.vault_bridge import VaultOutboxStore, header_signing_bytes
from fieldscreen.vault import Vault
from tests.integration.export_support import answer, screening_record

SCREENINGS = 4
KEY_PASS = "correct horse battery staple"
EXPORT_PASS = "export passphrase for the central team"


@pytest.fixture
def vault(tmp_path: Path, org: SimOrg) -> Iterator[Vault]:
    crypto.permit_test_parameters(True)
    v = Vault.create(
        tmp_path / "profile" / "data",
        admin_login="admin1",
        passphrase=b"correct horse battery",
        kdf=crypto.KdfParams.for_tests(),
        signing_bytes=header_signing_bytes(org.sealing_public),
    )
    v.set_org_keys(org.sealing_public, org.signing_public)
    yield v
    v.close()
    crypto.permit_test_parameters(False)


def _flatten(form: Form, values: dict[str, Any]) -> dict[tuple[str, str, str], Any]:
    """(table, instance index, field) -> value, written independently of the exporter."""
    out: dict[tuple[str, str, str], Any] = {}

    def walk(data: dict[str, Any], table: str, index: str) -> None:
        for name, value in data.items():
            f = form.fields[name]
            if f.kind == "repeat":
                for i, instance in enumerate(value, start=1):
                    walk(instance, f"{form.id}.{name}", f"{index}.{i}".lstrip("."))
            else:
                out[(table, index, name)] = value

    walk(values, form.id, "")
    return out


def _as_csv(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        value = " ".join(map(str, value))
    text = str(value)
    return "'" + text if text.startswith(("=", "+", "-", "@")) else text


def _as_xlsx(value: Any) -> Any:
    if isinstance(value, list):
        return " ".join(map(str, value))
    return value


def test_simulate_sync_export_gives_back_every_value(  # noqa: PLR0917 (fixtures)
    vault: Vault,
    storage: Storage,
    server: LiveServer,
    org: SimOrg,
    tmp_path: Path,
    db_url: str,
) -> None:
    forms = builtin_forms()
    rng = random.Random(9)
    expected: dict[str, dict[str, dict[str, Any]]] = {}
    for n in range(SCREENINGS):
        consent = answer(forms["fs_consent"], rng, f"r{n}")
        case = consent.values_json()
        sessions = {"fs_consent": consent}
        for form_id in sorted(forms):
            if form_id != "fs_consent":
                sessions[form_id] = answer(forms[form_id], rng, f"r{n}", case)
        record_id = vault.new_draft("screening", "builtin")
        record = screening_record(sessions, f"CANARY-actions-{n}")
        vault.finalise(record_id, record=record, case_card={"n": n})
        expected[record_id] = {fid: s.values_json() for fid, s in sessions.items()}

    # sync: the real client to the real server on loopback
    token = storage.repos.credentials.register_device(
        vault.device_id, "s1", vault.device_public_key, "laptop"
    )
    device = Spool(tmp_path / "device-state.sqlite3")
    device.save_identity(DeviceIdentity(vault.device_id, "s1", token, vault.device_public_key))
    device.save_provisioning(
        Provisioning(
            "Org",
            server.url,
            org.sealing_public,
            org.signing_public,
            storage.repos.keys.keys().receipt_public,
            (Site("s1", "s1"),),
        )
    )
    with SyncClient(
        server.url,
        token=token,
        signer=DeviceSigner(vault.device_id, vault.sign_as_device),
    ) as client:
        Syncer(
            client,
            VaultOutboxStore(vault, org.sealing_public),
            device,
            receipt_key=storage.repos.keys.keys().receipt_public,
            signing_key=org.signing_public,
        ).run()
    device.close()
    assert storage.repos.reporting.count("envelopes") == SCREENINGS

    keyfile = tmp_path / "sealing-private.json"
    keyfile.write_text(
        json.dumps(
            crypto.protect_private_key(
                org.sealing[0], KEY_PASS.encode(), params=crypto.KdfParams.for_tests()
            )
        )
    )
    (tmp_path / "pass").write_text(KEY_PASS + "\n")
    (tmp_path / "export-pass").write_text(EXPORT_PASS + "\n")
    db = db_url
    compared = {"csv": 0, "xlsx": 0, "json": 0}
    mismatches = {"csv": 0, "xlsx": 0, "json": 0}
    for fmt in ("csv", "xlsx", "json"):
        out = tmp_path / f"out-{fmt}"
        code = server_main(
            [
                "export",
                "--db",
                db,
                "--key",
                str(keyfile),
                "--format",
                fmt,
                "--profile",
                "full",
                "--out",
                str(out),
                "--passphrase-file",
                str(tmp_path / "pass"),
                "--export-passphrase-file",
                str(tmp_path / "export-pass"),
            ]
        )
        assert code == 0
        (packed,) = out.iterdir()
        assert packed.name.startswith("IDENTIFIABLE-export-full-")
        assert b"CANARY" not in packed.read_bytes()  # sealed under the export passphrase
        opened = tmp_path / f"opened-{fmt}"
        assert (
            server_main(
                [
                    "export-open",
                    str(packed),
                    "--out",
                    str(opened),
                    "--export-passphrase-file",
                    str(tmp_path / "export-pass"),
                ]
            )
            == 0
        )
        assert "IDENTIFIABLE" in (opened / "README.txt").read_text()
        tables = _read(fmt, opened)
        assert len(tables["screenings"]) == SCREENINGS
        for record_id, by_form in expected.items():
            for form_id, values in by_form.items():
                for (table, index, name), value in _flatten(forms[form_id], values).items():
                    key = (record_id, index)
                    cell = tables[table][key][name]
                    want = {"csv": _as_csv, "xlsx": _as_xlsx, "json": lambda v: v}[fmt](value)
                    compared[fmt] += 1
                    mismatches[fmt] += cell != want
        codebook = tables["codebook"]
        assert {row["field"] for row in codebook.values()} >= {"dob", "given_names"}
    print(f"\nexport round trip: values compared {compared}, mismatches {mismatches}")
    assert mismatches == {"csv": 0, "xlsx": 0, "json": 0}
    assert min(compared.values()) > 300 * SCREENINGS / 2
    # the export is audited on the server, with counts only
    with storage.engine.connect() as conn:
        import sqlalchemy as sa

        from fieldscreen.sync.server.db import tables as t

        details = [
            r.detail for r in conn.execute(sa.select(t.audit).where(t.audit.c.action == "export"))
        ]
    assert len(details) == 3
    assert all("CANARY" not in d and json.loads(d)["exported"] == SCREENINGS for d in details)


def _keyed(rows: list[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    keyed: dict[Any, dict[str, Any]] = {}
    for n, row in enumerate(rows):
        if "field" in row and "table" in row:
            keyed[n] = row
        elif "index" in row:
            keyed[(row["record_id"], row["index"])] = row
        else:
            keyed[(row["record_id"], "")] = row
    return keyed


def _read(fmt: str, folder: Path) -> dict[str, dict[Any, dict[str, Any]]]:
    raw: dict[str, list[dict[str, Any]]] = {}
    if fmt == "json":
        data = json.loads((folder / "export.json").read_text())
        for name, table in data["tables"].items():
            raw[name] = [dict(zip(table["columns"], r, strict=True)) for r in table["rows"]]
        raw["codebook"] = data["codebook"]
    elif fmt == "csv":
        for path in folder.glob("*.csv"):
            raw[path.stem] = list(csv.DictReader(io.StringIO(path.read_text())))
    else:
        book = load_workbook(folder / "export.xlsx", read_only=True)
        names = {ws.title: ws for ws in book.worksheets}
        for title, ws in names.items():
            rows = list(ws.iter_rows(values_only=True))
            raw[title] = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
        book.close()
    return {name: _keyed(rows) for name, rows in raw.items()}
