"""Vault behaviour: accounts, drafts, finalise, purge, travel mode, audit, allow-list, files."""

from __future__ import annotations

import hashlib
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fieldscreen import crypto
from fieldscreen.vault import UnlockFailed, Vault, VaultError, vault_status, wipe_folder
from fieldscreen.vault.store import CIPHERTEXT_COLUMNS, PLAINTEXT_COLUMNS, PLAINTEXT_STATE_NAMES
from tests.unit.vault.conftest import LOGIN, PASS


def _snapshot(folder: Path) -> dict[str, str]:
    """Every file but the unlock throttle's counter (which a failure is meant to write)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "vault.throttle"
    }


def test_create_unlock_and_roles(vault: Vault, vault_dir: Path) -> None:
    assert vault.current_user is not None
    assert vault.current_user.role == "admin"
    vault.add_user("spec1", b"another long passphrase", "specialist", admin_passphrase=PASS)
    vault.lock()
    with pytest.raises(VaultError) as caught:
        vault.new_draft("f", "1")
    assert caught.value.code == "vault-locked"
    user = vault.unlock("spec1", b"another long passphrase")
    assert user.role == "specialist"
    with pytest.raises(VaultError) as caught:
        vault.add_user("x1", b"yet another passphrase", "admin", admin_passphrase=PASS)
    assert caught.value.code == "vault-not-allowed"
    with pytest.raises(VaultError):
        vault.audit_log()
    vault.lock()
    vault.unlock(LOGIN, PASS)
    vault.remove_user("spec1", admin_passphrase=PASS)
    with pytest.raises(VaultError) as caught:
        vault.remove_user(LOGIN, admin_passphrase=PASS)
    assert caught.value.code == "vault-last-admin"
    assert [u.login for u in vault.users()] == [LOGIN]
    with pytest.raises(VaultError):
        Vault.create(vault_dir, admin_login="a", passphrase=PASS, kdf=crypto.KdfParams.for_tests())


def test_weak_kdf_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    crypto.permit_test_parameters(False)
    with pytest.raises(crypto.CryptoError):
        Vault.create(
            tmp_path / "d", admin_login="a", passphrase=PASS, kdf=crypto.KdfParams.for_tests()
        )
    assert not (tmp_path / "d").exists()


def test_wrong_passphrase_writes_nothing_and_gives_one_message(
    vault: Vault, vault_dir: Path
) -> None:
    vault.add_user("spec1", b"another long passphrase", "specialist", admin_passphrase=PASS)
    vault.close()
    before = _snapshot(vault_dir.parent)
    delays: list[float] = []
    reopened = Vault.open(vault_dir, sleep=delays.append)
    messages = set()
    attempts = [
        (LOGIN, b"wrong passphrase 1"),
        ("nobody", PASS),
        ("spec1", PASS),
        (LOGIN, b""),
        (LOGIN, PASS + b" "),
        (LOGIN, b"wrong passphrase 2"),
    ]
    for login, passphrase in attempts:
        with pytest.raises(UnlockFailed) as caught:
            reopened.unlock(login, passphrase)
        messages.add(str(caught.value))
    reopened.close()
    assert len(messages) == 1
    assert _snapshot(vault_dir.parent) == before
    assert delays == [1.0, 2.0, 4.0, 8.0]  # from the third failure on, each waits longer
    again = Vault.open(vault_dir, sleep=delays.append)
    again.unlock(LOGIN, PASS)
    again.close()


def test_tampered_roster_is_refused(vault: Vault, vault_dir: Path) -> None:
    vault.add_user("spec1", b"another long passphrase", "specialist", admin_passphrase=PASS)
    vault.close()
    keys = vault_dir / "vault.keys"
    keys.write_text(keys.read_text().replace('"specialist"', '"admin"'))
    with pytest.raises(VaultError) as caught:
        Vault.open(vault_dir).unlock("spec1", b"another long passphrase")
    assert caught.value.code == "vault-roster-invalid"


def test_passphrase_change_rewraps_only(vault: Vault, vault_dir: Path) -> None:
    record = vault.new_draft("f", "1", {"a": 1})
    db_before = (vault_dir / "vault.sqlite3").stat().st_size
    with pytest.raises(UnlockFailed):
        vault.change_passphrase(b"not the passphrase", b"a brand new passphrase")
    vault.change_passphrase(PASS, b"a brand new passphrase")
    vault.close()
    with pytest.raises(UnlockFailed):
        Vault.open(vault_dir).unlock(LOGIN, PASS)
    reopened = Vault.open(vault_dir)
    reopened.unlock(LOGIN, b"a brand new passphrase")
    assert reopened.load_record(record) == {"a": 1}
    assert (vault_dir / "vault.sqlite3").stat().st_size >= db_before
    reopened.close()


def test_drafts_finalise_case_card_outbox(vault: Vault, org: dict[str, bytes]) -> None:
    record = vault.new_draft("child-screening", "3")
    versions = [vault.save_draft(record, {"answer": i}) for i in range(5)]
    assert versions == [2, 3, 4, 5, 6]
    assert vault.load_record(record) == {"answer": 4}
    header = vault.finalise(record, record={"answer": 4, "tier": "high"}, case_card={"next": "d"})
    assert header["device_seq"] == 1
    with pytest.raises(VaultError):
        vault.save_draft(record, {"answer": 5})
    assert vault.load_record(record) == {"answer": 4, "tier": "high"}
    assert vault.case_card(record) == {"next": "d"}
    [item] = vault.outbox_page()
    assert item.header() == header
    assert crypto.verify(
        vault.device_public_key, vault._signing_bytes(header), item.signature or b""
    )
    assert item.sealed is not None
    assert hashlib.sha256(item.sealed).hexdigest() == header["payload_sha256"]
    info = crypto.record_sealing_info(record, "child-screening", "3", vault.device_id)
    assert b'"tier":"high"' in crypto.open_sealed(
        org["sealing_private"], item.sealed, info=info, aad=b""
    )
    vault.outbox_mark(record, "sending")
    vault.outbox_mark(record, "failed", reason="server-unavailable")
    assert vault.outbox_page()[0].attempts == 1
    vault.outbox_mark(record, "delivered")
    assert vault.outbox_page() == []
    [delivered] = vault.outbox_page(states=["delivered"])
    assert delivered.sealed is None
    assert delivered.signature is None
    with pytest.raises(VaultError):
        vault.outbox_mark(record, "failed", reason="Free text with a name")
    before = vault.today()
    vault.record_sync(delivered=1)
    status = vault_status(vault.folder)
    assert status["delivered"] == 1
    assert status["last_sync"] in {before, vault.today()}  # the day may turn in between
    vault.set_device_state("revoked")
    assert vault.device_state() == "revoked"
    assert vault_status(vault.folder)["device_state"] == "revoked"


def test_finalise_needs_the_org_key(vault_dir: Path) -> None:
    v = Vault.create(
        vault_dir, admin_login=LOGIN, passphrase=PASS, kdf=crypto.KdfParams.for_tests()
    )
    record = v.new_draft("f", "1")
    with pytest.raises(VaultError) as caught:
        v.finalise(record, record={}, case_card={})
    assert caught.value.code == "vault-no-org-key"
    assert v.list_records()[0].status == "draft"
    v.close()


def test_purge_after_the_follow_up_window(vault_dir: Path, org: dict[str, bytes]) -> None:
    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    v = Vault.create(
        vault_dir,
        admin_login=LOGIN,
        passphrase=PASS,
        kdf=crypto.KdfParams.for_tests(),
        clock=lambda: now[0],
        follow_up_days=7,
    )
    v.set_org_keys(org["sealing_public"], org["signing_public"])
    record = v.new_draft("f", "1", {"a": 1})
    v.finalise(record, record={"a": 1}, case_card={"c": 1})
    now[0] += timedelta(days=6)
    assert v.purge_due() == 0
    now[0] += timedelta(days=1)
    assert v.purge_due() == 1
    with pytest.raises(VaultError) as caught:
        v.load_record(record)
    assert caught.value.code == "vault-record-state"
    assert v.case_card(record) == {"c": 1}
    assert v.integrity_check().ok
    v.close()


def test_travel_mode_seals_drafts_and_purges_everything_readable(vault: Vault) -> None:
    draft = vault.new_draft("f", "1", {"a": 1})
    final = vault.new_draft("f", "1", {"b": 2})
    vault.finalise(final, record={"b": 2}, case_card={"c": 3})
    summary = vault.travel_mode()
    assert summary == {"drafts_sealed": 1, "finalised_purged": 1, "case_cards_purged": 1}
    assert {r.status for r in vault.list_records()} == {"purged"}
    kinds = sorted(i.kind for i in vault.outbox_page())
    assert kinds == ["draft", "screening"]
    for record in (draft, final):
        with pytest.raises(VaultError):
            vault.load_record(record)
    assert vault.integrity_check().ok


def test_integrity_check_lists_exactly_the_damaged_records(vault: Vault) -> None:
    records = [vault.new_draft("f", "1", {"i": i}) for i in range(6)]
    conn = vault._open_store().conn
    for victim in records[1:3]:
        (blob,) = conn.execute("SELECT ciphertext FROM records WHERE id = ?", (victim,)).fetchone()
        flipped = blob[:20] + bytes([blob[20] ^ 0x01]) + blob[21:]  # always a change
        conn.execute("UPDATE records SET ciphertext = ? WHERE id = ?", (flipped, victim))
    report = vault.integrity_check()
    assert sorted(report.failed) == sorted(f"records/{r}" for r in records[1:3])
    assert not report.ok


def test_audit_log_detects_edit_delete_and_reorder(vault: Vault) -> None:
    from fieldscreen.vault import audit

    for i in range(4):
        vault.new_draft("f", "1", {"i": i})
    conn = vault._open_store().conn
    keys = vault._keys
    assert keys is not None
    rows = {r[0]: r for r in conn.execute("SELECT seq, ciphertext, mac FROM audit").fetchall()}

    def put(seq: int, source: int) -> None:
        _, ciphertext, mac = rows[source]
        conn.execute(
            "UPDATE audit SET ciphertext = ?, mac = ? WHERE seq = ?", (ciphertext, mac, seq)
        )

    def swap() -> None:
        put(2, 3)
        put(3, 2)

    flipped = bytes([rows[3][1][0] ^ 0x01]) + rows[3][1][1:]  # always a change, unlike x'00'
    tampers = [
        lambda: conn.execute("UPDATE audit SET ciphertext = ? WHERE seq = 3", (flipped,)),
        lambda: conn.execute("UPDATE audit SET mac = zeroblob(32) WHERE seq = 4"),
        lambda: conn.execute("DELETE FROM audit WHERE seq = 2"),
        lambda: conn.execute("DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit)"),
        swap,
    ]
    detected = 0
    assert audit.verify(conn, keys, vault.vault_id).intact  # control: untouched log verifies
    for tamper in tampers:
        conn.execute("BEGIN")
        tamper()
        if not audit.verify(conn, keys, vault.vault_id).intact:
            detected += 1
        conn.execute("ROLLBACK")
        assert audit.verify(conn, keys, vault.vault_id).intact
    assert detected == len(tampers)
    actions = [e.action for e in vault.audit_log()]
    assert actions[:2] == ["create-vault", "org-keys"]
    assert actions.count("create") == 4


def test_only_allow_listed_plaintext_columns_exist(vault: Vault) -> None:
    record = vault.new_draft("f", "1", {"a": 1})
    vault.finalise(record, record={"a": 1}, case_card={"c": 1})
    db = vault._open_store().db
    tables = set(db.table_names())
    assert tables == set(PLAINTEXT_COLUMNS)
    for table in tables:
        assert set(db.table(table).columns_dict) <= PLAINTEXT_COLUMNS[table], table
    assert not [t for t in tables if "fts" in t]
    for index_sql in db.execute("SELECT sql FROM sqlite_master WHERE type='index'").fetchall():
        if index_sql[0]:
            assert not any(c in index_sql[0] for c in CIPHERTEXT_COLUMNS)
    names = {r[0] for r in db.execute("SELECT name FROM state").fetchall()}
    assert names <= PLAINTEXT_STATE_NAMES
    pragmas = {
        p: db.execute(f"PRAGMA {p}").fetchone()[0]
        for p in ("journal_mode", "synchronous", "secure_delete", "temp_store")
    }
    assert pragmas == {"journal_mode": "wal", "synchronous": 2, "secure_delete": 1, "temp_store": 2}


def test_files_and_folders_are_private(vault: Vault, vault_dir: Path) -> None:
    vault.new_draft("f", "1", {"a": 1})
    if os.name != "posix":
        pytest.skip("POSIX permissions")
    assert stat.S_IMODE(vault_dir.stat().st_mode) == 0o700
    for path in vault_dir.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


def test_wipe_destroys_the_key_file_first(vault: Vault, vault_dir: Path) -> None:
    vault.new_draft("f", "1", {"a": 1})
    order: list[str] = []
    from fieldscreen.vault import vault as vault_module

    original = vault_module._shred

    def spy(path: Path) -> bool:
        order.append(path.name)
        return original(path)

    vault_module._shred = spy
    try:
        result = vault.wipe()
    finally:
        vault_module._shred = original
    assert order[0] == "vault.keys"
    assert result["files_destroyed"] >= 2
    assert not any(vault_dir.iterdir())
    assert vault_status(vault_dir) == {"vault": "absent"}
    assert wipe_folder(vault_dir) == {"files_destroyed": 0}


def test_a_vault_with_test_parameters_does_not_open_in_a_normal_process(
    vault: Vault, vault_dir: Path
) -> None:
    vault.close()
    crypto.permit_test_parameters(False)
    with pytest.raises(crypto.CryptoError) as caught:
        Vault.open(vault_dir).unlock(LOGIN, PASS)
    assert caught.value.code == "crypto-kdf-too-weak"


def test_outbox_pages_are_bounded_and_ordered(vault: Vault) -> None:
    records = [vault.new_draft("f", "1", {"i": i}) for i in range(7)]
    for record in records:
        vault.finalise(record, record={}, case_card={})
    first = vault.outbox_page(limit=3)
    assert [i.device_seq for i in first] == [1, 2, 3]
    rest = vault.outbox_page(limit=100, after_seq=first[-1].device_seq)
    assert [i.device_seq for i in rest] == [4, 5, 6, 7]
    assert vault.last_device_seq() == 7
    vault.lock()  # the outbox works while locked
    vault.outbox_mark(first[0].record_id, "quarantined", reason="revoked")
    assert vault.outbox_counts()["quarantined"] == 1
    assert vault.outbox_counts()["pending"] == 6


def _outbox_page_steps(vault: Vault) -> int:
    """SQLite virtual-machine steps (in hundreds) of one page of 5 pending or sending."""
    conn = vault._open_store().conn
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0

    conn.set_progress_handler(count, 100)
    page = vault.outbox_page(limit=5, states=("pending", "sending"))
    conn.set_progress_handler(None, 100)
    assert [i.device_seq for i in page] == [1, 2, 3, 4, 5]
    return steps[0]


def test_an_outbox_page_costs_the_same_whatever_the_backlog(vault: Vault) -> None:
    for count in (10, 150):
        while vault.last_device_seq() < count:
            record = vault.new_draft("f", "1", {})
            vault.finalise(record, record={}, case_card={})
        if count == 10:
            small = _outbox_page_steps(vault)
    for item in vault.outbox_page(limit=50, after_seq=100):
        vault.outbox_mark(item.record_id, "sending")
    # A plan that reads (and sorts) every pending envelope for each page would take some 15
    # times more: the page is built from one covering index range per state.
    assert _outbox_page_steps(vault) <= 2 * small + 5


def test_record_ids_and_form_ids_are_checked(vault: Vault) -> None:
    with pytest.raises(VaultError):
        vault.load_record("../etc/passwd")
    with pytest.raises(VaultError):
        vault.new_draft("bad\x1fform", "1")
    with pytest.raises(VaultError) as caught:
        vault.load_record("0" * 32)
    assert caught.value.code == "vault-record-unknown"


def test_a_key_file_without_users_is_damaged(vault: Vault, vault_dir: Path) -> None:
    import json

    vault.close()
    keys = vault_dir / "vault.keys"
    data = json.loads(keys.read_text())
    data["users"] = []
    keys.write_text(json.dumps(data))
    with pytest.raises(VaultError) as caught:
        Vault.open(vault_dir)
    assert caught.value.code == "vault-damaged"


def test_receipts_totals_and_the_sync_checkpoint(vault: Vault) -> None:
    records = [vault.new_draft("f", "1", {"i": i}) for i in range(4)]
    headers = [vault.finalise(r, record={"i": 1}, case_card={}) for r in records]
    count, size = vault.outbox_totals()
    assert count == 4
    assert size == sum(len(i.sealed or b"") for i in vault.outbox_page())
    receipt = [(h["record_id"], h["payload_sha256"]) for h in headers[:2]]
    receipt.append((headers[2]["record_id"], "0" * 64))  # a hash that does not match
    assert vault.outbox_deliver(receipt) == 2
    assert vault.outbox_deliver(receipt) == 0  # the same receipt again changes nothing
    assert vault.outbox_totals() == (2, sum(len(i.sealed or b"") for i in vault.outbox_page()))
    assert vault.outbox_counts()["delivered"] == 2
    assert vault.sync_checkpoint() == 0
    vault.save_sync_checkpoint(3)
    vault.close()
    reopened = Vault.open(vault.folder)
    assert reopened.sync_checkpoint() == 3
    reopened.close()


def test_a_batch_is_marked_in_one_transaction_all_or_none(vault: Vault) -> None:
    records = [vault.new_draft("f", "1", {"i": i}) for i in range(5)]
    for record in records:
        vault.finalise(record, record={}, case_card={})
    with pytest.raises(VaultError) as caught:
        vault.outbox_mark_many([*records, "0" * 32], "sending")
    assert caught.value.code == "vault-record-unknown"
    assert vault.outbox_counts()["pending"] == 5  # nothing of the failed batch stayed
    conn = vault._open_store().conn
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    vault.outbox_mark_many(records, "sending")
    conn.set_trace_callback(None)
    assert sum(s.strip().upper().startswith("COMMIT") for s in statements) == 1
    assert {i.attempts for i in vault.outbox_page(states=("sending",))} == {1}
