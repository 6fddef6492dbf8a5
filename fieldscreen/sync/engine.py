"""One sync run: device status first, then bounded batches with checkpoints, then updates.

1. Ask for this device's status, reporting the highest sequence number it ever issued (the
   server flags a rollback if it saw a higher one). ``revoked`` / ``wipe`` is acted on before
   anything else.
2. Read the queue a page at a time from the checkpoint (memory stays flat), cut it into batches
   bounded in count and bytes, ask the server which of the batch's (id, hash) pairs it is
   missing, send only those, apply the signed receipt (verified with the server's receipt key
   from the provisioning file) and checkpoint. A restart re-sends at most one batch, and the
   "missing" question makes even that one cheap.
3. Pull the signed forms, service directory and provisioning updates that are newer than the
   ones applied, verify each against the organisation's signing key, and hand them over.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from fieldscreen.sync.client import BatchTooLarge, DeviceRevoked, SyncClient
from fieldscreen.sync.errors import SyncError
from fieldscreen.sync.signed import Provisioning, Receipt, SignedDocument, verify_document
from fieldscreen.sync.store import DeviceState, OutboxItem, OutboxStore

__all__ = ["Progress", "SyncSummary", "Syncer"]

log = logging.getLogger("fieldscreen.sync")


@dataclass
class Progress:
    """What the sync view and ``fieldscreen sync`` show while a run goes on."""

    phase: str = "status"
    batch: int = 0
    records_done: int = 0
    records_total: int = 0
    bytes_done: int = 0
    bytes_total: int = 0


@dataclass
class SyncSummary:
    sent: int = 0
    delivered: int = 0
    already_held: int = 0
    conflicts: int = 0
    quarantined: int = 0
    rejected: int = 0
    batches: int = 0
    bytes_sent: int = 0
    retries: int = 0
    updates_applied: int = 0
    device_status: str = "active"
    rollback_suspected: bool = False
    seconds: float = 0.0
    batch_results: list[dict[str, int]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Syncer:
    """Runs sync for one device over ``client``, ``outbox`` and ``device``."""

    def __init__(
        self,
        client: SyncClient,
        outbox: OutboxStore,
        device: DeviceState,
        *,
        receipt_key: bytes,
        signing_key: bytes,
        max_count: int = 200,
        max_bytes: int = 2 * 1024 * 1024,
        progress: Callable[[Progress], None] | None = None,
        pull: bool = True,
    ) -> None:
        if max_count < 1 or max_bytes < 1:
            raise ValueError("batch bounds must be positive")
        self.client = client
        self.outbox = outbox
        self.device = device
        self.receipt_key = receipt_key
        self.signing_key = signing_key
        self.max_count = max_count
        self.max_bytes = max_bytes
        self.pull = pull
        self._progress = progress or (lambda _p: None)
        self.state = Progress()

    def run(self) -> SyncSummary:
        started = time.perf_counter()
        summary = SyncSummary()
        retries_before = self.client.retries
        try:
            self._status(summary)
            self._push(summary)
            if self.pull:
                self._pull(summary)
        finally:
            summary.retries = self.client.retries - retries_before
            summary.seconds = round(time.perf_counter() - started, 3)
        return summary

    # ------------------------------------------------------------------ 1. status
    def _status(self, summary: SyncSummary) -> None:
        try:
            status = self.client.device_status(self.outbox.highest_seq())
        except DeviceRevoked as revoked:
            self._act_on(revoked.status, summary)
            raise
        summary.rollback_suspected = bool(status.get("rollback_suspected"))
        if status.get("status") != "active":
            self._act_on(str(status.get("status")), summary)
            raise DeviceRevoked(str(status.get("status")))

    def _act_on(self, status: str, summary: SyncSummary) -> None:
        summary.device_status = status
        if status in {"revoked", "wipe"}:
            self.device.apply_device_status(status)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ 2. push
    def _push(self, summary: SyncSummary) -> None:
        count, size = self.outbox.pending_totals()
        self.state = Progress("sending", 0, 0, count, 0, size)
        self._progress(self.state)
        cursor = self.outbox.load_checkpoint()
        while True:
            page = self.outbox.pending_page(cursor, self.max_count)
            if not page:
                break
            batch = self._bounded(page)
            self._send_batch(batch, summary)
            cursor = batch[-1].seq
            self.outbox.save_checkpoint(cursor)
        self.outbox.save_checkpoint(0)

    def _bounded(self, page: Sequence[OutboxItem]) -> list[OutboxItem]:
        batch: list[OutboxItem] = []
        size = 0
        for item in page:
            if batch and size + len(item.data) > self.max_bytes:
                break
            batch.append(item)
            size += len(item.data)
        return batch

    def _send_batch(self, batch: list[OutboxItem], summary: SyncSummary) -> None:
        summary.batches += 1
        self.state.batch = summary.batches
        result = {"batch": summary.batches, "records": len(batch), "sent": 0, "delivered": 0}
        answer = self.client.missing([(i.record_id, i.sha256) for i in batch])
        held = self._apply_receipt(answer["receipt"], summary)
        summary.already_held += held
        result["delivered"] += held
        for key, state, reason in (
            ("conflicts", "failed", "conflict"),
            ("quarantined", "quarantined", "held-for-review"),
        ):
            ids = [p["record_id"] for p in answer.get(key, [])]
            if ids:
                self.outbox.set_state(ids, state, reason)  # type: ignore[arg-type]
        wanted = {(p["record_id"], p["sha256"]) for p in answer.get("missing", [])}
        to_send = [i for i in batch if (i.record_id, i.sha256) in wanted]
        if to_send:
            self.outbox.set_state([i.record_id for i in to_send], "sending")
            try:
                self._submit(to_send, summary, result)
            except BaseException:
                self.outbox.set_state([i.record_id for i in to_send], "pending")
                raise
        self.state.records_done += len(batch)
        self.state.bytes_done += sum(len(i.data) for i in batch)
        self._progress(self.state)
        summary.batch_results.append(result)

    def _submit(
        self, items: list[OutboxItem], summary: SyncSummary, result: dict[str, int]
    ) -> None:
        try:
            answer = self.client.submit([i.data for i in items])
        except BatchTooLarge:
            if len(items) == 1:
                self.outbox.set_state([items[0].record_id], "failed", "too-large")
                summary.rejected += 1
                return
            half = len(items) // 2
            self._submit(items[:half], summary, result)
            self._submit(items[half:], summary, result)
            return
        summary.sent += len(items)
        result["sent"] += len(items)
        summary.bytes_sent += sum(len(i.data) for i in items)
        delivered = self._apply_receipt(answer["receipt"], summary)
        summary.delivered += delivered
        result["delivered"] += delivered
        for outcome in answer["results"]:
            kind = outcome["outcome"]
            rid = outcome["record_id"]
            if kind == "conflict":
                summary.conflicts += 1
                self.outbox.set_state([rid], "failed", "conflict")
            elif kind == "quarantined":
                summary.quarantined += 1
                self.outbox.set_state([rid], "quarantined", str(outcome.get("reason") or ""))
            elif kind == "rejected":
                summary.rejected += 1
                self.outbox.set_state([rid], "failed", str(outcome.get("reason") or "rejected"))

    def _apply_receipt(self, data: Any, summary: SyncSummary) -> int:
        document = verify_document(SignedDocument.from_json(data), self.receipt_key, kind="receipt")
        receipt = Receipt.from_document(document)
        identity = self.device.identity()
        if identity is None or receipt.device_id != identity.device_id:
            raise SyncError("sync-bad-signature", what="receipt")
        return self.outbox.apply_receipt(receipt.delivered)

    # ------------------------------------------------------------------ 3. pull
    def _pull(self, summary: SyncSummary) -> None:
        self.state.phase = "updates"
        self._progress(self.state)
        applied = self.device.update_versions()
        for ref in self.client.updates():
            key = (ref["kind"], ref["name"])
            if applied.get(key) == ref["version"]:
                continue
            raw = self.client.update(ref["kind"], ref["name"], ref["version"])
            document = verify_document(SignedDocument.from_json(raw), self.signing_key)
            if document.kind == "provisioning":
                provisioning = Provisioning.from_content(document.content)
                self.device.save_provisioning(provisioning)
            self.device.apply_update(document)
            summary.updates_applied += 1
        self.state.phase = "done"
        self._progress(self.state)
