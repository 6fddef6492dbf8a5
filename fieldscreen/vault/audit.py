"""The audit log: append-only, hash-chained and keyed.

Entry ``n`` is stored as ``(seq=n, ciphertext, mac)`` where ``ciphertext`` is the entry (time to
the minute, user id, action, record id, a small detail of codes and counts, never answers)
encrypted under the audit key with ``aad("audit", n)``, and::

    mac_n = HMAC(audit-mac key, mac_{n-1} || n || ciphertext)      mac_0 = HMAC(key, vault id)

The head ``(n, mac_n)`` is kept encrypted in the secrets table and updated in the same
transaction as the entry. :func:`verify` recomputes the chain: an edited entry breaks its MAC, a
deleted or reordered one breaks the sequence or the chain, a removed tail no longer matches the
head. Restoring the *whole* database from an older copy is not detectable on the device alone;
the server's device sequence numbers catch that.
"""

from __future__ import annotations

import json
import sqlite3
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson

from fieldscreen import crypto
from fieldscreen.vault.keys import Keys, aad
from fieldscreen.vault.store import as_blob, json_loads

__all__ = [
    "ACTIONS",
    "AuditEntry",
    "AuditReport",
    "append",
    "check_recent",
    "entries",
    "entries_checked",
    "verify",
]

ACTIONS = frozenset(
    {
        "create-vault",
        "unlock",
        "create",
        "view",
        "finalise",
        "export",
        "sync",
        "purge",
        "travel-mode",
        "wipe",
        "override",
        "user-add",
        "user-remove",
        "user-role",
        "passphrase-change",
        "passphrase-countersign",
        "org-keys",
        "integrity-check",
        "integrity-alert",
        "rekey",
        "duress-passphrase",
        "follow-up",
        "case-event",
        "settings-tampered",
    }
)
_HEAD = "audit_head"
_CHECKED = "audit_checked"  # (seq, mac) of the newest entry a check has verified
_HEAD_AAD = aad("secrets", _HEAD)


class AuditEntry(NamedTuple):
    """One decrypted entry. A named tuple, not a dataclass: the supervision log holds every
    ``create``, ``finalise`` and ``override`` entry of the vault (121,440 at 50,000 records),
    and a tuple is made in a third of a frozen dataclass's time."""

    seq: int
    time: str
    user_id: str
    action: str
    record_id: str | None
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AuditReport:
    entries: int
    intact: bool
    first_bad_seq: int | None


def _genesis(keys: Keys, vault_id: str) -> bytes:
    return crypto.hmac_sha256(keys.sub("audit-mac"), b"genesis" + vault_id.encode())


def _link(keys: Keys, previous: bytes, seq: int, ciphertext: bytes) -> bytes:
    return crypto.hmac_sha256(keys.sub("audit-mac"), previous + struct.pack(">Q", seq) + ciphertext)


def _read_head(conn: sqlite3.Connection, keys: Keys, vault_id: str) -> tuple[int, bytes]:
    row = conn.execute("SELECT ciphertext FROM secrets WHERE name = ?", (_HEAD,)).fetchone()
    if row is None:
        return 0, _genesis(keys, vault_id)
    blob = row[0]
    if not isinstance(blob, bytes):
        raise crypto.DecryptError
    held: tuple[int, bytes] | None = keys.held(_HEAD, blob)
    if held is not None:  # exactly the ciphertext it was decrypted from or encrypted into
        return held
    head = keys.aead("secrets").decrypt(blob, _HEAD_AAD)
    value = (struct.unpack(">Q", head[:8])[0], head[8:])
    keys.hold(_HEAD, blob, value)
    return value


def _body_json(body: dict[str, Any]) -> bytes:
    """An entry's JSON, keys sorted: ``orjson`` when what it wrote reads back equal to
    ``body``, else the standard library's (NaN, integers past 64 bits, keys that are not
    strings ...), so no entry ever reads back as another value than the one given."""
    try:
        fast = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # orjson.JSONEncodeError
        pass
    else:
        if orjson.loads(fast) == body:
            return fast
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode("utf-8")


def append(
    conn: sqlite3.Connection,
    keys: Keys,
    vault_id: str,
    *,
    user_id: str,
    action: str,
    record_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> int:
    """Append one entry inside the caller's transaction; return its sequence number."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    seq, previous = _read_head(conn, keys, vault_id)
    seq += 1
    body = {
        "t": datetime.now(UTC).isoformat(timespec="minutes"),
        "u": user_id,
        "a": action,
        "r": record_id,
        "d": detail or {},
    }
    plaintext = _body_json(body)
    ciphertext = keys.aead("audit-encryption").encrypt(plaintext, aad("audit", seq))
    mac = _link(keys, previous, seq, ciphertext)
    conn.execute(
        "INSERT INTO audit (seq, ciphertext, mac) VALUES (?, ?, ?)", (seq, ciphertext, mac)
    )
    head = keys.aead("secrets").encrypt(struct.pack(">Q", seq) + mac, _HEAD_AAD)
    conn.execute(
        "INSERT INTO secrets (name, ciphertext) VALUES (?, ?) "
        "ON CONFLICT(name) DO UPDATE SET ciphertext = excluded.ciphertext",
        (_HEAD, head),
    )
    keys.hold(_HEAD, head, (seq, mac))
    return seq


def verify(conn: sqlite3.Connection, keys: Keys, vault_id: str) -> AuditReport:
    """Recompute the chain and compare it with the stored head."""
    try:
        head_seq, head_mac = _read_head(conn, keys, vault_id)
    except crypto.DecryptError:
        return AuditReport(0, False, 0)
    previous = _genesis(keys, vault_id)
    expected = 1
    count = 0
    for seq, ciphertext, mac in conn.execute("SELECT seq, ciphertext, mac FROM audit ORDER BY seq"):
        count += 1
        if seq != expected or _link(keys, previous, seq, as_blob(ciphertext)) != as_blob(mac):
            return AuditReport(count, False, expected)
        try:
            crypto.decrypt(keys.sub("audit-encryption"), as_blob(ciphertext), aad("audit", seq))
        except crypto.DecryptError:
            return AuditReport(count, False, seq)
        previous = as_blob(mac)
        expected += 1
    if head_seq != expected - 1 or head_mac != previous:
        return AuditReport(count, False, expected)
    return AuditReport(count, True, None)


def check_recent(conn: sqlite3.Connection, keys: Keys, vault_id: str) -> AuditReport:
    """The cheap check run at unlock and before sync and purge.

    The log's shape against the head (as many entries as the head's number, from 1 to it, the
    newest with the head's MAC: a deleted or truncated entry shows), then the chain from the
    newest entry an earlier check verified up to the head (only the entries since). On success
    the head becomes the verified entry. :func:`verify` checks the whole chain.
    """
    try:
        head_seq, head_mac = _read_head(conn, keys, vault_id)
    except (crypto.DecryptError, struct.error):
        return AuditReport(0, False, 0)
    count, low, high = conn.execute("SELECT count(*), min(seq), max(seq) FROM audit").fetchone()
    if count != head_seq or (head_seq and (low != 1 or high != head_seq)):
        return AuditReport(int(count), False, int(high or 0) + 1 if high != head_seq else 1)
    try:
        seq, previous = _read_checked(conn, keys, vault_id)
    except (crypto.DecryptError, struct.error):
        seq, previous = 0, b""
    if seq > head_seq or not previous or (seq and link_at(conn, seq) != previous):
        # No usable mark (a first check, or a key rotation re-chained the log): the whole
        # chain is walked, which is never weaker than walking part of it.
        seq, previous = 0, _genesis(keys, vault_id)
    for number, ciphertext, mac in conn.execute(
        "SELECT seq, ciphertext, mac FROM audit WHERE seq > ? ORDER BY seq", (seq,)
    ).fetchall():
        seq += 1
        if number != seq or _link(keys, previous, seq, as_blob(ciphertext)) != as_blob(mac):
            return AuditReport(int(count), False, seq)
        try:
            crypto.decrypt(keys.sub("audit-encryption"), as_blob(ciphertext), aad("audit", seq))
        except crypto.DecryptError:
            return AuditReport(int(count), False, seq)
        previous = as_blob(mac)
    if previous != head_mac:
        return AuditReport(int(count), False, head_seq)
    blob = crypto.encrypt(
        keys.sub("secrets"), struct.pack(">Q", head_seq) + head_mac, aad("secrets", _CHECKED)
    )
    conn.execute(
        "INSERT INTO secrets (name, ciphertext) VALUES (?, ?) "
        "ON CONFLICT(name) DO UPDATE SET ciphertext = excluded.ciphertext",
        (_CHECKED, blob),
    )
    return AuditReport(int(count), True, None)


def _read_checked(conn: sqlite3.Connection, keys: Keys, vault_id: str) -> tuple[int, bytes]:
    row = conn.execute("SELECT ciphertext FROM secrets WHERE name = ?", (_CHECKED,)).fetchone()
    if row is None:
        return 0, _genesis(keys, vault_id)
    raw = crypto.decrypt(keys.sub("secrets"), as_blob(row[0]), aad("secrets", _CHECKED))
    return struct.unpack(">Q", raw[:8])[0], raw[8:]


def entries(conn: sqlite3.Connection, keys: Keys, after: int = 0) -> list[AuditEntry]:
    """Every entry past sequence number ``after``, decrypted (an admin's view from 0; callers
    check the chain with :func:`verify`)."""
    result = []
    # The key set up once: a vault of 50,000 screenings holds over 100,000 entries.
    opened = crypto.AeadKey(keys.sub("audit-encryption")).decrypt
    prefix = aad("audit", "")  # aad("audit", seq) spelled out once, the same bytes
    rows = conn.execute("SELECT seq, ciphertext FROM audit WHERE seq > ? ORDER BY seq", (after,))
    for seq, ciphertext in rows:
        named = prefix + str(int(seq)).encode()
        body = json_loads(opened(as_blob(ciphertext), named))
        result.append(AuditEntry(seq, body["t"], body["u"], body["a"], body["r"], body["d"]))
    return result


def entries_checked(
    conn: sqlite3.Connection, keys: Keys, vault_id: str
) -> tuple[list[AuditEntry], AuditReport]:
    """Every entry, decrypted, with the chain walked on the way (what the audit log view
    shows): the entries up to the first one that breaks the chain, and where it breaks.

    An entry deleted from the middle breaks the sequence at its number; an edited or moved one
    its MAC; a removed tail no longer reaches the head. One HMAC per entry beyond the
    decryption :func:`entries` does.
    """
    try:
        head_seq, head_mac = _read_head(conn, keys, vault_id)
    except (crypto.DecryptError, struct.error):
        return [], AuditReport(0, False, 0)
    result: list[AuditEntry] = []
    opened = crypto.AeadKey(keys.sub("audit-encryption")).decrypt
    prefix = aad("audit", "")
    previous = _genesis(keys, vault_id)
    expected = 1
    count = 0
    bad: int | None = None
    for seq, ciphertext, mac in conn.execute("SELECT seq, ciphertext, mac FROM audit ORDER BY seq"):
        count += 1
        if bad is not None:
            continue
        blob = as_blob(ciphertext)
        if seq != expected or _link(keys, previous, expected, blob) != as_blob(mac):
            bad = expected
            continue
        try:
            body = json_loads(opened(blob, prefix + str(expected).encode()))
            result.append(AuditEntry(seq, body["t"], body["u"], body["a"], body["r"], body["d"]))
        except (crypto.DecryptError, crypto.CryptoError, ValueError, KeyError, TypeError):
            bad = expected
            continue
        previous = as_blob(mac)
        expected += 1
    if bad is None and (head_seq != expected - 1 or head_mac != previous):
        bad = expected
    return result, AuditReport(count, bad is None, bad)


def last_link(conn: sqlite3.Connection) -> tuple[int, bytes]:
    """The newest entry's sequence number and chain MAC, or (0, b"") for an empty log."""
    row = conn.execute("SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    return (0, b"") if row is None else (int(row[0]), as_blob(row[1]))


def link_at(conn: sqlite3.Connection, seq: int) -> bytes | None:
    """The chain MAC stored for entry ``seq``, or None when there is none."""
    row = conn.execute("SELECT mac FROM audit WHERE seq = ?", (seq,)).fetchone()
    return None if row is None else as_blob(row[0])


#: For a key rotation (:mod:`fieldscreen.vault.rekey`): the head's slot and the chain's steps.
HEAD = _HEAD
genesis = _genesis
link = _link
