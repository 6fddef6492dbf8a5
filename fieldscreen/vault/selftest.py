"""The vault's step of ``fieldscreen --self-test``: real parameters, a full round trip.

Creates a vault at the Argon2id floor (so the installed build proves it has Argon2id and the
floor is honoured), saves a draft, finalises it to a throw-away organisation key, opens the
sealed payload and verifies the device signature, runs the integrity check, then wipes it.
"""

from __future__ import annotations

import json
from pathlib import Path

from fieldscreen import crypto
from fieldscreen.errors import BugError

__all__ = ["check_vault"]


def check_vault(folder: Path) -> None:
    """Raise if any step of the round trip fails; leaves ``folder`` empty."""
    from fieldscreen.vault.vault import Vault, wipe_folder

    floor = crypto.KdfParams(
        crypto.FLOOR_MEMORY_KIB, crypto.FLOOR_ITERATIONS, 1, crypto.random_bytes(16)
    )
    sealing_private, sealing_public = crypto.generate_sealing_keypair()
    _, signing_public = crypto.generate_signing_keypair()
    passphrase = crypto.random_bytes(16).hex().encode()
    vault = Vault.create(folder, admin_login="self-test", passphrase=passphrase, kdf=floor)
    try:
        vault.set_org_keys(sealing_public, signing_public)
        record = vault.new_draft("self-test", "1", {"q": "draft"})
        vault.save_draft(record, {"q": "answer"})
        header = vault.finalise(record, record={"q": "answer"}, case_card={"c": 1})
        vault.lock()
        vault.unlock("self-test", passphrase)
        [item] = vault.outbox_page()
        if item.sealed is None or item.signature is None:
            raise BugError("the outbox lost the sealed payload")
        if not crypto.verify(vault.device_public_key, vault._signing_bytes(header), item.signature):
            raise BugError("the device signature does not verify")
        info = crypto.record_sealing_info(record, "self-test", "1", vault.device_id)
        payload = json.loads(crypto.open_sealed(sealing_private, item.sealed, info=info, aad=b""))
        if payload["content"] != {"q": "answer"}:
            raise BugError("the sealed payload does not round-trip")
        if not vault.integrity_check().ok:
            raise BugError("the integrity check failed on a fresh vault")
    finally:
        vault.close()
        wipe_folder(folder)
