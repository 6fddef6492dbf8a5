"""Tamper fuzz of everything the laptop keeps, caught by the product's own paths.

Each seeded mutation edits a copy of a real profile with the vault closed, as someone with the
laptop's files would: the records, case cards, outbox, audit log, secrets, list index and row
map tables (bytes flipped, cut short or lengthened, swapped between rows, whole rows put back
from an older copy of the folder, rows deleted, plaintext columns edited), the plaintext state
and migrations tables, a case card put back together with its list bucket, a sealed copy
flipped with its hash rewritten, an outbox row moved between pending, sending and failed, a
delivered row replaced by a queued one with the count and sum kept, the settings file, the
key file, and a raw byte of the database file. Then the product runs as the app and the
command line do (unlock, read, list, sync's check, purge, ``status --check``;
:mod:`tests.reliability.tamper_support`). Only those paths may catch a mutation; a check the
product never runs counts for nothing.

Asserted: stale data read 0 (no read returns data other than what was last written, without an
error), silently accepted 0 (every mutation that changed something is caught by some path),
crashed 0 (bad files are refused with a known error, never a traceback), records lost 0 (every
envelope the untouched laptop would send still goes out or is held sealed; a finalised record
whose outbox row was deleted is sealed again), and an untouched copy raises no alarm. The
control disables the row map's checks and must see stale reads. What the
product does not catch yet is listed in ``tamper_support.OPEN`` and printed apart.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldscreen import crypto
from fieldscreen.vault import digest
from tests.reliability import tamper_support as support
from tests.reliability.vault_support import count

pytestmark = pytest.mark.reliability


@pytest.fixture
def laptop(tmp_path: Path) -> Iterator[support.Laptop]:
    with crypto.permitting_test_parameters():
        yield support.build(tmp_path / "laptop", random.Random(15))


def _report(name: str, tally: dict[str, int], problems: list[str]) -> None:
    shown = {
        k: tally.get(k, 0)
        for k in ("stale data read", "silently accepted", "crashed", "records lost")
    }
    rest = {k: v for k, v in sorted(tally.items()) if k not in shown}
    figures = ", ".join(f"{k} {v}" for k, v in shown.items())
    print(f"\n{name}: {figures}; {rest}")
    # what fails the run first, then the open kinds
    for line in sorted(problems, key=lambda p: p.startswith("open "))[:40]:
        print(f"  {line}")


def test_an_untouched_laptop_raises_no_alarm(laptop: support.Laptop) -> None:
    with crypto.permitting_test_parameters():
        outcome = support.run_product(laptop, laptop.root)
    assert outcome.caught == []
    assert outcome.stale == []
    assert outcome.crashed == []
    assert laptop.expected.sent  # the sync check let the queued envelopes out


def test_tamper_fuzz_nothing_stale_nothing_silent(laptop: support.Laptop, tmp_path: Path) -> None:
    n = count(len(support.KINDS) + 8, 1500)
    with crypto.permitting_test_parameters():
        tally, problems = support.fuzz(laptop, tmp_path / "work", n, seed=20261204)
    _report(f"tamper fuzz, {n} mutations", tally, problems)
    assert tally["mutations"] == n
    assert tally["stale data read"] == 0, problems
    assert tally["silently accepted"] == 0, problems
    assert tally["crashed"] == 0, problems
    assert tally["records lost"] == 0, problems


def test_outbox_state_edits_are_caught_on_the_products_paths(
    laptop: support.Laptop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows moved between pending, sending and failed, and a delivered row replaced by a
    queued one with the count and sum kept: caught at unlock or as the sync reads the row to
    send, never only by ``status --check`` (``support.BEFORE_STATUS``)."""
    monkeypatch.setattr(
        support, "KINDS", {k: v for k, v in support.KINDS.items() if k in support.BEFORE_STATUS}
    )
    n = count(16, 200)
    with crypto.permitting_test_parameters():
        tally, problems = support.fuzz(laptop, tmp_path / "work", n, seed=20261205)
    _report(f"outbox state edits, {n} mutations", tally, problems)
    assert tally["mutations"] == n
    assert tally["caught only by status"] == 0, problems
    assert tally["silently accepted"] == tally["stale data read"] == 0, problems
    assert tally["crashed"] == tally["records lost"] == 0, problems
    assert tally["caught at unlock"] + tally["caught at sync"] == n - tally["no effect"]


def test_control_without_the_row_map_stale_data_is_read(
    laptop: support.Laptop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(digest.RowMap, "check", lambda *args, **kwargs: None)
    monkeypatch.setattr(digest.RowMap, "verify", lambda *args, **kwargs: digest.MapCheck())
    monkeypatch.setattr(digest.RowMap, "compare_all", lambda *args, **kwargs: [])
    monkeypatch.setattr(digest.RowMap, "row_fixes", lambda *args, **kwargs: digest.RowCheck())
    monkeypatch.setattr(
        support,
        "KINDS",
        {k: v for k, v in support.KINDS.items() if k in ("records/replay", "case_cards/replay")},
    )
    monkeypatch.setattr(support, "OPEN", {})
    with crypto.permitting_test_parameters():
        tally, problems = support.fuzz(laptop, tmp_path / "work", 12, seed=7)
    _report("control (row map disabled)", tally, problems)
    assert tally["stale data read"] > 0
