"""The field-widget factory: one widget per kind, one setter, one signal, no echo on set."""

from __future__ import annotations

from typing import Any, TypeVar

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from fieldscreen.errors import BugError
from fieldscreen.ui.fields import (
    FACTORY,
    DateWidget,
    FieldWidget,
    NumberWidget,
    RepeatWidget,
    SelectOneWidget,
    make_field_widget,
)
from fieldscreen.ui.ports import FIELD_KINDS, Choice, FieldView

YES_NO = (Choice("yes", "Yes"), Choice("no", "No"))
SAMPLES: dict[str, Any] = {
    "text": "Ana",
    "multiline": "line one\nline two",
    "integer": 14,
    "decimal": 250.5,
    "date": "2026-11-02",
    "datetime": "2026-11-02T14:30",
    "time": "07:45",
    "select_one": "no",
    "select_multiple": ["yes", "no"],
    "acknowledge": "OK",
    "rank": ["no", "yes"],
    "image": "f-0123456789abcdef.jpg",
    "file": "f-0123456789abcdef.pdf",
    "repeat": [{"who": "Tía"}, {"who": "Primo"}],
}


W = TypeVar("W", bound=FieldWidget)


def made(field: FieldView, kind: type[W], parent: QWidget | None = None) -> W:
    """The factory's widget for ``field``, checked to be a ``kind`` (what the test then drives)."""
    widget = make_field_widget(field, parent)
    assert isinstance(widget, kind)
    return widget


def view(kind: str, appearance: str = "") -> FieldView:
    return FieldView(
        name="f",
        kind=kind,
        label="Question",
        hint="A hint",
        choices=YES_NO,
        appearance=appearance,
        children=(FieldView("who", "text", "Who"),) if kind == "repeat" else (),
    )


def test_every_kind_has_exactly_one_widget() -> None:
    assert set(FACTORY) == set(FIELD_KINDS)
    with pytest.raises(BugError):
        make_field_widget(view("geopoint"))


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_set_value_shows_the_answer_without_emitting(qtbot: QtBot, kind: str) -> None:
    widget = make_field_widget(view(kind))
    qtbot.addWidget(widget)
    seen: list[Any] = []
    widget.answer_changed.connect(seen.append)
    widget.set_value(SAMPLES[kind])
    widget.set_value(None)
    widget.set_value(SAMPLES[kind])
    assert seen == []


def test_typing_emits_typed_values(qtbot: QtBot) -> None:
    number = made(view("integer"), NumberWidget)
    qtbot.addWidget(number)
    seen: list[Any] = []
    number.answer_changed.connect(seen.append)
    qtbot.keyClicks(number.editor, "15")
    assert seen == [1, 15]
    decimal = made(view("decimal"), NumberWidget)
    qtbot.addWidget(decimal)
    decimal.answer_changed.connect(seen.append)
    qtbot.keyClicks(decimal.editor, "2.5")
    assert seen[-1] == 2.5


def test_minimal_select_one_is_a_picker(qtbot: QtBot) -> None:
    from fieldscreen.ui.fields import PickerWidget

    widget = make_field_widget(view("select_one", "minimal"))
    qtbot.addWidget(widget)
    seen: list[Any] = []
    widget.answer_changed.connect(seen.append)
    assert isinstance(widget, PickerWidget)
    qtbot.keyClicks(widget.search, "no")
    qtbot.keyClick(widget.search, Qt.Key.Key_Return)
    assert seen == ["no"]
    widget.set_value("yes")
    assert widget.chosen() == ["yes"]
    assert seen == ["no"]


def test_repeat_adds_edits_and_removes_instances(qtbot: QtBot) -> None:
    widget = made(view("repeat"), RepeatWidget)
    qtbot.addWidget(widget)
    widget.show()
    seen: list[Any] = []
    widget.answer_changed.connect(seen.append)
    qtbot.mouseClick(widget.add_button, Qt.MouseButton.LeftButton)
    assert seen[-1] == [{}]
    row = widget._rows[0]
    from PySide6.QtWidgets import QLineEdit, QPushButton

    qtbot.keyClicks(row.findChild(QLineEdit), "Tia")
    assert seen[-1] == [{"who": "Tia"}]
    remove = next(b for b in row.findChildren(QPushButton) if b.text() == "Remove")
    qtbot.mouseClick(remove, Qt.MouseButton.LeftButton)
    assert seen[-1] is None


def test_dates_start_unknown_and_give_iso_text(qtbot: QtBot) -> None:
    widget = made(view("date"), DateWidget)
    qtbot.addWidget(widget)
    widget.show()
    seen: list[Any] = []
    widget.answer_changed.connect(seen.append)
    assert widget.editor.property("unanswered") is True
    qtbot.mouseClick(
        widget.empty,
        Qt.MouseButton.LeftButton,
        pos=QPoint(8, widget.empty.height() // 2),
    )
    assert isinstance(seen[-1], str)
    assert len(seen[-1]) == 10
    assert widget.editor.property("unanswered") is False
    widget.set_message("Not before 2020")
    assert widget.message.isVisibleTo(widget)
    widget.set_message("")
    assert not widget.message.isVisibleTo(widget)


def test_a_long_single_choice_list_is_a_picker(qtbot: QtBot) -> None:
    from fieldscreen.ui.fields import LONG_LIST, PickerWidget

    many = tuple(Choice(f"c{i}", f"Country {i}") for i in range(LONG_LIST + 5))
    widget = make_field_widget(FieldView("country", "select_one", "Country", choices=many))
    qtbot.addWidget(widget)
    assert isinstance(widget, PickerWidget)
    assert widget.list.count() == len(many)


def test_changing_a_date_answers_it_without_finding_the_no_answer_box(qtbot: QtBot) -> None:
    """A tired specialist types the date of the session: that is the answer, and "No answer"
    unticks itself; ticking it again clears the answer."""
    widget = made(view("datetime"), DateWidget)
    qtbot.addWidget(widget)
    widget.show()
    seen: list[Any] = []
    widget.answer_changed.connect(seen.append)
    editor = widget.editor
    assert editor.isEnabled()
    editor.setFocus()
    qtbot.keyClick(editor, Qt.Key.Key_Up)  # the section under the cursor steps by one
    assert not widget.empty.isChecked()
    assert len(seen) == 1
    assert isinstance(seen[0], str)
    assert len(seen[0]) == 16
    assert editor.property("unanswered") is False
    widget.empty.setChecked(True)
    assert seen[-1] is None
    assert editor.property("unanswered") is True
    widget.set_value("2026-03-04T05:06")
    assert editor.property("unanswered") is False
    assert len(seen) == 2  # restoring a saved answer is not a new answer


@pytest.mark.parametrize("count", [2, 5])
def test_arrow_keys_on_a_radio_question_select_not_only_move_focus(
    qtbot: QtBot, count: int
) -> None:
    """Keyboard-first: an arrow key on a yes/no (or any radio) question picks the next choice
    even when nothing was picked yet, so "I answered" and "it is answered" agree."""
    choices = tuple(Choice(f"c{i}", f"Choice {i}") for i in range(count))
    widget = made(FieldView("q", "select_one", "Question", choices=choices), SelectOneWidget)
    qtbot.addWidget(widget)
    widget.show()
    widget.activateWindow()
    qtbot.waitActive(widget)
    seen: list[Any] = []
    widget.answer_changed.connect(seen.append)
    buttons = widget.buttons
    first = buttons["c0"]
    first.setFocus()
    qtbot.waitUntil(first.hasFocus)
    forward = Qt.Key.Key_Right if count <= 3 else Qt.Key.Key_Down
    backward = Qt.Key.Key_Left if count <= 3 else Qt.Key.Key_Up
    qtbot.keyClick(first, forward)
    assert seen == ["c1"]
    assert buttons["c1"].isChecked()
    assert buttons["c1"].hasFocus()
    qtbot.keyClick(buttons["c1"], backward)
    assert seen == ["c1", "c0"]
    assert buttons["c0"].isChecked()
    qtbot.keyClick(buttons["c0"], backward)  # wraps to the last, like any radio group
    assert seen[-1] == f"c{count - 1}"
    assert buttons[f"c{count - 1}"].isChecked()
    assert sum(b.isChecked() for b in buttons.values()) == 1


@pytest.mark.parametrize("kind", ["date", "datetime", "time"])
def test_a_required_date_starts_unanswered_without_a_ticked_no_answer(
    qtbot: QtBot, kind: str
) -> None:
    """A required date cannot be left without an answer: no "No answer" box ticked for it, it
    starts greyed with no answer, and "Today" / "Now" or any change answers it."""
    widget = made(FieldView("d", kind, "When", required=True), DateWidget)
    qtbot.addWidget(widget)
    widget.show()
    seen: list[Any] = []
    widget.answer_changed.connect(seen.append)
    empty = widget.empty
    assert not empty.isChecked()
    assert not empty.isVisibleTo(widget)
    editor = widget.editor
    assert editor.property("unanswered") is True
    qtbot.mouseClick(widget.today, Qt.MouseButton.LeftButton)
    assert isinstance(seen[-1], str)
    assert editor.property("unanswered") is False
    widget.set_value(None)  # a draft restored without this answer
    assert editor.property("unanswered") is True
    assert not empty.isChecked()
    editor.setFocus()
    qtbot.keyClick(editor, Qt.Key.Key_Up)
    assert isinstance(seen[-1], str)


def test_tab_leaves_a_date_instead_of_walking_its_parts(qtbot: QtBot) -> None:
    from PySide6.QtWidgets import QLineEdit, QVBoxLayout

    box = QWidget()
    qtbot.addWidget(box)
    column = QVBoxLayout(box)
    widget = made(view("datetime"), DateWidget, box)
    after = QLineEdit(box)
    column.addWidget(widget)
    column.addWidget(after)
    box.show()
    box.activateWindow()
    qtbot.waitExposed(box)
    editor = widget.editor
    editor.setFocus()
    qtbot.waitUntil(editor.hasFocus)
    qtbot.keyClick(editor, Qt.Key.Key_Tab)
    assert not editor.hasFocus(), "Tab moved to the month, not to the next control"


def test_the_red_error_marker_is_one_solid_line(qtbot: QtBot) -> None:
    """The marker left of a field with an error drew as broken dashes: the question, its hint
    and its choices painted over it."""
    from PySide6.QtGui import QColor
    from PySide6.QtWidgets import QApplication

    from fieldscreen.paths import resource_path

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    before = app.styleSheet()
    app.setStyleSheet(resource_path("styles", "fieldscreen.qss").read_text(encoding="utf-8"))
    try:
        choices = tuple(Choice(f"c{i}", f"Choice {i}") for i in range(4))
        widget = make_field_widget(
            FieldView("q", "select_one", "Question", hint="A hint", choices=choices)
        )
        qtbot.addWidget(widget)
        widget.resize(400, widget.sizeHint().height())
        widget.show()
        widget.set_message("This answer is needed.", "required")
        image = widget.grab().toImage()
        red = QColor("#a10d0d")
        gaps = [
            y
            for y in range(2, image.height() - 2)
            if QColor(image.pixel(1, y)).red() - QColor(image.pixel(1, y)).green() < 60
        ]
        assert QColor(image.pixel(1, image.height() // 2)).name() == red.name()
        assert gaps == [], f"{len(gaps)} of {image.height()} rows of the marker are not red"
    finally:
        app.setStyleSheet(before)
