"""An outbox row found changed while the vault is locked is audited at the next unlock.

Background sync goes on while the laptop is locked (the outbox needs no passphrase), but the
audit log cannot be written then. The laptop is a real vault synced by the product's engine
against a real server; the vault locks mid-sync (as an idle lock or the panic action does),
and rows edited by someone with the laptop's files are found
by the check before sending. Counted over the tampering kinds: every one quarantined, audited
exactly once after the next unlock, never sent: applied 0, lost 0, silently accepted 0.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fieldscreen import crypto
from fieldscreen.errors import KnownError
from fieldscreen.sync.server.live import LiveServer
from fieldscreen.sync.server.storage import Storage
from fieldscreen.sync.simulate import SimOrg
from tests.reliability.test_sync_attacks import (
    FULL,
    OUTBOX_TAMPERS,
    PASS,
    SEED,
    Laptop,
    _anywhere,
    _held_row,
    _tamper,
)

pytestmark = pytest.mark.reliability


class LockMidSync(httpx.BaseTransport):
    """Between the laptop and the real server: locks the vault as the server answers which of
    the first batch it is missing. The engine goes on to check the second batch (that needs
    no passphrase) before the first batch's post, which must be signed, fails."""

    def __init__(self, laptop: Laptop) -> None:
        self.laptop = laptop
        self.inner = httpx.HTTPTransport()
        self.locked = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if not self.locked and request.url.path.endswith("/envelopes/missing"):
            self.locked = True
            self.laptop.vault.lock()
        return response

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def laptop(tmp_path: Path, org: SimOrg, storage: Storage, server: LiveServer) -> Iterator[Laptop]:
    crypto.permit_test_parameters(True)
    device = Laptop(tmp_path / "laptop", org, storage, server)
    try:
        yield device
    finally:
        device.vault.close()
        crypto.permit_test_parameters(False)


def _tampered_entries(laptop: Laptop) -> list[tuple[str | None, bool]]:
    return [
        (e.record_id, bool(e.detail.get("while_locked")))
        for e in laptop.vault.audit_log()
        if e.action == "sync" and e.detail.get("outcome") == "tampered"
    ]


def _note(laptop: Laptop) -> str | None:
    conn = sqlite3.connect(laptop.vault.db_path)
    try:
        row = conn.execute("SELECT value FROM state WHERE name = 'tampered_unaudited'").fetchone()
    finally:
        conn.close()
    return None if row is None else str(row[0])


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the laptop's side is under test
def test_a_row_found_tampered_while_locked_is_audited_at_the_next_unlock(
    laptop: Laptop, storage: Storage
) -> None:
    rng = random.Random(SEED + 9)
    kinds = [k for k in OUTBOX_TAMPERS if k != "swap-rows"] * (4 if FULL else 1)
    counts = {"applied": 0, "lost": 0, "silently accepted": 0}
    seen: set[str] = set()
    for kind in kinds:
        ids = laptop.finalise(8, rng)  # two batches of 4: the second is checked while locked
        victims = rng.sample(ids[4:], rng.randint(1, 3))
        _tamper(laptop.vault.db_path, kind, victims, rng)
        with pytest.raises(KnownError):  # the vault locked mid-sync: the next request fails
            laptop.sync(transport=LockMidSync(laptop))
        assert not laptop.vault.is_unlocked
        assert _note(laptop) is not None
        laptop.vault.unlock("admin1", PASS)
        assert _note(laptop) is None
        entries = _tampered_entries(laptop)
        rows = laptop.rows()
        for rid in victims:
            counts["applied"] += _held_row(storage, rid) is not None or _anywhere(storage, rid)
            counts["lost"] += rows[rid].sealed is None
            quarantined = (rows[rid].state, rows[rid].reason) == ("quarantined", "tampered")
            counts["silently accepted"] += not quarantined or entries.count((rid, True)) != 1
        seen.update(victims)
        assert {rid for rid, _ in entries} == seen  # no other record audited as tampered
        laptop.vault.lock()
        laptop.vault.unlock("admin1", PASS)  # a second unlock audits nothing again
        assert len(_tampered_entries(laptop)) == len(entries)
        laptop.sync()  # and the untouched rows go out as usual
        rows = laptop.rows()
        assert all(rows[rid].state == "delivered" for rid in set(ids) - set(victims))
    print(f"\ntampered while locked, {len(kinds)} rounds: {counts}")
    assert counts == {"applied": 0, "lost": 0, "silently accepted": 0}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_edited_note_audits_only_rows_really_held_as_tampered(
    laptop: Laptop, storage: Storage
) -> None:
    rng = random.Random(SEED + 10)
    ids = laptop.finalise(8, rng)[4:]
    _tamper(laptop.vault.db_path, "signature", ids[:1], rng)
    with pytest.raises(KnownError):
        laptop.sync(transport=LockMidSync(laptop))
    conn = sqlite3.connect(laptop.vault.db_path)
    with conn:  # someone with the files adds a sound row's id, and rubbish, to the note
        conn.execute(
            "UPDATE state SET value = ? WHERE name = 'tampered_unaudited'",
            (f'["{ids[0]}", "{ids[1]}", "../x", 7, null]',),
        )
    conn.close()
    laptop.vault.unlock("admin1", PASS)
    assert _tampered_entries(laptop) == [(ids[0], True)]
    assert _note(laptop) is None
