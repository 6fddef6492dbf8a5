"""The list index's flagged entries, kept per bucket for the supervisor queue's read.

The supervisor queue needs, of the whole list index, only which finalised cards may wait for a
supervisor (:func:`listindex.needs_supervision`) and that the index matches the cards. Reading
that from the index itself means decrypting and parsing all of it (18 MB at 50,000 records,
about 110 ms of CPU) at the queue's first read after every unlock. So the vault also keeps, in
one encrypted secret (``supervision_flagged``), for each bucket: the stamp of the ciphertext it
was read from (:func:`listindex.stamp_of`: nonce and length), the card version of each of its
entries with the record status and day written with it, and its flagged entries'
``supervise`` fields.

It is a cache of what the index holds, never trusted over the index or the cards:

* every bucket is decrypted, so that one changed outside FieldScreen fails as it does for
  the case list; only a bucket whose stamp is not the kept one (written since, rebuilt, put
  back from an older copy) is parsed (the parse, not the decryption, is most of the cost);
* the cards' versions, read from their plaintext columns, must equal the entries' versions
  exactly, as the case list checks (a card put back, edited or deleted outside FieldScreen);
* the state digest's root must record every bucket's nonce, and its counts the records and
  cards found;
* the records' plaintext status and day must be the ones written with their entries; rows
  without an entry (drafts) are checked against the row map as the case list checks them, and
  a carded row that differs sends the read to the whole check.

Anything else (a cache that does not open or parse, a bucket that does not authenticate, a
mismatch of any kind) sends the read to the case list's full check, which rebuilds and audits
as before; the cache is then written again from what that check read.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any, NamedTuple

import orjson

from fieldscreen import crypto
from fieldscreen.vault import listindex
from fieldscreen.vault.keys import Keys

__all__ = ["ROW_SQL", "SLOT", "Found", "Kept", "decode", "encode", "kept_of", "refresh", "row_text"]

#: The secrets slot (a cache: :data:`fieldscreen.vault.digest.UNBOUND`).
SLOT = "supervision_flagged"
#: 2: the rows as strings (:func:`row_text`); a copy of another version is made again.
_VERSION = 2

#: Per bucket: (stamp, record id -> card version, record id -> ``supervise`` of the flagged,
#: record id -> its record's status and day as the vault wrote them with the entry, as
#: :data:`ROW_SQL` spells them, or None).
Kept = dict[int, tuple[bytes, dict[str, int], dict[str, Any], dict[str, str | None]]]

#: Every record's id and its status and day in one string (:func:`row_text`), spelled by SQLite.
ROW_SQL = "SELECT id, status || char(31) || ifnull(updated_day, char(0)) FROM records"


def row_text(status: object, day: object) -> str | None:
    """A record's status and day as :data:`ROW_SQL` spells them (None: not of this build)."""
    if not isinstance(status, str) or not (day is None or isinstance(day, str)):
        return None
    return status + "\x1f" + ("\x00" if day is None else day)


def kept_of(
    stamp: bytes, entries: Mapping[str, listindex.Entry]
) -> tuple[bytes, dict[str, int], dict[str, Any], dict[str, str | None]]:
    """One bucket's part of the cache, from its entries as read."""
    version, supervise = listindex.VERSION, listindex.SUPERVISE
    status, day = listindex.STATUS, listindex.DAY
    return (
        stamp,
        {rid: e[version] for rid, e in entries.items()},
        {rid: e[supervise] for rid, e in entries.items() if e[supervise]},
        {rid: row_text(e[status], e[day]) if len(e) > day else None for rid, e in entries.items()},
    )


def encode(kept: Kept) -> bytes:
    return orjson.dumps(
        {
            "v": _VERSION,
            "b": [[b, stamp.hex(), *parts] for b, (stamp, *parts) in kept.items()],
        }
    )


def decode(raw: bytes) -> Kept | None:
    """The cache as written by :func:`encode`; None when it is of another shape."""
    try:
        value = orjson.loads(raw)
        if not isinstance(value, dict) or value.get("v") != _VERSION:
            return None
        out: Kept = {}
        for bucket, stamp, versions, flags, rows in value["b"]:
            if not (isinstance(bucket, int) and 0 <= bucket < listindex.BUCKETS):
                return None
            if not (isinstance(versions, dict) and isinstance(flags, dict)):
                return None
            if not (isinstance(rows, dict) and rows.keys() == versions.keys()):
                return None
            if set(map(type, rows.values())) - {str, type(None)}:
                return None
            if not flags.keys() <= versions.keys():
                return None
            out[bucket] = (bytes.fromhex(stamp), versions, flags, rows)
        return out
    except (orjson.JSONDecodeError, TypeError, ValueError, KeyError):
        return None


def refresh(
    conn: sqlite3.Connection, keys: Keys, kept: Kept, versions: Mapping[str, int]
) -> Found | None:
    """What the whole index holds for the queue (:class:`Found`) from ``kept``, every bucket
    authenticated and those whose stamp is not the kept one parsed. None when a bucket does
    not authenticate or a row is not one this build writes, or when the entries' versions are
    not exactly the cards' (``versions``; a value of the copy that is not an integer never
    equals one). ``kept`` is updated in place."""

    def stale(bucket: int, stamp: bytes) -> bool:
        held = kept.get(bucket)
        return held is None or held[0] != stamp

    read = listindex.read_stamped(conn, keys, stale)
    if read is None:
        return None
    changed = False
    for bucket in set(kept) - set(read):  # a bucket deleted since: no entries
        del kept[bucket]
        changed = True
    for bucket, (stamp, entries) in read.items():
        if entries is not None:
            kept[bucket] = kept_of(stamp, entries)
            changed = True
    merged: dict[str, int] = {}
    flagged: dict[str, Any] = {}
    rows: dict[str, str | None] = {}
    total = 0
    for _, bucket_versions, flags, bucket_rows in kept.values():
        merged.update(bucket_versions)
        flagged.update(flags)
        rows.update(bucket_rows)
        total += len(bucket_versions)
    if total != len(merged) or merged != versions:  # a record in two buckets, or not the cards'
        return None
    nonces: dict[int, bytes | None] = {
        b: stamp[: crypto.NONCE_BYTES] for b, (stamp, _) in read.items()
    }
    return Found(flagged, rows, nonces, changed)


class Found(NamedTuple):
    """What :func:`refresh` read: the flagged entries (record id -> ``supervise``), each
    entry's record status and day as written with it, every bucket's nonce, and whether a
    bucket was parsed (the copy is then written again)."""

    flagged: dict[str, Any]
    rows: dict[str, str | None]
    nonces: dict[int, bytes | None]
    changed: bool
