"""The tier badge: "not assessed yet" until the questions that decide a tier have answers,
never the green "no current risk" while a gateway question is open."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from fieldscreen.app import BUILTIN_FORMS_DIR, FIRST_FORMS
from fieldscreen.paths import Paths
from fieldscreen.settings import Settings
from fieldscreen.ui.common import Services
from fieldscreen.ui.main_window import MainWindow
from fieldscreen.ui.operations import Operations
from tests.gui.conftest import controller, settle, unlock
from tests.gui.test_journeys import choose, click, tick, type_into
from tests.support.memory_vault import MemoryVault


def badge(w: MainWindow) -> tuple[str, str]:
    return w.wizard.tier.text(), str(w.wizard.tier.property("tier") or "")


def test_the_badge_waits_for_the_gateway_answers(qtbot: QtBot, window: MainWindow) -> None:
    w = window
    unlock(qtbot, w)
    click(qtbot, w.home.start)
    text, tier = badge(w)
    assert "not assessed" in text
    assert tier != "T4"  # not the green "no current risk" on page 1
    choose(qtbot, w, "assent", "yes")
    tick(qtbot, w, "share", "legal")
    click(qtbot, w.wizard.next)
    type_into(qtbot, w, "alias", "Ana")
    type_into(qtbot, w, "age", "15")
    choose(qtbot, w, "feared_nearby", "no")
    assert "not assessed" in badge(w)[0]  # two gateway questions still open
    choose(qtbot, w, "travelling_alone", "yes")  # a tier is set: it shows, "so far"
    assert badge(w)[1] == "T1"
    assert "so far" in badge(w)[0]
    choose(qtbot, w, "travelling_alone", "no")
    assert "not assessed" in badge(w)[0]
    choose(qtbot, w, "made_to_work", "no")
    text, tier = badge(w)
    assert tier == "T4"  # every deciding question answered, none raised: a real "no risk"
    assert "No current risk" in text


@pytest.mark.skipif(
    not all((BUILTIN_FORMS_DIR / f"{f}.md").exists() for f in FIRST_FORMS),
    reason="this build ships no built-in forms",
)
def test_the_built_in_forms_start_not_assessed(qtbot: QtBot, paths: Paths, tmp_path: Path) -> None:
    from fieldscreen.app import build_context, builtin_forms

    forms = builtin_forms(build_context(str(paths.data.parent)))
    assert forms is not None
    vault = MemoryVault.with_users([("ana", "admin", "correct horse battery")])
    services = Services(vault, forms, Settings.load(paths.settings_file), Operations())
    w = MainWindow(services)
    qtbot.addWidget(w)
    w.show()
    unlock(qtbot, w, "correct horse battery")
    click(qtbot, w.home.start)
    settle(w)
    update = controller(w.wizard).session.current("en")
    assert update.undecided > 0
    text, tier = badge(w)
    assert "not assessed" in text
    assert tier != "T4"


#: A child who is safe here and now: the answers that would raise an act-now tier are "no".
SAFE: dict[str, Any] = {
    "fs_consent:teach_back": "understood",
    "fs_consent:urgent_medical_visible": "no",
    "fs_intake:b0_feels_safe_here": "yes",
    "fs_intake:b0_adult_caregiver_with_child": "yes",
}


@pytest.mark.skipif(
    not all((BUILTIN_FORMS_DIR / f"{f}.md").exists() for f in FIRST_FORMS),
    reason="this build ships no built-in forms",
)
def test_no_green_badge_on_the_identity_page_while_risk_questions_are_open(
    qtbot: QtBot, paths: Paths
) -> None:
    from fieldscreen.app import build_context, builtin_forms
    from tests.gui.test_builtin_journey import answer, press

    forms = builtin_forms(build_context(str(paths.data.parent)))
    assert forms is not None
    vault = MemoryVault.with_users([("ana", "admin", "correct horse battery")])
    services = Services(vault, forms, Settings.load(paths.settings_file), Operations())
    w = MainWindow(services)
    qtbot.addWidget(w)
    w.show()
    unlock(qtbot, w, "correct horse battery")
    press(qtbot, w.home.start)
    wiz = w.wizard
    engine = controller(wiz).session
    pages: list[str] = []
    for _ in range(60):
        page = wiz.current_page_name()
        if not pages or pages[-1] != page:
            pages.append(page)
            # the risk questions of the later pages (journey, return, violence) are all open
            assert engine.value("fs_intake:fear_of_return") is None
            text, tier = badge(w)
            assert tier != "T4", f"green on page {len(pages)} ({page}): {text}"
            assert "not assessed" in text
        if page == "fs_intake:b1_identity":
            break
        current = {v.name for p in wiz._pages if p.name == page for v in p.fields}
        missing = engine.missing_required(page, "en")
        for name in current:
            widget = wiz.widgets.get(name)
            if widget is None or not widget.isVisibleTo(wiz):
                continue
            if name in SAFE and engine.value(name) != SAFE[name]:
                answer(qtbot, name, widget, SAFE[name])
            elif name in missing:
                answer(qtbot, name, widget)
        press(qtbot, wiz.next)
    assert len(pages) == 10, pages  # the identity page is the tenth
    assert wiz.tier.toolTip()  # says how many deciding questions are still open


def test_the_results_say_not_assessed_while_deciding_questions_are_open(
    qtbot: QtBot, window: MainWindow
) -> None:
    """Reviewing a screening whose deciding questions are open: the results page and the
    referral sheet say "not assessed", never the green "no current risk"; once every deciding
    question has an answer and none raised a tier, they say "no current risk"."""
    w = window
    unlock(qtbot, w)
    click(qtbot, w.home.start)
    choose(qtbot, w, "assent", "yes")
    tick(qtbot, w, "share", "legal")
    click(qtbot, w.wizard.next)
    type_into(qtbot, w, "alias", "Ana")
    type_into(qtbot, w, "age", "15")
    results = w.results
    results.show_session(controller(w.wizard))
    assert results.undecided > 0
    assert "not assessed" in results.tier.text()
    assert "No current risk" not in results.tier.text()
    assert results.tier.property("tier") != "T4"
    assert "not assessed" in results.sheet_html()
    assert "No current risk" not in results.sheet_html()

    choose(qtbot, w, "feared_nearby", "no")
    choose(qtbot, w, "travelling_alone", "no")
    choose(qtbot, w, "made_to_work", "no")
    results.show_session(controller(w.wizard))
    assert results.undecided == 0
    assert "No current risk" in results.tier.text()
    assert results.tier.property("tier") == "T4"
    assert "No current risk" in results.sheet_html()
