"""The server's keys: the organisation's public halves (``init-org``) and the receipt key.

The receipt key is the only private key the server holds. It is kept encrypted under the
server's passphrase (Argon2id, then AES-256-GCM: crypto.protect_private_key), and lives in clear
only in this process's memory once :meth:`KeyRing.unlock` has run (:class:`ReceiptKey`). A
receipt makes a laptop drop its sealed copies, so whoever could read it in the clear could make
every laptop delete screenings the server never received.
"""

from __future__ import annotations

import contextlib
from typing import Any, Literal

import orjson
import sqlalchemy as sa

from fieldscreen import crypto
from fieldscreen.sync.envelope import key_id_hex
from fieldscreen.sync.errors import ServerError
from fieldscreen.sync.server.db import tables as t
from fieldscreen.sync.server.repositories.audit import AuditLog
from fieldscreen.sync.server.repositories.database import Database
from fieldscreen.sync.server.repositories.model import OrgKeys, ReceiptKey

__all__ = ["KeyRing"]


class KeyRing:
    """The organisation's public keys (cached) and the receipt key's custody: unlock, change
    of passphrase, replacement."""

    def __init__(self, db: Database, audit: AuditLog, receipt_key: ReceiptKey) -> None:
        self._db = db
        self._audit = audit
        self._receipt_key = receipt_key
        self._keys: OrgKeys | None = None

    @property
    def receipt_private(self) -> bytes | None:
        """The receipt key's private half while unlocked (what signs receipts)."""
        return self._receipt_key.private

    @property
    def unlocked(self) -> bool:
        return self._receipt_key.private is not None

    def unlock(self, passphrase: bytes, *, kdf: crypto.KdfParams | None = None) -> None:
        """Make the receipt key usable with the server's passphrase.

        The first unlock of a database creates the key, protected by ``passphrase`` (``kdf``:
        its Argon2id cost, the default unless a test says otherwise); a key stored in the
        clear by an older version is encrypted under it and its clear bytes scrubbed from the
        file (:meth:`_scrub`). A wrong passphrase is ``server-passphrase-wrong``.
        """
        row = self.receipt_row()
        if row is None:
            private, public = crypto.generate_signing_keypair()
            with self._db.engine.begin() as conn:
                made = conn.execute(
                    self._db.insert(t.org_keys)
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
                    self._audit.append(
                        conn,
                        "server",
                        "receipt-key-created",
                        {"key": key_id_hex(public)},
                        key=private,
                    )
            if created:
                self._receipt_key.private = private
                return
            row = self.receipt_row()  # another process made it first
            assert row is not None
        stored = bytes(row.private_key or b"")
        if len(stored) == _CLEAR_KEY_BYTES:  # written before the key was protected
            private = stored
            with self._db.engine.begin() as conn:
                done = conn.execute(
                    sa.update(t.org_keys)
                    .where(t.org_keys.c.kind == "receipt", t.org_keys.c.private_key == stored)
                    .values(private_key=_protect(private, passphrase, kdf))
                )
                if done.rowcount == 1:
                    self._audit.append(conn, "server", "receipt-key-protected", {})
            self._scrub()
            self.unlock(passphrase)  # read back what is stored now (another process's too)
            return
        private = _unprotect(stored, passphrase)
        if crypto.public_from_private(private) != bytes(row.public_key):
            raise ServerError("server-passphrase-wrong")
        self._receipt_key.private = private
        # What was appended while no process held the key is vouched for now.
        self._audit.checkpoint()

    def change_passphrase(
        self, old: bytes | None, new: bytes, *, kdf: crypto.KdfParams | None = None
    ) -> str:
        """Protect the receipt key under ``new``; ``old`` is needed once it has a passphrase.

        Returns what was done: ``created`` (no key yet), ``protected`` (it was in the clear)
        or ``changed``.
        """
        row = self.receipt_row()
        stored = b"" if row is None else bytes(row.private_key or b"")
        if row is None or len(stored) == _CLEAR_KEY_BYTES:
            self.unlock(new, kdf=kdf)
            return "created" if row is None else "protected"
        if old is None:
            raise ServerError("server-passphrase-needed")
        private = _unprotect(stored, old)
        with self._db.engine.begin() as conn:
            done = conn.execute(
                sa.update(t.org_keys)
                .where(t.org_keys.c.kind == "receipt", t.org_keys.c.private_key == stored)
                .values(private_key=_protect(private, new, kdf))
            )
            if done.rowcount != 1:  # changed meanwhile by another administrator
                raise ServerError("server-passphrase-wrong")
            self._audit.append(conn, "server", "receipt-key-passphrase-changed", {})
        self._scrub()
        self._receipt_key.private = private
        return "changed"

    def replace_receipt_key(self, passphrase: bytes, *, kdf: crypto.KdfParams | None = None) -> str:
        """A new receipt key under ``passphrase`` (after a suspected compromise); the old one
        is destroyed. Laptops accept receipts of the new key only once re-provisioned."""
        old = self.receipt_key_id()
        with self._db.engine.begin() as conn:
            conn.execute(sa.delete(t.org_keys).where(t.org_keys.c.kind == "receipt"))
            self._audit.append(conn, "server", "receipt-key-replaced", {"old": old})
        self._scrub()
        self._receipt_key.private = None
        self._keys = None
        self.unlock(passphrase, kdf=kdf)
        return str(self.receipt_key_id())

    def receipt_key_state(self) -> Literal["missing", "clear", "protected"]:
        """Whether the receipt key exists yet, and whether it is still stored in the clear."""
        row = self.receipt_row()
        if row is None:
            return "missing"
        return "clear" if len(bytes(row.private_key or b"")) == _CLEAR_KEY_BYTES else "protected"

    def receipt_key_id(self) -> str | None:
        row = self.receipt_row()
        return None if row is None else str(row.key_id)

    def stored_receipt_public(self) -> bytes | None:
        """The receipt key's public half as this database holds it (None before the first
        unlock): what the audit chain's checkpoints are checked against."""
        row = self.receipt_row()
        return None if row is None else bytes(row.public_key)

    def receipt_row(self) -> Any:
        """The receipt key's stored row (its private half as stored: protected, or in the clear
        from an older version), or None before the first unlock."""
        with self._db.engine.connect() as conn:
            return conn.execute(sa.select(t.org_keys).where(t.org_keys.c.kind == "receipt")).first()

    def _scrub(self) -> None:
        """Leave no copy of an old form of the receipt key in the database's files.

        SQLite runs with ``secure_delete`` (freed space is zeroed): checkpointing and
        truncating the write-ahead log removes the old page images. PostgreSQL keeps the old
        row version until a vacuum: ``VACUUM FULL`` rewrites the (tiny) table; its WAL
        segments and earlier backups are PostgreSQL's (see docs/deployment.md).
        """
        if self._db.dialect == "sqlite":
            raw = (
                self._db.engine.raw_connection()
            )  # outside any transaction, as a checkpoint must be
            try:
                raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
            finally:
                raw.close()
        elif self._db.dialect == "postgresql":
            autocommit = self._db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            # not the table's owner: an ordinary vacuum will come
            with autocommit as conn, contextlib.suppress(sa.exc.SQLAlchemyError):
                conn.exec_driver_sql("VACUUM FULL org_keys")

    def set_org_keys(self, name: str, sealing_public: bytes, signing_public: bytes) -> None:
        """Record the organisation's *public* halves (``init-org``)."""
        with self._db.engine.begin() as conn:
            for kind, key in (("sealing", sealing_public), ("signing", signing_public)):
                conn.execute(sa.delete(t.org_keys).where(t.org_keys.c.kind == kind))
                conn.execute(
                    t.org_keys.insert().values(kind=kind, key_id=key_id_hex(key), public_key=key)
                )
            conn.execute(sa.delete(t.org_meta).where(t.org_meta.c.key == "name"))
            conn.execute(t.org_meta.insert().values(key="name", value=name))
            self._audit.append(conn, "admin", "init-org", {"sealing": key_id_hex(sealing_public)})
        self._keys = None

    def keys(self) -> OrgKeys:
        if self._keys is None:
            with self._db.engine.connect() as conn:
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
