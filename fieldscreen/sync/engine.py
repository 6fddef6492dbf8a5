"""One sync run: device status first, then bounded batches with checkpoints, then updates.

1. Ask for this device's status, reporting the highest sequence number it ever issued (the
   server flags a rollback if it saw a higher one). ``revoked`` / ``wipe`` is acted on before
   anything else.
2. Read the queue a page at a time from the checkpoint (memory stays flat: one batch on the
   wire, the next being prepared), cut it into batches bounded in count and bytes; for the
   first batches of a run, which a stopped run may have left unacknowledged, ask the server
   which (id, hash) pairs it is missing and send only those; apply each signed receipt
   (verified with the server's receipt key from the provisioning file) with the checkpoint.
   A restart re-sends at most two batches, and the "missing" question makes those cheap.
3. Pull the signed forms, service directory and provisioning updates that are newer than the
   ones applied, verify each against the organisation's signing key, and hand them over.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from fieldscreen.sync.canonical import b64d
from fieldscreen.sync.client import SyncClient
from fieldscreen.sync.envelope import COUNTED_KINDS, Envelope, verify_envelope
from fieldscreen.sync.errors import BatchTooLarge, DeviceRevoked, EnvelopeError, SyncError
from fieldscreen.sync.signed import Provisioning, Receipt, SignedDocument, verify_document
from fieldscreen.sync.store import (
    DeviceIdentity,
    DeviceState,
    HandoverQueue,
    OutboxItem,
    OutboxStore,
)

__all__ = ["Progress", "SyncSummary", "Syncer", "check_outbox"]

#: A cursor of ``GET /handover/acks`` as the server writes it (its time, then the packet id).
_ACK_CURSOR = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\|[0-9a-f]{32}")

log = logging.getLogger("fieldscreen.sync")

#: How many posts are on the wire at once: while the server stores one batch, the next is
#: already arriving, and the laptop applies the receipt of the one before.
PIPELINE_DEPTH = 2

#: How many batches at the start of a run may hold envelopes an earlier run sent without an
#: acknowledgement: those on the wire when it stopped, one of which may have had its answer
#: in but not yet applied (a new batch is posted only after the oldest is applied, so never
#: more than :data:`PIPELINE_DEPTH`). Only these ask "missing?" before they are sent.
MAY_BE_HELD = PIPELINE_DEPTH


@dataclass(eq=False)
class _Batch:
    """One batch of a run: its items, what is sent of them, the post on the wire, its answer."""

    items: list[OutboxItem]
    to_send: list[OutboxItem] = field(default_factory=list)
    future: Future[dict[str, Any]] | None = None
    answer: dict[str, Any] | None = None
    result: dict[str, int] = field(
        default_factory=lambda: {"batch": 0, "records": 0, "sent": 0, "delivered": 0}
    )

    def __post_init__(self) -> None:
        self.to_send = list(self.items)
        self.result["records"] = len(self.items)


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
    #: Screenings and drafts sent (the audit log's segments go too, counted apart).
    sent: int = 0
    #: Screenings and drafts newly marked delivered (the audit log's segments apart, below).
    delivered: int = 0
    already_held: int = 0
    conflicts: int = 0
    quarantined: int = 0
    rejected: int = 0
    #: Records the server answered as held whose receipt did not name them with the exact
    #: hash this laptop holds: kept sealed here, sent again next time.
    unconfirmed: int = 0
    #: Outbox rows whose envelope failed the check before sending (not this device's
    #: signature over these bytes, or a hash that does not match them): quarantined here,
    #: neither sent nor deleted (their ids in ``tampered_ids``).
    tampered: int = 0
    tampered_ids: list[str] = field(default_factory=list)
    #: Outbox rows whose state had been changed outside the product (moved between states,
    #: its reason edited) when the sync read them to send: queued again and audited by the
    #: store, sent as any other (their ids in ``state_changed_ids``).
    state_changed: int = 0
    state_changed_ids: list[str] = field(default_factory=list)
    #: The audit log's sealed segments the server's receipt named (no screening: not counted
    #: in ``delivered``).
    audit_envelopes: int = 0
    #: The case events (follow-ups, referrals ...) the server's receipt named (apart as well).
    event_envelopes: int = 0
    batches: int = 0
    bytes_sent: int = 0
    retries: int = 0
    updates_applied: int = 0
    #: Handover packets the server now holds for their partners, those still queued (the
    #: server refused them this time), and the partners' acknowledgements newly applied or
    #: refused (not signed by the partner the directory names: not applied).
    handovers_sent: int = 0
    handovers_queued: int = 0
    #: Packets held, not sent, because the site's signed directory no longer names their
    #: partner: kept sealed until a person resends or discards them (``handover held``).
    handovers_held: int = 0
    handover_acks: int = 0
    handover_acks_refused: int = 0
    device_status: str = "active"
    rollback_suspected: bool = False
    seconds: float = 0.0
    batch_results: list[dict[str, int]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _audit_ids(items: Sequence[OutboxItem], kind: str = "audit") -> frozenset[str]:
    """The record ids of the audit log's segments (or of another kind) among ``items``."""
    return frozenset(i.record_id for i in items if i.kind == kind)


def check_outbox(
    items: Sequence[OutboxItem], device_id: str | None, public_key: bytes | None
) -> tuple[list[OutboxItem], list[str]]:
    """(the items whose queued bytes are an envelope this device signed, as queued; the record
    ids of the others).

    Each row's bytes must parse as an envelope whose payload hashes to the hash it names,
    carry this device's id and the row's record id, hash and sequence number, and verify under
    this device's own key. Anyone with the laptop's files can edit the outbox (it needs no
    passphrase); a row that fails is never sent, over the network or in a bundle, and the
    vault's readable copy of the record is left as it is. Without an identity nothing passes.
    """
    sound: list[OutboxItem] = []
    bad: list[str] = []
    for item in items:
        try:
            envelope = Envelope.from_bytes(item.data)
            if device_id is None or public_key is None:
                raise EnvelopeError("this device is not enrolled")
            named = (envelope.record_id, envelope.sha256, envelope.seq, envelope.device_id)
            if named != (item.record_id, item.sha256, item.seq, device_id):
                raise EnvelopeError("the row does not match its envelope")
            verify_envelope(envelope, public_key)
        except EnvelopeError:
            bad.append(item.record_id)
            continue
        sound.append(item)
    return sound, bad


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
        self._identity_cache: DeviceIdentity | None = None

    def run(self) -> SyncSummary:
        started = time.perf_counter()
        summary = SyncSummary()
        retries_before = self.client.retries
        try:
            self._status(summary)
            self._push(summary)
            if isinstance(self.device, HandoverQueue):
                self._handovers(self.device, summary)
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
        """Send the queue batch by batch, up to :data:`PIPELINE_DEPTH` posts on the wire.

        Batch k+1 is read, bounded and marked ``sending`` while earlier ones are on the wire.
        When the pipe is full, the oldest post's answer is awaited and its receipt applied
        (with the checkpoint, in one transaction) while the others stay on the wire, then the
        new batch is posted: answers are applied in order, so the checkpoint only moves past
        batches whose receipts are in. Only the first :data:`MAY_BE_HELD` batches of a run ask
        "missing?" first (with nothing else on the wire): nothing later can have reached the
        server before.
        """
        count, size = self.outbox.pending_totals()
        self.state = Progress("sending", 0, 0, count, 0, size)
        self._progress(self.state)
        cursor = self.outbox.load_checkpoint()
        in_flight: collections.deque[_Batch] = collections.deque()
        marked: list[_Batch] = []  # marked ``sending`` and not finished: put back on failure
        with ThreadPoolExecutor(
            max_workers=PIPELINE_DEPTH, thread_name_prefix="fieldscreen-sync"
        ) as pool:
            try:
                while True:
                    page = self.outbox.pending_page(cursor, self.max_count)
                    batch = _Batch(self._bounded(page)) if page else None
                    ask = batch is not None and summary.batches < MAY_BE_HELD
                    if batch is not None:
                        batch.to_send = self._sound(batch.items, summary)
                        cursor = batch.items[-1].seq
                        summary.batches += 1
                        batch.result["batch"] = summary.batches
                        if not ask:  # prepared while earlier batches are on the wire
                            self._mark_sending(batch, marked)
                    while in_flight and (batch is None or ask or len(in_flight) >= PIPELINE_DEPTH):
                        oldest = in_flight.popleft()
                        self._wait(oldest, summary)
                        self._finish(oldest, summary)
                        marked.remove(oldest)
                    if batch is None:
                        break
                    if ask:
                        batch.to_send = self._ask_missing(batch, summary)
                        self._mark_sending(batch, marked)
                    if batch.to_send:
                        batch.future = pool.submit(
                            self.client.submit, [i.data for i in batch.to_send]
                        )
                    in_flight.append(batch)
            except BaseException:
                for pending in marked:
                    if pending.future is not None:
                        with contextlib.suppress(BaseException):
                            pending.future.result()  # let the wire settle before we say so
                    ids = [i.record_id for i in pending.to_send]
                    if ids:
                        self.outbox.set_state(ids, "pending")
                raise
        self.outbox.save_checkpoint(0)

    def _mark_sending(self, batch: _Batch, marked: list[_Batch]) -> None:
        if batch.to_send:
            self.outbox.set_state([i.record_id for i in batch.to_send], "sending")
        marked.append(batch)

    def _ask_missing(self, batch: _Batch, summary: SyncSummary) -> list[OutboxItem]:
        """Which of ``batch`` the server still needs; applies its receipt of the rest."""
        if not batch.to_send:
            return []
        answer = self.client.missing([(i.record_id, i.sha256) for i in batch.to_send])
        held = self._apply_receipt(
            answer["receipt"],
            summary,
            audit=_audit_ids(batch.to_send),
            events=_audit_ids(batch.to_send, "event"),
        )
        summary.already_held += held
        batch.result["delivered"] += held
        for key, state, reason in (
            ("conflicts", "failed", "conflict"),
            ("quarantined", "quarantined", "held-for-review"),
        ):
            ids = [p["record_id"] for p in answer.get(key, [])]
            if ids:
                self.outbox.set_state(ids, state, reason)  # type: ignore[arg-type]
        wanted = {(p["record_id"], p["sha256"]) for p in answer.get("missing", [])}
        return [i for i in batch.to_send if (i.record_id, i.sha256) in wanted]

    def _sound(self, items: list[OutboxItem], summary: SyncSummary) -> list[OutboxItem]:
        """The items that pass :func:`check_outbox`; the others are quarantined (``tampered``):
        not sent, so never acknowledged and never deleted."""
        moved = [i.record_id for i in items if i.state_changed]
        if moved:
            log.warning("%d outbox row(s) had their state changed outside the product", len(moved))
            summary.state_changed += len(moved)
            summary.state_changed_ids.extend(moved)
        identity = self._identity()
        sound, bad = check_outbox(
            items,
            None if identity is None else identity.device_id,
            None if identity is None else identity.public_key,
        )
        if bad:
            log.warning("%d outbox row(s) failed the check before sending: quarantined", len(bad))
            self.outbox.set_state(bad, "quarantined", "tampered")
            summary.tampered += len(bad)
            summary.tampered_ids.extend(bad)
        return sound

    def _identity(self) -> DeviceIdentity | None:
        if self._identity_cache is None:
            self._identity_cache = self.device.identity()
        return self._identity_cache

    def _wait(self, batch: _Batch, summary: SyncSummary) -> None:
        """The answer to ``batch``'s post; a batch too large is split and sent now."""
        if batch.future is None:
            return
        try:
            batch.answer = batch.future.result()
        except BatchTooLarge:
            self._submit(batch.to_send, summary, batch.result)

    def _finish(self, batch: _Batch, summary: SyncSummary) -> None:
        """Apply ``batch``'s answer and receipt and save the checkpoint (one transaction)."""
        checkpoint = batch.items[-1].seq
        if batch.answer is not None:
            self._apply_answer(batch.to_send, batch.answer, summary, batch.result, checkpoint)
        else:
            self.outbox.save_checkpoint(checkpoint)
        self.state.batch = batch.result["batch"]
        self.state.records_done += len(batch.items)
        self.state.bytes_done += sum(len(i.data) for i in batch.items)
        self._progress(self.state)
        summary.batch_results.append(batch.result)

    def _bounded(self, page: Sequence[OutboxItem]) -> list[OutboxItem]:
        batch: list[OutboxItem] = []
        size = 0
        for item in page:
            if batch and size + len(item.data) > self.max_bytes:
                break
            batch.append(item)
            size += len(item.data)
        return batch

    def _submit(
        self, items: list[OutboxItem], summary: SyncSummary, result: dict[str, int]
    ) -> None:
        """Post ``items`` now, halving on "batch too large" (the rare path, not pipelined)."""
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
        self._apply_answer(items, answer, summary, result)

    def _apply_answer(
        self,
        items: list[OutboxItem],
        answer: dict[str, Any],
        summary: SyncSummary,
        result: dict[str, int],
        checkpoint: int | None = None,
    ) -> None:
        screenings = sum(1 for i in items if i.kind in COUNTED_KINDS)  # audit, events apart
        summary.sent += screenings
        result["sent"] += screenings
        summary.bytes_sent += sum(len(i.data) for i in items)
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
        ours = {i.record_id: i.sha256 for i in items}
        held = {
            rid: ours[rid]
            for o in answer["results"]
            if o["outcome"] in {"stored", "duplicate", "destroyed"}
            and (rid := o["record_id"]) in ours
        }
        delivered = self._apply_receipt(
            answer["receipt"],
            summary,
            checkpoint,
            held,
            audit=_audit_ids(items),
            events=_audit_ids(items, "event"),
        )
        summary.delivered += delivered
        result["delivered"] += delivered

    def _apply_receipt(
        self,
        data: Any,
        summary: SyncSummary,
        checkpoint: int | None = None,
        held: dict[str, str] | None = None,
        *,
        audit: frozenset[str] = frozenset(),
        events: frozenset[str] = frozenset(),
    ) -> int:
        """Apply a receipt that the pinned receipt key signed for this very device; returns
        the screenings and drafts it newly marked delivered (the store counts no audit segment),
        and counts the audit segments of ``audit`` it names in ``summary.audit_envelopes`` (the
        case events of ``events`` in ``summary.event_envelopes``).

        A sealed copy goes only for a pair naming its record id and the exact hash this laptop
        holds (the store matches both). A receipt that does not verify, or names another
        device, refuses the run with nothing removed. ``held``: the records of the batch just
        sent that the answer said are held (record id -> the hash queued here); those the
        receipt does not name with that hash are counted ``unconfirmed`` and stay queued.
        """
        try:
            document = verify_document(
                SignedDocument.from_json(data), self.receipt_key, kind="receipt"
            )
            receipt = Receipt.from_document(document)
        except EnvelopeError as exc:
            raise SyncError("sync-receipt-refused", reason=exc.reason) from None
        except SyncError:
            raise SyncError("sync-receipt-refused", reason="bad signature") from None
        identity = self._identity()
        if identity is None or receipt.device_id != identity.device_id:
            raise SyncError("sync-receipt-refused", reason="another device")
        if held is not None:
            named = set(receipt.delivered)
            unconfirmed = [rid for rid, sha in held.items() if (rid, sha) not in named]
            mismatched = [rid for rid, sha in receipt.delivered if held.get(rid, sha) != sha]
            if mismatched:
                log.warning("receipt names %d record(s) with another hash: kept", len(mismatched))
            summary.unconfirmed += len(unconfirmed)
        named_ids = {rid for rid, _ in receipt.delivered}
        summary.audit_envelopes += len(audit & named_ids)
        summary.event_envelopes += len(events & named_ids)
        return self.outbox.apply_receipt(receipt.delivered, checkpoint)

    # ------------------------------------------------------------------ 2b. handovers
    def _handovers(self, queue: HandoverQueue, summary: SyncSummary) -> None:
        """Post the queued handover packets (each kept until the server holds it: a refusal
        or a lost connection leaves it for the next sync), then apply the acknowledgements.

        A packet whose partner the organisation withdrew from the site's signed directory is
        held instead, kept sealed and not posted again until a person decides. The
        acknowledgements come after the cursor of the last one applied, so the server sends
        each once; the cursor moves only after they are applied."""
        summary.handovers_held = queue.hold_withdrawn_handovers()
        for partner, packet_id, packet in queue.queued_handovers():
            try:
                outcome = self.client.post_handover(partner, packet_id, packet)
            except DeviceRevoked:
                raise
            except SyncError:  # refused (an unknown partner, a conflict) or unreachable:
                summary.handovers_queued += 1  # kept, sent again at the next sync
                continue
            if outcome in {"stored", "duplicate"}:
                queue.handover_posted(packet_id)
                summary.handovers_sent += 1
        acks: list[bytes] = []
        try:
            answers = self.client.handover_acks(queue.handover_acks_cursor())
        except DeviceRevoked:
            raise
        except SyncError:  # a server older than the route (404), unreachable, or an answer
            answers = []  # over the limit: next time
        cursor = ""
        for answer in answers:
            if isinstance(answer, dict) and _ACK_CURSOR.fullmatch(str(answer.get("cursor", ""))):
                cursor = str(answer["cursor"])
            try:
                if not isinstance(answer, dict) or not answer.get("ack"):
                    raise EnvelopeError("ack is not an acknowledgement's object")
                acks.append(b64d(answer["ack"], "ack"))
            except EnvelopeError:
                summary.handover_acks_refused += 1
        if acks:
            applied, refused = queue.apply_handover_acks(acks)
            summary.handover_acks += applied
            summary.handover_acks_refused += refused
        if cursor:  # applied (or refused for good): not asked for again
            queue.save_handover_acks_cursor(cursor)

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
