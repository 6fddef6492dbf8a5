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

from tests.content.builtin import ES, is_staff_record, read_list, sheets, survey_with_groups
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


# The glossary (docs/glossary-es.md): the chosen terms are used, the rejected ones are not.

GLOSSARY = ROOT / "docs" / "glossary-es.md"
TERM = re.compile(r"«([^»]+)»")


def _child_texts(language: str = ES) -> Iterator[tuple[str, str]]:
    """The questions put to the child and their answer choices, in Spanish (or ``language``)."""
    for form_id in FORM_IDS:
        choices = sheets(form_id).get("choices", [])
        for row, _ in survey_with_groups(form_id):
            kind, _, list_name = row.get("type", "").partition(" ")
            if kind.split("_from_file")[0] not in CHILD_QUESTION_TYPES or is_staff_record(row):
                continue
            yield f"{form_id}.{row['name']}", row.get(f"label::{language}", "")
            if kind.startswith("select"):
                options = (
                    read_list(list_name)
                    if kind.endswith("_from_file")
                    else [c for c in choices if c.get("list_name") == list_name]
                )
                for option in options:
                    yield (
                        f"{form_id}.{row['name']}.{option['name']}",
                        option.get(f"label::{language}", ""),
                    )


CHILD_QUESTION_TYPES = {
    "select_one",
    "select_multiple",
    "text",
    "integer",
    "decimal",
    "date",
    "datetime",
}


def _scope(where: str) -> tuple[tuple[str, str], ...]:
    if where == "everywhere":
        return spanish_texts()
    if where == "app":
        return (*_ui_texts(), *_package_strings())
    if where == "screens":
        return tuple(_ui_texts())
    if where == "child":
        return tuple(_child_texts())
    raise AssertionError(f"docs/glossary-es.md: unknown Where {where!r}")


def glossary_rows() -> list[dict[str, str]]:
    """The glossary's table, one dict per row keyed by the header."""
    lines = [
        line for line in GLOSSARY.read_text(encoding="utf-8").splitlines() if line.startswith("|")
    ]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    rows = []
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows.append(dict(zip(header, cells, strict=True)))
    return rows


def _word(term: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w){re.escape(term)}(?!\w)", re.IGNORECASE)


def _found(term: str, texts: tuple[tuple[str, str], ...]) -> list[str]:
    pattern = _word(term)
    return [where for where, text in texts if pattern.search(text)]


def test_the_glossary_has_its_columns_and_chosen_terms() -> None:
    rows = glossary_rows()
    assert len(rows) >= 15
    for row in rows:
        assert set(row) == {"English", "Use", "Not", "Where", "Notes"}, row
        assert TERM.findall(row["Use"]), f"{row['English']}: no term in «» under Use"
        assert row["Where"] in {"everywhere", "app", "screens", "child"}, row


@pytest.mark.parametrize("row", glossary_rows(), ids=lambda row: row["English"])
def test_the_glossary_terms_are_used_and_the_rejected_ones_are_not(row: dict[str, str]) -> None:
    texts = _scope(row["Where"])
    assert texts, row["Where"]
    unused = [term for term in TERM.findall(row["Use"]) if not _found(term, texts)]
    assert not unused, f"{row['English']}: chosen terms found nowhere ({row['Where']}): {unused}"
    rejected = {term: _found(term, texts) for term in TERM.findall(row["Not"])}
    rejected = {term: wheres[:8] for term, wheres in rejected.items() if wheres}
    assert not rejected, f"{row['English']}: rejected terms in use ({row['Where']}): {rejected}"


def test_the_glossary_check_matches_whole_words_ignoring_case() -> None:
    texts = (("a", "Los tamizajes de esta computadora"), ("b", "derivación de claves"))
    assert _found("computadora", texts) == ["a"]
    assert _found("Computadora", texts) == ["a"]
    assert not _found("tamizaje", texts)  # "tamizajes" is another word
    assert not _found("ación", texts)
    assert _found("cuidador(a)", (("c", "Con su cuidador(a) de costumbre"),)) == ["c"]


# One voice in a list the child hears: the answer choices speak as the child ("Con mi mamá o mi
# papá", "Me perdí en el camino"), not about the child ("Con su madre o padre") beside them.

FIRST_PERSON = re.compile(r"(?<!\w)(mi|mis|me|conmigo)(?!\w)", re.IGNORECASE)
THIRD_POSSESSIVE = re.compile(r"(?<!\w)(su|sus)(?!\w)", re.IGNORECASE)


def _child_answer_lists() -> Iterator[tuple[str, str, list[str]]]:
    """(form, question, Spanish answer choices) of each choice question put to the child."""
    for form_id in FORM_IDS:
        choices = sheets(form_id).get("choices", [])
        for row, _ in survey_with_groups(form_id):
            kind, _, list_name = row.get("type", "").partition(" ")
            if not kind.startswith("select") or is_staff_record(row):
                continue
            options = (
                read_list(list_name)
                if kind.endswith("_from_file")
                else [c for c in choices if c.get("list_name") == list_name]
            )
            yield form_id, row["name"], [o.get(f"label::{ES}", "") for o in options]


def mixed_voice(labels: list[str]) -> tuple[list[str], list[str]]:
    """The labels that speak as the child and those that say "su" of them, if a list has both."""
    first = [label for label in labels if FIRST_PERSON.search(label)]
    third = [label for label in labels if THIRD_POSSESSIVE.search(label)]
    return (first, third) if first and third else ([], [])


def test_the_mixed_voice_check_sees_su_beside_mi() -> None:
    assert mixed_voice(["Con su madre o padre", "Con mi mamá o mi papá", "Otro"]) == (
        ["Con mi mamá o mi papá"],
        ["Con su madre o padre"],
    )
    assert mixed_voice(["Me perdí en el camino", "Huyó de la violencia en su familia"])[0]
    assert mixed_voice(["Con su madre o padre", "Con otros familiares"]) == ([], [])
    assert mixed_voice(["Con mi mamá", "Subir al tren", "Mismo lugar"]) == ([], [])


def test_no_answer_list_the_child_hears_mixes_first_and_third_person() -> None:
    """Within one list, and across the lists of one form the child hears in one sitting."""
    lists = list(_child_answer_lists())
    assert len(lists) > 50
    offending = {
        f"{form_id}.{name}": mixed
        for form_id, name, labels in lists
        if (mixed := mixed_voice(labels))[0]
    }
    for form_id in FORM_IDS:
        labels = [label for f, _, options in lists if f == form_id for label in options]
        if (mixed := mixed_voice(labels))[0]:
            offending[form_id] = mixed
    assert not offending, offending


def test_the_child_answers_never_say_su_of_the_child() -> None:
    """An answer the child gives is in their own voice; "su" in it would be someone else's."""
    offending = [
        f"{form_id}.{name}: {label}"
        for form_id, name, labels in _child_answer_lists()
        for label in labels
        if THIRD_POSSESSIVE.search(label)
    ]
    assert not offending, offending


CHILD = re.compile(r"(?<!\w)(la niña o (?:el|al) niño)(?!\w)", re.IGNORECASE)


def test_a_rule_message_names_the_child_once_then_uses_a_pronoun() -> None:
    """Saying "la niña o el niño" twice in one message reads heavily; the second time is "lo"."""
    offending = [
        f"{form_id}.{row.get('name')}"
        for form_id in FORM_IDS
        for row in sheets(form_id).get("rules", [])
        for column, value in row.items()
        if column.endswith("(es)") and len(CHILD.findall(value or "")) > 1
    ]
    assert not offending, offending


# The English the child hears is as plain as the Spanish: no care-work or legal jargon.

ENGLISH_JARGON = (
    "recruited",
    "extortion",
    "residential care",
    "foster care",
    "care arrangement",
    "customary caregiver",
    "unrelated adult",
    "entrusted",
    "abandonment",
    "repatriation",
    "holding facility",
)


def test_the_english_the_child_hears_has_no_care_or_legal_jargon() -> None:
    texts = []
    for form_id in FORM_IDS:
        choices = sheets(form_id).get("choices", [])
        for row, _ in survey_with_groups(form_id):
            kind, _, list_name = row.get("type", "").partition(" ")
            if kind.split("_from_file")[0] not in CHILD_QUESTION_TYPES or is_staff_record(row):
                continue
            texts.append((f"{form_id}.{row['name']}", row.get("label::English (en)", "")))
            if kind.startswith("select"):
                options = (
                    read_list(list_name)
                    if kind.endswith("_from_file")
                    else [c for c in choices if c.get("list_name") == list_name]
                )
                texts += [
                    (f"{form_id}.{row['name']}.{o['name']}", o.get("label::English (en)", ""))
                    for o in options
                ]
    assert len(texts) > 500
    found = {term: _found(term, tuple(texts))[:5] for term in ENGLISH_JARGON}
    assert not {term: wheres for term, wheres in found.items() if wheres}


# The don't-know and declined choices: the child answers in their own voice ("No sé",
# "Prefiero no responder"); a question the specialist answers says "No se sabe" and "Prefiere no
# responder". A list of one form is either the child's or the staff's, never both.

DONT_KNOW = {"unknown", "not_sure", "dont_know"}
CHILD_VOICE = {
    "dont_know": ("I don't know", "No sé"),
    "declined": ("I'd rather not say", "Prefiero no responder"),
}
STAFF_VOICE = {
    "dont_know": ("Unknown", "No se sabe"),
    "declined": ("Prefers not to say", "Prefiere no responder"),
}


def _lists_by_who_answers() -> dict[str, tuple[set[str], list[dict[str, str]]]]:
    """Each choice list in use (``form:list`` or a shared ``file.csv``): who answers the
    questions that use it (``child``, ``staff``) and its choices."""
    found: dict[str, tuple[set[str], list[dict[str, str]]]] = {}
    for form_id in FORM_IDS:
        choices = sheets(form_id).get("choices", [])
        for row, _ in survey_with_groups(form_id):
            kind, _, list_name = row.get("type", "").partition(" ")
            if not kind.startswith("select"):
                continue
            shared = kind.endswith("_from_file")
            key = list_name if shared else f"{form_id}:{list_name}"
            options = (
                list(read_list(list_name))
                if shared
                else [c for c in choices if c.get("list_name") == list_name]
            )
            who, _ = found.setdefault(key, (set(), options))
            who.add("staff" if is_staff_record(row) else "child")
    return found


def voice_offences(lists: dict[str, tuple[set[str], list[dict[str, str]]]]) -> list[str]:
    """The don't-know and declined choices not in the voice of who answers: the child's in a
    list any child question uses, the staff's in a list only staff questions use."""
    offending = []
    for key, (who, options) in sorted(lists.items()):
        mixed = "child" in who and "staff" in who and not key.endswith(".csv")
        if mixed and any(o["name"] in DONT_KNOW | {"declined"} for o in options):
            offending.append(f"{key}: one list for the child and the staff")
        voice = CHILD_VOICE if "child" in who else STAFF_VOICE
        for option in options:
            kind = "dont_know" if option["name"] in DONT_KNOW else option["name"]
            if kind not in voice:
                continue
            said = (option.get("label::English (en)", ""), option.get(f"label::{ES}", ""))
            if said != voice[kind]:
                offending.append(f"{key}.{option['name']}: {said} instead of {voice[kind]}")
    return offending


def test_the_voice_check_sees_a_third_person_answer_and_a_list_used_by_both() -> None:
    child = [{"name": "yes"}, {"name": "unknown", "label::English (en)": "Doesn't know"}]
    assert voice_offences({"f:ynu": ({"child"}, child)}) == [
        "f:ynu.unknown: (\"Doesn't know\", '') instead of (\"I don't know\", 'No sé')"
    ]
    staff = [{"name": "not_sure", "label::English (en)": "Unknown", f"label::{ES}": "No se sabe"}]
    assert voice_offences({"f:yns_staff": ({"staff"}, staff)}) == []
    assert voice_offences({"f:yns": ({"staff", "child"}, staff)})[0].endswith("and the staff")
    assert voice_offences({"f.csv": ({"staff", "child"}, staff)})  # shared: the child's voice


def test_the_child_says_no_se_and_the_specialist_records_no_se_sabe() -> None:
    """About 100 yes/no questions: their don't-know choice is "No sé" when the child answers and
    "No se sabe" when the specialist does; a shared list any child question uses speaks as the
    child (docs/glossary-es.md)."""
    lists = _lists_by_who_answers()
    child = [
        k
        for k, (who, opts) in lists.items()
        if "child" in who and any(o["name"] in DONT_KNOW for o in opts)
    ]
    staff = [
        k
        for k, (who, opts) in lists.items()
        if who == {"staff"} and any(o["name"] in DONT_KNOW for o in opts)
    ]
    assert len(child) >= 15, child
    assert len(staff) >= 5, staff
    assert not voice_offences(lists)


# No acronym stands for words in what the child hears: the plain words come first and the name the
# child may know follows in brackets ("En una casa del gobierno donde cuidan a niñas y niños
# (DIF)", "Documento Personal de Identificación (DPI)"). Staff text keeps its acronyms.

ACRONYM = re.compile(r"(?<!\w)[A-ZÁÉÍÓÚÑ]{2,}(?!\w)")
BRACKETED = re.compile(r"\([^()]*\)")
EVERYDAY = {"OK", "ID"}  # said by children as words, not read as letters standing for names


def bare_acronyms(text: str) -> list[str]:
    """The acronyms of ``text`` outside brackets, and those of a bracket with no words before it."""
    found = ACRONYM.findall(text if BRACKETED.match(text.strip()) else BRACKETED.sub("", text))
    return [word for word in found if word not in EVERYDAY]


def test_the_acronym_check_sees_a_bare_acronym_and_passes_an_explained_one() -> None:
    assert bare_acronyms("En una casa del DIF (del gobierno)") == ["DIF"]
    assert bare_acronyms("CURP") == ["CURP"]
    assert bare_acronyms("(DIF) una casa") == ["DIF"]
    assert bare_acronyms("En una casa del gobierno donde cuidan a niñas y niños (DIF)") == []
    assert bare_acronyms("A quién quiero o quién soy (LGBTIQ+)") == []
    assert bare_acronyms("¿Tienes algún documento? Sí") == []
    assert bare_acronyms("Is that OK? Does someone keep your ID?") == []


@pytest.mark.parametrize("language", [ES, "English (en)"])
def test_the_child_hears_no_acronym_without_plain_words_before_it(language: str) -> None:
    texts = list(_child_texts(language))
    assert len(texts) > 500
    offending = [f"{where}: {text}" for where, text in texts if bare_acronyms(text)]
    assert not offending, offending
