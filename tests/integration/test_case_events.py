"""Case events leave the laptop: recorded on a case card (``fieldscreen case event`` and the
app's follow-up), sealed and signed as ``event`` envelopes, synced to a real server, and laid out
by the central export as a timeline per child, each event once and in order. And the attackers:
another enrolled device forging or replaying an event for someone else's case, an event edited
in the outbox, a coordinator of another site relaying it."""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from fieldscreen import crypto
from fieldscreen.cli import main
from fieldscreen.device import wire_signing
from fieldscreen.followup import record_done
from fieldscreen.paths import Paths
from fieldscreen.reports.export import ExportProblems, build_tables, open_records, parse_profile
from fieldscreen.reports.form_versions import FormCatalogue
from fieldscreen.sync.envelope import open_envelope
from fieldscreen.sync.server.live import LiveServer
from fieldscreen.sync.server.storage import Storage
from fieldscreen.sync.simulate import SimDevice, SimOrg
from fieldscreen.vault import Vault
from tests.integration.server_support import new_profile
from tests.integration.test_device_end_to_end import _provisioning_file

PASS = "correct horse battery"
NOTE = "CANARY-note-Quetzal-8812"


pytestmark = pytest.mark.usefixtures("light_kdf")  # Argon2id at the test parameters


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    return new_profile(tmp_path, PASS)


def _cli(
    profile: Path, *args: str, capsys: pytest.CaptureFixture[str], code: int = 0
) -> dict[str, Any]:
    passfile = str(profile.parent / "pass.txt")
    got = main(["--profile", str(profile), *args, "--passphrase-file", passfile, "--json"])
    out = capsys.readouterr().out
    assert got == code, out
    return dict(json.loads(out)) if out.strip() else {}


def _laptop(  # noqa: PLR0917 -- the fixtures it sets up
    profile: Path, tmp_path: Path, org: SimOrg, storage: Storage, url: str, capsys: Any
) -> tuple[str, list[str]]:
    """A provisioned, enrolled laptop at site tij1 with three finalised screenings."""
    path = _provisioning_file(tmp_path, org, storage, url)
    _cli(profile, "provision", str(path), capsys=capsys)
    out = _cli(
        profile,
        "enroll",
        "--code",
        storage.repos.credentials.create_enrol_code("tij1"),
        capsys=capsys,
    )
    _cli(profile, "simulate", "--screenings", "3", "--distinct", "3", capsys=capsys)
    with Vault.open(Paths.for_profile(profile).vault_dir) as vault:
        ids = [r.record_id for r in vault.list_records("finalised")]
    return str(out["device_id"]), sorted(ids)


def _export(storage: Storage, org: SimOrg, profile_name: str = "full") -> dict[str, Any]:
    forms = FormCatalogue()
    forms.add_builtin()

    def device_key(device: str) -> bytes | None:
        row = storage.repos.devices.get(device)
        return None if row is None else row.public_key

    def site_of(device: str) -> str | None:
        row = storage.repos.devices.get(device)
        return None if row is None else row.site

    problems = ExportProblems()
    records = list(
        open_records(
            storage.repos.reporting.iter_envelopes(),
            device_key,
            org.sealing[0],
            forms,
            problems,
            contested=storage.repos.reporting.iter_contested(),
        )
    )
    assert problems.total == 0, problems.to_json()
    return build_tables(records, forms, parse_profile(profile_name), site_of=site_of)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_follow_ups_reach_the_export_as_one_timeline_per_child(  # noqa: PLR0917 -- fixtures
    profile: Path,
    tmp_path: Path,
    org: SimOrg,
    storage: Storage,
    server: LiveServer,
    new_device: Callable[..., SimDevice],
    capsys: pytest.CaptureFixture[str],
) -> None:
    device_id, ids = _laptop(profile, tmp_path, org, storage, server.url, capsys)
    first, second = ids[0], ids[1]
    out = _cli(profile, "case", "event", first[:6].upper(), "--type", "referral", capsys=capsys)
    assert (out["case"], out["type"]) == (first, "referral")
    _cli(profile, "case", "event", first, "--type", "closed", capsys=capsys, code=1)  # no reason
    when = datetime.now(UTC) + timedelta(hours=1)
    with Vault.open(Paths.for_profile(profile).vault_dir) as vault:  # what the app's button does
        vault.unlock("admin1", PASS.encode())
        assert wire_signing(vault)
        card = record_done(vault.case_card(first), when)
        vault.record_case_event(first, "follow-up", when, note=NOTE, case_card=card)
        assert vault.case_card(first)["next_due"] == card["next_due"]  # the date moved on
    later = (when + timedelta(hours=1)).isoformat()
    _cli(
        profile,
        "case",
        "event",
        second,
        "--type",
        "closed",
        "--reason",
        "reunified",
        "--at",
        later,
        capsys=capsys,
    )
    shown = _cli(profile, "case", "timeline", first[:6], capsys=capsys)
    assert [e["type"] for e in shown["events"]] == ["referral", "follow-up"]

    summary = _cli(profile, "sync", capsys=capsys)
    assert (summary["delivered"], summary["event_envelopes"]) == (3, 3)  # events counted apart
    assert _cli(profile, "sync", capsys=capsys)["sent"] == 0
    held = [e for e in storage.repos.reporting.iter_envelopes() if e.kind == "event"]
    assert len(held) == 3
    assert {e.device_id for e in held} == {device_id}
    assert all(NOTE.encode() not in e.to_bytes() for e in held)  # sealed: the server reads none
    assert (
        storage.repos.reporting.stats(_admin())["per_day"][0]["envelopes"] == 3
    )  # screenings only

    # A second laptop of the same site adds its own event to the same case: append-only.
    other = new_device("tij1")
    mine = other.make_event(first, random.Random(4), kind="service-reached")
    other.spool.enqueue_many([mine])
    assert other.sync().delivered == 1
    other.spool.enqueue_many([mine])  # delivered again: a duplicate, never a second copy
    other.sync()

    tables = _export(storage, org)
    rows = [r for r in tables["timeline"].rows if r[0] == first]
    assert [r[3] for r in rows][:3] == ["screening", "referral", "follow-up"]
    assert sorted(r[3] for r in rows[1:]) == ["follow-up", "referral", "service-reached"]
    assert [r[1] for r in rows] == [1, 2, 3, 4]
    assert len({r[4] for r in rows}) == 4  # each exactly once
    assert sorted(r[2] for r in rows[1:]) == [r[2] for r in rows[1:]]  # in order
    closed = [r for r in tables["timeline"].rows if r[0] == second]
    assert [(r[3], r[6]) for r in closed] == [("screening", ""), ("closed", "reunified")]
    assert next(r for r in tables["timeline"].rows if r[0] == ids[2])[3] == "screening"
    notes = {r[0]: r[-1] for r in tables["events"].rows}
    assert NOTE in notes.values()
    assert "events_held" not in tables
    deidentified = _export(storage, org, "deidentified")
    assert "note" not in deidentified["events"].columns
    assert all(len(r[3]) == 7 for r in deidentified["events"].rows)  # the month only
    assert NOTE not in json.dumps({k: t.rows for k, t in deidentified.items()})


def _admin() -> Any:
    from fieldscreen.sync.server.storage import Principal

    return Principal("admin", frozenset(), "test")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_another_device_forging_or_replaying_an_event_is_held_apart(  # noqa: PLR0917 -- fixtures
    db_url: str,
    profile: Path,
    tmp_path: Path,
    org: SimOrg,
    storage: Storage,
    server: LiveServer,
    new_device: Callable[..., SimDevice],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An enrolled device of another site seals events naming this laptop's cases (forged, of
    every type), sends this laptop's own event under its request, and one relabelled with this
    laptop's id: none reaches a timeline (applied 0), each forgery is held apart in the export
    and audited, the replay is a conflict the server audits, the relabelled one refused."""
    device_id, ids = _laptop(profile, tmp_path, org, storage, server.url, capsys)
    _cli(profile, "case", "event", ids[0], "--type", "referral", capsys=capsys)
    _cli(profile, "sync", capsys=capsys)
    genuine = next(e for e in storage.repos.reporting.iter_envelopes() if e.kind == "event")
    before = _export(storage, org)["timeline"].rows

    thief = new_device("elsewhere")
    rng = random.Random(11)
    kinds = ("follow-up", "referral", "service-reached", "moved", "left", "closed")
    seq = thief.spool.next_seq()
    forged = [thief.make_event(ids[n % 3], rng, kind=k, seq=seq + n) for n, k in enumerate(kinds)]
    forged.append(thief.make_event("f" * 32, rng, seq=seq + 6))  # a case that does not exist
    thief.spool.enqueue_many(forged)
    assert thief.sync().delivered == len(forged)  # the server cannot read them: it holds them
    relabelled = replace(thief.make_event(ids[0], rng, seq=seq + 7), device_id=device_id)
    resigned = replace(genuine, device_id=thief.device_id, seq=seq + 8)  # the seal, as its own
    resigned = replace(
        resigned, signature=crypto.sign(thief.signing_private, resigned.signing_bytes())
    )
    with thief.client() as client:  # posted as they are: the thief's own checks skipped
        sent = [genuine, relabelled, resigned]
        answer = client.submit([e.to_bytes() for e in sent])["results"]
    outcomes = [(o["outcome"], o.get("reason")) for o in answer]
    assert outcomes == [
        ("rejected", "device-mismatch"),
        ("rejected", "device-mismatch"),
        ("conflict", "other-device"),
    ]
    with storage.engine.connect() as conn:
        audit = [json.loads(r[0]) for r in conn.exec_driver_sql("SELECT detail FROM audit")]
    assert {"record": genuine.record_id} in audit  # record-of-another-device

    tables = _export(storage, org)
    applied = len(tables["timeline"].rows) - len(before)
    held = {r[0]: r[5] for r in tables["events_held"].rows}
    assert applied == 0
    assert set(held) == {e.record_id for e in forged}
    assert sorted(set(held.values())) == ["another-device", "unknown-case"]
    assert tables["timeline"].rows == before
    summary = _server_export(db_url, tmp_path, org, capsys)
    assert summary["case_events_held"] == len(forged)
    exported = summary["files"]["export.json"]["tables"]
    assert exported["timeline"]["rows"] == before
    assert len(exported["events_held"]["rows"]) == len(forged)
    assert f"{len(forged)} case events are in no timeline" in summary["files"]["README.txt"]
    with storage.engine.connect() as conn:
        actions = [r[0] for r in conn.exec_driver_sql("SELECT action FROM audit")]
    assert actions.count("case-event-held") == len(forged)


def _server_export(
    url: str, tmp_path: Path, org: SimOrg, capsys: pytest.CaptureFixture[str]
) -> dict[str, Any]:
    """``fieldscreen-server export`` as the central team runs it; its summary."""
    from fieldscreen.sync.server.cli import main as server_main

    key = tmp_path / "sealing-private.json"
    passfile = tmp_path / "org-pass.txt"
    passfile.write_text(PASS + "\n")
    protected = crypto.protect_private_key(
        org.sealing[0], PASS.encode(), params=crypto.KdfParams.for_tests()
    )
    key.write_text(json.dumps(protected))
    exportpass = passfile
    code = server_main(
        [
            "export",
            "--db",
            url,
            "--key",
            str(key),
            "--format",
            "json",
            "--profile",
            "full",
            "--out",
            str(tmp_path / "out"),
            "--passphrase-file",
            str(passfile),
            "--export-passphrase-file",
            str(exportpass),
            "--json",
        ]
    )
    out = capsys.readouterr().out
    assert code in {0, 1}, out
    summary = dict(json.loads(out))
    opened = tmp_path / "opened"
    args = ["export-open", summary["out"], "--out", str(opened)]
    assert server_main([*args, "--export-passphrase-file", str(exportpass)]) == 0
    capsys.readouterr()
    summary["files"] = {
        "README.txt": (opened / "README.txt").read_text(encoding="utf-8"),
        "export.json": json.loads((opened / "export.json").read_text(encoding="utf-8")),
    }
    return summary


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_event_edited_in_the_outbox_is_quarantined_as_tampered(  # noqa: PLR0917 -- fixtures
    profile: Path,
    tmp_path: Path,
    org: SimOrg,
    storage: Storage,
    server: LiveServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Someone with the laptop's files edits queued events (a flipped byte of the sealed bytes,
    the kind relabelled, the case moved by swapping two events' seals): each is held as changed,
    never sent; the untouched one goes."""
    _device_id, ids = _laptop(profile, tmp_path, org, storage, server.url, capsys)
    _cli(profile, "sync", capsys=capsys)
    events = [
        _cli(profile, "case", "event", ids[n % 3], "--type", "moved", capsys=capsys)["event_id"]
        for n in range(4)
    ]
    conn = sqlite3.connect(Paths.for_profile(profile).vault_dir / "vault.sqlite3")
    with conn:
        sealed = {
            r[0]: bytes(r[1])
            for r in conn.execute("SELECT record_id, sealed FROM outbox WHERE kind = 'event'")
        }
        flipped = bytearray(sealed[events[0]])
        flipped[60] ^= 1
        conn.execute(
            "UPDATE outbox SET sealed = ? WHERE record_id = ?", (bytes(flipped), events[0])
        )
        conn.execute("UPDATE outbox SET kind = 'screening' WHERE record_id = ?", (events[1],))
        conn.execute(
            "UPDATE outbox SET sealed = ?, payload_sha256 = (SELECT payload_sha256 FROM outbox "
            "WHERE record_id = ?) WHERE record_id = ?",
            (sealed[events[3]], events[3], events[2]),
        )
    conn.close()
    summary = _cli(profile, "sync", capsys=capsys, code=1)
    assert sorted(summary["tampered_ids"]) == sorted(events[:3])
    held = {e.record_id for e in storage.repos.reporting.iter_envelopes() if e.kind == "event"}
    assert held == {events[3]}  # applied 0 of the edited, silently accepted 0


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_coordinator_of_another_site_cannot_relay_a_laptops_events(  # noqa: PLR0917
    db_url: str,
    profile: Path,
    tmp_path: Path,
    org: SimOrg,
    storage: Storage,
    server: LiveServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A bundle with screenings and events: a coordinator of another site relays it and every
    envelope is refused (``not-your-site``); the site's own coordinator relays it, the events
    counted apart, and the export lays them out."""
    from fieldscreen.sync.bundle import read_bundle
    from fieldscreen.sync.client import SyncClient
    from fieldscreen.sync.errors import SyncError
    from fieldscreen.sync.relay import relay_bundle

    _device_id, ids = _laptop(profile, tmp_path, org, storage, server.url, capsys)
    for rid in ids[:2]:
        _cli(profile, "case", "event", rid, "--type", "left", capsys=capsys)
    bundle = tmp_path / "laptop.bundle"
    out = _cli(profile, "bundle", "export", str(bundle), capsys=capsys)
    assert (out["envelopes"], out["event_envelopes"]) == (3, 2)
    receipt_key = storage.repos.keys.keys().receipt_public
    stranger = storage.repos.credentials.create_credential(
        "coordinator", ["elsewhere"], "other coordinator"
    )
    _laptop_id, lines = read_bundle(bundle)
    with SyncClient(server.url, token=stranger, allow_insecure=True) as client:
        answer = client.relay(list(lines))["results"]
    assert [(o["outcome"], o.get("reason")) for o in answer] == [
        ("rejected", "not-your-site")
    ] * 6  # with the audit segment
    with pytest.raises(SyncError):  # nor the laptop's receipt
        relay_bundle(
            bundle,
            server_url=server.url,
            token=stranger,
            receipt_key=receipt_key,
            allow_insecure=True,
        )
    assert not [e for e in storage.repos.reporting.iter_envelopes() if e.kind == "event"]
    own = storage.repos.credentials.create_credential("coordinator", ["tij1"], "site coordinator")
    relayed = relay_bundle(
        bundle, server_url=server.url, token=own, receipt_key=receipt_key, allow_insecure=True
    )
    assert (relayed.outcomes, relayed.event_envelopes) == ({"stored": 3}, 2)
    tables = _export(storage, org)
    assert [r[4] for r in tables["events"].rows] == ["left", "left"]
    assert sorted(r[1] for r in tables["events"].rows) == sorted(ids[:2])
    event = next(e for e in storage.repos.reporting.iter_envelopes() if e.kind == "event")
    assert json.loads(open_envelope(event, org.sealing[0]))["content"]["type"] == "left"
    # The same bundle imported on the server's machine: nothing changes, the events apart.
    from fieldscreen.sync.server.cli import main as server_main

    assert server_main(["import-bundle", str(bundle), "--db", db_url, "--json"]) == 0
    imported = json.loads(capsys.readouterr().out)
    assert (imported["outcomes"], imported["event_envelopes"]) == ({"duplicate": 3}, 2)
    assert imported["audit_envelopes"] == 1
