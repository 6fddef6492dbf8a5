"""The server's audit log: a hash chain (``fieldscreen/sync/server/audit_chain.py``).

Each entry holds the hash of the one before; an entry appended while the receipt key is
unlocked is also a checkpoint the key signs. Appends are serialised inside the caller's write
transaction (SQLite: its BEGIN IMMEDIATE; PostgreSQL: a transaction-scoped advisory lock), and
the unique index on ``prev`` refuses a fork whatever happens.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from fieldscreen import crypto
from fieldscreen.sync.errors import ServerError
from fieldscreen.sync.server import audit_chain
from fieldscreen.sync.server.db import tables as t
from fieldscreen.sync.server.repositories.database import Database, now
from fieldscreen.sync.server.repositories.model import ReceiptKey

__all__ = ["AuditLog"]


class AuditLog:
    """Appends to the chain (in the caller's transaction, or one of its own), checkpoints and
    the whole chain's check."""

    def __init__(self, db: Database, receipt_key: ReceiptKey) -> None:
        self._db = db
        self._receipt_key = receipt_key

    def record(self, actor: str, action: str, detail: dict[str, Any]) -> None:
        with self._db.engine.begin() as conn:
            self.append(conn, actor, action, detail)

    def append(
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
        if self._db.dialect == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(7202)"))
        a = t.audit
        head = conn.execute(sa.select(a.c.id, a.c.hash).order_by(a.c.id.desc()).limit(1)).first()
        entry_id = 1 if head is None else int(head.id) + 1
        prev = audit_chain.GENESIS if head is None else str(head.hash)
        at, actor, text = now(), actor[:128], json.dumps(detail)
        digest = audit_chain.entry_hash(
            entry_id, at=at, actor=actor, action=action, detail=text, prev=prev
        )
        private = key or self._receipt_key.private
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
        if self._receipt_key.private is None:
            raise ServerError("server-locked")
        public = crypto.public_from_private(self._receipt_key.private)
        with self._db.engine.begin() as conn:
            a = t.audit
            head = conn.execute(
                sa.select(a.c.signer, a.c.signature).order_by(a.c.id.desc()).limit(1)
            ).first()
            if head is not None and head.signature is not None and bytes(head.signer) == public:
                return False
            self.append(conn, "server", "audit-checkpoint", {})
        return True

    def verify(
        self, trusted: bytes | None, *, expect_head: tuple[int, str] | None = None
    ) -> audit_chain.ChainReport:
        """Check the whole audit chain (:func:`audit_chain.verify`) against the receipt key
        ``trusted``."""
        a = t.audit
        query = sa.select(
            a.c.id, a.c.at, a.c.actor, a.c.action, a.c.detail, a.c.prev, a.c.hash
        ).add_columns(a.c.signature, a.c.signer)
        with (
            self._db.engine.connect() as conn,
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
