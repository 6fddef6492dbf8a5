"""Loading an XLSForm (``.xlsx`` or pyxform's Markdown tables) into the immutable model.

pyxform reads the spreadsheet and checks it (types, names, groups, choices, translations); this
module turns pyxform's JSON into :class:`~fieldscreen.forms.model.Form`, reads the ``rules`` and
``deadlines`` sheets that pyxform ignores, loads ``*_from_file`` lists, refuses what the engine
does not support and compiles every expression (:mod:`fieldscreen.forms.program`). Every mistake
is a :class:`FormError` naming ``FILE:sheet:row:column``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from fieldscreen.forms import compat, search
from fieldscreen.forms.errors import EXPECTED, AnswerError, FormError
from fieldscreen.forms.evaluate import PULLDATA_PREFIX
from fieldscreen.forms.model import (
    MEDIA_KINDS,
    SENSITIVITIES,
    Choice,
    Entity,
    Field,
    Form,
    Page,
    Texts,
    Title,
    language_key,
)
from fieldscreen.forms.program import build_program
from fieldscreen.forms.rule_sheets import RuleSheets
from fieldscreen.forms.sheets import (
    find_list,
    language_code,
    pyxform_definition,
    read_list,
    read_sheets,
    read_table,
    records,
    texts,
)
from fieldscreen.forms.values import coerce

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
    "rank": "rank",
    "image": "image",
    "photo": "image",
    "audio": "audio",
    "video": "video",
    "file": "file",
    "note": "note",
    "calculate": "calculate",
    "acknowledge": "acknowledge",
    "trigger": "acknowledge",
    "hidden": "hidden",
    "group": "group",
    "repeat": "repeat",
    **dict.fromkeys(compat.METADATA, "hidden"),
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
    "save_to",
    "trigger",
}
#: Legacy and alias spellings of survey columns (as ``compat.canonical_header`` tokens) -> ours.
_COLUMN_ALIASES = {
    ("bind", "relevant"): "relevant",
    ("relevance",): "relevant",
    ("bind", "required"): "required",
    ("bind", "constraint"): "constraint",
    ("bind", "calculate"): "calculation",
    ("calculate",): "calculation",
    ("bind", "readonly"): "read_only",
    ("readonly",): "read_only",
    ("bind", "jr:constraintMsg"): "constraint_message",
    ("constraining_message",): "constraint_message",
    ("bind", "jr:requiredMsg"): "required_message",
    ("requiredmsg",): "required_message",
    ("control", "appearance"): "appearance",
    ("control", "jr:count"): "repeat_count",
    ("count",): "repeat_count",
    ("jr:count",): "repeat_count",
    ("caption",): "label",
    ("command",): "type",
    ("tag",): "name",
    ("value",): "name",
}
#: Columns whose content FieldScreen does not show: accepted with a warning.
_SHOWN_NOWHERE = {
    "image": "images on labels are not shown; the label's text is",
    "big-image": "images on labels are not shown; the label's text is",
    "audio": "audio on labels is not played; the label's text is shown",
    "video": "video on labels is not played; the label's text is shown",
    "media": "media on labels are not shown; the label's text is",
    "guidance_hint": "guidance hints are not shown; put what the specialist needs in the hint",
    "instance": "extra instance attributes are not kept",
    "body": "display attributes are not used",
    "autoplay": "display attributes are not used",
    "rows": "display attributes are not used",
    "control": "display attributes are not used",
    "note": "the column is not used",
    "comments": "the column is not used",
}
#: Columns KoboToolbox's form builder writes on a choices sheet: what each is, for its warning.
_KOBO_CHOICE_COLUMNS = {
    "$autovalue": "it is where KoboToolbox's form builder keeps the name it made from each "
    "choice's label; the choice's name is its name column",
}
_KOBO_COLUMN = "it is a column of KoboToolbox's form builder, which a form does not use"
_REFUSED_COLUMNS = {
    "bind": "this bind attribute is not supported; use the relevant, required, constraint, "
    "calculation and read_only columns",
}
#: ODK bind attributes about capturing on a phone, which mean nothing for an answer typed or
#: chosen on a laptop: accepted with a warning.
_BIND_NOT_APPLIED = {
    "odk:allow-mock-accuracy": "the laptop has no GPS; the coordinates are typed",
    "odk:quality": "FieldScreen keeps the recording as it is chosen, up to its size limit",
}
#: A question's ``parameters`` the engine reads (the range's, a select's order, a list file's
#: columns) or names in a warning of its own; any other is loaded with a warning saying why it
#: is not applied.
_PARAMETERS_USED = {
    *("start", "end", "step", "randomize", "seed", "value", "label"),
    *("reference-geometry", "max-pixels", "quality", "allow-mock-accuracy"),
}
#: A geopoint's accuracy rules, applied to the accuracy typed as its 4th number.
_ACCURACY_PARAMETERS = ("capture-accuracy", "warning-accuracy")
_NO_GPS = "the laptop has no GPS; the coordinates are typed"
_PARAMETERS_NOT_APPLIED = {
    "capture-accuracy": "only a geopoint has accuracy rules",
    "warning-accuracy": "only a geopoint has accuracy rules",
    "incremental": _NO_GPS,
    "app": "FieldScreen starts no other app; the file is chosen with the question's Choose "
    "file button",
    "rows": "the answer box keeps its own size",
    "odk:tick-interval": "a range is typed as a number, with no slider",
    "odk:placeholder": "a range is typed as a number, with no slider",
    "odk:tick-labelset": "a range is typed as a number, with no slider",
}
#: Namespaces whose bind attributes carry meaning in ODK: one we do not know is refused.
_ODK_NAMESPACES = ("jr:", "odk:", "orx:", "entities:", "xmlns")


def bind_attribute_is_custom(key: str) -> bool:
    """Whether a bind attribute is an organisation's own (``bind::bindAttribute``,
    ``bind::oc:external``): ODK clients ignore such attributes, so we accept them with a
    warning. Attributes in ODK's own namespaces and ours are never custom."""
    known = {"relevant", "required", "constraint", "calculate", "readonly", "type", "nodeset"}
    return bool(key) and key not in known and not key.startswith(_ODK_NAMESPACES)


_SHEETS = {"survey", "choices", "settings", "rules", "deadlines", "entities", "osm"}
#: Our own sheets, which pyxform does not know: a near miss of one is a misspelling.
_OWN_SHEETS = {"rules", "deadlines"}
_SETTINGS = {
    "form_id",
    "version",
    "form_title",
    "default_language",
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


def load_form(path: str | Path, lists: Path | None = None) -> Form:
    """Load and check the form at ``path`` (``.xlsx`` or ``.md``). List files are looked for
    in ``lists`` first, when given, then beside the form and in its ``lists/`` folder."""
    path = Path(path)
    if not path.is_file():
        raise FormError("the file does not exist; check the path", file=str(path))
    return _Loader(path, list_dir=lists).load()


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
        #: Every row of each name in sheet order (a name may come again in another group),
        #: and how many of them the fields read so far have taken.
        self.occurrences: dict[str, list[tuple[int, dict[str, str]]]] = {}
        self.taken: Counter[str] = Counter()
        self.entities: list[Entity] = []
        #: ``csv-external`` and ``xml-external`` rows: (its file, ``NAME.csv`` or
        #: ``NAME.xml`` beside the form, and the row).
        self.csv_instances: list[tuple[str, int]] = []
        #: Questions with ``save_to``: name -> the property, as pyxform gives it (``p`` or
        #: ``list#p``).
        self.save_to: dict[str, str] = {}

    def error(
        self, detail: str, row: int | None = None, column: str = "", sheet: str = "survey"
    ) -> FormError:
        return FormError(detail, file=self.file, sheet=sheet, row=row, column=column)

    def load(self) -> Form:
        from pyxform.errors import PyXFormError
        from pyxform.xls2json import workbook_to_json

        sheets = read_sheets(self.path, self.file)
        lower = {name.lower(): rows for name, rows in sheets.items()}
        warnings: list[str] = []
        self.warnings = warnings
        self.check_sheets(sheets)
        if "survey" not in lower and len(sheets) == 1:
            lower["survey"] = next(iter(sheets.values()))  # pyxform reads a lone sheet so
        if "survey" not in lower:
            raise self.error("the form has no 'survey' sheet; add one", sheet="survey")
        self.check_survey_columns(lower["survey"])
        for sheet in ("choices", "external_choices"):
            self.check_kobo_columns(sheet, lower.get(sheet, []))
        settings = self.settings(lower.get("settings", []))
        self.external_rows = lower.get("external_choices", [])
        try:
            markdown = self.path.suffix.lower() == ".md"
            workbook = pyxform_definition(sheets, markdown=markdown, stem=self.path.stem)
            data = workbook_to_json(
                workbook,
                fallback_form_name=self.path.stem,
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
        self.choice_lists = data.get("choices") or {}
        fields: dict[str, Field] = {}
        top = self.children(
            data.get("children", []), fields, parent="", repeats=(), default=default
        )
        entities = self.entity_properties()
        for f in fields.values():
            seed = compat.randomize_seed_field(f.parameters)
            if seed and seed not in fields:
                raise self.error(
                    f"parameters seed=${{{seed}}} names no question of this form",
                    row=f.row,
                    column="parameters",
                )
        languages = self.languages(sheets, default)
        lists = self.lists(data, fields, default)
        self.check_entity_lists(lists)
        rules = self.rules(lower.get("rules", []), default)
        self.pulldata_tables([("rules", "when", r.row, r.when) for r in rules], lists)
        deadlines = self.deadlines(lower.get("deadlines", []), default)
        if settings["deadlines_file"]:
            deadlines = self.shared_deadlines(settings["deadlines_file"], deadlines, default)
        self.check_rules(rules, deadlines)
        pages = self.pages(top, fields)
        frozen_fields = MappingProxyType(fields)
        program = build_program(frozen_fields, rules, lists, self.file)
        # pyxform's rules: the form id is the settings' form_id, else the file's name.
        form_id = settings["form_id"] or str(data.get("id_string") or self.path.stem)
        version = settings["version"] or compat.derived_version(self.path)
        title = settings["form_title"] or form_id
        return Form(
            id=form_id,
            version=version,
            title=Title({default: title, **settings["form_title_texts"]}, default),
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
            entities=entities,
        )

    def pyxform_error(self, message: str) -> FormError:
        match = _ROW_IN_MESSAGE.search(message)
        row = int(match.group(1) or match.group(2)) if match else None
        column_match = _COLUMN_IN_MESSAGE.search(message)
        column = column_match.group(1) if column_match else ""
        detail = " ".join(_ROW_IN_MESSAGE.sub("", message, count=1).split())
        return self.error(detail, row=row, column=column)

    def check_sheets(self, sheets: Mapping[str, list[list[str | None]]]) -> None:
        """pyxform reads the survey, choices and settings sheets and ignores the others; so
        do we, with a warning, except for sheets we cannot honour and misspelt ones of ours."""
        for sheet in sheets:
            low = sheet.lower()
            if low in _SHEETS:
                continue
            if low == "external_choices":
                continue  # read for select_one_external questions
            miss = compat.near_miss(low, _OWN_SHEETS)
            if miss:
                raise self.error(
                    f"the sheet {sheet!r} looks like a misspelling of {miss!r}; rename it",
                    sheet=sheet,
                )
            if len(sheets) > 1:
                self.warnings.append(f"the sheet {sheet!r} is ignored")

    def check_survey_columns(self, rows: list[list[str | None]]) -> None:
        if not rows:
            raise self.error("the survey sheet is empty; add a header row and questions", row=1)
        header = [(h or "").strip() for h in rows[0]]
        names: list[str] = []
        for column in header:
            names.append(self.survey_column(column) if column else "")
        for number, row in enumerate(rows[1:], start=2):
            record = {
                names[i]: cell.strip()
                for i, cell in enumerate(row)
                if i < len(names) and names[i] and cell is not None and cell.strip()
            }
            name = record.get("name", "")
            if name and name not in self.rows:
                self.rows[name] = number
                self.raw[name] = record
            if name:
                self.occurrences.setdefault(name, []).append((number, record))

    def check_kobo_columns(self, sheet: str, rows: list[list[str | None]]) -> None:
        """The columns KoboToolbox's form builder adds to a choices sheet (``$autovalue``,
        ``$kuid``): loaded and not used, each named in a warning that says what it is."""
        for column in (str(h).strip() for h in (rows[0] if rows else []) if h):
            if column.startswith("$"):
                why = _KOBO_CHOICE_COLUMNS.get(column.lower(), _KOBO_COLUMN)
                self.warnings.append(f"the {sheet} column {column!r} is ignored: {why}")

    def survey_column(self, column: str) -> str:
        """Our name for a survey column (``label:English`` -> ``label::English``), ``''`` for
        a column that is accepted and not used (with a warning), or a FormError."""
        tokens = compat.canonical_header(column)
        base = _COLUMN_ALIASES.get(tokens[:2]) or _COLUMN_ALIASES.get(tokens[:1])
        rest = tokens[2:] if tokens[:2] in _COLUMN_ALIASES else tokens[1:]
        if base is None:
            base, rest = tokens[0], tokens[1:]
        if base in _TRANSLATED and len(rest) <= 1:
            return base + (f"::{rest[0]}" if rest else "")
        if base in _PLAIN_COLUMNS and not rest:
            return base
        if tokens == ("bind", "saveIncomplete"):
            return ""  # each question that has it is named in a warning
        if base == "bind" and len(rest) == 1 and bind_attribute_is_custom(rest[0]):
            return ""  # each question that has it is named in a warning
        if base in _REFUSED_COLUMNS:
            raise self.error(
                f"the column {column!r}: {_REFUSED_COLUMNS[base]}", row=1, column=column
            )
        if base in _SHOWN_NOWHERE or base.startswith(("$", "kobo--", "_")):
            why = _SHOWN_NOWHERE.get(base, "the column is not used")
            self.warnings.append(f"the column {column!r} is ignored: {why}")
            return ""
        miss = compat.near_miss(base, _PLAIN_COLUMNS | _TRANSLATED)
        if miss:
            raise self.error(
                f"the column {column!r} looks like a misspelling of {miss!r}; rename it",
                row=1,
                column=column,
            )
        self.warnings.append(
            f"the column {column!r} is ignored: it is not one FieldScreen uses (see docs/forms.md)"
        )
        return ""

    def settings(self, rows: list[list[str | None]]) -> dict[str, Any]:
        found = list(records(rows))
        given: dict[str, str] = found[0][1] if found else {}
        values: dict[str, str] = {}
        for column, value in given.items():
            tokens = compat.canonical_header(column)
            base = compat.SETTINGS_ALIASES.get(tokens[0], tokens[0])
            if base in _TITLE_COLUMNS and len(tokens) == 2:
                values[f"{base}::{tokens[1]}"] = value
                continue
            if base in _SETTINGS and len(tokens) == 1:
                values.setdefault(base, value)
                continue
            if base in compat.IGNORED_SETTINGS:
                why = compat.IGNORED_SETTINGS[base]
                self.warnings.append(
                    f"the setting {column!r} is not used" + (f": {why}" if why else "")
                )
                continue
            miss = compat.near_miss(base, _SETTINGS)
            if miss:
                raise self.error(
                    f"the setting {column!r} looks like a misspelling of {miss!r}; rename it",
                    row=1,
                    column=column,
                    sheet="settings",
                )
            self.warnings.append(f"the setting {column!r} is not used")
        lang_name = values.get("default_language", "English (en)")
        default = language_code(lang_name)
        titles = {
            language_code(k.split("::", 1)[1], default): v
            for k, v in values.items()
            if "::" in k and k.split("::", 1)[0] in _TITLE_COLUMNS
        }
        return {
            "form_id": values.get("form_id", ""),
            "version": values.get("version", ""),
            "form_title": values.get("form_title", ""),
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
        for given in items:
            if given.get("name") == "meta" and given.get("control", {}).get("bodyless"):
                kids = given.get("children", []) or []
                self.check_meta(
                    {**given, "children": [c for c in kids if c.get("type") != "entity"]}
                )
                for declared in (c for c in kids if c.get("type") == "entity"):
                    for made in self.entity(declared, parent, repeats):
                        if made.name in fields:
                            raise self.error(
                                f"the name {made.name!r} is used by the entity the entities "
                                "sheet declares; rename the question",
                                row=fields[made.name].row,
                                column="name",
                            )
                        fields[made.name] = made
                        names.append(made.name)
                continue
            if given.get("type") in {"csv-external", "xml-external"}:
                name = str(given.get("name", ""))
                ext = str(given["type"])[:3]
                self.csv_instances.append((f"{name}.{ext}", self.rows.get(name) or 0))
                continue
            item = (
                compat.expand_loop(given, self.rows, self.raw)
                if given.get("type") == "loop"
                else given
            )
            field = self.field(item, parent, repeats, default)
            if field.name in fields:
                field = self.again(field, fields)
            fields[field.name] = field
            names.append(field.name)
            if field.is_container:
                inner = (*repeats, field.name) if field.kind == "repeat" else repeats
                kids = self.children(item.get("children", []), fields, field.name, inner, default)
                fields[field.name] = _replace(field, children=kids)
        return tuple(names)

    def again(self, field: Field, fields: Mapping[str, Field]) -> Field:
        """A name that an earlier field has, in another group or repeat, as pyxform allows:
        the field is kept under its path from the group it is in (``g2/q1``), and ``${q1}``
        may then name neither (the program refuses it, as pyxform does)."""
        key = f"{field.parent}/{field.name}"
        if fields[field.name].parent == field.parent or key in fields:
            raise self.error(
                f"the name {field.name!r} is used twice; names must be unique in the form",
                row=field.row,
                column="name",
            )
        return _replace(field, name=key)

    def field(
        self, item: dict[str, Any], parent: str, repeats: tuple[str, ...], default: str
    ) -> Field:
        name = str(item.get("name", ""))
        json_kind = str(item.get("type", ""))
        other_of = name[:-6] if name.endswith("_other") and name not in self.rows else ""
        nth = self.taken[name]
        self.taken[name] += 1
        seen = self.occurrences.get(name, [])
        if 0 < nth < len(seen):  # the same name again, in another group: its own row
            row, raw = seen[nth]
        else:
            row = self.rows.get(name) or self.rows.get(other_of) or 0
            raw = self.raw.get(name, {})
        kind = _JSON_KINDS.get(json_kind)
        meta = json_kind if json_kind in compat.METADATA else ""
        if json_kind == "select one external":
            kind, item = "select_one", self.external(item, row, default)
        if json_kind == "range":
            kind, item = self.range(item, row)
        resolved = compat.resolve_type(json_kind) if kind is None else compat.Resolved()
        if kind is None:
            kind, meta = resolved.kind or None, resolved.meta
        if kind is None:
            shown = raw.get("type", json_kind)
            raise self.error(
                f"the question type {shown!r} is not supported; "
                + (resolved.refused or "use one of the types listed in docs/forms.md"),
                row=row,
                column="type",
            )
        bind = item.get("bind", {}) or {}
        control = item.get("control", {}) or {}
        for key in bind:
            if key == "orx:max-pixels" and kind == "image":
                self.warnings.append(
                    f"max-pixels on {name!r} is not applied: FieldScreen keeps the photo as "
                    "chosen, up to its size limit"
                )
                continue
            if key == "entities:saveto":  # pyxform drops the ``list#`` the cell may have
                self.save_to[name] = raw.get("save_to") or str(bind[key])
                continue
            if key in _BIND_NOT_APPLIED:
                self.warnings.append(f"{key} on {name!r} is not applied: {_BIND_NOT_APPLIED[key]}")
                continue
            if key == "saveIncomplete":
                self.warnings.append(
                    f"saveIncomplete on {name!r} is not needed: FieldScreen saves the draft "
                    "after every answer"
                )
                continue
            if key == "jr:noAppErrorString":
                self.warnings.append(
                    f"noAppErrorString on {name!r} is not shown: FieldScreen reports an error "
                    "in a form with its own message naming the cell"
                )
                continue
            if bind_attribute_is_custom(key):
                self.warnings.append(
                    f"the bind attribute {key!r} on {name!r} is not used: it is a custom "
                    "attribute that neither FieldScreen nor ODK Collect reads"
                )
                continue
            if key not in {
                "relevant",
                "required",
                "constraint",
                "calculate",
                "readonly",
                "jr:requiredMsg",
                "jr:constraintMsg",
            }:
                raise self.error(
                    f"the bind attribute {key!r} is not supported; use the relevant, required, "
                    "constraint, calculation and read_only columns",
                    row=row,
                )
        for column, text in (
            ("relevant", bind.get("relevant")),
            ("constraint", bind.get("constraint")),
            ("calculation", bind.get("calculate")),
            ("required", bind.get("required")),
            ("read_only", bind.get("readonly")),
            ("default", item.get("default")),
            ("choice_filter", item.get("choice_filter")),
            ("label", item.get("label")),
        ):
            cells = text.values() if isinstance(text, Mapping) else [text]
            why = next((w for c in cells if (w := compat.refused_expression(str(c or "")))), "")
            if why:
                raise self.error(why, row=row, column=column)
        why = compat.refused_parameters(_parameters(item))
        if why:
            raise self.error(why, row=row, column="parameters")
        if "reference-geometry" in _parameters(item):
            self.warnings.append(
                f"reference-geometry on {name!r} is not shown: the laptop has no map; the "
                "coordinates are typed"
            )
        accuracy_rule, accuracy_message = "", Texts()
        if resolved is compat.GEOPOINT:
            accuracy_rule, accuracy_message = self.accuracy(name, _parameters(item), row, default)
        for key in _parameters(item):
            if key in _PARAMETERS_USED and not (key == "max-pixels" and kind != "image"):
                continue
            if key in _ACCURACY_PARAMETERS and resolved is compat.GEOPOINT:
                continue
            why = _PARAMETERS_NOT_APPLIED.get(
                key, "it is not one FieldScreen uses (see docs/forms.md)"
            )
            if key == "max-pixels":
                why = "FieldScreen keeps the file as chosen, up to its size limit"
            self.warnings.append(f"{key} on {name!r} is not applied: {why}")
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
            for c in item.get("choices") or self.inline_list(item, list_name)
        )
        appearance = str(control.get("appearance", "") or "")
        if meta and meta in {"phonenumber", "email", "subscriberid", "simserial"}:
            self.warnings.append(
                f"the {meta} question {name!r} stays empty: {compat.METADATA[meta]}"
            )
        if json_kind in compat.NO_GPS_METADATA:
            self.warnings.append(
                f"the {json_kind} question {name!r} stays empty: "
                f"{compat.NO_GPS_METADATA[json_kind]}"
            )
        geo = "geopoint" if resolved is compat.GEOPOINT else compat.geo_line_kind(resolved)
        if geo:
            self.warnings.append(
                f"the {geo} question {name!r} is typed in: the laptop has no GPS; the "
                "coordinates are typed by hand and checked as ODK stores them"
            )
        if resolved is compat.OSM:
            self.warnings.append(
                f"the osm question {name!r} takes an OpenStreetMap file: the laptop has no "
                "OpenMapKit, so a .osm file saved by JOSM or OpenMapKit is attached, kept "
                "encrypted with the screening, and the tags of its list are shown in the hint"
            )
        trigger = tuple(str(t) for t in item.get("trigger") or ())
        calculation = str(bind.get("calculate", "") or "")
        if trigger and kind == "calculate":
            kind = "hidden"  # set by its trigger, kept as an answer, never shown
        elif kind == "calculate" and not calculation and item.get("default"):
            kind = "hidden"  # set once by its default, kept as an answer, as in pyxform
        built = Field(
            name=name,
            kind=kind,
            row=row,
            label=texts(item.get("label"), default),
            hint=(
                self.osm_hint(item, default)
                if resolved is compat.OSM
                else Texts(compat.GEOPOINT_HINT, default)
                if resolved is compat.GEOPOINT and not item.get("hint")
                else Texts(compat.GEO_SHAPE_HINT, default)
                if resolved is compat.GEO_LINES["geoshape"] and not item.get("hint")
                else Texts(compat.GEO_LINE_HINT, default)
                if resolved in compat.GEO_LINES.values() and not item.get("hint")
                else texts(item.get("hint") or resolved.hint, default)
            ),
            required_message=texts(bind.get("jr:requiredMsg"), default),
            constraint_message=texts(bind.get("jr:constraintMsg"), default) or accuracy_message,
            relevant=str(bind.get("relevant", "") or ""),
            required=_truth_or_expr(bind.get("required")),
            constraint=" and ".join(
                f"({rule})"
                for rule in (str(bind.get("constraint", "") or resolved.constraint), accuracy_rule)
                if rule
            )
            if accuracy_rule
            else str(bind.get("constraint", "") or resolved.constraint),
            calculation="" if trigger else calculation,
            trigger=trigger,
            trigger_value=calculation if trigger else "",
            default=str(item.get("default", "") or ""),
            read_only=_truth_or_expr(bind.get("readonly")),
            choice_filter=str(item.get("choice_filter", "") or ""),
            repeat_count=str(control.get("jr:count", "") or ""),
            appearance=appearance,
            parameters=MappingProxyType(_parameters(item)),
            list_name=list_name,
            choices=choices,
            or_other="or_other" in raw.get("type", ""),
            parent=parent,
            repeats=repeats,
            sensitivity=sensitivity,
            case_card=_yes(item.get("case_card"), self, row, "case_card"),
            aggregate=aggregate,
            from_case=from_case,
            meta=meta,
            accept="osm" if resolved is compat.OSM else "",
        )
        self.check_default(built)
        return built

    def osm_hint(self, item: Mapping[str, Any], default: str) -> Texts:
        """An OpenStreetMap question's hint: its own, then how to attach the place and the tags
        of its list on the osm sheet (``Name (name), City (addr:city)``), in each language."""
        own = texts(item.get("hint"), default)
        tags = [
            (str(tag.get("name", "")), texts(tag.get("label"), default))
            for tag in item.get("tags") or ()
            if isinstance(tag, Mapping) and tag.get("name")
        ]
        out: dict[str, str] = {}
        for lang in dict.fromkeys([*own.keys(), "en", "es"]):
            words = "es" if language_key(lang) == "es" else "en"
            listed = ", ".join(
                f"{label} ({key})" if (label := text.get(lang)) and label != key else key
                for key, text in tags
            )
            added = compat.OSM_HINT[words].format(
                tags=compat.OSM_TAGS[words].format(tags=listed) if listed else ""
            )
            out[lang] = f"{own.get(lang)} {added}".strip()
        return Texts(out, default)

    def accuracy(
        self, name: str, given: Mapping[str, str], row: int, default: str
    ) -> tuple[str, Texts]:
        """A geopoint's accuracy rules, applied to the accuracy typed as the point's 4th number
        (metres), as ODK Collect applies them to a GPS reading: ``warning-accuracy`` is the
        accuracy ODK calls unacceptable, so a worse one typed is refused with a message saying
        so (the rule and its message); ``capture-accuracy`` is the accuracy at which Collect
        saves a reading by itself, and a typed point is saved by hand, which Collect allows at
        any accuracy, so it only gets a warning saying that."""
        metres: dict[str, float] = {}
        for key in _ACCURACY_PARAMETERS:
            if key not in given:
                continue
            text = given[key].strip()
            try:
                metres[key] = float(text)
            except ValueError:
                metres[key] = math.nan
            if not math.isfinite(metres[key]) or metres[key] <= 0:
                raise self.error(
                    f"{key} must be a number of metres above 0, not {text!r}",
                    row=row,
                    column="parameters",
                )
        if "capture-accuracy" in metres:
            self.warnings.append(
                f"capture-accuracy on {name!r} keeps every typed point: ODK Collect saves a "
                f"reading by itself once it is within {_num(metres['capture-accuracy'])} m, and "
                "a point typed in is saved by hand, which Collect allows at any accuracy"
            )
        if "warning-accuracy" not in metres:
            return "", Texts()
        limit = _num(metres["warning-accuracy"])
        rule = (
            "selected-at(normalize-space(.), 3) = '' or "
            f"number(selected-at(normalize-space(.), 3)) <= {limit}"
        )
        message = {
            lang: compat.GEOPOINT_HINT[lang] + " " + text.format(limit=limit)
            for lang, text in compat.ACCURACY_REFUSED.items()
        }
        return rule, Texts(message, default)

    def external(self, item: dict[str, Any], row: int, default: str) -> dict[str, Any]:
        """A ``select_one_external`` question with its choices: the rows of its list on the
        workbook's ``external_choices`` sheet (which pyxform requires; ODK servers turn it into
        an ``itemsets.csv``). The choices' other columns feed its ``choice_filter`` as on the
        choices sheet."""
        list_name = str(item.get("itemset") or item.get("list_name") or "")
        choices = []
        for _, record in records(self.external_rows):
            low = {compat.canonical_header(k)[0]: v for k, v in record.items()}
            if low.get("list_name") != list_name or not low.get("name"):
                continue
            labels = {
                language_code(tokens[1], default) if len(tokens) > 1 else default: v
                for k, v in record.items()
                if (tokens := compat.canonical_header(k))[0] == "label"
            }
            extra = {
                k: v
                for k, v in record.items()
                if compat.canonical_header(k)[0] not in {"list_name", "name", "label"}
            }
            choices.append({"name": low["name"], "label": labels, **extra})
        if not choices:
            raise self.error(
                f"the select_one_external list {list_name!r} has no rows on the "
                "external_choices sheet; add them",
                row=row,
                column="type",
            )
        return {**item, "type": "select one", "list_name": list_name, "choices": choices}

    def range(self, item: dict[str, Any], row: int) -> tuple[str, dict[str, Any]]:
        """A ``range`` question: a number from ``start`` to ``end`` in steps of ``step``
        (pyxform's defaults 1, 10, 1); an integer question when all three are whole, else a
        decimal one, with the range as its constraint (beside the row's own) and a default
        message saying it."""
        given = _parameters(item)
        numbers = {}
        for key, fallback in (("start", "1"), ("end", "10"), ("step", "1")):
            text = given.get(key, fallback).strip()
            try:
                numbers[key] = float(text)
            except ValueError:
                numbers[key] = math.nan
            if not math.isfinite(numbers[key]):
                raise self.error(
                    f"the range's {key} must be a number, not {text!r}",
                    row=row,
                    column="parameters",
                )
        start, end, step = numbers["start"], numbers["end"], numbers["step"]
        if step == 0:
            raise self.error("the range's step must not be 0", row=row, column="parameters")
        low, high = sorted((start, end))
        whole = all(n.is_integer() for n in numbers.values())
        steps = f"((. - {_num(start)}) div {_num(step)})"
        rule = (
            f". >= {_num(low)} and . <= {_num(high)} and "
            f"abs({steps} - round({steps}, 0)) < 0.000001"
        )
        bind = {k: v for k, v in (item.get("bind") or {}).items() if k != "type"}
        own = str(bind.get("constraint", "") or "")
        bind["constraint"] = f"({own}) and {rule}" if own else rule
        if not bind.get("jr:constraintMsg"):
            bind["jr:constraintMsg"] = {
                "English (en)": f"A number from {_num(low)} to {_num(high)}, in steps of "
                f"{_num(abs(step))}.",
                "Español (es)": f"Un número de {_num(low)} a {_num(high)}, de {_num(abs(step))} "
                f"en {_num(abs(step))}.",
            }
        return ("integer" if whole else "decimal"), {**item, "bind": bind}

    def inline_list(self, item: Mapping[str, Any], list_name: str) -> list[dict[str, Any]]:
        """The choices sheet's list of a select that pyxform gives as an itemset rather than
        inline (it does so with ``randomize``, a ``choice_filter`` ...)."""
        if not str(item.get("type", "")).startswith("select") or list_name.endswith(".csv"):
            return []
        found = self.choice_lists.get(list_name)
        return list(found) if isinstance(found, list) else []

    def check_default(self, field: Field) -> None:
        """A literal default must be a value of the question's type (``foo`` on an integer
        would stop the form from ever starting)."""
        text = field.default
        if not text or "${" in text or "(" in text:
            return
        if not (field.is_input or field.kind == "hidden"):
            return
        if field.kind.startswith("select") and not field.choices:
            return  # a list file's choices are checked once they are read
        if field.kind in MEDIA_KINDS:  # ODK's default image is a media file shipped with it
            raise self.error(
                f"a default file on the {field.kind} question {field.name!r} is not supported: "
                "FieldScreen keeps only the files chosen in the screening, never one shipped "
                "with the form; remove the default",
                row=field.row,
                column="default",
            )
        try:
            coerce(field, text)
        except AnswerError as error:
            raise self.error(
                f"the default {text!r} is not {EXPECTED[error.expected][0]}",
                row=field.row,
                column="default",
            ) from None

    def entity(self, item: Mapping[str, Any], parent: str, repeats: tuple[str, ...]) -> list[Field]:
        """The calculate fields that record one entity of the ``entities`` sheet: its id (a
        ``uuid()``, stable for the record and the repeat entry, or the ``entity_id`` of the
        entity it updates), its label and whether it is created; for an update, also whether
        it updates and the version of the entity it updates, read from the entity list the
        form ships (as pyxform writes them)."""
        row = int(item.get("__row_number") or 0)
        parts = {str(c.get("name")): c for c in item.get("children", []) or []}
        dataset = str((parts.get("dataset") or {}).get("value", ""))

        def calculation(part: str) -> str:
            return str((((parts.get(part) or {}).get("bind") or {}).get("calculate", "")) or "")

        updates = "update" in parts or bool(calculation("id"))
        if "create" in parts:
            condition = calculation("create")
            creates = f"boolean({condition})" if condition else "true()"
        else:
            creates = "false()" if updates else "true()"
        label = str(((parts.get("label") or {}).get("bind") or {}).get("calculate", "") or "")
        if re.fullmatch(r"[^\W\d]\w*", label):
            # A bare word (``Household``) would be an XPath path to nothing, an empty label;
            # it is taken as the label's text.
            label = f"'{label}'"
        prefix = f"entity_{dataset}"
        given_id = calculation("id")
        made = [
            Field(
                f"{prefix}_id",
                "calculate",
                row,
                calculation=given_id or "uuid()",
                sensitivity="sensitive" if given_id else "low",
            ),
            Field(
                f"{prefix}_label",
                "calculate",
                row,
                calculation=label or "''",
                sensitivity="identifying",  # a label names the person or place, as a rule
            ),
            Field(f"{prefix}_create", "calculate", row, calculation=creates, sensitivity="low"),
        ]
        if updates:
            condition = calculation("update")
            made += [
                Field(
                    f"{prefix}_update",
                    "calculate",
                    row,
                    calculation=f"boolean({condition})" if condition else "true()",
                    sensitivity="low",
                ),
                Field(
                    f"{prefix}_base_version",
                    "calculate",
                    row,
                    calculation=calculation("baseVersion") or "''",
                    sensitivity="low",
                ),
            ]
        made = [_replace(f, parent=parent, repeats=repeats) for f in made]
        self.entities.append(
            Entity(
                dataset=dataset,
                row=row,
                repeat=repeats[-1] if repeats else "",
                id_field=made[0].name,
                label_field=made[1].name,
                create_field=made[2].name,
                update_field=made[3].name if updates else "",
                base_version_field=made[4].name if updates else "",
            )
        )
        return made

    def check_entity_lists(self, lists: Mapping[str, Any]) -> None:
        """An entity that updates an existing one reads that entity's version from the entity
        list the form ships; a form without the list is refused at its row."""
        for entity in self.entities:
            if entity.update_field and entity.dataset not in lists:
                raise self.error(
                    f"the entity of the list {entity.dataset!r} updates an existing entity "
                    "(entity_id), and reads its version from that list; ship the list with the "
                    f"form (csv-external {entity.dataset}, or a select_one_from_file "
                    f"{entity.dataset}.csv)",
                    row=entity.row,
                    column="entity_id",
                    sheet="entities",
                )

    def entity_properties(self) -> tuple[Entity, ...]:
        """The entities with the questions whose ``save_to`` names their properties."""
        by_list = {e.dataset: dict(e.properties) for e in self.entities}
        for name, target in self.save_to.items():
            dataset, sep, prop = target.rpartition("#")
            if not sep and len(by_list) == 1:
                dataset = next(iter(by_list))
            if dataset not in by_list:
                raise self.error(
                    f"save_to {target!r} names no entity of the entities sheet; write "
                    "LIST#PROPERTY with a list_name of that sheet",
                    row=self.rows.get(name),
                    column="save_to",
                )
            by_list[dataset][prop] = name
        return tuple(
            _replace_entity(e, properties=MappingProxyType(by_list[e.dataset]))
            for e in sorted(self.entities, key=lambda e: e.row)
        )

    def check_meta(self, item: Mapping[str, Any]) -> None:
        """pyxform moves audit and other metadata into a hidden ``meta`` group: each must be
        refused by name, not dropped with the group."""
        for child in item.get("children", []) or []:
            kind = str(child.get("type", ""))
            name = str(child.get("name", ""))
            if name in {"instanceID", "instanceName", "deprecatedID"}:
                continue
            if kind == "audit":  # its parameters (location, track-changes ...) go with it
                self.warnings.append(
                    f"the audit question {name!r} is loaded and not used: FieldScreen records "
                    "its own audit of every opening of a screening instead, and does not keep "
                    "the form's timing log of each question"
                )
                continue
            why = compat.REFUSED_METADATA.get(kind) or compat.REFUSED_TYPES.get(kind)
            raise self.error(
                f"the question type {kind!r} is not supported; " + (why or "remove the row"),
                row=self.rows.get(name) or 0,
                column="type",
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
        self.pulldata_tables(
            [
                ("survey", column, f.row, text)
                for f in fields.values()
                for column, text in (
                    ("calculation", f.calculation),
                    ("relevant", f.relevant),
                    ("constraint", f.constraint),
                    ("default", f.default),
                    ("required", f.required),
                    ("read_only", f.read_only),
                    ("choice_filter", f.choice_filter),
                )
            ],
            lists,
        )
        for name, field in list(fields.items()):
            # pyxform takes these three kinds of list file and refuses any other
            known = field.list_name.lower().endswith((".csv", ".xml", ".geojson"))
            if not field.kind.startswith("select") or not known:
                continue
            found = self.find(field.list_name)
            if found is None:
                raise self.error(
                    f"the list file {field.list_name!r} was not found beside the form or in its "
                    "lists/ folder",
                    row=field.row,
                    column="type",
                )
            value = field.parameters.get("value") or "name"
            label = field.parameters.get("label") or "label"
            try:
                choices = read_list(found, default, value=value, label=label)
            except FormError as error:
                if "which the question's" not in error.detail:
                    raise
                raise self.error(error.detail, row=field.row, column="parameters") from None
            fields[name] = _replace(field, choices=choices)
            lists[Path(field.list_name).stem] = tuple(MappingProxyType(c.row()) for c in choices)
        for name, field in list(fields.items()):
            if "search" in field.appearance and field.kind.startswith("select"):
                fields[name] = self.search(field, default)
        for file_name, row in self.csv_instances:
            found = self.find(file_name)
            if found is None:
                raise self.error(
                    f"the external instance {file_name!r} was not found beside the form or in "
                    "its lists/ folder; put the file there",
                    row=row,
                    column="type",
                )
            lists[Path(file_name).stem] = read_table(found)
        return lists

    def search(self, field: Field, default: str) -> Field:
        """A select with ``appearance: search(...)``: its choices from the CSV it names, as
        ODK Collect reads them (see :mod:`fieldscreen.forms.search`)."""
        try:
            spec = search.parse_search(field.appearance)
        except FormError as error:
            raise self.error(error.detail, row=field.row, column="appearance") from None
        if spec is None:
            return field
        found = self.find(f"{spec.table}.csv")
        if found is None:
            raise self.error(
                f"search('{spec.table}') reads {spec.table}.csv, which was not found beside the "
                "form or in its lists/ folder; put the file there",
                row=field.row,
                column="appearance",
            )
        try:
            made, condition = search.choices(field.choices, read_table(found), spec, default)
        except FormError as error:
            if error.file:
                raise
            raise self.error(error.detail, row=field.row, column="appearance") from None
        if condition and field.choice_filter:
            condition = f"({field.choice_filter}) and ({condition})"
        return _replace(field, choices=made, choice_filter=condition or field.choice_filter)

    def pulldata_tables(
        self,
        cells: list[tuple[str, str, int, str]],
        lists: dict[str, tuple[Mapping[str, str], ...]],
    ) -> None:
        """The CSV tables ``pulldata('TABLE', ...)`` reads in these (sheet, column, row,
        expression) cells, from beside the form, read now (bounded in size) so that nothing
        is read while the form is filled in."""
        for sheet, column, row, text in cells:
            for match in compat.PULLDATA.finditer(text):
                table = match.group(2).strip()
                key = PULLDATA_PREFIX + table
                if key in lists:
                    continue
                found = self.find(f"{table}.csv")
                if found is None:
                    raise self.error(
                        f"pulldata('{table}', ...) reads {table}.csv, which was not found beside "
                        "the form or in its lists/ folder; put the file there",
                        row=row,
                        column=column,
                        sheet=sheet,
                    )
                lists[key] = read_table(found)

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


def _parameters(item: Mapping[str, Any]) -> dict[str, str]:
    """A question's ``parameters`` as names and values. pyxform gives most types a mapping
    but leaves the cell's text (``max-pixels=3840``) on the types it turns into bind
    attributes (photos); that text is read the way pyxform reads it."""
    given = item.get("parameters") or {}
    if isinstance(given, Mapping):
        return {str(k): str(v) for k, v in given.items()}
    out = {}
    for part in re.split(r"[\s,;]+", str(given).strip()):
        key, sep, value = part.partition("=")
        if sep and key:
            out[key.strip()] = value.strip()
    return out


def _num(value: float) -> str:
    """A number as an expression reads it (no exponent)."""
    return str(int(value)) if value.is_integer() else f"{value:.12f}".rstrip("0").rstrip(".")


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


def _replace_entity(entity: Entity, **changes: Any) -> Entity:
    from dataclasses import replace

    return replace(entity, **changes)


def _replace(field: Field, **changes: Any) -> Field:
    from dataclasses import replace

    return replace(field, **changes)
