"""A draft saved with an earlier version of the built-in forms, resumed with the current ones,
through the real main window: quiet when every answer fits, asked first when some do not, the
set-aside answers in view (read only), and nothing written until the specialist continues."""

from __future__ import annotations

import dataclasses
import json
import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from fieldscreen.app import FIRST_FORMS
from fieldscreen.forms import Choice, Form, Session, Texts
from fieldscreen.forms.library import builtin_forms
from fieldscreen.paths import Paths
from fieldscreen.settings import Settings
from fieldscreen.ui.common import Services
from fieldscreen.ui.draft_dialogs import MigrateDialog
from fieldscreen.ui.engine import EngineForms, EngineScreening
from fieldscreen.ui.main_window import MainWindow
from fieldscreen.ui.operations import Operations
from fieldscreen.ui.supervision import SupervisionModel
from tests.gui.conftest import WAIT_MS, controller, settle, unlock
from tests.support.memory_vault import MemoryVault

CURRENT = builtin_forms()
OLD_VERSION = "2026112701"
SECRET = "Rosa-Canary-7731"  # an answer: it must show only in the set-aside panel


def old_forms(*, extra_choice: bool) -> dict[str, Form]:
    """The built-in forms as they were: an earlier version; optionally with a choice of
    ``sex`` that the current version no longer offers."""
    forms = {fid: dataclasses.replace(f, version=OLD_VERSION) for fid, f in CURRENT.items()}
    if extra_choice:
        intake = forms["fs_intake"]
        sex = intake.fields["sex"]
        gone = Choice("old_option", Texts({"en": "Old option", "es": "Opción antigua"}))
        fields = dict(intake.fields)
        fields["sex"] = dataclasses.replace(sex, choices=(*sex.choices, gone))
        forms["fs_intake"] = dataclasses.replace(intake, fields=fields)
    return forms


def draft_state(forms: dict[str, Form]) -> dict[str, Any]:
    sessions = {fid: Session.start(forms[fid], "en", {"site": "s1"}) for fid in FIRST_FORMS}
    sessions["fs_intake"].set_answer("alias", SECRET)
    sex = forms["fs_intake"].fields["sex"]
    sessions["fs_intake"].set_answer("sex", sex.choices[-1].name)
    screening = EngineScreening(forms, sessions, datetime(2026, 11, 27, 9, tzinfo=UTC))
    return json.loads(json.dumps({"session": screening.to_state(), "page": ""}))


def window(qtbot: QtBot, paths: Paths, vault: MemoryVault) -> MainWindow:
    services = Services(
        vault=vault,
        forms=EngineForms(CURRENT, FIRST_FORMS, {"site": "s1"}),
        settings=Settings.load(paths.settings_file),
        ops=Operations(),
    )
    w = MainWindow(services)
    qtbot.addWidget(w)
    w.show()
    unlock(qtbot, w)
    return w


def versions(state: Any) -> set[str]:
    return {s["form"]["version"] for s in state["session"]["forms"].values()}


def versions_by_form(state: Any) -> dict[str, str]:
    """Each form of the draft and the version it was written with (each form has its own)."""
    return {fid: s["form"]["version"] for fid, s in state["session"]["forms"].items()}


def test_every_answer_fits_resumes_quietly(qtbot: QtBot, paths: Paths, vault: MemoryVault) -> None:
    w = window(qtbot, paths, vault)
    saved = draft_state(old_forms(extra_choice=False))
    rid = vault.new_draft("screening", OLD_VERSION, saved)
    w.resume(rid)
    qtbot.waitUntil(lambda: w.stack.currentWidget() is w.wizard, timeout=WAIT_MS)
    assert w.findChild(MigrateDialog) is None
    assert "all answers were kept" in w.wizard.notice.text()
    assert not w.wizard.set_aside.isVisible()
    session = controller(w.wizard).session
    assert session.value("fs_intake:alias") == SECRET


def test_answers_that_no_longer_fit_ask_first(
    qtbot: QtBot, paths: Paths, vault: MemoryVault, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    w = window(qtbot, paths, vault)
    saved = draft_state(old_forms(extra_choice=True))
    rid = vault.new_draft("screening", OLD_VERSION, saved)
    home = w.stack.currentWidget()

    # "Not now": the draft stays exactly as it was, nothing opens.
    w.resume(rid)
    qtbot.waitUntil(lambda: w.findChild(MigrateDialog) is not None, timeout=WAIT_MS)
    dialog = w.findChild(MigrateDialog)
    assert dialog is not None
    shown = [dialog.questions.item(i).text() for i in range(dialog.questions.count())]
    sex_label = CURRENT["fs_intake"].fields["sex"].label.get("en")
    assert shown == [f"{CURRENT['fs_intake'].title('en')}: {sex_label}"]
    assert all("old_option" not in q and SECRET not in q for q in shown)  # labels, not answers
    dialog.later.click()
    settle(w)
    assert w.stack.currentWidget() is home
    assert vault.load_draft(rid) == saved

    # "Resume with the new form": opened, the set-aside answer in view, nothing written yet.
    w.resume(rid)
    qtbot.waitUntil(lambda: w.findChild(MigrateDialog) is not None, timeout=WAIT_MS)
    dialog = w.findChild(MigrateDialog)
    assert dialog is not None
    dialog.resume.click()
    qtbot.waitUntil(lambda: w.stack.currentWidget() is w.wizard, timeout=WAIT_MS)
    wiz = w.wizard
    assert wiz.set_aside.isVisible()
    items = [
        wiz.set_aside.tree.topLevelItem(i) for i in range(wiz.set_aside.tree.topLevelItemCount())
    ]
    assert None not in items
    rows = [[item.text(c) for c in range(3)] for item in items if item is not None]
    assert rows == [[dialog.questions.item(0).text(), "old_option", rows[0][2]]]
    assert "no longer offered" in rows[0][2]
    settle(w)
    # A crash now (before the specialist continues) leaves the old draft intact.
    assert vault.load_draft(rid) == saved
    assert versions(vault.load_draft(rid)) == {OLD_VERSION}

    # The specialist continues: the autosave writes the new version, the set-aside kept.
    wiz.go(wiz.stack.currentIndex() + 1)
    settle(w)
    written = vault.load_draft(rid)
    assert versions_by_form(written) == {fid: CURRENT[fid].version for fid in FIRST_FORMS}
    intake = written["session"]["forms"]["fs_intake"]
    assert intake["migrated_from"] == OLD_VERSION
    assert [(d["name"], d["value"], d["reason"]) for d in intake["dropped"]] == [
        ("sex", "old_option", "choice")
    ]
    assert [a[2] for a in intake["answers"] if a[0] == "alias"] == [SECRET]
    hits = [r for r in caplog.records if SECRET in r.getMessage() or "old_option" in r.getMessage()]
    assert hits == []  # canary hits 0: answers never reach the log


def test_the_supervisor_queue_reads_an_old_draft() -> None:
    forms = EngineForms(CURRENT, FIRST_FORMS, {"site": "s1"})
    saved = draft_state(old_forms(extra_choice=True))
    model = SupervisionModel(backend=None, forms=forms)
    draft = model._read_draft(saved, "en")
    assert draft is not None
    assert draft.alias == SECRET


def test_asked_in_the_users_language(qtbot: QtBot) -> None:
    from PySide6.QtWidgets import QApplication, QWidget

    from fieldscreen.ui.draft_dialogs import ask_before_migrating
    from fieldscreen.ui.engine import EngineForms as Engine
    from fieldscreen.ui.i18n import install_translator

    saved = draft_state(old_forms(extra_choice=True))
    plan = Engine(CURRENT, FIRST_FORMS).migration(saved["session"], "es")
    intake = CURRENT["fs_intake"]
    assert plan.questions() == [f"{intake.title('es')}: {intake.fields['sex'].label.get('es')}"]
    assert "ya no se ofrece" in plan.dropped[0].reason
    app = QApplication.instance()
    assert app is not None
    install_translator(app, "es")
    try:
        parent = QWidget()
        qtbot.addWidget(parent)
        proceeded: list[bool] = []
        dialog = ask_before_migrating(parent, plan.questions(), lambda: proceeded.append(True))
        assert dialog.resume.text() == "Continuar con el formulario nuevo"
        assert dialog.later.text() == "Ahora no"
        assert dialog.windowTitle() == "El formulario se ha actualizado"
        dialog.resume.click()
        assert proceeded == [True]
    finally:
        install_translator(app, "en")
