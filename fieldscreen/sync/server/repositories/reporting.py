"""What is read or done over the whole store: the staff's statistics, retention (envelopes
past their days destroyed, tombstones left behind), the aggregates the coordinator report
counts, and the streams the export reads (every held envelope, the contested copies)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from fieldscreen.sync.envelope import COUNTED_KINDS, Envelope
from fieldscreen.sync.errors import EnvelopeError
from fieldscreen.sync.server.db import tables as t
from fieldscreen.sync.server.repositories.audit import AuditLog
from fieldscreen.sync.server.repositories.database import Database, now
from fieldscreen.sync.server.repositories.devices import Devices
from fieldscreen.sync.server.repositories.model import Principal

__all__ = ["Reporting"]


class Reporting:
    #: Conflicting and quarantined copies the last :meth:`apply_retention` destroyed.
    last_held_destroyed = 0

    def __init__(self, db: Database, devices: Devices, audit: AuditLog) -> None:
        self._db = db
        self._devices = devices
        self._audit = audit

    def stats(self, principal: Principal) -> dict[str, Any]:
        def scoped(query: Any, table: sa.Table) -> Any:
            if principal.role == "admin":
                return query
            return query.where(table.c.site.in_(sorted(principal.sites)))

        e = t.envelopes
        with self._db.engine.connect() as conn:
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
            for d in self._devices.visible_to(principal)
        ]
        return {"per_day": per_day, **{k: int(v or 0) for k, v in held.items()}, "devices": devices}

    def apply_retention(self, days: int, actor: str) -> int:
        """Destroy envelopes created more than ``days`` ago, leaving tombstones behind, the
        conflicting or quarantined copies received before then (``last_held_destroyed``), and
        the handover packets received before then, with their acknowledgements."""
        cutoff = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=days)).isoformat()
        e = t.envelopes
        with self._db.engine.begin() as conn:
            old = list(
                conn.execute(
                    sa.select(e.c.record_id, e.c.sha256, e.c.device_id).where(e.c.created < cutoff)
                )
            )
            for row in old:
                conn.execute(
                    self._db.insert(t.tombstones)
                    .values(
                        record_id=row.record_id,
                        sha256=row.sha256,
                        device_id=row.device_id,
                        destroyed=now(),
                    )
                    .on_conflict_do_nothing()
                )
            conn.execute(sa.delete(e).where(e.c.created < cutoff))
            m = t.match_tokens
            conn.execute(sa.delete(m).where(m.c.created < cutoff))  # the tokens go with them
            held = 0
            for table in (t.conflicts, t.quarantine):  # held copies expire with the rest
                held += conn.execute(sa.delete(table).where(table.c.received < cutoff)).rowcount
            h = t.handover_packets  # and the sealed handover packets (with their acks)
            handovers = conn.execute(sa.delete(h).where(h.c.received < cutoff)).rowcount
            self._audit.append(
                conn,
                actor,
                "retention",
                {
                    "destroyed": len(old),
                    "held_destroyed": held,
                    "handovers_destroyed": handovers,
                    "before": cutoff,
                },
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
        with self._db.engine.connect() as conn:
            for row in conn.execute(query.order_by(e.c.created)):
                yield json.loads(row.aggregate), str(row.created), str(row.site)

    def iter_envelopes(self, batch: int = 500) -> Iterator[Envelope]:
        """Every held envelope, streamed (export reads this off a copy of the database)."""
        e = t.envelopes
        last = ""
        while True:
            with self._db.engine.connect() as conn:
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
            with self._db.engine.connect() as conn:
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
        with self._db.engine.connect() as conn:
            return int(
                conn.execute(sa.select(sa.func.count()).select_from(getattr(t, table))).scalar()
                or 0
            )
