"""Form B's summary repeats (B12) fill from the built-in rules' suggestions."""

from __future__ import annotations

from fieldscreen.forms import CaseRisk, Session, combine_case
from fieldscreen.forms.fill import fill_kind, merge_rows, suggested_rows
from tests.content.engine_run import _rows, load_builtin, run
from tests.content.scenarios import SCENARIOS, load


def _case(name: str, lang: str = "es") -> tuple[Session, CaseRisk]:
    scenario = load(SCENARIOS / "fs_intake" / f"{name}.json")
    session = run(scenario, lang)["session"]
    case = combine_case(
        [session.risk(lang)],
        consent=scenario.case,
        service_types=_rows("service_types.csv"),
        risk_tiers=_rows("risk_tiers.csv"),
    )
    return session, case


def test_the_intake_summary_repeats_are_fillable_and_nothing_else_is() -> None:
    intake = load_builtin("fs_intake")
    assert fill_kind(intake, "referral") == "referral"
    assert fill_kind(intake, "notification") == "notification"
    fillable = {
        (form_id, name)
        for form_id in ("fs_consent", "fs_intake", "fs_trafficking", "fs_gbv", "fs_family")
        for name in load_builtin(form_id).fields
        if fill_kind(load_builtin(form_id), name)
    }
    assert fillable == {("fs_intake", "referral"), ("fs_intake", "notification")}


def test_an_unaccompanied_child_in_mexico_fills_referrals_and_the_ppnna_notification() -> None:
    session, case = _case("b13_unaccompanied_mx")
    recipients = {r["name"]: r["recipient"] for r in _rows("service_types.csv")}
    rows = suggested_rows(
        session.form,
        "referral",
        case,
        recipients=recipients,
        providers={"child_protection_service": "DIF Tapachula"},
    )
    assert rows == [
        {
            "ref_service": "cp_authority_notification",
            "ref_urgency": "T1",
            "ref_consent": "consent_given",
            "ref_status": "pending",
        },
        {
            "ref_service": "child_protection_service",
            "ref_provider": "DIF Tapachula",
            "ref_urgency": "T1",
            "ref_consent": "consent_given",
            "ref_status": "pending",
        },
    ]
    notes = suggested_rows(session.form, "notification", case)
    assert notes == [
        {"notif_authority": "cp_authority", "notif_basis": "Ley de Migración art. 112; LGDNNA"}
    ]
    # filling into what the specialist already wrote keeps it and adds the rest once
    mine = [{"ref_service": "child_protection_service", "ref_provider": "Casa Hogar"}]
    merged = merge_rows(mine, rows, "ref_service")
    assert merged[0] == mine[0]
    assert [r["ref_service"] for r in merged] == [
        "child_protection_service",
        "cp_authority_notification",
    ]


def test_a_withheld_referral_is_not_filled() -> None:
    session, case = _case("b51_fears_police_no_documents")
    rows = suggested_rows(session.form, "referral", case)
    assert "registration_service" not in [r["ref_service"] for r in rows]
    assert [r["ref_service"] for r in rows] == ["legal_asylum_intl_protection"]
