"""What the screens need from the core, as typed interfaces (``typing.Protocol``).

The screens never import the vault or the form engine's internals: ``app.py`` hands them objects
that satisfy these protocols (adapters over :mod:`fieldscreen.vault` and :mod:`fieldscreen.forms`),
and tests hand them fakes that satisfy the same protocols. The view records below are what a
dumb widget is given: plain, immutable, already in the user's language.

Tiers follow the forms convention: ``T0`` act now, ``T1`` within 24 h, ``T2`` within 72 h,
``T3`` within 7 days, ``T4`` no current risk.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from fieldscreen.errors import KnownError
from fieldscreen.vocabulary import ACT_NOW, KINDS, TIERS

if TYPE_CHECKING:
    from datetime import date
    from pathlib import Path

    from fieldscreen.followup import Cadence
    from fieldscreen.forms.risk import Override
    from fieldscreen.ui.migration import DraftMigration, SetAside
    from fieldscreen.vault.caselist import CaseColumns

__all__ = [
    "ACT_NOW",
    "FIELD_KINDS",
    "LOGIN_PATTERN",
    "TIERS",
    "Alert",
    "CaseSummary",
    "Choice",
    "Deadline",
    "DraftSummary",
    "FieldView",
    "FormsPort",
    "PageView",
    "Referral",
    "ScreeningResult",
    "ScreeningSession",
    "StaffServer",
    "Update",
    "UserInfo",
    "VaultPort",
    "earliest_deadline",
    "login_problem",
    "record_code",
    "result_to_json",
    "suggest_login",
]


#: What the vault accepts as a login (``fieldscreen.vault.base._check_login``; a test keeps the
#: two equal), so a screen can say what is wrong while it is typed instead of after a submit.
LOGIN_PATTERN = r"[\w.@-]{1,64}"


def login_problem(login: str) -> str | None:
    """Why ``login`` is not a login the vault accepts (``"empty"``, ``"space"``, ``"long"``,
    ``"characters"``), or None when it is one."""
    import re

    if re.fullmatch(LOGIN_PATTERN, login):
        return None
    if not login:
        return "empty"
    if any(c.isspace() for c in login):
        return "space"
    if len(login) > 64:
        return "long"
    return "characters"


def suggest_login(text: str) -> str:
    """A login close to ``text`` (a person's name typed by habit): ``"Ana López"`` gives
    ``"ana.lópez"``; empty when nothing of it can be kept."""
    import re

    joined = re.sub(r"\s+", ".", text.strip().lower())
    return re.sub(r"[^\w.@-]", "", joined)[:64].strip(".")


#: Field kinds the widget factory renders (the XLSForm question types a person answers, and
#: ``multiline``: a text field with that appearance); :data:`fieldscreen.vocabulary.KINDS`
#: without the ones nobody sees.
FIELD_KINDS = (*(k for k in KINDS if k not in {"calculate", "hidden", "group"}), "multiline")


@dataclass(frozen=True, slots=True)
class Choice:
    name: str
    label: str


@dataclass(frozen=True, slots=True)
class FieldView:
    """One question as a widget sees it.

    ``kind`` is one of :data:`FIELD_KINDS`; ``appearance`` carries XLSForm appearances
    (``minimal``, ``multiline``, ``horizontal``); ``pfa`` is a psychological-first-aid prompt
    shown beside the question; ``children`` are the fields of one repeat instance.
    """

    name: str
    kind: str
    label: str
    hint: str = ""
    choices: tuple[Choice, ...] = ()
    required: bool = False
    appearance: str = ""
    read_only: bool = False
    pfa: str = ""
    children: tuple[FieldView, ...] = ()
    #: A repeat the session can fill from the screening's suggestions (referrals made,
    #: authorities notified); see ``fill_from_suggestions``.
    fillable: bool = False
    #: The one kind of file a ``file`` question takes, else ``''`` (any file): ``osm`` for an
    #: OpenStreetMap question (its file picker offers ``*.osm`` first).
    accept: str = ""


@dataclass(frozen=True, slots=True)
class PageView:
    """One page of the wizard (an XLSForm group): a title and its fields."""

    name: str
    title: str
    form_id: str
    fields: tuple[FieldView, ...]


@dataclass(frozen=True, slots=True)
class Alert:
    """A raised rule that tells the specialist what to do (an act-now alert when tier T0)."""

    rule: str
    tier: str
    message: str


@dataclass(frozen=True, slots=True)
class Update:
    """What changed after one answer: the controller applies it to the widgets."""

    relevant: Mapping[str, bool] = field(default_factory=dict)
    errors: Mapping[str, str] = field(default_factory=dict)
    tier: str = "T4"
    alerts: tuple[Alert, ...] = ()
    #: Titles of modules a gateway answer has just opened (pages were added).
    opened: tuple[str, ...] = ()
    #: How many shown questions that decide the tier have no answer yet: while any is open
    #: and no rule set a tier, the tier is "not assessed yet", never "no current risk".
    undecided: int = 0


@dataclass(frozen=True, slots=True)
class Deadline:
    label: str
    due: datetime
    basis: str = ""


@dataclass(frozen=True, slots=True)
class Referral:
    service_type: str
    label: str
    provider: str
    contact: str
    consented: bool
    #: ``suggested``, ``needs_consent``, ``withheld`` (a rule holds the recipient back, e.g.
    #: the child fears the state) or ``declined`` (the child refused this service).
    status: str = ""


@dataclass(frozen=True, slots=True)
class ScreeningResult:
    tier: str
    concerns: tuple[str, ...]
    deadlines: tuple[Deadline, ...]
    referrals: tuple[Referral, ...]
    alerts: tuple[Alert, ...] = ()


class ScreeningSession(Protocol):
    """One screening in progress over the form engine (consent, intake and opened modules).

    Its identity is the store's record id, given by :meth:`VaultPort.new_draft`; the session
    itself only carries the form (pack) id and version the screening is pinned to.
    """

    @property
    def form_id(self) -> str: ...

    @property
    def form_version(self) -> str: ...

    def pages(self, lang: str) -> Sequence[PageView]:
        """Every page currently open, in order (grows when a gateway opens a module)."""
        ...

    def value(self, name: str) -> Any: ...

    def set_answer(self, name: str, value: Any, lang: str) -> Update: ...

    def current(self, lang: str) -> Update:
        """The derived state as it stands (used after a restore)."""
        ...

    def missing_required(self, page: str, lang: str) -> Mapping[str, str]:
        """Required answers missing on ``page`` (name -> message in the session language)."""
        ...

    def to_state(self) -> dict[str, Any]:
        """Everything needed to restore this session exactly (JSON-compatible)."""
        ...

    def result(self, lang: str) -> ScreeningResult: ...

    def case_card(self) -> dict[str, Any]:
        """The fields the forms mark for follow-up (kept after the full record is sealed)."""
        ...

    def aggregate(self, day: date) -> dict[str, Any] | None:
        """The non-identifying aggregate record sent beside the sealed screening; None when
        the child declined statistics or the forms give none (the sample form)."""
        ...

    def follow_up_cadence(self) -> Cadence | None:
        """How often to follow the case up, as the forms' rules decide; None when they do not
        (the caller then uses the tier's cadence)."""
        ...

    def set_aside(self, lang: str) -> Sequence[SetAside]:
        """The answers a form update set aside, for the specialist's read-only panel."""
        ...

    def fill_from_suggestions(self, name: str, lang: str) -> list[dict[str, Any]] | None:
        """The rows of repeat ``name`` with the screening's suggestions added; None when the
        repeat is not fillable."""
        ...

    def tier_override(self) -> Override | None:
        """The signed-off tier override the session keeps, or None."""
        ...

    def override_tier(self, tier: str, reason: str, supervisor: str) -> bool:
        """Keep a signed-off tier override in the screening's state; False when the session
        keeps none (the sample form: the caller keeps it). Raises a KnownError when something
        is missing."""
        ...

    def release_referral(self, service: str, reason: str, supervisor: str) -> bool:
        """Lift a withheld recipient or a declined service with a supervisor's reason; False
        when the session holds nothing back (the sample form). Raises a KnownError when
        something is missing."""
        ...


class FormsPort(Protocol):
    """The forms a screening runs: the engine over the built-in forms, or the sample one."""

    def start(self, lang: str) -> ScreeningSession: ...

    def restore(self, state: Mapping[str, Any]) -> ScreeningSession: ...

    @property
    def context(self) -> Mapping[str, Any] | None:
        """The sessions' context (``site``, ``jurisdiction`` ...); None for forms that take
        none (the sample form)."""
        ...

    def warm(self) -> None:
        """Load the forms and lists now (the app calls it on a worker after unlock)."""
        ...

    def update_context(self, values: Mapping[str, Any]) -> None:
        """Set the site's context for the screenings started next."""
        ...

    def migration(self, state: Mapping[str, Any], lang: str) -> DraftMigration | None:
        """What :meth:`restore` would carry over to newer form versions and set aside; None
        when the forms have no versions to migrate between."""
        ...

    def stop_reasons(self, lang: str) -> list[tuple[str, str]]:
        """The organisation's reasons to stop a screening, as ``(code, label)``; empty when the
        forms bring none (the wizard then offers its own)."""
        ...


@dataclass(frozen=True, slots=True)
class UserInfo:
    name: str
    role: str  # specialist, coordinator, admin


@dataclass(frozen=True, slots=True)
class DraftSummary:
    screening_id: str
    code: str
    updated: datetime
    page: str = ""


def earliest_deadline(card: Mapping[str, Any]) -> tuple[datetime | None, str]:
    """The earliest statutory deadline on a case card (``deadlines[].due``) and its label."""
    dues = []
    for item in card.get("deadlines", ()):
        try:
            dues.append((datetime.fromisoformat(str(item["due"])), str(item.get("label", ""))))
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
    return min(dues, key=lambda d: d[0]) if dues else (None, "")


def record_code(record_id: str) -> str:
    """The short code a specialist reads aloud or writes down (no personal data in it)."""
    return record_id[:6].upper()


def result_to_json(result: ScreeningResult) -> dict[str, Any]:
    """A result as JSON-compatible data (for the sealed record and the case card)."""
    return {
        "tier": result.tier,
        "concerns": list(result.concerns),
        "deadlines": [
            {"label": d.label, "due": d.due.isoformat(), "basis": d.basis} for d in result.deadlines
        ],
        "referrals": [
            {
                "service_type": r.service_type,
                "label": r.label,
                "provider": r.provider,
                "contact": r.contact,
                "consented": r.consented,
                "status": r.status,
            }
            for r in result.referrals
        ],
        "alerts": [{"rule": a.rule, "tier": a.tier, "message": a.message} for a in result.alerts],
    }


class CaseSummary(NamedTuple):
    """A case card as the case list shows it (decrypted only while unlocked). A named tuple:
    a listing makes 50,000, several times faster than frozen dataclasses."""

    screening_id: str
    code: str
    alias: str
    tier: str
    concerns: tuple[str, ...]
    next_due: datetime | None
    status: str  # draft, finalised, sealed
    updated: datetime
    #: The earliest statutory deadline of the case (from its card), if any, and its name.
    deadline: datetime | None = None
    deadline_label: str = ""


class VaultPort(Protocol):
    """The encrypted store as the screens use it. Every call may block on disk: run it through
    :class:`~fieldscreen.ui.operations.Operations` (writes with ``write``, reads with ``read``)."""

    def is_set_up(self) -> bool: ...

    def warm(self) -> None:
        """Import and open what unlock needs now (the app calls it on a worker after the first
        paint), so the first unlock does not wait for it."""
        ...

    def logins(self) -> list[str] | None:
        """The logins for the unlock screen when they can be read cheaply on the GUI thread (a
        small plain file); None when only :meth:`users`, on the read pool, can tell."""
        ...

    def users(self) -> Sequence[UserInfo]: ...

    def create_user(self, name: str, role: str, passphrase: str, confirm: str = "") -> None:
        """The first call creates the store with an admin; later ones need the acting admin's
        passphrase again in ``confirm``."""
        ...

    def remove_user(self, name: str, confirm: str) -> Mapping[str, Any]:
        """Remove an account (an admin, with their passphrase again in ``confirm``); the store
        moves to new keys. Returns what :meth:`rotate_keys` returns."""
        ...

    def change_role(self, name: str, role: str, confirm: str) -> Mapping[str, Any]:
        """Give another account ``role`` (an admin, passphrase again in ``confirm``), as
        ``fieldscreen users role`` does; a demotion moves the store to new keys. Returns
        ``user``, ``was``, ``role`` and ``rotated`` (with what :meth:`rotate_keys` returns
        when it rotated)."""
        ...

    def rotate_keys(self, confirm: str) -> Mapping[str, Any]:
        """Move the store to new keys now (an admin, passphrase again in ``confirm``): counts
        (``data_keys``) and the accounts that must be added again (``must_be_added_again``)."""
        ...

    def change_passphrase(self, old: str, new: str) -> Mapping[str, Any]:
        """Change the signed-in user's passphrase (``old`` is the second entry): a new key of
        their own and new keys for the store, so a copy of the key file with the old
        passphrase opens nothing written afterwards. Returns what :meth:`rotate_keys` returns,
        and ``awaiting_admin`` (a non-admin's new key is signed in at an admin's next
        unlock)."""
        ...

    def unlock(self, name: str, passphrase: str) -> UserInfo:
        """Raises a KnownError (one message for every kind of failure) when it fails."""
        ...

    def verify(self, name: str, passphrase: str) -> bool:
        """A second passphrase entry (sensitive actions, supervisor sign-off); no state change."""
        ...

    def failed_attempts(self, name: str) -> int: ...

    def integrity_alert(self) -> KnownError | None:
        """What the check at unlock found changed outside FieldScreen, in words, or None."""
        ...

    def lock(self) -> None: ...

    def new_draft(self, form_id: str, form_version: str, state: Mapping[str, Any]) -> str:
        """Create the draft (durable on return) and return its record id."""
        ...

    def save_draft(self, record_id: str, state: Mapping[str, Any]) -> None:
        """Encrypt and commit; durable when it returns."""
        ...

    def load_draft(self, record_id: str) -> Mapping[str, Any]: ...

    def drafts(self) -> Sequence[DraftSummary]: ...

    def finalise(
        self,
        record_id: str,
        record: Mapping[str, Any],
        case_card: Mapping[str, Any],
        aggregate: Mapping[str, Any] | None = None,
    ) -> None:
        """Seal the full ``record`` to the organisation and keep ``case_card`` for follow-up;
        ``aggregate`` is the non-identifying record sent beside it (None: the child declined)."""
        ...

    def cases(self) -> Sequence[CaseSummary]: ...

    def case_columns(self) -> CaseColumns | None:
        """The case list as the vault's list index holds it, before any per-row object is made
        (:func:`fieldscreen.ui.cases.load_rows` builds rows only for what it shows first); None
        for a store without a list index, whose list is :meth:`cases` and :meth:`drafts`."""
        ...

    def case_card(self, record_id: str) -> Mapping[str, Any]:
        """The follow-up fields kept for a finalised screening (see the results page)."""
        ...

    def record_follow_up(self, record_id: str, when: datetime) -> Mapping[str, Any]:
        """Record a follow-up done at ``when``: the case card's next date moves on by the tier's
        cadence (:func:`fieldscreen.followup.record_done`); durable on return, returns the card."""
        ...

    def record_case_event(
        self, record_id: str, kind: str, when: datetime, *, note: str = "", reason: str = ""
    ) -> Mapping[str, Any]:
        """Record a case event of ``kind`` (:data:`fieldscreen.caseevents.EVENT_TYPES`: a
        referral made, the case closed with its ``reason`` ...) at ``when``, sealed for the team
        and added to the card's ``events``; durable on return, returns the card."""
        ...

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
        """Hand the case over to ``partner`` of the site's ``directory``: the packet (only what
        the child consented to share with it) written to ``out``, the case event
        ``handover-sent`` sealed for the team (``fieldscreen handover``, docs/handover.md);
        returns what that command prints with ``--json`` (with ``summary``, also the
        ``summary_html`` of the PDF in English and Spanish). With ``send``, the packet is also
        queued to go through the server at the next sync, and ``out`` may be None."""
        ...

    def pending(self) -> int:
        """Finalised screenings sealed and waiting to be sent to the organisation."""
        ...

    def record_event(self, action: str, detail: Mapping[str, Any]) -> None:
        """Audit an app-level action (codes and counts only in ``detail``, never figures or
        answers); needs the store unlocked."""
        ...

    def aggregates(self) -> list[tuple[dict[str, Any], str, str]]:
        """The aggregate records of this laptop's finalised screenings not yet delivered, as
        ``(aggregate, day, site)`` for the coordinator report; needs the store unlocked."""
        ...

    def travel_mode(self) -> int:
        """Seal and purge every readable copy; returns how many were sealed."""
        ...

    def wipe(self) -> None: ...


class StaffServer(Protocol):
    """The coordinator's requests to the server this laptop is enrolled with, with the
    coordinator's own credential. Built in the composition root (``app.py``) over the vault's
    stored provisioning and handed to the screens: no screen builds a network client.

    Each method raises :class:`~fieldscreen.sync.errors.SyncError` ``sync-not-provisioned``
    while the laptop is not enrolled, and the client's errors when the server cannot be reached
    or refuses. Run them on the read pool (they wait on the network).
    """

    def report(self, credential: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """``GET /admin/report`` with the report's filter ``params``."""
        ...

    def matches(self, credential: str) -> dict[str, Any]:
        """``GET /admin/matches``: possible matches between screenings of the coordinator's
        sites."""
        ...

    def stats(self, credential: str) -> dict[str, Any]:
        """``GET /admin/stats``: every laptop of the coordinator's sites, with the envelopes
        held per day."""
        ...
