"""The case list over the real vault: the first screenful first, sorted by due date, then every
row; nothing of it on the GUI thread; a slower earlier load never overwrites a later one."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from fieldscreen import crypto
from fieldscreen.paths import Paths
from fieldscreen.ui import cases as cases_module
from fieldscreen.ui.shell import case_list as case_list_module
from fieldscreen.vault import Vault
from tests.gui.conftest import PASS, settle, unlock
from tests.gui.test_real_vault import backend, window

COUNT = 260


pytestmark = pytest.mark.usefixtures("light_kdf")  # Argon2id at the test parameters


def _fill(folder: Path) -> dict[str, datetime]:
    vault = Vault.create(
        folder, admin_login="ana", passphrase=PASS.encode(), kdf=crypto.KdfParams.for_tests()
    )
    _, sealing = crypto.generate_sealing_keypair()
    _, signing = crypto.generate_signing_keypair()
    vault.set_org_keys(sealing, signing)
    base = datetime(2026, 12, 1, tzinfo=UTC)
    due = {}
    with vault.bulk():
        for i in range(COUNT):
            rid = vault.new_draft("screening", "1", {"i": i})
            when = base + timedelta(hours=(i * 7919) % 1000)
            card = {"alias": f"Alias {i}", "tier": "T2", "next_due": when.isoformat()}
            vault.finalise(rid, record={"i": i}, case_card=card)
            due[rid] = when
    vault.new_draft("screening", "1", {"draft": True})
    vault.close()
    return due


def test_first_screenful_then_every_row_sorted_by_due(
    qtbot: QtBot, paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = backend(paths)
    due = _fill(paths.data / "vault")
    w = window(qtbot, paths, store)
    unlock(qtbot, w)
    settle(w)
    gui = threading.get_ident()
    threads: dict[str, int] = {}
    shown: list[tuple[int, int]] = []
    real_sort, real_first = cases_module.sort_rows, cases_module.first_screenful

    def sort_rows(rows: object, key: str) -> object:
        threads["sort"] = threading.get_ident()
        return real_sort(rows, key)  # type: ignore[arg-type]

    def first_screenful(rows: object, key: str, count: int) -> object:
        threads["first"] = threading.get_ident()
        return real_first(rows, key, count)  # type: ignore[arg-type]

    real_set = w.cases.set_rows

    def set_rows(rows: object, **kwargs: object) -> None:
        real_set(rows, **kwargs)  # type: ignore[arg-type]
        shown.append((w.cases.model.rowCount(), w.cases.model.total))

    monkeypatch.setattr(cases_module, "sort_rows", sort_rows)
    monkeypatch.setattr(cases_module, "first_screenful", first_screenful)
    monkeypatch.setattr(w.cases, "set_rows", set_rows)
    w.show_cases()
    settle(w)
    screen = case_list_module.SCREENFUL
    assert shown == [(screen, COUNT + 1), (COUNT + 1, COUNT + 1)]
    assert gui not in (threads["sort"], threads["first"])
    model = w.cases.model
    listed = [model.row_at(i) for i in range(model.rowCount())]
    ids = [r.screening_id for r in listed if r is not None and r.status == "finalised"]
    assert ids == sorted(due, key=lambda rid: due[rid])
    assert listed[-1] is not None
    assert listed[-1].status == "draft"
    assert w.cases.count.text() == f"{COUNT + 1} of {COUNT + 1} shown"


def test_a_later_load_wins(qtbot: QtBot, paths: Paths) -> None:
    store = backend(paths)
    _fill(paths.data / "vault")
    w = window(qtbot, paths, store)
    unlock(qtbot, w)
    settle(w)
    w.show_cases()
    w.cases.model.sort_by("tier")
    w.show_cases()  # sorted by tier now; the first load's rows must not come back
    settle(w)
    assert w.cases.model.rowCount() == COUNT + 1
    assert w.cases.model.total == COUNT + 1


def test_the_index_picks_the_earliest_deadline_as_the_case_list_does() -> None:
    from fieldscreen.ui.ports import earliest_deadline
    from fieldscreen.vault.listindex import earliest_deadline as indexed

    cards: list[dict[str, Any]] = [
        {},
        {"deadlines": []},
        {"deadlines": [{"due": "2026-12-03T10:00:00+00:00", "label": "DIF"}]},
        {
            "deadlines": [
                {"due": "2026-12-03T10:00:00+00:00", "label": "later"},
                {"due": "2026-12-02T23:00:00-05:00", "label": "earliest, other zone"},
                {"due": "not a date", "label": "bad"},
                {"label": "no due"},
            ]
        },
    ]
    for card in cards:
        due, label = earliest_deadline(card)
        got_due, got_label = indexed(card)
        assert (due, label) == (
            datetime.fromisoformat(got_due) if got_due else None,
            got_label or "",
        )


def test_rows_from_the_index_equal_rows_from_the_cases_and_first_is_the_prefix(
    paths: Paths,
) -> None:
    """The load over the index's entries makes the same rows as the case summaries did
    (finalised cards with and without a due date, a draft), and its first screenful is exactly
    the head of the full sort, for both sort keys."""
    from itertools import pairwise

    from fieldscreen.ui.cases import CaseRow, load_rows, sort_key

    _fill(paths.data / "vault")
    store = backend(paths)
    store.unlock("ana", PASS)
    try:
        with store.vault.bulk():  # a card without a due date, with two concerns
            rid = store.vault.new_draft("screening", "1", {"odd": True})
            store.vault.finalise(rid, record={}, case_card={"alias": "x", "concerns": ["a", "b"]})
        expected = [CaseRow.of_case(c) for c in store.cases()]
        expected += [CaseRow.of_draft(d) for d in store.drafts()]
        for key in ("due", "tier"):
            load = load_rows(store, key, 40)
            every = load.rows(key)
            assert load.total == len(every) == COUNT + 2
            assert sorted(every) == sorted(expected)
            assert load.first == every[:40]
            order = sort_key(key)
            assert all(order(a) <= order(b) for a, b in pairwise(every))
        odd = next(r for r in every if r.screening_id == rid)
        assert (odd.alias, odd.concerns, odd.haystack.split()[1:]) == (
            "x",
            ("a", "b"),
            ["x", "a", "b"],
        )
    finally:
        store.lock()
