"""The state digest: an authenticated map of every record's and case card's version.

AEAD with associated data catches a flipped bit, a ciphertext moved to another row or field,
and an old ciphertext put back under a newer version number. It cannot catch a *whole row* put
back from an older copy (ciphertext and version number together), nor a row deleted. The row
map does, at the moment the row is read:

* **Entries.** For every record and case card the map holds the version and status the vault
  last wrote (``c:<id> -> [version, "card"]``), and for a record every other plaintext column
  of its row as well (``r:<id> -> [version, status, updated day, purge day, created day, form
  id, form version]``, :data:`RECORD_COLUMNS`; an entry of an earlier build holds the first two
  only, and gets the rest at the first case list by this build), grouped into
  :data:`BUCKETS` buckets. A bucket is AES-256-GCM ciphertext under a key derived from the master
  key (``row-map``), bound by associated data to its number; which bucket an id belongs to is a
  keyed hash (``row-map-bucket``), so bucket numbers say nothing about the records.
* **Root.** Kept encrypted in the secrets table: the number of records and of case cards, and
  for each of :data:`GROUPS` groups of buckets the sum, modulo 2**256, of
  ``HMAC(state-digest key, bucket | bucket's nonce)`` over its buckets. A bucket put back from an
  older copy has another nonce, so its group's sum no longer matches; the sum is O(1) to update.
* **List buckets.** The root also holds the nonce of each of the case list's index buckets
  (:mod:`fieldscreen.vault.listindex`) as the vault last wrote it. A case card and the list
  bucket holding it, put back together from the same older copy, agree with each other; the
  bucket's nonce no longer agrees with the root, so the check at unlock reports it and the case
  list rebuilds that bucket from cards that match the map (an older card is left out) instead of
  showing the older fields. A root of the first list-less form (``RM1``) knows no list nonces:
  the first case list after an upgrade checks the buckets against the cards and records them.
  Since ``RM4`` the nonces (3 KB) are kept in a secrets slot of their own (``row_map_lists``),
  rewritten only when a list bucket is, and the root holds their SHA-256: a draft save
  rewrites a root of about 2 KB (one page) instead of 5 KB. That slot deleted, or put back
  from another write, no longer matches the hash: the root reads as damaged.
* **Secrets.** The root (``RM3``) also holds the name and nonce of every slot of the secrets
  table the vault writes (device key, organisation keys, provisioning, enrolment, updates;
  not the root itself, nor the audit log's head and check mark, which the audit chain
  covers). A slot deleted, or put back from an older copy, no longer agrees with the root:
  the check at unlock reports it by name, so a provisioning copy removed reads as removed,
  never as "not provisioned yet". A root of an earlier form records the slots as they are at
  its first write by this build.
* **Writes** (:class:`RowMap`): a record or card write puts its entry in the decrypted copy of
  its bucket held for the current transaction; the vault writes every changed bucket and the
  root just before the outermost transaction commits, so the map changes with the rows or not at
  all (a save re-encrypts one small bucket and the small root).
* **Reads** (:meth:`RowMap.check`): the row as read must equal its entry. The entry's bucket is
  trusted when its nonce is the one seen when its group last verified (kept in memory from the
  check at unlock and the vault's own writes); any other nonce (another process wrote, or the
  file was edited) verifies every group again before the entry is used.
* **Lists** (:meth:`RowMap.row_fixes`): the case list and the record list show every record's
  plaintext status and days without reading the record. The case list's index holds each
  carded record's status and day as the vault wrote them (:mod:`fieldscreen.vault.listindex`),
  so only the rows that disagree with it, and the drafts, are compared with their entries here
  (one look-up each); when too many are, every row is (one decryption per bucket, about 0.3 s
  at 50,000 records, reused while no other connection has written the file: SQLite's
  ``data_version``). A row that disagrees with its entry is shown as the entry says (the
  status and days the vault last wrote), one the vault never wrote is left out, and both are
  reported.

What it cannot see: the *whole* database put back from one older copy (rows, map and root
together) is consistent; the server's device sequence numbers catch that, not the laptop.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import struct
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from fieldscreen import crypto
from fieldscreen.vault.keys import Keys, aad
from fieldscreen.vault.listindex import fetch_text
from fieldscreen.vault.store import as_blob, json_loads

__all__ = [
    "BUCKETS",
    "GROUPS",
    "RECORD_COLUMNS",
    "MapCheck",
    "Problem",
    "Root",
    "RowCheck",
    "RowMap",
    "bucket_of",
    "build",
    "legacy_compute",
    "legacy_read",
    "nonce_of",
    "read_root",
    "record_found",
    "secret_nonces",
]

#: Buckets of the map: a write re-encrypts one (about 1/BUCKETS of the entries).
BUCKETS = 2048
#: Groups of buckets with a sum each in the root: a bucket that fails its group's sum makes
#: only its group's buckets (1/GROUPS of the records) untrustworthy.
GROUPS = 64
_PER_GROUP = BUCKETS // GROUPS
_FORMAT = 1
_ROOT = "row_map_root"
_LEGACY = "state_digest"  # the sum of the first format, before the row map
_MAGIC = b"RM1"
_MAGIC2 = b"RM2"  # RM1 and the list buckets' nonces
_MAGIC3 = b"RM3"  # RM2 and the secrets' names and nonces
_MAGIC4 = b"RM4"  # RM3 with the list nonces in a slot of their own, bound by their SHA-256
#: The slot of the list buckets' nonces of an ``RM4`` root: rewritten only when a list bucket
#: is (a case card written), not at every save, which then writes a root of about 2 KB.
_LISTS = "row_map_lists"
#: Buckets of the case list's index (``listindex.BUCKETS``; a test keeps the two equal).
LIST_BUCKETS = 256
_NO_NONCE = bytes(crypto.NONCE_BYTES)
_MOD = 1 << 256
_CACHE = 64
RECORDS, CARDS = "r", "c"
#: A record row's columns its entry holds, in order (the id is the entry's key).
RECORD_COLUMNS = (
    "version",
    "status",
    "updated_day",
    "purge_after_day",
    "created_day",
    "form_id",
    "form_version",
)
_RECORD_SELECT = f"SELECT id, {', '.join(RECORD_COLUMNS)} FROM records"  # noqa: S608 -- constants


def record_found(row: Mapping[str, Any]) -> tuple[Any, ...]:
    """A record row as its entry holds it (:data:`RECORD_COLUMNS`)."""
    return tuple(row[name] for name in RECORD_COLUMNS)


def _agrees(found: tuple[Any, ...], expected: list[Any]) -> bool:
    """Whether a row as read agrees with its entry (a card's entry, and a record's of an
    earlier build, hold the version and status only)."""
    if len(expected) == 2:
        return list(found[:2]) == expected
    return list(found) == expected


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing the map found wrong: ``kind`` is ``rolled-back`` (an older version than the
    vault wrote), ``altered`` (another version or status, or a row the vault never wrote),
    ``deleted`` (the vault wrote the row and it is gone), or ``unverified`` (its bucket's group
    does not match the root)."""

    kind: str
    table: str
    row_id: str | None = None


def _no_lists() -> list[bytes | None]:
    return [None] * LIST_BUCKETS


@dataclass
class Root:
    """The decrypted root: counts and one sum per group."""

    records: int = 0
    cards: int = 0
    sums: list[int] = field(default_factory=lambda: [0] * GROUPS)
    #: The nonce of each list index bucket as last written (None: no such bucket); the whole
    #: list None for a root that does not know them (the first form, or built by an upgrade).
    lists: list[bytes | None] | None = field(default_factory=_no_lists)
    #: Each bound secret's nonce as last written (:func:`secret_nonces`); None for a root
    #: that does not know them (an earlier form, or a fresh root: recorded at its write).
    secrets: dict[str, bytes] | None = None

    def copy(self) -> Root:
        """A copy to change (its lists and mapping are its own)."""
        return Root(
            self.records,
            self.cards,
            list(self.sums),
            None if self.lists is None else list(self.lists),
            None if self.secrets is None else dict(self.secrets),
        )

    def normalised(self) -> Root:
        """A copy equal to what :meth:`decode` of :meth:`encode` gives back."""
        lists = None
        if self.lists is not None:
            lists = [None if not n or n == _NO_NONCE else n for n in self.lists]
        secrets = None if self.secrets is None else dict(sorted(self.secrets.items()))
        return Root(self.records, self.cards, [s % _MOD for s in self.sums], lists, secrets)

    def encode(self, lists_digest: bytes | None = None) -> bytes:
        """The root's bytes: ``RM3``, the list buckets' nonces inside; or, given the SHA-256 of
        their bytes (:func:`lists_bytes`, kept in a slot of their own), ``RM4``, which holds
        that hash in their place (about 2 KB instead of 5: a save writes one page for it)."""
        body = b"".join([(s % _MOD).to_bytes(32, "big") for s in self.sums])
        head = struct.pack(">QQ", self.records, self.cards) + body
        magic = _MAGIC3
        if self.lists is None:
            lists = b"\x00"
        elif lists_digest is not None:
            magic, lists = _MAGIC4, b"\x02" + lists_digest
        else:
            lists = b"\x01" + lists_bytes(self.lists)
        if self.secrets is None:
            return magic + head + lists + b"\x00"
        slots = b"".join(
            struct.pack(">B", len(name.encode())) + name.encode() + nonce
            for name, nonce in sorted(self.secrets.items())
        )
        return magic + head + lists + b"\x01" + struct.pack(">H", len(self.secrets)) + slots

    @classmethod
    def decode(cls, raw: bytes, lists_raw: bytes | None = None) -> Root:
        """The root of :meth:`encode`'s bytes; an ``RM4`` root that holds the hash of its list
        nonces needs those (``lists_raw``), and their hash must be the one it holds."""
        size = len(_MAGIC) + 16 + 32 * GROUPS
        lists: list[bytes | None] | None = None
        secrets: dict[str, bytes] | None = None
        if raw.startswith(_MAGIC) and len(raw) == size:
            return cls(*_head(raw), None)
        if not raw.startswith((_MAGIC2, _MAGIC3, _MAGIC4)) or len(raw) <= size:
            raise crypto.DecryptError
        at = size + 1
        if raw[size] == 1 and not raw.startswith(_MAGIC4):
            lists = _split_lists(raw[at : at + _LISTS_SIZE])
            at += _LISTS_SIZE
        elif raw[size] == 2 and raw.startswith(_MAGIC4):
            held = raw[at : at + _DIGEST_SIZE]
            at += _DIGEST_SIZE
            if lists_raw is None or hashlib.sha256(lists_raw).digest() != held:
                raise crypto.DecryptError
            lists = _split_lists(lists_raw)
        elif raw[size] != 0:
            raise crypto.DecryptError
        if raw.startswith((_MAGIC3, _MAGIC4)):
            secrets, at = _decode_secrets(raw, at)
        if at != len(raw):
            raise crypto.DecryptError
        return cls(*_head(raw), lists, secrets)


def _holds_lists_digest(raw: bytes) -> bool:
    """Whether a root's bytes hold the hash of list nonces kept in their own slot (``RM4``)."""
    size = len(_MAGIC) + 16 + 32 * GROUPS
    return raw.startswith(_MAGIC4) and len(raw) > size and raw[size] == 2


_LISTS_SIZE = crypto.NONCE_BYTES * LIST_BUCKETS
_DIGEST_SIZE = 32


def lists_bytes(lists: list[bytes | None]) -> bytes:
    """The list buckets' nonces as the root keeps them (12 zero bytes for none)."""
    return b"".join([n or _NO_NONCE for n in lists])


def _split_lists(raw: bytes) -> list[bytes | None]:
    if len(raw) != _LISTS_SIZE:
        raise crypto.DecryptError
    step = crypto.NONCE_BYTES
    nonces = [raw[step * b : step * (b + 1)] for b in range(LIST_BUCKETS)]
    return [None if n == _NO_NONCE else n for n in nonces]


def _head(raw: bytes) -> tuple[int, int, list[int]]:
    records, cards = struct.unpack(">QQ", raw[3:19])
    sums = [int.from_bytes(raw[19 + 32 * g : 51 + 32 * g], "big") for g in range(GROUPS)]
    return records, cards, sums


def _decode_secrets(raw: bytes, at: int) -> tuple[dict[str, bytes] | None, int]:
    """The secrets section of an ``RM3`` root from offset ``at``; and where it ends."""
    if at >= len(raw) or raw[at] not in (0, 1):
        raise crypto.DecryptError
    if raw[at] == 0:
        return None, at + 1
    try:
        (count,) = struct.unpack(">H", raw[at + 1 : at + 3])
        at += 3
        secrets: dict[str, bytes] = {}
        for _ in range(count):
            length = raw[at]
            name = raw[at + 1 : at + 1 + length].decode("utf-8")
            nonce = raw[at + 1 + length : at + 1 + length + crypto.NONCE_BYTES]
            if len(nonce) != crypto.NONCE_BYTES:
                raise crypto.DecryptError
            secrets[name] = nonce
            at += 1 + length + crypto.NONCE_BYTES
    except (struct.error, IndexError, UnicodeDecodeError):
        raise crypto.DecryptError from None
    return secrets, at


#: Results of the two keyed hashes below kept while unlocked (:meth:`Keys.memo`), at most this
#: many of each: a save asks for its entry's bucket twice (the check of the row as read and the
#: write of its entry) and for the share of the bucket's old nonce, which the check at unlock
#: or the save before computed already.
_MEMO = 8192


def bucket_of(keys: Keys, key: str) -> int:
    """The bucket of entry ``key`` (``r:<id>`` or ``c:<id>``): a keyed hash."""
    memo = keys.memo("row-map-bucket")
    bucket: int | None = memo.get(key)
    if bucket is None:
        mac = hmac.digest(keys.sub("row-map-bucket"), aad("row_map", key), "sha256")
        bucket = int.from_bytes(mac[:4], "big") % BUCKETS
        if len(memo) >= _MEMO:
            memo.clear()
        memo[key] = bucket
    return bucket


def _contribution(keys: Keys, bucket: int, nonce: bytes | None) -> int:
    """Bucket ``bucket``'s share of its group's sum when its stored nonce is ``nonce``."""
    if nonce is None:
        return 0
    memo = keys.memo("state-digest")
    share: int | None = memo.get((bucket, nonce))
    if share is None:
        prefix = _SHARE_AADS[bucket] if 0 <= bucket < BUCKETS else aad("row_map", bucket)
        mac = hmac.digest(keys.sub("state-digest"), prefix + nonce, "sha256")
        share = int.from_bytes(mac, "big")
        if len(memo) >= _MEMO:
            memo.clear()
        memo[(bucket, nonce)] = share
    return share


#: Associated data of each bucket (built once: a save needs its bucket's twice or more).
_BUCKET_AADS = tuple(aad("row_map", bucket, _FORMAT, BUCKETS) for bucket in range(BUCKETS))
#: Associated data of each bucket's share of its group's sum, before the bucket's nonce.
_SHARE_AADS = tuple(aad("row_map", bucket) for bucket in range(BUCKETS))
_ROOT_AAD = aad("secrets", _ROOT)
_LISTS_AAD = aad("secrets", _LISTS)


def _bucket_aad(bucket: int) -> bytes:
    if isinstance(bucket, int) and 0 <= bucket < BUCKETS:
        return _BUCKET_AADS[bucket]
    return aad("row_map", bucket, _FORMAT, BUCKETS)


def _nonce(blob: object) -> bytes | None:
    if not isinstance(blob, bytes) or len(blob) < crypto.NONCE_BYTES:
        return None
    return blob[: crypto.NONCE_BYTES]


#: A stored ciphertext's nonce (None when it is too short to have one).
nonce_of = _nonce


def read_root(conn: sqlite3.Connection, keys: Keys) -> Root | None:
    """The stored root; None when there is none (a vault of the first format).

    Raises:
        crypto.DecryptError: the root is there and does not authenticate.
    """
    return _read_root(conn, keys)[0]


#: :func:`_write_root` without the list slot's stored ciphertext at hand (it reads it).
_UNREAD: Any = object()


def _read_root(conn: sqlite3.Connection, keys: Keys) -> tuple[Root | None, Any]:
    """The stored root (as :func:`read_root`) and the list slot's stored ciphertext (None:
    no such row), both read by one statement."""
    rows = dict(
        conn.execute(
            "SELECT name, ciphertext FROM secrets WHERE name IN (?, ?)", (_ROOT, _LISTS)
        ).fetchall()
    )
    if _ROOT not in rows:
        return None, rows.get(_LISTS)
    blob = as_blob(rows[_ROOT])
    lists_blob = rows.get(_LISTS)
    held: tuple[Root, bytes | None] | None = keys.held(_ROOT, blob)
    # exactly the ciphertext it was decrypted from or encrypted into, and the list slot's too
    if held is not None and (held[1] is None or held[1] == lists_blob):
        return held[0].copy(), lists_blob
    raw = keys.aead("secrets").decrypt(blob, _ROOT_AAD)
    lists_raw = None
    used: bytes | None = None
    if _holds_lists_digest(raw):
        if lists_blob is None:  # deleted: the root cannot be checked, so it is damaged
            raise crypto.DecryptError
        used = as_blob(lists_blob)
        kept: tuple[bytes, bytes] | None = keys.held(_LISTS, used)
        opened = keys.aead("secrets").decrypt
        lists_raw = kept[0] if kept is not None else opened(used, _LISTS_AAD)
    root = Root.decode(raw, lists_raw)  # an RM4 root: the hash of lists_raw checked
    if used is not None and lists_raw is not None:
        keys.hold(_LISTS, used, (lists_raw, hashlib.sha256(lists_raw).digest()))
    keys.hold(_ROOT, blob, (root.copy(), used))
    return root, lists_blob


def _write_root(
    conn: sqlite3.Connection, keys: Keys, root: Root, stored_lists: Any = _UNREAD
) -> None:
    """Write the root (``RM4``); the list nonces' slot only when they changed (compared with
    ``stored_lists``, the slot's ciphertext as the caller read it in this transaction)."""
    upsert = (
        "INSERT INTO secrets (name, ciphertext) VALUES (?, ?) "
        "ON CONFLICT(name) DO UPDATE SET ciphertext = excluded.ciphertext"
    )
    lists_blob: bytes | None = None
    lists_digest = None
    if root.lists is None:
        conn.execute("DELETE FROM secrets WHERE name = ?", (_LISTS,))
    else:
        raw = lists_bytes(root.lists)
        if stored_lists is _UNREAD:
            row = conn.execute(
                "SELECT ciphertext FROM secrets WHERE name = ?", (_LISTS,)
            ).fetchone()
            stored_lists = None if row is None else row[0]
        stored = stored_lists if isinstance(stored_lists, bytes) else None
        kept: tuple[bytes, bytes] | None = None if stored is None else keys.held(_LISTS, stored)
        if kept is not None and kept[0] == raw:  # the slot as stored holds these already
            lists_blob, lists_digest = stored, kept[1]
        else:
            lists_digest = hashlib.sha256(raw).digest()
            lists_blob = keys.aead("secrets").encrypt(raw, _LISTS_AAD)
            conn.execute(upsert, (_LISTS, lists_blob))
            keys.hold(_LISTS, lists_blob, (raw, lists_digest))
    blob = keys.aead("secrets").encrypt(root.encode(lists_digest), _ROOT_AAD)
    conn.execute(upsert, (_ROOT, blob))
    keys.hold(_ROOT, blob, (root.normalised(), lists_blob))


def _decode(raw: bytes) -> dict[str, list[Any]]:
    value = json_loads(raw)
    if not isinstance(value, dict):
        raise crypto.DecryptError
    return value


def _encode(entries: Mapping[str, list[Any]]) -> bytes:
    """A bucket's JSON, keys sorted: ``orjson`` when what it wrote reads back equal to
    ``entries`` (a few times faster on the bucket a save writes), else the standard library's,
    so a bucket never holds another value than the one given."""
    if type(entries) is dict:
        try:
            fast = orjson.dumps(entries, option=orjson.OPT_SORT_KEYS)
        except TypeError:  # orjson.JSONEncodeError
            pass
        else:
            if orjson.loads(fast) == entries:
                return fast
    return json.dumps(entries, separators=(",", ":"), sort_keys=True).encode("utf-8")


def _read_bucket(
    conn: sqlite3.Connection, keys: Keys, bucket: int
) -> tuple[bytes | None, dict[str, list[Any]] | None]:
    """``(nonce, entries)`` of one stored bucket: ``(None, {})`` when there is no row,
    ``(nonce, None)`` when it does not authenticate."""
    row = conn.execute("SELECT ciphertext FROM row_map WHERE bucket = ?", (bucket,)).fetchone()
    if row is None:
        return None, {}
    return _nonce(row[0]), _open_bucket(keys, bucket, row[0])


def _open_bucket(keys: Keys, bucket: int, blob: object) -> dict[str, list[Any]] | None:
    """The entries of bucket ``bucket`` stored as ``blob``; None when it does not authenticate."""
    try:
        return _decode(keys.aead("row-map").decrypt(as_blob(blob), _bucket_aad(bucket)))
    except (crypto.DecryptError, crypto.CryptoError, TypeError, ValueError):
        return None


def _stored_nonces(conn: sqlite3.Connection) -> dict[int, bytes | None]:
    out: dict[int, bytes | None] = {}
    for bucket, head in conn.execute(
        "SELECT bucket, substr(ciphertext, 1, ?) FROM row_map", (crypto.NONCE_BYTES,)
    ):
        if isinstance(bucket, int) and 0 <= bucket < BUCKETS:
            out[bucket] = _nonce(head)
        else:  # a row no build of ours writes
            out[-1] = None
    return out


def list_nonces(conn: sqlite3.Connection) -> dict[int, bytes | None]:
    """Each stored list index bucket's nonce (-1: rows no build of ours writes)."""
    out: dict[int, bytes | None] = {}
    for bucket, head in conn.execute(
        "SELECT bucket, substr(ciphertext, 1, ?) FROM list_index", (crypto.NONCE_BYTES,)
    ):
        if isinstance(bucket, int) and 0 <= bucket < LIST_BUCKETS:
            out[bucket] = _nonce(head)
        else:
            out[-1] = None
    return out


#: Secrets-table slots the root does not bind: itself and the slot of its list nonces (which
#: an ``RM4`` root binds by their hash instead), the first format's sum, the audit
#: log's head and check mark (the audit chain checks those; :mod:`fieldscreen.vault.audit`),
#: the mark of the audit entries sealed for the team (one moved or removed sends the log
#: again, never loses an entry), the supervision log's kept prefix (a cache of entries the
#: log holds, trusted only while the chain link it ends at is the log's), and the list
#: index's kept flagged entries (a cache of what the buckets hold, trusted only for a bucket
#: whose stamp is still the one it was read from, and only while the cards' versions are the
#: entries': :mod:`fieldscreen.vault.flagged`).
UNBOUND = frozenset(
    {
        _ROOT,
        _LISTS,
        _LEGACY,
        "audit_head",
        "audit_checked",
        "audit_sent",
        "supervision_kept",
        "supervision_flagged",
    }
)


def secret_nonces(conn: sqlite3.Connection) -> dict[str, bytes | None]:
    """Each bound secret's stored nonce (None: a value too short to have one)."""
    return {
        str(name): _nonce(head)
        for name, head in conn.execute(
            "SELECT name, substr(ciphertext, 1, ?) FROM secrets", (crypto.NONCE_BYTES,)
        )
        if name not in UNBOUND
    }


def _secret_problems(root: Root, stored: Mapping[str, bytes | None]) -> list[Problem]:
    """Bound secrets whose presence or nonce is not the one the root holds."""
    assert root.secrets is not None
    problems = []
    for name in sorted(set(root.secrets) | set(stored)):
        if name not in stored:
            problems.append(Problem("deleted", "secrets", name))
        elif stored[name] != root.secrets.get(name):
            problems.append(Problem("altered", "secrets", name))
    return problems


def _list_mismatch(root: Root, stored: Mapping[int, bytes | None]) -> set[int]:
    assert root.lists is not None
    bad = {b for b in range(LIST_BUCKETS) if stored.get(b) != root.lists[b]}
    if -1 in stored:
        bad.add(-1)
    return bad


@dataclass
class RowCheck:
    """What :meth:`RowMap.row_fixes` found: ``fixes`` maps a record id to its row as the vault
    last wrote it (:data:`RECORD_COLUMNS`), or to None for a row it never wrote (a list leaves
    it out); ``agreed`` holds the ids of rows that agree with their entry; ``problems`` those
    found for the first time this session."""

    fixes: dict[Any, tuple[Any, ...] | None] = field(default_factory=dict)
    agreed: set[str] = field(default_factory=set)
    problems: list[Problem] = field(default_factory=list)


@dataclass
class MapCheck:
    """What :meth:`RowMap.verify` found: groups whose sum fails, and the counts."""

    bad_groups: set[int] = field(default_factory=set)
    root_missing: bool = False
    root_damaged: bool = False
    records_expected: int = 0
    cards_expected: int = 0
    records_found: int = 0
    cards_found: int = 0
    problems: list[Problem] = field(default_factory=list)
    #: List index buckets whose nonce is not the one the root holds.
    list_buckets: set[int] = field(default_factory=set)

    @property
    def counts_match(self) -> bool:
        return (
            self.records_expected == self.records_found and self.cards_expected == self.cards_found
        )

    @property
    def intact(self) -> bool:
        return (
            not self.bad_groups
            and not self.root_missing
            and not self.root_damaged
            and self.counts_match
            and not self.problems
            and not self.list_buckets
        )


class RowMap:
    """The vault's side of the map for one unlocked session: pending writes and what verified."""

    def __init__(self) -> None:
        #: bucket -> nonce as last verified (or written by us); None: nothing verified yet.
        self._seen: dict[int, bytes | None] | None = None
        self._bad_groups: set[int] = set()
        #: bucket -> (nonce, entries) decrypted, most recent last.
        self._cache: OrderedDict[int, tuple[bytes | None, dict[str, list[Any]]]] = OrderedDict()
        #: buckets changed in the current transaction: bucket -> (nonce read, entries).
        self._pending: dict[int, tuple[bytes | None, dict[str, list[Any]]]] = {}
        #: bucket rows read in the current transaction (which holds the write lock, so they
        #: stay as read until it writes them): bucket -> stored ciphertext (None: no row).
        #: Kept only inside a transaction opened by :meth:`begin` (and ended by :meth:`discard`).
        self._read: dict[int, bytes | None] = {}
        self._reading = False
        self._delta = [0, 0]
        #: list index buckets written in the current transaction: bucket -> nonce (None: gone).
        self._lists: dict[int, bytes | None] = {}
        #: every list bucket's nonce, to record in a root that knows none yet.
        self._lists_all: dict[int, bytes] | None = None
        #: bound secrets written in the current transaction: name -> nonce.
        self._secrets: dict[str, bytes | None] = {}
        #: the root's secrets as last verified or written (None: it knows none, or no root).
        self._root_secrets: dict[str, bytes] | None = None
        #: The last comparison of every record row with its entry (:meth:`row_fixes`); None
        #: when none holds (none yet, or another connection wrote the file since).
        self._whole: RowCheck | None = None
        #: SQLite's ``data_version`` when that comparison was made.
        self._rows_stamp: int | None = None
        #: Problems of record rows found by :meth:`row_fixes` this session, still standing.
        self._reported: set[Problem] = set()

    def forget(self) -> None:
        """Drop everything (at lock)."""
        self._seen = None
        self._root_secrets = None
        self._whole = None
        self._rows_stamp = None
        self._reported = set()
        self._bad_groups = set()
        self._cache.clear()
        self.discard()

    def begin(self) -> None:
        """A transaction begins that ends with :meth:`discard`: the bucket rows it reads are
        read once (the check of a row and the write of its entry share the read)."""
        self._read.clear()
        self._reading = True

    def discard(self) -> None:
        self._pending.clear()
        self._read.clear()
        self._reading = False
        self._delta = [0, 0]
        self._lists = {}
        self._lists_all = None
        self._secrets = {}

    def __bool__(self) -> bool:
        return bool(self._pending or self._lists or self._lists_all is not None or self._secrets)

    def secret_written(self, name: str, blob: bytes) -> None:
        """The current transaction wrote secret ``name`` (its ciphertext ``blob``)."""
        if name not in UNBOUND:
            self._secrets[name] = _nonce(blob)

    # ------------------------------------------------------------------ list buckets
    def lists_written(self, written: Mapping[int, bytes | None]) -> None:
        """List index buckets the current transaction wrote (their nonces; None: deleted)."""
        self._lists.update(written)

    def lists_record_all(self, conn: sqlite3.Connection) -> None:
        """Record every stored list bucket's nonce in a root that knows none (after the
        case list checked them against the cards)."""
        self._lists_all = {b: n for b, n in list_nonces(conn).items() if n is not None}

    def lists_untrusted(
        self,
        conn: sqlite3.Connection,
        keys: Keys,
        nonces: Mapping[int, bytes | None] | None = None,
    ) -> set[int] | None:
        """List buckets whose stored nonce is not the root's (a bucket written outside
        FieldScreen, put back from an older copy, or deleted); None when the root knows no
        list nonces. ``nonces``: the stored buckets' nonces when the caller has just read
        them (:func:`list_nonces`)."""
        try:
            root = read_root(conn, keys)
        except (crypto.DecryptError, crypto.CryptoError, TypeError):
            return set(range(LIST_BUCKETS))
        if root is None or root.lists is None:
            return None
        return _list_mismatch(root, list_nonces(conn) if nonces is None else nonces)

    # ------------------------------------------------------------------ verification
    def verify(self, conn: sqlite3.Connection, keys: Keys) -> MapCheck:
        """Check every group's sum and the counts against the root; remember what verified.

        Cheap: one HMAC per bucket over the buckets' nonces (their ciphertext is not read) and
        two ``count(*)``.
        """
        report = MapCheck()
        self._read.clear()  # read again from here on
        try:
            root = read_root(conn, keys)
        except (crypto.DecryptError, crypto.CryptoError, TypeError):
            root, report.root_damaged = None, True
        stored = _stored_nonces(conn)
        report.records_found = int(conn.execute("SELECT count(*) FROM records").fetchone()[0])
        report.cards_found = int(conn.execute("SELECT count(*) FROM case_cards").fetchone()[0])
        if root is None:
            report.root_missing = not report.root_damaged
            report.bad_groups = set(range(GROUPS))
            self._seen, self._bad_groups = {}, set(report.bad_groups)
            self._root_secrets = None
            return report
        self._root_secrets = None if root.secrets is None else dict(root.secrets)
        report.records_expected, report.cards_expected = root.records, root.cards
        sums = [0] * GROUPS
        for bucket, nonce in stored.items():
            if bucket < 0:
                continue
            sums[bucket // _PER_GROUP] += _contribution(keys, bucket, nonce)
        report.bad_groups = {g for g in range(GROUPS) if sums[g] % _MOD != root.sums[g] % _MOD}
        if -1 in stored:
            report.problems.append(Problem("altered", "row_map"))
        if root.lists is not None:
            report.list_buckets = _list_mismatch(root, list_nonces(conn))
        if root.secrets is not None:
            report.problems.extend(_secret_problems(root, secret_nonces(conn)))
        self._seen = {b: n for b, n in stored.items() if b >= 0}
        self._bad_groups = set(report.bad_groups)
        self._cache = OrderedDict(
            (b, v) for b, v in self._cache.items() if self._seen.get(b) == v[0]
        )
        return report

    @property
    def verified(self) -> bool:
        return self._seen is not None

    def _trusted_bucket(
        self, conn: sqlite3.Connection, keys: Keys, bucket: int
    ) -> dict[str, list[Any]] | None:
        """The entries of ``bucket`` once its group verifies; None when it does not."""
        pending = self._pending.get(bucket)
        if pending is not None:
            return pending[1]
        blob = self._bucket_row(conn, bucket)
        nonce = None if blob is None else _nonce(blob)
        if self._seen is None or self._seen.get(bucket) != nonce:
            self.verify(conn, keys)
        if bucket // _PER_GROUP in self._bad_groups:
            return None
        cached = self._cache.get(bucket)
        if cached is not None and cached[0] == nonce:
            self._cache.move_to_end(bucket)
            return cached[1]
        entries = {} if blob is None else _open_bucket(keys, bucket, blob)
        if entries is None:
            return None
        self._remember(bucket, nonce, entries)
        return entries

    def _bucket_row(self, conn: sqlite3.Connection, bucket: int) -> bytes | None:
        """Bucket ``bucket``'s stored ciphertext (None: no row), read once per transaction:
        the check of a row and the write of its entry that follows share one read. Outside a
        transaction begun by :meth:`begin` it is read each time."""
        reading = self._reading and conn.in_transaction
        if reading and bucket in self._read:
            return self._read[bucket]
        row = conn.execute("SELECT ciphertext FROM row_map WHERE bucket = ?", (bucket,)).fetchone()
        blob = None if row is None else row[0]
        if reading:
            self._read[bucket] = blob
        return blob

    def _remember(self, bucket: int, nonce: bytes | None, entries: dict[str, list[Any]]) -> None:
        self._cache[bucket] = (nonce, entries)
        self._cache.move_to_end(bucket)
        while len(self._cache) > _CACHE:
            self._cache.popitem(last=False)

    def check(
        self,
        conn: sqlite3.Connection,
        keys: Keys,
        table: str,
        row_id: str,
        found: tuple[Any, ...] | None,
    ) -> Problem | None:
        """Compare a row as read (a card's ``(version, "card")``, a record's
        :func:`record_found`; None when there is no row) with its entry; the problem, or None
        when they agree."""
        key = f"{table}:{row_id}"
        entries = self._trusted_bucket(conn, keys, bucket_of(keys, key))
        if entries is None:
            return Problem("unverified", table, row_id)
        expected = entries.get(key)
        if expected is None:
            return None if found is None else Problem("altered", table, row_id)
        if found is None:
            return Problem("deleted", table, row_id)
        if _agrees(found, expected):
            return None
        version = found[0]
        if isinstance(version, int) and isinstance(expected[0], int) and version < expected[0]:
            return Problem("rolled-back", table, row_id)
        return Problem("altered", table, row_id)

    def check_secret(
        self, conn: sqlite3.Connection, keys: Keys, name: str, nonce: bytes | None
    ) -> Problem | None:
        """Compare secret ``name`` as read (its nonce, None when there is no row) with what
        the root holds; the problem, or None when they agree (or the root knows no secrets).
        A nonce other than the one last seen reads the root again first (another process may
        have written it)."""
        if name in UNBOUND:
            return None
        if name in self._secrets:
            return None if self._secrets[name] == nonce else Problem("altered", "secrets", name)
        if self._seen is None:
            self.verify(conn, keys)
        for attempt in range(2):
            held = self._root_secrets
            if held is None or held.get(name) == nonce:
                return None
            if attempt == 0:
                self.verify(conn, keys)
        return Problem("deleted" if nonce is None else "altered", "secrets", name)

    # ------------------------------------------------------------------ writes
    def _pending_bucket(
        self, conn: sqlite3.Connection, keys: Keys, bucket: int
    ) -> dict[str, list[Any]]:
        held = self._pending.get(bucket)
        if held is not None:
            return held[1]
        blob = self._bucket_row(conn, bucket)
        nonce = None if blob is None else _nonce(blob)
        cached = self._cache.get(bucket)
        if cached is not None and cached[0] == nonce:
            entries = dict(cached[1])
        elif blob is None:
            entries = {}
        else:  # the row already read: opened, not read again
            entries = _open_bucket(keys, bucket, blob) or {}  # unreadable: rebuilt from ours
        self._pending[bucket] = (nonce, entries)
        return entries

    def put(
        self,
        conn: sqlite3.Connection,
        keys: Keys,
        table: str,
        row_id: str,
        *,
        version: int,
        status: str,
        rest: Iterable[Any] = (),
    ) -> None:
        """The row ``table``/``row_id`` is now at ``version`` with ``status`` (and, for a
        record, the rest of :data:`RECORD_COLUMNS`)."""
        key = f"{table}:{row_id}"
        entries = self._pending_bucket(conn, keys, bucket_of(keys, key))
        if key not in entries:
            self._delta[0 if table == RECORDS else 1] += 1
        entries[key] = [int(version), status, *rest]
        if table == RECORDS and self._reported:  # the vault wrote the row and its entry
            self._reported = {p for p in self._reported if p.row_id != row_id}
        if table == RECORDS and self._whole is not None:
            self._whole.fixes.pop(row_id, None)

    def put_record(self, conn: sqlite3.Connection, keys: Keys, record_id: str) -> None:
        """Record ``record_id``'s row as the caller's transaction just wrote it."""
        row = conn.execute(_RECORD_SELECT + " WHERE id = ?", (record_id,)).fetchone()
        self.put(conn, keys, RECORDS, record_id, version=int(row[1]), status=str(row[2]),
                 rest=row[3:])  # fmt: skip

    def drop(self, conn: sqlite3.Connection, keys: Keys, table: str, row_id: str) -> None:
        """The row ``table``/``row_id`` is gone (a case card removed by travel mode)."""
        key = f"{table}:{row_id}"
        entries = self._pending_bucket(conn, keys, bucket_of(keys, key))
        if entries.pop(key, None) is not None:
            self._delta[0 if table == RECORDS else 1] -= 1

    def flush(self, conn: sqlite3.Connection, keys: Keys, *, always: bool = False) -> None:
        """Write every changed bucket and the root (inside the caller's transaction); with
        ``always``, the root even when nothing changed (a new vault's empty map)."""
        if not self and not always:
            return
        stored_lists = _UNREAD
        try:
            found, stored_lists = _read_root(conn, keys)
            root = found or Root()
        except (crypto.DecryptError, crypto.CryptoError, TypeError):
            root = Root()  # a damaged root stays wrong against the buckets: reported, not hidden
        for bucket, (old_nonce, entries) in self._pending.items():
            group = bucket // _PER_GROUP
            root.sums[group] -= _contribution(keys, bucket, old_nonce)
            if entries:
                blob = keys.aead("row-map").encrypt(_encode(entries), _bucket_aad(bucket))
                conn.execute(
                    "INSERT INTO row_map (bucket, ciphertext, format) VALUES (?, ?, ?) "
                    "ON CONFLICT(bucket) DO UPDATE SET ciphertext = excluded.ciphertext, "
                    "format = excluded.format",
                    (bucket, blob, _FORMAT),
                )
                nonce: bytes | None = blob[: crypto.NONCE_BYTES]
            else:
                conn.execute("DELETE FROM row_map WHERE bucket = ?", (bucket,))
                nonce = None
            root.sums[group] = (root.sums[group] + _contribution(keys, bucket, nonce)) % _MOD
            if self._seen is not None and self._seen.get(bucket) == old_nonce:
                self._seen[bucket] = nonce  # what we write is what verified, plus our change
            self._remember(bucket, nonce, entries)
        root.records = max(0, root.records + self._delta[0])
        root.cards = max(0, root.cards + self._delta[1])
        if self._lists_all is not None and root.lists is None:
            root.lists = [self._lists_all.get(b) for b in range(LIST_BUCKETS)]
        if root.lists is not None:
            for bucket, nonce in self._lists.items():
                if 0 <= bucket < LIST_BUCKETS:
                    root.lists[bucket] = nonce
        if root.secrets is None:  # a fresh root, or one of an earlier form: as they are now
            root.secrets = {n: v for n, v in secret_nonces(conn).items() if v is not None}
        else:
            for name, secret in self._secrets.items():
                if secret is None:
                    root.secrets.pop(name, None)
                else:
                    root.secrets[name] = secret
        _write_root(conn, keys, root, stored_lists)
        if self._seen is not None:
            self._root_secrets = dict(root.secrets)
        self.discard()

    # ------------------------------------------------------------------ record rows
    def row_fixes(
        self, conn: sqlite3.Connection, keys: Keys, only: Iterable[str] | None = None
    ) -> RowCheck:
        """Record rows against their entries, for the lists that show every record's plaintext
        status and days without reading the record: the rows ``only`` names (one look-up and
        one cached bucket each), or every row (``None``: one decryption per bucket, about
        0.3 s at 50,000 records; reused while no other connection has written the file).

        Rows of a group whose sum fails are left as they are (the check at unlock reports
        them). An entry of an earlier build (version and status only) that agrees with its
        row gets the row's other columns (in the caller's transaction).
        """
        out = RowCheck()
        if only is None:
            stamp = int(conn.execute("PRAGMA data_version").fetchone()[0])
            if self._whole is not None and self._rows_stamp == stamp:
                return self._whole
            rows = fetch_text(conn, _RECORD_SELECT)
            expected = self._record_entries(conn, keys)
        else:
            rows = []
            for rid in only:
                row = conn.execute(_RECORD_SELECT + " WHERE id = ?", (rid,)).fetchone()
                if row is not None:
                    rows.append(row)
            expected = None
        for row in rows:
            rid, found = row[0], tuple(row[1:])
            if not isinstance(rid, str):
                out.fixes[rid] = None  # not an id the vault writes
                continue
            key = f"{RECORDS}:{rid}"
            if expected is None:
                bucket = self._trusted_bucket(conn, keys, bucket_of(keys, key))
                if bucket is None:
                    continue  # unverified: the check at unlock reports its group
                held = bucket.get(key)
            else:
                held = expected.get(rid)
                if held is None and bucket_of(keys, key) // _PER_GROUP in self._bad_groups:
                    continue
            entry = None if held is None else tuple(held)
            if entry == found:
                out.agreed.add(rid)
                continue
            if entry is not None and len(entry) == 2 and found[:2] == entry:
                self.put(conn, keys, RECORDS, rid, version=int(found[0]), status=str(found[1]),
                         rest=found[2:])  # fmt: skip
                out.agreed.add(rid)
                continue
            if entry is None:
                out.fixes[rid] = None
                problem = Problem("altered", RECORDS, rid)
            else:
                out.fixes[rid] = entry if len(entry) > 2 else (*entry[:2], *found[2:])
                old = isinstance(found[0], int) and isinstance(entry[0], int)
                problem = Problem("rolled-back" if old and found[0] < entry[0] else "altered",
                                  RECORDS, rid)  # fmt: skip
            if problem not in self._reported:
                self._reported.add(problem)
                out.problems.append(problem)
        if only is None:
            self._whole, self._rows_stamp = out, stamp
        return out

    def _record_entries(self, conn: sqlite3.Connection, keys: Keys) -> dict[str, list[Any]]:
        """Every record entry of a bucket whose group verifies (one decryption per bucket)."""
        if self._seen is None:
            self.verify(conn, keys)
        expected: dict[str, list[Any]] = {}
        aead = keys.aead("row-map")
        for bucket, blob in conn.execute("SELECT bucket, ciphertext FROM row_map").fetchall():
            if not isinstance(bucket, int) or not 0 <= bucket < BUCKETS:
                continue  # reported by the check at unlock
            if self._seen is None or self._seen.get(bucket) != _nonce(blob):
                self.verify(conn, keys)
            if bucket // _PER_GROUP in self._bad_groups:
                continue
            try:
                entries = orjson.loads(aead.decrypt(as_blob(blob), _bucket_aad(bucket)))
                if not isinstance(entries, dict):
                    raise crypto.DecryptError
            except (orjson.JSONDecodeError, TypeError):
                entries = _open_bucket(keys, bucket, blob) or {}
            except (crypto.DecryptError, crypto.CryptoError, ValueError):
                continue  # an unreadable bucket fails its group's sum: reported at unlock
            expected.update({k[2:]: v for k, v in entries.items() if k[:2] == "r:"})
        return expected

    @property
    def row_problems(self) -> list[Problem]:
        """What the comparisons of record rows found this session, still standing."""
        return sorted(self._reported, key=lambda p: (p.row_id or "", p.kind))

    # ------------------------------------------------------------------ whole map
    def compare_all(self, conn: sqlite3.Connection, keys: Keys) -> list[Problem]:
        """Every record and card row against the map, and every entry against its row (the
        integrity check's full pass: it reads every bucket)."""
        entries: dict[str, list[Any]] = {}
        unreadable: set[int] = set()
        for bucket in range(BUCKETS):
            _, decoded = _read_bucket(conn, keys, bucket)
            if decoded is None:
                unreadable.add(bucket)
            else:
                entries.update(decoded)
        problems: list[Problem] = []
        seen: set[str] = set()
        rows: Iterable[tuple[str, Any, tuple[Any, ...]]] = [
            (RECORDS, row[0], tuple(row[1:])) for row in conn.execute(_RECORD_SELECT)
        ] + [
            (CARDS, rid, (version, "card"))
            for rid, version in conn.execute("SELECT record_id, version FROM case_cards")
        ]
        for table, rid, found in rows:
            key = f"{table}:{rid}"
            seen.add(key)
            expected = entries.get(key)
            if expected is not None and _agrees(found, expected):
                continue
            version = found[0]
            if expected is None and bucket_of(keys, key) in unreadable:
                problems.append(Problem("unverified", table, str(rid)))
            elif expected is None:
                problems.append(Problem("altered", table, str(rid)))
            elif isinstance(version, int) and version < expected[0]:
                problems.append(Problem("rolled-back", table, str(rid)))
            else:
                problems.append(Problem("altered", table, str(rid)))
        for key in entries.keys() - seen:
            table, _, rid = key.partition(":")
            problems.append(Problem("deleted", table, rid))
        return problems


def build(conn: sqlite3.Connection, keys: Keys) -> None:
    """Write the map and root from the rows as they are (a vault of the first format, at its
    first unlock by this build; the caller has compared the rows with the legacy sum)."""
    conn.execute("DELETE FROM row_map")
    conn.execute("DELETE FROM secrets WHERE name = ?", (_ROOT,))
    fresh = RowMap()
    for row in conn.execute(_RECORD_SELECT).fetchall():
        fresh.put(conn, keys, RECORDS, str(row[0]), version=int(row[1]), status=str(row[2]),
                  rest=row[3:])  # fmt: skip
    for rid, version in conn.execute("SELECT record_id, version FROM case_cards").fetchall():
        fresh.put(conn, keys, CARDS, str(rid), version=int(version), status="card")
    fresh.flush(conn, keys, always=True)
    built = read_root(conn, keys) or Root()
    built.lists = None  # the list index of the first format is checked at the first list
    _write_root(conn, keys, built)
    conn.execute("DELETE FROM secrets WHERE name = ?", (_LEGACY,))


# ---------------------------------------------------------------------- the first format
Item = tuple[str, str, int, str, bytes | None]


def _legacy_item(table: str, row_id: str, version: int, status: str, blob: object) -> Item:
    if blob is None:
        return (table, row_id, version, status, None)
    raw = blob if isinstance(blob, bytes) else str(blob).encode("utf-8", "replace")
    return (table, row_id, version, status, raw[:12])


def _legacy_value(keys: Keys, entry: Item) -> int:
    table, row_id, version, status, nonce = entry
    message = aad(table, row_id, version, status, "-" if nonce is None else nonce.hex())
    return int.from_bytes(crypto.hmac_sha256(keys.sub("state-digest"), message), "big")


def legacy_read(conn: sqlite3.Connection, keys: Keys) -> int | None:
    """The first format's stored sum (None when there is none)."""
    row = conn.execute("SELECT ciphertext FROM secrets WHERE name = ?", (_LEGACY,)).fetchone()
    if row is None:
        return None
    raw = crypto.decrypt(keys.sub("secrets"), as_blob(row[0]), aad("secrets", _LEGACY))
    return int.from_bytes(raw, "big")


def legacy_compute(conn: sqlite3.Connection, keys: Keys) -> int:
    """The first format's sum recomputed from the rows (reads every ciphertext once)."""
    value = 0
    for row_id, version, status, blob in conn.execute(
        "SELECT id, version, status, ciphertext FROM records"
    ):
        value += _legacy_value(keys, _legacy_item("records", row_id, version, status, blob))
    for row_id, version, blob in conn.execute(
        "SELECT record_id, version, ciphertext FROM case_cards"
    ):
        value += _legacy_value(keys, _legacy_item("case_cards", row_id, version, "card", blob))
    return value % _MOD


# ---------------------------------------------------------------------- key rotation
def legacy_held(conn: sqlite3.Connection, keys: Keys) -> bool:
    """Whether a vault without a map has its first-format sum matching its rows."""
    try:
        legacy = legacy_read(conn, keys)
        return legacy is not None and legacy == legacy_compute(conn, keys)
    except crypto.DecryptError:
        return False


def carry_over(
    conn: sqlite3.Connection,
    old: Keys,
    new: Keys,
    *,
    held: bool,
    secrets_before: Mapping[str, bytes | None] | None = None,
) -> None:
    """Rewrite the map under ``new`` keys from what it says under ``old`` (a key rotation,
    inside its transaction; :mod:`fieldscreen.vault.rekey`).

    The entries moved are the map's, never the rows': a row rolled back before the rotation
    still disagrees with its entry afterwards. Nothing that failed before is made to pass:
    buckets of a group whose sum failed, and buckets that do not decrypt, are left out (their
    rows then read as altered); the old root's counts are kept; a damaged root stays damaged.
    A vault without a map keeps its first-format sum, recomputed (call after the rows are
    rewritten), still wrong if it was not ``held`` (:func:`legacy_held`, before the rewrite).
    A bound secret whose nonce matched the root before the move (``secrets_before``, read
    before the secrets were re-encrypted) is recorded with its new nonce; one that did not
    (deleted, put back, added) keeps what the root held, so it still does not match.
    """
    try:
        root = read_root(conn, old)
        damaged = False
    except (crypto.DecryptError, crypto.CryptoError, TypeError):
        root, damaged = None, True
    if root is None and not damaged:
        row = conn.execute("SELECT 1 FROM secrets WHERE name = ?", (_LEGACY,)).fetchone()
        if row is not None:
            value = legacy_compute(conn, new) + (0 if held else 1)
            blob = crypto.encrypt(
                new.sub("secrets"), (value % _MOD).to_bytes(32, "big"), aad("secrets", _LEGACY)
            )
            conn.execute("UPDATE secrets SET ciphertext = ? WHERE name = ?", (blob, _LEGACY))
        return
    bad_groups = RowMap().verify(conn, old).bad_groups
    entries: dict[str, list[Any]] = {}
    for bucket in range(BUCKETS):
        if bucket // _PER_GROUP in bad_groups:
            continue
        _, decoded = _read_bucket(conn, old, bucket)
        if decoded:
            entries.update(decoded)
    conn.execute("DELETE FROM row_map")
    conn.execute("DELETE FROM secrets WHERE name = ?", (_ROOT,))
    fresh = RowMap()
    for key, entry in entries.items():
        table, _, rid = key.partition(":")
        fresh.put(
            conn, new, table, rid, version=int(entry[0]), status=str(entry[1]), rest=entry[2:]
        )
    fresh.flush(conn, new, always=True)
    moved = read_root(conn, new) or Root()
    if root is not None:
        moved.records, moved.cards = root.records, root.cards
        if root.secrets is not None and secrets_before is not None:
            moved.secrets = _carry_secrets(root.secrets, secrets_before, secret_nonces(conn))
    if damaged:
        moved.sums[0] += 1
    _write_root(conn, new, moved)


def _carry_secrets(
    held: Mapping[str, bytes],
    before: Mapping[str, bytes | None],
    after: Mapping[str, bytes | None],
) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for name in set(held) | set(before):
        # matched before the move: its new nonce; did not: what the root held, still wrong
        nonce = after.get(name) if held.get(name) == before.get(name) else held.get(name)
        if nonce is not None:
            out[name] = nonce
    return out


#: Secrets-table slots the map keeps (a rotation moves them with :func:`carry_over`).
SLOTS = frozenset({_ROOT, _LISTS, _LEGACY})
