"""The case list's bulk read: every finalised record's card, one transaction, one audit entry."""

from __future__ import annotations

import sqlite3

import pytest

from fieldscreen.vault import Vault, records


def _finalise(vault: Vault, n: int) -> dict[str, dict[str, object]]:
    expected = {}
    for i in range(n):
        rid = vault.new_draft("screening", "1", {"i": i})
        card: dict[str, object] = {"alias": f"A{i}", "tier": "T2", "concerns": ["x"] * (i % 3)}
        vault.finalise(rid, record={"i": i}, case_card=card)
        expected[rid] = card
    return expected


def test_case_cards_returns_every_finalised_card_with_one_audit_entry(vault: Vault) -> None:
    expected = _finalise(vault, 12)
    draft = vault.new_draft("screening", "1", {"draft": True})
    before = len(vault.audit_log())
    cards = vault.case_cards()
    assert cards == expected
    assert draft not in cards
    log = vault.audit_log()
    assert len(log) == before + 1
    assert log[-1].action == "view"
    assert log[-1].record_id is None
    assert log[-1].detail == {"what": "case-list", "cards": 12, "failed": 0}
    # The same content as the one-card read, for every card.
    for rid, card in expected.items():
        assert vault.case_card(rid) == card
    assert vault.integrity_check().ok


def test_case_cards_leaves_out_tampered_cards(vault: Vault) -> None:
    expected = _finalise(vault, 6)
    ids = sorted(expected)
    conn = sqlite3.connect(vault.db_path)
    blob = conn.execute("SELECT ciphertext FROM case_cards WHERE record_id=?", (ids[0],))
    raw = bytearray(blob.fetchone()[0])
    raw[20] ^= 1
    conn.execute("UPDATE case_cards SET ciphertext=? WHERE record_id=?", (bytes(raw), ids[0]))
    # A card moved onto another record's row does not open there (associated data).
    moved = conn.execute("SELECT ciphertext FROM case_cards WHERE record_id=?", (ids[1],))
    conn.execute(
        "UPDATE case_cards SET ciphertext=? WHERE record_id=?", (moved.fetchone()[0], ids[2])
    )
    conn.commit()
    conn.close()
    cards = vault.case_cards()
    assert set(cards) == {ids[1], *ids[3:]}
    assert all(cards[rid] == expected[rid] for rid in cards)
    assert vault.audit_log()[-1].detail == {"what": "case-list", "cards": 4, "failed": 2}
    assert not vault.integrity_check().ok


def test_case_cards_of_chosen_records_only(vault: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(records, "_ID_CHUNK", 2)  # several IN (...) lists
    expected = _finalise(vault, 5)
    ids = sorted(expected)
    draft = vault.new_draft("screening", "1", {})
    unknown = "0" * 32
    chosen = vault.case_cards([ids[1], ids[3], draft, unknown, ids[1]])
    assert chosen == {ids[1]: expected[ids[1]], ids[3]: expected[ids[3]]}
    assert vault.audit_log()[-1].detail == {"what": "case-list", "cards": 2, "failed": 0}
    assert vault.case_cards([]) == {}
    assert vault.case_cards(ids) == expected
