"""The six built-in forms and their lists, read as a reviewer would: complete, bilingual, marked.

These checks need only pyxform; the scenario tests run the forms through the engine.
"""

from __future__ import annotations

import re
import warnings

import pytest
from pyxform.xls2xform import convert

from tests.content.builtin import (
    EN,
    ES,
    is_staff_record,
    list_names,
    read_list,
    sheets,
    survey_with_groups,
)
from tests.content.builtin import (
    deadlines as builtin_deadlines,
)
from tests.content.scenarios import BUILTIN, FORM_IDS, LISTS

TEXT_COLUMNS = ("label", "hint", "required_message", "constraint_message")
QUESTION_TYPES = ("select_one", "select_multiple", "text", "integer", "decimal", "date", "datetime")
LIST_FILES = sorted(p.name for p in LISTS.glob("*.csv"))
JURISDICTIONS = {"US", "MX", "GT", "HN", "SV"}
TIERS = {"T0", "T1", "T2", "T3", "T4"}
UNLABELLED = {"calculate", "hidden", "end group", "end repeat"}


def _is_question(row: dict[str, str]) -> bool:
    return row.get("type", "").split(" ")[0] in QUESTION_TYPES or row.get("type", "").startswith(
        ("select_one_from_file", "select_multiple_from_file")
    )


def _choices_of(form_id: str, row: dict[str, str]) -> list[dict[str, str]]:
    kind, _, list_name = row["type"].partition(" ")
    if kind.endswith("_from_file"):
        return list(read_list(list_name))
    return [c for c in sheets(form_id)["choices"] if c["list_name"] == list_name]


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_form_converts_with_pyxform_without_warnings(form_id: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = convert(xlsform=str(BUILTIN / f"{form_id}.md"), validate=False)
    assert f'id="{form_id}"' in result.xform
    settings = sheets(form_id)["settings"][0]
    assert settings["form_id"] == form_id
    assert re.fullmatch(r"\d{10}", settings["version"])
    assert settings["default_language"] == EN


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_every_text_of_the_form_is_in_english_and_spanish(form_id: str) -> None:
    missing = []
    for sheet in ("survey", "choices"):
        for row in sheets(form_id)[sheet]:
            for column in TEXT_COLUMNS:
                en, es = row.get(f"{column}::{EN}", ""), row.get(f"{column}::{ES}", "")
                if bool(en.strip()) != bool(es.strip()):
                    missing.append(f"{sheet}:{row.get('name')}:{column}")
            needs_label = sheet == "choices" or row.get("type") not in UNLABELLED
            if needs_label and (not row.get(f"label::{EN}") or not row.get(f"label::{ES}")):
                missing.append(f"{sheet}:{row.get('name')}:label")
    for row in sheets(form_id)["rules"]:
        if not row.get(f"message::{EN}", "").strip() or not row.get(f"message::{ES}", "").strip():
            missing.append(f"rules:{row['name']}:message")
    for row in sheets(form_id).get("deadlines", []):
        if not row.get(f"label::{EN}", "").strip() or not row.get(f"label::{ES}", "").strip():
            missing.append(f"deadlines:{row['name']}:label")
    assert not missing, f"{form_id}: untranslated {missing}"


@pytest.mark.parametrize("list_file", LIST_FILES)
def test_every_list_entry_is_in_english_and_spanish_with_a_unique_name(list_file: str) -> None:
    rows = read_list(list_file)
    assert rows, list_file
    names = [r["name"] for r in rows]
    assert len(names) == len(set(names)), f"{list_file}: duplicate names"
    for row in rows:
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", row["name"]), row["name"]
        assert row[f"label::{EN}"].strip(), f"{list_file}:{row['name']}"
        assert row[f"label::{ES}"].strip(), f"{list_file}:{row['name']}"


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_every_field_has_an_explicit_sensitivity_and_valid_marks(form_id: str) -> None:
    for row, _ in survey_with_groups(form_id):
        if row["type"] in {"begin group", "begin repeat"}:
            continue
        name = row["name"]
        assert row.get("sensitivity") in {"low", "sensitive", "identifying"}, f"{form_id}:{name}"
        assert row.get("case_card", "yes") == "yes", name
        if row.get("aggregate"):
            assert row["sensitivity"] == "low", f"{form_id}:{name}: only low fields feed aggregates"
        if row["type"] == "hidden" and name.startswith("ctx_"):
            assert name[4:] in {"role", "site", "jurisdiction", "staff", "gbv_specialist"}


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_every_sensitive_question_to_the_child_can_be_declined(form_id: str) -> None:
    lacking = []
    for row, _ in survey_with_groups(form_id):
        if not row["type"].startswith("select") or is_staff_record(row):
            continue
        if row.get("sensitivity") == "low":
            continue
        if "declined" not in {c["name"] for c in _choices_of(form_id, row)}:
            lacking.append(row["name"])
    assert not lacking, f"{form_id}: sensitive questions without 'declined': {lacking}"


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_what_a_child_hears_in_spanish_avoids_staff_jargon(form_id: str) -> None:
    """Questions put to the child use plain words: no "NNA" and no case-work acronyms.

    A question the interviewer answers from observation or records carries a hint starting
    "Staff record." and may use staff language.
    """
    offending = []
    for row, _ in survey_with_groups(form_id):
        if not _is_question(row) or is_staff_record(row):
            continue
        texts = [row.get(f"label::{ES}", "")]
        texts += [
            c.get(f"label::{ES}", "")
            for c in _choices_of(form_id, row)
            if row["type"].startswith("select")
        ]
        if any(re.search(r"\b(NNA|VBG|PFA|RFL|BIA|BID|DIS|MHPSS|SRH)\b", t) for t in texts):
            offending.append(row["name"])
    assert not offending, f"{form_id}: {offending}"


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_alerts_on_screen_say_the_child_not_nna(form_id: str) -> None:
    """The glossary's rule: never "NNA" in alerts on screen (the act-now banner read it out as
    "Quédese con el NNA"); "NNA" stays only inside agency names such as PPNNA."""
    offending = []
    for rule in sheets(form_id)["rules"]:
        if re.search(r"\bNNA\b", rule.get(f"message::{ES}", "")):
            offending.append(rule["name"])
    for row, _ in survey_with_groups(form_id):
        if re.search(r"\bNNA\b", row.get(f"constraint_message::{ES}", "")):
            offending.append(row["name"])
    assert not offending, f"{form_id}: {offending}"


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_rules_reference_only_known_tiers_concerns_services_deadlines_and_forms(
    form_id: str,
) -> None:
    concerns, services = list_names("protection_concerns.csv"), list_names("service_types.csv")
    rules, deadlines = sheets(form_id)["rules"], builtin_deadlines(form_id)
    recipients = list_names("recipients.csv")
    names = [r["name"] for r in rules]
    assert len(names) == len(set(names))
    deadline_names = {d["name"] for d in deadlines}
    for rule in rules:
        assert rule.get("tier", "") in TIERS | {""}, rule["name"]
        assert set(rule.get("concerns", "").split()) <= concerns, rule["name"]
        assert set(rule.get("referrals", "").split()) <= services, rule["name"]
        assert set(rule.get("deadlines", "").split()) <= deadline_names, rule["name"]
        assert set(rule.get("opens", "").split()) <= set(FORM_IDS) - {form_id}, rule["name"]
        assert "${" in rule["when"], rule["name"]
        assert set(rule.get("withholds", "").split()) <= recipients, rule["name"]
        assert set(rule.get("declines", "").split()) <= services, rule["name"]
    for d in deadlines:
        assert d["jurisdiction"] in JURISDICTIONS | {"*"}, d["name"]
        assert float(d["hours"]) >= 0, d["name"]
        assert d.get("basis"), d["name"]


def test_statutory_deadlines_cover_every_jurisdiction_and_the_gateways_open_c_d_e() -> None:
    seen = {d["jurisdiction"] for f in FORM_IDS for d in builtin_deadlines(f)}
    assert seen >= JURISDICTIONS
    opened = {o for r in sheets("fs_intake")["rules"] for o in r.get("opens", "").split()}
    assert opened == {"fs_trafficking", "fs_gbv", "fs_family"}
    assert any(r.get("tier") == "T0" for f in FORM_IDS for r in sheets(f)["rules"])


def test_sharing_consent_fields_match_the_recipients_of_the_service_types() -> None:
    recipients = list_names("recipients.csv")
    consent = {
        r["name"][6:]
        for r in sheets("fs_consent")["survey"]
        if r.get("name", "").startswith("share_")
    }
    assert consent == recipients
    used = {r["recipient"] for r in read_list("service_types.csv") if r["recipient"]}
    assert used <= recipients
    for form_id in FORM_IDS[1:]:
        hidden = {
            r["name"][6:]
            for r in sheets(form_id)["survey"]
            if r.get("name", "").startswith("share_")
        }
        assert hidden == recipients, form_id


def _produced(form_id: str) -> set[str]:
    rows = sheets(form_id)["survey"]
    return {r["name"] for r in rows if r.get("name") and r.get("from_case") != "yes"}


def test_fields_read_from_the_case_exist_in_an_earlier_form() -> None:
    """Or, for the consent form, in the intake: the two start together and the intake's
    immediate-safety page is shown before the consent form's caregiver page."""
    produced = _produced("fs_intake")
    for form_id in FORM_IDS:
        for row in sheets(form_id)["survey"]:
            if row.get("from_case") == "yes":
                assert row["name"] in produced, (
                    f"{form_id}:{row['name']} is produced by no earlier form"
                )
        produced |= _produced(form_id)


def test_case_card_holds_what_follow_up_needs() -> None:
    card = {r["name"] for f in FORM_IDS for r in sheets(f)["survey"] if r.get("case_card") == "yes"}
    assert {"alias", "age_years", "age_band", "protection_status", "protection_concerns"} <= card
    assert {"trafficking_concern", "return_blocked", "bid_required", "bia_recommendation"} <= card
    # Names, places and narratives never go on the card.
    for form_id in FORM_IDS:
        for row in sheets(form_id)["survey"]:
            if row.get("case_card") == "yes" and row.get("name") != "alias":
                assert row.get("sensitivity") != "identifying", row["name"]
                assert row.get("type") != "text", row["name"]


def test_no_incident_narrative_outside_the_gbv_specialist_role() -> None:
    for row, groups in survey_with_groups("fs_gbv"):
        if row["type"] == "text" and row.get("sensitivity") != "identifying":
            assert any("ctx_gbv_specialist" in g.get("relevant", "") for g in groups), row["name"]
    for row, groups in survey_with_groups("fs_intake"):
        if any(g["name"] in {"b6_work", "b7_violence"} for g in groups):
            assert row["type"].startswith(("select", "note", "calculate")), row["name"]


def test_psychological_first_aid_prompts_sit_where_disclosure_can_happen() -> None:
    notes = {f: {r["name"] for r in sheets(f)["survey"] if r["type"] == "note"} for f in FORM_IDS}
    assert {"a2_pfa"} <= notes["fs_consent"]
    assert {"b0_selfharm_pfa", "b7_pfa"} <= notes["fs_intake"]
    assert {"c_stop_rule", "c4_pfa"} <= notes["fs_trafficking"]
    assert {"d2_pfa", "d_gender_lens"} <= notes["fs_gbv"]


def test_the_pause_and_stop_reasons_list_is_shared_and_bilingual() -> None:
    reasons = list_names("stop_reasons.csv")
    assert {"child_asked_pause", "child_distressed", "privacy_lost", "other"} <= reasons


def test_indigenous_languages_of_guatemala_honduras_and_mexico_are_listed() -> None:
    groups: dict[str, set[str]] = {}
    for row in read_list("languages.csv"):
        for g in row["group"].split():
            groups.setdefault(g, set()).add(row["name"])
    assert len(groups["GT"]) >= 24  # 22 Mayan languages, Xinka, Garifuna
    assert {"cab", "miq", "pay", "jic", "yan"} <= groups["HN"]
    assert {"tzo", "tzh", "nah", "mix", "zap"} <= groups["MX"]
    assert "ppl" in groups["SV"]


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_each_form_feeds_the_aggregate_record_with_site_and_age_band_only_from_low_fields(
    form_id: str,
) -> None:
    marked = {r["aggregate"]: r for r in sheets(form_id)["survey"] if r.get("aggregate")}
    assert {"site", "age_band"} <= set(marked)
    assert set(marked) <= {"site", "age_band", "sex", "nationality"}
    assert all(r["sensitivity"] == "low" for r in marked.values())


def test_the_statutory_deadlines_are_kept_once_and_forms_b_c_d_see_them_alike() -> None:
    from fieldscreen.forms.library import builtin_forms

    forms = builtin_forms()
    for form_id in FORM_IDS:
        assert "deadlines" not in sheets(form_id), f"{form_id} keeps its own deadlines sheet"
    seen = {forms[f].deadlines for f in ("fs_intake", "fs_trafficking", "fs_gbv")}
    assert len(seen) == 1
    [shared] = seen
    assert forms["fs_return"].deadlines == shared
    statutory = {d.name for d in shared if d.jurisdiction != "*"}
    assert {"us_otip_rfa_24h", "mx_mandatory_report", "mx_ppnna_immediate"} <= statutory
    # every deadline a rule of any form names is in the shared list
    named = {n for f in forms.values() for r in f.rules for n in r.deadlines}
    assert named <= {d.name for d in shared}
    notify_choices = {c.name for c in forms["fs_intake"].fields["notif_authority"].choices}
    assert {a for d in shared for a in d.notifies} <= notify_choices


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_staff_record_questions_speak_of_the_interview_not_to_the_child(form_id: str) -> None:
    """A staff-record question does not ask "Are you ...?": that reads as put to the child.

    "Is the interview in a private space ...?" rather than "Are you in a private space ...?".
    """
    offending = [
        row["name"]
        for row, _ in survey_with_groups(form_id)
        if _is_question(row)
        and is_staff_record(row)
        and re.match(r"(Are|Were) you\b", row.get(f"label::{EN}", ""))
    ]
    assert not offending, f"{form_id}: {offending}"


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_answer_choices_say_yes_and_no_plainly(form_id: str) -> None:
    """'Fully / Partly / Not' reads as 'Yes, fully / Partly / No' in both languages."""
    offending = [
        (c["list_name"], c["name"])
        for c in sheets(form_id)["choices"]
        if c.get(f"label::{EN}", "").strip() in {"Fully", "Not"}
        or c.get(f"label::{ES}", "").strip() == "No entiende"
    ]
    assert not offending, f"{form_id}: {offending}"


def test_act_now_uses_one_verb_form_in_spanish() -> None:
    """The badge, the alert and the tier list all say "Actuar ya" (not "Actúe ya" or "ahora")."""
    tiers = {r["name"]: r for r in read_list("risk_tiers.csv")}
    assert "actuar ya" in tiers["T0"][f"label::{ES}"].lower()
    ts = (BUILTIN.parent.parent.parent / "resources/translations/fieldscreen_es.ts").read_text(
        encoding="utf-8"
    )
    assert "ACTUAR YA:" in ts
    assert "Actuar ya</translation>" in ts
    for other in ("ACTÚE YA", "Actúe ya", "actuar ahora"):
        assert other not in ts
        assert other not in tiers["T0"][f"label::{ES}"]


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_every_page_has_a_heading_of_its_own(form_id: str) -> None:
    """A note or question outside any group becomes a page headed with the form's title, and the
    page-count sentence then names the form ("la página «B. Tamizaje inicial…» ya no hace
    falta"); each shown row sits in a group titled in both languages, unlike the form."""
    settings = sheets(form_id)["settings"][0]
    form_titles = {settings["form_title"], settings.get(f"translated_title::{ES}", "")}
    loose, untitled = [], []
    for row, stack in survey_with_groups(form_id):
        kind = row.get("type", "")
        if not stack and kind not in UNLABELLED and not kind.startswith("begin "):
            loose.append(row["name"])
        if not stack and kind.startswith("begin "):
            labels = [row.get(f"label::{EN}", ""), row.get(f"label::{ES}", "")]
            if not all(labels) or set(labels) & form_titles:
                untitled.append(row["name"])
    assert not loose, f"{form_id}: outside any group: {loose}"
    assert not untitled, f"{form_id}: groups without a title of their own: {untitled}"
