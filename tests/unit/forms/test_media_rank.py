"""Media questions (image, audio, video, file) keep an attached file with the session's state;
rank questions keep the choice names in the order given."""

from __future__ import annotations

import base64

import pytest

from fieldscreen.errors import KnownError
from fieldscreen.forms import FormError, Session
from fieldscreen.forms.attachments import (
    MAX_FILE_BYTES,
    MAX_TOTAL_BYTES,
    Attachment,
    AttachmentError,
    is_safe_name,
)
from fieldscreen.forms.errors import AnswerError
from tests.unit.forms.helpers import NOW, form

MD = """
| survey |
|        | type           | name    | label                 | calculation                   |
|        | image          | doc     | Photo of the document |                               |
|        | file           | consent | Signed consent        |                               |
|        | audio          | voice   | Voice                 |                               |
|        | video          | clip    | Clip                  |                               |
|        | photo          | pic     | Picture               |                               |
|        | rank fruit     | order   | Put them in order     |                               |
|        | calculate      | first   |                       | selected-at(${order}, 0)      |
| choices |
|         | list_name | name | label |
|         | fruit     | a    | A     |
|         | fruit     | b    | B     |
|         | fruit     | c    | C     |
"""


def _session() -> Session:
    loaded = form(MD)
    return Session.start(loaded, "en", clock=lambda: NOW)


def test_media_and_rank_questions_load_with_their_kinds() -> None:
    loaded = form(MD)
    kinds = {name: f.kind for name, f in loaded.fields.items()}
    assert kinds == {
        "doc": "image",
        "consent": "file",
        "voice": "audio",
        "clip": "video",
        "pic": "image",
        "order": "rank",
        "first": "calculate",
    }
    assert [c.name for c in loaded.field("order").choices] == ["a", "b", "c"]


def test_rank_keeps_the_order_given_and_refuses_unknown_or_repeated_choices() -> None:
    session = _session()
    session.set_answer("order", "c a b")
    assert session.value("order") == ("c", "a", "b")
    assert session.value("first") == "c"  # expressions see the space-separated names
    session.set_answer("order", ["b", "c", "a"])
    assert session.value("order") == ("b", "c", "a")
    for bad in ("a a b", "a z", ["a", 1]):
        with pytest.raises(AnswerError) as raised:
            session.set_answer("order", bad)
        assert "en orden" in raised.value.message("es")
    restored = Session.restore(session.form, session.to_state())
    assert restored.value("order") == ("b", "c", "a")


def test_an_attachment_is_kept_by_a_safe_name_and_travels_with_the_state() -> None:
    session = _session()
    data = b"\xff\xd8 CANARY-photo of a passport"
    session.set_answer("doc", Attachment("Passport of Juan Pérez.JPG", data))
    name = session.value("doc")
    assert is_safe_name(name) and name.startswith("doc-") and name.endswith(".jpg")
    assert "Juan" not in name  # the original name may name the child
    state = session.to_state()
    assert base64.b64decode(state["attachments"][name]) == data
    restored = Session.restore(session.form, state)
    assert restored.value("doc") == name and restored.attachments == {name: data}
    assert restored.values_json()["doc"] == name  # the answer is the file name, as ODK's
    # replaced or cleared: the old file is not kept
    session.set_answer("doc", Attachment("other.png", b"second"))
    assert list(session.to_state()["attachments"]) == [session.value("doc")]
    session.set_answer("doc", None)
    assert "attachments" not in session.to_state() and session.attachments == {}


def test_a_media_answer_must_be_an_attached_file() -> None:
    session = _session()
    for bad in ("photo.jpg", "../../etc/passwd", 5):
        with pytest.raises(AnswerError) as raised:
            session.set_answer("doc", bad)
        assert "Elegir archivo" in raised.value.message("es")


def test_files_beyond_the_limits_are_refused_in_both_languages() -> None:
    session = _session()
    with pytest.raises(AttachmentError) as raised:
        session.set_answer("doc", Attachment("big.jpg", b"x" * (MAX_FILE_BYTES + 1)))
    assert "2.0 MB" in raised.value.message("en") and "como máximo" in raised.value.message("es")
    assert session.value("doc") is None
    half = MAX_TOTAL_BYTES // 2 + 1
    session.set_answer("doc", Attachment("a.jpg", b"a" * half))
    with pytest.raises(AttachmentError):
        session.set_answer("consent", Attachment("b.pdf", b"b" * half))
    with pytest.raises(AttachmentError):  # the screening's other forms count too
        session.set_answer("consent", Attachment("b.pdf", b"b" * 10), held_elsewhere=half)
    session.set_answer("doc", Attachment("a2.jpg", b"c" * half))  # replacing is not adding
    assert session.attached_bytes() == half


def test_a_state_with_tampered_attachments_is_refused_not_crashed() -> None:
    session = _session()
    session.set_answer("doc", Attachment("a.jpg", b"data"))
    state = session.to_state()
    name = session.value("doc")
    variants = [
        {**state, "attachments": {"../x.jpg": "ZGF0YQ=="}},
        {**state, "attachments": {name: "not base64!"}},
        {**state, "attachments": {}},  # the answer names a file the state lacks
        {**state, "attachments": [1, 2]},
        {**state, "attachments": {name: "A" * ((MAX_TOTAL_BYTES // 3 + 4) * 4)}},
    ]
    refused = 0
    for variant in variants:
        with pytest.raises(KnownError) as raised:
            Session.restore(session.form, variant)
        refused += raised.value.code == "form-state-invalid"
    print(f"\ntampered attachment states: {len(variants)}, refused {refused}, accepted 0")
    assert refused == len(variants)


def test_a_photo_s_max_pixels_loads_with_a_warning() -> None:
    md = """
    | survey |
    |        | type  | name | label | parameters      |
    |        | image | doc  | Photo | max-pixels=1024 |
    """
    loaded = form(md)
    assert loaded.field("doc").kind == "image"
    assert dict(loaded.field("doc").parameters) == {"max-pixels": "1024"}
    assert "max-pixels on 'doc' is not applied" in " ".join(loaded.warnings)


def test_a_default_file_on_a_media_question_is_refused_by_name_in_both_languages() -> None:
    md = "| survey |\n| | type | name | label | default |\n| | image | photo | Photo | a.jpg |\n"
    with pytest.raises(FormError) as caught:
        form(md)
    assert str(caught.value).startswith("test.md:survey:2:default:")
    assert "a default file on the image question 'photo' is not supported" in str(caught.value)
    assert "un archivo por defecto en la pregunta image 'photo' no está admitido" in (
        caught.value.message("es")
    )


OSM_MD = """
| survey |
|        | type              | name     | label    | label::Español (es) | hint                 |
|        | osm building_tags | building | Building | Edificio            | Where the child sleeps |
|        | osm               | road     | Road     | Calle               |                      |
| osm    |
|        | list_name     | name      | label | label::Español (es) |
|        | building_tags | name      | Name  | Nombre              |
|        | building_tags | addr:city | City  | Ciudad              |
"""
#: An OpenStreetMap file as JOSM saves a place drawn offline (a node with its tags).
OSM_FILE = (
    b"<?xml version='1.0' encoding='UTF-8'?>\n"
    b"<osm version='0.6' generator='JOSM'>\n"
    b"  <node id='-1' action='modify' lat='14.6349' lon='-90.5069'>\n"
    b"    <tag k='name' v='Albergue'/><tag k='addr:city' v='Tecun Uman'/>\n"
    b"  </node>\n"
    b"</osm>\n"
)


def test_an_osm_question_is_a_file_question_whose_hint_lists_its_tags() -> None:
    loaded = form(OSM_MD)
    building, road = loaded.field("building"), loaded.field("road")
    assert (building.kind, building.accept, road.kind, road.accept) == (
        "file",
        "osm",
        "file",
        "osm",
    )
    assert building.hint.get("en") == (
        "Where the child sleeps Attach the place as an OpenStreetMap file (.osm), as JOSM or "
        "OpenMapKit saves one, with these tags: Name (name), City (addr:city)."
    )
    assert building.hint.get("es").endswith(
        "con estas etiquetas: Nombre (name), Ciudad (addr:city)."
    )
    assert road.hint.get("es") == (
        "Adjunte el lugar como un archivo de OpenStreetMap (.osm), como lo guardan JOSM u "
        "OpenMapKit."
    )
    assert any(
        "the osm question 'building' takes an OpenStreetMap file" in w for w in loaded.warnings
    )
    assert not any("sheet" in w for w in loaded.warnings)  # the osm sheet is read, not ignored


def test_an_osm_answer_is_an_encrypted_attachment_that_must_be_an_osm_file() -> None:
    session = Session.start(form(OSM_MD), "es", clock=lambda: NOW)
    session.set_answer("building", Attachment("albergue.osm", OSM_FILE))
    name = session.value("building")
    assert name.startswith("building-") and name.endswith(".osm")
    assert session.attached() == {name: OSM_FILE}
    restored = Session.restore(session.form, session.to_state())
    assert restored.attachments == {name: OSM_FILE}
    not_osm = [
        Attachment("albergue.txt", OSM_FILE),  # not named .osm
        Attachment("a.osm", b"<osm version='0.6'/>"),  # nothing drawn
        Attachment("a.osm", b"<gpx><wpt lat='1' lon='2'/></gpx>"),  # another format
        Attachment("a.osm", b"lat 14.6 lon -90.5"),  # not XML
        Attachment("a.osm", b"<!DOCTYPE osm [<!ENTITY e 'x'>]><osm><node>&e;</node></osm>"),
    ]
    for attachment in not_osm:
        with pytest.raises(AnswerError) as caught:
            session.set_answer("road", attachment)
        assert "archivo de OpenStreetMap (.osm)" in caught.value.message("es")
        assert "an OpenStreetMap file (.osm)" in caught.value.message("en")
    assert session.value("road") is None and session.value("building") == name
