"""The journeys of the product spec, driven through the real widgets with keys and clicks."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QCheckBox, QLabel, QRadioButton, QWidget
from pytestqt.qtbot import QtBot

from fieldscreen.paths import Paths
from fieldscreen.ui.fields import (
    AcknowledgeWidget,
    MultilineWidget,
    NumberWidget,
    SelectMultipleWidget,
    SelectOneWidget,
    TextWidget,
)
from fieldscreen.ui.main_window import MainWindow
from tests.gui.conftest import (
    PASS,
    WAIT_MS,
    controller,
    field_widget,
    make_services,
    settle,
    unlock,
)
from tests.support.memory_vault import MemoryVault


def click(qtbot: QtBot, widget: QWidget) -> None:
    """Click where a person would: on the indicator of a check box or radio button."""
    if isinstance(widget, QCheckBox | QRadioButton):
        qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=QPoint(8, widget.height() // 2))
    else:
        qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def choose(qtbot: QtBot, w: MainWindow, field: str, choice: str) -> None:
    click(qtbot, field_widget(w.wizard, field, SelectOneWidget).buttons[choice])


def tick(qtbot: QtBot, w: MainWindow, field: str, choice: str) -> None:
    click(qtbot, field_widget(w.wizard, field, SelectMultipleWidget).boxes[choice])


def type_into(qtbot: QtBot, w: MainWindow, field: str, text: str) -> None:
    widget = w.wizard.widgets[field]
    assert isinstance(widget, TextWidget | MultilineWidget | NumberWidget), field
    qtbot.keyClicks(widget.editor, text)


def consent_and_intake(qtbot: QtBot, w: MainWindow, *, feared: str, work: str) -> None:
    click(qtbot, w.home.start)
    assert w.stack.currentWidget() is w.wizard
    assert w.wizard.current_page_name() == "consent"
    choose(qtbot, w, "assent", "yes")
    tick(qtbot, w, "share", "legal")
    tick(qtbot, w, "share", "family")
    click(qtbot, w.wizard.next)
    assert w.wizard.current_page_name() == "intake"
    type_into(qtbot, w, "alias", "Ana")
    type_into(qtbot, w, "age", "15")
    choose(qtbot, w, "travelling_alone", "yes")
    choose(qtbot, w, "feared_nearby", feared)
    choose(qtbot, w, "made_to_work", work)


def test_first_run_creates_the_admin_and_opens_home(qtbot: QtBot, paths: Paths) -> None:
    vault = MemoryVault()
    w = MainWindow(make_services(paths, vault))
    qtbot.addWidget(w)
    w.show()
    assert w.stack.currentWidget() is w.first_run
    page = w.first_run
    qtbot.keyClicks(page.site, "ciudad-juarez-1")
    qtbot.keyClicks(page.name, "admin")
    qtbot.keyClicks(page.passphrase, "short")
    qtbot.keyClicks(page.repeat, "short")
    click(qtbot, page.create_button)
    assert page.error.isVisible()
    assert "10" in page.error.text()
    assert not vault.is_set_up()
    page.passphrase.clear()
    page.repeat.clear()
    qtbot.keyClicks(page.passphrase, PASS)
    qtbot.keyClicks(page.repeat, PASS + "x")
    click(qtbot, page.create_button)
    assert "different" in page.error.text()
    qtbot.keyClicks(page.repeat, PASS)
    qtbot.keyClick(page.repeat, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: w.stack.currentWidget() is w.home, timeout=WAIT_MS)
    settle(w)
    assert [u.role for u in vault.users()] == ["admin"]
    assert w.services.settings.get("site_id") == "ciudad-juarez-1"
    assert "admin" in w.home.greeting.text()


def test_a_complete_screening_with_the_trafficking_gateway(
    qtbot: QtBot, window: MainWindow, vault: MemoryVault, pdf_dir: Path
) -> None:
    w = window
    unlock(qtbot, w)
    assert w.stack.currentWidget() is w.home
    consent_and_intake(qtbot, w, feared="no", work="yes")
    assert w.wizard.notice.isVisible()
    assert "Trafficking" in w.wizard.notice.text()
    assert not w.wizard.banner.isVisible()
    click(qtbot, w.wizard.next)
    assert w.wizard.current_page_name() == "trafficking"
    click(qtbot, w.wizard.next)  # required answers missing: stays, says so
    assert w.wizard.current_page_name() == "trafficking"
    assert w.wizard.widgets["owes_debt"].message.isVisible()
    assert not w.wizard.widgets["debt_amount"].isVisible()
    choose(qtbot, w, "owes_debt", "yes")
    assert w.wizard.widgets["debt_amount"].isVisible()
    type_into(qtbot, w, "debt_amount", "300")
    click(qtbot, field_widget(w.wizard, "understood", AcknowledgeWidget).check)
    assert w.wizard.next.text().replace("&", "") == "Review results"
    click(qtbot, w.wizard.next)
    assert w.stack.currentWidget() is w.results
    r = w.results
    assert r.result is not None
    assert r.result.tier == "T1"
    assert {x.service_type: x.consented for x in r.result.referrals} == {
        "family": True,
        "health": False,
        "legal": True,
    }
    assert "due in" in r.deadlines.text()
    assert not r.actions_taken.isVisible()
    target = pdf_dir / "sheet.pdf"
    r.save_sheet_to(target)
    data = target.read_bytes()
    assert data.startswith(b"%PDF")
    assert r.finalise.isEnabled()
    settle(w)  # the draft's id comes from its first write, on the writer
    sid = controller(w.wizard).record_id
    assert sid
    click(qtbot, r.finalise)
    qtbot.waitUntil(lambda: w.stack.currentWidget() is w.home, timeout=WAIT_MS)
    settle(w)
    assert sid in vault.finalised
    assert [c.tier for c in vault.cases()] == ["T1"]
    assert vault.drafts() == []
    saved = vault.finalised[sid]
    assert saved["actions_taken"] == ""
    assert saved["overrides"] == {}
    assert saved["state"]["answers"]["debt_amount"] == 300.0
    assert saved["result"]["tier"] == "T1"
    (case,) = vault.cases()
    assert case.alias == "Ana"
    assert case.next_due is not None
    # The case list finds it as you type, and opens what was kept for follow-up.
    click(qtbot, w.nav.cases)
    settle(w)
    qtbot.keyClicks(w.cases.search, "ana")
    assert w.cases.model.rowCount() == 1
    w.cases.table.activated.emit(w.cases.model.index(0, 0))
    settle(w)
    from fieldscreen.ui.cases import CaseCardDialog

    (dialog,) = [d for d in w.cases.findChildren(CaseCardDialog) if d.isVisible()]
    text = " ".join(label.text() for label in dialog.findChildren(QLabel))
    assert "Ana" in text
    assert "Legal aid" in text
    dialog.accept()


def test_act_now_shows_the_alert_in_the_form_and_requires_actions(
    qtbot: QtBot, window: MainWindow, vault: MemoryVault
) -> None:
    w = window
    unlock(qtbot, w)
    consent_and_intake(qtbot, w, feared="no", work="no")
    assert not w.wizard.banner.isVisible()
    choose(qtbot, w, "feared_nearby", "yes")
    assert w.wizard.banner.isVisible()
    assert "safe room" in w.wizard.banner.body.text()
    assert w.wizard.tier.property("tier") == "T0"
    choose(qtbot, w, "feared_nearby", "no")
    assert not w.wizard.banner.isVisible()
    choose(qtbot, w, "feared_nearby", "yes")
    click(qtbot, w.wizard.next)
    assert w.stack.currentWidget() is w.results
    r = w.results
    assert r.tier.property("tier") == "T0"
    assert r.actions_taken.isVisible()
    assert not r.finalise.isEnabled()
    click(qtbot, r.finalise)
    settle(w)
    assert vault.finalised == {}
    qtbot.keyClicks(r.actions_taken, "Moved to the safe room; protection lead called at 14:05.")
    assert r.finalise.isEnabled()
    click(qtbot, r.finalise)
    qtbot.waitUntil(lambda: w.stack.currentWidget() is w.home, timeout=WAIT_MS)
    (entry,) = vault.finalised.values()
    assert entry["actions_taken"].startswith("Moved to the safe room")
    assert entry["tier"] == "T0"


def test_the_saved_indicator_waits_for_the_durable_write(
    qtbot: QtBot, window: MainWindow, vault: MemoryVault
) -> None:
    w = window
    unlock(qtbot, w)
    click(qtbot, w.home.start)
    settle(w)
    vault.delay = 0.3
    before = vault.writes
    choose(qtbot, w, "assent", "yes")
    assert w.wizard.saved.property("state") == "saving"
    assert "Saved" not in w.wizard.saved.text()
    tick(qtbot, w, "share", "legal")  # coalesced behind the write in flight
    qtbot.waitUntil(lambda: w.wizard.saved.property("state") == "saved", timeout=WAIT_MS)
    assert vault.writes - before == 2
    sid = controller(w.wizard).record_id
    assert sid is not None
    stored = vault.load_draft(sid)["session"]["answers"]
    assert stored == {"assent": "yes", "share": ["legal"]}


def test_quick_lock_hides_everything_and_unlock_returns_to_the_same_page(
    qtbot: QtBot, window: MainWindow, vault: MemoryVault
) -> None:
    w = window
    unlock(qtbot, w)
    consent_and_intake(qtbot, w, feared="no", work="yes")
    type_into(qtbot, w, "notes", "Calm, asked about her brother.")
    before = controller(w.wizard).session.to_state()
    notes = w.wizard.widgets["notes"]
    assert isinstance(notes, TextWidget | MultilineWidget)
    editor = notes.editor
    qtbot.keyClick(editor, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    settle(w)
    assert w.stack.currentWidget() is w.unlock_page
    assert w.services.user is None
    assert w.wizard.controller is None
    assert w.wizard.widgets == {}
    assert not w.nav.isVisible()
    page = w.unlock_page
    qtbot.keyClicks(page.passphrase, "wrong passphrase")
    qtbot.keyClick(page.passphrase, Qt.Key.Key_Return)
    qtbot.waitUntil(page.error.isVisible, timeout=WAIT_MS)
    assert w.services.user is None
    unlock(qtbot, w)
    settle(w)
    assert w.stack.currentWidget() is w.wizard
    assert w.wizard.current_page_name() == "intake"
    assert w.wizard.controller is not None
    after = w.wizard.controller.session.to_state()
    assert after == before
    assert w.wizard.widgets["alias"].editor.text() == "Ana"


def test_resume_after_a_crash_restores_the_draft_exactly(
    qtbot: QtBot, paths: Paths, vault: MemoryVault
) -> None:
    w = MainWindow(make_services(paths, vault))
    qtbot.addWidget(w)
    w.show()
    unlock(qtbot, w)
    consent_and_intake(qtbot, w, feared="no", work="yes")
    click(qtbot, w.wizard.next)
    choose(qtbot, w, "owes_debt", "yes")
    type_into(qtbot, w, "debt_amount", "250.5")
    settle(w)
    qtbot.waitUntil(lambda: w.wizard.saved.property("state") == "saved", timeout=WAIT_MS)
    acknowledged = controller(w.wizard).snapshot()
    # The process dies: no close event, no final save; only what the vault acknowledged stays.
    w.hide()
    vault.lock()
    second = MainWindow(make_services(paths, vault))
    qtbot.addWidget(second)
    second.show()
    unlock(qtbot, second)
    settle(second)
    assert second.home.drafts.count() == 1
    item = second.home.drafts.item(0)
    second.home.drafts.itemActivated.emit(item)
    settle(second)
    assert second.stack.currentWidget() is second.wizard
    assert second.wizard.current_page_name() == "trafficking"
    restored = controller(second.wizard).snapshot()
    assert restored == acknowledged
    assert field_widget(second.wizard, "debt_amount", NumberWidget).editor.text() == "250.5"
    assert field_widget(second.wizard, "owes_debt", SelectOneWidget).buttons["yes"].isChecked()


def test_idle_locks_the_app(qtbot: QtBot, window: MainWindow) -> None:
    w = window
    unlock(qtbot, w)
    w.idle.timer.setInterval(50)
    w.idle.timer.start()
    qtbot.waitUntil(lambda: w.stack.currentWidget() is w.unlock_page, timeout=WAIT_MS)
    assert w.services.user is None


def test_the_whole_flow_by_keyboard(qtbot: QtBot, window: MainWindow) -> None:
    """Unlock, start, answer and move on with keys only (Tab, Space, arrows, Return)."""
    w = window
    w.activateWindow()
    qtbot.waitActive(w, timeout=WAIT_MS)
    unlock(qtbot, w)
    assert w.home.start.hasFocus()
    qtbot.keyClick(w.home.start, Qt.Key.Key_Space)
    assert w.stack.currentWidget() is w.wizard

    def focused() -> QWidget:
        widget = QApplication.focusWidget()
        assert widget is not None
        return widget

    def tab_to(target: QWidget, limit: int = 40) -> None:
        for _ in range(limit):
            if focused() is target:
                return
            qtbot.keyClick(focused(), Qt.Key.Key_Tab)
        raise AssertionError(f"Tab never reached {target.objectName() or target}")

    tab_to(field_widget(w.wizard, "assent", SelectOneWidget).buttons["yes"])
    qtbot.keyClick(focused(), Qt.Key.Key_Space)
    assert controller(w.wizard).session.value("assent") == "yes"
    tab_to(w.wizard.next)
    qtbot.keyClick(focused(), Qt.Key.Key_Space)
    assert w.wizard.current_page_name() == "intake"
    qtbot.keyClicks(focused(), "Luis")
    assert controller(w.wizard).session.value("alias") == "Luis"
    qtbot.keyClick(focused(), Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    settle(w)
    assert w.stack.currentWidget() is w.unlock_page
    assert w.unlock_page.passphrase.hasFocus()
    qtbot.keyClicks(focused(), PASS)
    qtbot.keyClick(focused(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: w.stack.currentWidget() is w.wizard, timeout=WAIT_MS)
    assert w.wizard.current_page_name() == "intake"


def test_every_control_has_an_accessible_name(qtbot: QtBot, window: MainWindow) -> None:
    from PySide6.QtWidgets import (
        QAbstractButton,
        QAbstractSpinBox,
        QComboBox,
        QLineEdit,
        QPlainTextEdit,
    )

    w = window
    unlock(qtbot, w)
    consent_and_intake(qtbot, w, feared="yes", work="yes")
    unnamed = [
        c.objectName() or type(c).__name__
        for c in w.findChildren(QWidget)
        if isinstance(c, QAbstractButton | QLineEdit | QComboBox | QPlainTextEdit)
        and c.isVisibleTo(w)
        and not (c.accessibleName() or (isinstance(c, QAbstractButton) and c.text()))
        and c.parent() is not None
        and not isinstance(c.parent(), QAbstractSpinBox | QComboBox)  # their own line edit
    ]
    assert unnamed == []
    assert QApplication.instance() is not None
