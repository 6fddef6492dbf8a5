"""First run asks for a login and calls it one: the rule shows before anything is typed, a
wrong login is said while it is typed, and a refused login never costs the two passphrases."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from fieldscreen.errors import KnownError
from fieldscreen.paths import Paths
from fieldscreen.ui.main_window import MainWindow
from fieldscreen.ui.ports import LOGIN_PATTERN, login_problem, suggest_login
from tests.gui.conftest import PASS, WAIT_MS, make_services, settle
from tests.gui.test_journeys import click
from tests.support.memory_vault import MemoryVault


def first_run(qtbot: QtBot, paths: Paths, vault: MemoryVault) -> MainWindow:
    w = MainWindow(make_services(paths, vault))
    qtbot.addWidget(w)
    w.show()
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow, timeout=WAIT_MS)
    assert w.stack.currentWidget() is w.first_run
    return w


def test_a_name_typed_as_the_login_is_refused_while_typed_and_keeps_the_passphrases(
    qtbot: QtBot, paths: Paths
) -> None:
    vault = MemoryVault()
    w = first_run(qtbot, paths, vault)
    page = w.first_run
    field = page.name.parentWidget()
    assert field is not None
    label = page._form.labelForField(field)
    assert label is not None
    assert "login" in label.text().lower()  # type: ignore[attr-defined]
    assert page.login_rule.isVisible()  # the rule, before anything is typed
    assert "no spaces" in page.login_rule.text()
    qtbot.keyClicks(page.name, "Ana Lopez")
    assert page.login_error.isVisible()  # said while typing, not after a submit
    assert "spaces" in page.login_error.text()
    assert "ana.lopez" in page.login_error.text()
    assert page.name.property("invalid") is True
    qtbot.keyClicks(page.passphrase, PASS)
    qtbot.keyClicks(page.repeat, PASS)
    click(qtbot, page.create_button)
    settle(w)
    assert not vault.is_set_up()
    assert page.passphrase.text() == PASS
    assert page.repeat.text() == PASS
    assert QApplication.focusWidget() is page.name
    page.name.clear()
    qtbot.keyClicks(page.name, "ana.lopez")
    assert not page.login_error.isVisible()
    assert page.name.property("invalid") is False
    click(qtbot, page.create_button)
    qtbot.waitUntil(lambda: w.stack.currentWidget() is w.home, timeout=WAIT_MS)
    settle(w)
    assert [u.name for u in vault.users()] == ["ana.lopez"]


class _RefusingVault(MemoryVault):
    """A store that refuses the login only when asked (a rule of its own, a name taken)."""

    def create_user(self, name: str, role: str, passphrase: str, confirm: str = "") -> None:
        raise KnownError("vault-login-invalid")


def test_a_login_the_store_refuses_after_submit_keeps_the_passphrases(
    qtbot: QtBot, paths: Paths
) -> None:
    vault = _RefusingVault()
    w = first_run(qtbot, paths, vault)
    page = w.first_run
    qtbot.keyClicks(page.name, "ana")
    qtbot.keyClicks(page.passphrase, PASS)
    qtbot.keyClicks(page.repeat, PASS)
    click(qtbot, page.create_button)
    settle(w)
    assert page.error.isVisible()
    assert page.passphrase.text() == PASS
    assert page.repeat.text() == PASS
    assert QApplication.focusWidget() is page.name
    assert page.create_button.isEnabled()


@pytest.mark.parametrize(
    "login",
    [
        "ana",
        "ana.lopez",
        "a@b-c_d",
        "Coordinación",
        "x" * 64,
        "",
        "Ana Lopez",
        "a/b",
        "x" * 65,
        "tab\there",
        "ana lópez",
        "ñandú",
        "semi;colon",
    ],
)
def test_the_screens_rule_is_the_vaults_rule(login: str) -> None:
    from fieldscreen.errors import KnownError as Refused
    from fieldscreen.vault.base import _check_login

    try:
        _check_login(login)
        accepted = True
    except Refused:
        accepted = False
    assert (login_problem(login) is None) == accepted, (login, LOGIN_PATTERN)
    suggestion = suggest_login(login)
    assert suggestion == "" or login_problem(suggestion) is None
