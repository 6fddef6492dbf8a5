"""The reference outbox store: envelopes kept apart from their state, erased on delivery, and
pages read without sorting the backlog."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

from fieldscreen import crypto
from fieldscreen.sync.envelope import Envelope, build_envelope
from fieldscreen.sync.spool import Spool

_SEAL = crypto.generate_sealing_keypair()[1]
_SIGN = crypto.generate_signing_keypair()[0]


def _envelopes(count: int, start: int = 1) -> list[Envelope]:
    rng = random.Random(start)
    return [
        build_envelope(
            f"{rng.getrandbits(128):032x}",
            "form_b",
            "1",
            "dev-1",
            seq,
            "2026-11-28",
            b"CANARY-PAYLOAD-" + rng.randbytes(64),
            _SEAL,
            _SIGN,
        )
        for seq in range(start, start + count)
    ]


def test_delivered_envelopes_leave_the_file_and_states_stay(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite3")
    envelopes = _envelopes(30)
    spool.enqueue_many(envelopes)
    page = spool.pending_page(0, 10)
    assert [item.seq for item in page] == list(range(1, 11))
    spool.set_state([item.record_id for item in page], "sending")
    delivered = [(item.record_id, item.sha256) for item in page]
    assert spool.apply_receipt(delivered, checkpoint=10) == 10
    assert spool.apply_receipt(delivered, checkpoint=10) == 0  # a receipt applied twice
    assert spool.counts() == {"delivered": 10, "pending": 20}
    assert [item.seq for item in spool.pending_page(0, 100)] == list(range(11, 31))
    (kept,) = spool._db.execute("SELECT count(*) FROM outbox_data").fetchone()
    assert kept == 20
    spool.close()


def _page_steps(spool: Spool) -> int:
    """SQLite virtual-machine steps (in hundreds) that reading one page of 10 takes."""
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0

    spool._db.set_progress_handler(count, 100)
    page = spool.pending_page(0, 10)
    spool._db.set_progress_handler(None, 100)
    assert len(page) == 10
    return steps[0]


def test_a_page_costs_the_same_whatever_the_backlog(tmp_path: Path) -> None:
    small = Spool(tmp_path / "small.sqlite3")
    small.enqueue_many(_envelopes(20))
    large = Spool(tmp_path / "large.sqlite3")
    large.enqueue_many(_envelopes(2000))
    half = large.pending_page(1000, 500)  # some of the backlog is on its way: two states
    large.set_state([item.record_id for item in half], "sending")
    # Reading (and sorting) the whole pending backlog for each page took over 50 times more.
    assert _page_steps(large) <= 2 * _page_steps(small) + 5
    small.close()
    large.close()


def test_a_spool_of_the_earlier_layout_keeps_every_pending_envelope(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    envelopes = _envelopes(6)
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE outbox (record_id TEXT PRIMARY KEY, sha256 TEXT NOT NULL, "
        "seq INTEGER NOT NULL UNIQUE, state TEXT NOT NULL DEFAULT 'pending', reason TEXT, "
        "size INTEGER NOT NULL, data BLOB);"
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    )
    for index, envelope in enumerate(envelopes):
        data = envelope.to_bytes()
        state = "delivered" if index < 2 else "pending"
        db.execute(
            "INSERT INTO outbox VALUES (?,?,?,?,NULL,?,?)",
            (
                envelope.record_id,
                envelope.sha256,
                envelope.seq,
                state,
                len(data),
                None if state == "delivered" else data,
            ),
        )
    db.commit()
    db.close()
    spool = Spool(path)
    page = spool.pending_page(0, 100)
    assert [item.data for item in page] == [e.to_bytes() for e in envelopes[2:]]
    columns = {row[1] for row in spool._db.execute("PRAGMA table_info(outbox)")}
    assert "data" not in columns
    spool.close()
    assert Spool(path).pending_page(0, 100) == page  # opened again: nothing moves twice
