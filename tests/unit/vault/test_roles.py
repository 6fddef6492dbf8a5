"""Roles hold against a person with the laptop's files, and rotation shuts out old key files.

The attacker is a specialist (or a removed user) who has the raw files and their own passphrase,
and who can run any code of their own over them: edit the key file, re-sign it with a key of
their own, copy their credentials into the admin's entry, roll the file back. Every attack goes
through the product's real unlock path; each is counted over seeded variants
(``FIELDSCREEN_FULL=1`` runs many more):

* applied: the attacker unlocked with a role, or a roster, the real admin never signed;
* silently accepted: an unlock succeeded over a changed roster at all.
"""

from __future__ import annotations

import base64
import json
import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fieldscreen import crypto
from fieldscreen.vault import UnlockFailed, Vault, VaultError
from fieldscreen.vault import keyring as keyfile
from fieldscreen.vault.keys import Keys, aad
from fieldscreen.vault.store import Store
from tests.reliability.vault_support import count
from tests.unit.vault.conftest import LOGIN, PASS

SPEC = "spec1"
SPEC_PASS = b"specialist passphrase"
OTHER = "coord1"
OTHER_PASS = b"coordinator passphrase"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text)


def _laptop(folder: Path, org: dict[str, bytes]) -> None:
    vault = Vault.create(
        folder, admin_login=LOGIN, passphrase=PASS, kdf=crypto.KdfParams.for_tests()
    )
    vault.kdf_for_new_keys = crypto.KdfParams.for_tests()
    vault.set_org_keys(org["sealing_public"], org["signing_public"])
    vault.add_user(SPEC, SPEC_PASS, "specialist", admin_passphrase=PASS)
    vault.add_user(OTHER, OTHER_PASS, "coordinator", admin_passphrase=PASS)
    vault.new_draft("f", "1", {"q": "a child's answer"})
    vault.close()


def _own_secrets(data: dict[str, Any]) -> tuple[bytes, bytes, dict[str, Any]]:
    """What the specialist gets from their own entry: master key and X25519 private key."""
    entry = next(u for u in data["users"] if u["login"] == SPEC)
    kek = crypto.derive_key(SPEC_PASS, crypto.KdfParams.from_dict(entry["kdf"]))
    private = crypto.decrypt(
        kek,
        _unb64(entry["wrapped_private"]),
        keyfile.private_aad(data["vault_id"], entry["user_id"]),
    )
    master = crypto.open_sealed(
        private,
        _unb64(entry["sealed_master"]),
        info=keyfile.master_info(data["vault_id"], data["generation"], entry["user_id"]),
        aad=b"",
    )
    return master, private, entry


def _resign(data: dict[str, Any], rng: random.Random) -> None:
    """Make the specialist admin and sign the roster with an admin key of their own."""
    master, private, own = _own_secrets(data)
    admin_private, admin_public = crypto.generate_signing_keypair()
    data["admin_public"] = _b64(admin_public)
    for user in data["users"]:
        if user["login"] == SPEC:
            user["role"] = "admin"
            user["sealed_admin"] = _b64(
                crypto.seal(
                    _unb64(own["public"]),
                    admin_private,
                    info=keyfile.admin_info(data["vault_id"], data["generation"], own["user_id"]),
                    aad=b"",
                )
            )
    if rng.random() < 0.5:
        data["users"] = [u for u in data["users"] if u["login"] != LOGIN]
    roster = keyfile.Roster.from_json(data)
    roster.sign(data["vault_id"], admin_private)
    data["roster_signature"] = _b64(roster.signature)
    del master, private


def _swap_into_admin(data: dict[str, Any], rng: random.Random) -> None:
    """Copy the specialist's own credential into the admin's entry (log in as the admin)."""
    own = next(u for u in data["users"] if u["login"] == SPEC)
    admin = next(u for u in data["users"] if u["login"] == LOGIN)
    fields = ["kdf", "wrapped_private", "sealed_master"]
    if rng.random() < 0.5:
        fields.append("public")
    for name in fields:
        admin[name] = own[name]


def _edit_roles(data: dict[str, Any], rng: random.Random) -> None:
    target = rng.choice([SPEC, OTHER, LOGIN])
    for user in data["users"]:
        if user["login"] == target:
            user["role"] = rng.choice([r for r in keyfile.ROLES if r != user["role"]])


def _remove_admin(data: dict[str, Any], rng: random.Random) -> None:
    data["users"] = [u for u in data["users"] if u["login"] != LOGIN]


def _add_admin(data: dict[str, Any], rng: random.Random) -> None:
    """A new admin entry made of the specialist's own credential, under a new login."""
    own = dict(next(u for u in data["users"] if u["login"] == SPEC))
    own.update(user_id=rng.randbytes(16).hex(), login=f"it{rng.randrange(1000)}", role="admin")
    data["users"].append(own)


def _rename(data: dict[str, Any], rng: random.Random) -> None:
    """Give the specialist the admin's login (and the admin another)."""
    for user in data["users"]:
        if user["login"] == LOGIN:
            user["login"] = "old-admin"
        elif user["login"] == SPEC:
            user["login"] = LOGIN


def _as_format_one(data: dict[str, Any], rng: random.Random) -> None:
    """Rewrite the file as a format-1 key file, with a roster MAC from the master key."""
    master, _, own = _own_secrets(data)
    kek = crypto.derive_key(SPEC_PASS, crypto.KdfParams.from_dict(own["kdf"]))
    users = []
    for user in data["users"]:
        if user["login"] == SPEC:
            users.append(
                {
                    **{k: user[k] for k in ("user_id", "login", "created_day", "kdf")},
                    "role": "admin",
                    "wrapped_master": _b64(crypto.wrap_key(kek, master)),
                }
            )
    roster = [[u["user_id"], u["login"], u["role"], u["created_day"]] for u in users]
    message = json.dumps([data["vault_id"], roster], separators=(",", ":")).encode()
    mac = crypto.hmac_sha256(Keys(master).sub("roster"), message)
    data.clear()
    data.update(format=1, vault_id=json.loads(message)[0], users=users, roster_mac=_b64(mac))


def _forged_pending(data: dict[str, Any], rng: random.Random) -> None:
    """A 'rotation under way' to a roster and master key of the specialist's own making."""
    _, _, own = _own_secrets(data)
    pending = json.loads(json.dumps(data))
    _resign(pending, rng)
    pending["generation"] = data["generation"] + 1
    new_master = crypto.random_bytes(32)
    for user in pending["users"]:
        if user["login"] == SPEC:
            user["sealed_master"] = _b64(
                crypto.seal(
                    _unb64(own["public"]),
                    new_master,
                    info=keyfile.master_info(
                        data["vault_id"], pending["generation"], own["user_id"]
                    ),
                    aad=b"",
                )
            )
    roster = keyfile.Roster.from_json(pending)
    forger, _ = crypto.generate_signing_keypair()
    pending["authorised"] = _b64(crypto.sign(forger, roster.signed_bytes(data["vault_id"])))
    pending.pop("format", None)
    pending.pop("vault_id", None)
    pending.pop("pending", None)
    data["pending"] = pending


ATTACKS: dict[str, Callable[[dict[str, Any], random.Random], None]] = {
    "edit-role": _edit_roles,
    "remove-admin": _remove_admin,
    "add-admin": _add_admin,
    "rename": _rename,
    "swap-into-admin": _swap_into_admin,
    "re-sign-with-own-key": _resign,
    "as-format-1": _as_format_one,
    "forged-rotation": _forged_pending,
}


def _try(folder: Path, login: str, passphrase: bytes) -> tuple[str, list[tuple[str, str]]] | None:
    """Unlock through the product; the role and roster it accepted, or None when refused (the
    unlock throttle's waits are skipped: they are tested on their own)."""
    vault = Vault.open(folder, sleep=lambda seconds: None)
    try:
        user = vault.unlock(login, passphrase)
        return user.role, sorted((u.login, u.role) for u in vault.users())
    except (UnlockFailed, VaultError):
        return None
    finally:
        vault.close()


def test_a_specialist_with_the_files_cannot_change_roles_or_users(
    tmp_path: Path, org: dict[str, bytes]
) -> None:
    pristine = tmp_path / "pristine"
    _laptop(pristine, org)
    signed = sorted([(LOGIN, "admin"), (SPEC, "specialist"), (OTHER, "coordinator")])
    rng = random.Random(15)
    trials = count(len(ATTACKS) * 3, len(ATTACKS) * 40)
    tally = dict.fromkeys(ATTACKS, 0)
    applied = silently_accepted = held = 0
    for trial in range(trials):
        name = list(ATTACKS)[trial % len(ATTACKS)]
        folder = tmp_path / f"t{trial}"
        shutil.copytree(pristine, folder)
        data = json.loads((folder / "vault.keys").read_text())
        ATTACKS[name](data, rng)
        (folder / "vault.keys").write_text(json.dumps(data))
        tally[name] += 1
        attempts = [
            (SPEC, SPEC_PASS, "specialist"),
            (LOGIN, SPEC_PASS, None),
            ("old-admin", SPEC_PASS, None),
            (LOGIN, PASS, "admin"),
            (OTHER, OTHER_PASS, "coordinator"),
        ]
        wrong = 0
        for login, passphrase, expected in attempts:
            outcome = _try(folder, login, passphrase)
            if outcome is None:
                continue
            if outcome != (expected, signed):
                wrong += 1
                silently_accepted += 1
                if expected is None or outcome[1] != signed or outcome[0] != expected:
                    applied += 1
        held += wrong == 0
        shutil.rmtree(folder)
    print(
        f"\nroster attacks {trials} ({tally}): held {held}, applied {applied}, "
        f"silently accepted {silently_accepted}"
    )
    assert applied == 0
    assert silently_accepted == 0
    assert held == trials
    # The untouched files still open for everyone, with the roster the admin signed.
    assert _try(pristine, SPEC, SPEC_PASS) == ("specialist", signed)
    assert _try(pristine, LOGIN, PASS) == ("admin", signed)


def test_the_refusal_is_in_words_in_both_languages(tmp_path: Path, org: dict[str, bytes]) -> None:
    _laptop(tmp_path / "v", org)
    keys = tmp_path / "v" / "vault.keys"
    keys.write_text(keys.read_text().replace('"specialist"', '"admin"'))
    with pytest.raises(VaultError) as caught:
        Vault.open(tmp_path / "v").unlock(SPEC, SPEC_PASS)
    assert caught.value.code == "vault-roster-invalid"
    assert "without an admin's signature" in caught.value.message("en")
    assert "sin la firma de un administrador" in caught.value.message("es")


def _opened_by(master: bytes, admin_public: bytes | None, folder: Path) -> int:
    """How many ciphertexts of the database ``master`` opens (wrapped keys, secrets, audit)."""
    keys = Keys(master, admin_public)
    store = Store(folder / "vault.sqlite3")
    opened = 0
    try:
        for table, column in (("records", "id"), ("case_cards", "record_id")):
            for row in store.read(f"SELECT {column} AS id, wrapped_key FROM {table}"):
                if row["wrapped_key"] is None:
                    continue
                try:
                    crypto.decrypt(
                        keys.sub("record-keys"), row["wrapped_key"], aad(table, row["id"], "dek")
                    )
                    opened += 1
                except crypto.DecryptError:
                    pass
        for row in store.read("SELECT name, ciphertext FROM secrets"):
            try:
                crypto.decrypt(keys.sub("secrets"), row["ciphertext"], aad("secrets", row["name"]))
                opened += 1
            except crypto.DecryptError:
                pass
        for row in store.read("SELECT seq, ciphertext FROM audit"):
            try:
                crypto.decrypt(
                    keys.sub("audit-encryption"), row["ciphertext"], aad("audit", row["seq"])
                )
                opened += 1
            except crypto.DecryptError:
                pass
    finally:
        store.close()
    return opened


def _master_of(key_file: Path, login: str, passphrase: bytes) -> tuple[bytes, bytes | None]:
    ring = keyfile.Keyring.load(key_file)
    entry = ring.current.find(login)
    assert entry is not None
    kek = crypto.derive_key(passphrase, crypto.KdfParams.from_dict(entry.kdf))
    master, _ = keyfile.open_entry(ring.vault_id, ring.current.generation, entry, kek)
    return master, ring.current.admin_public


def test_a_removed_users_old_key_file_opens_nothing_written_after(
    tmp_path: Path, org: dict[str, bytes]
) -> None:
    rng = random.Random(4)
    trials = count(4, 40)
    applied = opened_total = 0
    for trial in range(trials):
        folder = tmp_path / f"t{trial}"
        _laptop(folder, org)
        old_copy = (folder / "vault.keys").read_bytes()
        vault = Vault.open(folder, new_key_kdf=crypto.KdfParams.for_tests())
        vault.unlock(LOGIN, PASS)
        drafts = [vault.new_draft("f", "1", {"n": n}) for n in range(rng.randrange(1, 4))]
        if rng.random() < 0.5:
            result = vault.remove_user(SPEC, admin_passphrase=PASS)
        else:
            result = vault.rotate_keys(admin_passphrase=PASS)
        assert result["must_be_added_again"] == []
        after = vault.new_draft("f", "1", {"written": "after the rotation"})
        vault.save_draft(drafts[0], {"n": "saved after the rotation"})
        assert vault.integrity_check().ok
        vault.close()
        # The attacker puts the old key file back and signs in as the removed specialist.
        current = (folder / "vault.keys").read_bytes()
        (folder / "vault.keys").write_bytes(old_copy)
        for login, passphrase in ((SPEC, SPEC_PASS), (LOGIN, PASS)):
            if _try(folder, login, passphrase) is not None:
                applied += 1
        # And with their own code: the old master key against the database as it is now.
        shutil.copy(folder / "vault.sqlite3", tmp_path / "copy.sqlite3")
        master, admin_public = _master_of(folder / "vault.keys", SPEC, SPEC_PASS)
        opened_total += _opened_by(master, admin_public, folder)
        (folder / "vault.keys").write_bytes(current)
        with Vault.open(folder) as vault:
            vault.unlock(LOGIN, PASS)
            assert vault.load_record(after) == {"written": "after the rotation"}
            assert vault.load_record(drafts[0]) == {"n": "saved after the rotation"}
            assert vault.integrity_check().ok
        shutil.rmtree(folder)
    print(
        f"\nold key file after rotation, {trials} vaults: applied {applied}, "
        f"ciphertexts opened {opened_total}"
    )
    assert applied == 0
    assert opened_total == 0


def test_rotation_keeps_everything_and_every_user_but_the_removed_one(
    tmp_path: Path, org: dict[str, bytes]
) -> None:
    folder = tmp_path / "v"
    _laptop(folder, org)
    vault = Vault.open(folder, new_key_kdf=crypto.KdfParams.for_tests())
    vault.unlock(LOGIN, PASS)
    draft = vault.new_draft("f", "1", {"q": 1})
    done = vault.new_draft("f", "1", {"q": 2})
    vault.finalise(done, record={"q": 2}, case_card={"c": 1})
    before = [vault.load_record(draft), vault.load_record(done), vault.case_card(done)]
    summary = vault.remove_user(SPEC, admin_passphrase=PASS)
    assert summary["users"] == 2
    assert summary["unreadable"] == 0
    assert [vault.load_record(draft), vault.load_record(done), vault.case_card(done)] == before
    assert vault.integrity_check().ok
    actions = [e.action for e in vault.audit_log()]
    assert (
        actions[-3:] == ["view", "user-remove", "rekey"][: len(actions[-3:])] or "rekey" in actions
    )
    vault.add_user("new1", b"a brand new passphrase", "specialist", admin_passphrase=PASS)
    vault.close()
    assert _try(folder, SPEC, SPEC_PASS) is None
    assert _try(folder, OTHER, OTHER_PASS) is not None
    assert _try(folder, "new1", b"a brand new passphrase") is not None
    assert not list(folder.glob(".vault.keys.*"))
    with Vault.open(folder) as vault:
        vault.unlock(OTHER, OTHER_PASS)
        assert vault.case_card(done) == {"c": 1}
        vault.change_passphrase(OTHER_PASS, b"a changed coordinator passphrase")
    assert _try(folder, OTHER, b"a changed coordinator passphrase") is not None


def test_a_row_rolled_back_before_a_rotation_is_still_caught_after(
    tmp_path: Path, org: dict[str, bytes]
) -> None:
    folder = tmp_path / "v"
    _laptop(folder, org)
    vault = Vault.open(folder, new_key_kdf=crypto.KdfParams.for_tests())
    vault.unlock(LOGIN, PASS)
    draft = vault.new_draft("f", "1", {"n": 1})
    kept = vault.new_draft("f", "1", {"n": "kept"})
    store = vault._open_store()
    old = store.read("SELECT version, ciphertext FROM records WHERE id = ?", (draft,))[0]
    vault.save_draft(draft, {"n": 2})
    vault.close()
    raw = Store(folder / "vault.sqlite3")
    with raw.transaction() as conn:  # the attacker puts the older row back
        conn.execute(
            "UPDATE records SET version = ?, ciphertext = ? WHERE id = ?",
            (old["version"], old["ciphertext"], draft),
        )
    raw.close()
    vault = Vault.open(folder, new_key_kdf=crypto.KdfParams.for_tests())
    vault.unlock(LOGIN, PASS)
    vault.rotate_keys(admin_passphrase=PASS)
    with pytest.raises(VaultError) as caught:
        vault.load_record(draft)
    assert caught.value.code == "vault-record-rolled-back"
    assert vault.load_record(kept) == {"n": "kept"}
    assert not vault.integrity_check().ok
    vault.close()
