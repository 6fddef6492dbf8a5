"""The values the server's repositories hand out: who is calling (:class:`Principal`), what
happened to one envelope (:class:`Outcome`), the organisation's public keys, a device's row,
and the receipt key's private half while the server is unlocked (:class:`ReceiptKey`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["DeviceRow", "OrgKeys", "Outcome", "Principal", "ReceiptKey", "Role"]

#: ``partner``: a partner organisation's credential (``fieldscreen-server partner add``), which
#: reaches only that partner's own handover packets.
Role = Literal["admin", "coordinator", "device", "partner"]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a role, the sites it may see, and for a device its id and status."""

    role: Role
    sites: frozenset[str]
    label: str
    device_id: str | None = None
    device_status: str = "active"
    #: The enrolled device key (device principals): every request must be signed with it.
    public_key: bytes | None = field(default=None, repr=False)
    #: True once the API checked this request's signature by that key.
    signed: bool = False
    #: The partner's code (partner principals).
    partner: str | None = None

    def sees(self, site: str) -> bool:
        return self.role == "admin" or site in self.sites


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one envelope: ``stored``, ``duplicate``, ``destroyed`` (held before,
    removed by retention), ``conflict``, ``quarantined`` or ``rejected``."""

    record_id: str
    sha256: str
    outcome: str
    reason: str | None = None

    @property
    def delivered(self) -> bool:
        return self.outcome in {"stored", "duplicate", "destroyed"}


@dataclass(frozen=True, slots=True)
class OrgKeys:
    name: str
    sealing_public: bytes
    signing_public: bytes
    receipt_public: bytes


@dataclass(frozen=True, slots=True)
class DeviceRow:
    id: str
    site: str
    label: str
    public_key: bytes
    status: str
    enrolled: str
    last_contact: str | None
    last_seq: int
    rollback_suspected: bool

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "site": self.site,
            "label": self.label,
            "status": self.status,
            "enrolled": self.enrolled,
            "last_contact": self.last_contact,
            "last_seq": self.last_seq,
            "rollback_suspected": self.rollback_suspected,
        }


class ReceiptKey:
    """The receipt key's private half, in this process's memory only once the key ring has
    unlocked it (``private`` is None before). The key ring alone sets it; the audit log signs
    checkpoints with it and the receipts are signed by it."""

    __slots__ = ("private",)

    def __init__(self) -> None:
        self.private: bytes | None = None
