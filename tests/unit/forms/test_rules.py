"""Risk rules in the form: flags, concerns, tier, referrals, deadlines, overrides, the case."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fieldscreen.forms import OverrideError, combine_case
from tests.unit.forms.helpers import session

SCREEN = """
| survey |
|        | type          | name          | label   | case_card | sensitivity | aggregate |
|        | integer       | age           | Age     | yes       | low         | age_band  |
|        | select_one yn | companion_here| Here?   |           |             |           |
|        | select_one yn | works_off     | Works?  |           |             |           |
|        | select_one yn | fear_return   | Fear?   |           |             |           |
|        | hidden        | ctx_jurisdiction |      |           | low         | site      |
| choices |
|         | list_name | name | label |
|         | yn        | yes  | Yes   |
|         | yn        | no   | No    |
| rules |
|       | name                   | when                                            | tier | concerns                   | referrals            | deadlines        | opens          | message::English (en) | message::Español (es) |
|       | T0_COMPANION_PRESENT   | ${companion_here} = 'yes' and ${works_off} = 'yes' | T0 | trafficking child_labour | emergency_shelter law_enforcement | hotline_now tvpa_24 | fs_trafficking | Separate the child now | Separe al niño ahora |
|       | F_FEAR_OF_RETURN       | ${fear_return} = 'yes'                          | T2   | fear_of_return             | legal_aid            |                  |                | Refer to legal aid    | Derive a asesoría legal |
|       | F_MINOR                | ${age} < 18                                     |      |                            |                      |                  |                |                       |                       |
| deadlines |
|           | name        | jurisdiction | hours | label::English (en)          | label::Español (es)         | basis        |
|           | hotline_now | *            | 0     | Call the hotline             | Llame a la línea            | programme    |
|           | tvpa_24     | US           | 24    | Notify ORR                   | Notifique a ORR             | TVPA 22 U.S.C. 7105(b) |
|           | tvpa_24     | MX           | 48    | Notify PFPNNA                | Notifique a la PFPNNA       | LGDNNA       |
"""


def test_rules_raise_flags_concerns_tier_and_signal_act_now_once() -> None:
    s = session(SCREEN, context={"jurisdiction": "US"})
    assert s.risk().tier == "T4" and s.risk().flags == ()
    assert s.set_answer("age", 14).tier == "T4"
    assert s.risk().flags == ("F_MINOR",)
    changes = s.set_answer("fear_return", "yes")
    assert changes.tier_changed and changes.tier == "T2" and not changes.became_act_now
    s.set_answer("companion_here", "yes")
    changes = s.set_answer("works_off", "yes")
    assert changes.became_act_now and changes.tier == "T0"
    assert "T0_COMPANION_PRESENT" in changes.rules
    again = s.set_answer("age", 15)
    assert not again.became_act_now and not again.tier_changed
    risk = s.risk()
    assert risk.flags == ("T0_COMPANION_PRESENT", "F_FEAR_OF_RETURN", "F_MINOR")
    assert risk.concerns == ("trafficking", "child_labour", "fear_of_return")
    assert risk.referrals == ("emergency_shelter", "law_enforcement", "legal_aid")
    assert risk.opens == ("fs_trafficking",)
    assert [(d.name, d.hours, d.jurisdiction) for d in risk.deadlines] == [
        ("hotline_now", 0, "*"),
        ("tvpa_24", 24, "US"),
    ]
    assert risk.messages[0] == ("T0_COMPANION_PRESENT", "Separate the child now")
    assert s.risk("es").messages[0][1] == "Separe al niño ahora"
    assert s.risk("es").deadlines[1].label == "Notifique a ORR"
    s.set_answer("works_off", "no")
    assert s.risk().tier == "T2"


def test_deadlines_follow_the_jurisdiction_of_the_context() -> None:
    s = session(SCREEN, context={"jurisdiction": "MX"})
    s.set_answer("companion_here", "yes")
    s.set_answer("works_off", "yes")
    assert [(d.name, d.hours) for d in s.risk().deadlines] == [("hotline_now", 0), ("tvpa_24", 48)]
    assert s.value("ctx_jurisdiction") == "MX"


def test_override_keeps_both_tiers_the_reason_and_the_supervisor() -> None:
    s = session(SCREEN)
    s.set_answer("fear_return", "yes")
    with pytest.raises(OverrideError):
        s.override_tier("T1", "", "M. Ruiz")
    with pytest.raises(OverrideError):
        s.override_tier("T1", "Threat by phone", " ")
    with pytest.raises(OverrideError):
        s.override_tier("T7", "x", "y")
    s.override_tier("T1", "Threat by phone", "M. Ruiz")
    risk = s.risk()
    assert (risk.tier, risk.computed_tier) == ("T1", "T2")
    assert risk.override is not None and risk.override.reason == "Threat by phone"
    restored = type(s).restore(s.form, s.to_state())
    assert restored.risk().override == risk.override


def test_case_card_and_aggregate_hold_only_marked_fields() -> None:
    s = session(SCREEN, context={"jurisdiction": "US"})
    s.set_answer("age", 14)
    s.set_answer("fear_return", "yes")
    card = s.case_card()
    assert card["age"] == 14 and "fear_return" not in card
    assert card["_risk"]["tier"] == "T2"
    record = s.aggregate_record()
    assert record == {"age_band": 14, "site": "US", "tier": "T2", "concern": ["fear_of_return"]}


def test_case_combines_forms_filters_referrals_by_consent_and_plans_follow_up() -> None:
    a = session(SCREEN, context={"jurisdiction": "US"})
    a.set_answer("fear_return", "yes")
    b = session(SCREEN, context={"jurisdiction": "US"})
    b.set_answer("companion_here", "yes")
    b.set_answer("works_off", "yes")
    services = [
        {"name": "legal_aid", "recipient": "legal"},
        {"name": "emergency_shelter", "recipient": ""},
        {"name": "law_enforcement", "recipient": "police"},
    ]
    tiers = [
        {
            "name": "T0",
            "respond_within_hours": "0",
            "follow_up_every_days": "1",
            "follow_up_times": "",
        },
        {
            "name": "T2",
            "respond_within_hours": "72",
            "follow_up_every_days": "7",
            "follow_up_times": "2",
        },
    ]
    start = datetime(2026, 3, 15, tzinfo=UTC)
    case = combine_case(
        [a.risk(), b.risk()],
        consent={"share_legal": "yes", "share_police": "no"},
        service_types=services,
        risk_tiers=tiers,
        start=start,
    )
    assert case.tier == "T0"
    assert case.concerns == ("fear_of_return", "trafficking", "child_labour")
    assert case.suggested == ("legal_aid", "emergency_shelter")
    assert case.needs_consent == ("law_enforcement",)
    assert [d.name for d in case.deadlines] == ["hotline_now", "tvpa_24"]
    assert case.follow_up.every_days == 1 and case.follow_up.times is None
    assert len(case.follow_up.dates) == 4


def test_the_screener_cannot_sign_off_their_own_override() -> None:
    s = session(SCREEN, context={"staff": "A. Pérez"})
    with pytest.raises(OverrideError) as caught:
        s.override_tier("T3", "Reviewed", "A. Pérez")
    assert "supervisor" in str(caught.value)
    assert "supervisor" in caught.value.message("es")
    s.override_tier("T3", "Reviewed", "M. Ruiz")
    assert s.risk().tier == "T3"


def test_deadlines_fall_due_hours_after_their_rule_was_raised_and_survive_a_resume() -> None:
    from datetime import timedelta

    clock = {"now": datetime(2026, 3, 15, 8, tzinfo=UTC)}
    s = session(SCREEN, context={"jurisdiction": "US"}, clock=lambda: clock["now"])
    s.set_answer("companion_here", "yes")
    clock["now"] += timedelta(hours=2)
    s.set_answer("works_off", "yes")  # raised at 10:00
    clock["now"] += timedelta(hours=5)
    s.set_answer("age", 12)  # later answers do not move the deadline
    due = {d.name: d.due for d in s.risk().deadlines}
    assert due == {
        "hotline_now": datetime(2026, 3, 15, 10, tzinfo=UTC),
        "tvpa_24": datetime(2026, 3, 16, 10, tzinfo=UTC),
    }
    back = type(s).restore(s.form, s.to_state(), clock=lambda: clock["now"])
    assert {d.name: d.due for d in back.risk().deadlines} == due
    s.set_answer("works_off", "no")
    assert s.raised_at == {"F_MINOR": datetime(2026, 3, 15, 15, tzinfo=UTC)}


def test_a_jurisdiction_row_replaces_the_row_for_every_jurisdiction() -> None:
    md = SCREEN.replace(
        "|           | tvpa_24     | MX           | 48    |",
        "|           | tvpa_24     | *            | 72    | Refer | Derive | programme |\n|           | tvpa_24     | MX           | 48    |",
    )
    us = session(md, context={"jurisdiction": "US"})
    gt = session(md, context={})
    gt.set_answer("ctx_jurisdiction", "GT")
    for s in (us, gt):
        s.set_answer("companion_here", "yes")
        s.set_answer("works_off", "yes")
    assert [(d.name, d.jurisdiction, d.hours) for d in us.risk().deadlines][1] == (
        "tvpa_24",
        "US",
        24,
    )
    assert [(d.name, d.jurisdiction, d.hours) for d in gt.risk().deadlines][1] == (
        "tvpa_24",
        "*",
        72,
    )
