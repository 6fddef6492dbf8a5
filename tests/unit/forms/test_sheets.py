"""Markdown forms are read with pyxform's own table reader: the same rows as pyxform's workbook
route, without its cost or its formula surprise."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pytest
from pyxform.xls2json_backends import md_table_to_workbook

from fieldscreen.forms.sheets import _cell, read_sheets
from tests.content.scenarios import BUILTIN


def _via_workbook(text: str) -> dict[str, list[tuple[str | None, ...]]]:
    buffer = io.BytesIO()
    md_table_to_workbook(text).save(buffer)
    buffer.seek(0)
    book = openpyxl.load_workbook(buffer, read_only=True, data_only=True)
    return {
        s.title: _trim([[_cell(c) for c in r] for r in s.iter_rows(values_only=True)])
        for s in book.worksheets
    }


def _trim(rows: list[list[str | None]]) -> list[tuple[str | None, ...]]:
    out = []
    for row in rows:
        width = max((i + 1 for i, c in enumerate(row) if c is not None), default=0)
        out.append(tuple(row[:width]))
    return out


def test_the_largest_builtin_form_reads_the_same_as_through_a_workbook() -> None:
    path = BUILTIN / "fs_intake.md"
    direct = {k: _trim(v) for k, v in read_sheets(path).items()}
    assert direct == _via_workbook(path.read_text(encoding="utf-8"))


def test_escaped_pipes_blank_cells_and_a_leading_equals_sign_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "f.md"
    path.write_text(
        "| survey |\n"
        "|        | type | name | label      | hint |\n"
        "|        | note | n    | a \\| b     |      |\n"
        "|        | note | m    | =2+2 is 4  |  x   |\n",
        encoding="utf-8",
    )
    sheets = read_sheets(path)
    assert sheets["survey"][1] == ["note", "n", "a | b", None]
    assert sheets["survey"][2] == ["note", "m", "=2+2 is 4", "x"]


def test_a_workbook_whose_sheet_is_damaged_inside_a_sound_zip_is_a_form_error(
    tmp_path: Path,
) -> None:
    """A read-only workbook opens without parsing its sheets; a sheet cut short (a copy that
    stopped halfway, a USB stick pulled) fails only when its rows are read. That must be the
    same clear form error as any unreadable file, not a crash of the form import."""
    import zipfile

    from fieldscreen.forms.errors import FormError

    good = tmp_path / "good.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "survey"
    for index in range(200):
        sheet.append(["text", f"q{index}", f"Question {index}"])
    book.save(good)
    bad = tmp_path / "bad.xlsx"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(bad, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            if name == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]
            target.writestr(name, data)
    assert read_sheets(good)["survey"][199] == ["text", "q199", "Question 199"]
    with pytest.raises(FormError, match="cannot be read as a form") as caught:
        read_sheets(bad, shown="bad.xlsx")
    assert "bad.xlsx" in str(caught.value)


def test_pyxform_is_given_the_sheets_as_read_here_exactly_as_it_would_read_them(
    tmp_path: Path,
) -> None:
    """A form is read once: pyxform gets the sheets this reader read. For every workbook and
    Markdown form of the committed corpus, what it gets equals what it would read itself."""
    import json
    import warnings

    from pyxform.xls2json_backends import get_xlsform

    from fieldscreen.forms.sheets import pyxform_definition

    corpus = Path(__file__).parent / "data" / "pyxform"
    paths = [p for p in sorted(corpus.rglob("*")) if p.suffix.lower() in {".xlsx", ".xls", ".md"}]
    for entry in json.loads((corpus / "tables.json").read_text(encoding="utf-8"))["forms"][::7]:
        paths.append(tmp_path / f"t{len(paths)}.md")
        paths[-1].write_text(entry["md"], encoding="utf-8")
    differ = []
    for path in paths:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl's, about extensions it drops
            ours = pyxform_definition(read_sheets(path), path.suffix.lower() == ".md", path.stem)
            theirs = get_xlsform(str(path))
        if ours != theirs:
            differ.append(path.name)
    assert len(paths) > 150 and differ == []


def test_a_run_of_empty_rows_ends_a_sheet_as_it_does_for_pyxform(tmp_path: Path) -> None:
    from fieldscreen.forms.sheets import EMPTY_ROWS_END

    path = tmp_path / "gap.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "survey"
    sheet.append(["type", "name", "label"])
    sheet.append(["text", "kept", "Kept"])
    for _ in range(EMPTY_ROWS_END):
        sheet.append([None, None, None])
    sheet.append(["text", "after_a_short_gap", "Kept"])
    for _ in range(EMPTY_ROWS_END + 1):
        sheet.append([None, None, None])
    sheet.append(["text", "after_a_long_gap", "Not read"])
    sheet.append([True, False])
    book.save(path)
    rows = read_sheets(path)["survey"]
    assert rows[-1] == ["text", "after_a_short_gap", "Kept"]
    assert len(rows) == 2 + EMPTY_ROWS_END + 1
