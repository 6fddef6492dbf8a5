"""The organisation's word for a device, as handover tests need it: a service directory signed
by an organisation key that lists the device with its Ed25519 key (what ``fieldscreen-server
publish-directory`` makes from the roster), and the organisation's public key file a partner
is given (what ``fieldscreen-server init-org`` writes)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from fieldscreen import crypto
from fieldscreen.directory import Partner
from fieldscreen.handover import seal_packet
from fieldscreen.sync.canonical import b64e, canonical
from fieldscreen.sync.signed import sign_document

#: The organisation of the unit tests (private, public).
ORG = crypto.generate_signing_keypair()


def directory_document(
    devices: Iterable[tuple[str, bytes]],
    *,
    org: tuple[bytes, bytes] = ORG,
    site: str = "tij1",
    version: str = "2",
    partners: Iterable[Mapping[str, Any]] = (),
) -> bytes:
    """A directory of ``site`` signed by ``org`` that lists ``devices`` (id, Ed25519 key)."""
    content = {
        "format": "fieldscreen-service-directory",
        "format_version": 1,
        "directory_id": f"{site}-dir",
        "version": version,
        "site": {"id": site},
        "services": [],
        "partners": [dict(p) for p in partners],
        "devices": [{"id": d, "ed25519": b64e(k)} for d, k in devices],
    }
    return sign_document("directory", site, version, canonical(content), *org).to_bytes()


def seal_vouched(
    content: Mapping[str, Any],
    partner: Partner,
    device: str,
    keys: tuple[bytes, bytes],
    *,
    org: tuple[bytes, bytes] = ORG,
    listed: bytes | None = None,
) -> bytes:
    """``content`` sealed as ``device`` signing with ``keys`` (private, public), carrying a
    directory of ``org`` that lists the device with ``listed`` (default: its own key)."""
    sign: Callable[[bytes], bytes] = lambda m: crypto.sign(keys[0], m)  # noqa: E731
    document = directory_document([(device, keys[1] if listed is None else listed)], org=org)
    return seal_packet(content, partner, device, keys[1], sign, document)


def org_key_file(folder: Path, public: bytes = ORG[1]) -> Path:
    """The organisation's public key file, as ``fieldscreen-server init-org`` writes it."""
    path = folder / "organisation-public.json"
    path.write_text(json.dumps({"signing_public_key": b64e(public)}), encoding="utf-8")
    return path
