"""Run a scenario through the form engine in-process (the same path ``forms run`` takes)."""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path
from typing import Any

from tests.content.scenarios import BUILTIN, LISTS, Scenario


@cache
def load_builtin(form_id: str) -> Any:
    """A built-in form, loaded once per test run."""
    from fieldscreen.forms import load_form

    return load_form(BUILTIN / f"{form_id}.md")


@cache
def _rows(name: str) -> tuple[dict[str, str], ...]:
    with (LISTS / name).open(encoding="utf-8", newline="") as handle:
        return tuple(csv.DictReader(handle))


def run(scenario: Scenario, lang: str) -> dict[str, Any]:
    """The scenario's result: tier, flags, concerns, referrals, deadlines, opens, messages."""
    from fieldscreen.forms import Session, combine_case
    from fieldscreen.forms.cli import apply_answers

    form = load_builtin(scenario.form_id)
    session = Session.start(form, lang=lang, context=scenario.context, case_values=scenario.case)
    apply_answers(session, scenario.answers)
    for name in scenario.releases:
        session.release(name, "scenario: the supervisor agreed", "supervisor-01")
    risk = session.risk(lang)
    consent = {
        **scenario.case,
        **{k: v for k, v in scenario.answers.items() if k.startswith("share_")},
    }
    case = combine_case(
        [risk],
        consent=consent,
        service_types=_rows("service_types.csv"),
        risk_tiers=_rows("risk_tiers.csv"),
    )
    return {
        "tier": risk.tier,
        "flags": list(risk.flags),
        "concerns": list(risk.concerns),
        "referrals": list(risk.referrals),
        "deadlines": [d.name for d in risk.deadlines],
        "opens": list(risk.opens),
        "suggested": list(case.suggested),
        "needs_consent": list(case.needs_consent),
        "withheld": list(case.withheld),
        "declined": list(case.declined),
        "constraint_errors": [
            e.node.name for e in session.validate_for_finalise(lang) if e.kind == "constraint"
        ],
        "constraint_messages": [
            e.message for e in session.validate_for_finalise(lang) if e.kind == "constraint"
        ],
        "messages": [text for _, text in risk.messages],
        "deadline_labels": [d.label for d in risk.deadlines],
        "session": session,
    }


def form_path(form_id: str) -> Path:
    return BUILTIN / f"{form_id}.md"
