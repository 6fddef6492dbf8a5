"""A laptop's data carried by hand instead of the network: ``import-bundle`` ingests the bundle
file a laptop wrote, and ``receipt`` writes the signed receipt the laptop applies in return."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fieldscreen.sync.errors import ServerError
from fieldscreen.sync.server.cli.common import AddCommand, Parents, emit, open_storage
from fieldscreen.sync.server.cli.passphrases import unlock

if TYPE_CHECKING:
    from fieldscreen.sync.server.storage import Storage

__all__ = ["add_commands"]


def cmd_import_bundle(args: argparse.Namespace) -> int:
    from fieldscreen.sync.bundle import is_packet, read_bundle
    from fieldscreen.sync.canonical import parse_json
    from fieldscreen.sync.server.storage import Principal

    storage = open_storage(args)
    device_id, envelopes = read_bundle(Path(args.file))
    admin = Principal("admin", frozenset(), "cli")
    counts: dict[str, int] = {}  # the screenings' and drafts' (the audit log's apart)
    audit: set[str] = set()  # record ids counted apart: audit segments, case events
    events = 0
    batch: list[Any] = []
    packets: dict[str, int] = {}  # the handover packets' outcomes (refused: not a device's)

    def flush() -> None:
        for outcome in storage.repos.ingest.ingest(batch, admin):
            if outcome.record_id not in audit:
                counts[outcome.outcome] = counts.get(outcome.outcome, 0) + 1
        batch.clear()

    for data in envelopes:
        if is_packet(data):
            try:
                outcome = storage.post_carried_handover(data, admin)[1]
            except ServerError as exc:
                outcome = exc.code
            packets[outcome] = packets.get(outcome, 0) + 1
            continue
        item = parse_json(data, "envelope")
        if isinstance(item, dict) and item.get("kind") in ("audit", "event"):
            audit.add(str(item.get("record_id")))
            events += item.get("kind") == "event"
        batch.append(item)
        if len(batch) >= 200:
            flush()
    flush()
    storage.repos.audit.record(
        "cli", "import-bundle", {"device": device_id, **counts, "handover_packets": packets}
    )
    text = ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "empty bundle"
    if packets:
        text += "; handover packets: " + ", ".join(f"{v} {k}" for k, v in sorted(packets.items()))
    emit(
        args,
        {
            "device_id": device_id,
            "outcomes": counts,
            "audit_envelopes": len(audit) - events,
            "event_envelopes": events,
            "handover_packets": packets,
        },
        f"{device_id}: {text}",
    )
    return 0


def cmd_receipt(args: argparse.Namespace) -> int:
    from fieldscreen.sync.bundle import write_atomic

    storage = open_storage(args)
    if storage.repos.devices.get(args.device) is None:
        raise ServerError("server-device-unknown", device=args.device)
    unlock(args, storage)
    document = storage.repos.receipts.receipt(args.device)
    write_atomic(Path(args.out), document.to_bytes())
    from fieldscreen.sync.signed import Receipt

    receipt = Receipt.from_document(document)
    acks = _write_acks(storage, args.device, args.acks) if args.acks else None
    emit(
        args,
        {
            "out": args.out,
            "delivered": len(receipt.delivered),
            "conflicts": len(receipt.conflicts),
            **({"acks": acks} if acks is not None else {}),
        },
        f"Receipt for {args.device}: {len(receipt.delivered)} delivered -> {args.out}"
        + (f"; {acks} handover acknowledgement(s) -> {args.acks}" if acks is not None else ""),
    )
    return 0


def _write_acks(storage: Storage, device_id: str, out: str) -> int:
    """Every partner acknowledgement of ``device_id``'s packets the server holds, one per
    line (each the partner's signed bytes): applied on the laptop once each, checked there
    against the partner's key in its own directory."""
    from fieldscreen.sync.bundle import write_atomic
    from fieldscreen.sync.canonical import b64d

    acks, cursor = [], ""
    while True:
        page = storage.repos.handovers.acks_for(device_id, cursor)
        acks += [b64d(a["ack"], "ack") for a in page]
        if not page or len(page) < 500:
            break
        cursor = page[-1]["cursor"]
    write_atomic(Path(out), b"".join(a + b"\n" for a in acks))
    return len(acks)


def add_commands(add: AddCommand, parents: Parents) -> None:
    p = add("import-bundle", cmd_import_bundle, "import a device's bundle file")
    p.add_argument("file", metavar="FILE")
    p = add("receipt", cmd_receipt, "write a signed receipt for a device", parents.server_pass)
    p.add_argument("--device", required=True)
    p.add_argument("--out", required=True, metavar="FILE")
    p.add_argument(
        "--acks",
        metavar="FILE",
        help="also write the partners' acknowledgements of the device's handover packets, one "
        "per line, for 'fieldscreen handover ack FILE' on the laptop",
    )
