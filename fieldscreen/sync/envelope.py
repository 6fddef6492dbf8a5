"""The sealed envelope: the unit of sync everywhere (HTTP, file bundles, the server's disk).

One envelope carries one finalised screening (or a draft sealed by travel mode, one audit-log
segment, or one case event), sealed with HPKE to the organisation's public key and signed by the
device's Ed25519 key. In plaintext it holds only what routing, deduplication and replay detection
need: ids, form id and version, the device's sequence number, a coarse (day) date, the key id,
the SHA-256 of the sealed payload, and a small ``aggregate`` object of non-identifying counts
fields that the server stores beside it.

The device signs :meth:`Envelope.signing_bytes`: a domain-separation prefix and the canonical
JSON of every field but the signature, the payload itself represented by its SHA-256. The seal
binds the record id, form id and version and device id (``crypto.record_sealing_info``, the same
binding the vault uses at finalise), so a payload moved into another envelope does not open.

Wire form (``to_bytes``/``to_json``): canonical JSON with ``sealed`` and ``signature`` in
base64; see ``docs/protocol.md``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import orjson

from fieldscreen import crypto
from fieldscreen.sync.canonical import b64d, b64e, canonical, parse_json
from fieldscreen.sync.errors import EnvelopeError

__all__ = [
    "COUNTED_KINDS",
    "ENVELOPE_VERSION",
    "EVENT_FORM",
    "KINDS",
    "MAX_SEALED_BYTES",
    "PAYLOAD_CEILING",
    "PAYLOAD_FLOOR",
    "Envelope",
    "build_envelope",
    "open_envelope",
    "pad_payload",
    "verify_envelope",
]

ENVELOPE_VERSION: Final = 1
#: Every envelope kind, in ONE place (the server's wire model and its ``kind_known`` check follow
#: it; a test holds them equal). ``draft``: an unfinished interview sealed by travel mode (or
#: the panic action), never to be continued on the laptop; the central export marks it as a
#: draft. ``audit``: a segment of the device's audit log. ``event``: one case event appended to a
#: screened child's case (a follow-up done, a referral made ...: ``fieldscreen.caseevents``),
#: each under its own record id, so events never overwrite one another.
KINDS: Final = ("screening", "draft", "audit", "event")
#: The kinds counted as screenings (sync summary, bundle, relay and server counts); the others
#: travel the same way and are counted apart, by kind.
COUNTED_KINDS: Final = ("screening", "draft")
#: The form id and version every ``event`` envelope names (an event has no form of its own).
EVENT_FORM: Final = ("event", "1")
SIGN_PREFIX: Final = b"fieldscreen envelope v1\n"
#: A sealed payload is at least an X25519 encapsulated key (32) plus an AEAD tag (16).
MIN_SEALED_BYTES: Final = 48
MAX_SEALED_BYTES: Final = 4 * 1024 * 1024
#: A payload is padded to a power of two from 4 KiB (:func:`pad_payload`), at most to what
#: still seals under :data:`MAX_SEALED_BYTES`.
PAYLOAD_FLOOR: Final = 4096
PAYLOAD_CEILING: Final = MAX_SEALED_BYTES - crypto.SEAL_OVERHEAD
MAX_AGGREGATE_BYTES: Final = 2048
MAX_AGGREGATE_KEYS: Final = 32

_DEVICE_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_FORM_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_KEY_ID = re.compile(r"[0-9a-f]{8,64}")
#: ``str(uuid)`` or ``uuid.hex``: lowercase, dashed or 32 hex digits.
_CANONICAL_UUID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32}"
)
_AGGREGATE_SCALARS: Final = (str, int, bool, type(None))
_AGG_KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")
_FIELDS: Final = frozenset(
    {
        "v",
        "record_id",
        "kind",
        "form_id",
        "form_version",
        "device_id",
        "seq",
        "created",
        "key_id",
        "sealed",
        "sha256",
        "aggregate",
        "signature",
    }
)

AggregateValue = str | int | bool | list[str] | None


@dataclass(frozen=True, slots=True)
class Envelope:
    """One sealed, signed record. Build with :func:`build_envelope`, parse with ``from_*``."""

    record_id: str
    kind: str
    form_id: str
    form_version: str
    device_id: str
    seq: int
    created: str
    key_id: str
    sealed: bytes = field(repr=False)
    sha256: str
    aggregate: Mapping[str, AggregateValue]
    signature: bytes = field(repr=False)

    def _header_fields(self) -> dict[str, Any]:
        return {
            "v": ENVELOPE_VERSION,
            "record_id": self.record_id,
            "kind": self.kind,
            "form_id": self.form_id,
            "form_version": self.form_version,
            "device_id": self.device_id,
            "seq": self.seq,
            "created": self.created,
            "key_id": self.key_id,
            "sha256": self.sha256,
            "aggregate": dict(self.aggregate),
        }

    def signed_fields(self) -> dict[str, Any]:
        """Every field the signature covers, in wire form."""
        return {**self._header_fields(), "sealed": b64e(self.sealed)}

    def signing_bytes(self) -> bytes:
        """The exact bytes the device signs: every field, with the sealed payload represented
        by its SHA-256 (which :func:`verify_envelope` checks against the payload). Signing the
        hash keeps the signed message small whatever the payload size (and the payload is not
        base64-encoded just to be left out)."""
        return SIGN_PREFIX + _canonical_header(self._header_fields())

    def to_json(self) -> dict[str, Any]:
        return {**self.signed_fields(), "signature": b64e(self.signature)}

    def to_bytes(self) -> bytes:
        return canonical(self.to_json())

    @classmethod
    def from_bytes(cls, data: bytes) -> Envelope:
        return cls.from_json(parse_json(data, "envelope"))

    @classmethod
    def from_json(cls, data: Any) -> Envelope:
        """Parse and check the shape of every field; raises :class:`EnvelopeError`."""
        if not isinstance(data, dict):
            raise EnvelopeError("envelope is not an object")
        if set(data) != _FIELDS:
            raise EnvelopeError("envelope fields are wrong")
        if data["v"] != ENVELOPE_VERSION or isinstance(data["v"], bool):
            raise EnvelopeError("envelope version is not supported")
        sealed = b64d(data["sealed"], "sealed payload")
        signature = b64d(data["signature"], "signature")
        envelope = cls(
            record_id=_record_id(data["record_id"]),
            kind=_choice(data["kind"], KINDS, "kind"),
            form_id=_match(data["form_id"], _FORM_TOKEN, "form id"),
            form_version=_match(data["form_version"], _FORM_TOKEN, "form version"),
            device_id=_match(data["device_id"], _DEVICE_ID, "device id"),
            seq=_seq(data["seq"]),
            created=_day(data["created"]),
            key_id=_match(data["key_id"], _KEY_ID, "key id"),
            sealed=sealed,
            sha256=_match(data["sha256"], _HEX64, "payload hash"),
            aggregate=_aggregate(data["aggregate"]),
            signature=signature,
        )
        if not MIN_SEALED_BYTES <= len(sealed) <= MAX_SEALED_BYTES:
            raise EnvelopeError("sealed payload has an impossible size")
        if len(signature) != 64:
            raise EnvelopeError("signature has the wrong size")
        if hashlib.sha256(sealed).hexdigest() != envelope.sha256:
            raise EnvelopeError("payload hash does not match")
        return envelope


def build_envelope(  # noqa: PLR0917 -- the vault calls it with the record's fields in order
    record_id: str,
    form_id: str,
    form_version: str,
    device_id: str,
    seq: int,
    created: dt.datetime | dt.date | str,
    payload_plaintext: bytes,
    org_sealing_public_key: bytes,
    device_signing_private_key: bytes,
    *,
    kind: str = "screening",
    aggregate: Mapping[str, AggregateValue] | None = None,
) -> Envelope:
    """Seal ``payload_plaintext`` (JSON) to the organisation and sign the envelope with the
    device key. The payload is padded first (:func:`pad_payload`).

    ``created`` is reduced to its day (UTC) so the envelope carries no precise time.
    """
    record_id = _record_id(record_id)
    _choice(kind, KINDS, "kind")
    info = crypto.record_sealing_info(record_id, form_id, form_version, device_id)
    padded = pad_payload(payload_plaintext)
    sealed = crypto.seal(org_sealing_public_key, padded, info=info, aad=b"")
    unsigned = Envelope(
        record_id=record_id,
        kind=kind,
        form_id=_match(form_id, _FORM_TOKEN, "form id"),
        form_version=_match(form_version, _FORM_TOKEN, "form version"),
        device_id=_match(device_id, _DEVICE_ID, "device id"),
        seq=_seq(seq),
        created=_coarse_day(created),
        key_id=key_id_hex(org_sealing_public_key),
        sealed=sealed,
        sha256=hashlib.sha256(sealed).hexdigest(),
        aggregate=_aggregate(dict(aggregate or {})),
        signature=b"",
    )
    signature = crypto.sign(device_signing_private_key, unsigned.signing_bytes())
    return Envelope(**{**_as_kwargs(unsigned), "signature": signature})


def verify_envelope(envelope: Envelope, device_public_key: bytes) -> None:
    """Raise :class:`EnvelopeError` unless the device's key signed exactly this envelope."""
    if hashlib.sha256(envelope.sealed).hexdigest() != envelope.sha256:
        raise EnvelopeError("payload hash does not match")
    if not crypto.verify(device_public_key, envelope.signing_bytes(), envelope.signature):
        raise EnvelopeError("signature does not verify")


def pad_payload(payload_plaintext: bytes) -> bytes:
    """The JSON payload padded with spaces to its size bucket: a power of two from
    :data:`PAYLOAD_FLOOR`, so that a sealed envelope's length says little about how much was
    answered or how many concerns were flagged. Payloads sealed before padding (and padded
    ones) open alike: trailing spaces are JSON whitespace, and :func:`open_envelope` drops them.
    """
    return crypto.pad_to_bucket(payload_plaintext, floor=PAYLOAD_FLOOR, ceiling=PAYLOAD_CEILING)


def open_envelope(envelope: Envelope, org_sealing_private_key: bytes) -> bytes:
    """Decrypt the payload (central team only, off the server), its padding taken off."""
    info = crypto.record_sealing_info(
        envelope.record_id, envelope.form_id, envelope.form_version, envelope.device_id
    )
    try:
        plain = crypto.open_sealed(org_sealing_private_key, envelope.sealed, info=info, aad=b"")
    except Exception:  # the crypto package's own error type; any failure means "does not open"
        raise EnvelopeError("sealed payload does not open with this key") from None
    return crypto.unpad(plain)


def key_id_hex(public_key: bytes) -> str:
    """The crypto package's key id as lowercase hex text."""
    return crypto.key_id(public_key).lower()


def _as_kwargs(envelope: Envelope) -> dict[str, Any]:
    return {name: getattr(envelope, name) for name in Envelope.__slots__}


def _record_id(value: Any) -> str:
    if not isinstance(value, str):
        raise EnvelopeError("record id is not a UUID")
    if _CANONICAL_UUID.fullmatch(value):  # the common case, without building a UUID
        return value
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        raise EnvelopeError("record id is not a UUID") from None
    if value not in {str(parsed), parsed.hex}:  # dashed, or 32 hex digits as the vault writes
        raise EnvelopeError("record id is not a canonical UUID")
    return value


def _choice(value: Any, choices: tuple[str, ...], what: str) -> str:
    if value not in choices:
        raise EnvelopeError(f"{what} is not one of {', '.join(choices)}")
    return str(value)


def _match(value: Any, pattern: re.Pattern[str], what: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise EnvelopeError(f"{what} is malformed")
    return value


def _seq(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value < 2**53:
        raise EnvelopeError("sequence number is out of range")
    return value


def _day(value: Any) -> str:
    text = _match(value, _DAY, "date")
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        raise EnvelopeError("date is malformed") from None
    return text


def _coarse_day(value: dt.datetime | dt.date | str) -> str:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return _day(value[:10])


def _aggregate(value: Any) -> dict[str, AggregateValue]:
    if not isinstance(value, dict) or len(value) > MAX_AGGREGATE_KEYS:
        raise EnvelopeError("aggregate is not a small object")
    out: dict[str, AggregateValue] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not _AGG_KEY.fullmatch(key):
            raise EnvelopeError("aggregate key is malformed")
        if isinstance(item, list):  # a list of codes (concerns, nationalities)
            if len(item) > 16 or not all(isinstance(v, str) and len(v) <= 64 for v in item):
                raise EnvelopeError("aggregate list is malformed")
            out[key] = list(item)
            continue
        if isinstance(item, str) and len(item) > 64:
            raise EnvelopeError("aggregate value is too long")
        if isinstance(item, float) or not isinstance(item, _AGGREGATE_SCALARS):
            raise EnvelopeError("aggregate value is not a string, integer or boolean")
        if isinstance(item, int) and not isinstance(item, bool) and abs(item) >= 2**53:
            raise EnvelopeError("aggregate value is out of range")
        out[key] = item
    if canonical_size(out) > MAX_AGGREGATE_BYTES:
        raise EnvelopeError("aggregate is too large")
    return out


def _canonical_header(fields: dict[str, Any]) -> bytes:
    """``canonical(fields)`` for an envelope's header (strings, integers below 2**53,
    booleans, null, and the aggregate's object of those and lists of strings, every key
    printable ASCII): orjson with sorted keys writes the same bytes whenever its output is
    printable ASCII (see :func:`canonical_size`; a test compares them), several times faster.
    Anything else is encoded the slow way."""
    fast = orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)
    if fast.isascii() and b"\x7f" not in fast:
        return fast
    return canonical(fields)


def canonical_size(value: Any) -> int:
    """``len(canonical(value))`` for JSON of strings, integers, booleans, null and lists.

    orjson writes the same bytes as :func:`canonical` up to key order whenever its output is
    printable ASCII (the same escapes for quotes, backslashes and control characters; a test
    checks every ASCII character), several times faster. Anything else (non-ASCII, and DEL,
    which only :func:`canonical` escapes) is measured the slow way.
    """
    fast = orjson.dumps(value)
    exact = fast.isascii() and b"\x7f" not in fast
    return len(fast) if exact else len(canonical(value))
