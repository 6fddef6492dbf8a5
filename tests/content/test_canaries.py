"""Leak check of the built-in forms' marks: free text typed into any field never reaches a rule
message, a deadline, an error message or the aggregate record, and reaches the case card only as
the alias the child chose. Counted over every scenario in both languages."""

from __future__ import annotations

import json

from fieldscreen.forms import Session
from fieldscreen.forms.cli import apply_answers
from tests.content.engine_run import load_builtin
from tests.content.scenarios import all_scenarios

CANARY = "CANARY-7f3a"


def test_typed_text_reaches_only_the_alias_on_the_case_card() -> None:
    runs = hits = 0
    for scenario in all_scenarios():
        form = load_builtin(scenario.form_id)
        text_fields = [f.name for f in form.fields.values() if f.kind == "text" and not f.repeats]
        answers = {**scenario.answers, **{name: f"{CANARY} {name}" for name in text_fields}}
        for lang in ("en", "es"):
            session = Session.start(
                form, lang=lang, context=scenario.context, case_values=scenario.case
            )
            apply_answers(session, answers)
            outward = {
                "risk": session.risk(lang).to_json(),
                "aggregate": session.aggregate_record(),
                "errors": [e.message for e in session.validate_for_finalise(lang)],
            }
            card = session.case_card()
            card.pop("alias", None)
            outward["card"] = card
            hits += json.dumps(outward, ensure_ascii=False, default=str).count(CANARY)
            runs += 1
    assert runs >= 280
    assert hits == 0, f"canary hits: {hits} over {runs} runs"
