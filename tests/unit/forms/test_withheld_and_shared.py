"""The rules sheet's ``withholds`` and ``declines`` columns, supervisor releases, deadlines kept
once in a shared file, and titles per language."""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldscreen.forms import (
    CaseRisk,
    FormError,
    ReleaseError,
    Session,
    combine_case,
    load_form,
    referral_consent,
)
from tests.unit.forms.helpers import NOW, form

SERVICES = [
    {"name": "consular_assistance", "recipient": "consulate"},
    {"name": "registration_service", "recipient": "consulate"},
    {"name": "legal_aid", "recipient": "legal"},
    {"name": "emergency_medical", "recipient": "health"},
    {"name": "counselling", "recipient": "psychosocial"},
    {"name": "pfa", "recipient": ""},
]

INTAKE = """
| survey |
|        | type          | name        | label        |
|        | select_one yn | fears_state | Fears state? |
|        | select_one yn | no_papers   | No papers?   |
|        | select_one yn | hurt        | Hurt?        |
| choices |
|         | list_name | name | label |
|         | yn        | yes  | Yes   |
|         | yn        | no   | No    |
| rules |
|       | name       | when                  | tier | referrals                  | withholds | message |
|       | F_FEAR     | ${fears_state} = 'yes' |     |                            | consulate | No consulate |
|       | F_PAPERS   | ${no_papers} = 'yes'   | T3  | registration_service       |           | Papers  |
|       | T0_HURT    | ${hurt} = 'yes'        | T0  | emergency_medical pfa      |           | Hurt    |
"""

GBV = """
| survey |
|        | type          | name          | label           |
|        | select_one yn | hurt          | Hurt?           |
|        | select_one yn | ok_health     | Doctor?         |
|        | select_one yn | ok_talk       | Counsellor?     |
| choices |
|         | list_name | name | label |
|         | yn        | yes  | Yes   |
|         | yn        | no   | No    |
| rules |
|       | name       | when                | tier | referrals                          | declines          | message |
|       | T0_HURT    | ${hurt} = 'yes'     | T0   | emergency_medical counselling pfa  |                   | Hurt    |
|       | D_NO_DOC   | ${ok_health} = 'no' |      |                                    | emergency_medical | No doc  |
|       | D_NO_TALK  | ${ok_talk} = 'no'   |      |                                    | counselling pfa   | No talk |
"""
CONSENT = {"share_consulate": "yes", "share_health": "yes", "share_psychosocial": "yes"}


def start(md: str, **answers: str) -> Session:
    s = Session.start(form(md), "en", {"staff": "staff-01"}, {}, clock=lambda: NOW)
    for name, value in answers.items():
        s.set_answer(name, value)
    return s


def combine(*sessions: Session, consent: dict[str, str] | None = None) -> CaseRisk:
    return combine_case(
        [s.risk() for s in sessions],
        consent=CONSENT if consent is None else consent,
        service_types=SERVICES,
        risk_tiers=[],
    )


def test_a_raised_withholds_rule_holds_the_recipient_back_for_the_whole_case() -> None:
    intake = start(INTAKE, fears_state="yes", no_papers="yes")
    assert intake.risk().withholds == ("consulate",)
    case = combine(intake)
    assert case.withheld == ("registration_service",)
    assert case.suggested == ()
    assert case.withheld_recipients == ("consulate",)
    # another form's referral to the same recipient is held back too
    later = start(INTAKE, no_papers="yes")
    case = combine(later, intake)
    assert case.withheld == ("registration_service",)
    # without the fear the consent of form A decides
    assert combine(later).suggested == ("registration_service",)


def test_a_supervisor_release_lifts_the_withholding_but_never_the_childs_own_no() -> None:
    intake = start(INTAKE, fears_state="yes", no_papers="yes")
    with pytest.raises(ReleaseError) as no_reason:
        intake.release("consulate", "  ", "sup-01")
    assert no_reason.value.code == "form-release-reason"
    with pytest.raises(ReleaseError) as self_signed:
        intake.release("consulate", "Documents only, child agrees", "staff-01")
    assert self_signed.value.code == "form-release-supervisor"
    with pytest.raises(ReleaseError) as unknown:
        intake.release("legal", "why", "sup-01")
    assert unknown.value.code == "form-release-name"
    assert "withheld or declined" in unknown.value.message("en")
    assert "retenidas o rechazadas" in unknown.value.message("es")
    intake.release("consulate", "Documents only, the child agrees", "sup-01")
    assert combine(intake).suggested == ("registration_service",)
    refused = combine(intake, consent={**CONSENT, "share_consulate": "no"})
    assert refused.needs_consent == ("registration_service",)
    # the release is kept with the answers
    restored = Session.restore(intake.form, intake.to_state(), clock=lambda: NOW)
    assert [r.to_json() for r in restored.risk().releases] == [
        {"name": "consulate", "reason": "Documents only, the child agrees", "supervisor": "sup-01"}
    ]
    restored.clear_release("consulate")
    assert combine(restored).withheld == ("registration_service",)


def test_declines_filter_only_the_referrals_of_the_form_that_asked() -> None:
    gbv = start(GBV, hurt="yes", ok_health="no", ok_talk="yes")
    case = combine(gbv)
    assert case.declined == ("emergency_medical",)
    assert case.suggested == ("counselling", "pfa")
    # the intake raised emergency care for its own reason: the child's no in form D does not
    # take it away
    intake = start(INTAKE, hurt="yes")
    both = combine(intake, gbv)
    assert "emergency_medical" in both.suggested
    assert both.declined == ()
    gbv.release("emergency_medical", "Bleeding: life-threatening", "sup-01")
    assert combine(gbv).declined == ()
    no_talk = start(GBV, hurt="yes", ok_talk="no")
    assert combine(no_talk).declined == ("counselling", "pfa")


def test_each_referral_carries_the_urgency_of_the_rules_that_raised_it() -> None:
    intake = start(INTAKE, no_papers="yes", hurt="yes")
    case = combine(intake)
    assert case.urgency == {
        "registration_service": "T3",
        "emergency_medical": "T0",
        "pfa": "T0",
    }
    assert case.consent("pfa") == "suggested"
    assert case.consent("legal_aid") == ""


@pytest.mark.parametrize(
    ("recipient", "consent", "withheld", "declined", "expected"),
    [
        ("", {}, (), False, "suggested"),
        ("", {}, (), True, "declined"),
        ("legal", {"share_legal": "yes"}, (), False, "suggested"),
        ("legal", {"share_legal": "no"}, (), False, "needs_consent"),
        ("legal", {}, (), False, "needs_consent"),
        ("consulate", {"share_consulate": "yes"}, ("consulate",), False, "withheld"),
        ("consulate", {"share_consulate": "yes"}, ("consulate",), True, "declined"),
    ],
)
def test_referral_consent(
    recipient: str,
    consent: dict[str, str],
    withheld: tuple[str, ...],
    declined: bool,
    expected: str,
) -> None:
    assert referral_consent(recipient, consent, withheld, declined=declined) == expected


def test_withholds_and_declines_must_name_known_recipients_and_services(tmp_path: Path) -> None:
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "recipients.csv").write_text("name,label\nconsulate,Consulate\n", encoding="utf-8")
    (lists / "service_types.csv").write_text(
        "name,label,recipient\nregistration_service,Papers,consulate\n"
        "emergency_medical,ER,health\npfa,PFA,\n",
        encoding="utf-8",
    )
    bad = INTAKE.replace("| consulate |", "| embassy   |")
    with pytest.raises(FormError) as caught:
        form(bad, base=tmp_path)
    assert ":rules:" in str(caught.value) and "withholds" in str(caught.value)
    bad = GBV.replace("| emergency_medical |", "| doctor_visit      |")
    (lists / "service_types.csv").write_text(
        "name,label,recipient\nemergency_medical,ER,health\ncounselling,C,psychosocial\npfa,P,\n",
        encoding="utf-8",
    )
    with pytest.raises(FormError) as caught:
        form(bad, base=tmp_path)
    assert "declines" in str(caught.value)


SHARED = """
| survey |
|        | type          | name | label |
|        | select_one yn | u    | Alone? |
| choices |
|         | list_name | name | label |
|         | yn        | yes  | Yes   |
|         | yn        | no   | No    |
| settings |
|          | form_id | version | form_title | translated_title::Español (es) | deadlines_file |
|          | FORMID  | 1       | Intake     | Entrevista inicial             | deadlines.csv  |
| rules |
|       | name | when          | tier | deadlines     | message |
|       | T1_U | ${u} = 'yes'  | T1   | notify report | Notify  |
"""
DEADLINES = (
    "name,jurisdiction,hours,label::English (en),label::Español (es),basis,notifies\n"
    "notify,*,24,Notify the authority,Avisar a la autoridad,SOP,cp_authority\n"
    "notify,MX,0,Notify PPNNA now,Avisar ya a la PPNNA,LGDNNA,cp_authority\n"
    "report,US,0,Report to the state,Denunciar al estado,State law,cp_authority police_prosecutor\n"
)


def _write(tmp_path: Path, *form_ids: str, deadlines: str = DEADLINES) -> list[Path]:
    (tmp_path / "lists").mkdir(exist_ok=True)
    (tmp_path / "lists" / "deadlines.csv").write_text(deadlines, encoding="utf-8")
    paths = []
    for form_id in form_ids:
        path = tmp_path / f"{form_id}.md"
        path.write_text(SHARED.replace("FORMID", form_id), encoding="utf-8")
        paths.append(path)
    return paths


def test_deadlines_kept_once_in_a_shared_file_are_seen_alike_by_every_form(
    tmp_path: Path,
) -> None:
    first, second = (load_form(p) for p in _write(tmp_path, "fs_a", "fs_b"))
    assert first.deadlines == second.deadlines
    assert [(d.name, d.jurisdiction, d.notifies) for d in first.deadlines] == [
        ("notify", "*", ("cp_authority",)),
        ("notify", "MX", ("cp_authority",)),
        ("report", "US", ("cp_authority", "police_prosecutor")),
    ]
    s = Session.start(first, "es", {"jurisdiction": "MX"}, {}, clock=lambda: NOW)
    s.set_answer("u", "yes")
    [due] = s.risk().deadlines
    assert (due.name, due.hours, due.label, due.notifies) == (
        "notify",
        0.0,
        "Avisar ya a la PPNNA",
        ("cp_authority",),
    )
    # one change to the shared file changes every form
    _write(tmp_path, deadlines=DEADLINES.replace("notify,MX,0,", "notify,MX,2,"))
    again = [load_form(tmp_path / f"{f}.md") for f in ("fs_a", "fs_b")]
    assert {d.hours for f in again for d in f.deadlines if d.jurisdiction == "MX"} == {2.0}


@pytest.mark.parametrize(
    ("deadlines", "where"),
    [
        ("name,hours,colour\nx,1,red\n", "deadlines.csv:csv:1:colour"),
        ("name,jurisdiction,hours\nx,*,soon\n", "deadlines.csv:csv:2:hours"),
        ("name,jurisdiction,hours\nx,*,1\nx,*,2\n", "deadlines.csv:csv:3:name"),
        ("label\nx\n", "deadlines.csv:csv:1:name"),
    ],
)
def test_a_broken_shared_deadlines_file_is_named_with_its_row(
    tmp_path: Path, deadlines: str, where: str
) -> None:
    [path] = _write(tmp_path, "fs_a", deadlines=deadlines)
    with pytest.raises(FormError) as caught:
        load_form(path)
    assert where in str(caught.value)


def test_a_missing_or_duplicated_shared_deadline_is_refused(tmp_path: Path) -> None:
    [path] = _write(tmp_path, "fs_a")
    (tmp_path / "lists" / "deadlines.csv").unlink()
    with pytest.raises(FormError) as caught:
        load_form(path)
    assert ":settings:2:deadlines_file:" in str(caught.value)
    _write(tmp_path, "fs_a")
    text = path.read_text(encoding="utf-8") + (
        "| deadlines |\n"
        "|           | name   | jurisdiction | hours | label |\n"
        "|           | notify | MX           | 1     | Local |\n"
    )
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FormError) as caught:
        load_form(path)
    assert "keep it in one place" in str(caught.value)


def test_titles_per_language(tmp_path: Path) -> None:
    [path] = _write(tmp_path, "fs_a")
    loaded = load_form(path)
    assert loaded.title("en") == "Intake"
    assert loaded.title("es") == "Entrevista inicial"
    assert loaded.title("fr") == "Intake"
    assert loaded.title.get("es") == "Entrevista inicial"
    assert loaded.languages == ("en", "es")
