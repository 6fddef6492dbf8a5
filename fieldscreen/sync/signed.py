"""Signed documents: forms, the service directory, provisioning files and receipts.

Everything that comes *down* to a device is a :class:`SignedDocument`: its kind, name and
version, the time it was issued, the id of the key that signed it, the content bytes, and an
Ed25519 signature over the canonical JSON of all of that. Forms, the directory and provisioning
files are signed with the organisation's signing key (its private half stays with the central
team); receipts are signed by the server's own receipt key, whose public half the organisation
puts in the provisioning file.

A :class:`Receipt` is the content of a ``receipt`` document: the (record id, SHA-256) pairs the
server holds for one device. Applying one marks those records delivered; applying it again
changes nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from fieldscreen import crypto
from fieldscreen.sync.canonical import b64d, b64e, canonical, parse_json
from fieldscreen.sync.envelope import key_id_hex
from fieldscreen.sync.errors import EnvelopeError, SyncError

__all__ = [
    "DOCUMENT_KINDS",
    "POLICY_TYPES",
    "Provisioning",
    "Receipt",
    "SignedDocument",
    "Site",
    "sign_document",
    "verify_document",
]

DOCUMENT_KINDS: Final = ("form", "directory", "provisioning", "receipt")
SIGN_PREFIX: Final = b"fieldscreen document v1\n"
MAX_DOCUMENT_BYTES: Final = 16 * 1024 * 1024
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32}")


@dataclass(frozen=True, slots=True)
class SignedDocument:
    kind: str
    name: str
    version: str
    issued: str
    key_id: str
    content: bytes = field(repr=False)
    signature: bytes = field(repr=False)

    def signing_bytes(self) -> bytes:
        return SIGN_PREFIX + canonical(self._fields())

    def _fields(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "version": self.version,
            "issued": self.issued,
            "key_id": self.key_id,
            "content": b64e(self.content),
        }

    def to_json(self) -> dict[str, Any]:
        return {**self._fields(), "signature": b64e(self.signature)}

    def to_bytes(self) -> bytes:
        return canonical(self.to_json())

    @classmethod
    def from_json(cls, data: Any) -> SignedDocument:
        fields = {"kind", "name", "version", "issued", "key_id", "content", "signature"}
        if not isinstance(data, dict) or set(data) != fields:
            raise EnvelopeError("signed document fields are wrong")
        if data["kind"] not in DOCUMENT_KINDS:
            raise EnvelopeError("signed document kind is unknown")
        for name in ("name", "version"):
            if not isinstance(data[name], str) or not _NAME.fullmatch(data[name]):
                raise EnvelopeError(f"signed document {name} is malformed")
        if not isinstance(data["issued"], str) or not isinstance(data["key_id"], str):
            raise EnvelopeError("signed document header is malformed")
        return cls(
            kind=data["kind"],
            name=data["name"],
            version=data["version"],
            issued=data["issued"],
            key_id=data["key_id"],
            content=b64d(data["content"], "document content"),
            signature=b64d(data["signature"], "document signature"),
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> SignedDocument:
        if len(data) > MAX_DOCUMENT_BYTES * 2:
            raise EnvelopeError("signed document is too large")
        return cls.from_json(parse_json(data, "signed document"))

    def json_content(self) -> Any:
        return parse_json(self.content, f"{self.kind} content")


def sign_document(  # noqa: PLR0917 -- kind, name, version, content, key pair read in order
    kind: str,
    name: str,
    version: str,
    content: bytes,
    private_key: bytes,
    public_key: bytes,
    *,
    issued: dt.datetime | None = None,
) -> SignedDocument:
    """Sign ``content`` as a document of ``kind`` (one of :data:`DOCUMENT_KINDS`)."""
    if kind not in DOCUMENT_KINDS:
        raise EnvelopeError("signed document kind is unknown")
    if len(content) > MAX_DOCUMENT_BYTES:
        raise EnvelopeError("signed document is too large")
    when = (issued or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    unsigned = SignedDocument(
        kind=kind,
        name=name,
        version=version,
        issued=when.isoformat().replace("+00:00", "Z"),
        key_id=key_id_hex(public_key),
        content=content,
        signature=b"",
    )
    SignedDocument.from_json(unsigned.to_json())  # the same shape checks as a reader applies
    signature = crypto.sign(private_key, unsigned.signing_bytes())
    return SignedDocument(**{**_kwargs(unsigned), "signature": signature})


def verify_document(
    data: bytes | SignedDocument, public_key: bytes, *, kind: str | None = None
) -> SignedDocument:
    """Parse and verify; raise :class:`SyncError` (``sync-bad-signature``) unless it is genuine."""
    document = data if isinstance(data, SignedDocument) else SignedDocument.from_bytes(data)
    what = kind or document.kind
    if kind is not None and document.kind != kind:
        raise SyncError("sync-bad-signature", what=what)
    if document.key_id != key_id_hex(public_key) or not crypto.verify(
        public_key, document.signing_bytes(), document.signature
    ):
        raise SyncError("sync-bad-signature", what=what)
    return document


def _kwargs(document: SignedDocument) -> dict[str, Any]:
    return {name: getattr(document, name) for name in SignedDocument.__slots__}


@dataclass(frozen=True, slots=True)
class Receipt:
    """What the server holds for one device: delivered pairs, and conflicts kept for review."""

    device_id: str
    delivered: tuple[tuple[str, str], ...]
    conflicts: tuple[tuple[str, str], ...] = ()

    def to_content(self) -> bytes:
        return canonical(
            {
                "device_id": self.device_id,
                "delivered": [list(p) for p in self.delivered],
                "conflicts": [list(p) for p in self.conflicts],
            }
        )

    @classmethod
    def from_document(cls, document: SignedDocument) -> Receipt:
        if document.kind != "receipt":
            raise EnvelopeError("document is not a receipt")
        data = document.json_content()
        if not isinstance(data, dict) or set(data) != {"device_id", "delivered", "conflicts"}:
            raise EnvelopeError("receipt fields are wrong")
        if data["device_id"] != document.name:
            raise EnvelopeError("receipt names another device")
        return cls(
            device_id=data["device_id"],
            delivered=_pairs(data["delivered"]),
            conflicts=_pairs(data["conflicts"]),
        )


def _pairs(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list):
        raise EnvelopeError("receipt list is malformed")
    out: list[tuple[str, str]] = []
    for item in value:
        if (
            not isinstance(item, list)
            or len(item) != 2
            or not all(isinstance(x, str) for x in item)
            or not _UUID.fullmatch(item[0])
            or not _HEX64.fullmatch(item[1])
        ):
            raise EnvelopeError("receipt entry is malformed")
        out.append((item[0], item[1]))
    return tuple(out)


def receipt_pairs(pairs: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(set(pairs)))


#: Settings an organisation may lock on every device, with their types.
POLICY_TYPES: Final[dict[str, type]] = {
    "auto_lock_minutes": int,
    "interview_lock_minutes": int,
    "follow_up_window_days": int,
    "travel_mode_allowed": bool,
    "background_sync": bool,
    "clipboard_clear_seconds": int,
}
_JURISDICTION = re.compile(r"[A-Z]{2}")
_SITE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True, slots=True)
class Site:
    """A site of the organisation: its id, a display name and its jurisdiction (ISO alpha-2)."""

    id: str
    name: str = ""
    jurisdiction: str = ""

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name or self.id, "jurisdiction": self.jurisdiction}

    @classmethod
    def from_json(cls, value: Any) -> Site:
        if isinstance(value, str):  # files written before sites carried a name and country
            value = {"id": value, "name": value, "jurisdiction": ""}
        if not isinstance(value, dict) or set(value) != {"id", "name", "jurisdiction"}:
            raise EnvelopeError("provisioning sites are malformed")
        site_id, name, country = value["id"], value["name"], value["jurisdiction"]
        if not isinstance(site_id, str) or not _SITE_ID.fullmatch(site_id):
            raise EnvelopeError("provisioning site id is malformed")
        if not isinstance(name, str) or not 0 < len(name) <= 128:
            raise EnvelopeError("provisioning site name is malformed")
        if not isinstance(country, str) or (country and not _JURISDICTION.fullmatch(country)):
            raise EnvelopeError("provisioning site jurisdiction is not an ISO country code")
        return cls(site_id, name, country)

    @classmethod
    def parse(cls, text: str) -> Site:
        """``ID`` or ``ID:NAME:CC`` (the form ``fieldscreen-server provision-file`` takes)."""
        parts = text.split(":")
        if len(parts) == 1:
            return cls.from_json({"id": parts[0], "name": parts[0], "jurisdiction": ""})
        if len(parts) != 3:
            raise EnvelopeError("a site is ID or ID:NAME:COUNTRY")
        return cls.from_json(
            {"id": parts[0], "name": parts[1] or parts[0], "jurisdiction": parts[2].upper()}
        )


def _policies(value: Any) -> dict[str, int | bool]:
    if not isinstance(value, dict) or not set(value) <= set(POLICY_TYPES):
        raise EnvelopeError("provisioning policies are malformed")
    out: dict[str, int | bool] = {}
    for name, item in value.items():
        if not isinstance(item, int) or (POLICY_TYPES[name] is bool) != isinstance(item, bool):
            raise EnvelopeError("provisioning policies are malformed")
        out[str(name)] = item
    return out


_PROVISIONING_KEYS: Final = frozenset(
    {
        "organisation",
        "server_url",
        "sealing_public_key",
        "signing_public_key",
        "receipt_public_key",
        "sites",
        "language",
        "allow_insecure_http",
    }
)


@dataclass(frozen=True, slots=True)
class Provisioning:
    """The content of a provisioning file: where the server is and which keys to trust.

    ``sites`` name the organisation's sites (id, name, jurisdiction); ``policies`` are settings
    the organisation locks on every device (names and types in :data:`POLICY_TYPES`).
    """

    organisation: str
    server_url: str
    sealing_public_key: bytes
    signing_public_key: bytes
    receipt_public_key: bytes
    sites: tuple[Site, ...]
    language: str = "en"
    allow_insecure_http: bool = False
    policies: dict[str, int | bool] = field(default_factory=dict)
    #: The organisation's match secret (32 bytes): the key of the children's match tokens
    #: (docs/privacy-matching.md). Only in the file the installer brings, never in a
    #: provisioning published through the server, which must not hold it.
    match_secret: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.match_secret is not None and len(self.match_secret) != 32:
            raise EnvelopeError("provisioning match secret is not 32 bytes")
        sites = tuple(s if isinstance(s, Site) else Site.from_json(s) for s in self.sites)
        object.__setattr__(self, "sites", sites)
        object.__setattr__(self, "policies", _policies(dict(self.policies)))

    def site(self, site_id: str) -> Site | None:
        return next((s for s in self.sites if s.id == site_id), None)

    def to_content(self) -> bytes:
        data: dict[str, Any] = {
            "organisation": self.organisation,
            "server_url": self.server_url,
            "sealing_public_key": b64e(self.sealing_public_key),
            "signing_public_key": b64e(self.signing_public_key),
            "receipt_public_key": b64e(self.receipt_public_key),
            "sites": [s.to_json() for s in self.sites],
            "language": self.language,
            "allow_insecure_http": self.allow_insecure_http,
        }
        if self.policies:
            data["policies"] = dict(self.policies)
        if self.match_secret is not None:
            data["match_secret"] = b64e(self.match_secret)
        return canonical(data)

    @classmethod
    def from_content(cls, content: bytes) -> Provisioning:
        data = parse_json(content, "provisioning")
        if not isinstance(data, dict) or not (
            _PROVISIONING_KEYS <= set(data) <= _PROVISIONING_KEYS | {"policies", "match_secret"}
        ):
            raise EnvelopeError("provisioning fields are wrong")
        if not isinstance(data["sites"], list):
            raise EnvelopeError("provisioning sites are malformed")
        return cls(
            organisation=str(data["organisation"]),
            server_url=str(data["server_url"]),
            sealing_public_key=b64d(data["sealing_public_key"], "sealing key"),
            signing_public_key=b64d(data["signing_public_key"], "signing key"),
            receipt_public_key=b64d(data["receipt_public_key"], "receipt key"),
            sites=tuple(Site.from_json(s) for s in data["sites"]),
            language=str(data["language"]),
            allow_insecure_http=bool(data["allow_insecure_http"]),
            policies=_policies(data.get("policies", {})),
            match_secret=(
                b64d(data["match_secret"], "match secret") if "match_secret" in data else None
            ),
        )

    @classmethod
    def verify_file(cls, data: bytes, pinned_signing_key: bytes | None) -> Provisioning:
        """Verify a provisioning file.

        On first use the file is checked against the signing key it carries (the installer
        brought it, so it is trusted on first use); afterwards only a file signed by the key
        already pinned on the device is accepted, so a forged file cannot swap the keys.
        """
        document = SignedDocument.from_bytes(data)
        if document.kind != "provisioning":
            raise SyncError("sync-bad-signature", what="provisioning file")
        provisioning = cls.from_content(document.content)
        key = pinned_signing_key or provisioning.signing_public_key
        verify_document(document, key, kind="provisioning")
        return provisioning
