"""A laptop set up by hand (no provisioning file) is asked for its site's country, from a
list, so the statutory deadlines of its screenings appear."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from fieldscreen.paths import Paths
from fieldscreen.settings import Settings
from fieldscreen.ui.common import Services
from fieldscreen.ui.main_window import MainWindow
from fieldscreen.ui.operations import Operations
from tests.gui.conftest import PASS, WAIT_MS, settle
from tests.support.memory_vault import MemoryVault


def _first_run(qtbot: QtBot, paths: Paths) -> MainWindow:
    from fieldscreen.app import build_context, builtin_forms

    forms = builtin_forms(build_context(str(paths.data.parent)))
    assert forms is not None
    w = MainWindow(Services(MemoryVault(), forms, Settings.load(paths.settings_file), Operations()))
    qtbot.addWidget(w)
    w.show()
    assert w.stack.currentWidget() is w.first_run
    return w


def test_typed_set_up_asks_for_the_country_and_the_deadlines_follow(
    qtbot: QtBot, paths: Paths
) -> None:
    w = _first_run(qtbot, paths)
    page = w.first_run
    assert page.country.isVisibleTo(page)
    codes = [page.country.itemData(i) for i in range(page.country.count())]
    assert codes[0] == ""  # not chosen, said as such
    assert {"MX", "US", "GT", "HN", "SV"} <= set(codes[1:6])  # the countries with deadlines
    page.country.setCurrentIndex(page.country.findData("MX"))
    qtbot.keyClicks(page.site, "tij1")
    qtbot.keyClicks(page.name, "ana")
    qtbot.keyClicks(page.passphrase, PASS)
    qtbot.keyClicks(page.repeat, PASS)
    qtbot.mouseClick(page.create_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.services.user is not None, timeout=WAIT_MS)
    settle(w)
    assert w.services.settings.get("site_country") == "MX"
    assert Settings.load(paths.settings_file).get("site_country") == "MX"
    context = w.services.forms.context
    assert context is not None
    assert context.get("jurisdiction") == "MX"
    assert context.get("site") == "tij1"


def test_the_country_setting_takes_only_a_two_letter_code(paths: Paths) -> None:
    import pytest

    from fieldscreen.errors import KnownError

    settings = Settings.load(paths.settings_file)
    settings.set("site_country", "GT")
    settings.set("site_country", "")
    with pytest.raises(KnownError) as raised:
        settings.set("site_country", "Mexico")
    assert raised.value.code == "setting-invalid"
