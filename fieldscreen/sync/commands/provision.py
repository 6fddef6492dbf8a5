"""``fieldscreen provision FILE``: apply a signed provisioning file."""

from __future__ import annotations

import argparse
from pathlib import Path

from fieldscreen.errors import KnownError
from fieldscreen.sync.commands import emit, open_stores
from fieldscreen.sync.errors import EnvelopeError
from fieldscreen.sync.signed import Provisioning, SignedDocument


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="the provisioning file from IT")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError:
        raise KnownError(
            "sync-bad-file", path=path.name, what="provisioning file", reason="cannot be read"
        ) from None
    stores = open_stores(args)
    current = stores.provisioning()
    try:
        provisioning = Provisioning.verify_file(
            data, current.signing_public_key if current else None
        )
    except EnvelopeError as exc:
        raise KnownError(
            "sync-bad-file", path=path.name, what="provisioning file", reason=exc.reason
        ) from None
    stores.save_provisioning(provisioning)
    stores.apply_update(SignedDocument.from_bytes(data))
    emit(
        args,
        {
            "organisation": provisioning.organisation,
            "server_url": provisioning.server_url,
            "sites": [site.to_json() for site in provisioning.sites],
        },
        f"Provisioned for {provisioning.organisation} ({provisioning.server_url}).",
    )
    return 0
