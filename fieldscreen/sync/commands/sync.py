"""``fieldscreen sync``: sync now, with progress on stderr and a summary."""

from __future__ import annotations

import argparse
import sys

from fieldscreen.errors import render
from fieldscreen.sync.client import SyncClient
from fieldscreen.sync.commands import emit, language, open_stores
from fieldscreen.sync.engine import Progress, Syncer, SyncSummary
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
    emit(args, summary.to_json(), summary_line(summary, language(args)))
    trouble = summary.conflicts + summary.rejected + summary.tampered + summary.state_changed
    return 0 if trouble == 0 else 1


def summary_line(summary: SyncSummary, lang: str) -> str:
    """The one line ``fieldscreen sync`` ends with, in ``lang`` (and, when the sync moved a
    handover packet or an acknowledgement, what it did with them)."""
    line = _summary(summary, lang)
    if summary.state_changed:
        line += " " + render("sync-outbox-state-changed", lang, rows=summary.state_changed)
    if (
        summary.handovers_sent
        or summary.handovers_queued
        or summary.handover_acks
        or summary.handover_acks_refused
    ):
        line += " " + render(
            "sync-handovers",
            lang,
            sent=summary.handovers_sent,
            queued=summary.handovers_queued,
            acks=summary.handover_acks,
            refused=summary.handover_acks_refused,
        )
    if summary.handovers_held:
        line += " " + render("sync-handovers-held", lang, held=summary.handovers_held)
    return line


def _summary(summary: SyncSummary, lang: str) -> str:
    return render(
        "sync-summary",
        lang,
        delivered=summary.delivered + summary.already_held,
        conflicts=summary.conflicts,
        quarantined=summary.quarantined,
        rejected=summary.rejected,
        unconfirmed=summary.unconfirmed,
        tampered=summary.tampered,
        updates=summary.updates_applied,
        retries=summary.retries,
    )
