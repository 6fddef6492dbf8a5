"""The central export opens a device's ``audit`` envelopes into an ``audit`` table (who opened
which record, when) and never counts them as undecodable; an audit envelope that is not
genuinely its device's own is refused like a screening."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from fieldscreen import crypto
from fieldscreen.forms.library import builtin_forms
from fieldscreen.reports.export import (
    AUDIT_COLUMNS,
    ExportProblems,
    build_tables,
    open_records,
    parse_profile,
)
from fieldscreen.sync.envelope import Envelope, build_envelope, key_id_hex
from fieldscreen.sync.vault_bridge import envelope_from_item, header_signing_bytes
from fieldscreen.vault import Vault

PASS = b"correct horse battery"


pytestmark = pytest.mark.usefixtures("light_kdf")  # Argon2id at the test parameters


@pytest.fixture
def org() -> tuple[bytes, bytes]:
    return crypto.generate_sealing_keypair()


def _vault(folder: Path, org_public: bytes) -> Vault:
    vault = Vault.create(
        folder, admin_login="admin1", passphrase=PASS, kdf=crypto.KdfParams.for_tests()
    )
    _, signing_public = crypto.generate_signing_keypair()
    vault.set_org_keys(org_public, signing_public)
    vault.use_signing_bytes(header_signing_bytes(org_public))
    return vault


def _envelopes(vault: Vault, org_public: bytes) -> list[Envelope]:
    key_id = key_id_hex(org_public)
    return [envelope_from_item(item, key_id) for item in vault.outbox_page()]


def test_audit_envelopes_become_the_audit_table(tmp_path: Path, org: tuple[bytes, bytes]) -> None:
    private, public = org
    vault = _vault(tmp_path / "a", public)
    rid = vault.new_draft("fs_intake", "1", {})
    vault.load_record(rid)
    vault.seal_audit_segments()
    vault.new_draft("fs_intake", "1", {})
    vault.seal_audit_segments()
    envelopes = _envelopes(vault, public)
    assert [e.kind for e in envelopes] == ["audit", "audit"]
    keys = {vault.device_id: vault.device_public_key}
    problems = ExportProblems()
    # an entry sent twice (a mark lost on the laptop) is one row
    records = list(
        open_records([*envelopes, envelopes[0]], keys.get, private, builtin_forms(), problems)
    )
    assert problems.total == 0
    assert not problems.contested
    tables = build_tables(records, builtin_forms(), parse_profile("full"))
    audit = tables["audit"]
    assert tuple(audit.columns) == AUDIT_COLUMNS
    log = vault.audit_log()
    assert [row[1] for row in audit.rows] == [e.seq for e in log]
    assert [(row[4], row[5]) for row in audit.rows] == [(e.action, e.record_id) for e in log]
    assert ("view", rid) in {(row[4], row[5]) for row in audit.rows}
    assert {row[0] for row in audit.rows} == {vault.device_id}
    assert tables["screenings"].rows == []  # an audit segment is no screening
    for profile in ("deidentified", "recipient:unhcr"):
        assert "audit" not in build_tables(records, builtin_forms(), parse_profile(profile))
    vault.close()


def test_another_devices_audit_envelope_under_this_device_id_is_refused(
    tmp_path: Path, org: tuple[bytes, bytes]
) -> None:
    """Another enrolled device seals and signs an audit segment naming this device (to put
    entries in its log, or to hide its own): verified under this device's key, it is refused."""
    private, public = org
    victim = _vault(tmp_path / "victim", public)
    other = _vault(tmp_path / "other", public)
    other.new_draft("fs_intake", "1", {})
    other.seal_audit_segments()
    [genuine] = _envelopes(other, public)
    keys = {victim.device_id: victim.device_public_key, other.device_id: other.device_public_key}
    rng = random.Random(19)
    accepted = refused = 0
    signing_private, _ = crypto.generate_signing_keypair()  # a key that is not the victim's
    for n in range(12):
        if n % 2:  # the other device's envelope relabelled with the victim's id
            forged = Envelope(
                **{
                    **{s: getattr(genuine, s) for s in Envelope.__slots__},
                    "device_id": victim.device_id,
                }
            )
        else:  # a fresh segment sealed to the team, claiming the victim's id, another key
            record_id = f"{rng.getrandbits(128):032x}"
            entry = {"a": "view", "r": None, "seq": 1, "t": "2026-12-04T00:00+00:00", "u": "x"}
            payload = {
                "kind": "audit",
                "record_id": record_id,
                "device_id": victim.device_id,
                "content": {"entries": [entry], "first": 1, "last": 1},
            }
            forged = build_envelope(
                record_id,
                "audit",
                "1",
                victim.device_id,
                n + 1,
                "2026-12-04",
                json.dumps(payload).encode(),
                public,
                signing_private,
                kind="audit",
            )
        problems = ExportProblems()
        records = list(open_records([forged], keys.get, private, builtin_forms(), problems))
        tables = build_tables(records, builtin_forms(), parse_profile("full"))
        if "audit" in tables:
            accepted += 1
        if problems.unverified == [forged.record_id]:
            refused += 1
    assert (accepted, refused) == (0, 12)
    victim.close()
    other.close()
