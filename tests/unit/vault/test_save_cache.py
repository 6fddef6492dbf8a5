"""What a save keeps while unlocked (AEAD objects, the row map's root, the audit head) and the
record codec, played against someone who edits the laptop's files during the session.

A held value must never stand in for a ciphertext other than the one it came from: an older
copy put back, a flipped bit or a deleted row is read, and authenticated, from the file as
before. Counted over seeded variants: held value used for another ciphertext 0, flipped bit
accepted 0. And the faster JSON codec of a record changes no saved value (NaN stays NaN).
"""

from __future__ import annotations

import math
import random
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from fieldscreen import crypto
from fieldscreen.vault import Vault, audit, digest
from fieldscreen.vault.base import DB_NAME
from fieldscreen.vault.keys import Keys, aad
from fieldscreen.vault.records import _decode, _encode
from tests.unit.vault.conftest import LOGIN, PASS

VARIANTS = 12


def _raw(folder: Path) -> sqlite3.Connection:
    return sqlite3.connect(folder / DB_NAME, isolation_level=None)


def _slot(conn: sqlite3.Connection, name: str) -> bytes | None:
    row = conn.execute("SELECT ciphertext FROM secrets WHERE name = ?", (name,)).fetchone()
    return None if row is None else bytes(row[0])


def _set_slot(conn: sqlite3.Connection, name: str, blob: bytes | None) -> None:
    if blob is None:
        conn.execute("DELETE FROM secrets WHERE name = ?", (name,))
    else:
        conn.execute("UPDATE secrets SET ciphertext = ? WHERE name = ?", (blob, name))


def test_a_root_held_is_what_decoding_its_bytes_gives_back() -> None:
    for seed in range(40):
        rng = random.Random(seed)
        root = digest.Root(
            records=rng.randint(0, 10**6),
            cards=rng.randint(0, 10**6),
            sums=[rng.getrandbits(257) for _ in range(digest.GROUPS)],  # past 2**256 too
            lists=None
            if rng.random() < 0.3
            else [rng.choice([None, rng.randbytes(12)]) for _ in range(digest.LIST_BUCKETS)],
            secrets=None
            if rng.random() < 0.3
            else {f"slot{n}": rng.randbytes(12) for n in rng.sample(range(9), 4)},
        )
        assert root.normalised() == digest.Root.decode(root.encode())
        copy = root.copy()
        copy.sums[0] += 1
        assert copy.sums[0] != root.sums[0]


def test_a_held_root_or_audit_head_never_stands_in_for_another_ciphertext(
    tmp_path: Path, org: dict[str, bytes]
) -> None:
    tally: Counter[str] = Counter()
    for seed in range(VARIANTS):
        rng = random.Random(seed)
        folder = tmp_path / f"v{seed}"
        vault = Vault.create(
            folder, admin_login=LOGIN, passphrase=PASS, kdf=crypto.KdfParams.for_tests()
        )
        vault.set_org_keys(org["sealing_public"], org["signing_public"])
        raw = _raw(folder)
        vault.new_draft("f", "1", {"n": 0})
        older = {name: _slot(raw, name) for name in ("row_map_root", "audit_head")}
        for n in range(rng.randint(1, 3)):
            vault.new_draft("f", "1", {"n": n + 1})
        name = rng.choice(["row_map_root", "audit_head"])
        current = _slot(raw, name)
        assert current is not None
        assert older[name] is not None
        attack = rng.choice(["older", "flip", "delete"])
        if attack == "older":
            replaced: bytes | None = older[name]
        elif attack == "flip":
            spot = rng.randrange(len(current))
            replaced = current[:spot] + bytes([current[spot] ^ 1]) + current[spot + 1 :]
        else:
            replaced = None
        _set_slot(raw, name, replaced)  # another process, during the unlocked session
        keys, _ = vault._require()
        conn = vault._open_store().conn
        read: Any
        try:
            if name == "row_map_root":
                read = digest.read_root(conn, keys)
                assert replaced is not None
                fresh = keys.aead("secrets").decrypt(replaced, aad("secrets", name))
                lists = _slot(raw, "row_map_lists")  # the list nonces the root holds the hash of
                assert lists is not None
                opened = keys.aead("secrets").decrypt(lists, aad("secrets", "row_map_lists"))
                expected: Any = digest.Root.decode(fresh, opened).normalised()
                read = None if read is None else read.normalised()
            else:
                read = audit._read_head(conn, keys, vault.vault_id)
                if replaced is None:
                    expected = (0, audit.genesis(keys, vault.vault_id))
                else:
                    head = keys.aead("secrets").decrypt(replaced, aad("secrets", name))
                    expected = (int.from_bytes(head[:8], "big"), head[8:])
        except (crypto.DecryptError, TypeError):
            tally["refused"] += 1
            assert attack in ("flip", "delete"), attack
        else:
            if attack == "delete" and name == "row_map_root":
                assert read is None
            elif attack == "delete":
                assert read == expected
            else:
                assert read == expected, (seed, name, attack)
                assert attack != "flip", "a flipped bit was accepted"
            tally["read from the file"] += 1
        raw.close()
        vault.close()
    print(f"\nheld values against another ciphertext: {dict(tally)}; held value used 0")
    assert sum(tally.values()) == VARIANTS


def test_locking_drops_every_held_value_and_aead_object(vault: Vault) -> None:
    vault.new_draft("f", "1", {"n": 1})
    keys, _ = vault._require()
    assert keys._held
    assert keys._aead
    assert keys.memo("row-map-bucket")
    vault.lock()
    assert not keys._held
    assert not keys._aead
    assert not keys._memos
    with pytest.raises(KeyError):
        keys.aead("secrets")


@pytest.mark.parametrize(
    "state",
    [
        {"nan": math.nan, "inf": math.inf, "ninf": -math.inf},
        {"big": 2**70, "neg": -(2**64) - 1},
        {"zero": -0.0, "f": 0.1 + 0.2, "e": 1e16, "tiny": 5e-324},
        {"texto": 'niña, señal \u2028 \x01 "quoted"', "emoji": "\U0001f600", "none": None},
        {"nested": {"list": [1, 2.5, True, False, None, "x"], "deep": {"a": [[]]}}},
        {"b": True, "i": 1, "f": 1.0},
    ],
)
def test_the_record_codec_changes_no_saved_value(vault: Vault, state: dict[str, Any]) -> None:
    decoded = _decode(_encode(state))
    assert _same(decoded, state)
    record_id = vault.new_draft("f", "1", state)
    assert _same(vault.load_record(record_id), state)


def test_a_record_orjson_cannot_write_as_is_falls_back_to_the_same_json() -> None:
    # keys that are not strings: the standard library's JSON, exactly as before
    assert _decode(_encode({1: "a"})) == {"1": "a"}  # type: ignore[dict-item]


def _same(a: Any, b: Any) -> bool:
    """Equal, NaN equal to NaN, types kept (True is not 1, 1.0 is not 1, -0.0 keeps its sign)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (
            a == b and math.copysign(1, a) == math.copysign(1, b)
        )
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@pytest.mark.parametrize(
    "text",
    [
        b'{"a":NaN,"b":Infinity,"c":-Infinity}',
        b'{"big":123456789012345678901234567890,"neg":-18446744073709551617}',
        b'{"s":"\\ud800 lone","t":"ni\\u00f1a \xc3\xb1"}',
        b'{"f":0.30000000000000004,"e":1e16,"z":-0.0,"tiny":5e-324,"dup":1,"dup":2}',
        b'{"n":null,"l":[true,false,[],{}],"u":"\xf0\x9f\x98\x80"}',
        b'{"huge":1e400,"u64":18446744073709551615,"i63":9223372036854775807,"m":-9223372036854775808}',
        b'{"digits":"12345678901234567890 in a string","x":1.2345678901234567e+300}',
    ],
)
def test_json_read_from_the_vault_is_the_value_the_standard_library_reads(text: bytes) -> None:
    import json

    from fieldscreen.vault.store import json_loads

    assert _same(json_loads(text), json.loads(text))


def test_hmac_sha256_is_rfc_4231() -> None:
    # RFC 4231, test case 2
    mac = crypto.hmac_sha256(b"Jefe", b"what do ya want for nothing?")
    assert mac.hex() == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"


def test_case_cards_come_back_in_the_order_read_and_a_rolled_back_card_is_left_out(
    vault: Vault, org: dict[str, bytes]
) -> None:
    ids = []
    for n in range(30):
        rid = vault.new_draft("f", "1", {"n": n})
        vault.finalise(rid, record={"n": n}, case_card={"alias": f"A{n}"})
        ids.append(rid)
    raw = _raw(vault.db_path.parent)
    old = raw.execute(
        "SELECT version, ciphertext, wrapped_key FROM case_cards WHERE record_id = ?", (ids[7],)
    ).fetchone()
    vault.update_case_card(ids[7], {"alias": "newer"})
    raw.execute(
        "UPDATE case_cards SET version = ?, ciphertext = ?, wrapped_key = ? WHERE record_id = ?",
        (*old, ids[7]),
    )
    raw.close()
    wanted = sorted(ids)
    cards = vault.case_cards(wanted)
    assert list(cards) == [i for i in wanted if i != ids[7]]  # the older copy is not read
    assert all(cards[i]["alias"] == f"A{ids.index(i)}" for i in cards)


def test_the_kept_buckets_and_shares_are_what_the_keys_compute_afresh(vault: Vault) -> None:
    ids = [vault.new_draft("f", "1", {"n": n}) for n in range(30)]
    for record_id in ids[:10]:
        vault.save_draft(record_id, {"n": -1})
    keys, _ = vault._require()
    fresh = Keys(keys.master, keys.admin_public)  # the same keys, nothing kept yet
    kept = keys.memo("row-map-bucket")
    assert len(kept) >= 30
    for key, bucket in kept.items():
        assert bucket == digest.bucket_of(fresh, key)
    shares = keys.memo("state-digest")
    assert shares
    for (bucket, nonce), share in shares.items():
        assert share == digest._contribution(fresh, bucket, nonce)
    assert vault.integrity_check().ok


def test_a_draft_saved_on_a_later_day_carries_that_day(vault: Vault) -> None:
    from datetime import datetime

    record_id = vault.new_draft("f", "1", {"n": 0})
    first = {r.record_id: r for r in vault.list_records()}[record_id]
    vault.save_draft(record_id, {"n": 1})  # the same day: the indexed day is left alone
    vault._clock = lambda: datetime(2100, 1, 2)
    vault.save_draft(record_id, {"n": 2})
    later = {r.record_id: r for r in vault.list_records()}[record_id]
    assert (first.version, later.version) == (1, 3)
    assert later.updated_day == "2100-01-02" != first.updated_day
    assert later.created_day == first.created_day
    assert [r.record_id for r in vault.list_records("draft")].count(record_id) == 1
    assert vault.load_record(record_id) == {"n": 2}
    assert vault.integrity_check().ok


@pytest.mark.parametrize(
    "detail",
    [
        {"nan": math.nan, "big": 2**70, "f": 0.1 + 0.2},
        {"texto": "niña \u2028 \x01", "none": None, "list": [1, [2, {"b": False}]]},
        {3: "a key that is not a string"},
    ],
)
def test_an_audit_entry_reads_back_as_the_detail_given(vault: Vault, detail: Any) -> None:
    import json

    keys, user = vault._require()
    with vault._tx() as conn:
        seq = audit.append(conn, keys, vault.vault_id, user_id=user.user_id, action="view",
                           detail=detail)  # fmt: skip
        entry = audit.entries(conn, keys, seq - 1)[0]
    expected = json.loads(json.dumps(detail, sort_keys=True))  # what the old codec kept
    assert _same(entry.detail, expected)
    assert audit.verify(vault._open_store().conn, keys, vault.vault_id).intact


@pytest.mark.parametrize(
    "entries",
    [
        {"r:a": [1, "draft", "2026-12-04", None, "2026-12-04", "f", "1"], "c:b": [2, "card"]},
        {"r:z": [2**70, "draft"], "r:y": [1, "niña \u2028"]},
        {"r:x": [1, "draft", math.inf]},
    ],
)
def test_a_row_map_bucket_reads_back_as_the_entries_given(entries: dict[str, Any]) -> None:
    import json

    written = digest._encode(entries)
    assert list(json.loads(written)) == sorted(entries)  # keys sorted, as before
    assert _same(digest._decode(written), json.loads(json.dumps(entries, sort_keys=True)))


def test_the_list_nonces_kept_apart_from_the_root_are_bound_to_it(
    tmp_path: Path, org: dict[str, bytes]
) -> None:
    """A draft save rewrites a root of one page and leaves the list nonces' slot alone; that
    slot put back from an older write, flipped or deleted makes the root unreadable (damaged,
    reported at unlock), never a root with other list nonces."""
    import os

    tally: Counter[str] = Counter()
    for seed in range(VARIANTS):
        rng = random.Random(seed)
        folder = tmp_path / f"v{seed}"
        vault = Vault.create(
            folder, admin_login=LOGIN, passphrase=PASS, kdf=crypto.KdfParams.for_tests()
        )
        raw = _raw(folder)
        record_id = vault.new_draft("f", "1", {"n": 0})
        older = _slot(raw, "row_map_lists")
        with vault._tx():  # a list bucket written (as a case card's write does)
            vault._row_map.lists_written({rng.randrange(digest.LIST_BUCKETS): os.urandom(12)})
        current = _slot(raw, "row_map_lists")
        assert older is not None
        assert current is not None
        assert current != older
        root_before = _slot(raw, "row_map_root")
        vault.save_draft(record_id, {"n": 1})
        assert _slot(raw, "row_map_lists") == current  # a save leaves the slot alone
        root = _slot(raw, "row_map_root")
        assert root is not None
        assert root != root_before
        assert len(root) < 4000 - 28  # fits its page
        attack = rng.choice(["older", "flip", "delete"])
        if attack == "older":
            replaced: bytes | None = older
        elif attack == "flip":
            spot = rng.randrange(len(current))
            replaced = current[:spot] + bytes([current[spot] ^ 1]) + current[spot + 1 :]
        else:
            replaced = None
        _set_slot(raw, "row_map_lists", replaced)
        keys, _ = vault._require()
        with pytest.raises(crypto.DecryptError):
            digest.read_root(vault._open_store().conn, keys)
        tally[attack] += 1
        vault.lock()
        vault.unlock(LOGIN, PASS)
        state = vault.last_state_check
        assert state is not None
        assert state.root_damaged, attack
        alert = vault.state_alert()
        assert alert is not None
        assert alert.code == "vault-state-altered", attack
        raw.close()
        vault.close()
    print(f"\nlist nonces' slot attacked: {dict(tally)}; read as another root 0")
    assert sum(tally.values()) == VARIANTS
