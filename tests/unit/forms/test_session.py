"""The session: typed answers, relevance, required, constraints, calculations, repeats, state."""

from __future__ import annotations

import json
from datetime import date

import pytest

from fieldscreen.forms import (
    AnswerError,
    FormError,
    FormVersionError,
    Node,
    Session,
    load_form_text,
)
from tests.unit.forms.helpers import NOW, form, session

INTAKE = """
| survey |
|        | type            | name      | label::English (en) | label::Español (es) | relevant          | required | required_message::English (en) | required_message::Español (es) | constraint       | constraint_message::English (en) | constraint_message::Español (es) | calculation | default | read_only | choice_filter |
|        | integer         | age       | Age                 | Edad                |                   | yes      | Age please                     | La edad, por favor             | . >= 0 and . < 25 | 0 to 24                          | de 0 a 24                        |             |         |           |               |
|        | calculate       | minor     |                     |                     |                   |          |                                |                                |                  |                                  |                                  | if(${age} < 18, 'yes', 'no') |  |     |               |
|        | select_one yn   | alone     | Alone?              | ¿Solo?              | ${minor} = 'yes'  | yes      |                                |                                |                  |                                  |                                  |             |         |           |               |
|        | text            | guardian  | Guardian            | Tutor               | ${alone} = 'no'   |          |                                |                                |                  |                                  |                                  |             |         |           |               |
|        | date            | arrived   | Arrived             | Llegó               |                   |          |                                |                                | . <= today()     |                                  |                                  |             | 2026-03-01 |        |               |
|        | integer         | days      | Days                | Días                |                   |          |                                |                                |                  |                                  |                                  | int(today() - ${arrived}) | |      |               |
|        | text            | site_code | Site                | Sitio               |                   |          |                                |                                |                  |                                  |                                  |             | concat('S-', ${age}) | yes |  |
|        | select_one region | region  | Region              | Región              |                   |          |                                |                                |                  |                                  |                                  |             |         |           |               |
|        | select_one place | place    | Place               | Lugar               |                   |          |                                |                                |                  |                                  |                                  |             |         |           | zone = ${region} |
|        | select_multiple need | needs | Needs              | Necesidades         |                   |          |                                |                                | count-selected(.) <= 2 |                            |                                  |             |         |           |               |
|        | calculate       | started   |                     |                     |                   |          |                                |                                |                  |                                  |                                  | once(format-date(now(), '%Y-%m-%d')) | |  |               |
|        | note            | greeting  | Hello, age ${age}   | Hola, edad ${age}   |                   |          |                                |                                |                  |                                  |                                  |             |         |           |               |
| choices |
|         | list_name | name  | label::English (en) | label::Español (es) | zone |
|         | yn        | yes   | Yes                 | Sí                  |      |
|         | yn        | no    | No                  | No                  |      |
|         | region    | north | North               | Norte               |      |
|         | region    | south | South               | Sur                 |      |
|         | place     | p1    | P1                  | P1                  | north |
|         | place     | p2    | P2                  | P2                  | south |
|         | place     | p3    | P3                  | P3                  | north |
|         | need      | food  | Food                | Comida              |      |
|         | need      | bed   | Bed                 | Cama                |      |
|         | need      | care  | Care                | Atención            |      |
"""


def test_relevance_follows_calculations_and_clears_dependent_values() -> None:
    s = session(INTAKE)
    assert not s.relevant("alone")
    changes = s.set_answer("age", 15)
    assert s.value("minor") == "yes" and s.relevant("alone")
    assert Node("alone") in changes.relevance and Node("minor") in changes.values
    s.set_answer("alone", "no")
    s.set_answer("guardian", "Tía")
    assert s.value("guardian") == "Tía"
    s.set_answer("age", 20)
    assert not s.relevant("alone") and not s.relevant("guardian")
    assert s.value("guardian") is None and s.answer("guardian") == "Tía"  # kept, not counted
    s.set_answer("age", 16)
    assert s.value("guardian") == "Tía"


def test_required_and_constraint_messages_in_the_chosen_language() -> None:
    s = session(INTAKE)
    assert [e.kind for e in s.errors("age")] == ["required"]
    assert s.errors("age", "es")[0].message == "La edad, por favor"
    s.set_answer("age", 30)
    assert s.errors("age")[0].message == "0 to 24"
    assert s.errors("age", "es")[0].message == "de 0 a 24"
    s.set_answer("age", 12)
    assert s.errors("age") == []
    assert [e.kind for e in s.errors("alone", "es")] == ["required"]
    assert s.errors("alone", "es")[0].message == "Esta respuesta es obligatoria."
    s.set_answer("needs", ["food", "bed", "care"])
    assert s.errors("needs")[0].kind == "constraint"
    problems = {str(e.node) for e in s.validate_for_finalise()}
    assert problems == {"alone", "needs"}


def test_dates_defaults_read_only_and_once() -> None:
    s = session(INTAKE)
    assert s.value("arrived") == date(2026, 3, 1)
    assert s.value("days") == (NOW.date() - date(2026, 3, 1)).days
    assert s.read_only("days") and s.read_only("site_code") and not s.read_only("age")
    s.set_answer("arrived", "2099-01-01")
    assert s.errors("arrived")[0].kind == "constraint"
    assert s.value("started") == "2026-03-15"
    with pytest.raises(AnswerError):
        s.set_answer("arrived", "yesterday")
    with pytest.raises(AnswerError):
        s.set_answer("age", "twelve")
    with pytest.raises(AnswerError):
        s.set_answer("alone", "maybe")
    with pytest.raises(AnswerError):
        s.set_answer("minor", "yes")


def test_dynamic_default_is_evaluated_once_at_start() -> None:
    md = """
    | survey |
    |        | type    | name | label | default          |
    |        | integer | a    | A     | 7                |
    |        | text    | b    | B     | concat('x', ${a}) |
    """
    s = session(md)
    assert s.value("a") == 7 and s.value("b") == "x7"
    s.set_answer("a", 8)
    assert s.value("b") == "x7"


def test_choice_filter_and_labels_with_values() -> None:
    s = session(INTAKE)
    assert s.choices("place") == ()
    changes = s.set_answer("region", "north")
    assert Node("place") in changes.choices
    assert [c.name for c in s.choices("place")] == ["p1", "p3"]
    s.set_answer("age", 9)
    assert s.label("greeting") == "Hello, age 9"
    assert s.label("greeting", "es") == "Hola, edad 9"


def test_select_multiple_is_kept_in_list_order() -> None:
    s = session(INTAKE)
    s.set_answer("needs", "care food")
    assert s.value("needs") == ("food", "care")
    s.set_answer("needs", [])
    assert s.value("needs") is None


REPEATS = """
| survey |
|        | type         | name     | label | calculation | relevant | repeat_count |
|        | begin repeat | sib      | Sibling |           |          |              |
|        | text         | sname    | Name  |             |          |              |
|        | integer      | sage     | Age   |             |          |              |
|        | calculate    | pos      |       | position(..) |         |              |
|        | text         | where    | Where |             | ${sage} < 18 |          |
|        | end repeat   |          |       |             |          |              |
|        | calculate    | n        |       | count(${sib}) |        |              |
|        | calculate    | total    |       | sum(${sage}) |         |              |
|        | calculate    | first    |       | indexed-repeat(${sname}, ${sib}, 1) | | |
|        | calculate    | minors   |       | count(${sage}[. < 18]) |  |         |
|        | integer      | k        | K     |             |          |              |
|        | begin repeat | fixed    | Fixed |             |          | ${k}         |
|        | integer      | v        | V     |             |          |              |
|        | end repeat   |          |       |             |          |              |
"""


def test_repeats_add_remove_and_repeat_functions() -> None:
    md = REPEATS.replace("count(${sage}[. < 18])", "0")
    s = session(md)
    assert s.value("n") == 0
    for name, age in (("Ana", 10), ("Luis", 20), ("Eva", 5)):
        index, _ = s.add_repeat("sib")
        s.set_answer(Node("sname", (index,)), name)
        s.set_answer(Node("sage", (index,)), age)
    assert s.value("n") == 3 and s.value("total") == 35 and s.value("first") == "Ana"
    assert [s.value(Node("pos", (i,))) for i in range(3)] == [1, 2, 3]
    assert [s.relevant(Node("where", (i,))) for i in range(3)] == [True, False, True]
    changes = s.remove_repeat("sib", (0,))
    assert s.value("n") == 2 and s.value("total") == 25 and s.value("first") == "Luis"
    assert s.value(Node("sname", (0,))) == "Luis" and s.value(Node("pos", (1,))) == 2
    assert Node("first") in changes.values
    s.set_answer("k", 2)
    assert s.repeat_count("fixed") == 2
    s.set_answer(Node("v", (1,)), 4)
    s.set_answer("k", 1)
    assert s.repeat_count("fixed") == 1
    with pytest.raises(AnswerError):
        s.set_answer(Node("v", (1,)), 4)
    assert s.values_json()["sib"] == [
        {"sname": "Luis", "sage": 20, "pos": 2 - 1, "where": None},
        {"sname": "Eva", "sage": 5, "pos": 2, "where": None},
    ]


def test_predicates_on_repeat_values_are_refused_with_a_clear_error() -> None:
    from fieldscreen.forms import FormError

    with pytest.raises(FormError) as caught:
        form(REPEATS)
    assert "survey" in str(caught.value) and "calculation" in str(caught.value)


def test_state_round_trips_exactly_through_json() -> None:
    s = session(INTAKE, context={"jurisdiction": "MX"})
    s.set_answer("age", 15)
    s.set_answer("alone", "yes")
    s.set_answer("needs", ["bed"])
    s.set_answer("arrived", "2026-02-01")
    state = json.loads(json.dumps(s.to_state()))
    restored = Session.restore(s.form, state, clock=lambda: NOW)
    assert restored.to_state() == s.to_state()
    assert restored.values_json() == s.values_json()
    assert restored.value("started") == s.value("started")


def test_restore_refuses_another_version_without_a_migration() -> None:
    s = session(INTAKE)
    s.set_answer("age", 15)
    state = s.to_state()
    newer = form(INTAKE)
    state_other = {**state, "form": {"id": "fs_test", "version": "0"}}
    with pytest.raises(FormVersionError) as caught:
        Session.restore(newer, state_other)
    assert "version 0" in str(caught.value)

    def migrate(old):  # type: ignore[no-untyped-def]
        return {**old, "form": {"id": "fs_test", "version": "1"}}

    migrated = Session.restore(newer, state_other, migrate=migrate)
    assert migrated.value("age") == 15


def test_pages_and_navigation_honour_relevance() -> None:
    md = """
    | survey |
    |        | type        | name | label | relevant  | appearance |
    |        | integer     | a    | A     |           |            |
    |        | begin group | g    | G     | ${a} > 1  | field-list |
    |        | text        | b    | B     |           |            |
    |        | text        | c    | C     |           |            |
    |        | end group   |      |       |           |            |
    |        | text        | d    | D     |           |            |
    """
    s = session(md)
    assert [p.name for p in s.pages] == ["a", "g", "d"]
    assert s.pages[1].fields == ("b", "c")
    assert s.next_page(-1) == 0 and s.next_page(0) == 2 and s.previous_page(2) == 0
    s.set_answer("a", 5)
    assert s.next_page(0) == 1 and s.relevant("b")


def test_one_change_evaluates_only_what_depends_on_it() -> None:
    rows = "\n".join(
        f"|        | integer | q{i} | Q{i} | ${{q{i - 1}}} > 0 |"
        if i
        else "|        | integer | q0 | Q0 | |"
        for i in range(60)
    )
    md = "| survey |\n|        | type | name | label | relevant |\n" + rows + "\n"
    s = session(md)
    changes = s.set_answer("q59", 3)  # nothing depends on the last question
    assert changes.evaluated <= 2
    full = s.reevaluate_all()
    assert full >= 120


def test_an_answer_no_longer_offered_by_the_filter_is_flagged() -> None:
    s = session(INTAKE)
    s.set_answer("region", "north")
    s.set_answer("place", "p1")
    assert s.errors("place") == []
    s.set_answer("region", "south")
    assert [e.kind for e in s.errors("place")] == ["constraint"]
    assert "elija de nuevo" in s.errors("place", "es")[0].message


def test_answer_errors_are_presentable_in_both_languages() -> None:
    s = session(INTAKE)
    with pytest.raises(AnswerError) as caught:
        s.set_answer("age", "doce")
    assert str(caught.value) == (
        "The answer to 'age' is not valid: it must be a whole number. Correct it and go on."
    )
    assert "un número entero" in caught.value.message("es")
    assert "doce" not in str(caught.value)


def test_state_round_trips_over_many_random_sessions() -> None:
    from benchmarks.p3_forms import answer_script, generated_form

    generated = form(generated_form(sections=4).replace("fs_generated", "fs_test"), settings=False)
    lost = corrupted = 0
    for seed in range(40):
        s = Session.start(generated, "es", {"jurisdiction": "MX"}, clock=lambda: NOW)
        for name, value in answer_script(generated, 30, seed=seed):
            s.set_answer(name, value)
        if seed % 3 == 0:
            s.override_tier("T1", "motivo", "supervisora")
        state = json.loads(json.dumps(s.to_state()))
        back = Session.restore(generated, state, clock=lambda: NOW)
        lost += sum(
            1
            for n, by in s.answers.items()
            for i in by
            if back.answer(Node(n, i)) is None and by[i] is not None
        )
        corrupted += back.to_state() != s.to_state()
        corrupted += back.values != s.values
        corrupted += back.risk() != s.risk()
    assert (lost, corrupted) == (0, 0)


def test_nested_repeats() -> None:
    md = """
    | survey |
    |  | type         | name   | label  | calculation    | relevant     |
    |  | begin repeat | fam    | Family |                |              |
    |  | text         | fname  | Name   |                |              |
    |  | begin repeat | kid    | Kid    |                |              |
    |  | integer      | kage   | Age    |                |              |
    |  | calculate    | kpos   |        | position(..)   |              |
    |  | text         | school | School |                | ${kage} > 5  |
    |  | end repeat   |        |        |                |              |
    |  | calculate    | nkids  |        | count(${kid})  |              |
    |  | calculate    | oldest |        | max(${kage})   |              |
    |  | end repeat   |        |        |                |              |
    |  | calculate    | allkids|        | sum(${nkids})  |              |
    """
    s = session(md)
    s.add_repeat("fam")
    s.add_repeat("fam")
    for prefix in ((0,), (0,), (1,)):
        s.add_repeat("kid", prefix)
    s.set_answer(Node("kage", (0, 1)), 9)
    s.set_answer(Node("kage", (0, 0)), 3)
    s.set_answer(Node("kage", (1, 0)), 7)
    assert (s.value(Node("nkids", (0,))), s.value(Node("oldest", (0,))), s.value("allkids")) == (
        2,
        9,
        3,
    )
    assert s.relevant(Node("school", (0, 1))) and not s.relevant(Node("school", (0, 0)))
    assert s.value(Node("kpos", (0, 1))) == 2
    s.remove_repeat("fam", (0,))
    assert s.values_json() == {
        "fam": [
            {
                "fname": None,
                "kid": [{"kage": 7, "kpos": 1, "school": None}],
                "nkids": 1,
                "oldest": 7,
            }
        ],
        "allkids": 1,
    }
    state = json.loads(json.dumps(s.to_state()))
    assert Session.restore(s.form, state, clock=lambda: NOW).to_state() == s.to_state()


def test_hidden_fields_come_from_the_context_and_from_earlier_forms_of_the_case() -> None:
    md = """
    | survey |
    |        | type          | name                          | label | from_case | relevant                                   | default |
    |        | hidden        | ctx_role                      |       |           |                                            |         |
    |        | hidden        | ctx_gbv_specialist            |       |           |                                            | no      |
    |        | hidden        | can_proceed_sensitive_modules |       | yes       |                                            |         |
    |        | hidden        | other_hidden                  |       |           |                                            | x       |
    |        | text          | gbv_question                  | Q     |           | ${ctx_gbv_specialist} = 'yes' and ${can_proceed_sensitive_modules} = 'yes' | |
    """
    without = session(md, context={"role": "specialist"})
    assert without.value("ctx_role") == "specialist"
    assert without.value("ctx_gbv_specialist") == "no"  # the default when the context is silent
    assert without.value("can_proceed_sensitive_modules") is None
    assert not without.relevant("gbv_question")
    s = session(
        md,
        context={"role": "specialist", "gbv_specialist": "yes"},
        case_values={"can_proceed_sensitive_modules": "yes", "other_hidden": "ignored"},
    )
    assert s.relevant("gbv_question")
    assert s.value("other_hidden") == "x"  # only from_case fields read the case
    restored = Session.restore(s.form, json.loads(json.dumps(s.to_state())), clock=lambda: NOW)
    assert restored.relevant("gbv_question")


REPEAT_PATHS = """
| survey |
| | type         | name      | label | default   | calculation |
| | begin_repeat | t         | T     |           | |
| | text         | s         | S     | ${t}[1]/s | |
| | calculate    | prev      |       |           | ${t}[position() = position(current()/..) - 1]/s |
| | begin_repeat | r         | R     |           | |
| | text         | inner     | I     |           | |
| | calculate    | up        |       |           | ${t}[position() = position(current()/../..)]/s |
| | end_repeat   |           |       |           | |
| | calculate    | all_inner |       |           | count(${t}[1]/r/inner) |
| | end_repeat   |           |       |           | |
"""


def test_a_path_into_a_repeat_reads_the_entry_it_names_as_odk_does() -> None:
    """``${t}[N]/s``: the N-th entry; ``position(current()/..)``: this entry's number; from a
    nested repeat, the enclosing repeat's current entry; through a nested repeat, its list."""
    s = Session.start(load_form_text(REPEAT_PATHS, "paths.md"), "en", {}, clock=lambda: NOW)
    s.add_repeat("t")
    s.set_answer(("s", (0,)), "a")
    s.add_repeat("t")
    s.add_repeat("t")
    s.set_answer(("s", (2,)), "c")
    s.add_repeat("r", (2,))
    s.add_repeat("r", (0,))
    s.add_repeat("r", (0,))
    entries = s.values_json()["t"]
    assert [e["s"] for e in entries] == ["a", "a", "c"]  # the default, from the first entry
    assert [e["prev"] for e in entries] == [None, "a", "a"]
    assert [[r["up"] for r in e["r"]] for e in entries] == [["a", "a"], [], ["c"]]
    assert [e["all_inner"] for e in entries] == [2, 2, 2]


@pytest.mark.parametrize(
    ("expression", "says"),
    [
        ("${s}[1]/s", "is not a repeat"),
        ("${t}[1]/nothing", "names no field inside that repeat"),
        ("${t}[1]/r", "is a group"),
        ("${t}[position() = position(current()/../../..)]/s", "must name a repeat"),
        ("${t}[s = 'a']/s", "this path is not supported"),
    ],
)
def test_a_path_into_a_repeat_that_cannot_be_read_is_refused_in_both_languages(
    expression: str, says: str
) -> None:
    from fieldscreen.forms.errors import designer_text

    md = REPEAT_PATHS.replace("count(${t}[1]/r/inner)", expression)
    with pytest.raises(FormError) as caught:
        load_form_text(md, "paths.md")
    assert says in caught.value.detail
    assert designer_text(caught.value.detail, "es") is not None
