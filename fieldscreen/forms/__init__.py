"""The form engine: XLSForm in, a running screening out. Pure: no vault, no sync, no Qt.

Public API (stable; other packages import only these names)::

    load_form(path) -> Form                      # .xlsx or .md; raises FormError FILE:sheet:row:col
    load_form_text(markdown, name, base) -> Form # pyxform Markdown tables (tests, previews)
    read_list(path) -> tuple[Choice, ...]        # a CSV lookup list (service types, tiers ...)

    Form: id, version, title, default_language, languages, fields (name -> Field, form order),
          top (top-level names), pages (Page: name, fields, group), rules, deadlines, lists
    Field: name, kind (see KINDS), label/hint/required_message/constraint_message (Texts:
          lang -> text, .get(lang) falls back), relevant, required, constraint, calculation,
          default, read_only, choice_filter, repeat_count, appearance, parameters, list_name,
          choices (Choice: name, label, extra), or_other, children, parent, repeats,
          sensitivity (low/sensitive/identifying; unmarked = sensitive), case_card, aggregate,
          from_case, context_key

    Session.start(form, lang="en", context=None, case_values=None, clock=None) -> Session
    Session.restore(form, state, clock=None, migrate=None) -> Session  # FormVersionError
    session.to_state() -> dict                   # JSON-able; restore() round-trips exactly
    carry_over(state, form) -> Migrated(state, kept, dropped)  # to another form version;
        # what no longer fits goes to state["dropped"] (Dropped: name, index, value, reason)
    session.migrated_from / session.dropped      # kept in the state by to_state()
    session.set_answer(path, value) -> Changes   # path: "name", Node(name, (i, ...)) or a pair
    session.add_repeat(name, prefix=()) -> (index, Changes)
    session.remove_repeat(name, index) -> Changes
    session.value / answer / relevant / required / read_only / choices / label / hint (path)
    session.errors(path, lang) / validate_for_finalise(lang) -> list[FieldError]
    session.pages, page_relevant(i), next_page(i), previous_page(i)
    session.risk(lang) -> Risk                   # flags, concerns, tier, computed_tier,
                                                 # referrals, deadlines (DeadlineDue with .due),
                                                 # opens, messages, override
    session.raised() / computed_tier() / jurisdiction() / raised_at (rule -> when raised)
    tier_questions(form) / undecided(session)    # the questions a tier rule reads; those
                                                 # shown and not answered yet
    session.override_tier(tier, reason, supervisor) -> Override   # OverrideError if incomplete
    session.release(name, reason, supervisor) -> Release  # lifts a rule's withholds/declines
    session.case_card() / aggregate_record() / values_json() / relevance_json()
    session.entities_json()                      # the entities it creates (entities sheet)
    combine_case(risks, consent=, service_types=, risk_tiers=, start=) -> CaseRisk
        # CaseRisk: suggested, needs_consent, withheld, declined, withheld_recipients,
        # releases, urgency (service -> tier), consent(service) -> state
    referral_consent(recipient, consent, withheld_recipients, declined=) -> state
    fill.suggested_rows(form, repeat, case, recipients=, providers=) -> [row]  # B12 repeats
    fill.fill_kind(form, repeat) / fill.merge_rows(existing, suggested, key)
    form.title(lang) -> str                      # the title in one language
    library.builtin_forms() / builtin_form(id) / builtin_list(name) / combine_builtin(...)
    forms.cli.apply_answers(session, answers) / run_result(session) / preview_text(form, lang)

    Changes: values, relevance, required, read_only, constraints, choices, labels, repeats
             (sets of Node), rules (names), tier_before, tier, tier_changed, became_act_now

Errors: FormError (a form's mistake, ``FILE:sheet:row:column: message``), AnswerError (a value
that does not fit its field), FormVersionError, OverrideError, ReleaseError, AttachmentError;
all are FormErrors (the package's one tree), and so KnownErrors.
"""

from __future__ import annotations

from fieldscreen.forms.deciding import tier_questions, undecided
from fieldscreen.forms.errors import (
    AnswerError,
    FormError,
    FormVersionError,
    OverrideError,
    ReleaseError,
)
from fieldscreen.forms.loader import load_form, load_form_text
from fieldscreen.forms.migrate import Dropped, Migrated, carry_over, dropped_of
from fieldscreen.forms.model import (
    KINDS,
    TIERS,
    Choice,
    Deadline,
    Field,
    Form,
    Page,
    Rule,
    Texts,
    Title,
)
from fieldscreen.forms.risk import (
    CaseRisk,
    DeadlineDue,
    Override,
    Release,
    Risk,
    combine_case,
    most_urgent,
    referral_consent,
)
from fieldscreen.forms.session import Changes, FieldError, Node, Session
from fieldscreen.forms.sheets import read_list

__all__ = [
    "KINDS",
    "TIERS",
    "AnswerError",
    "CaseRisk",
    "Changes",
    "Choice",
    "Deadline",
    "DeadlineDue",
    "Dropped",
    "Field",
    "FieldError",
    "Form",
    "FormError",
    "FormVersionError",
    "Migrated",
    "Node",
    "Override",
    "OverrideError",
    "Page",
    "Release",
    "ReleaseError",
    "Risk",
    "Rule",
    "Session",
    "Texts",
    "Title",
    "carry_over",
    "combine_case",
    "dropped_of",
    "load_form",
    "load_form_text",
    "most_urgent",
    "read_list",
    "referral_consent",
    "tier_questions",
    "undecided",
]
