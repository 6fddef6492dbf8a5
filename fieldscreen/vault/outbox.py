"""The outbox: sealed, signed envelopes waiting for the server, as the sync client sees them.

The sync client reaches this through a ``typing.Protocol`` of its own that the app wires to a
:class:`~fieldscreen.vault.Vault`; these plain methods are that surface. None of them needs
the vault unlocked (the envelopes are sealed to the organisation and signed already), so
background sync goes on while the laptop is locked.

States: ``pending`` -> ``sending`` -> ``delivered`` (sealed copy deleted on the server's receipt)
or ``failed`` (retried) or ``quarantined`` (kept for review, never retried). ``reason`` is a
short code such as ``conflict`` or ``revoked``, never free text.
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fieldscreen import crypto
from fieldscreen.sync.envelope import COUNTED_KINDS
from fieldscreen.vault.base import (
    VaultBase,
    _put_state,
    canonical_json,
    check_record_id,
    outbox_state_mac,
)
from fieldscreen.vault.errors import VaultError
from fieldscreen.vault.keys import Keys, aad
from fieldscreen.vault.store import as_blob

__all__ = ["OUTBOX_STATES", "OutboxItem", "OutboxMixin"]

OUTBOX_STATES = ("pending", "sending", "delivered", "failed", "quarantined")
_REASON = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_MAX_PAGE = 1000
#: The kinds counted as screenings, as SQL (audit segments and case events are counted apart).
_COUNTED = (json.dumps(COUNTED_KINDS),)  # bound to "kind IN (SELECT value FROM json_each(?))"
#: The plaintext note of rows found tampered while locked, and what their audit entry says.
_TAMPERED_NOTE = "tampered_unaudited"
_TAMPERED_DETAIL = {"via": "outbox-check", "outcome": "tampered"}
#: The plaintext note of rows the sync found moved while locked, and their audit entry.
_MOVED_NOTE = "state_changed_unaudited"
_MOVED_DETAIL = {"what": "outbox-state", "repair": "requeued", "via": "sync"}
_MAX_NOTED = 10_000  # a year's outbox of a busy laptop; older ids beyond it are dropped


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One queued envelope: the signed header fields, the sealed payload and the signature."""

    record_id: str
    kind: str
    device_seq: int
    form_id: str
    form_version: str
    device_id: str
    created_day: str
    payload_sha256: str
    sealed: bytes | None
    signature: bytes | None
    state: str
    attempts: int
    reason: str | None
    #: The aggregate record signed with the envelope (decrypted; None when there is none).
    aggregate: dict[str, Any] | None = None
    #: Whether the row's state had been changed outside FieldScreen when the sync read it to
    #: send (:meth:`OutboxMixin.outbox_send_page`: queued again, audited); False elsewhere.
    state_changed: bool = False

    def header(self) -> dict[str, object]:
        """The fields the device signed (see ``canonical_json`` / the wired ``signing_bytes``)."""
        extra: dict[str, object] = {} if self.aggregate is None else {"aggregate": self.aggregate}
        return {
            **extra,
            "record_id": self.record_id,
            "kind": self.kind,
            "form_id": self.form_id,
            "form_version": self.form_version,
            "device_id": self.device_id,
            "device_seq": self.device_seq,
            "created_day": self.created_day,
            "payload_sha256": self.payload_sha256,
        }


_COLUMNS = (
    "record_id, kind, device_seq, form_id, form_version, device_id, created_day, "
    "payload_sha256, sealed, signature, state, attempts, reason, aggregate"
)


#: An aggregate at rest is padded to a power of two from 2 KiB (the largest aggregate an
#: envelope carries), so its length does not tell how many concerns were flagged.
AGGREGATE_PAD_FLOOR = 2048


def encrypt_aggregate(
    keys: Keys, record_id: str, aggregate: Mapping[str, Any], table: str = "outbox"
) -> bytes:
    """An envelope's aggregate record as kept at rest (bound to its record id and ``table``:
    the outbox row, or the record's own copy kept for a re-seal; padded)."""
    plain = crypto.pad_to_bucket(
        canonical_json(dict(aggregate)), floor=AGGREGATE_PAD_FLOOR, ceiling=1 << 20
    )
    return crypto.encrypt(keys.sub("secrets"), plain, _aggregate_aad(table, record_id))


def decrypt_aggregate(
    keys: Keys, record_id: str, blob: bytes, table: str = "outbox"
) -> dict[str, Any]:
    data = crypto.decrypt(keys.sub("secrets"), as_blob(blob), _aggregate_aad(table, record_id))
    return dict(json.loads(data))


def _aggregate_aad(table: str, record_id: str) -> bytes:
    return aad("outbox", record_id) if table == "outbox" else aad(table, record_id, "aggregate")


class OutboxMixin(VaultBase):
    """Outbox operations for the sync client."""

    def outbox_page(
        self,
        *,
        limit: int = 100,
        after_seq: int = 0,
        states: Iterable[str] = ("pending", "failed"),
    ) -> list[OutboxItem]:
        """Up to ``limit`` envelopes in ``states`` with ``device_seq > after_seq``, in order."""
        wanted = tuple(states)
        if not wanted or any(s not in OUTBOX_STATES for s in wanted):
            raise VaultError("vault-outbox-state")
        limit = max(1, min(int(limit), _MAX_PAGE))
        # One index range per state (covering, at most ``limit`` sequence numbers each), merged,
        # then the page's rows: a page never reads, let alone sorts, the rest of the backlog.
        ranges = " UNION ALL ".join(
            "SELECT device_seq FROM (SELECT device_seq FROM outbox WHERE state = ? "
            "AND device_seq > ? ORDER BY device_seq LIMIT ?)"
            for _ in wanted
        )
        params: list[Any] = []
        for state in wanted:
            params += [state, int(after_seq), limit]
        rows = self._open_store().read(
            f"SELECT {_COLUMNS} FROM outbox WHERE device_seq IN "  # noqa: S608 -- placeholders only
            f"(SELECT device_seq FROM ({ranges}) ORDER BY device_seq LIMIT ?) ORDER BY device_seq",
            (*params, limit),
        )
        return [
            OutboxItem(
                r["record_id"],
                r["kind"],
                r["device_seq"],
                r["form_id"],
                r["form_version"],
                r["device_id"],
                r["created_day"],
                r["payload_sha256"],
                None if r["sealed"] is None else bytes(r["sealed"]),
                None if r["signature"] is None else bytes(r["signature"]),
                r["state"],
                r["attempts"],
                r["reason"],
                self._outbox_aggregate(r["record_id"], r["aggregate"]),
            )
            for r in rows
        ]

    def outbox_send_page(self, *, limit: int = 100, after_seq: int = 0) -> list[OutboxItem]:
        """The page the sync sends: the ``pending`` and ``sending`` envelopes of
        :meth:`outbox_page`, each row's state checked against its stamp
        (:func:`base.outbox_state_mac`) as it is read. The check at unlock leaves these rows to
        this read: their sealed copies are read here anyway, and at unlock they would cost a
        read of every sealed copy in the queue.

        A row whose state was changed outside FieldScreen (moved here from ``failed``,
        ``quarantined`` or ``delivered``, moved between ``pending`` and ``sending``, its reason
        edited, or no stamp) is queued again (``pending``, stamped now) and audited
        (``integrity-alert``, ``what: outbox-state``, ``via: sync``); while the vault is locked
        its id is noted in the plaintext state (``state_changed_unaudited``) and audited at the
        next unlock (:meth:`audit_tampered_notes`). It comes back with ``state_changed`` set,
        so the sync says it, and its sealed copy is sent as any other: the check before
        sending verifies its signature and hash, and a server that holds it answers with a
        receipt. Nothing is dropped for it. A row of a vault of an earlier build, left
        unstamped by the first check of the build that brought the stamps, passes; without
        the key (a process that never unlocked this vault) nothing is verified here.
        """
        items = self.outbox_page(limit=limit, after_seq=after_seq, states=("pending", "sending"))
        key = self._outbox_stamp_key()
        if key is None or not items:
            return items
        marks = ",".join("?" * len(items))
        stamps = {
            str(rid): (mac, seq)
            for rid, mac, seq in self._open_store().read(
                f"SELECT record_id, state_mac, device_seq FROM outbox "  # noqa: S608 -- placeholders only
                f"WHERE record_id IN ({marks})",
                tuple(i.record_id for i in items),
            )
        }
        moved = []
        for item in items:
            mac, seq = stamps.get(item.record_id, (None, None))
            if (
                mac is None
                and item.sealed is not None
                and seq is not None
                and (seq <= self._adopted_upto)
            ):
                continue  # left unstamped by the first check of this build: sent
            expected = outbox_state_mac(
                key, item.record_id, item.state, item.reason, item.sealed is not None
            )
            if not (isinstance(mac, bytes) and hmac.compare_digest(mac, expected)):
                moved.append(item.record_id)
        if not moved:
            return items
        with self._open_store().transaction() as conn:
            for record_id in moved:
                conn.execute(
                    "UPDATE outbox SET state = 'pending', reason = NULL WHERE record_id = ?",
                    (record_id,),
                )
                self._stamp_outbox(conn, [record_id])
                if self.is_unlocked:
                    self._audit(conn, "integrity-alert", record_id, _MOVED_DETAIL)
            if not self.is_unlocked:
                noted = _note(conn, _MOVED_NOTE)
                fresh = [rid for rid in moved if rid not in noted]
                _put_state(conn, _MOVED_NOTE, json.dumps((noted + fresh)[-_MAX_NOTED:]))
        changed = set(moved)
        return [
            dataclasses.replace(i, state="pending", reason=None, state_changed=True)
            if i.record_id in changed
            else i
            for i in items
        ]

    def _outbox_aggregate(self, record_id: str, blob: bytes | None) -> dict[str, Any] | None:
        """Decrypt an envelope's aggregate record: only while unlocked (``vault-locked``)."""
        if blob is None:
            return None
        keys, _ = self._require()
        return decrypt_aggregate(keys, record_id, blob)

    def outbox_mark(self, record_id: str, state: str, *, reason: str | None = None) -> None:
        """Move one envelope to ``state``; ``delivered`` deletes the sealed copy and signature."""
        self.outbox_mark_many([record_id], state, reason=reason)

    def outbox_mark_many(
        self, record_ids: Sequence[str], state: str, *, reason: str | None = None
    ) -> None:
        """Move envelopes to ``state`` in one transaction (all or none), as :meth:`outbox_mark`:
        a batch marked ``sending`` costs one commit, not one per envelope."""
        for record_id in record_ids:
            check_record_id(record_id)
        if state not in OUTBOX_STATES:
            raise VaultError("vault-outbox-state")
        if reason is not None and not _REASON.match(reason):
            raise VaultError("vault-outbox-state")
        if not record_ids:
            return
        attempts = "attempts + 1" if state == "sending" else "attempts"
        sealed = (
            ", sealed = NULL, signature = NULL, aggregate = NULL" if state == "delivered" else ""
        )
        today = self.today()
        key = self._outbox_stamp_key()
        store = self._open_store()
        with store.transaction() as conn:
            for record_id in record_ids:
                row = conn.execute(
                    "SELECT state, typeof(sealed) = 'blob' FROM outbox WHERE record_id = ?",
                    (record_id,),
                ).fetchone()
                if row is None:
                    raise VaultError("vault-record-unknown")
                if row[0] == "delivered" and state != "delivered":
                    raise VaultError("vault-record-state", state="delivered")
                held = bool(row[1]) and state != "delivered"
                stamp = (
                    None if key is None else outbox_state_mac(key, record_id, state, reason, held)
                )
                conn.execute(
                    f"UPDATE outbox SET state = ?, reason = ?, updated_day = ?, state_mac = ?, "  # noqa: S608 -- fixed fragments
                    f"attempts = {attempts}{sealed} WHERE record_id = ?",
                    (state, reason, today, stamp, record_id),
                )

    def outbox_quarantine_tampered(self, record_ids: Sequence[str]) -> None:
        """Quarantine outbox rows that failed the check before sending (reason ``tampered``)
        and audit each one (``sync``, outcome ``tampered``) in the same transaction.

        Background sync goes on while the vault is locked, when nothing can be audited: then
        the record ids are kept as a note in the plaintext state (``tampered_unaudited``, ids
        only, as the outbox itself shows them) in that transaction, and audited at the next
        unlock by :meth:`audit_tampered_notes`.
        """
        ids = list(dict.fromkeys(record_ids))
        if not ids:
            return
        with self._open_store().transaction() as conn:
            self.outbox_mark_many(ids, "quarantined", reason="tampered")
            if self.is_unlocked:
                for record_id in ids:
                    self._audit(conn, "sync", record_id, _TAMPERED_DETAIL)
                return
            noted = _note(conn, _TAMPERED_NOTE)
            fresh = [rid for rid in ids if rid not in noted]
            _put_state(conn, _TAMPERED_NOTE, json.dumps((noted + fresh)[-_MAX_NOTED:]))

    def audit_tampered_notes(self) -> int:
        """Write the audit entries a sync while locked could not (see
        :meth:`outbox_quarantine_tampered`) and clear the note; returns how many. Needs the
        vault unlocked; the unlock calls it. An id in the note that is not an outbox row
        quarantined as tampered (the note is a plain file row anyone can edit) is dropped."""
        self._require()
        written = 0
        with self._open_store().transaction() as conn:
            if conn.execute("SELECT 1 FROM state WHERE name = ?", (_TAMPERED_NOTE,)).fetchone():
                for record_id in _note(conn, _TAMPERED_NOTE):
                    row = conn.execute(
                        "SELECT state, reason FROM outbox WHERE record_id = ?", (record_id,)
                    ).fetchone()
                    if row is None or (row[0], row[1]) != ("quarantined", "tampered"):
                        continue
                    detail = {**_TAMPERED_DETAIL, "while_locked": True}
                    self._audit(conn, "sync", record_id, detail)
                    written += 1
                conn.execute("DELETE FROM state WHERE name = ?", (_TAMPERED_NOTE,))
            if conn.execute("SELECT 1 FROM state WHERE name = ?", (_MOVED_NOTE,)).fetchone():
                # rows the sync found moved while locked (it queued them again and sent them)
                for record_id in _note(conn, _MOVED_NOTE):
                    if conn.execute(
                        "SELECT 1 FROM outbox WHERE record_id = ?", (record_id,)
                    ).fetchone():
                        detail = {**_MOVED_DETAIL, "while_locked": True}
                        self._audit(conn, "integrity-alert", record_id, detail)
                        written += 1
                conn.execute("DELETE FROM state WHERE name = ?", (_MOVED_NOTE,))
        return written

    def outbox_counts(self) -> dict[str, int]:
        """Screenings' and drafts' envelopes per state, plus ``sealed`` (their sealed copies
        still held on the device); the audit log's segments are not counted (they are no
        screening, and a sync with nothing new sends none)."""
        store = self._open_store()
        counts = dict.fromkeys(OUTBOX_STATES, 0)
        for row in store.read(
            "SELECT state, count(*) AS n FROM outbox "
            "WHERE kind IN (SELECT value FROM json_each(?)) GROUP BY state",
            _COUNTED,
        ):
            counts[row["state"]] = row["n"]
        counts["sealed"] = store.read(
            "SELECT count(*) AS n FROM outbox WHERE sealed IS NOT NULL "
            "AND kind IN (SELECT value FROM json_each(?))",
            _COUNTED,
        )[0]["n"]
        return counts

    def outbox_totals(
        self, states: Iterable[str] = ("pending", "sending", "failed")
    ) -> tuple[int, int]:
        """``(envelopes, bytes of sealed payload)`` in ``states``, without reading payloads."""
        wanted = tuple(states)
        if not wanted or any(s not in OUTBOX_STATES for s in wanted):
            raise VaultError("vault-outbox-state")
        marks = ",".join("?" * len(wanted))
        row = self._open_store().read(
            f"SELECT count(*) AS n, coalesce(sum(length(sealed)), 0) AS b FROM outbox "  # noqa: S608 -- placeholders only
            f"WHERE state IN ({marks})",
            wanted,
        )[0]
        return int(row["n"]), int(row["b"])

    def outbox_deliver(
        self, receipt: Iterable[tuple[str, str]], checkpoint: int | None = None
    ) -> int:
        """Apply a receipt of ``(record id, payload sha256)`` pairs in one transaction.

        Each envelope whose hash matches becomes ``delivered`` and its sealed copy and signature
        are deleted; a pair whose hash does not match, or that was delivered already, changes
        nothing. Returns how many screenings' and drafts' envelopes changed (0 when the same
        receipt comes again); the audit log's segments are delivered too but not counted (as
        :meth:`outbox_counts`). With ``checkpoint``, the sync checkpoint is saved in the same
        transaction.
        """
        changed = 0
        key = self._outbox_stamp_key()
        with self._open_store().transaction() as conn:
            for record_id, sha256 in receipt:
                stamp = (
                    None
                    if key is None
                    else outbox_state_mac(key, record_id, "delivered", None, False)
                )
                kinds = conn.execute(
                    "UPDATE outbox SET state = 'delivered', reason = NULL, updated_day = ?, "
                    "sealed = NULL, signature = NULL, aggregate = NULL, state_mac = ? "
                    "WHERE record_id = ? AND payload_sha256 = ? AND state != 'delivered' "
                    "RETURNING kind",
                    (self.today(), stamp, record_id, sha256),
                ).fetchall()
                changed += sum(1 for row in kinds if row[0] in COUNTED_KINDS)
            if checkpoint is not None:
                _put_state(conn, "sync_checkpoint", str(int(checkpoint)))
        return changed

    def sync_checkpoint(self) -> int:
        """The device sequence number of the last acknowledged batch of an unfinished sync."""
        rows = self._open_store().read("SELECT value FROM state WHERE name = 'sync_checkpoint'")
        return _int_or_zero(rows[0]["value"]) if rows else 0

    def save_sync_checkpoint(self, seq: int) -> None:
        """Durably record the last acknowledged batch (0 when a sync run completes)."""
        with self._open_store().transaction() as conn:
            _put_state(conn, "sync_checkpoint", str(int(seq)))

    def last_device_seq(self) -> int:
        """The highest device sequence number used so far (0 before the first envelope)."""
        rows = self._open_store().read("SELECT value FROM state WHERE name = 'device_seq'")
        return _int_or_zero(rows[0]["value"]) if rows else 0

    def device_state(self) -> str:
        """``active`` or ``revoked`` (as last told by the server)."""
        rows = self._open_store().read("SELECT value FROM state WHERE name = 'device_state'")
        # anything but what the server says (written while locked, so maybe edited) reads as
        # active: the server is asked, and it refuses a revoked device whatever this says
        value = str(rows[0]["value"]) if rows else "active"
        return value if value in ("active", "revoked") else "active"

    def set_device_state(self, state: str) -> None:
        """Record what the server said about this device (a wipe order calls ``wipe`` instead)."""
        if state not in ("active", "revoked"):
            raise VaultError("vault-outbox-state")
        with self._open_store().transaction() as conn:
            _put_state(conn, "device_state", state)

    def record_sync(self, *, delivered: int, failed: int = 0) -> None:
        """Note a finished sync: last-sync day, and an audit entry when unlocked."""
        with self._open_store().transaction() as conn:
            _put_state(conn, "last_sync_day", self.today())
            if self.is_unlocked:
                self._audit(conn, "sync", detail={"delivered": delivered, "failed": failed})


def _int_or_zero(value: Any) -> int:
    """A sequence number kept in the plaintext state (written while locked, so it may have
    been edited): 0, "start from the beginning", when it is not one."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return 0
    return max(0, number)


def _note(conn: Any, name: str) -> list[str]:
    """The record ids a sync while locked noted under ``name`` (well-formed ones only)."""
    row = conn.execute("SELECT value FROM state WHERE name = ?", (name,)).fetchone()
    if row is None:
        return []
    try:
        value = json.loads(row[0])
    except (TypeError, ValueError, RecursionError):
        return []
    if not isinstance(value, list):
        return []
    out: list[str] = []
    for item in value:
        try:
            out.append(check_record_id(item))
        except (VaultError, TypeError, ValueError):
            continue
    return out
