"""The supervisor queue's kept copy of the list index's flagged entries
(:mod:`fieldscreen.vault.flagged`): the same candidates as the whole index gives, only the
buckets written since read, and never trusted over the buckets, the cards or the root."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from fieldscreen.vault import Vault, flagged, listindex
from tests.unit.vault.conftest import LOGIN, PASS

KINDS = (["consent-override"], ["bid-required", "consent-override"], None, ["tier-override"])


def _card(i: int) -> dict[str, Any]:
    card: dict[str, Any] = {"alias": f"Alias {i}", "tier": f"T{i % 4}"}
    kinds = KINDS[i % len(KINDS)]
    if kinds is not None:
        card["supervision"] = kinds
    if i % 5 == 0:
        card.update(tier="T0", actions_recorded=False)
    return card


def _finalise(vault: Vault, n: int, start: int = 0) -> list[str]:
    made = []
    for i in range(start, start + n):
        rid = vault.new_draft("screening", "1", {"i": i})
        vault.finalise(rid, record={"i": i}, case_card=_card(i))
        made.append(rid)
    return made


def _sql(vault: Vault, sql: str, params: tuple[object, ...] = ()) -> list[Any]:
    conn = sqlite3.connect(vault.db_path)
    try:
        rows = conn.execute(sql, params).fetchall()
        conn.commit()
        return rows
    finally:
        conn.close()


def _kept(vault: Vault) -> bytes | None:
    rows = _sql(vault, "SELECT ciphertext FROM secrets WHERE name = ?", (flagged.SLOT,))
    return bytes(rows[0][0]) if rows else None


def _audited(vault: Vault, since: int) -> list[tuple[str, Any]]:
    return [(e.action, e.detail) for e in vault.audit_log()[since:]]


def _read(vault: Vault) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    """The candidates, and what their read audited."""
    since = len(vault.audit_log())
    return vault.supervision_candidates(), _audited(vault, since)


def _without_copy(
    vault: Vault, vault_dir: Path, tmp_path: Path
) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    """What the read gives and audits without a kept copy (the whole index read and checked),
    on a copy of the vault as it is now: the oracle of every case below."""
    twin_dir = tmp_path / "twin"
    shutil.copytree(vault_dir, twin_dir)
    twin = Vault.open(twin_dir)
    try:
        twin.unlock(LOGIN, PASS)
        conn = sqlite3.connect(twin.db_path)
        conn.execute("DELETE FROM secrets WHERE name = ?", (flagged.SLOT,))
        conn.commit()
        conn.close()
        return _read(twin)
    finally:
        twin.close()
        shutil.rmtree(twin_dir)


class _Reads:
    """Counts the list index's reads: of the whole index, and the buckets parsed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.whole = 0
        self.parsed: list[list[str]] = []
        real_all, real_decode = listindex.read_all, listindex._decode

        def read_all(*args: Any) -> Any:
            self.whole += 1
            return real_all(*args)

        def decode(data: bytes) -> Any:
            entries = real_decode(data)
            self.parsed.append(sorted(entries))
            return entries

        monkeypatch.setattr(listindex, "read_all", read_all)
        monkeypatch.setattr(listindex, "_decode", decode)


def test_the_kept_copy_gives_what_the_whole_index_gives(
    vault: Vault, vault_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = _finalise(vault, 40)
    vault.new_draft("screening", "1", {"draft": True})
    first = vault.supervision_candidates()
    assert _kept(vault) is not None
    assert first == _without_copy(vault, vault_dir, tmp_path)[0]
    assert first
    assert set(first) < set(made)

    reads = _Reads(monkeypatch)
    assert vault.supervision_candidates() == first  # nothing changed: no bucket decrypted
    assert (reads.whole, reads.parsed) == (0, [])

    # Cards written since: a new flagged one, one signed-off kind taken away, one flagged anew.
    keys = vault._keys
    assert keys is not None
    added = _finalise(vault, 3, start=40)
    cleared = next(rid for rid in made if rid in first)
    vault.update_case_card(cleared, {"alias": "x", "tier": "T2"})
    raised = next(rid for rid in made if rid not in first)
    vault.update_case_card(raised, {"alias": "y", "tier": "T1", "supervision": ["bid-required"]})
    changed = {listindex.bucket_of(keys, rid) for rid in [*added, cleared, raised]}
    reads.parsed.clear()  # the writes read their buckets too
    got = vault.supervision_candidates()
    assert reads.whole == 0
    written = [
        sorted(r for r in [*made, *added] if listindex.bucket_of(keys, r) == b) for b in changed
    ]
    assert sorted(reads.parsed) == sorted(written)  # only the buckets written since
    assert cleared not in got
    assert got[raised] == ("bid-required",)
    assert got == _without_copy(vault, vault_dir, tmp_path)[0]
    assert vault.audit_log()[-1].detail == {
        "what": "supervision-candidates",
        "cards": len(got),
        "rebuilt": 0,
    }


def test_the_copy_is_written_again_only_when_a_bucket_changed(vault: Vault) -> None:
    _finalise(vault, 12)
    vault.supervision_candidates()
    kept = _kept(vault)
    vault.supervision_candidates()
    assert _kept(vault) == kept
    _finalise(vault, 1, start=12)
    vault.supervision_candidates()
    assert _kept(vault) != kept


def test_the_copy_holds_no_plaintext_and_goes_with_the_cards_in_travel_mode(
    vault: Vault,
) -> None:
    made = _finalise(vault, 12)
    vault.supervision_candidates()
    kept = _kept(vault)
    assert kept is not None
    for text in [*made, "consent-override", "bid-required", "act-now"]:
        assert text.encode() not in kept
    for path in Path(vault.db_path).parent.iterdir():
        if path.is_file():
            assert b"consent-override" not in path.read_bytes()
    vault.travel_mode()
    assert _kept(vault) is None
    assert vault.supervision_candidates() == {}


def _flip_copy(vault: Vault) -> None:
    raw = bytearray(_kept(vault) or b"")
    raw[len(raw) // 2] ^= 0x01
    _sql(vault, "UPDATE secrets SET ciphertext = ? WHERE name = ?", (bytes(raw), flagged.SLOT))


def _older_copy(vault: Vault) -> None:
    """The copy put back from before a card was flagged and another signed off."""
    old = _kept(vault)
    rids = [r.record_id for r in vault.case_list() if r.status == "finalised"]
    vault.update_case_card(rids[0], {"alias": "x", "supervision": ["consent-override"]})
    vault.update_case_card(rids[1], {"alias": "y"})
    vault.supervision_candidates()
    _sql(vault, "UPDATE secrets SET ciphertext = ? WHERE name = ?", (old, flagged.SLOT))


def _bucket_body_flipped(vault: Vault) -> None:
    """A bucket's ciphertext changed past its nonce, its length kept: it no longer
    authenticates, and its stamp is still the kept one."""
    [(bucket, blob)] = _sql(vault, "SELECT bucket, ciphertext FROM list_index LIMIT 1")
    raw = bytearray(blob)
    raw[len(raw) // 2] ^= 0x01
    _sql(vault, "UPDATE list_index SET ciphertext = ? WHERE bucket = ?", (bytes(raw), bucket))


def _bucket_put_back(vault: Vault) -> None:
    """A bucket put back from before one of its cards changed its flag (the card as it is)."""
    keys = vault._keys
    assert keys is not None
    rid = next(r.record_id for r in vault.case_list() if r.supervise)
    bucket = listindex.bucket_of(keys, rid)
    [(old,)] = _sql(vault, "SELECT ciphertext FROM list_index WHERE bucket = ?", (bucket,))
    vault.update_case_card(rid, {"alias": "signed off"})
    vault.supervision_candidates()
    _sql(vault, "UPDATE list_index SET ciphertext = ? WHERE bucket = ?", (old, bucket))


def _card_put_back(vault: Vault) -> None:
    """A flagged card put back from before it was signed off, its bucket left as it is."""
    rid = next(r.record_id for r in vault.case_list() if r.supervise)
    [old] = _sql(
        vault, "SELECT version, wrapped_key, ciphertext FROM case_cards WHERE record_id=?", (rid,)
    )
    vault.update_case_card(rid, {"alias": "signed off"})
    vault.supervision_candidates()
    _sql(
        vault,
        "UPDATE case_cards SET version=?, wrapped_key=?, ciphertext=? WHERE record_id=?",
        (*old, rid),
    )


def _card_rewritten(vault: Vault) -> None:
    """Another writer replaces a flagged card with one that waits for nothing, and another
    card with a flagged one (new versions, the row map told), without the list index."""
    from fieldscreen import crypto
    from fieldscreen.vault.keys import aad

    keys = vault._keys
    assert keys is not None
    rows = vault.case_list()
    waiting = next(r.record_id for r in rows if r.supervise)
    plain = next(r.record_id for r in rows if r.status == "finalised" and not r.supervise)
    for rid, card in [(waiting, b'{"tier":"T2"}'), (plain, b'{"supervision":["bid-required"]}')]:
        [(wrapped, version)] = _sql(
            vault, "SELECT wrapped_key, version FROM case_cards WHERE record_id=?", (rid,)
        )
        dek = crypto.decrypt(keys.sub("record-keys"), wrapped, aad("case_cards", rid, "dek"))
        blob = crypto.encrypt(dek, card, aad("case_cards", rid, "card", version + 1))
        with vault._tx() as conn:
            conn.execute(
                "UPDATE case_cards SET ciphertext=?, version=? WHERE record_id=?",
                (blob, version + 1, rid),
            )
            vault._row_map.put(conn, keys, "c", rid, version=version + 1, status="card")


def _card_deleted(vault: Vault) -> None:
    rid = next(r.record_id for r in vault.case_list() if r.supervise)
    _sql(vault, "DELETE FROM case_cards WHERE record_id = ?", (rid,))


def _bucket_deleted(vault: Vault) -> None:
    keys = vault._keys
    assert keys is not None
    rid = next(r.record_id for r in vault.case_list() if r.supervise)
    _sql(vault, "DELETE FROM list_index WHERE bucket = ?", (listindex.bucket_of(keys, rid),))


def _draft_status(vault: Vault) -> None:
    """A draft's plaintext status changed to finalised outside FieldScreen."""
    rid = next(r.record_id for r in vault.case_list() if r.status == "draft")
    _sql(vault, "UPDATE records SET status = 'finalised' WHERE id = ?", (rid,))


def _record_replaced(vault: Vault) -> None:
    """A flagged record's row deleted and a row the vault never wrote put in its place, so
    that the records' count is unchanged (its card left as it is)."""
    rid = next(r.record_id for r in vault.case_list() if r.supervise)
    conn = sqlite3.connect(vault.db_path)
    try:
        conn.row_factory = sqlite3.Row
        row = dict(conn.execute("SELECT * FROM records WHERE id = ?", (rid,)).fetchone())
        conn.execute("DELETE FROM records WHERE id = ?", (rid,))
        row.update(id="f" * 32, status="draft")
        names = ", ".join(row)
        marks = ", ".join("?" * len(row))
        conn.execute(f"INSERT INTO records ({names}) VALUES ({marks})", tuple(row.values()))
        conn.commit()
    finally:
        conn.close()


def _record_status(vault: Vault) -> None:
    """A flagged record's plaintext status changed to a draft's outside FieldScreen."""
    rid = next(r.record_id for r in vault.case_list() if r.supervise)
    _sql(vault, "UPDATE records SET status = 'draft' WHERE id = ?", (rid,))


def _copy_of_another_shape(vault: Vault) -> None:
    """A copy that opens but holds rows of another shape (lists, as an earlier build wrote)."""
    import orjson

    keys = vault._keys
    assert keys is not None
    with vault._tx() as conn:
        kept = flagged.decode(vault._secret(conn, flagged.SLOT) or b"")
        assert kept is not None
        value = orjson.loads(flagged.encode(kept))
        for part in value["b"]:
            part[4] = {rid: ["finalised", None] for rid in part[4]}
        vault._put_secret(conn, flagged.SLOT, orjson.dumps(value))


ATTACKS = {
    "copy-flipped": _flip_copy,
    "copy-of-another-shape": _copy_of_another_shape,
    "older-copy": _older_copy,
    "bucket-body-flipped": _bucket_body_flipped,
    "bucket-put-back": _bucket_put_back,
    "card-put-back": _card_put_back,
    "card-rewritten": _card_rewritten,
    "card-deleted": _card_deleted,
    "bucket-deleted": _bucket_deleted,
    "record-status": _record_status,
    "record-replaced": _record_replaced,
    "draft-status": _draft_status,
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_an_attack_on_the_copy_or_behind_it_changes_nothing_the_queue_reads(
    attack: str, vault: Vault, vault_dir: Path, tmp_path: Path
) -> None:
    """After each change made outside FieldScreen, the candidates and what their read audits
    are exactly those of the read without a kept copy on the same vault (the whole index
    read, checked, rebuilt and audited as before)."""
    _finalise(vault, 30)
    vault.new_draft("screening", "1", {"draft": True})
    vault.supervision_candidates()
    ATTACKS[attack](vault)
    expected, audited = _without_copy(vault, vault_dir, tmp_path)
    assert _read(vault) == (expected, audited)
    assert vault.supervision_candidates() == expected  # and again, from the copy written anew
