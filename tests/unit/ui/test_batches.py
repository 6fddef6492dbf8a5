"""The batch view's model without Qt: the sync history a network sync leaves, per-user counts
from the outbox and the audit log, and the coordinator-only fence."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fieldscreen import crypto
from fieldscreen.paths import Paths
from fieldscreen.settings import Settings
from fieldscreen.sync.engine import SyncSummary
from fieldscreen.ui.backends import VaultBackend
from fieldscreen.ui.batches import BatchModel, record_network_sync
from fieldscreen.vault import VaultError

ADMIN, SPEC = "administrator passphrase", "specialist passphrase"


pytestmark = pytest.mark.usefixtures("light_kdf")  # Argon2id at the test parameters


@pytest.fixture
def store(paths: Paths) -> Iterator[VaultBackend]:
    light = crypto.KdfParams.for_tests()
    backend = VaultBackend(paths.data / "vault", kdf=light, new_key_kdf=light)
    backend.create_user("ana", "admin", ADMIN)
    backend.unlock("ana", ADMIN)
    backend.create_user("spec", "specialist", SPEC, confirm=ADMIN)
    _, sealing = crypto.generate_sealing_keypair()
    _, signing = crypto.generate_signing_keypair()
    backend.vault.set_org_keys(sealing, signing)
    yield backend
    backend.vault.close()


def test_history_counts_and_the_coordinator_fence(store: VaultBackend, paths: Paths) -> None:
    model = BatchModel(store, Settings.load(paths.settings_file))
    store.lock()
    store.unlock("spec", SPEC)
    made = []
    for _ in range(3):
        rid = store.new_draft("screening", "1", {"forms": {}})
        store.finalise(rid, {"state": {}}, {"alias": "x"})
        made.append(rid)
    with pytest.raises(VaultError):
        model.overview()  # a specialist has no batch view
    record_network_sync(store.vault, SyncSummary())  # a pull that found nothing: no entry
    record_network_sync(store.vault, SyncSummary(sent=3, delivered=2, conflicts=1))
    store.vault.outbox_mark(made[0], "delivered")
    store.vault.outbox_mark(made[1], "quarantined", reason="revoked-device")
    store.lock()
    record_network_sync(store.vault, SyncSummary(sent=1))  # locked: nothing written
    store.unlock("ana", ADMIN)
    groups, failures, history = model.overview()
    assert [(g.laptop, g.user, dict(g.counts)) for g in groups] == [
        (
            "this",
            "spec",
            {"pending": 1, "sending": 0, "delivered": 1, "failed": 0, "quarantined": 1},
        )
    ]
    assert [(f.record_id, f.state, f.reason, f.user) for f in failures] == [
        (made[1], "quarantined", "revoked-device", "spec")
    ]
    assert [(h.via, h.user, h.sent, h.acknowledged, h.failed, h.receipt) for h in history] == [
        ("network", "spec", 3, 2, 1, True)
    ]
