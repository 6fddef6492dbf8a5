"""Moving the database from one set of vault keys to another (a key rotation).

:func:`reencrypt` runs inside one transaction, so a crash leaves the database wholly under the
old keys or wholly under the new ones. What it rewrites:

* every record's and case card's wrapped data key (under the new ``record-keys`` key); a draft's
  and a case card's content also gets a **fresh data key** (they are the rows written again
  later, so an old key file with an old copy of the database does not open their next
  versions); a finalised record's content is never written again and keeps its data key;
* every row of ``secrets``, whatever its name (device key, organisation keys, sync slots, and
  any slot a later format adds), every outbox aggregate and every record's kept aggregate;
* the audit log: each entry re-encrypted and the chain recomputed under the new MAC key;
* the state digest's row map and root, carried over entry by entry
  (:func:`fieldscreen.vault.digest.carry_over`);
* the case list's index is dropped: it is derived data, rebuilt from the cards on the next read.

Nothing that fails to authenticate under the old keys is made valid by the move: such a row is
carried over as it was (it still fails), a broken audit chain stays broken at the same entry,
and a state digest that did not match before does not match after.
"""

from __future__ import annotations

import hmac
import sqlite3
import struct
from collections.abc import Callable
from dataclasses import dataclass

from fieldscreen import crypto
from fieldscreen.vault import audit, digest
from fieldscreen.vault.base import outbox_state_mac
from fieldscreen.vault.keys import Keys, aad
from fieldscreen.vault.store import as_blob

__all__ = ["RekeyCounts", "io_hook", "reencrypt"]

#: Called with "reencrypt" before the rewrite and "commit" just before it commits (tests only).
io_hook: Callable[[str], None] | None = None


def _step(name: str) -> None:
    if io_hook is not None:
        io_hook(name)


@dataclass
class RekeyCounts:
    """How many rows the move rewrote, and how many it carried over unreadable."""

    data_keys: int = 0
    fresh_data_keys: int = 0
    secrets: int = 0
    aggregates: int = 0
    audit_entries: int = 0
    unreadable: int = 0


_SELECT = {
    # a finalised record's content keeps its data key: its ciphertext is not read
    "records": "SELECT id, status, version, form_id, form_version, wrapped_key, "
    "CASE WHEN status = 'draft' THEN ciphertext END "
    "FROM records WHERE wrapped_key IS NOT NULL",
    "case_cards": "SELECT record_id, 'card', version, '', '', wrapped_key, ciphertext "
    "FROM case_cards",
}
_UPDATE_KEY = {
    "records": "UPDATE records SET wrapped_key = ? WHERE id = ?",
    "case_cards": "UPDATE case_cards SET wrapped_key = ? WHERE record_id = ?",
}
_UPDATE_BOTH = {
    "records": "UPDATE records SET wrapped_key = ?, ciphertext = ? WHERE id = ?",
    "case_cards": "UPDATE case_cards SET wrapped_key = ?, ciphertext = ? WHERE record_id = ?",
}


def _content_aad(table: str, row: tuple[object, ...]) -> bytes:
    row_id, status, version, form_id, form_version = (str(v) for v in row[:5])
    if table == "records":
        return aad("records", row_id, status, version, form_id, form_version)
    return aad("case_cards", row_id, "card", version)


def _rewrap(
    conn: sqlite3.Connection, old: Keys, new: Keys, counts: RekeyCounts, *, table: str
) -> None:
    old_wrap, new_wrap = old.sub("record-keys"), new.sub("record-keys")
    keys_only: list[tuple[bytes, object]] = []
    for row in conn.execute(_SELECT[table]).fetchall():
        row_id, status, wrapped, stored = row[0], row[1], row[5], row[6]
        dek_aad = aad(table, row_id, "dek")
        try:
            dek = crypto.decrypt(old_wrap, as_blob(wrapped), dek_aad)
        except crypto.DecryptError:
            counts.unreadable += 1
            continue
        fresh: bytes | None = None
        if status in ("draft", "card") and stored is not None:
            content_aad = _content_aad(table, row)
            try:
                plaintext = crypto.decrypt(dek, as_blob(stored), content_aad)
            except crypto.DecryptError:
                counts.unreadable += 1
            else:
                dek = crypto.random_bytes(crypto.KEY_BYTES)
                fresh = crypto.encrypt(dek, plaintext, content_aad)
                counts.fresh_data_keys += 1
        rewrapped = crypto.encrypt(new_wrap, dek, dek_aad)
        if fresh is not None:
            conn.execute(_UPDATE_BOTH[table], (rewrapped, fresh, row_id))
        else:
            keys_only.append((rewrapped, row_id))
        counts.data_keys += 1
    conn.executemany(_UPDATE_KEY[table], keys_only)


def _move_secret(old: Keys, new: Keys, blob: object, where: bytes) -> bytes | None:
    try:
        value = crypto.decrypt(old.sub("secrets"), as_blob(blob), where)
    except crypto.DecryptError:
        return None
    return crypto.encrypt(new.sub("secrets"), value, where)


def _rechain(
    conn: sqlite3.Connection, old: Keys, new: Keys, vault_id: str, counts: RekeyCounts
) -> None:
    """Re-encrypt the audit log and recompute its chain; a break stays a break."""
    before = audit.verify(conn, old, vault_id)
    old_aead = crypto.AeadKey(old.sub("audit-encryption"))
    new_key = new.sub("audit-encryption")
    previous = audit.genesis(new, vault_id)
    rows = conn.execute("SELECT seq, ciphertext FROM audit ORDER BY seq").fetchall()
    last_seq = 0
    for seq, ciphertext in rows:
        try:
            body = old_aead.decrypt(as_blob(ciphertext), aad("audit", seq))
        except crypto.DecryptError:
            counts.unreadable += 1
            moved = as_blob(ciphertext) if isinstance(ciphertext, bytes) else b""
        else:
            moved = crypto.encrypt(new_key, body, aad("audit", seq))
        mac = audit.link(new, previous, int(seq), moved)
        if before.first_bad_seq is not None and int(seq) == before.first_bad_seq:
            mac = bytes(len(mac))  # the chain was broken here under the old keys: keep it so
        conn.execute("UPDATE audit SET ciphertext = ?, mac = ? WHERE seq = ?", (moved, mac, seq))
        previous, last_seq = mac, int(seq)
        counts.audit_entries += 1
    if not before.intact and (before.first_bad_seq is None or before.first_bad_seq > last_seq):
        previous = bytes(len(previous))  # a truncated log, or a head that did not match
    head = crypto.encrypt(
        new.sub("secrets"), struct.pack(">Q", last_seq) + previous, aad("secrets", audit.HEAD)
    )
    conn.execute(
        "INSERT INTO secrets (name, ciphertext) VALUES (?, ?) "
        "ON CONFLICT(name) DO UPDATE SET ciphertext = excluded.ciphertext",
        (audit.HEAD, head),
    )


def reencrypt(conn: sqlite3.Connection, old: Keys, new: Keys, vault_id: str) -> RekeyCounts:
    """Move every ciphertext of the database from ``old`` to ``new`` (inside the caller's
    transaction)."""
    _step("reencrypt")
    counts = RekeyCounts()
    held = digest.legacy_held(conn, old)  # before the rows' ciphertexts change
    secrets_before = digest.secret_nonces(conn)
    _rewrap(conn, old, new, counts, table="records")
    _rewrap(conn, old, new, counts, table="case_cards")
    skip = {audit.HEAD, *digest.SLOTS}
    for name, blob in conn.execute("SELECT name, ciphertext FROM secrets").fetchall():
        if name in skip:
            continue
        moved = _move_secret(old, new, blob, aad("secrets", name))
        if moved is None:
            counts.unreadable += 1
            continue
        conn.execute("UPDATE secrets SET ciphertext = ? WHERE name = ?", (moved, name))
        counts.secrets += 1
    for record_id, blob in conn.execute(
        "SELECT record_id, aggregate FROM outbox WHERE aggregate IS NOT NULL"
    ).fetchall():
        moved = _move_secret(old, new, blob, aad("outbox", record_id))
        if moved is None:
            counts.unreadable += 1
            continue
        conn.execute("UPDATE outbox SET aggregate = ? WHERE record_id = ?", (moved, record_id))
        counts.aggregates += 1
    for record_id, blob in conn.execute(
        "SELECT id, aggregate FROM records WHERE aggregate IS NOT NULL"
    ).fetchall():
        moved = _move_secret(old, new, blob, aad("records", record_id, "aggregate"))
        if moved is None:
            counts.unreadable += 1
            continue
        conn.execute("UPDATE records SET aggregate = ? WHERE id = ?", (moved, record_id))
        counts.aggregates += 1
    old_stamp, new_stamp = old.sub("outbox-state"), new.sub("outbox-state")
    for record_id, state, reason, sealed, stamp in conn.execute(
        "SELECT record_id, state, reason, typeof(sealed) = 'blob', state_mac FROM outbox"
    ).fetchall():
        # a state stamped under the old keys is stamped under the new; one that was not (a
        # change outside FieldScreen, not yet checked) stays unstamped and is still reported
        held = isinstance(stamp, bytes) and hmac.compare_digest(
            stamp, outbox_state_mac(old_stamp, record_id, state, reason, sealed)
        )
        moved_stamp = (
            outbox_state_mac(new_stamp, record_id, state, reason, sealed) if held else None
        )
        if stamp is None and moved_stamp is None:
            continue  # unstamped (a row to be sent, from before stamps): left as it is
        conn.execute(
            "UPDATE outbox SET state_mac = ? WHERE record_id = ?", (moved_stamp, record_id)
        )
    _rechain(conn, old, new, vault_id, counts)
    digest.carry_over(conn, old, new, held=held, secrets_before=secrets_before)
    conn.execute("DELETE FROM list_index")
    _step("commit")
    return counts
