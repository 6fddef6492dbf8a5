"""The supervision log is read incrementally, and never shows what the vault does not hold."""

from __future__ import annotations

import pytest

from fieldscreen.vault import Vault, audit
from tests.unit.vault.conftest import LOGIN, PASS


def _created(vault: Vault) -> list[str | None]:
    return [e.record_id for e in vault.supervision_log() if e.action == "create"]


def test_later_reads_decrypt_only_the_newer_entries(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = [vault.new_draft("f", "1") for _ in range(3)]
    for _ in range(20):
        vault.record_event("view")  # entries the queue does not want
    assert _created(vault) == first
    reads: list[int] = []
    original = audit.entries

    def counting(conn, keys, after=0):  # type: ignore[no-untyped-def]
        found = original(conn, keys, after)
        reads.append(len(found))
        return found

    monkeypatch.setattr(audit, "entries", counting)
    second = vault.new_draft("f", "1")
    assert _created(vault) == [*first, second]
    assert reads == [1]  # the new draft's entry alone, not the 24 before it
    assert _created(vault) == [*first, second]
    assert reads == [1, 0]


def test_what_a_rolled_back_transaction_wrote_is_not_shown_afterwards(vault: Vault) -> None:
    kept = vault.new_draft("f", "1")
    assert _created(vault) == [kept]
    inside: list[list[str | None]] = []

    def cut_short() -> None:
        with vault.bulk():
            gone = vault.new_draft("f", "1")
            inside.append(_created(vault))  # inside the transaction it is there
            assert inside[0] == [kept, gone]
            raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        cut_short()
    assert len(inside) == 1
    assert _created(vault) == [kept]
    later = vault.new_draft("f", "1")
    assert _created(vault) == [kept, later]


def test_nothing_read_survives_the_lock(vault: Vault) -> None:
    record = vault.new_draft("f", "1")
    assert _created(vault) == [record]
    vault.lock()
    assert vault._supervision_kept is None
    vault.unlock(LOGIN, PASS)
    assert _created(vault) == [record]
