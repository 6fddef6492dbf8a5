"""Schema and versioned migrations of the server database (SQLite by default, or PostgreSQL).

Rules that matter are enforced by the database itself, not only by Python:

* ``envelopes.record_id`` is the primary key, and ``(device_id, seq)`` is unique: a retry is a
  no-op, a different payload under the same id can never overwrite, a sequence number cannot
  be used twice by one device;
* CHECK constraints accept only well-formed sealed envelopes: a 64-hex-digit SHA-256 (on
  PostgreSQL also checked against the sealed bytes), a sealed payload at least as long as an
  HPKE encapsulation plus tag, a 64-byte signature, a known kind (``screening``, ``draft``,
  ``audit``), a positive sequence number;
* a held copy (``conflicts``, ``quarantine``) is kept once per record id, hash and device
  (migration 4): whatever another device sends under a record id, a laptop's own copy of it
  is still held;
* ``request_nonces`` has one row per signed device request in the replay window: a replayed
  request collides with its primary key whichever server process receives it;
* ``org_keys`` refuses a private key for anything but the server's own receipt key, so the
  organisation's private halves cannot be stored here even by mistake;
* the ``audit`` table is a hash chain (migration 5): each entry holds the hash of the one
  before it, and no two entries may name the same predecessor, so concurrent appends can
  never fork it (see :mod:`fieldscreen.sync.server.audit_chain`).

Migrations are numbered, named and applied in one transaction each; ``schema_migrations``
records what ran. Never edit a released migration: add the next one.

An embedded SQLite database is a file of this machine: it is created 0600 in a folder this
process creates 0700, and a file (or its ``-wal``, ``-shm``, ``-journal``) that others may read
is tightened to 0600 at every start and reported; one the server cannot tighten (another
owner's) is refused (:func:`secure_sqlite_file`).
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from fieldscreen.errors import KnownError
from fieldscreen.sync.errors import ServerError

__all__ = [
    "MIGRATIONS",
    "connect",
    "current_version",
    "metadata",
    "migrate",
    "secure_sqlite_file",
    "sqlite_file",
    "tables",
]

metadata = sa.MetaData()
_SQLITE = "sqlite"
_PG = "postgresql"


def _hex64(column: str) -> list[sa.CheckConstraint]:
    return [
        sa.CheckConstraint(f"length({column}) = 64"),
        sa.CheckConstraint(f"{column} NOT GLOB '*[^0-9a-f]*'").ddl_if(dialect=_SQLITE),
        sa.CheckConstraint(f"{column} ~ '^[0-9a-f]{{64}}$'").ddl_if(dialect=_PG),
    ]


org_keys = sa.Table(
    "org_keys",
    metadata,
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("key_id", sa.String(64), nullable=False),
    sa.Column("public_key", sa.LargeBinary, nullable=False),
    sa.Column("private_key", sa.LargeBinary, nullable=True),
    sa.CheckConstraint("kind IN ('sealing', 'signing', 'receipt')"),
    sa.CheckConstraint("length(public_key) = 32"),
    sa.CheckConstraint("kind = 'receipt' OR private_key IS NULL", name="no_org_private_keys"),
)
org_meta = sa.Table(
    "org_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
credentials = sa.Table(
    "credentials",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("device_id", sa.String(64), nullable=True),
    sa.Column("sites", sa.Text, nullable=False),
    sa.Column("label", sa.String(128), nullable=False),
    sa.Column("created", sa.String(32), nullable=False),
    sa.Column("revoked", sa.Boolean, nullable=False, default=False),
    sa.CheckConstraint("role IN ('admin', 'coordinator', 'device')"),
    sa.CheckConstraint("(role = 'device') = (device_id IS NOT NULL)"),
    *_hex64("token_hash"),
)
devices = sa.Table(
    "devices",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("site", sa.String(64), nullable=False),
    sa.Column("label", sa.String(128), nullable=False),
    sa.Column("public_key", sa.LargeBinary, nullable=False, unique=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("enrolled", sa.String(32), nullable=False),
    sa.Column("last_contact", sa.String(32), nullable=True),
    sa.Column("last_seq", sa.BigInteger, nullable=False, default=0),
    sa.Column("rollback_suspected", sa.Boolean, nullable=False, default=False),
    sa.CheckConstraint("status IN ('active', 'revoked', 'wipe')"),
    sa.CheckConstraint("length(public_key) = 32"),
)
enrol_codes = sa.Table(
    "enrol_codes",
    metadata,
    sa.Column("code_hash", sa.String(64), primary_key=True),
    sa.Column("site", sa.String(64), nullable=False),
    sa.Column("expires", sa.String(32), nullable=False),
    sa.Column("used", sa.String(32), nullable=True),
    sa.Column("device_id", sa.String(64), nullable=True),
    *_hex64("code_hash"),
)


#: The kinds migration 1 accepted; migration 3 adds ``draft`` (sealed by travel mode), migration
#: 7 ``event`` (case events). A new kind goes into ``sync.envelope.KINDS`` and gets a migration of
#: its own that calls :func:`_accept_kinds` with the new tuple (a test holds the newest equal to
#: ``KINDS``).
_KINDS_1 = ("screening", "audit")
_KINDS_3 = ("screening", "draft", "audit")
_KINDS_7 = ("screening", "draft", "audit", "event")
#: The kinds the newest migration accepts.
ACCEPTED_KINDS = _KINDS_7


def _kind_check(kinds: tuple[str, ...]) -> sa.CheckConstraint:
    listed = ", ".join(f"'{k}'" for k in kinds)
    return sa.CheckConstraint(f"kind IN ({listed})", name="kind_known")


def _envelope_checks(kinds: tuple[str, ...]) -> list[sa.CheckConstraint]:
    return [
        *_hex64("sha256"),
        sa.CheckConstraint("length(sealed) >= 48", name="sealed_min"),
        sa.CheckConstraint("length(signature) = 64", name="signature_len"),
        sa.CheckConstraint("seq >= 1", name="seq_positive"),
        _kind_check(kinds),
        sa.CheckConstraint("length(record_id) IN (32, 36)", name="record_id_uuid"),
        sa.CheckConstraint("encode(sha256(sealed), 'hex') = sha256", name="sha256_matches").ddl_if(
            dialect=_PG
        ),
    ]


def _envelopes_table(
    meta: sa.MetaData, name: str, kinds: tuple[str, ...], *, index: bool = True
) -> sa.Table:
    table = sa.Table(
        name,
        meta,
        sa.Column("record_id", sa.String(36), primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("form_id", sa.String(64), nullable=False),
        sa.Column("form_version", sa.String(64), nullable=False),
        sa.Column("created", sa.String(10), nullable=False),
        sa.Column("received", sa.String(32), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("aggregate", sa.Text, nullable=False),
        sa.Column("sealed", sa.LargeBinary, nullable=False),
        sa.Column("signature", sa.LargeBinary, nullable=False),
        sa.UniqueConstraint("device_id", "seq", name="envelopes_device_seq"),
        *_envelope_checks(kinds),
    )
    if index:
        sa.Index("envelopes_site_created", table.c.site, table.c.created)
    return table


envelopes = _envelopes_table(metadata, "envelopes", _KINDS_1)


#: What a held copy is unique by: migration 1 took (record id, hash) whatever the device, so
#: a copy another device planted with a laptop's exact hash kept the laptop's own copy out;
#: migration 4 adds the device.
_HELD_ONCE_1 = ("record_id", "sha256")
_HELD_ONCE_4 = ("record_id", "sha256", "device_id")


def _held(
    name: str,
    unique: tuple[str, ...] = _HELD_ONCE_1,
    meta: sa.MetaData = metadata,
    table: str | None = None,
) -> sa.Table:
    """Conflicts and quarantine: envelopes kept for review, never merged (``table``: created
    under another name, to be renamed ``name``)."""
    return sa.Table(
        table or name,
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("record_id", sa.String(36), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("received", sa.String(32), nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.UniqueConstraint(*unique, name=f"{name}_once"),
        *_hex64("sha256"),
    )


conflicts = _held("conflicts")
quarantine = _held("quarantine")
tombstones = sa.Table(
    "tombstones",
    metadata,
    sa.Column("record_id", sa.String(36), primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("device_id", sa.String(64), nullable=False),
    sa.Column("destroyed", sa.String(32), nullable=False),
)
documents = sa.Table(
    "documents",
    metadata,
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("version", sa.String(128), primary_key=True),
    sa.Column("published", sa.String(32), nullable=False),
    sa.Column("document", sa.LargeBinary, nullable=False),
    sa.CheckConstraint("kind IN ('form', 'directory', 'provisioning')"),
)
audit = sa.Table(
    "audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.String(32), nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
)
#: The audit table as migration 5 leaves it (hash-chained); ``audit`` above is its first shape,
#: which migration 1 creates.
metadata_5 = sa.MetaData()
audit_chained = sa.Table(
    "audit",
    metadata_5,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("at", sa.String(32), nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("prev", sa.String(64), nullable=True),
    sa.Column("hash", sa.String(64), nullable=True),
    sa.Column("signature", sa.LargeBinary, nullable=True),
    sa.Column("signer", sa.LargeBinary, nullable=True),
)
# Added by migration 2, kept out of ``metadata`` (which migration 1 creates whole).
metadata_2 = sa.MetaData()
request_nonces = sa.Table(
    "request_nonces",
    metadata_2,
    sa.Column("device_id", sa.String(64), primary_key=True),
    sa.Column("nonce", sa.String(32), primary_key=True),
    sa.Column("at", sa.BigInteger, nullable=False),
)
sa.Index("request_nonces_at", request_nonces.c.at)
rate_limits = sa.Table(
    "rate_limits",
    metadata_2,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("tat", sa.Float(precision=53), nullable=False),
)
# Added by migration 6: the children's match tokens (docs/privacy-matching.md), one row per
# token of a stored screening, beside it; the primary key leads with the token, so finding the
# screenings that share one is an index lookup.
metadata_6 = sa.MetaData()
match_tokens = sa.Table(
    "match_tokens",
    metadata_6,
    sa.Column("token", sa.String(40), primary_key=True),
    sa.Column("record_id", sa.String(36), primary_key=True),
    sa.Column("device_id", sa.String(64), nullable=False),
    sa.Column("site", sa.String(64), nullable=False),
    sa.Column("week", sa.String(8), nullable=False),
    sa.Column("tier", sa.String(4), nullable=False),
    sa.Column("consent", sa.Boolean, nullable=False),
    sa.Column("created", sa.String(10), nullable=False),
    sa.Column("received_day", sa.String(10), nullable=False),
)
sa.Index("match_tokens_record", match_tokens.c.record_id)
sa.Index("match_tokens_device_day", match_tokens.c.device_id, match_tokens.c.received_day)
# Added by migration 8: partner organisations that receive handover packets through the server
# (docs/handover.md), each with a credential of its own kind that opens only its own packets,
# and the sealed packets the devices post for them, kept as the bytes that came (the server
# cannot read them), with the partner's signed acknowledgement once it comes.
metadata_8 = sa.MetaData()
partners = sa.Table(
    "partners",
    metadata_8,
    sa.Column("code", sa.String(64), primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("signing_key", sa.LargeBinary, nullable=False),
    sa.Column("label", sa.String(128), nullable=False),
    sa.Column("created", sa.String(32), nullable=False),
    sa.Column("revoked", sa.Boolean, nullable=False, default=False),
    sa.CheckConstraint("length(signing_key) = 32"),
    *_hex64("token_hash"),
)
handover_packets = sa.Table(
    "handover_packets",
    metadata_8,
    sa.Column("packet_id", sa.String(32), primary_key=True),
    sa.Column("partner", sa.String(64), nullable=False),
    sa.Column("device_id", sa.String(64), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("packet", sa.LargeBinary, nullable=False),
    sa.Column("received", sa.String(32), nullable=False),
    sa.Column("fetched", sa.String(32), nullable=True),
    sa.Column("ack", sa.LargeBinary, nullable=True),
    sa.Column("acked", sa.String(32), nullable=True),
    sa.CheckConstraint("length(packet_id) = 32"),
    sa.CheckConstraint("packet_id NOT GLOB '*[^0-9a-f]*'").ddl_if(dialect=_SQLITE),
    sa.CheckConstraint("packet_id ~ '^[0-9a-f]{32}$'").ddl_if(dialect=_PG),
    *_hex64("sha256"),
)
sa.Index("handover_packets_partner", handover_packets.c.partner, handover_packets.c.received)
sa.Index("handover_packets_device", handover_packets.c.device_id)
schema_migrations = sa.Table(
    "schema_migrations",
    sa.MetaData(),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("applied", sa.String(32), nullable=False),
)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: Callable[[Connection], None]


def _m0001_initial(conn: Connection) -> None:
    metadata.create_all(conn)


def _m0002_signed_requests(conn: Connection) -> None:
    metadata_2.create_all(conn)


def _accept_kinds(conn: Connection, kinds: tuple[str, ...], number: int) -> None:
    """``kind_known`` accepts exactly ``kinds``. PostgreSQL swaps the constraint; SQLite cannot
    alter one, so the table is rebuilt under its new definition and every row copied."""
    listed = ", ".join(f"'{k}'" for k in kinds)
    if conn.dialect.name == _PG:
        conn.execute(sa.text("ALTER TABLE envelopes DROP CONSTRAINT kind_known"))
        conn.execute(
            sa.text(f"ALTER TABLE envelopes ADD CONSTRAINT kind_known CHECK (kind IN ({listed}))")
        )
        return
    name = f"envelopes_{number}"
    rebuilt = _envelopes_table(sa.MetaData(), name, kinds, index=False)
    rebuilt.create(conn)
    names = ", ".join(c.name for c in rebuilt.columns)
    copy = f"INSERT INTO {name} ({names}) SELECT {names} FROM envelopes"  # noqa: S608 -- our columns
    conn.execute(sa.text(copy))
    conn.execute(sa.text("DROP TABLE envelopes"))
    conn.execute(sa.text(f"ALTER TABLE {name} RENAME TO envelopes"))
    conn.execute(sa.text("CREATE INDEX envelopes_site_created ON envelopes (site, created)"))


def _m0003_draft_envelopes(conn: Connection) -> None:
    """``kind_known`` also accepts ``draft``."""
    _accept_kinds(conn, _KINDS_3, 3)


def _m0004_held_once_per_device(conn: Connection) -> None:
    """A held copy (conflict, quarantine) is unique by record id, hash *and device*. Before,
    one row per (record id, hash) whatever the device: another enrolled device that sent a
    laptop's sealed bytes under its own id first (a conflict) kept the laptop's own copy of
    that record from ever being held. PostgreSQL swaps the constraint; SQLite rebuilds each
    table under its new definition, every row (and its id) copied."""
    for name in ("conflicts", "quarantine"):
        if conn.dialect.name == _PG:
            columns = ", ".join(_HELD_ONCE_4)
            conn.execute(sa.text(f"ALTER TABLE {name} DROP CONSTRAINT {name}_once"))
            conn.execute(
                sa.text(f"ALTER TABLE {name} ADD CONSTRAINT {name}_once UNIQUE ({columns})")
            )
            continue
        rebuilt = _held(name, _HELD_ONCE_4, sa.MetaData(), table=f"{name}_4")
        rebuilt.create(conn)
        names = ", ".join(c.name for c in rebuilt.columns)
        copy = f"INSERT INTO {name}_4 ({names}) SELECT {names} FROM {name}"  # noqa: S608 -- ours
        conn.execute(sa.text(copy))
        conn.execute(sa.text(f"DROP TABLE {name}"))
        conn.execute(sa.text(f"ALTER TABLE {name}_4 RENAME TO {name}"))


def _m0005_audit_chain(conn: Connection) -> None:
    """The audit table becomes a hash chain: ``prev`` (the hash of the entry before),
    ``hash`` (of this entry's canonical bytes, :func:`audit_chain.entry_hash`), and on a
    checkpoint ``signature`` and ``signer`` (the receipt key's signature of that hash). The
    entries already there are chained in their order, as found; a unique index on ``prev``
    keeps the chain linear whoever appends."""
    from fieldscreen.sync.server import audit_chain

    for column in ("prev VARCHAR(64)", "hash VARCHAR(64)"):
        conn.execute(sa.text(f"ALTER TABLE audit ADD COLUMN {column}"))
    blob = "BYTEA" if conn.dialect.name == _PG else "BLOB"
    for name in ("signature", "signer"):
        conn.execute(sa.text(f"ALTER TABLE audit ADD COLUMN {name} {blob}"))
    a = audit_chained
    previous = audit_chain.GENESIS
    query = sa.select(a.c.id, a.c.at, a.c.actor, a.c.action, a.c.detail).order_by(a.c.id)
    for row in list(conn.execute(query)):
        digest = audit_chain.entry_hash(
            row.id, at=row.at, actor=row.actor, action=row.action, detail=row.detail, prev=previous
        )
        conn.execute(sa.update(a).where(a.c.id == row.id).values(prev=previous, hash=digest))
        previous = digest
    conn.execute(sa.text("CREATE UNIQUE INDEX audit_prev_once ON audit (prev)"))


def _m0006_match_tokens(conn: Connection) -> None:
    """The ``match_tokens`` table, filled from the screenings already held whose aggregate
    carries tokens (none before this version's laptops)."""
    import json

    from fieldscreen.reports.aggregates import check_match

    metadata_6.create_all(conn)
    e = envelopes
    query = sa.select(
        e.c.record_id, e.c.device_id, e.c.site, e.c.created, e.c.received, e.c.aggregate
    ).where(e.c.kind == "screening", e.c.aggregate.like('%"match"%'))
    for row in list(conn.execute(query)):
        try:
            aggregate = json.loads(row.aggregate)
            tokens, consent = check_match(aggregate)
        except (ValueError, KnownError):
            continue
        rows = [
            {
                "token": token,
                "record_id": row.record_id,
                "device_id": row.device_id,
                "site": row.site,
                "week": str(aggregate.get("week", ""))[:8],
                "tier": str(aggregate.get("tier", ""))[:4],
                "consent": consent,
                "created": row.created,
                "received_day": str(row.received)[:10],
            }
            for token in tokens
        ]
        if rows:
            conn.execute(match_tokens.insert(), rows)


def _m0007_event_envelopes(conn: Connection) -> None:
    """``kind_known`` also accepts ``event``: one case event, append-only, under its own id."""
    _accept_kinds(conn, _KINDS_7, 7)


def _m0008_handover_packets(conn: Connection) -> None:
    """The ``partners`` and ``handover_packets`` tables (handover through the server)."""
    metadata_8.create_all(conn)


#: Every migration, in order. Append only.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "2026-11-27 initial: keys, devices, credentials, envelopes, held", _m0001_initial),
    Migration(
        2,
        "2026-11-28 signed device requests (nonces) and rate limits shared by processes",
        _m0002_signed_requests,
    ),
    Migration(
        3,
        "2026-12-02 sealed drafts (travel mode) are envelopes of their own kind",
        _m0003_draft_envelopes,
    ),
    Migration(
        4,
        "2026-12-04 a held copy is unique by record id, hash and device",
        _m0004_held_once_per_device,
    ),
    Migration(
        5,
        "2026-12-06 the audit log is a hash chain with signed checkpoints",
        _m0005_audit_chain,
    ),
    Migration(
        6,
        "2026-12-08 the children's match tokens, beside the screenings that carry them",
        _m0006_match_tokens,
    ),
    Migration(
        7,
        "2026-12-09 case events (follow-ups, referrals ...) are envelopes of their own kind",
        _m0007_event_envelopes,
    ),
    Migration(
        8,
        "2026-12-10 partner organisations and the sealed handover packets sent to them",
        _m0008_handover_packets,
    ),
)


class Tables:
    org_keys = org_keys
    org_meta = org_meta
    credentials = credentials
    devices = devices
    enrol_codes = enrol_codes
    envelopes = envelopes
    conflicts = conflicts
    quarantine = quarantine
    tombstones = tombstones
    documents = documents
    audit = audit_chained
    request_nonces = request_nonces
    rate_limits = rate_limits
    match_tokens = match_tokens
    partners = partners
    handover_packets = handover_packets


tables = Tables


def _engine_url(url: str) -> str:
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if "://" not in url:  # a plain path: an embedded SQLite file
        return f"sqlite:///{Path(url).expanduser().resolve()}"
    return url


#: The companions SQLite writes beside a database file (same permissions as the file).
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")
_PRIVATE = 0o600


def sqlite_file(url: str) -> Path | None:
    """The file of an embedded SQLite database ``url``; None for a server or in-memory one."""
    full = _engine_url(url)
    if not full.startswith("sqlite"):
        return None
    database = sa.engine.make_url(full).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def secure_sqlite_file(path: Path) -> list[KnownError]:
    """Make ``path`` (and its companions) readable by this user only; return what was tightened.

    A missing file is created empty and 0600 (SQLite gives its ``-wal`` and ``-shm`` the
    database file's permissions), a missing folder 0700. A file others could read or write is
    set to 0600 and reported (``server-file-mode-tightened``); one this user cannot change is
    refused (``server-file-mode-loose``), as is a database that is not a regular file.
    """
    if os.name == "nt":  # no POSIX modes: the folder's ACL decides (see docs/deployment.md)
        return []
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, _PRIVATE)
    except FileExistsError:
        pass
    except OSError as exc:
        raise ServerError("server-database", detail=type(exc).__name__) from None
    else:
        os.close(fd)
    notices: list[KnownError] = []
    for file in (path, *(Path(f"{path}{suffix}") for suffix in SQLITE_COMPANIONS)):
        try:
            info = file.lstat()
        except FileNotFoundError:
            continue
        if not stat.S_ISREG(info.st_mode):
            raise ServerError("server-file-mode-loose", path=str(file), mode="not a regular file")
        mode = stat.S_IMODE(info.st_mode)
        if mode & 0o077 == 0:
            continue
        where = {"path": str(file), "mode": f"{mode:04o}"}
        try:
            os.chmod(file, _PRIVATE)
        except OSError:
            raise ServerError("server-file-mode-loose", **where) from None
        notices.append(KnownError("server-file-mode-tightened", **where))
    return notices


def connect(
    url: str,
    *,
    pool_size: int = 10,
    durable: bool = True,
    reader: bool = False,
    notices: list[KnownError] | None = None,
) -> Engine:
    """An engine for ``url`` (a path or ``sqlite:///...`` or ``postgresql://...``).

    ``durable=False`` (SQLite) commits without waiting for the disk (``synchronous=NORMAL``
    in WAL mode: a crash of the process loses nothing, a power cut may lose the last
    commits); for bookkeeping whose loss is harmless, such as rate limits and nonces.
    ``reader=True`` (SQLite) is for reads only (``query_only``): its transactions begin
    deferred, so a read takes a snapshot of the last commit and never waits for the
    database's one writer lock (every other engine's ``BEGIN IMMEDIATE`` takes it, a read's
    too: a device's credential lookup then queued behind every write in flight).
    An embedded database's file is secured first (:func:`secure_sqlite_file`); what had to
    be tightened is appended to ``notices``.
    """
    full = _engine_url(url)
    file = sqlite_file(url)
    if file is not None:
        tightened = secure_sqlite_file(file)
        if notices is not None:
            notices.extend(tightened)
    try:
        if full.startswith("sqlite"):
            engine = sa.create_engine(full, connect_args={"check_same_thread": False})
            sa.event.listen(engine, "connect", _sqlite_connect)
            if not durable:
                sa.event.listen(engine, "connect", _sqlite_light)
            if reader:
                sa.event.listen(engine, "connect", _sqlite_reader)
                sa.event.listen(engine, "begin", _sqlite_begin_deferred)
            else:
                sa.event.listen(engine, "begin", _sqlite_begin)
        else:
            engine = sa.create_engine(
                full, pool_size=pool_size, max_overflow=pool_size * 2, pool_pre_ping=True
            )
        with engine.connect():
            pass
    except sa.exc.SQLAlchemyError as exc:
        raise ServerError("server-database", detail=type(exc).__name__) from None
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN IMMEDIATE ourselves
    cursor = dbapi_connection.cursor()
    for pragma in (
        # Before anything is written (a no-op on an existing file): 16 KiB pages hold three
        # ~5 KB envelopes each where 4 KiB ones spill each into overflow pages (about 40 %
        # less database and a quarter less time per insert, measured).
        "page_size=16384",
        "journal_mode=WAL",
        "synchronous=FULL",
        "foreign_keys=ON",
        "busy_timeout=30000",
        "secure_delete=ON",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_light(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


def _sqlite_reader(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA query_only=ON")


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_begin_deferred(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN")


def current_version(engine: Engine) -> int:
    schema_migrations.create(engine, checkfirst=True)
    with engine.connect() as conn:
        value = conn.execute(sa.select(sa.func.max(schema_migrations.c.version))).scalar()
    return int(value or 0)


def migrate(engine: Engine) -> list[int]:
    """Apply every pending migration, each in its own transaction; return the versions run."""
    schema_migrations.create(engine, checkfirst=True)
    applied: list[int] = []
    for migration in MIGRATIONS:
        with engine.begin() as conn:
            if engine.dialect.name == _PG:
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(7201)"))
            done = conn.execute(
                sa.select(schema_migrations.c.version).where(
                    schema_migrations.c.version == migration.version
                )
            ).first()
            if done:
                continue
            migration.apply(conn)
            conn.execute(
                schema_migrations.insert().values(
                    version=migration.version,
                    name=migration.name,
                    applied=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                )
            )
            applied.append(migration.version)
    return applied
