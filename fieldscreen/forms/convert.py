"""Converting a form between ``.xlsx`` and pyxform's Markdown tables, losslessly.

Both directions go through the same reader (:func:`fieldscreen.forms.sheets.read_sheets`), so
every sheet, including ``rules`` and ``deadlines``, every column and every cell survives a round
trip; cells are kept as text. Markdown tables are written with aligned columns so that a form
reviews well in a diff.
"""

from __future__ import annotations

from pathlib import Path

from fieldscreen.forms.errors import FormError
from fieldscreen.forms.sheets import read_sheets

__all__ = ["convert", "sheets_to_markdown", "sheets_to_xlsx"]

Sheets = dict[str, list[list[str | None]]]


def _trim(rows: list[list[str | None]]) -> list[list[str]]:
    width = 0
    for row in rows:
        for i, cell in enumerate(row):
            if cell is not None and cell != "":
                width = max(width, i + 1)
    out = [[(c or "") for c in row[:width]] + [""] * (width - len(row[:width])) for row in rows]
    return [row for row in out if any(row)]


def _escape(cell: str) -> str:
    return cell.replace("\n", " ").replace("|", "\\|")


def sheets_to_markdown(sheets: Sheets) -> str:
    """The sheets as pyxform Markdown tables (first column: the sheet name)."""
    lines: list[str] = []
    for name, raw in sheets.items():
        rows = [[_escape(c) for c in row] for row in _trim(raw)]
        if not rows:
            continue
        width = len(rows[0])
        widths = [max(len(row[i]) for row in rows) for i in range(width)]
        pad = max(len(name), 1)
        lines.append(f"| {name.ljust(pad)} |")
        for row in rows:
            cells = " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row))
            lines.append(f"| {' ' * pad} | {cells} |")
    return "\n".join(lines) + "\n"


def sheets_to_xlsx(sheets: Sheets, out: Path) -> None:
    """Write the sheets to an ``.xlsx`` workbook, every cell as text."""
    import openpyxl

    book = openpyxl.Workbook()
    for default_sheet in list(book.worksheets):
        book.remove(default_sheet)
    for name, raw in sheets.items():
        sheet = book.create_sheet(title=name)
        for row in _trim(raw):
            sheet.append([cell if cell != "" else None for cell in row])
            for cell in sheet[sheet.max_row]:
                cell.number_format = "@"
    book.save(out)


def convert(source: Path, target: Path) -> None:
    """``.md`` -> ``.xlsx`` or ``.xlsx`` -> ``.md``, chosen by the file suffixes."""
    kinds = (source.suffix.lower(), target.suffix.lower())
    if kinds not in {(".md", ".xlsx"), (".xlsx", ".md"), (".md", ".md"), (".xlsx", ".xlsx")}:
        raise FormError(
            "convert goes between .md and .xlsx; name the files with those endings",
            file=str(source),
        )
    if not source.is_file():
        raise FormError("the file does not exist; check the path", file=str(source))
    sheets = read_sheets(source)
    if target.suffix.lower() == ".md":
        target.write_text(sheets_to_markdown(sheets), encoding="utf-8")
    else:
        sheets_to_xlsx(sheets, target)
