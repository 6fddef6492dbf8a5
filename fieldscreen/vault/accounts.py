"""Local accounts on a shared laptop: add and remove users, change a passphrase, rotate keys.

Roles, from least to most: specialist (screens children), coordinator (also sees sync status
and every record of the device), admin (also manages users and the organisation's keys). The
first user is the admin who created the vault; the last admin cannot be removed.

Every user holds the same master key, sealed to their own X25519 key, whose private half is
wrapped under their passphrase. The roster (who has which role) is signed by the admin key,
which only admins hold (:mod:`fieldscreen.vault.keyring`), so only an admin can change it.
Adding a user rewrites only the key file. Removing a user, a demotion, or an admin's "rotate
keys now" moves the vault to a new master key and a new admin key
(:meth:`AccountsMixin.rotate_keys`): afterwards a removed user's passphrase opens nothing,
even with an old copy of the key file.

Changing a passphrase (:meth:`AccountsMixin.change_passphrase`) takes the old one away even
from someone who kept a copy of the key file and saw the old passphrase: the user gets a new
X25519 key pair under the new passphrase and the vault a new master key, and nothing is sealed
to the old key pair afterwards.

* An admin's change is a rotation (new master key and admin key) whose roster, signed by the
  new admin key and authorised by the current one, names the admin's new public key.
* A specialist's or coordinator's change cannot sign the roster. It makes a new master key
  under the same signed roster (its signed part does not change, so its signature stands and
  authorises the pending roster): sealed to every other account's public key and to the user's
  new key pair, which waits in the user's entry as a ``change``
  (:attr:`~fieldscreen.vault.keyring.UserEntry.change`, covered by the entry's MAC) until the
  next admin to unlock signs the new public key in (:meth:`VaultBase._countersign`). The user
  opens the vault with the new passphrase through the change meanwhile.
* Both run the rotation's three durable steps (key file with the next roster pending, the
  database re-encrypted in one transaction, key file with the roster alone). The pending entry
  also holds the master key the database is still under, sealed to the new key pair
  (``sealed_previous``), so a change killed after its pending key file is on disk is finished
  by an unlock with the new passphrase; before that, the old passphrase still opens. A key
  file rolled back to a copy from before the change opens nothing: the database is under the
  new master key.

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
            kek = crypto.derive_key(passphrase, crypto.KdfParams.from_dict(entry.credential.kdf))
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

    def _rotate(
        self, roster: Roster, reason: str, *, previous: dict[str, bytes] | None = None
    ) -> dict[str, Any]:
        """Move the vault to a new master key and admin key for ``roster`` (its pending
        passphrase changes signed in, except those of entries found damaged). ``previous``:
        per user id, the current master key sealed to that user's new key pair (their
        passphrase change), kept in the pending roster until the rotation is done."""
        keyring = self._require_keyring()
        roster = roster.countersigned(skip=self.last_key_check)
        master = crypto.random_bytes(crypto.KEY_BYTES)
        admin_private, admin_public = crypto.generate_signing_keypair()
        generation = keyring.current.generation + 1
        carried, dropped = [], []
        for entry in roster.users:
            if entry.legacy:
                dropped.append(entry.login)
                continue
            resealed = keyfile.reseal(keyring.vault_id, generation, entry, master, admin_private)
            if previous and entry.user_id in previous:
                resealed = dataclasses.replace(resealed, sealed_previous=previous[entry.user_id])
            carried.append(resealed)
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
                    params = crypto.KdfParams.from_dict(user.credential.kdf)
                    kek = crypto.derive_key(passphrase, params)
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

    def change_passphrase(self, old: bytes, new: bytes) -> dict[str, Any]:
        """Give the current user a new key pair under the new passphrase and move the vault to
        a new master key, so that an older copy of the key file with the old passphrase opens
        nothing written afterwards (module docstring; docs/vault.md, "Changing a passphrase").

        * An admin: a key rotation (:meth:`_rotate`) whose roster names the admin's new public
          key, signed by the new admin key and authorised by the current one.
        * Any other role: a new master key under the same signed roster (nothing of its signed
          part changes), sealed to every other account's key and to the user's new key pair,
          which waits in the entry as a change for an admin's next unlock to sign in; nothing
          is sealed to the old key pair any more.

        Either way in the rotation's three durable steps: killed before the key file with the
        change pending is on disk, the old passphrase opens the vault; from then on the new
        one does (the old master key is sealed to the new key pair until the change is done).
        Returns what the rotation rewrote (as :meth:`rotate_keys`).
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
            updated = dataclasses.replace(keyring, current=roster, pending=None)
            updated.save()
            self._keyring = updated
            with self._tx() as conn:
                self._audit(conn, "passphrase-change")
            return {"generation": 0, "rotated": False}
        if entry.legacy:
            raise VaultError("vault-account-reissue")
        del old_kek
        private, public = crypto.generate_sealing_keypair()
        vault_id = keyring.vault_id
        generation = keyring.current.generation
        fresh = dataclasses.replace(
            entry.credential,
            kdf=params.to_dict(),
            public=public,
            wrapped_private=crypto.encrypt(
                new_kek, private, keyfile.private_aad(vault_id, entry.user_id)
            ),
            sealed_master=None,
            sealed_admin=None,
            entry_mac=None,
            sealed_previous=None,
            change=None,
        )
        with self._tx() as conn:
            self._audit(conn, "passphrase-change")
        if self._admin_key is not None and entry.role == "admin":
            previous = crypto.seal(
                public,
                keys.master,
                info=keyfile.previous_info(vault_id, generation, entry.user_id),
                aad=b"",
            )
            rotated = dataclasses.replace(entry, **_credential_of(fresh))
            result = self._rotate(
                keyring.current.with_user(rotated),
                "passphrase-change",
                previous={entry.user_id: previous},
            )
            return {**result, "rotated": True}
        return {**self._rekey_own(entry, fresh, private), "rotated": True}

    def _rekey_own(
        self, entry: keyfile.UserEntry, fresh: keyfile.UserEntry, private: bytes
    ) -> dict[str, Any]:
        """A non-admin's passphrase change: a new master key under the same signed roster."""
        keys, _ = self._require()
        keyring = self._require_keyring()
        vault_id, current = keyring.vault_id, keyring.current
        generation = current.generation
        master = crypto.random_bytes(crypto.KEY_BYTES)
        previous = crypto.seal(
            fresh.public or b"",
            keys.master,
            info=keyfile.previous_info(vault_id, generation, entry.user_id),
            aad=b"",
        )
        change = dataclasses.replace(fresh, sealed_previous=previous)
        mine = dataclasses.replace(entry, sealed_master=None, sealed_previous=None, change=change)
        users, stranded = [], []
        for user in current.users:
            if user.user_id == entry.user_id:
                users.append(keyfile.reseal_master(vault_id, generation, mine, master))
            elif user.legacy:  # a format-1 credential cannot follow (an admin adds it again)
                stranded.append(user.login)
                users.append(user)
            else:
                users.append(keyfile.reseal_master(vault_id, generation, user, master))
        duress = None
        if current.duress is not None:
            duress = keyfile.reseal_master(vault_id, generation, current.duress, master)
        # the signed part is unchanged (the entry still names the key it replaces), so the
        # roster's signature stands, and authorises the pending roster as it is
        pending = Roster(
            generation,
            current.admin_public,
            users,
            signature=current.signature,
            authorised=current.signature,
            anchor=current.anchor,
            duress=duress,
        )
        if not pending.signature_valid(vault_id):
            raise VaultError("vault-roster-invalid")
        del private
        self._rotate_to(master, pending, None, "passphrase-change")
        counts = self._last_rekey
        return {
            "generation": generation,
            "users": len(users) - len(stranded),
            "data_keys": counts.data_keys,
            "secrets": counts.secrets,
            "audit_entries": counts.audit_entries,
            "unreadable": counts.unreadable,
            "must_be_added_again": stranded,
            "awaiting_admin": True,
        }


def _credential_of(fresh: keyfile.UserEntry) -> dict[str, Any]:
    """The fields of a new credential that replace an entry's own."""
    return {
        "kdf": fresh.kdf,
        "public": fresh.public,
        "wrapped_private": fresh.wrapped_private,
        "sealed_master": None,
        "sealed_admin": None,
        "sealed_previous": None,
        "change": None,
    }
