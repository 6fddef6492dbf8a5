"""Retention on the server: envelopes past the period are destroyed with tombstones, and the
conflicting or quarantined copies received before then go with them; newer ones stay."""

from __future__ import annotations

import json
import random

import sqlalchemy as sa

from fieldscreen.sync.server.db import tables as t
from fieldscreen.sync.server.storage import Storage


def _held(table: sa.Table, received: str, n: int) -> dict[str, object]:
    return {
        "record_id": f"{n:032x}",
        "sha256": f"{n:064x}",
        "device_id": "dev-1",
        "site": "s1",
        "seq": n + 1,
        "reason": "conflict",
        "received": received,
        "body": b"sealed",
    }


def test_retention_also_destroys_old_held_copies(storage: Storage) -> None:
    rng = random.Random(3)
    old = new = 0
    with storage.engine.begin() as conn:
        for n in range(20):
            table = rng.choice([t.conflicts, t.quarantine])
            if rng.random() < 0.5:
                conn.execute(table.insert().values(_held(table, "2020-01-01T00:00:00Z", n)))
                old += 1
            else:
                conn.execute(table.insert().values(_held(table, "2999-01-01T00:00:00Z", n)))
                new += 1
    assert storage.repos.reporting.apply_retention(365, "test") == 0
    assert storage.repos.reporting.last_held_destroyed == old
    assert (
        storage.repos.reporting.count("conflicts") + storage.repos.reporting.count("quarantine")
        == new
    )
    with storage.engine.connect() as conn:
        detail = conn.execute(
            sa.select(t.audit.c.detail).where(t.audit.c.action == "retention")
        ).scalar_one()
    assert json.loads(detail)["held_destroyed"] == old
