"""A passphrase someone saw, against the laptop's files: does a passphrase change take it away?

The attacker kept a copy of the key file from before the change and knows the passphrase it
was wrapped under (seen over a shoulder, say); later they get the laptop's current files (key
file and database). Nothing is put back: the attacker works on copies, with the product's own
key-file format and database, and tries everything those give:

* every credential of the old key file their passphrase opens (the private key and the master
  key behind it);
* every sealed key in the current key file (any ``sealed_*`` field, wherever it sits) opened
  with each private key so found, under every generation and user id the file names;
* every master key so found (and the old one) against every record of the current database.

Counted per variant (the user who changed, and what happened after the change): the records
written after the change that the attacker reads. A removed user with their old key file is
counted the same way.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fieldscreen import crypto
from fieldscreen.vault import UnlockFailed, Vault, VaultError
from fieldscreen.vault import keyring as keyfile
from fieldscreen.vault.base import DB_NAME, KEYS_NAME
from fieldscreen.vault.keys import Keys, aad
from fieldscreen.vault.rekey import _content_aad
from tests.unit.vault.conftest import LOGIN, PASS

SEEDS = 2
AFTER = 4  # records written after the change, per variant
SPEC = b"the specialist's first passphrase"
SPEC_NEW = b"the specialist's later passphrase"
ADMIN_NEW = b"the admin's later passphrase"


def _sealed_blobs(value: Any) -> Iterator[bytes]:
    """Every ``sealed_*`` value anywhere in a key file's JSON."""
    if isinstance(value, dict):
        for name, item in value.items():
            if name.startswith("sealed") and isinstance(item, str):
                yield keyfile._unb64(item)
            else:
                yield from _sealed_blobs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _sealed_blobs(item)


def _user_ids(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = {str(value["user_id"])} if "user_id" in value else set()
        for item in value.values():
            found |= _user_ids(item)
        return found
    if isinstance(value, list):
        return set().union(*(_user_ids(item) for item in value)) if value else set()
    return set()


def _credentials(data: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every user entry of a key file, and any credential nested in one."""
    rosters = [data, *([data["pending"]] if data.get("pending") else [])]
    for roster in rosters:
        for entry in [*roster["users"], *([roster["duress"]] if roster.get("duress") else [])]:
            yield entry
            for item in entry.values():
                if isinstance(item, dict) and "wrapped_private" in item:
                    yield {**item, "user_id": entry["user_id"]}


def _recovered_masters(old_file: bytes, passphrase: bytes, current_file: bytes) -> set[bytes]:
    """What the old key file, its passphrase and the current key file give the attacker."""
    old, current = json.loads(old_file), json.loads(current_file)
    vault_id = old["vault_id"]
    privates, masters = [], set()
    for entry in _credentials(old):
        if "wrapped_private" not in entry:
            continue
        try:
            kek = crypto.derive_key(passphrase, crypto.KdfParams.from_dict(entry["kdf"]))
            private = crypto.decrypt(
                kek,
                keyfile._unb64(entry["wrapped_private"]),
                keyfile.private_aad(vault_id, entry["user_id"]),
            )
        except crypto.DecryptError:
            continue
        privates.append(private)
        for blob in _sealed_blobs(entry):
            for generation in range(old["generation"] + 1):
                try:
                    masters.add(
                        crypto.open_sealed(
                            private,
                            blob,
                            info=keyfile.master_info(vault_id, generation, entry["user_id"]),
                            aad=b"",
                        )
                    )
                except crypto.DecryptError:
                    continue
    ids = _user_ids(current)
    top = max(current["generation"], (current.get("pending") or {}).get("generation", 0))
    for private in privates:
        for blob in _sealed_blobs(current):
            for generation in range(top + 2):
                for user_id in ids:
                    try:
                        masters.add(
                            crypto.open_sealed(
                                private,
                                blob,
                                info=keyfile.master_info(vault_id, generation, user_id),
                                aad=b"",
                            )
                        )
                    except crypto.DecryptError:
                        continue
    return masters


def _records_read(folder: Path, masters: set[bytes], ids: set[str], admin_keys: set[bytes]) -> int:
    """How many of the records ``ids`` any of ``masters`` decrypts in the current database."""
    conn = sqlite3.connect(folder / DB_NAME)
    try:
        rows = conn.execute(
            "SELECT id, status, version, form_id, form_version, wrapped_key, ciphertext "
            "FROM records WHERE wrapped_key IS NOT NULL"
        ).fetchall()
    finally:
        conn.close()
    read = set()
    for master in masters:
        for admin_public in admin_keys:
            wrap = Keys(master, admin_public).sub("record-keys")
            for row in rows:
                if row[0] not in ids:
                    continue
                try:
                    dek = crypto.decrypt(wrap, bytes(row[5]), aad("records", row[0], "dek"))
                    crypto.decrypt(dek, bytes(row[6]), _content_aad("records", row))
                except crypto.DecryptError:
                    continue
                read.add(row[0])
    return len(read)


def _admin_publics(*files: bytes) -> set[bytes]:
    found = set()
    for raw in files:
        data = json.loads(raw)
        for roster in (data, data.get("pending") or {}):
            if roster.get("admin_public"):
                found.add(keyfile._unb64(roster["admin_public"]))
    return found


def _variant(tmp_path: Path, name: str, who: str, then: str, org: dict[str, bytes]) -> int:
    """One attack; returns how many of the records written after the change the attacker reads."""
    folder = tmp_path / name
    vault = Vault.create(
        folder, admin_login=LOGIN, passphrase=PASS, kdf=crypto.KdfParams.for_tests()
    )
    vault.set_org_keys(org["sealing_public"], org["signing_public"])
    vault.add_user("spec1", SPEC, "specialist", admin_passphrase=PASS)
    before = vault.new_draft("f", "1", {"before": True})
    old_file = (folder / KEYS_NAME).read_bytes()  # the attacker's copy
    login, old, new = (LOGIN, PASS, ADMIN_NEW) if who == "admin" else ("spec1", SPEC, SPEC_NEW)
    if who != "admin":
        vault.lock()
        vault.unlock(login, old, duress=False)
    vault.change_passphrase(old, new)
    written = {vault.new_draft("f", "1", {"after": n}) for n in range(AFTER - 1)}
    vault.save_draft(before, {"before": True, "saved": "after the change"})
    written.add(before)
    vault.lock()
    with pytest.raises(UnlockFailed):  # the old passphrase no longer opens the vault itself
        vault.unlock(login, old, duress=False)
    opened = vault.unlock(login, new, duress=False)
    assert (opened.login, opened.role) == (login, "admin" if who == "admin" else "specialist")
    assert vault.load_record(before) == {"before": True, "saved": "after the change"}
    pending = [u.login for u in vault._require_keyring().current.changes]
    assert pending == ([] if who == "admin" else ["spec1"])  # awaiting an admin's signature
    vault.lock()
    admin_pass = ADMIN_NEW if who == "admin" else PASS
    if then in ("admin unlocks", "admin rotates"):
        vault.unlock(LOGIN, admin_pass, duress=False)
        assert not vault._require_keyring().current.changes  # signed in by the admin
        if then == "admin rotates":
            vault.rotate_keys(admin_passphrase=admin_pass)
        vault.lock()
        assert vault.unlock(login, new, duress=False).login == login
        vault.lock()
    vault.close()
    current_file = (folder / KEYS_NAME).read_bytes()
    masters = _recovered_masters(old_file, old, current_file)
    return _records_read(folder, masters, written, _admin_publics(old_file, current_file))


def test_an_old_key_file_and_its_passphrase_read_nothing_written_after_the_change(
    tmp_path: Path, org: dict[str, bytes]
) -> None:
    tally: Counter[str] = Counter()
    total = 0
    for seed in range(SEEDS):
        for who in ("admin", "specialist"):
            for then in ("nothing", "admin unlocks", "admin rotates"):
                read = _variant(tmp_path, f"{who}-{then}-{seed}".replace(" ", "_"), who, then, org)
                tally[f"{who}, then {then}"] += read
                total += AFTER
    opened = sum(tally.values())
    print(
        f"\nold key file + old passphrase + current key file: {opened} of {total} records "
        f"written after the change read; by variant {dict(tally)}"
    )
    assert opened == 0


def test_a_removed_user_with_an_old_key_file_reads_nothing_written_after(
    tmp_path: Path, org: dict[str, bytes]
) -> None:
    opened = total = 0
    for seed in range(SEEDS):
        folder = tmp_path / f"removed-{seed}"
        vault = Vault.create(
            folder, admin_login=LOGIN, passphrase=PASS, kdf=crypto.KdfParams.for_tests()
        )
        vault.set_org_keys(org["sealing_public"], org["signing_public"])
        vault.add_user("spec1", SPEC, "specialist", admin_passphrase=PASS)
        if seed % 2:  # the removed user had changed their passphrase first
            vault.lock()
            vault.unlock("spec1", SPEC, duress=False)
            vault.change_passphrase(SPEC, SPEC_NEW)
            vault.lock()
            vault.unlock(LOGIN, PASS, duress=False)
        old_file = (folder / KEYS_NAME).read_bytes()
        vault.remove_user("spec1", admin_passphrase=PASS)
        written = {vault.new_draft("f", "1", {"after": n}) for n in range(AFTER)}
        vault.close()
        current_file = (folder / KEYS_NAME).read_bytes()
        passphrase = SPEC_NEW if seed % 2 else SPEC
        masters = _recovered_masters(old_file, passphrase, current_file)
        opened += _records_read(folder, masters, written, _admin_publics(old_file, current_file))
        total += AFTER
        shutil.rmtree(folder)
    print(f"\nremoved user, old key file + their passphrase: {opened} of {total} records read")
    assert opened == 0


def test_a_change_edited_in_the_file_is_never_signed_in_and_an_admin_has_none(
    tmp_path: Path, org: dict[str, bytes]
) -> None:
    """A specialist's change awaiting an admin, edited in the key file (its salt changed, so
    its entry's MAC fails), stays pending at the admin's unlock, reported, never signed in;
    an admin's entry with a change (an admin's change is signed at once) opens nothing."""
    folder = tmp_path / "v"
    vault = Vault.create(
        folder, admin_login=LOGIN, passphrase=PASS, kdf=crypto.KdfParams.for_tests()
    )
    vault.set_org_keys(org["sealing_public"], org["signing_public"])
    spec = vault.add_user("spec1", SPEC, "specialist", admin_passphrase=PASS)
    vault.lock()
    vault.unlock("spec1", SPEC, duress=False)
    vault.change_passphrase(SPEC, SPEC_NEW)
    vault.close()
    path = folder / KEYS_NAME
    data = json.loads(path.read_bytes())
    entry = next(u for u in data["users"] if u["login"] == "spec1")
    entry["change"]["kdf"]["salt"] = keyfile._b64(bytes(16))
    path.write_text(json.dumps(data))
    vault = Vault.open(folder)
    vault.unlock(LOGIN, PASS, duress=False)
    assert spec.user_id in vault.last_key_check  # reported at this unlock
    assert [u.login for u in vault._require_keyring().current.changes] == ["spec1"]  # unsigned
    vault.close()
    assert [u["login"] for u in json.loads(path.read_bytes())["users"] if "change" in u] == [
        "spec1"
    ]
    # an admin's entry carrying a change
    data = json.loads(path.read_bytes())
    admin = next(u for u in data["users"] if u["login"] == LOGIN)
    admin["change"] = {
        name: admin[name]
        for name in ("user_id", "login", "role", "created_day", "kdf", "public", "wrapped_private")
    }
    admin["change"]["sealed_master"] = admin.pop("sealed_master")
    path.write_text(json.dumps(data))
    vault = Vault.open(folder)
    with pytest.raises(VaultError) as refused:
        vault.unlock(LOGIN, PASS, duress=False)
    assert refused.value.code == "vault-roster-invalid"
    vault.close()
