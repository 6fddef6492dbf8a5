"""Handover packets through the server (docs/handover.md): the partner organisations an admin
added (each from a published, signed service directory, with a credential of its own kind),
the sealed packets devices post for them, and the partners' signed acknowledgements.

The server keeps a packet as the bytes that came, up to :data:`MAX_PACKET_BYTES`; it never
parses or opens one (it is sealed to the partner's key). It reads an acknowledgement, which is
not secret, only to check that the partner's key signed it for a packet of that partner, with
the SHA-256 of the bytes held: a forged or misdirected one is refused and never reaches a
device.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Any

import sqlalchemy as sa

from fieldscreen.directory import ServiceDirectory
from fieldscreen.errors import KnownError
from fieldscreen.handover import check_ack
from fieldscreen.sync.canonical import b64d, b64e
from fieldscreen.sync.errors import ServerError, SyncError
from fieldscreen.sync.server.db import tables as t
from fieldscreen.sync.server.repositories.audit import AuditLog
from fieldscreen.sync.server.repositories.database import Database, now, token_hash
from fieldscreen.sync.server.repositories.keys import KeyRing
from fieldscreen.sync.signed import verify_document

__all__ = ["MAX_PACKET_BYTES", "MAX_PENDING_PER_DEVICE", "PACKET_ID", "PARTNER_CODE", "Handovers"]

#: The largest packet the server keeps (a packet's content is padded to at most 4 MiB before
#: it is sealed; base64 and the header make it about 5.4 MiB).
MAX_PACKET_BYTES = 6 * 1024 * 1024
#: The packets one device may have on the server not yet acknowledged: a device (or its
#: stolen key) cannot fill the server's disk (at most 1,000 x 6 MiB each).
MAX_PENDING_PER_DEVICE = 1000
#: A packet's id (``uuid4().hex``) and a partner's code (the directory's partner id).
PACKET_ID = re.compile(r"[0-9a-f]{32}")
PARTNER_CODE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_MAX_ACK_BYTES = 4096
#: The most acknowledgements one answer to a device holds (``fieldscreen.sync.client`` reads
#: no more); the rest come after the cursor at its next sync.
MAX_ACKS_PER_ANSWER = 500


class Handovers:
    def __init__(self, db: Database, keys: KeyRing, audit: AuditLog) -> None:
        self._db = db
        self._keys = keys
        self._audit = audit

    # ------------------------------------------------------------------ partners
    def directory_signing_key(self, code: str) -> bytes | None:
        """The partner's Ed25519 key in the newest published directory that names it with
        keys (each directory's signature checked again against the organisation key)."""
        public = self._keys.keys().signing_public
        with self._db.engine.connect() as conn:
            rows = list(
                conn.execute(
                    sa.select(t.documents.c.name, t.documents.c.document)
                    .where(t.documents.c.kind == "directory")
                    .order_by(t.documents.c.published.desc(), t.documents.c.version.desc())
                )
            )
        for row in rows:
            try:
                document = verify_document(bytes(row.document), public, kind="directory")
                directory = ServiceDirectory.from_content(document.content, "server", row.name)
            except (SyncError, KnownError):
                continue
            partner = directory.partner(code)
            if partner is not None and partner.can_receive:
                return partner.signing_key
        return None

    def add_partner(self, code: str, label: str) -> str:
        """A partner credential for ``code`` (shown once, stored as a hash); its signing key
        is taken from the published directory. Adding a partner again replaces its token and
        key (the old token opens nothing from then on).

        Raises:
            ServerError: ``server-partner-unknown`` (no published directory names it with
                keys).
        """
        if not PARTNER_CODE.fullmatch(code):
            raise ServerError("server-partner-unknown", partner=code[:64])
        key = self.directory_signing_key(code)
        if key is None:
            raise ServerError("server-partner-unknown", partner=code)
        token = "fsp_" + secrets.token_urlsafe(32)
        values = {
            "token_hash": token_hash(token),
            "signing_key": key,
            "label": label[:128],
            "created": now(),
            "revoked": False,
        }
        with self._db.engine.begin() as conn:
            changed = conn.execute(
                sa.update(t.partners).where(t.partners.c.code == code).values(**values)
            )
            if changed.rowcount == 0:
                conn.execute(t.partners.insert().values(code=code, **values))
            self._audit.append(conn, "admin", "partner-added", {"partner": code})
        return token

    def revoke_partner(self, code: str) -> None:
        with self._db.engine.begin() as conn:
            done = conn.execute(
                sa.update(t.partners).where(t.partners.c.code == code).values(revoked=True)
            )
            if done.rowcount != 1:
                raise ServerError("server-partner-unknown", partner=code[:64])
            self._audit.append(conn, "admin", "partner-revoked", {"partner": code})

    def partners(self) -> list[dict[str, Any]]:
        with self._db.engine.connect() as conn:
            rows = list(conn.execute(sa.select(t.partners).order_by(t.partners.c.code)))
        return [
            {"code": r.code, "label": r.label, "created": r.created, "revoked": r.revoked}
            for r in rows
        ]

    def authenticate(self, token: str) -> str | None:
        """The partner code a (not revoked) partner token belongs to."""
        if not token.startswith("fsp_") or len(token) > 256:
            return None
        with self._db.engine.connect() as conn:
            row = conn.execute(
                sa.select(t.partners.c.code, t.partners.c.revoked).where(
                    t.partners.c.token_hash == token_hash(token)
                )
            ).first()
        return None if row is None or row.revoked else str(row.code)

    # ------------------------------------------------------------------ packets
    def post_carried(self, data: bytes, sites: frozenset[str] | None) -> tuple[str, str]:
        """Keep a packet that came in a USB bundle, without its device's signed request:
        taken only when its header names an active device of the roster (of ``sites``, for
        a coordinator; None for an admin) with the key that signed the packet, then kept as
        :meth:`post` keeps one. The packet id and the outcome.

        Raises:
            ServerError: ``server-handover-unsigned`` (not a packet, or not signed by the key
                of an active device the caller may relay for), and those of :meth:`post`.
        """
        from fieldscreen.handover import packet_header

        try:
            header = packet_header(data, "bundle")
            key = b64d(str(header["device_key"]), "device key")
        except KnownError:
            raise ServerError("server-handover-unsigned") from None
        device_id, partner, packet_id = (
            str(header["device_id"]),
            str(header["partner"]),
            str(header["packet_id"]),
        )
        if not PACKET_ID.fullmatch(packet_id) or not PARTNER_CODE.fullmatch(partner):
            raise ServerError("server-handover-unsigned")
        with self._db.engine.connect() as conn:
            row = conn.execute(
                sa.select(t.devices.c.site, t.devices.c.status, t.devices.c.public_key).where(
                    t.devices.c.id == device_id[:64]
                )
            ).first()
        if (
            row is None
            or row.status != "active"
            or bytes(row.public_key) != key
            or (sites is not None and row.site not in sites)
        ):
            raise ServerError("server-handover-unsigned")
        return packet_id, self.post(device_id, partner, packet_id, data)

    def post(self, device_id: str, partner: str, packet_id: str, data: bytes) -> str:
        """Keep a device's sealed packet for ``partner``: ``stored``, or ``duplicate`` when the
        same device sent the same bytes under that id before (a retry).

        Raises:
            ServerError: ``server-partner-unknown`` (no such partner, or revoked),
                ``server-handover-conflict`` (the id is held with other bytes, for another
                partner or from another device), ``server-handover-too-large``,
                ``server-handover-quota`` (the device has :data:`MAX_PENDING_PER_DEVICE`
                packets held not yet acknowledged).
        """
        if len(data) > MAX_PACKET_BYTES or not data:
            raise ServerError("server-handover-too-large", limit=MAX_PACKET_BYTES)
        digest = hashlib.sha256(data).hexdigest()
        with self._db.engine.begin() as conn:
            known = conn.execute(
                sa.select(t.partners.c.revoked).where(t.partners.c.code == partner)
            ).first()
            if known is None or known.revoked:
                raise ServerError("server-partner-unknown", partner=partner[:64])
            held = conn.execute(
                sa.select(
                    t.handover_packets.c.partner,
                    t.handover_packets.c.device_id,
                    t.handover_packets.c.sha256,
                ).where(t.handover_packets.c.packet_id == packet_id)
            ).first()
            if held is not None:
                if (held.partner, held.device_id, held.sha256) == (partner, device_id, digest):
                    return "duplicate"
                self._audit.append(
                    conn, device_id, "handover-conflict", {"packet": packet_id, "partner": partner}
                )
                raise ServerError("server-handover-conflict", packet=packet_id)
            p = t.handover_packets
            pending = conn.execute(
                sa.select(sa.func.count())
                .select_from(p)
                .where(p.c.device_id == device_id, p.c.ack.is_(None))
            ).scalar_one()
            if pending >= MAX_PENDING_PER_DEVICE:
                raise ServerError("server-handover-quota", limit=MAX_PENDING_PER_DEVICE)
            inserted = conn.execute(
                self._db.insert(t.handover_packets)
                .values(
                    packet_id=packet_id,
                    partner=partner,
                    device_id=device_id,
                    sha256=digest,
                    packet=data,
                    received=now(),
                )
                .on_conflict_do_nothing()
                .returning(t.handover_packets.c.packet_id)  # (PostgreSQL's rowcount is -1)
            )
            if inserted.first() is None:  # another process stored that id in between
                raise ServerError("server-handover-conflict", packet=packet_id)
            self._audit.append(
                conn,
                device_id,
                "handover-received",
                {"packet": packet_id, "partner": partner, "size": len(data)},
            )
        return "stored"

    def listing(self, partner: str) -> list[dict[str, Any]]:
        """The partner's packets (no content), oldest first."""
        p = t.handover_packets
        with self._db.engine.connect() as conn:
            rows = list(
                conn.execute(
                    sa.select(
                        p.c.packet_id,
                        p.c.sha256,
                        sa.func.length(p.c.packet).label("size"),
                        p.c.received,
                        p.c.fetched,
                        p.c.acked,
                    )
                    .where(p.c.partner == partner)
                    .order_by(p.c.received, p.c.packet_id)
                )
            )
        return [
            {
                "packet_id": r.packet_id,
                "sha256": r.sha256,
                "size": int(r.size),
                "received": r.received,
                "fetched": r.fetched,
                "acknowledged": r.acked is not None,
            }
            for r in rows
        ]

    def fetch(self, partner: str, packet_id: str) -> bytes | None:
        """The packet's bytes, when it is ``partner``'s (the first fetch is audited)."""
        p = t.handover_packets
        with self._db.engine.begin() as conn:
            row = conn.execute(
                sa.select(p.c.packet, p.c.fetched).where(
                    p.c.packet_id == packet_id, p.c.partner == partner
                )
            ).first()
            if row is None:
                return None
            if row.fetched is None:
                conn.execute(sa.update(p).where(p.c.packet_id == packet_id).values(fetched=now()))
                self._audit.append(
                    conn, f"partner:{partner}", "handover-fetched", {"packet": packet_id}
                )
        return bytes(row.packet)

    def acknowledge(self, partner: str, packet_id: str, data: bytes) -> str:
        """Keep the partner's acknowledgement of its packet: ``stored``, or ``duplicate`` when
        one is already kept (a replay changes nothing; the first is what devices get).

        Raises:
            ServerError: ``server-handover-unknown`` (not this partner's packet),
                ``server-handover-ack-forged`` (not signed by the partner's key, or naming
                another packet, partner or SHA-256).
        """
        p = t.handover_packets
        with self._db.engine.begin() as conn:
            row = conn.execute(
                sa.select(p.c.sha256, p.c.ack, t.partners.c.signing_key)
                .select_from(p.join(t.partners, t.partners.c.code == p.c.partner))
                .where(p.c.packet_id == packet_id, p.c.partner == partner)
            ).first()
            if row is None:
                raise ServerError("server-handover-unknown", packet=packet_id)
            try:
                if len(data) > _MAX_ACK_BYTES:
                    raise ServerError("server-handover-ack-forged", packet=packet_id)
                body = check_ack(data, packet_id, bytes(row.signing_key))
            except KnownError:
                self._audit.append(
                    conn, f"partner:{partner}", "handover-ack-refused", {"packet": packet_id}
                )
                raise ServerError("server-handover-ack-forged", packet=packet_id) from None
            if (body["packet_id"], body["partner"], body["digest"]) != (
                packet_id,
                partner,
                row.sha256,
            ):
                self._audit.append(
                    conn, f"partner:{partner}", "handover-ack-refused", {"packet": packet_id}
                )
                raise ServerError("server-handover-ack-forged", packet=packet_id)
            if row.ack is not None:
                return "duplicate"
            conn.execute(
                sa.update(p)
                .where(p.c.packet_id == packet_id, p.c.ack.is_(None))
                .values(ack=data, acked=now())
            )
            self._audit.append(
                conn, f"partner:{partner}", "handover-acknowledged", {"packet": packet_id}
            )
        return "stored"

    def acks_for(self, device_id: str, after: str = "") -> list[dict[str, str]]:
        """The acknowledgements of the packets ``device_id`` sent, as base64 of their bytes,
        oldest first, each with its ``cursor``: those after the cursor ``after`` the device
        sends back once it applied them (so an acknowledgement it has is not sent again), at
        most :data:`MAX_ACKS_PER_ANSWER`. A cursor that is not one (``ACKED|PACKET``) reads
        from the start."""
        p = t.handover_packets
        where = [p.c.device_id == device_id, p.c.ack.is_not(None)]
        acked, _, packet = after.partition("|")
        if acked and PACKET_ID.fullmatch(packet):
            where.append(
                sa.or_(p.c.acked > acked, sa.and_(p.c.acked == acked, p.c.packet_id > packet))
            )
        with self._db.engine.connect() as conn:
            rows = list(
                conn.execute(
                    sa.select(p.c.packet_id, p.c.partner, p.c.ack, p.c.acked)
                    .where(*where)
                    .order_by(p.c.acked, p.c.packet_id)
                    .limit(MAX_ACKS_PER_ANSWER)
                )
            )
        return [
            {
                "packet_id": r.packet_id,
                "partner": r.partner,
                "ack": b64e(bytes(r.ack)),
                "cursor": f"{r.acked}|{r.packet_id}",
            }
            for r in rows
        ]
