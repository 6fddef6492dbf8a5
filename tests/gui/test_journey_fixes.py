"""What a tired specialist tripped over when walking the journeys, each kept fixed."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, Qt
from pytestqt.qtbot import QtBot

from fieldscreen.paths import Paths
from fieldscreen.settings import Settings
from fieldscreen.ui.common import Services
from fieldscreen.ui.main_window import MainWindow
from fieldscreen.ui.operations import Operations
from fieldscreen.ui.preview import SampleForms
from tests.gui.conftest import WAIT_MS, controller, settle, unlock
from tests.support.memory_vault import MemoryVault


def _act_now_results(qtbot: QtBot, paths: Paths, context: dict[str, str]) -> MainWindow:
    from fieldscreen.app import build_context, builtin_forms

    forms = builtin_forms(build_context(str(paths.data.parent)))
    assert forms is not None
    forms.update_context(context)
    vault = MemoryVault.with_users([("ana", "admin", "correct horse battery")])
    w = MainWindow(Services(vault, forms, Settings.load(paths.settings_file), Operations()))
    qtbot.addWidget(w)
    w.show()
    unlock(qtbot, w)
    w.start_screening()
    settle(w)
    names = [p.name for p in w.wizard._pages]
    w.wizard.go(names.index("fs_intake:b0_safety"))
    for name in ("fs_intake:b0_feared_person_nearby", "fs_intake:b0_someone_tracking"):
        w.wizard.widgets[name].set_value("yes")
        controller(w.wizard).answer(name, "yes")
    controller(w.wizard).answer("fs_intake:travelling_with", "alone")
    settle(w)
    w.review()
    settle(w)
    return w


def test_no_deadlines_on_a_laptop_without_a_country_says_why(qtbot: QtBot, paths: Paths) -> None:
    """ "Deadlines: None." for an unaccompanied child would be read as "no deadline"; on a laptop
    never provisioned with its site the page says the deadlines cannot be worked out."""
    w = _act_now_results(qtbot, paths, {"site": "", "jurisdiction": ""})
    text = w.results.deadlines.text()
    assert "does not know its site's country" in text
    assert text != "None."


def test_a_laptop_that_knows_its_country_shows_the_deadlines(qtbot: QtBot, paths: Paths) -> None:
    w = _act_now_results(qtbot, paths, {"site": "tij1", "jurisdiction": "MX"})
    text = w.results.deadlines.text()
    assert text.startswith("•"), text
    assert "does not know" not in text


def _results_without_answers(qtbot: QtBot, paths: Paths, lang: str) -> MainWindow:
    from fieldscreen.app import build_context, builtin_forms

    forms = builtin_forms(build_context(str(paths.data.parent)))
    assert forms is not None
    forms.update_context({"site": "tij1", "jurisdiction": "MX"})
    vault = MemoryVault.with_users([("ana", "admin", "correct horse battery")])
    settings = Settings.load(paths.settings_file)
    w = MainWindow(Services(vault, forms, settings, Operations(), lang=lang))
    qtbot.addWidget(w)
    w.show()
    unlock(qtbot, w)
    w.start_screening()
    settle(w)
    w.review()
    settle(w)
    return w


def test_a_mexico_case_with_no_deadline_says_so_in_a_sentence(qtbot: QtBot, paths: Paths) -> None:
    """A case whose answers start no deadline on a site in Mexico read "Deadlines: None.", as
    if Mexico had none; the page and the referral sheet say that none of the answers started
    one there, and that one shows when an answer calls for it."""
    w = _results_without_answers(qtbot, paths, "en")
    assert w.results.result is not None
    assert not w.results.result.deadlines
    text = w.results.deadlines.text()
    assert text != "None."
    assert "none of its answers starts one for a site in Mexico" in text
    assert "None." not in w.results.sheet_html()
    assert "for a site in Mexico" in w.results.sheet_html()


def test_the_no_deadline_sentence_is_in_spanish_too(qtbot: QtBot, paths: Paths) -> None:
    from PySide6.QtWidgets import QApplication

    from fieldscreen.ui.i18n import install_translator

    app = QApplication.instance()
    assert app is not None
    install_translator(app, "es")
    try:
        w = _results_without_answers(qtbot, paths, "es")
        text = w.results.deadlines.text()
    finally:
        install_translator(app, "en")
    assert "México" in text, text
    assert "ninguna respuesta de este tamizaje" in text, text


def test_the_results_put_the_keyboard_on_the_next_step(qtbot: QtBot, paths: Paths) -> None:
    """After "Review results" the keyboard is not lost on a hidden page: an act-now case
    starts in "Actions taken", which finalising needs."""
    w = _act_now_results(qtbot, paths, {"site": "tij1", "jurisdiction": "MX"})
    assert w.results.tier_now == "T0"
    assert w.focusWidget() is w.results.actions_taken
    qtbot.keyClicks(w.focusWidget(), "Security called; child with the protection lead.")
    assert w.results.finalise.isEnabled()


def test_first_run_with_a_provisioning_file_and_an_error_fits_a_small_laptop(
    qtbot: QtBot, paths: Paths
) -> None:
    """The provisioning summary and an error made the card taller than 640 pixels, and Qt
    squeezed the passphrase boxes; the page scrolls instead, to the error and the button."""
    from tools import screenshots

    w = screenshots.first_run_provisioned(paths, "en")
    assert isinstance(w, MainWindow)
    qtbot.addWidget(w)
    w.resize(1024, 640)
    w.show()
    page = w.first_run
    assert page.provisioning is not None
    qtbot.keyClicks(page.name, "Marisol")
    qtbot.keyClicks(page.passphrase, "short")
    qtbot.keyClicks(page.repeat, "short")
    qtbot.mouseClick(page.create_button, Qt.MouseButton.LeftButton)
    settle(w)
    assert page.error.isVisible()
    assert w.height() <= 640
    for box in (page.name, page.passphrase, page.repeat):
        assert box.height() >= box.sizeHint().height(), box.accessibleName()
    viewport = page._scroll.viewport()
    for widget in (page.error, page.create_button):
        top_left = widget.mapTo(viewport, QPoint(0, 0))
        assert top_left.y() >= 0
        assert top_left.y() + widget.height() <= viewport.height()


def test_the_case_list_says_when_a_search_matches_nothing(qtbot: QtBot, paths: Paths) -> None:
    """An empty table alone looks like lost data to a tired specialist."""
    from tools import screenshots

    w = screenshots.cases(paths, "en")
    assert isinstance(w, MainWindow)
    qtbot.addWidget(w)
    w.show()
    settle(w)
    qtbot.waitUntil(lambda: w.cases.model.total == 5, timeout=WAIT_MS)
    qtbot.keyClicks(w.cases.search, "zzzz")
    assert w.cases.model.rowCount() == 0
    assert w.cases.count.text().startswith("Nothing matches this search.")
    assert "see all 5" in w.cases.count.text()
    w.cases.search.clear()
    assert w.cases.count.text() == "5 of 5 shown"


def test_an_empty_case_list_says_what_will_appear(qtbot: QtBot, paths: Paths) -> None:
    vault = MemoryVault.with_users([("ana", "admin", "correct horse battery")])
    w = MainWindow(Services(vault, SampleForms(), Settings.load(paths.settings_file), Operations()))
    qtbot.addWidget(w)
    w.show()
    unlock(qtbot, w)
    w.show_cases()
    settle(w)
    qtbot.waitUntil(lambda: "No cases or drafts yet" in w.cases.count.text(), timeout=WAIT_MS)


def test_confirming_buttons_say_what_they_do(qtbot: QtBot, paths: Paths) -> None:
    """ "OK" under "Screenings and drafts will no longer be readable" makes a tired user
    hesitate; the button says "Switch on travel mode", and the text reads as a paragraph."""
    from PySide6.QtWidgets import QApplication, QDialog, QDialogButtonBox

    from fieldscreen.ui.dialogs import DIALOG_MIN_WIDTH
    from tools import screenshots

    w = screenshots.settings(paths, "en")
    assert isinstance(w, MainWindow)
    qtbot.addWidget(w)
    w.show()
    w.settings_page.travel.click()
    (dialog,) = (
        d
        for d in QApplication.topLevelWidgets()
        if isinstance(d, QDialog) and d.isVisible() and d.objectName() == "confirmDialog"
    )
    try:
        buttons = dialog.findChild(QDialogButtonBox)
        assert buttons is not None
        ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        assert ok.text() == "Switch on travel mode"
        assert dialog.width() >= DIALOG_MIN_WIDTH
    finally:
        dialog.reject()


def test_report_weeks_say_when_they_start(qtbot: QtBot, paths: Paths) -> None:
    """ "2026-W41" alone makes a coordinator count weeks on a calendar."""
    from fieldscreen.ui.report_page import week_label
    from tools import screenshots

    w = screenshots.report(paths, "en")
    assert isinstance(w, MainWindow)
    qtbot.addWidget(w)
    combo = w.report_page.from_week
    qtbot.waitUntil(lambda: combo.count() > 1, timeout=WAIT_MS)
    assert combo.itemData(1) == "2026-W41"
    assert combo.itemText(1) == "2026-W41 · from Mon 5 Oct"
    assert week_label("2026-W41", "en") == "2026-W41 · from Mon 5 Oct"
    assert week_label("2026-W01", "en") == "2026-W01 · from Mon 29 Dec"
    assert week_label("not a week", "en") == "not a week"


def test_act_now_shows_the_emergency_steps_and_contacts_without_a_directory(
    qtbot: QtBot, paths: Paths
) -> None:
    """A laptop without a service directory showed no usable referral for an act-now case:
    the steps and the organisation's own emergency contacts from the settings always show."""
    settings = Settings.load(paths.settings_file)
    settings.set("emergency_contacts", "Protection lead Rosa: +52 664 000 0000; Shelter desk 911")
    settings.save()
    w = _act_now_results(qtbot, paths, {"site": "", "jurisdiction": ""})
    assert w.results.directory is None
    assert w.results.tier_now == "T0"
    assert w.results.emergency.isVisibleTo(w.results)
    text = w.results.emergency.text()
    assert "Stay with the child" in text
    assert "Protection lead Rosa: +52 664 000 0000" in text
    assert "Shelter desk 911" in text


def test_the_referral_sheet_of_an_act_now_case_carries_the_emergency_contacts(
    qtbot: QtBot, paths: Paths, pdf_dir: Path
) -> None:
    """The sheet travels with the child to the next service: for an act-now case it carries
    the emergency steps and the organisation's own contacts, read back from the PDF itself."""
    from tests.journey.pdftext import pdf_text, squeeze

    settings = Settings.load(paths.settings_file)
    settings.set("emergency_contacts", "Protection lead Rosa: +52 664 000 0000; Shelter desk 911")
    settings.save()
    w = _act_now_results(qtbot, paths, {"site": "", "jurisdiction": ""})
    target = pdf_dir / "sheet.pdf"
    w.results.save_sheet_to(target)
    text = squeeze(pdf_text(target.read_bytes()))
    for expected in (
        "Emergency steps",
        "Stay with the child",
        "Protection lead Rosa: +52 664 000 0000",
        "Shelter desk 911",
    ):
        assert squeeze(expected) in text, expected


def test_act_now_without_contacts_says_whom_to_call(qtbot: QtBot, paths: Paths) -> None:
    w = _act_now_results(qtbot, paths, {"site": "", "jurisdiction": ""})
    text = w.results.emergency.text()
    assert "Stay with the child" in text
    assert "No emergency contacts are set on this laptop" in text


def test_the_emergency_contacts_heading_is_in_spanish_too(qtbot: QtBot, paths: Paths) -> None:
    """The heading was written inside an f-string, which the string scan skips, so the Spanish
    results said "Emergency contacts" in English."""
    from PySide6.QtWidgets import QApplication

    from fieldscreen.ui.i18n import install_translator

    app = QApplication.instance()
    assert app is not None
    install_translator(app, "es")
    try:
        w = _act_now_results(qtbot, paths, {"site": "", "jurisdiction": ""})
        text = w.results.emergency.text()
    finally:
        install_translator(app, "en")
    assert "Contactos de emergencia" in text, text
    assert "Emergency contacts" not in text, text
