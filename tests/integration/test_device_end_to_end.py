"""The real device, end to end through ``fieldscreen``: provision, enrol against a real server on
loopback, screenings finalised through the form engine into the real vault, sync, receipts; and a
device the server orders wiped wipes before anything else happens."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from fieldscreen.cli import main
from fieldscreen.device import form_context, open_settings, stored_provisioning, wire_signing
from fieldscreen.forms.aggregate import case_aggregate
from fieldscreen.forms.library import builtin_forms
from fieldscreen.forms.synthetic import synthetic_case
from fieldscreen.paths import Paths
from fieldscreen.reports.aggregates import parse_aggregate
from fieldscreen.sync.envelope import build_envelope, open_envelope, verify_envelope
from fieldscreen.sync.server.live import LiveServer
from fieldscreen.sync.server.storage import Storage
from fieldscreen.sync.signed import Provisioning, Site, sign_document
from fieldscreen.sync.simulate import SimDevice, SimOrg
from fieldscreen.vault import Vault
from tests.integration.server_support import new_profile

PASS = "correct horse battery"
CANARY = "CANARY-Zorro-4417"


pytestmark = pytest.mark.usefixtures("light_kdf")  # Argon2id at the test parameters


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    return new_profile(tmp_path, PASS)


def _provisioning_file(tmp_path: Path, org: SimOrg, storage: Storage, url: str) -> Path:
    provisioning = Provisioning(
        organisation=org.name,
        server_url=url,
        sealing_public_key=org.sealing_public,
        signing_public_key=org.signing_public,
        receipt_public_key=storage.repos.keys.keys().receipt_public,
        sites=(Site("tij1", "Tijuana 1", "MX"),),
        language="en",
        allow_insecure_http=True,
        policies={"auto_lock_minutes": 2, "background_sync": True},
    )
    document = sign_document(
        "provisioning", "provisioning", "1", provisioning.to_content(), *org.signing
    )
    path = tmp_path / "fieldscreen-provisioning.json"
    path.write_bytes(document.to_bytes())
    return path


def _cli(profile: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    passfile = str(profile.parent / "pass.txt")
    code = main(["--profile", str(profile), *args, "--passphrase-file", passfile, "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    return dict(json.loads(out))


def _finalise_screenings(profile: Path, n: int, rng: random.Random) -> list[str]:
    paths = Paths.for_profile(profile)
    settings = open_settings(paths)
    forms = builtin_forms()
    ids = []
    with Vault.open(paths.vault_dir) as vault:
        vault.unlock("admin1", PASS.encode())
        assert wire_signing(vault)
        context = form_context(stored_provisioning(vault), settings.get("site_id"))
        for _ in range(n):
            case = synthetic_case(
                forms,
                rng,
                context={"site": context["ctx_site"], "jurisdiction": context["ctx_jurisdiction"]},
            )
            record_id = vault.new_draft("fs_intake", forms["fs_intake"].version)
            record = case.record()
            record["forms"]["fs_intake"]["canary_note"] = CANARY
            aggregate = case_aggregate(case.sessions.values(), site="tij1", day=date.today())
            vault.finalise(
                record_id, record=record, case_card=case.case_card(), aggregate=aggregate
            )
            ids.append(record_id)
    return ids


def test_provision_enrol_finalise_sync_on_the_real_vault(  # noqa: PLR0917 -- fixtures
    profile: Path,
    tmp_path: Path,
    org: SimOrg,
    storage: Storage,
    server: LiveServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = _provisioning_file(tmp_path, org, storage, server.url)
    out = _cli(profile, "provision", str(path), capsys=capsys)
    assert out["policies"] == {"auto_lock_minutes": 2, "background_sync": True}
    settings = open_settings(Paths.for_profile(profile))
    assert settings.is_locked("auto_lock_minutes")
    assert settings.get("site_id") == "tij1"

    out = _cli(
        profile,
        "enroll",
        "--code",
        storage.repos.credentials.create_enrol_code("tij1"),
        capsys=capsys,
    )
    with Vault.open(Paths.for_profile(profile).vault_dir) as vault:
        assert out["device_id"] == vault.device_id
        device_public = vault.device_public_key
    # Nothing the vault keeps for sync is readable on disk: not the token, not the server URL.
    raw = (Paths.for_profile(profile).vault_dir / "vault.sqlite3").read_bytes()
    assert server.url.encode() not in raw

    ids = _finalise_screenings(profile, 6, random.Random(5))
    out = _cli(profile, "simulate", "--screenings", "30", "--seed", "3", capsys=capsys)
    with_aggregate = int(out["with_aggregate"])  # type: ignore[call-overload]
    for _ in range(2):  # the second run finds nothing left to send
        out = _cli(profile, "sync", capsys=capsys)
    assert out["sent"] == 0
    held = {e.record_id: e for e in storage.repos.reporting.iter_envelopes() if e.kind != "audit"}
    assert len(held) == 36
    assert set(ids) <= set(held)  # each held once: lost 0, duplicated 0
    # The aggregate records arrived in the shape reports read, or not at all (declined).
    assert sum(1 for e in held.values() if e.aggregate) >= with_aggregate
    for envelope in held.values():
        if envelope.aggregate:
            assert parse_aggregate(envelope.aggregate).site == "tij1"
    for envelope in (held[i] for i in ids):
        verify_envelope(envelope, device_public)
        payload = json.loads(open_envelope(envelope, org.sealing[0]))
        assert payload["content"]["forms"]["fs_intake"]["canary_note"] == CANARY
    with Vault.open(Paths.for_profile(profile).vault_dir) as vault:
        counts = vault.outbox_counts()
    assert counts["delivered"] == 36
    assert counts["sealed"] == 0
    status = main(["--profile", str(profile), "status", "--json"])
    assert status == 0
    assert json.loads(capsys.readouterr().out)["delivered"] == 36


def test_a_device_ordered_wiped_wipes_before_sending(  # noqa: PLR0917 -- fixtures
    profile: Path,
    tmp_path: Path,
    org: SimOrg,
    storage: Storage,
    server: LiveServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = _provisioning_file(tmp_path, org, storage, server.url)
    _cli(profile, "provision", str(path), capsys=capsys)
    out = _cli(
        profile,
        "enroll",
        "--code",
        storage.repos.credentials.create_enrol_code("tij1"),
        capsys=capsys,
    )
    _finalise_screenings(profile, 3, random.Random(6))
    storage.repos.devices.set_status(str(out["device_id"]), "wipe", "test admin")
    passfile = str(profile.parent / "pass.txt")
    code = main(["--profile", str(profile), "sync", "--passphrase-file", passfile, "--json"])
    assert code != 0
    capsys.readouterr()
    assert list(storage.repos.reporting.iter_envelopes()) == []  # nothing was sent first
    data = Paths.for_profile(profile).vault_dir
    assert not (data / "vault.keys").exists() or not Vault.exists(data)
    assert not (data / "vault.sqlite3").exists()


def test_the_server_refuses_an_aggregate_reports_could_not_read(
    new_device: Callable[..., SimDevice], storage: Storage, rng: random.Random
) -> None:
    device = new_device()
    good = device.make_envelope(rng)
    bad = build_envelope(
        str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "fs_intake",
        "1",
        device.device_id,
        good.seq + 1,
        date.today(),
        b"{}",
        device.org.sealing_public,
        device.signing_private,
        aggregate={"tier": "act_now", "name": "x"},
    )
    none = build_envelope(
        str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "fs_intake",
        "1",
        device.device_id,
        good.seq + 2,
        date.today(),
        b"{}",
        device.org.sealing_public,
        device.signing_private,
    )
    with device.client() as client:
        results = client.submit([e.to_bytes() for e in (good, bad, none)])["results"]
    assert [r["outcome"] for r in results] == ["stored", "rejected", "stored"]
    assert results[1]["reason"] == "aggregate"
    held = {e.record_id: e for e in storage.repos.reporting.iter_envelopes()}
    assert parse_aggregate(held[good.record_id].aggregate).tier in {"T0", "T1", "T2", "T3", "T4"}
    assert dict(held[none.record_id].aggregate) == {}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the device side is under test
def test_simulated_screenings_sync_and_list_like_real_ones(  # noqa: PLR0917 -- fixtures
    profile: Path,
    tmp_path: Path,
    org: SimOrg,
    storage: Storage,
    server: LiveServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``simulate`` writes in chunks from a few answered screenings; every record still syncs,
    verifies, opens and lists on its own: counts equal everywhere."""
    count = 640  # two chunks, the last one partial
    path = _provisioning_file(tmp_path, org, storage, server.url)
    _cli(profile, "provision", str(path), capsys=capsys)
    _cli(
        profile,
        "enroll",
        "--code",
        storage.repos.credentials.create_enrol_code("tij1"),
        capsys=capsys,
    )
    out = _cli(
        profile,
        "simulate",
        "--screenings",
        str(count),
        "--distinct",
        "12",
        "--jobs",
        "1",
        capsys=capsys,
    )
    assert (out["screenings"], out["distinct"]) == (count, 12)
    out = _cli(profile, "sync", capsys=capsys)
    held = {e.record_id: e for e in storage.repos.reporting.iter_envelopes() if e.kind != "audit"}
    with Vault.open(Paths.for_profile(profile).vault_dir) as vault:
        vault.unlock("admin1", PASS.encode())
        device_public = vault.device_public_key
        rows = vault.case_list()
        counts = vault.outbox_counts()
        index = vault.list_index_check()
        assert vault.integrity_check().ok
    listed = {row.record_id for row in rows if row.status == "finalised" and row.fields}
    assert len(held) == len(listed) == counts["delivered"] == index.cards == count
    assert set(held) == listed
    assert index.consistent
    seqs = sorted(e.seq for e in held.values())
    assert seqs == list(range(seqs[0], seqs[0] + count))  # one sequence number each
    for envelope in list(held.values())[:: count // 20]:
        verify_envelope(envelope, device_public)
        payload = json.loads(open_envelope(envelope, org.sealing[0]))
        assert payload["record_id"] == envelope.record_id
    fields = [row.fields for row in rows if row.fields]
    assert all(f["tier"] in {"T0", "T1", "T2", "T3", "T4"} for f in fields)
    assert all(f["next_due"] for f in fields if f["tier"] != "T4")


def test_the_audit_log_reaches_the_export_over_a_real_server(  # noqa: PLR0917 -- fixtures
    profile: Path,
    tmp_path: Path,
    org: SimOrg,
    storage: Storage,
    server: LiveServer,
    new_device: Callable[..., SimDevice],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Screenings finalised and one opened again, then ``fieldscreen sync``: the audit entries
    travel as one sealed ``audit`` envelope, and the central export lays them out as the audit
    table (who opened which record, when), never as a record it could not export. Another
    device's audit segment uploaded under this device's id is refused by the server."""
    from fieldscreen.reports.export import ExportProblems, build_tables, open_records
    from fieldscreen.reports.export import parse_profile as profile_of
    from fieldscreen.reports.form_versions import FormCatalogue

    path = _provisioning_file(tmp_path, org, storage, server.url)
    _cli(profile, "provision", str(path), capsys=capsys)
    out = _cli(
        profile,
        "enroll",
        "--code",
        storage.repos.credentials.create_enrol_code("tij1"),
        capsys=capsys,
    )
    device_id = str(out["device_id"])
    ids = _finalise_screenings(profile, 3, random.Random(8))
    with Vault.open(Paths.for_profile(profile).vault_dir) as vault:
        vault.unlock("admin1", PASS.encode())
        vault.load_record(ids[0])  # opened again: a "view" entry
    out = _cli(profile, "sync", capsys=capsys)
    assert (out["delivered"], out["audit_envelopes"]) == (3, 1)
    assert _cli(profile, "sync", capsys=capsys)["sent"] == 0  # nothing new: no segment either
    audit_envelopes = [e for e in storage.repos.reporting.iter_envelopes() if e.kind == "audit"]
    assert [e.device_id for e in audit_envelopes] == [device_id]
    plain = open_envelope(audit_envelopes[0], org.sealing[0])
    assert CANARY.encode() not in plain  # who, when, what and which record; never an answer

    forms = FormCatalogue()
    forms.add_builtin()

    def device_key(device: str) -> bytes | None:
        row = storage.repos.devices.get(device)
        return None if row is None else row.public_key

    problems = ExportProblems()
    records = list(
        open_records(
            storage.repos.reporting.iter_envelopes(), device_key, org.sealing[0], forms, problems
        )
    )
    assert problems.total == 0, problems.to_json()
    tables = build_tables(records, forms, profile_of("full"))
    assert len(tables["screenings"].rows) == 3
    audit = tables["audit"]
    done = {(row[0], row[4], row[5]) for row in audit.rows}
    assert {(device_id, "finalise", rid) for rid in ids} <= done
    assert (device_id, "view", ids[0]) in done
    seqs = [row[1] for row in audit.rows]
    assert seqs == list(range(1, len(seqs) + 1))  # lost 0, duplicated 0

    # Another enrolled device seals a segment naming this device (entries it never wrote) and
    # sends it with its own credentials, or one relabelled from its own: the server refuses it.
    other = new_device("tij1")
    refused = 0
    for n in range(4):
        record_id = uuid.uuid4().hex
        claimed = device_id if n % 2 == 0 else other.device_id
        entry = {"a": "view", "r": ids[1], "seq": 1, "t": "2026-12-04T00:00+00:00", "u": "x"}
        payload = {
            "kind": "audit",
            "record_id": record_id,
            "device_id": claimed,
            "content": {"entries": [entry], "first": 1, "last": 1},
        }
        forged = build_envelope(
            record_id,
            "audit",
            "1",
            claimed,
            other.spool.next_seq(),
            date.today(),
            json.dumps(payload).encode(),
            org.sealing_public,
            other.signing_private,
            kind="audit",
        )
        if n % 2:  # the other device's own segment, its header relabelled after signing
            forged = replace(forged, device_id=device_id)
        other.spool.enqueue_many([forged])
        other.sync()
        held = {e.record_id for e in storage.repos.reporting.iter_envelopes()}
        refused += record_id not in held
    assert refused == 4
    other.fill(1, random.Random(3))  # the same path holds the other device's genuine one
    other.sync()
    assert any(e.device_id == other.device_id for e in storage.repos.reporting.iter_envelopes())
    problems = ExportProblems()
    again = list(
        open_records(
            storage.repos.reporting.iter_envelopes(), device_key, org.sealing[0], forms, problems
        )
    )
    assert build_tables(again, forms, profile_of("full"))["audit"].rows == audit.rows
