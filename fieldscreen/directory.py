"""The site's service directory: who a specialist can refer a child to (Qt-free).

A directory (format in ``docs/service-directory.md``) arrives signed by the organisation's key,
pulled from the server on sync or loaded from a file, and is checked twice before use: the
signature (by :func:`fieldscreen.sync.signed.verify_document`), then its content here
(:meth:`ServiceDirectory.from_content`), so a directory that is signed but malformed is refused
as well and the one in use stays. The sample directories of ``resources/samples`` serve demo
sites only; they are marked ``sample_data`` and the app says so wherever it shows them.

Public API::

    ServiceDirectory.from_content(content, source, name="") -> ServiceDirectory
    directory.providers_for(service_type) -> tuple[Provider, ...]
    directory.partner(partner_id) -> Partner | None     # a partner that receives handovers
    directory.device_key(device_id) -> bytes | None     # a device the organisation lists
    sample_directory(site_id) -> ServiceDirectory | None
    pick(documents, site_id) -> ServiceDirectory | None     # the newest for the site
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fieldscreen.errors import KnownError

__all__ = [
    "FORMAT",
    "Partner",
    "Provider",
    "ServiceDirectory",
    "pick",
    "sample_directory",
]

FORMAT = "fieldscreen-service-directory"
_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_SITE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_LANG = re.compile(r"[a-z]{3}")
_MAX_SERVICES = 2000
_MAX_PARTNERS = 500
_MAX_DEVICES = 5000
_DEVICE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_RECIPIENT = re.compile(r"[a-z0-9_]{1,40}")
_MAX_TEXT = 2000

Texts = Mapping[str, str]


def _invalid(name: str, reason: str) -> KnownError:
    return KnownError("directory-invalid", name=name or "-", reason=reason)


def _texts(value: Any, name: str, what: str, *, required: bool = True) -> dict[str, str]:
    if value is None and not required:
        return {}
    if not isinstance(value, dict) or not value:
        raise _invalid(name, f"{what} is not a text in en/es")
    out: dict[str, str] = {}
    for lang, text in value.items():
        if lang not in {"en", "es"} or not isinstance(text, str) or len(text) > _MAX_TEXT:
            raise _invalid(name, f"{what} is not a text in en/es")
        out[lang] = text
    return out


def _words(value: Any, name: str, what: str, pattern: re.Pattern[str]) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(
        isinstance(v, str) and pattern.fullmatch(v) for v in value
    ):
        raise _invalid(name, f"{what} is malformed")
    return tuple(value)


def text_in(texts: Texts, lang: str) -> str:
    """``texts`` in ``lang``, else in the other language, else empty."""
    return texts.get(lang) or next(iter(texts.values()), "") if texts else ""


@dataclass(frozen=True, slots=True)
class Provider:
    """One service of the directory, as the results page and the referral sheet show it."""

    id: str
    name: Texts
    kind: str
    service_types: tuple[str, ...]
    phone: str
    email: str
    address: Texts
    hours: Texts
    languages: tuple[str, ...]
    notes: Texts

    @classmethod
    def from_json(cls, data: Any, name: str) -> Provider:
        if not isinstance(data, dict):
            raise _invalid(name, "a service is not an object")
        service_id = data.get("id")
        if not isinstance(service_id, str) or not _ID.fullmatch(service_id):
            raise _invalid(name, "a service id is malformed")
        kind = data.get("provider_kind")
        if kind not in {"authority", "ngo", "health", "own_agency"}:
            raise _invalid(name, f"service {service_id} has an unknown provider kind")
        contact = data.get("contact", {})
        if not isinstance(contact, dict):
            raise _invalid(name, f"service {service_id} has a malformed contact")
        phone, email = contact.get("phone", ""), contact.get("email", "")
        if not isinstance(phone, str) or not isinstance(email, str):
            raise _invalid(name, f"service {service_id} has a malformed contact")
        types = _words(data.get("service_types"), name, "service types", re.compile(r"\w{1,64}"))
        if not types:
            raise _invalid(name, f"service {service_id} offers no service type")
        return cls(
            id=service_id,
            name=_texts(data.get("name"), name, "a service name"),
            kind=kind,
            service_types=types,
            phone=phone[:200],
            email=email[:200],
            address=_texts(contact.get("address"), name, "an address", required=False),
            hours=_texts(data.get("hours"), name, "opening hours", required=False),
            languages=_words(data.get("languages", []), name, "languages", _LANG),
            notes=_texts(data.get("notes"), name, "notes", required=False),
        )

    def contact_line(self, lang: str) -> str:
        """Phone, e-mail and address on one line (what is known of them)."""
        parts = (self.phone, self.email, text_in(self.address, lang))
        return " · ".join(p for p in parts if p)


def _key(value: Any, name: str, owner: str, what: str) -> bytes:
    if not isinstance(value, str):
        raise _invalid(name, f"{owner} has a malformed {what} key")
    try:
        key = base64.b64decode(value.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise _invalid(name, f"{owner} has a malformed {what} key") from None
    if len(key) != 32:
        raise _invalid(name, f"{owner} has a malformed {what} key")
    return key


@dataclass(frozen=True, slots=True)
class Partner:
    """A partner organisation that receives a child's case (a handover, ``docs/handover.md``).

    ``recipient`` is the consent form's recipient code (``share_<recipient>``) the child answered
    for this partner; ``language`` (``en`` or ``es``) the language its packets are written in.
    ``sealing_key`` (X25519, for HPKE) and ``signing_key`` (Ed25519, for its acknowledgements)
    are empty when the directory names the partner without keys: it cannot receive packets.
    """

    id: str
    name: Texts
    recipient: str
    language: str
    country: str
    sealing_key: bytes
    signing_key: bytes

    @property
    def can_receive(self) -> bool:
        return bool(self.sealing_key and self.signing_key)

    @classmethod
    def from_json(cls, data: Any, name: str) -> Partner:
        if not isinstance(data, dict):
            raise _invalid(name, "a partner is not an object")
        partner_id = data.get("id")
        if not isinstance(partner_id, str) or not _ID.fullmatch(partner_id):
            raise _invalid(name, "a partner id is malformed")
        recipient = data.get("recipient")
        if not isinstance(recipient, str) or not _RECIPIENT.fullmatch(recipient):
            raise _invalid(name, f"partner {partner_id} has a malformed recipient code")
        language = data.get("language", "en")
        if language not in {"en", "es"}:
            raise _invalid(name, f"partner {partner_id} has a language other than en or es")
        country = data.get("country", "")
        if not isinstance(country, str) or len(country) > 2:
            raise _invalid(name, f"partner {partner_id} has a malformed country")
        keys = data.get("keys", {})
        if not isinstance(keys, dict) or not set(keys) <= {"x25519", "ed25519"}:
            raise _invalid(name, f"partner {partner_id} has malformed keys")
        sealing = (
            _key(keys["x25519"], name, f"partner {partner_id}", "x25519")
            if "x25519" in keys
            else b""
        )
        signing = (
            _key(keys["ed25519"], name, f"partner {partner_id}", "ed25519")
            if "ed25519" in keys
            else b""
        )
        return cls(
            id=partner_id,
            name=_texts(data.get("name"), name, "a partner name"),
            recipient=recipient,
            language=language,
            country=country,
            sealing_key=sealing,
            signing_key=signing,
        )


@dataclass(frozen=True, slots=True)
class ServiceDirectory:
    """A verified directory of one site. ``source``: ``server``, ``file`` or ``sample``."""

    directory_id: str
    version: str
    site_id: str
    site_name: Texts
    sample: bool
    notice: Texts
    providers: tuple[Provider, ...]
    source: str = "server"
    #: Partner organisations that receive handovers (optional in the document: older
    #: directories have none).
    partners: tuple[Partner, ...] = ()
    #: The site's devices the organisation vouches for (id, Ed25519 key), as the server's
    #: roster had them active when the directory was published: what a partner checks a
    #: handover packet's device against (docs/handover.md). Optional: older directories list
    #: none.
    devices: tuple[tuple[str, bytes], ...] = ()
    #: The signed document this directory was read from (empty for a sample or a bare
    #: content): a handover packet carries it, for the partner to check with the
    #: organisation's key.
    signed: bytes = field(default=b"", repr=False, compare=False)

    @classmethod
    def from_content(
        cls, content: bytes | Mapping[str, Any], source: str, name: str = ""
    ) -> ServiceDirectory:
        """Parse and check a directory document; raises ``directory-invalid`` when it is not one."""
        if isinstance(content, bytes | bytearray):
            try:
                data = json.loads(bytes(content).decode("utf-8"))
            except (UnicodeDecodeError, ValueError, RecursionError):
                raise _invalid(name, "not JSON") from None
        else:
            data = dict(content)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise _invalid(name, "not a service directory")
        if data.get("format_version") != 1:
            raise _invalid(name, "a format version this app does not know")
        site = data.get("site")
        if not isinstance(site, dict) or not isinstance(site.get("id"), str):
            raise _invalid(name, "the site is missing")
        if not _SITE.fullmatch(site["id"]):
            raise _invalid(name, "the site id is malformed")
        services = data.get("services")
        if not isinstance(services, list) or len(services) > _MAX_SERVICES:
            raise _invalid(name, "the services are missing")
        providers = tuple(Provider.from_json(s, name) for s in services)
        if len({p.id for p in providers}) != len(providers):
            raise _invalid(name, "two services share an id")
        raw_partners = data.get("partners", [])
        if not isinstance(raw_partners, list) or len(raw_partners) > _MAX_PARTNERS:
            raise _invalid(name, "the partners are malformed")
        partners = tuple(Partner.from_json(p, name) for p in raw_partners)
        if len({p.id for p in partners}) != len(partners):
            raise _invalid(name, "two partners share an id")
        devices = _devices(data.get("devices", []), name)
        version, directory_id = data.get("version"), data.get("directory_id")
        if not isinstance(version, str) or not isinstance(directory_id, str):
            raise _invalid(name, "the version or id is missing")
        sample = data.get("sample_data", False)
        if not isinstance(sample, bool):
            raise _invalid(name, "sample_data is not true or false")
        return cls(
            directory_id=directory_id[:128],
            version=version[:64],
            site_id=site["id"],
            site_name=_texts(site.get("name"), name, "the site name", required=False),
            sample=sample,
            notice=_texts(data.get("notice"), name, "the notice", required=False),
            providers=providers,
            source=source,
            partners=partners,
            devices=devices,
        )

    def providers_for(self, service_type: str) -> tuple[Provider, ...]:
        return tuple(p for p in self.providers if service_type in p.service_types)

    def partner(self, partner_id: str) -> Partner | None:
        return next((p for p in self.partners if p.id == partner_id), None)

    def device_key(self, device_id: str) -> bytes | None:
        """The Ed25519 key the organisation lists for ``device_id`` (None when unlisted)."""
        return next((key for did, key in self.devices if did == device_id), None)


def _devices(value: Any, name: str) -> tuple[tuple[str, bytes], ...]:
    """The directory's ``devices``: ``[{"id": ..., "ed25519": base64}]``, ids unique."""
    if not isinstance(value, list) or len(value) > _MAX_DEVICES:
        raise _invalid(name, "the devices are malformed")
    out: list[tuple[str, bytes]] = []
    for item in value:
        if not isinstance(item, dict) or set(item) != {"id", "ed25519"}:
            raise _invalid(name, "a device is malformed")
        device_id = item["id"]
        if not isinstance(device_id, str) or not _DEVICE_ID.fullmatch(device_id):
            raise _invalid(name, "a device id is malformed")
        out.append((device_id, _key(item["ed25519"], name, f"device {device_id}", "ed25519")))
    if len({d for d, _ in out}) != len(out):
        raise _invalid(name, "two devices share an id")
    return tuple(out)


def sample_directory(site_id: str) -> ServiceDirectory | None:
    """The sample directory of a demo site (``resources/samples``), None for any other site."""
    from fieldscreen.paths import resource_path

    try:
        folder = resource_path("samples")
    except KnownError:
        return None
    for path in sorted(folder.glob("service-directory-*.json")):
        try:
            directory = ServiceDirectory.from_content(path.read_bytes(), "sample", path.name)
        except (KnownError, OSError):
            continue
        if directory.site_id == site_id and directory.sample:
            return directory
    return None


def pick(directories: Iterable[ServiceDirectory], site_id: str) -> ServiceDirectory | None:
    """The newest directory of ``site_id`` among ``directories`` (None when there is none)."""
    mine = [d for d in directories if d.site_id == site_id]
    return max(mine, key=lambda d: d.version) if mine else None
