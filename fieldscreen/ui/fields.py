"""One dumb widget per field type, made in exactly one place: :func:`make_field_widget`.

Every widget has one setter (:meth:`FieldWidget.set_value`) and one signal
(:attr:`FieldWidget.answer_changed`); it holds no logic about the form. The wizard's controller
feeds answers in and takes answers out; relevance and messages are applied from outside with
:meth:`FieldWidget.set_message`. Setting a value never emits ``answer_changed`` (only the user
does), so restoring a draft cannot loop back into an autosave.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, ClassVar

from PySide6.QtCore import QDate, QDateTime, QEvent, QObject, Qt, QTime, Signal
from PySide6.QtGui import QDoubleValidator, QIntValidator, QKeyEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDateEdit,
    QDateTimeEdit,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from fieldscreen.errors import BugError
from fieldscreen.forms.attachments import MAX_FILE_BYTES, Attachment
from fieldscreen.ui.common import scale_font
from fieldscreen.ui.ports import FieldView

__all__ = ["FACTORY", "FieldWidget", "PickerWidget", "make_field_widget", "wants_picker"]


#: Room left of every field for the red marker of an error (the style sheet's 4-pixel border).
MARKER_MARGIN = 12


class FieldWidget(QFrame):
    """Label, hint, first-aid prompt, the input itself and an inline message."""

    answer_changed = Signal(object)

    def __init__(self, view: FieldView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self.setObjectName("field")
        self.setProperty("fieldName", view.name)
        self._layout = QVBoxLayout(self)
        # The left margin is kept for the red marker of a field with an error: with it the
        # children never paint over the marker, which then draws as one solid line.
        self._layout.setContentsMargins(MARKER_MARGIN, 6, 0, 6)
        self._layout.setSpacing(4)
        text = view.label + (" *" if view.required else "")
        self.label = QLabel(text, self)
        self.label.setObjectName("fieldLabel")
        self.label.setWordWrap(True)
        scale_font(self.label, 1.1, bold=True)
        self._layout.addWidget(self.label)
        if view.hint:
            hint = QLabel(view.hint, self)
            hint.setObjectName("fieldHint")
            hint.setWordWrap(True)
            self._layout.addWidget(hint)
        if view.pfa:
            pfa = QLabel("♥ " + view.pfa, self)
            pfa.setObjectName("pfaPrompt")
            pfa.setWordWrap(True)
            pfa.setAccessibleName(pfa.text())
            self._layout.addWidget(pfa)
        self.message = QLabel("", self)
        self.message.setObjectName("fieldMessage")
        self.message.setWordWrap(True)
        self.message.hide()

    def _finish(self, editor: QWidget | None) -> None:
        # The message sits under the heading, above the input: scrolled to its field, a long
        # list's error and its question are on screen together.
        self._layout.addWidget(self.message)
        if editor is not None:
            self._layout.addWidget(editor)
            self.label.setBuddy(editor)
            editor.setAccessibleName(self.view.label)
            if self.view.hint:
                editor.setAccessibleDescription(self.view.hint)
            editor.setEnabled(not self.view.read_only)

    def set_value(self, value: Any) -> None:
        """Show ``value`` without emitting :attr:`answer_changed`."""
        raise NotImplementedError

    def set_message(self, text: str, kind: str = "") -> None:
        """Show ``text`` under the heading; ``kind`` "required" keeps it until answered."""
        self.message.setText(text)
        self.message.setProperty("kind", kind if text else "")
        self.message.setVisible(bool(text))
        self.setProperty("invalid", bool(text))
        self.style().unpolish(self)
        self.style().polish(self)

    def _emit(self, value: Any) -> None:
        self.answer_changed.emit(value)


class NoteWidget(FieldWidget):
    def __init__(self, view: FieldView, parent: QWidget | None = None) -> None:
        super().__init__(view, parent)
        self.label.setObjectName("noteText")
        scale_font(self.label, 1.05)
        self.label.setAccessibleName(view.label)
        self._finish(None)

    def set_value(self, value: Any) -> None:
        return


class TextWidget(FieldWidget):
    def __init__(self, view: FieldView, parent: QWidget | None = None) -> None:
        super().__init__(view, parent)
        self.editor = QLineEdit(self)
        self.editor.textEdited.connect(lambda text: self._emit(text or None))
        self._finish(self.editor)

    def set_value(self, value: Any) -> None:
        self.editor.setText("" if value is None else str(value))


class NumberWidget(FieldWidget):
    """Integers and decimals: a line edit with a validator, so an empty answer stays empty."""

    def __init__(self, view: FieldView, parent: QWidget | None = None) -> None:
        super().__init__(view, parent)
        self.editor = QLineEdit(self)
        self.editor.setMaximumWidth(220)
        integer = view.kind == "integer"
        self.editor.setValidator(
            QIntValidator(self.editor) if integer else QDoubleValidator(self.editor)
        )
        self._convert: Callable[[str], Any] = int if integer else float
        self.editor.textEdited.connect(self._edited)
        self._finish(self.editor)

    def _edited(self, text: str) -> None:
        try:
            value = self._convert(text.replace(",", ".")) if text.strip() else None
        except ValueError:
            return  # an intermediate state like "-" while typing
        self._emit(value)

    def set_value(self, value: Any) -> None:
        self.editor.setText("" if value is None else str(value))


class MultilineWidget(FieldWidget):
    def __init__(self, view: FieldView, parent: QWidget | None = None) -> None:
        super().__init__(view, parent)
        self.editor = QPlainTextEdit(self)
        self.editor.setTabChangesFocus(True)
        self.editor.setMinimumHeight(90)
        self._setting = False
        self.editor.textChanged.connect(self._changed)
        self._finish(self.editor)

    def _changed(self) -> None:
        if not self._setting:
            self._emit(self.editor.toPlainText() or None)

    def set_value(self, value: Any) -> None:
        self._setting = True
        try:
            self.editor.setPlainText("" if value is None else str(value))
        finally:
            self._setting = False


class _TabLeaves:
    """Tab leaves a date box for the next question instead of walking its day, month and year
    (the arrow keys and the cursor still pick a part)."""

    def focusNextPrevChild(self, next: bool) -> bool:
        return QWidget.focusNextPrevChild(self, next)  # type: ignore[arg-type]


class _DateEdit(_TabLeaves, QDateEdit):
    pass


class _TimeEdit(_TabLeaves, QTimeEdit):
    pass


class _DateTimeEdit(_TabLeaves, QDateTimeEdit):
    pass


class DateWidget(FieldWidget):
    """date, datetime and time; the ISO text of the value is the answer.

    An optional date starts with "No answer" ticked; a required one has no such box (it cannot
    be left without an answer) and starts unanswered, greyed, until it is changed or set to
    today.
    """

    def __init__(self, view: FieldView, parent: QWidget | None = None) -> None:
        super().__init__(view, parent)
        self.empty = QCheckBox(self.tr("No answer"), self)
        self.empty.setChecked(not view.required)
        self.empty.setVisible(not view.required)
        self._unset = view.required  # a required date nobody has set yet
        if view.kind == "date":
            self.editor: QDateTimeEdit = _DateEdit(self)
            self.editor.setDisplayFormat("yyyy-MM-dd")
            self.editor.setDate(QDate.currentDate())
            self.today = QPushButton(self.tr("Today"), self)
        elif view.kind == "time":
            self.editor = _TimeEdit(self)
            self.editor.setDisplayFormat("HH:mm")
            self.today = QPushButton(self.tr("Now"), self)
        else:
            self.editor = _DateTimeEdit(self)
            self.editor.setDisplayFormat("yyyy-MM-dd HH:mm")
            self.editor.setDateTime(QDateTime.currentDateTime())
            self.today = QPushButton(self.tr("Now"), self)
        self.editor.setCalendarPopup(view.kind != "time")
        self.editor.setProperty("unanswered", True)
        self._setting = False
        row = QWidget(self)
        line = QHBoxLayout(row)
        line.setContentsMargins(0, 0, 0, 0)
        line.addWidget(self.editor)
        line.addWidget(self.today)
        line.addWidget(self.empty)
        line.addStretch(1)
        self.editor.dateTimeChanged.connect(lambda _: self._edited())
        self.empty.toggled.connect(lambda _: self._changed())
        self.today.clicked.connect(self._set_now)
        self.empty.setAccessibleName(self.tr("No answer: %s") % view.label)
        self.today.setAccessibleName(f"{self.today.text()}: {view.label}")
        self._finish(row)
        self.editor.setAccessibleName(view.label)

    def _set_now(self) -> None:
        self._setting = True
        try:
            if self.view.kind == "date":
                self.editor.setDate(QDate.currentDate())
            elif self.view.kind == "time":
                self.editor.setTime(QTime.currentTime())
            else:
                self.editor.setDateTime(QDateTime.currentDateTime())
        finally:
            self._setting = False
        self._unset = False
        if self.empty.isChecked():
            self.empty.setChecked(False)  # toggled -> _changed emits the answer
        else:
            self._changed()

    def _answer(self) -> str | None:
        if self.empty.isChecked() or self._unset:
            return None
        if self.view.kind == "date":
            return self.editor.date().toString(Qt.DateFormat.ISODate)
        if self.view.kind == "time":
            return self.editor.time().toString("HH:mm")
        return self.editor.dateTime().toString("yyyy-MM-ddTHH:mm")

    def _edited(self) -> None:
        """Changing the date is answering: "No answer" unticks itself (a specialist should not
        have to find the check box before the date can be set)."""
        if self._setting:
            return
        self._unset = False
        if self.empty.isChecked():
            self.empty.setChecked(False)  # toggled -> _changed emits the answer
            return
        self._changed()

    def _changed(self) -> None:
        self._show_answered()
        if not self._setting:
            self._emit(self._answer())

    def _show_answered(self) -> None:
        unanswered = self.empty.isChecked() or self._unset
        if self.editor.property("unanswered") != unanswered:
            self.editor.setProperty("unanswered", unanswered)
            self.editor.style().unpolish(self.editor)
            self.editor.style().polish(self.editor)

    def set_value(self, value: Any) -> None:
        self._setting = True
        try:
            self.empty.setChecked(value is None and not self.view.required)
            self._unset = value is None and self.view.required
            if isinstance(value, str) and value:
                if self.view.kind == "date":
                    parsed = date.fromisoformat(value)
                    self.editor.setDate(QDate(parsed.year, parsed.month, parsed.day))
                elif self.view.kind == "time":
                    t = time.fromisoformat(value)
                    self.editor.setTime(QTime(t.hour, t.minute))
                else:
                    dt = datetime.fromisoformat(value)
                    self.editor.setDateTime(
                        QDateTime(QDate(dt.year, dt.month, dt.day), QTime(dt.hour, dt.minute))
                    )
            self._show_answered()
        finally:
            self._setting = False


# Above this many choices a question is a search-as-you-type picker (:class:`PickerWidget`),
# not a column of radio buttons or check boxes a child's whole country list long.
LONG_LIST = 10

# Appearances that ask for the picker whatever the length of the list.
PICKER_APPEARANCES = frozenset({"search", "autocomplete", "minimal"})


def wants_picker(view: FieldView) -> bool:
    """Whether a select question is shown as :class:`PickerWidget`."""
    appearances = {a.split("(")[0] for a in view.appearance.split()}
    return bool(appearances & PICKER_APPEARANCES) or len(view.choices) > LONG_LIST


def _folded(text: str) -> str:
    """``text`` for matching: lower case, without accents ("Mexico" finds "México")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class PickerWidget(FieldWidget):
    """A search box over a list, for long lists: one kind for select one and select multiple.

    Keyboard first: typing filters the list (any part of a choice, accents ignored), Up and
    Down move through what is left, Enter (or Space in the list) picks. Each answer chosen
    shows as a chip under the list; the chip's button removes it, and Backspace in the empty
    search box removes the last one. A single choice replaces the one before.
    """

    def __init__(self, view: FieldView, parent: QWidget | None = None) -> None:
        super().__init__(view, parent)
        self.multiple = view.kind == "select_multiple"
        self._labels = {c.name: c.label for c in view.choices}
        self._chosen: list[str] = []
        box = QWidget(self)
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.search = QLineEdit(box)
        self.search.setObjectName("pickerSearch")
        self.search.setPlaceholderText(
            self.tr("Type to search, then Enter to choose")
            if not self.multiple
            else self.tr("Type to search, Enter to add; choose as many as apply")
        )
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._filter)
        self.search.installEventFilter(self)
        layout.addWidget(self.search)
        self.list = QListWidget(box)
        self.list.setObjectName("pickerList")
        self.list.setAccessibleName(self.tr("%s: choices") % view.label)
        self.list.setUniformItemSizes(True)
        for choice in view.choices:
            item = QListWidgetItem(choice.label, self.list)
            item.setData(Qt.ItemDataRole.UserRole, choice.name)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            item.setCheckState(Qt.CheckState.Unchecked)
        rows = min(max(len(view.choices), 1), 7)
        self.list.setFixedHeight(self.list.sizeHintForRow(0) * rows + 2 * self.list.frameWidth())
        self.list.itemClicked.connect(lambda item: self._pick(self._name(item)))
        self.list.installEventFilter(self)
        layout.addWidget(self.list)
        self.nothing = QLabel("", box)
        self.nothing.setObjectName("fieldHint")
        self.nothing.hide()
        layout.addWidget(self.nothing)
        self.chosen_box = QWidget(box)
        self.chosen_box.setObjectName("pickerChosen")
        self._chips_layout = QVBoxLayout(self.chosen_box)
        self._chips_layout.setContentsMargins(0, 0, 0, 0)
        self._chips_layout.setSpacing(2)
        self.chosen_label = QLabel(self.tr("Chosen:"), self.chosen_box)
        self._chips_layout.addWidget(self.chosen_label)
        self.chips: dict[str, QPushButton] = {}
        layout.addWidget(self.chosen_box)
        self._finish(box)
        self.label.setBuddy(self.search)
        self.search.setAccessibleName(self.tr("%s: search the list") % view.label)
        self.search.setEnabled(not view.read_only)
        self.list.setEnabled(not view.read_only)
        self._show_chosen()

    # ------------------------------------------------------------ keyboard
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.KeyPress or not isinstance(event, QKeyEvent):
            return super().eventFilter(watched, event)
        key = event.key()
        if key in (Qt.Key.Key_Up, Qt.Key.Key_Down) and watched is self.search:
            self._move(-1 if key == Qt.Key.Key_Up else 1)
            return True
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) or (
            key == Qt.Key.Key_Space and watched is self.list
        ):
            item = self.list.currentItem()
            shown = self._shown()
            if (item is None or item.isHidden()) and len(shown) == 1:
                item = shown[0]
            if item is not None and not item.isHidden():
                self._pick(self._name(item))
                return True
            return key == Qt.Key.Key_Space
        if watched is self.search and key == Qt.Key.Key_Escape and self.search.text():
            self.search.clear()
            return True
        if watched is self.search and key == Qt.Key.Key_Backspace and not self.search.text():
            if self._chosen:
                self._remove(self._chosen[-1])
            return True
        if watched is self.list and event.text().isprintable() and event.text().strip():
            self.search.setFocus(Qt.FocusReason.OtherFocusReason)
            self.search.insert(event.text())  # typing in the list searches it
            return True
        return super().eventFilter(watched, event)

    def _shown(self) -> list[QListWidgetItem]:
        items = (self.list.item(i) for i in range(self.list.count()))
        return [item for item in items if not item.isHidden()]

    def _move(self, delta: int) -> None:
        shown = self._shown()
        if not shown:
            return
        current = self.list.currentItem()
        index = shown.index(current) + delta if current in shown else (0 if delta > 0 else -1)
        target = shown[max(0, min(index, len(shown) - 1))]
        self.list.setCurrentItem(target)
        self.list.scrollToItem(target)

    def _filter(self, text: str) -> None:
        wanted = _folded(text.strip())
        for i in range(self.list.count()):
            item = self.list.item(i)
            item.setHidden(bool(wanted) and wanted not in _folded(item.text()))
        shown = self._shown()
        if shown and wanted:
            self.list.setCurrentItem(shown[0])
        self.nothing.setText(self.tr("Nothing in the list matches “%s”.") % text.strip())
        self.nothing.setVisible(bool(wanted) and not shown)

    # ------------------------------------------------------------- answers
    @staticmethod
    def _name(item: QListWidgetItem) -> str:
        return str(item.data(Qt.ItemDataRole.UserRole))

    def _pick(self, name: str) -> None:
        if not self.search.isEnabled():
            return
        if self.multiple:
            chosen = set(self._chosen) ^ {name}
            self._chosen = [n for n in self._labels if n in chosen]
        else:
            self._chosen = [name]
        if self.search.text():
            self.search.clear()
        self._show_chosen()
        self._emit_answer()

    def _remove(self, name: str) -> None:
        self._chosen = [n for n in self._chosen if n != name]
        self._show_chosen()
        self._emit_answer()
        self.search.setFocus(Qt.FocusReason.OtherFocusReason)

    def _emit_answer(self) -> None:
        if self.multiple:
            self._emit(list(self._chosen) or None)
        else:
            self._emit(self._chosen[0] if self._chosen else None)

    def _show_chosen(self) -> None:
        for i in range(self.list.count()):
            item = self.list.item(i)
            chosen = self._name(item) in self._chosen
            item.setCheckState(Qt.CheckState.Checked if chosen else Qt.CheckState.Unchecked)
        for name in list(self.chips):
            if name not in self._chosen:
                gone = self.chips.pop(name)
                self._chips_layout.removeWidget(gone)
                gone.deleteLater()
        for index, name in enumerate(self._chosen):
            chip = self.chips.get(name)
            if chip is None:
                label = self._labels.get(name, name)
                chip = QPushButton(f"{label}  ✕", self.chosen_box)
                chip.setObjectName("pickerChip")
                chip.setAccessibleName(self.tr("Remove %s") % label)
                chip.setToolTip(self.tr("Remove %s") % label)
                chip.setEnabled(self.search.isEnabled())
                chip.clicked.connect(lambda _=False, n=name: self._remove(n))
                self.chips[name] = chip
            self._chips_layout.removeWidget(chip)
            self._chips_layout.insertWidget(index + 1, chip, 0, Qt.AlignmentFlag.AlignLeft)
        self.chosen_box.setVisible(bool(self._chosen))

    def chosen(self) -> list[str]:
        """The choices picked now, in list order."""
        return list(self._chosen)

    def set_value(self, value: Any) -> None:
        names = set(value or ()) if self.multiple else ({value} - {None})
        self._chosen = [n for n in self._labels if n in names]
        self._show_chosen()


def _select_one(view: FieldView, parent: QWidget | None) -> FieldWidget:
    return PickerWidget(view, parent) if wants_picker(view) else SelectOneWidget(view, parent)


def _select_multiple(view: FieldView, parent: QWidget | None) -> FieldWidget:
    return PickerWidget(view, parent) if wants_picker(view) else SelectMultipleWidget(view, parent)


# Arrow keys that step back / forward through a column or row of radio buttons.
_ARROWS_BACK = (Qt.Key.Key_Up, Qt.Key.Key_Left)
_ARROWS_FORWARD = (Qt.Key.Key_Down, Qt.Key.Key_Right)


class SelectOneWidget(FieldWidget):
    """Radio buttons (a long list or the ``minimal`` appearance is a :class:`PickerWidget`).

    An arrow key on a radio button moves to the next (or previous) choice *and picks it*, like a
    radio group on the web, wrapping at the ends. Qt's own handling only moves the focus while
    nothing is picked yet, so a specialist working from the keyboard believed a question was
    answered that was not.
    """

    def __init__(self, view: FieldView, parent: QWidget | None = None) -> None:
        super().__init__(view, parent)
        self._setting = False
        self.group: QButtonGroup | None = None
        box = QWidget(self)
        horizontal = "horizontal" in view.appearance.split() or len(view.choices) <= 3
        layout = QHBoxLayout(box) if horizontal else QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        self.group = QButtonGroup(self)
        self.buttons: dict[str, QRadioButton] = {}
        for choice in view.choices:
            button = QRadioButton(choice.label, box)
            button.setAccessibleName(f"{view.label}: {choice.label}")
            button.setProperty("choice", choice.name)
            button.installEventFilter(self)
            self.group.addButton(button)
            self.buttons[choice.name] = button
            layout.addWidget(button)
        if horizontal:
            layout.addStretch(1)
        self.group.buttonClicked.connect(lambda b: self._emit(b.property("choice")))
        self._finish(box)
        if view.choices:
            self.label.setBuddy(self.buttons[view.choices[0].name])

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and isinstance(watched, QRadioButton)
            and event.modifiers()
            in (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.KeypadModifier)
        ):
            key = event.key()
            if key in _ARROWS_BACK or key in _ARROWS_FORWARD:
                self._step(watched, -1 if key in _ARROWS_BACK else 1)
                return True
        return super().eventFilter(watched, event)

    def _step(self, current: QRadioButton, delta: int) -> None:
        """Focus and pick the choice ``delta`` away from ``current`` (wrapping)."""
        order = [b for b in self.buttons.values() if b.isEnabled()]
        if current not in order:
            return
        target = order[(order.index(current) + delta) % len(order)]
        target.setFocus(Qt.FocusReason.OtherFocusReason)
        if not target.isChecked():
            target.click()  # a real click: buttonClicked -> the answer is emitted

    def set_value(self, value: Any) -> None:
        self._setting = True
        try:
            assert self.group is not None
            self.group.setExclusive(False)
            for name, button in self.buttons.items():
                button.setChecked(name == value)
            self.group.setExclusive(True)
        finally:
            self._setting = False


class SelectMultipleWidget(FieldWidget):
    def __init__(self, view: FieldView, parent: QWidget | None = None) -> None:
        super().__init__(view, parent)
        box = QWidget(self)
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        self.boxes: dict[str, QCheckBox] = {}
        for choice in view.choices:
            check = QCheckBox(choice.label, box)
            check.setAccessibleName(f"{view.label}: {choice.label}")
            check.clicked.connect(lambda _=False: self._emit(self._answer() or None))
            self.boxes[choice.name] = check
            layout.addWidget(check)
        self._finish(box)
        if view.choices:
            self.label.setBuddy(self.boxes[view.choices[0].name])

    def _answer(self) -> list[str]:
        return [name for name, check in self.boxes.items() if check.isChecked()]

    def set_value(self, value: Any) -> None:
        chosen = set(value or ())
        for name, check in self.boxes.items():
            check.setChecked(name in chosen)


class AcknowledgeWidget(FieldWidget):
    def __init__(self, view: FieldView, parent: QWidget | None = None) -> None:
        super().__init__(view, parent)
        self.check = QCheckBox(self.tr("Done"), self)
        self.check.clicked.connect(lambda checked: self._emit("OK" if checked else None))
        self._finish(self.check)

    def set_value(self, value: Any) -> None:
        self.check.setChecked(value == "OK")


class RankWidget(FieldWidget):
    """The choices in a list, put in order with the keyboard (Ctrl+Up, Ctrl+Down) or the move
    buttons; the answer is the choice names in that order. The list's first order is an answer
    only once the specialist moves a choice or keeps it with its button."""

    def __init__(self, view: FieldView, parent: QWidget | None = None) -> None:
        super().__init__(view, parent)
        box = QWidget(self)
        layout = QHBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        self.items = QListWidget(box)
        self.items.setObjectName("rankList")
        self.items.installEventFilter(self)
        layout.addWidget(self.items, 1)
        buttons = QVBoxLayout()
        self.up = QPushButton(self.tr("Move up"), box)
        self.down = QPushButton(self.tr("Move down"), box)
        self.keep = QPushButton(self.tr("Keep this order"), box)
        self.up.clicked.connect(lambda: self._move(-1))
        self.down.clicked.connect(lambda: self._move(1))
        self.keep.clicked.connect(lambda: self._emit(self._answer() or None))
        for button in (self.up, self.down, self.keep):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self._fill([c.name for c in view.choices])
        self._finish(box)
        self.label.setBuddy(self.items)

    def _fill(self, names: list[str]) -> None:
        labels = {c.name: c.label for c in self.view.choices}
        order = [n for n in names if n in labels] + [n for n in labels if n not in names]
        row = max(self.items.currentRow(), 0)
        self.items.clear()
        for name in order:
            item = QListWidgetItem(labels[name], self.items)
            item.setData(Qt.ItemDataRole.UserRole, name)
        self.items.setCurrentRow(min(row, self.items.count() - 1))

    def _answer(self) -> list[str]:
        return [
            str(self.items.item(i).data(Qt.ItemDataRole.UserRole))
            for i in range(self.items.count())
        ]

    def _move(self, delta: int) -> None:
        row = self.items.currentRow()
        target = row + delta
        if row < 0 or not 0 <= target < self.items.count():
            return
        item = self.items.takeItem(row)
        self.items.insertItem(target, item)
        self.items.setCurrentRow(target)
        self._emit(self._answer())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.items and event.type() == QEvent.Type.KeyPress:
            key = event if isinstance(event, QKeyEvent) else None
            if (
                key is not None
                and key.modifiers() & Qt.KeyboardModifier.ControlModifier
                and key.key() in (Qt.Key.Key_Up, Qt.Key.Key_Down)
            ):
                self._move(-1 if key.key() == Qt.Key.Key_Up else 1)
                return True
        return super().eventFilter(watched, event)

    def set_value(self, value: Any) -> None:
        self._fill([str(v) for v in (value or ())])


def _choose_file(parent: QWidget, title: str, filters: str) -> str:
    path, _ = QFileDialog.getOpenFileName(parent, title, "", filters)
    return path


class MediaWidget(FieldWidget):
    """A file attached to the screening (a photo of a document, signed paper consent): chosen
    with a file picker, read once into memory (at most the attachment limit) and handed to the
    form; it is kept only encrypted in the vault. The answer shown is the attachment's name."""

    #: The file picker: ``(parent, title, filters) -> path or ""`` (replaced in tests).
    choose: Callable[[QWidget, str, str], str] = staticmethod(_choose_file)
    _PATTERNS: ClassVar[dict[str, str]] = {
        "image": "*.jpg *.jpeg *.png *.gif *.bmp *.tif *.tiff *.webp *.heic",
        "audio": "*.mp3 *.m4a *.ogg *.oga *.opus *.wav *.amr *.aac",
        "video": "*.mp4 *.m4v *.mov *.3gp *.webm *.mkv *.avi",
    }

    def __init__(self, view: FieldView, parent: QWidget | None = None) -> None:
        super().__init__(view, parent)
        box = QWidget(self)
        layout = QHBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        self.pick = QPushButton(self.tr("Choose file…"), box)
        self.remove = QPushButton(self.tr("Remove file"), box)
        self.shown = QLabel(self.tr("No file attached."), box)
        self.shown.setObjectName("attachmentName")
        self.pick.clicked.connect(self._pick)
        self.remove.clicked.connect(self._remove)
        self.remove.setEnabled(False)
        layout.addWidget(self.pick)
        layout.addWidget(self.remove)
        layout.addWidget(self.shown, 1)
        self._finish(box)
        self.label.setBuddy(self.pick)

    def _filters(self) -> str:
        every = self.tr("All files (*)")
        if self.view.accept == "osm":  # the session takes only OpenStreetMap XML here
            return "{} (*.osm);;{}".format(self.tr("OpenStreetMap files"), every)
        pattern = self._PATTERNS.get(self.view.kind)
        if pattern is None:
            return every
        named = {
            "image": self.tr("Photos and scans"),
            "audio": self.tr("Recordings"),
            "video": self.tr("Videos"),
        }[self.view.kind]
        return f"{named} ({pattern});;{every}"

    def _pick(self) -> None:
        chosen = type(self).choose(self, self.tr("Attach a file"), self._filters())
        if not chosen:
            return
        path = Path(chosen)
        try:
            if not path.is_file():
                raise OSError("not a file")
            with path.open("rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        except OSError:
            self.set_message(
                self.tr("This file cannot be read. Check that it is still there and try again.")
            )
            return
        if len(data) > MAX_FILE_BYTES:
            self.set_message(
                self.tr(
                    "This file is larger than %1 MB, the most one screening file may be. Attach "
                    "a smaller photo or scan (a lower resolution still shows a document)."
                ).replace("%1", str(MAX_FILE_BYTES // (1024 * 1024)))
            )
            return
        self.set_message("")
        self._emit(Attachment(path.name, data))

    def _remove(self) -> None:
        self._emit(None)

    def set_value(self, value: Any) -> None:
        self.remove.setEnabled(bool(value))
        self.shown.setText(str(value) if value else self.tr("No file attached."))


class RepeatWidget(FieldWidget):
    """A list of instances, each a column of child widgets, with add and remove buttons.

    The answer is the whole list (one ``dict`` per instance), emitted on every change.
    """

    #: The specialist asked to add the screening's suggestions (only when ``view.fillable``).
    fill_requested = Signal()

    def __init__(self, view: FieldView, parent: QWidget | None = None) -> None:
        super().__init__(view, parent)
        self._instances: list[dict[str, Any]] = []
        self._rows: list[QWidget] = []
        self.body = QVBoxLayout()
        self._layout.addLayout(self.body)
        self.add_button = QPushButton(self.tr("Add another"), self)
        self.add_button.setObjectName("secondary")
        self.add_button.setAccessibleName(self.tr("Add another: %s") % view.label)
        self.add_button.clicked.connect(self._add)
        self.fill_button: QPushButton | None = None
        self._finish(None)
        self._layout.insertWidget(self._layout.count() - 1, self.add_button)
        if view.fillable:
            self.fill_button = QPushButton(self.tr("Fill from suggestions"), self)
            self.fill_button.setObjectName("secondary")
            self.fill_button.setAccessibleName(self.tr("Fill from suggestions: %s") % view.label)
            self.fill_button.setToolTip(
                self.tr(
                    "Adds a row for each suggestion of this screening that is not listed yet. "
                    "Check each row and change or remove it as needed."
                )
            )
            self.fill_button.clicked.connect(self.fill_requested.emit)
            self._layout.insertWidget(self._layout.count() - 1, self.fill_button)

    def _add(self) -> None:
        self._instances.append({})
        self._rebuild()
        self._emit(self._answer())
        first = self._rows[-1].findChild(QLineEdit)
        if first is not None:
            first.setFocus()

    def _remove(self, index: int) -> None:
        del self._instances[index]
        self._rebuild()
        self._emit(self._answer())

    def _answer(self) -> list[dict[str, Any]] | None:
        return [dict(i) for i in self._instances] or None

    def _rebuild(self) -> None:
        for row in self._rows:
            row.setParent(None)
            row.deleteLater()
        self._rows = []
        for index, instance in enumerate(self._instances):
            row = QFrame(self)
            row.setObjectName("repeatInstance")
            line = QHBoxLayout(row)
            for child in self.view.children:
                widget = make_field_widget(child, row)
                widget.set_value(instance.get(child.name))
                widget.answer_changed.connect(
                    lambda value, i=index, n=child.name: self._child_changed(i, n, value)
                )
                line.addWidget(widget, 1)
            remove = QPushButton(self.tr("Remove"), row)
            remove.setObjectName("secondary")
            remove.setAccessibleName(self.tr("Remove entry %d") % (index + 1))
            remove.clicked.connect(lambda _=False, i=index: self._remove(i))
            line.addWidget(remove, 0, Qt.AlignmentFlag.AlignBottom)
            self.body.addWidget(row)
            self._rows.append(row)

    def _child_changed(self, index: int, name: str, value: Any) -> None:
        if value is None:
            self._instances[index].pop(name, None)
        else:
            self._instances[index][name] = value
        self._emit(self._answer())

    def set_value(self, value: Any) -> None:
        self._instances = [dict(i) for i in (value or [])]
        self._rebuild()


def _text(view: FieldView, parent: QWidget | None) -> FieldWidget:
    if "multiline" in view.appearance.split():
        return MultilineWidget(view, parent)
    return TextWidget(view, parent)


#: Field kind -> widget class. The only place that maps a type to a widget.
FACTORY: dict[str, Callable[[FieldView, QWidget | None], FieldWidget]] = {
    "text": _text,
    "multiline": MultilineWidget,
    "integer": NumberWidget,
    "decimal": NumberWidget,
    "date": DateWidget,
    "datetime": DateWidget,
    "time": DateWidget,
    "select_one": _select_one,
    "select_multiple": _select_multiple,
    "rank": RankWidget,
    "image": MediaWidget,
    "audio": MediaWidget,
    "video": MediaWidget,
    "file": MediaWidget,
    "note": NoteWidget,
    "acknowledge": AcknowledgeWidget,
    "repeat": RepeatWidget,
}


def make_field_widget(view: FieldView, parent: QWidget | None = None) -> FieldWidget:
    """The widget for ``view``; an unknown kind is a bug (the engine rejects it at load)."""
    try:
        make = FACTORY[view.kind]
    except KeyError:
        raise BugError(f"no widget for field kind {view.kind!r}") from None
    return make(view, parent)
