# ruff: noqa: E501 -- the inline forms are tables, wider than code
"""The summary's referral and notification repeats fill from the screening's suggestions in one
click, only with what the child's consent allows, and stay the specialist's to edit."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from fieldscreen.forms import load_form_text
from fieldscreen.paths import Paths
from fieldscreen.settings import Settings
from fieldscreen.ui.common import Services
from fieldscreen.ui.dialogs import PassphraseDialog, ReasonDialog
from fieldscreen.ui.engine import Catalogue, EngineForms, EngineScreening
from fieldscreen.ui.fields import FieldWidget, RepeatWidget, SelectOneWidget, TextWidget
from fieldscreen.ui.main_window import MainWindow
from fieldscreen.ui.operations import Operations
from fieldscreen.ui.ports import result_to_json
from tests.gui.conftest import field_widget, settle, unlock
from tests.gui.test_journeys import click
from tests.gui.test_screens import open_dialog
from tests.support.memory_vault import MemoryVault

CONSENT = """
| survey |
|        | type          | name            | label::English (en)     | label::Español (es)        | required | appearance |
|        | begin group   | a6              | Sharing                 | Compartir                  |          | field-list |
|        | select_one yn | share_health    | Share with health?      | ¿Compartir con salud?      | yes      |            |
|        | select_one yn | share_consulate | Share with consulate?   | ¿Compartir con consulado?  | yes      |            |
|        | end group     |                 |                         |                            |          |            |
| choices |
|         | list_name | name | label::English (en) | label::Español (es) |
|         | yn        | yes  | Yes                 | Sí                  |
|         | yn        | no   | No                  | No                  |
| settings |
|          | form_id    | version | form_title | translated_title::Español (es) |
|          | fs_consent | 1       | Consent    | Consentimiento                 |
"""

INTAKE = """
| survey |
|        | type                       | name            | label::English (en) | label::Español (es)  | appearance |
|        | begin group                | b0              | Safety              | Seguridad            | field-list |
|        | select_one yn              | hurt            | Hurt?               | ¿Herido?             |            |
|        | select_one yn              | fears_state     | Fears the police?   | ¿Teme a la policía?  |            |
|        | select_one yn              | no_papers       | No papers?          | ¿Sin papeles?        |            |
|        | end group                  |                 |                     |                      |            |
|        | begin repeat               | referral        | Referral made       | Referencia hecha     |            |
|        | select_one service_types   | ref_service     | Service             | Servicio             |            |
|        | text                       | ref_provider    | Provider            | Proveedor            |            |
|        | select_one tiers           | ref_urgency     | Urgency             | Urgencia             |            |
|        | select_one basis           | ref_consent     | Basis               | Base                 |            |
|        | select_one status          | ref_status      | Status              | Estado               |            |
|        | end repeat                 |                 |                     |                      |            |
|        | begin repeat               | notification    | Authority notified  | Autoridad notificada |            |
|        | select_one authority       | notif_authority | Authority           | Autoridad            |            |
|        | text                       | notif_basis     | Legal basis         | Base legal           |            |
|        | end repeat                 |                 |                     |                      |            |
| choices |
|         | list_name     | name                 | label::English (en) | label::Español (es) | recipient |
|         | yn            | yes                  | Yes                 | Sí                  |           |
|         | yn            | no                   | No                  | No                  |           |
|         | service_types | emergency_medical    | Emergency care      | Urgencias           | health    |
|         | service_types | registration_service | Documents           | Documentos          | consulate |
|         | service_types | pfa                  | First aid           | Primeros auxilios   |           |
|         | tiers         | T0                   | Act now             | Actuar ya           |           |
|         | tiers         | T3                   | Within 7 days       | En 7 días           |           |
|         | basis         | consent_given        | Consent             | Consentimiento      |           |
|         | basis         | override_legal_basis | Exception           | Excepción           |           |
|         | basis         | not_needed           | Not needed          | No hace falta       |           |
|         | status        | pending              | Pending             | Pendiente           |           |
|         | status        | done                 | Done                | Hecha               |           |
|         | authority     | cp_authority         | CP authority        | Autoridad de protección |       |
|         | authority     | otip                 | OTIP                | OTIP                |           |
| rules |
|       | name     | when                   | tier | referrals                | deadlines | withholds | message::English (en) | message::Español (es) |
|       | T0_HURT  | ${hurt} = 'yes'        | T0   | emergency_medical pfa    | report    |           | Get care now          | Atención ya           |
|       | F_FEAR   | ${fears_state} = 'yes' |      |                          |           | consulate | No consulate          | Sin consulado         |
|       | F_PAPERS | ${no_papers} = 'yes'   | T3   | registration_service     |           |           | Papers                | Papeles               |
| deadlines |
|           | name   | jurisdiction | hours | label::English (en) | label::Español (es) | basis       | notifies     |
|           | report | *            | 0     | Report now          | Denunciar ya        | Child law 7 | cp_authority |
| settings |
|          | form_id   | version | form_title | translated_title::Español (es) |
|          | fs_intake | 1       | Intake     | Entrevista inicial             |
"""


def window(qtbot: QtBot, paths: Paths) -> MainWindow:
    forms = {f.id: f for f in (load_form_text(CONSENT, "a.md"), load_form_text(INTAKE, "b.md"))}
    engine = EngineForms(
        forms,
        ["fs_consent", "fs_intake"],
        catalogue=Catalogue(directory={"emergency_medical": ("Clínica Norte", "ext. 2")}),
    )
    vault = MemoryVault.with_users(
        [("ana", "admin", "correct horse battery"), ("sup", "coordinator", "supervisor passphrase")]
    )
    services = Services(vault, engine, Settings.load(paths.settings_file), Operations())
    w = MainWindow(services)
    qtbot.addWidget(w)
    w.show()
    unlock(qtbot, w)
    click(qtbot, w.home.start)
    return w


def test_fill_from_suggestions_adds_consented_rows_the_specialist_then_edits(
    qtbot: QtBot, paths: Paths
) -> None:
    w = window(qtbot, paths)
    wiz = w.wizard
    assert wiz.controller is not None
    session = wiz.controller.session
    assert isinstance(session, EngineScreening)  # the engine's sessions, one per form
    for name in ("fs_consent:share_health", "fs_consent:share_consulate"):
        click(qtbot, field_widget(wiz, name, SelectOneWidget).buttons["yes"])
    click(qtbot, wiz.next)
    for name in ("fs_intake:hurt", "fs_intake:fears_state", "fs_intake:no_papers"):
        click(qtbot, field_widget(wiz, name, SelectOneWidget).buttons["yes"])
    click(qtbot, wiz.next)
    assert wiz.current_page_name() == "fs_intake:referral"
    referral = wiz.widgets["fs_intake:referral"]
    assert isinstance(referral, RepeatWidget)
    assert referral.fill_button is not None
    click(qtbot, referral.fill_button)
    rows = session.value("fs_intake:referral")
    # the document referral needs the consulate, withheld because the child fears the police
    assert rows == [
        {
            "fs_intake:ref_service": "emergency_medical",
            "fs_intake:ref_provider": "Clínica Norte",
            "fs_intake:ref_urgency": "T0",
            "fs_intake:ref_consent": "consent_given",
            "fs_intake:ref_status": "pending",
        },
        {
            "fs_intake:ref_service": "pfa",
            "fs_intake:ref_urgency": "T0",
            "fs_intake:ref_consent": "not_needed",
            "fs_intake:ref_status": "pending",
        },
    ]
    assert "2 suggested rows added" in wiz.notice.text()
    assert len(referral._rows) == 2
    # the specialist edits a row; filling again keeps the edit and adds nothing
    provider = next(
        c
        for c in referral._rows[0].findChildren(FieldWidget)
        if getattr(getattr(c, "view", None), "name", "") == "fs_intake:ref_provider"
    )
    assert isinstance(provider, TextWidget)
    provider.editor.clear()
    qtbot.keyClicks(provider.editor, "Hospital General")
    click(qtbot, referral.fill_button)
    assert "already listed" in wiz.notice.text()
    rows = session.value("fs_intake:referral")
    assert len(rows) == 2
    assert rows[0]["fs_intake:ref_provider"] == "Hospital General"
    # removing a row is the specialist's call
    remove = [b for b in referral._rows[1].findChildren(type(referral.add_button)) if b.text()]
    click(qtbot, remove[-1])
    assert [r["fs_intake:ref_service"] for r in session.value("fs_intake:referral")] == [
        "emergency_medical"
    ]
    # the supervisor releases the consulate: the document referral can now be added
    session._sessions["fs_intake"].release("consulate", "Papers only; child agrees", "sup-01")
    click(qtbot, referral.fill_button)
    services = [r["fs_intake:ref_service"] for r in session.value("fs_intake:referral")]
    assert services == ["emergency_medical", "pfa", "registration_service"]
    assert session.value("fs_intake:referral")[2]["fs_intake:ref_urgency"] == "T3"
    # the notification repeat fills from the deadlines' authorities
    click(qtbot, wiz.next)
    notification = wiz.widgets["fs_intake:notification"]
    assert isinstance(notification, RepeatWidget)
    assert notification.fill_button is not None
    click(qtbot, notification.fill_button)
    assert session.value("fs_intake:notification") == [
        {"fs_intake:notif_authority": "cp_authority", "fs_intake:notif_basis": "Child law 7"}
    ]
    # a repeat with no suggestions to make offers no such button
    assert wiz.widgets["fs_consent:share_health"].view.fillable is False


def test_the_fill_button_speaks_the_screening_language(qtbot: QtBot, paths: Paths) -> None:
    from fieldscreen.ui.engine import EngineScreening

    forms = {f.id: f for f in (load_form_text(CONSENT, "a.md"), load_form_text(INTAKE, "b.md"))}
    engine = EngineForms(forms, ["fs_consent", "fs_intake"])
    screening = engine.start("es")
    assert isinstance(screening, EngineScreening)
    screening.set_answer("fs_consent:share_health", "no", "es")
    screening.set_answer("fs_intake:hurt", "yes", "es")
    # no consent to health: only the first aid given on site is filled in
    rows = screening.fill_from_suggestions("fs_intake:referral", "es")
    assert [r["fs_intake:ref_service"] for r in rows or []] == ["pfa"]
    assert screening.fill_from_suggestions("fs_intake:hurt", "es") is None
    assert forms["fs_intake"].title("es") == "Entrevista inicial"


def test_a_supervisor_releases_a_withheld_referral_on_the_results_page(
    qtbot: QtBot, paths: Paths
) -> None:
    w = window(qtbot, paths)
    wiz = w.wizard
    for name in ("fs_consent:share_health", "fs_consent:share_consulate"):
        click(qtbot, field_widget(wiz, name, SelectOneWidget).buttons["yes"])
    click(qtbot, wiz.next)
    for name in ("fs_intake:fears_state", "fs_intake:no_papers"):
        click(qtbot, field_widget(wiz, name, SelectOneWidget).buttons["yes"])
    click(qtbot, field_widget(wiz, "fs_intake:hurt", SelectOneWidget).buttons["no"])
    while w.stack.currentWidget() is not w.results:
        click(qtbot, wiz.next)
    r = w.results
    assert r.result is not None
    assert [(x.service_type, x.status) for x in r.result.referrals] == [
        ("registration_service", "withheld")
    ]
    assert "withheld" in r.referrals.text()
    assert result_to_json(r.result)["referrals"][0]["status"] == "withheld"
    assert r.release.isVisible()
    click(qtbot, r.release)
    reason = open_dialog("releaseDialog", ReasonDialog)
    assert reason.choice.currentData() == "registration_service"
    qtbot.keyClicks(reason.reason, "Birth certificate only; the child agrees")
    click(qtbot, reason.buttons.button(reason.buttons.StandardButton.Ok))
    sign = open_dialog("signOffDialog", PassphraseDialog)
    assert sign.user.findData("ana") == -1
    sign.user.setCurrentIndex(sign.user.findData("sup"))
    qtbot.keyClicks(sign.passphrase, "supervisor passphrase")
    sign.buttons.accepted.emit()
    settle(w)
    assert [(x.service_type, x.consented) for x in r.result.referrals] == [
        ("registration_service", True)
    ]
    assert not r.release.isVisible()
    state = r.session.to_state()  # type: ignore[union-attr]
    assert state["forms"]["fs_intake"]["releases"] == [
        {
            "name": "consulate",
            "reason": "Birth certificate only; the child agrees",
            "supervisor": "sup",
        }
    ]
