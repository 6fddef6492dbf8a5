"""Travel mode delivers what it seals: a draft sealed by ``fieldscreen travel-mode`` reaches the
central export, marked as a draft, over HTTP to a real server on loopback and through a USB
bundle imported at the server; and a sealed draft obeys every rule a screening does."""

from __future__ import annotations

import csv
import hashlib
import json
import random
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fieldscreen import crypto
from fieldscreen.cli import main
from fieldscreen.device import form_context, open_settings, stored_provisioning
from fieldscreen.forms.library import builtin_forms
from fieldscreen.forms.synthetic import synthetic_case
from fieldscreen.paths import Paths
from fieldscreen.reports.export import ExportProblems, build_tables, open_records, parse_profile
from fieldscreen.reports.form_versions import FormCatalogue
from fieldscreen.sync.envelope import build_envelope
from fieldscreen.sync.server.cli import main as server_main
from fieldscreen.sync.server.live import LiveServer
from fieldscreen.sync.server.storage import Principal, Storage
from fieldscreen.sync.signed import Provisioning, Site, sign_document
from fieldscreen.sync.simulate import SimDevice, SimOrg
from fieldscreen.vault import Vault
from tests.integration.server_support import SERVER_PASSPHRASE, new_profile

PASS = "correct horse battery"
CANARY = "CANARY-Travel-5521"


pytestmark = pytest.mark.usefixtures("light_kdf")  # Argon2id at the test parameters


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    return new_profile(tmp_path, PASS)


def _cli(profile: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    passfile = str(profile.parent / "pass.txt")
    code = main(["--profile", str(profile), *args, "--passphrase-file", passfile, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    return dict(json.loads(out))


def _set_up(  # noqa: PLR0917 -- fixtures passed on
    profile: Path,
    tmp_path: Path,
    org: SimOrg,
    storage: Storage,
    url: str,
    capsys: pytest.CaptureFixture[str],
) -> str:
    provisioning = Provisioning(
        organisation=org.name,
        server_url=url,
        sealing_public_key=org.sealing_public,
        signing_public_key=org.signing_public,
        receipt_public_key=storage.repos.keys.keys().receipt_public,
        sites=(Site("tij1", "Tijuana 1", "MX"),),
        language="en",
        allow_insecure_http=True,
        policies={"travel_mode_allowed": True},
    )
    document = sign_document(
        "provisioning", "provisioning", "1", provisioning.to_content(), *org.signing
    )
    path = tmp_path / "fieldscreen-provisioning.json"
    path.write_bytes(document.to_bytes())
    _cli(profile, "provision", str(path), capsys=capsys)
    out = _cli(
        profile,
        "enroll",
        "--code",
        storage.repos.credentials.create_enrol_code("tij1"),
        capsys=capsys,
    )
    return str(out["device_id"])


def _drafts(profile: Path, n: int, rng: random.Random) -> list[str]:
    """``n`` unfinished interviews saved as the app saves them (every form's session state)."""
    paths = Paths.for_profile(profile)
    settings = open_settings(paths)
    forms = builtin_forms()
    ids = []
    with Vault.open(paths.vault_dir) as vault:
        vault.unlock("admin1", PASS.encode())
        context = form_context(stored_provisioning(vault), settings.get("site_id"))
        for _ in range(n):
            case = synthetic_case(
                forms,
                rng,
                context={"site": context["ctx_site"], "jurisdiction": context["ctx_jurisdiction"]},
            )
            states = {fid: s.to_state() for fid, s in case.sessions.items()}
            states["fs_intake"]["canary_note"] = CANARY
            state = {"started": datetime.now(UTC).isoformat(), "forms": states}
            ids.append(vault.new_draft("fs_intake", forms["fs_intake"].version, state))
    return ids


def _export(storage: Storage, org: SimOrg) -> tuple[dict[str, str], ExportProblems]:
    """The central export's own path: verify, open, lay out; record id -> the kind column."""
    forms = FormCatalogue()
    forms.add_builtin()

    def device_key(device_id: str) -> bytes | None:
        row = storage.repos.devices.get(device_id)
        return None if row is None else row.public_key

    problems = ExportProblems()
    records = list(
        open_records(
            storage.repos.reporting.iter_envelopes(), device_key, org.sealing[0], forms, problems
        )
    )
    tables = build_tables(records, forms, parse_profile("full"))
    screenings = tables["screenings"]
    rid, kind = screenings.columns.index("record_id"), screenings.columns.index("kind")
    return {row[rid]: row[kind] for row in screenings.rows}, problems


def test_drafts_sealed_by_travel_mode_sync_and_export_as_drafts(  # noqa: PLR0917 -- fixtures
    profile: Path,
    tmp_path: Path,
    org: SimOrg,
    storage: Storage,
    server: LiveServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _set_up(profile, tmp_path, org, storage, server.url, capsys)
    drafts = _drafts(profile, 3, random.Random(11))
    out = _cli(profile, "travel-mode", capsys=capsys)
    assert out["drafts_sealed"] == 3
    raw = (Paths.for_profile(profile).vault_dir / "vault.sqlite3").read_bytes()
    assert CANARY.encode() not in raw  # nothing readable left on the laptop
    out = _cli(profile, "sync", capsys=capsys)
    assert out["delivered"] == 3, out  # the audit log's segment apart
    held = {e.record_id: e for e in storage.repos.reporting.iter_envelopes() if e.kind != "audit"}
    assert set(held) == set(drafts)
    assert {e.kind for e in held.values()} == {"draft"}
    kinds, problems = _export(storage, org)
    assert problems.total == 0, problems.to_json()
    assert kinds == dict.fromkeys(drafts, "draft")  # lost 0, each marked a draft
    with Vault.open(Paths.for_profile(profile).vault_dir) as vault:
        counts = vault.outbox_counts()
    assert counts["delivered"] == 3
    assert counts["sealed"] == 0


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the bundle path is under test
def test_drafts_sealed_by_travel_mode_travel_on_a_usb_bundle(  # noqa: PLR0917 -- fixtures
    profile: Path,
    tmp_path: Path,
    org: SimOrg,
    storage: Storage,
    server: LiveServer,
    db_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    device_id = _set_up(profile, tmp_path, org, storage, server.url, capsys)
    drafts = _drafts(profile, 2, random.Random(12))
    _cli(profile, "travel-mode", capsys=capsys)
    bundle = tmp_path / "usb.fsb"
    out = _cli(profile, "bundle", "export", str(bundle), capsys=capsys)
    assert (out["envelopes"], out["audit_envelopes"]) == (2, 1)
    assert CANARY.encode() not in bundle.read_bytes()
    code = server_main(["import-bundle", "--db", db_url, str(bundle), "--json"])
    out_text, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out_text)["outcomes"] == {"stored": 2}  # the audit segment apart
    # the central team's export command, as run off the server with the private key
    key = tmp_path / "sealing-private.json"
    key.write_text(
        json.dumps(
            crypto.protect_private_key(
                org.sealing[0], PASS.encode(), params=crypto.KdfParams.for_tests()
            )
        )
    )
    passfile = str(tmp_path / "pass.txt")
    out_dir, opened = tmp_path / "export", tmp_path / "opened"
    args = ["export", "--db", db_url, "--key", str(key), "--profile", "full", "--format", "csv"]
    args += ["--out", str(out_dir)]
    args += ["--passphrase-file", passfile, "--export-passphrase-file", passfile, "--json"]
    code = server_main(args)
    out_text, err = capsys.readouterr()
    assert code == 0, err
    summary = json.loads(out_text)
    assert (summary["exported"], summary["drafts"], summary["not_exported"]) == (2, 2, 0)
    (packed,) = out_dir.iterdir()
    assert CANARY.encode() not in packed.read_bytes()
    args = ["export-open", str(packed), "--out", str(opened), "--export-passphrase-file", passfile]
    assert server_main(args) == 0
    capsys.readouterr()
    assert "2 are unfinished interviews sealed by travel mode" in (opened / "README.txt").read_text(
        encoding="utf-8"
    )
    with (opened / "screenings.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["record_id"]: r["kind"] for r in rows} == dict.fromkeys(drafts, "draft")
    with (opened / "fs_intake.csv").open(encoding="utf-8") as handle:
        assert {r["record_id"] for r in csv.DictReader(handle)} == set(drafts)
    receipt = tmp_path / "receipt.fsr"
    server_pass = tmp_path / "server.pass"
    server_pass.write_bytes(SERVER_PASSPHRASE + b"\n")
    args = ["receipt", "--db", db_url, "--device", device_id, "--out", str(receipt)]
    code = server_main([*args, "--passphrase-file", str(server_pass)])
    capsys.readouterr()
    assert code == 0
    out = _cli(profile, "bundle", "apply-receipt", str(receipt), capsys=capsys)
    assert out["delivered"] == 2  # the audit log's segment apart


def test_a_draft_envelope_obeys_the_sync_rules_of_a_screening(
    new_device: Callable[..., SimDevice], storage: Storage, rng: random.Random
) -> None:
    """Another enrolled device cannot pass off a draft as its own or as a laptop's; a draft
    under a record id already held with another payload is a conflict, never a duplicate."""
    laptop, other = new_device(), new_device()
    good = laptop.make_envelope(rng)
    draft = build_envelope(
        good.record_id,
        good.form_id,
        good.form_version,
        laptop.device_id,
        good.seq,
        good.created,
        b'{"kind": "draft"}',
        laptop.org.sealing_public,
        laptop.signing_private,
        kind="draft",
    )
    admin = Principal("admin", frozenset(), "test")
    # signed by another device's key under the laptop's id: refused
    forged = build_envelope(
        str(_uuid(rng)),
        good.form_id,
        good.form_version,
        laptop.device_id,
        good.seq + 5,
        good.created,
        b"{}",
        laptop.org.sealing_public,
        other.signing_private,
        kind="draft",
    )
    outcomes = storage.repos.ingest.ingest([draft.to_json(), forged.to_json()], admin)
    assert [o.outcome for o in outcomes] == ["stored", "rejected"]
    assert outcomes[1].reason == "signature"
    # the same record id with another payload: a conflict held apart
    again = build_envelope(
        good.record_id,
        good.form_id,
        good.form_version,
        laptop.device_id,
        good.seq + 1,
        good.created,
        b'{"kind": "draft", "other": 1}',
        laptop.org.sealing_public,
        laptop.signing_private,
        kind="draft",
    )
    outcomes = storage.repos.ingest.ingest([again.to_json(), draft.to_json()], admin)
    assert [o.outcome for o in outcomes] == ["conflict", "duplicate"]
    held = {e.record_id: e for e in storage.repos.reporting.iter_envelopes()}
    assert held[good.record_id].sha256 == draft.sha256
    assert held[good.record_id].kind == "draft"


def _uuid(rng: random.Random) -> str:
    import uuid

    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the device side is under test
def test_drafts_an_older_server_refused_go_again_and_a_tampered_one_does_not(  # noqa: PLR0917
    profile: Path,
    tmp_path: Path,
    org: SimOrg,
    storage: Storage,
    server: LiveServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A laptop that ran travel mode before drafts were envelopes: each draft was signed over
    the vault's own header form and refused ``malformed`` by the server, so it sat ``failed``.
    The next sync sends the genuine ones, signed again by the laptop's own key; rows an
    attacker with the files edited (payload swapped and hash rewritten, signature replaced)
    stay where they are and are never signed."""
    _set_up(profile, tmp_path, org, storage, server.url, capsys)
    drafts = _drafts(profile, 5, random.Random(13))
    vault_dir = Paths.for_profile(profile).vault_dir
    refused = "malformed-kind-is-not-one-of-screening-audit"
    with Vault.open(vault_dir) as vault:
        vault.unlock("admin1", PASS.encode())
        vault.travel_mode()  # unwired, as the command line sealed before
        store = vault._open_store()
        with store.transaction() as conn:
            conn.execute("UPDATE outbox SET state = 'failed', reason = ?", (refused,))
            other = crypto.seal(org.sealing_public, b'{"forged": 1}', info=b"x", aad=b"")
            conn.execute(
                "UPDATE outbox SET sealed = ?, payload_sha256 = ? WHERE record_id = ?",
                (other, hashlib.sha256(other).hexdigest(), drafts[0]),
            )
            conn.execute(
                "UPDATE outbox SET signature = ? WHERE record_id = ?", (b"\1" * 64, drafts[1])
            )
            # the states as that build left them, stamped as the first unlock by this one does
            vault._stamp_outbox(conn, drafts)
    out = _cli(profile, "sync", capsys=capsys)
    assert out["delivered"] == 3, out  # the audit log's segment apart
    held = {e.record_id for e in storage.repos.reporting.iter_envelopes() if e.kind != "audit"}
    assert held == set(drafts[2:])  # applied 0 of the tampered, lost 0 of the genuine
    kinds, problems = _export(storage, org)
    assert problems.total == 0, problems.to_json()
    assert kinds == dict.fromkeys(drafts[2:], "draft")
    with Vault.open(vault_dir) as vault:
        rows = {i.record_id: (i.state, i.reason) for i in vault.outbox_page(states=("failed",))}
    assert rows == {drafts[0]: ("failed", refused), drafts[1]: ("failed", refused)}
