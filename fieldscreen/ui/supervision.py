"""The supervisor queue over the vault (Qt-free): what waits for a supervisor, and sign-off.

What waits (:data:`KINDS`), derived from the screenings themselves so that nothing is kept
twice:

* ``tier-override``: a specialist asked for a different risk tier and left it for a supervisor
  (the request, with the tier and the reason, is an ``override`` entry of the audit log, so
  that the draft's autosaves cannot lose it);
* ``consent-override``: the consent form records that information must be shared without the
  child's consent (the engine raises :data:`CONSENT_RULE`);
* ``act-now``: an act-now screening paused, or finalised, without recorded actions;
* ``bid-required``: Form F recommends a return that needs a best-interests determination
  (the engine raises :data:`BID_RULE`).

A sign-off is checked against the signing supervisor's own passphrase (a second, locked handle
on the key file) and written to the keyed audit log as an ``override`` entry whose detail holds
codes only: the kinds signed off, the decision, the supervisor's and the requester's user ids,
and the note of a send-back. An approved tier override goes through the form engine's
``override_tier`` (kept in the screening's state with the computed tier); a sent-back item
leaves the queue and is shown on the specialist's home until they act on the case again.

Queue state lives in the drafts and the audit log: no table of its own, no schema change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from fieldscreen.errors import KnownError
from fieldscreen.ui.errors import SignOffError
from fieldscreen.vocabulary import TIERS

__all__ = [
    "BID_RULE",
    "CONSENT_RULE",
    "KINDS",
    "SUPERVISOR_ROLES",
    "QueueItem",
    "SentBack",
    "SignOffError",
    "SupervisionModel",
    "can_supervise",
    "model_for",
    "screening_kinds",
]

KINDS = ("tier-override", "consent-override", "act-now", "bid-required")
CONSENT_RULE = "F_CONSENT_OVERRIDE"
BID_RULE = "BID_REQUIRED"
#: Roles that hold the supervisor capability (sign-off, the queue, the batch view).
SUPERVISOR_ROLES = frozenset({"coordinator", "admin"})
DECISIONS = ("approve", "send-back")
_MAX_NOTE = 500


def can_supervise(role: str) -> bool:
    """Whether ``role`` carries the supervisor capability (no separate role is needed)."""
    return role in SUPERVISOR_ROLES


def screening_kinds(
    session: Any, lang: str, *, actions_recorded: bool, pending_override: bool
) -> tuple[str, ...]:
    """What about one screening waits for a supervisor (a subset of :data:`KINDS`).

    ``session`` is a :class:`~fieldscreen.ui.ports.ScreeningSession`; its result's alerts name
    the raised rules. An act-now screening needs its actions recorded, whatever tier an override
    gave it afterwards.
    """
    result = session.result(lang)
    rules = {alert.rule for alert in result.alerts}
    computed = result.tier
    recorded = session.tier_override()
    if recorded is not None:
        computed = recorded.computed
    kinds: list[str] = []
    if pending_override:
        kinds.append("tier-override")
    if CONSENT_RULE in rules:
        kinds.append("consent-override")
    if "T0" in {result.tier, computed} and not actions_recorded:
        kinds.append("act-now")
    if BID_RULE in rules:
        kinds.append("bid-required")
    return tuple(kinds)


@dataclass(frozen=True, slots=True)
class QueueItem:
    """One screening waiting for a supervisor: only what the supervisor needs to decide."""

    record_id: str
    code: str
    alias: str
    tier: str
    kinds: tuple[str, ...]
    requested_by: str  # the specialist's login
    when: datetime
    status: str  # draft, finalised
    #: A tier override's requested tier (empty for other kinds).
    requested_tier: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class SentBack:
    """A screening a supervisor sent back to the specialist, for the specialist's home."""

    record_id: str
    code: str
    note: str
    by: str  # the supervisor's login
    when: datetime


class _Forms(Protocol):
    def restore(self, state: Mapping[str, Any]) -> Any: ...


def _when(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return datetime.now(UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class _Draft:
    """The engine's verdict on one version of a draft."""

    kinds: tuple[str, ...]
    alias: str
    tier: str


@dataclass
class _Log:
    """What the audit log says about the queue, per record."""

    creator: dict[str, tuple[str, str]] = field(default_factory=dict)  # rid -> (user, time)
    finaliser: dict[str, tuple[str, str]] = field(default_factory=dict)
    cleared: set[tuple[str, str]] = field(default_factory=set)  # (rid, kind)
    #: the part of ``cleared`` that a send-back cleared: back in the queue after a finalise
    returned: set[tuple[str, str]] = field(default_factory=set)
    #: rid -> (seq, detail, time) of the last send-back
    sent_back: dict[str, tuple[int, dict[str, Any], str]] = field(default_factory=dict)
    #: rid -> seq of the last entry that settles a send-back (a request, finalise, approval)
    settled: dict[str, int] = field(default_factory=dict)
    #: rid -> (detail, user, time) of a tier override waiting for a supervisor
    pending: dict[str, tuple[dict[str, Any], str, str]] = field(default_factory=dict)

    @classmethod
    def of(cls, entries: Iterable[Any]) -> _Log:
        log = cls()
        creator, finaliser, settled = log.creator, log.finaliser, log.settled
        # The entries are named tuples (:class:`~fieldscreen.vault.AuditEntry`): unpacked in
        # C, not read field by field (a year's log holds over 100,000 of them).
        for seq, time, user_id, action, rid, noted in entries:
            if rid is None:
                continue
            if action == "create":
                creator[rid] = (user_id, time)
            elif action == "finalise":
                finaliser[rid] = (user_id, time)
                settled[rid] = seq
                if log.returned:  # one pass per finalise only while a send-back is held
                    log.cleared -= {pair for pair in log.returned if pair[0] == rid}
            elif action == "override":
                detail = noted or {}
                if detail.get("queue") == "sign-off":
                    if "tier-override" in detail.get("kinds", ()):
                        log.pending.pop(rid, None)
                    for kind in detail.get("kinds", ()):
                        log.cleared.add((rid, str(kind)))
                        if detail.get("decision") == "send-back":
                            log.returned.add((rid, str(kind)))
                    if detail.get("decision") == "send-back":
                        log.sent_back[rid] = (seq, detail, time)
                    else:
                        log.settled[rid] = seq
                elif detail.get("queue") == "request":
                    log.settled[rid] = seq
                    log.pending[rid] = (detail, user_id, time)
                    for kind in detail.get("kinds", ()):
                        log.cleared.discard((rid, str(kind)))
        return log


class SupervisionModel:
    """The queue and sign-off over the app's vault backend and the form engine.

    Args:
        backend: the app's :class:`~fieldscreen.ui.backends.VaultBackend` (its ``vault`` and
            its lock are used; every call holds the lock for its own duration).
        forms: the forms port, to restore a draft's session and route an approved tier
            override through the engine.

    Call every method through the operations helper (they read and write the vault).
    """

    def __init__(self, backend: Any, forms: _Forms) -> None:
        self._backend = backend
        self._forms = forms
        self._seen: dict[tuple[str, int, str], _Draft | None] = {}

    # ------------------------------------------------------------------ reading
    def _users(self) -> dict[str, tuple[str, str]]:
        return {u.user_id: (u.login, u.role) for u in self._backend.vault.users()}

    def items(self, lang: str = "en") -> list[QueueItem]:
        """Everything waiting for a supervisor, most urgent first (needs the capability)."""
        from fieldscreen.vault.store import no_cycle_collection

        backend = self._backend
        # The read makes an object per entry of the log and per flagged card (a year's log:
        # over 100,000), none of them garbage: with the cycle collector running, its
        # collections walk all that is held so far (half the read's CPU at 50,000 records).
        with no_cycle_collection(), backend.exclusive():
            vault = backend.vault
            me = vault.current_user
            if me is None or not can_supervise(me.role):
                from fieldscreen.vault import VaultError

                raise VaultError("vault-not-allowed", role=me.role if me else "")
            users = self._users()
            log = _Log.of(vault.supervision_log())
            drafts = vault.list_records("draft")
            # Finalised cases: only the cards the list index flags with a kind not yet signed
            # off (or whose kinds it cannot tell), or with a tier override waiting in the log,
            # are decrypted, not every finalised card.
            finals = {
                rid
                for rid, kinds in vault.supervision_candidates().items()
                if kinds is None or any((rid, kind) not in log.cleared for kind in kinds)
            } | set(log.pending)
            # A draft is decrypted (and its view audited) only when it changed since the last
            # look: the engine's verdict is kept per (record, version) until lock.
            for row in drafts:
                key = (row.record_id, int(row.version), lang)
                if key not in self._seen:
                    self._seen[key] = self._read_draft(vault.load_record(row.record_id), lang)
            cards = vault.case_cards(finals) if finals else {}
        current = {(r.record_id, int(r.version), lang) for r in drafts}
        for key in set(self._seen) - current:
            del self._seen[key]
        out: list[QueueItem] = []
        for row in drafts:
            facts = self._seen[(row.record_id, int(row.version), lang)]
            item = self._draft_item(row.record_id, facts, log, users)
            if item is not None:
                out.append(item)
        for rid, card in cards.items():
            item = self._final_item(rid, card, log, users)
            if item is not None:
                out.append(item)
        return sorted(
            out,
            key=lambda i: (TIERS.index(i.tier) if i.tier in TIERS else 9, i.when, i.record_id),
        )

    def _read_draft(self, state: Mapping[str, Any], lang: str) -> _Draft | None:
        """What the engine says about one draft (None: not a screening this engine opens)."""
        session_state = state.get("session")
        if not isinstance(session_state, Mapping):
            return None
        try:
            session = self._forms.restore(session_state)
        except KnownError:
            return None  # a draft of a form version no longer held: the case list names it
        kinds = screening_kinds(session, lang, actions_recorded=False, pending_override=False)
        alias = str(session.case_card().get("alias", ""))
        return _Draft(kinds, alias, session.result(lang).tier)

    def forget(self) -> None:
        """Drop what was read from the drafts (on lock: it holds aliases)."""
        self._seen.clear()

    def _draft_item(
        self,
        rid: str,
        facts: _Draft | None,
        log: _Log,
        users: Mapping[str, tuple[str, str]],
    ) -> QueueItem | None:
        from fieldscreen.ui.ports import record_code

        if facts is None:
            return None
        pending = log.pending.get(rid)
        kinds = (("tier-override",) if pending is not None else ()) + tuple(
            k for k in facts.kinds if (rid, k) not in log.cleared
        )
        if not kinds:
            return None
        user_id, time = log.creator.get(rid, ("", ""))
        requested: Mapping[str, Any] = {}
        if pending is not None:
            requested, user_id, time = pending
        return QueueItem(
            rid,
            record_code(rid),
            facts.alias,
            facts.tier,
            kinds,
            users.get(user_id, ("", ""))[0],
            _when(time),
            "draft",
            str(requested.get("tier", "")),
            str(requested.get("reason", "")),
        )

    def _final_item(
        self,
        rid: str,
        card: Mapping[str, Any],
        log: _Log,
        users: Mapping[str, tuple[str, str]],
    ) -> QueueItem | None:
        from fieldscreen.ui.ports import record_code

        kinds = [str(k) for k in card.get("supervision", ()) if k in KINDS]
        pending = log.pending.get(rid)
        if pending is not None and "tier-override" not in kinds:
            kinds.insert(0, "tier-override")
        tiers = {str(card.get("tier", "")), str(card.get("computed_tier", ""))}
        if "T0" in tiers and not card.get("actions_recorded", True) and "act-now" not in kinds:
            kinds.append("act-now")
        kinds = [k for k in kinds if k == "tier-override" or (rid, k) not in log.cleared]
        if not kinds:
            return None
        user_id, time = log.finaliser.get(rid, ("", ""))
        requested: Mapping[str, Any] = pending[0] if pending is not None else {}
        return QueueItem(
            rid,
            record_code(rid),
            str(card.get("alias", "")),
            str(card.get("tier", "")),
            tuple(kinds),
            users.get(user_id, ("", ""))[0],
            _when(time),
            "finalised",
            str(requested.get("tier", "")),
            str(requested.get("reason", "")),
        )

    def sent_back(self) -> list[SentBack]:
        """What a supervisor sent back to the signed-in user and they have not acted on yet."""
        from fieldscreen.ui.ports import record_code
        from fieldscreen.vault.store import no_cycle_collection

        backend = self._backend
        with no_cycle_collection(), backend.exclusive():  # as :meth:`items`
            vault = backend.vault
            me = vault.current_user
            if me is None:
                return []
            users = self._users()
            log = _Log.of(vault.supervision_log())
            statuses = vault.record_statuses(log.sent_back) if log.sent_back else {}
            present = {rid for rid, status in statuses.items() if status != "purged"}
        out = []
        for rid, (seq, detail, time) in log.sent_back.items():
            if rid not in present or log.settled.get(rid, 0) > seq:
                continue
            if detail.get("requested_by") != me.user_id:
                continue
            by = users.get(str(detail.get("supervisor", "")), ("", ""))[0]
            out.append(
                SentBack(rid, record_code(rid), str(detail.get("note", "")), by, _when(time))
            )
        return sorted(out, key=lambda s: s.when, reverse=True)

    # ------------------------------------------------------------------ writing
    def request_override(self, record_id: str, tier: str, reason: str) -> None:
        """Leave a tier override of a draft for a supervisor (an audit entry holds it)."""
        if not reason.strip():
            from fieldscreen.forms.errors import OverrideError

            raise OverrideError("reason")
        with self._backend.exclusive():
            self._backend.vault.record_event(
                "override",
                record_id,
                {
                    "queue": "request",
                    "kinds": ["tier-override"],
                    "tier": tier,
                    "reason": reason.strip()[:_MAX_NOTE],
                },
            )

    def record_sign_off(self, record_id: str, *, supervisor: str, tier: str, computed: str) -> None:
        """Audit a tier override a supervisor signed off on the spot, at the results screen
        (their passphrase was checked there); it never waits in the queue."""
        with self._backend.exclusive():
            vault = self._backend.vault
            accounts = {u.login: u for u in vault.users()}
            signer = accounts.get(supervisor)
            me = vault.current_user
            vault.record_event(
                "override",
                record_id,
                {
                    "queue": "sign-off",
                    "kinds": ["tier-override"],
                    "decision": "approve",
                    "supervisor": signer.user_id if signer else "",
                    "requested_by": me.user_id if me else "",
                    "tier": computed,
                    "requested_tier": tier,
                    "note": "",
                },
            )

    def sign_off(
        self,
        item: QueueItem,
        decision: str,
        *,
        supervisor: str,
        passphrase: str,
        note: str = "",
    ) -> str:
        """Approve or send back ``item`` as ``supervisor`` (their own passphrase, checked now).

        Returns the decision written. Raises :class:`SignOffError` (``signoff-refused``) when
        the passphrase does not match that supervisor's account, when the account cannot
        supervise, or when it is the specialist's own case; nothing is written then.
        """
        if decision not in DECISIONS:
            raise ValueError(f"unknown decision {decision!r}")
        note = note.strip()[:_MAX_NOTE]
        if decision == "send-back" and not note:
            raise SignOffError("signoff-note-missing")
        backend = self._backend
        with backend.exclusive():
            vault = backend.vault
            accounts = {u.login: u for u in vault.users()}
            signer = accounts.get(supervisor)
            requester = accounts.get(item.requested_by)
            if signer is None or not can_supervise(signer.role):
                raise SignOffError("signoff-refused")
            if requester is not None and requester.user_id == signer.user_id:
                raise SignOffError("signoff-own-case")
            if not backend.verify(supervisor, passphrase):
                raise SignOffError("signoff-refused")
            approve_tier = decision == "approve" and "tier-override" in item.kinds
            if approve_tier and item.status == "draft" and item.requested_tier:
                self._settle_draft(item, supervisor)
            vault.record_event(
                "override",
                item.record_id,
                {
                    "queue": "sign-off",
                    "kinds": list(item.kinds),
                    "decision": decision,
                    "supervisor": signer.user_id,
                    "requested_by": requester.user_id if requester else "",
                    "tier": item.tier,
                    "requested_tier": item.requested_tier,
                    "note": note if decision == "send-back" else "",
                },
            )
        return decision

    def _settle_draft(self, item: QueueItem, supervisor: str) -> None:
        """An approved tier override, through the engine, into the draft's state."""
        vault = self._backend.vault
        state = dict(vault.load_record(item.record_id))
        session = self._forms.restore(state["session"])
        if session.override_tier(item.requested_tier, item.reason, supervisor):
            # the engine keeps it with the computed tier
            state["session"] = session.to_state()
            vault.save_draft(item.record_id, state)


def model_for(services: Any) -> SupervisionModel | None:
    """The queue's model of ``services`` (built once over the real vault backend); None for a
    store that is not the vault (the sample one), which has no audit log to keep it in."""
    from fieldscreen.ui.backends import VaultBackend

    if services.supervision is None and isinstance(services.vault, VaultBackend):
        services.supervision = SupervisionModel(services.vault, services.forms)
    return services.supervision
