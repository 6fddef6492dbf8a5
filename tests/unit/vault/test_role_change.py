"""An admin changes a user's role through the signed roster; no one else can, by any path.

The attacker is a specialist (or a demoted coordinator or admin) with the laptop's files, their
own passphrase and code of their own. Each trial tries one path to a higher role through the
product's real unlock: the product's own call, the command line, a copy of the key file kept
from when they held the role and put back after the demotion, and a roster re-signed with the
admin key a demoted admin kept (with the new admin public key, or the old one put back).
Counted over seeded variants (``FIELDSCREEN_FULL=1`` runs many more):

* applied: an unlock gave the attacker a role above the one the admin last signed.
"""

from __future__ import annotations

import dataclasses
import random
import shutil
from pathlib import Path

import pytest

from fieldscreen import crypto
from fieldscreen.cli import main
from fieldscreen.vault import UnlockFailed, Vault, VaultError
from fieldscreen.vault import keyring as keyfile
from fieldscreen.vault.keyring import ROLES
from fieldscreen.vault.keys import Keys
from tests.reliability.vault_support import count
from tests.unit.vault.conftest import LOGIN, PASS

SPEC = "spec1"
SPEC_PASS = b"specialist passphrase"
OTHER = "coord1"
OTHER_PASS = b"coordinator passphrase"


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


def _as_admin(folder: Path) -> Vault:
    vault = Vault.open(folder, sleep=lambda seconds: None)
    vault.unlock(LOGIN, PASS)
    return vault


def _role_at_unlock(folder: Path, login: str, passphrase: bytes) -> str | None:
    vault = Vault.open(folder, sleep=lambda seconds: None)
    try:
        return vault.unlock(login, passphrase).role
    except (UnlockFailed, VaultError):
        return None
    finally:
        vault.close()


def test_an_admin_changes_roles_and_a_demotion_rotates_the_keys(
    tmp_path: Path, org: dict[str, bytes]
) -> None:
    _laptop(tmp_path, org)
    vault = _as_admin(tmp_path)
    generation = keyfile.Keyring.load(tmp_path / "vault.keys").current.generation
    promoted = vault.change_role(SPEC, "admin", admin_passphrase=PASS)
    assert promoted == {"user": SPEC, "role": "admin", "was": "specialist", "rotated": False}
    assert keyfile.Keyring.load(tmp_path / "vault.keys").current.generation == generation
    same = vault.change_role(OTHER, "coordinator", admin_passphrase=PASS)
    assert same["rotated"] is False
    with pytest.raises(VaultError) as own:
        vault.change_role(LOGIN, "specialist", admin_passphrase=PASS)
    assert own.value.code == "vault-role-own"
    with pytest.raises(VaultError) as unknown:
        vault.change_role(SPEC, "owner", admin_passphrase=PASS)  # type: ignore[arg-type]
    assert unknown.value.code == "vault-role-unknown"
    with pytest.raises(UnlockFailed):
        vault.change_role(SPEC, "coordinator", admin_passphrase=b"not the passphrase")
    vault.close()
    # The new admin holds the admin key: they can manage users, and demote the first admin.
    with Vault.open(tmp_path, sleep=lambda seconds: None) as second:
        assert second.unlock(SPEC, SPEC_PASS).role == "admin"
        demoted = second.change_role(LOGIN, "specialist", admin_passphrase=SPEC_PASS)
        assert demoted["rotated"] is True
        assert demoted["generation"] == generation + 1
        assert demoted["users"] == 3
        actions = [(e.action, e.detail) for e in second.audit_log() if e.action == "user-role"]
        assert [d["role"] for _, d in actions] == ["admin", "specialist"]
        assert [d["was"] for _, d in actions] == ["specialist", "admin"]
        assert second.integrity_check().ok
    assert _role_at_unlock(tmp_path, LOGIN, PASS) == "specialist"
    assert _role_at_unlock(tmp_path, OTHER, OTHER_PASS) == "coordinator"
    with Vault.open(tmp_path, sleep=lambda seconds: None) as third:
        third.unlock(LOGIN, PASS)
        with pytest.raises(VaultError) as refused:
            third.change_role(LOGIN, "admin", admin_passphrase=PASS)
        assert refused.value.code == "vault-not-allowed"
        assert third.load_record(third.list_records()[0].record_id) == {"q": "a child's answer"}


def test_the_only_admin_cannot_be_demoted(tmp_path: Path, org: dict[str, bytes]) -> None:
    _laptop(tmp_path, org)
    with _as_admin(tmp_path) as vault:
        with pytest.raises(VaultError) as refused:
            vault.change_role(LOGIN, "coordinator", admin_passphrase=PASS)
        assert refused.value.code == "vault-role-own"
        assert "admin" in refused.value.message("en")
        assert "administrador" in refused.value.message("es")
    assert _role_at_unlock(tmp_path, LOGIN, PASS) == "admin"


def _call(folder: Path, rng: random.Random, tmp: Path) -> None:
    login, passphrase = (SPEC, SPEC_PASS) if rng.random() < 0.5 else (OTHER, OTHER_PASS)
    vault = Vault.open(folder, sleep=lambda seconds: None)
    try:
        vault.unlock(login, passphrase)
        target = rng.choice([SPEC, OTHER, LOGIN])
        vault.change_role(target, rng.choice(ROLES), admin_passphrase=passphrase)
    except (UnlockFailed, VaultError):
        pass
    finally:
        vault.close()


def _command_line(folder: Path, rng: random.Random, tmp: Path) -> None:
    secret = tmp / "pass.txt"
    login, passphrase = (SPEC, SPEC_PASS) if rng.random() < 0.5 else (OTHER, OTHER_PASS)
    secret.write_bytes(passphrase + b"\n")
    refused = main(
        [
            "--profile",
            str(folder.parent.parent),
            "users",
            "role",
            login,
            rng.choice(["coordinator", "admin"]),
            "--user",
            login,
            "--passphrase-file",
            str(secret),
        ]
    )
    assert refused == 1


def _kept_key_file(folder: Path, rng: random.Random, tmp: Path) -> None:
    with _as_admin(folder) as vault:
        vault.change_role(SPEC, rng.choice(["coordinator", "admin"]), admin_passphrase=PASS)
    kept = (folder / "vault.keys").read_bytes()
    with _as_admin(folder) as vault:
        vault.change_role(SPEC, "specialist", admin_passphrase=PASS)
    (folder / "vault.keys").write_bytes(kept)


def _kept_admin_key(folder: Path, rng: random.Random, tmp: Path) -> None:
    with _as_admin(folder) as vault:
        vault.change_role(SPEC, "admin", admin_passphrase=PASS)
    ring = keyfile.Keyring.load(folder / "vault.keys")
    entry = ring.current.find(SPEC)
    assert entry is not None
    kek = crypto.derive_key(SPEC_PASS, crypto.KdfParams.from_dict(entry.kdf))
    _, private = keyfile.open_entry(ring.vault_id, ring.current.generation, entry, kek)
    kept = keyfile.open_admin(ring.vault_id, ring.current, entry, private)
    assert kept is not None
    old_public = ring.current.admin_public
    with _as_admin(folder) as vault:
        vault.change_role(SPEC, rng.choice(["coordinator", "specialist"]), admin_passphrase=PASS)
    ring = keyfile.Keyring.load(folder / "vault.keys")
    entry = ring.current.find(SPEC)
    assert entry is not None
    kek = crypto.derive_key(SPEC_PASS, crypto.KdfParams.from_dict(entry.kdf))
    master, _ = keyfile.open_entry(ring.vault_id, ring.current.generation, entry, kek)
    roster = ring.current.with_user(dataclasses.replace(entry, role="admin"))
    if rng.random() < 0.5:
        roster = dataclasses.replace(roster, admin_public=old_public)
    roster.sign(ring.vault_id, kept)
    forged = dataclasses.replace(ring, current=roster, pending=None)
    forged.save(Keys(master, roster.admin_public).sub("key-entries"))


ATTACKS = {
    "the-product-call": _call,
    "the-command-line": _command_line,
    "a-kept-key-file-put-back": _kept_key_file,
    "a-kept-admin-key": _kept_admin_key,
}


def test_a_non_admin_cannot_give_themselves_a_role_by_any_path(
    tmp_path: Path, org: dict[str, bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    pristine = tmp_path / "pristine" / "data" / "vault"
    _laptop(pristine, org)
    rng = random.Random(15)
    trials = count(len(ATTACKS) * 3, len(ATTACKS) * 30)
    applied = 0
    tally = dict.fromkeys(ATTACKS, 0)
    for trial in range(trials):
        name = list(ATTACKS)[trial % len(ATTACKS)]
        folder = tmp_path / f"t{trial}" / "data" / "vault"
        shutil.copytree(pristine, folder)
        ATTACKS[name](folder, rng, tmp_path)
        tally[name] += 1
        for login, passphrase, signed in (
            (SPEC, SPEC_PASS, "specialist"),
            (OTHER, OTHER_PASS, "coordinator"),
        ):
            role = _role_at_unlock(folder, login, passphrase)
            if role is not None and ROLES.index(role) > ROLES.index(signed):
                applied += 1
        # A file of the attacker's own making locks everyone out (that is denial, not a
        # role); through the product the admin keeps theirs.
        admin = _role_at_unlock(folder, LOGIN, PASS)
        assert admin == "admin" or (admin is None and name.startswith("a-kept"))
        shutil.rmtree(folder.parent.parent)
    capsys.readouterr()
    with capsys.disabled():
        print(f"\nrole attacks {trials} ({tally}): applied {applied}")
    assert applied == 0


def test_the_command_line_lists_users_and_changes_a_role(
    tmp_path: Path, org: dict[str, bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    folder = tmp_path / "p" / "data" / "vault"
    _laptop(folder, org)
    profile = str(folder.parent.parent)
    secret = tmp_path / "admin.txt"
    secret.write_bytes(PASS + b"\n")
    capsys.readouterr()
    assert main(["--profile", profile, "users", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["users"]
    assert {u["login"]: u["role"] for u in listed} == {
        LOGIN: "admin",
        SPEC: "specialist",
        OTHER: "coordinator",
    }
    unlock = ["--user", LOGIN, "--passphrase-file", str(secret)]
    assert main(["--profile", profile, "users", "role", SPEC, "coordinator", *unlock]) == 0
    assert "specialist -> coordinator" in capsys.readouterr().out
    argv = ["--profile", profile, "users", "role", OTHER, "specialist", *unlock, "--json"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rotated"] is True
    assert summary["was"] == "coordinator"
    assert main(["--profile", profile, "users", "role", LOGIN, "specialist", *unlock]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "own role" in err
    assert _role_at_unlock(folder, SPEC, SPEC_PASS) == "coordinator"
    assert _role_at_unlock(folder, OTHER, OTHER_PASS) == "specialist"
