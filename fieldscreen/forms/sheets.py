"""Reading a form's sheets and lookup lists as plain rows of text.

Markdown forms go through pyxform's own Markdown reader (``md_table_to_workbook``) and then, like
``.xlsx`` forms, through openpyxl, so both kinds are read by one path, every sheet included
(pyxform's dictionaries drop the ``rules`` and ``deadlines`` sheets).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from datetime import datetime, time
from pathlib import Path
from types import MappingProxyType
from typing import Any

from fieldscreen.forms.errors import FormError
from fieldscreen.forms.model import Choice, Texts, language_key

__all__ = [
    "EMPTY_ROWS_END",
    "find_list",
    "language_code",
    "pyxform_definition",
    "read_list",
    "read_sheets",
    "read_table",
    "records",
    "texts",
]


def language_code(name: str, default: str = "en") -> str:
    """``English (en)`` -> ``en``; ``default`` -> the form's default language."""
    if name == "default":
        return default
    return language_key(name)


def texts(value: Any, default: str) -> Texts:
    if value is None or value == "":
        return Texts(default=default)
    if isinstance(value, Mapping):
        return Texts({language_code(k, default): str(v) for k, v in value.items()}, default)
    return Texts({default: str(value)}, default)


# ----------------------------------------------------------------------------- sheets

#: A run of this many empty rows ends a sheet, as it does for pyxform (which stops reading a
#: survey, choices or settings sheet after 60 empty rows in a row); the rows after such a run
#: are not part of the form, and formatted but empty rows down to row 1,048,576 are never read.
EMPTY_ROWS_END = 60


def read_sheets(path: Path, shown: str = "") -> dict[str, list[list[str | None]]]:
    """Every sheet of an ``.xlsx`` or ``.md`` form as rows of cells (first row = header)."""
    import openpyxl

    try:
        if path.suffix.lower() == ".md":
            tables = _markdown_tables(path.read_text(encoding="utf-8"))
            if tables is not None:
                return tables
            from pyxform.xls2json_backends import md_table_to_workbook

            buffer = io.BytesIO()
            md_table_to_workbook(path.read_text(encoding="utf-8")).save(buffer)
            buffer.seek(0)
            book = openpyxl.load_workbook(buffer, read_only=True, data_only=True)
        elif path.suffix.lower() in {".xlsx", ".xlsm"}:
            # From the file's bytes, not its path: openpyxl leaves the file it opened open
            # when a damaged workbook stops it part way through loading.
            book = openpyxl.load_workbook(
                io.BytesIO(path.read_bytes()), read_only=True, data_only=True
            )
        elif path.suffix.lower() == ".xls":
            return _xls_sheets(path)
        else:
            raise FormError("only .xlsx, .xls and .md forms are supported", file=shown or str(path))
        # Read-only workbooks parse each sheet's XML as its rows are read: a damaged sheet
        # inside a sound zip fails here, not at load, so it is read inside the same guard.
        sheets: dict[str, list[list[str | None]]] = {}
        try:
            for sheet in book.worksheets:
                sheets[sheet.title] = _rows(sheet)
        finally:
            book.close()
    except FormError:
        raise
    except Exception as error:
        raise FormError(
            f"the file cannot be read as a form ({type(error).__name__}); check that it is "
            "an .xlsx workbook or pyxform Markdown tables",
            file=shown or str(path),
        ) from None
    return sheets


def _xls_sheets(path: Path) -> dict[str, list[list[str | None]]]:
    """The sheets of an Excel 97-2003 ``.xls`` workbook (read with xlrd, as pyxform does).

    Like the ``.xlsx`` reader, it is bounded by the cells that hold something: a row's blank
    but formatted cells (up to 256 of them, on every one of 65,536 rows) are cut off before any
    of them is looked at one by one.
    """
    import xlrd  # type: ignore[import-untyped]

    empty = bytes([xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK])
    book = xlrd.open_workbook(str(path), on_demand=True)
    try:
        sheets: dict[str, list[list[str | None]]] = {}
        for sheet in book.sheets():
            rows: list[list[str | None]] = []
            pending = 0
            for number in range(sheet.nrows):
                width = len(bytes(sheet.row_types(number)).rstrip(empty))
                cells = [
                    _xls_cell(ctype, value, book.datemode)
                    for ctype, value in zip(
                        sheet.row_types(number, 0, width),
                        sheet.row_values(number, 0, width),
                        strict=True,
                    )
                ]
                while cells and cells[-1] is None:
                    cells.pop()
                if not cells:
                    pending += 1
                    if pending > EMPTY_ROWS_END:
                        break
                    continue
                rows.extend([] for _ in range(pending))
                pending = 0
                rows.append(cells)
            sheets[sheet.name] = rows
        return sheets
    finally:
        book.release_resources()


def _xls_cell(ctype: int, value: Any, datemode: int) -> str | None:
    import xlrd

    if ctype == xlrd.XL_CELL_BOOLEAN:
        return "TRUE" if value else "FALSE"
    if ctype == xlrd.XL_CELL_DATE:
        try:
            parts = xlrd.xldate_as_tuple(value, datemode)
        except (xlrd.xldate.XLDateError, ValueError, OverflowError):
            return _cell(value)
        if parts[:3] == (0, 0, 0):
            return time(*parts[3:]).isoformat()
        return datetime(*parts).isoformat(sep=" ")
    if ctype in {xlrd.XL_CELL_ERROR, xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK}:
        return None
    return _cell(value.replace("\xa0", " ") if isinstance(value, str) else value)


def _rows(sheet: Any) -> list[list[str | None]]:
    """A sheet's rows up to the last one that holds a value, each up to its last value.

    The declared dimension is not trusted: LibreOffice writes ``A1:AMJ1048576`` with formatted
    but empty rows near the last row, and padding every row to it would mean ~10^9 cells. With
    the dimension reset, openpyxl yields only the rows the file has (an empty tuple for a gap),
    and rows without a value after the last real one are never kept.
    """
    if hasattr(sheet, "reset_dimensions"):
        sheet.reset_dimensions()
    rows: list[list[str | None]] = []
    pending = 0  # empty rows seen since the last row with a value
    for raw in sheet.iter_rows(values_only=True):
        cells = [_cell(c) for c in raw] if raw else []
        while cells and cells[-1] is None:
            cells.pop()
        if not cells:
            pending += 1
            if pending > EMPTY_ROWS_END:
                break
            continue
        rows.extend([] for _ in range(pending))
        pending = 0
        rows.append(cells)
    return rows


def _markdown_tables(text: str) -> dict[str, list[list[str | None]]] | None:
    """The sheets of a Markdown form as pyxform's own Markdown reader splits them.

    pyxform's public route is a workbook (``md_table_to_workbook``); writing it out and reading
    it back costs most of a form's load time, and openpyxl would take a cell starting with ``=``
    for a formula. The table reader under it gives the same rows directly; if a pyxform release
    no longer has it, the caller falls back to the workbook.
    """
    try:
        from pyxform.xls2json_backends import _md_table_to_ss_structure
    except ImportError:  # pragma: no cover - depends on the pyxform release
        return None
    sheets: dict[str, list[list[str | None]]] = {}
    for name, rows in _md_table_to_ss_structure(text).items():
        if name:
            sheets[str(name)] = [[_cell(c) for c in row] for row in rows]
    return sheets


def _cell(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):  # as pyxform and the .xls reader write a logical cell
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    return text if text.strip() else None


def pyxform_definition(
    sheets: Mapping[str, list[list[str | None]]], markdown: bool, stem: str
) -> Any:
    """The sheets as read here, in the form pyxform's ``workbook_to_json`` takes them.

    pyxform would otherwise read the file a second time (for a large workbook, as long as
    everything else a load does). Its reading rules are followed as they are: for workbooks,
    the headers up to a run of empty columns (a repeated header refused in its words), the rows
    under them up to a run of empty rows, each cell stripped and a no-break space made a space;
    for Markdown, its table rows under the first row. The sheets pyxform does not know are left
    out, except a lone sheet, which it takes for the survey.
    """
    from pyxform import constants
    from pyxform.xls2json_backends import (
        DefinitionData,
        get_excel_column_headers,
        get_excel_rows,
    )

    book: dict[str, Any] = {"sheet_names": list(sheets)}
    for name, rows in sheets.items():
        low = name.lower()
        if low not in constants.SUPPORTED_SHEET_NAMES:
            if len(sheets) != 1:
                continue
            low = constants.SURVEY
        if markdown:
            header = rows[0] if rows else []
            book[low] = [
                {header[i]: v for i, v in enumerate(row) if v not in {None, ""}} for row in rows[1:]
            ]
            book[f"{low}_header"] = [{str(h): None for h in header}] if header else []
            continue
        headers = get_excel_column_headers(rows[0] if rows else [])
        book[low] = get_excel_rows(headers, ([_Cell(c) for c in row] for row in rows[1:]), _clean)
        named = [h for h in headers if h is not None]
        book[f"{low}_header"] = [dict.fromkeys(named)] if named else []
    return DefinitionData(fallback_form_name=stem, **book)


class _Cell:
    """A cell as pyxform's row reader looks at it (its ``value``)."""

    __slots__ = ("value",)

    def __init__(self, value: str | None) -> None:
        self.value = value


def _clean(cell: _Cell, row: int, column: str) -> str | None:
    text = (cell.value or "").strip()
    return text.replace("\xa0", " ") if text else None


def records(
    rows: list[list[str | None]],
) -> Iterator[tuple[int, dict[str, str]]]:
    """(sheet row number, {column: value}) for each non-empty row under the header."""
    if not rows:
        return
    header = [(h or "").strip() for h in rows[0]]
    for number, row in enumerate(rows[1:], start=2):
        record = {
            header[i]: cell.strip()
            for i, cell in enumerate(row)
            if i < len(header) and header[i] and cell is not None and cell.strip()
        }
        if record:
            yield number, record


# ----------------------------------------------------------------------------- lists


def find_list(form_path: Path, file_name: str) -> Path | None:
    """A ``*_from_file`` list: beside the form, or in ``lists/`` next to it."""
    for candidate in (form_path.parent / file_name, form_path.parent / "lists" / file_name):
        if candidate.is_file():
            return candidate
    return None


#: The largest CSV a form may ship beside it (lists, pulldata() tables), read at load time.
MAX_LIST_BYTES = 8 * 1024 * 1024
MAX_LIST_ROWS = 100_000


def _csv_text(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_LIST_BYTES:
            raise FormError(
                f"the list file is {size // (1024 * 1024)} MiB; a list beside a form may be at "
                f"most {MAX_LIST_BYTES // (1024 * 1024)} MiB (split it, or keep only the rows "
                "the form needs)",
                file=str(path),
            )
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise FormError(
            f"the list cannot be read ({type(error).__name__})", file=str(path)
        ) from None


def _bounded(reader: csv.DictReader[str], path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        for number, row in enumerate(reader, start=2):
            if number > MAX_LIST_ROWS + 1:
                raise FormError(
                    f"the list file has more than {MAX_LIST_ROWS} rows; keep only the rows "
                    "the form needs",
                    file=str(path),
                    sheet="csv",
                    row=number,
                )
            yield number, {k: v for k, v in row.items() if isinstance(k, str)}
    except csv.Error as error:
        raise FormError(
            f"the list file is not valid CSV ({error})", file=str(path), sheet="csv"
        ) from None


def _xml_rows(path: Path) -> list[dict[str, str]]:
    """The items of an XML list as ODK reads one (``<root><item><name>..</name><label>..
    </label></item>...</root>``): each item's child elements as ``{tag: text}``. A file that
    declares a DOCTYPE is refused, so that no entity is ever expanded."""
    from xml.etree import ElementTree

    text = _csv_text(path)
    if "<!DOCTYPE" in text.upper() or "<!ENTITY" in text.upper():
        raise FormError(
            "the XML list declares a DOCTYPE or entities, which a list does not need; remove them",
            file=str(path),
            sheet="xml",
        )
    try:
        root = ElementTree.fromstring(text)  # noqa: S314 -- no DOCTYPE, so no entity to expand
    except ElementTree.ParseError as error:
        raise FormError(f"the XML list is not valid XML ({error})", file=str(path)) from None
    rows = []
    for number, item in enumerate(root.iter("item"), start=2):
        if number > MAX_LIST_ROWS + 1:
            raise FormError(
                f"the list file has more than {MAX_LIST_ROWS} rows; keep only the rows "
                "the form needs",
                file=str(path),
                sheet="xml",
            )
        rows.append({child.tag: (child.text or "") for child in item})
    return rows


def _geojson_rows(path: Path) -> list[dict[str, str]]:
    """The features of a GeoJSON list as ODK reads one: ``name`` from the feature's ``id``,
    ``label`` from its ``title``, its other properties as columns, and ``geometry`` as ODK
    writes a point, ``lat lon [alt]`` (lines and shapes as points separated by ``;``)."""
    import json

    try:
        document = json.loads(_csv_text(path))
        features = document["features"] if isinstance(document, dict) else None
        if not isinstance(features, list):
            raise ValueError
    except (ValueError, KeyError):
        raise FormError(
            "the GeoJSON list is not a FeatureCollection; export it again as GeoJSON",
            file=str(path),
        ) from None
    if len(features) > MAX_LIST_ROWS:
        raise FormError(
            f"the list file has more than {MAX_LIST_ROWS} rows; keep only the rows the form needs",
            file=str(path),
            sheet="geojson",
        )
    rows = []
    for feature in features:
        if not isinstance(feature, dict):
            continue
        given = feature.get("properties")
        props: dict[str, Any] = given if isinstance(given, dict) else {}
        row = {str(k): "" if v is None else str(v) for k, v in props.items()}
        if feature.get("id") is not None:
            row.setdefault("id", str(feature["id"]))
        row["name"] = row.get("id", "")
        row["label"] = row.pop("title", row.get("label", ""))
        row["geometry"] = _odk_geometry(feature.get("geometry"))
        rows.append(row)
    return rows


def _odk_geometry(geometry: Any) -> str:
    """A GeoJSON geometry as ODK keeps one: ``lat lon [alt]``, points separated by ``;``."""
    if not isinstance(geometry, dict):
        return ""
    coordinates: Any = geometry.get("coordinates")
    kind = geometry.get("type")
    if kind == "Point":
        coordinates = [coordinates]
    elif kind == "Polygon" and isinstance(coordinates, list) and coordinates:
        coordinates = coordinates[0]
    elif kind != "LineString":
        return ""
    points = []
    for point in coordinates if isinstance(coordinates, list) else []:
        if isinstance(point, list) and len(point) >= 2:
            lon, lat, *rest = point
            points.append(" ".join(str(v) for v in (lat, lon, *rest[:1])))
    return "; ".join(points)


def _records(path: Path) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """A list file's columns and numbered rows: a CSV file, an XML list or a GeoJSON one."""
    if path.suffix.lower() in {".xml", ".geojson"}:
        rows = _xml_rows(path) if path.suffix.lower() == ".xml" else _geojson_rows(path)
        columns = sorted({key for row in rows for key in row})
        return columns, iter(enumerate(rows, start=2))
    reader = csv.DictReader(io.StringIO(_csv_text(path)))
    return list(reader.fieldnames or ()), _bounded(reader, path)


def read_table(path: Path) -> tuple[Mapping[str, str], ...]:
    """A CSV (or XML) table for ``pulldata()`` and external instances: its rows as
    ``{column: text}``, any columns."""
    columns, rows = _records(path)
    if not columns:
        raise FormError("the table file has no header row", file=str(path), sheet="csv", row=1)
    return tuple(
        MappingProxyType({k.strip(): (v or "").strip() for k, v in row.items()}) for _, row in rows
    )


def read_list(
    path: Path, default: str = "en", *, value: str = "name", label: str = "label"
) -> tuple[Choice, ...]:
    """A CSV (or XML, GeoJSON) lookup list: ``name``, ``label::Language (xx)`` columns, and
    extra columns. ``value`` and ``label`` name other columns for the choice's name and label,
    as a select's ``parameters: value=COLUMN, label=COLUMN`` does in ODK."""
    columns, rows = _records(path)
    if value not in columns:
        detail = (
            "a list file needs a 'name' column"
            if value == "name"
            else f"the list file has no column {value!r}, which the question's value= names"
        )
        raise FormError(detail, file=str(path), sheet="csv", row=1)
    if label != "label" and not any(c == label or c.startswith(f"{label}::") for c in columns):
        raise FormError(
            f"the list file has no column {label!r}, which the question's label= names",
            file=str(path),
            sheet="csv",
            row=1,
        )
    choices = []
    seen: set[str] = set()
    for number, row in rows:
        name = (row.get(value) or "").strip()
        if not name:
            continue
        if name in seen:
            raise FormError(
                f"the name {name!r} appears twice; give each row its own name",
                file=str(path),
                sheet="csv",
                row=number,
                column=value,
            )
        seen.add(name)
        labels = {}
        extra = {}
        for key, text in row.items():
            if key == "name" == value:
                continue
            if key == label or key.startswith(f"{label}::"):
                lang = default if key == label else language_code(key.split("::", 1)[1])
                labels[lang] = (text or "").strip()
            else:
                extra[key] = (text or "").strip()
        choices.append(Choice(name, Texts(labels, default), MappingProxyType(extra)))
    return tuple(choices)
