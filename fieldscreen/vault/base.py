"""Lifecycle of a vault: create, open, unlock, lock, close; and the helpers the parts share.

A vault lives in one folder (the profile's data folder) as two files:

* ``vault.keys`` -- the key file (:mod:`fieldscreen.vault.keyring`): wrapped master keys, roster;
* ``vault.sqlite3`` -- the database (:mod:`fieldscreen.vault.store`), with its WAL.

The vault exists once the key file exists; creation writes it last. Opening reads only the key
file; the database is opened after a successful unlock (or for counts that need no key), so a
wrong passphrase leaves every file byte-identical.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hmac
import re
import sqlite3
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Self

from fieldscreen import crypto
from fieldscreen.errors import KnownError
from fieldscreen.paths import ensure_private_dir
from fieldscreen.vault import audit, digest, throttle
from fieldscreen.vault import keyring as keyfile
from fieldscreen.vault.errors import IntegrityError, UnlockFailed, VaultError
from fieldscreen.vault.keyring import ROLES, Keyring, Role, Roster, remove_stale_temporaries
from fieldscreen.vault.keys import Keys, aad
from fieldscreen.vault.listindex import PendingIndex
from fieldscreen.vault.migrations import migrate
from fieldscreen.vault.store import PLAINTEXT_STATE_NAMES, Store, as_blob, json_loads

__all__ = [
    "DB_NAME",
    "KEYS_NAME",
    "MIN_PASSPHRASE_CHARS",
    "UserInfo",
    "VaultBase",
    "canonical_json",
]

#: The secrets-table slots this build writes besides the row map's and the audit log's
#: (:data:`fieldscreen.vault.digest.UNBOUND`); a test keeps it equal to what is written.
SECRET_SLOTS = frozenset(
    {
        "device_signing_key",
        "org_keys",
        "sync.provisioning",
        "sync.provisioning.signed",
        "sync.identity",
        "sync.updates",
        "match.secret",
        "handover.queue",
        "handover.held",
        "handover.acks_cursor",
        "state_bound",
        "outbox_stamped",
    }
)
#: Plaintext state the vault writes only while unlocked, kept also in the ``state_bound``
#: secret (bound by the row map's root): an edited value is put back from it at each check.
BOUND_STATE = ("vault_id", "device_id", "device_public_key", "device_seq", "created_day")
KEYS_NAME = "vault.keys"
DB_NAME = "vault.sqlite3"
MIN_PASSPHRASE_CHARS = 10
_ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}
_ID = re.compile(r"^[0-9a-f]{32}$")
_DEK_CACHE_SIZE = 256


def canonical_json(value: Any) -> bytes:
    """Deterministic JSON bytes (sorted keys, no spaces, UTF-8)."""
    return json_dumps(value).encode("utf-8")


def json_dumps(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class UserInfo:
    """The unlocked user (no secret in it)."""

    user_id: str
    login: str
    role: Role


class VaultBase:
    """Shared state and helpers; :class:`fieldscreen.vault.Vault` adds the operations."""

    def __init__(
        self,
        folder: Path,
        *,
        follow_up_days: int = 7,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        signing_bytes: Callable[[Mapping[str, Any]], bytes] = canonical_json,
        new_key_kdf: crypto.KdfParams | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.keys_path = self.folder / KEYS_NAME
        self.db_path = self.folder / DB_NAME
        self.follow_up_days = follow_up_days
        self._clock = clock or (lambda: datetime.now(UTC))
        self._sleep = sleep
        self._signing_bytes = signing_bytes
        #: Argon2id cost for keys wrapped from now on (None: the production default).
        self.kdf_for_new_keys = new_key_kdf
        self._keyring: Keyring | None = None
        self._store: Store | None = None
        self._keys: Keys | None = None
        self._user: UserInfo | None = None
        #: The admin signing key, held while an admin with one is signed in.
        self._admin_key: bytearray | None = None
        #: The outbox state key (``outbox-state``), kept from the last unlock through the lock
        #: so that this process's sync stamps what it changes while locked; dropped at close.
        self._outbox_key: bytearray | None = None
        #: Up to which device sequence number rows to be sent may be unstamped (left so by the
        #: first check of the build that brought the stamps), as the last outbox check read it.
        self._adopted_upto = 0
        self._failures = 0
        #: When this process recorded its last failed unlock (it has waited after it).
        self._own_failure: float | None = None
        #: What the last key rotation rewrote (for its caller's report).
        self._last_rekey: Any = None
        self._dek_cache: OrderedDict[str, tuple[bytes, bytearray]] = OrderedDict()
        #: Case-list index buckets changed in the current transaction, written before commit.
        self._pending_index = PendingIndex()
        #: The state digest's row map: pending writes and what verified (dropped at lock).
        self._row_map = digest.RowMap()
        #: What the last check of the state digest found (:meth:`_check_state`), or None.
        self.last_state_check: digest.MapCheck | None = None
        #: What the last check of the audit chain found (:meth:`_check_state`), or None.
        self.last_audit_check: audit.AuditReport | None = None
        #: What the last check of the outbox against the row map found and repaired
        #: (:meth:`_check_outbox`): ``resealed`` and ``requeued`` record ids.
        self.last_outbox_check: dict[str, list[str]] = {}
        #: User ids whose key-file entry failed its MAC at the last check (``duress``: the
        #: duress entry); their old MAC is kept by every later write of the key file.
        self.last_key_check: list[str] = []
        #: Plaintext state names the last check put back from their bound copy.
        self.last_bound_state: list[str] = []
        #: Whether the device signs as the server verifies (:meth:`use_signing_bytes` ran).
        self._signing_wired = signing_bytes is not canonical_json
        self._tx_depth = 0
        #: True while the session was opened by the duress passphrase (the vault is sealed).
        self.duress = False
        #: Seals the vault when the duress passphrase opened it (called once, unlocked); None:
        #: :meth:`travel_mode` as it is. The device wires the signing first
        #: (:func:`fieldscreen.device.open_vault`).
        self.on_duress: Callable[[Any], object] | None = None

    # ------------------------------------------------------------------ lifecycle
    @staticmethod
    def exists(folder: Path) -> bool:
        return (Path(folder) / KEYS_NAME).exists()

    @classmethod
    def open(cls, folder: Path, **options: Any) -> Self:
        """The vault in ``folder``, locked. Reads the key file only."""
        vault = cls(folder, **options)
        vault._keyring = Keyring.load(vault.keys_path)
        return vault

    @classmethod
    def create(
        cls,
        folder: Path,
        *,
        admin_login: str,
        passphrase: bytes,
        kdf: crypto.KdfParams | None = None,
        **options: Any,
    ) -> Self:
        """Create a vault whose first user is an admin; return it unlocked as that admin."""
        vault = cls(folder, **options)
        if vault.keys_path.exists():
            raise VaultError("vault-exists")
        _check_login(admin_login)
        _check_passphrase(passphrase)
        if not crypto.argon2id_available():
            raise crypto.CryptoError("crypto-kdf-unavailable")
        params = kdf or crypto.KdfParams.default()
        if vault.kdf_for_new_keys is None and kdf is not None:
            vault.kdf_for_new_keys = kdf
        kek = crypto.derive_key(passphrase, params)  # refuses weak parameters before any write
        ensure_private_dir(vault.folder)
        for suffix in ("", "-wal", "-shm"):  # left by a creation that crashed before the key file
            with contextlib.suppress(FileNotFoundError):
                Path(str(vault.db_path) + suffix).unlink()
        master = crypto.random_bytes(crypto.KEY_BYTES)
        admin_private, admin_public = crypto.generate_signing_keypair()
        keys = Keys(master, admin_public)
        vault_id, device_id, user_id = (uuid.uuid4().hex for _ in range(3))
        signing_private, signing_public = crypto.generate_signing_keypair()
        store = Store(vault.db_path)
        migrate(store)
        today = vault.today()
        with store.transaction() as conn:
            for name, value in (
                ("vault_id", vault_id),
                ("device_id", device_id),
                ("device_seq", "0"),
                ("created_day", today),
                ("device_state", "active"),
            ):
                _put_state(conn, name, value)
            _put_secret(conn, keys, "device_signing_key", signing_private)
            _put_state(conn, "device_public_key", signing_public.hex())
            # every outbox row is stamped; none delivered yet (the mark of the outbox check)
            _put_secret(
                conn, keys, "outbox_stamped", canonical_json({"count": 0, "sum": 0, "upto": 0})
            )
            digest.RowMap().flush(conn, keys, always=True)  # the empty map's root
            audit.append(conn, keys, vault_id, user_id=user_id, action="create-vault")
        entry = keyfile.new_entry(
            vault_id,
            1,
            user_id=user_id,
            login=admin_login,
            role="admin",
            created_day=today,
            kdf=params.to_dict(),
            kek=kek,
            master=master,
            admin_private=admin_private,
        )
        duress = keyfile.inert_duress(
            vault_id, 1, vault._duress_params().to_dict(), crypto.random_bytes(crypto.KEY_BYTES)
        )
        # anchor: no provisioning approved yet; duress: none set (an inert entry, same shape)
        roster = Roster(1, admin_public, [entry], anchor={}, duress=duress)
        roster.sign(vault_id, admin_private)
        throttle.write(vault.folder, vault_id, 0, vault._clock().timestamp())
        keyring = Keyring(vault.keys_path, vault_id, roster)
        keyring.save(keys.sub("key-entries"))
        vault._keyring, vault._store, vault._keys = keyring, store, keys
        vault._admin_key = bytearray(admin_private)
        vault._user = UserInfo(user_id, admin_login, "admin")
        return vault

    def _duress_params(self) -> crypto.KdfParams:
        """Argon2id for a duress credential: the production floor (it is derived at every
        unlock beside the user's own), or the test suite's light parameters."""
        template = self.kdf_for_new_keys
        if template is not None and template.below_floor:
            return crypto.KdfParams(
                template.memory_kib, template.iterations, template.lanes, crypto.random_bytes(16)
            )
        return crypto.KdfParams(
            crypto.FLOOR_MEMORY_KIB, crypto.FLOOR_ITERATIONS, crypto.DEFAULT_LANES,
            crypto.random_bytes(16),
        )  # fmt: skip

    def unlock(self, login: str, passphrase: bytes, *, duress: bool = True) -> UserInfo:
        """Open ``login``'s keys with their passphrase and check them against the roster.

        A key rotation left half done (killed) is finished first, by whoever unlocks. The
        first admin to unlock a vault of key-file format 1 moves it to format 2.

        Raises:
            UnlockFailed: one message for an unknown login, a wrong passphrase or a damaged
                wrapped key; from the third failure in a row each one waits longer
                (1, 2, 4 ... up to 30 seconds), counted across processes in
                ``vault.throttle`` (:mod:`fieldscreen.vault.throttle`).
            VaultError: ``vault-roster-invalid`` when the roster was changed without the admin
                key, or the key file does not belong to this database's keys (an old copy).
        """
        keyring = self._keyring = Keyring.load(self.keys_path)
        counter = self._throttle_before(keyring)
        roster = keyring.pending or keyring.current
        entry = roster.find(login)
        reference = entry or roster.users[0]  # same Argon2id cost for an unknown login
        kek = crypto.derive_key(passphrase, crypto.KdfParams.from_dict(reference.credential.kdf))
        # The duress credential is always tried too, whatever the first attempt found, so the
        # time an unlock takes does not tell which passphrase was typed.
        under_duress = self._open_duress(keyring, roster, passphrase) if duress else None
        try:
            master, private = keyfile.open_entry(
                keyring.vault_id, roster.generation, reference, kek
            )
            if entry is None:
                raise crypto.DecryptError
        except crypto.DecryptError:
            if entry is not None and under_duress is not None:
                master, private = under_duress, None
            else:
                entry = None
        else:
            under_duress = None
        if entry is None:
            failures = counter.failures + 1
            self._failures = failures
            self._own_failure = self._clock().timestamp()
            throttle.write(self.folder, keyring.vault_id, failures, self._own_failure)
            if failures >= 3:
                self._sleep(throttle.delay(failures))
            raise UnlockFailed from None
        keys = Keys(master, roster.admin_public)
        try:
            self._check_roster(keyring, roster, keys)
            store = self._open_store()
            if _get_state(store, "vault_id") != keyring.vault_id:
                raise VaultError("vault-damaged", detail="the key file does not match the database")
            if keyring.pending is not None and under_duress is None:
                self._finish_rotation(keyring, entry, passphrase, kek, keys, private=private)
            elif not _keys_match(store, keys):
                raise VaultError("vault-roster-invalid")
            admin_key = keyfile.open_admin(keyring.vault_id, roster, entry, private)
        except BaseException:
            keys.wipe()
            raise
        self.lock()
        self._failures = 0
        if counter.failures or not counter.trusted:
            throttle.write(self.folder, keyring.vault_id, 0, self._clock().timestamp())
        remove_stale_temporaries(self.keys_path)
        self._keys = keys
        self._admin_key = None if admin_key is None else bytearray(admin_key)
        role: Role = "specialist" if under_duress is not None else entry.role
        self._user = UserInfo(entry.user_id, entry.login, role)
        try:
            with self._tx() as conn:
                self._audit(conn, "unlock")
                self._upgrade_row_map(conn, keys)
                self._check_state(conn)
            if under_duress is not None:
                self.duress = True
                (self.on_duress or (lambda vault: vault.travel_mode()))(self)
            elif self._keyring.format == keyfile.LEGACY_FORMAT and entry.role == "admin":
                self._upgrade(kek)
            elif self._admin_key is not None and self._keyring.current.changes:
                self._countersign()
        except BaseException:
            self.lock()
            raise
        return self._user

    def _countersign(self) -> None:
        """Sign into the roster the new public key of every passphrase change awaiting an
        admin (the signed-in admin's key; the key file alone is rewritten, atomically). An
        entry found damaged at this unlock is left pending, unsigned."""
        keys, _ = self._require("admin")
        keyring = self._require_keyring()
        assert self._admin_key is not None
        damaged = set(self.last_key_check)
        signed = keyring.current.countersigned(skip=damaged)
        if signed is keyring.current:
            return
        taken = [u.user_id for u in keyring.current.changes if u.user_id not in damaged]
        signed.sign(keyring.vault_id, bytes(self._admin_key))
        updated = dataclasses.replace(keyring, current=signed, pending=None)
        updated.save(keys.sub("key-entries"), self.last_key_check)
        self._keyring = updated
        with self._tx() as conn:
            self._audit(conn, "passphrase-countersign", detail={"users": taken})

    def _open_duress(self, keyring: Keyring, roster: Roster, passphrase: bytes) -> bytes | None:
        """The master key the duress passphrase opens, or None (an inert entry, another
        passphrase). Always costs one Argon2id derivation when the roster has an entry."""
        duress = roster.duress
        if duress is None:
            return None
        duress_kek = crypto.derive_key(passphrase, crypto.KdfParams.from_dict(duress.kdf))
        try:
            master, _ = keyfile.open_entry(keyring.vault_id, roster.generation, duress, duress_kek)
        except (crypto.DecryptError, VaultError):
            return None
        return master

    def _upgrade_row_map(self, conn: sqlite3.Connection, keys: Keys) -> None:
        """Build the row map of a vault of the first format, once its rows match that
        format's digest (an empty vault needs none). A vault whose rows do not match keeps no
        map, so every row reads as unverified and the check reports it."""
        try:
            if digest.read_root(conn, keys) is not None:
                return
        except crypto.DecryptError:
            return  # a damaged root is reported by the check, never rebuilt over
        if conn.execute("SELECT 1 FROM row_map LIMIT 1").fetchone() is not None:
            return
        try:
            legacy = digest.legacy_read(conn, keys)
        except crypto.DecryptError:
            return
        empty = conn.execute(
            "SELECT (SELECT count(*) FROM records) + (SELECT count(*) FROM case_cards)"
        ).fetchone()[0]
        if (legacy is None and not empty) or (
            legacy is not None and legacy != digest.legacy_compute(conn, keys)
        ):
            return
        digest.build(conn, keys)

    def _check_state(self, conn: sqlite3.Connection) -> digest.MapCheck:
        """Check the row map's root against its buckets and the row counts (one HMAC per
        bucket, two counts), and the audit log's shape and its entries since the last check;
        audit what is wrong as ``integrity-alert``."""
        keys, _ = self._require()
        report = self._row_map.verify(conn, keys)
        report.problems.extend(self._row_map.row_problems)  # found by a list this session
        chain = audit.check_recent(conn, keys, self.vault_id)
        self.last_state_check, self.last_audit_check = report, chain
        self.last_outbox_check = self._check_outbox(conn, keys)
        self.last_bound_state = self._check_bound_state(conn)
        keyring = self._keyring
        if keyring is not None and keyring.current.admin_public is not None:
            # every user's entry, not only the one that unlocked: a damaged colleague's entry
            # is said now, not when they next try to sign in (one HMAC per user)
            damaged = keyring.current.damaged_entries(keys.sub("key-entries"), keyring.vault_id)
            self.last_key_check = damaged
            for user_id in damaged:
                self._audit(conn, "integrity-alert", detail={"what": "key-entry", "user": user_id})
        if not report.intact:
            self._audit(conn, "integrity-alert", detail=_map_detail(report))
        if not chain.intact:
            self._audit(
                conn,
                "integrity-alert",
                detail={"what": "audit", "entries": chain.entries, "from": chain.first_bad_seq},
            )
        return report

    def _row_fixes(
        self, conn: sqlite3.Connection, only: Iterable[str] | None = None
    ) -> digest.RowCheck:
        """Record rows (those of ``only``, or every one) against the row map, for the lists
        (:meth:`digest.RowMap.row_fixes`): what is found for the first time is audited as
        ``integrity-alert`` and said by :meth:`state_alert` from now on."""
        keys, _ = self._require()
        check = self._row_map.row_fixes(conn, keys, only)
        found = check.problems
        if found:
            rolled = sum(1 for p in found if p.kind == "rolled-back")
            self._audit(
                conn,
                "integrity-alert",
                detail={"what": "records", "rows": len(found), "rolled_back": rolled},
            )
            if self.last_state_check is not None:
                known = set(self.last_state_check.problems)
                self.last_state_check.problems.extend(p for p in found if p not in known)
        return check

    def _drop_outbox_key(self) -> None:
        if self._outbox_key is not None:
            self._outbox_key[:] = b"\0" * len(self._outbox_key)
            self._outbox_key = None

    def _outbox_stamp_key(self) -> bytes | None:
        """The key outbox states are stamped with: the vault's while unlocked, the one this
        process kept through the lock while locked, else None (a process never unlocked)."""
        if self._keys is not None:
            return self._keys.sub("outbox-state")
        return None if self._outbox_key is None else bytes(self._outbox_key)

    def _stamp_outbox(self, conn: sqlite3.Connection, record_ids: Iterable[str]) -> None:
        """Stamp each outbox row's state as this write left it (:func:`outbox_state_mac`,
        in the caller's transaction; NULL without a key: the next unlock reports the change).
        The sync's own writes stamp in the statement that moves the row instead (one rewrite
        of a row holding its sealed copy, not two)."""
        key = self._outbox_stamp_key()
        for record_id in record_ids:
            row = conn.execute(
                "SELECT state, reason, typeof(sealed) = 'blob' FROM outbox WHERE record_id = ?",
                (record_id,),
            ).fetchone()
            if row is None:
                continue
            mac = None if key is None else outbox_state_mac(key, record_id, *row)
            conn.execute("UPDATE outbox SET state_mac = ? WHERE record_id = ?", (mac, record_id))

    def _bind_state(self, conn: sqlite3.Connection) -> None:
        """Keep :data:`BOUND_STATE` as it now is in the ``state_bound`` secret (in the
        caller's transaction; the vault calls it where it writes those names)."""
        values = {
            str(n): str(v)
            for n, v in conn.execute(
                f"SELECT name, value FROM state WHERE name IN ({','.join('?' * len(BOUND_STATE))})",  # noqa: S608 -- placeholders only
                BOUND_STATE,
            )
        }
        self._put_secret(conn, "state_bound", canonical_json(values))

    def _check_bound_state(self, conn: sqlite3.Connection) -> list[str]:
        """The plaintext state the vault writes only while unlocked, against its bound copy:
        an edited or deleted value is put back from the copy and audited; the names put back.
        A vault without the copy yet (an earlier build) records it now."""
        try:
            raw = self._secret(conn, "state_bound")
        except KnownError:  # deleted or put back: the state digest's check reports it
            return []
        if raw is None:
            self._bind_state(conn)
            return []
        try:
            bound = json_loads(raw)
        except (ValueError, TypeError):
            return []
        if not isinstance(bound, dict):
            return []
        current = {
            str(n): v
            for n, v in conn.execute(
                f"SELECT name, value FROM state WHERE name IN ({','.join('?' * len(BOUND_STATE))})",  # noqa: S608 -- placeholders only
                BOUND_STATE,
            )
        }
        wrong = sorted(n for n in BOUND_STATE if current.get(n) != bound.get(n))
        for name in wrong:
            if name in bound:
                _put_state(conn, name, str(bound[name]))
            else:
                conn.execute("DELETE FROM state WHERE name = ?", (name,))
        # what the server last said of this device is written while locked, so it cannot be
        # bound; a value it never sends is a cache edited outside FieldScreen: the server is
        # asked again at the next sync (it refuses a revoked device whatever the laptop says)
        row = conn.execute("SELECT value FROM state WHERE name = 'device_state'").fetchone()
        if row is not None and row[0] not in ("active", "revoked"):
            _put_state(conn, "device_state", "active")
            wrong.append("device_state")
        if wrong:
            self._audit(conn, "integrity-alert", detail={"what": "state", "names": wrong})
        return wrong

    def _logins_of(self, user_ids: list[str]) -> str:
        keyring = self._keyring
        names = []
        for user_id in user_ids:
            entry = None if keyring is None else keyring.current.by_id(user_id)
            names.append(entry.login if entry is not None else "duress")
        return ", ".join(names)

    def set_policy_anchor(self, anchor: dict[str, Any]) -> None:
        """Sign ``anchor`` into the roster (:class:`AccountsMixin` does it)."""
        raise NotImplementedError

    def _extra_alert(self) -> VaultError | None:
        """What else :meth:`state_alert` says when the rows and the audit log are sound
        (:class:`RecordsMixin`: an organisation key the roster does not name)."""
        return None

    def _check_outbox(self, conn: sqlite3.Connection, keys: Keys) -> dict[str, list[str]]:
        """The outbox against the records the row map holds (:class:`RecordsMixin` does it;
        a vault without records has nothing to compare)."""
        return {}

    def _throttle_before(self, keyring: Keyring) -> throttle.Counter:
        """The persisted failure count; wait out what is left of its delay first, unless this
        process already waited after that failure."""
        now = self._clock().timestamp()
        first_format = keyring.format == keyfile.LEGACY_FORMAT
        counter = throttle.read(self.folder, keyring.vault_id, now, first_format=first_format)
        if not counter.trusted or counter.last != self._own_failure:
            remaining = throttle.delay(counter.failures) - max(0.0, now - counter.last)
            if remaining > 0:
                self._sleep(remaining)
        return counter

    def _check_roster(self, keyring: Keyring, roster: Roster, keys: Keys) -> None:
        """The roster's signature (or a format-1 file's MAC); a pending roster must also have
        been authorised by the current admin key."""
        if roster.admin_public is None:
            valid = roster.legacy_mac_valid(keyring.vault_id, keys.sub("roster"))
        else:
            valid = roster.signature_valid(keyring.vault_id)
        if not valid:
            raise VaultError("vault-roster-invalid")

    def _finish_rotation(
        self,
        keyring: Keyring,
        entry: keyfile.UserEntry,
        passphrase: bytes,
        kek: bytes,
        keys: Keys,
        *,
        private: bytes | None = None,
    ) -> None:
        """Complete a rotation that was killed: re-encrypt if the database is still under the
        old keys, then write the new roster alone.

        The old master key comes from the user's entry in the current roster, opened with the
        same passphrase; when the rotation is this user's passphrase change (a new key pair
        under the new passphrase), from the old master key sealed to the new key pair in the
        pending entry (:attr:`~fieldscreen.vault.keyring.UserEntry.sealed_previous`)."""
        pending, current = keyring.pending, keyring.current
        assert pending is not None
        store = self._open_store()
        if not _keys_match(store, keys):
            old_entry = current.by_id(entry.user_id)
            if old_entry is None:
                raise VaultError("vault-roster-invalid")
            previous = entry.credential.sealed_previous
            try:
                if previous is not None and private is not None:
                    old_master = crypto.open_sealed(
                        private,
                        previous,
                        info=keyfile.previous_info(
                            keyring.vault_id, current.generation, entry.user_id
                        ),
                        aad=b"",
                    )
                else:
                    if old_entry.credential.kdf != entry.credential.kdf:
                        kek = crypto.derive_key(
                            passphrase, crypto.KdfParams.from_dict(old_entry.credential.kdf)
                        )
                    old_master, _ = keyfile.open_entry(
                        keyring.vault_id, current.generation, old_entry, kek
                    )
            except crypto.DecryptError:
                raise VaultError("vault-roster-invalid") from None
            old_keys = Keys(old_master, current.admin_public)
            try:
                self._check_roster(keyring, current, old_keys)
                if not _authorised(keyring, pending, old_keys) or not _keys_match(store, old_keys):
                    raise VaultError("vault-roster-invalid")
                self._reencrypt(old_keys, keys, entry.user_id, {"reason": "resumed"})
            finally:
                old_keys.wipe()
        self._write_roster(keyring, pending, keys)

    def _rotate_to(
        self, new_master: bytes, new_roster: Roster, new_admin: bytes | None, reason: str
    ) -> None:
        """Move the vault to ``new_master`` and ``new_roster`` (signed by ``new_admin``), in
        three durable steps: the key file with the new roster pending beside the current one;
        the database re-encrypted in one transaction; the key file with the new roster alone.
        Killed anywhere, the next unlock finishes it or finds it never started."""
        keys, user = self._require()
        keyring = self._require_keyring()
        vault_id = keyring.vault_id
        if new_roster.authorised is not None:
            pass  # a non-admin's passphrase change: the signed part, and its signature, unchanged
        elif keyring.current.admin_public is None:
            new_roster.authorised = crypto.hmac_sha256(
                keys.sub("roster"), new_roster.signed_bytes(vault_id)
            )
        else:
            if self._admin_key is None:
                raise VaultError("vault-admin-key-missing")
            new_roster.authorised = crypto.sign(
                bytes(self._admin_key), new_roster.signed_bytes(vault_id)
            )
        staged = Keyring(keyring.path, vault_id, keyring.current, new_roster)
        staged.save(keys.sub("key-entries"), self.last_key_check)
        self._keyring = staged
        new_keys = Keys(new_master, new_roster.admin_public)
        self._reencrypt(keys, new_keys, user.user_id, {"reason": reason})
        keys.wipe()
        self._keys = new_keys
        if new_admin is not None:  # None: the admin key stays (a non-admin's passphrase change)
            if self._admin_key is not None:
                self._admin_key[:] = b"\0" * len(self._admin_key)
            self._admin_key = bytearray(new_admin)
        self._write_roster(staged, new_roster)

    def _reencrypt(self, old: Keys, new: Keys, user_id: str, detail: dict[str, Any]) -> None:
        from fieldscreen.vault import rekey

        for _, dek in self._dek_cache.values():
            dek[:] = b"\0" * len(dek)
        self._dek_cache.clear()
        self._row_map.forget()  # what it verified was under the old keys
        vault_id = self._require_keyring().vault_id
        with self._open_store().transaction() as conn:
            counts = rekey.reencrypt(conn, old, new, vault_id)
            audit.append(
                conn,
                new,
                vault_id,
                user_id=user_id,
                action="rekey",
                detail={**detail, "keys": counts.data_keys, "unreadable": counts.unreadable},
            )
        self._last_rekey = counts

    def _write_roster(self, keyring: Keyring, roster: Roster, keys: Keys | None = None) -> None:
        final = Keyring(keyring.path, keyring.vault_id, roster.settled())
        keys = keys or self._keys
        # the new roster's entries, each written by this rotation: all MACed under its keys
        final.save(None if keys is None else keys.sub("key-entries"))
        self._keyring = final

    def _upgrade(self, kek: bytes) -> None:
        """Move a format-1 vault to format 2 (the admin signed in): an admin key, this admin's
        key pair, the other accounts kept as they are; the master key stays the same, the
        database is re-encrypted under the subkeys bound to the new admin key."""
        keys, user = self._require("admin")
        keyring = self._require_keyring()
        admin_private, admin_public = crypto.generate_signing_keypair()
        users = []
        for kept in keyring.users:
            entry = kept
            if kept.user_id == user.user_id:
                entry = keyfile.new_entry(
                    keyring.vault_id,
                    1,
                    user_id=entry.user_id,
                    login=entry.login,
                    role=entry.role,
                    created_day=entry.created_day,
                    kdf=entry.kdf,
                    kek=kek,
                    master=keys.master,
                    admin_private=admin_private,
                )
            users.append(entry)
        roster = Roster(1, admin_public, users)
        roster.sign(keyring.vault_id, admin_private)
        self._rotate_to(keys.master, roster, admin_private, "format-2")

    def state_alert(self) -> VaultError | None:
        """What the last check found wrong, in words (``vault-state-altered``; or
        ``vault-secrets-altered`` naming them when only secrets were), or None."""
        state, chain = self.last_state_check, self.last_audit_check
        rows = 0 if state is None else _map_rows(state)
        entries = (
            0
            if chain is None or chain.intact
            else max(1, chain.entries - (chain.first_bad_seq or 1) + 1)
        )
        if not rows and not entries:
            outbox = self.last_outbox_check
            if outbox.get("delivered"):
                expected, _, found = outbox["delivered"][0].partition(":")
                return VaultError(
                    "vault-outbox-delivered-changed",
                    expected=expected,
                    found=found,
                    rows=len(outbox.get("state", ())),
                    resealed=len(outbox.get("resealed", ())) + len(outbox.get("held", ())),
                    missing=len(outbox.get("missing", ())),
                )
            if outbox.get("state"):
                return VaultError(
                    "vault-outbox-state-changed",
                    rows=len(outbox["state"]),
                    resealed=len(outbox.get("resealed", ())) + len(outbox.get("held", ())),
                    missing=len(outbox.get("missing", ())),
                    requeued=len(outbox.get("requeued", ())),
                    restored=len(outbox.get("restored", ())),
                )
            if any(outbox.values()):
                return VaultError(
                    "vault-outbox-repaired",
                    resealed=len(outbox.get("resealed", ())) + len(outbox.get("held", ())),
                    requeued=len(outbox.get("requeued", ())),
                    missing=len(outbox.get("missing", ())),
                    restored=len(outbox.get("restored", ())),
                )
            if self.last_bound_state:
                return VaultError("vault-state-restored", names=", ".join(self.last_bound_state))
            if self.last_key_check:
                return VaultError(
                    "vault-key-entry-damaged", logins=self._logins_of(self.last_key_check)
                )
            return self._extra_alert()
        lost = self.secrets_altered()
        if lost and rows == len(lost) and not entries:
            # only slot names this build writes are shown; a row someone added is counted
            named = sorted(n for n in lost if n in SECRET_SLOTS)
            others = len(lost) - len(named)
            return VaultError(
                "vault-secrets-altered", names=", ".join(named + ([f"+{others}"] if others else []))
            )
        return VaultError("vault-state-altered", rows=rows, audit=entries)

    def secrets_altered(self) -> frozenset[str]:
        """Secrets the last check found deleted, put back or added outside FieldScreen (their
        absence is not "never set")."""
        state = self.last_state_check
        if state is None:
            return frozenset()
        return frozenset(
            p.row_id for p in state.problems if p.table == "secrets" and p.row_id is not None
        )

    def lock(self) -> None:
        """Drop the keys and every cached record key (see :mod:`fieldscreen.vault.keys`)."""
        self._row_map.forget()
        if self._keys is not None:
            self._drop_outbox_key()
            self._outbox_key = bytearray(self._keys.sub("outbox-state"))
            self._keys.wipe()
        if self._admin_key is not None:
            self._admin_key[:] = b"\0" * len(self._admin_key)
            self._admin_key = None
        for _, dek in self._dek_cache.values():
            dek[:] = b"\0" * len(dek)
        self._dek_cache.clear()
        self._keys = None
        self._user = None
        self.duress = False

    def close(self) -> None:
        self.lock()
        self._drop_outbox_key()
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def is_unlocked(self) -> bool:
        return self._keys is not None

    @property
    def current_user(self) -> UserInfo | None:
        return self._user

    @property
    def vault_id(self) -> str:
        return self._require_keyring().vault_id

    @property
    def device_id(self) -> str:
        value = _get_state(self._open_store(), "device_id")
        if value is None:
            raise VaultError("vault-damaged", detail="the device id is missing")
        return value

    @property
    def device_public_key(self) -> bytes:
        value = _get_state(self._open_store(), "device_public_key")
        if value is None:
            raise VaultError("vault-damaged", detail="the device key is missing")
        return bytes.fromhex(value)

    # ------------------------------------------------------------------ helpers
    def today(self) -> str:
        return self._clock().date().isoformat()

    def _today_date(self) -> date:
        return self._clock().date()

    def _require_keyring(self) -> Keyring:
        if self._keyring is None:
            self._keyring = Keyring.load(self.keys_path)
        return self._keyring

    def _open_store(self) -> Store:
        if self._store is None:
            if not self.keys_path.exists():
                raise VaultError("vault-missing")
            store = Store(self.db_path)
            try:
                migrate(store)
            except BaseException:
                store.close()
                raise
            self._store = store
        return self._store

    def _require(self, role: Role = "specialist") -> tuple[Keys, UserInfo]:
        if self._keys is None or self._user is None:
            raise VaultError("vault-locked")
        if _ROLE_RANK[self._user.role] < _ROLE_RANK[role]:
            raise VaultError("vault-not-allowed", role=self._user.role)
        return self._keys, self._user

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One transaction (nested use joins the outer one).

        The case-list index buckets changed inside it are written just before the outermost
        one commits, so the index changes with the cards or not at all.
        """
        try:
            with self._open_store().transaction() as conn:
                self._tx_depth += 1
                if self._tx_depth == 1:
                    self._row_map.begin()
                try:
                    yield conn
                    if self._tx_depth == 1 and (self._pending_index or self._row_map):
                        keys, _ = self._require()
                        self._row_map.lists_written(self._pending_index.flush(conn, keys))
                        self._row_map.flush(conn, keys)
                finally:
                    self._tx_depth -= 1
                    if self._tx_depth == 0:
                        self._pending_index.discard()
                        self._row_map.discard()
        except IntegrityError as error:
            # Found inside the transaction, which is rolled back: audited in one of its own.
            if self._tx_depth == 0 and not error.audited and self._keys is not None:
                error.audited = True
                with self._open_store().transaction() as conn:
                    self._audit(conn, "integrity-alert", error.record_id, error.detail)
            raise

    def _audit(
        self,
        conn: sqlite3.Connection,
        action: str,
        record_id: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        keys, user = self._require()
        audit.append(
            conn,
            keys,
            self.vault_id,
            user_id=user.user_id,
            action=action,
            record_id=record_id,
            detail=detail,
        )

    def _secret(self, conn: sqlite3.Connection, name: str) -> bytes | None:
        """Secret ``name`` decrypted (None when never set).

        Raises:
            IntegrityError: ``vault-secrets-altered`` when the row map's root says the vault
                wrote it and it is gone, or it is not the copy the vault last wrote (put back
                from an older copy): it is never read as never set, nor as the older value.
        """
        keys, _ = self._require()
        row = conn.execute("SELECT ciphertext FROM secrets WHERE name = ?", (name,)).fetchone()
        nonce = None if row is None else digest.nonce_of(row[0])
        problem = self._row_map.check_secret(conn, keys, name, nonce)
        if problem is not None:
            raise IntegrityError(
                "vault-secrets-altered",
                record_id=None,
                detail={"problem": problem.kind, "table": "secrets", "secrets": [name]},
                names=name if name in SECRET_SLOTS else "+1",
            )
        if row is None:
            return None
        return crypto.decrypt(keys.sub("secrets"), as_blob(row[0]), aad("secrets", name))

    def _put_secret(self, conn: sqlite3.Connection, name: str, value: bytes) -> None:
        """Store secret ``name``; the row map's root records it as this write left it."""
        keys, _ = self._require()
        self._row_map.secret_written(name, _put_secret(conn, keys, name, value))

    def _check_row(
        self,
        conn: sqlite3.Connection,
        table: str,
        row_id: str,
        found: tuple[Any, ...] | None,
    ) -> None:
        """Raise :class:`IntegrityError` when the row as read (as :meth:`digest.RowMap.check`
        takes it, None when absent) is not what the vault last wrote; nothing is changed
        because of it."""
        keys, _ = self._require()
        problem = self._row_map.check(conn, keys, table, row_id, found)
        if problem is None:
            return
        code = {"rolled-back": "vault-record-rolled-back", "deleted": "vault-record-deleted"}
        raise IntegrityError(
            code.get(problem.kind, "vault-record-altered"),
            record_id=row_id if _ID.match(row_id) else None,
            detail={"problem": problem.kind, "table": table},
        )


# ---------------------------------------------------------------------- module helpers
def _map_rows(report: digest.MapCheck) -> int:
    """How many things a failed check counts as wrong (each group or root at least one)."""
    if report.root_missing or report.root_damaged:
        return max(1, report.records_found + report.cards_found)
    return (
        len(report.bad_groups)
        + abs(report.records_found - report.records_expected)
        + abs(report.cards_found - report.cards_expected)
        + len(report.problems)
        + len(report.list_buckets)
    )


def _map_detail(report: digest.MapCheck) -> dict[str, Any]:
    """An ``integrity-alert`` audit entry's detail for a failed check (codes and counts)."""
    detail: dict[str, Any] = {"what": "state-digest"}
    if report.root_missing or report.root_damaged:
        detail["root"] = "missing" if report.root_missing else "damaged"
    if report.bad_groups:
        detail["groups"] = len(report.bad_groups)
    if not report.counts_match:
        detail["records"] = report.records_found - report.records_expected
        detail["cards"] = report.cards_found - report.cards_expected
    if report.problems:
        detail["rows"] = len(report.problems)
    secrets = sorted(p.row_id or "" for p in report.problems if p.table == "secrets")
    if secrets:
        detail["secrets"] = secrets
    if report.list_buckets:
        detail["list_buckets"] = len(report.list_buckets)
    return detail


def outbox_state_mac(key: bytes, record_id: object, state: object, reason: object,
                     sealed: object) -> bytes:  # fmt: skip
    """The stamp of an outbox row's state: HMAC-SHA256 (first 16 bytes) under the vault's
    ``outbox-state`` key of its record id, state, reason and whether it holds a sealed copy;
    someone with the files cannot move a row to another state and stamp it."""
    message = f"{_STAMP_PREFIX}{record_id}\x1f{state}\x1f{reason or '-'}\x1f{int(bool(sealed))}"
    return hmac.digest(key, message.encode("utf-8", "surrogateescape"), "sha256")[:16]


_STAMP_PREFIX = "fieldscreen/vault/v1/outbox-state\x1f"


def check_record_id(record_id: str) -> str:
    if not isinstance(record_id, str) or not _ID.match(record_id):
        raise VaultError("vault-record-unknown")
    return record_id


def _check_login(login: str) -> None:
    if not re.fullmatch(r"[\w.@-]{1,64}", login):
        raise VaultError("vault-login-invalid")


def _check_passphrase(passphrase: bytes) -> None:
    if len(passphrase.decode("utf-8", "replace")) < MIN_PASSPHRASE_CHARS:
        raise VaultError("vault-passphrase-short", minimum=MIN_PASSPHRASE_CHARS)


def _put_state(conn: sqlite3.Connection, name: str, value: str) -> None:
    if name not in PLAINTEXT_STATE_NAMES:
        raise ValueError(f"{name!r} is not an allowed plaintext state name")
    conn.execute(
        "INSERT INTO state (name, value) VALUES (?, ?) "
        "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
        (name, value),
    )


def _keys_match(store: Store, keys: Keys) -> bool:
    """Whether ``keys`` are the database's: the device key's slot opens under them."""
    rows = store.read("SELECT ciphertext FROM secrets WHERE name = 'device_signing_key'")
    if not rows:
        return False
    try:
        crypto.decrypt(
            keys.sub("secrets"),
            as_blob(rows[0]["ciphertext"]),
            aad("secrets", "device_signing_key"),
        )
    except crypto.DecryptError:
        return False
    return True


def _authorised(keyring: Keyring, pending: Roster, current_keys: Keys) -> bool:
    """Whether the current admin key (or a format-1 vault's roster key) authorised ``pending``."""
    if pending.authorised is None:
        return False
    message = pending.signed_bytes(keyring.vault_id)
    if keyring.current.admin_public is None:
        import hmac

        expected = crypto.hmac_sha256(current_keys.sub("roster"), message)
        return hmac.compare_digest(expected, pending.authorised)
    return crypto.verify(keyring.current.admin_public, message, pending.authorised)


def _get_state(store: Store, name: str) -> str | None:
    rows = store.read("SELECT value FROM state WHERE name = ?", (name,))
    return str(rows[0]["value"]) if rows else None


def _put_secret(conn: sqlite3.Connection, keys: Keys, name: str, value: bytes) -> bytes:
    """Write secret ``name`` encrypted; its ciphertext."""
    blob = crypto.encrypt(keys.sub("secrets"), value, aad("secrets", name))
    conn.execute(
        "INSERT INTO secrets (name, ciphertext) VALUES (?, ?) "
        "ON CONFLICT(name) DO UPDATE SET ciphertext = excluded.ciphertext",
        (name, blob),
    )
    return blob
