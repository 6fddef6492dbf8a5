"""Loading an XLSForm (``.xlsx`` or pyxform's Markdown tables) into the immutable model.

pyxform reads the spreadsheet and checks it (types, names, groups, choices, translations); this
module turns pyxform's JSON into :class:`~fieldscreen.forms.model.Form`, reads the ``rules`` and
``deadlines`` sheets that pyxform ignores, loads ``*_from_file`` lists, refuses what the engine
does not support and compiles every expression (:mod:`fieldscreen.forms.program`). Every mistake
is a :class:`FormError` naming ``FILE:sheet:row:column``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from fieldscreen.forms.errors import FormError
from fieldscreen.forms.model import (
    SENSITIVITIES,
    Choice,
    Field,
    Form,
    Page,
    Title,
)
from fieldscreen.forms.program import build_program
from fieldscreen.forms.rule_sheets import RuleSheets
from fieldscreen.forms.sheets import (
    find_list,
    language_code,
    read_list,
    read_sheets,
    records,
    texts,
)

__all__ = ["find_list", "load_form", "load_form_text", "read_list", "read_sheets"]

_JSON_KINDS = {
    "text": "text",
    "integer": "integer",
    "int": "integer",
    "decimal": "decimal",
    "date": "date",
    "dateTime": "datetime",
    "datetime": "datetime",
    "time": "time",
    "select one": "select_one",
    "select all that apply": "select_multiple",
    "note": "note",
    "calculate": "calculate",
    "acknowledge": "acknowledge",
    "trigger": "acknowledge",
    "hidden": "hidden",
    "group": "group",
    "repeat": "repeat",
}
_TRANSLATED = {"label", "hint", "required_message", "constraint_message"}
_PLAIN_COLUMNS = {
    "type",
    "name",
    "label",
    "hint",
    "required",
    "required_message",
    "relevant",
    "constraint",
    "constraint_message",
    "calculation",
    "default",
    "read_only",
    "choice_filter",
    "appearance",
    "parameters",
    "repeat_count",
    "sensitivity",
    "case_card",
    "aggregate",
    "from_case",
}
_SHEETS = {"survey", "choices", "settings", "rules", "deadlines"}
_SETTINGS = {
    "form_id",
    "version",
    "form_title",
    "default_language",
    "style",
    "instance_name",
    "deadlines_file",
}
#: Settings columns that take a language suffix. ``translated_title::Español (es)`` is ours:
#: pyxform cannot turn a form with ``form_title::LANG`` into an XForm, so the one ``form_title``
#: stays for ODK tools and the translations go where pyxform does not look.
_TITLE_COLUMNS = {"form_title", "translated_title"}
_AGGREGATES = {"tier", "concern", "age_band", "sex", "nationality", "site", "week"}
_COLUMN_IN_MESSAGE = re.compile(r"the '([\w:() ]+)' (?:value|column)")
_ROW_IN_MESSAGE = re.compile(r"\[row\s*:\s*(\d+)\]|row\s+(\d+)", re.IGNORECASE)


# ----------------------------------------------------------------------------- load


def load_form(path: str | Path) -> Form:
    """Load and check the form at ``path`` (``.xlsx`` or ``.md``)."""
    path = Path(path)
    if not path.is_file():
        raise FormError("the file does not exist; check the path", file=str(path))
    return _Loader(path).load()


def load_form_text(markdown: str, name: str = "form.md", base: Path | None = None) -> Form:
    """Load a form written as pyxform Markdown tables (used by tests and previews).

    ``base`` is the folder where ``*_from_file`` lists are looked for (it is only read).
    """
    import tempfile

    with tempfile.TemporaryDirectory(prefix="fieldscreen-form-") as tmp:
        path = Path(tmp) / name
        path.write_text(markdown, encoding="utf-8")
        return _Loader(path, list_dir=base, shown_name=name).load()


class _Loader(RuleSheets):
    def __init__(self, path: Path, list_dir: Path | None = None, shown_name: str = "") -> None:
        self.path = path
        self.file = shown_name or str(path)
        self.list_dir = list_dir
        self.rows: dict[str, int] = {}
        self.raw: dict[str, dict[str, str]] = {}

    def error(
        self, detail: str, row: int | None = None, column: str = "", sheet: str = "survey"
    ) -> FormError:
        return FormError(detail, file=self.file, sheet=sheet, row=row, column=column)

    def load(self) -> Form:
        from pyxform.errors import PyXFormError
        from pyxform.xls2json import workbook_to_json
        from pyxform.xls2json_backends import get_xlsform

        sheets = read_sheets(self.path, self.file)
        lower = {name.lower(): rows for name, rows in sheets.items()}
        if "survey" not in lower:
            raise self.error("the form has no 'survey' sheet; add one", sheet="survey")
        for sheet in sheets:
            if sheet.lower() not in _SHEETS:
                raise self.error(
                    f"the sheet {sheet!r} is not supported; the sheets are "
                    f"{', '.join(sorted(_SHEETS))} (check the spelling)",
                    sheet=sheet,
                )
        self.check_survey_columns(lower["survey"])
        settings = self.settings(lower.get("settings", []))
        warnings: list[str] = []
        try:
            workbook = get_xlsform(str(self.path))
            data = workbook_to_json(
                workbook,
                form_name=settings["form_id"],
                default_language=settings["default_language_name"],
                warnings=warnings,
            )
        except PyXFormError as error:
            raise self.pyxform_error(str(error)) from None
        except Exception as error:
            raise self.error(
                f"the form could not be read ({type(error).__name__}); check the survey sheet"
            ) from None
        default = settings["default_language"]
        fields: dict[str, Field] = {}
        top = self.children(
            data.get("children", []), fields, parent="", repeats=(), default=default
        )
        languages = self.languages(sheets, default)
        lists = self.lists(data, fields, default)
        rules = self.rules(lower.get("rules", []), default)
        deadlines = self.deadlines(lower.get("deadlines", []), default)
        if settings["deadlines_file"]:
            deadlines = self.shared_deadlines(settings["deadlines_file"], deadlines, default)
        self.check_rules(rules, deadlines)
        pages = self.pages(top, fields)
        frozen_fields = MappingProxyType(fields)
        program = build_program(frozen_fields, rules, lists, self.file)
        return Form(
            id=settings["form_id"],
            version=settings["version"],
            title=Title({default: settings["form_title"], **settings["form_title_texts"]}, default),
            default_language=default,
            languages=languages,
            fields=frozen_fields,
            top=top,
            pages=pages,
            rules=rules,
            deadlines=deadlines,
            lists=MappingProxyType(lists),
            source=self.file,
            program=program,
            warnings=tuple(" ".join(w.split()) for w in warnings),
        )

    def pyxform_error(self, message: str) -> FormError:
        match = _ROW_IN_MESSAGE.search(message)
        row = int(match.group(1) or match.group(2)) if match else None
        column_match = _COLUMN_IN_MESSAGE.search(message)
        column = column_match.group(1) if column_match else ""
        detail = " ".join(_ROW_IN_MESSAGE.sub("", message, count=1).split())
        return self.error(detail, row=row, column=column)

    def check_survey_columns(self, rows: list[list[str | None]]) -> None:
        if not rows:
            raise self.error("the survey sheet is empty; add a header row and questions", row=1)
        header = [(h or "").strip() for h in rows[0]]
        for column in header:
            if not column:
                continue
            base = column.split("::", 1)[0]
            if "::" in column and base in _TRANSLATED:
                continue
            if column in _PLAIN_COLUMNS:
                continue
            raise self.error(
                f"the column {column!r} is not supported; remove it or rename it to one of the "
                "columns listed in docs/forms.md",
                row=1,
                column=column,
            )
        for number, record in records(rows):
            name = record.get("name", "")
            if name and name not in self.rows:
                self.rows[name] = number
                self.raw[name] = record

    def settings(self, rows: list[list[str | None]]) -> dict[str, Any]:
        found = list(records(rows))
        values: dict[str, str] = found[0][1] if found else {}
        header = [(h or "").strip() for h in rows[0]] if rows else []
        for column in header:
            base = column.split("::", 1)[0]
            if column and column not in _SETTINGS and base not in _TITLE_COLUMNS:
                raise self.error(
                    f"the setting {column!r} is not supported; remove the column",
                    row=1,
                    column=column,
                    sheet="settings",
                )
        for needed in ("form_id", "version"):
            if not values.get(needed):
                raise self.error(
                    f"the settings sheet needs a {needed!r}; add the column and a value",
                    row=2,
                    column=needed,
                    sheet="settings",
                )
        lang_name = values.get("default_language", "English (en)")
        default = language_code(lang_name)
        titles = {
            language_code(k.split("::", 1)[1], default): v
            for k, v in values.items()
            if "::" in k and k.split("::", 1)[0] in _TITLE_COLUMNS
        }
        return {
            "form_id": values["form_id"],
            "version": values["version"],
            "form_title": values.get("form_title", values["form_id"]),
            "form_title_texts": titles,
            "default_language": default,
            "default_language_name": lang_name,
            "deadlines_file": values.get("deadlines_file", ""),
        }

    def languages(
        self, sheets: Mapping[str, list[list[str | None]]], default: str
    ) -> tuple[str, ...]:
        found = [default]
        for rows in sheets.values():
            if not rows:
                continue
            for column in rows[0]:
                base = (column or "").split("::", 1)[0].strip()
                if column and "::" in column and base in _TRANSLATED | {"message"} | _TITLE_COLUMNS:
                    code = language_code(column.split("::", 1)[1], default)
                    if code not in found:
                        found.append(code)
        return tuple(found)

    def children(
        self,
        items: list[dict[str, Any]],
        fields: dict[str, Field],
        parent: str,
        repeats: tuple[str, ...],
        default: str,
    ) -> tuple[str, ...]:
        names = []
        for item in items:
            if item.get("name") == "meta" and item.get("control", {}).get("bodyless"):
                continue
            field = self.field(item, parent, repeats, default)
            if field.name in fields:
                raise self.error(
                    f"the name {field.name!r} is used twice; names must be unique in the form",
                    row=field.row,
                    column="name",
                )
            fields[field.name] = field
            names.append(field.name)
            if field.is_container:
                inner = (*repeats, field.name) if field.kind == "repeat" else repeats
                kids = self.children(item.get("children", []), fields, field.name, inner, default)
                fields[field.name] = _replace(field, children=kids)
        return tuple(names)

    def field(
        self, item: dict[str, Any], parent: str, repeats: tuple[str, ...], default: str
    ) -> Field:
        name = str(item.get("name", ""))
        json_kind = str(item.get("type", ""))
        other_of = name[:-6] if name.endswith("_other") and name not in self.rows else ""
        row = self.rows.get(name) or self.rows.get(other_of) or 0
        raw = self.raw.get(name, {})
        kind = _JSON_KINDS.get(json_kind)
        if kind is None:
            shown = raw.get("type", json_kind)
            raise self.error(
                f"the question type {shown!r} is not supported; use one of the types listed in "
                "docs/forms.md",
                row=row,
                column="type",
            )
        if json_kind == "select one" and item.get("itemset", "").endswith(".xml"):
            raise self.error("XML lists are not supported; use a CSV file", row=row, column="type")
        bind = item.get("bind", {}) or {}
        control = item.get("control", {}) or {}
        for key in bind:
            if key not in {
                "relevant",
                "required",
                "constraint",
                "calculate",
                "readonly",
                "jr:requiredMsg",
                "jr:constraintMsg",
            }:
                raise self.error(f"the setting {key!r} is not supported", row=row)
        sensitivity = str(item.get("sensitivity", "") or "sensitive").strip()
        if sensitivity not in SENSITIVITIES:
            raise self.error(
                f"sensitivity must be one of {', '.join(SENSITIVITIES)} (or blank for sensitive)",
                row=row,
                column="sensitivity",
            )
        aggregate = str(item.get("aggregate", "") or "").strip()
        if aggregate and aggregate not in _AGGREGATES:
            raise self.error(
                f"aggregate must be one of {', '.join(sorted(_AGGREGATES))}",
                row=row,
                column="aggregate",
            )
        if aggregate and sensitivity != "low":
            raise self.error(
                "only fields marked sensitivity 'low' may feed the aggregate record",
                row=row,
                column="aggregate",
            )
        from_case = _yes(item.get("from_case"), self, row, "from_case")
        if from_case and kind != "hidden":
            raise self.error(
                "from_case is allowed only on hidden fields", row=row, column="from_case"
            )
        list_name = str(item.get("list_name") or item.get("itemset") or "")
        choices = tuple(
            Choice(
                str(c["name"]),
                texts(c.get("label"), default),
                MappingProxyType({k: str(v) for k, v in c.items() if k not in {"name", "label"}}),
            )
            for c in item.get("choices", []) or []
        )
        appearance = str(control.get("appearance", "") or "")
        return Field(
            name=name,
            kind=kind,
            row=row,
            label=texts(item.get("label"), default),
            hint=texts(item.get("hint"), default),
            required_message=texts(bind.get("jr:requiredMsg"), default),
            constraint_message=texts(bind.get("jr:constraintMsg"), default),
            relevant=str(bind.get("relevant", "") or ""),
            required=_truth_or_expr(bind.get("required")),
            constraint=str(bind.get("constraint", "") or ""),
            calculation=str(bind.get("calculate", "") or ""),
            default=str(item.get("default", "") or ""),
            read_only=_truth_or_expr(bind.get("readonly")),
            choice_filter=str(item.get("choice_filter", "") or ""),
            repeat_count=str(control.get("jr:count", "") or ""),
            appearance=appearance,
            parameters=MappingProxyType(
                {k: str(v) for k, v in (item.get("parameters") or {}).items()}
            ),
            list_name=list_name,
            choices=choices,
            or_other="or_other" in raw.get("type", ""),
            parent=parent,
            repeats=repeats,
            sensitivity=sensitivity,
            case_card=_yes(item.get("case_card"), self, row, "case_card"),
            aggregate=aggregate,
            from_case=from_case,
        )

    def lists(
        self, data: Mapping[str, Any], fields: dict[str, Field], default: str
    ) -> dict[str, tuple[Mapping[str, str], ...]]:
        lists: dict[str, tuple[Mapping[str, str], ...]] = {}
        for list_name, items in (data.get("choices") or {}).items():
            lists[list_name] = tuple(
                MappingProxyType(
                    {k: str(v) for k, v in c.items() if k != "label"} | {"name": str(c["name"])}
                )
                for c in items
            )
        for name, field in list(fields.items()):
            if not field.kind.startswith("select") or not field.list_name.endswith(".csv"):
                continue
            found = self.find(field.list_name)
            if found is None:
                raise self.error(
                    f"the list file {field.list_name!r} was not found beside the form or in its "
                    "lists/ folder",
                    row=field.row,
                    column="type",
                )
            choices = read_list(found, default)
            fields[name] = _replace(field, choices=choices)
            lists[Path(field.list_name).stem] = tuple(MappingProxyType(c.row()) for c in choices)
        return lists

    def find(self, file_name: str) -> Path | None:
        if self.list_dir is not None:
            for candidate in (self.list_dir / file_name, self.list_dir / "lists" / file_name):
                if candidate.is_file():
                    return candidate
        return find_list(self.path, file_name)

    def pages(self, top: tuple[str, ...], fields: Mapping[str, Field]) -> tuple[Page, ...]:
        pages = []
        for name in top:
            field = fields[name]
            if field.field_list or field.kind == "repeat":
                pages.append(Page(name, _leaves(name, fields), group=name))
            elif field.is_container:
                pages.extend(self.pages(field.children, fields))
            elif field.kind not in {"calculate", "hidden"}:
                pages.append(Page(name, (name,)))
        return tuple(pages)


def _leaves(name: str, fields: Mapping[str, Field]) -> tuple[str, ...]:
    out: list[str] = []
    for child in fields[name].children:
        field = fields[child]
        if field.kind == "group":
            out.extend(_leaves(child, fields))
        elif field.kind not in {"calculate", "hidden"}:
            out.append(child)
    return tuple(out)


def _yes(value: Any, loader: _Loader, row: int, column: str) -> bool:
    text = str(value or "").strip().lower()
    if text in {"", "no", "false"}:
        return False
    if text in {"yes", "true"}:
        return True
    raise loader.error(f"{column} must be 'yes' or blank", row=row, column=column)


def _truth_or_expr(value: Any) -> str:
    text = str(value or "").strip()
    if text.lower() in {"", "no", "false", "false()"}:
        return ""
    if text.lower() in {"yes", "true", "true()"}:
        return "true()"
    return text


def _replace(field: Field, **changes: Any) -> Field:
    from dataclasses import replace

    return replace(field, **changes)
