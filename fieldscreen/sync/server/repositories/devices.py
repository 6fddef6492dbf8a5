"""The enrolled devices: one device's row, the devices a caller may see, an admin's change of
status (revoke, wipe), and each contact (a reported sequence number below the one seen means a
rollback)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from fieldscreen.sync.errors import ServerError
from fieldscreen.sync.server.db import tables as t
from fieldscreen.sync.server.repositories.audit import AuditLog
from fieldscreen.sync.server.repositories.database import Database, now
from fieldscreen.sync.server.repositories.model import DeviceRow, Principal

__all__ = ["Devices"]


class Devices:
    def __init__(self, db: Database, audit: AuditLog) -> None:
        self._db = db
        self._audit = audit

    def get(self, device_id: str) -> DeviceRow | None:
        with self._db.reader.connect() as conn:
            row = conn.execute(sa.select(t.devices).where(t.devices.c.id == device_id)).first()
        return None if row is None else DeviceRow(**row._mapping)

    def visible_to(self, principal: Principal) -> list[DeviceRow]:
        query = sa.select(t.devices).order_by(t.devices.c.site, t.devices.c.id)
        if principal.role != "admin":
            query = query.where(t.devices.c.site.in_(sorted(principal.sites)))
        with self._db.engine.connect() as conn:
            return [DeviceRow(**r._mapping) for r in conn.execute(query)]

    def set_status(self, device_id: str, status: str, actor: str) -> DeviceRow:
        if status not in {"active", "revoked", "wipe"}:
            raise ValueError(status)
        with self._db.engine.begin() as conn:
            done = conn.execute(
                sa.update(t.devices).where(t.devices.c.id == device_id).values(status=status)
            )
            if done.rowcount != 1:
                raise ServerError("server-device-unknown", device=device_id)
            self._audit.append(conn, actor, f"device-{status}", {"device": device_id})
        row = self.get(device_id)
        assert row is not None
        return row

    def contact(self, device_id: str, reported_seq: int | None) -> DeviceRow:
        """Note a device's contact; a reported sequence below what we saw means a rollback."""
        with self._db.engine.begin() as conn:
            row = conn.execute(sa.select(t.devices).where(t.devices.c.id == device_id)).first()
            if row is None:
                raise ServerError("server-device-unknown", device=device_id)
            values: dict[str, Any] = {"last_contact": now()}
            if reported_seq is not None and reported_seq < row.last_seq:
                values["rollback_suspected"] = True
                self._audit.append(
                    conn, device_id, "rollback-suspected", {"reported": reported_seq}
                )
            conn.execute(sa.update(t.devices).where(t.devices.c.id == device_id).values(values))
        fresh = self.get(device_id)
        assert fresh is not None
        return fresh
