"""A child's case handed over to a partner organisation (Qt-free; docs/handover.md).

A *handover packet* carries, for one child, only what the child consented to share with that
partner: the partner's recipient code (``share_<recipient>`` of the consent form) must be
``yes`` and no raised rule may withhold it, unless a coordinator releases it with a reason (the
consent form's exception). It holds the best-interests summary (tier, concerns, protection
status, the recommendation) and the return plan (form F, ``fs_return``), labelled in the
partner's language; never another form's answers, the child's answers for other recipients,
free-text notes or photos. Its concerns are only those the consent to this recipient covers
(:func:`shared_concerns`: raised for a service of the recipient the child did not decline).

The packet is sealed (HPKE, :func:`fieldscreen.crypto.seal`) to the partner's X25519 key from
the signed service directory and signed by the device's Ed25519 key, so neither the server nor a
relay can read or change it. The partner opens it with ``fieldscreen-partner open``
(:mod:`fieldscreen.partner_cli`) and answers with an acknowledgement signed by its Ed25519 key,
which the laptop checks against the directory's key (:func:`verify_ack`).

The device's key is the organisation's word, not the packet's: the sealed content carries the
signed service directory the partner was taken from, whose ``devices`` list this device with
its Ed25519 key (the server's roster when the directory was published). The partner checks
that directory against the organisation's signing key it holds, and the packet's signature
against the key the directory lists, so a packet signed by a key the organisation never listed
is refused (``handover-device-unknown``) whoever sealed it.

Public API::

    packet_content(record, card, partner, case_id, ...) -> dict     # what the partner reads
    seal_packet(content, partner, device_id, device_key, sign, directory) -> bytes
    open_packet(data, name, partner_id, sealing_private, org_key) -> (dict, digest)
    make_ack(content, digest, partner_id, signing_private) -> bytes
    verify_ack(data, name, directory) -> dict
    check_ack(data, name, signing_key) -> dict      # against one key (the server's check)
    summary_html([content_en, content_es]) -> str   # the bilingual summary for a PDF
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from fieldscreen import crypto
from fieldscreen.directory import Partner, ServiceDirectory
from fieldscreen.errors import DeviceError, KnownError
from fieldscreen.sync.canonical import b64d, b64e, canonical, parse_json

__all__ = [
    "ACK_FORMAT",
    "PACKET_FORMAT",
    "RETURN_FORM",
    "SUMMARY_FIELDS",
    "KnownDirectories",
    "ack_partner",
    "check_ack",
    "consent_basis",
    "make_ack",
    "open_packet",
    "packet_content",
    "packet_header",
    "seal_packet",
    "shared_concerns",
    "summary_html",
    "summary_text",
    "verify_ack",
]

PACKET_FORMAT: Final = "fieldscreen-handover-packet"
ACK_FORMAT: Final = "fieldscreen-handover-ack"
CONTENT_FORMAT: Final = "fieldscreen-handover"
RETURN_FORM: Final = "fs_return"
#: The case card's fields that make the best-interests summary.
SUMMARY_FIELDS: Final = (
    "tier",
    "concerns",
    "protection_status",
    "age_years",
    "age_band",
    "child_preferred_language",
    "reunification_recommendation",
    "trafficking_concern",
    "return_trafficking_risk",
)
_PACKET_SIGN: Final = b"fieldscreen handover packet v1\n"
_ACK_SIGN: Final = b"fieldscreen handover ack v1\n"
_INFO: Final = b"fieldscreen handover v1"
_MAX_PACKET: Final = 4 * 1024 * 1024
#: A packet's id (``uuid4().hex``) and a case's (a record id): what the partner's command
#: names its files from, so a packet holding anything else is refused as tampered.
_PACKET_ID: Final = re.compile(r"[0-9a-f]{32}")
_CASE_ID: Final = re.compile(r"[0-9A-Za-z-]{1,64}")
#: An acknowledgement's time, to the minute as :func:`make_ack` writes it.
_ACK_RECEIVED: Final = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}Z")
#: Kinds of the return form's rows that are not answers the partner needs.
_SKIP_KINDS: Final = {"hidden", "calculate", "note", "begin group", "end group", "group"}
_FREE_TEXT: Final = {"text"}
#: The concerns the case card's trafficking fields sum up: those fields go only with one of
#: them (a trafficking concern kept out must not come back through its summary).
_TRAFFICKING: Final = frozenset({"trafficked_presumed", "at_risk_trafficking"})
_TRAFFICKING_FIELDS: Final = ("trafficking_concern", "return_trafficking_risk")


def _minute(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%MZ")


def consent_basis(record: Mapping[str, Any], recipient: str, *, release_reason: str = "") -> str:
    """``consent`` when the child consented to ``recipient`` and no raised rule withholds it;
    ``supervisor-release`` when it did not but ``release_reason`` is given (the caller checks
    the role and audits it).

    Raises:
        DeviceError: ``handover-not-consented`` or ``handover-withheld`` without a release.
    """
    consent = (record.get("forms") or {}).get("fs_consent") or {}
    risks = record.get("risk") or {}
    withheld = {
        str(w) for r in risks.values() if isinstance(r, Mapping) for w in r.get("withholds") or ()
    } - {
        str(x.get("name") if isinstance(x, Mapping) else x)
        for r in risks.values()
        if isinstance(r, Mapping)
        for x in r.get("releases") or ()
    }
    if consent.get(f"share_{recipient}") == "yes" and recipient not in withheld:
        return "consent"
    if release_reason.strip():
        return "supervisor-release"
    if recipient in withheld:
        raise DeviceError("handover-withheld", recipient=recipient)
    raise DeviceError("handover-not-consented", recipient=recipient)


def shared_concerns(record: Mapping[str, Any], recipient: str) -> frozenset[str]:
    """The concern codes the child's consent lets go to ``recipient``: those named by a raised
    rule of the record's forms that refers the child to a service of that recipient
    (``lists/service_types.csv``'s ``recipient`` column) which the child did not decline in
    that form (its ``declines``, after a supervisor's release). Consent to a recipient is
    consent to share what is needed for its services; a concern raised only for the services
    of others (a disclosure of violence the child wants a GBV specialist to hear, not the
    receiving shelter) is none of this recipient's. A rule the built-in form no longer has,
    a record without its raised rules, or a rule that refers to nobody, shares nothing."""
    from fieldscreen.forms.library import builtin_form, builtin_list

    recipients = {
        c.name: str(c.extra.get("recipient") or "") for c in builtin_list("service_types")
    }
    out: set[str] = set()
    for form_id, risk in dict(record.get("risk") or {}).items():
        if not isinstance(risk, Mapping):
            continue
        try:
            rules = {r.name: r for r in builtin_form(str(form_id)).rules}
        except KnownError:
            continue
        released = {
            str(x.get("name") if isinstance(x, Mapping) else x) for x in risk.get("releases") or ()
        }
        declined = {str(d) for d in risk.get("declines") or ()} - released
        for flag in risk.get("flags") or ():
            rule = rules.get(str(flag))
            if rule is not None and any(
                recipients.get(s) == recipient and s not in declined for s in rule.referrals
            ):
                out.update(rule.concerns)
    return frozenset(out)


def _summary(card: Mapping[str, Any], record: Mapping[str, Any], recipient: str) -> dict[str, Any]:
    """The case card's summary fields, its concerns only those :func:`shared_concerns`
    lets go to ``recipient`` (the card's order), the trafficking fields only with one of
    the trafficking concerns."""
    summary = {k: card[k] for k in SUMMARY_FIELDS if card.get(k) not in (None, "", [])}
    allowed = shared_concerns(record, recipient)
    concerns = [str(c) for c in card.get("concerns") or () if str(c) in allowed]
    if concerns:
        summary["concerns"] = concerns
    else:
        summary.pop("concerns", None)
    if not _TRAFFICKING & set(concerns):
        for name in _TRAFFICKING_FIELDS:
            summary.pop(name, None)
    return summary


def _display(field: Any, value: Any, lang: str) -> Any:
    if field is None or not field.choices:
        return value
    names = value if isinstance(value, list) else [value]
    labels = {c.name: c.label.get(lang) or c.name for c in field.choices}
    shown = [labels.get(str(v), str(v)) for v in names]
    return shown if isinstance(value, list) else shown[0]


def _return_plan(values: Mapping[str, Any], lang: str) -> list[dict[str, Any]]:
    """The return form's answers (no hidden, computed or free-text rows), labelled in ``lang``."""
    from fieldscreen.forms.library import builtin_form

    try:
        form = builtin_form(RETURN_FORM)
    except KnownError:
        return []
    out: list[dict[str, Any]] = []
    for field in form.fields.values():
        kind = field.kind.split(" ")[0] if field.kind else ""
        if field.kind in _SKIP_KINDS or kind in _SKIP_KINDS or kind in _FREE_TEXT:
            continue
        if field.name.startswith(("share_", "ctx_")):
            continue
        value = values.get(field.name)
        if value in (None, "", []):
            continue
        out.append(
            {
                "field": field.name,
                "label": field.label.get(lang) or field.name,
                "value": _display(field, value, lang),
            }
        )
    return out


def packet_content(
    record: Mapping[str, Any],
    card: Mapping[str, Any],
    partner: Partner,
    case_id: str,
    *,
    site: str = "",
    when: dt.datetime | None = None,
    release_reason: str = "",
    packet_id: str | None = None,
) -> dict[str, Any]:
    """What the partner reads: only what the child consented to share with it (module doc).

    Raises:
        DeviceError: ``handover-partner-no-keys``, ``handover-not-consented``,
            ``handover-withheld``.
    """
    if not partner.can_receive:
        raise DeviceError("handover-partner-no-keys", partner=partner.id)
    basis = consent_basis(record, partner.recipient, release_reason=release_reason)
    lang = partner.language
    summary = _summary(card, record, partner.recipient)
    forms = record.get("forms") or {}
    return {
        "format": CONTENT_FORMAT,
        "format_version": 1,
        "packet_id": packet_id or uuid.uuid4().hex,
        "case_id": case_id,
        "partner": partner.id,
        "recipient": partner.recipient,
        "language": lang,
        "site": site,
        "created": _minute(when or dt.datetime.now(dt.UTC)),
        "basis": basis,
        "release_reason": release_reason.strip() if basis == "supervisor-release" else "",
        "summary": summary,
        "return_plan": _return_plan(forms.get(RETURN_FORM) or {}, lang),
    }


def _aad(header: Mapping[str, Any]) -> bytes:
    return canonical({k: header[k] for k in ("packet_id", "partner", "device_id")})


def seal_packet(  # noqa: PLR0917 -- the packet's parts, in the order they are read
    content: Mapping[str, Any],
    partner: Partner,
    device_id: str,
    device_key: bytes,
    sign: Callable[[bytes], bytes],
    directory: bytes,
) -> bytes:
    """The packet file: ``content`` and ``directory`` (the signed service directory document
    that lists this device, :attr:`ServiceDirectory.signed`) sealed to the partner's key,
    signed by the device."""
    header = {
        "format": PACKET_FORMAT,
        "format_version": 1,
        "packet_id": str(content["packet_id"]),
        "partner": partner.id,
        "device_id": device_id,
        "device_key": b64e(device_key),
    }
    inner = {**content, "directory": b64e(directory)}
    plaintext = crypto.pad_to_bucket(canonical(inner), floor=4096, ceiling=_MAX_PACKET)
    sealed = crypto.seal(partner.sealing_key, plaintext, info=_INFO, aad=_aad(header))
    body = {**header, "sealed": b64e(sealed)}
    return canonical({**body, "signature": b64e(sign(_PACKET_SIGN + canonical(body)))})


def _tampered(name: str) -> DeviceError:
    return DeviceError("handover-packet-tampered", name=name[:200])


def _parse(data: bytes, name: str, fmt: str, fields: Iterable[str]) -> dict[str, Any]:
    if len(data) > _MAX_PACKET * 2:
        raise _tampered(name)
    try:
        doc = parse_json(data, "handover")
    except KnownError:
        raise _tampered(name) from None
    if not isinstance(doc, dict) or doc.get("format") != fmt or set(doc) != set(fields):
        raise _tampered(name)
    return doc


_PACKET_FIELDS: Final = (
    "format",
    "format_version",
    "packet_id",
    "partner",
    "device_id",
    "device_key",
    "sealed",
    "signature",
)


def packet_header(data: bytes, name: str) -> dict[str, Any]:
    """The packet file's fields (its content still sealed) once they are a packet's and the
    signature checks against the device key in the header: what a server may check of a
    packet that came without the device's signed request (in a USB bundle), with the key of
    the device its roster holds, without opening it.

    Raises:
        DeviceError: ``handover-packet-tampered``.
    """
    doc = _parse(data, name, PACKET_FORMAT, _PACKET_FIELDS)
    try:
        device_key = b64d(doc["device_key"], "device key")
        signature = b64d(doc["signature"], "signature")
    except KnownError:
        raise _tampered(name) from None
    body = {k: v for k, v in doc.items() if k != "signature"}
    if (
        len(device_key) != 32
        or not all(isinstance(doc[k], str) for k in ("packet_id", "partner", "device_id"))
        or not crypto.verify(device_key, _PACKET_SIGN + canonical(body), signature)
    ):
        raise _tampered(name)
    return doc


#: The newest directory of each site a partner has checked a packet against: site id ->
#: (the directory, its signed document's bytes). Kept by ``fieldscreen-partner`` beside its
#: key file and checked again against the organisation's key when read.
KnownDirectories = dict[str, tuple[ServiceDirectory, bytes]]


def open_packet(
    data: bytes,
    name: str,
    partner_id: str,
    sealing_private: bytes,
    org_key: bytes,
    *,
    known: KnownDirectories | None = None,
) -> tuple[dict[str, Any], str]:
    """Verify the device's signature, decrypt with the partner's key, and check the device
    against the directory it carries, signed by ``org_key`` (the organisation's Ed25519 key);
    the content (with ``device_id`` and the ``directory_version`` it was checked against) and
    the packet's SHA-256 (which the acknowledgement names).

    Raises:
        DeviceError: ``handover-packet-tampered`` (not a packet, or changed since it was
            signed), ``handover-wrong-key`` (sealed to another partner),
            ``handover-device-unknown`` (signed by a key the organisation does not list for
            that device in a directory it signed for the packet's site),
            ``handover-device-withdrawn`` (``known`` holds a newer directory of that site,
            which no longer lists the device with that key: a laptop revoked since). A newer
            directory than ``known`` holds for its site replaces it there.
    """
    doc = packet_header(data, name)
    try:
        sealed = b64d(doc["sealed"], "sealed")
    except KnownError:
        raise _tampered(name) from None
    if doc["partner"] != partner_id:
        raise DeviceError("handover-wrong-key", name=name[:200], partner=str(doc["partner"])[:64])
    try:
        plaintext = crypto.open_sealed(sealing_private, sealed, info=_INFO, aad=_aad(doc))
    except crypto.CryptoError:
        raise DeviceError(
            "handover-wrong-key", name=name[:200], partner=str(doc["partner"])[:64]
        ) from None
    try:
        content = parse_json(crypto.unpad(plaintext), "handover")
    except KnownError:
        raise _tampered(name) from None
    if (
        not isinstance(content, dict)
        or content.get("packet_id") != doc["packet_id"]
        or content.get("partner") != partner_id
        or not isinstance(doc["packet_id"], str)
        or not _PACKET_ID.fullmatch(doc["packet_id"])
        or not isinstance(content.get("case_id"), str)
        or not _CASE_ID.fullmatch(content["case_id"])
    ):
        raise _tampered(name)
    # The signature so far is the header key's own: anyone may seal to a published key. The
    # organisation's word for the device is the signed directory inside.
    version = _vouched(content.pop("directory", None), org_key, doc, name, known)
    content["device_id"] = doc["device_id"]
    content["directory_version"] = version
    return content, hashlib.sha256(data).hexdigest()


def _vouched(
    carried: Any,
    org_key: bytes,
    header: Mapping[str, Any],
    name: str,
    known: KnownDirectories | None,
) -> str:
    """The version of the directory ``carried`` (base64 of a signed document) once it is
    signed by ``org_key``, lists the packet's device with the key that signed the packet,
    and no newer directory of its site in ``known`` has dropped that device."""
    from fieldscreen.sync.signed import verify_document

    device = str(header["device_id"])[:64]
    unknown = DeviceError("handover-device-unknown", name=name[:200], device=device)
    try:
        if not isinstance(carried, str):
            raise unknown
        signed = b64d(carried, "directory")
        document = verify_document(signed, org_key, kind="directory")
        directory = ServiceDirectory.from_content(document.content, "packet", name)
    except KnownError:
        raise unknown from None
    key = b64d(str(header["device_key"]), "device key")
    listed = directory.device_key(str(header["device_id"]))
    if listed is None or listed != key:
        raise unknown
    if known is not None:
        newest = known.get(directory.site_id)
        if newest is not None and newest[0].version > directory.version:
            if newest[0].device_key(str(header["device_id"])) != key:
                raise DeviceError(
                    "handover-device-withdrawn",
                    name=name[:200],
                    device=device,
                    version=newest[0].version[:64],
                )
        elif newest is None or directory.version > newest[0].version:
            known[directory.site_id] = (directory, signed)
    return directory.version


_ACK_FIELDS: Final = (
    "format",
    "format_version",
    "packet_id",
    "case_id",
    "partner",
    "digest",
    "received",
    "signature",
)


def make_ack(
    content: Mapping[str, Any],
    digest: str,
    partner_id: str,
    signing_private: bytes,
    *,
    when: dt.datetime | None = None,
) -> bytes:
    """The partner's acknowledgement of one opened packet, signed with its Ed25519 key."""
    body = {
        "format": ACK_FORMAT,
        "format_version": 1,
        "packet_id": str(content["packet_id"]),
        "case_id": str(content["case_id"]),
        "partner": partner_id,
        "digest": digest,
        "received": _minute(when or dt.datetime.now(dt.UTC)),
    }
    signature = crypto.sign(signing_private, _ACK_SIGN + canonical(body))
    return canonical({**body, "signature": b64e(signature)})


def verify_ack(data: bytes, name: str, directory: ServiceDirectory | None) -> dict[str, Any]:
    """The acknowledgement's fields once its signature checks against the partner's key in
    the signed directory.

    Raises:
        DeviceError: ``handover-ack-forged`` (not signed by the partner the directory names,
            or not an acknowledgement), ``handover-partner-unknown``.
    """
    partner_id = ack_partner(data, name)
    partner = directory.partner(partner_id) if directory else None
    if partner is None:
        raise DeviceError("handover-partner-unknown", partner=partner_id[:64])
    return check_ack(data, name, partner.signing_key)


def ack_partner(data: bytes, name: str) -> str:
    """The partner an acknowledgement says it is from (not yet checked: :func:`check_ack`).

    Raises:
        DeviceError: ``handover-ack-forged`` (not an acknowledgement).
    """
    try:
        doc = _parse(data, name, ACK_FORMAT, _ACK_FIELDS)
    except KnownError:
        raise DeviceError("handover-ack-forged", name=name[:200]) from None
    return str(doc["partner"])


def check_ack(data: bytes, name: str, signing_key: bytes) -> dict[str, Any]:
    """The acknowledgement's fields once its signature checks against ``signing_key`` (the
    partner's Ed25519 key: the laptop's from its signed directory, the server's from the one
    the admin added the partner with).

    Raises:
        DeviceError: ``handover-ack-forged``.
    """
    try:
        doc = _parse(data, name, ACK_FORMAT, _ACK_FIELDS)
        signature = b64d(doc["signature"], "signature")
    except KnownError:
        raise DeviceError("handover-ack-forged", name=name[:200]) from None
    body = {k: v for k, v in doc.items() if k != "signature"}
    if len(signing_key) != 32 or not crypto.verify(
        signing_key, _ACK_SIGN + canonical(body), signature
    ):
        raise DeviceError("handover-ack-forged", name=name[:200])
    if body["format_version"] != 1 or not (
        all(isinstance(body[k], str) for k in ("packet_id", "case_id", "partner", "digest"))
        and isinstance(body["received"], str)
        and _ACK_RECEIVED.fullmatch(body["received"])
    ):  # signed, but not an acknowledgement's fields: nothing of it reaches a case card
        raise DeviceError("handover-ack-forged", name=name[:200])
    return body


_HEADINGS: Final = {
    "en": ("Case handover", "Best-interests summary", "Return plan", "Consent"),
    "es": (
        "Traspaso del caso",
        "Resumen del interés superior",
        "Plan de retorno",
        "Consentimiento",
    ),
}
_BASIS: Final = {
    "consent": (
        "the child consented to share with you",
        "la niña o el niño consintió compartirlo con ustedes",
    ),
    "supervisor-release": (
        "shared without the child's consent, released by a coordinator",
        "compartido sin el consentimiento de la niña o el niño, con la autorización de "
        "un(a) coordinador(a)",
    ),
}


def summary_text(content: Mapping[str, Any]) -> str:
    """The packet's summary as plain text in its language (what the partner reads first):
    the summary's fields, tiers, concerns and choices by their labels (as :func:`summary_html`)."""
    lang = "es" if content.get("language") == "es" else "en"
    title, summary_title, plan_title, consent_title = _HEADINGS[lang]
    basis = _BASIS.get(str(content.get("basis")), ("", ""))[1 if lang == "es" else 0]
    lines = [
        f"{title} {str(content.get('case_id', ''))[:6].upper()} — {content.get('created', '')}",
        f"{consent_title}: {basis}",
    ]
    if content.get("release_reason"):
        lines.append(f"  {content['release_reason']}")
    lines += ["", summary_title]
    for key, value in dict(content.get("summary") or {}).items():
        label = _FIELD_LABELS.get(key, (key, key))[lang == "es"]
        lines.append(f"  {label}: {_summary_value(key, value, lang)}")
    lines += ["", plan_title]
    for row in content.get("return_plan") or ():
        value = row.get("value")
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        lines.append(f"  {row.get('label')}: {shown}")
    return "\n".join(lines) + "\n"


#: The summary's fields as a partner without the software reads them (English, Spanish).
_FIELD_LABELS: Final = {
    "tier": ("Urgency", "Urgencia"),
    "concerns": ("Protection concerns", "Preocupaciones de protección"),
    "protection_status": ("Protection status", "Situación de protección"),
    "age_years": ("Age (years)", "Edad (años)"),
    "age_band": ("Age band", "Rango de edad"),
    "child_preferred_language": ("Language the child prefers", "Idioma que prefiere"),
    "reunification_recommendation": (
        "Reunification recommendation",
        "Recomendación sobre la reunificación",
    ),
    "trafficking_concern": ("Trafficking concern", "Preocupación de trata"),
    "return_trafficking_risk": ("Risk of trafficking on return", "Riesgo de trata al retornar"),
}
_TIER_LABELS: Final = {
    "T0": ("Act now", "Actuar ya"),
    "T1": ("Within 24 hours", "En 24 horas"),
    "T2": ("Within 72 hours", "En 72 horas"),
    "T3": ("Within 7 days", "En 7 días"),
    "T4": ("No current risk", "Sin riesgo actual"),
}
_PAPER: Final = {
    "en": (
        "Partner",
        "Created",
        "Shared by",
        "This summary is not encrypted: anyone who holds it can read it. Keep it where only "
        "the case manager can, and destroy it after use.",
    ),
    "es": (
        "Socio",
        "Creado",
        "Compartido por",
        "Este resumen no está cifrado: cualquiera que lo tenga puede leerlo. Guárdelo donde "
        "solo lo lea quien gestiona el caso y destrúyalo después de usarlo.",
    ),
}


def _summary_value(name: str, value: Any, lang: str) -> str:
    """A summary field's value as the partner reads it: tiers and concerns by their labels,
    a choice of a built-in form by its label, anything else as it is."""
    from fieldscreen.forms.library import builtin_forms, builtin_list

    es = lang == "es"
    values = value if isinstance(value, list) else [value]
    if name == "tier":
        shown = [_TIER_LABELS.get(str(v), (str(v), str(v)))[es] for v in values]
    elif name in {"concerns", "protection_status"}:
        labels = {c.name: c.label.get(lang) or c.name for c in builtin_list("protection_concerns")}
        shown = [labels.get(str(v), str(v)) for v in values]
    elif name == "age_band":
        shown = [str(v).replace("_", "–") for v in values]
    else:
        field = next((f.fields[name] for f in builtin_forms().values() if name in f.fields), None)
        shown = [str(_display(field, str(v), lang)) for v in values]
    return "; ".join(shown)  # a label may hold a comma


def summary_html(contents: Iterable[Mapping[str, Any]]) -> str:
    """The summary of one handover for a partner without the software, once per content
    given (the same packet in each language, :func:`packet_content`), as HTML for a PDF:
    the case code, the consent it goes on, the best-interests summary with its labels and
    the return plan. Nothing the packets do not hold."""
    import html

    sections = []
    for content in contents:
        lang = "es" if content.get("language") == "es" else "en"
        es = lang == "es"
        title, summary_title, plan_title, consent_title = _HEADINGS[lang]
        partner, created, shared_by, notice = _PAPER[lang]
        basis = _BASIS.get(str(content.get("basis")), ("", ""))[es]
        code = str(content.get("case_id", ""))[:6].upper()
        rows = "".join(
            f"<tr><td><b>{html.escape(_FIELD_LABELS.get(k, (k, k))[es])}</b></td>"
            f"<td>{html.escape(_summary_value(k, v, lang))}</td></tr>"
            for k, v in dict(content.get("summary") or {}).items()
        )
        plan = "".join(
            f"<tr><td><b>{html.escape(str(r.get('label', '')))}</b></td><td>"
            + html.escape(
                ", ".join(map(str, r["value"]))
                if isinstance(r.get("value"), list)
                else str(r.get("value", ""))
            )
            + "</td></tr>"
            for r in content.get("return_plan") or ()
        )
        release = (
            f"<br>{html.escape(str(content['release_reason']))}"
            if content.get("release_reason")
            else ""
        )
        sections.append(
            f"<h1>{html.escape(title)} {html.escape(code)}</h1>"
            f"<p><b>{html.escape(partner)}:</b> {html.escape(str(content.get('partner', '')))}"
            f"<br><b>{html.escape(created)}:</b> {html.escape(str(content.get('created', '')))}"
            f"<br><b>{html.escape(shared_by)}:</b> {html.escape(str(content.get('site', '')))}"
            f"<br><b>{html.escape(consent_title)}:</b> {html.escape(basis)}{release}</p>"
            f"<h2>{html.escape(summary_title)}</h2>"
            f"<table border='1' cellpadding='4' cellspacing='0'>{rows}</table>"
            f"<h2>{html.escape(plan_title)}</h2>"
            f"<table border='1' cellpadding='4' cellspacing='0'>{plan}</table>"
            f"<p><i>{html.escape(notice)}</i></p>"
        )
    return "<hr>".join(sections)
