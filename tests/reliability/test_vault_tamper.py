"""Tamper fuzzing of the stored records: silently accepted 0.

Mutations of the database rows (bit flips, truncation, extension, ciphertexts swapped between
rows, between fields and between tables, whole payloads moved to another row, an older
ciphertext replayed, a whole older row replayed, plaintext columns edited) are each applied
inside a transaction that is rolled back afterwards. A mutation is *detected* when reading the
record fails or the integrity check reports it; it is *silently accepted* when neither happens.
The control runs the same fuzzer against a deliberately weakened vault (constant associated
data, no state digest) and must see silent acceptances, proving the harness can see them.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fieldscreen import crypto
from fieldscreen.vault import Vault
from fieldscreen.vault import digest as digest_module
from fieldscreen.vault import records as records_module
from tests.reliability.vault_support import count

pytestmark = pytest.mark.reliability

KINDS = (
    "flip",
    "truncate",
    "extend",
    "swap_rows",
    "swap_fields",
    "swap_tables",
    "swap_payload",
    "replay_ciphertext",
    "replay_row",
    "plain_column",
)


class _Rollback(Exception):
    pass


def _build(folder: Path) -> tuple[Vault, dict[str, Any], dict[str, list[dict[str, Any]]]]:
    _, sealing_public = crypto.generate_sealing_keypair()
    _, signing_public = crypto.generate_signing_keypair()
    vault = Vault.create(
        folder,
        admin_login="admin1",
        passphrase=b"tamper passphrase",
        kdf=crypto.KdfParams.for_tests(),
    )
    vault.set_org_keys(sealing_public, signing_public)
    conn = vault._open_store().conn
    expected: dict[str, Any] = {}
    history: dict[str, list[dict[str, Any]]] = {}

    def snap(record: str) -> None:
        cursor = conn.execute("SELECT * FROM records WHERE id = ?", (record,))
        names = [c[0] for c in cursor.description]
        history.setdefault(record, []).append(dict(zip(names, cursor.fetchone(), strict=True)))

    for n in range(5):
        record = vault.new_draft("tamper-form", "1", {"n": n, "i": 0})
        snap(record)
        for i in range(1, 4):
            vault.save_draft(record, {"n": n, "i": i, "text": "answer " * (n * 40)})
            snap(record)
        expected[record] = {"n": n, "i": 3, "text": "answer " * (n * 40)}
        if n >= 3:
            final = {"n": n, "final": True}
            vault.finalise(record, record=final, case_card={"card": n})
            snap(record)
            expected[record] = final
    return vault, expected, history


def _rows(conn: Any, table: str) -> list[dict[str, Any]]:
    cursor = conn.execute(f"SELECT * FROM {table}")
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def _mutate(
    conn: Any, rng: random.Random, kind: str, history: dict[str, list[dict[str, Any]]]
) -> str:
    """Apply one mutation; return the id of the record it touched."""
    table = rng.choice(["records", "records", "case_cards"])
    key = "id" if table == "records" else "record_id"
    rows = _rows(conn, table)
    row = rng.choice(rows)
    row_id = row[key]
    field = rng.choice(["ciphertext", "wrapped_key"])

    def put(target_id: str, **values: Any) -> None:
        sets = ", ".join(f"{k} = ?" for k in values)
        conn.execute(
            f"UPDATE {table} SET {sets} WHERE {key} = ?",
            (*values.values(), target_id),
        )

    if kind == "flip":
        data = bytearray(row[field])
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        put(row_id, **{field: bytes(data)})
    elif kind == "truncate":
        put(row_id, **{field: row[field][: rng.randrange(len(row[field]))]})
    elif kind == "extend":
        put(row_id, **{field: row[field] + rng.randbytes(rng.randint(1, 16))})
    elif kind == "swap_rows":
        other = rng.choice([r for r in rows if r[key] != row_id])
        put(row_id, **{field: other[field]})
        put(other[key], **{field: row[field]})
    elif kind == "swap_fields":
        put(row_id, ciphertext=row["wrapped_key"], wrapped_key=row["ciphertext"])
    elif kind == "swap_tables":
        cards = {r["record_id"]: r for r in _rows(conn, "case_cards")}
        record_id = rng.choice(sorted(cards))
        conn.execute(
            "UPDATE records SET ciphertext = ?, wrapped_key = ? WHERE id = ?",
            (cards[record_id]["ciphertext"], cards[record_id]["wrapped_key"], record_id),
        )
        return str(record_id)
    elif kind == "swap_payload":
        other = rng.choice([r for r in rows if r[key] != row_id])
        put(row_id, ciphertext=other["ciphertext"], wrapped_key=other["wrapped_key"])
    elif kind in ("replay_ciphertext", "replay_row"):
        record_id = rng.choice(sorted(history))
        old = rng.choice(history[record_id][:-1])
        if kind == "replay_ciphertext":
            conn.execute(
                "UPDATE records SET ciphertext = ? WHERE id = ?", (old["ciphertext"], record_id)
            )
        else:
            conn.execute(
                "UPDATE records SET ciphertext = ?, wrapped_key = ?, version = ?, status = ? "
                "WHERE id = ?",
                (old["ciphertext"], old["wrapped_key"], old["version"], old["status"], record_id),
            )
        return record_id
    elif table == "case_cards":
        put(row_id, version=row["version"] + rng.choice([-1, 1]))
    else:
        column, value = rng.choice(
            [
                ("version", row["version"] + rng.choice([-1, 1, 7])),
                ("status", "finalised" if row["status"] == "draft" else "draft"),
                ("form_version", "2"),
                ("form_id", "other-form"),
            ]
        )
        put(row_id, **{column: value})
    return str(row_id)


def fuzz(
    vault: Vault,
    expected: dict[str, Any],
    history: dict[str, list[dict[str, Any]]],
    n: int,
    seed: int,
) -> Counter[str]:
    rng = random.Random(seed)
    store = vault._open_store()
    tally: Counter[str] = Counter()
    for _ in range(n):
        kind = KINDS[rng.randrange(len(KINDS))]
        try:
            with store.transaction() as conn:
                touched = _mutate(conn, rng, kind, history)
                read_failed = False
                try:
                    content = (
                        vault.load_record(touched)
                        if touched in expected
                        else vault.case_card(touched)
                    )
                    if touched in expected and content != expected[touched]:
                        tally["read returned stale or wrong data"] += 1
                except (crypto.DecryptError, crypto.CryptoError, Exception):
                    read_failed = True
                report = vault.integrity_check()
                tally["mutations"] += 1
                tally[f"kind {kind}"] += 1
                if read_failed or not report.ok:
                    tally["detected"] += 1
                else:
                    tally["silently accepted"] += 1
                raise _Rollback
        except _Rollback:
            pass
    return tally


@pytest.fixture
def permitted() -> Iterator[None]:
    crypto.permit_test_parameters(True)
    yield
    crypto.permit_test_parameters(False)


def test_tamper_fuzzing_accepts_nothing_silently(tmp_path: Path, permitted: None) -> None:
    vault, expected, history = _build(tmp_path / "data")
    n = count(2000, 10000)
    tally = fuzz(vault, expected, history, n, seed=7)
    assert vault.integrity_check().ok  # every mutation was rolled back
    vault.close()
    print(f"\ntamper fuzzing: {dict(sorted(tally.items()))}")
    assert tally["mutations"] == n
    assert tally["silently accepted"] == 0
    assert tally["detected"] == n


def test_control_a_weakened_vault_is_caught_accepting(
    tmp_path: Path, permitted: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_aad = records_module.aad

    def weak_aad(*parts: str | int) -> bytes:
        return b"constant" if parts[0] in ("records", "case_cards") else real_aad(*parts)

    monkeypatch.setattr(records_module, "aad", weak_aad)
    monkeypatch.setattr(digest_module.RowMap, "check", lambda *args, **kwargs: None)
    monkeypatch.setattr(digest_module.RowMap, "compare_all", lambda *args, **kwargs: [])
    monkeypatch.setattr(
        digest_module.RowMap, "verify", lambda *args, **kwargs: digest_module.MapCheck()
    )
    vault, expected, history = _build(tmp_path / "data")
    tally = fuzz(vault, expected, history, 400, seed=7)
    vault.close()
    print(f"\ncontrol (weakened vault): {dict(sorted(tally.items()))}")
    assert tally["silently accepted"] > 0
