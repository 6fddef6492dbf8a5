"""Whole cases through the six forms in order, the way the app chains them: each form reads the
earlier forms' values through its ``from_case`` fields, and the case's tier is the most urgent
across its forms. The stories use the scenario files' answers so the two stay in step."""

from __future__ import annotations

from typing import Any

from fieldscreen.forms import Risk, Session, combine_case, load_form
from fieldscreen.forms.cli import apply_answers
from tests.content.builtin import read_list
from tests.content.scenarios import BUILTIN, SCENARIOS, load

CONTEXT = {"jurisdiction": "MX", "role": "specialist", "site": "mx-tapachula-sample", "staff": "s1"}


def _answers(scenario: str, **changes: Any) -> dict[str, Any]:
    form_id, name = scenario.split("/")
    answers = dict(load(SCENARIOS / form_id / f"{name}.json").answers)
    answers.update(changes)
    return answers


def _run_case(
    steps: list[tuple[str, dict[str, Any]]], lang: str = "es"
) -> tuple[dict[str, Any], list[Risk]]:
    case: dict[str, Any] = {}
    risks = []
    for form_id, answers in steps:
        form = load_form(BUILTIN / f"{form_id}.md")
        session = Session.start(form, lang=lang, context=CONTEXT, case_values=case)
        apply_answers(session, answers)
        for name, f in form.fields.items():
            if f.from_case and name in case:  # hidden fields hold the earlier value as text
                held = case[name]
                text = " ".join(held) if isinstance(held, list) else str(held)  # multi-selects
                assert session.value(name) == text, name
        values = session.values_json()
        case.update(
            {k: v for k, v in values.items() if not form.fields[k].from_case and v is not None}
        )
        risks.append(session.risk(lang))
    return case, risks


def _combined(case: dict[str, Any], risks: list[Risk]) -> Any:
    return combine_case(
        risks,
        consent=case,
        service_types=read_list("service_types.csv"),
        risk_tiers=read_list("risk_tiers.csv"),
    )


def test_unaccompanied_girl_exploited_on_route_cannot_be_returned() -> None:
    case, risks = _run_case(
        [
            ("fs_consent", _answers("fs_consent/a01_ready_to_proceed", age_years=14)),
            (
                "fs_intake",
                _answers(
                    "fs_intake/b01_no_risk",
                    travelling_with=["smuggler_guide"],
                    companion_relationship_verified="not_verified",
                    debt_for_trip="yes",
                    fear_of_return="yes",
                    feared_agent=["gang_org_crime"],
                    g_forced="yes",
                ),
            ),
            ("fs_trafficking", _answers("fs_trafficking/c01_no_indicator", c_forced_work="yes")),
            ("fs_family", _answers("fs_family/e01_no_concern")),
            (
                "fs_return",
                _answers(
                    "fs_return/f01_return_possible",
                    legal_assessment_protection="not_yet",
                    bia_recommendation="defer_pending_tracing_or_assessment",
                ),
            ),
        ]
    )
    assert case["can_proceed_sensitive_modules"] == "yes"
    assert case["protection_status"] == "unaccompanied"
    assert case["intl_protection_need"] == "yes"
    assert case["trafficking_concern"] == "presumptive"
    assert case["return_blocked"] == "yes"
    combined = _combined(case, risks)
    assert combined.tier == "T1"
    assert {
        "T1_PRESUMPTIVE_TRAFFICKING",
        "F_INTL_PROTECTION",
        "RETURN_BLOCKED",
        "BID_REQUIRED",
    } <= set(combined.flags)
    assert {"fs_trafficking", "fs_family"} <= set(combined.opens)
    assert "mx_trafficking_notify" in {d.name for d in combined.deadlines}
    assert "mx_ppnna_immediate" in {d.name for d in combined.deadlines}
    assert not combined.needs_consent  # every recipient agreed in form A
    assert combined.follow_up.every_days == 7  # T1: weekly
    assert combined.follow_up.times == 4


def test_a_companion_in_the_room_keeps_every_sensitive_module_locked() -> None:
    case, risks = _run_case(
        [
            ("fs_consent", _answers("fs_consent/a06_unverified_adult_in_room")),
            (
                "fs_intake",
                _answers("fs_intake/b01_no_risk", g_sex_exchange="yes", v_unsafe_touch="yes"),
            ),
            (
                "fs_trafficking",
                _answers("fs_trafficking/c01_no_indicator", c_not_free_to_leave="yes"),
            ),
            ("fs_gbv", _answers("fs_gbv/d01_information_only", d_sexual_touch_forced="yes")),
        ]
    )
    assert case["can_proceed_sensitive_modules"] == "no"
    combined = _combined(case, risks)
    assert set(combined.flags) == {"F_COMPANION_PRESENT", "F_SENSITIVE_LOCKED"}
    assert combined.tier == "T4"


def test_the_case_tier_is_the_most_urgent_and_consent_filters_referrals() -> None:
    no_legal = {"share_legal": "no", "share_cp_authority": "yes"}
    case, risks = _run_case(
        [
            ("fs_consent", _answers("fs_consent/a01_ready_to_proceed", **no_legal)),
            ("fs_intake", _answers("fs_intake/b26_fear_of_return_gangs")),
            ("fs_gbv", _answers("fs_gbv/d04_perpetrator_here")),
        ]
    )
    assert [r.tier for r in risks] == ["T4", "T1", "T0"]
    combined = _combined(case, risks)
    assert combined.tier == "T0"
    assert "legal_asylum_intl_protection" in combined.needs_consent
    assert "cp_authority_notification" in combined.suggested
    assert combined.follow_up.every_days == 1  # T0: daily until stabilised
    assert combined.follow_up.times is None
