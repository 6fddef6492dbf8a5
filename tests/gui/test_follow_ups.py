"""Follow-up dates on the real vault with a fake clock: finalising writes the tier's first date
on the case card; home lists it when due or overdue; recording a follow-up from the case card
moves the date on by the cadence, durably, and audited."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from unittest.mock import ANY

import pytest
from pytestqt.qtbot import QtBot

from fieldscreen import crypto
from fieldscreen.device import wire_signing
from fieldscreen.paths import Paths
from fieldscreen.settings import Settings
from fieldscreen.ui.backends import VaultBackend
from fieldscreen.ui.common import Services
from fieldscreen.ui.fields import AcknowledgeWidget, NumberWidget, SelectOneWidget
from fieldscreen.ui.main_window import MainWindow
from fieldscreen.ui.operations import Operations
from fieldscreen.ui.preview import SampleForms
from fieldscreen.vault import Vault
from tests.gui.conftest import PASS, WAIT_MS, field_widget, settle, unlock
from tests.gui.test_journeys import click, consent_and_intake

T = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


pytestmark = pytest.mark.usefixtures("light_kdf")  # Argon2id at the test parameters


@pytest.fixture
def real(qtbot: QtBot, paths: Paths) -> Iterator[MainWindow]:
    light = crypto.KdfParams.for_tests()
    store = VaultBackend(paths.vault_dir, kdf=light, new_key_kdf=light)
    store.create_user("ana", "admin", PASS)
    store.unlock("ana", PASS)
    _, sealing_public = crypto.generate_sealing_keypair()
    _, signing_public = crypto.generate_signing_keypair()
    store.vault.set_org_keys(sealing_public, signing_public)  # what provisioning does
    store.lock()
    settings = Settings.load(paths.settings_file)
    settings.set("follow_up_window_days", 30)

    def on_bug(error: BaseException, text: str) -> None:
        raise AssertionError(text)

    w = MainWindow(
        Services(vault=store, forms=SampleForms(), settings=settings, ops=Operations(on_bug))
    )
    qtbot.addWidget(w)
    w.show()
    yield w
    w.services.ops.wait_idle()
    if store._vault is not None:
        store._vault.close()


def due_items(w: MainWindow) -> list[str]:
    items = [w.home.follow_ups.item(i) for i in range(w.home.follow_ups.count())]
    return [i.text() for i in items if i.data(0x0100) is not None]


def test_finalise_schedules_and_a_recorded_follow_up_moves_the_date(
    qtbot: QtBot, real: MainWindow, paths: Paths
) -> None:
    w = real
    unlock(qtbot, w)
    settle(w)
    consent_and_intake(qtbot, w, feared="no", work="yes")
    click(qtbot, w.wizard.next)
    field_widget(w.wizard, "owes_debt", SelectOneWidget).buttons["yes"].click()
    qtbot.keyClicks(field_widget(w.wizard, "debt_amount", NumberWidget).editor, "300")
    field_widget(w.wizard, "understood", AcknowledgeWidget).check.click()
    click(qtbot, w.wizard.next)
    assert w.results.result is not None
    assert w.results.tier_now == "T1"  # weekly, four times
    w.results.clock = lambda: T
    click(qtbot, w.results.finalise)
    qtbot.waitUntil(lambda: w.stack.currentWidget() is w.home, timeout=WAIT_MS)
    settle(w)
    (case,) = w.services.vault.cases()
    assert case.next_due == T + 7 * DAY

    for day, listed in ((6, False), (7, True), (9, True)):  # not yet, due today, overdue
        w.home.clock = functools.partial(_an_hour_into, day)
        w.refresh_home()
        settle(w)
        assert bool(due_items(w)) is listed, day
    assert "overdue" in due_items(w)[0]

    # Open it from home and record the follow-up done on day 9.
    w.cases.clock = lambda: T + 9 * DAY
    w.home.follow_ups.itemActivated.emit(w.home.follow_ups.item(0))
    settle(w)
    dialog = w.cases.card_dialog
    assert dialog is not None
    assert dialog.isVisible()
    click(qtbot, dialog.record)
    settle(w)
    assert not dialog.isVisible()
    (case,) = w.services.vault.cases()
    assert case.next_due == T + 16 * DAY  # seven days after it was done
    assert due_items(w) == []  # home refreshed: nothing due on day 9 any more

    # Another case event from the card: a referral made, with a note.
    w.cases.open_card(case.screening_id, "X")
    settle(w)
    dialog = w.cases.card_dialog
    assert dialog is not None
    assert dialog.timeline.count() == 2  # the screening, the follow-up
    click(qtbot, dialog.add_event)
    asked = dialog.event_dialog
    asked.types.setCurrentIndex(asked.types.findData("referral"))
    assert not asked.reasons.isEnabled()  # only a closed case has a reason
    qtbot.keyClicks(asked.notes, "legal aid")
    click(qtbot, asked.ok)
    settle(w)
    assert not dialog.isVisible()

    w.lock()
    settle(w)
    vault = Vault.open(paths.vault_dir)
    try:
        vault.unlock("ana", PASS.encode())
        wire_signing(vault)  # the outbox's signatures are checked as the app made them
        card = vault.case_card(case.screening_id)
        assert card["next_due"] == (T + 16 * DAY).isoformat()
        assert card["follow_up"]["done"] == [(T + 9 * DAY).isoformat()]
        assert vault.integrity_check().ok
        assert [e.action for e in vault.audit_log()].count("follow-up") == 1
        # sealed for the team in the same transaction: queued before the app said saved
        done, referral = [i for i in vault.outbox_page(limit=100) if i.kind == "event"]
        assert card["events"] == [
            {"id": done.record_id, "type": "follow-up", "at": ANY},
            {"id": referral.record_id, "type": "referral", "at": ANY, "note": "legal aid"},
        ]
    finally:
        vault.close()


def test_the_case_card_shows_the_timeline_oldest_first(qtbot: QtBot) -> None:
    from fieldscreen.ui.cases import CaseCardDialog

    card = {
        "tier": "T2",
        "follow_up": {"start": T.isoformat(), "done": [], "every_days": 7, "times": 4},
        "events": [
            {"id": "b", "type": "closed", "at": "2026-11-29T10:00Z", "reason": "reunified"},
            {"id": "a", "type": "referral", "at": "2026-11-28T09:30Z", "note": "legal aid"},
        ],
    }
    dialog = CaseCardDialog("ABC123", card)
    qtbot.addWidget(dialog)
    rows = [dialog.timeline.item(i).text() for i in range(dialog.timeline.count())]
    assert len(rows) == 3
    assert rows[0].endswith("Screening")
    assert rows[1].endswith("Referral made: legal aid")
    assert rows[2].endswith("Case closed (reunified with family)")


def test_the_specialist_sees_an_earlier_screening_and_links_the_cases(
    qtbot: QtBot, paths: Paths
) -> None:
    """With the laptop enrolled, the case card asks the server (off the GUI thread) for earlier
    screenings of this child: shown with their site, week and tier when the server names them
    (the child agreed), and linked as a sealed case event; otherwise it says none is known."""
    import threading
    from types import SimpleNamespace

    from fieldscreen.ui.cases import CaseCardDialog, CaseListPage
    from tests.gui.conftest import make_services
    from tests.support.memory_vault import MemoryVault

    case_id, other = "c" * 32, "d" * 32
    earlier = {"record_id": "a" * 32, "site": "tij1", "week": "2026-W40", "tier": "T1"}
    threads: list[bool] = []

    def matches() -> list[dict[str, object]]:
        threads.append(threading.current_thread() is threading.main_thread())
        return [
            {"record_id": case_id, "earlier": [earlier]},
            {"record_id": other, "earlier": [{**earlier, "record_id": "e" * 32}]},
        ]

    vault = MemoryVault.with_users([("ana", "specialist", PASS)])
    services = make_services(paths, vault)
    services.user = vault.unlock("ana", PASS)
    services.sync = SimpleNamespace(matches=matches)  # type: ignore[assignment]
    page = CaseListPage(services)
    qtbot.addWidget(page)
    dialog = CaseCardDialog("CCCCCC", {"tier": "T2"}, page, can_check_earlier=True)
    qtbot.addWidget(dialog)
    dialog.earlier_requested.connect(lambda: page.check_earlier(case_id, dialog))
    dialog.show()
    assert dialog.check_earlier.isVisible()
    assert not dialog.link.isVisible()
    click(qtbot, dialog.check_earlier)
    qtbot.waitUntil(dialog.earlier.isVisible, timeout=WAIT_MS)
    assert threads == [False]
    assert dialog.earlier.text().startswith("A previous screening exists: site tij1, week 2026-W40")
    assert "e" * 32 not in dialog.earlier.text()  # another case's match is not this one's
    assert dialog.link.isVisible()
    with qtbot.waitSignal(dialog.event_requested, timeout=WAIT_MS) as linked:
        click(qtbot, dialog.link)
    kind, reason, note = linked.args
    assert (kind, reason) == ("linked", "")
    assert "a" * 32 in note
    assert "site tij1" in note
    dialog.show_earlier([])  # the server named none: said so, nothing to link
    assert dialog.earlier.text().startswith("No earlier screening is known")
    assert not dialog.link.isVisible()
    unenrolled = CaseCardDialog("CCCCCC", {"tier": "T2"})
    qtbot.addWidget(unenrolled)
    assert not unenrolled.check_earlier.isVisibleTo(unenrolled)


def _an_hour_into(day: int) -> datetime:
    return T + day * DAY + timedelta(hours=1)
