# ruff: noqa: E501 -- the inline forms are tables, wider than code
"""The wizard over the real form engine: three small forms written inline (consent, intake with a
gateway, the trafficking module it opens), driven through the real widgets."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from fieldscreen.forms import load_form_text
from fieldscreen.paths import Paths
from fieldscreen.settings import Settings
from fieldscreen.ui.common import Services
from fieldscreen.ui.engine import Catalogue, EngineForms
from fieldscreen.ui.fields import NumberWidget, SelectOneWidget, TextWidget
from fieldscreen.ui.main_window import MainWindow
from fieldscreen.ui.operations import Operations
from tests.gui.conftest import controller, field_widget, settle, unlock
from tests.gui.test_journeys import click
from tests.support.memory_vault import MemoryVault

CONSENT = """
| survey |
|        | type          | name         | label::English (en)  | label::Español (es)   | required |
|        | select_one yn | assent       | Agrees to talk?      | ¿Acepta hablar?       | yes      |
|        | select_one yn | share_legal  | Share with legal aid?| ¿Compartir con legal? | yes      |
| choices |
|         | list_name | name | label::English (en) | label::Español (es) |
|         | yn        | yes  | Yes                 | Sí                  |
|         | yn        | no   | No                  | No                  |
| settings |
|          | form_id    | version | form_title::English (en) | form_title::Español (es) |
|          | fs_consent | 1       | Consent                  | Consentimiento           |
"""

INTAKE = """
| survey |
|        | type          | name      | label::English (en) | label::Español (es) | required | constraint | constraint_message::English (en) | case_card |
|        | text          | alias     | Alias               | Alias               | yes      |            |                                  | yes       |
|        | integer       | age       | Age                 | Edad                | yes      | . < 18     | Under 18 only                    | yes       |
|        | select_one yn | feared    | Feared person near? | ¿Persona temida cerca? | yes   |            |                                  |           |
|        | select_one yn | work      | Made to work?       | ¿Lo obligaron a trabajar? | yes |           |                                  |           |
| choices |
|         | list_name | name | label::English (en) | label::Español (es) |
|         | yn        | yes  | Yes                 | Sí                  |
|         | yn        | no   | No                  | No                  |
| rules |
|       | name        | when                 | tier | concerns    | referrals | deadlines | opens          | message::English (en)        | message::Español (es)      |
|       | T0_FEARED   | ${feared} = 'yes'    | T0   | violence    | shelter   | now       |                | Move the child to safety now | Ponga al niño a salvo ya   |
|       | G_WORK      | ${work} = 'yes'      | T1   | trafficking | legal     | legal_24  | fs_trafficking |                              |                            |
| deadlines |
|           | name     | jurisdiction | hours | label::English (en) | label::Español (es) | basis |
|           | now      | *            | 0     | Safety plan         | Plan de seguridad   | SOP   |
|           | legal_24 | *            | 24    | Legal referral      | Referencia legal    | SOP   |
| settings |
|          | form_id   | version | form_title::English (en) | form_title::Español (es) |
|          | fs_intake | 1       | Intake                   | Tamizaje inicial         |
"""

TRAFFICKING = """
| survey |
|        | type          | name  | label::English (en) | label::Español (es) | required |
|        | select_one yn | debt  | Owes a debt?        | ¿Debe dinero?       | yes      |
| choices |
|         | list_name | name | label::English (en) | label::Español (es) |
|         | yn        | yes  | Yes                 | Sí                  |
|         | yn        | no   | No                  | No                  |
| settings |
|          | form_id        | version | form_title::English (en) | form_title::Español (es) |
|          | fs_trafficking | 1       | Trafficking indicators   | Indicadores de trata     |
"""


def engine() -> EngineForms:
    forms = {
        f.id: f
        for f in (
            load_form_text(CONSENT, "consent.md"),
            load_form_text(INTAKE, "intake.md"),
            load_form_text(TRAFFICKING, "trafficking.md"),
        )
    }
    return EngineForms(
        forms,
        ["fs_consent", "fs_intake"],
        catalogue=Catalogue(directory={"legal": ("Clínica", "ext. 2")}),
    )


def test_a_screening_over_the_form_engine(qtbot: QtBot, paths: Paths) -> None:
    vault = MemoryVault.with_users([("ana", "admin", "correct horse battery")])
    services = Services(
        vault=vault,
        forms=engine(),
        settings=Settings.load(paths.settings_file),
        ops=Operations(),
    )
    w = MainWindow(services)
    qtbot.addWidget(w)
    w.show()
    unlock(qtbot, w)
    click(qtbot, w.home.start)
    wiz = w.wizard
    names = [p.name for p in wiz._pages]
    assert names[0].startswith("fs_consent:")
    assert all(not n.startswith("fs_trafficking") for n in names)
    while wiz.current_page_name().startswith("fs_consent"):
        for name, widget in wiz.widgets.items():
            if name.startswith("fs_consent:") and widget.isVisible():
                assert isinstance(widget, SelectOneWidget), name
                click(qtbot, widget.buttons["yes"])
        click(qtbot, wiz.next)
    qtbot.keyClicks(field_widget(wiz, "fs_intake:alias", TextWidget).editor, "Ana")
    qtbot.keyClicks(field_widget(wiz, "fs_intake:age", NumberWidget).editor, "19")
    assert wiz.widgets["fs_intake:age"].message.text() == "Under 18 only"
    field_widget(wiz, "fs_intake:age", NumberWidget).editor.clear()
    qtbot.keyClicks(field_widget(wiz, "fs_intake:age", NumberWidget).editor, "15")
    assert not wiz.widgets["fs_intake:age"].message.isVisible()
    click(qtbot, field_widget(wiz, "fs_intake:feared", SelectOneWidget).buttons["yes"])
    assert wiz.banner.isVisible()
    assert "safety" in wiz.banner.body.text()
    click(qtbot, field_widget(wiz, "fs_intake:work", SelectOneWidget).buttons["yes"])
    assert "Trafficking indicators" in wiz.notice.text()
    assert any(p.name.startswith("fs_trafficking:") for p in wiz._pages)
    settle(w)
    # Resume from the saved state gives the same session.
    state = controller(wiz).session.to_state()
    again = services.forms.restore(state)
    assert again.to_state() == state
    while not wiz.current_page_name().startswith("fs_trafficking"):
        click(qtbot, wiz.next)
    click(qtbot, field_widget(wiz, "fs_trafficking:debt", SelectOneWidget).buttons["no"])
    click(qtbot, wiz.next)
    assert w.stack.currentWidget() is w.results
    result = w.results.result
    assert result is not None
    assert result.tier == "T0"
    assert result.concerns == ("violence", "trafficking")
    assert [(r.service_type, r.consented) for r in result.referrals] == [
        ("shelter", True),
        ("legal", True),
    ]
    record, card = w.results.record_and_card()
    assert card["alias"] == "Ana"
    assert card["age"] == 15
    assert record["tier"] == "T0"


def test_the_app_finds_the_built_in_forms_where_the_engine_keeps_them() -> None:
    from fieldscreen.app import BUILTIN_FORMS_DIR
    from fieldscreen.forms.library import BUILTIN_DIR

    assert BUILTIN_FORMS_DIR == BUILTIN_DIR
