"""File bundles and receipt files: sync over a USB drive, in both directions.

A bundle is one file of JSON lines: a header, one envelope per line, and a trailer with the
count and the SHA-256 of everything before it (so a truncated or damaged copy is refused as a
whole). Envelopes are already sealed and signed, so the bundle adds no secret of its own; the
server verifies every envelope's signature on import exactly as over HTTP, and importing the
same bundle twice changes nothing. Bundles are written and read in a stream: memory stays flat.

A bundle may also carry the laptop's queued handover packets (docs/handover.md), one packet
file per line after the envelopes (:func:`is_packet` tells them apart): sealed to the partner
and signed by the device, they need no request signature; the server keeps one only when an
active device's key of its roster signed it, and a second copy is a ``duplicate``.

A receipt file is a signed ``receipt`` document (see :mod:`fieldscreen.sync.signed`).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from fieldscreen.paths import atomic_write_bytes
from fieldscreen.sync.errors import EnvelopeError, SyncError
from fieldscreen.sync.signed import Receipt, SignedDocument, verify_document
from fieldscreen.sync.store import OutboxStore

__all__ = [
    "BUNDLE_FORMAT",
    "BundleInfo",
    "apply_receipt_file",
    "export_bundle",
    "is_packet",
    "read_bundle",
    "write_atomic",
    "write_bundle",
]

BUNDLE_FORMAT = "fieldscreen-bundle"
MAX_LINE = 8 * 1024 * 1024


@dataclass(frozen=True)
class BundleInfo:
    device_id: str
    #: Envelopes in the bundle; from :func:`export_bundle`, screenings and drafts only.
    count: int
    bytes: int
    #: Outbox rows that failed the check before export: quarantined, not in the bundle.
    tampered: tuple[str, ...] = ()
    #: The audit log's sealed segments in the bundle (no screening: not in ``count``).
    audit_envelopes: int = 0
    #: The case events in the bundle (apart as well).
    event_envelopes: int = 0
    #: Handover packets in the bundle (apart as well: no envelope).
    handover_packets: int = 0


_PACKET_MARK = b'"format":"fieldscreen-handover-packet"'


def is_packet(line: bytes) -> bool:
    """Whether a bundle's line is a handover packet file rather than an envelope (its
    canonical JSON names the packet's format among its first fields)."""
    return line.startswith(b'{"device_id":') and _PACKET_MARK in line[:512]


def write_bundle(path: Path, device_id: str, envelopes: Iterable[bytes]) -> BundleInfo:
    """Write envelopes (wire bytes) to ``path`` atomically (temp file, fsync, rename)."""
    digest = hashlib.sha256()
    count = 0
    size = 0
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=".bundle-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:

            def emit(line: bytes) -> None:
                digest.update(line)
                out.write(line)

            emit(json.dumps({"format": BUNDLE_FORMAT, "v": 1, "device_id": device_id}).encode())
            emit(b"\n")
            for data in envelopes:
                if b"\n" in data:
                    raise EnvelopeError("envelope bytes contain a newline")
                emit(data + b"\n")
                count += 1
                size += len(data)
            trailer = {"end": True, "count": count, "sha256": digest.hexdigest()}
            out.write(json.dumps(trailer).encode() + b"\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return BundleInfo(device_id, count, size)


def export_bundle(
    path: Path,
    device_id: str,
    outbox: OutboxStore,
    page: int = 500,
    *,
    public_key: bytes | None = None,
    packets: Iterable[bytes] = (),
) -> BundleInfo:
    """Every pending envelope of ``outbox`` into a bundle (they stay pending until a receipt),
    then the handover ``packets`` (queued ones: they stay queued until a sync posts them or
    their acknowledgement comes back).

    With this device's ``public_key``, each row is checked first as before a network sync
    (:func:`fieldscreen.sync.engine.check_outbox`): a row that fails is quarantined
    (``tampered``) and left out, its id in ``BundleInfo.tampered``.
    """
    from fieldscreen.sync.engine import check_outbox

    tampered: list[str] = []
    audit = events = carried = 0

    def items() -> Iterator[bytes]:
        nonlocal audit, events, carried
        cursor = 0
        while True:
            chunk = outbox.pending_page(cursor, page)
            if not chunk:
                break
            sound = list(chunk)
            if public_key is not None:
                sound, bad = check_outbox(chunk, device_id, public_key)
                if bad:
                    outbox.set_state(bad, "quarantined", "tampered")
                    tampered.extend(bad)
            for item in sound:
                audit += item.kind == "audit"
                events += item.kind == "event"
                yield item.data
            cursor = chunk[-1].seq
        for packet in packets:
            carried += 1
            yield packet

    info = write_bundle(path, device_id, items())
    return replace(
        info,
        count=info.count - audit - events - carried,
        tampered=tuple(tampered),
        audit_envelopes=audit,
        event_envelopes=events,
        handover_packets=carried,
    )


def _bad(path: Path, reason: str) -> SyncError:
    return SyncError("sync-bad-file", path=path.name, what="bundle", reason=reason)


def read_bundle(path: Path) -> tuple[str, Iterator[bytes]]:
    """Check the whole file first (header, trailer, digest), then stream its envelopes."""
    path = Path(path)
    digest = hashlib.sha256()
    count = 0
    header: dict[str, object] | None = None
    trailer: dict[str, object] | None = None
    try:
        with path.open("rb") as handle:
            for line in iter(lambda: handle.readline(MAX_LINE + 1), b""):
                if trailer is not None:
                    raise _bad(path, "data after the end")
                if not line.endswith(b"\n"):
                    raise _bad(path, "truncated")
                if header is None:
                    header = _json_line(path, line)
                    if header.get("format") != BUNDLE_FORMAT or header.get("v") != 1:
                        raise _bad(path, "not a bundle")
                    digest.update(line)
                    continue
                if line.startswith(b'{"end"'):
                    trailer = _json_line(path, line)
                    continue
                digest.update(line)
                count += 1
    except OSError:
        raise _bad(path, "cannot be read") from None
    if header is None or trailer is None:
        raise _bad(path, "truncated")
    if trailer.get("count") != count or trailer.get("sha256") != digest.hexdigest():
        raise _bad(path, "damaged")
    device_id = str(header.get("device_id", ""))

    def envelopes() -> Iterator[bytes]:
        with path.open("rb") as handle:
            handle.readline(MAX_LINE + 1)
            for _ in range(count):
                yield handle.readline(MAX_LINE + 1).rstrip(b"\n")

    return device_id, envelopes()


def _json_line(path: Path, line: bytes) -> dict[str, object]:
    try:
        value = json.loads(line)
    except (ValueError, RecursionError):  # a line nested past any limit is not a bundle either
        raise _bad(path, "not JSON") from None
    if not isinstance(value, dict):
        raise _bad(path, "not a bundle")
    return value


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically (``fieldscreen.paths.atomic_write_bytes``)."""
    atomic_write_bytes(Path(path), data)


def apply_receipt_file(
    path: Path, outbox: OutboxStore, receipt_key: bytes, device_id: str
) -> tuple[int, Receipt]:
    """Verify a receipt file and mark what it names delivered; applying it twice changes
    nothing. Returns (records newly marked delivered, the receipt)."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        raise SyncError(
            "sync-bad-file", path=Path(path).name, what="receipt", reason="cannot be read"
        ) from None
    try:
        document = verify_document(SignedDocument.from_bytes(data), receipt_key, kind="receipt")
        receipt = Receipt.from_document(document)
    except EnvelopeError as exc:
        raise SyncError(
            "sync-bad-file", path=Path(path).name, what="receipt", reason=exc.reason
        ) from None
    if receipt.device_id != device_id:
        raise SyncError(
            "sync-bad-file", path=Path(path).name, what="receipt", reason="another device"
        )
    changed = outbox.apply_receipt(receipt.delivered)
    if receipt.conflicts:
        outbox.set_state([rid for rid, _ in receipt.conflicts], "failed", "conflict")
    return changed, receipt
