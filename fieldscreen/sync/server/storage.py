"""Everything the server does to its database, independent of HTTP: one :class:`Storage` over
the repositories of ``fieldscreen/sync/server/repositories/``.

* :class:`~fieldscreen.sync.server.repositories.keys.KeyRing` — the organisation's public keys
  and the receipt key's custody (encrypted under the server's passphrase);
* :class:`~fieldscreen.sync.server.repositories.credentials.Credentials` — staff tokens,
  enrolment codes, a device's enrolment;
* :class:`~fieldscreen.sync.server.repositories.devices.Devices` — the devices and their status;
* :class:`~fieldscreen.sync.server.repositories.ingest.Ingest` — envelopes in, exactly once, in
  group commits;
* :class:`~fieldscreen.sync.server.repositories.receipts.Receipts` — what is held for a device,
  and its signed receipts;
* :class:`~fieldscreen.sync.server.repositories.matching.Matching` — possible matches between
  screenings;
* :class:`~fieldscreen.sync.server.repositories.documents.Documents` — signed forms,
  directories and provisionings;
* :class:`~fieldscreen.sync.server.repositories.reporting.Reporting` — statistics, retention,
  and what the report and the export read;
* :class:`~fieldscreen.sync.server.repositories.handovers.Handovers` — partner organisations
  and the sealed handover packets devices send them, with their acknowledgements;
* :class:`~fieldscreen.sync.server.repositories.audit.AuditLog` — the hash-chained audit log.

The API and the command line call the facade's methods (each one repository's); a repository
that needs another is handed it when the facade is built, in :meth:`Storage.__init__`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.engine import Engine

from fieldscreen import crypto
from fieldscreen.errors import KnownError
from fieldscreen.sync.envelope import Envelope
from fieldscreen.sync.server import audit_chain, db
from fieldscreen.sync.server.repositories.audit import AuditLog
from fieldscreen.sync.server.repositories.credentials import ENROL_PREFIX, Credentials
from fieldscreen.sync.server.repositories.database import Database
from fieldscreen.sync.server.repositories.devices import Devices
from fieldscreen.sync.server.repositories.documents import Documents
from fieldscreen.sync.server.repositories.handovers import Handovers
from fieldscreen.sync.server.repositories.ingest import Admit, Ingest
from fieldscreen.sync.server.repositories.keys import KeyRing
from fieldscreen.sync.server.repositories.matching import (
    MATCH_MOST_SHARED,
    MATCH_RECORDS_PER_DAY,
    Matching,
)
from fieldscreen.sync.server.repositories.model import (
    DeviceRow,
    OrgKeys,
    Outcome,
    Principal,
    ReceiptKey,
    Role,
)
from fieldscreen.sync.server.repositories.receipts import Receipts
from fieldscreen.sync.server.repositories.reporting import Reporting
from fieldscreen.sync.signed import SignedDocument

__all__ = [
    "ENROL_PREFIX",
    "MATCH_MOST_SHARED",
    "MATCH_RECORDS_PER_DAY",
    "DeviceRow",
    "OrgKeys",
    "Outcome",
    "Principal",
    "Repositories",
    "Storage",
]

#: (record id, sha256) pairs.
Pairs = Iterable[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Repositories:
    """The repositories of one database, wired to one another."""

    keys: KeyRing
    audit: AuditLog
    credentials: Credentials
    devices: Devices
    ingest: Ingest
    receipts: Receipts
    matching: Matching
    documents: Documents
    reporting: Reporting
    handovers: Handovers

    @classmethod
    def over(cls, database: Database) -> Repositories:
        receipt_key = ReceiptKey()
        audit = AuditLog(database, receipt_key)
        keys = KeyRing(database, audit, receipt_key)
        devices = Devices(database, audit)
        matching = Matching(database, audit)
        return cls(
            keys=keys,
            audit=audit,
            credentials=Credentials(database, audit),
            devices=devices,
            ingest=Ingest(database, keys, devices, matching, audit),
            receipts=Receipts(database, keys, receipt_key),
            matching=matching,
            documents=Documents(database, keys, audit),
            reporting=Reporting(database, devices, audit),
            handovers=Handovers(database, keys, audit),
        )


class Storage:
    """The server's data, on an engine whose schema :func:`db.migrate` brought up to date."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.database = Database(engine)
        self.repos = Repositories.over(self.database)
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
        self.database.close()

    @property
    def light_engine(self) -> Engine:
        """See :attr:`Database.light_engine` (rate limits and request nonces)."""
        return self.database.light_engine

    # ------------------------------------------------------------------ keys
    @property
    def unlocked(self) -> bool:
        return self.repos.keys.unlocked

    def unlock(self, passphrase: bytes, *, kdf: crypto.KdfParams | None = None) -> None:
        """Make the receipt key usable with the server's passphrase (:meth:`KeyRing.unlock`)."""
        self.repos.keys.unlock(passphrase, kdf=kdf)

    def change_passphrase(
        self, old: bytes | None, new: bytes, *, kdf: crypto.KdfParams | None = None
    ) -> str:
        return self.repos.keys.change_passphrase(old, new, kdf=kdf)

    def replace_receipt_key(self, passphrase: bytes, *, kdf: crypto.KdfParams | None = None) -> str:
        return self.repos.keys.replace_receipt_key(passphrase, kdf=kdf)

    def receipt_key_state(self) -> Literal["missing", "clear", "protected"]:
        return self.repos.keys.receipt_key_state()

    def receipt_key_id(self) -> str | None:
        return self.repos.keys.receipt_key_id()

    def set_org_keys(self, name: str, sealing_public: bytes, signing_public: bytes) -> None:
        self.repos.keys.set_org_keys(name, sealing_public, signing_public)

    def keys(self) -> OrgKeys:
        return self.repos.keys.keys()

    # ------------------------------------------------------------------ credentials, enrolment
    def create_credential(self, role: Role, sites: Iterable[str], label: str) -> str:
        return self.repos.credentials.create_credential(role, sites, label)

    def authenticate(self, token: str) -> Principal | None:
        """Staff or a device (:class:`Credentials`), else a partner (:class:`Handovers`)."""
        principal = self.repos.credentials.authenticate(token)
        if principal is not None:
            return principal
        partner = self.repos.handovers.authenticate(token)
        if partner is None:
            return None
        return Principal("partner", frozenset(), f"partner:{partner}", partner=partner)

    def create_enrol_code(self, site: str, *, hours: int = 72) -> str:
        return self.repos.credentials.create_enrol_code(site, hours=hours)

    def enroll(
        self,
        code: str,
        public_key: bytes,
        proof: bytes,
        label: str,
        device_id: str | None = None,
    ) -> tuple[str, str, str]:
        return self.repos.credentials.enroll(code, public_key, proof, label, device_id)

    def register_device(self, device_id: str, site: str, public_key: bytes, label: str) -> str:
        return self.repos.credentials.register_device(device_id, site, public_key, label)

    # ------------------------------------------------------------------ devices
    def device(self, device_id: str) -> DeviceRow | None:
        return self.repos.devices.get(device_id)

    def list_devices(self, principal: Principal) -> list[DeviceRow]:
        return self.repos.devices.visible_to(principal)

    def set_device_status(self, device_id: str, status: str, actor: str) -> DeviceRow:
        return self.repos.devices.set_status(device_id, status, actor)

    def contact(self, device_id: str, reported_seq: int | None) -> DeviceRow:
        return self.repos.devices.contact(device_id, reported_seq)

    # ------------------------------------------------------------------ envelopes, receipts
    def ingest(
        self, items: Sequence[Any], principal: Principal, admit: Admit | None = None
    ) -> list[Outcome]:
        """Store a batch of envelopes (:meth:`Ingest.ingest`); the outcomes once durable."""
        return self.repos.ingest.ingest(items, principal, admit)

    def status_of(
        self, device_id: str, pairs: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], str]:
        return self.repos.receipts.status_of(device_id, pairs)

    def receipt(
        self, device_id: str, delivered: Pairs | None = None, conflicts: Pairs = ()
    ) -> SignedDocument:
        """Signed: the pairs given, or everything held for the device (:class:`Receipts`)."""
        return self.repos.receipts.receipt(device_id, delivered, conflicts)

    # ------------------------------------------------------------------ matches
    def matches(self, principal: Principal, actor: str | None = None) -> dict[str, Any]:
        return self.repos.matching.matches(principal, actor)

    def told_matches(self, principal: Principal) -> list[dict[str, Any]]:
        return self.repos.matching.told_matches(principal)

    # ------------------------------------------------------------------ signed documents
    def publish(self, data: bytes, actor: str) -> SignedDocument:
        return self.repos.documents.publish(data, actor)

    def documents(self) -> list[dict[str, str]]:
        return self.repos.documents.newest()

    def published_forms(self) -> list[tuple[str, bytes]]:
        return self.repos.documents.forms()

    def document(self, kind: str, name: str, version: str) -> bytes | None:
        return self.repos.documents.get(kind, name, version)

    # ------------------------------------------------------------------ reporting, retention
    def stats(self, principal: Principal) -> dict[str, Any]:
        return self.repos.reporting.stats(principal)

    def apply_retention(self, days: int, actor: str) -> int:
        return self.repos.reporting.apply_retention(days, actor)

    @property
    def last_held_destroyed(self) -> int:
        """Conflicting and quarantined copies the last :meth:`apply_retention` destroyed."""
        return self.repos.reporting.last_held_destroyed

    def iter_aggregates(self, principal: Principal) -> Iterator[tuple[dict[str, Any], str, str]]:
        return self.repos.reporting.iter_aggregates(principal)

    def iter_envelopes(self, batch: int = 500) -> Iterator[Envelope]:
        return self.repos.reporting.iter_envelopes(batch)

    def iter_contested(self) -> Iterator[Envelope]:
        return self.repos.reporting.iter_contested()

    def count(self, table: str) -> int:
        return self.repos.reporting.count(table)

    # ------------------------------------------------------------------ handovers
    def add_partner(self, code: str, label: str) -> str:
        return self.repos.handovers.add_partner(code, label)

    def revoke_partner(self, code: str) -> None:
        self.repos.handovers.revoke_partner(code)

    def partners(self) -> list[dict[str, Any]]:
        return self.repos.handovers.partners()

    def post_handover(self, device_id: str, partner: str, packet_id: str, data: bytes) -> str:
        return self.repos.handovers.post(device_id, partner, packet_id, data)

    def post_carried_handover(self, data: bytes, principal: Principal) -> tuple[str, str]:
        """A packet from a USB bundle (``Handovers.post_carried``): (packet id, outcome)."""
        sites = None if principal.role == "admin" else principal.sites
        return self.repos.handovers.post_carried(data, sites)

    def handover_listing(self, partner: str) -> list[dict[str, Any]]:
        return self.repos.handovers.listing(partner)

    def handover_packet(self, partner: str, packet_id: str) -> bytes | None:
        return self.repos.handovers.fetch(partner, packet_id)

    def acknowledge_handover(self, partner: str, packet_id: str, data: bytes) -> str:
        return self.repos.handovers.acknowledge(partner, packet_id, data)

    def handover_acks(self, device_id: str, after: str = "") -> list[dict[str, str]]:
        return self.repos.handovers.acks_for(device_id, after)

    # ------------------------------------------------------------------ audit
    def audit(self, actor: str, action: str, detail: dict[str, Any]) -> None:
        self.repos.audit.record(actor, action, detail)

    def checkpoint(self) -> bool:
        return self.repos.audit.checkpoint()

    def verify_audit(
        self, *, receipt_public: bytes | None = None, expect_head: tuple[int, str] | None = None
    ) -> audit_chain.ChainReport:
        """Check the whole audit chain against ``receipt_public`` (default: the receipt key
        this database holds)."""
        trusted = receipt_public
        if trusted is None:
            trusted = self.repos.keys.stored_receipt_public()
        return self.repos.audit.verify(trusted, expect_head=expect_head)
