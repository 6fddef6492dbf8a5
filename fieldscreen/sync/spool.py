"""A reference :class:`OutboxStore` and :class:`DeviceState` over a plain SQLite file.

It holds only what sync sees anyway: sealed, signed envelopes and sync bookkeeping. The app
wires the vault instead (which also keeps the credential encrypted); this one serves the tests,
the benchmarks, ``fieldscreen simulate`` and a coordinator's relay of other laptops' bundles.
Memory stays flat whatever the backlog: pages are read with ``LIMIT``.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from fieldscreen.sync.canonical import b64d, b64e
from fieldscreen.sync.envelope import Envelope
from fieldscreen.sync.signed import Provisioning, SignedDocument
from fieldscreen.sync.store import DeviceIdentity, DeviceStatus, OutboxItem, RecordState

__all__ = ["Spool"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    record_id TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    seq INTEGER NOT NULL UNIQUE,
    state TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending','sending','delivered','failed','quarantined')),
    reason TEXT,
    size INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(state, seq);
CREATE TABLE IF NOT EXISTS outbox_data (seq INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS updates (
    kind TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL, document BLOB NOT NULL,
    PRIMARY KEY (kind, name)
);
"""


class Spool:
    """Sealed envelopes and sync state in one SQLite file (durable: WAL, synchronous=FULL).

    A record's state lives in ``outbox`` and its envelope bytes in ``outbox_data``: marking a
    batch ``sending`` or ``delivered`` rewrites small rows, never the envelopes, and an envelope
    is deleted (overwritten with zeros: ``secure_delete``) once the server's receipt names it.

    Sync bookkeeping (a record's state, the checkpoint, a receipt applied) commits without
    waiting for the disk: in WAL mode a crash of the process loses none of it, and what a power
    cut could take back the protocol recovers (a record thought pending is asked about again
    and the server's receipt names it delivered). Queued envelopes always wait for the disk.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._lock = threading.Lock()
        old = os.umask(0o077)
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        finally:
            os.umask(old)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA secure_delete=ON")
        self._db.executescript(_SCHEMA)
        self._move_legacy_data()
        self.wiped = False

    def close(self) -> None:
        self._db.close()

    # ------------------------------------------------------------------ filling the queue
    def enqueue(self, envelope: Envelope) -> None:
        self.enqueue_many([envelope])

    def enqueue_many(self, envelopes: Sequence[Envelope]) -> None:
        with self._lock:
            self._db.execute("BEGIN")
            try:
                for envelope in envelopes:
                    data = envelope.to_bytes()
                    added = self._db.execute(
                        "INSERT OR IGNORE INTO outbox(record_id, sha256, seq, size) "
                        "VALUES (?,?,?,?)",
                        (envelope.record_id, envelope.sha256, envelope.seq, len(data)),
                    ).rowcount
                    if added:
                        self._db.execute(
                            "INSERT INTO outbox_data(seq, data) VALUES (?,?)", (envelope.seq, data)
                        )
                if envelopes:
                    self._set_meta_max("highest_seq", max(e.seq for e in envelopes))
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def next_seq(self) -> int:
        return self.highest_seq() + 1

    # ------------------------------------------------------------------ OutboxStore
    def pending_page(self, after_seq: int, limit: int) -> Sequence[OutboxItem]:
        with self._lock:
            rows = self._db.execute(
                # One covering index range per state, merged: a page never reads, let alone
                # sorts, the rest of the backlog.
                "SELECT o.record_id, o.sha256, o.seq, d.data FROM outbox o "
                "JOIN outbox_data d ON d.seq = o.seq WHERE o.seq IN ("
                "SELECT seq FROM ("
                "SELECT seq FROM (SELECT seq FROM outbox WHERE state = 'pending' AND seq > ? "
                "ORDER BY seq LIMIT ?) UNION ALL "
                "SELECT seq FROM (SELECT seq FROM outbox WHERE state = 'sending' AND seq > ? "
                "ORDER BY seq LIMIT ?)) ORDER BY seq LIMIT ?) ORDER BY o.seq",
                (after_seq, limit, after_seq, limit, limit),
            ).fetchall()
        return [OutboxItem(r[0], r[1], r[2], r[3]) for r in rows]

    def pending_totals(self) -> tuple[int, int]:
        with self._lock:
            count, size = self._db.execute(
                "SELECT count(*), coalesce(sum(size),0) FROM outbox "
                "WHERE state IN ('pending','sending')"
            ).fetchone()
        return int(count), int(size)

    def set_state(
        self, record_ids: Sequence[str], state: RecordState, reason: str | None = None
    ) -> None:
        with self._lock, self._bookkeeping():
            self._db.execute("BEGIN")
            self._db.executemany(
                "UPDATE outbox SET state=?, reason=? WHERE record_id=? AND state!='delivered'",
                [(state, reason, rid) for rid in record_ids],
            )
            self._db.execute("COMMIT")

    def apply_receipt(
        self, delivered: Sequence[tuple[str, str]], checkpoint: int | None = None
    ) -> int:
        with self._lock, self._bookkeeping():
            self._db.execute("BEGIN")
            before = self._db.total_changes
            self._db.executemany(
                "UPDATE outbox SET state='delivered', reason=NULL "
                "WHERE record_id=? AND sha256=? AND state!='delivered'",
                list(delivered),
            )
            changed = self._db.total_changes - before
            self._db.executemany(
                "DELETE FROM outbox_data WHERE seq = "
                "(SELECT seq FROM outbox WHERE record_id=? AND sha256=? AND state='delivered')",
                list(delivered),
            )
            if checkpoint is not None:
                self._put_meta("checkpoint", str(checkpoint))
            self._db.execute("COMMIT")
        return changed

    def load_checkpoint(self) -> int:
        return int(self._meta("checkpoint") or 0)

    def save_checkpoint(self, seq: int) -> None:
        with self._lock, self._bookkeeping():
            self._put_meta("checkpoint", str(seq))

    def highest_seq(self) -> int:
        return int(self._meta("highest_seq") or 0)

    # ------------------------------------------------------------------ views
    def states(self) -> dict[str, tuple[str, str | None]]:
        """record id -> (state, reason), for the sync view and the tests."""
        with self._lock:
            rows = self._db.execute("SELECT record_id, state, reason FROM outbox").fetchall()
        return {r[0]: (r[1], r[2]) for r in rows}

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT state, count(*) FROM outbox GROUP BY state").fetchall()
        return {r[0]: int(r[1]) for r in rows}

    def retry_failed(self) -> int:
        """Put failed records back in the queue (the sync view's "retry")."""
        with self._lock:
            cur = self._db.execute(
                "UPDATE outbox SET state='pending', reason=NULL WHERE state='failed'"
            )
            self._put_meta("checkpoint", "0")
        return cur.rowcount

    # ------------------------------------------------------------------ DeviceState
    def signing_key_pair(self) -> tuple[bytes, bytes]:
        """Kept in this file as it is (the reference store has no passphrase; the vault does)."""
        from fieldscreen import crypto

        raw = self._meta("device_key")
        if raw:
            private = b64d(raw, "device key")
            return private, crypto.public_from_private(private)
        private, public = crypto.generate_signing_keypair()
        with self._lock:
            self._put_meta("device_key", b64e(private))
        return private, public

    def provisioning(self) -> Provisioning | None:
        raw = self._meta("provisioning")
        return Provisioning.from_content(raw.encode()) if raw else None

    def save_provisioning(self, provisioning: Provisioning) -> None:
        with self._lock:
            self._put_meta("provisioning", provisioning.to_content().decode())

    def identity(self) -> DeviceIdentity | None:
        raw = self._meta("identity")
        if not raw:
            return None
        data = json.loads(raw)
        return DeviceIdentity(
            device_id=data["device_id"],
            site=data["site"],
            token=data["token"],
            public_key=b64d(data["public_key"], "device key"),
        )

    def save_identity(self, identity: DeviceIdentity) -> None:
        raw = json.dumps(
            {
                "device_id": identity.device_id,
                "site": identity.site,
                "token": identity.token,
                "public_key": b64e(identity.public_key),
            }
        )
        with self._lock:
            self._put_meta("identity", raw)

    def apply_device_status(self, status: DeviceStatus) -> None:
        with self._lock:
            self._put_meta("device_status", status)
            if status == "wipe":
                self._db.execute("DELETE FROM outbox_data")
                self._db.execute("DELETE FROM outbox")
                self._db.execute("DELETE FROM meta WHERE key IN ('identity')")
                self.wiped = True

    def device_status(self) -> str:
        return self._meta("device_status") or "active"

    def update_versions(self) -> Mapping[tuple[str, str], str]:
        with self._lock:
            rows = self._db.execute("SELECT kind, name, version FROM updates").fetchall()
        return {(r[0], r[1]): r[2] for r in rows}

    def apply_update(self, document: SignedDocument) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO updates(kind, name, version, document) VALUES (?,?,?,?) "
                "ON CONFLICT(kind, name) DO UPDATE SET version=excluded.version, "
                "document=excluded.document",
                (document.kind, document.name, document.version, document.to_bytes()),
            )

    # ------------------------------------------------------------------ helpers
    def _move_legacy_data(self) -> None:
        """A spool written before envelopes had their own table: move them there, once."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(outbox)")}
        if "data" not in columns:
            return
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "INSERT OR IGNORE INTO outbox_data(seq, data) "
                    "SELECT seq, data FROM outbox WHERE data IS NOT NULL AND state != 'delivered'"
                )
                self._db.execute("UPDATE outbox SET data = NULL WHERE data IS NOT NULL")
                self._db.execute("ALTER TABLE outbox DROP COLUMN data")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    @contextlib.contextmanager
    def _bookkeeping(self) -> Iterator[None]:
        """Commits inside do not wait for the disk (see the class); the caller holds the lock
        and no transaction is open."""
        self._db.execute("PRAGMA synchronous=NORMAL")
        try:
            yield
        finally:
            self._db.execute("PRAGMA synchronous=FULL")

    def _meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _put_meta(self, key: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO meta(key, value) VALUES (?,?) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (key, value),
        )

    def _set_meta_max(self, key: str, value: int) -> None:
        self._db.execute(
            "INSERT INTO meta(key, value) VALUES (?,?) ON CONFLICT(key) DO UPDATE SET "
            "value=max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))",
            (key, str(value)),
        )
