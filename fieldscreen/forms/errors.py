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

from typing import Any

from fieldscreen.errors import KnownError, render

__all__ = [
    "EXPECTED",
    "AnswerError",
    "FormDataError",
    "FormError",
    "FormVersionError",
    "OverrideError",
    "ReleaseError",
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
