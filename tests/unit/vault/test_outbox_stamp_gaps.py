"""The two gaps the outbox stamps left, tried as someone with the laptop's files would.

1. A row moved between ``pending``, ``sending`` and ``failed`` (a failed row made pending, a
   queued one made failed so that it is never sent, a reason edited): a move into ``failed``
   is said at unlock (failed rows are verified there: they are not sent until someone retries
   them); a move into or between ``pending`` and ``sending`` is said as the sync reads the row
   to send (the sync store's real read, :class:`fieldscreen.sync.vault_bridge.VaultOutboxStore`),
   audited, and noted while locked to be audited at the next unlock. The sealed copy is kept
   and sent in every case.
2. Delivered rows deleted, renumbered or swapped so that their count and the sum of their
   sequence numbers stay the same (what the last check recorded before): the check binds
   their record ids and sequence numbers in a digest kept under the vault's keys, so it is
   said at unlock, audited, and the forged delivery found (the record is sealed again from its
   readable copy).

Counted over seeded variants: said, audited, records lost 0, silently accepted 0.
"""

from __future__ import annotations

import random
import sqlite3
from collections import Counter
from pathlib import Path

from fieldscreen import crypto
from fieldscreen.sync.vault_bridge import VaultOutboxStore, header_signing_bytes
from fieldscreen.vault import Vault
from fieldscreen.vault.base import DB_NAME
from fieldscreen.vault.outbox import OUTBOX_STATES
from tests.unit.vault.conftest import LOGIN, PASS

VARIANTS = 12


def _vault(
    folder: Path, org: dict[str, bytes], n: int, aggregate: bool = True
) -> tuple[Vault, list[str]]:
    vault = Vault.create(
        folder, admin_login=LOGIN, passphrase=PASS, kdf=crypto.KdfParams.for_tests()
    )
    vault.set_org_keys(org["sealing_public"], org["signing_public"])
    vault.use_signing_bytes(header_signing_bytes(org["sealing_public"]))
    ids = []
    for i in range(n):
        rid = vault.new_draft("f", "1", {"n": i})
        vault.finalise(
            rid,
            record={"n": i},
            case_card={"alias": f"A{i}"},
            aggregate={"c": i} if aggregate else None,
        )
        ids.append(rid)
    return vault, ids


def _unlock(folder: Path, org: dict[str, bytes]) -> Vault:
    vault = Vault.open(folder)
    vault.unlock(LOGIN, PASS)
    vault.use_signing_bytes(header_signing_bytes(org["sealing_public"]))
    vault.repair_outbox()  # what the app does right after unlock (device.wire_signing)
    return vault


def _lost(vault: Vault, ids: list[str], delivered: frozenset[str] = frozenset()) -> int:
    """Records whose envelope neither waits with its sealed copy nor was delivered by a receipt
    (``delivered``: the rows receipts delivered)."""
    rows = {r.record_id: r for r in vault.outbox_page(limit=1000, states=OUTBOX_STATES)}
    lost = 0
    for rid in ids:
        row = rows.get(rid)
        by_receipt = row is not None and row.state == "delivered" and rid in delivered
        if row is None or (row.sealed is None and not by_receipt):
            lost += 1
    return lost


def _delivered(folder: Path) -> frozenset[str]:
    raw = sqlite3.connect(folder / DB_NAME, isolation_level=None)
    try:
        rows = raw.execute("SELECT record_id FROM outbox WHERE state = 'delivered'").fetchall()
    finally:
        raw.close()
    return frozenset(str(r[0]) for r in rows)


#: (state, reason) a queued row is moved to, and where it is said: at unlock or at the sync.
QUEUED_MOVES = (
    ("failed", "server-error", "unlock"),
    ("failed", "conflict", "unlock"),
    ("sending", None, "sync"),
    ("pending", "conflict", "sync"),
)
#: A failed row moved back into the queue (or its reason edited): said at the sync or unlock.
FAILED_MOVES = (("pending", None, "sync"), ("sending", None, "sync"), ("failed", "x", "unlock"))


def test_moves_between_queued_and_failed_are_said_on_the_products_paths(
    tmp_path: Path, org: dict[str, bytes]
) -> None:
    tally: Counter[str] = Counter()
    for seed in range(VARIANTS):
        rng = random.Random(2800 + seed)
        folder = tmp_path / f"v{seed}"
        # the app's background sync reads while locked (envelopes without an aggregate: one
        # with it is read only unlocked)
        locked = seed % 2 == 1
        vault, ids = _vault(folder, org, 5, aggregate=not locked)
        failed = ids[0]
        vault.outbox_mark(failed, "failed", reason="server-error")  # the sync's own move
        vault.close()
        queued = rng.choice(ids[1:])
        to_queued = rng.choice(QUEUED_MOVES)
        to_failed = rng.choice(FAILED_MOVES)
        raw = sqlite3.connect(folder / DB_NAME, isolation_level=None)
        for rid, (state, reason, _where) in ((queued, to_queued), (failed, to_failed)):
            raw.execute(
                "UPDATE outbox SET state = ?, reason = ? WHERE record_id = ?", (state, reason, rid)
            )
        if rng.random() < 0.5:
            raw.execute("UPDATE outbox SET attempts = 0 WHERE record_id = ?", (failed,))
        raw.close()
        vault = _unlock(folder, org)
        said_at_unlock = set(vault.last_outbox_check.get("state", ()))
        if said_at_unlock:
            alert = vault.state_alert()
            assert alert is not None
            assert alert.code == "vault-outbox-state-changed"
            assert "outside FieldScreen" in alert.message("en")
            assert "fuera de FieldScreen" in alert.message("es")
        if locked:
            vault.lock()
        store = VaultOutboxStore(vault, org["sealing_public"])
        page = store.pending_page(0, 100)  # the sync's own read of what it sends
        said_at_sync = {i.record_id for i in page if i.state_changed}
        sent = {i.record_id for i in page}
        if locked:
            vault.unlock(LOGIN, PASS)  # audits what the sync noted while locked
        audited = {
            e.record_id
            for e in vault.audit_log()
            if e.action == "integrity-alert" and e.detail.get("what") == "outbox-state"
        }
        for rid, (_state, _reason, where) in ((queued, to_queued), (failed, to_failed)):
            tally["moves"] += 1
            found = said_at_unlock if where == "unlock" else said_at_sync
            if rid in found:
                tally[f"said at {where}"] += 1
            elif rid in said_at_unlock | said_at_sync:
                tally["said elsewhere"] += 1
            else:
                tally["silently accepted"] += 1
            tally["audited"] += rid in audited
            tally["sent"] += rid in sent  # queued again with its sealed copy, then read to send
        tally["records lost"] += _lost(vault, ids)
        assert vault.integrity_check().failed == []  # nothing left for status --check
        vault.close()
        vault = _unlock(folder, org)  # the repair holds: the next unlock finds nothing
        assert vault.state_alert() is None
        assert not any(i.state_changed for i in vault.outbox_send_page(limit=100))
        vault.close()
    print(f"\nqueued and failed rows moved outside FieldScreen: {dict(tally)}")
    assert tally["silently accepted"] == tally["said elsewhere"] == tally["records lost"] == 0
    assert tally["said at unlock"] + tally["said at sync"] == tally["moves"] == 2 * VARIANTS
    assert tally["audited"] == tally["sent"] == tally["moves"]


def _delivered_vault(folder: Path, org: dict[str, bytes], rng: random.Random) -> list[str]:
    """A vault whose first rows were delivered by receipts, some out of order."""
    vault, ids = _vault(folder, org, 8)
    page = {r.record_id: r for r in vault.outbox_page(limit=100)}
    delivered = ids[:5]
    kept_back = rng.choice(delivered[1:4])  # a row below the highest delivered, still queued
    vault.outbox_deliver([(rid, page[rid].payload_sha256) for rid in delivered if rid != kept_back])
    vault.close()
    _unlock(folder, org).close()  # the check records the delivered rows
    return ids


def _seqs(raw: sqlite3.Connection) -> dict[str, tuple[str, int]]:
    return {
        str(rid): (str(state), int(seq))
        for rid, state, seq in raw.execute("SELECT record_id, state, device_seq FROM outbox")
    }


def _count_and_sum(raw: sqlite3.Connection) -> tuple[int, int]:
    row = raw.execute(
        "SELECT count(*), total(device_seq) FROM outbox WHERE state = 'delivered'"
    ).fetchone()
    return int(row[0]), int(row[1])


def _forge(raw: sqlite3.Connection, rng: random.Random, how: str) -> None:
    """Delivered rows deleted or moved with their count and sum of sequence numbers kept."""
    rows = _seqs(raw)
    delivered = sorted((seq, rid) for rid, (state, seq) in rows.items() if state == "delivered")
    queued = sorted((seq, rid) for rid, (state, seq) in rows.items() if state == "pending")
    gone = "DELETE FROM outbox WHERE record_id = ?"
    forged = (
        "UPDATE outbox SET state = 'delivered', reason = NULL, sealed = NULL, signature = NULL, "
        "aggregate = NULL, device_seq = ? WHERE record_id = ?"
    )
    if how == "replace":  # a delivered row deleted, a queued one delivered in its place
        seq, victim = rng.choice(delivered)
        raw.execute(gone, (victim,))
        raw.execute(forged, (seq, rng.choice(queued)[1]))
    elif how == "replace-two":
        for seq, victim in rng.sample(delivered, 2):
            raw.execute(gone, (victim,))
            raw.execute(forged, (seq, queued.pop(rng.randrange(len(queued)))[1]))
    elif how == "renumber":  # two delivered rows' sequence numbers exchanged
        (s1, r1), (s2, r2) = rng.sample(delivered, 2)
        raw.execute("UPDATE outbox SET device_seq = -1 WHERE record_id = ?", (r1,))
        raw.execute("UPDATE outbox SET device_seq = ? WHERE record_id = ?", (s1, r2))
        raw.execute("UPDATE outbox SET device_seq = ? WHERE record_id = ?", (s2, r1))
    else:  # "swap": a queued row below the highest made delivered, a delivered one put back
        below = [(s, r) for s, r in queued if s < delivered[-1][0]]
        seq, fake = below[0]
        twin = next(r for s, r in delivered if s == seq + 1 or s == seq - 1)
        twin_seq = rows[twin][1]
        raw.execute(gone, (twin,))
        raw.execute(forged, (twin_seq, fake))
        # another queued row takes the freed number, so that the sum is kept
        raw.execute("UPDATE outbox SET device_seq = ? WHERE record_id = ?", (seq, queued[-1][1]))


FORGERIES = ("replace", "replace-two", "renumber", "swap")


def test_delivered_rows_deleted_keeping_count_and_sum_are_said_at_unlock(
    tmp_path: Path, org: dict[str, bytes]
) -> None:
    tally: Counter[str] = Counter()
    for seed in range(VARIANTS):
        rng = random.Random(2900 + seed)
        folder = tmp_path / f"v{seed}"
        ids = _delivered_vault(folder, org, rng)
        by_receipt = _delivered(folder)
        how = FORGERIES[seed % len(FORGERIES)]
        raw = sqlite3.connect(folder / DB_NAME, isolation_level=None)
        before = _count_and_sum(raw)
        _forge(raw, rng, how)
        if how != "swap":  # the count and sum the check used to trust are kept
            assert _count_and_sum(raw) == before
        raw.close()
        vault = _unlock(folder, org)
        alert = vault.state_alert()
        tally["variants"] += 1
        if alert is None:
            tally["silently accepted"] += 1
        elif alert.code == "vault-outbox-delivered-changed":
            assert "outside FieldScreen" in alert.message("en")
            assert "fuera de FieldScreen" in alert.message("es")
            tally["said at unlock"] += 1
        else:
            tally[f"said as {alert.code}"] += 1
        tally["audited"] += any(
            e.action == "integrity-alert" and e.detail.get("what") == "outbox-delivered"
            for e in vault.audit_log()
        )
        tally["records lost"] += _lost(vault, ids, by_receipt)
        vault.close()
        vault = _unlock(folder, org)  # said once: the next unlock is quiet
        tally["quiet after"] += vault.state_alert() is None
        vault.close()
    print(f"\ndelivered rows forged with their count and sum kept: {dict(tally)}")
    assert tally["silently accepted"] == tally["records lost"] == 0
    assert tally["said at unlock"] == tally["audited"] == tally["variants"] == VARIANTS
    assert tally["quiet after"] == VARIANTS


def test_deliveries_by_receipts_raise_no_alarm(tmp_path: Path, org: dict[str, bytes]) -> None:
    """Receipts in any order, while locked and unlocked, a late row below the highest one, and
    a check at every step: the delivered rows' digest never says anything."""
    folder = tmp_path / "v"
    vault, ids = _vault(folder, org, 12)
    page = {r.record_id: r for r in vault.outbox_page(limit=100)}
    rng = random.Random(7)
    order = ids[:]
    rng.shuffle(order)
    for n, rid in enumerate(order):
        if n % 3 == 0:
            vault.lock()
        vault.outbox_deliver([(rid, page[rid].payload_sha256)])
        if not vault.is_unlocked:
            vault.unlock(LOGIN, PASS)
        assert vault.check_state() is None, n
        assert vault.last_outbox_check["delivered"] == []
    vault.close()
    vault = _unlock(folder, org)
    assert vault.state_alert() is None
    vault.close()
