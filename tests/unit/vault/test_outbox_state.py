"""An outbox row's state moved outside FieldScreen while the laptop is locked.

The outbox is plain so that sync goes on while the vault is locked. Someone with the laptop's
files moves rows to another state with SQLite's own connection while the vault is closed:
queued screenings held for review (never sent), marked failed or sending, marked delivered
with their sealed copy removed (as if a receipt had come), a delivered row put back in the
queue. At the next unlock each row's state is checked against its stamp (``state_mac``, an
HMAC under a key of the vault that this process keeps through the lock, so its own sync while
locked stamps what it changes): every moved row is said in words and audited, and nothing is
lost (a row still holding its sealed copy is queued again; a screening whose sealed copy was
removed is sealed again from its readable copy). A move into or between ``pending`` and
``sending`` (rows sent anyway) is said as the sync reads the row to send. Counted over seeded
variants: flagged, said, audited, records lost 0, silently accepted 0; and this laptop's own
sync while locked is never flagged.
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
#: Moves that keep a row from being sent, or take its sealed copy: said at unlock.
MOVES = (
    ("quarantined", "conflict", False),
    ("quarantined", "tampered", False),
    ("failed", "server-error", False),  # not sent until someone retries it
    ("failed", "conflict", False),
    ("delivered", None, True),  # and the sealed copy removed, as a receipt would
    ("pending", None, True),  # the sealed copy removed, the state left
)
#: Moves between the states whose rows are sent anyway (their sealed copies are read only to
#: send them): said as the sync reads them to send.
SENT_ANYWAY = (("sending", None), ("pending", "conflict"), ("sending", "server-error"))


def _vault(folder: Path, org: dict[str, bytes], n: int) -> tuple[Vault, list[str]]:
    vault = Vault.create(
        folder, admin_login=LOGIN, passphrase=PASS, kdf=crypto.KdfParams.for_tests()
    )
    vault.set_org_keys(org["sealing_public"], org["signing_public"])
    vault.use_signing_bytes(header_signing_bytes(org["sealing_public"]))
    ids = []
    for i in range(n):
        rid = vault.new_draft("f", "1", {"n": i})
        vault.finalise(rid, record={"n": i}, case_card={"alias": f"A{i}"}, aggregate={"c": i})
        ids.append(rid)
    return vault, ids


def _unlock(folder: Path, org: dict[str, bytes]) -> Vault:
    vault = Vault.open(folder)
    vault.unlock(LOGIN, PASS)
    vault.use_signing_bytes(header_signing_bytes(org["sealing_public"]))
    vault.repair_outbox()  # what the app does right after unlock (device.wire_signing)
    return vault


def test_an_outbox_state_moved_while_locked_is_said_at_unlock_and_nothing_is_lost(
    tmp_path: Path, org: dict[str, bytes]
) -> None:
    tally: Counter[str] = Counter()
    for seed in range(VARIANTS):
        rng = random.Random(1500 + seed)
        folder = tmp_path / f"v{seed}"
        vault, ids = _vault(folder, org, rng.randint(3, 5))
        vault.close()
        moved = rng.sample(ids, rng.randint(1, len(ids) - 1))
        others = [rid for rid in ids if rid not in moved]
        harmless = rng.choice(others)
        raw = sqlite3.connect(folder / DB_NAME, isolation_level=None)
        state, reason = rng.choice(SENT_ANYWAY)
        raw.execute(
            "UPDATE outbox SET state = ?, reason = ? WHERE record_id = ?", (state, reason, harmless)
        )
        for rid in moved:
            state, reason, drop = rng.choice(MOVES)
            tail = ", sealed = NULL, signature = NULL, aggregate = NULL" if drop else ""
            raw.execute(
                f"UPDATE outbox SET state = ?, reason = ?{tail} WHERE record_id = ?",
                (state, reason, rid),
            )
        raw.close()
        vault = Vault.open(folder)
        vault.unlock(LOGIN, PASS)
        alert = vault.state_alert()
        tally["variants"] += 1
        if alert is None:
            tally["silently accepted"] += 1
        elif alert.code == "vault-outbox-state-changed" and alert.context["rows"] == len(moved):
            assert "outside FieldScreen" in alert.message("en")
            assert "fuera de FieldScreen" in alert.message("es")
            tally["said at unlock"] += 1
        audited = {
            e.record_id
            for e in vault.audit_log()
            if e.action == "integrity-alert" and e.detail.get("what") == "outbox-state"
        }
        tally["audited"] += audited == set(moved)
        vault.use_signing_bytes(header_signing_bytes(org["sealing_public"]))
        vault.repair_outbox()
        rows = {r.record_id: r for r in vault.outbox_page(limit=100, states=OUTBOX_STATES)}
        for rid in ids:
            row = rows.get(rid)
            if (
                row is None
                or row.sealed is None
                or row.state not in ("pending", "failed", "sending")
            ):
                tally["records lost"] += 1
            elif row.aggregate is None:
                tally["aggregate lost"] += 1
        assert vault.integrity_check().failed == [f"outbox/{harmless}"]  # named, sent anyway
        sent = {i.record_id: i for i in vault.outbox_send_page(limit=100)}  # what the sync reads
        if sent[harmless].state_changed and all(
            not i.state_changed for rid, i in sent.items() if rid != harmless
        ):
            tally["sent anyway, said as the sync reads it"] += 1
        tally["audited at sync"] += any(
            e.record_id == harmless and e.detail.get("via") == "sync" for e in vault.audit_log()
        )
        assert vault.integrity_check().failed == []
        vault.close()
        vault = _unlock(folder, org)  # the repair holds: the next unlock finds nothing
        assert vault.state_alert() is None
        vault.close()
    print(f"\noutbox states moved while locked: {dict(tally)}")
    assert tally["silently accepted"] == 0
    assert tally["records lost"] == tally["aggregate lost"] == 0
    assert tally["said at unlock"] == tally["audited"] == tally["variants"] == VARIANTS
    assert tally["sent anyway, said as the sync reads it"] == tally["audited at sync"] == VARIANTS


def test_this_laptops_own_sync_while_locked_is_not_flagged(
    tmp_path: Path, org: dict[str, bytes]
) -> None:
    """The app locks; its sync goes on in the same process and delivers, fails and holds rows
    (no keys: the outbox key kept through the lock stamps them); the next unlock is quiet. A
    process that never unlocked (no key) stamps nothing, and its change is said."""
    folder = tmp_path / "v"
    vault, ids = _vault(folder, org, 4)
    page = {r.record_id: r for r in vault.outbox_page(limit=10)}
    vault.lock()
    assert not vault.is_unlocked
    vault.outbox_mark_many(ids[:2], "sending")
    vault.outbox_deliver([(ids[0], page[ids[0]].payload_sha256)])
    vault.outbox_mark(ids[1], "failed", reason="server-error")
    vault.outbox_mark(ids[2], "quarantined", reason="conflict")
    vault.unlock(LOGIN, PASS)
    assert vault.state_alert() is None
    assert vault.last_outbox_check["state"] == []
    vault.close()
    other = Vault.open(folder)  # a process that never unlocked
    other.outbox_mark(ids[3], "quarantined", reason="conflict")
    other.close()
    vault = Vault.open(folder)
    vault.unlock(LOGIN, PASS)
    assert vault.last_outbox_check["state"] == [ids[3]]
    alert = vault.state_alert()
    assert alert is not None
    assert alert.code == "vault-outbox-state-changed"
    vault.close()
