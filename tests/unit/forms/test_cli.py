"""``fieldscreen forms validate | preview | run | convert``, and the lossless converter."""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent

import pytest

from fieldscreen.cli import main
from fieldscreen.forms import FormError, load_form
from fieldscreen.forms.convert import convert
from fieldscreen.forms.sheets import read_sheets

FORM = dedent(
    """
    | survey |
    |        | type          | name      | label::English (en) | label::Español (es) | relevant         | constraint | sensitivity | case_card |
    |        | integer       | age       | Age                 | Edad                |                  | . < 25     | low         | yes       |
    |        | select_one yn | alone     | Alone?              | ¿Solo?              | ${age} < 18      |            |             |           |
    |        | begin repeat  | sib       | Siblings            | Hermanos            |                  |            |             |           |
    |        | text          | sname     | Name \\| alias      | Nombre              |                  |            | identifying |           |
    |        | end repeat    |           |                     |                     |                  |            |             |           |
    |        | hidden        | ctx_site  |                     |                     |                  |            | low         |           |
    |        | note          | today_is  | Today               | Hoy                 |                  |            |             |           |
    | choices |
    |         | list_name | name | label::English (en) | label::Español (es) |
    |         | yn        | yes  | Yes                 | Sí                  |
    |         | yn        | no   | No                  | No                  |
    | settings |
    |          | form_id | version | form_title | default_language |
    |          | fs_cli  | 3       | CLI form   | English (en)     |
    | rules |
    |       | name        | when                           | tier | concerns       | deadlines | message::English (en) | message::Español (es) |
    |       | T0_ALONE    | ${alone} = 'yes' and ${age} < 12 | T0 | separated_child | now_24    | Act now               | Actúe ahora           |
    | deadlines |
    |           | name   | jurisdiction | hours | label::English (en) | label::Español (es) | basis |
    |           | now_24 | US           | 24    | Notify              | Notifique           | TVPA  |
    """
)


@pytest.fixture
def form_file(tmp_path: Path) -> Path:
    path = tmp_path / "fs_cli.md"
    path.write_text(FORM, encoding="utf-8")
    return path


def test_validate_ok_and_errors_as_file_sheet_row_column(
    form_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["forms", "validate", str(form_file)]) == 0
    assert "fs_cli version 3" in capsys.readouterr().out
    broken = tmp_path / "broken.md"
    broken.write_text(
        form_file.read_text().replace("${age} < 18", "${agee} < 18"), encoding="utf-8"
    )
    assert main(["forms", "validate", str(form_file), str(broken)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"{broken}:survey:3:relevant:")
    assert "Traceback" not in err[0]


def test_run_prints_one_json_object_a_designer_can_diff(
    form_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"age": 10, "alone": "yes", "sib": [{"sname": "Ana"}]}))
    code = main(
        ["forms", "run", str(form_file), "--answers", str(answers), "--json",
         "--jurisdiction", "US", "--context", "site=north", "--lang", "es"]
    )  # fmt: skip
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["form"] == {"id": "fs_cli", "version": "3"}
    assert result["values"] == {
        "age": 10,
        "alone": "yes",
        "sib": [{"sname": "Ana"}],
        "ctx_site": "north",
    }
    assert result["relevant"]["alone"] is True
    assert result["errors"] == []
    assert result["flags"] == ["T0_ALONE"]
    assert result["tier"] == "T0"
    assert result["concerns"] == ["separated_child"]
    assert result["deadlines"][0]["label"] == "Notifique"
    assert result["messages"] == [{"rule": "T0_ALONE", "text": "Actúe ahora"}]


def test_run_reports_answer_problems_as_errors_and_bad_files_in_one_line(
    form_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"age": 30}))
    assert main(["forms", "run", str(form_file), "--answers", str(answers), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["errors"] == [
        {"field": "age", "kind": "constraint", "message": "This answer is not valid."}
    ]
    answers.write_text(json.dumps({"agee": 3}))
    assert main(["forms", "run", str(form_file), "--answers", str(answers), "--json"]) == 1
    assert "'agee'" in capsys.readouterr().err
    answers.write_text("{not json")
    assert main(["forms", "run", str(form_file), "--answers", str(answers)]) == 1
    err = capsys.readouterr().err
    assert "cannot be read" in err
    assert len(err.strip().splitlines()) == 1
    answers.write_text(json.dumps({"age": "old", "alone": "maybe"}))
    assert main(["forms", "run", str(form_file), "--answers", str(answers), "--json"]) == 0
    kinds = [(e["field"], e["kind"]) for e in json.loads(capsys.readouterr().out)["errors"]]
    assert kinds == [("age", "type"), ("alone", "type")]


def test_preview_shows_logic_and_rules_in_either_language(
    form_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["forms", "preview", str(form_file), "--lang", "es"]) == 0
    out = capsys.readouterr().out
    assert "select_one alone: ¿Solo?" in out
    assert "relevant: ${age} < 18" in out
    assert "  text sname: Nombre" in out
    assert "T0_ALONE T0 (actuar ya): cuando ${alone} = 'yes'" in out
    assert "message: Actúe ahora" in out
    assert "now_24 [US] 24 h: Notifique" in out
    # the words the preview adds are Spanish; the workbook's own names and columns as written
    assert "versión" in out.splitlines()[0] and " version " not in out
    assert "\nreglas:\n" in out and "\nrules:\n" not in out and " when " not in out
    assert "plazos (los que nombran las reglas):" in out and "deadlines (those" not in out
    assert main(["forms", "preview", str(form_file), "--lang", "Español (es)"]) == 0
    assert capsys.readouterr().out == out
    assert main(["forms", "preview", str(form_file), "--lang", "en"]) == 0
    english = capsys.readouterr().out
    assert "T0_ALONE T0 (act now): when ${alone} = 'yes'" in english
    assert "\nrules:\n" in english and " version " in english.splitlines()[0]


def test_convert_round_trips_md_and_xlsx_losslessly(form_file: Path, tmp_path: Path) -> None:
    xlsx = tmp_path / "fs_cli.xlsx"
    back = tmp_path / "back.md"
    again = tmp_path / "again.xlsx"
    assert main(["forms", "convert", str(form_file), str(xlsx)]) == 0
    convert(xlsx, back)
    convert(back, again)
    original = read_sheets(form_file)

    def cells(sheets: dict[str, list[list[str | None]]]) -> dict[str, list[list[str]]]:
        return {
            name: [r for r in ([c or "" for c in row] for row in rows) if any(r)]
            for name, rows in sheets.items()
        }

    def trimmed(sheets: dict[str, list[list[str]]]) -> dict[str, list[list[str]]]:
        out = {}
        for name, rows in sheets.items():
            width = max((i + 1 for row in rows for i, c in enumerate(row) if c), default=0)
            out[name] = [(row + [""] * width)[:width] for row in rows]
        return out

    assert trimmed(cells(read_sheets(xlsx))) == trimmed(cells(original))
    assert trimmed(cells(read_sheets(back))) == trimmed(cells(original))
    assert trimmed(cells(read_sheets(again))) == trimmed(cells(original))
    fixed = tmp_path / "fixed.md"
    convert(again, fixed)
    assert fixed.read_text(encoding="utf-8") == back.read_text(encoding="utf-8")
    a, b = load_form(form_file), load_form(xlsx)
    assert list(a.fields.values()) == list(b.fields.values())
    assert a.rules == b.rules
    assert a.deadlines == b.deadlines
    assert b.field("sname").label.get("en") == "Name | alias"


def test_convert_refuses_other_file_types(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "form.csv"
    source.write_text("x")
    assert main(["forms", "convert", str(source), str(tmp_path / "out.md")]) == 1
    assert "between .md and .xlsx" in capsys.readouterr().err


def test_the_built_in_library_loads_what_ships(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fieldscreen.forms import library

    (tmp_path / "lists").mkdir()
    (tmp_path / "fs_cli.md").write_text(FORM, encoding="utf-8")
    (tmp_path / "lists" / "risk_tiers.csv").write_text(
        "name,label::English (en),follow_up_every_days\nT0,Act now,1\n"
    )
    monkeypatch.setattr(library, "BUILTIN_DIR", tmp_path)
    library.builtin_forms.cache_clear()
    library.builtin_list.cache_clear()
    try:
        assert list(library.builtin_forms()) == ["fs_cli"]
        assert library.builtin_form("fs_cli").version == "3"
        assert library.builtin_list("risk_tiers")[0].extra["follow_up_every_days"] == "1"
        with pytest.raises(FormError):
            library.builtin_form("fs_nothing")
        with pytest.raises(FormError):
            library.builtin_list("nothing")
        (tmp_path / "lists" / "service_types.csv").write_text(
            "name,label::English (en),recipient\nlegal_aid,Legal aid,legal\n"
        )
        from fieldscreen.forms import Session

        s = Session.start(library.builtin_form("fs_cli"), "en", {"jurisdiction": "US"})
        s.set_answer("age", 10)
        s.set_answer("alone", "yes")
        case = library.combine_builtin([s.risk()], consent={"share_legal": "no"})
        assert case.tier == "T0"
        assert case.follow_up.every_days == 1
    finally:
        library.builtin_forms.cache_clear()
        library.builtin_list.cache_clear()


def test_validate_json_lists_every_file(
    form_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.md"
    broken.write_text(
        form_file.read_text().replace("| T0   |", "| T9   |").replace("| T0 |", "| T9 |"),
        encoding="utf-8",
    )
    assert main(["forms", "validate", "--json", str(form_file), str(broken)]) == 1
    results = json.loads(capsys.readouterr().out)
    assert results[0] == {
        "file": str(form_file),
        "ok": True,
        "id": "fs_cli",
        "version": "3",
        "fields": 6,
        "rules": 1,
        "warnings": [],
    }
    assert results[1]["ok"] is False
    assert results[1]["error"].startswith(f"{broken}:rules:2:tier:")


def test_forms_commands_have_help() -> None:
    for action in ("validate", "preview", "run", "convert"):
        with pytest.raises(SystemExit) as caught:
            main(["forms", action, "--help"])
        assert caught.value.code == 0


def test_a_workbook_made_in_a_spreadsheet_keeps_numbers_as_written(tmp_path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    survey = book.active
    assert survey is not None
    survey.title = "survey"
    survey.append(["type", "name", "label", "default", "constraint"])
    survey.append(["decimal", "w", "Weight", 1.5, ". < 200"])
    survey.append(["integer", "n", "Count", 3, None])
    settings = book.create_sheet("settings")
    settings.append(["form_id", "version"])
    settings.append(["fs_x", 2026032801])
    source = tmp_path / "made.xlsx"
    book.save(source)
    out = tmp_path / "made.md"
    convert(source, out)
    text = out.read_text(encoding="utf-8")
    assert "| 2026032801 |" in text
    assert "| 1.5 " in text
    assert "| 3 " in text
    loaded = load_form(out)
    assert loaded.version == "2026032801"
    assert load_form(source).version == "2026032801"


@pytest.mark.parametrize("command", ["preview", "run"])
def test_lang_help_says_it_takes_the_workbooks_own_language_names(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["forms", command, "--help"])
    assert stopped.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "as the workbook names it" in text
    assert "language (en, es)" not in text


@pytest.mark.parametrize(
    ("lang", "audit", "gps"),
    [
        ("en", "warning: the audit question 'audit' is loaded and not used: FieldScreen records",
         "warning: the geopoint question 'place' is typed in: the laptop has no GPS"),
        ("es", "aviso: la pregunta audit 'audit' se carga y no se usa: FieldScreen registra",
         "aviso: la pregunta geopoint 'place' se escribe: la computadora no tiene GPS"),
    ],
)  # fmt: skip
def test_validate_shows_the_audit_and_no_gps_warnings_in_the_designers_language(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], lang: str, audit: str, gps: str
) -> None:
    path = tmp_path / "kobo.md"
    path.write_text(
        "| survey |\n| | type | name | label |\n| | audit | audit | |\n"
        "| | geopoint | place | Where |\n",
        encoding="utf-8",
    )
    assert main(["--lang", lang, "forms", "validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"{path}: {audit}" in out
    assert f"{path}: {gps}" in out


def _kobo_workbook(folder: Path) -> Path:
    """A workbook as Kobo's form builder saves one: its metadata questions, legacy
    ``label:English`` headers, Kobo's ``$kuid`` column, no form_id and no version; a list file
    beside it for select_one_from_file and pulldata()."""
    from openpyxl import Workbook

    book = Workbook()
    survey = book.active
    assert survey is not None
    survey.title = "survey"
    header = ["type", "name", "label:English", "label:Español", "required", "parameters",
              "calculation", "$kuid"]  # fmt: skip
    rows = [
        ["start", "start"], ["end", "end"], ["today", "today"], ["deviceid", "deviceid"],
        ["username", "username"], ["audit", "audit"],
        ["integer", "age", "Age", "Edad", "true"],
        ["geopoint", "place", "Where", "Dónde", "", "capture-accuracy=5 warning-accuracy=20"],
        ["image", "doc_photo", "Photo of the document", "Foto del documento"],
        ["select_one_from_file villages.csv", "village", "Village", "Pueblo", "true"],
        ["calculate", "population", "", "", "", "",
         "pulldata('villages', 'population', 'name', ${village})"],
        ["select_one colours", "colour", "Colour", "Color", "", "randomize=true"],
        ["range", "wellbeing", "How do you feel?", "¿Cómo te sientes?", "", "start=0 end=10"],
        ["rank needs", "needs", "Rank the needs", "Ordena las necesidades"],
    ]  # fmt: skip
    survey.append(header)
    for number, row in enumerate(rows):
        survey.append([*row, *[""] * (len(header) - 1 - len(row)), f"k{number}"])
    choices = book.create_sheet("choices")
    choices.append(["list_name", "name", "label:English", "label:Español"])
    for row in [
        ["colours", "red", "Red", "Rojo"],
        ["colours", "blue", "Blue", "Azul"],
        ["needs", "food", "Food", "Comida"],
        ["needs", "shelter", "Shelter", "Refugio"],
    ]:
        choices.append(row)  # fmt: skip
    settings = book.create_sheet("settings")
    settings.append(["form_title", "default_language"])
    settings.append(["Kobo intake", "English"])
    path = folder / "kobo_intake.xlsx"
    book.save(path)
    (folder / "villages.csv").write_text(
        "name,label,population\nsan_marcos,San Marcos,1200\ntecun,Tecún Umán,3400\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("lang", ["en", "es"])
def test_a_kobo_style_workbook_validates_and_runs_as_a_new_user_would(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], lang: str
) -> None:
    workbook = _kobo_workbook(tmp_path)
    assert main(["--lang", lang, "forms", "validate", str(workbook)]) == 0
    out = capsys.readouterr().out
    ok = {"en": "ok (kobo_intake version", "es": "correcto (kobo_intake versión"}[lang]
    assert f"kobo_intake.xlsx: {ok} sha256-" in out
    shown = {
        "en": ("'$kuid' is ignored", "capture-accuracy on 'place'", "audit question"),
        "es": ("'$kuid' se ignora", "capture-accuracy en 'place'", "pregunta audit"),
    }
    assert all(text in out for text in shown[lang]), out  # fmt: skip
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "passport of Ana.jpg").write_bytes(b"\xff\xd8 not a real jpeg")
    answers = tmp_path / "answers.json"
    answers.write_text(
        json.dumps({"age": 15, "place": "14.6349 -90.5069 1500 35",
                    "doc_photo": "photos/passport of Ana.jpg", "village": "tecun",
                    "colour": "blue", "wellbeing": 7, "needs": "shelter food"}),
        encoding="utf-8",
    )  # fmt: skip
    command = ["forms", "run", str(workbook), "--answers", str(answers), "--lang", lang,
               "--now", "2026-03-15T10:00Z", "--context", "device=lap-7",
               "--context", "staff=ana", "--json"]  # fmt: skip
    assert main(command) == 0
    result = json.loads(capsys.readouterr().out)
    values = result["values"]
    assert (values["start"], values["today"]) == ("2026-03-15T10:00:00+00:00", "2026-03-15")
    assert (values["deviceid"], values["username"]) == ("lap-7", "ana")
    assert values["population"] == "3400" and values["needs"] == ["shelter", "food"]
    assert values["doc_photo"].startswith("doc_photo-") and values["doc_photo"].endswith(".jpg")
    assert "Ana" not in values["doc_photo"]  # the original name is not kept
    ((field, kind, message),) = [(e["field"], e["kind"], e["message"]) for e in result["errors"]]
    assert (field, kind) == ("place", "constraint")
    expected = {"en": "must be 20 m or better", "es": "debe ser de 20 m o mejor"}
    assert expected[lang] in message
    answers.write_text(json.dumps({"doc_photo": "photos/missing.jpg"}), encoding="utf-8")
    assert main(command) == 0
    errors = json.loads(capsys.readouterr().out)["errors"]
    photo = next(e for e in errors if e["field"] == "doc_photo")
    assert photo["kind"] == "type"
    assert ("the path of a file" if lang == "en" else "la ruta de un archivo") in photo["message"]


#: What the plain text of validate and run says, by the user's language.
_PLAIN = {
    "en": ("ok (kobo_intake version", ": warning: ", "tier: T4 (no current risk)", "error: "),
    "es": ("correcto (kobo_intake versión", ": aviso: ", "nivel: T4 (sin riesgo actual)",
           "error: place (constraint): Escriba la latitud"),
}  # fmt: skip


@pytest.mark.parametrize("lang", sorted(_PLAIN))
def test_the_plain_text_of_validate_and_run_is_in_the_users_language(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], lang: str
) -> None:
    ok, warning, tier, error = _PLAIN[lang]
    workbook = _kobo_workbook(tmp_path)
    assert main(["--lang", lang, "forms", "validate", str(workbook)]) == 0
    out = capsys.readouterr().out
    assert ok in out and warning in out
    assert (" fields, " if lang == "en" else " campos, ") in out
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"place": "1 2 3 400"}), encoding="utf-8")
    assert main(["forms", "run", str(workbook), "--answers", str(answers), "--lang", lang]) == 0
    out = capsys.readouterr().out
    assert tier in out and error in out
    assert ("referrals: -" if lang == "en" else "derivaciones: -") in out


def test_run_attaches_an_openstreetmap_file_and_refuses_another_file_by_its_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workbook = tmp_path / "place.md"
    workbook.write_text(
        dedent(
            """
            | survey |
            |        | type              | name     | label    |
            |        | osm building_tags | building | Building |
            | osm    |
            |        | list_name     | name | label |
            |        | building_tags | name | Name  |
            """
        ),
        encoding="utf-8",
    )
    (tmp_path / "shelter.osm").write_bytes(
        b"<osm version='0.6'><node id='-1' lat='14.6' lon='-90.5'>"
        b"<tag k='name' v='Albergue'/></node></osm>"
    )
    (tmp_path / "shelter.gpx").write_bytes(b"<gpx><wpt lat='14.6' lon='-90.5'/></gpx>")
    answers = tmp_path / "answers.json"
    command = ["forms", "run", str(workbook), "--answers", str(answers), "--lang", "es",
               "--now", "2026-03-15T10:00Z", "--json"]  # fmt: skip
    answers.write_text(json.dumps({"building": "shelter.osm"}), encoding="utf-8")
    assert main(command) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["values"]["building"].endswith(".osm") and result["errors"] == []
    answers.write_text(json.dumps({"building": "shelter.gpx"}), encoding="utf-8")
    assert main(command) == 0
    (error,) = json.loads(capsys.readouterr().out)["errors"]
    assert (error["field"], error["kind"]) == ("building", "type")
    assert "archivo de OpenStreetMap (.osm)" in error["message"]
