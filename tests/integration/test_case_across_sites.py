"""One child's case across two sites, end to end on a real server on loopback and two laptops'
real vaults and commands: screened at site s1 (answered through the form engine, its match
tokens under the organisation's secret beside the aggregate), followed up twice, screened
again at site s2 with the name written differently, told of the earlier screening with the
child's consent and linked, handed over before return to the partner who receives the child
(the partner's keys in the signed directory the server publishes, the packet opened by
``fieldscreen-partner``, its acknowledgement applied), and both laptops synced. The central
export then holds the child's whole history, every event exactly once and in order, and the
link from the second case names the first."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from fieldscreen import crypto, partner_cli
from fieldscreen.cli import main
from fieldscreen.device import open_settings, wire_signing, with_match_tokens
from fieldscreen.followup import cadence_of, record_done, schedule
from fieldscreen.forms import most_urgent
from fieldscreen.forms.aggregate import case_aggregate
from fieldscreen.forms.library import builtin_forms
from fieldscreen.forms.session import Session
from fieldscreen.forms.synthetic import FIRST_FORMS, fill_randomly
from fieldscreen.handover import RETURN_FORM
from fieldscreen.paths import Paths
from fieldscreen.reports.export import ExportProblems, build_tables, open_records, parse_profile
from fieldscreen.reports.form_versions import FormCatalogue
from fieldscreen.sync.canonical import canonical
from fieldscreen.sync.server.cli.documents import with_devices
from fieldscreen.sync.server.live import LiveServer
from fieldscreen.sync.server.storage import Storage
from fieldscreen.sync.signed import Provisioning, Site, sign_document
from fieldscreen.sync.simulate import SimOrg
from fieldscreen.vault import Vault
from tests.support.vouching import org_key_file

PASS = "correct horse battery"
PARTNER_PASS = "partner passphrase 7"
SECRET = bytes(range(32))
#: The recipient of the partner that receives the child in the country of origin.
RECIPIENT = "un_agencies"
NOTE = "CANARY-follow-up-Tecolote-4417"


@pytest.fixture(autouse=True)
def light_kdf(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    crypto.permit_test_parameters(True)
    monkeypatch.setattr(partner_cli, "kdf_params", crypto.KdfParams.for_tests)
    yield
    crypto.permit_test_parameters(False)


def _cli(profile: Path, *args: str, capsys: Any) -> dict[str, Any]:
    passfile = str(profile.parent / "pass.txt")
    code = main(["--profile", str(profile), *args, "--passphrase-file", passfile, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.out + captured.err
    return dict(json.loads(captured.out))


def _partner(argv: list[str], folder: Path) -> int:
    passfile = folder / "partner-pass.txt"
    passfile.write_text(PARTNER_PASS + "\n", encoding="utf-8")
    return partner_cli.main([*argv, "--passphrase-file", str(passfile)])


def _laptop(folder: Path, site: str, *, provisioning: Path, storage: Storage, capsys: Any) -> Path:
    """A laptop's profile with a real vault, provisioned and enrolled at ``site``."""
    folder.mkdir()
    profile = folder / "profile"
    Vault.create(
        Paths.for_profile(profile).ensure().vault_dir,
        admin_login="admin1",
        passphrase=PASS.encode(),
        kdf=crypto.KdfParams.for_tests(),
    ).close()
    (folder / "pass.txt").write_text(PASS + "\n", encoding="utf-8")
    _cli(profile, "provision", str(provisioning), capsys=capsys)
    assert open_settings(Paths.for_profile(profile)).get("site_id") == "s1"  # the first site
    _cli(
        profile,
        "enroll",
        "--code",
        storage.repos.credentials.create_enrol_code(site),
        capsys=capsys,
    )
    # enrolled at the code's site, the laptop works there (its directory, its jurisdiction)
    assert open_settings(Paths.for_profile(profile)).get("site_id") == site
    return profile


#: What the specialist records of the child at both sites (the rest is answered at random).
def _fixed(given: str, *, told: str) -> dict[str, dict[str, Any]]:
    shares = {f"share_{r}": "no" for r in ("consulate", "family", "orr_sponsor", "photo")}
    return {
        "fs_consent": {
            "age_years": 16,
            "child_state": "calm",
            "child_understands_language": "fully",
            "teach_back": "understood",
            "child_agrees_to_talk": "yes",
            "child_agrees_services": "yes",
            **shares,
            f"share_{RECIPIENT}": "yes",
            "share_stats": "yes",
            "check_earlier_screening": told,
        },
        "fs_intake": {"given_names": given, "dob": "2010-03-04", "country_of_birth": "HN"},
    }


def _answer(fixed: dict[str, dict[str, Any]], rng: random.Random, *, plan: bool) -> list[Session]:
    """The child's screening through the form engine: the first forms, the modules their
    answers open and, with ``plan``, form F before return; ``fixed`` answers win."""
    forms = builtin_forms()
    sessions: dict[str, Session] = {}
    values: dict[str, Any] = {}
    queue = [*FIRST_FORMS, *([RETURN_FORM] if plan else [])]
    while queue:
        form_id = queue.pop(0)
        if form_id in sessions:
            continue
        session = Session.start(forms[form_id], "en", {}, values)
        mine = fixed.get(form_id, {})
        for name, value in mine.items():  # first, so that the pages they open are answered
            session.set_answer(name, value)
        fill_randomly(session, rng)
        for name, value in mine.items():
            session.set_answer(name, value)
        assert {n: session.values_json()[n] for n in mine} == mine, form_id
        sessions[form_id] = session
        values.update(session.values_json())
        opens = [o for o in session.risk().opens if o in forms and o not in sessions]
        queue[:0] = [o for o in opens if o != RETURN_FORM]
    return list(sessions.values())


def _finalise(profile: Path, sessions: list[Session], site: str, when: datetime) -> str:
    """Finalise the screening on the laptop's vault as the app does, on the day ``when``."""
    paths = Paths.for_profile(profile)
    risks = {s.form.id: s.risk() for s in sessions}
    tier = most_urgent(r.tier for r in risks.values())
    concerns = list(dict.fromkeys(c for r in risks.values() for c in r.concerns))
    first = sessions[0]
    record = {
        "form_id": first.form.id,
        "form_version": first.form.version,
        "state": {"forms": {s.form.id: s.to_state() for s in sessions}},
        "result": {"tier": tier, "concerns": concerns},
        "tier": tier,
        "actions_taken": "",
        "forms": {s.form.id: s.values_json() for s in sessions},
        "risk": {fid: r.to_json() for fid, r in risks.items()},
    }
    card: dict[str, Any] = {}
    for session in sessions:
        card.update(session.case_card())
    card.update(tier=tier, concerns=concerns)
    card["follow_up"] = schedule(cadence_of(tier), when, 365)
    aggregate = case_aggregate(sessions, site=site, day=when.date())
    with Vault.open(paths.vault_dir, clock=lambda: when) as vault:
        vault.unlock("admin1", PASS.encode())
        assert wire_signing(vault)
        record_id = vault.new_draft(first.form.id, first.form.version)
        vault.finalise(
            record_id,
            record=record,
            case_card=card,
            aggregate=with_match_tokens(vault, record, aggregate),
        )
    return record_id


def _follow_up(profile: Path, case: str, when: datetime, note: str = "") -> None:
    """A follow-up done, as the case card's button records it."""
    with Vault.open(Paths.for_profile(profile).vault_dir) as vault:
        vault.unlock("admin1", PASS.encode())
        assert wire_signing(vault)
        card = record_done(vault.case_card(case), when)
        vault.record_case_event(case, "follow-up", when, note=note, case_card=card)


def _app_sync(profile: Path) -> Any:
    """The app's **Sync now** on ``profile``'s vault (the sync page's view model over the
    vault, as the window builds it after unlock)."""
    from fieldscreen.ui.backends import VaultBackend
    from fieldscreen.ui.sync_wiring import build_sync

    paths = Paths.for_profile(profile)
    light = crypto.KdfParams.for_tests()
    backend = VaultBackend(paths.vault_dir, kdf=light, new_key_kdf=light)
    backend.unlock("admin1", PASS)
    try:
        model = build_sync(backend, open_settings(paths))
        assert model is not None
        summary = model.sync_now()
        assert summary is not None, model.background.last_error
        return summary
    finally:
        backend.vault.close()


def _card(profile: Path, case: str) -> dict[str, Any]:
    with Vault.open(Paths.for_profile(profile).vault_dir) as vault:
        vault.unlock("admin1", PASS.encode())
        return dict(vault.case_card(case))


def _export(storage: Storage, org: SimOrg) -> dict[str, Any]:
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
    return build_tables(records, forms, parse_profile("full"), site_of=site_of)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_childs_case_across_two_sites_reaches_the_export_once_and_in_order(
    tmp_path: Path, org: SimOrg, storage: Storage, server: LiveServer, capsys: Any
) -> None:
    provisioning = Provisioning(
        organisation=org.name,
        server_url=server.url,
        sealing_public_key=org.sealing_public,
        signing_public_key=org.signing_public,
        receipt_public_key=storage.repos.keys.keys().receipt_public,
        sites=(Site("s1", "Tapachula 1", "MX"), Site("s2", "Tijuana 2", "MX")),
        allow_insecure_http=True,
        match_secret=SECRET,
    )
    prov = tmp_path / "installer.fsp"
    prov.write_bytes(
        sign_document(
            "provisioning", "provisioning", "1", provisioning.to_content(), *org.signing
        ).to_bytes()
    )
    a = _laptop(tmp_path / "laptop-a", "s1", provisioning=prov, storage=storage, capsys=capsys)
    b = _laptop(tmp_path / "laptop-b", "s2", provisioning=prov, storage=storage, capsys=capsys)
    rng = random.Random(20261204)
    now = datetime.now(UTC).replace(second=0, microsecond=0)

    # Site s1: the child screened a month ago, followed up twice since, all sent.
    screened = now - timedelta(days=30)
    first = _finalise(a, _answer(_fixed("María José", told="no"), rng, plan=False), "s1", screened)
    _follow_up(a, first, now - timedelta(days=23), NOTE)
    shown = _cli(a, "case", "timeline", first, capsys=capsys)
    assert [e["type"] for e in shown["events"]] == ["follow-up"]
    _follow_up(a, first, now - timedelta(days=9))
    sent_a = _cli(a, "sync", capsys=capsys)
    assert (sent_a["delivered"], sent_a["event_envelopes"]) == (1, 2)  # events counted apart

    # The partner that receives the child: its keys in s2's signed directory, on the server.
    partner_dir = tmp_path / "partner"
    partner_dir.mkdir()
    key = partner_dir / "receiver.key"
    org_key = ["--org-key", str(org_key_file(partner_dir, org.signing_public))]
    assert (
        _partner(["keygen", "--partner", "receiver", "--out", str(key), *org_key], partner_dir) == 0
    )
    public = json.loads(capsys.readouterr().out)
    directory = {
        "format": "fieldscreen-service-directory",
        "format_version": 1,
        "directory_id": "s2-dir",
        "version": "2",
        "site": {"id": "s2"},
        "services": [],
        "partners": [
            {"name": {"en": "Reception"}, "recipient": RECIPIENT, "language": "es", **public}
        ],
    }
    listed = with_devices(storage, canonical(directory), "s2.json")  # publish-directory's
    signed = sign_document("directory", "s2", "2", listed, *org.signing)
    assert storage.repos.documents.publish(signed.to_bytes(), "admin").kind == "directory"

    # Site s2: the same child today, the name written differently, with form F before return.
    again = _finalise(b, _answer(_fixed("MARIA-JOSÉ", told="yes"), rng, plan=True), "s2", now)
    sent_b = _cli(b, "sync", capsys=capsys)  # the screening up, the directory down
    assert sent_b["delivered"] == 1
    (told,) = _cli(b, "matches", capsys=capsys)["matches"]
    assert told["record_id"] == again
    (earlier,) = told["earlier"]
    iso = screened.date().isocalendar()
    assert (earlier["record_id"], earlier["site"]) == (first, "s1")
    assert earlier["week"] == f"{iso[0]}-W{iso[1]:02d}"
    linked = _cli(b, "matches", "--link", again, first, capsys=capsys)
    assert linked["linked"]["record_id"] == first

    # Handover before return, opened by the partner, its acknowledgement applied.
    packet = tmp_path / "packet.json"
    out = _cli(b, "handover", again, "--to", "receiver", "--out", str(packet), capsys=capsys)
    assert out["basis"] == "consent"
    card_concerns = set(_card(b, again).get("concerns") or ())
    assert b"MARIA" not in packet.read_bytes()
    opened = partner_dir / "opened"
    assert (
        _partner(["open", str(packet), "--key", str(key), "--out", str(opened)], partner_dir) == 0
    )
    result = json.loads(capsys.readouterr().out)
    summary = json.loads((opened / "summary.json").read_text(encoding="utf-8"))
    assert (summary["case_id"], summary["language"]) == (again, "es")
    assert summary["return_plan"], "form F's answers are the plan the partner receives"
    assert "MARIA" not in json.dumps(summary).upper()  # no names in the packet
    shared = set(summary["summary"].get("concerns", ()))
    assert shared <= card_concerns
    assert out["concerns_kept_out"] == len(card_concerns - shared)
    ack = _cli(b, "handover", "ack", result["ack"], capsys=capsys)
    assert ack["already"] is False
    assert _cli(b, "handover", "ack", result["ack"], capsys=capsys)["already"] is True
    sent_b = _cli(b, "sync", capsys=capsys)
    assert (sent_b["delivered"], sent_b["event_envelopes"]) == (0, 3)
    for laptop in (a, b):  # nothing left to send: a second sync sends no copy again
        assert _cli(laptop, "sync", capsys=capsys)["sent"] == 0

    # The central export: the child's history across both cases, each event once, in order.
    tables = _export(storage, org)
    rows = tables["timeline"].rows
    by_case = {case: [r for r in rows if r[0] == case] for case in (first, again)}
    assert [r[3] for r in by_case[first]] == ["screening", "follow-up", "follow-up"]
    assert [r[3] for r in by_case[again]] == [
        "screening",
        "linked",
        "handover-sent",
        "handover-acknowledged",
    ]
    history = by_case[first] + by_case[again]
    assert len(rows) == len(history) == 7  # nothing else, nothing twice
    assert len({r[4] for r in history}) == 7  # each event exactly once
    for case_rows in by_case.values():
        assert [r[1] for r in case_rows] == list(range(1, len(case_rows) + 1))
        assert [r[2] for r in case_rows] == sorted(r[2] for r in case_rows)
    assert by_case[first][0][2] == screened.date().isoformat()
    assert by_case[again][0][2] == now.date().isoformat()
    assert max(r[2] for r in by_case[first]) < by_case[again][0][2]  # s1's history first
    devices = {case: {r[5] for r in case_rows} for case, case_rows in by_case.items()}
    assert len(devices[first]) == len(devices[again]) == 1
    assert devices[first] != devices[again]
    events = {r[0]: r for r in tables["events"].rows}
    link = events[by_case[again][1][4]]
    assert first in link[-1]  # the link names the earlier case: one child, two cases
    assert NOTE in {r[-1] for r in events.values()}
    assert "events_held" not in tables  # the same child at another site is no forgery
    screenings = {r[0] for r in tables["screenings"].rows}
    assert screenings == {first, again}
    assert date.fromisoformat(by_case[first][0][2]) < date.fromisoformat(by_case[again][0][2])


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_handover_sent_through_the_server_comes_back_acknowledged(
    tmp_path: Path, org: SimOrg, storage: Storage, server: LiveServer, capsys: Any
) -> None:
    """The packet queued by ``fieldscreen handover --send``, carried by a sync, fetched and
    opened by ``fieldscreen-partner fetch`` with the partner's own token, its acknowledgement
    posted back and applied on the case at the laptop's next sync, once. An acknowledgement
    the server hands out that the partner's key did not sign (a server that lies) is refused
    by the laptop and not applied."""
    provisioning = Provisioning(
        organisation=org.name,
        server_url=server.url,
        sealing_public_key=org.sealing_public,
        signing_public_key=org.signing_public,
        receipt_public_key=storage.repos.keys.keys().receipt_public,
        sites=(Site("s2", "Tijuana 2", "MX"),),
        allow_insecure_http=True,
        match_secret=SECRET,
    )
    prov = tmp_path / "installer.fsp"
    prov.write_bytes(
        sign_document(
            "provisioning", "provisioning", "1", provisioning.to_content(), *org.signing
        ).to_bytes()
    )
    folder = tmp_path / "laptop"
    folder.mkdir()
    b = folder / "profile"
    Vault.create(
        Paths.for_profile(b).ensure().vault_dir,
        admin_login="admin1",
        passphrase=PASS.encode(),
        kdf=crypto.KdfParams.for_tests(),
    ).close()
    (folder / "pass.txt").write_text(PASS + "\n", encoding="utf-8")
    _cli(b, "provision", str(prov), capsys=capsys)
    _cli(b, "enroll", "--code", storage.repos.credentials.create_enrol_code("s2"), capsys=capsys)

    partner_dir = tmp_path / "partner"
    partner_dir.mkdir()
    key = partner_dir / "receiver.key"
    org_key = ["--org-key", str(org_key_file(partner_dir, org.signing_public))]
    assert (
        _partner(["keygen", "--partner", "receiver", "--out", str(key), *org_key], partner_dir) == 0
    )
    public = json.loads(capsys.readouterr().out)
    directory = {
        "format": "fieldscreen-service-directory",
        "format_version": 1,
        "directory_id": "s2-dir",
        "version": "2",
        "site": {"id": "s2"},
        "services": [],
        "partners": [
            {"name": {"en": "Reception"}, "recipient": RECIPIENT, "language": "es", **public}
        ],
    }
    listed = with_devices(storage, canonical(directory), "s2.json")  # publish-directory's
    signed = sign_document("directory", "s2", "2", listed, *org.signing)
    storage.repos.documents.publish(signed.to_bytes(), "admin")
    token_file = partner_dir / "token.txt"

    now = datetime.now(UTC).replace(second=0, microsecond=0)
    rng = random.Random(20261210)
    case = _finalise(b, _answer(_fixed("María José", told="no"), rng, plan=True), "s2", now)
    assert _cli(b, "sync", capsys=capsys)["delivered"] == 1  # the directory comes down

    out = _cli(b, "handover", case, "--to", "receiver", "--send", capsys=capsys)
    assert (out["queued"], out["out"], out["basis"]) == (True, "", "consent")
    packet_id = out["packet_id"]
    (entry,) = _card(b, case)["handovers"]
    assert (entry["via"], entry["acknowledged"]) == ("server", "")
    assert storage.repos.handovers.listing("receiver") == []  # queued on the laptop, not yet sent
    # A USB bundle carries the queued packet too (it stays queued until posted or acknowledged).
    usb = _cli(b, "bundle", "export", str(tmp_path / "b.fsb"), capsys=capsys)
    assert usb["handover_packets"] == 1
    # The partner is not yet on the server: refused, kept queued, sent at a later sync.
    early = _cli(b, "sync", capsys=capsys)
    assert (early["handovers_sent"], early["handovers_queued"]) == (0, 1)
    token_file.write_text(
        storage.repos.handovers.add_partner("receiver", "Reception") + "\n", encoding="utf-8"
    )
    sent = _cli(b, "sync", capsys=capsys)
    assert (sent["handovers_sent"], sent["handovers_queued"], sent["handover_acks"]) == (1, 0, 0)
    (held,) = storage.repos.handovers.listing("receiver")
    assert held["packet_id"] == packet_id
    assert held["sha256"] == entry["digest"]  # the bytes the laptop made, as they came
    assert _cli(b, "sync", capsys=capsys)["handovers_sent"] == 0  # sent once, then dropped

    opened = partner_dir / "opened"
    fetch = [
        "fetch",
        "--server",
        server.url,
        "--token-file",
        str(token_file),
        "--key",
        str(key),
        "--out",
        str(opened),
    ]
    assert _partner(fetch, partner_dir) == 0
    fetched = json.loads(capsys.readouterr().out)
    assert fetched["acknowledged"] == 1
    assert [p["packet_id"] for p in fetched["opened"]] == [packet_id]
    summary = json.loads((opened / packet_id / "summary.json").read_text(encoding="utf-8"))
    assert (summary["case_id"], summary["language"]) == (case, "es")
    assert summary["return_plan"]
    assert "MARIA" not in json.dumps(summary).upper()
    assert _partner(fetch, partner_dir) == 0  # again: nothing left to open
    assert json.loads(capsys.readouterr().out)["acknowledged"] == 0

    back = _cli(b, "sync", capsys=capsys)
    assert (back["handover_acks"], back["handover_acks_refused"]) == (1, 0)
    (entry,) = _card(b, case)["handovers"]
    assert entry["acknowledged"]
    again = _cli(b, "sync", capsys=capsys)  # after the laptop's cursor: not sent again
    assert (again["handover_acks"], again["handover_acks_refused"]) == (0, 0)
    # A coordinator relaying the laptop's USB bundle carries the acknowledgement back too.
    coordinator = tmp_path / "coordinator.token"
    coordinator.write_text(
        storage.repos.credentials.create_credential("coordinator", ["s2"], "c") + "\n"
    )
    carried = tmp_path / "acks.txt"
    relayed = _cli(
        b,
        "bundle",
        "relay",
        str(tmp_path / "b.fsb"),
        "--token-file",
        str(coordinator),
        "--receipt-out",
        str(tmp_path / "receipt.json"),
        "--acks-out",
        str(carried),
        capsys=capsys,
    )
    assert (relayed["acks"], relayed["handover_packets"]) == (1, {"duplicate": 1})
    applied = _cli(b, "handover", "ack", str(carried), capsys=capsys)
    assert applied["already"] is True  # one line: applied as one, once
    shown = _cli(b, "case", "timeline", case, capsys=capsys)
    kinds = [e["type"] for e in shown["events"]]
    assert kinds.count("handover-sent") == kinds.count("handover-acknowledged") == 1

    # A lying server: an acknowledgement of a second packet signed by another key, put in
    # its database behind the partner route's check. The laptop refuses it and applies nothing.
    second = _cli(b, "handover", case, "--to", "receiver", "--send", capsys=capsys)
    assert _app_sync(b).handovers_sent == 1  # the app's Sync now posts it as the command does
    thief, _ = crypto.generate_signing_keypair()
    from fieldscreen.handover import make_ack

    forged = make_ack(
        {"packet_id": second["packet_id"], "case_id": case},
        next(h for h in _card(b, case)["handovers"] if h["packet_id"] == second["packet_id"])[
            "digest"
        ],
        "receiver",
        thief,
    )
    import sqlalchemy as sa

    from fieldscreen.sync.server.db import tables as t

    with storage.engine.begin() as conn:
        conn.execute(
            sa.update(t.handover_packets)
            .where(t.handover_packets.c.packet_id == second["packet_id"])
            .values(ack=forged, acked="2026-12-10T00:00:00Z")
        )
    lied = _cli(b, "sync", capsys=capsys)
    assert (lied["handover_acks"], lied["handover_acks_refused"]) == (0, 1)
    states = {h["packet_id"]: h["acknowledged"] for h in _card(b, case)["handovers"]}
    assert states[second["packet_id"]] == ""
    assert states[packet_id]
