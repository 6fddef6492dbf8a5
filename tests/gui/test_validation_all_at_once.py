"""Next on a page with answers missing marks every one of them at once and scrolls to the
first, its heading in view: not the middle of a long list with the error off screen."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QScrollArea, QWidget
from pytestqt.qtbot import QtBot

from fieldscreen.paths import Paths
from fieldscreen.settings import Settings
from fieldscreen.ui.common import Services
from fieldscreen.ui.main_window import MainWindow
from fieldscreen.ui.operations import Operations
from tests.gui.conftest import settle, unlock
from tests.support.memory_vault import MemoryVault


def _wizard(qtbot: QtBot, paths: Paths) -> MainWindow:
    from fieldscreen.app import build_context, builtin_forms

    forms = builtin_forms(build_context(str(paths.data.parent)))
    assert forms is not None
    vault = MemoryVault.with_users([("ana", "admin", "correct horse battery")])
    w = MainWindow(Services(vault, forms, Settings.load(paths.settings_file), Operations()))
    qtbot.addWidget(w)
    w.resize(1024, 640)
    w.show()
    unlock(qtbot, w)
    w.start_screening()
    settle(w)
    return w


def _in_view(scroll: QScrollArea, widget: QWidget) -> bool:
    top = widget.mapTo(scroll.viewport(), QPoint(0, 0)).y()
    return widget.isVisible() and top >= 0 and top + widget.height() <= scroll.viewport().height()


def test_next_marks_every_missing_answer_and_shows_the_first_heading(
    qtbot: QtBot, paths: Paths
) -> None:
    w = _wizard(qtbot, paths)
    wizard = w.wizard
    names = [p.name for p in wizard._pages]
    wizard.go(names.index("fs_intake:b1_identity"))
    for name, value in (
        ("fs_intake:alias", "Luz"),
        ("fs_intake:given_names", "Luz"),
        ("fs_intake:surnames", "Mora"),
        ("fs_intake:sex", "female"),
    ):
        wizard.widgets[name].set_value(value)
        wizard._answered(name, value)
    settle(w)
    qtbot.mouseClick(wizard.next, Qt.MouseButton.LeftButton)
    missing = [
        "fs_intake:nationalities",
        "fs_intake:country_of_birth",
        "fs_intake:languages_spoken",
        "fs_intake:documents_carried",
    ]
    assert wizard.current_page_name() == "fs_intake:b1_identity"
    for name in missing:
        assert wizard.widgets[name].message.isVisibleTo(wizard), name
    first = wizard.widgets[missing[0]]
    # the ~50 countries are a search box over a short list: heading, error and list fit
    assert first.height() < 640
    scroll = wizard.stack.currentWidget()
    assert isinstance(scroll, QScrollArea)
    assert _in_view(scroll, first.label), "the first missing question's heading is off screen"
    assert _in_view(scroll, first.message), "its error is off screen"
    assert _inside(w.focusWidget(), first)
    assert "4 answers are needed" in wizard.notice.text()

    # Answering one of them leaves the others marked.
    wizard.widgets["fs_intake:country_of_birth"].set_value("HN")
    wizard._answered("fs_intake:country_of_birth", "HN")
    settle(w)
    assert not wizard.widgets["fs_intake:country_of_birth"].message.isVisibleTo(wizard)
    for name in (missing[0], *missing[2:]):
        assert wizard.widgets[name].message.isVisibleTo(wizard), name


def _inside(widget: QWidget | None, ancestor: QWidget) -> bool:
    while widget is not None:
        if widget is ancestor:
            return True
        widget = widget.parentWidget()
    return False


def test_the_missing_answers_notice_leaves_with_its_page(qtbot: QtBot, paths: Paths) -> None:
    w = _wizard(qtbot, paths)
    wizard = w.wizard
    qtbot.mouseClick(wizard.next, Qt.MouseButton.LeftButton)
    assert wizard.notice.isVisibleTo(wizard)
    assert "needed on this page" in wizard.notice.text()
    wizard.go(3)
    assert not wizard.notice.isVisibleTo(wizard)
