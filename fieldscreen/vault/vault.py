"""The :class:`Vault`, the counts shown by ``fieldscreen status``, and wipe.

Public API (all Qt-free)::

    Vault.create(folder, *, admin_login, passphrase, kdf=None, follow_up_days=7) -> Vault
    Vault.open(folder, **options) -> Vault            # locked; reads the key file only
    vault.unlock(login, passphrase) -> UserInfo / vault.lock() / vault.close()
    vault.users() / add_user(...) / remove_user(...) / change_passphrase(old, new)
    vault.new_draft(form_id, form_version, state=None) -> record_id
    vault.save_draft(record_id, state) -> version       # durable on return
    vault.load_record(record_id) -> dict / list_records(status=None)
    vault.set_org_keys(sealing_public, signing_public)
    vault.finalise(record_id, *, record, case_card) -> signed header
    vault.case_card(record_id) -> dict / purge_due() -> int / travel_mode() -> counts
    vault.case_list() -> list[ListRow] / list_index_check() -> IndexCheck
    vault.integrity_check() -> IntegrityReport / audit_log() / record_event(action, ...)
    vault.supervision_log() -> the create / finalise / override audit entries
    vault.outbox_page(...) / outbox_mark(...) / outbox_counts() / record_sync(...)
    vault.wipe() ; wipe_folder(folder, extra=()) ; vault_status(folder) -> dict
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson

from fieldscreen import crypto
from fieldscreen.errors import KnownError
from fieldscreen.sync.envelope import COUNTED_KINDS
from fieldscreen.vault import audit
from fieldscreen.vault.accounts import AccountsMixin
from fieldscreen.vault.base import DB_NAME, KEYS_NAME, UserInfo
from fieldscreen.vault.caselist import CaseListMixin
from fieldscreen.vault.errors import VaultError
from fieldscreen.vault.migrations import FORMAT_VERSION
from fieldscreen.vault.outbox import OutboxMixin
from fieldscreen.vault.records import RecordsMixin
from fieldscreen.vault.store import Store, json_loads, no_cycle_collection
from fieldscreen.vault.throttle import THROTTLE_NAME

__all__ = ["DEVICE_SECRETS", "Vault", "vault_status", "wipe_folder"]

_COUNTED = (json.dumps(COUNTED_KINDS),)  # bound to "kind IN (SELECT value FROM json_each(?))"

_EVENTS = frozenset({"export", "override", "settings-tampered", "sync", "view"})
#: The secrets slot keeping the supervision log's prefix (:meth:`Vault.supervision_log`).
SUPERVISION_KEPT = "supervision_kept"
#: Entries decrypted in one read of the supervision log past which its prefix is kept again.
_KEEP_AFTER = 2000


def _kept_bytes(seq: int, link: bytes, found: list[audit.AuditEntry]) -> bytes:
    """The kept prefix as JSON, by column: each time, user, action, record id and detail once,
    the entries as indexes into those lists (a year's log parses in a fraction of the time;
    most details repeat: every ``create`` of a form version holds the same)."""
    tables: dict[str, dict[Any, int]] = {"times": {}, "users": {}, "actions": {}, "records": {}}

    def index(table: str, value: Any) -> int:
        known = tables[table]
        return known.setdefault(value, len(known))

    # A detail is told from another by its JSON text, as the whole prefix is written.
    distinct: dict[bytes, int] = {}
    details: list[Any] = []
    detail_at: list[int] = []
    for e in found:
        text = orjson.dumps(e.detail or None)
        at = distinct.get(text)
        if at is None:
            at = distinct[text] = len(details)
            details.append(e.detail or None)
        detail_at.append(at)
    columns = {
        "n": [e.seq for e in found],
        "t": [index("times", e.time) for e in found],
        "u": [index("users", e.user_id) for e in found],
        "a": [index("actions", e.action) for e in found],
        "r": [index("records", e.record_id) for e in found],
        "d": detail_at,
    }
    return orjson.dumps(
        {
            "v": 2,
            "seq": seq,
            "link": link.hex(),
            **{name: list(values) for name, values in tables.items()},
            "details": details,
            **columns,
        }
    )


#: Encrypted slots the device side of sync keeps in the vault (provisioning, enrolment, updates).
DEVICE_SECRETS = frozenset(
    {
        "sync.provisioning",
        "sync.provisioning.signed",
        "sync.identity",
        "sync.updates",
        "match.secret",
        "handover.queue",
        "handover.held",
        "handover.acks_cursor",
    }
)


class Vault(AccountsMixin, RecordsMixin, CaseListMixin, OutboxMixin):
    """The encrypted local store of one device profile."""

    #: What :meth:`supervision_log` read: up to which entry, that entry's chain link, and the
    #: entries it kept. Dropped at lock.
    _supervision_kept: tuple[int, bytes, list[audit.AuditEntry]] | None = None

    def audit_log(self) -> list[audit.AuditEntry]:
        """The decrypted audit log (coordinators and admins), its chain walked on the way.

        Raises:
            VaultError: ``vault-audit-broken`` naming the first entry that breaks the chain (an
                entry deleted from the middle, edited, moved, or the newest ones removed): a
                shorter log is never shown as the whole one. The break is audited.
        """
        found, report = self.audit_log_report()
        if not report.intact:
            raise VaultError("vault-audit-broken", seq=report.first_bad_seq or 1, shown=len(found))
        return found

    def audit_log_report(self) -> tuple[list[audit.AuditEntry], audit.AuditReport]:
        """The audit log's entries up to the first that breaks the chain, and the chain's
        report (for a view that shows what is there together with where it breaks). A break
        is audited as ``integrity-alert``."""
        keys, _ = self._require("coordinator")
        with self._tx() as conn:
            found, report = audit.entries_checked(conn, keys, self.vault_id)
            if not report.intact:
                self._audit(
                    conn,
                    "integrity-alert",
                    detail={
                        "what": "audit-log",
                        "entries": report.entries,
                        "from": report.first_bad_seq,
                    },
                )
        return found, report

    def supervision_log(self) -> list[audit.AuditEntry]:
        """The audit entries the supervisor queue is made of (``create``, ``finalise`` and
        ``override``), for any signed-in role: a specialist's home shows what a supervisor
        sent back to them. The chain is checked by :meth:`integrity_check`."""
        keys, _ = self._require()
        wanted = {"create", "finalise", "override"}
        with no_cycle_collection(), self._tx() as conn:
            # The log only grows: entries read before are kept (in memory, until lock) and only
            # newer ones decrypted. A busy year is over 100,000 entries, a second to decrypt on
            # the writer at every refresh of home or the queue, holding up the next save. The
            # kept part is trusted only while the entry it ends at is still there with the same
            # chain link (a rolled-back transaction, or another process's rewrite, starts over).
            # The same prefix is also kept in the vault (``supervision_kept``, encrypted like
            # every secret), so the first read after unlock decrypts only the entries since;
            # it is a cache of entries the log holds: one removed, damaged or put back from an
            # older copy is read past or the log read again, never trusted over the chain link.
            kept = self._supervision_kept or self._stored_supervision(conn)
            seen, link, found = kept if kept is not None else (0, b"", [])
            if seen and audit.link_at(conn, seen) != link:
                seen, found = 0, []
            read = audit.entries(conn, keys, after=seen)
            fresh = [e for e in read if e.action in wanted]
            found = found + fresh
            newest, newest_link = audit.last_link(conn)
            self._supervision_kept = (newest, newest_link, found)
            if len(read) >= _KEEP_AFTER and newest:
                self._put_secret(conn, SUPERVISION_KEPT, _kept_bytes(newest, newest_link, found))
            return list(found)

    def _stored_supervision(self, conn: Any) -> tuple[int, bytes, list[audit.AuditEntry]] | None:
        """The prefix of the supervision log kept in the vault, or None (none kept, or it does
        not open or parse: the log is read from its start)."""
        try:
            raw = self._secret(conn, SUPERVISION_KEPT)
            if raw is None:
                return None
            value = json_loads(raw)
            if value["v"] not in (1, 2):  # 1: each entry's detail in "d" itself
                return None
            seq, link = int(value["seq"]), bytes.fromhex(value["link"])
            times, users, actions = value["times"], value["users"], value["actions"]
            records = value["records"]
            columns = [value[c] for c in ("n", "t", "u", "a", "r", "d")]
            if len({len(c) for c in columns}) != 1 or not all(
                isinstance(x, str) for x in (*times, *users, *actions)
            ):
                return None
            if not all(r is None or isinstance(r, str) for r in records):
                return None
            # Checked by column, in C: every number an int (not a bool), every detail a dict
            # or empty (read as {}); in format 2 each entry's detail an index into "details".
            stored = value["details"] if value["v"] == 2 else columns[5]
            numbers, details = set(map(type, columns[0])), set(map(type, filter(None, stored)))
            if numbers - {int} or details - {dict}:
                return None
            if value["v"] == 2:
                if set(map(type, columns[5])) - {int}:
                    return None
                table = [d or {} for d in stored]
                columns[5] = [table[d] for d in columns[5]]  # one dict per distinct detail
            # The named tuples made by tuple.__new__ itself: no Python call per entry (the
            # class's own constructor and _make are Python functions); six fields each.
            new, entry = tuple.__new__, audit.AuditEntry
            found = [
                new(entry, (n, times[t], users[u], actions[a], records[r], d or {}))
                for n, t, u, a, r, d in zip(*columns, strict=True)
            ]
        except (crypto.DecryptError, crypto.CryptoError, KeyError, TypeError, ValueError):
            return None
        except IndexError:
            return None
        return seq, link, found

    def unlock(self, login: str, passphrase: bytes, *, duress: bool = True) -> UserInfo:
        user = super().unlock(login, passphrase, duress=duress)
        # What a sync found while the vault was locked; a failure (a full disk) keeps the note
        # for the next unlock rather than keep this user out.
        with contextlib.suppress(KnownError):
            self.audit_tampered_notes()
        return user

    def lock(self) -> None:
        self._supervision_kept = None
        super().lock()

    def check_state(self) -> VaultError | None:
        """The cheap check of :meth:`unlock`, run again (before sync, and by ``fieldscreen
        status --check``): the state digest's root against its buckets and counts, and the audit
        log's shape and newest entries. What is wrong is audited; returns it in words."""
        with self._tx() as conn:
            self._check_state(conn)
        return self.state_alert()

    def record_event(
        self, action: str, record_id: str | None = None, detail: dict[str, Any] | None = None
    ) -> None:
        """Audit an action taken elsewhere in the app (export, consent or risk override ...).

        ``detail`` holds codes and counts only (a legal-basis code, a recipient type), never
        answers or names.
        """
        if action not in _EVENTS:
            raise ValueError(f"not an app-level audit action: {action!r}")
        with self._tx() as conn:
            self._audit(conn, action, record_id, detail)

    @contextlib.contextmanager
    def bulk(self) -> Iterator[None]:
        """Run many writes (drafts, finalises) in one transaction: one flush, all or nothing.

        For ``fieldscreen simulate`` and benchmarks; the app writes each answer on its own.
        """
        with self._tx():
            yield

    def use_signing_bytes(self, signing_bytes: Callable[[Mapping[str, Any]], bytes]) -> None:
        """Set what the device signs at finalise (once the organisation's keys are known)."""
        self._signing_bytes = signing_bytes
        self._signing_wired = True

    def device_secret(self, name: str) -> bytes | None:
        """One of the encrypted :data:`DEVICE_SECRETS` (None when never set); needs unlock."""
        if name not in DEVICE_SECRETS:
            raise ValueError(f"not a device secret: {name!r}")
        with self._tx() as conn:
            return self._secret(conn, name)

    def set_device_secret(self, name: str, value: bytes) -> None:
        """Store one of the :data:`DEVICE_SECRETS` encrypted, durably on return."""
        if name not in DEVICE_SECRETS:
            raise ValueError(f"not a device secret: {name!r}")
        with self._tx() as conn:
            self._put_secret(conn, name, value)

    def sign_as_device(self, message: bytes) -> bytes:
        """Sign ``message`` with this device's Ed25519 key (enrolment proof); needs unlock.

        The private half never leaves the vault.
        """
        with self._tx() as conn:
            key = self._secret(conn, "device_signing_key")
        if key is None:
            raise VaultError("vault-damaged", detail="the device key is missing")
        return crypto.sign(key, message)

    def wipe(self) -> dict[str, int]:
        """Crypto-shred this vault: key file first, then the database files."""
        if self.is_unlocked:
            with contextlib.suppress(Exception), self._tx() as conn:
                self._audit(conn, "wipe")
        self.close()
        return wipe_folder(self.folder)


def _shred(path: Path) -> bool:
    """Overwrite a file with random bytes, flush it, then unlink it."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return False
    with contextlib.suppress(OSError), path.open("r+b") as fh:
        remaining = size
        while remaining > 0:
            chunk = min(remaining, 1 << 20)
            fh.write(os.urandom(chunk))
            remaining -= chunk
        fh.flush()
        os.fsync(fh.fileno())
    path.unlink(missing_ok=True)
    return True


def _sync_folder(folder: Path) -> None:
    if os.name == "posix":
        with contextlib.suppress(OSError):
            fd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def wipe_folder(folder: Path, extra: Iterable[Path] = ()) -> dict[str, int]:
    """Destroy the vault in ``folder`` (and the files or folders in ``extra``).

    The key file goes first and its removal is flushed: from that moment the master key exists
    nowhere, so the database is unreadable even if a later step fails or the power is cut.
    Overwriting the database afterwards is belt and braces (SSDs may keep old blocks).
    """
    folder = Path(folder)
    files = 0
    if _shred(folder / KEYS_NAME):
        files += 1
    _sync_folder(folder)
    for leftover in folder.glob(f".{KEYS_NAME}.*.tmp"):
        files += _shred(leftover)
    for suffix in ("", "-wal", "-shm", "-journal"):
        files += _shred(Path(str(folder / DB_NAME) + suffix))
    files += _shred(folder / THROTTLE_NAME)
    for target in extra:
        paths = sorted(target.rglob("*"), reverse=True) if target.is_dir() else [target]
        for path in paths:
            if path.is_file():
                files += _shred(path)
    _sync_folder(folder)
    return {"files_destroyed": files}


def vault_status(folder: Path) -> dict[str, Any]:
    """Counts that need no passphrase: records by status, outbox by state, device state."""
    folder = Path(folder)
    if not (folder / KEYS_NAME).exists():
        return {"vault": "absent"}
    store = Store(folder / DB_NAME)
    try:
        from fieldscreen.vault.migrations import migrate

        migrate(store)
        by_status = {
            r["status"]: r["n"]
            for r in store.read("SELECT status, count(*) AS n FROM records GROUP BY status")
        }
        state = {r["name"]: r["value"] for r in store.read("SELECT name, value FROM state")}
        outbox = {
            r["state"]: r["n"]
            for r in store.read(
                "SELECT state, count(*) AS n FROM outbox "
                "WHERE kind IN (SELECT value FROM json_each(?)) GROUP BY state",
                _COUNTED,
            )
        }
        sealed = store.read(  # the screenings' and drafts' (as ``outbox_counts``)
            "SELECT count(*) AS n FROM outbox WHERE sealed IS NOT NULL "
            "AND kind IN (SELECT value FROM json_each(?))",
            _COUNTED,
        )[0]["n"]
    finally:
        store.close()
    from fieldscreen.vault.keyring import Keyring

    users = len(Keyring.load(folder / KEYS_NAME).users)
    return {
        "vault": "present",
        "format": FORMAT_VERSION,
        "device_id": state.get("device_id"),
        "device_state": state.get("device_state", "active"),
        "users": users,
        "drafts": by_status.get("draft", 0),
        "finalised": by_status.get("finalised", 0),
        "purged": by_status.get("purged", 0),
        "sealed": sealed,
        "pending": outbox.get("pending", 0) + outbox.get("failed", 0) + outbox.get("sending", 0),
        "delivered": outbox.get("delivered", 0),
        "quarantined": outbox.get("quarantined", 0),
        "last_sync": state.get("last_sync_day"),
    }
