"""Long lists are a search-as-you-type picker, one kind for a single and a multiple choice,
driven from the keyboard: type to filter, arrows to move, Enter or Space to pick, chips to
remove."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from fieldscreen.app import BUILTIN_FORMS_DIR, FIRST_FORMS
from fieldscreen.paths import Paths
from fieldscreen.settings import Settings
from fieldscreen.ui.common import Services
from fieldscreen.ui.fields import (
    PickerWidget,
    SelectMultipleWidget,
    SelectOneWidget,
    make_field_widget,
)
from fieldscreen.ui.main_window import MainWindow
from fieldscreen.ui.operations import Operations
from fieldscreen.ui.ports import Choice, FieldView
from tests.gui.conftest import unlock
from tests.support.memory_vault import MemoryVault

COUNTRIES = tuple(
    Choice(n, label)
    for n, label in [
        ("MX", "Mexico"),
        ("GT", "Guatemala"),
        ("HN", "Honduras"),
        ("SV", "El Salvador"),
        ("HT", "Haití"),
        ("CO", "Colombia"),
        ("EC", "Ecuador"),
        ("PE", "Peru"),
        ("CR", "Costa Rica"),
        ("PA", "Panama"),
        ("VE", "Venezuela"),
        ("CU", "Cuba"),
        ("stateless", "No country (stateless)"),
    ]
)


def picker(qtbot: QtBot, kind: str, appearance: str = "", choices=COUNTRIES) -> PickerWidget:  # type: ignore[no-untyped-def]
    view = FieldView("nationalities", kind, "Nationality", choices=choices, appearance=appearance)
    widget = make_field_widget(view)
    qtbot.addWidget(widget)
    widget.show()
    assert isinstance(widget, PickerWidget)
    return widget


def test_a_long_list_or_a_search_appearance_makes_a_picker(qtbot: QtBot) -> None:
    short = COUNTRIES[:4]
    for kind, plain in (("select_one", SelectOneWidget), ("select_multiple", SelectMultipleWidget)):
        widget = make_field_widget(FieldView("q", kind, "Q", choices=short))
        qtbot.addWidget(widget)
        assert isinstance(widget, plain)  # a few choices stay buttons and boxes
        for appearance in ("search", "autocomplete", "minimal", "search('countries')"):
            picker(qtbot, kind, appearance, short)
        picker(qtbot, kind)  # thirteen choices


def test_a_multiple_choice_is_picked_and_removed_from_the_keyboard(qtbot: QtBot) -> None:
    widget = picker(qtbot, "select_multiple")
    answers: list[object] = []
    widget.answer_changed.connect(answers.append)
    widget.search.setFocus()
    qtbot.keyClicks(widget.search, "hait")  # accents do not matter
    shown = [widget.list.item(i).text() for i in range(widget.list.count())]
    visible = [t for i, t in enumerate(shown) if not widget.list.item(i).isHidden()]
    assert visible == ["Haití"]
    qtbot.keyClick(widget.search, Qt.Key.Key_Return)
    assert answers[-1] == ["HT"]
    assert widget.search.text() == ""  # ready for the next one
    qtbot.keyClicks(widget.search, "a")  # Guatemala, Honduras, El Salvador, ...
    qtbot.keyClick(widget.search, Qt.Key.Key_Down)
    qtbot.keyClick(widget.search, Qt.Key.Key_Enter)
    assert answers[-1] == ["HN", "HT"]  # in list order, the second match picked
    assert set(widget.chips) == {"HN", "HT"}
    assert widget.chips["HT"].accessibleName() == "Remove Haití"
    qtbot.mouseClick(widget.chips["HN"], Qt.MouseButton.LeftButton)
    assert answers[-1] == ["HT"]
    qtbot.keyClick(widget.search, Qt.Key.Key_Backspace)  # empty box: the last chip goes
    assert answers[-1] is None
    assert not widget.chips
    qtbot.keyClicks(widget.search, "zzz")
    assert widget.nothing.isVisibleTo(widget)
    assert "zzz" in widget.nothing.text()
    qtbot.keyClick(widget.search, Qt.Key.Key_Return)  # nothing to pick: nothing happens
    assert answers[-1] is None


def test_a_single_choice_replaces_the_one_before_and_space_picks_in_the_list(
    qtbot: QtBot,
) -> None:
    widget = picker(qtbot, "select_one")
    answers: list[object] = []
    widget.answer_changed.connect(answers.append)
    widget.search.setFocus()
    qtbot.keyClicks(widget.search, "mex")
    qtbot.keyClick(widget.search, Qt.Key.Key_Return)
    assert answers == ["MX"]
    widget.list.setFocus()
    qtbot.keyClicks(widget.list, "cuba")  # typing in the list goes to the search box
    assert widget.search.text() == "cuba"
    widget.list.setFocus()
    qtbot.keyClick(widget.list, Qt.Key.Key_Space)
    assert answers[-1] == "CU"
    assert list(widget.chips) == ["CU"]
    assert widget.search.accessibleName() == "Nationality: search the list"
    widget.set_value("PE")  # a restored draft shows without answering again
    assert answers[-1] == "CU"
    assert list(widget.chips) == ["PE"]


@pytest.mark.skipif(
    not all((BUILTIN_FORMS_DIR / f"{f}.md").exists() for f in FIRST_FORMS),
    reason="this build ships no built-in forms",
)
def test_the_built_in_long_lists_are_pickers(qtbot: QtBot, paths: Paths) -> None:
    from fieldscreen.app import build_context, builtin_forms

    forms = builtin_forms(build_context(str(paths.data.parent)))
    assert forms is not None
    vault = MemoryVault.with_users([("ana", "admin", "correct horse battery")])
    services = Services(vault, forms, Settings.load(paths.settings_file), Operations())
    w = MainWindow(services)
    qtbot.addWidget(w)
    w.show()
    unlock(qtbot, w, "correct horse battery")
    qtbot.mouseClick(w.home.start, Qt.MouseButton.LeftButton)
    for name in (
        "fs_intake:nationalities",
        "fs_intake:languages_spoken",
        "fs_intake:documents_carried",
        "fs_consent:child_preferred_language",
    ):
        widget = w.wizard.widgets[name]
        assert isinstance(widget, PickerWidget), name
        assert len(widget.view.choices) > 12, name
