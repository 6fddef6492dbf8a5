"""Every unlock checks every user's key-file entry, not only its own.

What a passphrase change rewrites (the Argon2id salt, the wrapped private key) is not in the
roster's signature, so a flipped byte there used to be found only when that user next tried
to sign in. Played by someone with the laptop's files: a byte of a colleague's entry (or the
duress entry) is flipped, or a field removed, while the vault is closed; then the admin
unlocks. Counted over seeded variants: damaged entries not said at unlock 0.
"""

from __future__ import annotations

import base64
import json
import random
from collections import Counter
from pathlib import Path

import pytest

from fieldscreen import crypto
from fieldscreen.vault import UnlockFailed, Vault, VaultError
from fieldscreen.vault.base import KEYS_NAME
from tests.unit.vault.conftest import LOGIN, PASS

VARIANTS = 16
SPEC, SPEC_PASS = "spec1", b"specialist passphrase"
FIELDS = ("wrapped_private", "sealed_master", "kdf", "entry_mac", "drop-mac")


def _make(folder: Path, org: dict[str, bytes]) -> None:
    vault = Vault.create(
        folder, admin_login=LOGIN, passphrase=PASS, kdf=crypto.KdfParams.for_tests()
    )
    vault.set_org_keys(org["sealing_public"], org["signing_public"])
    vault.kdf_for_new_keys = crypto.KdfParams.for_tests()
    vault.add_user(SPEC, SPEC_PASS, "specialist", admin_passphrase=PASS)
    vault.close()


def _flip_b64(text: str, rng: random.Random) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[rng.randrange(len(raw))] ^= 1 << rng.randrange(8)
    return base64.b64encode(bytes(raw)).decode()


def _damage(folder: Path, rng: random.Random) -> tuple[str, str]:
    path = folder / KEYS_NAME
    data = json.loads(path.read_bytes())
    target = rng.choice(["spec", "duress"])
    entry = data["duress"] if target == "duress" else next(
        u for u in data["users"] if u["login"] == SPEC
    )  # fmt: skip
    how = rng.choice(FIELDS)
    if how == "kdf":
        entry["kdf"]["salt"] = _flip_b64(entry["kdf"]["salt"], rng)
    elif how == "drop-mac":
        del entry["entry_mac"]
    else:
        entry[how] = _flip_b64(entry[how], rng)
    path.write_text(json.dumps(data), encoding="utf-8")
    return target, how


def test_a_damaged_colleague_entry_is_said_at_the_admins_unlock_counted_over_variants(
    tmp_path: Path, org: dict[str, bytes]
) -> None:
    tally: Counter[str] = Counter()
    for seed in range(VARIANTS):
        rng = random.Random(500 + seed)
        folder = tmp_path / f"v{seed}"
        _make(folder, org)
        target, how = _damage(folder, rng)
        with Vault.open(folder) as vault:
            vault.unlock(LOGIN, PASS)
            alert = vault.state_alert()
            if alert is None:
                tally["not said"] += 1
                continue
            assert alert.code == "vault-key-entry-damaged"
            assert (SPEC if target == "spec" else "duress") in alert.message("en")
            assert "archivo de claves" in alert.message("es")
            actions = [e.detail.get("what") for e in vault.audit_log()]
            assert "key-entry" in actions
            tally[f"said at unlock ({target}, {how})"] += 1
            tally["said at unlock"] += 1
            # a later write of the key file (another user added) does not vouch for it
            vault.kdf_for_new_keys = crypto.KdfParams.for_tests()
            vault.add_user("other1", b"other passphrase one", "specialist", admin_passphrase=PASS)
        with Vault.open(folder) as vault:
            vault.unlock(LOGIN, PASS)
            alert = vault.state_alert()
            assert alert is not None
            assert alert.code == "vault-key-entry-damaged"
            if target == "spec" and how in ("wrapped_private", "sealed_master", "kdf"):
                with pytest.raises((UnlockFailed, VaultError)), Vault.open(folder) as spec:
                    spec.unlock(SPEC, SPEC_PASS)
    print(f"\ndamaged key-file entries: {dict(sorted(tally.items()))}")
    assert tally["not said"] == 0
    assert tally["said at unlock"] == VARIANTS


def test_the_admin_repairs_it_by_removing_and_adding_the_account_again(
    tmp_path: Path, org: dict[str, bytes]
) -> None:
    folder = tmp_path / "v"
    _make(folder, org)
    path = folder / KEYS_NAME
    data = json.loads(path.read_bytes())
    spec = next(u for u in data["users"] if u["login"] == SPEC)
    spec["wrapped_private"] = _flip_b64(spec["wrapped_private"], random.Random(1))
    path.write_text(json.dumps(data), encoding="utf-8")
    with Vault.open(folder) as vault:
        vault.unlock(LOGIN, PASS)
        assert vault.state_alert() is not None
        vault.kdf_for_new_keys = crypto.KdfParams.for_tests()
        vault.remove_user(SPEC, admin_passphrase=PASS)
        vault.add_user(SPEC, SPEC_PASS, "specialist", admin_passphrase=PASS)
    with Vault.open(folder) as vault:
        vault.unlock(SPEC, SPEC_PASS)
        assert vault.state_alert() is None
    with Vault.open(folder) as vault:
        vault.unlock(LOGIN, PASS)
        assert vault.state_alert() is None
