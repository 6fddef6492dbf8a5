"""``fieldscreen bundle export FILE`` / ``apply-receipt FILE`` / ``relay FILE`` (sneakernet)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from fieldscreen.sync.bundle import apply_receipt_file, export_bundle, write_atomic
from fieldscreen.sync.commands import emit, open_stores
from fieldscreen.sync.errors import SyncError
from fieldscreen.sync.relay import read_credential_file, relay_bundle


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        choices=("export", "apply-receipt", "relay"),
        help="export: write pending envelopes to FILE; apply-receipt: mark what a receipt "
        "names delivered; relay: upload another laptop's bundle FILE (coordinator) and write "
        "its receipt to --receipt-out",
    )
    parser.add_argument("file", metavar="FILE")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--token-file", metavar="FILE", help="relay: the coordinator's token")
    parser.add_argument("--receipt-out", metavar="FILE", help="relay: where to write the receipt")
    parser.add_argument(
        "--acks-out",
        metavar="FILE",
        help="relay: where to write the partners' acknowledgements of the laptop's handover "
        "packets, one per line, for 'fieldscreen handover ack FILE' on that laptop",
    )


def _relay(args: argparse.Namespace, stores: Any) -> int:
    """A coordinator's machine uploads another laptop's bundle and writes its receipt."""
    provisioning = stores.provisioning()
    if provisioning is None:
        raise SyncError("sync-not-provisioned")
    if not args.token_file or not args.receipt_out:
        raise SyncError("sync-not-enrolled")
    token = read_credential_file(Path(args.token_file), "relay-token-file")
    result = relay_bundle(
        Path(args.file),
        server_url=provisioning.server_url,
        token=token,
        receipt_key=provisioning.receipt_public_key,
        allow_insecure=provisioning.allow_insecure_http,
    )
    assert result.receipt is not None
    write_atomic(Path(args.receipt_out), result.receipt)
    if args.acks_out:
        write_atomic(Path(args.acks_out), b"".join(a + b"\n" for a in result.acks))
    device_id, counts = result.device_id, result.outcomes
    emit(
        args,
        {
            "device_id": device_id,
            "outcomes": counts,
            "audit_envelopes": result.audit_envelopes,
            "event_envelopes": result.event_envelopes,
            "handover_packets": result.handover_packets,
            "acks": len(result.acks),
            "receipt": args.receipt_out,
        },
        f"{device_id}: "
        + ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
        + f"; receipt written to {args.receipt_out}",
    )
    return 0


def run(args: argparse.Namespace) -> int:
    stores = open_stores(args)
    if args.action == "relay":
        return _relay(args, stores)
    identity = stores.identity()
    provisioning = stores.provisioning()
    if provisioning is None:
        raise SyncError("sync-not-provisioned")
    if identity is None:
        raise SyncError("sync-not-enrolled")
    path = Path(args.file)
    if args.action == "export":
        check = getattr(stores, "check_before_sync", None)  # the vault's: its audit sealed too
        if check is not None:
            check()
        queued = getattr(stores, "queued_handovers", None)  # the vault's handover queue
        if queued is not None:  # a withdrawn partner's packet is held, as a sync holds it
            stores.hold_withdrawn_handovers()
        packets = [packet for _, _, packet in queued()] if queued is not None else []
        info = export_bundle(
            path, identity.device_id, stores, public_key=identity.public_key, packets=packets
        )
        emit(
            args,
            {
                "file": str(path),
                "envelopes": info.count,
                "audit_envelopes": info.audit_envelopes,
                "event_envelopes": info.event_envelopes,
                "handover_packets": info.handover_packets,
                "bytes": info.bytes,
                "tampered": len(info.tampered),
            },
            f"{info.count} sealed screenings written to {path}."
            + (
                f" {len(info.tampered)} changed after they were signed: held, not written."
                if info.tampered
                else ""
            ),
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
