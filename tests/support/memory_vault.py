"""An in-memory vault that satisfies :class:`fieldscreen.ui.ports.VaultPort`: the test double
the GUI tests and the screenshots drive instead of the encrypted vault.

It is *not* the product's store: nothing here is encrypted or written to disk. It lives outside
the shipped package (the frozen app does not carry it); the contract tests
(``tests/gui/test_vault_contract.py``) hold it to what the real backend does.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import os
import threading
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from fieldscreen.errors import KnownError
from fieldscreen.followup import record_done
from fieldscreen.ui.ports import (
    ACT_NOW,
    TIERS,
    CaseSummary,
    DraftSummary,
    UserInfo,
    earliest_deadline,
    login_problem,
    record_code,
)

__all__ = ["MemoryVault"]


def _vault_error(code: str, **context: Any) -> KnownError:
    """The error the real vault raises for ``code`` (its package is imported only when a
    refusal is met, so that rendering the screens does not load it)."""
    from fieldscreen.vault.errors import UnlockFailed, VaultError

    return UnlockFailed() if code == "vault-unlock-failed" else VaultError(code, **context)


def _digest(salt: bytes, passphrase: str) -> bytes:
    return hashlib.scrypt(passphrase.encode(), salt=salt, n=2**10, r=8, p=1)


class MemoryVault:
    """:class:`~fieldscreen.ui.ports.VaultPort` in memory (see the module docstring).

    ``delay`` seconds are slept in every write, so tests can see that the "saved" indicator
    waits for the write to return.
    """

    def __init__(self, delay: float = 0.0) -> None:
        self._lock = threading.Lock()
        self._users: dict[str, tuple[str, bytes, bytes]] = {}
        self._failures: dict[str, int] = {}
        self._drafts: dict[str, tuple[dict[str, Any], datetime]] = {}
        self._cases: dict[str, CaseSummary] = {}
        self._unlocked: str | None = None
        self.delay = delay
        self.writes = 0
        self.finalised: dict[str, dict[str, Any]] = {}
        self.cards: dict[str, dict[str, Any]] = {}
        #: (partner, packet id) of each handover sent through the server (``send``).
        self.queued_handovers: list[tuple[str, str]] = []
        #: ``(aggregate, day, site)`` of the finalised screenings (the coordinator report's).
        self.kept_aggregates: list[tuple[dict[str, Any], str, str]] = []
        #: App-level audit events (``record_event``).
        self.events: list[tuple[str, dict[str, Any]]] = []

    @classmethod
    def with_users(cls, users: Sequence[tuple[str, str, str]]) -> MemoryVault:
        """A store holding ``(name, role, passphrase)`` accounts, locked."""
        vault = cls()
        first, *rest = users
        vault.create_user(*first)
        vault.unlock(first[0], first[2])
        for name, role, passphrase in rest:
            vault.create_user(name, role, passphrase, confirm=first[2])
        vault.lock()
        return vault

    # accounts
    def is_set_up(self) -> bool:
        return bool(self._users)

    def warm(self) -> None:
        return None  # nothing to import or open

    def logins(self) -> list[str] | None:
        return None  # listed by users() on the read pool, as a vault without a key file is

    def users(self) -> Sequence[UserInfo]:
        return [UserInfo(n, r) for n, (r, _, _) in sorted(self._users.items())]

    def create_user(self, name: str, role: str, passphrase: str, confirm: str = "") -> None:
        if self._users and not (self._unlocked and self.verify(self._unlocked, confirm)):
            raise _vault_error("vault-unlock-failed")
        if login_problem(name) is not None:  # the vault's own rule
            raise _vault_error("vault-login-invalid")
        salt = os.urandom(16)
        with self._lock:
            self._users[name] = (role, salt, _digest(salt, passphrase))

    def remove_user(self, name: str, confirm: str) -> Mapping[str, Any]:
        if not (self._unlocked and self.verify(self._unlocked, confirm)):
            raise _vault_error("vault-unlock-failed")
        if name not in self._users:
            raise _vault_error("vault-user-unknown")
        admins = [n for n, (r, _, _) in self._users.items() if r == "admin"]
        if name == self._unlocked or admins == [name]:
            raise _vault_error("vault-last-admin")
        with self._lock:
            del self._users[name]
        return self.rotate_keys(confirm)

    def change_role(self, name: str, role: str, confirm: str) -> Mapping[str, Any]:
        if not (self._unlocked and self.verify(self._unlocked, confirm)):
            raise _vault_error("vault-unlock-failed")
        if name not in self._users:
            raise _vault_error("vault-user-unknown")
        was, salt, digest = self._users[name]
        rank = {"specialist": 0, "coordinator": 1, "admin": 2}
        with self._lock:
            self._users[name] = (role, salt, digest)
        rotated = rank.get(role, 0) < rank.get(was, 0)
        summary = {"user": name, "was": was, "role": role, "rotated": rotated}
        return {**summary, **(self.rotate_keys(confirm) if rotated else {})}

    def rotate_keys(self, confirm: str) -> Mapping[str, Any]:
        if not (self._unlocked and self.verify(self._unlocked, confirm)):
            raise _vault_error("vault-unlock-failed")
        return {"data_keys": len(self._drafts) + len(self._cases), "must_be_added_again": []}

    def change_passphrase(self, old: str, new: str) -> Mapping[str, Any]:
        name = self._unlocked
        if not (name and self.verify(name, old)):
            raise _vault_error("vault-unlock-failed")
        role = self._users[name][0]
        salt = os.urandom(16)
        with self._lock:
            self._users[name] = (role, salt, _digest(salt, new))
        return {
            "data_keys": len(self._drafts) + len(self._cases),
            "must_be_added_again": [],
            "rotated": True,
            "awaiting_admin": role != "admin",
        }

    def verify(self, name: str, passphrase: str) -> bool:
        entry = self._users.get(name)
        if entry is None:
            return False
        return hmac.compare_digest(entry[2], _digest(entry[1], passphrase))

    def unlock(self, name: str, passphrase: str) -> UserInfo:
        if not self.verify(name, passphrase):
            self._failures[name] = self._failures.get(name, 0) + 1
            raise _vault_error("vault-unlock-failed")
        self._failures[name] = 0
        self._unlocked = name
        return UserInfo(name, self._users[name][0])

    def failed_attempts(self, name: str) -> int:
        return self._failures.get(name, 0)

    def integrity_alert(self) -> KnownError | None:
        return None  # nothing outside this process can change the memory store

    def lock(self) -> None:
        self._unlocked = None

    def _require_unlocked(self) -> None:
        if self._unlocked is None:
            raise _vault_error("vault-locked")

    # records
    def new_draft(self, form_id: str, form_version: str, state: Mapping[str, Any]) -> str:
        self._require_unlocked()
        record_id = uuid.uuid4().hex
        with self._lock:
            self._drafts[record_id] = (copy.deepcopy(dict(state)), datetime.now(UTC))
            self.writes += 1
        return record_id

    def save_draft(self, record_id: str, state: Mapping[str, Any]) -> None:
        self._require_unlocked()
        if self.delay:
            threading.Event().wait(self.delay)
        with self._lock:
            if record_id not in self._drafts:
                raise _vault_error("vault-record-state", state="finalised")
            self._drafts[record_id] = (copy.deepcopy(dict(state)), datetime.now(UTC))
            self.writes += 1

    def load_draft(self, record_id: str) -> Mapping[str, Any]:
        self._require_unlocked()
        return copy.deepcopy(self._drafts[record_id][0])

    def drafts(self) -> Sequence[DraftSummary]:
        self._require_unlocked()
        return [
            DraftSummary(rid, record_code(rid), when)
            for rid, (_, when) in sorted(self._drafts.items(), key=lambda i: i[1][1])
        ]

    def finalise(
        self,
        record_id: str,
        record: Mapping[str, Any],
        case_card: Mapping[str, Any],
        aggregate: Mapping[str, Any] | None = None,
    ) -> None:
        self._require_unlocked()
        with self._lock:
            if record_id not in self._drafts:
                raise _vault_error("vault-record-state", state="finalised")
            del self._drafts[record_id]
            due = case_card.get("next_due")
            self._cases[record_id] = CaseSummary(
                record_id,
                record_code(record_id),
                str(case_card.get("alias", "")),
                str(case_card.get("tier", "T4")),
                tuple(case_card.get("concerns", ())),
                datetime.fromisoformat(due) if due else None,
                "finalised",
                datetime.now(UTC),
                *earliest_deadline(case_card),
            )
            self.finalised[record_id] = copy.deepcopy(dict(record))
            self.cards[record_id] = copy.deepcopy(dict(case_card))
            if aggregate is not None:
                day = datetime.now(UTC).date().isoformat()
                self.kept_aggregates.append((copy.deepcopy(dict(aggregate)), day, ""))
            self.writes += 1

    def add_case(self, case: CaseSummary) -> None:
        with self._lock:
            self._cases[case.screening_id] = case

    def cases(self) -> Sequence[CaseSummary]:
        self._require_unlocked()
        return list(self._cases.values())

    def case_columns(self) -> None:
        return None  # no list index: the case list is cases() and drafts()

    def case_card(self, record_id: str) -> Mapping[str, Any]:
        self._require_unlocked()
        if record_id not in self.cards:
            raise _vault_error("vault-record-unknown")
        return copy.deepcopy(self.cards[record_id])

    def record_follow_up(self, record_id: str, when: datetime) -> Mapping[str, Any]:
        self._require_unlocked()
        with self._lock:
            if record_id not in self.cards:
                raise _vault_error("vault-record-unknown")
            card = record_done(self.cards[record_id], when)
            card = self._with_event(card, "follow-up", when, "", "")
            self.cards[record_id] = card
            due = card.get("next_due")
            case = self._cases[record_id]
            self._cases[record_id] = case._replace(
                next_due=datetime.fromisoformat(due) if due else None
            )
            self.writes += 1
        return copy.deepcopy(card)

    def record_case_event(
        self, record_id: str, kind: str, when: datetime, *, note: str = "", reason: str = ""
    ) -> Mapping[str, Any]:
        from fieldscreen.caseevents import event_content

        self._require_unlocked()
        event_content(record_id, kind, when, note=note, reason=reason)  # refused as the vault's
        with self._lock:
            if record_id not in self.cards:
                raise _vault_error("vault-record-unknown")
            self.cards[record_id] = self._with_event(
                self.cards[record_id], kind, when, note, reason
            )
            self.writes += 1
            return copy.deepcopy(self.cards[record_id])

    def hand_over(
        self,
        record_id: str,
        partner: str,
        out: Any,
        *,
        directory: Any,
        site: str,
        release_reason: str = "",
        summary: bool = False,
        send: bool = False,
    ) -> Mapping[str, Any]:
        """The handover as the real store records it on the card, with a placeholder for the
        packet (this store holds no device keys to seal one); with ``send``, the placeholder
        is kept in ``queued_handovers`` instead of (or as well as) the file."""
        from fieldscreen.errors import DeviceError

        self._require_unlocked()
        if directory is None or directory.partner(partner) is None:
            raise DeviceError("handover-partner-unknown", partner=partner[:64])
        when = datetime.now(UTC)
        with self._lock:
            if record_id not in self.cards:
                raise _vault_error("vault-record-unknown")
            packet_id = uuid.uuid4().hex
            if out is not None:
                out.write_bytes(b"memory vault: no packet\n")
            if send:
                self.queued_handovers.append((partner, packet_id))
            card = self._with_event(
                self.cards[record_id], "handover-sent", when, f"{partner} {packet_id}", ""
            )
            sent = when.strftime("%Y-%m-%dT%H:%MZ")
            basis = "supervisor-release" if release_reason else "consent"
            card["handovers"] = [
                *card.get("handovers", ()),
                {"packet_id": packet_id, "partner": partner, "sent": sent, "acknowledged": ""},
            ]
            self.cards[record_id] = card
            self.writes += 1
        return {
            "case": record_id,
            "partner": partner,
            "packet_id": packet_id,
            "basis": basis,
            "out": "" if out is None else str(out),
            "queued": send,
            "event_id": card["events"][-1]["id"],
            "concerns_kept_out": 0,
        }

    @staticmethod
    def _with_event(
        card: Mapping[str, Any], kind: str, when: datetime, note: str, reason: str
    ) -> dict[str, Any]:
        entry = {"id": uuid.uuid4().hex, "type": kind, "at": when.strftime("%Y-%m-%dT%H:%MZ")}
        entry.update({k: v for k, v in (("note", note), ("reason", reason)) if v})
        return {**card, "events": [*card.get("events", ()), entry]}

    def pending(self) -> int:
        return len(self.finalised)

    def record_event(self, action: str, detail: Mapping[str, Any]) -> None:
        self._require_unlocked()
        with self._lock:
            self.events.append((action, dict(detail)))

    def aggregates(self) -> list[tuple[dict[str, Any], str, str]]:
        self._require_unlocked()
        with self._lock:
            return copy.deepcopy(self.kept_aggregates)

    def travel_mode(self) -> int:
        self._require_unlocked()
        with self._lock:
            sealed = 0
            for sid, case in list(self._cases.items()):
                if case.status == "finalised":
                    self._cases[sid] = CaseSummary(
                        sid, case.code, "", case.tier, (), case.next_due, "sealed", case.updated
                    )
                    sealed += 1
            return sealed

    def wipe(self) -> None:
        with self._lock:
            self._users.clear()
            self._drafts.clear()
            self._cases.clear()
            self._unlocked = None


assert ACT_NOW in TIERS
