"""The case list's index: what the list shows, in a few large encrypted buckets.

Reading every case card to draw the case list costs two decryptions and a JSON parse per
record (about 4 s at 50,000 records). The list needs only a handful of fields of each card, so
those are also kept here, grouped by record into :data:`BUCKETS` buckets, each one AES-256-GCM
ciphertext under a key derived from the master key (``list-index``), bound by associated data
to its bucket number. Which bucket a record belongs to is a keyed hash of its id (HMAC-SHA256
under another derived key, ``list-index-bucket``), so bucket numbers say nothing about the
records in them.

An entry is the record id, the card's version and its list fields (:data:`Entry`). A card's
content changes only with its version (the version is in its associated data), so reading the
list compares every entry with the ``case_cards`` row it stands for (plaintext id and version
from a covering SQLite index, no decryption): a bucket that is missing, does not authenticate,
lacks a card, holds a card that is gone or an older version of one is rebuilt from the cards,
in the same transaction. The index is therefore never trusted over the cards; it is a cache
that cannot go stale.

Writes: a case-card write puts its entry in the bucket's decrypted copy held for the current
transaction (:class:`PendingIndex`); the vault writes every changed bucket just before the
outermost transaction commits, so the index and the cards change together or not at all, and
a bulk write of many cards re-encrypts each bucket once.
"""

from __future__ import annotations

import hmac
import json
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from fieldscreen import crypto
from fieldscreen.vault.keys import Keys, aad
from fieldscreen.vault.store import as_blob, json_loads

__all__ = [
    "BUCKETS",
    "LIST_FIELDS",
    "SEP",
    "STATUS",
    "Entry",
    "IndexCheck",
    "PendingIndex",
    "bucket_of",
    "check",
    "earliest_deadline",
    "entry_for",
    "needs_supervision",
    "project",
    "read_all",
    "read_bucket",
    "read_stamped",
    "rebuild",
    "stamp_of",
    "supervision_kinds",
    "supervision_value",
]

#: Number of buckets. A card write re-encrypts 1/BUCKETS of the index; the list decrypts all.
BUCKETS = 256
#: Bucket plaintext is padded to a multiple of this many bytes.
_PAD = 1024
#: Bumped when an entry changes shape. The format is in every bucket's associated data, so a
#: bucket of an older build does not authenticate and is rebuilt from the cards on first read
#: (the index is derived data: no migration). 2: entries carry the supervision flag.
_FORMAT = 2
# A later format must also make the state digest's root forget the list buckets' nonces
# (``digest.Root.lists = None``): a bucket the root records that does not authenticate is
# reported as changed outside FieldScreen.
#: The case card fields the case list shows, sorts or searches by.
LIST_FIELDS = ("alias", "tier", "concerns", "next_due", "age")

#: An entry: ``[record id, card version, alias, tier, next_due, concerns, age, deadline,
#: deadline label, supervise, record status, record day]``, each field None when the card
#: lacks it; the record's status and updated day as the vault wrote them with the card (None
#: when not known: an entry of an earlier build, or one rebuilt from a record row that did not
#: match the state digest's row map), so the case list compares each record row with them and
#: only one that disagrees is checked against the row map; concerns joined by
#: :data:`SEP`; the deadline is the earliest of the card's ``deadlines``
#: (:func:`earliest_deadline`); ``supervise`` is what the card may wait for a supervisor for
#: (:func:`needs_supervision`): the kinds joined by :data:`SEP` (:func:`supervision_value`), 1
#: when they cannot be told (an entry of an earlier build, or kinds that do not join), else 0
#: (a truthy value either way when it may wait). Flat lists of scalars, because parsing them is
#: what a listing of 50,000 records costs.
Entry = list[Any]
ID, VERSION, ALIAS, TIER, NEXT_DUE, CONCERNS, AGE, DEADLINE, DEADLINE_LABEL, SUPERVISE = range(10)
STATUS, DAY = 10, 11
#: Separator of the concerns in an entry (a control character no code or label holds).
SEP = "\x1f"


def project(card: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of ``card`` the case list uses (only those present)."""
    return {name: card[name] for name in LIST_FIELDS if name in card}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def earliest_deadline(card: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The earliest of the card's ``deadlines`` (``due`` in ISO 8601) and its label; the same
    choice as the case list's ``earliest_deadline`` (a test keeps the two equal)."""
    found: list[tuple[datetime, str, str]] = []
    items = card.get("deadlines", ())
    for item in items if isinstance(items, list | tuple) else ():
        try:
            due = str(item["due"])
            found.append((datetime.fromisoformat(due), due, str(item.get("label", ""))))
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
    if not found:
        return None, None
    _, due, label = min(found, key=lambda d: d[0])
    return due, label


def needs_supervision(card: Mapping[str, Any]) -> bool:
    """Whether a finalised case's card may wait for a supervisor's sign-off: it names kinds of
    ``supervision``, or it is act-now (its tier or computed tier ``T0``) without its actions
    recorded. A superset of what the supervisor queue shows of finalised cases (that queue
    also reads the audit log), so the queue decrypts only these cards."""
    if card.get("supervision"):
        return True
    tiers = {str(card.get("tier", "")), str(card.get("computed_tier", ""))}
    return "T0" in tiers and not card.get("actions_recorded", True)


def supervision_value(card: Mapping[str, Any]) -> str | int:
    """The entry's ``supervise`` field of ``card``: 0 when it waits for nothing; else the kinds
    it may wait for (its ``supervision`` kinds, and ``act-now`` when act-now without actions
    recorded) joined by :data:`SEP`, or 1 when they cannot be joined and read back."""
    if not needs_supervision(card):
        return 0
    raw = card.get("supervision")
    kinds = [str(k) for k in raw] if isinstance(raw, list | tuple) else []
    if raw and not isinstance(raw, list | tuple):
        return 1
    tiers = {str(card.get("tier", "")), str(card.get("computed_tier", ""))}
    if "T0" in tiers and not card.get("actions_recorded", True) and "act-now" not in kinds:
        kinds.append("act-now")
    if not kinds or any(not k or SEP in k for k in kinds):
        return 1
    return SEP.join(kinds)


def supervision_kinds(value: object) -> tuple[str, ...] | None:
    """The kinds an entry's ``supervise`` field names; None when it cannot tell (1, or a value
    of another shape), () when the card waits for nothing."""
    if value == 0 or value is None or value is False:
        return ()
    if isinstance(value, str) and value:
        return tuple(value.split(SEP))
    return None


def entry_for(
    record_id: str,
    version: int,
    card: Mapping[str, Any],
    status: str | None = None,
    day: str | None = None,
) -> Entry:
    """The index entry of ``card``, the case card of ``record_id`` stored at ``version``; the
    record's ``status`` and updated ``day`` as written with it."""
    concerns = card.get("concerns")
    if isinstance(concerns, list | tuple):
        joined: str | None = SEP.join(str(c) for c in concerns)
    else:
        joined = _text(concerns)
    age = card.get("age")
    deadline, label = earliest_deadline(card)
    return [
        record_id,
        int(version),
        _text(card.get("alias")),
        _text(card.get("tier")),
        _text(card.get("next_due")),
        joined,
        age if age is None or isinstance(age, int | float | str) else str(age),
        deadline,
        label,
        supervision_value(card),
        status,
        day,
    ]


def bucket_of(keys: Keys, record_id: str) -> int:
    """The bucket of ``record_id``: a keyed hash, so the number reveals nothing."""
    digest = hmac.digest(keys.sub("list-index-bucket"), aad("list_index", record_id), "sha256")
    return int.from_bytes(digest[:4], "big") % BUCKETS


def _bucket_aad(bucket: int) -> bytes:
    return aad("list_index", bucket, _FORMAT, BUCKETS)


def _encode(entries: Mapping[str, Entry]) -> bytes:
    data = json.dumps(list(entries.values()), separators=(",", ":"), ensure_ascii=False)
    raw = data.encode("utf-8")
    return raw + b" " * (-len(raw) % _PAD)


#: Below this magnitude a float ``orjson`` returns cannot be an integer it read as a float
#: (it reads integers from -2**63 to 2**64 - 1 exactly, any other as a float).
_EXACT = float(2**63)


def _decode(data: bytes) -> dict[str, Entry]:
    """A bucket's entries, each the same value the standard library's parser reads.

    The buckets are parsed by ``orjson`` directly, without :func:`json_loads`'s scan of the
    whole text for long numbers (a fifth of the list's parse at 10,000 records): the only
    numbers an entry holds are its card version (an SQLite integer) and the card's age, so the
    check is made on the parsed entries instead. A version that is not an integer, or an age
    that is a float as large as 2**63 (possibly a longer integer ``orjson`` read as a float),
    sends the bucket to :func:`json_loads`, as does all that ``orjson`` refuses (NaN,
    infinities, lone surrogates). The bucket authenticated before this parse, so its text is
    what this build wrote."""
    try:
        value = orjson.loads(data)
        if isinstance(value, list) and not any(
            type(entry[VERSION]) is not int
            or (type(entry[AGE]) is float and abs(entry[AGE]) >= _EXACT)
            for entry in value
        ):
            return {entry[ID]: entry for entry in value}
    except (orjson.JSONDecodeError, TypeError, IndexError, KeyError):
        pass
    value = json_loads(data)
    if not isinstance(value, list):
        raise crypto.DecryptError
    return {entry[ID]: entry for entry in value}


def _key(keys: Keys) -> crypto.AeadKey:
    return crypto.AeadKey(keys.sub("list-index"))


def read_bucket(conn: sqlite3.Connection, keys: Keys, bucket: int) -> dict[str, Entry] | None:
    """One bucket decrypted; None when it is missing or does not authenticate."""
    row = conn.execute("SELECT ciphertext FROM list_index WHERE bucket = ?", (bucket,)).fetchone()
    if row is None:
        return None
    try:
        return _decode(_key(keys).decrypt(as_blob(row[0]), _bucket_aad(bucket)))
    except (crypto.DecryptError, crypto.CryptoError, TypeError, ValueError):
        return None


def write_bucket(
    conn: sqlite3.Connection, keys: Keys, bucket: int, entries: Mapping[str, Entry]
) -> bytes | None:
    """Store one bucket (an empty bucket is deleted: no row means no entries); return its
    nonce (None when deleted), which the state digest's root records."""
    if not entries:
        conn.execute("DELETE FROM list_index WHERE bucket = ?", (bucket,))
        return None
    blob = crypto.encrypt(keys.sub("list-index"), _encode(entries), _bucket_aad(bucket))
    conn.execute(
        "INSERT INTO list_index (bucket, ciphertext, format) VALUES (?, ?, ?) "
        "ON CONFLICT(bucket) DO UPDATE SET ciphertext = excluded.ciphertext, "
        "format = excluded.format",
        (bucket, blob, _FORMAT),
    )
    return blob[: crypto.NONCE_BYTES]


def stamp_of(blob: bytes) -> bytes:
    """What tells one write of a bucket from every other: its ciphertext's nonce (drawn anew
    at each write) and its length. A copy of what an authenticated bucket held stands for it
    only while the bucket's stamp is the one the copy was made from (:func:`read_stamped`)."""
    return blob[: crypto.NONCE_BYTES] + len(blob).to_bytes(4, "big")


def read_stamped(
    conn: sqlite3.Connection, keys: Keys, parse: Callable[[int, bytes], bool]
) -> dict[int, tuple[bytes, dict[str, Entry] | None]] | None:
    """Every bucket authenticated, with its stamp (:func:`stamp_of`), and its entries parsed
    only where ``parse(bucket, stamp)`` says (else None): the decryption is what proves a
    bucket untouched, the parse is what a read of the whole index costs. None when a bucket
    does not authenticate or a row is not one this build writes (:func:`read_all` then says
    which)."""
    key = _key(keys)
    out: dict[int, tuple[bytes, dict[str, Entry] | None]] = {}
    for bucket, blob in conn.execute("SELECT bucket, ciphertext FROM list_index").fetchall():
        if not (isinstance(bucket, int) and 0 <= bucket < BUCKETS):
            return None
        try:
            raw = as_blob(blob)
            plain = key.decrypt(raw, _bucket_aad(bucket))
            stamp = stamp_of(raw)
            out[bucket] = (stamp, _decode(plain) if parse(bucket, stamp) else None)
        except (crypto.DecryptError, crypto.CryptoError, TypeError, ValueError):
            return None
    return out


def read_all(
    conn: sqlite3.Connection,
    keys: Keys,
    by_bucket: dict[int, tuple[bytes, dict[str, Entry]]] | None = None,
) -> tuple[dict[str, Entry], set[int]]:
    """Every entry (record id -> entry) and the buckets that failed to authenticate.

    One query and one decryption per bucket. ``by_bucket``, when given, receives each bucket
    that authenticated: its stamp (:func:`stamp_of`) and its entries.
    """
    key = _key(keys)
    entries: dict[str, Entry] = {}
    bad: set[int] = set()
    for bucket, blob in conn.execute("SELECT bucket, ciphertext FROM list_index").fetchall():
        try:
            if not isinstance(bucket, int) or not 0 <= bucket < BUCKETS:
                raise crypto.DecryptError
            decoded = _decode(key.decrypt(as_blob(blob), _bucket_aad(bucket)))
            if by_bucket is not None:
                by_bucket[bucket] = (stamp_of(as_blob(blob)), decoded)
        except (crypto.DecryptError, crypto.CryptoError, TypeError, ValueError):
            if isinstance(bucket, int) and 0 <= bucket < BUCKETS:
                bad.add(bucket)
            else:  # a row no build of ours writes
                conn.execute("DELETE FROM list_index WHERE bucket = ?", (bucket,))
            continue
        entries.update(decoded)
    return entries, bad


def fetch_text(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    """``sql``'s rows with TEXT decoded by SQLite itself (much faster than a Python
    ``text_factory`` over 50,000 rows); a value that is not UTF-8 (a tampered row) falls back
    to the connection's own factory, which keeps such a value as bytes."""
    saved = conn.text_factory
    conn.text_factory = str
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError:
        conn.text_factory = saved
        return conn.execute(sql, params).fetchall()
    finally:
        conn.text_factory = saved


Row = tuple[str, str, str | None]


def record_rows(conn: sqlite3.Connection) -> list[Row]:
    """``(id, status, updated day)`` of every record (from the covering ``records_list``
    index, so the scan does not read the records' ciphertext pages)."""
    return fetch_text(conn, "SELECT id, status, updated_day FROM records")


def card_versions(conn: sqlite3.Connection) -> dict[str, int]:
    """Record id -> case card version, of every card (from the covering ``case_cards_version``
    index)."""
    return dict(fetch_text(conn, "SELECT record_id, version FROM case_cards"))


@dataclass
class IndexCheck:
    """How the stored index compares with the cards (see :func:`check`)."""

    cards: int = 0
    entries: int = 0
    #: Buckets that are missing an entry, hold a stale or extra one, or do not authenticate.
    stale_buckets: set[int] = field(default_factory=set)
    unauthenticated: int = 0

    @property
    def consistent(self) -> bool:
        return not self.stale_buckets


def check(
    conn: sqlite3.Connection,
    keys: Keys,
    entries: Mapping[str, Entry] | None = None,
    bad: set[int] | None = None,
    versions: Mapping[str, int] | None = None,
) -> IndexCheck:
    """Compare the index with the ``case_cards`` rows, changing nothing.

    An entry matches its card when the card exists at the entry's version (a card's content
    changes only with its version: ``case_cards | id | card | version`` is its associated
    data); a card without a matching entry, an entry without a card, or a bucket that does not
    authenticate makes its bucket stale. Arguments not given are read.
    """
    if entries is None or bad is None:
        entries, bad = read_all(conn, keys)
    if versions is None:
        versions = card_versions(conn)
    report = IndexCheck(cards=len(versions), entries=len(entries), unauthenticated=len(bad))
    report.stale_buckets |= bad
    matched = 0
    get = entries.get
    for rid, version in versions.items():
        found = get(rid)
        if found is not None and found[VERSION] == version:
            matched += 1
        elif isinstance(rid, str):
            report.stale_buckets.add(bucket_of(keys, rid))
    if matched != len(entries):  # entries whose card is gone
        report.stale_buckets |= {bucket_of(keys, rid) for rid in entries if rid not in versions}
    return report


def rebuild(
    conn: sqlite3.Connection,
    keys: Keys,
    buckets: Iterable[int] | None = None,
    accept: Callable[[str, int], bool] | None = None,
    written: dict[int, bytes | None] | None = None,
) -> dict[int, dict[str, Entry]]:
    """Rebuild ``buckets`` (every bucket when None) from the case cards and store them.

    Returns the rebuilt buckets' entries; ``written`` receives each bucket's new nonce. A card
    that does not decrypt, or that ``accept`` refuses (one that does not match the state
    digest's row map), is left out (the integrity check names it). A rebuilt entry does not
    hold its record's status and day (the record rows are not trusted here): the case list
    checks those rows against the row map and completes the entries.
    """
    wanted = set(range(BUCKETS)) if buckets is None else set(buckets)
    fresh: dict[int, dict[str, Entry]] = {b: {} for b in wanted}
    if not wanted:
        return fresh
    unwrap = crypto.AeadKey(keys.sub("record-keys")).decrypt
    rows = conn.execute(
        "SELECT record_id, version, wrapped_key, ciphertext FROM case_cards"
    ).fetchall()
    for rid, version, wrapped, blob in rows:
        if not isinstance(rid, str):
            continue
        bucket = bucket_of(keys, rid)
        if bucket not in wanted or (accept is not None and not accept(rid, version)):
            continue
        try:
            dek = unwrap(as_blob(wrapped), aad("case_cards", rid, "dek"))
            raw = crypto.decrypt(dek, as_blob(blob), aad("case_cards", rid, "card", version))
            card = json.loads(raw)
            if not isinstance(card, dict):
                raise crypto.DecryptError
        except (crypto.DecryptError, crypto.CryptoError, TypeError, ValueError):
            continue
        fresh[bucket][rid] = entry_for(rid, version, card)
    for bucket, entries in fresh.items():
        nonce = write_bucket(conn, keys, bucket, entries)
        if written is not None:
            written[bucket] = nonce
    return fresh


class PendingIndex:
    """Buckets changed by the current transaction, decrypted, until :meth:`flush`."""

    def __init__(self) -> None:
        self._buckets: dict[int, dict[str, Entry]] = {}
        self._damaged: set[int] = set()
        self._cleared = False

    def _bucket(self, conn: sqlite3.Connection, keys: Keys, bucket: int) -> dict[str, Entry]:
        entries = self._buckets.get(bucket)
        if entries is None:
            loaded = read_bucket(conn, keys, bucket)
            if loaded is None:
                exists = conn.execute(
                    "SELECT 1 FROM list_index WHERE bucket = ?", (bucket,)
                ).fetchone()
                if exists is not None:  # present but unreadable: rebuild it at flush
                    self._damaged.add(bucket)
            entries = self._buckets[bucket] = loaded or {}
        return entries

    def put(
        self,
        conn: sqlite3.Connection,
        keys: Keys,
        record_id: str,
        *,
        version: int,
        card: Mapping[str, Any],
        status: str | None,
        day: str | None,
    ) -> None:
        """The card of ``record_id`` is now ``card`` at ``version``; its record's ``status``
        and ``day`` as the vault just wrote or checked them."""
        entry = entry_for(record_id, version, card, status, day)
        self._bucket(conn, keys, bucket_of(keys, record_id))[record_id] = entry

    def set_record(
        self, conn: sqlite3.Connection, keys: Keys, record_id: str, status: str, day: str | None
    ) -> None:
        """The record of ``record_id``'s entry (if it has one) is now at ``status`` and
        ``day`` (a purge; an entry of an earlier build completed from a checked row)."""
        entry = self._bucket(conn, keys, bucket_of(keys, record_id)).get(record_id)
        if entry is not None:
            entry[STATUS:] = [status, day]

    def remove(self, conn: sqlite3.Connection, keys: Keys, record_id: str) -> None:
        self._bucket(conn, keys, bucket_of(keys, record_id)).pop(record_id, None)

    def clear_all(self, conn: sqlite3.Connection) -> None:
        """Every card is gone (travel mode): drop the whole index."""
        self._buckets.clear()
        self._damaged.clear()
        self._cleared = True
        conn.execute("DELETE FROM list_index")

    def flush(self, conn: sqlite3.Connection, keys: Keys) -> dict[int, bytes | None]:
        """Write every changed bucket (inside the caller's transaction); return the nonce of
        each bucket written (None: deleted), for the state digest's root."""
        written: dict[int, bytes | None] = dict.fromkeys(range(BUCKETS)) if self._cleared else {}
        for bucket, entries in self._buckets.items():
            if bucket not in self._damaged:
                written[bucket] = write_bucket(conn, keys, bucket, entries)
        if self._damaged:
            rebuild(conn, keys, self._damaged, written=written)
        self.discard()
        return written

    def discard(self) -> None:
        self._buckets.clear()
        self._damaged.clear()
        self._cleared = False

    def __bool__(self) -> bool:
        return bool(self._buckets or self._damaged or self._cleared)
