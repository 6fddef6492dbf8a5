"""``fieldscreen sync``: sync now, with progress on stderr and a summary."""

from __future__ import annotations

import argparse
import sys

from fieldscreen.sync.client import SyncClient
from fieldscreen.sync.commands import emit, open_stores
from fieldscreen.sync.engine import Progress, Syncer
from fieldscreen.sync.errors import SyncError
from fieldscreen.sync.request_auth import DeviceSigner


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--batch", type=int, default=200, help="envelopes per batch at most")


def _show(progress: Progress) -> None:
    print(
        f"\r{progress.phase}: batch {progress.batch}, {progress.records_done}/"
        f"{progress.records_total} records, {progress.bytes_done // 1024} KiB",
        end="" if progress.phase != "done" else "\n",
        file=sys.stderr,
    )


def run(args: argparse.Namespace) -> int:
    stores = open_stores(args)
    provisioning = stores.provisioning()
    if provisioning is None:
        raise SyncError("sync-not-provisioned")
    identity = stores.identity()
    if identity is None:
        raise SyncError("sync-not-enrolled")
    check = getattr(stores, "check_before_sync", None)  # the vault's stores: digest and audit
    if check is not None:
        check()
    with SyncClient(
        provisioning.server_url,
        token=identity.token,
        allow_insecure=provisioning.allow_insecure_http,
        signer=DeviceSigner.for_stores(stores, identity.device_id),
    ) as client:
        summary = Syncer(
            client,
            stores,
            stores,
            receipt_key=provisioning.receipt_public_key,
            signing_key=provisioning.signing_public_key,
            max_count=args.batch,
            progress=None if args.json else _show,
        ).run()
    emit(
        args,
        summary.to_json(),
        f"{summary.delivered + summary.already_held} delivered, {summary.conflicts} conflicts, "
        f"{summary.quarantined} quarantined, {summary.rejected} refused, "
        f"{summary.updates_applied} updates, {summary.retries} retries.",
    )
    return 0 if summary.conflicts + summary.rejected == 0 else 1
