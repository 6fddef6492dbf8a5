"""The real vault's outbox synced through the bridge: what the vault seals and signs at finalise
verifies on the server, arrives exactly once, opens with the organisation key, and the vault
marks it delivered (its sealed copy deleted)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldscreen import crypto
from fieldscreen.sync.client import SyncClient
from fieldscreen.sync.engine import Syncer
from fieldscreen.sync.envelope import open_envelope, verify_envelope
from fieldscreen.sync.request_auth import DeviceSigner
from fieldscreen.sync.server.live import LiveServer
from fieldscreen.sync.server.storage import Storage
from fieldscreen.sync.signed import Provisioning, Site
from fieldscreen.sync.simulate import SimOrg
from fieldscreen.sync.spool import Spool
from fieldscreen.sync.store import DeviceIdentity
from fieldscreen.sync.vault_bridge import VaultOutboxStore, header_signing_bytes
from fieldscreen.vault import Vault


@pytest.fixture
def vault(tmp_path: Path, org: SimOrg) -> Iterator[Vault]:
    crypto.permit_test_parameters(True)
    v = Vault.create(
        tmp_path / "profile" / "data",
        admin_login="admin1",
        passphrase=b"correct horse battery",
        kdf=crypto.KdfParams.for_tests(),
        signing_bytes=header_signing_bytes(org.sealing_public),
    )
    v.set_org_keys(org.sealing_public, org.signing_public)
    yield v
    v.close()
    crypto.permit_test_parameters(False)


def test_the_vaults_envelopes_sync_exactly_once_and_open_centrally(
    vault: Vault, storage: Storage, server: LiveServer, org: SimOrg, tmp_path: Path
) -> None:
    finalised = []
    for n in range(7):
        record = vault.new_draft("fs_intake", "2026.11.1")
        vault.save_draft(record, {"answer": n})
        vault.finalise(record, record={"answer": n, "name": "CANARY-Ana"}, case_card={"n": n})
        finalised.append(record)
    token = storage.repos.credentials.register_device(
        vault.device_id, "s1", vault.device_public_key, "laptop"
    )
    device = Spool(tmp_path / "device-state.sqlite3")  # identity and provisioning only
    device.save_identity(DeviceIdentity(vault.device_id, "s1", token, vault.device_public_key))
    device.save_provisioning(
        Provisioning(
            "Org",
            server.url,
            org.sealing_public,
            org.signing_public,
            storage.repos.keys.keys().receipt_public,
            (Site("s1", "s1"),),
        )
    )
    outbox = VaultOutboxStore(vault, org.sealing_public)
    for _ in range(2):  # the second run finds nothing to send
        with SyncClient(
            server.url,
            token=token,
            signer=DeviceSigner(vault.device_id, vault.sign_as_device),
        ) as client:
            summary = Syncer(
                client,
                outbox,
                device,
                receipt_key=storage.repos.keys.keys().receipt_public,
                signing_key=org.signing_public,
                max_count=3,
            ).run()
    assert summary.sent == 0
    held = {e.record_id: e for e in storage.repos.reporting.iter_envelopes()}
    assert sorted(held) == sorted(finalised)
    for envelope in held.values():
        verify_envelope(envelope, vault.device_public_key)
        payload = json.loads(open_envelope(envelope, org.sealing[0]))
        assert payload["content"]["name"] == "CANARY-Ana"
    assert vault.outbox_counts()["delivered"] == 7
    assert vault.outbox_counts()["sealed"] == 0
    device.close()
