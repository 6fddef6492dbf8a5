"""The case list's encrypted, bucketed index: written with the cards, checked against them on
every read, rebuilt when missing, stale or tampered, never plaintext on disk."""

from __future__ import annotations

import os
import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from fieldscreen import crypto
from fieldscreen.vault import Vault, listindex
from fieldscreen.vault.keys import aad


def _card(i: int, alias: str = "") -> dict[str, Any]:
    return {
        "alias": alias or f"Alias {i}",
        "tier": f"T{i % 4}",
        "concerns": ["unaccompanied"] * (i % 2),
        "next_due": f"2026-12-{1 + i % 28:02d}T10:00:00+00:00",
        "referrals": [{"label": "not in the index", "consented": True}],
    }


def _finalise(vault: Vault, n: int, start: int = 0) -> dict[str, dict[str, Any]]:
    made = {}
    for i in range(start, start + n):
        rid = vault.new_draft("screening", "1", {"i": i})
        card = _card(i)
        vault.finalise(rid, record={"i": i}, case_card=card)
        made[rid] = listindex.project(card)
    return made


def _fields(vault: Vault) -> dict[str, Any]:
    return {row.record_id: row.fields for row in vault.case_list()}


def _sql(vault: Vault, sql: str, params: tuple[object, ...] = ()) -> list[Any]:
    conn = sqlite3.connect(vault.db_path)
    try:
        rows = conn.execute(sql, params).fetchall()
        conn.commit()
        return rows
    finally:
        conn.close()


def test_list_shows_each_cards_list_fields_and_drafts_without(vault: Vault) -> None:
    made = _finalise(vault, 30)
    draft = vault.new_draft("screening", "1", {"draft": True})
    rows = {row.record_id: row for row in vault.case_list()}
    assert {rid: rows[rid].fields for rid in made} == made
    assert rows[draft].fields is None
    assert rows[draft].status == "draft"
    assert all(rows[rid].status == "finalised" for rid in made)
    assert "referrals" not in next(iter(made.values()))  # only the list's fields
    report = vault.list_index_check()
    assert (report.cards, report.entries, report.consistent) == (30, 30, True)
    entry = vault.audit_log()[-1]
    assert entry.detail == {"what": "case-list", "cards": 30, "rebuilt": 0}
    assert vault.integrity_check().ok


def test_buckets_are_few_large_ciphertexts_and_a_bulk_writes_each_once(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[int] = []
    real = listindex.write_bucket

    def counting(conn: sqlite3.Connection, keys: Any, bucket: int, entries: Any) -> None:
        writes.append(bucket)
        real(conn, keys, bucket, entries)

    monkeypatch.setattr(listindex, "write_bucket", counting)
    with vault.bulk():
        _finalise(vault, 300)
    assert len(writes) == len(set(writes)) <= listindex.BUCKETS  # once per changed bucket
    buckets = _sql(vault, "SELECT bucket, length(ciphertext) FROM list_index")
    assert len(buckets) == len(set(writes))
    assert all(0 <= b < listindex.BUCKETS and size % 1024 == 28 for b, size in buckets)


def test_missing_index_is_rebuilt_from_the_cards(vault: Vault) -> None:
    made = _finalise(vault, 40)
    _sql(vault, "DELETE FROM list_index")  # as after the migration to this format
    before = vault.list_index_check()
    assert before.entries == 0
    assert not before.consistent
    assert {k: v for k, v in _fields(vault).items() if v is not None} == made
    assert vault.audit_log()[-1].detail["rebuilt"] > 0
    assert vault.list_index_check().consistent
    assert vault.audit_log()[-1].action == "view"


def test_tampered_bucket_is_rebuilt_and_nothing_is_lost(vault: Vault) -> None:
    made = _finalise(vault, 40)
    [(bucket, blob)] = _sql(vault, "SELECT bucket, ciphertext FROM list_index LIMIT 1")
    raw = bytearray(blob)
    raw[40] ^= 0x01
    _sql(vault, "UPDATE list_index SET ciphertext = ? WHERE bucket = ?", (bytes(raw), bucket))
    check = vault.list_index_check()
    assert check.unauthenticated == 1
    assert check.stale_buckets == {bucket}
    assert {k: v for k, v in _fields(vault).items() if v is not None} == made
    assert vault.list_index_check().consistent


def test_old_bucket_put_back_is_detected_against_the_cards(vault: Vault) -> None:
    first = _finalise(vault, 1)
    [rid] = first
    bucket = listindex.bucket_of(vault._keys, rid)  # type: ignore[arg-type]
    [(old,)] = _sql(vault, "SELECT ciphertext FROM list_index WHERE bucket = ?", (bucket,))
    made = dict(first)
    # Fill until another card lands in the same bucket, then put the old bucket back.
    while True:
        more = _finalise(vault, 1, start=len(made))
        made.update(more)
        [other] = more
        if listindex.bucket_of(vault._keys, other) == bucket:  # type: ignore[arg-type]
            break
    _sql(vault, "UPDATE list_index SET ciphertext = ? WHERE bucket = ?", (old, bucket))
    assert vault.list_index_check().stale_buckets == {bucket}
    assert {k: v for k, v in _fields(vault).items() if v is not None} == made


def test_card_rewritten_behind_the_index_is_picked_up(vault: Vault) -> None:
    made = _finalise(vault, 5)
    rid = sorted(made)[0]
    # Another writer replaces the card (a new version, as every card write must) without
    # telling the list index.
    keys = vault._keys
    assert keys is not None
    [(wrapped,)] = _sql(vault, "SELECT wrapped_key FROM case_cards WHERE record_id=?", (rid,))
    dek = crypto.decrypt(keys.sub("record-keys"), wrapped, aad("case_cards", rid, "dek"))
    blob = crypto.encrypt(
        dek, b'{"alias":"Renamed","tier":"T1"}', aad("case_cards", rid, "card", 2)
    )
    with vault._tx() as conn:  # the row map is told, as by every card write of the vault
        conn.execute("UPDATE case_cards SET ciphertext=?, version=2 WHERE record_id=?", (blob, rid))
        vault._row_map.put(conn, keys, "c", rid, version=2, status="card")
    assert _fields(vault)[rid] == {"alias": "Renamed", "tier": "T1"}
    assert vault.list_index_check().consistent


def test_travel_mode_empties_the_index(vault: Vault) -> None:
    _finalise(vault, 20)
    vault.new_draft("screening", "1", {"x": 1})
    vault.travel_mode()
    assert _sql(vault, "SELECT count(*) FROM list_index") == [(0,)]
    assert all(row.fields is None for row in vault.case_list())
    assert vault.list_index_check().consistent


def test_purge_keeps_the_card_entry_with_status_purged(vault: Vault) -> None:
    made = _finalise(vault, 3)
    vault.follow_up_days = 0
    vault._clock = lambda: __import__("datetime").datetime(2100, 1, 1)
    vault.purge_due()
    rows = {row.record_id: row for row in vault.case_list()}
    assert {rid: rows[rid].status for rid in made} == dict.fromkeys(made, "purged")
    assert {rid: rows[rid].fields for rid in made} == made
    assert vault.list_index_check().consistent


def test_no_plaintext_of_the_index_on_disk(vault: Vault, vault_dir: Path) -> None:
    canary = "CANARY" + os.urandom(6).hex()
    for i in range(50):
        rid = vault.new_draft("screening", "1", {"i": i})
        vault.finalise(rid, record={"i": i}, case_card=_card(i, alias=f"{canary} {i}"))
    _sql(vault, "DELETE FROM list_index WHERE bucket % 2 = 0")
    assert len(vault.case_list()) == 50  # rebuilds half of it
    vault.close()
    forms = [canary.encode(), canary.encode("utf-16-le"), canary.encode().hex().encode()]
    hits = [
        path.name
        for path in vault_dir.parent.rglob("*")
        if path.is_file() and any(form in path.read_bytes() for form in forms)
    ]
    assert hits == []


def test_a_failure_anywhere_in_a_finalise_leaves_index_equal_to_cards(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault injection: the N-th encryption of a bulk of finalises fails, for many N."""
    _finalise(vault, 10)
    rng = random.Random(7)
    real = crypto.encrypt
    inconsistent = partial = 0
    calls = {"n": 0, "fail_at": 0}

    def failing(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
        calls["n"] += 1
        if calls["n"] == calls["fail_at"]:
            raise OSError("injected")
        return real(key, plaintext, aad)

    for run in range(25):
        calls.update(n=0, fail_at=rng.randint(1, 60))
        before = _sql(vault, "SELECT count(*) FROM case_cards")[0][0]
        monkeypatch.setattr(crypto, "encrypt", failing)
        try:
            with vault.bulk():
                _finalise(vault, 5, start=1000 + run * 5)
        except OSError:
            pass
        finally:
            monkeypatch.setattr(crypto, "encrypt", real)
        after = _sql(vault, "SELECT count(*) FROM case_cards")[0][0]
        partial += after not in (before, before + 5)
        inconsistent += not vault.list_index_check().consistent
    assert (partial, inconsistent) == (0, 0)
    assert vault.integrity_check().ok


def test_first_released_format_migrates_and_lists(tmp_path: Path) -> None:
    """The v1 fixture gains the index table on open and its index on the first list read."""
    import json
    import shutil

    fixtures = Path(__file__).resolve().parents[2] / "fixtures"
    folder = tmp_path / "vault-v1"
    shutil.copytree(fixtures / "vault-v1", folder)
    expected = json.loads((folder / "expected.json").read_text())
    crypto.permit_test_parameters(True)
    vault = Vault.open(folder)
    vault.unlock("fixture-admin", b"fixture admin passphrase")
    assert not vault.list_index_check().consistent  # the card is not indexed yet
    rows = {row.record_id: row for row in vault.case_list()}
    assert rows[expected["final"]].fields == {}  # its card has none of the list's fields
    assert rows[expected["draft"]].fields is None
    assert vault.list_index_check().consistent
    assert vault.integrity_check().ok
    vault.close()


def test_a_tampered_card_changes_nothing_the_list_shows(vault: Vault) -> None:
    """A card ciphertext moved onto another row: the list keeps the fields made from the
    authentic card (nothing the attacker wrote is shown); the integrity check names the card."""
    made = _finalise(vault, 6)
    first, second = sorted(made)[:2]
    [(blob,)] = _sql(vault, "SELECT ciphertext FROM case_cards WHERE record_id=?", (second,))
    _sql(vault, "UPDATE case_cards SET ciphertext=? WHERE record_id=?", (blob, first))
    assert _fields(vault) == {**made}
    assert f"case_cards/{first}" in vault.integrity_check().failed


def test_a_card_that_does_not_open_is_left_out_of_a_rebuild(vault: Vault) -> None:
    made = _finalise(vault, 6)
    first, second = sorted(made)[:2]
    [(blob,)] = _sql(vault, "SELECT ciphertext FROM case_cards WHERE record_id=?", (second,))
    _sql(vault, "UPDATE case_cards SET ciphertext=? WHERE record_id=?", (blob, first))
    _sql(vault, "DELETE FROM list_index")
    fields = _fields(vault)
    assert fields[first] is None
    assert {rid: fields[rid] for rid in made if rid != first} == {
        rid: v for rid, v in made.items() if rid != first
    }
    assert vault.audit_log()[-1].detail == {
        "what": "case-list",
        "cards": 5,
        "rebuilt": len({listindex.bucket_of(vault._keys, r) for r in made}),  # type: ignore[arg-type]
    }


def test_a_follow_up_recorded_updates_the_index_in_its_transaction(vault: Vault) -> None:
    made = _finalise(vault, 4)
    rid = sorted(made)[0]
    card = {**_card(0), "next_due": "2027-01-05T09:00:00+00:00"}
    card["deadlines"] = [
        {"due": "2027-01-02T09:00:00+00:00", "label": "later"},
        {"due": "2027-01-01T09:00:00+00:00", "label": "first"},
    ]
    vault.update_case_card(rid, card)
    assert vault.list_index_check().consistent  # as stored, before any read
    row = {r.record_id: r for r in vault.case_list()}[rid]
    assert row.next_due == "2027-01-05T09:00:00+00:00"
    assert (row.deadline, row.deadline_label) == ("2027-01-01T09:00:00+00:00", "first")
    assert vault.audit_log()[-1].detail == {"what": "case-list", "cards": 4, "rebuilt": 0}


def test_supervision_candidates_are_the_flagged_finalised_cards(vault: Vault) -> None:
    plain = _finalise(vault, 12)
    waiting = {}
    cards: list[dict[str, object]] = [
        {"alias": "a", "tier": "T2", "supervision": ["consent-override"]},
        {"alias": "b", "tier": "T0", "actions_recorded": False},
        {"alias": "c", "tier": "T1", "computed_tier": "T0", "actions_recorded": False},
    ]
    for i, card in enumerate(cards):
        rid = vault.new_draft("screening", "1", {"s": i})
        vault.finalise(rid, record={"s": i}, case_card=card)
        waiting[rid] = card
    done = vault.new_draft("screening", "1", {"s": "done"})
    vault.finalise(done, record={}, case_card={"tier": "T0", "actions_recorded": True})
    vault.new_draft("screening", "1", {"draft": True})
    assert set(vault.supervision_candidates()) == set(waiting)
    assert not set(plain) & set(vault.supervision_candidates())
    assert sorted(kinds or () for kinds in vault.supervision_candidates().values()) == [
        ("act-now",),
        ("act-now",),
        ("consent-override",),
    ]
    rows = {row.record_id: row for row in vault.case_list()}
    assert {rid for rid, row in rows.items() if row.supervise} == set(waiting)
    assert vault.record_statuses([*waiting, done, "f" * 32]) == dict.fromkeys(
        [*waiting, done], "finalised"
    )


def test_a_bucket_of_the_previous_entry_format_is_rebuilt(vault: Vault) -> None:
    made = _finalise(vault, 20)
    keys, _ = vault._require()
    conn = sqlite3.connect(vault.db_path)
    try:
        stored = conn.execute("SELECT bucket FROM list_index").fetchall()
        for (bucket,) in stored:  # what a build of entry format 1 wrote: nine fields
            old = {
                rid: e[:9] for rid, e in (listindex.read_bucket(conn, keys, bucket) or {}).items()
            }
            blob = crypto.encrypt(
                keys.sub("list-index"),
                listindex._encode(old),
                aad("list_index", bucket, 1, listindex.BUCKETS),
            )
            conn.execute(
                "UPDATE list_index SET ciphertext = ?, format = 1 WHERE bucket = ?", (blob, bucket)
            )
        conn.commit()
    finally:
        conn.close()
    assert vault.list_index_check().unauthenticated == len(stored)
    assert {rid: f for rid, f in _fields(vault).items() if rid in made} == made
    assert vault.audit_log()[-1].detail["rebuilt"] == len(stored)
    assert vault.list_index_check().consistent


@pytest.mark.parametrize(
    ("card", "kinds"),
    [
        ({}, ()),
        ({"tier": "T0"}, ()),
        ({"tier": "T0", "actions_recorded": False}, ("act-now",)),
        (
            {"supervision": ["consent-override", "bid-required"]},
            ("consent-override", "bid-required"),
        ),
        ({"supervision": ["act-now"], "tier": "T0", "actions_recorded": False}, ("act-now",)),
        ({"supervision": [""]}, None),  # may wait, kinds cannot be told: the card is read
        ({"supervision": ["a\x1fb"]}, None),
        ({"supervision": "consent-override"}, None),
        ({"supervision": {"x": 1}}, None),
    ],
)
def test_the_list_entry_names_the_kinds_a_card_may_wait_for(
    card: dict[str, Any], kinds: tuple[str, ...] | None
) -> None:
    from fieldscreen.vault import listindex

    value = listindex.entry_for("a" * 32, 1, card)[listindex.SUPERVISE]
    assert bool(value) == listindex.needs_supervision(card)
    assert listindex.supervision_kinds(value) == kinds
    assert listindex.supervision_kinds(1) is None  # an entry of an earlier build
    assert listindex.supervision_kinds(0) == ()


@pytest.mark.parametrize(
    "age",
    [12, 2.5, 2**63, 2**64 - 1, 2**64, -(2**63) - 1, 10**30, -(10**30), 1e19, float("nan"),
     float("inf"), "14", None],
)  # fmt: skip
def test_a_bucket_reads_as_the_standard_parser_reads_it(age: object) -> None:
    """The buckets skip the long-number scan: an age orjson would read as another value (an
    integer past 64 bits), or refuse (NaN, infinity), still reads exactly as
    the standard library reads it."""
    import json
    import math

    entries = {
        "a" * 32: ["a" * 32, 3, "Ana", "T1", None, "x\x1fy", 7, None, None, 0],
        "b" * 32: ["b" * 32, 1, "Bo", "T0", "2026-12-01T10:00:00+00:00", "", age, None, None, 1],
    }
    data = listindex._encode(entries)
    want = {e[0]: e for e in json.loads(data)}
    got = listindex._decode(data)
    assert list(got) == list(want)
    for rid, entry in want.items():
        read = got[rid]
        for mine, theirs in zip(read, entry, strict=True):
            assert type(mine) is type(theirs)
            assert mine == theirs or (
                isinstance(mine, float) and math.isnan(mine) and math.isnan(theirs)
            )


def test_the_list_read_pauses_the_cycle_collector_only_while_it_reads(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The collector is paused during the read, runs again after it (after a failure too), and
    one paused by the caller stays paused."""
    import gc

    _finalise(vault, 3)
    seen: list[bool] = []
    real = listindex.read_all

    def read_all(*args: Any) -> Any:
        seen.append(gc.isenabled())
        return real(*args)

    monkeypatch.setattr(listindex, "read_all", read_all)
    assert gc.isenabled()
    vault.case_list()
    vault.case_columns()
    vault.supervision_candidates()
    assert seen == [False, False, False]
    assert gc.isenabled()

    def broken(*args: Any) -> Any:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(listindex, "read_all", broken)
    with pytest.raises(Exception):  # noqa: B017 - whichever error the vault reports
        vault.case_columns()
    assert gc.isenabled()
    monkeypatch.setattr(listindex, "read_all", read_all)
    gc.disable()
    try:
        vault.case_columns()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_supervision_log_read_pauses_the_cycle_collector_only_while_it_reads(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc

    from fieldscreen.vault import audit

    _finalise(vault, 2)
    seen: list[bool] = []
    real = audit.entries

    def entries(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(audit, "entries", entries)
    assert {e.action for e in vault.supervision_log()} >= {"create", "finalise"}
    assert seen == [False]
    assert gc.isenabled()
