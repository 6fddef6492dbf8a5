"""The case list model: Qt's model tester, search as you type, sorting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from fieldscreen.ui.cases import CaseRow, CaseTableModel
from fieldscreen.ui.ports import CaseSummary, DraftSummary

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def rows() -> list[CaseRow]:
    data = [
        ("AAA111", "Ana", "T2", ("Trafficking indicators",), 30),
        ("BBB222", "Luis", "T0", ("Violence or threat",), 50),
        ("CCC333", "Anabel", "T1", (), 10),
        ("DDD444", "Kevin", "T4", ("Separated or unaccompanied",), None),
    ]
    out = [
        CaseRow.of_case(
            CaseSummary(
                code.lower(),
                code,
                alias,
                tier,
                concerns,
                NOW + timedelta(hours=h) if h is not None else None,
                "finalised",
                NOW,
            )
        )
        for code, alias, tier, concerns, h in data
    ]
    out.append(CaseRow.of_draft(DraftSummary("eee555", "EEE555", NOW)))
    return out


def test_the_model_passes_qts_model_tester_through_every_change(qtmodeltester: ModelTester) -> None:
    model = CaseTableModel()
    qtmodeltester.check(model, force_py=True)
    model.set_rows(rows())
    model.set_query("an")
    model.set_query("ana")
    model.sort_by("tier")
    model.set_query("")
    model.clear()
    model.set_rows(rows())
    assert model.rowCount() == 5


def test_search_matches_every_word_and_narrows_incrementally(qtbot: QtBot) -> None:
    model = CaseTableModel()
    model.set_rows(rows())
    model.set_query("an")
    assert [_row(model, i).alias for i in range(model.rowCount())] == ["Anabel", "Ana", "Kevin"]
    model.set_query("ana")  # narrows the previous hits
    assert [_row(model, i).alias for i in range(model.rowCount())] == ["Anabel", "Ana"]
    model.set_query("ana traf")
    assert [_row(model, i).code for i in range(model.rowCount())] == ["AAA111"]
    model.set_query("ccc")
    assert [_row(model, i).code for i in range(model.rowCount())] == ["CCC333"]
    model.set_query("EEE5")
    assert [_row(model, i).status for i in range(model.rowCount())] == ["draft"]
    model.set_query("nobody")
    assert model.rowCount() == 0
    model.set_query("")
    assert model.rowCount() == model.total == 5


def test_sorted_by_due_date_or_by_tier(qtbot: QtBot) -> None:
    model = CaseTableModel()
    model.set_rows(rows())
    assert [_row(model, i).code for i in range(5)] == [
        "CCC333",
        "AAA111",
        "BBB222",
        "DDD444",
        "EEE555",
    ]
    model.sort_by("tier")
    assert [_row(model, i).tier for i in range(5)] == ["T0", "T1", "T2", "T4", ""]
    index = model.index(0, 2)
    assert model.data(index) == "Act now"


def _row(model: CaseTableModel, index: int) -> CaseRow:
    row = model.row_at(index)
    assert row is not None, index
    return row
