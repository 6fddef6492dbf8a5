"""Screenings: drafts saved on every answer, finalising (seal, sign, case card, outbox), purge,
travel mode and the integrity check.

Each record has its own random data key, wrapped by the master key's record-key subkey with
``aad("records", id, "dek")``. Its readable content is encrypted under that key with
``aad("records", id, status, version, form id, form version)``, padded to a multiple of 256
bytes so that the stored length says little about the answers. A draft save is one
``BEGIN IMMEDIATE`` ... ``COMMIT`` with ``synchronous=FULL``: when :meth:`save_draft` returns the
answer is on disk.

Finalising seals the full record to the organisation's public key (HPKE, with the record id,
form id and version and device id bound in as ``info``; the payload padded with spaces to a
power of two from 4 KiB, so its length does not tell how much was flagged), signs the envelope
header with the device key, writes the case card under a key of its own, queues the envelope in
the outbox and keeps the readable copy until the follow-up window closes -- all in one
transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson

from fieldscreen import crypto
from fieldscreen.errors import KnownError
from fieldscreen.vault import audit, digest, flagged
from fieldscreen.vault.base import (
    VaultBase,
    _put_state,
    canonical_json,
    check_record_id,
    outbox_state_mac,
)
from fieldscreen.vault.errors import VaultError
from fieldscreen.vault.keys import Keys, aad
from fieldscreen.vault.outbox import decrypt_aggregate, encrypt_aggregate
from fieldscreen.vault.store import as_blob, json_loads

__all__ = [
    "ORG_SEALING_ANCHOR",
    "RECORD_FORMAT",
    "IntegrityReport",
    "RecordSummary",
    "RecordsMixin",
]

#: The roster's anchor key naming the organisation's sealing key (hex) an admin set.
ORG_SEALING_ANCHOR = "org_sealing_key"

RECORD_FORMAT = 1
_PAD = 256
#: The sealed payload's size buckets: powers of two from 4 KiB, at most what still seals under
#: the envelope's 4 MiB (``fieldscreen.sync.envelope.pad_payload``, checked equal by a test).
PAYLOAD_FLOOR = 4096
PAYLOAD_CEILING = 4 * 1024 * 1024 - crypto.SEAL_OVERHEAD
_DEK_CACHE_SIZE = 256
#: Audit entries per sealed ``audit`` envelope (about 100 bytes each: far under 4 MiB).
AUDIT_SEGMENT = 2000
_AUDIT_SENT = "audit_sent"  # the secret naming the newest audit entry sealed for the team
#: Entries that alone seal no segment (every sync unlocks and audits itself): they wait for the
#: next entry of another action, and go with it.
_AUDIT_BOOKKEEPING = frozenset({"unlock", "sync", "integrity-check"})
_ID_CHUNK = 500  # record ids per IN (...) list, well under SQLite's bound on parameters
#: The outbox columns a device signs (with ``aggregate`` when there is one).
_SIGNED_HEADER = (
    "record_id",
    "kind",
    "form_id",
    "form_version",
    "device_id",
    "device_seq",
    "created_day",
    "payload_sha256",
)


@dataclass(frozen=True, slots=True)
class RecordSummary:
    """What the case list may show without decrypting: ids, form, status, coarse days."""

    record_id: str
    form_id: str
    form_version: str
    status: str
    created_day: str | None
    updated_day: str | None
    purge_after_day: str | None
    version: int


@dataclass
class IntegrityReport:
    """Result of :meth:`RecordsMixin.integrity_check`: exactly what failed, by location."""

    checked: int = 0
    failed: list[str] = field(default_factory=list)
    audit_entries: int = 0
    audit_intact: bool = True
    #: The first audit entry that breaks the chain (None: intact).
    audit_first_bad: int | None = None
    state_digest_intact: bool = True

    @property
    def ok(self) -> bool:
        return not self.failed and self.audit_intact and self.state_digest_intact

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "failed": self.failed,
            "audit_entries": self.audit_entries,
            "audit_intact": self.audit_intact,
            "audit_first_bad": self.audit_first_bad,
            "state_digest_intact": self.state_digest_intact,
        }


def _encode(value: Mapping[str, Any]) -> bytes:
    return _pad(_record_json(value))


def _record_json(value: Mapping[str, Any]) -> bytes:
    """A record's JSON (UTF-8, no spaces), as :func:`_decode` reads it back.

    ``orjson`` (a tenth of the standard library's time on a 5 KB record) when what it wrote
    reads back equal to ``value``; otherwise the standard library's JSON, which writes what
    ``orjson`` cannot or would change: NaN and infinities (``orjson`` writes ``null``),
    integers past 64 bits, keys that are not strings, mappings that are not dicts. So no saved
    value ever differs from the one given.
    """
    if type(value) is dict:
        try:
            fast = orjson.dumps(value)
        except TypeError:  # orjson.JSONEncodeError
            pass
        else:
            if orjson.loads(fast) == value:
                return fast
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _pad(data: bytes) -> bytes:
    return data + b" " * (-len(data) % _PAD)


def _payload(header: Mapping[str, Any], content_json: bytes) -> bytes:
    """``canonical_json({**header, "content": content})`` from ``content``'s canonical JSON,
    without encoding the content again ("content" sorts before every other key)."""
    if not header or min(header) <= "content":
        raise ValueError("the envelope's fields must all sort after 'content'")
    rest = canonical_json(header)
    return b'{"content":' + content_json + b"," + rest[1:]


def _decode(data: bytes) -> dict[str, Any]:
    value = json_loads(data)
    if not isinstance(value, dict):
        raise crypto.DecryptError
    return value


def _check_form(form_id: str, form_version: str) -> None:
    for text in (form_id, form_version):
        if not text or len(text) > 100 or any(c in text for c in "\x00\x1f"):
            raise VaultError("vault-form-id-invalid")


class RecordsMixin(VaultBase):
    """Drafts, finalised records, case cards, purge, travel mode, integrity check."""

    # ------------------------------------------------------------------ keys
    def _record_aad(self, row: Mapping[str, Any], status: str, version: int) -> bytes:
        return aad("records", row["id"], status, version, row["form_id"], row["form_version"])

    def _dek(self, keys: Keys, table: str, row_id: str, wrapped: bytes) -> bytes:
        cache_key = f"{table}/{row_id}"
        cached = self._dek_cache.get(cache_key)
        if cached is not None and cached[0] == wrapped:
            self._dek_cache.move_to_end(cache_key)
            return bytes(cached[1])
        dek = keys.aead("record-keys").decrypt(wrapped, aad(table, row_id, "dek"))
        self._dek_cache[cache_key] = (wrapped, bytearray(dek))
        while len(self._dek_cache) > _DEK_CACHE_SIZE:
            _, (_, old) = self._dek_cache.popitem(last=False)
            old[:] = b"\0" * len(old)
        return dek

    def _new_dek(self, keys: Keys, table: str, row_id: str) -> tuple[bytes, bytes]:
        dek = crypto.random_bytes(crypto.KEY_BYTES)
        wrapped = keys.aead("record-keys").encrypt(dek, aad(table, row_id, "dek"))
        return dek, wrapped

    def _row(self, conn: sqlite3.Connection, record_id: str) -> dict[str, Any]:
        """The record's row, once it matches the state digest's row map (a row rolled back,
        altered or deleted outside FieldScreen raises :class:`IntegrityError`)."""
        cursor = conn.execute("SELECT * FROM records WHERE id = ?", (check_record_id(record_id),))
        row = cursor.fetchone()
        if row is None:
            self._check_row(conn, digest.RECORDS, record_id, None)
            raise VaultError("vault-record-unknown")
        found = dict(zip([c[0] for c in cursor.description], row, strict=True))
        self._check_row(conn, digest.RECORDS, record_id, digest.record_found(found))
        return found

    def _readable(self, keys: Keys, row: Mapping[str, Any]) -> dict[str, Any]:
        if row["ciphertext"] is None or row["wrapped_key"] is None:
            raise VaultError("vault-record-state", state=row["status"])
        dek = self._dek(keys, "records", row["id"], as_blob(row["wrapped_key"]))
        return _decode(
            crypto.decrypt(
                dek,
                as_blob(row["ciphertext"]),
                self._record_aad(row, row["status"], row["version"]),
            )
        )

    # ------------------------------------------------------------------ drafts
    def new_draft(
        self, form_id: str, form_version: str, state: Mapping[str, Any] | None = None
    ) -> str:
        """Start a screening on the pinned form version; return its opaque id."""
        import uuid

        keys, _ = self._require()
        _check_form(form_id, form_version)
        record_id = uuid.uuid4().hex
        row = {"id": record_id, "form_id": form_id, "form_version": form_version}
        dek, wrapped = self._new_dek(keys, "records", record_id)
        blob = crypto.encrypt(dek, _encode(state or {}), self._record_aad(row, "draft", 1))
        today = self.today()
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO records (id, form_id, form_version, status, created_day, "
                "updated_day, version, key_id, wrapped_key, ciphertext, format) "
                "VALUES (?, ?, ?, 'draft', ?, ?, 1, 'master', ?, ?, ?)",
                (record_id, form_id, form_version, today, today, wrapped, blob, RECORD_FORMAT),
            )
            # the row as just inserted (digest.RECORD_COLUMNS), without reading it back
            self._row_map.put(conn, keys, digest.RECORDS, record_id, version=1, status="draft",
                              rest=(today, None, today, form_id, form_version))  # fmt: skip
            self._audit(conn, "create", record_id, {"form": form_id, "version": form_version})
        return record_id

    def save_draft(self, record_id: str, state: Mapping[str, Any]) -> int:
        """Save a draft's whole state; durable on return. Returns the new version number."""
        keys, _ = self._require()
        with self._tx() as conn:
            row = self._row(conn, record_id)
            if row["status"] != "draft":
                raise VaultError("vault-record-state", state=row["status"])
            version = int(row["version"]) + 1
            dek = self._dek(keys, "records", record_id, as_blob(row["wrapped_key"]))
            blob = crypto.encrypt(dek, _encode(state), self._record_aad(row, "draft", version))
            today = self.today()
            if row["updated_day"] == today:  # the day is indexed: not rewritten when unchanged
                conn.execute(
                    "UPDATE records SET ciphertext = ?, version = ? WHERE id = ?",
                    (blob, version, record_id),
                )
            else:
                conn.execute(
                    "UPDATE records SET ciphertext = ?, version = ?, updated_day = ? WHERE id = ?",
                    (blob, version, today, record_id),
                )
            # the row as just written: the columns read above with the two this update set
            written = {**row, "version": version, "updated_day": today}
            self._row_map.put(conn, keys, digest.RECORDS, record_id, version=version,
                              status="draft", rest=digest.record_found(written)[2:])  # fmt: skip
        return version

    def load_record(self, record_id: str) -> dict[str, Any]:
        """The readable content of a draft or a finalised record still in its window."""
        keys, _ = self._require()
        with self._tx() as conn:
            row = self._row(conn, record_id)
            value = self._readable(keys, row)
            self._audit(conn, "view", record_id)
        return value

    def list_records(self, status: str | None = None) -> list[RecordSummary]:
        """Every record's plaintext columns, newest first (no decryption). Unlocked, the rows
        are checked against the state digest's row map first (:meth:`_row_fixes`): a row that
        disagrees is listed as the vault last wrote it, one it never wrote is left out, and
        both are reported."""
        sql = (
            "SELECT id, form_id, form_version, status, created_day, updated_day, "
            "purge_after_day, version FROM records"
        )
        params: tuple[object, ...] = ()
        if status is not None:
            sql += " WHERE status = ?"
            params = (status,)
        rows = self._open_store().read(sql + " ORDER BY updated_day DESC, id", params)
        fixes: dict[Any, tuple[Any, ...] | None] = {}
        if self._keys is not None and rows:
            ids = [r["id"] for r in rows]
            with self._tx() as conn:
                fixes = self._row_fixes(conn, ids if len(ids) <= 4096 else None).fixes
        out = []
        for r in rows:
            values = {name: r[name] for name in r.keys()}  # noqa: SIM118 -- a sqlite3.Row
            if r["id"] in fixes:
                entry = fixes[r["id"]]
                if entry is None:
                    continue
                values.update(zip(digest.RECORD_COLUMNS, entry, strict=False))
                if status is not None and values["status"] != status:
                    continue
            out.append(
                RecordSummary(
                    values["id"],
                    values["form_id"],
                    values["form_version"],
                    values["status"],
                    values["created_day"],
                    values["updated_day"],
                    values["purge_after_day"],
                    values["version"],
                )
            )
        return out

    # ------------------------------------------------------------------ finalise
    def org_sealing_key(self) -> bytes | None:
        """The organisation's key the vault seals to: the one the signed roster names when it
        names one (a copy in the vault replaced outside FieldScreen is not used), else the
        vault's copy."""
        with self._tx() as conn:
            raw = self._secret(conn, "org_keys")
        return (
            None if raw is None else self._anchored_key(bytes.fromhex(json.loads(raw)["sealing"]))
        )

    def set_org_keys(self, sealing_public: bytes, signing_public: bytes) -> None:
        """Store the organisation's public keys (from a verified provisioning file; admins).

        The sealing key is also signed into the roster's anchor (``org_sealing_key``), which
        only an admin can write: a copy of ``org_keys`` replaced by anyone else holding the
        master key seals nothing (:meth:`_org_key_anchored`).
        """
        self._require("admin")
        value = json.dumps({"sealing": sealing_public.hex(), "signing": signing_public.hex()})
        with self._tx() as conn:
            self._put_secret(conn, "org_keys", value.encode())
            self._audit(conn, "org-keys", detail={"sealing": crypto.key_id(sealing_public)})
        anchor = self._require_keyring().current.anchor
        if anchor is not None:
            self.set_policy_anchor({**anchor, ORG_SEALING_ANCHOR: sealing_public.hex()})

    def _named_key(self) -> bytes | None:
        """The organisation's sealing key the signed roster names (None when it names none:
        a key file from before it did, until an admin sets the keys or unlocks)."""
        keyring = self._keyring
        anchor = None if keyring is None else keyring.current.anchor
        named = None if not anchor else anchor.get(ORG_SEALING_ANCHOR)
        try:
            return None if not isinstance(named, str) else bytes.fromhex(named)
        except ValueError:
            return None

    def _anchored_key(self, stored: bytes) -> bytes:
        named = self._named_key()
        return stored if named is None else named

    def org_sealing_key_stored(self) -> bytes | None:
        """The vault's own copy of the organisation's sealing key (what :meth:`set_org_keys`
        last wrote, or a copy replaced outside FieldScreen), for comparing."""
        with self._tx() as conn:
            return self._stored_org_key(conn)

    def _stored_org_key(self, conn: sqlite3.Connection) -> bytes | None:
        raw = self._secret(conn, "org_keys")
        return None if raw is None else bytes.fromhex(json.loads(raw)["sealing"])

    def _extra_alert(self) -> VaultError | None:
        return self.org_key_alert()

    def org_key_alert(self) -> VaultError | None:
        """``vault-org-key-unanchored`` when the vault's copy of the organisation key is not
        the one the signed roster names (nothing is sealed to that copy), or None."""
        try:
            with self._tx() as conn:
                stored = self._stored_org_key(conn)
        except KnownError:  # deleted or put back: said as vault-secrets-altered
            return None
        named = self._named_key()
        if stored is None or named is None or named == stored:
            return None
        return VaultError("vault-org-key-unanchored")

    def org_signing_key(self) -> bytes | None:
        with self._tx() as conn:
            raw = self._secret(conn, "org_keys")
        return None if raw is None else bytes.fromhex(json.loads(raw)["signing"])

    def _seal_into_outbox(
        self,
        conn: sqlite3.Connection,
        keys: Keys,
        row: Mapping[str, Any],
        *,
        kind: str,
        content: Mapping[str, Any],
        aggregate: Mapping[str, Any] | None = None,
        content_json: bytes | None = None,
    ) -> dict[str, Any]:
        raw_org = self._secret(conn, "org_keys")
        if raw_org is None:
            raise VaultError("vault-no-org-key")
        # the key an admin signed into the roster, whatever the vault's copy says (a copy
        # replaced outside FieldScreen is reported at unlock, and nothing is sealed to it)
        org_public = self._anchored_key(bytes.fromhex(json.loads(raw_org)["sealing"]))
        device_key = self._secret(conn, "device_signing_key")
        if device_key is None:
            raise VaultError("vault-damaged", detail="the device key is missing")
        device_id = str(
            conn.execute("SELECT value FROM state WHERE name='device_id'").fetchone()[0]
        )
        seq_row = conn.execute("SELECT value FROM state WHERE name='device_seq'").fetchone()
        device_seq = int(seq_row[0]) + 1
        record_id, form_id, form_version = row["id"], row["form_id"], row["form_version"]
        payload = _payload(
            {
                "format": RECORD_FORMAT,
                "kind": kind,
                "record_id": record_id,
                "form_id": form_id,
                "form_version": form_version,
                "device_id": device_id,
                "day": self.today(),
            },
            canonical_json(content) if content_json is None else content_json,
        )
        info = crypto.record_sealing_info(record_id, form_id, form_version, device_id)
        padded = crypto.pad_to_bucket(payload, floor=PAYLOAD_FLOOR, ceiling=PAYLOAD_CEILING)
        sealed = crypto.seal(org_public, padded, info=info, aad=b"")
        header = {
            "record_id": record_id,
            "kind": kind,
            "form_id": form_id,
            "form_version": form_version,
            "device_id": device_id,
            "device_seq": device_seq,
            "created_day": self.today(),
            "payload_sha256": hashlib.sha256(sealed).hexdigest(),
        }
        aggregate_blob = None
        if aggregate:  # signed in the header; kept encrypted at rest until the envelope is built
            header["aggregate"] = dict(aggregate)
            aggregate_blob = encrypt_aggregate(keys, record_id, aggregate)
        signature = crypto.sign(device_key, self._signing_bytes(header))
        conn.execute(
            "INSERT INTO outbox (record_id, kind, device_seq, form_id, form_version, device_id, "
            "created_day, state, attempts, reason, updated_day, payload_sha256, sealed, "
            "signature, format, aggregate, state_mac) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, NULL, ?, ?, ?, ?, ?, ?, ?)",
            (
                record_id,
                kind,
                device_seq,
                form_id,
                form_version,
                device_id,
                header["created_day"],
                header["created_day"],
                header["payload_sha256"],
                sealed,
                signature,
                RECORD_FORMAT,
                aggregate_blob,
                outbox_state_mac(keys.sub("outbox-state"), record_id, "pending", None, True),
            ),
        )
        _put_state(conn, "device_seq", str(device_seq))
        self._bind_state(conn)
        return header

    def finalise(
        self,
        record_id: str,
        *,
        record: Mapping[str, Any],
        case_card: Mapping[str, Any],
        aggregate: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Seal, sign and queue the full ``record``; keep ``case_card`` for follow-up.

        ``aggregate`` is the screening's non-identifying aggregate record (None when the child
        declined statistics): signed with the envelope, encrypted here until it is sent.

        Returns the envelope header that was signed (record id, kind, form id and version,
        device id and sequence number, day, SHA-256 of the sealed payload).

        The case card's list fields go into the case list's index in the same transaction
        (:mod:`fieldscreen.vault.listindex`).
        """
        keys, _ = self._require()
        with self._tx() as conn:
            row = self._row(conn, record_id)
            if row["status"] != "draft":
                raise VaultError("vault-record-state", state=row["status"])
            # The record is encoded once: canonical JSON is both the sealed payload's content
            # and the readable copy (sorted keys, the same compact form as every other record).
            content_json = canonical_json(record)
            header = self._seal_into_outbox(
                conn,
                keys,
                row,
                kind="screening",
                content=record,
                aggregate=aggregate,
                content_json=content_json,
            )
            version = int(row["version"]) + 1
            dek = self._dek(keys, "records", record_id, as_blob(row["wrapped_key"]))
            blob = crypto.encrypt(
                dek, _pad(content_json), self._record_aad(row, "finalised", version)
            )
            purge_after = (self._today_date() + timedelta(days=self.follow_up_days)).isoformat()
            kept = (
                None if not aggregate else encrypt_aggregate(keys, record_id, aggregate, "records")
            )
            conn.execute(
                "UPDATE records SET status = 'finalised', ciphertext = ?, version = ?, "
                "updated_day = ?, purge_after_day = ?, aggregate = ? WHERE id = ?",
                (blob, version, self.today(), purge_after, kept, record_id),
            )
            card_dek, card_wrapped = self._new_dek(keys, "case_cards", record_id)
            card_blob = crypto.encrypt(
                card_dek, _encode(case_card), aad("case_cards", record_id, "card", 1)
            )
            conn.execute(
                "INSERT INTO case_cards (record_id, version, key_id, wrapped_key, ciphertext, "
                "format) VALUES (?, 1, 'master', ?, ?, ?)",
                (record_id, card_wrapped, card_blob, RECORD_FORMAT),
            )
            self._pending_index.put(
                conn, keys, record_id, version=1, card=case_card, status="finalised",
                day=self.today(),
            )  # fmt: skip
            self._row_map.put_record(conn, keys, record_id)
            self._row_map.put(conn, keys, digest.CARDS, record_id, version=1, status="card")
            self._audit(conn, "finalise", record_id, {"seq": header["device_seq"]})
        if self.follow_up_days == 0:
            self.purge_due()
        return header

    def case_card(self, record_id: str) -> dict[str, Any]:
        """The follow-up fields of a finalised record."""
        keys, _ = self._require()
        with self._tx() as conn:
            row = conn.execute(
                "SELECT version, wrapped_key, ciphertext FROM case_cards WHERE record_id = ?",
                (check_record_id(record_id),),
            ).fetchone()
            self._check_row(
                conn, digest.CARDS, record_id, None if row is None else (row[0], "card")
            )
            if row is None:
                raise VaultError("vault-record-unknown")
            dek = self._dek(keys, "case_cards", record_id, as_blob(row[1]))
            value = _decode(
                crypto.decrypt(dek, as_blob(row[2]), aad("case_cards", record_id, "card", row[0]))
            )
            self._audit(conn, "view", record_id, {"what": "case-card"})
        return value

    def update_case_card(self, record_id: str, case_card: Mapping[str, Any]) -> None:
        """Replace the case card of a finalised record; durable on return, audited as
        ``follow-up``. A follow-up done (or any other case event) is recorded with
        :meth:`record_case_event`, which also seals it for the team."""
        keys, _ = self._require()
        with self._tx() as conn:
            self._put_card(conn, keys, record_id, case_card)
            self._audit(conn, "follow-up", record_id)

    def _put_card(
        self, conn: sqlite3.Connection, keys: Keys, record_id: str, case_card: Mapping[str, Any]
    ) -> None:
        row = conn.execute(
            "SELECT version, wrapped_key, ciphertext FROM case_cards WHERE record_id = ?",
            (check_record_id(record_id),),
        ).fetchone()
        self._check_row(conn, digest.CARDS, record_id, None if row is None else (row[0], "card"))
        if row is None:
            raise VaultError("vault-record-unknown")
        old_version, wrapped = int(row[0]), as_blob(row[1])
        version = old_version + 1
        dek = self._dek(keys, "case_cards", record_id, wrapped)
        blob = crypto.encrypt(
            dek, _encode(case_card), aad("case_cards", record_id, "card", version)
        )
        conn.execute(
            "UPDATE case_cards SET version = ?, ciphertext = ? WHERE record_id = ?",
            (version, blob, record_id),
        )
        record = self._row(conn, record_id)  # its status and day, as the vault wrote them
        self._pending_index.put(
            conn, keys, record_id, version=version, card=case_card, status=record["status"],
            day=record["updated_day"],
        )  # fmt: skip
        self._row_map.put(conn, keys, digest.CARDS, record_id, version=version, status="card")

    def record_case_event(
        self,
        record_id: str,
        kind: str,
        when: datetime,
        *,
        note: str = "",
        reason: str = "",
        case_card: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Record one case event of the screening ``record_id`` (a follow-up done, a referral
        made, ...: ``caseevents.EVENT_TYPES``) and seal it for the team, in one transaction:
        the event is sealed to the organisation and signed as an envelope of kind ``event``
        under a record id of its own (append-only: it never replaces another), queued in the
        outbox, added to the case card's ``events`` (the card's timeline), and audited
        (``follow-up`` for a follow-up done, ``case-event`` for the others). Durable on
        return. ``case_card``: the card as it is to be kept (a follow-up done moves the next
        date, ``followup.record_done``); by default the card as it is. Returns
        ``{"event_id", "device_seq", "type", "at"}`` (and ``note``, ``reason`` when given).

        Raises:
            VaultError: ``vault-record-unknown`` when no case card of ``record_id`` is here.
            KnownError: the ``case-event-*`` codes of a type, reason or note refused.
        """
        import uuid

        from fieldscreen.caseevents import event_content
        from fieldscreen.sync.envelope import EVENT_FORM

        keys, user = self._require()
        content = event_content(
            check_record_id(record_id), kind, when, user=user.user_id, note=note, reason=reason
        )
        event_id = uuid.uuid4().hex
        with self._tx() as conn:
            card = dict(case_card) if case_card is not None else self._card(conn, keys, record_id)
            row = {"id": event_id, "form_id": EVENT_FORM[0], "form_version": EVENT_FORM[1]}
            header = self._seal_into_outbox(conn, keys, row, kind="event", content=content)
            entry = {"id": event_id, "type": kind, "at": content["at"]}
            entry.update({k: content[k] for k in ("note", "reason") if content[k]})
            card["events"] = [*card.get("events", ()), entry]
            self._put_card(conn, keys, record_id, card)
            action = "follow-up" if kind == "follow-up" else "case-event"  # as before events
            self._audit(conn, action, record_id, {"type": kind, "event": event_id})
        return {"event_id": event_id, "device_seq": header["device_seq"], **entry}

    def _card(self, conn: sqlite3.Connection, keys: Keys, record_id: str) -> dict[str, Any]:
        row = conn.execute(
            "SELECT version, wrapped_key, ciphertext FROM case_cards WHERE record_id = ?",
            (check_record_id(record_id),),
        ).fetchone()
        self._check_row(conn, digest.CARDS, record_id, None if row is None else (row[0], "card"))
        if row is None:
            raise VaultError("vault-record-unknown")
        dek = self._dek(keys, "case_cards", record_id, as_blob(row[1]))
        return _decode(
            crypto.decrypt(dek, as_blob(row[2]), aad("case_cards", record_id, "card", row[0]))
        )

    def case_cards(self, record_ids: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        """The case cards of finalised records, keyed by record id: the case list's read.

        Every card, or only those of ``record_ids`` (for a list that decrypts just the rows it
        shows; unknown ids are left out). One read transaction and one audit entry for the
        whole listing (``view`` with the count of cards), instead of a transaction and an entry
        per card. Record keys are unwrapped afresh and not put in the key cache, so a listing
        does not push out the keys of the drafts being edited. A card that does not decrypt is
        left out (the integrity check names it); the count of such cards is in the audit entry.
        """
        wanted = None if record_ids is None else sorted({check_record_id(i) for i in record_ids})
        keys, _ = self._require()
        unwrap = crypto.AeadKey(keys.sub("record-keys")).decrypt
        open_card = crypto.decrypt
        # aad("case_cards", id, ...) spelled out once: the same bytes, without a join per card.
        prefix = aad("case_cards", "")
        cards: dict[str, dict[str, Any]] = {}
        failed = 0
        with self._tx() as conn:
            sql = (
                "SELECT c.record_id, c.version, c.wrapped_key, c.ciphertext FROM case_cards c "
                "JOIN records r ON r.id = c.record_id WHERE r.status = 'finalised'"
            )
            if wanted is None:
                rows = conn.execute(sql).fetchall()
            else:
                rows = []
                for start in range(0, len(wanted), _ID_CHUNK):
                    chunk = wanted[start : start + _ID_CHUNK]
                    marks = ",".join("?" * len(chunk))
                    rows += conn.execute(f"{sql} AND c.record_id IN ({marks})", chunk).fetchall()
            # Checked bucket by bucket: each bucket of the row map is decrypted once, not once
            # per card (the map keeps only a few decrypted); the cards are returned in the
            # order they were read.
            order = {row[0]: n for n, row in enumerate(rows)}
            rows.sort(key=lambda row: digest.bucket_of(keys, f"{digest.CARDS}:{row[0]}"))
            for record_id, version, wrapped, blob in rows:
                try:
                    check_record_id(record_id)
                    if self._row_map.check(conn, keys, digest.CARDS, record_id, (version, "card")):
                        raise VaultError("vault-record-altered")
                    named = prefix + record_id.encode()
                    dek = unwrap(as_blob(wrapped), named + b"\x1fdek")
                    card = open_card(dek, as_blob(blob), named + b"\x1fcard\x1f%d" % version)
                    cards[record_id] = _decode(card)
                except (crypto.DecryptError, crypto.CryptoError, VaultError, TypeError, ValueError):
                    failed += 1
            self._audit(
                conn, "view", detail={"what": "case-list", "cards": len(cards), "failed": failed}
            )
        return dict(sorted(cards.items(), key=lambda item: order[item[0]]))

    # ------------------------------------------------------------------ purge
    def _purge_rows(self, conn: sqlite3.Connection, keys: Keys, rows: list[dict[str, Any]]) -> int:
        for row in rows:
            version = int(row["version"]) + 1
            conn.execute(
                "UPDATE records SET status = 'purged', ciphertext = NULL, wrapped_key = NULL, "
                "aggregate = NULL, version = ?, purge_after_day = NULL WHERE id = ?",
                (version, row["id"]),
            )
            self._row_map.put_record(conn, keys, row["id"])
            self._pending_index.set_record(conn, keys, row["id"], "purged", row["updated_day"])
            cached = self._dek_cache.pop(f"records/{row['id']}", None)
            if cached is not None:
                cached[1][:] = b"\0" * len(cached[1])
        return len(rows)

    def _select(
        self, conn: sqlite3.Connection, sql: str, params: tuple[object, ...]
    ) -> list[dict[str, Any]]:
        cursor = conn.execute(sql, params)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]

    def purge_due(self) -> int:
        """Purge the readable copy of every finalised record whose follow-up window closed."""
        keys, _ = self._require()
        with self._tx() as conn:
            rows = self._select(
                conn,
                "SELECT * FROM records WHERE status = 'finalised' AND purge_after_day <= ?",
                (self.today(),),
            )
            if rows:  # before purging: the state digest, and each row against the row map
                self._check_state(conn)
            check = self._row_map.check
            due = [
                row
                for row in rows
                if check(conn, keys, digest.RECORDS, row["id"], digest.record_found(row)) is None
            ]
            if len(due) < len(rows):  # a row that does not match is kept, never purged for it
                self._audit(
                    conn,
                    "integrity-alert",
                    detail={"what": "purge", "rows": len(rows) - len(due)},
                )
            for row in due:  # the kept aggregate goes with the purge: one changed is said first
                if row.get("aggregate") is None:
                    continue
                try:
                    decrypt_aggregate(keys, row["id"], row["aggregate"], "records")
                except (crypto.DecryptError, crypto.CryptoError, TypeError, ValueError):
                    self._audit(conn, "integrity-alert", row["id"], {"what": "aggregate"})
            count = self._purge_rows(conn, keys, due)
            if count:
                self._audit(conn, "purge", detail={"records": count})
        if count:
            self._open_store().checkpoint_truncate()
        return count

    def travel_mode(self) -> dict[str, int]:
        """Seal every draft into the outbox and purge every readable copy and case card, at once.

        Drafts are sealed to the organisation (kind ``draft``) and can no longer be read or
        continued on this laptop. One transaction: all of it happens, or none.
        """
        keys, _ = self._require()
        with self._tx() as conn:
            drafts = self._select(conn, "SELECT * FROM records WHERE status = 'draft'", ())
            for row in drafts:
                self._seal_into_outbox(
                    conn, keys, row, kind="draft", content=self._readable(keys, row)
                )
            finalised = self._select(conn, "SELECT * FROM records WHERE status = 'finalised'", ())
            self._purge_rows(conn, keys, drafts + finalised)
            cards = conn.execute("SELECT record_id, version, ciphertext FROM case_cards").fetchall()
            conn.execute("DELETE FROM case_cards")
            self._pending_index.clear_all(conn)
            # The queue's kept copy of the index names the cards' record ids: gone with them.
            conn.execute("DELETE FROM secrets WHERE name = ?", (flagged.SLOT,))
            for card in cards:
                self._row_map.drop(conn, keys, digest.CARDS, card[0])
            summary = {
                "drafts_sealed": len(drafts),
                "finalised_purged": len(finalised),
                "case_cards_purged": len(cards),
            }
            self._audit(conn, "travel-mode", detail=summary)
        self._open_store().checkpoint_truncate()
        return summary

    def seal_audit_segments(self) -> dict[str, int]:
        """Seal the audit entries after the last one sent as ``audit`` envelopes, into the outbox.

        Each envelope holds up to :data:`AUDIT_SEGMENT` entries, each only who, when, what and
        which record (``{"seq", "t", "u", "a", "r"}``; never an entry's detail, never an
        answer), sealed to the organisation's key and signed by the device like a screening.
        How far the log has been sealed is kept in the secrets table (``audit_sent``, carried by
        a key rotation like every secret), in the same transaction as the envelopes: an entry
        is sealed once. Sealing writes no audit entry of its own (each sync would otherwise
        add one for the next to send); unlocks, syncs and integrity checks alone seal nothing
        (they go with the next segment), so a sync with nothing new sends nothing. Returns
        ``{"segments", "entries"}``.
        """
        keys, _ = self._require()
        import uuid

        segments = sealed_entries = 0
        with self._tx() as conn:
            try:
                raw = self._secret(conn, _AUDIT_SENT)
                after = int(raw.decode()) if raw else 0
            except (crypto.DecryptError, ValueError):
                # A mark that does not open (or was removed) sends the log again from its
                # start: the team sees entries twice (the export keeps one), never loses one.
                after = 0
            pending = [e for e in audit.entries(conn, keys, after) if e.seq > after]
            if all(e.action in _AUDIT_BOOKKEEPING for e in pending):
                pending = []  # they go with the next segment: a sync with nothing new sends 0
            for start in range(0, len(pending), AUDIT_SEGMENT):
                chunk = pending[start : start + AUDIT_SEGMENT]
                row = {"id": uuid.uuid4().hex, "form_id": "audit", "form_version": "1"}
                content = {
                    "first": chunk[0].seq,
                    "last": chunk[-1].seq,
                    "entries": [
                        {"seq": e.seq, "t": e.time, "u": e.user_id, "a": e.action, "r": e.record_id}
                        for e in chunk
                    ],
                }
                self._seal_into_outbox(conn, keys, row, kind="audit", content=content)
                segments += 1
                sealed_entries += len(chunk)
            if pending:
                self._put_secret(conn, _AUDIT_SENT, str(pending[-1].seq).encode())
        return {"segments": segments, "entries": sealed_entries}

    def requeue_refused_drafts(self) -> int:
        """Send again the drafts travel mode sealed (and the case events recorded) before the
        server knew their kind (migrations 3 and 6).

        A server before migration 3 answered such an envelope ``rejected`` (``malformed``:
        the kind was unknown), which no retry changes; the laptop kept it as ``failed``, and it
        is the only copy of an interview. Each such row goes back to ``pending``; one signed
        by the command line before it signed as the server verifies (its signature holds over
        the vault's own header form, by this device's key) is signed again by the same key over
        the wire form. A row whose hash or signature holds under neither is left as it is: the
        integrity check names it. Call with the signing wired (``device.wire_signing``).
        """
        self._require()
        requeued = 0
        with self._tx() as conn:
            rows = self._select(
                conn,
                "SELECT * FROM outbox WHERE state = 'failed' AND kind IN ('draft', 'event') "
                "AND sealed IS NOT NULL AND reason LIKE 'malformed-kind%'",
                (),
            )
            if not rows:
                return 0
            public = conn.execute(
                "SELECT value FROM state WHERE name = 'device_public_key'"
            ).fetchone()
            device_key = self._secret(conn, "device_signing_key")
            if public is None or device_key is None:
                return 0
            device_public = bytes.fromhex(public[0])
            for row in rows:
                header = {k: row[k] for k in _SIGNED_HEADER}
                signature = bytes(row["signature"] or b"")
                if hashlib.sha256(as_blob(row["sealed"])).hexdigest() != row["payload_sha256"]:
                    continue
                if not crypto.verify(device_public, self._signing_bytes(header), signature):
                    if not crypto.verify(device_public, canonical_json(header), signature):
                        continue
                    signature = crypto.sign(device_key, self._signing_bytes(header))
                conn.execute(
                    "UPDATE outbox SET state = 'pending', reason = NULL, signature = ?, "
                    "updated_day = ? WHERE record_id = ?",
                    (signature, self.today(), row["record_id"]),
                )
                self._stamp_outbox(conn, [row["record_id"]])
                requeued += 1
            if requeued:
                self._audit(conn, "travel-mode", detail={"drafts_requeued": requeued})
        return requeued

    # ------------------------------------------------------------------ integrity
    def _check_outbox(self, conn: sqlite3.Connection, keys: Keys) -> dict[str, list[str]]:
        """Every finalised or purged record must have its envelope in the outbox, and a
        delivered one keeps no sealed copy: the outbox is written while locked, so it is
        compared here with what the row map says the vault finalised (at unlock, before sync
        and purge, and by ``status --check``; inside the caller's transaction).

        * A finalised record (its row as the row map holds it) whose outbox row is gone is
          sealed again from its readable copy and queued (``resealed``): the child's record
          still reaches the team. The envelope is a new one, signed now, with the next device
          sequence number, and with the aggregate record sealed with the lost row (the record
          keeps its own encrypted copy until the purge). It is signed as the server
          verifies: before the signing is wired (at unlock, :func:`fieldscreen.device.
          wire_signing` follows), the record is ``held`` and :meth:`repair_outbox` seals it
          once it is. A purged record's row gone
          (sealed or sent, then purged as planned) has no readable copy to seal again: it is
          reported (``missing``), so the team can check the server holds it.
        * A row marked delivered that still holds its sealed copy was never delivered by a
          receipt (a receipt's delivery deletes the copy in the same statement): it is queued
          again (``requeued``); the check before sending verifies it first, and a server that
          holds it answers with a receipt.
        * A row put back in the queue without its sealed copy (only a receipt deletes it) has
          nothing left to send: it is marked delivered again (``restored``).

        Each is audited (``integrity-alert``, ``what: outbox``, with the record id); nothing
        is deleted. Three queries: finalised and purged records without an outbox row (the
        outbox's key), delivered rows with a sealed copy (the state index) and queued rows
        without one; about 45 ms of CPU at 50,000 records, 4 ms at 5,000.
        """
        named = self._named_key()
        try:
            stored = self._stored_org_key(conn)
        except KnownError:  # deleted or put back: the state digest's check reports it
            stored = None
        if named is not None and stored not in (None, named):
            self._audit(conn, "integrity-alert", detail={"what": "org-keys"})
        moved, requeued, empties, delivered = self._check_outbox_states(conn, keys)
        lost = conn.execute(
            "SELECT r.id, r.status FROM records AS r WHERE r.status IN ('finalised', 'purged') "
            "AND NOT EXISTS (SELECT 1 FROM outbox AS o WHERE o.record_id = r.id)"
        ).fetchall()
        kept = conn.execute(
            "SELECT record_id FROM outbox WHERE state = 'delivered' AND sealed IS NOT NULL"
        ).fetchall()
        empty = [(rid,) for rid in empties]  # read by the stamps' check, rows it removed left out
        out: dict[str, list[str]] = {
            "resealed": [],
            "requeued": requeued,
            "missing": [],
            "held": [],
            "restored": [],
            "state": moved,
            "delivered": delivered or [],
        }
        for rid, status in lost:
            if status == "purged":  # sealed or sent, then purged as planned: nothing to seal
                out["missing"].append(str(rid))
                self._audit(conn, "integrity-alert", str(rid), {"what": "outbox", "repair": "none"})
                continue
            row = self._select(conn, "SELECT * FROM records WHERE id = ?", (rid,))[0]
            found = digest.record_found(row)
            if self._row_map.check(conn, keys, digest.RECORDS, str(rid), found) is not None:
                continue  # the row itself does not match: the row map reports it
            if not self._signing_wired:  # sealed once the signing is wired (repair_outbox)
                out["held"].append(str(rid))
                continue
            try:
                content = self._readable(keys, row)
            except (KnownError, crypto.DecryptError, crypto.CryptoError, TypeError, ValueError):
                continue  # not readable: reported by the read and by status --check
            aggregate = None
            if row.get("aggregate") is not None:
                try:
                    aggregate = decrypt_aggregate(keys, str(rid), row["aggregate"], "records")
                except (crypto.DecryptError, crypto.CryptoError, TypeError, ValueError):
                    # sealed without it (the record matters more); status --check names it
                    self._audit(conn, "integrity-alert", str(rid), {"what": "aggregate"})
            try:
                self._seal_into_outbox(
                    conn, keys, row, kind="screening", content=content, aggregate=aggregate
                )
            except (KnownError, crypto.DecryptError, crypto.CryptoError, TypeError, ValueError):
                continue  # cannot be sealed now: reported by the read and by status --check
            out["resealed"].append(str(rid))
            self._audit(conn, "integrity-alert", str(rid), {"what": "outbox", "repair": "resealed"})
        for (rid,) in kept:
            conn.execute(
                "UPDATE outbox SET state = 'pending', reason = NULL WHERE record_id = ?", (rid,)
            )
            self._stamp_outbox(conn, [rid])
            out["requeued"].append(str(rid))
            self._audit(conn, "integrity-alert", str(rid), {"what": "outbox", "repair": "requeued"})
        for (rid,) in empty:
            conn.execute("UPDATE outbox SET state = 'delivered' WHERE record_id = ?", (rid,))
            self._stamp_outbox(conn, [rid])
            out["restored"].append(str(rid))
            self._audit(conn, "integrity-alert", str(rid), {"what": "outbox", "repair": "restored"})
        self._mark_outbox(
            conn,
            changed=bool(delivered or moved or out["requeued"] or out["restored"]),
        )
        return out

    def _check_outbox_states(
        self, conn: sqlite3.Connection, keys: Keys
    ) -> tuple[list[str], list[str], list[str], list[str] | None]:
        """Every outbox row's state against its stamp (:func:`base.outbox_state_mac`): the
        rows whose state was changed outside FieldScreen (while the laptop was locked: the
        outbox is plain so that sync goes on then), each audited (``integrity-alert``,
        ``what: outbox-state``). One still holding its sealed copy is queued again (the check
        before sending verifies it; a server that holds it answers with a receipt). A
        screening's row marked delivered without a stamp lost its sealed copy without a
        receipt: the row is removed, so the check that follows seals the record again from its
        readable copy, or names it when it was purged. A vault of an earlier build has its
        rows stamped as they are, once (the ``outbox_stamped`` secret records it). Returns the
        rows changed, of them those queued again, the rows not delivered without a sealed
        copy left after it (one scan of the outbox finds them for both checks), and, when the
        set of delivered rows is not the one the last check left, the count it left and the
        count found (else None).

        Verified here: rows held for review (never sent), failed rows (not sent until someone
        retries them: a queued row moved here would never go out), rows in a state no build
        writes, rows to be sent whose sealed copy is gone, and delivered rows. A ``pending``
        or ``sending`` row is sent whatever moved it there; its stamp is verified as the sync
        reads it to send (:meth:`OutboxMixin.outbox_send_page`), where its sealed copy is read
        anyway, so a move into or between those two is said there. Delivered rows are final:
        those up to the device sequence number of the last check are not verified again while
        the digest of their record ids and sequence numbers (one indexed query, without the
        sequence numbers that were not delivered then) is the one that check recorded (the
        ``outbox_stamped`` secret, bound by the row map's root); a delivered row deleted,
        renumbered, swapped or moved changes it, is said (``what: outbox-delivered``) and every
        delivered row is verified; a row delivered since is verified on its own. So a check
        costs indexed queries and a handful of HMACs, and one pass over the delivered rows' ids
        (about 20 ms at 50,000 delivered rows).
        """
        key = keys.sub("outbox-state")
        try:
            raw = self._secret(conn, "outbox_stamped")
        except KnownError:  # changed outside FieldScreen: said, and every row verified
            self._audit(conn, "integrity-alert", detail={"what": "outbox-mark"})
            check = self.last_state_check  # one changed in place: the root's check saw none
            if check is not None and not any(
                p.table == "secrets" and p.row_id == "outbox_stamped" for p in check.problems
            ):
                check.problems.append(digest.Problem("altered", "secrets", "outbox_stamped"))
            raw = b"1"
        if raw is None:  # a vault of an earlier build: its rows stamped as they are, once
            rows = conn.execute(
                "SELECT record_id, state, reason, typeof(sealed) = 'blob' FROM outbox"
            ).fetchall()
            # a row to be sent with its sealed copy is left unstamped (stamping rewrites the
            # row, its sealed copy with it: minutes at a backlog of 50,000); it is sent whatever
            # its state, and its next move stamps it
            conn.executemany(
                "UPDATE outbox SET state_mac = ? WHERE record_id = ?",
                [
                    (outbox_state_mac(key, *row), row[0])
                    for row in rows
                    if not (row[1] in _SENT_ANYWAY and row[3])
                ],
            )
            adopted = conn.execute("SELECT max(device_seq) FROM outbox").fetchone()[0]
            self._adopted_upto = int(adopted or 0)
            self._put_secret(conn, "outbox_stamped", _delivered_mark(conn, self._adopted_upto))
            left = [str(row[0]) for row in rows if row[1] != "delivered" and not row[3]]
            return [], [], left, None
        self._adopted_upto = _adopted(raw)
        mark = _read_mark(raw)
        changed: list[str] | None = None
        upto, late = -1, []
        if mark is None:  # the first form of the mark, or one that does not parse
            adopted = _adopted(raw)
            if adopted:  # failed rows the first check left unstamped: stamped as they are, once
                for row in conn.execute(
                    "SELECT record_id, state, reason, typeof(sealed) = 'blob' FROM outbox "
                    "WHERE state = 'failed' AND state_mac IS NULL AND device_seq <= ?",
                    (adopted,),
                ).fetchall():
                    conn.execute(
                        "UPDATE outbox SET state_mac = ? WHERE record_id = ?",
                        (outbox_state_mac(key, *row), row[0]),
                    )
        else:
            count, found = _delivered_digest(conn, mark.upto, mark.open)
            if found != mark.digest:  # deleted, renumbered or moved: every one verified
                changed = [f"{mark.count}:{count}"]
                self._audit(
                    conn,
                    "integrity-alert",
                    detail={"what": "outbox-delivered", "expected": mark.count, "found": count},
                )
            else:
                upto, late = mark.upto, mark.open
        select = (
            "SELECT record_id, state, reason, typeof(sealed) = 'blob', state_mac, kind "
            "FROM outbox WHERE "
        )
        rows = []
        for (state,) in conn.execute("SELECT DISTINCT state FROM outbox").fetchall():
            if state in _SENT_ANYWAY:
                continue  # verified as the sync reads them to send
            if state == "delivered":
                rows += conn.execute(
                    select + "state = 'delivered' AND (device_seq > ? OR device_seq IS NULL "  # noqa: S608 -- fixed fragments
                    "OR device_seq IN (SELECT value FROM json_each(?)))",
                    (upto, json.dumps(late)),
                ).fetchall()
            else:  # failed, held for review (never sent), or a state no build writes
                rows += conn.execute(select + "state IS ?", (state,)).fetchall()
        # a row not delivered whose sealed copy is gone (only a receipt removes it)
        empty = conn.execute(select + "state IS NOT 'delivered' AND sealed IS NULL").fetchall()
        rows += [row for row in empty if row[1] in _SENT_ANYWAY]  # the others are read above
        empties = {str(row[0]) for row in empty}
        moved: list[str] = []
        requeued: list[str] = []
        for raw_id, state, reason, sealed, mac, kind in rows:
            expected = outbox_state_mac(key, raw_id, state, reason, sealed)
            if isinstance(mac, bytes) and hmac.compare_digest(mac, expected):
                continue
            rid = str(raw_id)
            moved.append(rid)
            if sealed:
                repair = "requeued"
                requeued.append(rid)
                conn.execute(
                    "UPDATE outbox SET state = 'pending', reason = NULL WHERE record_id = ?",
                    (rid,),
                )
            elif isinstance(mac, bytes) and hmac.compare_digest(
                mac, outbox_state_mac(key, raw_id, "delivered", None, False)
            ):
                repair = "restored"  # delivered by a receipt, then put back: delivered again
            elif kind == "screening":  # its sealed copy gone without a receipt
                repair = "sealed-again"  # or named as missing, by the check that follows
                conn.execute("DELETE FROM outbox WHERE record_id = ?", (rid,))
                empties.discard(rid)
            else:
                repair = "none"
            self._audit(conn, "integrity-alert", rid, {"what": "outbox-state", "repair": repair})
            self._stamp_outbox(conn, [rid])
        return moved, requeued, sorted(empties), changed

    def _mark_outbox(self, conn: sqlite3.Connection, *, changed: bool) -> None:
        """Record the delivered rows as the outbox check leaves them (:func:`_delivered_mark`),
        unless nothing could have changed them: no row delivered since the last mark, and
        nothing repaired (``changed`` false)."""
        try:
            raw = self._secret(conn, "outbox_stamped")
        except KnownError:
            raw = None
        mark = None if raw is None else _read_mark(raw)
        if mark is not None and not changed:
            newer = conn.execute(
                "SELECT 1 FROM outbox WHERE state = 'delivered' AND (device_seq > ? "
                "OR device_seq IN (SELECT value FROM json_each(?))) LIMIT 1",
                (mark.upto, json.dumps(mark.open)),
            ).fetchone()
            if newer is None:
                return
        fresh = _delivered_mark(conn, _adopted(raw))
        if fresh != raw:
            self._put_secret(conn, "outbox_stamped", fresh)

    def repair_outbox(self) -> dict[str, list[str]]:
        """Run the outbox's check (:meth:`_check_outbox`) again now that the signing is wired
        (``device.wire_signing`` calls it): records held at unlock are sealed and queued. What
        it found is added to :attr:`last_outbox_check` (the alert after unlock says it)."""
        keys, _ = self._require()
        with self._tx() as conn:
            found = self._check_outbox(conn, keys)
        merged = {k: list(v) for k, v in self.last_outbox_check.items()}
        done = set(found["resealed"])
        merged["held"] = [r for r in merged.get("held", []) if r not in done]
        for key, ids in found.items():
            merged[key] = list(dict.fromkeys(merged.get(key, []) + ids))
        self.last_outbox_check = merged
        return found

    def integrity_check(self) -> IntegrityReport:
        """Decrypt and verify every record, case card, secret and the audit chain.

        Record keys are unwrapped afresh (the cache is not trusted). ``failed`` lists exactly
        the locations that did not verify, as ``records/<id>``, ``case_cards/<id>``,
        ``secrets/<name>`` or ``outbox/<id>`` (a signature that does not verify).
        """
        keys, _ = self._require()
        report = IntegrityReport()
        store = self._open_store()
        with store.transaction() as conn:
            for row in self._select(conn, "SELECT * FROM records", ()):
                report.checked += 1
                if row["status"] == "purged":
                    if any(
                        row.get(c) is not None for c in ("ciphertext", "wrapped_key", "aggregate")
                    ):
                        report.failed.append(f"records/{row['id']}")
                    continue
                try:
                    if row.get("aggregate") is not None:
                        decrypt_aggregate(keys, row["id"], row["aggregate"], "records")
                    dek = crypto.decrypt(
                        keys.sub("record-keys"),
                        as_blob(row["wrapped_key"]),
                        aad("records", row["id"], "dek"),
                    )
                    _decode(
                        crypto.decrypt(
                            dek,
                            as_blob(row["ciphertext"]),
                            self._record_aad(row, row["status"], row["version"]),
                        )
                    )
                    if row["status"] not in ("draft", "finalised"):
                        raise crypto.DecryptError
                except (crypto.DecryptError, crypto.CryptoError, TypeError, ValueError):
                    report.failed.append(f"records/{row['id']}")
            for rid, version, wrapped, blob in conn.execute(
                "SELECT record_id, version, wrapped_key, ciphertext FROM case_cards"
            ).fetchall():
                report.checked += 1
                try:
                    dek = crypto.decrypt(
                        keys.sub("record-keys"), as_blob(wrapped), aad("case_cards", rid, "dek")
                    )
                    _decode(
                        crypto.decrypt(dek, as_blob(blob), aad("case_cards", rid, "card", version))
                    )
                except (crypto.DecryptError, crypto.CryptoError, TypeError, ValueError):
                    report.failed.append(f"case_cards/{rid}")
            for name, blob in conn.execute("SELECT name, ciphertext FROM secrets").fetchall():
                report.checked += 1
                try:
                    crypto.decrypt(keys.sub("secrets"), as_blob(blob), aad("secrets", name))
                except (crypto.DecryptError, crypto.CryptoError, TypeError):
                    report.failed.append(f"secrets/{name}")
            device_public = conn.execute(
                "SELECT value FROM state WHERE name = 'device_public_key'"
            ).fetchone()
            for item in self._select(conn, "SELECT * FROM outbox WHERE sealed IS NOT NULL", ()):
                report.checked += 1
                header = {
                    k: item[k]
                    for k in (
                        "record_id",
                        "kind",
                        "form_id",
                        "form_version",
                        "device_id",
                        "device_seq",
                        "created_day",
                        "payload_sha256",
                    )
                }
                if item.get("aggregate") is not None:
                    header["aggregate"] = decrypt_aggregate(
                        keys, item["record_id"], item["aggregate"]
                    )
                # The device's own signature over its header, in the form the server verifies
                # or in the vault's own form (a row signed before the signing was wired: the
                # command line's travel mode of an older build): either is this device's.
                signature = bytes(item["signature"] or b"")
                ok = (
                    device_public is not None
                    and hashlib.sha256(as_blob(item["sealed"])).hexdigest()
                    == item["payload_sha256"]
                    and any(
                        crypto.verify(bytes.fromhex(device_public[0]), form(header), signature)
                        for form in {self._signing_bytes, canonical_json}
                    )
                )
                if not ok:
                    report.failed.append(f"outbox/{item['record_id']}")
            stamp_key = keys.sub("outbox-state")  # every row's state stamp, delivered ones too
            try:
                adopted = _adopted(self._secret(conn, "outbox_stamped"))
            except KnownError:
                adopted = 0
            for rid, state, reason, sealed, stamp, seq in conn.execute(
                "SELECT record_id, state, reason, typeof(sealed) = 'blob', state_mac, device_seq "
                "FROM outbox"
            ).fetchall():
                report.checked += 1
                if stamp is None and sealed and state in _SENT_ANYWAY and seq <= adopted:
                    continue  # left unstamped by the first unlock by this build; it is sent
                expected = outbox_state_mac(stamp_key, rid, state, reason, sealed)
                verified = isinstance(stamp, bytes) and hmac.compare_digest(stamp, expected)
                if not verified and f"outbox/{rid}" not in report.failed:
                    report.failed.append(f"outbox/{rid}")
            chain = audit.verify(conn, keys, self.vault_id)
            report.audit_entries, report.audit_intact = chain.entries, chain.intact
            report.audit_first_bad = None if chain.intact else (chain.first_bad_seq or 1)
            state = self._row_map.verify(conn, keys)
            self.last_state_check = state
            problems = state.problems + self._row_map.compare_all(conn, keys)
            names = {digest.RECORDS: "records", digest.CARDS: "case_cards"}
            for problem in problems:
                where = f"{names.get(problem.table, problem.table)}/{problem.row_id}"
                if problem.row_id is not None and where not in report.failed:
                    report.failed.append(where)
            report.state_digest_intact = state.intact and not problems
            if report.audit_intact:
                self._audit(
                    conn,
                    "integrity-check",
                    detail={"checked": report.checked, "failed": len(report.failed)},
                )
        return report


#: Outbox states whose rows are sent (a row moved between them, its sealed copy kept, is sent);
#: a failed row waits until someone retries it.
_SENT_ANYWAY = frozenset({"pending", "sending"})


@dataclass(frozen=True, slots=True)
class _Mark:
    """The delivered rows as an outbox check left them (:func:`_delivered_mark`)."""

    upto: int
    count: int
    digest: str
    #: Sequence numbers up to ``upto`` that were not delivered then (they may be since).
    open: list[int]


def _delivered_digest(conn: sqlite3.Connection, upto: int, open_seqs: list[int]) -> tuple[int, str]:
    """How many rows are delivered up to ``upto`` (those of ``open_seqs`` left out), and the
    SHA-256 of their record ids and sequence numbers in order: one pass over the state index."""
    row = conn.execute(
        "SELECT count(*), group_concat(record_id || ',' || device_seq, ';') FROM "
        "(SELECT record_id, device_seq FROM outbox WHERE state = 'delivered' AND device_seq <= ? "
        "AND device_seq NOT IN (SELECT value FROM json_each(?)) ORDER BY device_seq)",
        (upto, json.dumps(open_seqs)),
    ).fetchone()
    text = str(row[1] or "").encode("utf-8", "surrogateescape")
    return int(row[0]), hashlib.sha256(text).hexdigest()


def _delivered_mark(conn: sqlite3.Connection, adopted: int = 0) -> bytes:
    """What an outbox check records of the delivered rows (kept in the ``outbox_stamped``
    secret, under the vault's keys): the highest device sequence number among them, the
    sequence numbers below it not delivered, how many are delivered and the digest of their
    record ids and sequence numbers (:func:`_delivered_digest`); and up to which sequence
    number rows to be sent were left unstamped by the first unlock by the build that brought
    the stamps (``adopted``)."""
    top = conn.execute("SELECT max(device_seq) FROM outbox WHERE state = 'delivered'").fetchone()
    upto = int(top[0]) if isinstance(top[0], int) else 0
    open_seqs = [
        int(seq)
        for (seq,) in conn.execute(
            "SELECT device_seq FROM outbox WHERE device_seq < ? AND state IS NOT 'delivered'",
            (upto,),
        ).fetchall()
        if isinstance(seq, int)
    ]
    count, found = _delivered_digest(conn, upto, open_seqs)
    mark: dict[str, Any] = {
        "v": 2,
        "upto": upto,
        "count": count,
        "digest": found,
        "open": sorted(open_seqs),
    }
    if adopted:
        mark["adopted"] = adopted
    return canonical_json(mark)


def _adopted(raw: bytes | None) -> int:
    """The ``adopted`` sequence number of a mark (0: none)."""
    try:
        return int(json_loads(raw or b"{}").get("adopted", 0))
    except (ValueError, TypeError, AttributeError):
        return 0


def _read_mark(raw: bytes) -> _Mark | None:
    """:func:`_delivered_mark` read back; None (verify every delivered row) for a mark of
    an earlier form (``1``, or a count and sum only) or one that does not parse."""
    try:
        value = json_loads(raw)
        if value.get("v") != 2:
            return None
        return _Mark(
            int(value["upto"]),
            int(value["count"]),
            str(value["digest"]),
            [int(seq) for seq in value["open"]],
        )
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
