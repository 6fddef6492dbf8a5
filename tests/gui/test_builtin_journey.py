"""A whole screening over the built-in forms, through the real widgets: consent, intake, an
answer about work that opens the trafficking module, results, the referral sheet, finalising.

Each page is answered the way a hurried interviewer would: every required question that is
shown gets a plain answer (the first neutral choice, a name, an age), except the few answers
the journey is about.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QCheckBox, QRadioButton, QWidget
from pytestqt.qtbot import QtBot

from fieldscreen.app import BUILTIN_FORMS_DIR, FIRST_FORMS
from fieldscreen.paths import Paths
from fieldscreen.settings import Settings
from fieldscreen.ui.common import Services
from fieldscreen.ui.fields import (
    AcknowledgeWidget,
    DateWidget,
    FieldWidget,
    MultilineWidget,
    NumberWidget,
    PickerWidget,
    SelectMultipleWidget,
    SelectOneWidget,
    TextWidget,
)
from fieldscreen.ui.main_window import MainWindow
from fieldscreen.ui.operations import Operations
from tests.gui.conftest import WAIT_MS, controller, settle, unlock
from tests.support.memory_vault import MemoryVault

pytestmark = pytest.mark.skipif(
    not all((BUILTIN_FORMS_DIR / f"{f}.md").exists() for f in FIRST_FORMS),
    reason="this build ships no built-in forms",
)

#: The answers the journey is about; everything else gets a plain answer.
CHOSEN: dict[str, Any] = {
    "fs_consent:teach_back": "understood",
    "fs_intake:g_worked": "yes",
}
NEUTRAL = ("no", "none", "not_applicable", "unknown", "declined")
AGREE = ("yes", "agrees", "agree", "granted", "given")


def press(qtbot: QtBot, widget: QWidget) -> None:
    if isinstance(widget, QCheckBox | QRadioButton):
        qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=QPoint(8, widget.height() // 2))
    else:
        qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def pick_by_keyboard(qtbot: QtBot, widget: PickerWidget, choice: str) -> None:
    """Type the choice's label into the picker's search box and press Enter."""
    label = next(c.label for c in widget.view.choices if c.name == choice)
    widget.search.setFocus()
    widget.search.clear()
    qtbot.keyClicks(widget.search, label)
    shown = [widget.list.item(i) for i in range(widget.list.count())]
    exact = next(i for i in shown if not i.isHidden() and i.text() == label)
    widget.list.setCurrentItem(exact)  # "Other" also matches "Other language"
    qtbot.keyClick(widget.search, Qt.Key.Key_Return)


def answer(qtbot: QtBot, name: str, widget: FieldWidget, value: Any = None) -> None:
    view = widget.view
    names = [c.name for c in view.choices]
    if view.kind == "select_one":
        if value is None:
            prefer = AGREE if name.startswith("fs_consent:") else NEUTRAL
            value = next((c for c in prefer if c in names), names[0] if names else None)
        if isinstance(widget, PickerWidget):
            pick_by_keyboard(qtbot, widget, value)
        else:
            assert isinstance(widget, SelectOneWidget), name
            press(qtbot, widget.buttons[value])
    elif view.kind == "select_multiple":
        pick = value or next((c for c in NEUTRAL if c in names), names[0])
        if isinstance(widget, PickerWidget):
            pick_by_keyboard(qtbot, widget, pick)
        else:
            assert isinstance(widget, SelectMultipleWidget), name
            press(qtbot, widget.boxes[pick])
    elif view.kind in {"text", "multiline"}:
        assert isinstance(widget, TextWidget | MultilineWidget), name
        qtbot.keyClicks(widget.editor, str(value or "Ana"))
    elif view.kind == "integer":
        assert isinstance(widget, NumberWidget), name
        qtbot.keyClicks(widget.editor, str(value or 15))
    elif view.kind == "decimal":
        assert isinstance(widget, NumberWidget), name
        qtbot.keyClicks(widget.editor, str(value or 1))
    elif view.kind in {"date", "datetime", "time"}:
        assert isinstance(widget, DateWidget), name
        press(qtbot, widget.today)
    elif view.kind == "acknowledge":
        assert isinstance(widget, AcknowledgeWidget), name
        press(qtbot, widget.check)


def test_a_whole_screening_over_the_built_in_forms(
    qtbot: QtBot, paths: Paths, tmp_path: Path
) -> None:
    from fieldscreen.app import build_context, builtin_forms

    context = build_context(str(paths.data.parent))
    forms = builtin_forms(context)
    assert forms is not None
    vault = MemoryVault.with_users([("ana", "admin", "correct horse battery")])
    services = Services(vault, forms, Settings.load(paths.settings_file), Operations())
    w = MainWindow(services)
    qtbot.addWidget(w)
    w.show()
    unlock(qtbot, w)
    press(qtbot, w.home.start)
    wiz = w.wizard
    seen_pages: list[str] = []
    for _ in range(200):
        if w.stack.currentWidget() is w.results:
            break
        page = wiz.current_page_name()
        if not seen_pages or seen_pages[-1] != page:
            seen_pages.append(page)
        current = {v.name for p in wiz._pages if p.name == page for v in p.fields}
        missing = controller(wiz).session.missing_required(page, "en")
        for name in current:
            widget = wiz.widgets.get(name)
            if widget is None or not widget.isVisibleTo(wiz):
                continue
            if name in CHOSEN and controller(wiz).session.value(name) != CHOSEN[name]:
                answer(qtbot, name, widget, CHOSEN[name])
            elif name in missing:
                answer(qtbot, name, widget)
        press(qtbot, wiz.next)
    else:
        raise AssertionError(f"stuck on {wiz.current_page_name()}: {missing}")
    settle(w)
    assert any(p.startswith("fs_trafficking:") for p in seen_pages), " ".join(seen_pages)
    assert seen_pages[0].startswith("fs_consent:")
    result = w.results.result
    assert result is not None
    assert result.tier in {"T0", "T1", "T2", "T3", "T4"}
    sheet = tmp_path / "referral.pdf"
    w.results.save_sheet_to(sheet)
    assert sheet.read_bytes().startswith(b"%PDF")
    if not w.results.finalise.isEnabled():
        qtbot.keyClicks(w.results.actions_taken, "Protection lead called; child in safe room.")
    press(qtbot, w.results.finalise)
    qtbot.waitUntil(lambda: w.stack.currentWidget() is w.home, timeout=WAIT_MS)
    (record,) = vault.finalised.values()
    assert set(record["state"]["forms"]) >= {"fs_consent", "fs_intake", "fs_trafficking"}


def test_stopping_offers_the_organisations_stop_reasons(qtbot: QtBot, paths: Paths) -> None:
    from fieldscreen.app import build_context, builtin_forms

    forms = builtin_forms(build_context(str(paths.data.parent)))
    vault = MemoryVault.with_users([("ana", "admin", "correct horse battery")])
    services = Services(vault, forms, Settings.load(paths.settings_file), Operations())  # type: ignore[arg-type]
    w = MainWindow(services)
    qtbot.addWidget(w)
    w.show()
    unlock(qtbot, w)
    press(qtbot, w.home.start)
    press(qtbot, w.wizard.stop)
    from PySide6.QtWidgets import QApplication

    from fieldscreen.ui.dialogs import ReasonDialog

    (dialog,) = [
        d
        for d in QApplication.topLevelWidgets()
        if d.objectName() == "stopDialog" and d.isVisible()
    ]
    assert isinstance(dialog, ReasonDialog)
    codes = [dialog.choice.itemData(i) for i in range(dialog.choice.count())]
    assert "child_distressed" in codes
    dialog.choice.setCurrentIndex(codes.index("child_distressed"))
    dialog.buttons.accepted.emit()  # no note needed
    settle(w)
    assert w.stack.currentWidget() is w.home
    (draft,) = vault.drafts()
    assert vault.load_draft(draft.screening_id)["stopped"]["reason"] == "child_distressed"


def test_a_page_count_that_changes_says_why(qtbot: QtBot, paths: Paths) -> None:
    """The count went from 22 to 23 mid-form with no word why: now the count says which page an
    answer added (or which one is no longer needed)."""
    from fieldscreen.app import build_context, builtin_forms

    forms = builtin_forms(build_context(str(paths.data.parent)))
    vault = MemoryVault.with_users([("ana", "admin", "correct horse battery")])
    services = Services(vault, forms, Settings.load(paths.settings_file), Operations())  # type: ignore[arg-type]
    w = MainWindow(services)
    qtbot.addWidget(w)
    w.show()
    unlock(qtbot, w)
    press(qtbot, w.home.start)
    wiz = w.wizard
    first = wiz.progress.maximum()
    assert "(" not in wiz.progress_text.text()
    for _ in range(60):
        if wiz.progress.maximum() != first:
            break
        page = wiz.current_page_name()
        session = controller(wiz).session
        missing = session.missing_required(page, "en")
        for name in [v.name for p in wiz._pages if p.name == page for v in p.fields]:
            widget = wiz.widgets.get(name)
            if widget is not None and widget.isVisibleTo(wiz) and name in missing:
                answer(qtbot, name, widget, CHOSEN.get(name))
        press(qtbot, wiz.next)
    assert wiz.progress.maximum() != first, "the count never changed"
    text = wiz.progress_text.text()
    reason = wiz.progress_text.toolTip()
    assert reason, text
    assert text.endswith(f". {reason}"), text
    assert reason.startswith(("An answer added ", "After an answer, ")), reason
    assert reason.endswith("."), reason
    assert "no longer needed: " not in text, text
    # it names a page by the heading the specialist saw on it, never a form's title
    quoted = re.findall(r"“([^”]+)”", reason)
    assert quoted, reason
    from fieldscreen.forms.library import builtin_forms as loaded

    form_titles = {f.title(lang) for f in loaded().values() for lang in ("en", "es")}
    assert not set(quoted) & form_titles, reason
    # the other direction reads as a sentence too, never "no longer needed: B. …"
    removed = wiz._removed_sentence(["Work and violence questions locked"])
    assert removed == (
        "After an answer, the page “Work and violence questions locked” is no longer needed."
    )
    several = wiz._removed_sentence(["Journey", "Work"])
    assert several == "After an answer, 2 pages are no longer needed; the first is “Journey”."
