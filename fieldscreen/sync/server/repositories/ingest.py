"""Ingestion: each envelope checked (shape, device, site, key; its own signature by the key of
the device it names) and written exactly once, in group commits.

It gives an exactly-once effect over at-least-once delivery: envelopes are inserted with
``ON CONFLICT DO NOTHING`` under the database's unique keys, so an identical retry is a no-op
however many threads race, a different payload under a known record id, or a known record id
sent by another device, is kept as a conflict and never overwrites (and is never answered as
delivered), a sequence number a device already used is quarantined as a replay or a rollback,
an envelope from a revoked device is quarantined, and a record destroyed by retention is not
resurrected. The batches of concurrent requests share one transaction (:class:`GroupCommit`).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from fieldscreen import crypto
from fieldscreen.errors import KnownError
from fieldscreen.reports.aggregates import MATCH_KEYS, check_match, parse_aggregate
from fieldscreen.sync.envelope import Envelope, key_id_hex
from fieldscreen.sync.errors import EnvelopeError
from fieldscreen.sync.server import timing
from fieldscreen.sync.server.db import tables as t
from fieldscreen.sync.server.repositories.audit import AuditLog
from fieldscreen.sync.server.repositories.database import Database, now
from fieldscreen.sync.server.repositories.devices import Devices
from fieldscreen.sync.server.repositories.keys import KeyRing
from fieldscreen.sync.server.repositories.matching import Matching
from fieldscreen.sync.server.repositories.model import DeviceRow, Outcome, Principal

__all__ = ["Admit", "GroupCommit", "Ingest", "Job"]

#: A request's admission written in the transaction that stores its batch (its rate count and
#: nonce): why it is refused (the exception its request is answered with), or None. Whatever
#: it writes for a refused request is its own business: nothing else of that request is
#: written in that transaction.
Admit = Callable[[Connection], BaseException | None]


class Ingest:
    """Batches of envelopes in, their outcomes once durable."""

    def __init__(
        self,
        db: Database,
        keys: KeyRing,
        devices: Devices,
        matching: Matching,
        audit: AuditLog,
    ) -> None:
        self._db = db
        self._keys = keys
        self._devices = devices
        self._matching = matching
        self._audit = audit
        self.group = GroupCommit(db, self)

    def ingest(
        self, items: Sequence[Any], principal: Principal, admit: Admit | None = None
    ) -> list[Outcome]:
        """Store a batch of envelopes (wire JSON objects); the outcomes once they are durable.

        Each envelope's shape, device, site and key are checked here; its signature starts
        verifying at once on the verifier threads. The write joins the batches other requests
        have waiting at that moment in one transaction (:class:`GroupCommit`): one multi-row
        ``INSERT ... ON CONFLICT DO NOTHING``, then whatever the database did not insert is
        classified (duplicate, conflict, reused sequence number) from what it holds, so
        concurrent identical batches stay exact. Nothing commits before every signature in it
        verified: a batch alone is written while its signatures verify (a forged one sends it
        back to be written without), a group of several once theirs did (verified while the
        group before was written); a forged envelope is rejected alone and never poisons the
        batches beside it. This call returns only after that commit.

        ``admit`` (a device's submit: its rate count and nonce) runs in that transaction,
        before the batch's rows; a refused request writes none of them and its exception is
        raised here. With nothing to store it is not called (the caller admits it alone).
        """
        with timing.part("shape"):
            keys = self._keys.keys()
            sealing_id = key_id_hex(keys.sealing_public)
            devices: dict[str, DeviceRow | None] = {}
            for item in items:  # look devices up once per batch
                device_id = item.get("device_id") if isinstance(item, dict) else None
                if isinstance(device_id, str) and len(device_id) <= 64 and device_id not in devices:
                    devices[device_id] = self._devices.get(device_id)
            shaped = [self.shape(item, principal, sealing_id, devices) for item in items]
        outcomes: list[Outcome | None] = [s if isinstance(s, Outcome) else None for s in shaped]
        candidates = [(i, s) for i, s in enumerate(shaped) if not isinstance(s, Outcome)]
        if candidates:
            job = Job(
                [pair for _i, pair in candidates], admit, principal.device_id or principal.label
            )
            written = self.group.run(job)
            for name, seconds in job.parts.items():
                timing.add(name, seconds)
            for (index, _pair), outcome in zip(candidates, written, strict=True):
                outcomes[index] = outcome
        assert all(o is not None for o in outcomes)
        return [o for o in outcomes if o is not None]

    def shape(
        self,
        item: Any,
        principal: Principal,
        sealing_id: str,
        devices: dict[str, DeviceRow | None],
    ) -> tuple[Envelope, DeviceRow] | Outcome:
        """An envelope checked but for its signature (verified by :class:`Job`), or why not."""
        rid = str(item.get("record_id", ""))[:36] if isinstance(item, dict) else ""
        sha = str(item.get("sha256", ""))[:64] if isinstance(item, dict) else ""
        try:
            envelope = Envelope.from_json(item)  # the payload's hash checked here
        except EnvelopeError as exc:
            return Outcome(rid, sha, "rejected", f"malformed: {exc.reason}"[:80])
        rid, sha = envelope.record_id, envelope.sha256
        if principal.role == "device" and envelope.device_id != principal.device_id:
            return Outcome(rid, sha, "rejected", "device-mismatch")
        device = devices.get(envelope.device_id)
        if device is None:
            return Outcome(rid, sha, "rejected", "unknown-device")
        if not principal.sees(device.site):
            return Outcome(rid, sha, "rejected", "not-your-site")
        late = None
        if envelope.key_id != sealing_id:
            late = "wrong-key"
        elif envelope.aggregate and _aggregate_text(envelope.aggregate) is None:
            late = "aggregate"  # (absent: statistics declined)
        if late is not None:  # rare: the signature first, as its reason comes first
            forged = not _signed(envelope, device)
            return Outcome(rid, sha, "rejected", "signature" if forged else late)
        return envelope, device

    def write(
        self, conn: Connection, pairs: Sequence[tuple[Envelope, DeviceRow]], received: str
    ) -> list[Outcome]:
        """Write checked envelopes in ``conn``'s transaction; their outcomes, in order.

        One multi-row ``INSERT ... ON CONFLICT DO NOTHING``; whatever the database did not
        insert is classified from what it holds, this transaction's own rows included."""
        outcomes: list[Outcome | None] = [None] * len(pairs)
        ids = sorted({envelope.record_id for envelope, _d in pairs})
        tombs: dict[str, tuple[str, str]] = {
            rid: (sha, owner)
            for rid, sha, owner in conn.execute(
                sa.select(
                    t.tombstones.c.record_id, t.tombstones.c.sha256, t.tombstones.c.device_id
                ).where(self._db.among(t.tombstones.c.record_id, ids))
            )
        }
        first: dict[str, int] = {}
        rows_sha: dict[str, str] = {}
        rows: list[dict[str, Any]] = []
        later: list[tuple[int, Envelope, DeviceRow]] = []
        holds: list[tuple[sa.Table, Envelope, DeviceRow, str]] = []
        for index, (envelope, device) in enumerate(pairs):
            rid, sha = envelope.record_id, envelope.sha256
            if device.status != "active":
                holds.append((t.quarantine, envelope, device, "revoked-device"))
                outcomes[index] = Outcome(rid, sha, "quarantined", "revoked-device")
            elif rid in tombs:
                reason = _clash(tombs[rid], sha, device.id)
                if reason is None:
                    outcomes[index] = Outcome(rid, sha, "destroyed", "past-retention")
                else:
                    holds.append((t.conflicts, envelope, device, reason))
                    outcomes[index] = Outcome(rid, sha, "conflict", reason)
            elif rid in first:
                later.append((index, envelope, device))
            else:
                first[rid] = index
                rows_sha[rid] = sha
                rows.append(_envelope_row(envelope, device, received))
        inserted: set[str] = set()
        if rows and self._db.dialect == "postgresql":
            inserted = _insert_envelopes_pg(conn, rows)
        elif rows:
            inserted = _insert_envelopes_sqlite(conn, rows)
        stored: list[tuple[Envelope, DeviceRow]] = []
        for rid, index in first.items():
            if rid in inserted:
                outcomes[index] = Outcome(rid, rows_sha[rid], "stored")
                stored.append(pairs[index])
        self._matching.keep_tokens(conn, stored, received)
        pending = [
            (index, envelope, device)
            for index, (envelope, device) in enumerate(pairs)
            if outcomes[index] is None and first.get(envelope.record_id) == index
        ] + later
        if pending:
            e = t.envelopes
            held: dict[str, tuple[str, str]] = {
                rid: (sha, owner)
                for rid, sha, owner in conn.execute(
                    sa.select(e.c.record_id, e.c.sha256, e.c.device_id).where(
                        self._db.among(
                            e.c.record_id, sorted({env.record_id for _, env, _d in pending})
                        )
                    )
                )
            }
            for index, envelope, device in pending:
                rid, sha = envelope.record_id, envelope.sha256
                reason = _clash(held[rid], sha, device.id) if rid in held else None
                if rid in held and reason is None:
                    outcomes[index] = Outcome(rid, sha, "duplicate")
                elif reason is not None:
                    holds.append((t.conflicts, envelope, device, reason))
                    outcomes[index] = Outcome(rid, sha, "conflict", reason)
                else:  # a new record under a sequence number the device already used
                    holds.append((t.quarantine, envelope, device, "sequence-reused"))
                    outcomes[index] = Outcome(rid, sha, "quarantined", "sequence-reused")
                    conn.execute(
                        sa.update(t.devices)
                        .where(t.devices.c.id == device.id)
                        .values(rollback_suspected=True)
                    )
        for _target, env, _device, why in holds:
            if why == "other-device":  # somebody's copy of a record another device sent
                self._audit.append(
                    conn, env.device_id, "record-of-another-device", {"record": env.record_id}
                )
        for table in (t.conflicts, t.quarantine):
            held_rows = [
                _held_row(envelope, device, reason)
                for target, envelope, device, reason in holds
                if target is table
            ]
            if held_rows:
                conn.execute(self._db.insert(table).on_conflict_do_nothing(), held_rows)
        seqs: dict[str, int] = {}
        for envelope, _device in pairs:
            seqs[envelope.device_id] = max(seqs.get(envelope.device_id, 0), envelope.seq)
        for device_id, seq in sorted(seqs.items()):
            conn.execute(
                sa.update(t.devices)
                .where(t.devices.c.id == device_id, t.devices.c.last_seq < seq)
                .values(last_seq=seq)
            )
        assert all(o is not None for o in outcomes)
        return [o for o in outcomes if o is not None]


def _clash(held: tuple[str, str], sha256: str, device_id: str) -> str | None:
    """Why an envelope conflicts with the (sha256, device) already held under its record id,
    or None when it is the very same record from the same device (a duplicate). A record id
    held from another device is a conflict even with the same payload: the copy another
    device sends is never the original's delivery."""
    held_sha, owner = held
    if owner != device_id:
        return "other-device"
    return None if held_sha == sha256 else "different-payload"


def _row_of(envelope: Envelope, device: DeviceRow) -> dict[str, Any]:
    """The columns every table of envelopes shares: which record, which copy, whose."""
    return {
        "record_id": envelope.record_id,
        "sha256": envelope.sha256,
        "device_id": envelope.device_id,
        "site": device.site,
        "seq": envelope.seq,
    }


def _envelope_row(envelope: Envelope, device: DeviceRow, received: str) -> dict[str, Any]:
    return {
        **_row_of(envelope, device),
        "kind": envelope.kind,
        "form_id": envelope.form_id,
        "form_version": envelope.form_version,
        "created": envelope.created,
        "received": received,
        "key_id": envelope.key_id,
        "aggregate": _aggregate_text(envelope.aggregate) or "{}",
        "sealed": envelope.sealed,
        "signature": envelope.signature,
    }


#: Valid aggregates as stored (sorted-key JSON text), by their orjson text. A site's aggregates
#: take few distinct values (tier, concerns, age band, sex, nationality, site, week), so a
#: batch checks each distinct one once. Invalid ones are not remembered.
_AGGREGATE_TEXT: dict[bytes, str] = {}
_AGGREGATE_TEXT_MAX = 4096


def _aggregate_text(aggregate: Mapping[str, Any]) -> str | None:
    """The stored text of a parsed envelope's aggregate, or None if the reports refuse it.

    ``Envelope.from_json`` already reduced it to strings, integers, booleans, null and lists of
    strings, whose orjson text tells every distinct value apart."""
    if not aggregate:
        return "{}"
    tokens = not MATCH_KEYS.isdisjoint(aggregate)
    counted = {k: v for k, v in aggregate.items() if k not in MATCH_KEYS} if tokens else aggregate
    key = orjson.dumps(dict(counted))
    text = _AGGREGATE_TEXT.get(key)
    if text is None:
        try:
            parse_aggregate(counted)
        except KnownError:
            return None
        text = json.dumps(dict(counted), sort_keys=True)
        if len(_AGGREGATE_TEXT) >= _AGGREGATE_TEXT_MAX:
            _AGGREGATE_TEXT.clear()
        _AGGREGATE_TEXT[key] = text
    if tokens:  # one child's tokens: checked each time, never remembered
        try:
            check_match(aggregate)
        except KnownError:
            return None
        return json.dumps(dict(aggregate), sort_keys=True)
    return text


_ENVELOPE_COLUMNS = tuple(c.name for c in t.envelopes.columns)
_PG_COLUMNS = ", ".join(_ENVELOPE_COLUMNS)
_PG_TYPES = {"seq": "bigint", "sealed": "bytea", "signature": "bytea"}
_PG_ARRAYS = ", ".join(f"%b::{_PG_TYPES.get(c, 'text')}[]" for c in _ENVELOPE_COLUMNS)
# Built from the table's own column names, nothing from a request.
_PG_INSERT = (
    f"INSERT INTO envelopes ({_PG_COLUMNS}) SELECT {_PG_COLUMNS} "  # noqa: S608
    f"FROM unnest({_PG_ARRAYS}) WITH ORDINALITY AS batch({_PG_COLUMNS}, ord) ORDER BY ord "
    "ON CONFLICT DO NOTHING RETURNING record_id"
)


def _insert_envelopes_pg(conn: Connection, rows: Sequence[dict[str, Any]]) -> set[str]:
    """The batch in one statement, in the caller's transaction: one array per column,
    unnested into rows in the batch's order (a group commit's few thousand rows are one
    round trip and one parse, the parameters sent in binary); the record ids the database
    inserted."""
    raw: Any = conn.connection.dbapi_connection
    columns = [[row[c] for row in rows] for c in _ENVELOPE_COLUMNS]
    with raw.cursor() as cursor:
        cursor.execute(_PG_INSERT, columns)
        return {str(r[0]) for r in cursor.fetchall()}


_SQLITE_INSERT = f"INSERT INTO envelopes ({_PG_COLUMNS}) VALUES ({', '.join(['?'] * len(_ENVELOPE_COLUMNS))}) ON CONFLICT DO NOTHING"  # noqa: E501, S608


def _insert_envelopes_sqlite(conn: Connection, rows: Sequence[dict[str, Any]]) -> set[str]:
    """The batch in one ``executemany`` of a prepared one-row statement, in the caller's
    transaction (``BEGIN IMMEDIATE``: no other writer until it ends); the record ids the
    database inserted. The rows inserted here are exactly those past the table's last rowid
    before the batch, so a batch that the database took whole needs no second look."""
    raw: Any = conn.connection.dbapi_connection
    (last,) = raw.execute("SELECT coalesce(max(rowid), 0) FROM envelopes").fetchone()
    cursor = raw.executemany(
        _SQLITE_INSERT, [tuple(row[c] for c in _ENVELOPE_COLUMNS) for row in rows]
    )
    if cursor.rowcount == len(rows):
        return {str(row["record_id"]) for row in rows}
    ids = json.dumps([row["record_id"] for row in rows])
    taken = raw.execute(
        "SELECT record_id FROM envelopes WHERE rowid > ? "
        "AND record_id IN (SELECT value FROM json_each(?))",
        (last, ids),
    )
    return {str(r[0]) for r in taken}


def _held_row(envelope: Envelope, device: DeviceRow, reason: str) -> dict[str, Any]:
    return {
        **_row_of(envelope, device),
        "reason": reason,
        "received": now(),
        "body": envelope.to_bytes(),
    }


_VERIFIER: ThreadPoolExecutor | None = None
_VERIFIER_LOCK = threading.Lock()
#: Below this many envelopes a batch's signatures are verified by its own thread.
_VERIFY_INLINE = 8
#: Verifier threads: one per core.
_VERIFIERS = max(2, os.cpu_count() or 2)


def _verifier() -> ThreadPoolExecutor:
    global _VERIFIER  # noqa: PLW0603 -- one pool per server process, created on first use
    with _VERIFIER_LOCK:
        if _VERIFIER is None:
            _VERIFIER = ThreadPoolExecutor(max_workers=_VERIFIERS, thread_name_prefix="verify")
        return _VERIFIER


def _signed(envelope: Envelope, device: DeviceRow) -> bool:
    """Whether the device's key signed exactly this envelope. ``Envelope.from_json`` already
    checked the payload against its hash, which the signature covers (``verify_envelope``
    is the same check with the hash again)."""
    return crypto.verify(device.public_key, envelope.signing_bytes(), envelope.signature)


def _forged(pairs: Sequence[tuple[Envelope, DeviceRow]], offset: int) -> list[int]:
    return [
        offset + i for i, (envelope, device) in enumerate(pairs) if not _signed(envelope, device)
    ]


class Job:
    """One request's checked envelopes on their way into a group commit.

    Their signatures start verifying at once, on the verifier threads, in a few slices (not
    one task per envelope: a task costs more than it saves); :meth:`forged` waits for them.
    ``outcomes`` is set (or ``error``) once the transaction that holds them committed."""

    __slots__ = (
        "_slices",
        "admit",
        "caller",
        "done",
        "error",
        "outcomes",
        "pairs",
        "parts",
        "queued",
    )

    def __init__(
        self,
        pairs: list[tuple[Envelope, DeviceRow]],
        admit: Admit | None = None,
        caller: str = "",
    ) -> None:
        self.pairs = pairs
        #: The request's admission, and who made it (a group admits its callers in this
        #: order, so two processes' groups lock the same callers' rate rows in one order).
        self.admit = admit
        self.caller = caller
        self.outcomes: list[Outcome] | None = None
        self.error: BaseException | None = None
        self.done = False
        #: When it was queued, and where its time went until its commit (seconds by part:
        #: waiting for the writer, its signatures still verifying, the insert, the commit),
        #: as the writer saw it (:mod:`timing`).
        self.queued = time.perf_counter()
        self.parts: dict[str, float] = {}
        if len(pairs) < _VERIFY_INLINE:
            self._slices: list[Any] = [_forged(pairs, 0)]
            return
        pool = _verifier()
        parts = max(1, min(_VERIFIERS, len(pairs) // _VERIFY_INLINE))
        size = -(-len(pairs) // parts)
        self._slices = [
            pool.submit(_forged, pairs[start : start + size], start)
            for start in range(0, len(pairs), size)
        ]

    def forged(self) -> set[int]:
        """The positions of the envelopes whose signature does not verify (waits for them)."""
        bad: set[int] = set()
        for part in self._slices:
            bad.update(part if isinstance(part, list) else part.result())
        return bad


class _Retry(Exception):
    """A signature in the group did not verify: roll back, and write it again without."""


class GroupCommit:
    """Group commit: the batches that wait while one group is written go in the next group,
    one transaction for all of them, and every request is answered only after that commit.

    Each request thread queues its :class:`Job` and takes the writer; the first to take it
    (the leader) writes every job queued at that moment, the others find theirs done. Per
    process: several processes on one database each group their own requests, and the
    database's unique keys keep them exact between them as before. A batch that makes the
    group fail (the database refuses it) is the only one to fail: the group is written
    again job by job."""

    def __init__(self, db: Database, ingest: Ingest) -> None:
        self._db = db
        self._ingest = ingest
        self._writer = threading.Lock()
        self._queue_lock = threading.Lock()
        self._waiting: list[Job] = []
        #: How many groups were formed, and the most batches one of them held.
        self.groups = 0
        self.largest = 0
        #: Groups written again without an envelope whose signature did not verify.
        self.redone = 0

    def run(self, job: Job) -> list[Outcome]:
        job.queued = time.perf_counter()
        with self._queue_lock:
            self._waiting.append(job)
        with self._writer:
            if not job.done:
                with self._queue_lock:
                    jobs, self._waiting = self._waiting, []
                self._commit(jobs)
        if job.error is not None:
            raise job.error
        assert job.outcomes is not None
        return job.outcomes

    def _commit(self, jobs: list[Job]) -> None:
        self.groups += 1
        self.largest = max(self.largest, len(jobs))
        try:
            self._commit_group(jobs)
        except Exception as exc:
            if len(jobs) == 1:
                jobs[0].error = exc
            else:
                for job in jobs:
                    try:
                        self._commit_group([job])
                    except Exception as alone:
                        job.error = alone
        finally:
            for job in jobs:
                job.done = True

    def _commit_group(self, jobs: list[Job]) -> None:
        # One batch alone (one device syncing): written while its signatures verify. Several:
        # theirs verified while the group before was written, so wait for them first and
        # hold the write transaction (on SQLite, the database's one writer lock, which the
        # other requests' nonces need too) only for the write.
        taken = time.perf_counter()
        for job in jobs:
            job.parts["writer-wait"] = taken - job.queued
        excluded: list[set[int]] = [set() if len(jobs) == 1 else job.forged() for job in jobs]
        verified = time.perf_counter()
        while True:
            try:
                with self._db.engine.begin() as conn:
                    begun = time.perf_counter()
                    # Each request's rate count and nonce first, in this transaction: a
                    # refused one (a replay, over its limit) writes nothing of its batch.
                    refused: dict[int, BaseException] = {}
                    for k, job in sorted(enumerate(jobs), key=lambda kj: kj[1].caller):
                        refusal = None if job.admit is None else job.admit(conn)
                        if refusal is not None:
                            refused[k] = refusal
                    admitted = time.perf_counter()
                    order = [
                        (k, pos)
                        for k, job in enumerate(jobs)
                        if k not in refused
                        for pos in range(len(job.pairs))
                        if pos not in excluded[k]
                    ]
                    pairs = [jobs[k].pairs[pos] for k, pos in order]
                    written = self._ingest.write(conn, pairs, now()) if pairs else []
                    inserted = time.perf_counter()
                    forged = False
                    for k, job in enumerate(jobs):  # the signatures, verified meanwhile
                        new = job.forged() - excluded[k]
                        if new:
                            excluded[k] |= new
                            forged = True
                    if forged:
                        raise _Retry
                    checked = time.perf_counter()
            except _Retry:
                self.redone += 1
                continue
            break
        committed = time.perf_counter()
        group = {
            # the signatures still verifying once the group was taken (before its write for
            # several batches, during and after its insert for one alone)
            "verify-wait": verified - taken + checked - inserted,
            "begin": begun - verified,  # SQLite: the writer lock, if anyone else holds it
            "admit": admitted - begun,  # the requests' rate counts and nonces
            "insert": inserted - admitted,
            "commit": committed - checked,
            "n-batches": float(len(jobs)),  # a count: the batches of the group
        }
        for job in jobs:
            job.parts.update(group)
        by_job: list[dict[int, Outcome]] = [{} for _ in jobs]
        for (k, pos), outcome in zip(order, written, strict=True):
            by_job[k][pos] = outcome
        for k, job in enumerate(jobs):
            if k in refused:
                job.error = refused[k]
                continue
            for pos in excluded[k]:
                envelope = job.pairs[pos][0]
                by_job[k][pos] = Outcome(
                    envelope.record_id, envelope.sha256, "rejected", "signature"
                )
            job.outcomes = [by_job[k][pos] for pos in range(len(job.pairs))]
