"""Everything the server does to its database, independent of HTTP.

Ingestion gives an exactly-once effect over at-least-once delivery: each envelope is checked
(shape, device, its own signature by the key of the device it names, key) on every route, and
then inserted with ``ON CONFLICT DO NOTHING`` under the database's unique keys, so an identical
retry is a no-op however many threads race, a different payload under a known record id, or a
known record id sent by another device, is kept as a conflict and never overwrites (and is
never answered as delivered), a sequence number a device already used is quarantined as a
replay or a rollback, an envelope from a revoked device is quarantined, and a record destroyed
by retention is not resurrected.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import secrets
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from fieldscreen import crypto
from fieldscreen.errors import KnownError
from fieldscreen.reports.aggregates import MATCH_KEYS, check_match, parse_aggregate
from fieldscreen.sync.envelope import COUNTED_KINDS, Envelope, key_id_hex
from fieldscreen.sync.errors import EnvelopeError, ServerError, SyncError
from fieldscreen.sync.server import audit_chain, db
from fieldscreen.sync.server.db import tables as t
from fieldscreen.sync.signed import (
    Provisioning,
    Receipt,
    SignedDocument,
    sign_document,
    verify_document,
)

__all__ = ["ENROL_PREFIX", "Outcome", "Principal", "Storage"]

Role = Literal["admin", "coordinator", "device"]
ENROL_PREFIX = b"fieldscreen enrol v1\n"
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a role, the sites it may see, and for a device its id and status."""

    role: Role
    sites: frozenset[str]
    label: str
    device_id: str | None = None
    device_status: str = "active"
    #: The enrolled device key (device principals): every request must be signed with it.
    public_key: bytes | None = field(default=None, repr=False)
    #: True once the API checked this request's signature by that key.
    signed: bool = False

    def sees(self, site: str) -> bool:
        return self.role == "admin" or site in self.sites


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one envelope: ``stored``, ``duplicate``, ``destroyed`` (held before,
    removed by retention), ``conflict``, ``quarantined`` or ``rejected``."""

    record_id: str
    sha256: str
    outcome: str
    reason: str | None = None

    @property
    def delivered(self) -> bool:
        return self.outcome in {"stored", "duplicate", "destroyed"}


@dataclass(frozen=True, slots=True)
class OrgKeys:
    name: str
    sealing_public: bytes
    signing_public: bytes
    receipt_public: bytes


@dataclass(frozen=True, slots=True)
class DeviceRow:
    id: str
    site: str
    label: str
    public_key: bytes
    status: str
    enrolled: str
    last_contact: str | None
    last_seq: int
    rollback_suspected: bool

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "site": self.site,
            "label": self.label,
            "status": self.status,
            "enrolled": self.enrolled,
            "last_contact": self.last_contact,
            "last_seq": self.last_seq,
            "rollback_suspected": self.rollback_suspected,
        }


class Storage:
    """The server's data, on an engine whose schema :func:`db.migrate` brought up to date."""

    #: Conflicting and quarantined copies the last :meth:`apply_retention` destroyed.
    last_held_destroyed = 0

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._dialect = engine.dialect.name
        self._keys: OrgKeys | None = None
        self._light: Engine | None = None
        self._status_query: Any = None
        self._receipt_private: bytes | None = None
        self._group = _GroupCommit(self)
        #: What opening found and fixed (a database file others could read), to show at start.
        self.notices: list[KnownError] = []

    @classmethod
    def open(
        cls, url: str, *, passphrase: bytes | None = None, kdf: crypto.KdfParams | None = None
    ) -> Storage:
        """Open (and migrate) the database; with ``passphrase``, unlock the receipt key too
        (:meth:`unlock`). Without it everything works but signing receipts."""
        notices: list[KnownError] = []
        engine = db.connect(url, notices=notices)
        db.migrate(engine)
        storage = cls(engine)
        storage.notices = notices
        for notice in notices:
            storage.audit("server", "file-mode-tightened", dict(notice.context))
        if passphrase is not None:
            try:
                storage.unlock(passphrase, kdf=kdf)
            except BaseException:
                storage.close()
                raise
        return storage

    def close(self) -> None:
        self.engine.dispose()
        if self._light is not None and self._light is not self.engine:
            self._light.dispose()

    @property
    def light_engine(self) -> Engine:
        """The same database for bookkeeping whose last commits may be lost to a power cut
        (rate limits, request nonces): on SQLite a second engine with ``synchronous=NORMAL``;
        on PostgreSQL the same engine (those transactions turn ``synchronous_commit`` off)."""
        if self._light is None:
            if self._dialect == "postgresql":
                self._light = self.engine
            else:
                url = self.engine.url.render_as_string(hide_password=False)
                self._light = db.connect(url, durable=False)
        return self._light

    # ------------------------------------------------------------------ keys
    # The receipt key is the only private key the server holds. It is kept encrypted under the
    # server's passphrase (Argon2id, then AES-256-GCM: crypto.protect_private_key), and lives
    # in clear only in this process's memory once :meth:`unlock` has run. A receipt makes a
    # laptop drop its sealed copies, so whoever could read it in the clear could make every
    # laptop delete screenings the server never received.
    @property
    def unlocked(self) -> bool:
        return self._receipt_private is not None

    def unlock(self, passphrase: bytes, *, kdf: crypto.KdfParams | None = None) -> None:
        """Make the receipt key usable with the server's passphrase.

        The first unlock of a database creates the key, protected by ``passphrase`` (``kdf``:
        its Argon2id cost, the default unless a test says otherwise); a key stored in the
        clear by an older version is encrypted under it and its clear bytes scrubbed from the
        file (:meth:`_scrub`). A wrong passphrase is ``server-passphrase-wrong``.
        """
        row = self._receipt_row()
        if row is None:
            private, public = crypto.generate_signing_keypair()
            with self.engine.begin() as conn:
                made = conn.execute(
                    self._insert(t.org_keys)
                    .values(
                        kind="receipt",
                        key_id=key_id_hex(public),
                        public_key=public,
                        private_key=_protect(private, passphrase, kdf),
                    )
                    .on_conflict_do_nothing()
                    .returning(t.org_keys.c.kind)  # (PostgreSQL's rowcount here is -1)
                )
                created = made.first() is not None
                if created:
                    self._audit(
                        conn,
                        "server",
                        "receipt-key-created",
                        {"key": key_id_hex(public)},
                        key=private,
                    )
            if created:
                self._receipt_private = private
                return
            row = self._receipt_row()  # another process made it first
            assert row is not None
        stored = bytes(row.private_key or b"")
        if len(stored) == _CLEAR_KEY_BYTES:  # written before the key was protected
            private = stored
            with self.engine.begin() as conn:
                done = conn.execute(
                    sa.update(t.org_keys)
                    .where(t.org_keys.c.kind == "receipt", t.org_keys.c.private_key == stored)
                    .values(private_key=_protect(private, passphrase, kdf))
                )
                if done.rowcount == 1:
                    self._audit(conn, "server", "receipt-key-protected", {})
            self._scrub()
            self.unlock(passphrase)  # read back what is stored now (another process's too)
            return
        private = _unprotect(stored, passphrase)
        if crypto.public_from_private(private) != bytes(row.public_key):
            raise ServerError("server-passphrase-wrong")
        self._receipt_private = private
        self.checkpoint()  # what was appended while no process held the key is vouched for now

    def change_passphrase(
        self, old: bytes | None, new: bytes, *, kdf: crypto.KdfParams | None = None
    ) -> str:
        """Protect the receipt key under ``new``; ``old`` is needed once it has a passphrase.

        Returns what was done: ``created`` (no key yet), ``protected`` (it was in the clear)
        or ``changed``.
        """
        row = self._receipt_row()
        stored = b"" if row is None else bytes(row.private_key or b"")
        if row is None or len(stored) == _CLEAR_KEY_BYTES:
            self.unlock(new, kdf=kdf)
            return "created" if row is None else "protected"
        if old is None:
            raise ServerError("server-passphrase-needed")
        private = _unprotect(stored, old)
        with self.engine.begin() as conn:
            done = conn.execute(
                sa.update(t.org_keys)
                .where(t.org_keys.c.kind == "receipt", t.org_keys.c.private_key == stored)
                .values(private_key=_protect(private, new, kdf))
            )
            if done.rowcount != 1:  # changed meanwhile by another administrator
                raise ServerError("server-passphrase-wrong")
            self._audit(conn, "server", "receipt-key-passphrase-changed", {})
        self._scrub()
        self._receipt_private = private
        return "changed"

    def replace_receipt_key(self, passphrase: bytes, *, kdf: crypto.KdfParams | None = None) -> str:
        """A new receipt key under ``passphrase`` (after a suspected compromise); the old one
        is destroyed. Laptops accept receipts of the new key only once re-provisioned."""
        old = self.receipt_key_id()
        with self.engine.begin() as conn:
            conn.execute(sa.delete(t.org_keys).where(t.org_keys.c.kind == "receipt"))
            self._audit(conn, "server", "receipt-key-replaced", {"old": old})
        self._scrub()
        self._receipt_private = None
        self._keys = None
        self.unlock(passphrase, kdf=kdf)
        return str(self.receipt_key_id())

    def receipt_key_state(self) -> Literal["missing", "clear", "protected"]:
        """Whether the receipt key exists yet, and whether it is still stored in the clear."""
        row = self._receipt_row()
        if row is None:
            return "missing"
        return "clear" if len(bytes(row.private_key or b"")) == _CLEAR_KEY_BYTES else "protected"

    def receipt_key_id(self) -> str | None:
        row = self._receipt_row()
        return None if row is None else str(row.key_id)

    def _receipt_row(self) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(t.org_keys).where(t.org_keys.c.kind == "receipt")).first()

    def _scrub(self) -> None:
        """Leave no copy of an old form of the receipt key in the database's files.

        SQLite runs with ``secure_delete`` (freed space is zeroed): checkpointing and
        truncating the write-ahead log removes the old page images. PostgreSQL keeps the old
        row version until a vacuum: ``VACUUM FULL`` rewrites the (tiny) table; its WAL
        segments and earlier backups are PostgreSQL's (see docs/deployment.md).
        """
        if self._dialect == "sqlite":
            raw = self.engine.raw_connection()  # outside any transaction, as a checkpoint must be
            try:
                raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
            finally:
                raw.close()
        elif self._dialect == "postgresql":
            autocommit = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            # not the table's owner: an ordinary vacuum will come
            with autocommit as conn, contextlib.suppress(sa.exc.SQLAlchemyError):
                conn.exec_driver_sql("VACUUM FULL org_keys")

    def set_org_keys(self, name: str, sealing_public: bytes, signing_public: bytes) -> None:
        """Record the organisation's *public* halves (``init-org``)."""
        with self.engine.begin() as conn:
            for kind, key in (("sealing", sealing_public), ("signing", signing_public)):
                conn.execute(sa.delete(t.org_keys).where(t.org_keys.c.kind == kind))
                conn.execute(
                    t.org_keys.insert().values(kind=kind, key_id=key_id_hex(key), public_key=key)
                )
            conn.execute(sa.delete(t.org_meta).where(t.org_meta.c.key == "name"))
            conn.execute(t.org_meta.insert().values(key="name", value=name))
            self._audit(conn, "admin", "init-org", {"sealing": key_id_hex(sealing_public)})
        self._keys = None

    def keys(self) -> OrgKeys:
        if self._keys is None:
            with self.engine.connect() as conn:
                rows = {r.kind: r for r in conn.execute(sa.select(t.org_keys))}
                name = conn.execute(
                    sa.select(t.org_meta.c.value).where(t.org_meta.c.key == "name")
                ).scalar()
            if "sealing" not in rows or "signing" not in rows:
                raise ServerError("server-not-initialised")
            if "receipt" not in rows:
                raise ServerError("server-receipt-key-missing")
            self._keys = OrgKeys(
                name=str(name or ""),
                sealing_public=rows["sealing"].public_key,
                signing_public=rows["signing"].public_key,
                receipt_public=rows["receipt"].public_key,
            )
        return self._keys

    # ------------------------------------------------------------------ credentials
    def create_credential(self, role: Role, sites: Iterable[str], label: str) -> str:
        """A bearer token for an admin or coordinator; shown once, stored only as a hash."""
        if role == "device":
            raise ValueError("device credentials come from enrolment")
        token = secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(
                t.credentials.insert().values(
                    token_hash=_hash(token),
                    role=role,
                    device_id=None,
                    sites=json.dumps(sorted(set(sites))),
                    label=label[:128],
                    created=_now(),
                    revoked=False,
                )
            )
            self._audit(conn, "admin", "credential-created", {"role": role, "label": label})
        return token

    def authenticate(self, token: str) -> Principal | None:
        if not token or len(token) > 256:
            return None
        query = (
            sa.select(t.credentials, t.devices.c.status, t.devices.c.public_key)
            .select_from(
                t.credentials.outerjoin(t.devices, t.devices.c.id == t.credentials.c.device_id)
            )
            .where(t.credentials.c.token_hash == _hash(token))
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None or row.revoked:
            return None
        return Principal(
            role=row.role,
            sites=frozenset(json.loads(row.sites)),
            label=row.label,
            device_id=row.device_id,
            device_status=row.status or "active",
            public_key=None if row.public_key is None else bytes(row.public_key),
        )

    # ------------------------------------------------------------------ enrolment
    def create_enrol_code(self, site: str, *, hours: int = 72) -> str:
        """A one-time code such as ``K7QM-2XHP-9WTR-BC4N`` (80 bits), valid for ``hours``."""
        raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(16))
        code = "-".join(raw[i : i + 4] for i in range(0, 16, 4))
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)
        with self.engine.begin() as conn:
            conn.execute(
                t.enrol_codes.insert().values(
                    code_hash=_hash(_normal_code(code)),
                    site=site,
                    expires=expires.isoformat(timespec="seconds"),
                )
            )
            self._audit(conn, "admin", "enrol-code", {"site": site})
        return code

    def enroll(
        self,
        code: str,
        public_key: bytes,
        proof: bytes,
        label: str,
        device_id: str | None = None,
    ) -> tuple[str, str, str]:
        """Exchange a one-time code and a proof of the device key for (device id, token, site)."""
        normal = _normal_code(code)
        if len(public_key) != 32 or not crypto.verify(
            public_key, ENROL_PREFIX + normal.encode() + public_key, proof
        ):
            raise SyncError("sync-enrol-code")
        device_id = device_id or "dev-" + secrets.token_hex(8)  # the vault proposes its own id
        token = secrets.token_urlsafe(32)
        now = dt.datetime.now(dt.UTC)
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.select(t.enrol_codes).where(t.enrol_codes.c.code_hash == _hash(normal))
            ).first()
            if row is None or row.used is not None or dt.datetime.fromisoformat(row.expires) < now:
                raise SyncError("sync-enrol-code")
            claimed = conn.execute(
                sa.update(t.enrol_codes)
                .where(t.enrol_codes.c.code_hash == _hash(normal), t.enrol_codes.c.used.is_(None))
                .values(used=_now(), device_id=device_id)
            )
            if claimed.rowcount != 1:
                raise SyncError("sync-enrol-code")
            exists = conn.execute(
                sa.select(t.devices.c.id).where(
                    (t.devices.c.public_key == public_key) | (t.devices.c.id == device_id)
                )
            ).first()
            if exists:
                raise SyncError("sync-enrol-code")
            _insert_device(
                conn,
                device_id=device_id,
                site=str(row.site),
                public_key=public_key,
                label=label,
                token=token,
            )
            self._audit(conn, device_id, "enrolled", {"site": row.site})
        return device_id, token, str(row.site)

    def register_device(self, device_id: str, site: str, public_key: bytes, label: str) -> str:
        """Enrol a device by hand (an admin who holds the laptop); returns its token."""
        token = secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            _insert_device(
                conn,
                device_id=device_id,
                site=site,
                public_key=public_key,
                label=label,
                token=token,
            )
            self._audit(conn, "admin", "registered", {"device": device_id, "site": site})
        return token

    # ------------------------------------------------------------------ devices
    def device(self, device_id: str) -> DeviceRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t.devices).where(t.devices.c.id == device_id)).first()
        return None if row is None else DeviceRow(**row._mapping)

    def list_devices(self, principal: Principal) -> list[DeviceRow]:
        query = sa.select(t.devices).order_by(t.devices.c.site, t.devices.c.id)
        if principal.role != "admin":
            query = query.where(t.devices.c.site.in_(sorted(principal.sites)))
        with self.engine.connect() as conn:
            return [DeviceRow(**r._mapping) for r in conn.execute(query)]

    def set_device_status(self, device_id: str, status: str, actor: str) -> DeviceRow:
        if status not in {"active", "revoked", "wipe"}:
            raise ValueError(status)
        with self.engine.begin() as conn:
            done = conn.execute(
                sa.update(t.devices).where(t.devices.c.id == device_id).values(status=status)
            )
            if done.rowcount != 1:
                raise ServerError("server-device-unknown", device=device_id)
            self._audit(conn, actor, f"device-{status}", {"device": device_id})
        row = self.device(device_id)
        assert row is not None
        return row

    def contact(self, device_id: str, reported_seq: int | None) -> DeviceRow:
        """Note a device's contact; a reported sequence below what we saw means a rollback."""
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(t.devices).where(t.devices.c.id == device_id)).first()
            if row is None:
                raise ServerError("server-device-unknown", device=device_id)
            values: dict[str, Any] = {"last_contact": _now()}
            if reported_seq is not None and reported_seq < row.last_seq:
                values["rollback_suspected"] = True
                self._audit(conn, device_id, "rollback-suspected", {"reported": reported_seq})
            conn.execute(sa.update(t.devices).where(t.devices.c.id == device_id).values(values))
        fresh = self.device(device_id)
        assert fresh is not None
        return fresh

    # ------------------------------------------------------------------ ingestion
    def ingest(self, items: Sequence[Any], principal: Principal) -> list[Outcome]:
        """Store a batch of envelopes (wire JSON objects); the outcomes once they are durable.

        Each envelope's shape, device, site and key are checked here; its signature starts
        verifying at once on the verifier threads. The write joins the batches other requests
        have waiting at that moment in one transaction (:class:`_GroupCommit`): one multi-row
        ``INSERT ... ON CONFLICT DO NOTHING``, then whatever the database did not insert is
        classified (duplicate, conflict, reused sequence number) from what it holds, so
        concurrent identical batches stay exact. Nothing commits before every signature in it
        verified: a batch alone is written while its signatures verify (a forged one sends it
        back to be written without), a group of several once theirs did (verified while the
        group before was written); a forged envelope is rejected alone and never poisons the
        batches beside it. This call returns only after that commit.
        """
        keys = self.keys()
        sealing_id = key_id_hex(keys.sealing_public)
        devices: dict[str, DeviceRow | None] = {}
        for item in items:  # look devices up once per batch
            device_id = item.get("device_id") if isinstance(item, dict) else None
            if isinstance(device_id, str) and len(device_id) <= 64 and device_id not in devices:
                devices[device_id] = self.device(device_id)
        shaped = [self._shape(item, principal, sealing_id, devices) for item in items]
        outcomes: list[Outcome | None] = [s if isinstance(s, Outcome) else None for s in shaped]
        candidates = [(i, s) for i, s in enumerate(shaped) if not isinstance(s, Outcome)]
        if candidates:
            job = _Job([pair for _i, pair in candidates])
            written = self._group.run(job)
            for (index, _pair), outcome in zip(candidates, written, strict=True):
                outcomes[index] = outcome
        assert all(o is not None for o in outcomes)
        return [o for o in outcomes if o is not None]

    def _keep_match_tokens(
        self, conn: Connection, stored: Sequence[tuple[Envelope, DeviceRow]], received: str
    ) -> None:
        """The match tokens of screenings just stored, in ``match_tokens``: at most
        :data:`MATCH_RECORDS_PER_DAY` screenings' worth per device and day (received), so an
        enrolled device that floods tokens cannot fill the coordinators' list or probe it
        without end; the tokens beyond are left in the envelope only, and the audit log says
        how many (``match-tokens-set-aside``)."""
        day = received[:10]
        per_device: dict[str, list[list[dict[str, Any]]]] = {}
        for envelope, device in stored:
            aggregate = envelope.aggregate
            if envelope.kind != "screening" or "match" not in aggregate:
                continue
            tokens, consent = check_match(aggregate)  # checked at _check: valid here
            per_device.setdefault(device.id, []).append(
                [
                    {
                        "token": token,
                        "record_id": envelope.record_id,
                        "device_id": device.id,
                        "site": device.site,
                        "week": str(aggregate.get("week", "")),
                        "tier": str(aggregate.get("tier", "")),
                        "consent": consent,
                        "created": envelope.created,
                        "received_day": day,
                    }
                    for token in tokens
                ]
            )
        m = t.match_tokens
        for device_id, records in per_device.items():
            held = conn.execute(
                sa.select(sa.func.count(sa.distinct(m.c.record_id))).where(
                    m.c.device_id == device_id, m.c.received_day == day
                )
            ).scalar()
            room = max(0, MATCH_RECORDS_PER_DAY - int(held or 0))
            rows = [row for record in records[:room] for row in record]
            if rows:
                conn.execute(self._insert(m).on_conflict_do_nothing(), rows)
            if len(records) > room:
                self._audit(
                    conn,
                    device_id,
                    "match-tokens-set-aside",
                    {"screenings": len(records) - room, "day": day},
                )

    def matches(self, principal: Principal, actor: str | None = None) -> dict[str, Any]:
        """Possible matches between screenings (they share a match token), for coordinators
        (a pair with a screening of their sites) and admins (every pair): ``matches``, each
        pair once, the later screening first, with the earlier one, the token kinds shared and
        whether the child of the later one agreed that its specialist may be told; and
        ``too_common``, how many tokens are left out because more than
        :data:`MATCH_MOST_SHARED` screenings share them (a common first name, age band and
        country says nothing about one child). Reading the list is written to the audit log.

        Raises:
            ServerError: ``server-match-role`` for any other caller (a device).
        """
        if principal.role not in {"admin", "coordinator"}:
            raise ServerError("server-match-role")
        m = t.match_tokens
        a, b = m.alias("a"), m.alias("b")
        counted = (
            sa.select(m.c.token, sa.func.count().label("n"))
            .group_by(m.c.token)
            .having(sa.func.count() > 1)
            .subquery("counted")
        )
        shared = sa.select(counted.c.token).where(counted.c.n <= MATCH_MOST_SHARED).subquery()
        query = sa.select(
            a.c.token,
            *(a.c[c].label(f"a_{c}") for c in _MATCH_COLUMNS),
            *(b.c[c].label(f"b_{c}") for c in _MATCH_COLUMNS),
        ).select_from(
            shared.join(a, a.c.token == shared.c.token).join(
                b, sa.and_(b.c.token == a.c.token, a.c.record_id < b.c.record_id)
            )
        )
        if principal.role != "admin":
            sites = sorted(principal.sites)
            query = query.where(sa.or_(a.c.site.in_(sites), b.c.site.in_(sites)))
        pairs: dict[tuple[str, str], dict[str, Any]] = {}
        with self.engine.begin() as conn:
            for row in conn.execute(query):
                one = {c: row._mapping[f"a_{c}"] for c in _MATCH_COLUMNS}
                two = {c: row._mapping[f"b_{c}"] for c in _MATCH_COLUMNS}
                later, earlier = sorted(
                    (one, two), key=lambda r: (r["created"], r["record_id"]), reverse=True
                )
                pair = pairs.setdefault(
                    (later["record_id"], earlier["record_id"]),
                    {**_match_side(later), "earlier": _match_side(earlier), "tokens": set()},
                )
                pair["tokens"].add(str(row.token).split("-", 1)[0])
            too_common = conn.execute(
                sa.select(sa.func.count())
                .select_from(counted)
                .where(counted.c.n > MATCH_MOST_SHARED)
            ).scalar()
            out = [
                {**pair, "tokens": sorted(pair["tokens"])}
                for _key, pair in sorted(
                    pairs.items(), key=lambda kv: (kv[1]["created"], kv[0]), reverse=True
                )
            ]
            self._audit(conn, actor or principal.label, "matches-read", {"pairs": len(out)})
        return {"matches": out, "too_common": int(too_common or 0)}

    def told_matches(self, principal: Principal) -> list[dict[str, Any]]:
        """For a device: each of its own screenings whose child agreed that the specialist be
        told (``match_consent``) and that shares a token (not too common) with an earlier
        screening, with those earlier screenings' site, week, tier and record id (to link the
        cases), nothing more. Audited (``matches-told``); any other caller is refused.

        Raises:
            ServerError: ``server-match-role`` for a caller that is not a device.
        """
        if principal.role != "device" or principal.device_id is None:
            raise ServerError("server-match-role")
        m = t.match_tokens
        a, b = m.alias("a"), m.alias("b")
        common = (
            sa.select(m.c.token)
            .group_by(m.c.token)
            .having(sa.func.count() > MATCH_MOST_SHARED)
            .subquery()
        )
        query = (
            sa.select(
                a.c.record_id,
                b.c.record_id.label("earlier"),
                b.c.site,
                b.c.week,
                b.c.tier,
                b.c.created,
            )
            .select_from(a.join(b, sa.and_(b.c.token == a.c.token, b.c.record_id != a.c.record_id)))
            .where(
                a.c.device_id == principal.device_id,
                a.c.consent.is_(True),
                b.c.created <= a.c.created,
                a.c.token.not_in(sa.select(common.c.token)),
            )
        )
        found: dict[str, dict[str, dict[str, str]]] = {}
        with self.engine.begin() as conn:
            for row in conn.execute(query):
                found.setdefault(str(row.record_id), {})[str(row.earlier)] = {
                    "record_id": str(row.earlier),
                    "site": str(row.site),
                    "week": str(row.week),
                    "tier": str(row.tier),
                }
            out: list[dict[str, Any]] = []
            for rid, earlier in sorted(found.items()):
                rows = sorted(earlier.values(), key=lambda r: (r["week"], r["record_id"]))
                out.append({"record_id": rid, "earlier": rows})
            self._audit(conn, principal.device_id, "matches-told", {"screenings": len(out)})
        return out

    def _shape(
        self,
        item: Any,
        principal: Principal,
        sealing_id: str,
        devices: dict[str, DeviceRow | None],
    ) -> tuple[Envelope, DeviceRow] | Outcome:
        """An envelope checked but for its signature (verified by :class:`_Job`), or why not."""
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

    def _write(
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
                ).where(self._among(t.tombstones.c.record_id, ids))
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
        if rows and self._dialect == "postgresql":
            inserted = _insert_envelopes_pg(conn, rows)
        elif rows:
            inserted = _insert_envelopes_sqlite(conn, rows)
        stored: list[tuple[Envelope, DeviceRow]] = []
        for rid, index in first.items():
            if rid in inserted:
                outcomes[index] = Outcome(rid, rows_sha[rid], "stored")
                stored.append(pairs[index])
        self._keep_match_tokens(conn, stored, received)
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
                        self._among(
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
                self._audit(
                    conn, env.device_id, "record-of-another-device", {"record": env.record_id}
                )
        for table in (t.conflicts, t.quarantine):
            held_rows = [
                _held_row(envelope, device, reason)
                for target, envelope, device, reason in holds
                if target is table
            ]
            if held_rows:
                conn.execute(self._insert(table).on_conflict_do_nothing(), held_rows)
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

    def _among(
        self, column: sa.ColumnElement[str], ids: Sequence[str] | None, name: str | None = None
    ) -> Any:
        """``column IN ids`` with the ids as one parameter (a JSON array on SQLite, an array
        on PostgreSQL): a batch's few hundred ids are not spelled out one placeholder each.
        With ``name`` (and ``ids`` None) the parameter is left to fill with :meth:`_ids`."""
        if self._dialect == "postgresql":
            array = postgresql.ARRAY(sa.String)
            value = None if ids is None else list(ids)
            return column == sa.any_(sa.bindparam(name, value, type_=array))
        text = None if ids is None else json.dumps(list(ids))
        values = sa.func.json_each(sa.bindparam(name, text, type_=sa.String))
        return column.in_(sa.select(sa.column("value")).select_from(values))

    def _ids(self, ids: Sequence[str]) -> Any:
        return list(ids) if self._dialect == "postgresql" else json.dumps(list(ids))

    def _insert(self, table: sa.Table) -> Any:
        if self._dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    # ------------------------------------------------------------------ what is held
    def status_of(
        self, device_id: str, pairs: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], str]:
        """For each (record id, sha256): ``held``, ``conflict``, ``quarantined`` or ``missing``."""
        ids = sorted({rid for rid, _ in pairs})
        if self._status_query is None:  # built once: building costs more than running
            self._status_query = sa.union_all(
                *(
                    sa.select(
                        sa.literal(name).label("kind"),
                        table.c.record_id,
                        table.c.sha256,
                        table.c.device_id,
                    ).where(self._among(table.c.record_id, None, "ids"))
                    for name, table in (
                        ("held", t.envelopes),
                        ("held", t.tombstones),
                        ("conflict", t.conflicts),
                        ("quarantined", t.quarantine),
                    )
                )
            )
        found: dict[str, set[tuple[str, str]]] = {"held": set(), "conflict": set()}
        found["quarantined"] = set()
        with self.engine.connect() as conn:  # one round trip, by record id (the index)
            rows = conn.execute(self._status_query, {"ids": self._ids(ids)})
            for kind, record_id, sha256, owner in rows:
                if owner == device_id:  # filtered here: in SQL it would tempt the planner
                    found[kind].add((record_id, sha256))
        held, kept = found["held"], found
        out: dict[tuple[str, str], str] = {}
        for pair in pairs:
            if pair in held:
                out[pair] = "held"
            elif pair in kept["conflict"]:
                out[pair] = "conflict"
            elif pair in kept["quarantined"]:
                out[pair] = "quarantined"
            else:
                out[pair] = "missing"
        return out

    def receipt(
        self,
        device_id: str,
        delivered: Iterable[tuple[str, str]] | None = None,
        conflicts: Iterable[tuple[str, str]] = (),
    ) -> SignedDocument:
        """A receipt signed by the server: the pairs given, or everything held for the device."""
        if delivered is None:
            with self.engine.connect() as conn:
                delivered = [
                    (r.record_id, r.sha256)
                    for r in conn.execute(
                        sa.select(t.envelopes.c.record_id, t.envelopes.c.sha256).where(
                            t.envelopes.c.device_id == device_id
                        )
                    )
                ] + [
                    (r.record_id, r.sha256)
                    for r in conn.execute(
                        sa.select(t.tombstones.c.record_id, t.tombstones.c.sha256).where(
                            t.tombstones.c.device_id == device_id
                        )
                    )
                ]
                conflicts = [
                    (r.record_id, r.sha256)
                    for r in conn.execute(
                        sa.select(t.conflicts.c.record_id, t.conflicts.c.sha256).where(
                            t.conflicts.c.device_id == device_id
                        )
                    )
                ]
        keys = self.keys()
        if self._receipt_private is None:
            raise ServerError("server-locked")
        receipt = Receipt(device_id, tuple(sorted(set(delivered))), tuple(sorted(set(conflicts))))
        return sign_document(
            "receipt",
            device_id,
            str(time.time_ns()),
            receipt.to_content(),
            self._receipt_private,
            keys.receipt_public,
        )

    # ------------------------------------------------------------------ signed documents
    def publish(self, data: bytes, actor: str) -> SignedDocument:
        """Store a form, directory or provisioning update signed by the organisation key."""
        document = verify_document(data, self.keys().signing_public)
        if document.kind not in {"form", "directory", "provisioning"}:
            raise SyncError("sync-bad-signature", what=document.kind)
        if document.kind == "provisioning" and _carries_match_secret(document.content):
            raise ServerError("server-provisioning-secret")  # the server must never hold it
        with self.engine.begin() as conn:
            conn.execute(
                self._insert(t.documents)
                .values(
                    kind=document.kind,
                    name=document.name,
                    version=document.version,
                    published=_now(),
                    document=document.to_bytes(),
                )
                .on_conflict_do_nothing()
            )
            self._audit(conn, actor, "published", {"kind": document.kind, "name": document.name})
        return document

    def documents(self) -> list[dict[str, str]]:
        """The newest version of each (kind, name)."""
        with self.engine.connect() as conn:
            rows = list(
                conn.execute(
                    sa.select(
                        t.documents.c.kind,
                        t.documents.c.name,
                        t.documents.c.version,
                        t.documents.c.published,
                    ).order_by(t.documents.c.published, t.documents.c.version)
                )
            )
        newest: dict[tuple[str, str], dict[str, str]] = {}
        for r in rows:
            newest[(r.kind, r.name)] = {"kind": r.kind, "name": r.name, "version": r.version}
        return list(newest.values())

    def published_forms(self) -> list[tuple[str, bytes]]:
        """Every version of every published form, as ``(name, content)``, its signature checked
        again against the organisation key (a document that fails is left out)."""
        public = self.keys().signing_public
        with self.engine.connect() as conn:
            rows = list(
                conn.execute(
                    sa.select(t.documents.c.name, t.documents.c.document)
                    .where(t.documents.c.kind == "form")
                    .order_by(t.documents.c.published, t.documents.c.version)
                )
            )
        out: list[tuple[str, bytes]] = []
        for row in rows:
            try:
                document = verify_document(bytes(row.document), public, kind="form")
            except SyncError:
                continue
            out.append((document.name, document.content))
        return out

    def document(self, kind: str, name: str, version: str) -> bytes | None:
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(t.documents.c.document).where(
                    t.documents.c.kind == kind,
                    t.documents.c.name == name,
                    t.documents.c.version == version,
                )
            ).scalar()
        return None if value is None else bytes(value)

    # ------------------------------------------------------------------ stats, retention
    def stats(self, principal: Principal) -> dict[str, Any]:
        def scoped(query: Any, table: sa.Table) -> Any:
            if principal.role == "admin":
                return query
            return query.where(table.c.site.in_(sorted(principal.sites)))

        e = t.envelopes
        with self.engine.connect() as conn:
            per_day = [
                {"site": r.site, "device": r.device_id, "day": r.created, "envelopes": r.n}
                for r in conn.execute(
                    scoped(
                        sa.select(e.c.site, e.c.device_id, e.c.created, sa.func.count().label("n"))
                        .where(
                            e.c.kind.in_(COUNTED_KINDS)
                        )  # audit segments and case events are no screenings
                        .group_by(e.c.site, e.c.device_id, e.c.created)
                        .order_by(e.c.site, e.c.device_id, e.c.created),
                        e,
                    )
                )
            ]
            held = {
                name: conn.execute(
                    scoped(sa.select(sa.func.count()).select_from(table), table)
                ).scalar()
                for name, table in (("conflicts", t.conflicts), ("quarantined", t.quarantine))
            }
        devices = [
            {
                "device": d.id,
                "site": d.site,
                "status": d.status,
                "last_contact": d.last_contact,
                "rollback_suspected": d.rollback_suspected,
            }
            for d in self.list_devices(principal)
        ]
        return {"per_day": per_day, **{k: int(v or 0) for k, v in held.items()}, "devices": devices}

    def apply_retention(self, days: int, actor: str) -> int:
        """Destroy envelopes created more than ``days`` ago, leaving tombstones behind, and the
        conflicting or quarantined copies received before then (``last_held_destroyed``)."""
        cutoff = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=days)).isoformat()
        e = t.envelopes
        with self.engine.begin() as conn:
            old = list(
                conn.execute(
                    sa.select(e.c.record_id, e.c.sha256, e.c.device_id).where(e.c.created < cutoff)
                )
            )
            for row in old:
                conn.execute(
                    self._insert(t.tombstones)
                    .values(
                        record_id=row.record_id,
                        sha256=row.sha256,
                        device_id=row.device_id,
                        destroyed=_now(),
                    )
                    .on_conflict_do_nothing()
                )
            conn.execute(sa.delete(e).where(e.c.created < cutoff))
            m = t.match_tokens
            conn.execute(sa.delete(m).where(m.c.created < cutoff))  # the tokens go with them
            held = 0
            for table in (t.conflicts, t.quarantine):  # held copies expire with the rest
                held += conn.execute(sa.delete(table).where(table.c.received < cutoff)).rowcount
            self._audit(
                conn,
                actor,
                "retention",
                {"destroyed": len(old), "held_destroyed": held, "before": cutoff},
            )
        self.last_held_destroyed = held
        return len(old)

    def iter_aggregates(self, principal: Principal) -> Iterator[tuple[dict[str, Any], str, str]]:
        """``(aggregate, created day, site)`` of every screening the principal may see (what
        statistics count; the sealed payloads are not read)."""
        e = t.envelopes
        query = sa.select(e.c.aggregate, e.c.created, e.c.site).where(e.c.kind == "screening")
        if principal.role != "admin":
            query = query.where(e.c.site.in_(sorted(principal.sites)))
        with self.engine.connect() as conn:
            for row in conn.execute(query.order_by(e.c.created)):
                yield json.loads(row.aggregate), str(row.created), str(row.site)

    def iter_envelopes(self, batch: int = 500) -> Iterator[Envelope]:
        """Every held envelope, streamed (export reads this off a copy of the database)."""
        e = t.envelopes
        last = ""
        while True:
            with self.engine.connect() as conn:
                rows = list(
                    conn.execute(
                        sa.select(e)
                        .where(e.c.record_id > last)
                        .order_by(e.c.record_id)
                        .limit(batch)
                    )
                )
            if not rows:
                return
            for r in rows:
                yield Envelope(
                    record_id=r.record_id,
                    kind=r.kind,
                    form_id=r.form_id,
                    form_version=r.form_version,
                    device_id=r.device_id,
                    seq=r.seq,
                    created=r.created,
                    key_id=r.key_id,
                    sealed=bytes(r.sealed),
                    sha256=r.sha256,
                    aggregate=json.loads(r.aggregate),
                    signature=bytes(r.signature),
                )
            last = rows[-1].record_id

    def iter_contested(self) -> Iterator[Envelope]:
        """The copies kept apart because another device had already sent their record id
        (conflicts of reason ``other-device``), by record id: the export opens them beside
        the held copy and keeps whichever is genuinely its device's own (see
        ``fieldscreen.reports.export.open_records``). Rare; a copy that no longer parses is
        skipped (it was verified when it came in)."""
        c = t.conflicts
        last = 0
        while True:
            with self.engine.connect() as conn:
                rows = list(
                    conn.execute(
                        sa.select(c.c.id, c.c.body)
                        .where(c.c.reason == "other-device", c.c.id > last)
                        .order_by(c.c.id)
                        .limit(100)
                    )
                )
            if not rows:
                return
            for row in rows:
                try:
                    yield Envelope.from_bytes(bytes(row.body))
                except EnvelopeError:
                    continue
            last = rows[-1].id

    def count(self, table: str) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(sa.select(sa.func.count()).select_from(getattr(t, table))).scalar()
                or 0
            )

    # ------------------------------------------------------------------ audit
    # A hash chain (fieldscreen/sync/server/audit_chain.py): each entry holds the hash of the
    # one before; an entry appended while the receipt key is unlocked is also a checkpoint the
    # key signs. Appends are serialised inside the caller's write transaction (SQLite: its
    # BEGIN IMMEDIATE; PostgreSQL: a transaction-scoped advisory lock), and the unique index on
    # ``prev`` refuses a fork whatever happens.
    def audit(self, actor: str, action: str, detail: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            self._audit(conn, actor, action, detail)

    def _audit(
        self,
        conn: Connection,
        actor: str,
        action: str,
        detail: dict[str, Any],
        *,
        key: bytes | None = None,
    ) -> None:
        """Append one entry in ``conn``'s transaction; signed by ``key`` (or the unlocked
        receipt key), which makes it a checkpoint."""
        if self._dialect == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(7202)"))
        a = t.audit
        head = conn.execute(sa.select(a.c.id, a.c.hash).order_by(a.c.id.desc()).limit(1)).first()
        entry_id = 1 if head is None else int(head.id) + 1
        prev = audit_chain.GENESIS if head is None else str(head.hash)
        at, actor, text = _now(), actor[:128], json.dumps(detail)
        digest = audit_chain.entry_hash(
            entry_id, at=at, actor=actor, action=action, detail=text, prev=prev
        )
        private = key or self._receipt_private
        signed: dict[str, Any] = {}
        if private is not None:
            signed = {
                "signature": crypto.sign(private, audit_chain.checkpoint_message(entry_id, digest)),
                "signer": crypto.public_from_private(private),
            }
        conn.execute(
            a.insert().values(
                id=entry_id,
                at=at,
                actor=actor,
                action=action,
                detail=text,
                prev=prev,
                hash=digest,
                **signed,
            )
        )

    def checkpoint(self) -> bool:
        """Sign the chain's head now (an ``audit-checkpoint`` entry) unless the newest entry is
        already a checkpoint of the receipt key; whether one was written. Needs the key."""
        if self._receipt_private is None:
            raise ServerError("server-locked")
        public = crypto.public_from_private(self._receipt_private)
        with self.engine.begin() as conn:
            a = t.audit
            head = conn.execute(
                sa.select(a.c.signer, a.c.signature).order_by(a.c.id.desc()).limit(1)
            ).first()
            if head is not None and head.signature is not None and bytes(head.signer) == public:
                return False
            self._audit(conn, "server", "audit-checkpoint", {})
        return True

    def verify_audit(
        self, *, receipt_public: bytes | None = None, expect_head: tuple[int, str] | None = None
    ) -> audit_chain.ChainReport:
        """Check the whole audit chain (:func:`audit_chain.verify`) against ``receipt_public``
        (default: the receipt key this database holds)."""
        trusted = receipt_public
        if trusted is None:
            row = self._receipt_row()
            trusted = None if row is None else bytes(row.public_key)
        a = t.audit
        query = sa.select(
            a.c.id, a.c.at, a.c.actor, a.c.action, a.c.detail, a.c.prev, a.c.hash
        ).add_columns(a.c.signature, a.c.signer)
        with (
            self.engine.connect() as conn,
            contextlib.closing(
                conn.execution_options(yield_per=2000).execute(query.order_by(a.c.id))
            ) as rows,
        ):
            return audit_chain.verify(
                (
                    audit_chain.Entry(
                        id=int(r.id),
                        at=r.at,
                        actor=r.actor,
                        action=r.action,
                        detail=r.detail,
                        prev=r.prev,
                        hash=r.hash,
                        signature=None if r.signature is None else bytes(r.signature),
                        signer=None if r.signer is None else bytes(r.signer),
                    )
                    for r in rows
                ),
                trusted,
                expect_head=expect_head,
            )


_CLEAR_KEY_BYTES = 32  # an Ed25519 private key as stored before it was protected


def _protect(private: bytes, passphrase: bytes, kdf: crypto.KdfParams | None) -> bytes:
    return orjson.dumps(crypto.protect_private_key(private, passphrase, params=kdf))


def _unprotect(stored: bytes, passphrase: bytes) -> bytes:
    try:
        return crypto.unprotect_private_key(orjson.loads(stored), passphrase)
    except crypto.DecryptError:
        raise ServerError("server-passphrase-wrong") from None
    except (crypto.CryptoError, orjson.JSONDecodeError, TypeError):
        raise ServerError("server-receipt-key-damaged") from None


#: How many screenings' match tokens one device may add to ``match_tokens`` per day (a
#: laptop screens far fewer; docs/privacy-matching.md).
MATCH_RECORDS_PER_DAY = 200
#: A token more screenings than this share is too common to point at one child (a frequent
#: first name, age band and country): left out of the match list, and counted.
MATCH_MOST_SHARED = 8
_MATCH_COLUMNS = ("record_id", "device_id", "site", "week", "tier", "consent", "created")


def _match_side(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "record_id": str(row["record_id"]),
        "device_id": str(row["device_id"]),
        "site": str(row["site"]),
        "week": str(row["week"]),
        "tier": str(row["tier"]),
        "consent": bool(row["consent"]),
        "created": str(row["created"]),
    }


def _carries_match_secret(content: bytes) -> bool:
    try:
        return Provisioning.from_content(content).match_secret is not None
    except EnvelopeError:  # not a provisioning this version reads: look for the field itself
        return b"match_secret" in content


def _clash(held: tuple[str, str], sha256: str, device_id: str) -> str | None:
    """Why an envelope conflicts with the (sha256, device) already held under its record id,
    or None when it is the very same record from the same device (a duplicate). A record id
    held from another device is a conflict even with the same payload: the copy another
    device sends is never the original's delivery."""
    held_sha, owner = held
    if owner != device_id:
        return "other-device"
    return None if held_sha == sha256 else "different-payload"


def _envelope_row(envelope: Envelope, device: DeviceRow, received: str) -> dict[str, Any]:
    return {
        "record_id": envelope.record_id,
        "sha256": envelope.sha256,
        "device_id": envelope.device_id,
        "site": device.site,
        "seq": envelope.seq,
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
        "record_id": envelope.record_id,
        "sha256": envelope.sha256,
        "device_id": envelope.device_id,
        "site": device.site,
        "seq": envelope.seq,
        "reason": reason,
        "received": _now(),
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


class _Job:
    """One request's checked envelopes on their way into a group commit.

    Their signatures start verifying at once, on the verifier threads, in a few slices (not
    one task per envelope: a task costs more than it saves); :meth:`forged` waits for them.
    ``outcomes`` is set (or ``error``) once the transaction that holds them committed."""

    __slots__ = ("_slices", "done", "error", "outcomes", "pairs")

    def __init__(self, pairs: list[tuple[Envelope, DeviceRow]]) -> None:
        self.pairs = pairs
        self.outcomes: list[Outcome] | None = None
        self.error: BaseException | None = None
        self.done = False
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


class _GroupCommit:
    """Group commit: the batches that wait while one group is written go in the next group,
    one transaction for all of them, and every request is answered only after that commit.

    Each request thread queues its :class:`_Job` and takes the writer; the first to take it
    (the leader) writes every job queued at that moment, the others find theirs done. Per
    process: several processes on one database each group their own requests, and the
    database's unique keys keep them exact between them as before. A batch that makes the
    group fail (the database refuses it) is the only one to fail: the group is written
    again job by job."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._writer = threading.Lock()
        self._queue_lock = threading.Lock()
        self._waiting: list[_Job] = []
        #: How many groups were formed, and the most batches one of them held.
        self.groups = 0
        self.largest = 0
        #: Groups written again without an envelope whose signature did not verify.
        self.redone = 0

    def run(self, job: _Job) -> list[Outcome]:
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

    def _commit(self, jobs: list[_Job]) -> None:
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

    def _commit_group(self, jobs: list[_Job]) -> None:
        storage = self._storage
        # One batch alone (one device syncing): written while its signatures verify. Several:
        # theirs verified while the group before was written, so wait for them first and
        # hold the write transaction (on SQLite, the database's one writer lock, which the
        # other requests' nonces need too) only for the write.
        excluded: list[set[int]] = [set() if len(jobs) == 1 else job.forged() for job in jobs]
        while True:
            order = [
                (k, pos)
                for k, job in enumerate(jobs)
                for pos in range(len(job.pairs))
                if pos not in excluded[k]
            ]
            try:
                with storage.engine.begin() as conn:
                    pairs = [jobs[k].pairs[pos] for k, pos in order]
                    written = storage._write(conn, pairs, _now()) if pairs else []
                    forged = False
                    for k, job in enumerate(jobs):  # the signatures, verified meanwhile
                        new = job.forged() - excluded[k]
                        if new:
                            excluded[k] |= new
                            forged = True
                    if forged:
                        raise _Retry
            except _Retry:
                self.redone += 1
                continue
            break
        by_job: list[dict[int, Outcome]] = [{} for _ in jobs]
        for (k, pos), outcome in zip(order, written, strict=True):
            by_job[k][pos] = outcome
        for k, job in enumerate(jobs):
            for pos in excluded[k]:
                envelope = job.pairs[pos][0]
                by_job[k][pos] = Outcome(
                    envelope.record_id, envelope.sha256, "rejected", "signature"
                )
            job.outcomes = [by_job[k][pos] for pos in range(len(job.pairs))]


def _normal_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def _insert_device(
    conn: sa.Connection, *, device_id: str, site: str, public_key: bytes, label: str, token: str
) -> None:
    """The device's row and its credential (bound to the device), in the caller's transaction."""
    conn.execute(
        t.devices.insert().values(
            id=device_id,
            site=site,
            label=label[:128],
            public_key=public_key,
            status="active",
            enrolled=_now(),
            last_seq=0,
            rollback_suspected=False,
        )
    )
    conn.execute(
        t.credentials.insert().values(
            token_hash=_hash(token),
            role="device",
            device_id=device_id,
            sites=json.dumps([site]),
            label=label[:128],
            created=_now(),
            revoked=False,
        )
    )
