"""The key file: the roster of local users, signed by the vault's admin key, and each user's keys.

``vault.keys`` is small JSON, kept apart from the database so that crypto-shredding (wipe), a
passphrase change and a key rotation touch only it. Format 2::

    {"format": 2, "vault_id": "...", "generation": 3, "admin_public": "<Ed25519, base64>",
     "users": [
        {"user_id": "...", "login": "...", "role": "admin", "created_day": "2026-11-27",
         "kdf": {Argon2id parameters and salt},
         "public": "<the user's X25519 public key>",
         "wrapped_private": "<its private half, AES-256-GCM under the user's passphrase key>",
         "sealed_master": "<the master key, HPKE-sealed to the user's public key>",
         "sealed_admin": "<admins only: the admin signing key, HPKE-sealed likewise>",
         "change": {a non-admin's new credential awaiting an admin's signature, see below}}],
     "roster_signature": "<Ed25519 signature by the admin key of vault id, generation, admin
                           public key and every user's id, login, role, day and public key>",
     "duress": {a credential like a user's, opened by the duress passphrase, or an inert one},
     "anchor": {what the admin vouches for besides the users: the organisation's key and
                the provisioning in force, see fieldscreen.device; signed with the roster},
     "pending": {the same roster fields for a key rotation under way, "authorised": "<signature
                 of it by the current admin key>"}}

* Only an admin can change the roster: the signature needs the admin private key, which is
  sealed only to admins. A role, a user or a public key edited in the file, or an admin's
  credentials swapped for one's own, is refused at unlock (``vault-roster-invalid``).
* The admin public key is bound into every subkey of the vault
  (:class:`~fieldscreen.vault.keys.Keys`), so a key file re-signed with another admin key opens
  nothing in this database.
* A rotation seals a new master key (and a new admin key) to every remaining user's public key,
  so no other user's passphrase is needed.
* A passphrase change gives the user a new key pair and the vault a new master key
  (:mod:`fieldscreen.vault.accounts`). An admin's is a rotation naming the new public key; a
  non-admin's keeps the signed part as it is and puts the new credential in the entry as a
  ``change`` (with nothing sealed to the old key any more) until an admin's next unlock signs
  the new public key in (:meth:`Roster.countersigned`). While the change is under way, the
  pending entry also holds the previous master key sealed to the new key
  (``sealed_previous``), so the new passphrase can finish it; the final file drops it.

A format-1 key file (the first release: master key wrapped with RFC 3394, roster MAC keyed from
the master key) still opens; the first admin to unlock it moves the vault to format 2. Users of
such a vault keep their format-1 credential (``wrapped_master``, bound into the signature by its
hash) until an admin adds them again; they cannot follow a key rotation.

Logins are in plaintext so that the unlock screen can find the entry: they are staff handles,
never children's data (``docs/vault.md`` advises pseudonymous handles).

Writes are atomic (temporary file, fsync, rename, fsync of the folder), and the file replaced is
then overwritten in place (its old wrapped keys shredded). ``io_hook`` is called with the name of
every I/O step, so tests can kill the process or inject an error at each.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from fieldscreen import crypto
from fieldscreen.paths import private_umask
from fieldscreen.vault.errors import VaultError

__all__ = [
    "KEYRING_FORMAT",
    "ROLES",
    "Keyring",
    "Role",
    "Roster",
    "UserEntry",
    "io_hook",
    "remove_stale_temporaries",
]

KEYRING_FORMAT = 2
LEGACY_FORMAT = 1
Role = Literal["specialist", "coordinator", "admin"]
ROLES: tuple[Role, ...] = ("specialist", "coordinator", "admin")

#: The user id of the duress credential (never a real account's: those are UUIDs).
DURESS_ID = "duress"

#: Called with the name of each I/O step of a key-file write (tests only; None in production).
io_hook: Callable[[str], None] | None = None


def _step(name: str) -> None:
    if io_hook is not None:
        io_hook(name)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: Any) -> bytes:
    if not isinstance(value, str):
        raise ValueError("not base64 text")
    decoded = base64.b64decode(value, validate=True)
    if _b64(decoded) != value:  # unused low bits set: not what the vault wrote
        raise ValueError("not canonical base64")
    return decoded


def _optional(data: dict[str, Any], name: str) -> bytes | None:
    return _unb64(data[name]) if data.get(name) is not None else None


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode("utf-8")


def entry_mac(mac_key: bytes, vault_id: str, generation: int, entry: UserEntry) -> bytes:
    """The HMAC of everything in one key-file entry (besides the MAC itself)."""
    fields = {**entry.to_json(), "vault_id": vault_id, "generation": generation}
    fields.pop("entry_mac", None)
    return crypto.hmac_sha256(mac_key, _canonical(["fieldscreen/keyring/entry", fields]))


def master_info(vault_id: str, generation: int, user_id: str) -> bytes:
    """HPKE ``info`` of a user's sealed master key."""
    return _canonical(["fieldscreen/keyring/master", vault_id, generation, user_id])


def admin_info(vault_id: str, generation: int, user_id: str) -> bytes:
    """HPKE ``info`` of an admin's sealed admin signing key."""
    return _canonical(["fieldscreen/keyring/admin", vault_id, generation, user_id])


def previous_info(vault_id: str, generation: int, user_id: str) -> bytes:
    """HPKE ``info`` of the master key of generation ``generation`` sealed to a user's new key
    pair while their passphrase change is under way (:attr:`UserEntry.sealed_previous`)."""
    return _canonical(["fieldscreen/keyring/previous-master", vault_id, generation, user_id])


def private_aad(vault_id: str, user_id: str) -> bytes:
    """Associated data of a user's wrapped X25519 private key."""
    return _canonical(["fieldscreen/keyring/user-key", vault_id, user_id])


@dataclass(frozen=True, slots=True)
class UserEntry:
    """One local account as stored in the key file."""

    user_id: str
    login: str
    role: Role
    created_day: str
    kdf: dict[str, Any]
    public: bytes | None = None
    wrapped_private: bytes | None = None
    sealed_master: bytes | None = None
    sealed_admin: bytes | None = None
    #: A format-1 credential: the master key wrapped (RFC 3394) under the passphrase key.
    wrapped_master: bytes | None = None
    #: HMAC of the whole entry under the master key (:func:`entry_mac`): what a passphrase
    #: change rewrites (salt, wrapped private key) is not in the roster's signature, so every
    #: unlock checks every user's entry with it. None in key files from before it existed.
    entry_mac: bytes | None = None
    #: While a passphrase change is under way (in a pending roster only): the master key the
    #: database is still under, sealed to this credential's new public key, so that a change
    #: killed midway is finished by the new passphrase (:func:`previous_info`).
    sealed_previous: bytes | None = None
    #: A non-admin's passphrase change awaiting an admin's signature: the new credential (a
    #: new key pair wrapped under the new passphrase, the current master key sealed to it).
    #: The signed part (``public``) still names the old key, to which nothing is sealed any
    #: more (``sealed_master`` is None); an admin's next unlock signs the new key in
    #: (:meth:`Roster.countersigned`). Not in the roster's signature: in the entry's MAC.
    change: UserEntry | None = None

    @property
    def legacy(self) -> bool:
        return self.public is None

    @property
    def credential(self) -> UserEntry:
        """What the passphrase opens: the pending change's credential, or the entry itself."""
        return self.change if self.change is not None else self

    def binding(self) -> str:
        """What the roster signature binds of this user's credential."""
        if self.public is not None:
            return "x25519:" + _b64(self.public)
        digest = hashlib.sha256(_canonical(self.kdf) + (self.wrapped_master or b"")).hexdigest()
        return "legacy:" + digest

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "user_id": self.user_id,
            "login": self.login,
            "role": self.role,
            "created_day": self.created_day,
            "kdf": self.kdf,
        }
        for name in ("public", "wrapped_private", "sealed_master", "sealed_admin"):
            value = getattr(self, name)
            if value is not None:
                data[name] = _b64(value)
        if self.wrapped_master is not None:
            data["wrapped_master"] = _b64(self.wrapped_master)
        if self.entry_mac is not None:
            data["entry_mac"] = _b64(self.entry_mac)
        if self.sealed_previous is not None:
            data["sealed_previous"] = _b64(self.sealed_previous)
        if self.change is not None:
            data["change"] = self.change.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], *, nested: bool = False) -> UserEntry:
        role = data["role"]
        if role not in ROLES:
            raise ValueError("role")
        entry = cls(
            user_id=str(data["user_id"]),
            login=str(data["login"]),
            role=role,
            created_day=str(data["created_day"]),
            kdf=dict(data["kdf"]),
            public=_optional(data, "public"),
            wrapped_private=_optional(data, "wrapped_private"),
            sealed_master=_optional(data, "sealed_master"),
            sealed_admin=_optional(data, "sealed_admin"),
            wrapped_master=_optional(data, "wrapped_master"),
            entry_mac=_optional(data, "entry_mac"),
            sealed_previous=_optional(data, "sealed_previous"),
        )
        change = None
        if data.get("change") is not None:
            if nested or not isinstance(data["change"], dict):
                raise ValueError("change")
            change = cls.from_json(data["change"], nested=True)
            if (change.user_id, change.login, change.role) != (entry.user_id, entry.login, role):
                raise ValueError("change")
            if change.public is None or entry.public is None or change.entry_mac is not None:
                raise ValueError("change")
            if entry.sealed_master is not None or entry.sealed_previous is not None:
                raise ValueError("change")  # nothing is sealed to the key being replaced
            entry = replace(entry, change=change)
        # a pending change's entry has nothing sealed to its old key: its credential is the
        # change's
        sealed = entry.sealed_master if change is None else change.sealed_master
        modern = (entry.public, entry.wrapped_private, sealed)
        if entry.public is None:
            if entry.wrapped_master is None or any(v is not None for v in modern):
                raise ValueError("credential")
        elif any(v is None for v in modern) or entry.wrapped_master is not None:
            raise ValueError("credential")
        return entry


@dataclass
class Roster:
    """One generation of the roster: its users and the admin key that signs it.

    ``admin_public`` is None only for a format-1 key file, whose ``signature`` is then the
    format-1 roster MAC.
    """

    generation: int
    admin_public: bytes | None
    users: list[UserEntry] = field(default_factory=list)
    signature: bytes = b""
    #: For a pending rotation: the current admin key's signature of :meth:`signed_bytes`.
    authorised: bytes | None = None
    #: What an admin vouches for besides the users (the organisation's provisioning this
    #: vault follows: :func:`fieldscreen.device.provisioning_anchor`), signed with the roster.
    #: Opaque JSON here; None for a roster written before anchors existed.
    anchor: dict[str, Any] | None = None
    #: The duress credential (user id ``duress``): a key pair like a user's, opened by the
    #: duress passphrase; in a vault without one, an inert entry of the same shape, so the
    #: file does not say whether one is set. None in key files from before it existed.
    duress: UserEntry | None = None

    def find(self, login: str) -> UserEntry | None:
        return next((u for u in self.users if u.login == login), None)

    def by_id(self, user_id: str) -> UserEntry | None:
        return next((u for u in self.users if u.user_id == user_id), None)

    def with_user(self, entry: UserEntry) -> Roster:
        """A copy with ``entry`` added or replacing the entry with the same id (unsigned)."""
        if self.by_id(entry.user_id) is None:
            users = [*self.users, entry]
        else:
            users = [entry if u.user_id == entry.user_id else u for u in self.users]
        return replace(self, users=users, signature=b"", authorised=None)

    def without_user(self, user_id: str) -> Roster:
        users = [u for u in self.users if u.user_id != user_id]
        return replace(self, users=users, signature=b"", authorised=None)

    @property
    def changes(self) -> list[UserEntry]:
        """The entries whose passphrase change awaits an admin's signature."""
        return [u for u in self.users if u.change is not None]

    def countersigned(self, skip: Iterable[str] = ()) -> Roster:
        """A copy (unsigned) with every pending passphrase change taken in: the new public key
        in the signed part, the old key pair gone; except the entries of ``skip`` (found
        damaged at unlock: their change stays pending, never signed)."""
        skipped = set(skip)
        if not [u for u in self.changes if u.user_id not in skipped]:
            return self
        users = []
        for user in self.users:
            change = user.change
            if change is None or user.user_id in skipped:
                users.append(user)
                continue
            users.append(
                replace(
                    user,
                    kdf=change.kdf,
                    public=change.public,
                    wrapped_private=change.wrapped_private,
                    sealed_master=change.sealed_master,
                    sealed_previous=None,
                    change=None,
                )
            )
        return replace(self, users=users, signature=b"", authorised=None)

    def settled(self) -> Roster:
        """A copy without what only a change under way needs (its authorisation and every
        :attr:`UserEntry.sealed_previous`), for the key file once the change is done."""

        def settle(entry: UserEntry) -> UserEntry:
            change = None if entry.change is None else replace(entry.change, sealed_previous=None)
            return replace(entry, sealed_previous=None, change=change)

        return replace(self, users=[settle(u) for u in self.users], authorised=None)

    def with_macs(self, mac_key: bytes, vault_id: str, keep: Iterable[str] = ()) -> Roster:
        """A copy with every entry's (and the duress entry's) :func:`entry_mac` written under
        ``mac_key``, except the entries of ``keep`` (user ids found damaged at unlock: their
        old MAC stays, so a later write never vouches for them)."""
        kept = set(keep)

        def mac(entry: UserEntry) -> UserEntry:
            if entry.user_id in kept:
                return entry
            return replace(entry, entry_mac=entry_mac(mac_key, vault_id, self.generation, entry))

        duress = None if self.duress is None else mac(self.duress)
        return replace(self, users=[mac(u) for u in self.users], duress=duress)

    def damaged_entries(self, mac_key: bytes, vault_id: str) -> list[str]:
        """User ids (``duress`` for the duress entry) whose entry's MAC does not hold: bytes
        changed outside FieldScreen. A key file from before the MACs has none and is not
        judged until it is next written."""
        import hmac

        out = []
        entries = [*self.users, *([self.duress] if self.duress is not None else [])]
        # the vault writes every entry's MAC at once: one without it, beside others with one,
        # lost it outside FieldScreen
        judged = any(e.entry_mac is not None for e in entries)
        for entry in entries:
            if entry.entry_mac is None:
                if judged:
                    out.append(entry.user_id)
                continue
            expected = entry_mac(mac_key, vault_id, self.generation, entry)
            if not hmac.compare_digest(expected, entry.entry_mac):
                out.append(entry.user_id)
        return out

    def signed_bytes(self, vault_id: str) -> bytes:
        """What the admin key signs (format 2)."""
        users = [[u.user_id, u.login, u.role, u.created_day, u.binding()] for u in self.users]
        admin = _b64(self.admin_public) if self.admin_public is not None else None
        signed: list[Any] = ["fieldscreen/keyring/v2", vault_id, self.generation, admin, users]
        if self.anchor is not None:  # absent from rosters signed before anchors existed
            signed.append({"anchor": self.anchor})
        if self.duress is not None:
            signed.append({"duress": self.duress.binding()})
        return _canonical(signed)

    def legacy_bytes(self, vault_id: str) -> bytes:
        """What the format-1 roster MAC covers."""
        roster = [[u.user_id, u.login, u.role, u.created_day] for u in self.users]
        return json.dumps([vault_id, roster], separators=(",", ":")).encode("utf-8")

    def sign(self, vault_id: str, admin_private: bytes) -> None:
        self.signature = crypto.sign(admin_private, self.signed_bytes(vault_id))

    def signature_valid(self, vault_id: str) -> bool:
        if self.admin_public is None:
            return False
        return crypto.verify(self.admin_public, self.signed_bytes(vault_id), self.signature)

    def legacy_mac_valid(self, vault_id: str, roster_key: bytes) -> bool:
        import hmac

        expected = crypto.hmac_sha256(roster_key, self.legacy_bytes(vault_id))
        return hmac.compare_digest(expected, self.signature)

    def to_json(self) -> dict[str, Any]:
        if self.admin_public is None:
            raise ValueError("a format-1 roster is never written in format 2")
        data: dict[str, Any] = {
            "generation": self.generation,
            "admin_public": _b64(self.admin_public),
            "users": [u.to_json() for u in self.users],
            "roster_signature": _b64(self.signature),
        }
        if self.authorised is not None:
            data["authorised"] = _b64(self.authorised)
        if self.anchor is not None:
            data["anchor"] = self.anchor
        if self.duress is not None:
            data["duress"] = self.duress.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Roster:
        generation = data["generation"]
        if not isinstance(generation, int) or isinstance(generation, bool) or generation < 0:
            raise ValueError("generation")
        users = [UserEntry.from_json(u) for u in data["users"]]
        if not users or len({u.user_id for u in users}) != len(users):
            raise ValueError("users")
        if len({u.login for u in users}) != len(users):
            raise ValueError("logins")
        anchor = data.get("anchor")
        if anchor is not None and not isinstance(anchor, dict):
            raise ValueError("anchor")
        duress = None if data.get("duress") is None else UserEntry.from_json(data["duress"])
        if duress is not None and (duress.legacy or duress.user_id != DURESS_ID):
            raise ValueError("duress")
        return cls(
            generation=generation,
            admin_public=_unb64(data["admin_public"]),
            users=users,
            signature=_unb64(data["roster_signature"]),
            authorised=_optional(data, "authorised"),
            anchor=anchor,
            duress=duress,
        )


@dataclass
class Keyring:
    """The parsed key file: the current roster and, while a rotation is under way, the next."""

    path: Path
    vault_id: str
    current: Roster
    pending: Roster | None = None

    @property
    def format(self) -> int:
        return LEGACY_FORMAT if self.current.admin_public is None else KEYRING_FORMAT

    @property
    def users(self) -> list[UserEntry]:
        return self.current.users

    def find(self, login: str) -> UserEntry | None:
        return self.current.find(login)

    def by_id(self, user_id: str) -> UserEntry | None:
        return self.current.by_id(user_id)

    @classmethod
    def load(cls, path: Path) -> Keyring:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise VaultError("vault-missing") from None
        except OSError:
            raise VaultError("io-error", detail="the key file could not be read") from None
        try:
            data = json.loads(raw)
            fmt = data["format"]
            if fmt not in (LEGACY_FORMAT, KEYRING_FORMAT):
                raise VaultError("vault-too-new")
            vault_id = str(data["vault_id"])
            if fmt == LEGACY_FORMAT:
                users = [UserEntry.from_json(u) for u in data["users"]]
                if not users or any(not u.legacy for u in users):
                    raise ValueError("users")
                legacy = Roster(0, None, users, _unb64(data["roster_mac"]))
                return cls(path=path, vault_id=vault_id, current=legacy)
            pending = data.get("pending")
            return cls(
                path=path,
                vault_id=vault_id,
                current=Roster.from_json(data),
                pending=None if pending is None else Roster.from_json(pending),
            )
        except VaultError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            raise VaultError("vault-damaged", detail="the key file") from None

    def to_bytes(self) -> bytes:
        if self.current.admin_public is None:  # a format-1 vault, changed before its upgrade
            data: dict[str, Any] = {
                "format": LEGACY_FORMAT,
                "vault_id": self.vault_id,
                "users": [u.to_json() for u in self.current.users],
                "roster_mac": _b64(self.current.signature),
            }
        else:
            data = {"format": KEYRING_FORMAT, "vault_id": self.vault_id, **self.current.to_json()}
        if self.pending is not None:
            data["pending"] = self.pending.to_json()
        return json.dumps(data, indent=1, sort_keys=True).encode("utf-8")

    def save(self, mac_key: bytes | None = None, keep: Iterable[str] = ()) -> None:
        """Replace the key file atomically (a crash leaves the old file or the new one), then
        overwrite the replaced file's bytes where they lay. With ``mac_key`` (the current
        roster's ``key-entries`` subkey), every current entry's MAC is written afresh except
        those of ``keep`` (:meth:`Roster.with_macs`)."""
        if mac_key is not None and self.current.admin_public is not None:
            self.current = self.current.with_macs(mac_key, self.vault_id, keep)
        atomic_replace(self.path, self.to_bytes(), shred_replaced=True)


def remove_stale_temporaries(path: Path) -> int:
    """Shred temporary key files left by a write that was killed before its rename."""
    removed = 0
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        with contextlib.suppress(OSError):
            shred_file(stale)
            removed += 1
    return removed


def _overwrite(fd: int, size: int) -> None:
    """Overwrite the first ``size`` bytes of an open file with random bytes and flush them."""
    os.lseek(fd, 0, os.SEEK_SET)
    remaining = size
    while remaining > 0:
        remaining -= os.write(fd, os.urandom(min(remaining, 1 << 16)))
    os.fsync(fd)


def shred_file(path: Path) -> None:
    """Overwrite a file with random bytes, flush it, then unlink it."""
    fd = os.open(path, os.O_RDWR)
    try:
        _overwrite(fd, os.fstat(fd).st_size)
    finally:
        os.close(fd)
    path.unlink()


def atomic_replace(path: Path, data: bytes, *, shred_replaced: bool = False) -> None:
    """Write ``data`` to ``path`` through a synced temporary file and an atomic rename.

    With ``shred_replaced``, the file that was at ``path`` is held open across the rename and
    overwritten afterwards, so the wrapped keys it held are not left on the disk's blocks. (SSDs
    and copy-on-write file systems may still keep old blocks: see ``docs/vault.md``.)
    """
    tmp: str | None = None
    old_fd: int | None = None
    try:
        _step("create")
        if shred_replaced:
            with contextlib.suppress(FileNotFoundError):
                old_fd = os.open(path, os.O_RDWR)
        with private_umask():
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            _step("write")
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            _step("fsync")
            os.fsync(fd)
        finally:
            os.close(fd)
        _step("rename")
        os.replace(tmp, path)
        tmp = None
        # The new file is in place; a failure to flush the folder entry, or to shred the file
        # it replaced, must not report the change as failed (the caller would believe the old
        # state still holds).
        if os.name == "posix":
            with contextlib.suppress(OSError):
                _step("fsync-folder")
                dir_fd = os.open(path.parent, os.O_RDONLY)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)
        if old_fd is not None:
            with contextlib.suppress(OSError):
                _step("shred")
                _overwrite(old_fd, os.fstat(old_fd).st_size)
        _step("done")
    except OSError as error:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if error.errno in (28, 122):  # ENOSPC, EDQUOT
            raise VaultError("disk-full") from None
        raise VaultError("io-error", detail="the key file could not be written") from None
    finally:
        if old_fd is not None:
            with contextlib.suppress(OSError):
                os.close(old_fd)


# ---------------------------------------------------------------------- credentials
def new_entry(
    vault_id: str,
    generation: int,
    *,
    user_id: str,
    login: str,
    role: Role,
    created_day: str,
    kdf: dict[str, Any],
    kek: bytes,
    master: bytes,
    admin_private: bytes | None,
) -> UserEntry:
    """A format-2 account: a fresh X25519 key pair, its private half wrapped under ``kek``."""
    private, public = crypto.generate_sealing_keypair()
    entry = UserEntry(
        user_id=user_id,
        login=login,
        role=role,
        created_day=created_day,
        kdf=kdf,
        public=public,
        wrapped_private=crypto.encrypt(kek, private, private_aad(vault_id, user_id)),
    )
    return reseal(vault_id, generation, entry, master, admin_private)


def reseal_master(vault_id: str, generation: int, entry: UserEntry, master: bytes) -> UserEntry:
    """``entry`` with ``master`` sealed to its credential's public key (a pending change's new
    key, never the key it replaces); the rest (an admin's sealed admin key) as it was."""
    credential = entry.credential
    if credential.public is None:
        raise ValueError("a format-1 account has no public key to seal to")
    sealed = crypto.seal(
        credential.public, master, info=master_info(vault_id, generation, entry.user_id), aad=b""
    )
    if entry.change is not None:
        return replace(entry, change=replace(entry.change, sealed_master=sealed))
    return replace(entry, sealed_master=sealed)


def reseal(
    vault_id: str, generation: int, entry: UserEntry, master: bytes, admin_private: bytes | None
) -> UserEntry:
    """``entry`` with ``master`` (and, for an admin, the admin key) sealed to its public key."""
    if entry.public is None:
        raise ValueError("a format-1 account has no public key to seal to")
    if entry.change is not None:  # awaiting an admin's signature: sealed to the new key only
        return reseal_master(vault_id, generation, entry, master)
    sealed_admin = None
    if entry.role == "admin" and admin_private is not None:
        sealed_admin = crypto.seal(
            entry.public,
            admin_private,
            info=admin_info(vault_id, generation, entry.user_id),
            aad=b"",
        )
    sealed_master = crypto.seal(
        entry.public, master, info=master_info(vault_id, generation, entry.user_id), aad=b""
    )
    return replace(entry, sealed_master=sealed_master, sealed_admin=sealed_admin)


def open_entry(
    vault_id: str, generation: int, entry: UserEntry, kek: bytes
) -> tuple[bytes, bytes | None]:
    """The master key (and the user's X25519 private key) behind ``entry`` for ``kek``.

    Raises:
        crypto.DecryptError: the passphrase is wrong (or the credential damaged).
        VaultError: ``vault-roster-invalid`` when the passphrase opens a private key that is not
            the one the roster names (credentials swapped in the file).
    """
    if entry.public is None:
        return crypto.unwrap_key(kek, entry.wrapped_master or b""), None
    if entry.change is not None and entry.role == "admin":
        raise VaultError("vault-roster-invalid")  # an admin's change is signed at once
    credential = entry.credential
    private = crypto.decrypt(
        kek, credential.wrapped_private or b"", private_aad(vault_id, entry.user_id)
    )
    if crypto.sealing_public_from_private(private) != credential.public:
        raise VaultError("vault-roster-invalid")
    try:
        master = crypto.open_sealed(
            private,
            credential.sealed_master or b"",
            info=master_info(vault_id, generation, entry.user_id),
            aad=b"",
        )
    except crypto.DecryptError:
        raise VaultError("vault-roster-invalid") from None
    return master, private


def open_admin(
    vault_id: str, roster: Roster, entry: UserEntry, private: bytes | None
) -> bytes | None:
    """The admin signing key sealed to an admin's entry, checked against the roster's admin
    public key; None for an account that holds none (a format-1 account)."""
    if private is None or entry.sealed_admin is None or entry.change is not None:
        return None
    try:
        admin_private = crypto.open_sealed(
            private,
            entry.sealed_admin,
            info=admin_info(vault_id, roster.generation, entry.user_id),
            aad=b"",
        )
    except crypto.DecryptError:
        raise VaultError("vault-roster-invalid") from None
    if crypto.public_from_private(admin_private) != roster.admin_public:
        raise VaultError("vault-roster-invalid")
    return admin_private


def inert_duress(vault_id: str, generation: int, kdf: dict[str, Any], master: bytes) -> UserEntry:
    """A duress entry no passphrase opens, shaped like a real one (a real key pair whose private
    half is wrapped under a random key), for a vault without a duress passphrase."""
    return new_entry(
        vault_id,
        generation,
        user_id=DURESS_ID,
        login="",
        role="specialist",
        created_day="",
        kdf=kdf,
        kek=crypto.random_bytes(crypto.KEY_BYTES),
        master=master,
        admin_private=None,
    )
