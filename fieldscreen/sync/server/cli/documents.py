"""``publish-form`` and ``publish-directory``: sign a form or the service directory with the
organisation's key and publish it through the server, where laptops fetch it at their sync."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from fieldscreen.sync.errors import ServerError
from fieldscreen.sync.server.cli.common import AddCommand, Parents, emit, open_storage
from fieldscreen.sync.server.cli.passphrases import private_key

if TYPE_CHECKING:
    from fieldscreen.sync.server.storage import Storage

__all__ = ["add_commands", "with_devices"]


def with_devices(storage: Storage, content: bytes, name: str) -> bytes:
    """The directory ``content`` with ``devices`` set to the site's active devices of the
    roster (id and Ed25519 key): what a partner checks a handover packet's device against
    (docs/handover.md). A revoked or wiped device is left out, so publishing again after a
    revocation stops the laptop making packets a partner takes."""
    from fieldscreen.sync.canonical import b64e, canonical, parse_json
    from fieldscreen.sync.errors import EnvelopeError
    from fieldscreen.sync.server.storage import Principal

    try:
        data = parse_json(content, "service directory")
    except EnvelopeError:
        data = None
    site = data.get("site") if isinstance(data, dict) else None
    if not isinstance(data, dict) or not isinstance(site, dict):
        raise ServerError(
            "sync-bad-file", path=name, what="directory", reason="not a service directory"
        )
    data["devices"] = [
        {"id": d.id, "ed25519": b64e(d.public_key)}
        for d in storage.repos.devices.visible_to(Principal("admin", frozenset(), "cli"))
        if d.site == site.get("id") and d.status == "active"
    ]
    return canonical(data)


def _publish(kind: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from fieldscreen.sync.signed import sign_document

        storage = open_storage(args)
        keys = storage.repos.keys.keys()
        path = Path(args.file)
        try:
            content = path.read_bytes()
        except OSError:
            raise ServerError(
                "sync-bad-file", path=path.name, what=kind, reason="cannot be read"
            ) from None
        if kind == "directory":
            content = with_devices(storage, content, path.name)
        private = private_key(args, args.key)
        version = args.version or dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S")
        name = args.name or path.stem
        document = sign_document(kind, name, version, content, private, keys.signing_public)
        storage.repos.documents.publish(document.to_bytes(), "cli")
        emit(
            args,
            {"kind": kind, "name": name, "version": version},
            f"Published {kind} {name} version {version}",
        )
        return 0

    return run


def add_commands(add: AddCommand, parents: Parents) -> None:
    for kind, name in (("form", "publish-form"), ("directory", "publish-directory")):
        p = add(name, _publish(kind), f"sign and publish a {kind}", parents.passphrase)
        p.add_argument("file", metavar="FILE")
        p.add_argument("--key", required=True, metavar="FILE", help="signing-private.json")
        p.add_argument("--name", help="name (default: the file name)")
        p.add_argument("--version", help="version (default: the time)")
