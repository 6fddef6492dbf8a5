"""The state digest's row map, played by someone with the laptop's files and an older copy.

Each attack edits the database with its own SQLite connection while the vault is closed (as a
person with the files would), then the vault is opened, unlocked and read through its real
paths. Counted over seeded variants: silently accepted 0, stale data read 0, rows deleted 0.
"""

from __future__ import annotations

import random
import sqlite3
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from fieldscreen import crypto
from fieldscreen.vault import Vault, VaultError
from fieldscreen.vault.base import DB_NAME
from fieldscreen.vault.errors import IntegrityError
from tests.unit.vault.conftest import LOGIN, PASS

VARIANTS = 12


def _raw(folder: Path) -> sqlite3.Connection:
    return sqlite3.connect(folder / DB_NAME, isolation_level=None)


def _row(conn: sqlite3.Connection, table: str, key: str, value: str) -> dict[str, Any]:
    cursor = conn.execute(f"SELECT * FROM {table} WHERE {key} = ?", (value,))
    names = [c[0] for c in cursor.description]
    return dict(zip(names, cursor.fetchone(), strict=True))


def _put_back(conn: sqlite3.Connection, table: str, row: dict[str, Any]) -> None:
    names = list(row)
    marks = ", ".join("?" * len(names))
    conn.execute(
        f"INSERT OR REPLACE INTO {table} ({', '.join(names)}) VALUES ({marks})",
        [row[n] for n in names],
    )


def _reopen(folder: Path) -> Vault:
    vault = Vault.open(folder)
    vault.unlock(LOGIN, PASS)
    return vault


def _alerts(vault: Vault) -> list[Any]:
    return [e for e in vault.audit_log() if e.action == "integrity-alert"]


def _make(folder: Path, org: dict[str, bytes], rng: random.Random) -> tuple[Vault, list[str]]:
    vault = Vault.create(
        folder, admin_login=LOGIN, passphrase=PASS, kdf=crypto.KdfParams.for_tests()
    )
    vault.set_org_keys(org["sealing_public"], org["signing_public"])
    ids = [vault.new_draft("f", "1", {"n": n}) for n in range(rng.randint(2, 5))]
    return vault, ids


def test_an_older_copy_of_a_draft_row_is_caught_at_read_and_never_saved_over(
    tmp_path: Path, org: dict[str, bytes]
) -> None:
    tally: Counter[str] = Counter()
    codes: Counter[str] = Counter()
    texts: list[tuple[str, str]] = []
    for seed in range(VARIANTS):
        rng = random.Random(seed)
        folder = tmp_path / f"v{seed}"
        vault, ids = _make(folder, org, rng)
        target = rng.choice(ids)
        raw = _raw(folder)
        old = _row(raw, "records", "id", target)  # the copy the attacker kept
        for i in range(rng.randint(1, 4)):
            vault.save_draft(target, {"n": "newer", "i": i})
        current = _row(raw, "records", "id", target)
        vault.close()
        _put_back(raw, "records", old)  # version, ciphertext and day together
        vault = _reopen(folder)
        tally["variants"] += 1
        for name in ("load_record", "save_draft"):
            args: tuple[object, ...] = (target,) if name == "load_record" else (target, {})
            try:
                value = getattr(vault, name)(*args)
            except IntegrityError as error:
                codes[error.code] += 1
                texts.append((error.message("en"), error.message("es")))
                tally["caught"] += 1
            else:
                tally["silently accepted"] += 1
                if value != {"n": "newer"}:
                    tally["stale data read"] += 1
        assert _row(raw, "records", "id", target) == old  # nothing saved over it
        assert current["version"] > old["version"]
        alerts = _alerts(vault)
        assert {a.record_id for a in alerts} == {target}
        assert all(a.detail["problem"] == "rolled-back" for a in alerts)
        others = [i for i in ids if i != target]
        assert all(vault.load_record(i) == {"n": ids.index(i)} for i in others)
        assert f"records/{target}" in vault.integrity_check().failed
        vault.close()
        raw.close()
    print(f"\nrolled-back draft row: {dict(tally)}")
    assert tally["caught"] == 2 * VARIANTS
    assert codes == {"vault-record-rolled-back": 2 * VARIANTS}
    assert all("older" in en and "antigua" in es for en, es in texts)
    assert tally["silently accepted"] == 0
    assert tally["stale data read"] == 0


def test_a_deleted_record_row_is_caught_at_read_and_in_the_state_check(
    tmp_path: Path, org: dict[str, bytes]
) -> None:
    tally: Counter[str] = Counter()
    for seed in range(VARIANTS):
        rng = random.Random(100 + seed)
        folder = tmp_path / f"v{seed}"
        vault, ids = _make(folder, org, rng)
        target = rng.choice(ids)
        vault.close()
        raw = _raw(folder)
        raw.execute("DELETE FROM records WHERE id = ?", (target,))
        vault = _reopen(folder)
        check = vault.last_state_check
        assert check is not None
        assert not check.intact
        assert not check.counts_match
        with pytest.raises(IntegrityError) as caught:
            vault.load_record(target)
        assert caught.value.code == "vault-record-deleted"
        tally["caught"] += 1
        assert not vault.integrity_check().ok
        assert any(a.record_id == target for a in _alerts(vault))
        assert len(vault.list_records()) == len(ids) - 1  # nothing else went
        vault.close()
        raw.close()
    assert tally["caught"] == VARIANTS


def test_a_case_card_put_back_from_an_older_copy_is_caught(
    tmp_path: Path, org: dict[str, bytes]
) -> None:
    for seed in range(VARIANTS // 2):
        rng = random.Random(200 + seed)
        folder = tmp_path / f"v{seed}"
        vault, ids = _make(folder, org, rng)
        target = rng.choice(ids)
        vault.finalise(target, record={"r": 1}, case_card={"alias": "old", "tier": "T2"})
        raw = _raw(folder)
        old = _row(raw, "case_cards", "record_id", target)
        vault.update_case_card(target, {"alias": "new", "tier": "T0"})
        vault.close()
        _put_back(raw, "case_cards", old)
        vault = _reopen(folder)
        with pytest.raises(IntegrityError) as caught:
            vault.case_card(target)
        assert caught.value.code == "vault-record-rolled-back"
        with pytest.raises(IntegrityError):
            vault.update_case_card(target, {"alias": "over"})
        assert vault.case_cards([target]) == {}  # the queue never shows the older card
        rows = {r.record_id: r for r in vault.case_list()}
        assert rows[target].alias != "old"
        vault.close()
        raw.close()


def test_a_bucket_of_the_map_put_back_with_its_row_is_caught(
    tmp_path: Path, org: dict[str, bytes]
) -> None:
    rng = random.Random(5)
    folder = tmp_path / "v"
    vault, ids = _make(folder, org, rng)
    target = ids[0]
    raw = _raw(folder)
    old_row = _row(raw, "records", "id", target)
    old_map = dict(raw.execute("SELECT bucket, ciphertext FROM row_map"))
    vault.save_draft(target, {"n": "newer"})
    changed = {
        b: c
        for b, c in raw.execute("SELECT bucket, ciphertext FROM row_map")
        if old_map.get(b) != c
    }
    vault.close()
    _put_back(raw, "records", old_row)
    for bucket in changed:
        raw.execute("UPDATE row_map SET ciphertext = ? WHERE bucket = ?", (old_map[bucket], bucket))
    vault = _reopen(folder)
    check = vault.last_state_check
    assert check is not None
    assert check.bad_groups
    with pytest.raises(IntegrityError) as caught:
        vault.load_record(target)
    assert caught.value.code == "vault-record-altered"
    assert _alerts(vault)
    vault.close()
    raw.close()


def test_a_draft_save_reads_its_bucket_once_and_a_bucket_put_back_between_saves_is_caught(
    tmp_path: Path, org: dict[str, bytes]
) -> None:
    """A save reads its row-map bucket once for the check and the write (8 statements); what
    it read is not kept past its transaction, so an older bucket put back by another
    connection while the vault stays unlocked is caught by the next save."""
    folder = tmp_path / "v"
    vault, ids = _make(folder, org, random.Random(11))
    target = ids[0]
    vault.save_draft(target, {"n": "first"})  # the bucket verified and cached
    raw = _raw(folder)
    old_map = dict(raw.execute("SELECT bucket, ciphertext FROM row_map"))
    conn = vault._open_store().conn
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        version = vault.save_draft(target, {"n": "second"})
    finally:
        conn.set_trace_callback(None)
    assert len(statements) == 8, statements
    assert sum("FROM row_map" in s for s in statements) == 1, statements
    assert vault.load_record(target) == {"n": "second"}
    changed = [
        b for b, c in raw.execute("SELECT bucket, ciphertext FROM row_map") if old_map.get(b) != c
    ]
    assert len(changed) == 1
    raw.execute("UPDATE row_map SET ciphertext = ? WHERE bucket = ?", (old_map[changed[0]],
                changed[0]))  # fmt: skip
    with pytest.raises(IntegrityError):
        vault.save_draft(target, {"n": "third"})
    vault.close()
    raw.close()
    vault = _reopen(folder)
    check = vault.last_state_check
    assert check is not None
    assert check.bad_groups
    vault.close()
    assert version == 3


def test_a_rolled_back_finalised_row_is_not_purged(tmp_path: Path, org: dict[str, bytes]) -> None:
    rng = random.Random(9)
    folder = tmp_path / "v"
    vault, ids = _make(folder, org, rng)
    raw = _raw(folder)
    for rid in ids:
        vault.finalise(rid, record={"r": rid}, case_card={"alias": "a"})
    target = ids[0]
    old = _row(raw, "records", "id", target)
    vault.close()
    raw.execute("UPDATE records SET version = version - 1 WHERE id = ?", (target,))
    later = datetime.now(UTC) + timedelta(days=30)  # every window closed
    vault = Vault.open(folder, clock=lambda: later)
    vault.unlock(LOGIN, PASS)
    purged = vault.purge_due()
    assert purged == len(ids) - 1
    kept = _row(raw, "records", "id", target)
    assert kept["ciphertext"] == old["ciphertext"]  # kept, not purged because of it
    assert any(a.detail.get("what") == "purge" for a in _alerts(vault))
    vault.close()
    raw.close()


def test_a_clean_vault_checks_clean_and_keeps_checking_clean(vault: Vault) -> None:
    ids = [vault.new_draft("f", "1", {"n": n}) for n in range(3)]
    vault.finalise(ids[0], record={"r": 1}, case_card={"alias": "a"})
    vault.update_case_card(ids[0], {"alias": "b"})
    vault.travel_mode()
    vault.lock()
    vault.unlock(LOGIN, PASS)
    assert vault.last_state_check is not None
    assert vault.last_state_check.intact
    report = vault.integrity_check()
    assert report.ok, report.to_json()
    assert not _alerts(vault)
    with pytest.raises(VaultError):
        vault.load_record(ids[1])  # purged by travel mode: a state error, not an alert
    assert not _alerts(vault)


def test_deleted_newest_audit_rows_are_caught_at_unlock_counted_over_variants(
    tmp_path: Path, org: dict[str, bytes]
) -> None:
    tally: Counter[str] = Counter()
    for seed in range(VARIANTS):
        rng = random.Random(300 + seed)
        folder = tmp_path / f"v{seed}"
        vault, ids = _make(folder, org, rng)
        for rid in ids:
            vault.load_record(rid)  # views: entries worth hiding
        vault.close()
        raw = _raw(folder)
        newest = raw.execute("SELECT max(seq) FROM audit").fetchone()[0]
        how = rng.choice(["tail", "middle", "one-middle-copied"])
        if how == "tail":
            raw.execute("DELETE FROM audit WHERE seq > ?", (newest - rng.randint(1, 3),))
        elif how == "middle":
            raw.execute("DELETE FROM audit WHERE seq = ?", (rng.randint(2, newest - 1),))
        else:  # one entry replaced by a copy of its neighbour (same count, same head)
            seq = rng.randint(2, newest - 1)
            ct, mac = raw.execute(
                "SELECT ciphertext, mac FROM audit WHERE seq = ?", (seq - 1,)
            ).fetchone()
            raw.execute("UPDATE audit SET ciphertext = ?, mac = ? WHERE seq = ?", (ct, mac, seq))
        vault = Vault.open(folder)
        vault.unlock(LOGIN, PASS)
        alert = vault.state_alert()
        report = vault.integrity_check()
        if how == "one-middle-copied" and alert is None:
            tally["left to the full check"] += 1  # already verified at an earlier unlock
        elif alert is None:
            tally["silently accepted"] += 1
        else:
            assert alert.code == "vault-state-altered"
            assert "auditoría" in alert.message("es")
            tally["caught at unlock"] += 1
        assert not report.audit_intact
        tally["caught by status --check"] += 1
        vault.close()
        raw.close()
    print(f"\ndeleted audit rows: {dict(tally)}")
    assert tally["silently accepted"] == 0
    assert tally["caught by status --check"] == VARIANTS


def test_the_check_before_sync_and_at_unlock_are_cheap_and_clean(vault: Vault) -> None:
    for n in range(20):
        vault.new_draft("f", "1", {"n": n})
    assert vault.check_state() is None
    vault.lock()
    vault.unlock(LOGIN, PASS)
    assert vault.state_alert() is None
    assert vault.last_audit_check is not None
    assert vault.last_audit_check.intact


def test_a_key_rotation_carries_the_map_and_the_audit_mark_forward(vault: Vault) -> None:
    ids = [vault.new_draft("f", "1", {"n": n}) for n in range(4)]
    vault.lock()
    vault.unlock(LOGIN, PASS)  # sets the audit mark under the old keys
    vault.rotate_keys(admin_passphrase=PASS)
    vault.lock()
    vault.unlock(LOGIN, PASS)
    assert vault.state_alert() is None
    assert vault.integrity_check().ok
    assert [vault.load_record(i) for i in ids] == [{"n": n} for n in range(4)]
    assert not _alerts(vault)


def _cards(vault: Vault, count: int) -> list[str]:
    ids = []
    for n in range(count):
        record = vault.new_draft("f", "1", {"n": n})
        vault.finalise(record, record={"n": n}, case_card={"alias": f"A{n}", "tier": "T1"})
        ids.append(record)
    return ids


def test_a_case_card_and_its_list_bucket_put_back_together_are_caught_by_the_list(
    tmp_path: Path, org: dict[str, bytes]
) -> None:
    from fieldscreen.vault import listindex

    tally: Counter[str] = Counter()
    for seed in range(VARIANTS):
        rng = random.Random(300 + seed)
        folder = tmp_path / f"v{seed}"
        vault, _ = _make(folder, org, rng)
        ids = _cards(vault, rng.randint(2, 5))
        target = rng.choice(ids)
        vault.case_list()  # the index as it was
        raw = _raw(folder)
        old_card = _row(raw, "case_cards", "record_id", target)
        old_buckets = [
            dict(zip(("bucket", "ciphertext", "format"), r, strict=True))
            for r in raw.execute("SELECT bucket, ciphertext, format FROM list_index")
        ]
        vault.update_case_card(target, {"alias": "newer", "tier": "T0"})
        vault.case_list()
        vault.close()
        _put_back(raw, "case_cards", old_card)  # the card and its bucket from the same copy
        for bucket in old_buckets:
            _put_back(raw, "list_index", bucket)
        raw.close()
        vault = _reopen(folder)
        tally["variants"] += 1
        alert = vault.state_alert()
        tally["caught at unlock"] += alert is not None
        rows = {r.record_id: r for r in vault.case_list()}
        shown = rows[target]
        if shown.carded and shown.alias != "newer":
            tally["stale data read"] += 1
        if shown.carded and shown.alias == "newer":
            tally["silently accepted"] += 1  # the older card cannot have given these fields
        others = [i for i in ids if i != target]
        assert all(rows[i].carded and rows[i].alias == f"A{ids.index(i)}" for i in others)
        alerts = [a for a in _alerts(vault) if (a.detail or {}).get("what") == "case-list"]
        tally["audited by the list"] += bool(alerts) and alerts[-1].detail["buckets"] >= 1
        with pytest.raises(IntegrityError):
            vault.case_card(target)
        # the list rebuilt the bucket from the cards that match (the older card left out, so it
        # stays refused), and the root records the bucket as rebuilt
        vault.check_state()
        assert vault.last_state_check is not None
        assert vault.last_state_check.list_buckets == set()
        index = listindex.check(vault._open_store().conn, vault._keys)  # type: ignore[arg-type]
        assert index.stale_buckets == {listindex.bucket_of(vault._keys, target)}  # type: ignore[arg-type]
        vault.close()
    print(f"\ncase card and list bucket from an older copy: {dict(tally)}")
    assert tally["stale data read"] == 0
    assert tally["silently accepted"] == 0
    assert tally["caught at unlock"] == VARIANTS
    assert tally["audited by the list"] == VARIANTS


def test_a_root_without_list_buckets_records_them_at_the_first_list_without_alarm(
    vault: Vault, org: dict[str, bytes]
) -> None:
    from fieldscreen.vault import digest, listindex

    vault.set_org_keys(org["sealing_public"], org["signing_public"])
    _cards(vault, 3)
    vault.case_list()
    conn = vault._open_store().conn
    keys = vault._keys
    assert keys is not None
    assert digest.LIST_BUCKETS == listindex.BUCKETS
    with vault._tx() as tx:  # the root of the form before list buckets (RM1)
        root = digest.read_root(tx, keys)
        assert root is not None
        assert root.lists is not None
        raw = root.encode()
        legacy = b"RM1" + raw[3 : 3 + 16 + 32 * digest.GROUPS]
        digest._write_root(tx, keys, digest.Root.decode(legacy))
    assert digest.read_root(conn, keys).lists is None  # type: ignore[union-attr]
    assert vault.check_state() is None
    before = len(_alerts(vault))
    assert all(r.carded for r in vault.case_list() if r.status == "finalised")
    assert len(_alerts(vault)) == before
    assert digest.read_root(conn, keys).lists == root.lists  # type: ignore[union-attr]
    assert vault.check_state() is None


def _listed(vault: Vault) -> dict[str, tuple[str, str | None]]:
    """What every list of the vault shows of each record: (status, day), the same in each."""
    shown = {r.record_id: (r.status, r.updated_day) for r in vault.case_list()}
    columns = {rid: (status, day) for rid, status, day in vault.case_columns().rows}
    records = {r.record_id: (r.status, r.updated_day) for r in vault.list_records()}
    statuses = vault.record_statuses(shown)
    assert shown == columns == records
    assert statuses == {rid: status for rid, (status, _) in shown.items()}
    return shown


def test_the_lists_show_a_record_row_as_the_vault_last_wrote_it(
    tmp_path: Path, org: dict[str, bytes]
) -> None:
    """Someone with the files puts back an older record row (a finalised screening back to a
    draft of last week), or edits its plaintext status or day, or adds a row the vault never
    wrote: the case list, its columns, the record list and the statuses show what the vault
    last wrote, leave out the row it never wrote, audit it and say it after the list."""
    tally: Counter[str] = Counter()
    hows = ("older row", "status", "day", "created day", "extra row")
    for seed in range(VARIANTS * 2):
        rng = random.Random(300 + seed)
        how = hows[seed % len(hows)]
        folder = tmp_path / f"v{seed}"
        vault, ids = _make(folder, org, rng)
        raw = _raw(folder)
        target = rng.choice(ids)
        old = _row(raw, "records", "id", target)
        vault.finalise(target, record={"r": 1}, case_card={"alias": "a"})
        if rng.random() < 0.5:
            vault.finalise(ids[ids.index(target) - 1], record={"r": 2}, case_card={"alias": "b"})
        before = _listed(vault)
        vault.close()
        extra = "e" * 32
        if how == "older row":
            _put_back(raw, "records", old)
        elif how == "status":
            raw.execute("UPDATE records SET status = 'draft' WHERE id = ?", (target,))
        elif how == "day":
            raw.execute("UPDATE records SET updated_day = '2020-01-01' WHERE id = ?", (target,))
        elif how == "created day":
            raw.execute("UPDATE records SET created_day = '2020-01-01' WHERE id = ?", (target,))
        else:
            _put_back(raw, "records", {**old, "id": extra})
        vault = _reopen(folder)
        tally["variants"] += 1
        after = _listed(vault)
        if after != before:
            tally["stale data read"] += 1
        alerts = [a for a in _alerts(vault) if a.detail.get("what") == "records"]
        if len(alerts) == 1 and alerts[0].detail["rows"] == 1:
            tally["audited"] += 1
        alert = vault.state_alert()
        if how == "created day":  # not shown by a list: the record's read says it too
            with pytest.raises(IntegrityError):
                vault.load_record(target)
            tally["caught at read"] += 1
        if alert is not None and alert.code == "vault-state-altered":
            tally["said"] += 1
        _listed(vault)  # a second list: the same, and audited once
        assert len([a for a in _alerts(vault) if a.detail.get("what") == "records"]) == 1
        vault.close()
        raw.close()
    print(f"\nrecord rows the lists show: {dict(tally)}")
    assert tally["stale data read"] == 0
    assert tally["audited"] == tally["variants"] == tally["said"] == VARIANTS * 2


def test_the_case_list_checks_only_rows_its_index_does_not_vouch_for(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A carded record's list entry holds the status and day written with it: an untouched
    list looks up no finalised row in the row map, only the drafts."""
    ids = [vault.new_draft("f", "1", {"n": n}) for n in range(6)]
    for rid in ids[:4]:
        vault.finalise(rid, record={"r": rid}, case_card={"alias": rid[:4]})
    vault.purge_due()
    looked: list[list[str] | None] = []
    real = vault._row_map.row_fixes

    def spy(conn: Any, keys: Any, only: Any = None) -> Any:
        looked.append(None if only is None else sorted(only))
        return real(conn, keys, only)

    monkeypatch.setattr(vault._row_map, "row_fixes", spy)
    vault.case_list()
    assert looked == [sorted(ids[4:])]
