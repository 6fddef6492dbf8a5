"""The background-sync policy, driven by a fake clock."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

from fieldscreen.sync.background import BackgroundSync
from fieldscreen.sync.engine import SyncSummary
from fieldscreen.sync.errors import TransientError


def test_syncs_when_reachable_backs_off_when_not_and_can_be_turned_off() -> None:
    now = [0.0]
    up = [False]
    runs: list[float] = []
    probes: list[float] = []
    pending = [5]

    def probe() -> bool:
        probes.append(now[0])
        return up[0]

    def run() -> SyncSummary:
        runs.append(now[0])
        pending[0] = 0
        return SyncSummary(delivered=5)

    bg = BackgroundSync(probe, run, lambda: pending[0], clock=lambda: now[0], rng=random.Random(1))
    for second in range(0, 3000, 5):  # offline for 50 minutes: probes thin out
        now[0] = float(second)
        bg.tick()
    assert runs == []
    assert 5 <= len(probes) <= 20
    gaps = [b - a for a, b in itertools.pairwise(probes)]
    assert max(gaps) <= 900 + 5
    assert gaps[-1] > gaps[0]
    up[0] = True
    for second in range(3000, 4000, 5):
        now[0] = float(second)
        bg.tick()
    assert len(runs) == 1  # synced once, then nothing pending and no pull due
    assert bg.last_summary is not None
    bg.enabled = False
    pending[0] = 3
    now[0] = 99_999.0
    assert bg.tick() is None
    assert len(runs) == 1


def test_a_failed_sync_is_remembered_and_retried_later() -> None:
    now = [0.0]

    def run() -> SyncSummary:
        raise TransientError("sync-unreachable", url="https://x")

    bg = BackgroundSync(lambda: True, run, lambda: 1, clock=lambda: now[0])
    assert bg.tick() is None
    assert bg.last_error == "sync-unreachable"
    assert bg.tick() is None  # not due yet


def test_the_sync_view_model_lists_states_and_retries(tmp_path: Path) -> None:
    import uuid

    from fieldscreen.sync.spool import Spool
    from fieldscreen.sync.view import SyncViewModel
    from tests.unit.sync.test_envelope import make

    spool = Spool(tmp_path / "spool.sqlite3")
    envelopes = [make(seq=n) for n in (1, 2, 3)]
    spool.enqueue_many(envelopes)
    spool.set_state([envelopes[0].record_id], "failed", "conflict")
    spool.apply_receipt([(envelopes[1].record_id, envelopes[1].sha256)])
    spool.apply_receipt([(str(uuid.uuid4()), "0" * 64)])  # names nothing we hold: no change
    bg = BackgroundSync(lambda: True, SyncSummary, lambda: 1)
    model = SyncViewModel(spool, bg)
    rows = model.rows()
    assert [r.state for r in rows] == ["failed", "pending", "delivered"]
    assert "different version" in rows[0].explanation
    assert model.counts() == {
        "pending": 1,
        "sending": 0,
        "delivered": 1,
        "failed": 1,
        "quarantined": 0,
    }
    assert model.retry_failed() == 1
    assert model.counts()["pending"] == 2
    model.set_background(False)
    assert bg.tick() is None
    spool.close()
