"""The key file: each local user's wrapped copy of the vault master key, and the roster.

``vault.keys`` is small JSON, kept apart from the database so that crypto-shredding (wipe) and a
passphrase change touch only it::

    {"format": 1, "vault_id": "...", "users": [
        {"user_id": "...", "login": "...", "role": "admin", "created_day": "2026-11-27",
         "kdf": {Argon2id parameters and salt}, "wrapped_master": "<RFC 3394 wrap, base64>"}],
     "roster_mac": "<HMAC of vault id and the users' ids, logins, roles, days, base64>"}

The master key is wrapped with RFC 3394 under the user's Argon2id key-encryption key; the
roster MAC (keyed from the master key) stops a user from editing their own role in the file.
Logins are in plaintext so that the unlock screen can find the entry: they are staff handles,
never children's data (``docs/vault.md`` advises pseudonymous handles).

Writes are atomic (temporary file, fsync, rename, fsync of the folder). ``io_hook`` is called
with the name of every I/O step, so tests can kill the process or inject an error at each.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from fieldscreen import crypto
from fieldscreen.errors import KnownError
from fieldscreen.paths import private_umask
from fieldscreen.vault.errors import VaultError

__all__ = [
    "KEYRING_FORMAT",
    "ROLES",
    "Keyring",
    "Role",
    "UserEntry",
    "io_hook",
    "remove_stale_temporaries",
]

KEYRING_FORMAT = 1
Role = Literal["specialist", "coordinator", "admin"]
ROLES: tuple[Role, ...] = ("specialist", "coordinator", "admin")

#: Called with the name of each I/O step of a key-file write (tests only; None in production).
io_hook: Callable[[str], None] | None = None


def _step(name: str) -> None:
    if io_hook is not None:
        io_hook(name)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclass(frozen=True, slots=True)
class UserEntry:
    """One local account as stored in the key file."""

    user_id: str
    login: str
    role: Role
    created_day: str
    kdf: dict[str, Any]
    wrapped_master: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "login": self.login,
            "role": self.role,
            "created_day": self.created_day,
            "kdf": self.kdf,
            "wrapped_master": _b64(self.wrapped_master),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UserEntry:
        role = data["role"]
        if role not in ROLES:
            raise ValueError("role")
        return cls(
            user_id=str(data["user_id"]),
            login=str(data["login"]),
            role=role,
            created_day=str(data["created_day"]),
            kdf=dict(data["kdf"]),
            wrapped_master=base64.b64decode(data["wrapped_master"], validate=True),
        )


@dataclass
class Keyring:
    """The parsed key file."""

    path: Path
    vault_id: str
    users: list[UserEntry] = field(default_factory=list)
    roster_mac: bytes = b""

    @classmethod
    def load(cls, path: Path) -> Keyring:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise VaultError("vault-missing") from None
        except OSError:
            raise KnownError("io-error", detail="the key file could not be read") from None
        try:
            data = json.loads(raw)
            if data["format"] != KEYRING_FORMAT:
                raise VaultError("vault-too-new")
            if not data["users"]:
                raise ValueError("no users")
            return cls(
                path=path,
                vault_id=str(data["vault_id"]),
                users=[UserEntry.from_json(u) for u in data["users"]],
                roster_mac=base64.b64decode(data["roster_mac"], validate=True),
            )
        except VaultError:
            raise
        except (ValueError, KeyError, TypeError, RecursionError):
            raise VaultError("vault-damaged", detail="the key file") from None

    def find(self, login: str) -> UserEntry | None:
        return next((u for u in self.users if u.login == login), None)

    def by_id(self, user_id: str) -> UserEntry | None:
        return next((u for u in self.users if u.user_id == user_id), None)

    def roster_bytes(self) -> bytes:
        roster = [[u.user_id, u.login, u.role, u.created_day] for u in self.users]
        return json.dumps([self.vault_id, roster], separators=(",", ":")).encode("utf-8")

    def seal_roster(self, roster_key: bytes) -> None:
        self.roster_mac = crypto.hmac_sha256(roster_key, self.roster_bytes())

    def roster_intact(self, roster_key: bytes) -> bool:
        expected = crypto.hmac_sha256(roster_key, self.roster_bytes())
        return _constant_time_equal(expected, self.roster_mac)

    def with_user(self, entry: UserEntry) -> Keyring:
        """A copy with ``entry`` added or replacing the entry with the same id."""
        users = [u for u in self.users if u.user_id != entry.user_id] + [entry]
        return replace(self, users=users)

    def without_user(self, user_id: str) -> Keyring:
        return replace(self, users=[u for u in self.users if u.user_id != user_id])

    def to_bytes(self) -> bytes:
        data = {
            "format": KEYRING_FORMAT,
            "vault_id": self.vault_id,
            "users": [u.to_json() for u in self.users],
            "roster_mac": _b64(self.roster_mac),
        }
        return json.dumps(data, indent=1, sort_keys=True).encode("utf-8")

    def save(self) -> None:
        """Replace the key file atomically: a crash leaves the old file or the new one."""
        atomic_replace(self.path, self.to_bytes())


def _constant_time_equal(a: bytes, b: bytes) -> bool:
    import hmac

    return hmac.compare_digest(a, b)


def remove_stale_temporaries(path: Path) -> int:
    """Remove temporary key files left by a write that was killed before its rename."""
    removed = 0
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        with contextlib.suppress(OSError):
            stale.unlink()
            removed += 1
    return removed


def atomic_replace(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a synced temporary file and an atomic rename."""
    tmp: str | None = None
    try:
        _step("create")
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
        # The new file is in place; a failure to flush the folder entry must not report the
        # change as failed (the caller would believe the old state still holds).
        if os.name == "posix":
            with contextlib.suppress(OSError):
                _step("fsync-folder")
                dir_fd = os.open(path.parent, os.O_RDONLY)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)
        _step("done")
    except OSError as error:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if error.errno in (28, 122):  # ENOSPC, EDQUOT
            raise KnownError("disk-full") from None
        raise KnownError("io-error", detail="the key file could not be written") from None
