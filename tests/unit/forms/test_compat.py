"""Forms organisations already have: pyxform's rules decide what loads, and what cannot be
honoured offline is refused by name, with the cell and what to do -- never skipped.

Each feature has a small form written here; the public corpus (pyxform's example workbooks
and the forms of its test tables, committed under ``data/pyxform``) runs in ``test_corpus.py``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldscreen.forms import FormError, Session
from fieldscreen.forms.errors import designer_codes, designer_text
from tests.unit.forms.helpers import NOW, form


def test_legacy_headers_and_upper_case_columns_load_as_pyxform_reads_them() -> None:
    md = """
    | survey |
    |        | TYPE    | Name | label:English | label:Español (es) | bind:relevant | bind:constraint | bind:jr:constraintMsg:English | hint:English |
    |        | integer | age  | Age           | Edad               |               | . < 130         | Too old                       | Years        |
    |        | text    | nick | Nickname      | Apodo              | ${age} > 5    |                 |                               |              |
    """
    loaded = form(md)
    age, nick = loaded.field("age"), loaded.field("nick")
    assert (age.row, age.constraint, nick.relevant) == (2, ". < 130", "${age} > 5")
    assert age.constraint_message.get("english") == "Too old"
    assert loaded.field("age").label.get("es") == "Edad"


@pytest.mark.parametrize(
    ("kind", "ours"),
    [
        ("add note prompt", "note"),
        ("q note", "note"),
        ("add acknowledge prompt", "acknowledge"),
        ("q acknowledge", "acknowledge"),
        ("add barcode prompt", "text"),  # typed, as barcode is
        ("q barcode", "text"),
        ("add calculate prompt", "calculate"),
        ("q calculate", "calculate"),
    ],
)
def test_pyxforms_older_spellings_of_a_type_load_as_that_type(kind: str, ours: str) -> None:
    md = f"""
    | survey |
    |        | type   | name | label | calculation |
    |        | {kind} | q    | Q     | 1 + 1       |
    """
    loaded = form(md.replace("1 + 1", "") if ours != "calculate" else md)
    assert loaded.field("q").kind == ours
    if ours == "calculate":
        assert Session.start(loaded, "en", {}, clock=lambda: NOW).value("q") == 2


def test_metadata_questions_are_filled_offline() -> None:
    md = """
    | survey |
    |        | type        | name  | label |
    |        | start       | start |       |
    |        | end         | end   |       |
    |        | today       | today |       |
    |        | deviceid    | dev   |       |
    |        | username    | user  |       |
    |        | phonenumber | phone |       |
    |        | email       | mail  |       |
    |        | integer     | age   | Age   |
    """
    loaded = form(md)
    assert all(loaded.field(n).kind == "hidden" for n in ("start", "end", "today", "dev"))
    assert any("phonenumber" in w for w in loaded.warnings)
    session = Session.start(loaded, "en", {"device": "LAPTOP-7", "staff": "ana"}, clock=lambda: NOW)
    assert session.value("start") == NOW.isoformat()
    assert session.value("today") == NOW.date().isoformat()
    assert (session.value("dev"), session.value("user")) == ("LAPTOP-7", "ana")
    assert session.value("phone") is None
    again = Session.restore(loaded, session.to_state(), clock=lambda: NOW.replace(hour=23))
    assert again.value("start") == NOW.isoformat()  # the moment it began, kept


@pytest.mark.parametrize(
    ("row", "column", "words"),
    [
        ("| background-audio | voice | | | | |", "type", "a child's voice"),
        ("| select_one yn | q | Q | randomize=true seed=${nope} | | |", "parameters", "nope"),
        ("| select_one yn | q | Q | | search('fruits') | |", "appearance", "fruits.csv"),
        ("| calculate | c | | | | pulldata('f', 'a', 'b', 'c') |", "calculation", "f.csv"),
        ("| text | t | T | | | ${last-saved#t} |", "calculation", "last-saved"),
    ],
)
def test_what_cannot_be_honoured_is_refused_by_name_at_its_cell(
    row: str, column: str, words: str
) -> None:
    md = f"""
    | survey |
    |        | type | name | label | parameters | appearance | calculation |
    |        | integer | age | Age | | | |
    |        {row}
    | choices |
    |         | list_name | name | label |
    |         | yn        | yes  | Yes   |
    | external_choices |
    |         | list_name | name | label |
    |         | yn        | yes  | Yes   |
    """
    with pytest.raises(FormError) as caught:
        form(md)
    assert str(caught.value).startswith(f"test.md:survey:3:{column}:"), str(caught.value)
    assert words in str(caught.value)


def _warning(loaded: Any, words: str) -> tuple[str, str]:
    """The one warning holding ``words``, in English and in Spanish."""
    found = [w for w in loaded.warnings if words in w]
    assert len(found) == 1, loaded.warnings
    spanish = designer_text(found[0], "es")
    assert spanish is not None and spanish != found[0]
    return found[0], spanish


def test_an_audit_question_loads_with_a_warning_that_says_what_is_kept_instead() -> None:
    md = """
    | survey |
    |        | type    | name  | label | parameters         |
    |        | audit   | audit |       | track-changes=true |
    |        | integer | age   | Age   |                    |
    """
    loaded = form(md)
    assert [f.name for f in loaded.fields.values()] == ["age"]  # nothing kept of the audit
    english, spanish = _warning(loaded, "audit question")
    assert english == (
        "the audit question 'audit' is loaded and not used: FieldScreen records its own audit "
        "of every opening of a screening instead, and does not keep the form's timing log of "
        "each question"
    )
    assert spanish.startswith("la pregunta audit 'audit' se carga y no se usa: FieldScreen ")
    assert "apertura de un tamizaje" in spanish and "registro de tiempos" in spanish
    Session.start(loaded, "es", {}, clock=lambda: NOW).set_answer("age", 9)


def test_places_odk_records_by_gps_without_asking_load_empty_with_a_warning() -> None:
    md = """
    | survey |
    |        | type                | name  | label | trigger |
    |        | start-geopoint      | began |       |         |
    |        | integer             | age   | Age   |         |
    |        | background-geopoint | where |       | ${age}  |
    """
    loaded = form(md)
    assert loaded.field("began").kind == loaded.field("where").kind == "hidden"
    english, spanish = _warning(loaded, "'began'")
    assert english.startswith("the start-geopoint question 'began' stays empty: the laptop has")
    assert "no GPS" in english and "geopoint question (typed)" in english
    assert spanish.startswith("la pregunta start-geopoint 'began' queda vacía: la computadora")
    english, spanish = _warning(loaded, "'where'")
    assert "when the trigger question is answered" in english
    assert "al responder la pregunta del trigger" in spanish
    session = Session.start(loaded, "en", {}, clock=lambda: NOW)
    session.set_answer("age", 9)
    assert (session.value("began"), session.value("where")) == (None, None)
    assert session.validate_for_finalise() == []


@pytest.mark.parametrize("kind", ["geopoint", "gps", "geotrace", "geoshape"])
def test_a_typed_gps_question_says_at_load_that_there_is_no_gps(kind: str) -> None:
    loaded = form(f"| survey |\n| | type | name | label |\n| | {kind} | place | Where |\n")
    english, spanish = _warning(loaded, "'place'")
    shown = "geopoint" if kind == "gps" else kind
    assert english.startswith(f"the {shown} question 'place' is typed in: the laptop has no GPS")
    assert spanish.startswith(f"la pregunta {shown} 'place' se escribe: la computadora no tiene")


@pytest.mark.parametrize(
    ("kind", "default", "ok"),
    [
        ("integer", "foo", False),
        ("integer", "12", True),
        ("decimal", "1.5", True),
        ("date", "2026-02-30", False),
        ("date", "2026-01-01", True),
        ("select_one yn", "maybe", False),
        ("select_one yn", "yes", True),
        ("integer", "${other} + 1", True),
    ],
)
def test_a_literal_default_must_fit_its_question(kind: str, default: str, ok: bool) -> None:
    md = f"""
    | survey |
    |        | type    | name  | label | default   |
    |        | integer | other | Other |           |
    |        | {kind}  | q     | Q     | {default} |
    | choices |
    |         | list_name | name | label |
    |         | yn        | yes  | Yes   |
    """
    if ok:
        form(md)
        return
    with pytest.raises(FormError) as caught:
        form(md)
    assert str(caught.value).startswith("test.md:survey:3:default:")


def _answer(md: str, name: str, value: Any) -> list[str]:
    session = Session.start(form(md), "en", {}, clock=lambda: NOW)
    session.set_answer(name, value)
    return [str(e.node) for e in session.validate_for_finalise()]


def test_typed_stand_ins_for_scanner_and_gps_questions() -> None:
    md = """
    | survey |
    |        | type         | name  | label   |
    |        | geopoint     | place | Where   |
    |        | barcode      | code  | Code    |
    |        | phone number | tel   | Phone   |
    |        | percentage   | pct   | Percent |
    """
    loaded = form(md)
    assert loaded.field("place").kind == "text"
    assert "latitud" in loaded.field("place").hint.get("es")
    assert loaded.field("code").kind == "text"
    assert loaded.field("pct").kind == "integer"
    assert _answer(md, "place", "14.6349 -90.5069") == []
    assert _answer(md, "place", "14.6349 -90.5069 1500 5") == []
    assert _answer(md, "place", "95 10") == ["place"]
    assert _answer(md, "place", "north of the river") == ["place"]
    assert _answer(md, "tel", "+502 5555") == ["tel"]
    assert _answer(md, "pct", 140) == ["pct"]
    assert _answer(md, "pct", 40) == []


def test_geotrace_and_geoshape_are_typed_in_as_points() -> None:
    md = """
    | survey |
    |        | type     | name  | label | calculation  |
    |        | geotrace | route | Route |              |
    |        | geoshape | field | Field |              |
    |        | calculate | long |       | distance(${route}) |
    """
    loaded = form(md)
    assert loaded.field("route").kind == loaded.field("field").kind == "text"
    assert "';'" in loaded.field("route").hint.get("en")
    assert _answer(md, "route", "14.6349 -90.5069; 14.6400 -90.5100 1500 5") == []
    assert _answer(md, "route", "14.6349 -90.5069") == ["route"]  # one point is no line
    assert _answer(md, "route", "95 10; 1 1") == ["route"]
    assert _answer(md, "route", "along the river") == ["route"]
    assert _answer(md, "route", "14.6349 -90.5069; 95 10") == ["route"]  # every point checked
    assert _answer(md, "route", "1 1; 2 2 3 4 5") == ["route"]
    assert _answer(md, "route", "1 1; 2 2 30 -4") == ["route"]  # a negative accuracy
    square = "0 0; 0 0.001; 0.001 0.001; 0.001 0; 0 0"
    assert _answer(md, "field", square) == []
    assert _answer(md, "field", "  0 0 ;0 0.001; 0.001 0.001;0.001 0;  0   0 ") == []
    assert _answer(md, "field", "0 0; 0 1; 1 1") == ["field"]
    assert _answer(md, "field", "0 0; 0 1; 1 1; 1 0") == ["field"]  # not closed
    assert _answer(md, "field", "10 0; 0 1; 1 1; 0 0") == ["field"]
    assert _answer(md, "field", "0 0; 0 1; 1 1; 100 0; 0 0") == ["field"]
    assert "the last the same as the first" in loaded.field("field").hint.get("en")
    assert "el último igual al primero" in loaded.field("field").hint.get("es")
    session = Session.start(loaded, "en", {}, clock=lambda: NOW)
    session.set_answer("route", "0 0; 0 0.001")
    assert 100 < float(session.value("long")) < 120


def test_extra_columns_pyxform_accepts_are_ignored_with_a_warning() -> None:
    md = """
    | survey |
    |        | type    | name | label | media::image | guidance_hint | $kuid | notes_for_staff |
    |        | integer | age  | Age   | a.png        | Ask gently    | xk2   | internal        |
    """
    loaded = form(md)
    text = " ".join(loaded.warnings)
    assert "'media::image' is ignored" in text
    assert "'guidance_hint' is ignored" in text
    assert "'notes_for_staff' is ignored" in text


def test_kobo_s_choices_columns_are_named_in_a_warning_that_says_what_they_are() -> None:
    md = """
    | survey |
    |        | type         | name | label  |
    |        | select_one c | q    | Q      |
    | choices |
    |         | list_name | name | label     | $autovalue | $kuid |
    |         | c         | yes  | Yes       | yes        | k1    |
    |         | c         | dk   | Not sure  | not_sure   | k2    |
    """
    loaded = form(md)
    (autovalue,) = [w for w in loaded.warnings if "'$autovalue'" in w]
    assert autovalue == (
        "the choices column '$autovalue' is ignored: it is where KoboToolbox's form builder "
        "keeps the name it made from each choice's label; the choice's name is its name column"
    )
    assert designer_text(autovalue, "es") == (
        "la columna '$autovalue' de la hoja choices se ignora: es donde el editor de "
        "formularios de KoboToolbox guarda el nombre que hizo con la etiqueta de cada opción; "
        "el nombre de la opción es su columna name"
    )
    (kuid,) = [w for w in loaded.warnings if "'$kuid'" in w]
    assert "is ignored: it is a column of KoboToolbox's form builder" in kuid
    assert designer_text(kuid, "es") is not None
    assert [c.name for c in loaded.field("q").choices] == ["yes", "dk"]  # not the autovalue


def test_custom_bind_attributes_and_app_error_strings_load_with_a_warning() -> None:
    md = """
    | survey |
    |        | type    | name | label | bind::bindAttribute | bind::oc:external | noAppErrorString |
    |        | integer | age  | Age   | x                   | clinicaldata      | Try again        |
    """
    loaded = form(md)
    text = " ".join(loaded.warnings)
    assert "'bindAttribute' on 'age' is not used" in text
    assert "'oc:external' on 'age' is not used" in text
    assert "noAppErrorString on 'age' is not shown" in text


@pytest.mark.parametrize("column", ["bind::jr:preload", "bind::odk:made-up", "bind::entities:x"])
def test_a_bind_attribute_in_odks_own_namespaces_we_do_not_know_is_refused(column: str) -> None:
    md = f"""
    | survey |
    |        | type    | name | label | {column} |
    |        | integer | age  | Age   | uid      |
    """
    with pytest.raises(FormError) as caught:
        form(md)
    assert f"the column {column!r}: this bind attribute is not supported" in str(caught.value)


@pytest.mark.parametrize("lang", ["es", "ES", "Español (es)", "Spanish", " español "])
def test_lang_given_as_the_forms_own_language_name_is_honoured_everywhere(
    lang: str, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from fieldscreen.cli import main

    md = """
    | survey |
    |        | type    | name | label::English (en) | label::Español (es) | constraint | constraint_message::English (en) | constraint_message::Español (es) |
    |        | integer | age  | Age                 | Edad                | . < 25     | Too old                          | Demasiado mayor                  |
    |        | integer | n    | Count               | Número              | . < 5      |                                  |                                  |
    """
    loaded = form(md)
    session = Session.start(loaded, lang, {}, clock=lambda: NOW)
    session.set_answer("age", 40)
    session.set_answer("n", 9)
    assert session.lang == "es"
    assert session.label("age") == "Edad"
    assert [e.message for e in session.validate_for_finalise()] == [
        "Demasiado mayor",
        "Esta respuesta no es válida.",
    ]
    assert session.errors("age", "English (en)")[0].message == "Too old"
    path = tmp_path / "f.md"
    path.write_text(
        md.replace("\n    ", "\n") + "| settings |\n| | form_id | version |\n| | f | 1 |\n",
        encoding="utf-8",
    )
    answers = tmp_path / "a.json"
    answers.write_text(json.dumps({"age": 40}), encoding="utf-8")
    assert (
        main(["forms", "run", str(path), "--answers", str(answers), "--lang", lang, "--json"]) == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert [e["message"] for e in result["errors"]] == ["Demasiado mayor"]
    assert main(["forms", "preview", str(path), "--lang", lang]) == 0
    assert "Edad" in capsys.readouterr().out


def test_uuid_is_stable_for_the_record_and_never_shared() -> None:
    md = """
    | survey |
    |        | type         | name | label | calculation |
    |        | calculate    | id1  |       | uuid()      |
    |        | calculate    | id2  |       | uuid()      |
    |        | calculate    | tok  |       | uuid(8)     |
    |        | begin repeat | kids | Kids  |             |
    |        | calculate    | kid  |       | uuid()      |
    |        | end repeat   |      |       |             |
    """
    loaded = form(md)
    first = Session.start(loaded, "en", {}, clock=lambda: NOW)
    first.add_repeat("kids")
    first.add_repeat("kids")
    ids = [first.value(n) for n in ("id1", "id2", "tok")]
    kids = [first.value(("kid", (i,))) for i in (0, 1)]
    assert len({*ids, *kids}) == 5 and len(ids[2]) == 8
    again = Session.restore(loaded, first.to_state(), clock=lambda: NOW)
    assert [again.value(n) for n in ("id1", "id2", "tok")] == ids
    assert [again.value(("kid", (i,))) for i in (0, 1)] == kids
    other = Session.start(loaded, "en", {}, clock=lambda: NOW)
    assert other.value("id1") not in ids


def test_instance_id_is_the_records_own_uuid_wherever_the_form_reads_it() -> None:
    md = """
    | survey |
    |        | type         | name | label         | calculation   |
    |        | calculate    | id   |               | ${instanceID} |
    |        | begin repeat | r    | R             |               |
    |        | calculate    | rid  |               | ${instanceID} |
    |        | end repeat   |      |               |               |
    |        | note         | show | ${instanceID} |               |
    """
    loaded = form(md)
    first = Session.start(loaded, "en", {}, clock=lambda: NOW)
    first.add_repeat("r")
    value = first.value("id")
    assert re.fullmatch(
        r"uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", value
    )
    assert first.value(("rid", (0,))) == value  # the same inside a repeat
    again = Session.restore(loaded, first.to_state(), clock=lambda: NOW)
    assert again.value("id") == value
    assert Session.start(loaded, "en", {}, clock=lambda: NOW).value("id") != value


def test_random_is_stable_for_the_record_as_once_random_is_in_odk() -> None:
    md = """
    | survey |
    |        | type         | name | label | calculation      | default  |
    |        | calculate    | r1   |       | random()         |          |
    |        | calculate    | r2   |       | random()         |          |
    |        | calculate    | arm  |       | if(${r1} < 0.5, 'a', 'b') |   |
    |        | calculate    | d    |       |                  | random() |
    |        | begin repeat | kids | Kids  |                  |          |
    |        | calculate    | kid  |       | random()         |          |
    |        | end repeat   |      |       |                  |          |
    """
    loaded = form(md)
    first = Session.start(loaded, "en", {}, clock=lambda: NOW)
    first.add_repeat("kids")
    first.add_repeat("kids")
    numbers = [first.value(n) for n in ("r1", "r2")] + [first.value(("kid", (i,))) for i in (0, 1)]
    assert all(0 <= n < 1 for n in numbers) and len(set(numbers)) == 4
    assert first.value("arm") == ("a" if numbers[0] < 0.5 else "b")
    first.reevaluate_all()
    again = Session.restore(loaded, first.to_state(), clock=lambda: NOW)
    assert [again.value(n) for n in ("r1", "r2", "arm", "d")] == [
        first.value(n) for n in ("r1", "r2", "arm", "d")
    ]
    others = [Session.start(loaded, "en", {}, clock=lambda: NOW).value("r1") for _ in range(40)]
    assert len(set(others)) == 40  # each record its own
    assert 5 < sum(n < 0.5 for n in others) < 35  # and spread over [0, 1)


@pytest.mark.parametrize(
    ("expr", "words"),
    [("digest(${t}, 'SHA-3', 'hex')", "algorithm"), ("digest(${t}, 'MD5', 'b32')", "encoding")],
)
def test_a_literal_digest_algorithm_or_encoding_odk_lacks_is_refused(expr: str, words: str) -> None:
    md = f"""
    | survey |
    |        | type      | name | label | calculation |
    |        | text      | t    | T     |             |
    |        | calculate | h    |       | {expr}      |
    """
    with pytest.raises(FormError) as caught:
        form(md)
    assert str(caught.value).startswith("test.md:survey:3:calculation:")
    assert words in str(caught.value)


def test_a_loop_over_a_choice_list_is_one_group_per_choice_as_pyxform_builds_it() -> None:
    md = """
    | survey |
    |        | type                   | name  | label::English (en)        | label::Español (es)          | relevant       | constraint |
    |        | begin loop over places | where | Places                     | Lugares                      |                |            |
    |        | integer                | nights | Nights in %(label)s?      | ¿Noches en %(label)s?        |                | . < 400    |
    |        | text                   | why   | Why %(label)s?             | ¿Por qué %(label)s?          | ${nights} > 0  |            |
    |        | end loop               |       |                            |                              |                |            |
    | choices |
    |         | list_name | name   | label::English (en) | label::Español (es) |
    |         | places    | shelter | the shelter        | el albergue         |
    |         | places    | street | the street          | la calle            |
    |         | places    | none   | nowhere             | ningún sitio        |
    """
    loaded = form(md)
    assert [n for n in loaded.fields if not loaded.fields[n].is_container] == [
        "nights_shelter", "why_shelter", "nights_street", "why_street",
    ]  # fmt: skip
    assert loaded.field("where_street").parent == "where"
    nights = loaded.field("nights_street")
    assert (nights.row, nights.constraint) == (3, ". < 400")
    assert nights.label.get("es") == "¿Noches en la calle?"
    assert loaded.field("why_shelter").label.get("en") == "Why the shelter?"
    session = Session.start(loaded, "en", {}, clock=lambda: NOW)
    session.set_answer("nights_street", 3)
    assert session.relevant("why_street") and not session.relevant("why_shelter")


def test_pulldata_reads_a_csv_shipped_beside_the_form_at_load_time(tmp_path: Any) -> None:
    (tmp_path / "fruits.csv").write_text(
        "name_key,name,colour\nmango,Mango,orange\nlime,Lime,green\nmango,Second,red\n",
        encoding="utf-8",
    )
    md = """
    | survey |
    |        | type      | name   | label | calculation                                      |
    |        | text      | key    | Key   |                                                  |
    |        | calculate | colour |       | pulldata('fruits', 'colour', 'name_key', ${key}) |
    |        | calculate | absent |       | pulldata("fruits", 'nope', 'name_key', 'lime')   |
    | rules |
    |       | name    | when                                                  |
    |       | F_GREEN | pulldata('fruits', 'colour', 'name', 'Lime') = 'green' |
    """
    session = Session.start(form(md, base=tmp_path), "en", {}, clock=lambda: NOW)
    assert session.value("colour") is None and session.value("absent") is None
    session.set_answer("key", "mango")
    assert session.value("colour") == "orange"  # the first row that matches, as ODK
    session.set_answer("key", "lime")
    assert session.value("colour") == "green"
    assert "F_GREEN" in session.risk().flags


def test_a_csv_external_instance_is_read_from_the_csv_beside_the_form(tmp_path: Any) -> None:
    md = """
    | survey |
    |        | type         | name   | label | calculation                                      |
    |        | csv-external | fruits |       |                                                  |
    |        | text         | key    | Key   |                                                  |
    |        | calculate    | colour |       | instance('fruits')/root/item[name=${key}]/colour |
    """
    with pytest.raises(FormError) as caught:
        form(md, base=tmp_path)
    assert str(caught.value).startswith("test.md:survey:2:type: the external instance 'fruits.csv'")
    assert "fruits.csv" in caught.value.message("es") and "junto al formulario" in (
        caught.value.message("es")
    )
    (tmp_path / "fruits.csv").write_text("name,colour\nmango,orange\nlime,green\n")
    session = Session.start(form(md, base=tmp_path), "en", {}, clock=lambda: NOW)
    session.set_answer("key", "lime")
    assert session.value("colour") == "green"


def test_xml_lists_and_xml_external_instances_are_read_as_odk_reads_them(tmp_path: Any) -> None:
    (tmp_path / "sites.xml").write_text(
        "<root><item><name>n1</name><label>North</label><zone>A</zone></item>"
        "<item><name>s1</name><label>South</label><zone>B</zone></item></root>",
        encoding="utf-8",
    )
    md = """
    | survey |
    |        | type                          | name  | label | calculation                                 |
    |        | select_one_from_file sites.xml | site  | Site  |                                             |
    |        | xml-external                  | sites |       |                                             |
    |        | calculate                     | zone  |       | instance('sites')/root/item[name=${site}]/zone |
    """
    loaded = form(md, base=tmp_path)
    assert [(c.name, c.label.get("en")) for c in loaded.field("site").choices] == [
        ("n1", "North"),
        ("s1", "South"),
    ]
    session = Session.start(loaded, "en", {}, clock=lambda: NOW)
    session.set_answer("site", "s1")
    assert session.value("zone") == "B"
    (tmp_path / "sites.xml").write_text(
        '<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">]><root><item><name>&a;</name></item></root>',
        encoding="utf-8",
    )
    with pytest.raises(FormError) as caught:
        form(md, base=tmp_path)
    assert "declares a DOCTYPE" in str(caught.value)
    assert "declara un DOCTYPE" in caught.value.message("es")


def test_a_list_file_past_its_bound_is_a_clear_error(tmp_path: Any, monkeypatch: Any) -> None:
    from fieldscreen.forms import sheets

    monkeypatch.setattr(sheets, "MAX_LIST_ROWS", 3)
    (tmp_path / "big.csv").write_text(
        "k,v\n" + "".join(f"{i},{i}\n" for i in range(5)), encoding="utf-8"
    )
    md = """
    | survey |
    |        | type      | name | label | calculation                    |
    |        | calculate | c    |       | pulldata('big', 'v', 'k', '1') |
    """
    with pytest.raises(FormError) as caught:
        form(md, base=tmp_path)
    assert "more than 3 rows" in str(caught.value)


def test_select_one_external_takes_its_choices_from_the_external_choices_sheet() -> None:
    md = """
    | survey |
    |        | type                     | name | label | choice_filter  |
    |        | select_one zone          | zone | Zone  |                |
    |        | select_one_external town | town | Town  | zone = ${zone} |
    | choices |
    |         | list_name | name  | label |
    |         | zone      | north | North |
    |         | zone      | south | South |
    | external_choices |
    |         | list_name | name   | label::English (en) | label::Español (es) | zone  |
    |         | town      | tijuana | Tijuana            | Tijuana             | north |
    |         | town      | tapachula | Tapachula        | Tapachula           | south |
    """
    loaded = form(md)
    session = Session.start(loaded, "es", {}, clock=lambda: NOW)
    session.set_answer("zone", "south")
    assert [c.name for c in session.choices("town")] == ["tapachula"]
    assert not any("external_choices" in w for w in loaded.warnings)
    without = md.split("    | external_choices |", maxsplit=1)[0]
    with pytest.raises(FormError) as caught:
        form(without)
    assert "external_choices sheet" in str(caught.value)


def test_randomize_shuffles_choices_per_record_and_keeps_the_order_for_it() -> None:
    letters = "abcdefghij"
    rows = "\n".join(f"    |         | many      | {c}    | {c.upper()}     |" for c in letters)
    md = f"""
    | survey |
    |        | type            | name  | label | parameters              |
    |        | integer         | n     | N     |                         |
    |        | select_one many | q     | Q     | randomize=true          |
    |        | select_one many | fixed | F     |                         |
    |        | select_one many | by_n  | B     | randomize=true seed=${{n}} |
    | choices |
    |         | list_name | name | label |
{rows}
    """
    loaded = form(md)
    orders = set()
    for _ in range(8):
        session = Session.start(loaded, "en", {}, clock=lambda: NOW)
        order = tuple(c.name for c in session.choices("q"))
        assert sorted(order) == list(letters)
        assert "".join(c.name for c in session.choices("fixed")) == letters
        again = Session.restore(loaded, session.to_state(), clock=lambda: NOW)
        assert tuple(c.name for c in again.choices("q")) == order  # stable for the record
        orders.add(order)
        session.set_answer("n", 7)
        orders_by_n = tuple(c.name for c in session.choices("by_n"))
        other = Session.start(loaded, "en", {}, clock=lambda: NOW)
        other.set_answer("n", 7)
        assert tuple(c.name for c in other.choices("by_n")) == orders_by_n  # seed=${n}
    assert len(orders) > 1  # another record, another order


@pytest.mark.parametrize(
    ("parameters", "kind", "good", "bad"),
    [
        ("", "integer", [1, 5, 10], [0, 11]),
        ("start=0 end=2 step=0.5", "decimal", [0, 0.5, 2], [0.25, 2.5, -0.5]),
        ("start=10 end=-10 step=-5", "integer", [-10, -5, 10], [-7, 15]),
        ("start=0.00001 end=0.0001 step=0.00001", "decimal", [0.00003], [0.000035]),
    ],
)
def test_a_range_question_is_a_number_checked_against_start_end_and_step(
    parameters: str, kind: str, good: list[float], bad: list[float]
) -> None:
    md = f"""
    | survey |
    |        | type  | name | label | parameters   | constraint |
    |        | range | r    | R     | {parameters} | . != 4     |
    """
    loaded = form(md)
    assert loaded.field("r").kind == kind
    for value in good:
        assert _answer(md, "r", value) == [], value
    for value in [*bad, 4] if kind == "integer" and "start=10" not in parameters else bad:
        assert _answer(md, "r", value) == ["r"], value
    session = Session.start(loaded, "es", {}, clock=lambda: NOW)
    session.set_answer("r", bad[0])
    assert session.errors("r")[0].message.startswith("Un número de")


def test_a_range_with_a_step_of_zero_is_a_load_error() -> None:
    md = """
    | survey |
    |        | type  | name | label | parameters           |
    |        | range | r    | R     | start=1 end=5 step=0 |
    """
    with pytest.raises(FormError) as caught:
        form(md)
    assert str(caught.value).startswith("test.md:survey:2:parameters:")


ENTITIES = """
| survey |
|        | type         | name | label | save_to   |
|        | text         | town | Town  |           |
|        | begin repeat | kids | Kids  |           |
|        | text         | kid  | Name  | full_name |
|        | integer      | age  | Age   | age       |
|        | end repeat   |      |       |           |
| entities |
|          | list_name | label                        | create_if   |
|          | children  | concat(${kid}, ' ', ${town}) | ${age} < 18 |
"""


def test_entities_are_recorded_in_the_screening_as_an_odk_server_would_create_them(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from fieldscreen.cli import main

    loaded = form(ENTITIES)
    (entity,) = loaded.entities
    assert (entity.dataset, entity.repeat) == ("children", "kids")
    assert dict(entity.properties) == {"full_name": "kid", "age": "age"}
    assert loaded.field(entity.label_field).sensitivity == "identifying"
    session = Session.start(loaded, "en", {}, clock=lambda: NOW)
    session.set_answer("town", "Tapachula")
    for i, (kid, age) in enumerate([("Ana", 12), ("Bea", 19), ("Cruz", 7)]):
        session.add_repeat("kids")
        session.set_answer(("kid", (i,)), kid)
        session.set_answer(("age", (i,)), age)
    made = session.entities_json()
    assert [(e["list"], e["label"], e["properties"]) for e in made] == [
        ("children", "Ana Tapachula", {"full_name": "Ana", "age": 12}),
        ("children", "Cruz Tapachula", {"full_name": "Cruz", "age": 7}),
    ]
    assert len({e["id"] for e in made}) == 2
    # The values are the record's: kept with its state, the same when it is reopened, and in
    # the values every export writes.
    again = Session.restore(loaded, session.to_state(), clock=lambda: NOW)
    assert again.entities_json() == made
    entries = session.values_json()["kids"]
    assert [e["entity_children_create"] for e in entries] == [True, False, True]
    assert entries[0]["entity_children_id"] == made[0]["id"]
    other = Session.start(loaded, "en", {}, clock=lambda: NOW)
    other.add_repeat("kids")
    assert other.value(("entity_children_id", (0,))) != made[0]["id"]
    path = tmp_path / "f.md"
    path.write_text(ENTITIES, encoding="utf-8")
    answers = tmp_path / "a.json"
    answers.write_text(json.dumps({"town": "X", "kids": [{"kid": "Ana", "age": 3}]}))
    assert main(["forms", "run", str(path), "--answers", str(answers), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [(e["label"], e["properties"]["age"]) for e in result["entities"]] == [("Ana X", 3)]


def test_entities_of_several_lists_take_their_properties_by_list_name() -> None:
    md = """
    | survey |
    |        | type        | name | label | save_to  |
    |        | text        | a    | A     | hh#head  |
    |        | begin group | g    | G     |          |
    |        | text        | b    | B     | site#who |
    |        | end group   |      |       |          |
    | entities |
    |          | list_name | label     |
    |          | hh        | ${a}      |
    |          | site      | Household |
    """
    loaded = form(md)
    assert [dict(e.properties) for e in loaded.entities] == [{"head": "a"}, {"who": "b"}]
    session = Session.start(loaded, "en", {}, clock=lambda: NOW)
    session.set_answer("a", "Ana")
    assert [e["label"] for e in session.entities_json()] == ["Ana", "Household"]


def test_an_entity_update_is_recorded_with_the_version_it_updates_as_odk_records_it(
    tmp_path: Any,
) -> None:
    (tmp_path / "people.csv").write_text(
        "name,label,__version,village\nk1,Kid one,3,north\nk2,Kid two,1,south\n",
        encoding="utf-8",
    )
    md = """
    | survey |
    |        | type                           | name    | label   | save_to |
    |        | select_one_from_file people.csv | who     | Who     |         |
    |        | text                           | village | Village | village |
    | entities |
    |          | list_name | entity_id | update_if        | label  |
    |          | people    | ${who}    | ${village} != '' | ${who} |
    """
    loaded = form(md, base=tmp_path)
    session = Session.start(loaded, "en", {}, clock=lambda: NOW)
    session.set_answer("who", "k1")
    assert session.entities_json() == []  # update_if is false: nothing to update yet
    session.set_answer("village", "east")
    assert session.entities_json() == [
        {
            "list": "people",
            "id": "k1",
            "label": "k1",
            "properties": {"village": "east"},
            "create": False,
            "update": True,
            "baseVersion": "3",  # the version of the entity it was updated from
        }
    ]
    again = Session.restore(loaded, session.to_state(), clock=lambda: NOW)
    assert again.entities_json() == session.entities_json()


def test_an_entity_upsert_creates_or_updates_as_its_conditions_say(tmp_path: Any) -> None:
    (tmp_path / "people.csv").write_text("name,label,__version\nk1,Kid one,2\n", encoding="utf-8")
    md = """
    | survey |
    |        | type         | name   | label  |
    |        | text         | known  | Known  |
    |        | csv-external | people |        |
    | entities |
    |          | list_name | entity_id | create_if      | update_if      | label   |
    |          | people    | ${known}  | ${known} = 'n' | ${known} != '' | 'Child' |
    """
    session = Session.start(form(md, base=tmp_path), "en", {}, clock=lambda: NOW)
    session.set_answer("known", "k1")
    [made] = session.entities_json()
    assert (made["create"], made["update"], made["baseVersion"]) == (False, True, "2")
    session.set_answer("known", "n")
    [made] = session.entities_json()
    assert (made["create"], made["update"], made["baseVersion"]) == (True, True, None)


def test_an_entity_update_without_its_list_is_refused_at_its_cell() -> None:
    md = """
    | survey |
    |        | type | name | label |
    |        | text | who  | Who   |
    | entities |
    |          | list_name | entity_id | label  |
    |          | people    | ${who}    | ${who} |
    """
    with pytest.raises(FormError) as caught:
        form(md)
    assert str(caught.value).startswith("test.md:entities:2:entity_id: ")
    assert "reads its version from that list; ship the list with the form" in str(caught.value)
    assert designer_text(caught.value.detail, "es") not in {None, caught.value.detail}


TRIGGERS = """
| survey |
|        | type         | name | label | calculation           | trigger |
|        | text         | a    | A     |                       |         |
|        | datetime     | when | When  | now()                 | ${a}    |
|        | integer      | n    | N     | string-length(${a})   | ${a}    |
|        | text         | note | Note  |                       | ${a}    |
|        | calculate    | c    |       | concat(${a}, '!')     | ${a}    |
|        | calculate    | cc   |       | concat(${c}, '?')     | ${c}    |
|        | begin repeat | r    | R     |                       |         |
|        | text         | x    | X     |                       |         |
|        | text         | y    | Y     | concat(${x}, ${a})    | ${x}    |
|        | end repeat   |      |       |                       |         |
"""


def test_a_trigger_sets_its_question_when_the_question_it_names_changes() -> None:
    loaded = form(TRIGGERS)
    assert loaded.field("c").kind == "hidden"  # set by its trigger, kept as an answer
    assert loaded.field("n").calculation == ""  # not computed on every change, as in ODK
    clock = [NOW]
    session = Session.start(loaded, "en", {}, clock=lambda: clock[0])
    session.set_answer("note", "typed by hand")
    session.set_answer("a", "hello")
    assert session.value("n") == 5
    assert session.value("note") is None  # a trigger without a calculation clears it
    assert (session.value("c"), session.value("cc")) == ("hello!", "hello!?")  # in a chain
    first = session.value("when")
    session.set_answer("n", 99)  # the question stays the specialist's to change
    clock[0] = NOW.replace(hour=11)
    session.set_answer("a", "hello")  # the same value again: no change, nothing is set
    assert (session.value("n"), session.value("when")) == (99, first)
    clock[0] = NOW.replace(hour=12)
    session.set_answer("a", "hi")
    assert session.value("n") == 2 and session.value("when") != first
    session.add_repeat("r")
    session.set_answer(("x", (0,)), "X")
    assert session.value(("y", (0,))) == "Xhi"
    again = Session.restore(loaded, session.to_state(), clock=lambda: NOW)
    assert again.values_json() == session.values_json()  # kept, not computed again


def test_a_trigger_naming_no_question_is_refused_at_its_cell() -> None:
    md = """
    | survey |
    |        | type | name | label | trigger |
    |        | text | a    | A     | ${b}    |
    """
    with pytest.raises(FormError) as caught:
        form(md)
    assert "'b'" in str(caught.value) or "${b}" in str(caught.value)


def test_capture_settings_of_a_phone_are_accepted_with_a_warning() -> None:
    md = """
    | survey |
    |        | type     | name  | label | parameters               |
    |        | geopoint | place | Where | allow-mock-accuracy=true |
    |        | audio    | voice | Voice | quality=voice-only       |
    """
    loaded = form(md)
    text = " ".join(loaded.warnings)
    assert "odk:allow-mock-accuracy on 'place' is not applied" in text
    assert "odk:quality on 'voice' is not applied" in text


@pytest.mark.parametrize(
    ("kind", "parameters", "warning"),
    [
        ("geopoint", "capture-accuracy=10", "capture-accuracy on 'q' keeps every typed point"),
        ("geotrace", "incremental=true", "incremental on 'q' is not applied: the laptop has no"),
        ("image", "app=org.example", "app on 'q' is not applied: FieldScreen starts no other"),
        ("text", "rows=4", "rows on 'q' is not applied: the answer box keeps its own size"),
        ("range", "tick_interval=2", "odk:tick-interval on 'q' is not applied: a range is typed"),
        ("range", "placeholder=3", "odk:placeholder on 'q' is not applied: a range is typed"),
        ("video", "max-pixels=640", "max-pixels on 'q' is not applied: FieldScreen keeps the file"),
    ],
)
def test_a_parameter_the_laptop_does_not_apply_loads_with_a_warning_saying_why(
    kind: str, parameters: str, warning: str
) -> None:
    md = f"""
    | survey |
    |        | type   | name | label | parameters   |
    |        | {kind} | q    | Q     | {parameters} |
    """
    loaded = form(md)
    found = [w for w in loaded.warnings if w.startswith(warning)]
    assert found, loaded.warnings
    assert designer_text(found[0], "es") not in {None, found[0]}


_ACCURACY_FORM = """
| survey |
|        | type     | name  | label | parameters                                 |
|        | geopoint | place | Where | capture-accuracy=5 warning-accuracy=25.5   |
|        | geopoint | other | Else  |                                            |
"""


@pytest.mark.parametrize(
    ("typed", "refused"),
    [
        ("14.6349 -90.5069", False),  # no accuracy typed: nothing to check
        ("14.6349 -90.5069 1500", False),  # an altitude, no accuracy
        ("14.6349 -90.5069 1500 3", False),  # within capture-accuracy
        ("14.6349 -90.5069 1500 25.5", False),  # at the unacceptable limit: still kept
        ("14.6349  -90.5069   1500 12", False),  # worse than capture, better than warning
        ("14.6349 -90.5069 1500 25.6", True),  # worse than warning-accuracy
        ("14.6349 -90.5069 1500 400", True),
        ("94.6349 -90.5069 1500 3", True),  # not a point on the Earth, as before
    ],
)
def test_a_geopoints_warning_accuracy_refuses_a_worse_typed_accuracy_as_odk_calls_it_unacceptable(
    typed: str, refused: bool
) -> None:
    assert _answer(_ACCURACY_FORM, "place", typed) == (["place"] if refused else [])
    # a question without accuracy rules keeps any accuracy
    assert _answer(_ACCURACY_FORM, "other", "14.6349 -90.5069 1500 400") == []


def test_the_accuracy_refusal_says_the_limit_and_what_to_do_in_both_languages() -> None:
    session = Session.start(form(_ACCURACY_FORM), "en", {}, clock=lambda: NOW)
    session.set_answer("place", "14.6349 -90.5069 1500 40")
    (en,) = session.errors("place", "en")
    (es,) = session.errors("place", "es")
    assert en.message.startswith("Type the latitude and longitude in degrees")
    assert "4th number must be 25.5 m or better" in en.message
    assert "leave the accuracy out" in en.message
    assert es.message.startswith("Escriba la latitud y la longitud en grados")
    assert "debe ser de 25.5 m o mejor" in es.message
    assert "no escriba la precisión" in es.message
    # numbers typed as a map copies them (a comma between) get the same message, which says
    # how to type them first, not only the accuracy
    session.set_answer("place", "14.6349, -90.5069")
    assert session.errors("place", "en")[0].message == en.message


def test_capture_accuracy_keeps_every_typed_point_with_a_warning_in_both_languages() -> None:
    loaded = form(_ACCURACY_FORM)
    (found,) = [w for w in loaded.warnings if w.startswith("capture-accuracy")]
    assert "within 5 m" in found and "saved by hand" in found
    assert "not applied" not in " ".join(loaded.warnings)
    spanish = designer_text(found, "es")
    assert spanish is not None and spanish.startswith("capture-accuracy en 'place' acepta")


@pytest.mark.parametrize("value", ["0", "-3", "inf"])
def test_an_accuracy_rule_that_is_not_metres_above_0_is_refused_naming_the_cell(
    value: str,
) -> None:  # pyxform itself refuses a value that is not a number
    md = f"""
    | survey |
    |        | type     | name  | label | parameters               |
    |        | geopoint | place | Where | warning-accuracy={value} |
    """
    with pytest.raises(FormError) as caught:
        form(md)
    assert caught.value.column == "parameters" and caught.value.row == 2
    assert "warning-accuracy must be a number of metres above 0" in caught.value.detail
    assert designer_text(caught.value.detail, "es") not in {None, caught.value.detail}


def test_a_question_s_own_constraint_message_is_kept_beside_the_accuracy_rule() -> None:
    md = """
    | survey |
    |        | type     | name  | label | parameters         | constraint_message |
    |        | geopoint | place | Where | warning-accuracy=9 | Check the reading  |
    """
    session = Session.start(form(md), "en", {}, clock=lambda: NOW)
    session.set_answer("place", "1 2 3 10")
    assert [e.message for e in session.errors("place")] == ["Check the reading"]
    session.set_answer("place", "1 2 3 9")
    assert session.errors("place") == []


def test_a_geojson_list_is_read_as_odk_reads_one_and_another_kind_of_file_is_refused(
    tmp_path: Any,
) -> None:
    import json

    (tmp_path / "wells.geojson").write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": {"type": "Point", "coordinates": [-90.5, 14.6, 1500]},
                        "properties": {"id": "w1", "title": "Well 1", "depth": 12},
                    },
                    {
                        "type": "Feature",
                        "id": "w2",
                        "geometry": {"type": "LineString", "coordinates": [[0, 0], [0, 1]]},
                        "properties": {"title": "Pipe"},
                    },
                ],
            }
        ),
        encoding="utf-8",
    )
    md = """
    | survey |
    |        | type                              | name | label | calculation                                      |
    |        | select_one_from_file wells.geojson | well | Well  |                                                  |
    |        | calculate                         | at   |       | instance('wells')/root/item[name=${well}]/geometry |
    |        | calculate                         | deep |       | instance('wells')/root/item[name=${well}]/depth    |
    """
    loaded = form(md, base=tmp_path)
    assert [(c.name, c.label.get("en")) for c in loaded.field("well").choices] == [
        ("w1", "Well 1"),
        ("w2", "Pipe"),
    ]
    session = Session.start(loaded, "en", {}, clock=lambda: NOW)
    session.set_answer("well", "w1")
    assert (session.value("at"), session.value("deep")) == ("14.6 -90.5 1500", "12")
    session.set_answer("well", "w2")
    assert session.value("at") == "0 0; 1 0"
    (tmp_path / "wells.txt").write_text("w1\n", encoding="utf-8")
    with pytest.raises(FormError) as caught:
        form(md.replace("wells.geojson", "wells.txt"), base=tmp_path)
    assert "should end with one of the supported file extensions" in str(caught.value)


SAME_NAME_IN_GROUPS = """
| survey |
|        | type         | name | label | calculation |
|        | text         | q1   | Top   |             |
|        | begin group  | g1   | G1    |             |
|        | integer      | q1   | In g1 |             |
|        | begin group  | g2   | G2    |             |
|        | decimal      | q1   | In g2 |             |
|        | end group    |      |       |             |
|        | end group    |      |       |             |
|        | begin repeat | r    | R     |             |
|        | date         | q1   | In r  |             |
|        | end repeat   |      |       |             |
|        | calculate    | c    |       | ${r}[1]/q1  |
"""


def test_a_name_may_come_again_in_another_group_as_pyxform_allows() -> None:
    loaded = form(SAME_NAME_IN_GROUPS)
    found = {k: (f.kind, f.row, f.parent, f.label.get("en")) for k, f in loaded.fields.items()}
    assert found["q1"] == ("text", 2, "", "Top")
    assert found["g1/q1"] == ("integer", 4, "g1", "In g1")  # its own row, type and label
    assert found["g2/q1"] == ("decimal", 6, "g2", "In g2")
    assert found["r/q1"] == ("date", 10, "r", "In r")
    assert [loaded.field(k).own_name for k in ("q1", "g1/q1", "r/q1")] == ["q1"] * 3
    assert loaded.field("g1").children == ("g1/q1", "g2")
    session = Session.start(loaded, "en", {}, clock=lambda: NOW)
    session.set_answer("q1", "top")
    session.set_answer("g1/q1", 4)
    session.add_repeat("r")
    session.set_answer(("r/q1", (0,)), "2024-01-02")
    assert (session.value("q1"), session.value("g1/q1"), session.value("g2/q1")) == (
        "top",
        4,
        None,
    )
    assert str(session.value("c")) == "2024-01-02"  # the path into the repeat by its names
    again = Session.restore(loaded, session.to_state(), clock=lambda: NOW)
    assert again.values_json() == session.values_json()


def test_a_reference_to_a_name_several_groups_use_is_refused_at_its_cell() -> None:
    rules = """
    | rules |
    |       | name | when          | tier |
    |       | R1   | ${q1} = 'top' | T2   |
    """
    with pytest.raises(FormError) as caught:
        form(SAME_NAME_IN_GROUPS + rules)
    error = caught.value
    assert (error.sheet, error.row, error.column) == ("rules", 2, "when")
    assert "${q1} could be any of the 4 fields named 'q1' in different groups" in error.detail
    assert designer_codes(error.detail) == ("ref-ambiguous",)
    spanish = designer_text(error.detail, "es") or ""
    assert spanish.startswith("${q1} puede ser cualquiera de los 4 campos llamados 'q1'")
    with pytest.raises(FormError) as caught:  # pyxform's own check, in its columns
        form(SAME_NAME_IN_GROUPS.replace("${r}[1]/q1", "${q1}"))
    assert (caught.value.row, caught.value.column) == (12, "calculation")


def test_a_name_twice_in_the_same_group_is_still_refused() -> None:
    md = """
    | survey |
    |        | type        | name | label |
    |        | begin group | g1   | G1    |
    |        | integer     | q1   | A     |
    |        | integer     | q1   | B     |
    |        | end group   |      |       |
    """
    with pytest.raises(FormError) as caught:
        form(md)
    assert (caught.value.row, caught.value.column) == (4, "name")


@pytest.mark.parametrize("suffix", [".csv", ".xml", ".geojson"])
def test_value_and_label_parameters_name_the_list_files_columns(tmp_path: Any, suffix: str) -> None:
    import json

    rows = [("c1", "one", "First", "n"), ("c2", "two", "Second", "s")]
    if suffix == ".csv":
        text = "name,code,title_text,zone\n" + "".join(f"{','.join(r)}\n" for r in rows)
    elif suffix == ".xml":
        items = "".join(
            f"<item><name>{a}</name><code>{b}</code><title_text>{c}</title_text>"
            f"<zone>{d}</zone></item>"
            for a, b, c, d in rows
        )
        text = f"<root>{items}</root>"
    else:
        features = [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [-90.5, 14.6]},
                "properties": {"id": a, "code": b, "title_text": c, "zone": d},
            }
            for a, b, c, d in rows
        ]
        text = json.dumps({"type": "FeatureCollection", "features": features})
    (tmp_path / f"places{suffix}").write_text(text, encoding="utf-8")
    md = f"""
    | survey |
    |        | type                                | name  | label | parameters                  | choice_filter |
    |        | select_one_from_file places{suffix} | place | Place | value=code, label=title_text | zone = 's'    |
    """
    loaded = form(md, base=tmp_path)
    choices = loaded.field("place").choices
    assert [(c.name, c.label.get("en")) for c in choices] == [("one", "First"), ("two", "Second")]
    session = Session.start(loaded, "en", {}, clock=lambda: NOW)
    assert [c.name for c in session.choices("place")] == ["two"]  # filtered on another column
    session.set_answer("place", "two")
    assert session.value("place") == "two"
    # the file's own columns stay what they are, the value column and name too, as in ODK's
    # instance: a filter or a path may read either
    for column, want in (("code = 'one'", ["one"]), ("name = 'c2'", ["two"])):
        filtered = form(md.replace("zone = 's'    ", column), base=tmp_path)
        names = [
            c.name for c in Session.start(filtered, "en", {}, clock=lambda: NOW).choices("place")
        ]
        assert names == want, column
    missing = md.replace("value=code", "value=kode")
    with pytest.raises(FormError) as caught:
        form(missing, base=tmp_path)
    assert (caught.value.row, caught.value.column) == (2, "parameters")
    assert "no column 'kode', which the question's value= names" in caught.value.detail
    assert designer_text(caught.value.detail, "es") is not None


def test_a_reference_geometry_loads_with_a_warning_that_no_map_shows_it(tmp_path: Any) -> None:
    (tmp_path / "sites.csv").write_text("name,label,region\ns1,Site 1,1\n", encoding="utf-8")
    md = """
    | survey |
    |        | type                          | name | label | parameters               |
    |        | select_one_from_file sites.csv | site | Site  |                          |
    |        | geopoint                      | here | Here  | reference-geometry=sites |
    """
    loaded = form(md, base=tmp_path)
    assert "reference-geometry on 'here' is not shown: the laptop has no map" in " ".join(
        loaded.warnings
    )
    assert designer_text(loaded.warnings[-1], "es") is not None


SEARCH_CSV = """name_key,name,region,sortby
mango,Mango,south,3
apple,Apple,north,1
MANGOSTEEN,Mangosteen,south,2
apple,Apple again,north,4
"""


def _search_form(tmp_path: Any, appearance: str, extra: str = "") -> Any:
    (tmp_path / "fruits.csv").write_text(SEARCH_CSV, encoding="utf-8")
    md = f"""
    | survey |
    |        | type              | name  | label | appearance    |
    |        | text              | want  | Want  |               |
    |        | select_one fruits | fruit | Fruit | {appearance} |
    | choices |
    |         | list_name | name     | label::English (en) | label::Español (es) |
    |         | fruits    | name_key | name                | name, region        |
    {extra}
    """
    return form(md, base=tmp_path)


def test_search_takes_a_selects_choices_from_the_csv_as_odk_collect_does(tmp_path: Any) -> None:
    loaded = _search_form(
        tmp_path, "search('fruits')", "|         | fruits    | 0  | None | Ninguna |"
    )
    choices = loaded.field("fruit").choices
    # by the sortby column, a name that comes again shown once, the static choice kept
    assert [c.name for c in choices] == ["apple", "MANGOSTEEN", "mango", "0"]
    assert [c.label.get("en") for c in choices] == ["Apple", "Mangosteen", "Mango", "None"]
    assert choices[0].label.get("es") == "Apple (region: north)"  # more columns, as ODK shows
    session = Session.start(loaded, "en", {}, clock=lambda: NOW)
    session.set_answer("fruit", "mango")
    assert session.value("fruit") == "mango"


@pytest.mark.parametrize(
    ("appearance", "names"),
    [
        ("search('fruits', 'contains', 'name_key', 'mango')", ["MANGOSTEEN", "mango"]),
        ("search('fruits', 'matches', 'name_key', 'Mango')", ["mango"]),  # ASCII case ignored
        ("search('fruits', 'startswith', 'name, region', 'no')", ["apple"]),
        ("search('fruits', 'endswith', 'name_key', 'EEN')", ["MANGOSTEEN"]),
        (
            "search('fruits', 'contains', 'name_key', 'man', 'region', 'south')",
            ["MANGOSTEEN", "mango"],
        ),
        ("search('fruits', 'contains', 'name_key', 'an', 'region', 'north')", []),
    ],
)
def test_search_with_literal_arguments_keeps_the_rows_odk_keeps(
    tmp_path: Any, appearance: str, names: list[str]
) -> None:
    loaded = _search_form(tmp_path, appearance)
    assert [c.name for c in loaded.field("fruit").choices] == names
    assert loaded.field("fruit").choice_filter == ""  # applied once, at load


def test_search_on_an_answer_follows_the_answer(tmp_path: Any) -> None:
    loaded = _search_form(tmp_path, "search('fruits', 'startswith', 'name_key', ${want})")
    session = Session.start(loaded, "en", {}, clock=lambda: NOW)
    session.set_answer("want", "MAN")
    assert [c.name for c in session.choices("fruit")] == ["MANGOSTEEN", "mango"]
    session.set_answer("want", "ap")
    assert [c.name for c in session.choices("fruit")] == ["apple"]


@pytest.mark.parametrize(
    ("appearance", "words"),
    [
        ("search('vegetables')", "search('vegetables') reads vegetables.csv, which was not found"),
        ("search('fruits', 'contains')", "search() takes 1, 4 or 6 arguments"),
        ("search('fruits', 'like', 'name', 'x')", "search()'s mode must be one of"),
        (
            "search('fruits', 'contains', 'colour', 'x')",
            "reads the column 'colour', which fruits.csv",
        ),
        ("search(${want})", "search()'s first argument must name the CSV in quotes"),
    ],
)
def test_a_search_odk_cannot_read_either_is_refused_at_its_cell(
    tmp_path: Any, appearance: str, words: str
) -> None:
    with pytest.raises(FormError) as caught:
        _search_form(tmp_path, appearance)
    assert (caught.value.row, caught.value.column) == (3, "appearance")
    assert words in caught.value.detail
    assert designer_text(caught.value.detail, "es") not in {None, caught.value.detail}


_SEARCH_PARTS = st.sampled_from(
    ["search(", ")", "(", "'fruits'", "'fruits.csv'", "'nope'", ", ", "'contains'", "'matches'",
     "'startswith'", "'endswith'", "'odd'", "'name_key'", "'name, region'", "'region'",
     "'south'", "${want}", "${nope}", "1 div 0", "'", '"', " ", "minimal", "concat('a', 'b')"]
)  # fmt: skip


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=st.lists(_SEARCH_PARTS, min_size=1, max_size=12), want=st.text(max_size=6))
def test_any_search_appearance_loads_and_runs_or_is_refused_at_its_cell(
    tmp_path_factory: Any, parts: list[str], want: str
) -> None:
    appearance = "".join(parts).replace("|", "/")
    refused: FormError | None = None
    try:
        loaded = _search_form(tmp_path_factory.mktemp("s"), appearance)
    except FormError as error:
        refused = error
    if refused is not None:  # at the question's row: its appearance, or the filter it makes
        assert (refused.row, refused.column) in {(3, "appearance"), (3, "choice_filter")}
        return
    session = Session.start(loaded, "en", {}, clock=lambda: NOW)
    session.set_answer("want", want or None)
    for choice in session.choices("fruit"):
        assert choice.name


@pytest.mark.parametrize(
    ("setting", "value", "why"),
    [
        ("style", "pages", "FieldScreen shows one page for each top-level question"),
        ("instance_name", "concat(${q}, '-', today())", "FieldScreen does not name a record"),
    ],
)
def test_a_setting_kobo_forms_carry_loads_with_a_warning_saying_it_is_not_used(
    setting: str, value: str, why: str
) -> None:
    md = f"""
    | survey |
    |        | type | name | label |
    |        | text | q    | Q     |
    | settings |
    |          | {setting} |
    |          | {value}   |
    """
    loaded = form(md)
    (found,) = [w for w in loaded.warnings if w.startswith(f"the setting '{setting}'")]
    assert f"is not used: {why}" in found
    spanish = designer_text(found, "es")
    assert spanish is not None and spanish.startswith(f"el ajuste '{setting}' no se usa: ")
    assert spanish != found
