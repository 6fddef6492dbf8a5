"""Signed documents: forms, directories and provisionings published by an admin (each signed
by the organisation key), the newest version of each, and one document's bytes."""

from __future__ import annotations

import sqlalchemy as sa

from fieldscreen.sync.errors import EnvelopeError, ServerError, SyncError
from fieldscreen.sync.server.db import tables as t
from fieldscreen.sync.server.repositories.audit import AuditLog
from fieldscreen.sync.server.repositories.database import Database, now
from fieldscreen.sync.server.repositories.keys import KeyRing
from fieldscreen.sync.signed import Provisioning, SignedDocument, verify_document

__all__ = ["Documents"]


class Documents:
    def __init__(self, db: Database, keys: KeyRing, audit: AuditLog) -> None:
        self._db = db
        self._keys = keys
        self._audit = audit

    def publish(self, data: bytes, actor: str) -> SignedDocument:
        """Store a form, directory or provisioning update signed by the organisation key."""
        document = verify_document(data, self._keys.keys().signing_public)
        if document.kind not in {"form", "directory", "provisioning"}:
            raise SyncError("sync-bad-signature", what=document.kind)
        if document.kind == "provisioning" and _carries_match_secret(document.content):
            raise ServerError("server-provisioning-secret")  # the server must never hold it
        with self._db.engine.begin() as conn:
            conn.execute(
                self._db.insert(t.documents)
                .values(
                    kind=document.kind,
                    name=document.name,
                    version=document.version,
                    published=now(),
                    document=document.to_bytes(),
                )
                .on_conflict_do_nothing()
            )
            self._audit.append(
                conn, actor, "published", {"kind": document.kind, "name": document.name}
            )
        return document

    def newest(self) -> list[dict[str, str]]:
        """The newest version of each (kind, name)."""
        with self._db.engine.connect() as conn:
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

    def forms(self) -> list[tuple[str, bytes]]:
        """Every version of every published form, as ``(name, content)``, its signature checked
        again against the organisation key (a document that fails is left out)."""
        public = self._keys.keys().signing_public
        with self._db.engine.connect() as conn:
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

    def get(self, kind: str, name: str, version: str) -> bytes | None:
        with self._db.engine.connect() as conn:
            value = conn.execute(
                sa.select(t.documents.c.document).where(
                    t.documents.c.kind == kind,
                    t.documents.c.name == name,
                    t.documents.c.version == version,
                )
            ).scalar()
        return None if value is None else bytes(value)


def _carries_match_secret(content: bytes) -> bool:
    try:
        return Provisioning.from_content(content).match_secret is not None
    except EnvelopeError:  # not a provisioning this version reads: look for the field itself
        return b"match_secret" in content
