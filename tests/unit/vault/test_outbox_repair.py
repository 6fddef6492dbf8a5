"""The outbox against the row map, played by someone with the laptop's files.

The outbox is written while the vault is locked (background sync), so its rows are plain. An
attacker deletes the rows of finalised screenings, marks queued ones delivered, or puts a
delivered one back in the queue, with SQLite's own connection while the vault is closed. At
the next unlock the vault compares the outbox with what the row map says it finalised: each
lost record is sealed again from its readable copy and queued, signed as the server verifies;
the rest is put right; all of it audited and said in words. Counted over seeded variants:
records lost 0, silently accepted 0.
"""

from __future__ import annotations

import random
import sqlite3
from collections import Counter
from pathlib import Path

from fieldscreen import crypto
from fieldscreen.sync.vault_bridge import header_signing_bytes
from fieldscreen.vault import Vault
from fieldscreen.vault.base import DB_NAME
from fieldscreen.vault.outbox import OUTBOX_STATES
from tests.unit.vault.conftest import LOGIN, PASS

VARIANTS = 12


def _open(folder: Path, org: dict[str, bytes]) -> Vault:
    vault = Vault.open(folder)
    vault.unlock(LOGIN, PASS)
    return vault


def _make(folder: Path, org: dict[str, bytes], rng: random.Random) -> list[str]:
    vault = Vault.create(
        folder, admin_login=LOGIN, passphrase=PASS, kdf=crypto.KdfParams.for_tests()
    )
    vault.set_org_keys(org["sealing_public"], org["signing_public"])
    vault.use_signing_bytes(header_signing_bytes(org["sealing_public"]))
    ids = []
    for n in range(rng.randint(3, 6)):
        rid = vault.new_draft("f", "1", {"n": n})
        vault.finalise(rid, record={"n": n, "final": True}, case_card={"alias": f"A{n}"})
        ids.append(rid)
    vault.close()
    return ids


def test_lost_and_edited_outbox_rows_are_repaired_counted_over_variants(
    tmp_path: Path, org: dict[str, bytes]
) -> None:
    tally: Counter[str] = Counter()
    for seed in range(VARIANTS):
        rng = random.Random(700 + seed)
        folder = tmp_path / f"v{seed}"
        ids = _make(folder, org, rng)
        deleted = rng.sample(ids, rng.randint(1, len(ids) - 1))
        rest = [r for r in ids if r not in deleted]
        marked = rng.choice(rest)
        raw = sqlite3.connect(folder / DB_NAME, isolation_level=None)
        for rid in deleted:
            raw.execute("DELETE FROM outbox WHERE record_id = ?", (rid,))
        raw.execute("UPDATE outbox SET state = 'delivered' WHERE record_id = ?", (marked,))
        raw.close()
        vault = _open(folder, org)
        alert = vault.state_alert()
        assert set(vault.last_outbox_check["held"]) == set(deleted)  # sealed once wired
        # what the app does right after unlock: the signing is wired, the held ones sealed
        vault.use_signing_bytes(header_signing_bytes(org["sealing_public"]))
        vault.repair_outbox()
        if alert is None:
            tally["silently accepted"] += 1
        else:
            # a row marked delivered is a state changed outside FieldScreen: said as such
            assert alert.code == "vault-outbox-state-changed"
            assert alert.context["rows"] == 1
            assert alert.context["resealed"] == len(deleted)
            assert alert.context["requeued"] == 1
            assert "fuera de FieldScreen" in alert.message("es")
            tally["said at unlock"] += 1
        rows = {r.record_id: r for r in vault.outbox_page(limit=100, states=OUTBOX_STATES)}
        for rid in ids:
            row = rows.get(rid)
            if row is None or row.sealed is None or row.state != "pending":
                tally["records lost"] += 1
                continue
            # the new envelope is this device's, over what the server verifies
            signing = header_signing_bytes(org["sealing_public"])
            public = vault.device_public_key
            assert crypto.verify(public, signing(row.header()), row.signature or b"")
            tally["queued and signed"] += 1
        assert sorted(vault.last_outbox_check["resealed"]) == sorted(deleted)
        assert vault.last_outbox_check["held"] == []
        alerts = [e for e in vault.audit_log() if e.action == "integrity-alert"]
        assert {e.record_id for e in alerts} == {*deleted, marked}
        assert vault.integrity_check().ok
        # the repair holds: the next unlock finds nothing
        vault.close()
        vault = _open(folder, org)
        assert vault.state_alert() is None
        vault.close()
    print(f"\noutbox repairs: {dict(tally)}")
    assert tally["records lost"] == 0
    assert tally["silently accepted"] == 0
    assert tally["said at unlock"] == VARIANTS


def test_a_delivered_row_put_back_in_the_queue_is_marked_delivered_again(
    tmp_path: Path, org: dict[str, bytes]
) -> None:
    folder = tmp_path / "v"
    ids = _make(folder, org, random.Random(1))
    vault = _open(folder, org)
    first = vault.outbox_page(limit=1)[0]
    vault.outbox_deliver([(first.record_id, first.payload_sha256)])
    vault.close()
    raw = sqlite3.connect(folder / DB_NAME, isolation_level=None)
    raw.execute("UPDATE outbox SET state = 'pending' WHERE record_id = ?", (first.record_id,))
    raw.close()
    vault = _open(folder, org)
    assert vault.last_outbox_check["restored"] == [first.record_id]
    alert = vault.state_alert()
    assert alert is not None
    assert alert.context["restored"] == 1
    assert vault.outbox_counts()["delivered"] == 1
    assert len(ids) == vault.outbox_counts()["delivered"] + vault.outbox_counts()["pending"]
    vault.close()


def test_a_record_sealed_again_keeps_its_aggregate(tmp_path: Path, org: dict[str, bytes]) -> None:
    """The outbox row of a screening with an aggregate record is deleted while the vault is
    closed; the envelope sealed again carries the same aggregate, signed in its header, also
    after a key rotation; the record's kept copy goes with its purge."""
    tally: Counter[str] = Counter()
    for seed in range(VARIANTS):
        rng = random.Random(900 + seed)
        folder = tmp_path / f"v{seed}"
        vault = Vault.create(
            folder, admin_login=LOGIN, passphrase=PASS, kdf=crypto.KdfParams.for_tests()
        )
        vault.set_org_keys(org["sealing_public"], org["signing_public"])
        vault.use_signing_bytes(header_signing_bytes(org["sealing_public"]))
        aggregates = {}
        for n in range(rng.randint(2, 4)):
            rid = vault.new_draft("f", "1", {"n": n})
            aggregates[rid] = {"concerns": rng.randint(0, 9), "tier": f"T{n}"}
            vault.finalise(
                rid, record={"n": n}, case_card={"alias": f"A{n}"}, aggregate=aggregates[rid]
            )
        if seed % 2:
            vault.rotate_keys(admin_passphrase=PASS)
        vault.close()
        lost = rng.choice(sorted(aggregates))
        raw = sqlite3.connect(folder / DB_NAME, isolation_level=None)
        raw.execute("DELETE FROM outbox WHERE record_id = ?", (lost,))
        raw.close()
        vault = _open(folder, org)
        vault.use_signing_bytes(header_signing_bytes(org["sealing_public"]))
        vault.repair_outbox()
        rows = {r.record_id: r for r in vault.outbox_page(limit=100, states=OUTBOX_STATES)}
        tally["variants"] += 1
        if rows[lost].aggregate == aggregates[lost]:
            tally["aggregate kept"] += 1
        header = rows[lost].header()
        signed = crypto.verify(
            vault.device_public_key,
            header_signing_bytes(org["sealing_public"])(header),
            rows[lost].signature or b"",
        )
        tally["signed with it"] += signed and header.get("aggregate") == aggregates[lost]
        assert vault.integrity_check().failed == []
        vault.close()
    print(f"\nre-sealed with its aggregate: {dict(tally)}")
    assert tally["aggregate kept"] == tally["signed with it"] == tally["variants"] == VARIANTS


def test_a_records_kept_aggregate_goes_with_its_purge(
    tmp_path: Path, org: dict[str, bytes]
) -> None:
    vault = Vault.create(
        tmp_path / "v", admin_login=LOGIN, passphrase=PASS, kdf=crypto.KdfParams.for_tests()
    )
    vault.set_org_keys(org["sealing_public"], org["signing_public"])
    kept, purged = vault.new_draft("f", "1", {}), vault.new_draft("f", "1", {})
    for rid in (kept, purged):
        vault.finalise(rid, record={}, case_card={}, aggregate={"concerns": 3})
    vault.close()
    raw = sqlite3.connect(tmp_path / "v" / DB_NAME, isolation_level=None)
    assert raw.execute("SELECT count(*) FROM records WHERE aggregate IS NOT NULL").fetchone() == (
        2,
    )
    vault = _open(tmp_path / "v", org)
    vault.travel_mode()
    vault.close()
    assert raw.execute("SELECT count(*) FROM records WHERE aggregate IS NOT NULL").fetchone() == (
        0,
    )
    raw.close()
