"""Files attached to a screening: the answers of ``image``, ``audio``, ``video`` and ``file``
questions (an OpenStreetMap question is a ``file`` question that takes an OSM XML file).

The answer to a media question is the attachment's file name, as ODK stores it; the file's bytes
travel with the session's state (``"attachments"``: file name -> base64), so they are encrypted
in the vault with the record, covered by its integrity checks and key rotation, and sealed into
the envelope with the screening. Nothing here reads or writes a file: the UI reads the chosen
file (bounded) and hands over its bytes.

A sealed envelope holds at most 4 MiB, so one file may be at most :data:`MAX_FILE_BYTES` and all
files of one screening together at most :data:`MAX_TOTAL_BYTES` (base64 makes them a third
larger in the payload).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree

from fieldscreen.forms.errors import FormError

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_TOTAL_BYTES",
    "Attachment",
    "AttachmentError",
    "decode_all",
    "encode_all",
    "is_osm_file",
    "is_safe_name",
    "stored_name",
]

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_TOTAL_BYTES = 5 * 512 * 1024  # 2.5 MiB: 3.3 MiB in base64, under the envelope's 4 MiB
#: An attachment's file name: no folder, no leading dot, no "..": safe to write as it is.
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}")
_EXT = re.compile(r"\.[a-z0-9]{1,8}$")


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file chosen for a media question: the name it had (only its extension is kept) and
    its bytes."""

    original_name: str
    data: bytes = field(repr=False)


class AttachmentError(FormError):
    """A file too large to attach (``form-attachment-too-large``)."""

    def __init__(self, size: int, held: int) -> None:
        self._coded(
            "form-attachment-too-large",
            size=_mib(size),
            held=_mib(held),
            limit=_mib(MAX_FILE_BYTES),
            total=_mib(MAX_TOTAL_BYTES),
        )


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}"


def check_size(size: int, held: int) -> None:
    """Refuse a file of ``size`` bytes beside ``held`` bytes already attached."""
    if size > MAX_FILE_BYTES or size + held > MAX_TOTAL_BYTES:
        raise AttachmentError(size, held)


def is_safe_name(name: Any) -> bool:
    return isinstance(name, str) and bool(_NAME.fullmatch(name)) and ".." not in name


def stored_name(field_name: str, index: tuple[int, ...], original: str, data: bytes) -> str:
    """The attachment's file name: the question's name, the repeat entry, a hash of the
    content and the original's extension (``doc_photo-1-3f2a9c0d11e4b7a8.jpg``). The original
    name is not kept: it may name the child."""
    where = "".join(f"-{i + 1}" for i in index)
    ext = _EXT.search(original.strip().lower())
    digest = hashlib.sha256(data).hexdigest()[:16]
    base = re.sub(r"[^A-Za-z0-9_.-]", "_", field_name)[:120].lstrip(".") or "file"
    return f"{base}{where}-{digest}{ext.group(0) if ext else ''}"


#: What an OpenStreetMap file holds at its top: the places drawn (JOSM and OpenMapKit save them
#: as nodes, ways and relations under an ``<osm>`` root).
_OSM_ELEMENTS = {"node", "way", "relation"}


def is_osm_file(original_name: str, data: bytes) -> bool:
    """Whether a file is an OpenStreetMap file as ODK keeps an OSM question's answer: named
    ``.osm``, OSM XML (an ``<osm>`` root) holding at least one node, way or relation. A file
    that declares a DOCTYPE or entities is not one, so no entity is ever expanded."""
    if not original_name.strip().lower().endswith(".osm"):
        return False
    upper = data.upper()
    if b"<!DOCTYPE" in upper or b"<!ENTITY" in upper:
        return False
    try:
        root = ElementTree.fromstring(data)  # noqa: S314 -- no DOCTYPE, so no entity to expand
    except (ElementTree.ParseError, ValueError):
        return False
    return root.tag == "osm" and any(child.tag in _OSM_ELEMENTS for child in root)


def encode_all(files: Mapping[str, bytes]) -> dict[str, str]:
    return {name: base64.b64encode(data).decode("ascii") for name, data in sorted(files.items())}


def decode_all(value: Any) -> dict[str, bytes]:
    """The inverse of :func:`encode_all`; ValueError when anything does not fit (a name that is
    not safe, text that is not base64, more than the limits allow)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError("attachments must be an object")
    out: dict[str, bytes] = {}
    total = 0
    for name, text in value.items():
        if not is_safe_name(name) or not isinstance(text, str):
            raise ValueError("attachment name")
        if len(text) > (MAX_FILE_BYTES // 3 + 1) * 4:
            raise ValueError("attachment too large")
        try:
            data = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("attachment not base64") from None
        total += len(data)
        if total > MAX_TOTAL_BYTES:
            raise ValueError("attachments too large")
        out[name] = data
    return out
