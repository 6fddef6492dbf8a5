"""The Sync screen over a real SyncViewModel and BackgroundSync: states, counts, sync now,
retry, the background switch, home's glance, and that nothing runs on the GUI thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping

import pytest
from pytestqt.qtbot import QtBot

from fieldscreen.paths import Paths
from fieldscreen.sync.background import BackgroundSync
from fieldscreen.sync.engine import SyncSummary
from fieldscreen.sync.errors import SyncError
from fieldscreen.sync.view import SyncViewModel
from fieldscreen.ui.main_window import MainWindow
from fieldscreen.ui.sync_page import reason_text, state_text
from tests.gui.conftest import WAIT_MS, cell, make_services, unlock
from tests.support.memory_vault import MemoryVault

IDS = [f"{i:032x}" for i in range(1, 6)]


class Ledger:
    """The outbox's bookkeeping: every sync delivers what is pending, except what the server
    refuses (``refuse``: record id -> (state, reason))."""

    def __init__(self) -> None:
        self.state: dict[str, tuple[str, str | None]] = dict.fromkeys(IDS, ("pending", None))
        self.refuse: dict[str, tuple[str, str | None]] = {
            IDS[0]: ("failed", "too-large"),
            IDS[1]: ("quarantined", "conflict:server holds another version"),
        }
        self.threads: list[str] = []
        self.server_up = True
        #: What the sync did with handover packets: (sent, acknowledgements applied, held).
        self.handovers = (0, 0, 0)

    def states(self) -> Mapping[str, tuple[str, str | None]]:
        self.threads.append(threading.current_thread().name)
        return dict(self.state)

    def retry_failed(self) -> int:
        again = [r for r, (s, _) in self.state.items() if s == "failed"]
        for rid in again:
            self.state[rid] = ("pending", None)
        self.refuse.pop(IDS[0], None)
        return len(again)

    def pending(self) -> int:
        return sum(1 for s, _ in self.state.values() if s == "pending")

    def run_sync(self) -> SyncSummary:
        self.threads.append(threading.current_thread().name)
        if not self.server_up:
            raise SyncError("sync-unreachable")
        summary = SyncSummary()
        for rid, (state, _) in list(self.state.items()):
            if state != "pending":
                continue
            summary.sent += 1
            outcome = self.refuse.get(rid, ("delivered", None))
            self.state[rid] = outcome
            summary.delivered += outcome[0] == "delivered"
            summary.quarantined += outcome[0] == "quarantined"
        summary.handovers_sent, summary.handover_acks, summary.handovers_held = self.handovers
        return summary


@pytest.fixture
def ledger() -> Ledger:
    return Ledger()


@pytest.fixture
def window(qtbot: QtBot, paths: Paths, vault: MemoryVault, ledger: Ledger) -> Iterator[MainWindow]:
    services = make_services(paths, vault)
    background = BackgroundSync(
        probe=lambda: ledger.server_up, run_sync=ledger.run_sync, pending=ledger.pending
    )
    services.sync = SyncViewModel(ledger, background)
    w = MainWindow(services)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w, timeout=WAIT_MS)
    yield w
    w.services.ops.wait_idle()


def _table(w: MainWindow) -> list[tuple[str, str, str]]:
    t = w.sync_page.table
    return [(cell(t, r, 0), cell(t, r, 1), cell(t, r, 2)) for r in range(t.rowCount())]


def test_sync_now_shows_each_record_state_and_the_counts(
    qtbot: QtBot, window: MainWindow, ledger: Ledger
) -> None:
    unlock(qtbot, window)
    window.sync_timer.stop()
    window.show_sync()
    page = window.sync_page
    qtbot.waitUntil(lambda: page.table.rowCount() == 5, timeout=WAIT_MS)
    assert {row[1] for row in _table(window)} == {state_text("pending")}
    assert page.counts["pending"].text().endswith(": 5")
    assert not page.retry_button.isEnabled()
    qtbot.mouseClick(page.sync_now_button, qtbot_left())
    qtbot.waitUntil(
        lambda: not page.busy and page.counts["delivered"].text().endswith(": 3"), timeout=WAIT_MS
    )
    rows = _table(window)
    assert rows[0][1:] == (state_text("failed"), reason_text("too-large"))
    assert rows[1][1:] == (state_text("quarantined"), reason_text("conflict"))
    assert "delivered 3" in page.result.text()
    assert page.retry_button.isEnabled()
    assert threading.main_thread().name not in ledger.threads  # never on the GUI thread
    # retry: the failed record goes back to pending, and the next sync delivers it
    qtbot.mouseClick(page.retry_button, qtbot_left())
    qtbot.waitUntil(lambda: page.counts["pending"].text().endswith(": 1"), timeout=WAIT_MS)
    qtbot.mouseClick(page.sync_now_button, qtbot_left())
    qtbot.waitUntil(lambda: page.counts["delivered"].text().endswith(": 4"), timeout=WAIT_MS)
    assert page.counts["quarantined"].text().endswith(": 1")


def test_the_result_says_what_the_sync_did_with_handover_packets(
    qtbot: QtBot, window: MainWindow, ledger: Ledger
) -> None:
    """The app's sync moves the packets the case card queued: the result says how many went
    and how many acknowledgements came back, and that packets for a withdrawn partner are held
    until someone decides."""
    ledger.handovers = (1, 2, 3)
    unlock(qtbot, window)
    window.sync_timer.stop()
    window.show_sync()
    page = window.sync_page
    qtbot.mouseClick(page.sync_now_button, qtbot_left())
    qtbot.waitUntil(lambda: not page.busy and "Sent" in page.result.text(), timeout=WAIT_MS)
    text = page.result.text()
    assert "Handover packets sent 1, partner acknowledgements applied 2." in text
    assert "3 handover packet(s) held, not sent" in text


def test_a_failed_sync_says_why_and_keeps_the_records(
    qtbot: QtBot, window: MainWindow, ledger: Ledger
) -> None:
    ledger.server_up = False
    unlock(qtbot, window)
    window.sync_timer.stop()
    window.show_sync()
    page = window.sync_page
    qtbot.waitUntil(lambda: page.table.rowCount() == 5, timeout=WAIT_MS)
    qtbot.mouseClick(page.sync_now_button, qtbot_left())
    qtbot.waitUntil(
        lambda: not page.busy and "did not finish" in page.result.text(), timeout=WAIT_MS
    )
    assert ledger.pending() == 5
    assert page.sync_now_button.isEnabled()


def test_background_sync_ticks_on_a_worker_and_home_shows_the_glance(
    qtbot: QtBot, window: MainWindow, ledger: Ledger
) -> None:
    unlock(qtbot, window)
    assert window.sync_timer.isActive()
    window.sync_ticks.tick()
    qtbot.waitUntil(
        lambda: ledger.pending() == 0 and not window.sync_ticks.ticking, timeout=WAIT_MS
    )
    assert threading.main_thread().name not in ledger.threads
    window.show_home()
    qtbot.waitUntil(lambda: "need attention" in window.home.sync_state.text(), timeout=WAIT_MS)
    # switched off: the next tick sends nothing
    window.show_sync()
    qtbot.waitUntil(window.sync_page.background.isChecked, timeout=WAIT_MS)
    window.sync_page.background.setChecked(False)
    assert window.services.settings.get("background_sync") is False
    ledger.state[IDS[4]] = ("pending", None)
    window.sync_ticks.tick()
    qtbot.waitUntil(lambda: not window.sync_ticks.ticking, timeout=WAIT_MS)
    assert ledger.pending() == 1
    window.lock()
    assert not window.sync_timer.isActive()
    assert window.sync_page.table.rowCount() == 0


def test_a_laptop_not_enrolled_says_so_and_offers_no_sync(
    qtbot: QtBot, paths: Paths, vault: MemoryVault
) -> None:
    w = MainWindow(make_services(paths, vault))
    qtbot.addWidget(w)
    w.show()
    unlock(qtbot, w)
    assert not w.sync_timer.isActive()
    w.show_sync()
    assert "not enrolled" in w.sync_page.note.text()
    assert not w.sync_page.sync_now_button.isEnabled()
    assert not w.sync_page.background.isEnabled()
    w.services.ops.wait_idle()


def qtbot_left():  # type: ignore[no-untyped-def]
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton
