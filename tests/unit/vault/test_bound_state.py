"""The plaintext state the vault writes only while unlocked (device id and key, sequence
number, vault id, day created) is kept also in a bound secret and put back from it at each
check when edited outside FieldScreen; what the sync writes while locked is read defensively.

Played by someone with the laptop's files, over seeded variants: values left edited 0,
tracebacks 0.
"""

from __future__ import annotations

import random
import sqlite3
from collections import Counter
from pathlib import Path

from fieldscreen import crypto
from fieldscreen.vault import UnlockFailed, Vault, VaultError
from fieldscreen.vault.base import BOUND_STATE, DB_NAME
from tests.unit.vault.conftest import LOGIN, PASS

VARIANTS = 16


def _state(folder: Path) -> dict[str, str]:
    raw = sqlite3.connect(folder / DB_NAME, isolation_level=None)
    try:
        return {str(n): str(v) for n, v in raw.execute("SELECT name, value FROM state")}
    finally:
        raw.close()


def test_edited_state_is_put_back_and_said_counted_over_variants(
    tmp_path: Path, org: dict[str, bytes]
) -> None:
    tally: Counter[str] = Counter()
    for seed in range(VARIANTS):
        rng = random.Random(60 + seed)
        folder = tmp_path / f"v{seed}"
        vault = Vault.create(
            folder, admin_login=LOGIN, passphrase=PASS, kdf=crypto.KdfParams.for_tests()
        )
        vault.set_org_keys(org["sealing_public"], org["signing_public"])
        rid = vault.new_draft("f", "1", {"n": 1})
        vault.finalise(rid, record={"n": 1}, case_card={"alias": "A"})
        vault.close()
        before = _state(folder)
        name = rng.choice([*BOUND_STATE, "device_state", "sync_checkpoint"])
        how = rng.choice(["edit", "delete"]) if name in BOUND_STATE else "edit"
        raw = sqlite3.connect(folder / DB_NAME, isolation_level=None)
        if how == "delete":
            raw.execute("DELETE FROM state WHERE name = ?", (name,))
        else:
            raw.execute(
                "INSERT OR REPLACE INTO state (name, value) VALUES (?, ?)", (name, "edited-x")
            )
        raw.close()
        vault = Vault.open(folder)
        try:
            vault.unlock(LOGIN, PASS)
        except (UnlockFailed, VaultError):
            assert name == "vault_id"  # the key file names another vault: refused at unlock
            tally["refused at unlock"] += 1
            continue
        alert = vault.state_alert()
        assert vault.sync_checkpoint() >= 0  # never a traceback
        assert vault.device_state() in ("active", "revoked")
        if name == "sync_checkpoint":
            tally["read defensively"] += 1
        elif alert is not None and alert.code == "vault-state-restored":
            assert name in alert.message("en")
            assert "computadora" in alert.message("es")
            tally["put back and said"] += 1
        else:
            tally["left edited"] += 1
        vault.close()
        after = _state(folder)
        if name != "sync_checkpoint":
            assert after.get(name) == before.get(name, "active")
    print(f"\nedited state: {dict(tally)}")
    assert tally["left edited"] == 0
    assert (
        tally["put back and said"] + tally["refused at unlock"] + tally["read defensively"]
        == VARIANTS
    )
