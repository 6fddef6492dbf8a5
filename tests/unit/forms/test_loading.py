"""Loading: every supported type and column, translations, settings, and each kind of error."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fieldscreen.forms import FormError
from tests.unit.forms.helpers import form

ALL_TYPES = """
| survey |
|        | type                         | name   | label::English (en) | label::Español (es) | hint::English (en) | appearance | repeat_count | sensitivity | case_card | aggregate | parameters | calculation |
|        | text                         | alias  | Alias               | Alias               | A name             | multiline  |              | identifying | yes       |           |            |             |
|        | integer                      | age    | Age                 | Edad                |                    |            |              | low         | yes       | age_band  |            |             |
|        | decimal                      | weight | Weight              | Peso                |                    |            |              |             |           |           |            |             |
|        | date                         | dob    | Birth               | Nacimiento          |                    |            |              |             |           |           |            |             |
|        | datetime                     | seen   | Seen                | Visto               |                    |            |              |             |           |           |            |             |
|        | time                         | at     | At                  | A las               |                    |            |              |             |           |           |            |             |
|        | select_one yn                | alone  | Alone?              | ¿Solo?              |                    | horizontal |              |             |           |           |            |             |
|        | select_multiple need or_other| needs  | Needs               | Necesidades         |                    | minimal    |              |             |           |           | randomize=false |             |
|        | note                         | n      | Note                | Nota                |                    |            |              |             |           |           |            |             |
|        | calculate                    | c      |                     |                     |                    |            |              |             |           |           |            | ${age} * 2 |
|        | acknowledge                  | ok     | OK?                 | ¿OK?                |                    |            |              |             |           |           |            |             |
|        | hidden                       | ctx_site |                   |                     |                    |            |              | low         |           | site      |            |             |
|        | begin group                  | g      | Group               | Grupo               |                    | field-list |              |             |           |           |            |             |
|        | text                         | inner  | Inner               | Interior            |                    |            |              |             |           |           |            |             |
|        | end group                    |        |                     |                     |                    |            |              |             |           |           |            |             |
|        | begin repeat                 | kids   | Kids                | Niños               |                    |            |              |             |           |           |            |             |
|        | text                         | kid    | Kid                 | Niño                |                    |            |              |             |           |           |            |             |
|        | end repeat                   |        |                     |                     |                    |            |              |             |           |           |            |             |
|        | begin repeat                 | counted| Counted             | Contado             |                    |            | ${age}       |             |           |           |            |             |
|        | integer                      | x      | X                   | X                   |                    |            |              |             |           |           |            |             |
|        | end repeat                   |        |                     |                     |                    |            |              |             |           |           |            |             |
| choices |
|         | list_name | name | label::English (en) | label::Español (es) |
|         | yn        | yes  | Yes                 | Sí                  |
|         | yn        | no   | No                  | No                  |
|         | need      | food | Food                | Comida              |
| settings |
|          | form_id | version | form_title | default_language |
|          | fs_all  | 2026.1  | All types  | English (en)     |
"""


def test_every_supported_type_and_column_is_loaded() -> None:
    loaded = form(ALL_TYPES)
    assert (loaded.id, loaded.version, loaded.default_language) == ("fs_all", "2026.1", "en")
    assert loaded.languages == ("en", "es")
    kinds = {f.name: f.kind for f in loaded.walk()}
    assert kinds == {
        "alias": "text",
        "age": "integer",
        "weight": "decimal",
        "dob": "date",
        "seen": "datetime",
        "at": "time",
        "alone": "select_one",
        "needs": "select_multiple",
        "needs_other": "text",
        "n": "note",
        "c": "calculate",
        "ok": "acknowledge",
        "ctx_site": "hidden",
        "g": "group",
        "inner": "text",
        "kids": "repeat",
        "kid": "text",
        "counted": "repeat",
        "x": "integer",
    }
    alias = loaded.field("alias")
    assert alias.label.get("es") == "Alias" and alias.hint.get("es") == "A name"
    assert alias.sensitivity == "identifying" and alias.case_card
    assert loaded.field("age").aggregate == "age_band"
    assert loaded.field("weight").sensitivity == "sensitive"  # unmarked = sensitive
    assert [c.name for c in loaded.field("needs").choices] == ["food", "other"]
    assert loaded.field("needs").or_other and loaded.field("needs").parameters == {
        "randomize": "false"
    }
    assert loaded.field("alone").appearance == "horizontal"
    assert loaded.field("alone").choices[0].label.get("es") == "Sí"
    assert loaded.field("counted").repeat_count == "${age}"
    assert loaded.field("kid").repeats == ("kids",) and loaded.field("kid").parent == "kids"
    assert loaded.field("ctx_site").context_key == "site"
    assert [p.name for p in loaded.pages][:3] == ["alias", "age", "weight"]
    group_page = next(p for p in loaded.pages if p.group == "g")
    assert group_page.fields == ("inner",)


@pytest.mark.parametrize(
    ("md", "where", "words"),
    [
        pytest.param(
            """
            | survey |
            |        | type     | name | label | relevent |
            |        | text     | a    | A     | x        |
            """,
            "test.md:survey:1:relevent",
            "misspelling of 'relevant'",
            id="misspelt-column",
        ),
        pytest.param(
            """
            | survey |
            |        | type     | name | label |
            |        | background-audio | a | A |
            """,
            "test.md:survey:2:type",
            "'background-audio' is not supported; FieldScreen never records audio",
            id="unsupported-type",
        ),
        pytest.param(
            """
            | survey |
            |        | type     | name | label | relevant   |
            |        | integer  | a    | A     |            |
            |        | integer  | b    | B     | ${a} >     |
            """,
            "test.md:survey:3:relevant",
            "expected",
            id="syntax-error",
        ),
        pytest.param(
            """
            | survey |
            |        | type     | name | label | constraint |
            |        | integer  | a    | A     | . < ${nope} |
            """,
            "test.md:survey:2:constraint",
            "nope",
            id="unknown-reference",
        ),
        pytest.param(
            """
            | survey |
            |        | type      | name | label | calculation |
            |        | calculate | a    |       | ${b} + 1    |
            |        | calculate | b    |       | ${a} + 1    |
            """,
            "test.md:survey:2:calculation",
            "circle",
            id="cycle",
        ),
        pytest.param(
            """
            | survey |
            |        | type     | name | label | relevant |
            |        | integer  | a    | A     | ${a} > 1 |
            """,
            "test.md:survey:2:relevant",
            "circle",
            id="self-relevance",
        ),
        pytest.param(
            """
            | survey |
            |        | type     | name | label | calculation  |
            |        | calculate| a    |       | frobnicate(1) |
            """,
            "test.md:survey:2:calculation",
            "unknown function frobnicate()",
            id="unknown-function",
        ),
        pytest.param(
            """
            | survey |
            |        | type     | name | label | calculation  |
            |        | calculate| a    |       | concat()  + if(1, 2) |
            """,
            "test.md:survey:2:calculation",
            "if() takes 3 arguments",
            id="arity",
        ),
        pytest.param(
            """
            | survey |
            |        | type     | name | label | sensitivity |
            |        | text     | a    | A     | secret      |
            """,
            "test.md:survey:2:sensitivity",
            "sensitivity must be",
            id="bad-sensitivity",
        ),
        pytest.param(
            """
            | survey |
            |        | type     | name | label | aggregate |
            |        | text     | a    | A     | sex       |
            """,
            "test.md:survey:2:aggregate",
            "only fields marked sensitivity 'low'",
            id="aggregate-sensitive",
        ),
        pytest.param(
            """
            | survey |
            |        | type     | name | label | from_case |
            |        | text     | a    | A     | yes       |
            """,
            "test.md:survey:2:from_case",
            "only on hidden",
            id="from-case-not-hidden",
        ),
        pytest.param(
            """
            | survey |
            |        | type                         | name | label |
            |        | select_one_from_file nope.csv| a    | A     |
            """,
            "test.md:survey:2:type",
            "was not found",
            id="missing-list-file",
        ),
        pytest.param(
            """
            | survey |
            |        | type          | name | label |
            |        | select_one yn | a    | A     |
            | choices |
            |         | list_name | name | label |
            |         | other     | x    | X     |
            """,
            "test.md:survey:2",
            "yn",
            id="missing-choice-list",
        ),
        pytest.param(
            """
            | survey |
            |        | type     | name | label |
            |        | text     | a    | A     |
            | rules |
            |       | name | when     | tier |
            |       | R1   | ${a} = 1 | T9   |
            """,
            "test.md:rules:2:tier",
            "tier must be",
            id="bad-tier",
        ),
        pytest.param(
            """
            | survey |
            |        | type     | name | label |
            |        | text     | a    | A     |
            | rules |
            |       | name | when     |
            |       | R1   | ${b} = 1 |
            """,
            "test.md:rules:2:when",
            "${b} refers to no field",
            id="rule-unknown-reference",
        ),
        pytest.param(
            """
            | survey |
            |        | type     | name | label |
            |        | text     | a    | A     |
            | rules |
            |       | name | when     | deadlines |
            |       | R1   | ${a} = 1 | d9        |
            """,
            "test.md:rules:2:deadlines",
            "not on the deadlines sheet",
            id="rule-unknown-deadline",
        ),
        pytest.param(
            """
            | survey |
            |        | type     | name | label |
            |        | text     | a    | A     |
            | rules |
            |       | name | when     |
            |       | R1   | ${a} = 1 |
            |       | R1   | ${a} = 2 |
            """,
            "test.md:rules:3:name",
            "appears twice",
            id="rule-duplicate",
        ),
        pytest.param(
            """
            | survey |
            |        | type     | name | label |
            |        | text     | a    | A     |
            | deadlines |
            |           | name | jurisdiction | hours |
            |           | d1   | USA          | 24    |
            """,
            "test.md:deadlines:2:jurisdiction",
            "two-letter",
            id="deadline-jurisdiction",
        ),
        pytest.param(
            """
            | survey |
            |        | type     | name | label |
            |        | text     | a    | A     |
            | deadlines |
            |           | name | jurisdiction | hours |
            |           | d1   | US           | soon  |
            """,
            "test.md:deadlines:2:hours",
            "hours must be",
            id="deadline-hours",
        ),
        pytest.param(
            """
            | survey |
            |        | type     | name | label |
            |        | text     | a    | A     |
            | rules |
            |       | name | when     | colour |
            |       | R1   | ${a} = 1 | red    |
            """,
            "test.md:rules:1:colour",
            "not part of the rules sheet",
            id="rule-unknown-column",
        ),
    ],
)
def test_each_kind_of_mistake_names_file_sheet_row_and_column(
    md: str, where: str, words: str
) -> None:
    with pytest.raises(FormError) as caught:
        form(md)
    text = str(caught.value)
    assert text.startswith(where), text
    assert words in text, text
    assert "Traceback" not in text


def test_form_id_and_version_are_optional_as_in_pyxform() -> None:
    """pyxform takes the form id from the file's name and needs no version; a draft is then
    pinned to the file itself by its hash."""
    md = """
    | survey |
    |        | type | name | label |
    |        | text | a    | A     |
    """
    loaded = form(md, settings=False, name="household_visit.md")
    assert loaded.id == "household_visit"
    assert re.fullmatch(r"sha256-[0-9a-f]{16}", loaded.version)
    assert form(md, settings=False, name="household_visit.md").version == loaded.version
    changed = form(md.replace("| A     |", "| A2    |"), settings=False, name="household_visit.md")
    assert changed.version != loaded.version
    only_id = form(md + "| settings |\n|  | form_id |\n|  | fs_x |\n")
    assert only_id.id == "fs_x"
    assert only_id.version.startswith("sha256-")
    aliased = form(md + "| settings |\n|  | id_string | version |\n|  | fs_y | 7 |\n")
    assert (aliased.id, aliased.version) == ("fs_y", "7")


def test_settings_only_odk_servers_use_are_accepted_with_a_warning() -> None:
    md = """
    | survey |
    |        | type | name | label |
    |        | text | a    | A     |
    | settings |
    |          | form_id | version | public_key | submission_url  | allow_choice_duplicates |
    |          | fs_x    | 1       | abc        | https://x.org/s | yes                     |
    """
    loaded = form(md)
    assert any("public_key" in w and "seals" in w for w in loaded.warnings)
    assert any("submission_url" in w for w in loaded.warnings)
    md = md.replace("public_key", "defualt_language")
    with pytest.raises(FormError) as caught:
        form(md)
    assert str(caught.value).startswith("test.md:settings:1:defualt_language:")
    assert "misspelling of 'default_language'" in str(caught.value)


def test_a_name_again_in_another_group_loads_under_its_group_as_pyxform_allows() -> None:
    md = """
    | survey |
    |        | type        | name | label |
    |        | text        | a    | A     |
    |        | begin group | g    | G     |
    |        | text        | a    | A2    |
    |        | end group   |      |       |
    """
    loaded = form(md)
    assert list(loaded.fields) == ["a", "g", "g/a"]
    assert loaded.field("g/a").label.get("en") == "A2"


def test_pyxform_mistakes_keep_the_row() -> None:
    md = """
    | survey |
    |        | type        | name | label |
    |        | text        | a    | A     |
    |        | begin group | g    | G     |
    |        | text        | b    | B     |
    """
    with pytest.raises(FormError) as caught:
        form(md)
    assert str(caught.value).startswith("test.md:survey:")
    assert "group" in str(caught.value).lower()


def test_lists_from_files_beside_the_form_or_in_lists(tmp_path: Path) -> None:
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "countries.csv").write_text(
        "name,label::English (en),label::Español (es),region\nMX,Mexico,México,na\nGT,Guatemala,Guatemala,ca\n",
        encoding="utf-8",
    )
    md = """
    | survey |
    |        | type                                | name    | label | choice_filter |
    |        | select_one_from_file countries.csv | country | C     | region = 'ca' |
    """
    loaded = form(md, base=tmp_path)
    field = loaded.field("country")
    assert [c.name for c in field.choices] == ["MX", "GT"]
    assert field.choices[0].label.get("es") == "México"
    assert loaded.lists["countries"][1]["region"] == "ca"


def test_rule_codes_must_come_from_the_lists_beside_the_form(tmp_path: Path) -> None:
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "protection_concerns.csv").write_text(
        "name,label::English (en)\ntrafficking,Trafficking\n"
    )
    (tmp_path / "lists" / "service_types.csv").write_text(
        "name,label::English (en),recipient\nlegal_aid,Legal aid,legal\n"
    )
    md = """
    | survey |
    |        | type    | name | label |
    |        | integer | a    | A     |
    | rules |
    |       | name | when     | concerns    | referrals |
    |       | R1   | ${a} > 1 | trafficking | legal_aid |
    |       | R2   | ${a} > 2 | traficking  | legal_aid |
    """
    with pytest.raises(FormError) as caught:
        form(md, base=tmp_path)
    assert str(caught.value).startswith("test.md:rules:3:concerns:")
    assert "'traficking'" in str(caught.value)
    fixed = form(md.replace("traficking ", "trafficking"), base=tmp_path)
    assert [r.concerns for r in fixed.rules] == [("trafficking",), ("trafficking",)]


@pytest.mark.parametrize(
    ("cell", "column", "words"),
    [
        ("//data/a = 1", "relevant", "not supported"),
        ("last() > 1", "relevant", "last() is not supported"),
        ("instance('nolist')/root/item", "relevant", "names no choice list"),
        ("${g} = 1", "relevant", "is a group"),
        ("regex(${a}, '[0-9')", "relevant", "regex pattern is not valid"),
        ("regex(${a}, '^(a+)+$')", "relevant", "freeze"),
    ],
)
def test_unsupported_expressions_are_load_errors(cell: str, column: str, words: str) -> None:
    md = f"""
    | survey |
    |        | type        | name | label | relevant |
    |        | begin group | g    | G     |          |
    |        | integer     | a    | A     |          |
    |        | end group   |      |       |          |
    |        | integer     | b    | B     | {cell} |
    """
    with pytest.raises(FormError) as caught:
        form(md)
    assert str(caught.value).startswith(f"test.md:survey:5:{column}:")
    assert words in str(caught.value)


def test_case_card_takes_yes_or_blank() -> None:
    md = """
    | survey |
    |        | type | name | label | case_card |
    |        | text | a    | A     | maybe     |
    """
    with pytest.raises(FormError) as caught:
        form(md)
    assert str(caught.value).startswith("test.md:survey:2:case_card:")


def test_missing_files_and_other_types_say_what_to_do(tmp_path: Path) -> None:
    from fieldscreen.forms import load_form

    with pytest.raises(FormError) as caught:
        load_form(tmp_path / "nope.xlsx")
    assert "does not exist" in str(caught.value)
    other = tmp_path / "form.ods"
    other.write_text("x")
    with pytest.raises(FormError) as caught:
        load_form(other)
    assert ".xlsx, .xls and .md" in str(caught.value)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK not really a workbook")
    with pytest.raises(FormError) as caught:
        load_form(broken)
    assert str(caught.value).startswith(f"{broken}:")


def test_errors_in_a_workbook_name_the_sheet_row_and_column(tmp_path: Path) -> None:
    from fieldscreen.forms import load_form
    from fieldscreen.forms.convert import convert

    source = tmp_path / "f.md"
    source.write_text(
        "| survey |\n|  | type | name | label | relevant |\n|  | integer | a | A | |\n"
        "|  | integer | b | B | ${a} >> 1 |\n| settings |\n|  | form_id | version |\n|  | f | 1 |\n"
    )
    book = tmp_path / "f.xlsx"
    convert(source, book)
    with pytest.raises(FormError) as caught:
        load_form(book)
    assert str(caught.value).startswith(f"{book}:survey:3:relevant:")
    assert "corrija el formulario" in caught.value.message("es")


def test_languages_come_from_translated_columns_only_and_titles_keep_every_language() -> None:
    md = """
    | survey |
    |        | type          | name | label | label::Español (es) |
    |        | select_one yn | b    | B     | B-es                |
    | choices |
    |         | list_name | name | label | label::Español (es) | media::image |
    |         | yn        | yes  | Yes   | Sí                  | y.png        |
    | settings |
    |          | form_id | version | form_title | form_title::Español (es) |
    |          | fs_t    | 1       | Title      | Título                   |
    """
    loaded = form(md)
    assert loaded.languages == ("en", "es")
    assert dict(loaded.title) == {"en": "Title", "es": "Título"}
    assert loaded.field("b").label.get("es") == "B-es"
    assert loaded.field("b").label.get("fr") == "B"


def test_a_misspelled_or_unsupported_sheet_is_refused() -> None:
    md = """
    | survey |
    |        | type | name | label |
    |        | text | a    | A     |
    | rule |
    |      | name | when     |
    |      | R1   | ${a} = 1 |
    """
    with pytest.raises(FormError) as caught:
        form(md)
    assert str(caught.value).startswith("test.md:rule::")
    assert "misspelling of 'rules'" in str(caught.value)
    # Other sheets are ignored, as pyxform ignores them, with a warning.
    loaded = form(md.replace("| rule |", "| changelog |"))
    assert any("'changelog' is ignored" in w for w in loaded.warnings)
    with pytest.raises(FormError) as caught:
        form(md.replace("| rule |", "| entities |"))
    assert "On the 'entities' sheet" in str(caught.value)  # pyxform's own check of its columns


def test_load_form_looks_for_list_files_in_the_folder_it_is_given_first(tmp_path: Path) -> None:
    from fieldscreen.forms import load_form

    (tmp_path / "form.md").write_text(
        "| survey |\n| | type | name | label |\n| | select_one_from_file sites.csv | s | Site |\n",
        encoding="utf-8",
    )
    (tmp_path / "sites.csv").write_text("name,label\nbeside,Beside\n", encoding="utf-8")
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "sites.csv").write_text("name,label\nshared,Shared\n", encoding="utf-8")
    assert [c.name for c in load_form(tmp_path / "form.md").field("s").choices] == ["beside"]
    given = load_form(tmp_path / "form.md", lists=shared)
    assert [c.name for c in given.field("s").choices] == ["shared"]


@pytest.mark.parametrize("kind", ["group", "repeat"])
def test_a_constraint_on_a_group_or_repeat_is_refused_at_its_cell(kind: str) -> None:
    md = f"""
    | survey |
    |        | type         | name | label | constraint |
    |        | begin {kind} | g    | G     | . > 1      |
    |        | integer      | n    | N     |            |
    |        | end {kind}   |      |       |            |
    """
    with pytest.raises(FormError) as caught:
        form(md)
    assert (caught.value.row, caught.value.column) == (2, "constraint")
    assert f"the {kind} 'g' has none; put it on a question inside" in caught.value.detail
