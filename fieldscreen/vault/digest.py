"""The state digest: a keyed summary of every stored ciphertext's identity and version.

AEAD with associated data catches a flipped bit, a ciphertext moved to another row or field, and
an old ciphertext put back under a newer version number. It cannot catch a *whole row* put back
from an older copy (ciphertext and version number together). The digest does: it is the sum,
modulo 2**256, of ``HMAC(digest key, table | id | version | status | nonce)`` over every record
and case card, kept encrypted in the secrets table and updated in the same transaction as each
write (two HMACs, so a save stays O(1)). The integrity check recomputes it.
"""

from __future__ import annotations

import sqlite3

from fieldscreen import crypto
from fieldscreen.vault.keys import Keys, aad
from fieldscreen.vault.store import as_blob

__all__ = ["Item", "compute", "item", "read", "update"]

_NAME = "state_digest"
_MOD = 1 << 256
Item = tuple[str, str, int, str, bytes | None]


def item(table: str, row_id: str, version: int, status: str, blob: object) -> Item:
    """The identity of one stored ciphertext (its nonce stands for the blob)."""
    if blob is None:
        return (table, row_id, version, status, None)
    raw = blob if isinstance(blob, bytes) else str(blob).encode("utf-8", "replace")
    return (table, row_id, version, status, raw[:12])


def _value(keys: Keys, entry: Item) -> int:
    table, row_id, version, status, nonce = entry
    message = aad(table, row_id, version, status, "-" if nonce is None else nonce.hex())
    return int.from_bytes(crypto.hmac_sha256(keys.sub("state-digest"), message), "big")


def read(conn: sqlite3.Connection, keys: Keys) -> int:
    row = conn.execute("SELECT ciphertext FROM secrets WHERE name = ?", (_NAME,)).fetchone()
    if row is None:
        return 0
    raw = crypto.decrypt(keys.sub("secrets"), as_blob(row[0]), aad("secrets", _NAME))
    return int.from_bytes(raw, "big")


def update(conn: sqlite3.Connection, keys: Keys, *, remove: list[Item], add: list[Item]) -> None:
    """Replace ``remove`` by ``add`` in the stored digest (inside the caller's transaction)."""
    value = read(conn, keys)
    for entry in remove:
        value -= _value(keys, entry)
    for entry in add:
        value += _value(keys, entry)
    blob = crypto.encrypt(
        keys.sub("secrets"), (value % _MOD).to_bytes(32, "big"), aad("secrets", _NAME)
    )
    conn.execute(
        "INSERT INTO secrets (name, ciphertext) VALUES (?, ?) "
        "ON CONFLICT(name) DO UPDATE SET ciphertext = excluded.ciphertext",
        (_NAME, blob),
    )


def compute(conn: sqlite3.Connection, keys: Keys) -> int:
    """The digest recomputed from the rows as they are now."""
    value = 0
    for row_id, version, status, blob in conn.execute(
        "SELECT id, version, status, ciphertext FROM records"
    ):
        value += _value(keys, item("records", row_id, version, status, blob))
    for row_id, version, blob in conn.execute(
        "SELECT record_id, version, ciphertext FROM case_cards"
    ):
        value += _value(keys, item("case_cards", row_id, version, "card", blob))
    return value % _MOD
