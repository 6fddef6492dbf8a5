"""No question asked twice in one screening: a question of a later form that means the same as
an earlier one starts from the earlier answer (its ``default``), and follows it when the earlier
answer changes (its ``trigger``), so the specialist sees it answered and can still correct it.

``SAME`` lists every such pair across the six built-in forms; ``DIFFERENT`` lists the pairs whose
labels look alike but ask something else, each with the reason. A new pair of questions whose
labels look alike fails :func:`test_questions_that_look_alike_were_reviewed` until it is put in
one of the two.
"""

from __future__ import annotations

import itertools
import re
from difflib import SequenceMatcher
from typing import Any

import pytest

from tests.content.builtin import EN, read_list, sheets, survey_with_groups
from tests.content.scenarios import FORM_IDS

# (earlier form:question, later form:question). "Earlier" is the page order in the app: the
# intake's immediate-safety page is shown before the consent form's caregiver page.
SAME: tuple[tuple[str, str], ...] = (
    ("fs_intake:b0_adult_caregiver_with_child", "fs_consent:caregiver_present"),
    ("fs_consent:child_preferred_language", "fs_intake:languages_spoken"),
    ("fs_consent:caregiver_verified", "fs_intake:companion_relationship_verified"),
    ("fs_intake:debt_for_trip", "fs_trafficking:c_debt"),
    ("fs_intake:g_docs_phone_taken", "fs_trafficking:c_docs_controlled"),
    ("fs_intake:g_not_free_leave", "fs_trafficking:c_not_free_to_leave"),
    ("fs_intake:g_sex_exchange", "fs_trafficking:c_sex_for_money_goods"),
    ("fs_intake:g_threats", "fs_trafficking:c_threats_self_family"),
    ("fs_intake:g_sex_exchange", "fs_gbv:d_sex_exchange"),
    ("fs_intake:v_forced_union", "fs_gbv:d_forced_union"),
    ("fs_intake:v_unsafe_touch", "fs_gbv:d_sexual_touch_forced"),
    ("fs_intake:b0_selfharm_thoughts", "fs_gbv:d_selfharm"),
    ("fs_intake:b0_selfharm_now_plan", "fs_gbv:d_selfharm_plan"),
    ("fs_intake:pregnant_or_possible", "fs_gbv:d_pregnancy_possible"),
    ("fs_intake:journey_harm", "fs_family:witnessed_violence_journey"),
    ("fs_consent:companion_present", "fs_family:e3_adult_present"),
    ("fs_intake:debt_for_trip", "fs_return:family_debt_to_smugglers"),
    ("fs_trafficking:r_threats_on_return", "fs_return:threats_to_child_or_family"),
    ("fs_intake:harm_if_return", "fs_return:threat_specific_to_child"),
    ("fs_intake:nationalities", "fs_return:country_of_return"),
)

# (earlier, later, how): the later question asks part of the earlier one, so it starts from
# the earlier answer only where that answer settles it, through an expression (its ``default``
# and ``calculation``), and follows it (its ``trigger``); otherwise it is asked.
DERIVED: tuple[tuple[str, str, str], ...] = (
    (
        "fs_intake:g_forced",
        "fs_trafficking:c_forced_work",
        "B asks about work or other things at once: its no, don't know or declined settles C's "
        "question about work; its yes is asked again, about work alone",
    ),
    (
        "fs_intake:person_waiting_known_to_child",
        "fs_trafficking:c_unknown_receiver",
        "never met the person waiting is going to someone never met (yes); met them face to "
        "face is no; not sure is don't know",
    ),
)

# Pairs whose labels look alike but that ask something else.
DIFFERENT: dict[frozenset[str], str] = {
    frozenset(pair): why
    for *pair, why in (
        ("fs_consent:session_datetime", "fs_intake:notif_datetime", "when an authority was told"),
        (
            "fs_consent:interviewer_gender_preference_offered",
            "fs_gbv:interviewer_sex_preferred",
            "A records that a choice was offered; D asks the child's choice for that talk",
        ),
        (
            "fs_consent:override_approver",
            "fs_return:supervisor_review",
            "two sign-offs: the consent exception and the best-interests review",
        ),
        (
            "fs_intake:b0_someone_tracking",
            "fs_intake:family_knows_whereabouts",
            "a person who could hurt the child, not the family",
        ),
        (
            "fs_intake:companion_relationship_verified",
            "fs_family:claimed_relationship",
            "E asks which relationship the adult claims",
        ),
        ("fs_intake:date_left_home", "fs_intake:reasons_leaving", "when, then why"),
        ("fs_intake:journey_harm_where", "fs_gbv:d_when", "where on the journey, then when"),
        (
            "fs_intake:reasons_own_words",
            "fs_return:child_reasons",
            "why the child left, then why the child wants or does not want to go back",
        ),
        (
            "fs_intake:harm_if_return",
            "fs_trafficking:r_threats_on_return",
            "a risk the child fears, then a threat the child received",
        ),
        (
            "fs_intake:current_accommodation",
            "fs_gbv:d_perpetrator_access",
            "where the child stays, then where the person who hurt them is",
        ),
        (
            "fs_intake:current_accommodation",
            "fs_family:desired_care_type",
            "where the child stays, then where they would like to live",
        ),
        (
            "fs_intake:person_waiting_known_to_child",
            "fs_family:sponsor_known_to_child",
            "the person waiting at the destination may not be the person proposed to care",
        ),
        (
            "fs_intake:g_pay_debt",
            "fs_trafficking:c_work_off_debt",
            "B asks pay and debt at once; C splits them into two indicators",
        ),
        (
            "fs_trafficking:c_lives_at_work",
            "fs_family:desired_care_type",
            "where the child lived, then where they would like to live",
        ),
        (
            "fs_trafficking:c_fear_of_controller",
            "fs_family:adult_answers_for_child",
            "C observes any adult; E the adult who came with the child, one sign among ten",
        ),
        (
            "fs_gbv:d_perpetrator_access",
            "fs_family:fm_country",
            "the person who hurt the child, then a family member",
        ),
        (
            "fs_gbv:d_perpetrator_access",
            "fs_family:wants_continue_current_care",
            "the person who hurt the child, then the child's wish",
        ),
        (
            "fs_gbv:d_perpetrator_access",
            "fs_family:desired_care_type",
            "the person who hurt the child, then the child's wish",
        ),
        (
            "fs_gbv:migration_stage_at_incident",
            "fs_family:separation_stage",
            "where the violence happened, then where the family was separated",
        ),
        (
            "fs_return:child_wants_return",
            "fs_return:threat_specific_to_child",
            "the child's wish, then a threat",
        ),
    )
}

_STOP_WORDS = (
    "a an the you your is are do does did was were or and to of in on for with by any been be "
    "have has there this that it at if so from about who what which how someone anyone anything "
    "something child child's person people like would could"
)
_STOP = frozenset(re.findall(r"\S+", _STOP_WORDS))
_NOT_ASKED = ("hidden", "calculate", "note", "begin", "end", "acknowledge")


def _words(label: str) -> set[str]:
    found = (w.rstrip("s") for w in re.findall(r"[a-z]+", label.lower()))
    return {w for w in found if w not in _STOP and len(w) > 2}


def _questions() -> list[tuple[str, str, str]]:
    """(form:question, English label, the innermost group) of every question asked."""
    out = []
    for form_id in FORM_IDS:
        for row, groups in survey_with_groups(form_id):
            if row.get("type", "").split(" ")[0] in _NOT_ASKED:
                continue
            group = groups[-1]["name"] if groups else ""
            out.append((f"{form_id}:{row['name']}", row.get(f"label::{EN}", ""), group))
    return out


def _look_alike() -> list[frozenset[str]]:
    """Pairs of questions whose labels share most of their words or most of their letters,
    outside one group (siblings such as the per-recipient sharing questions are alike on
    purpose)."""
    pairs = []
    for (a, label_a, group_a), (b, label_b, group_b) in itertools.combinations(_questions(), 2):
        words_a, words_b = _words(label_a), _words(label_b)
        if len(words_a) < 2 or len(words_b) < 2:
            continue  # "Name", "City": in repeats of their own
        if a.split(":")[0] == b.split(":")[0] and group_a == group_b:
            continue
        overlap = len(words_a & words_b) / len(words_a | words_b)
        letters = SequenceMatcher(None, label_a.lower(), label_b.lower()).ratio()
        if overlap >= 0.5 or letters >= 0.8:
            pairs.append(frozenset((a, b)))
    return pairs


def _row(qualified: str) -> dict[str, str]:
    form_id, name = qualified.split(":")
    return next(r for r in sheets(form_id)["survey"] if r.get("name") == name)


def _choice_names(qualified: str) -> set[str] | None:
    """The names a select question can take (None for a calculate or another kind)."""
    form_id, _ = qualified.split(":")
    kind, _, list_name = _row(qualified)["type"].partition(" ")
    if kind.endswith("_from_file"):
        return {c["name"] for c in read_list(list_name)}
    if kind.startswith("select_"):
        return {c["name"] for c in sheets(form_id)["choices"] if c["list_name"] == list_name}
    return None


def test_questions_that_look_alike_were_reviewed() -> None:
    same = {frozenset(p) for p in SAME}
    sources: dict[str, str] = {later: earlier for earlier, later in SAME}
    unreviewed = []
    for pair in _look_alike():
        a, b = sorted(pair)
        if pair in same or pair in DIFFERENT:
            continue
        if sources.get(a) and sources.get(a) == sources.get(b):
            continue  # both start from one earlier answer
        unreviewed.append(f"{a} / {b}")
    assert not unreviewed, (
        "questions that look alike: add each pair to SAME (and pre-fill the later one) "
        f"or to DIFFERENT with the reason: {unreviewed}"
    )


def test_the_reviewed_pairs_are_real_questions() -> None:
    asked = {q for q, _, _ in _questions()}
    for earlier, later in SAME:
        assert later in asked, later
        assert _row(earlier)["type"] != "hidden", earlier
    for pair in DIFFERENT:
        assert pair <= asked, pair


@pytest.mark.parametrize(("earlier", "later"), SAME, ids=[later for _, later in SAME])
def test_a_question_asked_before_starts_from_the_earlier_answer(earlier: str, later: str) -> None:
    form_id, _ = later.split(":")
    source_form, source = earlier.split(":")
    row = _row(later)
    assert f"${{{source}}}" in row.get("default", ""), f"{later}: no default from {earlier}"
    assert row.get("trigger") == f"${{{source}}}", f"{later}: does not follow {earlier}"
    assert row.get("calculation") == row.get("default"), later
    if source_form != form_id:
        held = _row(f"{form_id}:{source}")
        assert held["type"] == "hidden", held
        assert held.get("from_case") == "yes", held
    answers, allowed = _choice_names(earlier), _choice_names(later)
    if answers is not None and allowed is not None:
        assert answers <= allowed, f"{earlier} gives answers {later} cannot hold"


@pytest.mark.parametrize(("earlier", "later", "how"), DERIVED, ids=[d[1] for d in DERIVED])
def test_a_question_that_asks_part_of_an_earlier_one_starts_from_it(
    earlier: str, later: str, how: str
) -> None:
    form_id, _ = later.split(":")
    source_form, source = earlier.split(":")
    row = _row(later)
    assert how
    assert f"${{{source}}}" in row.get("default", ""), f"{later}: no default from {earlier}"
    assert row.get("trigger") == f"${{{source}}}", f"{later}: does not follow {earlier}"
    assert row.get("calculation") == row.get("default"), later
    assert source_form != form_id
    held = _row(f"{form_id}:{source}")
    assert held["type"] == "hidden", held
    assert held.get("from_case") == "yes", held
    assert later not in {b for _, b in SAME}


@pytest.fixture(scope="module")
def forms() -> Any:
    from fieldscreen.forms.library import builtin_forms

    return builtin_forms()


def _screening(forms: Any, first: tuple[str, ...] = ("fs_consent", "fs_intake")) -> Any:
    from fieldscreen.ui.engine import EngineForms

    context = {"jurisdiction": "MX", "role": "specialist", "site": "mx-1", "staff": "s1"}
    return EngineForms(lambda: forms, first, context).start("en")


def test_the_caregiver_page_starts_from_the_safety_page(forms: Any) -> None:
    screening = _screening(forms)
    assert screening.value("fs_consent:caregiver_present") is None
    screening.set_answer("fs_intake:b0_adult_caregiver_with_child", "no", "en")
    assert screening.value("fs_consent:caregiver_present") == "no"
    screening.set_answer("fs_intake:b0_adult_caregiver_with_child", "yes", "en")
    assert screening.value("fs_consent:caregiver_present") == "yes"
    # The specialist may still correct it: the answer is theirs until the earlier one changes.
    screening.set_answer("fs_consent:caregiver_present", "no", "en")
    assert screening.value("fs_consent:caregiver_present") == "no"
    assert screening.value("fs_intake:b0_adult_caregiver_with_child") == "yes"


def test_the_languages_start_from_the_preferred_language(forms: Any) -> None:
    screening = _screening(forms)
    screening.set_answer("fs_consent:child_preferred_language", "mam", "en")
    assert screening.value("fs_intake:languages_spoken") == ["mam"]


def test_a_module_opened_later_starts_from_the_intake_and_follows_it(forms: Any) -> None:
    screening = _screening(forms)
    screening.set_answer("fs_intake:debt_for_trip", "yes", "en")  # opens form C
    assert screening.value("fs_trafficking:c_debt") == "yes"
    screening.set_answer("fs_intake:debt_for_trip", "unknown", "en")
    assert screening.value("fs_trafficking:c_debt") == "unknown"


def test_the_country_of_return_starts_from_a_single_nationality(forms: Any) -> None:
    screening = _screening(forms, ("fs_consent", "fs_intake", "fs_return"))
    screening.set_answer("fs_intake:nationalities", ["HN"], "en")
    assert screening.value("fs_return:country_of_return") == "HN"
    screening.set_answer("fs_intake:nationalities", ["HN", "GT"], "en")
    assert screening.value("fs_return:country_of_return") is None  # which one is the child's


def _trafficking_opened(forms: Any) -> Any:
    """A screening with forms A, B and C, past a consent that opens the sensitive questions."""
    from tests.content.scenarios import SCENARIOS, load

    screening = _screening(forms, ("fs_consent", "fs_intake", "fs_trafficking"))
    ready = load(SCENARIOS / "fs_consent" / "a01_ready_to_proceed.json").answers
    for name, value in ready.items():
        screening.set_answer(f"fs_consent:{name}", value, "en")
    assert screening.value("fs_trafficking:c_forced_work") is None
    assert screening.value("fs_trafficking:c_unknown_receiver") is None
    return screening


def test_forced_work_is_not_asked_again_when_the_intake_settled_it(forms: Any) -> None:
    """The intake's "did anyone make you work or do things you did not want" and the trafficking
    form's "were you made to work" were both asked: a no (or don't know, or declined) settles
    the second; a yes leaves it to be asked, about work alone."""
    screening = _trafficking_opened(forms)
    screening.set_answer("fs_intake:g_forced", "no", "en")
    assert screening.value("fs_trafficking:c_forced_work") == "no"
    screening.set_answer("fs_intake:g_forced", "declined", "en")
    assert screening.value("fs_trafficking:c_forced_work") == "declined"
    screening.set_answer("fs_intake:g_forced", "yes", "en")
    assert screening.value("fs_trafficking:c_forced_work") in (None, "")
    screening.set_answer("fs_trafficking:c_forced_work", "yes", "en")  # asked, and answered
    assert screening.value("fs_trafficking:c_forced_work") == "yes"


@pytest.mark.parametrize(
    ("met", "receiver"),
    [("no", "yes"), ("yes", "no"), ("not_sure", "unknown"), ("declined", "declined")],
)
def test_an_unknown_receiver_starts_from_the_person_waiting(
    forms: Any, met: str, receiver: str
) -> None:
    """B's "have you met the person waiting face to face?" answers C's "are you going to
    someone you have never met?" the other way round."""
    screening = _trafficking_opened(forms)
    screening.set_answer("fs_intake:person_waiting", "yes", "en")
    screening.set_answer("fs_intake:person_waiting_known_to_child", met, "en")
    assert screening.value("fs_trafficking:c_unknown_receiver") == receiver
