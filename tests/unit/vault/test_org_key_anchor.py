"""The organisation's sealing key is the one an admin signed into the roster.

Every user holds the master key, so anyone with the laptop's files and a passphrase can
rewrite the vault's copy of ``org_keys`` (and the state digest with it). Played here as that
insider: the copy is replaced with an attacker's key through the vault's own secret writer
(consistent with the row map, as someone with the master key could), then screenings are
finalised, drafts sealed by travel mode and the outbox repaired. Counted over seeded variants:
envelopes sealed to the attacker's key 0, swaps said at unlock and audited.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

from fieldscreen import crypto
from fieldscreen.vault import Vault
from fieldscreen.vault.outbox import OUTBOX_STATES
from tests.unit.vault.conftest import LOGIN, PASS

VARIANTS = 8
SPEC, SPEC_PASS = "spec1", b"specialist passphrase"


def test_a_replaced_org_key_seals_nothing_counted_over_variants(
    tmp_path: Path, org: dict[str, bytes]
) -> None:
    tally: Counter[str] = Counter()
    for seed in range(VARIANTS):
        rng = random.Random(40 + seed)
        folder = tmp_path / f"v{seed}"
        vault = Vault.create(
            folder, admin_login=LOGIN, passphrase=PASS, kdf=crypto.KdfParams.for_tests()
        )
        vault.set_org_keys(org["sealing_public"], org["signing_public"])
        vault.add_user(SPEC, SPEC_PASS, "specialist", admin_passphrase=PASS)
        vault.close()
        # the insider: a specialist's passphrase, so the master key; the copy rewritten
        attacker_private, attacker_public = crypto.generate_sealing_keypair()
        vault = Vault.open(folder)
        vault.unlock(SPEC, SPEC_PASS)
        value = {"sealing": attacker_public.hex(), "signing": org["signing_public"].hex()}
        with vault._tx() as conn:
            vault._put_secret(conn, "org_keys", json.dumps(value).encode())
        vault.close()
        vault = Vault.open(folder)
        vault.unlock(*rng.choice([(LOGIN, PASS), (SPEC, SPEC_PASS)]))
        alert = vault.state_alert()
        if alert is not None and alert.code == "vault-org-key-unanchored":
            assert "clave de la organización" in alert.message("es")
            tally["said at unlock"] += 1
        assert vault.org_sealing_key() == org["sealing_public"]
        ids = []
        for n in range(rng.randint(2, 4)):
            rid = vault.new_draft("f", "1", {"n": n})
            vault.finalise(rid, record={"n": n}, case_card={"alias": f"A{n}"})
            ids.append(rid)
        vault.new_draft("f", "1", {"n": "draft"})
        vault.travel_mode()
        for item in vault.outbox_page(limit=100, states=OUTBOX_STATES):
            assert item.sealed is not None
            header = item.header()
            info = crypto.record_sealing_info(
                item.record_id, str(header["form_id"]), str(header["form_version"]),
                item.device_id,
            )  # fmt: skip
            try:
                crypto.open_sealed(attacker_private, item.sealed, info=info, aad=b"")
                tally["sealed to the attacker's key"] += 1
            except crypto.CryptoError:
                crypto.open_sealed(org["sealing_private"], item.sealed, info=info, aad=b"")
                tally["sealed to the organisation"] += 1
        vault.close()
        with Vault.open(folder) as admin:
            admin.unlock(LOGIN, PASS)
            alerts = [
                e
                for e in admin.audit_log()
                if e.action == "integrity-alert" and e.detail.get("what") == "org-keys"
            ]
            assert alerts
            # the admin puts it right: set again, signed into the roster; nothing to say then
            admin.set_org_keys(org["sealing_public"], org["signing_public"])
        with Vault.open(folder) as again:
            again.unlock(LOGIN, PASS)
            assert again.state_alert() is None
    print(f"\nreplaced org key: {dict(tally)}")
    assert tally["sealed to the attacker's key"] == 0
    assert tally["sealed to the organisation"] >= VARIANTS * 3
    assert tally["said at unlock"] == VARIANTS
