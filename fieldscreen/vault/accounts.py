"""Local accounts on a shared laptop: add and remove users, change a passphrase, rotate keys.

Roles, from least to most: specialist (screens children), coordinator (also sees sync status
and every record of the device), admin (also manages users and the organisation's keys). The
first user is the admin who created the vault; the last admin cannot be removed.

Every user holds the same master key, sealed to their own X25519 key, whose private half is
wrapped under their passphrase. The roster (who has which role) is signed by the admin key,
which only admins hold (:mod:`fieldscreen.vault.keyring`), so only an admin can change it.
Adding a user or changing a passphrase rewrites only the key file. Removing a user, or an
admin's "rotate keys now", moves the vault to a new master key and a new admin key
(:meth:`AccountsMixin.rotate_keys`): afterwards a removed user's passphrase opens nothing,
even with an old copy of the key file. A remaining user keeps their own key pair through a
passphrase change and a rotation, so an old copy of the key file with that user's old
passphrase still opens the vault (docs/vault.md: remove and add the account again).
These actions ask for the acting user's passphrase again (the second entry the security spec
requires).
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Any

from fieldscreen import crypto
from fieldscreen.vault import keyring as keyfile
from fieldscreen.vault.base import UserInfo, VaultBase, _check_login, _check_passphrase
from fieldscreen.vault.errors import UnlockFailed, VaultError
from fieldscreen.vault.keyring import ROLES, Role, Roster

__all__ = ["AccountsMixin"]


class AccountsMixin(VaultBase):
    """User management on top of :class:`VaultBase`."""

    def users(self) -> list[UserInfo]:
        """Every local account (no unlock needed: the unlock screen lists them)."""
        return [UserInfo(u.user_id, u.login, u.role) for u in self._require_keyring().users]

    def _confirm(self, passphrase: bytes) -> bytes:
        """Check the acting user's passphrase again (the same failure as a wrong unlock);
        return their passphrase key."""
        keys, user = self._require()
        keyring = self._require_keyring()
        entry = keyring.by_id(user.user_id)
        if entry is None:
            raise VaultError("vault-locked")
        try:
            kek = crypto.derive_key(passphrase, crypto.KdfParams.from_dict(entry.kdf))
            master, _ = keyfile.open_entry(keyring.vault_id, keyring.current.generation, entry, kek)
            if master != keys.master:
                raise crypto.DecryptError
        except crypto.DecryptError:
            raise UnlockFailed from None
        return kek

    def _admin(self) -> bytes:
        """The admin signing key of the signed-in admin."""
        self._require("admin")
        if self._admin_key is None:
            raise VaultError("vault-admin-key-missing")
        return bytes(self._admin_key)

    def _new_params(self) -> crypto.KdfParams:
        template = self.kdf_for_new_keys
        if template is None:
            return crypto.KdfParams.default()
        return crypto.KdfParams(
            template.memory_kib, template.iterations, template.lanes, crypto.random_bytes(16)
        )

    def _save_roster(self, roster: Roster, admin_private: bytes) -> None:
        keyring = self._require_keyring()
        roster.sign(keyring.vault_id, admin_private)
        updated = dataclasses.replace(keyring, current=roster, pending=None)
        keys, _ = self._require()
        updated.save(keys.sub("key-entries"), self.last_key_check)
        self._keyring = updated

    def add_user(
        self, login: str, passphrase: bytes, role: Role, *, admin_passphrase: bytes
    ) -> UserInfo:
        """Add an account (admins only)."""
        keys, _ = self._require("admin")
        admin_private = self._admin()
        self._confirm(admin_passphrase)
        _check_login(login)
        _check_passphrase(passphrase)
        if role not in ROLES:
            raise VaultError("vault-role-unknown")
        keyring = self._require_keyring()
        if keyring.find(login) is not None:
            raise VaultError("vault-user-exists")
        params = self._new_params()
        roster = keyring.current
        entry = keyfile.new_entry(
            keyring.vault_id,
            roster.generation,
            user_id=uuid.uuid4().hex,
            login=login,
            role=role,
            created_day=self.today(),
            kdf=params.to_dict(),
            kek=crypto.derive_key(passphrase, params),
            master=keys.master,
            admin_private=admin_private,
        )
        self._save_roster(roster.with_user(entry), admin_private)
        with self._tx() as conn:
            self._audit(conn, "user-add", detail={"user": entry.user_id, "role": role})
        return UserInfo(entry.user_id, login, role)

    def remove_user(self, login: str, *, admin_passphrase: bytes) -> dict[str, Any]:
        """Remove an account (admins only) and rotate the vault's keys, so that the removed
        user's passphrase opens nothing, even with an old copy of the key file."""
        _, user = self._require("admin")
        self._admin()
        self._confirm(admin_passphrase)
        keyring = self._require_keyring()
        entry = keyring.find(login)
        if entry is None:
            raise VaultError("vault-user-unknown")
        if entry.role == "admin" and sum(u.role == "admin" for u in keyring.users) == 1:
            raise VaultError("vault-last-admin")
        if entry.user_id == user.user_id:
            raise VaultError("vault-last-admin")
        with self._tx() as conn:
            self._audit(conn, "user-remove", detail={"user": entry.user_id})
        return self._rotate(keyring.current.without_user(entry.user_id), "remove-user")

    def change_role(self, login: str, role: Role, *, admin_passphrase: bytes) -> dict[str, Any]:
        """Give an account another role (admins only), re-signed by the admin key and audited.

        A promotion rewrites only the key file (re-signed; a new admin gets the admin key
        sealed to them): the account only gains. A demotion moves the vault to a new master key
        and admin key, as removing a user does, because the demoted user may have kept what
        they had: a copy of the key file signed with their old role (put back, it would give
        the role again) and, for an admin, the admin signing key itself. After the rotation
        neither opens or signs anything this vault accepts. Returns ``{"user", "role", "was",
        "rotated"}`` (and the rotation's counts). An admin cannot change their own role, so the
        last admin cannot be demoted.
        """
        keys, user = self._require("admin")
        admin_private = self._admin()
        self._confirm(admin_passphrase)
        if role not in ROLES:
            raise VaultError("vault-role-unknown")
        keyring = self._require_keyring()
        entry = keyring.find(login)
        if entry is None:
            raise VaultError("vault-user-unknown")
        if entry.user_id == user.user_id:
            raise VaultError("vault-role-own")
        was = entry.role
        summary: dict[str, Any] = {"user": login, "role": role, "was": was, "rotated": False}
        if was == role:
            return summary
        if entry.legacy:
            raise VaultError("vault-account-reissue")
        changed = dataclasses.replace(entry, role=role)
        detail = {"user": entry.user_id, "role": role, "was": was}
        if ROLES.index(role) > ROLES.index(was):
            roster = keyring.current
            resealed = keyfile.reseal(
                keyring.vault_id, roster.generation, changed, keys.master, admin_private
            )
            self._save_roster(roster.with_user(resealed), admin_private)
            with self._tx() as conn:
                self._audit(conn, "user-role", detail=detail)
            return summary
        with self._tx() as conn:
            self._audit(conn, "user-role", detail=detail)
        rotation = self._rotate(keyring.current.with_user(changed), "role-change")
        return {**summary, **rotation, "rotated": True}

    def rotate_keys(self, *, admin_passphrase: bytes) -> dict[str, Any]:
        """Move the vault to a new master key and a new admin key now (admins only; after a
        suspected compromise). Returns what was rewritten and the logins of format-1 accounts
        that could not follow (an admin adds them again)."""
        self._require("admin")
        self._admin()
        self._confirm(admin_passphrase)
        return self._rotate(self._require_keyring().current, "rotate")

    def _rotate(self, roster: Roster, reason: str) -> dict[str, Any]:
        keyring = self._require_keyring()
        master = crypto.random_bytes(crypto.KEY_BYTES)
        admin_private, admin_public = crypto.generate_signing_keypair()
        generation = keyring.current.generation + 1
        carried, dropped = [], []
        for entry in roster.users:
            if entry.legacy:
                dropped.append(entry.login)
                continue
            carried.append(
                keyfile.reseal(keyring.vault_id, generation, entry, master, admin_private)
            )
        duress = None  # re-sealed like an account, so the duress passphrase still works
        if roster.duress is not None:
            duress = keyfile.reseal(keyring.vault_id, generation, roster.duress, master, None)
        new_roster = Roster(generation, admin_public, carried, anchor=roster.anchor, duress=duress)
        new_roster.sign(keyring.vault_id, admin_private)
        self._rotate_to(master, new_roster, admin_private, reason)
        counts = self._last_rekey
        return {
            "generation": generation,
            "users": len(carried),
            "data_keys": counts.data_keys,
            "secrets": counts.secrets,
            "audit_entries": counts.audit_entries,
            "unreadable": counts.unreadable,
            "must_be_added_again": dropped,
        }

    def policy_anchor(self) -> dict[str, Any] | None:
        """What the signed roster vouches for besides the users (a copy; vault unlocked): the
        organisation's provisioning an admin approved (:mod:`fieldscreen.device`), ``{}`` when
        none yet, None for a key file signed before anchors existed."""
        self._require()
        anchor = self._require_keyring().current.anchor
        return None if anchor is None else json.loads(json.dumps(anchor))

    def set_policy_anchor(self, anchor: dict[str, Any]) -> None:
        """Sign ``anchor`` into the roster (admins only); the key file alone is rewritten."""
        self._require("admin")
        admin_private = self._admin()
        keyring = self._require_keyring()
        if keyring.format == keyfile.LEGACY_FORMAT:
            return  # moved to format 2 at this admin's unlock; anchored afterwards
        if keyring.current.anchor == anchor:
            return
        roster = dataclasses.replace(keyring.current, anchor=dict(anchor), authorised=None)
        self._save_roster(roster, admin_private)

    def set_duress_passphrase(self, passphrase: bytes | None, *, admin_passphrase: bytes) -> None:
        """Set (or with None, clear) the vault's duress passphrase (admins only).

        Typed at unlock with any login, it opens the vault as a specialist and seals it at once,
        as travel mode does (drafts sealed to the organisation, every readable copy and case
        card removed): what is left looks like an empty vault, and the sealed screenings still
        go to the organisation at the next sync. Both credentials are tried at every unlock.
        """
        keys, _ = self._require("admin")
        admin_private = self._admin()
        self._confirm(admin_passphrase)
        keyring = self._require_keyring()
        if keyring.format == keyfile.LEGACY_FORMAT:
            raise VaultError("vault-account-reissue")
        params = self._duress_params()
        roster = keyring.current
        if passphrase is None:
            duress = keyfile.inert_duress(
                keyring.vault_id,
                roster.generation,
                params.to_dict(),
                crypto.random_bytes(crypto.KEY_BYTES),
            )
        else:
            _check_passphrase(passphrase)
            for user in roster.users:  # the duress passphrase must not be anyone's own
                try:
                    kek = crypto.derive_key(passphrase, crypto.KdfParams.from_dict(user.kdf))
                    keyfile.open_entry(keyring.vault_id, roster.generation, user, kek)
                except (crypto.DecryptError, VaultError):
                    continue
                raise VaultError("vault-duress-is-a-passphrase")
            duress = keyfile.new_entry(
                keyring.vault_id,
                roster.generation,
                user_id=keyfile.DURESS_ID,
                login="",
                role="specialist",
                created_day=self.today(),
                kdf=params.to_dict(),
                kek=crypto.derive_key(passphrase, params),
                master=keys.master,
                admin_private=None,
            )
        new_roster = dataclasses.replace(roster, duress=duress, authorised=None)
        self._save_roster(new_roster, admin_private)
        with self._tx() as conn:
            self._audit(conn, "duress-passphrase", detail={"set": passphrase is not None})

    def change_passphrase(self, old: bytes, new: bytes) -> None:
        """Re-wrap the current user's private key under the new passphrase; no data is
        re-encrypted and the signed part of the roster does not change.

        The key file is replaced atomically, so a crash at any step leaves exactly one of the
        two passphrases working.
        """
        keys, user = self._require()
        old_kek = self._confirm(old)
        _check_passphrase(new)
        keyring = self._require_keyring()
        entry = keyring.by_id(user.user_id)
        if entry is None:
            raise VaultError("vault-locked")
        params = self._new_params()
        new_kek = crypto.derive_key(new, params)
        if keyring.format == keyfile.LEGACY_FORMAT:
            replaced = dataclasses.replace(
                entry, kdf=params.to_dict(), wrapped_master=crypto.wrap_key(new_kek, keys.master)
            )
            roster = keyring.current.with_user(replaced)
            roster.signature = crypto.hmac_sha256(
                keys.sub("roster"), roster.legacy_bytes(keyring.vault_id)
            )
        elif entry.legacy:
            raise VaultError("vault-account-reissue")
        else:
            private = crypto.decrypt(
                old_kek,
                entry.wrapped_private or b"",
                keyfile.private_aad(keyring.vault_id, entry.user_id),
            )
            replaced = dataclasses.replace(
                entry,
                kdf=params.to_dict(),
                wrapped_private=crypto.encrypt(
                    new_kek, private, keyfile.private_aad(keyring.vault_id, entry.user_id)
                ),
            )
            roster = keyring.current.with_user(replaced)
            roster.signature = keyring.current.signature  # the signed part is unchanged
        updated = dataclasses.replace(keyring, current=roster, pending=None)
        keep = [u for u in self.last_key_check if u != user.user_id]  # this one is new now
        updated.save(keys.sub("key-entries"), keep)
        self._keyring = updated
        with self._tx() as conn:
            self._audit(conn, "passphrase-change")
