"""A secret deleted or put back from an older copy is not "never set".

Someone with the laptop's files (no passphrase) deletes rows of the vault's secrets table, or
puts back older ones (the provisioning a later file replaced, the enrolment, the organisation's
keys), with their own SQLite connection. Deleting the provisioning copy was the worst case: it
read as "not provisioned yet" and every locked policy was dropped. The row map's root binds each
secret's presence and nonce, so the product's own unlock path reports it by name, in both
languages, audits it, keeps the approved policies in force (a key file from before anchors
keeps the locks the settings file holds rather than dropping them, and is not anchored over),
and deletes nothing. Counted over seeded variants: applied 0, silently accepted 0, lost 0.
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from fieldscreen import crypto
from fieldscreen.device import apply_provisioning, check_provisioning, open_settings, open_vault
from fieldscreen.device_commands import report_edited_policies
from fieldscreen.errors import render
from fieldscreen.paths import Paths
from fieldscreen.vault import Vault, VaultError, audit
from fieldscreen.vault.base import DB_NAME, SECRET_SLOTS
from fieldscreen.vault.digest import UNBOUND
from fieldscreen.vault.vault import DEVICE_SECRETS
from tests.integration.test_provisioning_anchor import ISSUED, PASS, POLICIES, SPEC, Org

VARIANTS = 80 if os.environ.get("FIELDSCREEN_FULL") else 16
LOCKED = {**POLICIES}  # what the provisioning locks (it allows no plain HTTP)


pytestmark = pytest.mark.usefixtures("light_kdf")  # Argon2id at the test parameters


def _raw(root: Path) -> sqlite3.Connection:
    return sqlite3.connect(Paths.for_profile(root).vault_dir / DB_NAME, isolation_level=None)


def _secrets(root: Path) -> dict[str, bytes]:
    conn = _raw(root)
    try:
        return {n: bytes(c) for n, c in conn.execute("SELECT name, ciphertext FROM secrets")}
    finally:
        conn.close()


@pytest.fixture
def laptop(tmp_path: Path) -> tuple[Path, dict[str, bytes], int]:
    """A provisioned profile with screenings; the secrets as they were before a later
    provisioning file and a new enrolment replaced them; how many records it holds."""
    org = Org()
    root = tmp_path / "profile"
    paths = Paths.for_profile(root).ensure()
    Vault.create(
        paths.vault_dir, admin_login="admin1", passphrase=PASS.encode(),
        kdf=crypto.KdfParams.for_tests(),
    ).close()  # fmt: skip
    settings = open_settings(paths)
    with open_vault(paths, settings) as vault:
        vault.unlock("admin1", PASS.encode())
        vault.add_user(SPEC, PASS.encode(), "specialist", admin_passphrase=PASS.encode())
        apply_provisioning(vault, settings, org.file(POLICIES))
        vault.set_device_secret("sync.identity", b'{"device": "enrolled once"}')
        for n in range(3):
            vault.new_draft("f", "1", {"n": n})
    older = _secrets(root)
    with open_vault(paths, settings) as vault:
        vault.unlock("admin1", PASS.encode())
        apply_provisioning(vault, settings, org.file(POLICIES, days=2))
        vault.set_device_secret("sync.identity", b'{"device": "enrolled again"}')
        records = len(vault.list_records())
    assert ISSUED  # the files are dated from the anchor test's day
    return root, older, records


def _attack(root: Path, older: dict[str, bytes], rng: random.Random) -> tuple[str, set[str]]:
    """Delete some bound secrets or put older ones back; the kind and the names touched."""
    now = _secrets(root)
    bound = sorted(n for n in now if n not in UNBOUND)
    conn = _raw(root)
    try:
        if rng.random() < 0.5:
            names = set(rng.sample(bound, rng.randint(1, 2)))
            if rng.random() < 0.5:
                names.add("sync.provisioning")  # the worst case, often
            for name in names:
                conn.execute("DELETE FROM secrets WHERE name = ?", (name,))
            return "deleted", names
        changed = sorted(n for n in bound if older.get(n) not in (None, now[n]))
        names = set(rng.sample(changed, rng.randint(1, len(changed))))
        for name in names:
            conn.execute("UPDATE secrets SET ciphertext = ? WHERE name = ?", (older[name], name))
        return "put back", names
    finally:
        conn.close()


def _audit_log(vault: Vault) -> list[audit.AuditEntry]:
    """The audit log as it stands (observed with the session's keys, whatever the role)."""
    assert vault._keys is not None
    return audit.entries(vault._open_store().conn, vault._keys)


def _unlock(root: Path, login: str) -> tuple[Vault, Any, Any]:
    """The product's unlock path: unlock, the locked policies, the alert shown after it."""
    paths = Paths.for_profile(root)
    settings = open_settings(paths)
    vault = open_vault(paths, settings)
    vault.unlock(login, PASS.encode())
    report_edited_policies(vault, settings)
    return vault, settings, vault.state_alert()


def test_a_deleted_or_older_secret_is_reported_and_unlocks_no_policy(
    laptop: tuple[Path, dict[str, bytes], int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root, older, records = laptop
    rng = random.Random(20261215)
    tally: Counter[str] = Counter()
    anchored: list[set[str]] = []
    for n in range(VARIANTS):
        copy = tmp_path / f"m{n}"
        shutil.copytree(root, copy)
        kind, names = _attack(copy, older, rng)
        pre_anchor = n % 4 == 3  # a key file signed before anchors existed: it names none
        with monkeypatch.context() as patch:
            if pre_anchor:
                patch.setattr(Vault, "policy_anchor", lambda self: None)
                patch.setattr(
                    Vault, "set_policy_anchor", lambda self, a, names=names: anchored.append(names)
                )
            try:
                vault, settings, alert = _unlock(copy, "admin1" if rng.random() < 0.5 else SPEC)
            except VaultError:  # the device key gone: the vault does not open
                tally["silently accepted"] += "device_signing_key" not in names
                tally["refused at unlock"] += 1
                shutil.rmtree(copy)
                continue
            try:
                tally[f"{kind} {'before anchors' if pre_anchor else 'anchored'}"] += 1
                locked = {k: settings.locked.get(k) for k in LOCKED}
                tally["applied"] += locked != LOCKED or vault.follow_up_days != 7
                reported = alert is not None and alert.code == "vault-secrets-altered"
                named = reported and all(name in alert.message("en") for name in names)
                tally["silently accepted"] += not named
                if "sync.provisioning" in names and kind == "deleted":
                    tally["provisioning deleted"] += 1
                    tally["silently accepted"] += not check_provisioning(vault).refused
                tally["lost"] += records - len(vault.list_records())
                tally["audited"] += any(
                    e.action == "integrity-alert" and names <= set(e.detail.get("secrets", []))
                    for e in _audit_log(vault)
                )
            finally:
                vault.close()
        shutil.rmtree(copy)
    capsys.readouterr()
    over = [names for names in anchored if "sync.provisioning" in names]
    print(
        f"\nsecrets deleted or put back: {VARIANTS} variants {dict(sorted(tally.items()))}; "
        f"anchored over a provisioning copy deleted or put back {len(over)}"
    )
    assert tally["applied"] == 0
    assert tally["silently accepted"] == 0
    assert tally["lost"] == 0
    assert tally["audited"] == VARIANTS - tally["refused at unlock"]
    assert over == []  # an admin's unlock never anchors what was deleted or put back
    assert tally["provisioning deleted"] > 0


def test_the_report_persists_until_an_admin_applies_the_file_again_and_survives_rotation(
    laptop: tuple[Path, dict[str, bytes], int],
) -> None:
    root, _, _ = laptop
    conn = _raw(root)
    conn.execute("DELETE FROM secrets WHERE name = 'sync.identity'")
    conn.close()
    for _ in range(2):  # reported at every unlock, not once
        vault, _, alert = _unlock(root, "admin1")
        with vault:
            assert alert is not None
            assert "sync.identity" in alert.message("en")
    vault, _, _ = _unlock(root, "admin1")
    with vault:
        vault.rotate_keys(admin_passphrase=PASS.encode())
    vault, _, alert = _unlock(root, "admin1")
    with vault:
        assert alert is not None
        assert "sync.identity" in alert.message("en")
        vault.set_device_secret("sync.identity", b'{"device": "enrolled by an admin"}')
    vault, _, alert = _unlock(root, SPEC)
    with vault:
        assert alert is None


def test_an_untouched_vault_stays_clean_through_writes_and_a_rotation(
    laptop: tuple[Path, dict[str, bytes], int],
) -> None:
    root, _, _ = laptop
    vault, _, alert = _unlock(root, "admin1")
    with vault:
        assert alert is None
        vault.rotate_keys(admin_passphrase=PASS.encode())
        vault.set_device_secret("sync.updates", b"[]")
    for login in ("admin1", SPEC):
        vault, _, alert = _unlock(root, login)
        with vault:
            assert alert is None


def test_the_report_exists_in_both_languages() -> None:
    assert "sync.provisioning" in render("vault-secrets-altered", "en", names="sync.provisioning")
    assert "fuera de FieldScreen" in render("vault-secrets-altered", "es", names="x")


def test_every_slot_the_vault_writes_is_one_the_report_may_name() -> None:
    assert (
        DEVICE_SECRETS | {"device_signing_key", "org_keys", "state_bound", "outbox_stamped"}
        == SECRET_SLOTS
    )
    assert not SECRET_SLOTS & UNBOUND


def _readers(vault: Vault) -> dict[str, Any]:
    """Each bound slot's read path in the product."""
    from fieldscreen.device import VaultDeviceStore

    settings = open_settings(Paths.for_profile(Path(vault.folder).parent.parent))
    return {
        "org_keys": vault.org_sealing_key,
        "sync.identity": lambda: VaultDeviceStore(vault, settings).identity(),
        "sync.provisioning": lambda: vault.device_secret("sync.provisioning"),
        "sync.provisioning.signed": lambda: vault.device_secret("sync.provisioning.signed"),
    }


def test_a_read_of_a_deleted_or_older_secret_is_refused_even_mid_session(
    laptop: tuple[Path, dict[str, bytes], int], tmp_path: Path
) -> None:
    root, older, _ = laptop
    rng = random.Random(7)
    tally: Counter[str] = Counter()
    for n in range(VARIANTS):
        copy = tmp_path / f"r{n}"
        shutil.copytree(root, copy)
        name = rng.choice(
            ["org_keys", "sync.identity", "sync.provisioning", "sync.provisioning.signed"]
        )
        kind = rng.choice(["deleted", "put back"])
        mid_session = rng.random() < 0.5
        vault, _, _ = _unlock(copy, rng.choice(["admin1", SPEC]))
        if not mid_session:
            vault.close()
        conn = _raw(copy)
        if kind == "deleted" or name not in older or older[name] == _secrets(copy)[name]:
            conn.execute("DELETE FROM secrets WHERE name = ?", (name,))
        else:
            conn.execute("UPDATE secrets SET ciphertext = ? WHERE name = ?", (older[name], name))
        conn.close()
        if not mid_session:
            vault = Vault.open(Paths.for_profile(copy).vault_dir)
            vault.unlock("admin1", PASS.encode())
        with vault:
            try:
                _readers(vault)[name]()
            except VaultError as error:
                tally[f"refused {error.code}"] += 1
            else:
                tally["read as never set or older"] += 1
        shutil.rmtree(copy)
    print(
        f"\nreads of a deleted or older secret: {VARIANTS} variants {dict(sorted(tally.items()))}"
    )
    assert tally["read as never set or older"] == 0
    assert tally["refused vault-secrets-altered"] == VARIANTS
