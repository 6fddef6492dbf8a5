"""``fieldscreen bundle export FILE`` / ``fieldscreen bundle apply-receipt FILE``."""

from __future__ import annotations

import argparse
from pathlib import Path

from fieldscreen.sync.bundle import apply_receipt_file, export_bundle
from fieldscreen.sync.commands import emit, open_stores
from fieldscreen.sync.errors import SyncError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("export", "apply-receipt"))
    parser.add_argument("file", metavar="FILE")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    stores = open_stores(args)
    identity = stores.identity()
    provisioning = stores.provisioning()
    if provisioning is None:
        raise SyncError("sync-not-provisioned")
    if identity is None:
        raise SyncError("sync-not-enrolled")
    path = Path(args.file)
    if args.action == "export":
        info = export_bundle(path, identity.device_id, stores)
        emit(
            args,
            {"file": str(path), "envelopes": info.count, "bytes": info.bytes},
            f"{info.count} sealed screenings written to {path}.",
        )
        return 0
    changed, receipt = apply_receipt_file(
        path, stores, provisioning.receipt_public_key, identity.device_id
    )
    emit(
        args,
        {
            "delivered": changed,
            "listed": len(receipt.delivered),
            "conflicts": len(receipt.conflicts),
        },
        f"{changed} screenings marked delivered ({len(receipt.delivered)} in the receipt).",
    )
    return 0
