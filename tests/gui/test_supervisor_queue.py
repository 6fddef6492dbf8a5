"""The supervisor queue over the real vault, the built-in forms and the real widgets.

A specialist leaves a tier override for a supervisor from the results screen; it appears in the
queue with an act-now screening paused without actions and a Form F return that needs a
best-interests determination. A wrong supervisor passphrase is refused and writes nothing; the
right one signs off through the engine's override; the audit entry is there, the chain
verifies, and the item leaves the queue. A sent-back case reaches the specialist's home.
"""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtWidgets import QDialog, QPushButton
from pytestqt.qtbot import QtBot

from fieldscreen import crypto
from fieldscreen.app import BUILTIN_FORMS_DIR, FIRST_FORMS
from fieldscreen.paths import Paths
from fieldscreen.settings import Settings
from fieldscreen.ui.backends import VaultBackend
from fieldscreen.ui.common import PassphraseDialog, ReasonDialog, Services
from fieldscreen.ui.main_window import MainWindow
from fieldscreen.ui.operations import Operations
from fieldscreen.ui.supervision import QueueItem, SignOffError, SupervisionModel
from tests.gui.conftest import WAIT_MS, cell, settle

pytestmark = [
    pytest.mark.skipif(
        not all((BUILTIN_FORMS_DIR / f"{f}.md").exists() for f in FIRST_FORMS),
        reason="this build ships no built-in forms",
    ),
    pytest.mark.usefixtures("light_kdf"),  # Argon2id at the test parameters
]

ADMIN, SUP, SPEC = "admin passphrase one", "supervisor passphrase", "specialist passphrase"
CONTEXT = {"site": "sd1", "jurisdiction": "US", "role": "specialist"}


@pytest.fixture(scope="module")
def engines() -> tuple[Any, Any]:
    """The app's engine (consent and intake first) and one that starts Form F too."""
    from fieldscreen.forms.library import builtin_forms
    from fieldscreen.ui.engine import EngineForms

    forms = builtin_forms()
    return (
        EngineForms(lambda: forms, FIRST_FORMS, CONTEXT),
        EngineForms(lambda: forms, (*FIRST_FORMS, "fs_return"), CONTEXT),
    )


def make_store(paths: Paths) -> VaultBackend:
    light = crypto.KdfParams.for_tests()
    store = VaultBackend(paths.data / "vault", kdf=light, new_key_kdf=light)
    store.create_user("ana", "admin", ADMIN)
    store.unlock("ana", ADMIN)
    store.create_user("sup", "coordinator", SUP, confirm=ADMIN)
    store.create_user("spec", "specialist", SPEC, confirm=ADMIN)
    store.lock()
    return store


def make_window(qtbot: QtBot, paths: Paths, store: VaultBackend, forms: Any) -> MainWindow:
    def on_bug(error: BaseException, text: str) -> None:
        raise AssertionError(text)

    services = Services(
        vault=store,
        forms=forms,
        settings=Settings.load(paths.settings_file),
        ops=Operations(on_bug=on_bug),
    )
    w = MainWindow(services)
    qtbot.addWidget(w)
    w.show()
    return w


def unlock_as(qtbot: QtBot, w: MainWindow, name: str, passphrase: str) -> None:
    page = w.unlock_page
    qtbot.waitUntil(lambda: page.user.findData(name) >= 0, timeout=WAIT_MS)
    page.user.setCurrentIndex(page.user.findData(name))
    qtbot.keyClicks(page.passphrase, passphrase)
    qtbot.keyClick(page.passphrase, "\r")
    qtbot.waitUntil(lambda: w.services.user is not None, timeout=WAIT_MS)
    settle(w)


def new_draft(store: VaultBackend, session: Any) -> str:
    state = {"session": session.to_state(), "page": ""}
    return store.new_draft(session.form_id, session.form_version, state)


def sign_entries(store: VaultBackend) -> list[Any]:
    with store.exclusive():
        return [
            e
            for e in store.vault.supervision_log()
            if e.action == "override" and e.detail.get("queue") == "sign-off"
        ]


def queue_rows(qtbot: QtBot, w: MainWindow, count: int) -> list[QueueItem]:
    page = w.queue_page
    qtbot.waitUntil(
        lambda: len(page.items) == count and page.table.rowCount() == count, timeout=WAIT_MS
    )
    return page.items


def select(w: MainWindow, record_id: str) -> QueueItem:
    page = w.queue_page
    index = next(i for i, item in enumerate(page.items) if item.record_id == record_id)
    page.table.selectRow(index)
    return page.items[index]


def test_override_act_now_and_bid_wait_and_only_the_supervisors_own_passphrase_signs_off(
    qtbot: QtBot, paths: Paths, engines: tuple[Any, Any]
) -> None:
    app_forms, with_return = engines
    store = make_store(paths)
    store.unlock("spec", SPEC)
    calm = app_forms.start("en")
    calm.set_answer("fs_intake:travelling_with", "alone", "en")  # unaccompanied: 24 h
    override_id = new_draft(store, calm)
    urgent = app_forms.start("en")
    urgent.set_answer("fs_intake:b0_feared_person_nearby", "yes", "en")  # act now
    act_now_id = new_draft(store, urgent)
    ret = with_return.start("en")
    ret.set_answer("fs_return:child_wants_return", "no", "en")
    ret.set_answer("fs_return:bia_recommendation", "return_reunify_verified_caregiver", "en")
    assert "BID_REQUIRED" in {a.rule for a in ret.result("en").alerts}
    bid_id = new_draft(store, ret)
    store.lock()

    # The specialist asks for a lower tier from the results screen and leaves it for later.
    w = make_window(qtbot, paths, store, app_forms)
    unlock_as(qtbot, w, "spec", SPEC)
    assert not w.nav.queue.isVisible()  # no supervisor capability
    w.resume(override_id)
    qtbot.waitUntil(lambda: w.stack.currentWidget() is w.wizard, timeout=WAIT_MS)
    w.review()
    results = w.results
    results._override()
    reason = results.findChild(ReasonDialog, "overrideDialog")
    assert reason is not None
    reason.choice.setCurrentIndex(reason.choice.findData("T3"))
    qtbot.keyClicks(reason.reason, "Uncle verified by phone; placement today")
    reason.accept()
    sign = results.findChild(PassphraseDialog, "signOffDialog")
    assert sign is not None
    later = sign.findChild(QPushButton, "askLater")
    assert later is not None
    later.click()
    qtbot.waitUntil(lambda: w.stack.currentWidget() is w.home, timeout=WAIT_MS)
    settle(w)
    w.lock()
    settle(w)

    # The supervisor sees all three, with only what they need to decide.
    unlock_as(qtbot, w, "sup", SUP)
    assert w.nav.queue.isVisible()
    assert w.nav.batches.isVisible()
    w.show_queue()
    items = {i.record_id: i for i in queue_rows(qtbot, w, 3)}
    assert items[override_id].kinds == ("tier-override",)
    assert items[override_id].requested_tier == "T3"
    assert items[override_id].requested_by == "spec"
    assert items[override_id].tier == "T1"
    assert "act-now" in items[act_now_id].kinds
    assert items[act_now_id].tier == "T0"
    assert "bid-required" in items[bid_id].kinds
    assert "Uncle verified" not in cell(w.queue_page.table, 0, 3)  # reason only on hover
    before = len(sign_entries(store))

    # Wrong passphrase: refused, nothing written, the item stays.
    select(w, override_id)
    w.queue_page.ask_sign_off("approve")
    dialog = w.queue_page.dialog
    assert isinstance(dialog, PassphraseDialog)
    assert [dialog.user.itemData(i) for i in range(dialog.user.count())] == ["sup", "ana"]
    qtbot.keyClicks(dialog.passphrase, SPEC)  # the specialist's, not the supervisor's
    dialog.buttons.accepted.emit()
    qtbot.waitUntil(dialog.error.isVisible, timeout=WAIT_MS)
    assert dialog.result() != QDialog.DialogCode.Accepted
    assert len(sign_entries(store)) == before
    # The right one: signed off, through the engine, audited, gone from the queue.
    qtbot.keyClicks(dialog.passphrase, SUP)
    dialog.buttons.accepted.emit()
    qtbot.waitUntil(lambda: "sup" in w.queue_page.result.text(), timeout=WAIT_MS)
    items_after = {i.record_id for i in queue_rows(qtbot, w, 2)}
    assert override_id not in items_after
    (entry,) = sign_entries(store)[before:]
    assert entry.record_id == override_id
    assert entry.detail["decision"] == "approve"
    assert entry.detail["kinds"] == ["tier-override"]
    with store.exclusive():
        users = {u.login: u.user_id for u in store.vault.users()}
        assert entry.user_id == users["sup"]
        assert entry.detail["supervisor"] == users["sup"]
        assert entry.detail["requested_by"] == users["spec"]
        assert store.vault.integrity_check().ok
        state = store.vault.load_record(override_id)
    override = app_forms.restore(state["session"]).tier_override()
    assert (override.tier, override.computed, override.supervisor) == ("T3", "T1", "sup")

    # Send the act-now case back with a note: it leaves the queue and reaches the specialist.
    select(w, act_now_id)
    w.queue_page.ask_sign_off("send-back")
    note = w.queue_page.dialog
    assert isinstance(note, ReasonDialog)
    qtbot.keyClicks(note.reason, "Record what you did with the school before you go on")
    note.accept()
    dialog = w.queue_page.dialog
    assert isinstance(dialog, PassphraseDialog)
    qtbot.keyClicks(dialog.passphrase, SUP)
    dialog.buttons.accepted.emit()
    remaining = queue_rows(qtbot, w, 1)
    assert [i.record_id for i in remaining] == [bid_id]
    settle(w)
    w.lock()
    settle(w)
    unlock_as(qtbot, w, "spec", SPEC)
    qtbot.waitUntil(
        lambda: (
            (label := getattr(w.home, "sent_back", None)) is not None
            and "with the school" in label.text()
        ),
        timeout=WAIT_MS,
    )
    sent_back = w.home.sent_back
    assert sent_back is not None
    assert "sup" in sent_back.text()
    settle(w)


def test_the_model_refuses_wrong_signers_and_own_cases(
    paths: Paths, engines: tuple[Any, Any]
) -> None:
    app_forms, _ = engines
    store = make_store(paths)
    store.unlock("sup", SUP)
    urgent = app_forms.start("en")
    urgent.set_answer("fs_intake:b0_feared_person_nearby", "yes", "en")
    rid = new_draft(store, urgent)
    model = SupervisionModel(store, app_forms)
    (item,) = model.items()
    assert item.requested_by == "sup"
    refusals = 0
    for signer, secret, code in [
        ("spec", SPEC, "signoff-refused"),  # a specialist cannot sign off
        ("sup", SUP, "signoff-own-case"),  # nobody signs off their own case
        ("ana", SUP, "signoff-refused"),  # another supervisor's passphrase
        ("nobody", SUP, "signoff-refused"),
    ]:
        with pytest.raises(SignOffError) as caught:
            model.sign_off(item, "approve", supervisor=signer, passphrase=secret)
        assert caught.value.code == code
        refusals += 1
    with pytest.raises(SignOffError):
        model.sign_off(item, "send-back", supervisor="ana", passphrase=ADMIN, note="  ")
    assert refusals == 4
    assert sign_entries(store) == []
    assert [i.record_id for i in model.items()] == [rid]
    assert model.sign_off(item, "approve", supervisor="ana", passphrase=ADMIN) == "approve"
    assert model.items() == []
    with store.exclusive():
        assert store.vault.integrity_check().ok
    store.lock()
    store.unlock("spec", SPEC)
    with pytest.raises(Exception, match="not"):
        model.items()  # a specialist has no queue
    assert model.sent_back() == []


def test_finalised_cases_wait_and_a_sent_back_case_returns_once_finalised(
    paths: Paths, engines: tuple[Any, Any]
) -> None:
    app_forms, _ = engines
    store = make_store(paths)
    store.unlock("ana", ADMIN)
    _, sealing_public = crypto.generate_sealing_keypair()
    _, signing_public = crypto.generate_signing_keypair()
    store.vault.set_org_keys(sealing_public, signing_public)
    store.lock()
    store.unlock("spec", SPEC)
    shared = app_forms.start("en")
    shared.set_answer("fs_consent:override_needed", "yes", "en")
    rid = new_draft(store, shared)
    # an act-now case finalised under a lower tier, so without recorded actions
    lowered = store.new_draft("screening", "1", {"forms": {}})
    store.finalise(
        lowered,
        {"state": {}},
        {"alias": "Luz", "tier": "T2", "computed_tier": "T0", "actions_recorded": False},
    )
    store.lock()
    model = SupervisionModel(store, app_forms)

    store.unlock("sup", SUP)
    items = {i.record_id: i for i in model.items()}
    assert items[rid].kinds == ("consent-override",)
    assert items[lowered].kinds == ("act-now",)
    assert items[lowered].status == "finalised"
    assert items[lowered].requested_by == "spec"
    model.sign_off(
        items[rid], "send-back", supervisor="sup", passphrase=SUP, note="Record the basis"
    )
    assert [i.record_id for i in model.items()] == [lowered]
    store.lock()
    model.forget()

    store.unlock("spec", SPEC)
    (back,) = model.sent_back()
    assert (back.record_id, back.note, back.by) == (rid, "Record the basis", "sup")
    store.finalise(rid, {"state": {}}, {"alias": "Ana", "supervision": ["consent-override"]})
    assert model.sent_back() == []  # acted on: finalised
    store.lock()

    store.unlock("sup", SUP)
    again = {i.record_id: i for i in model.items()}
    assert again[rid].kinds == ("consent-override",)  # back in the queue, now finalised
    assert again[rid].status == "finalised"
    for item in again.values():
        model.sign_off(item, "approve", supervisor="sup", passphrase=SUP)
    assert model.items() == []
    decisions = [e.detail["decision"] for e in sign_entries(store)]
    assert decisions == ["send-back", "approve", "approve"]
    with store.exclusive():
        assert store.vault.integrity_check().ok
        entries = store.vault.audit_log()
    text = repr([e.detail for e in entries])
    assert "Luz" not in text  # no aliases or answers in the audit log
    assert "Ana" not in text


def test_an_override_signed_off_on_the_spot_is_audited_and_never_queued(
    qtbot: QtBot, paths: Paths, engines: tuple[Any, Any]
) -> None:
    app_forms, _ = engines
    store = make_store(paths)
    store.unlock("spec", SPEC)
    alone = app_forms.start("en")
    alone.set_answer("fs_intake:travelling_with", "alone", "en")  # unaccompanied: T1
    rid = new_draft(store, alone)
    store.lock()
    w = make_window(qtbot, paths, store, app_forms)
    unlock_as(qtbot, w, "spec", SPEC)
    w.resume(rid)
    qtbot.waitUntil(lambda: w.stack.currentWidget() is w.wizard, timeout=WAIT_MS)
    w.review()
    w.results._override()
    reason = w.results.findChild(ReasonDialog, "overrideDialog")
    assert reason is not None
    reason.choice.setCurrentIndex(reason.choice.findData("T0"))
    qtbot.keyClicks(reason.reason, "Threats by phone")
    reason.accept()
    sign = w.results.findChild(PassphraseDialog, "signOffDialog")
    assert sign is not None
    sign.user.setCurrentIndex(sign.user.findData("sup"))
    qtbot.keyClicks(sign.passphrase, SUP)
    sign.buttons.accepted.emit()
    qtbot.waitUntil(lambda: w.results.tier_now == "T0", timeout=WAIT_MS)
    settle(w)
    (entry,) = sign_entries(store)
    with store.exclusive():
        users = {u.login: u.user_id for u in store.vault.users()}
    assert entry.record_id == rid
    assert entry.user_id == users["spec"]
    assert entry.detail["supervisor"] == users["sup"]
    assert (entry.detail["tier"], entry.detail["requested_tier"]) == ("T1", "T0")
    w.show_home()
    settle(w)
    w.lock()
    settle(w)
    store.unlock("sup", SUP)
    kinds = [i.kinds for i in SupervisionModel(store, app_forms).items()]
    assert all("tier-override" not in k for k in kinds)


def test_the_queue_decrypts_only_the_cards_that_may_wait(
    paths: Paths, engines: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    app_forms, _ = engines
    store = make_store(paths)
    store.unlock("ana", ADMIN)
    _, sealing_public = crypto.generate_sealing_keypair()
    _, signing_public = crypto.generate_signing_keypair()
    store.vault.set_org_keys(sealing_public, signing_public)
    store.lock()
    store.unlock("spec", SPEC)
    plain = []
    for i in range(8):
        rid = store.new_draft("screening", "1", {"forms": {}})
        store.finalise(rid, {"state": {}}, {"alias": f"P{i}", "tier": "T3"})
        plain.append(rid)
    flagged = store.new_draft("screening", "1", {"forms": {}})
    store.finalise(flagged, {"state": {}}, {"alias": "F", "supervision": ["bid-required"]})
    model = SupervisionModel(store, app_forms)
    model.request_override(plain[0], "T1", "seen again")  # a request on a plain card counts
    store.lock()
    store.unlock("sup", SUP)
    asked: list[set[str]] = []
    real = store.vault.case_cards

    def spy(ids: Any = None) -> Any:
        asked.append(set(ids) if ids is not None else {"every card"})
        return real(ids)

    monkeypatch.setattr(store.vault, "case_cards", spy)
    items = {i.record_id: i.kinds for i in model.items()}
    assert asked == [{flagged, plain[0]}]
    assert items == {flagged: ("bid-required",), plain[0]: ("tier-override",)}
    store.lock()
