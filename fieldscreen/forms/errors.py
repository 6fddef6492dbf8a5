"""Errors of the form engine.

* :class:`FormError` -- a form file is wrong or uses something the engine does not support. It
  names the place as ``FILE:sheet:row:column`` and says what to do.
* :class:`AnswerError` -- a value given for a field does not fit its type (a date that is not a
  date, a choice that is not in the list).
* :class:`FormVersionError` -- saved answers belong to another version of the form.
* :class:`OverrideError` -- a tier override without a reason or a supervisor.
* :class:`ReleaseError` -- lifting a withheld recipient or declined service without what it needs.

None of them ever carries an answer in its message: only field names, sheets and positions.
"""

from __future__ import annotations

from fieldscreen.errors import KnownError, render

__all__ = ["EXPECTED", "AnswerError", "FormError", "FormVersionError", "OverrideError"]


class FormError(KnownError):
    """A mistake in a form, or a feature the engine does not support.

    ``str(error)`` is ``FILE:sheet:row:column: message``; unknown parts are left out.
    """

    exit_code = 1

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

    def message(self, lang: str = "en") -> str:
        return render("form-invalid", lang, location=self.location, detail=self.detail)


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
    "computed": ("left to the form, which computes it", "dejada al formulario, que la calcula"),
    "field": ("the name of a field of this form", "el nombre de un campo de este formulario"),
    "instance": ("in an entry that exists", "de una entrada que existe"),
    "repeat": ("a repeat whose entries are added by hand", "una repetición con entradas a mano"),
    "counted": ("changed through its count question", "cambiada con su pregunta de cantidad"),
    "too_many": ("at most 500 entries", "como máximo 500 entradas"),
}


class AnswerError(KnownError):
    """A value does not fit the field it was given for (``expected``: a key of EXPECTED)."""

    def __init__(self, field: str, expected: str) -> None:
        self.field = field
        self.expected = expected
        super().__init__("form-answer-invalid", field=field, expected=expected)

    def message(self, lang: str = "en") -> str:
        en, es = EXPECTED[self.expected]
        return render(
            "form-answer-invalid", lang, field=self.field, expected=es if lang == "es" else en
        )


class FormVersionError(KnownError):
    """Saved answers were made with another version of the form."""

    def __init__(self, form_id: str, saved: str, loaded: str) -> None:
        super().__init__("form-version-mismatch", form_id=form_id, saved=saved, loaded=loaded)


class OverrideError(KnownError):
    """A tier override lacks what it needs: ``tier``, ``reason`` or ``supervisor``."""

    def __init__(self, missing: str) -> None:
        self.missing = missing
        super().__init__(f"form-override-{missing}")


class ReleaseError(KnownError):
    """Lifting a withheld recipient or a declined service lacks what it needs: ``name`` (not
    withheld by the form), ``reason`` or ``supervisor``."""

    def __init__(self, missing: str) -> None:
        self.missing = missing
        super().__init__(f"form-release-{missing}")
