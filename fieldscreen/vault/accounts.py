"""Local accounts on a shared laptop: add and remove users, change a passphrase.

Roles, from least to most: specialist (screens children), coordinator (also sees sync status
and every record of the device), admin (also manages users and the organisation's keys). The
first user is the admin who created the vault; the last admin cannot be removed.

Every user holds the same master key, each wrapped under their own passphrase, so adding a user
or changing a passphrase rewrites only the key file and never re-encrypts data. These actions
ask for the acting user's passphrase again (the second entry the security spec requires).
"""

from __future__ import annotations

import uuid

from fieldscreen import crypto
from fieldscreen.vault.base import UserInfo, VaultBase, _check_login, _check_passphrase
from fieldscreen.vault.errors import UnlockFailed, VaultError
from fieldscreen.vault.keyring import ROLES, Role, UserEntry

__all__ = ["AccountsMixin"]


class AccountsMixin(VaultBase):
    """User management on top of :class:`VaultBase`."""

    def users(self) -> list[UserInfo]:
        """Every local account (no unlock needed: the unlock screen lists them)."""
        return [UserInfo(u.user_id, u.login, u.role) for u in self._require_keyring().users]

    def _confirm(self, passphrase: bytes) -> None:
        """Check the acting user's passphrase again; the same failure as a wrong unlock."""
        keys, user = self._require()
        entry = self._require_keyring().by_id(user.user_id)
        if entry is None:
            raise VaultError("vault-locked")
        try:
            kek = crypto.derive_key(passphrase, crypto.KdfParams.from_dict(entry.kdf))
            if crypto.unwrap_key(kek, entry.wrapped_master) != keys.master:
                raise crypto.DecryptError
        except crypto.DecryptError:
            raise UnlockFailed from None

    def _new_params(self) -> crypto.KdfParams:
        template = self.kdf_for_new_keys
        if template is None:
            return crypto.KdfParams.default()
        return crypto.KdfParams(
            template.memory_kib, template.iterations, template.lanes, crypto.random_bytes(16)
        )

    def add_user(
        self, login: str, passphrase: bytes, role: Role, *, admin_passphrase: bytes
    ) -> UserInfo:
        """Add an account (admins only)."""
        keys, _ = self._require("admin")
        self._confirm(admin_passphrase)
        _check_login(login)
        _check_passphrase(passphrase)
        if role not in ROLES:
            raise VaultError("vault-role-unknown")
        keyring = self._require_keyring()
        if keyring.find(login) is not None:
            raise VaultError("vault-user-exists")
        params = self._new_params()
        entry = UserEntry(
            user_id=uuid.uuid4().hex,
            login=login,
            role=role,
            created_day=self.today(),
            kdf=params.to_dict(),
            wrapped_master=crypto.wrap_key(crypto.derive_key(passphrase, params), keys.master),
        )
        updated = keyring.with_user(entry)
        updated.seal_roster(keys.sub("roster"))
        updated.save()
        self._keyring = updated
        with self._tx() as conn:
            self._audit(conn, "user-add", detail={"user": entry.user_id, "role": role})
        return UserInfo(entry.user_id, login, role)

    def remove_user(self, login: str, *, admin_passphrase: bytes) -> None:
        """Remove an account (admins only); its wrapped key leaves the key file."""
        keys, user = self._require("admin")
        self._confirm(admin_passphrase)
        keyring = self._require_keyring()
        entry = keyring.find(login)
        if entry is None:
            raise VaultError("vault-user-unknown")
        if entry.role == "admin" and sum(u.role == "admin" for u in keyring.users) == 1:
            raise VaultError("vault-last-admin")
        if entry.user_id == user.user_id:
            raise VaultError("vault-last-admin")
        updated = keyring.without_user(entry.user_id)
        updated.seal_roster(keys.sub("roster"))
        updated.save()
        self._keyring = updated
        with self._tx() as conn:
            self._audit(conn, "user-remove", detail={"user": entry.user_id})

    def change_passphrase(self, old: bytes, new: bytes) -> None:
        """Re-wrap the master key for the current user; no data is re-encrypted.

        The key file is replaced atomically, so a crash at any step leaves exactly one of the
        two passphrases working.
        """
        keys, user = self._require()
        self._confirm(old)
        _check_passphrase(new)
        keyring = self._require_keyring()
        entry = keyring.by_id(user.user_id)
        if entry is None:
            raise VaultError("vault-locked")
        params = self._new_params()
        replaced = UserEntry(
            user_id=entry.user_id,
            login=entry.login,
            role=entry.role,
            created_day=entry.created_day,
            kdf=params.to_dict(),
            wrapped_master=crypto.wrap_key(crypto.derive_key(new, params), keys.master),
        )
        updated = keyring.with_user(replaced)
        updated.seal_roster(keys.sub("roster"))
        updated.save()
        self._keyring = updated
        with self._tx() as conn:
            self._audit(conn, "passphrase-change")
