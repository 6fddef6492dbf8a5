"""The contract of :class:`fieldscreen.ui.ports.VaultPort`, run against both stores the screens
are driven with: the real encrypted vault behind :class:`~fieldscreen.ui.backends.VaultBackend`
and the in-memory test double (``tests/support/memory_vault.py``) most GUI tests use.

A GUI test over the double proves something about the product only as far as the double
behaves like the vault: every case here runs on both, so a difference fails here, not silently
in a screen test. Light Argon2id parameters are permitted explicitly for this module.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldscreen import crypto
from fieldscreen.errors import KnownError
from fieldscreen.ui.backends import VaultBackend
from fieldscreen.ui.ports import UserInfo, VaultPort
from fieldscreen.vault import UnlockFailed, VaultError
from tests.support.memory_vault import MemoryVault

PASS = "correct horse battery"
OTHER = "another long passphrase"
FORM = ("fs_intake", "1")
CARD = {"alias": "Luz", "tier": "T2", "concerns": ["separated"], "next_due": None}


pytestmark = pytest.mark.usefixtures("light_kdf")  # Argon2id at the test parameters


class Store:
    """One store under contract, and how to give it the organisation's keys (the real vault
    refuses to finalise without them; the double needs none)."""

    def __init__(self, kind: str, tmp_path: Path) -> None:
        self.kind = kind
        if kind == "real":
            light = crypto.KdfParams.for_tests()
            self.port: VaultPort = VaultBackend(tmp_path / "vault", kdf=light, new_key_kdf=light)
        else:
            self.port = MemoryVault()

    def provision(self) -> None:
        if isinstance(self.port, VaultBackend):
            _, sealing_public = crypto.generate_sealing_keypair()
            _, signing_public = crypto.generate_signing_keypair()
            self.port.vault.set_org_keys(sealing_public, signing_public)


@pytest.fixture(params=["real", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    return Store(request.param, tmp_path)


@pytest.fixture
def unlocked(store: Store) -> VaultPort:
    store.port.create_user("admin1", "admin", PASS)
    store.port.unlock("admin1", PASS)
    store.provision()
    return store.port


def test_a_fresh_store_has_no_accounts(store: Store) -> None:
    store.port.warm()  # nothing to open yet: the warm-up after the first paint says nothing
    assert not store.port.is_set_up()
    assert list(store.port.users()) == []
    assert store.port.logins() in (None, [])


def test_the_first_account_is_an_admin_and_is_listed(store: Store) -> None:
    store.port.create_user("admin1", "admin", PASS)
    store.port.warm()
    assert store.port.is_set_up()
    assert list(store.port.users()) == [UserInfo("admin1", "admin")]
    assert store.port.logins() in (None, ["admin1"])


def test_unlock_refuses_a_wrong_passphrase_counts_it_and_forgets_it_at_success(
    store: Store,
) -> None:
    store.port.create_user("admin1", "admin", PASS)
    with pytest.raises(UnlockFailed) as refused:
        store.port.unlock("admin1", OTHER)
    assert refused.value.code == "vault-unlock-failed"
    assert store.port.failed_attempts("admin1") == 1
    assert store.port.unlock("admin1", PASS) == UserInfo("admin1", "admin")
    assert store.port.failed_attempts("admin1") == 0


def test_verify_checks_a_passphrase_without_unlocking(store: Store) -> None:
    store.port.create_user("admin1", "admin", PASS)
    assert store.port.verify("admin1", PASS)
    assert not store.port.verify("admin1", OTHER)
    assert not store.port.verify("nobody", PASS)


def test_a_second_account_needs_the_admins_passphrase(unlocked: VaultPort) -> None:
    with pytest.raises(KnownError):
        unlocked.create_user("spec1", "specialist", OTHER, confirm=OTHER)
    unlocked.create_user("spec1", "specialist", OTHER, confirm=PASS)
    assert {u.name: u.role for u in unlocked.users()} == {
        "admin1": "admin",
        "spec1": "specialist",
    }


def test_a_draft_round_trips_and_is_listed(unlocked: VaultPort) -> None:
    record_id = unlocked.new_draft(*FORM, {"answers": {"q": "one"}})
    unlocked.save_draft(record_id, {"answers": {"q": "two"}})
    assert unlocked.load_draft(record_id)["answers"] == {"q": "two"}
    assert [d.screening_id for d in unlocked.drafts()] == [record_id]
    assert list(unlocked.cases()) == []


def test_finalise_turns_the_draft_into_a_case_waiting_to_be_sent(unlocked: VaultPort) -> None:
    record_id = unlocked.new_draft(*FORM, {"answers": {"q": "one"}})
    aggregate = {"tier": "T2", "week": "2026-W49"}
    unlocked.finalise(record_id, {"q": "one"}, CARD, aggregate)
    assert list(unlocked.drafts()) == []
    [case] = unlocked.cases()
    assert (case.screening_id, case.alias, case.tier) == (record_id, "Luz", "T2")
    assert unlocked.case_card(record_id)["alias"] == "Luz"
    assert unlocked.pending() == 1
    [(kept, _day, _site)] = unlocked.aggregates()
    assert kept["tier"] == "T2"
    with pytest.raises(VaultError):
        unlocked.save_draft(record_id, {"answers": {"q": "again"}})


def test_an_unknown_case_card_is_refused(unlocked: VaultPort) -> None:
    with pytest.raises(VaultError):
        unlocked.case_card("0" * 32)


def test_an_app_event_is_recorded_while_unlocked(unlocked: VaultPort) -> None:
    unlocked.record_event("export", {"what": "coordinator-report-pdf", "source": "laptop"})


def test_a_locked_store_refuses_what_a_screening_holds(unlocked: VaultPort) -> None:
    """Writing, reading a draft and auditing need the store unlocked. (Listing does not have
    the same shape on both: the vault lists its drafts' ids and dates while locked, which are
    not secret, and the double refuses; no screen lists while locked.)"""
    record_id = unlocked.new_draft(*FORM, {"answers": {}})
    unlocked.lock()
    for call in (
        lambda: unlocked.new_draft(*FORM, {"answers": {}}),
        lambda: unlocked.save_draft(record_id, {"answers": {}}),
        lambda: unlocked.load_draft(record_id),
        lambda: unlocked.record_event("export", {"what": "coordinator-report-pdf"}),
    ):
        with pytest.raises(VaultError) as refused:
            call()
        assert refused.value.code == "vault-locked"


def test_the_case_columns_list_what_the_cases_and_drafts_list(unlocked: VaultPort) -> None:
    """A store with a list index lists every screening in it; one without says None and the
    case list is read from ``cases`` and ``drafts``."""
    draft = unlocked.new_draft(*FORM, {"answers": {}})
    final = unlocked.new_draft(*FORM, {"answers": {"q": "one"}})
    unlocked.finalise(final, {"q": "one"}, CARD, None)
    columns = unlocked.case_columns()
    listed = {c.screening_id for c in unlocked.cases()} | {
        d.screening_id for d in unlocked.drafts()
    }
    assert listed == {draft, final}
    if columns is not None:
        assert {row[0] for row in columns.rows} == listed
