"""Errors of the form engine: one tree, rooted at :class:`FormError`.

* :class:`FormError` -- a form file is wrong or uses something the engine does not support. It
  names the place as ``FILE:sheet:row:column`` and says what to do. It is also the root of the
  tree: every error the engine raises on purpose is a ``FormError``. The kinds below are not
  about a place in a form file; they carry a catalogue code of their own and leave the place
  empty.
* :class:`AnswerError` -- a value given for a field does not fit its type (a date that is not a
  date, a choice that is not in the list).
* :class:`FormVersionError` -- saved answers belong to another version of the form.
* :class:`OverrideError` -- a tier override without a reason or a supervisor.
* :class:`ReleaseError` -- lifting a withheld recipient or declined service without what it needs.
* :class:`~fieldscreen.forms.attachments.AttachmentError` -- a file too large to attach.
* :class:`FormDataError` -- answers or a saved state handed to the engine cannot be read.

None of them ever carries an answer in its message: only field names, sheets and positions.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from fieldscreen.errors import KnownError, Message, render

__all__ = [
    "DESIGNER",
    "EXPECTED",
    "AnswerError",
    "FormDataError",
    "FormError",
    "FormVersionError",
    "OverrideError",
    "ReleaseError",
    "designer_codes",
    "designer_text",
]


class FormError(KnownError):
    """A mistake in a form, or a feature the engine does not support.

    ``str(error)`` is ``FILE:sheet:row:column: message``; unknown parts are left out.
    """

    exit_code = 1
    #: The place in a form file; empty for the kinds of the tree that are not about one.
    file: str = ""
    sheet: str = ""
    row: int | None = None
    column: str = ""

    def __init__(
        self,
        detail: str,
        *,
        file: str = "",
        sheet: str = "",
        row: int | None = None,
        column: str = "",
    ) -> None:
        self.detail = detail
        self.file = file
        self.sheet = sheet
        self.row = row
        self.column = column
        super().__init__("form-invalid", location=self.location, detail=detail)

    @property
    def location(self) -> str:
        parts = [self.file or "<form>", self.sheet or "survey"]
        parts.append("" if self.row is None else str(self.row))
        parts.append(self.column)
        return ":".join(parts)

    def at(
        self, *, file: str = "", sheet: str = "", row: int | None = None, column: str = ""
    ) -> FormError:
        """A copy with the parts that were not known where it was raised filled in."""
        return FormError(
            self.detail,
            file=self.file or file,
            sheet=self.sheet or sheet,
            row=self.row if self.row is not None else row,
            column=self.column or column,
        )

    def _coded(self, code: str, /, **context: Any) -> None:
        """Set up a kind of the tree that has a catalogue code of its own and no place."""
        KnownError.__init__(self, code, **context)
        self.detail = self.message("en")

    def message(self, lang: str = "en") -> str:
        if self.code != "form-invalid":
            return super().message(lang)
        detail = designer_text(self.detail, lang)
        if detail is None:  # pyxform's own words, shown as they are and said to be its own
            return render("form-invalid-pyxform", lang, location=self.location, detail=self.detail)
        return render("form-invalid", lang, location=self.location, detail=detail)


#: What an answer must be, by the ``expected`` key of :class:`AnswerError`: (English, Spanish).
EXPECTED: dict[str, tuple[str, str]] = {
    "text": ("text", "un texto"),
    "integer": ("a whole number", "un número entero"),
    "decimal": ("a number", "un número"),
    "date": ("a date as YYYY-MM-DD", "una fecha como AAAA-MM-DD"),
    "datetime": ("a date and time as YYYY-MM-DDTHH:MM", "una fecha y hora como AAAA-MM-DDTHH:MM"),
    "time": ("a time as HH:MM", "una hora como HH:MM"),
    "choice": ("one of the options of its list", "una de las opciones de su lista"),
    "choices": ("options of its list", "opciones de su lista"),
    "acknowledge": ("OK or empty", "OK o vacía"),
    "rank": (
        "the options of its list in order, each once",
        "las opciones de su lista en orden, cada una una vez",
    ),
    "attachment": (
        "a file attached with its Choose file button",
        "un archivo adjuntado con su botón Elegir archivo",
    ),
    "osm": (
        "an OpenStreetMap file (.osm) holding the place drawn, as JOSM or OpenMapKit saves one",
        "un archivo de OpenStreetMap (.osm) con el lugar dibujado, como lo guardan JOSM u "
        "OpenMapKit",
    ),
    "attachment-path": (
        "the path of a file to attach (absolute, or from the answers file's folder)",
        "la ruta de un archivo que adjuntar (absoluta, o desde la carpeta del archivo de "
        "respuestas)",
    ),
    "computed": ("left to the form, which computes it", "dejada al formulario, que la calcula"),
    "field": ("the name of a field of this form", "el nombre de un campo de este formulario"),
    "instance": ("in an entry that exists", "de una entrada que existe"),
    "repeat": ("a repeat whose entries are added by hand", "una repetición con entradas a mano"),
    "counted": ("changed through its count question", "cambiada con su pregunta de cantidad"),
    "too_many": ("at most 500 entries", "como máximo 500 entradas"),
}


class AnswerError(FormError):
    """A value does not fit the field it was given for (``expected``: a key of EXPECTED)."""

    def __init__(self, field: str, expected: str) -> None:
        self.field = field
        self.expected = expected
        self._coded("form-answer-invalid", field=field, expected=expected)

    def message(self, lang: str = "en") -> str:
        en, es = EXPECTED[self.expected]
        return render(
            "form-answer-invalid", lang, field=self.field, expected=es if lang == "es" else en
        )


class FormDataError(FormError):
    """Answers or a saved state handed to the engine cannot be read (``form-answers-unreadable``,
    ``form-state-invalid``)."""

    def __init__(self, code: str, /, **context: Any) -> None:
        self._coded(code, **context)


class FormVersionError(FormError):
    """Saved answers were made with another version of the form."""

    def __init__(self, form_id: str, saved: str, loaded: str) -> None:
        self._coded("form-version-mismatch", form_id=form_id, saved=saved, loaded=loaded)


class OverrideError(FormError):
    """A tier override lacks what it needs: ``tier``, ``reason`` or ``supervisor``."""

    def __init__(self, missing: str) -> None:
        self.missing = missing
        self._coded(f"form-override-{missing}")


class ReleaseError(FormError):
    """Lifting a withheld recipient or a declined service lacks what it needs: ``name`` (not
    withheld by the form), ``reason`` or ``supervisor``."""

    def __init__(self, missing: str) -> None:
        self.missing = missing
        self._coded(f"form-release-{missing}")


# ----------------------------------------------------------------------------- designer messages

#: What a form designer reads when a form is refused (``forms validate``, ``preview``, ``run``
#: and the app's form loading): code -> the English text, as the engine raises it, and the
#: Spanish. ``{why}`` is itself one of these messages (a reason refused by name), translated
#: in turn. ``tests/unit/forms/test_designer_messages.py`` checks that every message the
#: engine's code can raise has its entry here.
DESIGNER: Mapping[str, Message] = {
    # the answers file and options of ``forms run``
    "answers-unknown-field": Message(
        en="the answers name {name}, which is not a field of this form",
        es="las respuestas nombran {name}, que no es un campo de este formulario",
    ),
    "run-context": Message(
        en="--context takes KEY=VALUE, not {item}",
        es="--context lleva CLAVE=VALOR, no {item}",
    ),
    "run-now": Message(
        en="--now takes an ISO date-time such as 2026-03-15T10:00",
        es="--now lleva una fecha y hora ISO como 2026-03-15T10:00",
    ),
    "answers-repeat-list": Message(
        en="the answers for repeat {name} must be a list of objects",
        es="las respuestas de la repetición {name} deben ser una lista de objetos",
    ),
    "answers-computed": Message(
        en="the answers give a value for {name}, which the form computes itself",
        es="las respuestas dan un valor para {name}, que el propio formulario calcula",
    ),
    "answers-too-many": Message(
        en="the answers hold more entries for {name} than its repeat_count gives",
        es="las respuestas tienen más entradas para {name} de las que da su repeat_count",
    ),
    # files
    "convert-kinds": Message(
        en="convert goes between .md and .xlsx; name the files with those endings",
        es="convert pasa entre .md y .xlsx; nombre los archivos con esas terminaciones",
    ),
    "file-missing": Message(
        en="the file does not exist; check the path", es="el archivo no existe; revise la ruta"
    ),
    "file-kind": Message(
        en="only .xlsx, .xls and .md forms are supported",
        es="solo se admiten formularios .xlsx, .xls y .md",
    ),
    "file-unreadable": Message(
        en="the file cannot be read as a form ({why}); check that it is an .xlsx workbook or "
        "pyxform Markdown tables",
        es="el archivo no se puede leer como formulario ({why}); compruebe que es un libro "
        ".xlsx o tablas Markdown de pyxform",
    ),
    "form-unreadable": Message(
        en="the form could not be read ({why}); check the survey sheet",
        es="no se pudo leer el formulario ({why}); revise la hoja survey",
    ),
    "builtin-list": Message(
        en="there is no built-in list {name}", es="no hay ninguna lista incorporada {name}"
    ),
    "builtin-form": Message(
        en="there is no built-in form {name}", es="no hay ningún formulario incorporado {name}"
    ),
    # list and table files
    "table-header": Message(
        en="the table file has no header row",
        es="el archivo de tabla no tiene fila de encabezados",
    ),
    "list-name-column": Message(
        en="a list file needs a 'name' column",
        es="un archivo de lista necesita una columna 'name'",
    ),
    "list-value-column": Message(
        en="the list file has no column {column}, which the question's {parameter}= names",
        es="el archivo de lista no tiene la columna {column}, que nombra el {parameter}= de la "
        "pregunta",
    ),
    "list-size": Message(
        en="the list file is {size} MiB; a list beside a form may be at most {most} MiB (split "
        "it, or keep only the rows the form needs)",
        es="el archivo de lista tiene {size} MiB; una lista junto a un formulario puede tener "
        "como máximo {most} MiB (divídala, o deje solo las filas que el formulario necesita)",
    ),
    "list-unreadable": Message(
        en="the list cannot be read ({why})", es="no se puede leer la lista ({why})"
    ),
    "list-csv": Message(
        en="the list file is not valid CSV ({why})",
        es="el archivo de lista no es un CSV válido ({why})",
    ),
    "list-name-twice": Message(
        en="the name {name} appears twice; give each row its own name",
        es="el nombre {name} aparece dos veces; dé a cada fila su propio nombre",
    ),
    "list-rows": Message(
        en="the list file has more than {rows} rows; keep only the rows the form needs",
        es="el archivo de lista tiene más de {rows} filas; deje solo las filas que el "
        "formulario necesita",
    ),
    "list-file-missing": Message(
        en="the list file {name} was not found beside the form or in its lists/ folder",
        es="el archivo de lista {name} no se encontró junto al formulario ni en su carpeta lists/",
    ),
    "external-missing": Message(
        en="the external instance {name} was not found beside the form or in its lists/ folder; "
        "put the file there",
        es="la instancia externa {name} no se encontró junto al formulario ni en su carpeta "
        "lists/; ponga el archivo allí",
    ),
    "geojson-invalid": Message(
        en="the GeoJSON list is not a FeatureCollection; export it again as GeoJSON",
        es="la lista GeoJSON no es una FeatureCollection; expórtela de nuevo como GeoJSON",
    ),
    "xml-doctype": Message(
        en="the XML list declares a DOCTYPE or entities, which a list does not need; remove them",
        es="la lista XML declara un DOCTYPE o entidades, que una lista no necesita; quítelos",
    ),
    "xml-invalid": Message(
        en="the XML list is not valid XML ({why})", es="la lista XML no es un XML válido ({why})"
    ),
    "search-missing": Message(
        en="search('{table}') reads {file}.csv, which was not found beside the form or in its "
        "lists/ folder; put the file there",
        es="search('{table}') lee {file}.csv, que no se encontró junto al formulario ni en su "
        "carpeta lists/; ponga el archivo allí",
    ),
    "search-arguments": Message(
        en="search() takes 1, 4 or 6 arguments: search('TABLE'), search('TABLE', 'MODE', "
        "'COLUMNS', VALUE) or those and 'FILTER_COLUMN', FILTER_VALUE",
        es="search() admite 1, 4 o 6 argumentos: search('TABLE'), search('TABLE', 'MODE', "
        "'COLUMNS', VALUE) o esos y 'FILTER_COLUMN', FILTER_VALUE",
    ),
    "search-unreadable": Message(
        en="the appearance's search() cannot be read: {why}",
        es="no se puede leer el search() de la apariencia: {why}",
    ),
    "search-table": Message(
        en="search()'s first argument must name the CSV in quotes: search('TABLE')",
        es="el primer argumento de search() debe nombrar el CSV entre comillas: search('TABLE')",
    ),
    "search-mode": Message(
        en="search()'s mode must be one of {modes}, not {mode}",
        es="el modo de search() debe ser uno de {modes}, no {mode}",
    ),
    "search-filter-column": Message(
        en="search()'s filter column must be a column name in quotes",
        es="la columna de filtro de search() debe ser un nombre de columna entre comillas",
    ),
    "search-column": Message(
        en="search('{table}') reads the column {column}, which {file}.csv does not have",
        es="search('{table}') lee la columna {column}, que {file}.csv no tiene",
    ),
    "pulldata-missing": Message(
        en="pulldata('{table}', ...) reads {file}.csv, which was not found beside the form or "
        "in its lists/ folder; put the file there",
        es="pulldata('{table}', ...) lee {file}.csv, que no se encontró junto al formulario "
        "ni en su carpeta lists/; ponga el archivo allí",
    ),
    # sheets, columns, settings
    "no-survey": Message(
        en="the form has no 'survey' sheet; add one",
        es="el formulario no tiene hoja 'survey'; añada una",
    ),
    "survey-empty": Message(
        en="the survey sheet is empty; add a header row and questions",
        es="la hoja survey está vacía; añada una fila de encabezados y preguntas",
    ),
    "sheet-misspelt": Message(
        en="the sheet {sheet} looks like a misspelling of {known}; rename it",
        es="la hoja {sheet} parece un error de escritura de {known}; cámbiele el nombre",
    ),
    "column-refused": Message(en="the column {column}: {why}", es="la columna {column}: {why}"),
    "column-misspelt": Message(
        en="the column {column} looks like a misspelling of {known}; rename it",
        es="la columna {column} parece un error de escritura de {known}; cámbiele el nombre",
    ),
    "column-not-of-sheet": Message(
        en="the column {column} is not part of the {sheet} sheet; see docs/forms.md",
        es="la columna {column} no forma parte de la hoja {sheet}; vea docs/forms.md",
    ),
    "setting-misspelt": Message(
        en="the setting {setting} looks like a misspelling of {known}; rename it",
        es="el ajuste {setting} parece un error de escritura de {known}; cámbiele el nombre",
    ),
    "yes-or-blank": Message(
        en="{column} must be 'yes' or blank", es="{column} debe ser 'yes' o estar vacío"
    ),
    # questions
    "type-refused": Message(
        en="the question type {type} is not supported; {why}",
        es="el tipo de pregunta {type} no está admitido; {why}",
    ),
    "name-twice": Message(
        en="the name {name} is used twice; names must be unique in the form",
        es="el nombre {name} se usa dos veces; los nombres deben ser únicos en el formulario",
    ),
    "bind-refused": Message(
        en="the bind attribute {name} is not supported; use the relevant, required, "
        "constraint, calculation and read_only columns",
        es="el atributo bind {name} no está admitido; use las columnas relevant, required, "
        "constraint, calculation y read_only",
    ),
    "sensitivity": Message(
        en="sensitivity must be one of {values} (or blank for sensitive)",
        es="sensitivity debe ser uno de {values} (o vacío para sensitive)",
    ),
    "aggregate": Message(
        en="aggregate must be one of {values}", es="aggregate debe ser uno de {values}"
    ),
    "aggregate-low": Message(
        en="only fields marked sensitivity 'low' may feed the aggregate record",
        es="solo los campos con sensitivity 'low' pueden alimentar el registro agregado",
    ),
    "from-case-hidden": Message(
        en="from_case is allowed only on hidden fields",
        es="from_case solo se permite en campos hidden",
    ),
    "external-empty": Message(
        en="the select_one_external list {name} has no rows on the external_choices sheet; "
        "add them",
        es="la lista {name} de select_one_external no tiene filas en la hoja "
        "external_choices; añádalas",
    ),
    "range-step-zero": Message(
        en="the range's step must not be 0", es="el step del rango no debe ser 0"
    ),
    "range-number": Message(
        en="the range's {part} must be a number, not {text}",
        es="el {part} del rango debe ser un número, no {text}",
    ),
    "default-media": Message(
        en="a default file on the {kind} question {name} is not supported: FieldScreen keeps "
        "only the files chosen in the screening, never one shipped with the form; remove the "
        "default",
        es="un archivo por defecto en la pregunta {kind} {name} no está admitido: FieldScreen "
        "guarda solo los archivos elegidos en el tamizaje, nunca uno enviado con el formulario; "
        "quite el valor por defecto",
    ),
    "default-unfit": Message(
        en="the default {text} is not {expected}",
        es="el valor por defecto {text} no es {expected}",
    ),
    "seed-unknown": Message(
        en="parameters seed=${{{name}}} names no question of this form",
        es="parameters seed=${{{name}}} no nombra ninguna pregunta de este formulario",
    ),
    # entities
    "entity-list-missing": Message(
        en="the entity of the list {name} updates an existing entity (entity_id), and reads its "
        "version from that list; ship the list with the form (csv-external {list}, or a "
        "select_one_from_file {file}.csv)",
        es="la entidad de la lista {name} actualiza una entidad existente (entity_id) y lee su "
        "versión de esa lista; entregue la lista con el formulario (csv-external {list}, o un "
        "select_one_from_file {file}.csv)",
    ),
    "entity-save-to": Message(
        en="save_to {target} names no entity of the entities sheet; write LIST#PROPERTY with "
        "a list_name of that sheet",
        es="save_to {target} no nombra ninguna entidad de la hoja entities; escriba "
        "LISTA#PROPIEDAD con un list_name de esa hoja",
    ),
    "entity-name-taken": Message(
        en="the name {name} is used by the entity the entities sheet declares; rename the question",
        es="el nombre {name} lo usa la entidad que declara la hoja entities; cambie el nombre "
        "de la pregunta",
    ),
    # expressions
    "ref-unknown": Message(
        en="${{{name}}} refers to no field of this form; check the name",
        es="${{{name}}} no se refiere a ningún campo de este formulario; revise el nombre",
    ),
    "constraint-on-group": Message(
        en="a constraint checks an answer, and the {kind} {name} has none; put it on a question "
        "inside",
        es="una restricción comprueba una respuesta, y el {kind} {name} (un grupo o una "
        "repetición) no tiene ninguna; póngala en una pregunta de dentro",
    ),
    "ref-ambiguous": Message(
        en="${{{name}}} could be any of the {count} fields named {field} in different groups; "
        "rename them so that each name is used once",
        es="${{{name}}} puede ser cualquiera de los {count} campos llamados {field} en grupos "
        "distintos; cámbieles el nombre para que cada nombre se use una sola vez",
    ),
    "ref-group": Message(
        en="${{{name}}} is a group; refer to a field inside it",
        es="${{{name}}} es un grupo; refiérase a un campo de dentro",
    ),
    "ref-invalid": Message(
        en="${{{name}}} is not a valid field reference",
        es="${{{name}}} no es una referencia de campo válida",
    ),
    "circle": Message(
        en="these fields depend on each other in a circle: {names}; break the circle",
        es="estos campos dependen unos de otros en círculo: {names}; rompa el círculo",
    ),
    "unclosed-quote": Message(
        en="the quote {char} at position {pos} opens a text that is never closed; close it "
        "with the same quote, or remove it if the cell is not meant as text",
        es="la comilla {char} en la posición {pos} abre un texto que nunca se cierra; ciérrelo "
        "con la misma comilla, o quítela si la celda no es un texto",
    ),
    "dollar-paren": Message(
        en="$( at position {pos} is no field reference; write the field as ${{name}}, with braces",
        es="$( en la posición {pos} no es una referencia a un campo; escriba el campo como "
        "${{name}}, con llaves",
    ),
    "unexpected-character": Message(
        en="unexpected character {char} at position {pos}; check the expression (text in "
        "quotes, fields as ${{name}})",
        es="carácter inesperado {char} en la posición {pos}; revise la expresión (el texto "
        "entre comillas, los campos como ${{name}})",
    ),
    "unexpected": Message(
        en="unexpected {what} at position {pos}", es="{what} inesperado en la posición {pos}"
    ),
    "expected-found": Message(
        en="expected {text} but found {what} at position {pos}",
        es="se esperaba {text} pero se encontró {what} en la posición {pos}",
    ),
    "expected-name": Message(
        en="expected a name but found {what} at position {pos}",
        es="se esperaba un nombre pero se encontró {what} en la posición {pos}",
    ),
    "expected-attribute": Message(
        en="expected an attribute name at position {pos}",
        es="se esperaba un nombre de atributo en la posición {pos}",
    ),
    "expression-empty": Message(en="the expression is empty", es="la expresión está vacía"),
    "too-deep-split": Message(
        en="the expression is nested too deeply; split it into calculate fields",
        es="la expresión está anidada demasiado; divídala en campos calculate",
    ),
    "too-deep": Message(
        en="the expression is nested too deeply", es="la expresión está anidada demasiado"
    ),
    "axes": Message(
        en="XPath axes ('::') are not supported; use ${{name}} references",
        es="los ejes de XPath ('::') no están admitidos; use referencias ${{name}}",
    ),
    "not-an-axis": Message(
        en="{name}:: is not an XPath axis, so ODK cannot read the expression either; refer to "
        "fields as ${{name}}, and in a choice_filter to the choice's columns by their names",
        es="{name}:: no es un eje de XPath, así que ODK tampoco puede leer la expresión; "
        "refiérase a los campos como ${{name}}, y en un choice_filter a las columnas de la "
        "opción por sus nombres",
    ),
    "double-slash": Message(
        en="'//' paths are not supported; use ${{name}} references",
        es="las rutas '//' no están admitidas; use referencias ${{name}}",
    ),
    "path": Message(
        en="this path is not supported; refer to fields as ${{name}}",
        es="esta ruta no está admitida; refiérase a los campos como ${{name}}",
    ),
    "repeat-path-not-repeat": Message(
        en="${{{name}}} is not a repeat; refer to fields as ${{name}}",
        es="${{{name}}} no es una repetición; refiérase a los campos como ${{name}}",
    ),
    "repeat-path-none": Message(
        en="${{{name}}}[...]/{path} names no field inside that repeat",
        es="${{{name}}}[...]/{path} no nombra ningún campo de dentro de esa repetición",
    ),
    "repeat-path-outside": Message(
        en="${{{name}}}[...] is inside a repeat this expression is not in",
        es="${{{name}}}[...] está dentro de una repetición en la que esta expresión no está",
    ),
    "position-current": Message(
        en="position(current()/..) must name a repeat the field is inside",
        es="position(current()/..) debe nombrar una repetición dentro de la que está el campo",
    ),
    "function-unknown": Message(en="unknown function {name}()", es="función desconocida {name}()"),
    "arity": Message(
        en="{name}() takes {want} arguments, not {count}",
        es="{name}() lleva {want} argumentos, no {count}",
    ),
    "regex-invalid": Message(
        en="the regex pattern is not valid ({why})", es="el patrón de regex no es válido ({why})"
    ),
    "regex-nested": Message(
        en="the regex pattern repeats a group that itself repeats, which can make the form "
        "freeze on some answers; rewrite it without the nested repetition",
        es="el patrón de regex repite un grupo que a su vez se repite, lo que puede congelar "
        "el formulario con algunas respuestas; reescríbalo sin la repetición anidada",
    ),
    "position-only": Message(
        en="{name}() is supported only as {same}(..) inside a repeat",
        es="{name}() solo se admite como {same}(..) dentro de una repetición",
    ),
    "last": Message(
        en="last() is not supported; use count(${{repeat}})",
        es="last() no está admitida; use count(${{repeat}})",
    ),
    "indexed-args": Message(
        en="indexed-repeat() takes ${{field}}, ${{repeat}}, index",
        es="indexed-repeat() lleva ${{field}}, ${{repeat}} y una posición",
    ),
    "indexed-here": Message(
        en="indexed-repeat() cannot be used here", es="indexed-repeat() no puede usarse aquí"
    ),
    "indexed-unknown": Message(
        en="indexed-repeat() names a field or repeat that does not exist",
        es="indexed-repeat() nombra un campo o una repetición que no existe",
    ),
    "indexed-inside": Message(
        en="in indexed-repeat(), the field must be directly inside the repeat",
        es="en indexed-repeat(), el campo debe estar directamente dentro de la repetición",
    ),
    "indexed-nested": Message(
        en="indexed-repeat() across nested repeats is not supported",
        es="indexed-repeat() a través de repeticiones anidadas no está admitido",
    ),
    "choice-name-args": Message(
        en="jr:choice-name() takes a value and '${{field}}'",
        es="jr:choice-name() lleva un valor y '${{field}}'",
    ),
    "instance-root": Message(
        en="instance() must be followed by /root/item (a choice list)",
        es="instance() debe ir seguido de /root/item (una lista de opciones)",
    ),
    "instance-quotes": Message(
        en="instance() takes the name of a choice list in quotes",
        es="instance() lleva el nombre de una lista de opciones entre comillas",
    ),
    "instance-unknown": Message(
        en="instance('{name}') names no choice list of this form",
        es="instance('{name}') no nombra ninguna lista de opciones de este formulario",
    ),
    "instance-filter-item": Message(
        en="put the filter on item: instance('list')/root/item[...]",
        es="ponga el filtro en item: instance('list')/root/item[...]",
    ),
    "instance-path": Message(
        en="choice-list paths must read instance('list')/root/item[filter]/column",
        es="las rutas de listas de opciones deben leer instance('list')/root/item[filtro]/columna",
    ),
    "instance-filter-column": Message(
        en="a filter goes on item, not on the column", es="el filtro va en item, no en la columna"
    ),
    "pulldata-quotes": Message(
        en="pulldata() takes the table's name in quotes: pulldata('fruits', ...)",
        es="pulldata() lleva el nombre de la tabla entre comillas: pulldata('fruits', ...)",
    ),
    "digest-algorithm": Message(
        en="digest() has no algorithm {name}; use one of MD5, SHA-1, SHA-256, SHA-384, SHA-512",
        es="digest() no tiene el algoritmo {name}; use MD5, SHA-1, SHA-256, SHA-384 o SHA-512",
    ),
    "digest-encoding": Message(
        en="digest() has no encoding {name}; use 'base64' or 'hex'",
        es="digest() no tiene la codificación {name}; use 'base64' o 'hex'",
    ),
    # the rules and deadlines sheets
    "rule-name": Message(en="every rule needs a name", es="cada regla necesita un nombre"),
    "rule-twice": Message(
        en="the rule {name} appears twice; rule names must be unique",
        es="la regla {name} aparece dos veces; los nombres de regla deben ser únicos",
    ),
    "rule-when": Message(
        en="every rule needs a 'when' expression", es="cada regla necesita una expresión 'when'"
    ),
    "rule-tier": Message(
        en="the tier must be one of {values} or blank",
        es="el tier debe ser uno de {values} o estar vacío",
    ),
    "code-unknown": Message(
        en="{code} is not in the {list} list; use a code from it",
        es="{code} no está en la lista {list}; use un código de ella",
    ),
    "deadlines-file-missing": Message(
        en="the deadlines file {name} was not found beside the form or in its lists/ folder "
        "(it must be a .csv file)",
        es="el archivo de plazos {name} no se encontró junto al formulario ni en su carpeta "
        "lists/ (debe ser un archivo .csv)",
    ),
    "deadlines-file-unreadable": Message(
        en="the deadlines file cannot be read ({why})",
        es="no se puede leer el archivo de plazos ({why})",
    ),
    "deadlines-file-header": Message(
        en="a deadlines file needs a header row with a 'name' column",
        es="un archivo de plazos necesita una fila de encabezados con una columna 'name'",
    ),
    "deadline-both": Message(
        en="the deadline {name} ({jurisdiction}) is both on the deadlines sheet and in {file}; "
        "keep it in one place",
        es="el plazo {name} ({jurisdiction}) está a la vez en la hoja deadlines y en {file}; "
        "déjelo en un solo lugar",
    ),
    "deadline-name": Message(en="every deadline needs a name", es="cada plazo necesita un nombre"),
    "deadline-twice": Message(
        en="the deadline {name} appears twice for one jurisdiction; keep one row",
        es="el plazo {name} aparece dos veces para una jurisdicción; deje una fila",
    ),
    "deadline-jurisdiction": Message(
        en="the jurisdiction must be a two-letter country code (US, MX ...) or '*'",
        es="la jurisdicción debe ser un código de país de dos letras (US, MX ...) o '*'",
    ),
    "deadline-hours": Message(
        en="hours must be a number of hours, 0 or more",
        es="hours debe ser un número de horas, 0 o más",
    ),
    "deadline-unknown": Message(
        en="the deadline {name} is not on the deadlines sheet; add it there",
        es="el plazo {name} no está en la hoja deadlines; añádalo allí",
    ),
    # warnings: what loads and is not used, with why ({why} is one of the reasons below)
    "warn-sheet": Message(en="the sheet {sheet} is ignored", es="la hoja {sheet} se ignora"),
    "warn-column": Message(
        en="the column {column} is ignored: {why}", es="la columna {column} se ignora: {why}"
    ),
    "warn-sheet-column": Message(
        en="the {sheet} column {column} is ignored: {why}",
        es="la columna {column} de la hoja {sheet} se ignora: {why}",
    ),
    "why-kobo-autovalue": Message(
        en="it is where KoboToolbox's form builder keeps the name it made from each choice's "
        "label; the choice's name is its name column",
        es="es donde el editor de formularios de KoboToolbox guarda el nombre que hizo con la "
        "etiqueta de cada opción; el nombre de la opción es su columna name",
    ),
    "why-kobo-column": Message(
        en="it is a column of KoboToolbox's form builder, which a form does not use",
        es="es una columna del editor de formularios de KoboToolbox, que un formulario no usa",
    ),
    "warn-setting-why": Message(
        en="the setting {setting} is not used: {why}", es="el ajuste {setting} no se usa: {why}"
    ),
    "warn-setting": Message(
        en="the setting {setting} is not used", es="el ajuste {setting} no se usa"
    ),
    "warn-not-applied": Message(
        en="{key} on {name} is not applied: {why}", es="{key} en {name} no se aplica: {why}"
    ),
    "warn-reference-geometry": Message(
        en="reference-geometry on {name} is not shown: the laptop has no map; the coordinates "
        "are typed",
        es="reference-geometry en {name} no se muestra: la computadora no tiene mapa; las "
        "coordenadas se escriben",
    ),
    "warn-save-incomplete": Message(
        en="saveIncomplete on {name} is not needed: FieldScreen saves the draft after every answer",
        es="saveIncomplete en {name} no hace falta: FieldScreen guarda el borrador tras cada "
        "respuesta",
    ),
    "warn-app-error": Message(
        en="noAppErrorString on {name} is not shown: FieldScreen reports an error in a form "
        "with its own message naming the cell",
        es="noAppErrorString en {name} no se muestra: FieldScreen informa de un error del "
        "formulario con su propio mensaje, que nombra la celda",
    ),
    "warn-custom-bind": Message(
        en="the bind attribute {key} on {name} is not used: it is a custom attribute that "
        "neither FieldScreen nor ODK Collect reads",
        es="el atributo bind {key} en {name} no se usa: es un atributo propio que ni "
        "FieldScreen ni ODK Collect leen",
    ),
    "warn-metadata-empty": Message(
        en="the {meta} question {name} stays empty: {why}",
        es="la pregunta {meta} {name} queda vacía: {why}",
    ),
    "warn-audit": Message(
        en="the audit question {name} is loaded and not used: FieldScreen records its own audit "
        "of every opening of a screening instead, and does not keep the form's timing log of "
        "each question",
        es="la pregunta audit {name} se carga y no se usa: FieldScreen registra en cambio su "
        "propia auditoría de cada apertura de un tamizaje, y no guarda el registro de tiempos "
        "del formulario para cada pregunta",
    ),
    "warn-typed-geo": Message(
        en="the {kind} question {name} is typed in: the laptop has no GPS; the coordinates are "
        "typed by hand and checked as ODK stores them",
        es="la pregunta {kind} {name} se escribe: la computadora no tiene GPS; las coordenadas "
        "se escriben a mano y se comprueban tal como ODK las guarda",
    ),
    "warn-osm": Message(
        en="the osm question {name} takes an OpenStreetMap file: the laptop has no OpenMapKit, "
        "so a .osm file saved by JOSM or OpenMapKit is attached, kept encrypted with the "
        "screening, and the tags of its list are shown in the hint",
        es="la pregunta osm {name} recibe un archivo de OpenStreetMap: la computadora no tiene "
        "OpenMapKit, así que se adjunta un archivo .osm guardado con JOSM u OpenMapKit, que se "
        "guarda cifrado con el tamizaje, y las etiquetas de su lista se muestran en la ayuda",
    ),
    "why-no-gps-start": Message(
        en="the laptop has no GPS, so no place is recorded; ask for the place in a geopoint "
        "question (typed) or a select_one of sites",
        es="la computadora no tiene GPS, así que no se registra ningún lugar; pregunte el lugar "
        "con una pregunta geopoint (escrita) o un select_one de sitios",
    ),
    "why-no-gps-background": Message(
        en="the laptop has no GPS, so no place is recorded when the trigger question is "
        "answered; ask for the place in a geopoint question (typed)",
        es="la computadora no tiene GPS, así que no se registra ningún lugar al responder la "
        "pregunta del trigger; pregunte el lugar con una pregunta geopoint (escrita)",
    ),
    "why-not-ours": Message(
        en="it is not one FieldScreen uses (see docs/forms.md)",
        es="no es una que FieldScreen use (vea docs/forms.md)",
    ),
    "why-label-images": Message(
        en="images on labels are not shown; the label's text is",
        es="las imágenes de las etiquetas no se muestran; el texto de la etiqueta sí",
    ),
    "why-label-audio": Message(
        en="audio on labels is not played; the label's text is shown",
        es="el audio de las etiquetas no se reproduce; se muestra el texto de la etiqueta",
    ),
    "why-label-video": Message(
        en="video on labels is not played; the label's text is shown",
        es="el vídeo de las etiquetas no se reproduce; se muestra el texto de la etiqueta",
    ),
    "why-label-media": Message(
        en="media on labels are not shown; the label's text is",
        es="los medios de las etiquetas no se muestran; el texto de la etiqueta sí",
    ),
    "why-guidance": Message(
        en="guidance hints are not shown; put what the specialist needs in the hint",
        es="las guidance hints no se muestran; ponga lo que el especialista necesita en el hint",
    ),
    "why-instance-attributes": Message(
        en="extra instance attributes are not kept",
        es="los atributos extra de la instancia no se guardan",
    ),
    "why-display": Message(
        en="display attributes are not used", es="los atributos de presentación no se usan"
    ),
    "why-unused-column": Message(en="the column is not used", es="la columna no se usa"),
    "why-style": Message(
        en="FieldScreen shows one page for each top-level question or field-list group, "
        "whatever the style",
        es="FieldScreen muestra una página por cada pregunta de primer nivel o grupo "
        "field-list, sea cual sea el estilo",
    ),
    "why-instance-name": Message(
        en="FieldScreen does not name a record from its answers, which could carry the child's "
        "details into lists",
        es="FieldScreen no da nombre a un registro a partir de sus respuestas, que podrían "
        "llevar los datos del niño o la niña a las listas",
    ),
    "why-public-key": Message(
        en="FieldScreen seals every screening for its own server; the form's public key is not "
        "used",
        es="FieldScreen sella cada tamizaje para su propio servidor; la clave pública del "
        "formulario no se usa",
    ),
    "why-submission-url": Message(
        en="screenings go to the FieldScreen server by sync; the URL is not used",
        es="los tamizajes van al servidor de FieldScreen por sincronización; la URL no se usa",
    ),
    "why-auto-send": Message(
        en="screenings are sent by FieldScreen's sync",
        es="los tamizajes los envía la sincronización de FieldScreen",
    ),
    "why-auto-delete": Message(
        en="the vault keeps and deletes screenings by its own retention rules",
        es="la bóveda guarda y borra los tamizajes según sus propias reglas de conservación",
    ),
    "why-no-phone": Message(
        en="empty: a laptop has no phone number",
        es="vacía: una computadora no tiene número de teléfono",
    ),
    "why-no-email": Message(
        en="empty: FieldScreen does not read an account e-mail address",
        es="vacía: FieldScreen no lee la dirección de correo de ninguna cuenta",
    ),
    "why-no-sim": Message(
        en="empty: a laptop has no SIM card", es="vacía: una computadora no tiene tarjeta SIM"
    ),
    "why-max-pixels": Message(
        en="FieldScreen keeps the photo as chosen, up to its size limit",
        es="FieldScreen guarda la foto tal como se eligió, hasta su límite de tamaño",
    ),
    "warn-capture-accuracy": Message(
        en="capture-accuracy on {name} keeps every typed point: ODK Collect saves a reading by "
        "itself once it is within {metres} m, and a point typed in is saved by hand, which "
        "Collect allows at any accuracy",
        es="capture-accuracy en {name} acepta todo punto escrito: ODK Collect guarda una "
        "lectura por sí solo cuando llega a {metres} m, y un punto escrito se guarda a mano, "
        "lo que Collect permite con cualquier precisión",
    ),
    "accuracy-number": Message(
        en="{key} must be a number of metres above 0, not {text}",
        es="{key} debe ser un número de metros mayor que 0, no {text}",
    ),
    "why-geopoint-only": Message(
        en="only a geopoint has accuracy rules", es="solo un geopoint tiene reglas de precisión"
    ),
    "why-mock-accuracy": Message(
        en="the laptop has no GPS; the coordinates are typed",
        es="la computadora no tiene GPS; las coordenadas se escriben",
    ),
    "why-file-size": Message(
        en="FieldScreen keeps the file as chosen, up to its size limit",
        es="FieldScreen guarda el archivo tal como se eligió, hasta su límite de tamaño",
    ),
    "why-other-app": Message(
        en="FieldScreen starts no other app; the file is chosen with the question's Choose "
        "file button",
        es="FieldScreen no abre otras aplicaciones; el archivo se elige con el botón Elegir "
        "archivo de la pregunta",
    ),
    "why-rows": Message(
        en="the answer box keeps its own size",
        es="el cuadro de respuesta mantiene su propio tamaño",
    ),
    "why-range-slider": Message(
        en="a range is typed as a number, with no slider",
        es="un rango se escribe como un número, sin control deslizante",
    ),
    "why-audio-quality": Message(
        en="FieldScreen keeps the recording as it is chosen, up to its size limit",
        es="FieldScreen guarda la grabación tal como se eligió, hasta su límite de tamaño",
    ),
    # reasons a feature is refused by name (the {why} of the messages above)
    "why-types": Message(
        en="use one of the types listed in docs/forms.md",
        es="use uno de los tipos que lista docs/forms.md",
    ),
    "why-remove-row": Message(en="remove the row", es="quite la fila"),
    "why-background-audio": Message(
        en="FieldScreen never records audio in the background, it would record a child's "
        "voice; remove the row",
        es="FieldScreen nunca graba audio en segundo plano, grabaría la voz de un niño; quite "
        "la fila",
    ),
    "why-select-multiple-external": Message(
        en="external_choices need a server's itemsets; use select_multiple_from_file with a "
        "CSV list beside the form",
        es="external_choices necesita los itemsets de un servidor; use "
        "select_multiple_from_file con una lista CSV junto al formulario",
    ),
    "why-bind": Message(
        en="this bind attribute is not supported; use the relevant, required, constraint, "
        "calculation and read_only columns",
        es="este atributo bind no está admitido; use las columnas relevant, required, "
        "constraint, calculation y read_only",
    ),
    "why-randomize": Message(
        en="randomize() orders options at random, which FieldScreen does not do; remove it",
        es="randomize() ordena las opciones al azar, cosa que FieldScreen no hace; quítela",
    ),
    "why-version": Message(
        en="version() is not supported; use a calculate with the version as text",
        es="version() no está admitida; use un calculate con la versión como texto",
    ),
    "why-last-saved": Message(
        en="${{last-saved#...}} reads the last form saved on an ODK device; FieldScreen never "
        "copies one child's answers into another's screening; ask the question again",
        es="${{last-saved#...}} lee el último formulario guardado en un dispositivo ODK; "
        "FieldScreen nunca copia las respuestas de un niño en el tamizaje de otro; haga la "
        "pregunta de nuevo",
    ),
    "why-seed": Message(
        en="parameters seed= takes a number or a ${{field}} whose value seeds the order; "
        "{seed} is neither",
        es="parameters seed= lleva un número o un ${{field}} cuyo valor fija el orden; {seed} "
        "no es ninguno de los dos",
    ),
}

#: Words inside a message that are not names: "the end" of an expression, what a value must be.
_WORDS = {"the end": "el final", **dict(EXPECTED.values())}
#: Placeholders that hold one of the messages above (a reason), or words to translate.
_NESTED = {"why", "expected", "what"}


@lru_cache(maxsize=1)
def _patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Each message's English text as a pattern, the most specific (longest text) first."""
    found = []
    for code, message in DESIGNER.items():
        parts, fixed = [], 0
        for literal, name, _, _ in string.Formatter().parse(message.en):
            parts.append(re.escape(literal))
            fixed += len(literal)
            if name is not None:
                parts.append(f"(?P<{name}>.*?)")
        found.append((fixed, code, re.compile("^" + "".join(parts) + "$", re.DOTALL)))
    found.sort(key=lambda item: -item[0])
    return tuple((code, pattern) for _, code, pattern in found)


def designer_text(detail: str, lang: str) -> str | None:
    """``detail`` (a message the engine raised, in English) in ``lang``, or ``None`` when it
    is not one of :data:`DESIGNER` (pyxform's own messages are English only)."""
    if lang != "es":
        return detail
    for code, pattern in _patterns():
        match = pattern.match(detail)
        if match is None:
            continue
        values = {name: _part(name, value, lang) for name, value in match.groupdict().items()}
        return DESIGNER[code].es.format(**values)
    return None


def designer_codes(detail: str) -> tuple[str, ...]:
    """The codes of :data:`DESIGNER` that ``detail`` is made of (the message, then the reason
    inside it), or ``()`` for pyxform's own words."""
    for code, pattern in _patterns():
        match = pattern.match(detail)
        if match is not None:
            why = match.groupdict().get("why", "")
            return (code, *(designer_codes(why) if why else ()))
    return ()


def _part(name: str, value: str, lang: str) -> str:
    """One placeholder's value in ``lang``: names stay as written, reasons are translated."""
    if name in _NESTED:
        return _WORDS.get(value) or designer_text(value, lang) or value
    if name == "want":  # "1 to 2", "2 to any"
        return value.replace(" to any", " o más").replace(" to ", " a ")
    return value
