"""Who may call: staff credentials (bearer tokens, stored only as hashes), one-time enrolment
codes, and a device's enrolment (by code and a proof of its key, or by an admin's hand)."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Iterable

import sqlalchemy as sa

from fieldscreen import crypto
from fieldscreen.sync.errors import SyncError
from fieldscreen.sync.server.db import tables as t
from fieldscreen.sync.server.repositories.audit import AuditLog
from fieldscreen.sync.server.repositories.database import Database, now, token_hash
from fieldscreen.sync.server.repositories.model import Principal, Role

__all__ = ["ENROL_PREFIX", "Credentials"]

ENROL_PREFIX = b"fieldscreen enrol v1\n"
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class Credentials:
    """Tokens and enrolment codes, and the devices' first rows."""

    def __init__(self, db: Database, audit: AuditLog) -> None:
        self._db = db
        self._audit = audit

    def create_credential(self, role: Role, sites: Iterable[str], label: str) -> str:
        """A bearer token for an admin or coordinator; shown once, stored only as a hash."""
        if role == "device":
            raise ValueError("device credentials come from enrolment")
        token = secrets.token_urlsafe(32)
        with self._db.engine.begin() as conn:
            conn.execute(
                t.credentials.insert().values(
                    token_hash=token_hash(token),
                    role=role,
                    device_id=None,
                    sites=json.dumps(sorted(set(sites))),
                    label=label[:128],
                    created=now(),
                    revoked=False,
                )
            )
            self._audit.append(conn, "admin", "credential-created", {"role": role, "label": label})
        return token

    def authenticate(self, token: str) -> Principal | None:
        if not token or len(token) > 256:
            return None
        query = (
            sa.select(t.credentials, t.devices.c.status, t.devices.c.public_key)
            .select_from(
                t.credentials.outerjoin(t.devices, t.devices.c.id == t.credentials.c.device_id)
            )
            .where(t.credentials.c.token_hash == token_hash(token))
        )
        with self._db.reader.connect() as conn:
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

    def create_enrol_code(self, site: str, *, hours: int = 72) -> str:
        """A one-time code such as ``K7QM-2XHP-9WTR-BC4N`` (80 bits), valid for ``hours``."""
        raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(16))
        code = "-".join(raw[i : i + 4] for i in range(0, 16, 4))
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)
        with self._db.engine.begin() as conn:
            conn.execute(
                t.enrol_codes.insert().values(
                    code_hash=token_hash(_normal_code(code)),
                    site=site,
                    expires=expires.isoformat(timespec="seconds"),
                )
            )
            self._audit.append(conn, "admin", "enrol-code", {"site": site})
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
        at = dt.datetime.now(dt.UTC)
        with self._db.engine.begin() as conn:
            row = conn.execute(
                sa.select(t.enrol_codes).where(t.enrol_codes.c.code_hash == token_hash(normal))
            ).first()
            if row is None or row.used is not None or dt.datetime.fromisoformat(row.expires) < at:
                raise SyncError("sync-enrol-code")
            claimed = conn.execute(
                sa.update(t.enrol_codes)
                .where(
                    t.enrol_codes.c.code_hash == token_hash(normal), t.enrol_codes.c.used.is_(None)
                )
                .values(used=now(), device_id=device_id)
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
            self._audit.append(conn, device_id, "enrolled", {"site": row.site})
        return device_id, token, str(row.site)

    def register_device(self, device_id: str, site: str, public_key: bytes, label: str) -> str:
        """Enrol a device by hand (an admin who holds the laptop); returns its token."""
        token = secrets.token_urlsafe(32)
        with self._db.engine.begin() as conn:
            _insert_device(
                conn,
                device_id=device_id,
                site=site,
                public_key=public_key,
                label=label,
                token=token,
            )
            self._audit.append(conn, "admin", "registered", {"device": device_id, "site": site})
        return token


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
            enrolled=now(),
            last_seq=0,
            rollback_suspected=False,
        )
    )
    conn.execute(
        t.credentials.insert().values(
            token_hash=token_hash(token),
            role="device",
            device_id=device_id,
            sites=json.dumps([site]),
            label=label[:128],
            created=now(),
            revoked=False,
        )
    )
