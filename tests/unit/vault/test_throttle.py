"""The unlock throttle holds across processes, and an edited or missing counter never resets it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fieldscreen.vault import UnlockFailed, Vault
from fieldscreen.vault.throttle import CONSERVATIVE, THROTTLE_NAME, delay
from tests.unit.vault.conftest import LOGIN, PASS


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _attempt(folder: Path, clock: Clock, passphrase: bytes, waits: list[float]) -> bool:
    """One attempt in a fresh process-like handle (nothing carried over in memory)."""
    vault = Vault.open(folder, clock=clock, sleep=waits.append)
    try:
        vault.unlock(LOGIN, passphrase)
        return True
    except UnlockFailed:
        return False
    finally:
        vault.close()


@pytest.mark.usefixtures("vault")
def test_a_new_process_per_guess_waits_as_long_as_one_process(vault_dir: Path) -> None:
    clock, waits = Clock(), list[float]()
    for _ in range(6):
        assert not _attempt(vault_dir, clock, b"a wrong passphrase", waits)
    # Each handle waits out the delay the failures before it earned, then its own after.
    assert sum(waits) >= sum(delay(n) for n in range(1, 6))
    stored = json.loads((vault_dir / THROTTLE_NAME).read_text())
    assert stored["failures"] == 6
    waits.clear()
    clock.now += timedelta(seconds=3)
    assert _attempt(vault_dir, clock, PASS, waits)
    assert waits == [pytest.approx(delay(6) - 3)]  # what was left of the delay, then success
    assert json.loads((vault_dir / THROTTLE_NAME).read_text())["failures"] == 0


@pytest.mark.usefixtures("vault")
@pytest.mark.parametrize("tamper", ["delete", "zero", "garbage", "future"])
def test_an_edited_or_missing_counter_counts_as_failures_never_as_none(
    vault_dir: Path, tamper: str
) -> None:
    clock, waits = Clock(), list[float]()
    for _ in range(4):
        _attempt(vault_dir, clock, b"a wrong passphrase", waits)
    path = vault_dir / THROTTLE_NAME
    data = json.loads(path.read_text())
    if tamper == "delete":
        path.unlink()
    elif tamper == "zero":
        data["failures"] = 0
        path.write_text(json.dumps(data))
    elif tamper == "garbage":
        path.write_bytes(b"\x00not json")
    else:
        data["last"] = data["last"] - 3600.0  # claim the last failure was an hour ago
        path.write_text(json.dumps(data))
    waits.clear()
    assert not _attempt(vault_dir, clock, b"a wrong passphrase", waits)
    assert waits[0] == pytest.approx(delay(CONSERVATIVE))
    assert json.loads(path.read_text())["failures"] == CONSERVATIVE + 1
