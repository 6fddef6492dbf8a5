"""Shared GUI fixtures: the main window over the in-memory vault and the sample screening."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from PySide6.QtWidgets import QTableWidget, QWidget
from pytestqt.qtbot import QtBot

from fieldscreen.paths import Paths
from fieldscreen.settings import Settings
from fieldscreen.ui.common import Services
from fieldscreen.ui.fields import FieldWidget
from fieldscreen.ui.main_window import MainWindow
from fieldscreen.ui.operations import Operations
from fieldscreen.ui.preview import SampleForms
from fieldscreen.ui.wizard import WizardController, WizardPage
from tests.support.memory_vault import MemoryVault

PASS = "correct horse battery"

#: How long a test waits for something the app does in the background (a worker thread, a
#: timer, a server). Generous for a slow, busy CI machine: a wait that succeeds returns as soon
#: as its condition holds, so only a failing test waits this long.
WAIT_MS = 60_000


W = TypeVar("W", bound=FieldWidget)


def field_widget(wizard: WizardPage, name: str, kind: type[W]) -> W:
    """The wizard's widget for the question ``name``, checked to be a ``kind`` (what the test
    then drives: its buttons, boxes or editor)."""
    widget = wizard.widgets[name]
    assert isinstance(widget, kind), (name, type(widget).__name__)
    return widget


def make_services(paths: Paths, vault: MemoryVault | None = None, lang: str = "en") -> Services:
    bugs: list[BaseException] = []

    def on_bug(error: BaseException, text: str) -> None:
        bugs.append(error)
        raise AssertionError(text)

    return Services(
        vault=vault or MemoryVault(),
        forms=SampleForms(),
        settings=Settings.load(paths.settings_file),
        ops=Operations(on_bug=on_bug),
        lang=lang,
    )


@pytest.fixture
def vault() -> MemoryVault:
    return MemoryVault.with_users(
        [("ana", "admin", PASS), ("sup", "coordinator", "supervisor passphrase")]
    )


@pytest.fixture
def window(qtbot: QtBot, paths: Paths, vault: MemoryVault) -> Iterator[MainWindow]:
    w = MainWindow(make_services(paths, vault))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w, timeout=WAIT_MS)
    yield w
    w.services.ops.wait_idle()


def unlock(qtbot: QtBot, w: MainWindow, passphrase: str = PASS) -> None:
    assert w.stack.currentWidget() is w.unlock_page
    qtbot.waitUntil(lambda: w.unlock_page.user.count() > 0, timeout=WAIT_MS)
    qtbot.keyClicks(w.unlock_page.passphrase, passphrase)
    qtbot.keyClick(w.unlock_page.passphrase, "\r")
    qtbot.waitUntil(lambda: w.services.user is not None, timeout=WAIT_MS)


def settle(w: MainWindow) -> None:
    assert w.services.ops.wait_idle(WAIT_MS)


def cell(table: QTableWidget, row: int, column: int) -> str:
    """The text of a table's cell, which must be there."""
    item = table.item(row, column)
    assert item is not None, (row, column)
    return item.text()


def controller(wizard: WizardPage) -> WizardController:
    """The wizard's controller, which a screening under way must have."""
    assert wizard.controller is not None
    return wizard.controller


def current_page(w: MainWindow) -> QWidget:
    """The page the window shows, which must be one."""
    page = w.stack.currentWidget()
    assert page is not None
    return page


@pytest.fixture
def pdf_dir(tmp_path: Path) -> Path:
    d = tmp_path / "chosen"
    d.mkdir()
    return d
