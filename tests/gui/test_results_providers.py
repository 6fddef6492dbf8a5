"""The results page and the referral sheet list, for each consented referral, the providers of
that type in the site's directory; nothing for a referral the child did not consent to; a clear
note when there is no directory, and the sample notice on sample data."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytestqt.qtbot import QtBot

from fieldscreen.directory import ServiceDirectory, sample_directory
from fieldscreen.paths import Paths
from fieldscreen.ui.ports import Referral, ScreeningResult, Update
from fieldscreen.ui.results import ResultsPage
from tests.gui.conftest import make_services

MX = "mx-tapachula-sample"
GT = "gt-quetzaltenango-sample"


@dataclass
class Session:
    form_id: str = "fs_intake"
    form_version: str = "1"

    def to_state(self) -> dict[str, Any]:
        return {}

    def case_card(self) -> dict[str, Any]:
        return {"alias": "Ana"}

    def tier_override(self) -> None:
        return None

    def follow_up_cadence(self) -> None:
        return None

    def aggregate(self, day: Any) -> None:
        return None

    def current(self, lang: str) -> Update:
        return Update(tier="T1")

    def result(self, lang: str) -> ScreeningResult:
        return ScreeningResult(
            "T1",
            ("Separated",),
            (),
            (
                Referral("pfa", "Psychological first aid", "", "", True),
                Referral("emergency_medical", "Emergency care", "", "", True),
                Referral("legal_service", "Legal aid", "", "", False),
            ),
        )


@dataclass
class Controller:
    session: Any
    code: str = "ABC123"


def page_for(qtbot: QtBot, paths: Paths, directory: ServiceDirectory | None) -> ResultsPage:
    page = ResultsPage(make_services(paths))
    qtbot.addWidget(page)
    page.set_directory(directory)
    page.show_session(Controller(Session()))  # type: ignore[arg-type]
    return page


def phones(directory: ServiceDirectory, service: str) -> set[str]:
    return {p.email for p in directory.providers_for(service)}


def test_each_site_shows_its_own_providers(qtbot: QtBot, paths: Paths) -> None:
    mx, gt = sample_directory(MX), sample_directory(GT)
    assert mx is not None
    assert gt is not None
    page = page_for(qtbot, paths, mx)
    text = page.referrals.text()
    assert phones(mx, "pfa")
    assert all(p in text for p in phones(mx, "pfa"))
    assert all(p in text for p in phones(mx, "emergency_medical"))
    assert not any(p in text for p in phones(gt, "pfa"))
    assert mx.notice["en"] in page.directory_note.text()  # sample data says so
    for provider in mx.providers_for("legal_service"):  # no consent: nobody listed
        assert provider.email not in text
    page.set_directory(gt)
    text = page.referrals.text()
    assert all(p in text for p in phones(gt, "pfa"))
    assert not any(p in text for p in phones(mx, "pfa"))


def test_without_a_directory_the_page_says_how_to_get_one(qtbot: QtBot, paths: Paths) -> None:
    page = page_for(qtbot, paths, None)
    assert "No service directory" in page.directory_note.text()
    assert "Settings" in page.directory_note.text()
    assert "Psychological first aid" in page.referrals.text()


def test_the_referral_sheet_lists_the_consented_providers(
    qtbot: QtBot, paths: Paths, pdf_dir: Path
) -> None:
    mx = sample_directory(MX)
    assert mx is not None
    page = page_for(qtbot, paths, mx)
    sheet = page.sheet_html()
    for provider in mx.providers_for("pfa"):
        assert provider.email in sheet
        assert provider.name["en"] in sheet
    for provider in mx.providers_for("legal_service"):
        if "pfa" not in provider.service_types and "emergency_medical" not in (
            provider.service_types
        ):
            assert provider.email not in sheet
    assert mx.notice["en"] in sheet
    target = pdf_dir / "sheet.pdf"
    page.save_sheet_to(target)
    assert target.read_bytes().startswith(b"%PDF")


def test_the_case_card_keeps_the_providers_of_each_consented_referral(
    qtbot: QtBot, paths: Paths
) -> None:
    from fieldscreen.ui.cases import CaseCardDialog

    mx = sample_directory(MX)
    assert mx is not None
    page = page_for(qtbot, paths, mx)
    record, card = page.record_and_card()
    assert record["directory"] == {"id": mx.directory_id, "version": mx.version}
    kept = {r["service_type"]: [p["id"] for p in r["providers"]] for r in card["referrals"]}
    assert kept["pfa"] == [p.id for p in mx.providers_for("pfa")]
    assert kept["pfa"]
    assert kept["legal_service"] == []  # no consent, no provider
    dialog = CaseCardDialog("ABC123", card)
    qtbot.addWidget(dialog)
    assert mx.providers_for("pfa")[0].name["en"] in dialog.body.text()
