"""Forms organisations already have: pyxform's rules decide what loads, and what cannot be
honoured offline is refused by name, with the cell and what to do -- never skipped.

Each feature has a small form written here; the public corpus (pyxform's example workbooks)
runs in ``test_corpus.py`` when ``FIELDSCREEN_FORMS_CORPUS`` names a folder of them.
"""

from __future__ import annotations

from typing import Any

import pytest

from fieldscreen.forms import FormError, Session
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
        ("| audit | audit | | | | |", "type", "audit trail"),
        ("| select_one yn | q | Q | randomize=true | | |", "parameters", "randomize"),
        ("| select_one yn | q | Q | | search('fruits') | |", "appearance", "search()"),
        ("| calculate | c | | | | pulldata('f', 'a', 'b', 'c') |", "calculation", "pulldata()"),
        ("| text | t | T | | | ${last-saved#t} |", "calculation", "last-saved"),
        ("| image | photo | Photo | | | |", "type", "photos"),
        (
            "| begin loop over yn | l | L | | | |\n    |        | end loop | | | | | |",
            "type",
            "loops",
        ),
        ("| select_one_external yn | e | E | | | |", "type", "select_one_from_file"),
        ("| geotrace | g | G | | | |", "type", "GPS"),
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
