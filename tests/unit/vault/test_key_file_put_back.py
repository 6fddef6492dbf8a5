"""A key file put back from an older copy of the same generation (no rotation between them).

The key file's roster is signed by the admin key, so an older copy of it signed under the same
keys verifies: the laptop cannot tell it from the current one (docs/vault.md, "What does not
hold"). Played by someone with the laptop's files who kept the key file from before a change and
copies it back while the vault is closed; counted per change over seeded variants, with what
the put-back copy gives back measured on the real vault: this file pins the residual risk the
docs state, and shows that every change that takes access away, and every passphrase change,
rotates the keys, so its older key file opens nothing.
"""

from __future__ import annotations

import random
import shutil
from collections import Counter
from pathlib import Path

from fieldscreen import crypto
from fieldscreen.vault import UnlockFailed, Vault, VaultError
from fieldscreen.vault.base import KEYS_NAME
from tests.unit.vault.conftest import LOGIN, PASS

VARIANTS = 4
NEW = b"a newer passphrase of the admin"
SPEC = b"a specialist passphrase"


def _opens(folder: Path, login: str, passphrase: bytes) -> bool:
    vault = Vault.open(folder)
    try:
        vault.unlock(login, passphrase, duress=False)
    except (UnlockFailed, VaultError):
        return False
    else:
        return True
    finally:
        vault.close()


def test_an_older_key_file_of_the_same_generation_undoes_only_that_change(
    tmp_path: Path, org: dict[str, bytes]
) -> None:
    tally: Counter[str] = Counter()
    for seed in range(VARIANTS):
        rng = random.Random(2200 + seed)
        for change in ("passphrase", "user-added", "promotion", "demotion", "removal"):
            folder = tmp_path / f"{change}-{seed}"
            vault = Vault.create(
                folder, admin_login=LOGIN, passphrase=PASS, kdf=crypto.KdfParams.for_tests()
            )
            vault.set_org_keys(org["sealing_public"], org["signing_public"])
            if change != "user-added":
                vault.add_user("spec1", SPEC, "specialist", admin_passphrase=PASS)
            before = vault._require_keyring().current.generation
            kept = tmp_path / f"kept-{change}-{seed}.keys"
            shutil.copy(folder / KEYS_NAME, kept)  # what the attacker keeps
            if change == "passphrase":
                vault.change_passphrase(PASS, NEW)
            elif change == "user-added":
                vault.add_user("spec1", SPEC, "specialist", admin_passphrase=PASS)
            elif change == "promotion":
                vault.change_role("spec1", "coordinator", admin_passphrase=PASS)
            elif change == "demotion":
                vault.change_role("spec1", "coordinator", admin_passphrase=PASS)
                shutil.copy(folder / KEYS_NAME, kept)  # kept while coordinator
                vault.change_role("spec1", "specialist", admin_passphrase=PASS)
            else:
                vault.remove_user("spec1", admin_passphrase=PASS)
            rotated = vault._require_keyring().current.generation != before
            vault.new_draft("f", "1", {"after": rng.randint(0, 99)})  # after the change
            vault.close()
            shutil.copy(kept, folder / KEYS_NAME)  # put back while the vault is closed
            tally[f"{change}: rotated"] += rotated
            if change == "passphrase":
                # the change moved the vault to a new master key: neither passphrase opens
                # the older key file
                tally["passphrase: old one opens nothing"] += not _opens(folder, LOGIN, PASS)
                tally["passphrase: new one refused"] += not _opens(folder, LOGIN, NEW)
            elif change == "user-added":
                tally["user-added: the new user refused"] += not _opens(folder, "spec1", SPEC)
            elif change in ("promotion", "demotion"):
                vault = Vault.open(folder)
                try:
                    vault.unlock("spec1", SPEC, duress=False)
                    assert vault.current_user is not None  # unlocked: somebody is signed in
                    tally[f"{change}: opens, as {vault.current_user.role}"] += 1
                except (UnlockFailed, VaultError):
                    tally[f"{change}: opens nothing"] += 1
                finally:
                    vault.close()
            else:
                tally["removal: opens nothing"] += not _opens(folder, "spec1", SPEC)
    print(f"\nkey file put back within one generation: {dict(tally)}")
    n = VARIANTS
    # what takes access away, or changes a passphrase, rotates the keys: its older key file
    # opens nothing
    assert tally["demotion: rotated"] == tally["removal: rotated"] == n
    assert tally["passphrase: rotated"] == n
    assert tally["demotion: opens nothing"] == tally["removal: opens nothing"] == n
    assert tally["passphrase: old one opens nothing"] == n
    assert tally["passphrase: new one refused"] == n
    # what only adds does not rotate: its older key file undoes that change
    assert tally["promotion: rotated"] == 0
    assert tally["user-added: rotated"] == 0
    assert tally["promotion: opens, as specialist"] == n  # the promotion undone: denial only
    assert tally["user-added: the new user refused"] == n  # the account undone: denial only


def test_after_a_passphrase_change_a_rotation_closes_the_older_key_file(
    tmp_path: Path, org: dict[str, bytes]
) -> None:
    folder = tmp_path / "v"
    vault = Vault.create(
        folder, admin_login=LOGIN, passphrase=PASS, kdf=crypto.KdfParams.for_tests()
    )
    vault.set_org_keys(org["sealing_public"], org["signing_public"])
    kept = tmp_path / "kept.keys"
    shutil.copy(folder / KEYS_NAME, kept)
    vault.change_passphrase(PASS, NEW)
    vault.rotate_keys(admin_passphrase=NEW)
    vault.new_draft("f", "1", {"after": 1})
    vault.close()
    shutil.copy(kept, folder / KEYS_NAME)
    assert not _opens(folder, LOGIN, PASS)
    assert not _opens(folder, LOGIN, NEW)  # that file never knew the new passphrase either
