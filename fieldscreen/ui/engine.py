"""The form engine behind the wizard: :class:`EngineScreening` adapts the sessions of several
:mod:`fieldscreen.forms` forms (consent, intake, and the modules a gateway opens) to
:class:`fieldscreen.ui.ports.ScreeningSession`.

Field names on screen are qualified with their form (``fs_intake:age``) so that forms may reuse a
name. A repeat is shown as one widget whose answer is the list of its instances; the adapter
turns that into the engine's ``add_repeat`` / ``remove_repeat`` / per-instance answers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fieldscreen.errors import KnownError
from fieldscreen.followup import Cadence
from fieldscreen.forms import (
    CaseRisk,
    Form,
    Node,
    Session,
    combine_case,
    most_urgent,
    undecided,
)
from fieldscreen.forms import Choice as Choice_
from fieldscreen.forms.fill import fill_kind, merge_rows, row_key, suggested_rows
from fieldscreen.ui.migration import DraftMigration, SetAside, plan, restore_sessions, set_aside
from fieldscreen.ui.ports import (
    Alert,
    Choice,
    Deadline,
    FieldView,
    PageView,
    Referral,
    ScreeningResult,
    Update,
)

__all__ = ["Catalogue", "EngineForms", "EngineScreening", "title_in"]

_SHOWN = {
    "text",
    "integer",
    "decimal",
    "date",
    "datetime",
    "time",
    "select_one",
    "select_multiple",
    "rank",
    "image",
    "audio",
    "video",
    "file",
    "note",
    "acknowledge",
}


def _split(name: str) -> tuple[str, str]:
    form_id, _, field = name.partition(":")
    return form_id, field


class EngineScreening:
    """One screening over a chain of forms; see the module docstring."""

    def __init__(
        self,
        forms: Mapping[str, Form],
        sessions: dict[str, Session],
        started: datetime,
        catalogue: Catalogue | None = None,
    ) -> None:
        self._forms = forms
        self._sessions = sessions  # insertion order is page order
        self._started = started
        self._catalogue = catalogue or Catalogue()

    # ------------------------------------------------------------- identity
    @property
    def form_id(self) -> str:
        return "screening"

    @property
    def form_version(self) -> str:
        return "+".join(f"{f.id}@{f.version}" for f in self._forms.values())[:100]

    def migrated_from(self) -> dict[str, str]:
        """Form id -> the earlier version this screening's answers were carried over from."""
        return {i: s.migrated_from for i, s in self._sessions.items() if s.migrated_from}

    def set_aside(self, lang: str) -> tuple[SetAside, ...]:
        """The answers form updates set aside (for the specialist's read-only panel)."""
        return set_aside(self._sessions, lang)

    # ------------------------------------------------------------ override
    def override_tier(self, tier: str, reason: str, supervisor: str) -> bool:
        """Record a signed-off tier override in the engine (the intake's session, whose rules
        set the tier), so it is kept in the screening's state with the computed tier; raises
        :class:`fieldscreen.forms.errors.OverrideError` when something is missing."""
        session = self._sessions.get("fs_intake") or next(iter(self._sessions.values()))
        session.override_tier(tier, reason, supervisor)
        return True

    def aggregate(self, day: date) -> dict[str, Any] | None:
        """The non-identifying aggregate record sent beside the sealed screening (None when
        the child declined statistics); the site comes from the session context."""
        from fieldscreen.forms.aggregate import case_aggregate

        sessions = list(self._sessions.values())
        site = str(sessions[0].context.get("site", "")) if sessions else ""
        return case_aggregate(sessions, site=site or "unknown", day=day)

    def tier_override(self) -> Any:
        """The override recorded in the engine, or None."""
        session = self._sessions.get("fs_intake") or next(iter(self._sessions.values()))
        return session.override

    # ---------------------------------------------------------------- pages
    def _field_view(self, session: Session, form_id: str, name: str, lang: str) -> FieldView:
        f = session.form.fields[name]
        kind = f.kind
        if kind == "text" and "multiline" in f.appearance.split():
            kind = "multiline"
        children: tuple[FieldView, ...] = ()
        if kind == "repeat":
            children = tuple(
                self._field_view(session, form_id, c, lang)
                for c in f.children
                if session.form.fields[c].kind in _SHOWN
            )
        return FieldView(
            name=f"{form_id}:{name}",
            kind=kind,
            label=f.label.get(lang) or name,
            hint=f.hint.get(lang),
            choices=tuple(
                Choice(c.name, c.label.get(lang) or c.name) for c in session.ordered_choices(name)
            ),
            required=bool(f.required) and f.required not in {"no", "false()"},
            appearance=f.appearance,
            read_only=bool(f.read_only) and f.read_only not in {"no", "false()"},
            pfa=f.extra.get("pfa", ""),
            children=children,
            fillable=bool(fill_kind(session.form, name)),
            accept=f.accept,
        )

    def pages(self, lang: str) -> Sequence[PageView]:
        out: list[PageView] = []
        for form_id, session in self._sessions.items():
            form = session.form
            for number, page in enumerate(form.pages):
                if not session.page_relevant(number):
                    continue  # skip logic: a page whose group is not relevant is not shown
                if page.group and form.fields[page.group].kind == "repeat":
                    names: tuple[str, ...] = (page.group,)
                else:
                    names = tuple(
                        n
                        for n in page.fields
                        if form.fields[n].kind in _SHOWN
                        or (form.fields[n].kind == "repeat" and not form.fields[n].repeats)
                    )
                    names = tuple(n for n in names if not form.fields[n].repeats)
                if not names:
                    continue
                title = (
                    form.fields[page.group].label.get(lang) if page.group else ""
                ) or form.title(lang)
                views = tuple(self._field_view(session, form_id, n, lang) for n in names)
                out.append(PageView(f"{form_id}:{page.name}", title, form_id, views))
        return _safety_first(out)

    # --------------------------------------------------------------- values
    def value(self, name: str) -> Any:
        form_id, field = _split(name)
        session = self._sessions.get(form_id)
        if session is None:
            return None
        f = session.form.fields[field]
        if f.kind == "repeat":
            rows = []
            for index in session.instances(field, ()):
                rows.append(
                    {
                        f"{form_id}:{c}": _plain(session.answer(Node(c, index)))
                        for c in f.children
                        if session.answer(Node(c, index)) is not None
                    }
                )
            return rows or None
        return _plain(session.answer(field))

    def set_answer(self, name: str, value: Any, lang: str) -> Update:
        form_id, field = _split(name)
        session = self._sessions[form_id]
        before = list(self._sessions)
        errors: dict[str, str] = {}
        try:
            if session.form.fields[field].kind == "repeat":
                self._set_repeat(session, form_id, field, value or [])
            else:
                elsewhere = sum(
                    s.attached_bytes() for f, s in self._sessions.items() if f != form_id
                )
                session.set_answer(field, value, held_elsewhere=elsewhere)
        except KnownError as error:
            errors[name] = error.message(lang)
        self._flow_case_values()
        self._open_modules(lang)
        opened = tuple(self._forms[f].title(lang) for f in self._sessions if f not in before)
        update = self.current(lang, opened)
        return Update(
            update.relevant,
            {**update.errors, **errors},
            update.tier,
            update.alerts,
            update.opened,
            update.undecided,
        )

    def _set_repeat(self, session: Session, form_id: str, name: str, rows: list[Any]) -> None:
        count = session.repeat_count(name)
        while count < len(rows):
            session.add_repeat(name)
            count += 1
        while count > len(rows):
            session.remove_repeat(name, (count - 1,))
            count -= 1
        children = session.form.fields[name].children
        for i, row in enumerate(rows):
            for child in children:
                value = row.get(f"{form_id}:{child}")
                if session.answer(Node(child, (i,))) != value:
                    session.set_answer(Node(child, (i,)), value)

    def _case_values(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for session in self._sessions.values():
            values.update(session.values_json())
        return values

    def _flow_case_values(self) -> None:
        """Copy each form's values into the other forms' ``from_case`` fields (e.g. whether
        the consent form allows the sensitive modules).

        A value flows from the form that asks or computes it, whichever page comes first: the
        immediate-safety page of the intake is shown before the consent form's caregiver page,
        and that page starts from its answer. Setting a ``from_case`` field fires the
        questions whose ``trigger`` names it, so a question asked once is pre-filled in the
        later form; a pre-filled answer may set another, hence a few passes.
        """
        for _ in range(3):
            sources: dict[str, Any] = {}
            for session in self._sessions.values():
                values = session.values_json()
                for name, value in values.items():
                    if not session.form.fields[name].from_case:
                        sources.setdefault(name, value)
            moved = False
            for session in self._sessions.values():
                for name, f in session.form.fields.items():
                    if f.from_case and f.kind == "hidden" and name in sources:
                        value = sources[name]
                        before = session.answer(name)
                        if before != value:
                            session.set_answer(name, value)
                            moved = moved or session.answer(name) != before
            if not moved:
                return

    def _open_modules(self, lang: str) -> None:
        wanted = [o for s in list(self._sessions.values()) for o in s.risk(lang).opens]
        for form_id in wanted:
            if form_id in self._forms and form_id not in self._sessions:
                first = next(iter(self._sessions.values()))
                self._sessions[form_id] = Session.start(
                    self._forms[form_id], lang, first.context, self._case_values()
                )

    # -------------------------------------------------------------- derived
    def current(self, lang: str, opened: tuple[str, ...] = ()) -> Update:
        relevant: dict[str, bool] = {}
        errors: dict[str, str] = {}
        alerts: list[Alert] = []
        tiers: list[str] = []
        open_questions = 0
        for form_id, session in self._sessions.items():
            open_questions += len(undecided(session))
            for name, f in session.form.fields.items():
                if f.repeats or not (f.kind in _SHOWN or f.kind == "repeat"):
                    continue
                relevant[f"{form_id}:{name}"] = session.relevant(name)
                if f.is_input and session.answer(name) is not None:
                    problems = [e for e in session.errors(name, lang) if e.kind != "required"]
                    if problems:
                        errors[f"{form_id}:{name}"] = problems[0].message
            risk = session.risk(lang)
            tiers.append(risk.tier)
            rule_tier = {r.name: r.tier for r in session.form.rules}
            alerts.extend(
                Alert(rule, rule_tier.get(rule, ""), text) for rule, text in risk.messages
            )
        return Update(relevant, errors, most_urgent(tiers), tuple(alerts), opened, open_questions)

    def missing_required(self, page: str, lang: str) -> Mapping[str, str]:
        form_id, page_name = _split(page)
        session = self._sessions.get(form_id)
        if session is None:
            return {}
        missing: dict[str, str] = {}
        for p in session.form.pages:
            if p.name != page_name:
                continue
            for name in p.fields:
                f = session.form.fields[name]
                if f.repeats or not f.is_input:
                    continue
                problems = session.errors(name, lang)
                if problems:
                    missing[f"{form_id}:{name}"] = problems[0].message
        return missing

    def to_state(self) -> dict[str, Any]:
        return {
            "started": self._started.isoformat(),
            "forms": {fid: s.to_state() for fid, s in self._sessions.items()},
        }

    def case_card(self) -> dict[str, Any]:
        card: dict[str, Any] = {}
        for session in self._sessions.values():
            card.update(session.case_card())
        return card

    def _recipients(self) -> dict[str, str]:
        recipients = dict(self._catalogue.recipients)
        for form in self._forms.values():
            for row in form.lists.get("service_types", ()):
                recipients.setdefault(row.get("name", ""), row.get("recipient", ""))
        return recipients

    def case_risk(self, lang: str) -> CaseRisk:
        """The forms' risk combined: referrals split by the child's consent, the recipients a
        rule withholds (fear of the state) and the services the child declined (form D)."""
        return combine_case(
            [s.risk(lang) for s in self._sessions.values()],
            consent=self._case_values(),
            service_types=[{"name": k, "recipient": v} for k, v in self._recipients().items()],
            risk_tiers=[],
        )

    def release_referral(self, service: str, reason: str, supervisor: str) -> bool:
        """Make a withheld or declined referral possible: the supervisor's release (with the
        reason) of the recipient a rule withholds, or of the service the child declined, kept
        in the state of the form whose rule holds it. Raises ``ReleaseError`` when something is
        missing and ``KnownError`` ``form-release-name`` when ``service`` is not held back."""
        from fieldscreen.forms import ReleaseError

        state = self.case_risk("en").consent(service)
        if state == "withheld":
            name = self._recipients().get(service, "")
            holds = [s for s in self._sessions.values() if name in s.risk().withholds]
        elif state == "declined":
            name = service
            holds = [
                s
                for s in self._sessions.values()
                if service in s.risk().declines and service in s.risk().referrals
            ]
        else:
            raise ReleaseError("name")
        for session in holds:
            session.release(name, reason, supervisor)
        return True

    def fill_from_suggestions(self, name: str, lang: str) -> list[dict[str, Any]] | None:
        """The rows of repeat ``name`` with the screening's suggestions added (the referrals the
        consent allows, with provider, urgency and consent basis; the authorities the raised
        deadlines notify). Rows already there are kept as they are; nothing is answered yet.
        None when the repeat is not fillable."""
        form_id, field = _split(name)
        session = self._sessions.get(form_id)
        kind = fill_kind(session.form, field) if session is not None else ""
        if session is None or not kind:
            return None
        rows = suggested_rows(
            session.form,
            field,
            self.case_risk(lang),
            recipients=self._recipients(),
            providers={s: p for s, (p, _) in self._catalogue.directory.items() if p},
        )
        qualified = [{f"{form_id}:{k}": v for k, v in row.items()} for row in rows]
        return merge_rows(self.value(name) or [], qualified, f"{form_id}:{row_key(kind)}")

    def follow_up_cadence(self) -> Cadence:
        """How often to follow the case up: the case combination of the engine over every form
        of the screening (the tier's row of ``lists/risk_tiers.csv``)."""
        from fieldscreen.forms.library import combine_builtin

        case = combine_builtin([s.risk() for s in self._sessions.values()], self._case_values())
        return Cadence(case.follow_up.every_days, case.follow_up.times)

    def result(self, lang: str) -> ScreeningResult:
        risks = [s.risk(lang) for s in self._sessions.values()]
        tier = most_urgent(r.tier for r in risks)
        cat = self._catalogue
        concerns = tuple(
            cat.concern_labels.get(c, {}).get(lang, c)
            for c in dict.fromkeys(c for r in risks for c in r.concerns)
        )
        deadlines = tuple(
            Deadline(d.label or d.name, self._started + timedelta(hours=d.hours), d.basis)
            for r in risks
            for d in r.deadlines
        )
        case = self.case_risk(lang)
        referrals = []
        for service in dict.fromkeys(s for r in risks for s in r.referrals):
            status = case.consent(service)
            provider, contact = cat.directory.get(service, ("", ""))
            label = cat.service_labels.get(service, {}).get(lang, service)
            referrals.append(
                Referral(service, label, provider, contact, status == "suggested", status)
            )
        rule_tier = {r.name: r.tier for f in self._forms.values() for r in f.rules}
        alerts = tuple(
            Alert(rule, rule_tier.get(rule, ""), text) for r in risks for rule, text in r.messages
        )
        return ScreeningResult(
            tier,
            concerns,
            tuple(sorted(deadlines, key=lambda d: d.due)),
            tuple(referrals),
            alerts,
        )


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    return value


#: The immediate-safety block is asked first, even before full consent: right after the pages
#: that get ready and note how the child is (a child in high distress defers consent and only
#: this block runs). ``(page moved, page it follows)``.
SAFETY_FIRST = ("fs_intake:b0_safety", "fs_consent:a2_age_state")


def _safety_first(pages: list[PageView]) -> list[PageView]:
    moved, after = SAFETY_FIRST
    names = [p.name for p in pages]
    if moved not in names or after not in names:
        return pages
    page = pages.pop(names.index(moved))
    names.remove(moved)
    pages.insert(names.index(after) + 1, page)
    return pages


def title_in(title: Any, lang: str) -> str:
    """A form's title in ``lang`` only (``form.title(lang)``; kept for callers of the older
    bilingual "English / Español" titles, which it still splits)."""
    text = str(title.get(lang) or "")
    halves = text.split(" / ")
    if len(halves) == 2 and title.get("en") == title.get("es"):
        return halves[1].strip() if lang == "es" else halves[0].strip()
    return text


@dataclass(frozen=True)
class Catalogue:
    """Names the results page shows: labels of concerns and service types (lang -> text), the
    recipient each service type needs consent for, and the site's service directory (service
    type -> provider, contact)."""

    concern_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    service_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    recipients: Mapping[str, str] = field(default_factory=dict)
    directory: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def from_lists(
        cls,
        concerns: Sequence[Choice_],
        service_types: Sequence[Choice_],
        directory: Mapping[str, tuple[str, str]] | None = None,
    ) -> Catalogue:
        """From the shared lookup lists (``protection_concerns``, ``service_types``)."""

        def labels(choice: Choice_) -> dict[str, str]:
            return {lang: choice.label.get(lang) for lang in ("en", "es")}

        return cls(
            {c.name: labels(c) for c in concerns},
            {c.name: labels(c) for c in service_types},
            {c.name: str(c.extra.get("recipient", "")) for c in service_types},
            dict(directory or {}),
        )


class EngineForms:
    """:class:`~fieldscreen.ui.ports.FormsPort` over loaded forms.

    Args:
        forms: every form a screening may use, by id, or a callable that loads them (called on
            first use, so start-up does not wait for it; :meth:`warm` loads them on a worker).
        first: the forms every screening starts with, in order (e.g. consent, intake).
        context: the session context (``role``, ``site``, ``jurisdiction`` ...).
        catalogue: labels, recipients and the service directory for the results page, or a
            callable that builds it.
    """

    def __init__(
        self,
        forms: Mapping[str, Form] | Callable[[], Mapping[str, Form]],
        first: Sequence[str],
        context: Mapping[str, Any] | None = None,
        catalogue: Catalogue | Callable[[], Catalogue] | None = None,
    ) -> None:
        self._forms = forms
        self.first = tuple(first)
        self.context = dict(context or {})
        self._catalogue = catalogue

    @property
    def forms(self) -> Mapping[str, Form]:
        if callable(self._forms):
            self._forms = dict(self._forms())
        return self._forms

    @property
    def catalogue(self) -> Catalogue:
        if callable(self._catalogue):
            self._catalogue = self._catalogue()
        return self._catalogue or Catalogue()

    def warm(self) -> None:
        """Load the forms and lists now (call it on a worker after unlock)."""
        _ = self.forms, self.catalogue

    def update_context(self, values: Mapping[str, Any]) -> None:
        """Set the site's context (``site``, ``jurisdiction``) for the screenings started next."""
        self.context.update(values)

    def stop_reasons(self, lang: str) -> list[tuple[str, str]]:
        """None of its own: the organisation's list comes with the built-in forms (``app``)."""
        return []

    def start(self, lang: str) -> EngineScreening:
        sessions: dict[str, Session] = {}
        values: dict[str, Any] = {}
        for form_id in self.first:
            session = Session.start(self.forms[form_id], lang, self.context, values)
            sessions[form_id] = session
            values.update(session.values_json())
        return EngineScreening(self.forms, sessions, datetime.now(UTC), self.catalogue)

    def migration(self, state: Mapping[str, Any], lang: str) -> DraftMigration:
        """What :meth:`restore` would carry over to newer form versions and set aside."""
        return plan(self.forms, state, lang)

    def restore(self, state: Mapping[str, Any]) -> EngineScreening:
        """The saved screening, each form's answers carried over to the version held now
        (what no longer fits is set aside inside the session's state, see :meth:`migration`)."""
        sessions = restore_sessions(self.forms, state)
        started = datetime.fromisoformat(str(state["started"]))
        return EngineScreening(self.forms, sessions, started, self.catalogue)
