"""The screens over the real encrypted vault: first run, a screening, lock, crash, finalise.

Light Argon2id parameters are permitted explicitly for this module (the vault's test hook).
A canary typed into the form must never appear in any file the app wrote.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from fieldscreen import crypto
from fieldscreen.paths import Paths
from fieldscreen.settings import Settings
from fieldscreen.ui.backends import VaultBackend
from fieldscreen.ui.common import Services
from fieldscreen.ui.main_window import MainWindow
from fieldscreen.ui.operations import Operations
from fieldscreen.ui.preview import SampleForms
from tests.gui.conftest import PASS, WAIT_MS, controller, settle, unlock
from tests.gui.test_journeys import choose, click, consent_and_intake, type_into

CANARY = "Zq7canaryXw"


pytestmark = pytest.mark.usefixtures("light_kdf")  # Argon2id at the test parameters


def backend(paths: Paths) -> VaultBackend:
    light = crypto.KdfParams.for_tests()
    return VaultBackend(paths.data / "vault", kdf=light, new_key_kdf=light)


def window(qtbot: QtBot, paths: Paths, store: VaultBackend) -> MainWindow:
    def on_bug(error: BaseException, text: str) -> None:
        raise AssertionError(text)

    services = Services(
        vault=store,
        forms=SampleForms(),
        settings=Settings.load(paths.settings_file),
        ops=Operations(on_bug=on_bug),
    )
    w = MainWindow(services)
    qtbot.addWidget(w)
    w.show()
    return w


def canary_hits(paths: Paths) -> int:
    hits = 0
    for root in paths.roots:
        for file in root.rglob("*"):
            if file.is_file() and CANARY.encode() in file.read_bytes():
                hits += 1
    return hits


def test_first_run_screening_crash_and_finalise_on_the_real_vault(
    qtbot: QtBot, paths: Paths, tmp_path: Path
) -> None:
    store = backend(paths)
    w = window(qtbot, paths, store)
    page = w.first_run
    qtbot.keyClicks(page.name, "ana")
    qtbot.keyClicks(page.passphrase, PASS)
    qtbot.keyClicks(page.repeat, PASS)
    qtbot.keyClick(page.repeat, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: w.stack.currentWidget() is w.home, timeout=WAIT_MS)
    settle(w)
    _sealing_private, sealing_public = crypto.generate_sealing_keypair()
    _signing_private, signing_public = crypto.generate_signing_keypair()
    store.vault.set_org_keys(sealing_public, signing_public)  # what provisioning does

    consent_and_intake(qtbot, w, feared="no", work="yes")
    type_into(qtbot, w, "notes", CANARY)
    click(qtbot, w.wizard.next)
    choose(qtbot, w, "owes_debt", "yes")
    settle(w)
    qtbot.waitUntil(lambda: w.wizard.saved.property("state") == "saved", timeout=WAIT_MS)
    acknowledged = controller(w.wizard).snapshot()
    record_id = controller(w.wizard).record_id
    assert record_id
    assert acknowledged["session"]["answers"]["notes"] == CANARY  # the canary was saved
    assert canary_hits(paths) == 0

    # Crash: the window and the vault handle go away without closing; a new process opens
    # the same folder.
    w.hide()
    second_store = backend(paths)
    second = window(qtbot, paths, second_store)
    assert second.stack.currentWidget() is second.unlock_page
    unlock(qtbot, second)
    settle(second)
    assert second.home.drafts.count() == 1
    second.home.drafts.itemActivated.emit(second.home.drafts.item(0))
    settle(second)
    assert second.wizard.current_page_name() == "trafficking"
    assert controller(second.wizard).snapshot() == acknowledged
    assert controller(second.wizard).record_id == record_id

    # Lock and unlock come back to the same page, on the real vault.
    qtbot.keyClick(
        second.wizard.widgets["owes_debt"].buttons["yes"],  # type: ignore[attr-defined]
        Qt.Key.Key_L,
        Qt.KeyboardModifier.ControlModifier,
    )
    settle(second)
    assert not second_store.vault.is_unlocked
    unlock(qtbot, second)
    settle(second)
    assert second.wizard.current_page_name() == "trafficking"

    click(qtbot, second.wizard.widgets["understood"].check)  # type: ignore[attr-defined]
    click(qtbot, second.wizard.next)
    assert second.stack.currentWidget() is second.results
    click(qtbot, second.results.finalise)
    qtbot.waitUntil(lambda: second.stack.currentWidget() is second.home, timeout=WAIT_MS)
    settle(second)
    vault = second_store.vault
    assert vault.outbox_counts()["pending"] == 1
    assert "1 screening" in second.home.sync_state.text()
    assert [r.status for r in vault.list_records()] == ["finalised"]
    (case,) = second_store.cases()
    assert case.alias == "Ana"
    assert case.tier == "T1"
    assert second_store.drafts() == []
    second.close()
    assert canary_hits(paths) == 0


def test_the_key_file_name_matches_the_vault() -> None:
    from fieldscreen.ui.backends import KEY_FILE
    from fieldscreen.vault.base import KEYS_NAME

    assert KEY_FILE == KEYS_NAME
