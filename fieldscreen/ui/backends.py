"""The real store behind the screens: :class:`VaultBackend` adapts :class:`fieldscreen.vault.Vault`
to :class:`fieldscreen.ui.ports.VaultPort`; :class:`EnrolledServer` is the coordinator's
:class:`~fieldscreen.ui.ports.StaffServer` over the provisioning the vault keeps.

**The vault's one concurrency rule (this module owns it).** Every use of the vault in the app
holds this backend's lock, :meth:`VaultBackend.exclusive` (re-entrant), so no two threads use
the vault at the same time:

* each method of the backend takes it for its own call;
* a step of several vault calls that must not interleave with a screen's (provisioning, a batch
  export or relay, a sign-off) holds it around the whole step;
* the sync takes it for each single call into the vault (``LockedDeviceStore`` and
  ``LockedOutbox`` of :mod:`fieldscreen.ui.sync_wiring`, and :class:`EnrolledServer` here),
  never across a network request, so a slow server never holds up an autosave.

Every method may block on disk or on Argon2id, so the screens call them only through the
operations helper (unlock and writes on the serial writer, in submission order; reads on the
pool). Transactions nest inside the vault's own store; nothing outside the vault counts them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from fieldscreen.errors import KnownError

if TYPE_CHECKING:
    from fieldscreen.sync.client import SyncClient
    from fieldscreen.ui.ports import CaseSummary, DraftSummary, UserInfo
    from fieldscreen.vault import CaseColumns, Vault

__all__ = ["KEY_FILE", "EnrolledServer", "VaultBackend", "read_logins", "read_roster"]

#: The vault's key file name (``fieldscreen.vault.base.KEYS_NAME``; a test keeps them equal).
#: Checking for it needs no import of the vault, which keeps start-up fast: the vault package
#: (sqlite-utils, cryptography) is imported on a worker the first time it is used.
KEY_FILE = "vault.keys"


def read_logins(key_file: Path) -> list[tuple[str, str]] | None:
    """The logins and roles of the key file, read as plain JSON without importing the vault.

    Logins are stored in plaintext for exactly this (the unlock screen lists them; see
    ``fieldscreen.vault.keyring``). Nothing here is trusted: a role only preselects a screen,
    and the roster's signature is checked by the vault at unlock. Returns None when the file
    cannot be read this way (the caller then asks the vault, which reports the problem properly).
    """
    try:
        data = json.loads(key_file.read_text(encoding="utf-8"))
        users = data["users"]
        roster = [(str(u["login"]), str(u["role"])) for u in users]
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None
    return roster or None


def read_roster(key_file: Path) -> list[UserInfo] | None:
    """:func:`read_logins` as the screens' records."""
    from fieldscreen.ui.ports import UserInfo

    logins = read_logins(key_file)
    return None if logins is None else [UserInfo(login, role) for login, role in logins]


def _day(day: str | None) -> datetime:
    if not day:
        return datetime.now(UTC)
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), UTC)


def _due(value: object) -> datetime | None:
    """A card's ``next_due`` (ISO 8601); None when absent or not a date-time."""
    if not value or not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


class VaultBackend:
    """:class:`~fieldscreen.ui.ports.VaultPort` over the encrypted vault in ``folder``.

    Args:
        folder: the vault's folder (``Paths.vault_dir``).
        options: passed to :class:`Vault` (``follow_up_days``, and in tests ``new_key_kdf``).
        kdf: Argon2id parameters for the first account (tests pass light ones; None is the
            production default).
    """

    def __init__(self, folder: Path, *, kdf: Any = None, **options: Any) -> None:
        self.folder = folder
        self._options = options
        self._kdf = kdf
        self._guard = threading.RLock()
        self._vault: Vault | None = None
        self._failures: dict[str, int] = {}

    def exclusive(self) -> threading.RLock:
        """The lock every call of this backend holds while it uses the vault. A step of several
        vault calls that must not interleave with a screen's (provisioning, a batch relay, a
        sign-off, each call of a sync) holds it around the step: ``with backend.exclusive():``.
        It is re-entrant, so the backend's own calls inside the step take it again freely."""
        return self._guard

    @property
    def vault(self) -> Vault:
        with self._guard:
            if self._vault is None:
                from fieldscreen.vault import Vault, VaultError

                if not Vault.exists(self.folder):
                    raise VaultError("vault-missing")
                from fieldscreen.device import seal_under_duress

                self._vault = Vault.open(self.folder, **self._options)
                self._vault.on_duress = seal_under_duress
            return self._vault

    # ----------------------------------------------------------------- accounts
    def is_set_up(self) -> bool:
        return (self.folder / KEY_FILE).exists()

    def logins(self) -> list[str] | None:
        """The logins for the unlock screen, read cheaply from the key file on the calling
        (GUI) thread at start-up and at every lock; None when only the vault can tell."""
        if not self.is_set_up():
            return []
        roster = read_logins(self.folder / KEY_FILE)
        return None if roster is None else [login for login, _ in roster]

    def users(self) -> Sequence[UserInfo]:
        from fieldscreen.ui.ports import UserInfo

        if not self.is_set_up():
            return []
        with self._guard:
            if self._vault is None:
                roster = read_roster(self.folder / KEY_FILE)
                if roster is not None:
                    return roster
            return [UserInfo(u.login, u.role) for u in self.vault.users()]

    def warm(self) -> None:
        """Import and open the vault now (on a worker after the first paint), so that the
        first unlock does not wait for the import of the storage and cryptography stack."""
        if self.is_set_up():
            with self._guard:
                _ = self.vault

    def create_user(self, name: str, role: str, passphrase: str, confirm: str = "") -> None:
        from fieldscreen.vault import Vault, VaultError

        with self._guard:
            if not self.is_set_up():
                if role != "admin":
                    raise VaultError("vault-not-allowed", role=role)
                self._vault = Vault.create(
                    self.folder,
                    admin_login=name,
                    passphrase=passphrase.encode(),
                    kdf=self._kdf,
                    **self._options,
                )
                self._vault.lock()
                return
            self.vault.add_user(
                name,
                passphrase.encode(),
                role,  # type: ignore[arg-type]
                admin_passphrase=confirm.encode(),
            )

    def remove_user(self, name: str, confirm: str) -> Mapping[str, Any]:
        with self._guard:
            return self.vault.remove_user(name, admin_passphrase=confirm.encode())

    def change_role(self, name: str, role: str, confirm: str) -> Mapping[str, Any]:
        with self._guard:
            # the vault refuses a role it does not know (vault-role-unknown)
            return self.vault.change_role(name, cast(Any, role), admin_passphrase=confirm.encode())

    def rotate_keys(self, confirm: str) -> Mapping[str, Any]:
        with self._guard:
            return self.vault.rotate_keys(admin_passphrase=confirm.encode())

    def change_passphrase(self, old: str, new: str) -> Mapping[str, Any]:
        with self._guard:
            return self.vault.change_passphrase(old.encode(), new.encode())

    def unlock(self, name: str, passphrase: str) -> UserInfo:
        from fieldscreen.ui.ports import UserInfo
        from fieldscreen.vault import UnlockFailed

        with self._guard:
            try:
                user = self.vault.unlock(name, passphrase.encode())
            except UnlockFailed:
                self._failures[name] = self._failures.get(name, 0) + 1
                raise
            self._failures[name] = 0
            return UserInfo(user.login, user.role)

    def verify(self, name: str, passphrase: str) -> bool:
        """Check ``name``'s passphrase without touching the unlocked session.

        A second, locked handle on the same files does the check; a success is recorded in the
        audit log as that user's unlock (a sign-off is an authentication).
        """
        from fieldscreen.vault import UnlockFailed, Vault

        with self._guard:
            probe = Vault.open(self.folder, **self._options)
            try:
                probe.unlock(name, passphrase.encode(), duress=False)
            except UnlockFailed:
                return False
            finally:
                probe.close()
            return True

    def failed_attempts(self, name: str) -> int:
        return self._failures.get(name, 0)

    def integrity_alert(self) -> KnownError | None:
        with self._guard:
            return self.vault.state_alert() if self.vault.is_unlocked else None

    def lock(self) -> None:
        with self._guard:
            if self._vault is not None:
                self._vault.lock()

    # ------------------------------------------------------------------ records
    def new_draft(self, form_id: str, form_version: str, state: Mapping[str, Any]) -> str:
        with self._guard:
            return self.vault.new_draft(form_id, form_version, state)

    def save_draft(self, record_id: str, state: Mapping[str, Any]) -> None:
        with self._guard:
            self.vault.save_draft(record_id, state)

    def load_draft(self, record_id: str) -> Mapping[str, Any]:
        with self._guard:
            return self.vault.load_record(record_id)

    def drafts(self) -> Sequence[DraftSummary]:
        from fieldscreen.ui.ports import DraftSummary, record_code

        with self._guard:
            rows = self.vault.list_records("draft")
        return [
            DraftSummary(r.record_id, record_code(r.record_id), _day(r.updated_day)) for r in rows
        ]

    def finalise(
        self,
        record_id: str,
        record: Mapping[str, Any],
        case_card: Mapping[str, Any],
        aggregate: Mapping[str, Any] | None = None,
    ) -> None:
        from fieldscreen.device import wire_signing, with_match_tokens

        with self._guard:
            # Sign exactly what the server verifies (needs the organisation's keys, which
            # provisioning may have brought since unlock; without them finalise refuses).
            wire_signing(self.vault)
            self.vault.finalise(
                record_id,
                record=record,
                case_card=case_card,
                aggregate=with_match_tokens(self.vault, record, aggregate),
            )

    def cases(self) -> Sequence[CaseSummary]:
        """Every finalised or sealed screening with its case card's list fields.

        One read of the vault's encrypted list index (:meth:`Vault.case_list`: one transaction,
        one audit entry, a decryption per bucket rather than two per card). As before, a
        sealed screening (readable copy purged) is listed without its card's fields.
        """
        from fieldscreen.ui.ports import CaseSummary, record_code

        with self._guard:
            try:
                rows = [r for r in self.vault.case_list() if r.status != "draft"]
            except KnownError:  # the list still shows every screening, without its card
                from fieldscreen.vault import ListRow

                rows = [
                    ListRow(r.record_id, r.status, r.updated_day, False)
                    for r in self.vault.list_records()
                    if r.status != "draft"
                ]
        days: dict[str | None, datetime] = {}
        out: list[CaseSummary] = []
        append = out.append
        for row in rows:
            record_id = row.record_id
            updated = days.get(row.updated_day)
            if updated is None:
                updated = days[row.updated_day] = _day(row.updated_day)
            if row.status == "finalised" and row.carded:
                append(
                    CaseSummary(
                        record_id,
                        record_code(record_id),
                        row.alias or "",
                        row.tier or "",
                        row.concerns or (),
                        _due(row.next_due),
                        "finalised",
                        updated,
                        _due(row.deadline),
                        row.deadline_label or "",
                    )
                )
            else:
                append(
                    CaseSummary(
                        record_id,
                        record_code(record_id),
                        "",
                        "",
                        (),
                        None,
                        "finalised" if row.status == "finalised" else "sealed",
                        updated,
                    )
                )
        return out

    def case_columns(self) -> CaseColumns:
        """The case list as read from the list index, before any per-row object is made
        (:meth:`Vault.case_columns`); :func:`fieldscreen.ui.cases.load_rows` builds rows only
        for what it shows first. When the index cannot be read every screening is still
        listed, without its card's fields."""
        from fieldscreen.vault import CaseColumns

        with self._guard:
            try:
                return self.vault.case_columns()
            except KnownError:
                rows = [(r.record_id, r.status, r.updated_day) for r in self.vault.list_records()]
                return CaseColumns(rows, {})

    def pending(self) -> int:
        with self._guard:
            counts = self.vault.outbox_counts()
        return int(counts.get("pending", 0)) + int(counts.get("failed", 0))

    def case_card(self, record_id: str) -> Mapping[str, Any]:
        with self._guard:
            return self.vault.case_card(record_id)

    def record_event(self, action: str, detail: Mapping[str, Any]) -> None:
        """Audit an app-level action (codes and counts only in ``detail``)."""
        with self._guard:
            self.vault.record_event(action, None, dict(detail))

    def aggregates(self) -> list[tuple[dict[str, Any], str, str]]:
        """The aggregate records of this laptop's finalised screenings still in its outbox
        (delivered ones leave the laptop with their sealed copy), as ``(aggregate, day, site)``
        for :func:`~fieldscreen.reports.coordinator.coordinator_report`. Needs the vault
        unlocked (they are kept encrypted)."""
        out: list[tuple[dict[str, Any], str, str]] = []
        states = ("pending", "sending", "failed", "quarantined")
        after = 0
        with self._guard:
            while True:
                page = self.vault.outbox_page(limit=1000, after_seq=after, states=states)
                for item in page:
                    if item.kind == "screening" and item.aggregate:
                        out.append((dict(item.aggregate), item.created_day, ""))
                if len(page) < 1000:
                    return out
                after = page[-1].device_seq

    def record_follow_up(self, record_id: str, when: datetime) -> Mapping[str, Any]:
        """Move the case card's next follow-up on by the cadence and seal the follow-up for
        the team as a case event, in one transaction (durable before the app says saved)."""
        from fieldscreen.device import wire_signing
        from fieldscreen.followup import record_done

        with self._guard:
            wire_signing(self.vault)  # the event is signed as the server verifies
            card = record_done(self.vault.case_card(record_id), when)
            event = self.vault.record_case_event(record_id, "follow-up", when, case_card=card)
        return {**card, "events": [*card.get("events", ()), _card_entry(event)]}

    def record_case_event(
        self, record_id: str, kind: str, when: datetime, *, note: str = "", reason: str = ""
    ) -> Mapping[str, Any]:
        """Record another case event (a referral made, the case closed ...), sealed for the
        team; returns the case card as it now is."""
        from fieldscreen.device import wire_signing

        with self._guard:
            wire_signing(self.vault)
            self.vault.record_case_event(record_id, kind, when, note=note, reason=reason)
            return self.vault.case_card(record_id)

    def hand_over(
        self,
        record_id: str,
        partner: str,
        out: Path | None,
        *,
        directory: Any,
        site: str,
        release_reason: str = "",
        summary: bool = False,
        send: bool = False,
    ) -> Mapping[str, Any]:
        """The packet and its case event, as ``fieldscreen handover`` makes them."""
        from fieldscreen.device import wire_signing
        from fieldscreen.device_commands.handover import hand_over

        with self._guard:
            wire_signing(self.vault)  # the packet and the event are signed by the device
            return hand_over(
                self.vault,
                directory,
                record_id,
                partner,
                out,
                site=site,
                release_reason=release_reason,
                summary=summary,
                send=send,
            )

    def travel_mode(self) -> int:
        from fieldscreen.device import wire_signing

        with self._guard:
            wire_signing(self.vault)  # the sealed drafts are signed as the server verifies
            summary = self.vault.travel_mode()
        return int(summary.get("drafts_sealed", 0)) + int(summary.get("finalised_purged", 0))

    def wipe(self) -> None:
        with self._guard:
            self.vault.wipe()
            self._vault = None


def _card_entry(event: Mapping[str, Any]) -> dict[str, Any]:
    """The case card's ``events`` entry of what ``Vault.record_case_event`` returned."""
    return {
        "id": event["event_id"],
        **{k: event[k] for k in ("type", "at", "note", "reason") if k in event},
    }


class EnrolledServer:
    """:class:`~fieldscreen.ui.ports.StaffServer` over the provisioning kept in the vault:
    each request opens a client to the enrolled server with the coordinator's credential (the
    provisioning is read under the backend's lock; the request runs without it).

    Args:
        backend: the app's :class:`~fieldscreen.ui.backends.VaultBackend`.
    """

    def __init__(self, backend: VaultBackend) -> None:
        self._backend = backend

    def _client(self, credential: str, *, quick: bool = False) -> SyncClient:
        from fieldscreen.device import stored_provisioning
        from fieldscreen.sync.client import RetryPolicy, SyncClient
        from fieldscreen.sync.errors import SyncError

        with self._backend.exclusive():
            provisioning = stored_provisioning(self._backend.vault)
        if provisioning is None:
            raise SyncError("sync-not-provisioned")
        if quick:  # a screen waits on it: give up sooner
            return SyncClient(
                provisioning.server_url,
                token=credential,
                allow_insecure=provisioning.allow_insecure_http,
                timeout=20.0,
                policy=RetryPolicy(attempts=2),
            )
        return SyncClient(
            provisioning.server_url,
            token=credential,
            allow_insecure=provisioning.allow_insecure_http,
        )

    def report(self, credential: str, params: Mapping[str, Any]) -> dict[str, Any]:
        with self._client(credential, quick=True) as client:
            return dict(client.report(dict(params)))

    def matches(self, credential: str) -> dict[str, Any]:
        with self._client(credential, quick=True) as client:
            return dict(client.staff_matches())

    def stats(self, credential: str) -> dict[str, Any]:
        with self._client(credential) as client:
            return dict(client.request("GET", "/admin/stats"))
