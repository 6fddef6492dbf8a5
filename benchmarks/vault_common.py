"""Shared parts of P1 and P2: realistic screening records and the two baselines.

Both baselines store the same plaintext JSON with the vault's durability settings (WAL,
``synchronous=FULL``, one transaction per save) through plain SQL: plain SQLite (the limit)
and SQLCipher via ``sqlcipher3`` (what a user would pick instead; raw 256-bit key, so no key
derivation is timed).
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
from pathlib import Path
from typing import Any

from benchmarks.harness import QUICK

__all__ = ["QUICK", "Baseline", "UtilsBaseline", "light_vault", "realistic_record"]

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA secure_delete=ON",
    "PRAGMA temp_store=MEMORY",
)


def realistic_record(seed: int, size: int = 5000) -> dict[str, Any]:
    """About ``size`` bytes of JSON shaped like a screening: choices, numbers, short notes.

    The length of the JSON is kept as a running sum as answers are added (``{"k": v, ...}``:
    two braces, ``": "`` after a key, ``", "`` between answers; every string here is plain
    ASCII, so a string's JSON is itself in quotes), so making a record costs its own size, not
    its size squared of re-encoding the whole after every answer; the record is the same.
    """
    rng = random.Random(seed)
    words = ["si", "no", "madre", "hermano", "frontera", "albergue", "escuela", "miedo", "salud"]
    record: dict[str, Any] = {}
    length = 2  # "{}"
    n = 0
    while length < size:
        n += 1
        kind = n % 4
        value: Any
        if kind == 0:
            value = rng.choice(["yes", "no", "unknown", "refused"])
            encoded = len(value) + 2
        elif kind == 1:
            value = rng.randint(0, 99)
            encoded = len(str(value))
        elif kind == 2:
            value = " ".join(rng.choice(words) for _ in range(rng.randint(3, 12)))
            encoded = len(value) + 2
        else:
            value = [rng.choice(["a", "b", "c", "d"]) for _ in range(3)]
            encoded = 15  # ["a", "b", "c"]
        key = f"q{n}"
        length += (2 if record else 0) + len(key) + 4 + encoded
        record[key] = value
    return record


class Baseline:
    """A one-table store of plaintext JSON with the vault's durability settings."""

    def __init__(self, path: Path, *, cipher: bool) -> None:
        if cipher:
            from sqlcipher3 import dbapi2 as sqlcipher

            self.conn: Any = sqlcipher.connect(str(path), isolation_level=None)
            self.conn.execute("PRAGMA key = \"x'" + os.urandom(32).hex() + "'\"")
        else:
            self.conn = sqlite3.connect(path, isolation_level=None)
        for pragma in PRAGMAS:
            self.conn.execute(pragma)
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS records (id INTEGER PRIMARY KEY, form TEXT, body BLOB)"
        )

    def insert(self, record: dict[str, Any]) -> int:
        self.conn.execute("BEGIN IMMEDIATE")
        cursor = self.conn.execute(
            "INSERT INTO records (form, body) VALUES (?, ?)",
            ("screening", json.dumps(record).encode()),
        )
        self.conn.execute("COMMIT")
        return int(cursor.lastrowid)

    def bulk(self, records: list[dict[str, Any]]) -> list[int]:
        self.conn.execute("BEGIN IMMEDIATE")
        ids = [
            int(
                self.conn.execute(
                    "INSERT INTO records (form, body) VALUES (?, ?)",
                    ("screening", json.dumps(r).encode()),
                ).lastrowid
            )
            for r in records
        ]
        self.conn.execute("COMMIT")
        return ids

    def update(self, row_id: int, record: dict[str, Any]) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.execute(
            "UPDATE records SET body = ? WHERE id = ?", (json.dumps(record).encode(), row_id)
        )
        self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


class UtilsBaseline:
    """The spec's baseline: plain ``sqlite-utils`` inserts of the same plaintext JSON, one
    transaction each, with the same durability settings as :class:`Baseline`."""

    def __init__(self, path: Path) -> None:
        import sqlite_utils

        self.conn = sqlite3.connect(path)
        for pragma in PRAGMAS:
            self.conn.execute(pragma)
        self.db = sqlite_utils.Database(self.conn)
        self.table: Any = self.db.table("records")
        if not self.table.exists():
            self.table.create({"id": int, "form": str, "body": bytes}, pk="id")

    def insert(self, record: dict[str, Any]) -> int:
        row = {"form": "screening", "body": json.dumps(record).encode()}
        return int(self.table.insert(row).last_pk)

    def close(self) -> None:
        self.conn.close()


def light_vault(folder: Path) -> Any:
    """A vault with light Argon2id parameters (key derivation is not what P1/P2 measure)."""
    from fieldscreen import crypto
    from fieldscreen.vault import Vault

    crypto.permit_test_parameters(True)
    return Vault.create(
        folder,
        admin_login="bench",
        passphrase=b"benchmark passphrase",
        kdf=crypto.KdfParams.for_tests(),
    )


def wal_frames_per_write(conn: Any, db_path: Path, write: Any, count: int) -> float:
    """WAL frames (pages) one durable write appends: ``write()`` run ``count`` times with
    automatic checkpoints off, after emptying the WAL; the size of the WAL then says how many
    pages were written."""
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
    try:
        for _ in range(count):
            write()
        wal = Path(str(db_path) + "-wal").stat().st_size
    finally:
        conn.execute("PRAGMA wal_autocheckpoint=1000")
    return round(max(wal - 32, 0) / (page_size + 24) / count, 2)
