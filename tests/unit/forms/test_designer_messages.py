"""What a form designer reads when a form is refused is in English and in Spanish.

Every message the engine's code can raise (read from the source, so that a new message without
its Spanish fails here) and every reason a feature is refused by name has its entry in
``fieldscreen.forms.errors.DESIGNER``; only pyxform's own messages stay in English, and the
Spanish says they are pyxform's.
"""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from fieldscreen.forms import FormError, compat
from fieldscreen.forms.errors import DESIGNER, designer_text
from tests.unit.forms.helpers import form

SOURCE = Path(__file__).parents[3] / "fieldscreen" / "forms"


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("code", sorted(DESIGNER))
def test_every_designer_message_has_its_spanish_with_the_same_placeholders(code: str) -> None:
    message = DESIGNER[code]
    assert message.en.strip() and message.es.strip()
    assert message.en != message.es
    assert _fields(message.en) == _fields(message.es)


def _template(node: ast.expr) -> str | None:
    """The text a message expression gives, with ``'x'`` for each value put into it."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(str(v.value) if isinstance(v, ast.Constant) else "'x'" for v in node.values)
    if isinstance(node, ast.IfExp):
        return _template(node.body)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return (_template(node.left) or "remove the row") + (_template(node.right) or "'x'")
    return None


def _raised() -> list[tuple[str, int, str]]:
    found = []
    for path in sorted(SOURCE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name == "append" and "warnings" in ast.unparse(func):
                name = "warning"
            if name not in {"FormError", "error", "fail", "warning"}:
                continue
            # fail(detail, row, column) on the rules sheets; fail(owner, aspect, detail) else
            arg = node.args[0]
            if name == "fail" and _template(arg) is None and len(node.args) == 3:
                arg = node.args[2]
            text = _template(arg)
            if text:
                found.append((path.name, node.lineno, text))
    return found


def test_every_message_and_warning_the_engine_gives_is_in_both_languages() -> None:
    raised = _raised()
    assert len(raised) > 90  # the scan finds the engine's messages and warnings
    missing = [f"{f}:{line}: {text}" for f, line, text in raised if not _spanish(text)]
    assert missing == []


def _spanish(text: str) -> bool:
    es = designer_text(text, "es")
    return es is not None and es != text


def test_every_reason_a_feature_is_refused_for_is_in_both_languages() -> None:
    from fieldscreen.forms.loader import (
        _BIND_NOT_APPLIED,
        _PARAMETERS_NOT_APPLIED,
        _REFUSED_COLUMNS,
        _SHOWN_NOWHERE,
    )

    reasons = [
        *_SHOWN_NOWHERE.values(),
        *_BIND_NOT_APPLIED.values(),
        *_PARAMETERS_NOT_APPLIED.values(),
        *(why for why in compat.IGNORED_SETTINGS.values() if why),
        *(why for why in compat.METADATA.values() if why.startswith("empty:")),
        *compat.REFUSED_METADATA.values(),
        *compat.NO_GPS_METADATA.values(),
        *compat.REFUSED_TYPES.values(),
        *compat._FUNCTIONS_REFUSED.values(),
        *_REFUSED_COLUMNS.values(),
        compat.refused_parameters({"seed": "nonsense"}),
        compat.refused_expression("${last-saved#age}"),
    ]
    assert all(reasons)
    assert [r for r in reasons if not _spanish(r)] == []


@pytest.mark.parametrize(
    ("md", "english", "spanish"),
    [
        (
            "| survey |\n| | type | name | label |\n| | background-audio | r | Start |\n",
            "the question type 'background-audio' is not supported; FieldScreen never records",
            "el tipo de pregunta 'background-audio' no está admitido; FieldScreen nunca graba "
            "audio en segundo plano, grabaría la voz de un niño; quite la fila",
        ),
        (
            "| survey |\n| | type | name | label | relevant |\n| | text | a | A | foo(1) |\n",
            "unknown function foo()",
            "función desconocida foo()",
        ),
        (
            "| survey |\n| | type | name | label | relevant |\n| | text | a | A | label::en = 1 |\n",
            "label:: is not an XPath axis, so ODK cannot read the expression either",
            "label:: no es un eje de XPath, así que ODK tampoco puede leer la expresión",
        ),
        (
            "| survey |\n| | type | name | label | relevant |\n| | text | a | A | child::b = 1 |\n",
            "XPath axes ('::') are not supported",
            "los ejes de XPath ('::') no están admitidos",
        ),
        (
            "| survey |\n| | type | name | label | relevent |\n| | text | a | A | 1 |\n",
            "the column 'relevent' looks like a misspelling of 'relevant'",
            "la columna 'relevent' parece un error de escritura de 'relevant'",
        ),
        (
            "| survey |\n| | type | name | label | calculation |\n| | calculate | c | | it's 2 |\n",
            'the quote "\'" at position 3 opens a text that is never closed; close it with the '
            "same quote, or remove it if the cell is not meant as text",
            'la comilla "\'" en la posición 3 abre un texto que nunca se cierra; ciérrelo con la '
            "misma comilla, o quítela si la celda no es un texto",
        ),
        (
            "| survey |\n| | type | name | label | calculation |\n| | calculate | c | | $(a) |\n",
            "$( at position 1 is no field reference; write the field as ${name}, with braces",
            "$( en la posición 1 no es una referencia a un campo; escriba el campo como ${name}",
        ),
        (
            "| survey |\n| | type | name | label | calculation |\n| | calculate | c | | 2 £ |\n",
            "unexpected character '£' at position 3; check the expression",
            "carácter inesperado '£' en la posición 3; revise la expresión",
        ),
    ],
)
def test_a_refusal_reads_in_the_designers_language_at_its_cell(
    md: str, english: str, spanish: str
) -> None:
    with pytest.raises(FormError) as caught:
        form(md)
    assert english in caught.value.message("en")
    assert spanish in caught.value.message("es")
    assert caught.value.message("es").startswith(caught.value.location + ": ")


def test_pyxforms_own_words_are_said_to_be_pyxforms_in_spanish() -> None:
    md = "| survey |\n| | type | name | label |\n| | begin group | g | G |\n"
    with pytest.raises(FormError) as caught:
        form(md)
    assert "pyxform, que lee el formulario, dice (en inglés):" in caught.value.message("es")
    assert "pyxform" not in caught.value.message("en").split(": ", 1)[0]


def test_forms_validate_speaks_the_apps_language(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from fieldscreen.cli import main

    path = tmp_path / "f.md"
    path.write_text("| survey |\n| | type | name | label |\n| | background-audio | o | O |\n")
    assert main(["--lang", "es", "forms", "validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert "FieldScreen nunca graba audio en segundo plano" in err
    assert main(["--lang", "en", "forms", "validate", str(path)]) == 1
    assert "FieldScreen never records audio in the background" in capsys.readouterr().err
    path.write_text(
        "| survey |\n| | type | name | label | media::image |\n| | text | t | T | a.png |\n"
    )
    assert main(["--lang", "es", "forms", "validate", str(path)]) == 0
    assert "la columna 'media::image' se ignora: los medios de las etiquetas" in (
        capsys.readouterr().out
    )
