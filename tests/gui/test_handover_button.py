"""The case card's handover button on the real vault: it lists the partners of the site's signed
directory that have keys, opens the handover dialog and makes the same packet as
``fieldscreen handover`` (the partner opens it with ``fieldscreen-partner``), records the case
event ``handover-sent`` and says how many concerns the consent kept out; a coordinator's
release is offered to coordinators only; in English and Spanish."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from fieldscreen import crypto, partner_cli
from fieldscreen.device import open_settings, site_directory
from fieldscreen.paths import Paths
from fieldscreen.ui.backends import VaultBackend
from fieldscreen.ui.cases import CaseListPage
from fieldscreen.ui.common import Services
from fieldscreen.ui.i18n import install_translator
from fieldscreen.ui.operations import Operations
from fieldscreen.ui.preview import SampleForms
from fieldscreen.vault import Vault
from tests.gui.conftest import WAIT_MS
from tests.gui.test_journeys import click
from tests.integration.test_handover import PASS, laptop, partner_main
from tests.support.pdf_text import pdf_text, squeezed

__all__ = ["laptop"]  # the fixture: a provisioned laptop, its directory's partners and keys


@pytest.fixture(autouse=True)
def light_kdf(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    crypto.permit_test_parameters(True)
    monkeypatch.setattr(partner_cli, "kdf_params", crypto.KdfParams.for_tests)
    yield
    crypto.permit_test_parameters(False)


def _page(qtbot: QtBot, profile: Path, login: str, lang: str = "en") -> CaseListPage:
    paths = Paths.for_profile(profile)
    light = crypto.KdfParams.for_tests()
    store = VaultBackend(paths.vault_dir, kdf=light, new_key_kdf=light)

    def on_bug(error: BaseException, text: str) -> None:
        raise AssertionError(text)

    settings = open_settings(paths)
    services = Services(
        vault=store, forms=SampleForms(), settings=settings, ops=Operations(on_bug), lang=lang
    )
    services.user = store.unlock(login, PASS)
    page = CaseListPage(services)
    qtbot.addWidget(page)
    page.directory = site_directory(store.vault, settings)  # what the window reads after unlock
    return page


def _card(qtbot: QtBot, page: CaseListPage, case: str) -> Any:
    page.open_card(case, case[:6].upper())
    qtbot.waitUntil(lambda: page.card_dialog is not None, timeout=WAIT_MS)
    dialog = page.card_dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible, timeout=WAIT_MS)
    return dialog


def test_the_handover_button_makes_the_packet_the_partner_opens(
    qtbot: QtBot, laptop: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    profile, case, tmp = laptop["profile"], laptop["case"], laptop["tmp"]
    page = _page(qtbot, profile, "admin1")
    dialog = _card(qtbot, page, case)
    assert dialog.handover.isVisible()
    click(qtbot, dialog.handover)
    asked = dialog.handover_dialog
    assert asked is not None
    names = [asked.partners.itemData(i) for i in range(asked.partners.count())]
    assert names == ["receiver", "other"]  # the partner without keys cannot receive
    assert asked.reasons.isVisibleTo(asked)  # an admin may release
    assert not asked.send.isVisibleTo(asked)  # not enrolled: no server to send through
    assert not asked.ok.isEnabled()  # no file chosen yet
    packet = tmp / "from-the-card.json"
    qtbot.keyClicks(asked.file, str(packet))
    assert asked.ok.isEnabled()
    asked.pdf.setChecked(True)  # for a partner without the software
    click(qtbot, asked.ok)
    qtbot.waitUntil(dialog.handover_done.isVisible, timeout=WAIT_MS)
    page.services.ops.wait_idle(WAIT_MS)
    said = dialog.handover_done.text()
    assert said.startswith(f"Handover packet for receiver written to {packet}, sealed to its key.")
    pdf = packet.with_suffix(".pdf")
    assert f"The summary in English and Spanish is in {pdf} (not encrypted)." in said
    assert packet.is_file()
    opened = tmp / "opened-from-card"
    key = str(laptop["key"])
    assert partner_main(["open", str(packet), "--key", key, "--out", str(opened)]) == 0
    capsys.readouterr()
    summary = json.loads((opened / "summary.json").read_text(encoding="utf-8"))
    assert (summary["case_id"], summary["basis"]) == (case, "consent")
    _check_pdf(pdf.read_bytes(), summary, laptop)
    page.services.vault.lock()
    with Vault.open(Paths.for_profile(profile).vault_dir) as vault:
        vault.unlock("admin1", PASS.encode())
        card = vault.case_card(case)
        assert [h["partner"] for h in card["handovers"]] == ["receiver"]
        assert [e["type"] for e in card["events"]] == ["handover-sent"]
        assert [i.kind for i in vault.outbox_page(limit=100)].count("event") == 1


def _check_pdf(data: bytes, summary: dict[str, Any], laptop: dict[str, Any]) -> None:
    """The PDF says, in Spanish (the partner's language) and then English, what the packet
    the partner opened says, and none of the concerns the consent kept out."""
    from fieldscreen.forms.library import builtin_list

    assert data.startswith(b"%PDF")
    text = squeezed(pdf_text(data))
    code = laptop["case"][:6].upper()
    spanish, english = (
        text.find(squeezed(f"Traspaso del caso {code}")),
        text.find(squeezed(f"Case handover {code}")),
    )
    assert 0 <= spanish < english, "both languages, the partner's first"
    for words in (
        "Resumen del interés superior",
        "Plan de retorno",
        "la niña o el niño consintió compartirlo con ustedes",
        "Best-interests summary",
        "Return plan",
        "the child consented to share with you",
        "This summary is not encrypted",
        "Este resumen no está cifrado",
    ):
        assert squeezed(words) in text, words
    for row in summary["return_plan"]:  # the plan the packet holds, in the partner's language
        assert squeezed(str(row["label"])) in text[spanish:english], row["field"]
    labels = {c.name: c.label for c in builtin_list("protection_concerns")}
    shared = set(summary["summary"].get("concerns", ()))
    with Vault.open(Paths.for_profile(laptop["profile"]).vault_dir) as vault:
        vault.unlock("admin1", PASS.encode())
        on_card = set(vault.case_card(laptop["case"]).get("concerns") or ())
    for concern in shared:
        for lang in ("en", "es"):
            assert squeezed(labels[concern].get(lang) or concern) in text
    status = summary["summary"].get("protection_status")  # every packet says it, by design
    for concern in on_card - shared - {status}:  # kept out: no code, no long label
        assert squeezed(concern) not in text
        for lang in ("en", "es"):
            label = labels[concern].get(lang) or ""
            if len(label) >= 12:
                assert squeezed(label) not in text, concern


def test_a_partner_the_child_did_not_consent_to_is_refused_and_a_specialist_cannot_release(
    qtbot: QtBot, laptop: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    profile, case, tmp = laptop["profile"], laptop["case"], laptop["tmp"]
    shown: list[str] = []
    monkeypatch.setattr(
        "fieldscreen.ui.cases.show_error", lambda _parent, error, _lang: shown.append(error.code)
    )
    with Vault.open(Paths.for_profile(profile).vault_dir) as vault:
        vault.unlock("admin1", PASS.encode())
        vault.add_user("sofia", PASS.encode(), "specialist", admin_passphrase=PASS.encode())
    app = QApplication.instance()
    assert app is not None
    install_translator(app, "es")
    try:
        page = _page(qtbot, profile, "sofia", lang="es")
        dialog = _card(qtbot, page, case)
        assert dialog.handover.text() == "&Traspasar…"
        click(qtbot, dialog.handover)
        asked = dialog.handover_dialog
        assert asked is not None
        assert asked.windowTitle() == "Traspasar el caso"
        assert asked.ok.text() == "&Traspasar"
    finally:
        install_translator(app, "en")
    assert not asked.reasons.isVisibleTo(asked)  # a specialist gives no release
    asked.partners.setCurrentIndex(asked.partners.findData("other"))
    qtbot.keyClicks(asked.file, str(tmp / "refused.json"))
    click(qtbot, asked.ok)
    qtbot.waitUntil(lambda: bool(shown), timeout=WAIT_MS)
    assert shown == ["handover-not-consented"]
    assert not (tmp / "refused.json").exists()
    assert dialog.handover.isEnabled()  # it may be tried again
    assert not dialog.handover_done.isVisible()


def test_send_through_the_server_queues_the_packet_without_a_file(
    qtbot: QtBot, laptop: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """On an enrolled laptop the dialog offers "Send through the server": no file is needed,
    the packet is queued in the vault (what the next sync posts) and the card says so."""
    from unittest import mock

    from fieldscreen.device import VaultDeviceStore
    from fieldscreen.sync.view import SyncViewModel

    profile, case = laptop["profile"], laptop["case"]
    page = _page(qtbot, profile, "admin1")
    sync = mock.Mock(spec=SyncViewModel)  # enrolled: the server is known
    sync.matches = None
    page.services.sync = sync
    dialog = _card(qtbot, page, case)
    click(qtbot, dialog.handover)
    asked = dialog.handover_dialog
    assert asked is not None
    assert asked.send.isVisibleTo(asked)
    assert not asked.ok.isEnabled()
    asked.send.setChecked(True)
    assert asked.ok.isEnabled()  # no file needed
    assert not asked.pdf.isEnabled()  # the PDF goes beside a packet file
    click(qtbot, asked.ok)
    qtbot.waitUntil(dialog.handover_done.isVisible, timeout=WAIT_MS)
    page.services.ops.wait_idle(WAIT_MS)
    said = dialog.handover_done.text()
    assert said.startswith("Handover packet for receiver queued, sealed to its key")
    page.services.vault.lock()
    with Vault.open(Paths.for_profile(profile).vault_dir) as vault:
        vault.unlock("admin1", PASS.encode())
        (entry,) = vault.case_card(case)["handovers"]
        assert entry["via"] == "server"
        store = VaultDeviceStore(vault, open_settings(Paths.for_profile(profile)))
        ((partner, packet_id, packet),) = store.queued_handovers()
        assert (partner, packet_id) == ("receiver", entry["packet_id"])
    opened = laptop["tmp"] / "opened-queued"
    path = laptop["tmp"] / "queued.json"
    path.write_bytes(packet)
    key = str(laptop["key"])
    assert partner_main(["open", str(path), "--key", key, "--out", str(opened)]) == 0
    capsys.readouterr()
