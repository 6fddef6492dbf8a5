"""The Spanish a specialist and a child read: plain words, no "NNA", the glossary's terms.

The text is gathered from everything the product shows or prints in Spanish: every Spanish cell
of the six built-in forms (all sheets), the Spanish column of every shared list, the UI's
translations, the Spanish string literals of the package (error catalogue, handover packet,
reports) and the sample service directories.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tokenize
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

from tests.content.builtin import sheets
from tests.content.scenarios import FORM_IDS, LISTS, ROOT

PACKAGE = ROOT / "fieldscreen"
TRANSLATIONS = ROOT / "resources" / "translations" / "fieldscreen_es.ts"
SAMPLES = ROOT / "resources" / "samples"

# "NNA" (niñas, niños y adolescentes) is case-work shorthand; agency and law names that contain
# it (PPNNA, PFPNNA, LGDNNA) are proper names and stay.
NNA = re.compile(r"\bNNA\b")


def _form_texts() -> Iterator[tuple[str, str]]:
    for form_id in FORM_IDS:
        for sheet, rows in sheets(form_id).items():
            for row in rows:
                for column, value in row.items():
                    if column.endswith("(es)"):
                        yield f"{form_id}.{sheet}.{row.get('name', '?')}.{column}", value


def _list_texts() -> Iterator[tuple[str, str]]:
    for path in sorted(LISTS.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                assert None not in row, f"{path.name}: a row has more cells than the header"
                for column, value in row.items():
                    if column.endswith("(es)") and value:
                        yield f"{path.name}:{row['name']}", value


def _ui_texts() -> Iterator[tuple[str, str]]:
    for context in ET.parse(TRANSLATIONS).getroot().iter("context"):
        name = context.findtext("name", "")
        for message in context.iter("message"):
            text = message.findtext("translation") or ""
            if text:
                yield f"ui:{name}:{message.findtext('source', '')[:40]}", text


def _package_strings() -> Iterator[tuple[str, str]]:
    """String literals of the package's modules (not comments), e.g. the error catalogue's es=."""
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.STRING:
                yield f"{path.relative_to(ROOT)}:{token.start[0]}", token.string


def _directory_texts() -> Iterator[tuple[str, str]]:
    def walk(node: object, where: str) -> Iterator[tuple[str, str]]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "es" and isinstance(value, str):
                    yield where, value
                else:
                    yield from walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                yield from walk(value, f"{where}[{i}]")

    for path in sorted(SAMPLES.glob("*.json")):
        yield from walk(json.loads(path.read_text(encoding="utf-8")), path.name)


@cache
def spanish_texts() -> tuple[tuple[str, str], ...]:
    """Every Spanish text the product shows, each with where it comes from."""
    return (
        *_form_texts(),
        *_list_texts(),
        *_ui_texts(),
        *_package_strings(),
        *_directory_texts(),
    )


@pytest.mark.parametrize(
    "source",
    ["forms", "lists", "ui", "package", "directories"],
)
def test_no_spanish_text_says_nna(source: str) -> None:
    """Neither the child nor the staff read "NNA": the text says "la niña o el niño" or
    "niñas, niños y adolescentes" as the sentence needs (docs/glossary-es.md)."""
    texts = {
        "forms": _form_texts,
        "lists": _list_texts,
        "ui": _ui_texts,
        "package": _package_strings,
        "directories": _directory_texts,
    }[source]()
    collected = list(texts)
    assert collected, f"no Spanish text found in {source}"
    offending = [where for where, text in collected if NNA.search(text)]
    assert not offending, offending


def test_the_nna_check_sees_agency_names_apart_from_the_shorthand() -> None:
    assert NNA.search("Si el NNA no sabe")
    assert NNA.search("NNA no acompañado")
    assert not NNA.search("Notificar a la PPNNA según la LGDNNA; la PFPNNA")


def test_every_source_of_spanish_text_is_read() -> None:
    """The gathering reaches each place: a form's hint, a list label, a UI string, an error
    message and a directory entry, so a check over it cannot pass by reading nothing."""
    wheres = [where for where, _ in spanish_texts()]
    assert any(
        w.startswith("fs_intake.survey.") and w.endswith("hint::Español (es)") for w in wheres
    )
    assert any(w.startswith("fs_intake.rules.") for w in wheres)
    assert any(w.startswith("stop_reasons.csv:") for w in wheres)
    assert any(w.startswith("ui:ActNowBanner") for w in wheres)
    assert any(w.startswith(str(Path("fieldscreen") / "errors.py")) for w in wheres)
    assert any(w.startswith("service-directory-mx.json") for w in wheres)
