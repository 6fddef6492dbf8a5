"""What the server holds for a device, and the receipts it signs of it: for each (record id,
sha256) a device asks about, held, conflict, quarantined or missing; a receipt of the pairs
given, or of everything held for the device, signed by the receipt key."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from fieldscreen.sync.errors import ServerError
from fieldscreen.sync.server.db import tables as t
from fieldscreen.sync.server.repositories.database import Database
from fieldscreen.sync.server.repositories.keys import KeyRing
from fieldscreen.sync.server.repositories.model import ReceiptKey
from fieldscreen.sync.signed import Receipt, SignedDocument, sign_document

__all__ = ["Receipts"]


class Receipts:
    def __init__(self, db: Database, keys: KeyRing, receipt_key: ReceiptKey) -> None:
        self._db = db
        self._keys = keys
        self._receipt_key = receipt_key
        self._status_query: Any = None

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
                    ).where(self._db.among(table.c.record_id, None, "ids"))
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
        with self._db.reader.connect() as conn:  # one round trip, by record id (the index)
            rows = conn.execute(self._status_query, {"ids": self._db.ids(ids)})
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
            with self._db.reader.connect() as conn:
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
        keys = self._keys.keys()
        if self._receipt_key.private is None:
            raise ServerError("server-locked")
        receipt = Receipt(device_id, tuple(sorted(set(delivered))), tuple(sorted(set(conflicts))))
        return sign_document(
            "receipt",
            device_id,
            str(time.time_ns()),
            receipt.to_content(),
            self._receipt_key.private,
            keys.receipt_public,
        )
