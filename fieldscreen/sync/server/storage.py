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

:class:`Storage` is a plain holder: it opens the database and wires the repositories to one
another (:meth:`Repositories.over`; a repository that needs another is handed it there), and the
API and the command line call the repositories themselves (``storage.repos.devices.get(...)``).
Its only operations of their own are those that are more than one repository's call:
:meth:`Storage.authenticate` (staff and devices, else partners),
:meth:`Storage.post_carried_handover` (a carried packet within the caller's sites) and
:meth:`Storage.verify_audit` (the audit log against the stored receipt key).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from fieldscreen import crypto
from fieldscreen.errors import KnownError
from fieldscreen.sync.server import audit_chain, db
from fieldscreen.sync.server.repositories.audit import AuditLog
from fieldscreen.sync.server.repositories.credentials import ENROL_PREFIX, Credentials
from fieldscreen.sync.server.repositories.database import Database
from fieldscreen.sync.server.repositories.devices import Devices
from fieldscreen.sync.server.repositories.documents import Documents
from fieldscreen.sync.server.repositories.handovers import Handovers
from fieldscreen.sync.server.repositories.ingest import Ingest
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
)
from fieldscreen.sync.server.repositories.receipts import Receipts
from fieldscreen.sync.server.repositories.reporting import Reporting

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
    """The server's data, on an engine whose schema :func:`db.migrate` brought up to date: its
    repositories in :attr:`repos`."""

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
        (:meth:`KeyRing.unlock`). Without it everything works but signing receipts."""
        notices: list[KnownError] = []
        engine = db.connect(url, notices=notices)
        db.migrate(engine)
        storage = cls(engine)
        storage.notices = notices
        for notice in notices:
            storage.repos.audit.record("server", "file-mode-tightened", dict(notice.context))
        if passphrase is not None:
            try:
                storage.repos.keys.unlock(passphrase, kdf=kdf)
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

    def authenticate(self, token: str) -> Principal | None:
        """Staff or a device (:class:`Credentials`), else a partner (:class:`Handovers`)."""
        principal = self.repos.credentials.authenticate(token)
        if principal is not None:
            return principal
        partner = self.repos.handovers.authenticate(token)
        if partner is None:
            return None
        return Principal("partner", frozenset(), f"partner:{partner}", partner=partner)

    def post_carried_handover(self, data: bytes, principal: Principal) -> tuple[str, str]:
        """A packet from a USB bundle (``Handovers.post_carried``), from the sites
        ``principal`` sees (an admin: any): (packet id, outcome)."""
        sites = None if principal.role == "admin" else principal.sites
        return self.repos.handovers.post_carried(data, sites)

    def verify_audit(
        self, *, receipt_public: bytes | None = None, expect_head: tuple[int, str] | None = None
    ) -> audit_chain.ChainReport:
        """Check the whole audit chain against ``receipt_public`` (default: the receipt key
        this database holds)."""
        trusted = receipt_public
        if trusted is None:
            trusted = self.repos.keys.stored_receipt_public()
        return self.repos.audit.verify(trusted, expect_head=expect_head)
