"""The supervision log is read incrementally, and never shows what the vault does not hold."""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldscreen.vault import Vault, audit
from tests.unit.vault.conftest import LOGIN, PASS


def _created(vault: Vault) -> list[str | None]:
    return [e.record_id for e in vault.supervision_log() if e.action == "create"]


def test_later_reads_decrypt_only_the_newer_entries(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = [vault.new_draft("f", "1") for _ in range(3)]
    for _ in range(20):
        vault.record_event("view")  # entries the queue does not want
    assert _created(vault) == first
    reads: list[int] = []
    original = audit.entries

    def counting(conn, keys, after=0):  # type: ignore[no-untyped-def]
        found = original(conn, keys, after)
        reads.append(len(found))
        return found

    monkeypatch.setattr(audit, "entries", counting)
    second = vault.new_draft("f", "1")
    assert _created(vault) == [*first, second]
    assert reads == [1]  # the new draft's entry alone, not the 24 before it
    assert _created(vault) == [*first, second]
    assert reads == [1, 0]


def test_what_a_rolled_back_transaction_wrote_is_not_shown_afterwards(vault: Vault) -> None:
    kept = vault.new_draft("f", "1")
    assert _created(vault) == [kept]
    inside: list[list[str | None]] = []

    def cut_short() -> None:
        with vault.bulk():
            gone = vault.new_draft("f", "1")
            inside.append(_created(vault))  # inside the transaction it is there
            assert inside[0] == [kept, gone]
            raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        cut_short()
    assert len(inside) == 1
    assert _created(vault) == [kept]
    later = vault.new_draft("f", "1")
    assert _created(vault) == [kept, later]


def test_nothing_read_survives_the_lock(vault: Vault) -> None:
    record = vault.new_draft("f", "1")
    assert _created(vault) == [record]
    vault.lock()
    assert vault._supervision_kept is None
    vault.unlock(LOGIN, PASS)
    assert _created(vault) == [record]


def _full(vault: Vault) -> list[audit.AuditEntry]:
    """The supervision log read from the start, nothing kept (the reference)."""
    keys, _ = vault._require()
    wanted = {"create", "finalise", "override"}
    with vault._tx() as conn:
        return [e for e in audit.entries(conn, keys) if e.action in wanted]


def test_the_first_read_after_unlock_decrypts_only_what_came_after_the_kept_prefix(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fieldscreen.vault import vault as vault_module

    monkeypatch.setattr(vault_module, "_KEEP_AFTER", 5)
    made = [vault.new_draft("f", "1") for _ in range(6)]
    vault.record_event("override", made[0], {"queue": "request", "kinds": ["tier-override"]})
    assert vault.supervision_log() == _full(vault)  # read in full once: the prefix is kept
    later = vault.new_draft("f", "1")
    vault.lock()
    vault.unlock(LOGIN, PASS)
    reads: list[int] = []
    original = audit.entries

    def counting(conn, keys, after=0):  # type: ignore[no-untyped-def]
        found = original(conn, keys, after)
        reads.append(len(found))
        return found

    monkeypatch.setattr(audit, "entries", counting)
    got = vault.supervision_log()
    assert reads[0] < 5  # the unlock's and the later draft's entries, not the whole log
    assert got == _full(vault)
    assert later in [e.record_id for e in vault.supervision_log()]


def test_a_kept_prefix_removed_damaged_or_put_back_reads_the_log_as_it_is(
    tmp_path: Path, org: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Someone with the files removes the kept prefix, flips a byte of it, puts back an older
    copy, or moves another secret's ciphertext into its row: the supervision log read after
    unlock is the log as it is (compared with a full read), every variant. Counted: wrong
    supervision log 0."""
    import random
    import sqlite3
    from collections import Counter

    from fieldscreen import crypto
    from fieldscreen.vault import vault as vault_module
    from fieldscreen.vault.base import DB_NAME

    monkeypatch.setattr(vault_module, "_KEEP_AFTER", 3)
    tally: Counter[str] = Counter()
    for seed in range(12):
        rng = random.Random(seed)
        folder = tmp_path / f"v{seed}"
        v = Vault.create(
            folder, admin_login=LOGIN, passphrase=PASS, kdf=crypto.KdfParams.for_tests()
        )
        v.set_org_keys(org["sealing_public"], org["signing_public"])
        for _ in range(rng.randint(3, 6)):
            v.new_draft("f", "1")
        v.supervision_log()
        raw = sqlite3.connect(folder / DB_NAME, isolation_level=None)
        older = raw.execute(
            "SELECT ciphertext FROM secrets WHERE name = 'supervision_kept'"
        ).fetchone()[0]
        rid = v.new_draft("f", "1")
        v.record_event("override", rid, {"queue": "sign-off", "kinds": ["act-now"]})
        for _ in range(3):
            v.new_draft("f", "1")
        v.supervision_log()  # a newer prefix kept
        v.close()
        attack = rng.choice(["delete", "flip", "older", "other-slot"])
        if attack == "delete":
            raw.execute("DELETE FROM secrets WHERE name = 'supervision_kept'")
        elif attack == "flip":
            blob = bytearray(
                raw.execute(
                    "SELECT ciphertext FROM secrets WHERE name = 'supervision_kept'"
                ).fetchone()[0]
            )
            blob[rng.randrange(len(blob))] ^= 1 << rng.randrange(8)
            raw.execute(
                "UPDATE secrets SET ciphertext = ? WHERE name = 'supervision_kept'", (bytes(blob),)
            )
        elif attack == "older":
            raw.execute(
                "UPDATE secrets SET ciphertext = ? WHERE name = 'supervision_kept'", (older,)
            )
        else:
            raw.execute(
                "UPDATE secrets SET ciphertext = (SELECT ciphertext FROM secrets WHERE "
                "name = 'audit_head') WHERE name = 'supervision_kept'"
            )
        raw.close()
        v = Vault.open(folder)
        v.unlock(LOGIN, PASS)
        tally[attack] += 1
        if v.supervision_log() != _full(v):
            tally["wrong supervision log"] += 1
        v.close()
    print(f"\nkept prefix attacked: {dict(tally)}")
    assert tally["wrong supervision log"] == 0


def test_a_prefix_kept_in_the_first_format_still_reads_and_details_are_kept_once(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Format 2 keeps each distinct detail once (every create of one form version holds the
    same); a prefix written in format 1 (each entry's detail in place) reads as before."""
    import orjson

    from fieldscreen.vault import vault as vault_module

    monkeypatch.setattr(vault_module, "_KEEP_AFTER", 5)
    made = [vault.new_draft("f", "1") for _ in range(6)]
    vault.record_event("override", made[0], {"queue": "request", "kinds": ["tier-override"]})
    vault.record_event("override", made[1], {"queue": "request", "kinds": ["tier-override"]})
    full = _full(vault)
    assert vault.supervision_log() == full
    with vault._tx() as conn:
        stored = orjson.loads(vault._secret(conn, vault_module.SUPERVISION_KEPT) or b"")
    assert stored["v"] == 2
    assert len(stored["details"]) < len(stored["d"]) == len(full)
    assert sorted(map(orjson.dumps, stored["details"])) == sorted(
        set(map(orjson.dumps, (e.detail or None for e in full)))
    )
    first = {**stored, "v": 1, "d": [stored["details"][i] for i in stored["d"]]}
    del first["details"]
    with vault._tx() as conn:
        vault._put_secret(conn, vault_module.SUPERVISION_KEPT, orjson.dumps(first))
    vault.lock()
    vault.unlock(LOGIN, PASS)
    reads: list[int] = []
    original = audit.entries

    def counting(conn, keys, after=0):  # type: ignore[no-untyped-def]
        found = original(conn, keys, after)
        reads.append(len(found))
        return found

    monkeypatch.setattr(audit, "entries", counting)
    assert vault.supervision_log() == _full(vault)
    assert reads[0] < 5  # the kept prefix of format 1 read, not the whole log
