"""What XLSForm (as pyxform reads it) allows, and what FieldScreen does with each part of it.

pyxform's rules decide what a valid form is. Everything pyxform knows is here either supported,
accepted with a warning that says what FieldScreen does instead (a setting that only matters to
an ODK server, an image on a label), or refused *by name*, with what to do instead -- never
skipped without a word. The loader (:mod:`fieldscreen.forms.loader`) asks these tables.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "IGNORED_SETTINGS",
    "METADATA",
    "NO_GPS_METADATA",
    "REFUSED_METADATA",
    "REFUSED_TYPES",
    "canonical_header",
    "derived_version",
    "expand_loop",
    "near_miss",
    "randomized",
    "refused_expression",
    "refused_parameters",
]

#: Metadata question types FieldScreen fills itself, offline: type -> what the value is.
METADATA = {
    "start": "the moment the screening was started",
    "end": "the moment the screening was started (ODK: when it was finalised)",
    "today": "the day the screening was started",
    "deviceid": "the laptop's device id (the session context's 'device')",
    "username": "the signed-in staff member (the session context's 'staff')",
    "phonenumber": "empty: a laptop has no phone number",
    "email": "empty: FieldScreen does not read an account e-mail address",
    "subscriberid": "empty: a laptop has no SIM card",
    "simserial": "empty: a laptop has no SIM card",
}
#: Metadata that cannot be honoured, with what to do.
REFUSED_METADATA = {
    "background-audio": "FieldScreen never records audio in the background, it would record "
    "a child's voice; remove the row",
}
#: Places ODK records by GPS without asking (when the form opens, when a question is answered):
#: loaded as hidden questions that stay empty, as on a device without a fix, with a warning.
NO_GPS_METADATA = {
    "start-geopoint": "the laptop has no GPS, so no place is recorded; ask for the place in a "
    "geopoint question (typed) or a select_one of sites",
    "background-geopoint": "the laptop has no GPS, so no place is recorded when the trigger "
    "question is answered; ask for the place in a geopoint question (typed)",
}
#: Question types FieldScreen does not run, with what to do instead.
REFUSED_TYPES = {
    "select all that apply external": "external_choices need a server's itemsets; use "
    "select_multiple_from_file with a CSV list beside the form",
}
#: Settings that matter only to ODK servers or clients: accepted, with what FieldScreen does.
IGNORED_SETTINGS = {
    "public_key": "FieldScreen seals every screening for its own server; the form's public "
    "key is not used",
    "submission_url": "screenings go to the FieldScreen server by sync; the URL is not used",
    "auto_send": "screenings are sent by FieldScreen's sync",
    "auto_delete": "the vault keeps and deletes screenings by its own retention rules",
    "style": "FieldScreen shows one page for each top-level question or field-list group, "
    "whatever the style",
    "instance_name": "FieldScreen does not name a record from its answers, which could carry "
    "the child's details into lists",
    "allow_choice_duplicates": "",
    "clean_text_values": "",
    "namespaces": "",
    "omit_instanceID": "",
    "instance_xmlns": "",
    "name": "",
    "sms_keyword": "",
    "sms_separator": "",
    "sms_allow_media": "",
    "sms_date_format": "",
    "sms_datetime_format": "",
    "sms_response": "",
    "prefix": "",
    "compact_prefix": "",
    "compact_delimiter": "",
    "delimiter": "",
    "client_editable": "",
    "entities_version": "",
}
#: Aliases pyxform accepts in the settings sheet, to our names.
SETTINGS_ALIASES = {
    "id_string": "form_id",
    "set_form_id": "form_id",
    "title": "form_title",
    "set_form_title": "form_title",
}

_FUNCTIONS_REFUSED = {
    "randomize": "randomize() orders options at random, which FieldScreen does not do; remove it",
    "version": "version() is not supported; use a calculate with the version as text",
}
_LAST_SAVED = re.compile(r"\$\{last-saved#")
#: pulldata('TABLE', ...) with the table's name in quotes.
PULLDATA = re.compile(r"(?<![\w:-])pulldata\s*\(\s*(['\"])([^'\"]+)\1")


def canonical_header(header: str) -> tuple[str, ...]:
    """A survey or settings header as pyxform reads it: ``label:English`` -> ``('label',
    'English')``, ``bind:relevant`` -> ``('bind', 'relevant')``, ``TYPE`` -> ``('type',)``.

    pyxform's own header reader is used when this pyxform release has it; the fallback below
    follows the same rules (``::`` groups, else ``:`` outside ``jr:``, first token in snake
    case).
    """
    text = header.strip()
    if "::" in text:
        tokens = [t.strip() for t in text.split("::")]
    else:
        tokens = [t.strip() for t in text.split(":")]
        if "jr" in tokens:
            at = tokens.index("jr")
            if at + 1 < len(tokens):
                tokens = [*tokens[:at], f"jr:{tokens[at + 1]}", *tokens[at + 2 :]]
    first = "_".join(tokens[0].split()).lower() if tokens else ""
    return (first, *tokens[1:])


def near_miss(word: str, known: set[str]) -> str:
    """The known word that ``word`` is most likely a misspelling of, or ``''``.

    A word that only adds to a known one (``constraint-msg``, ``rules_notes``) is another
    column or sheet, not a misspelling.
    """
    low = word.lower()
    close = difflib.get_close_matches(low, sorted(known), n=1, cutoff=0.8)
    if not close or close[0] == low or low.startswith(close[0]):
        return ""
    return close[0]


def derived_version(path: Path) -> str:
    """The version of a form whose settings give none: its file's hash, so that a draft is
    pinned to the exact file it was started with."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return f"sha256-{digest[:16]}"


def randomized(parameters: Mapping[str, str]) -> bool:
    """Whether a question's choices are shown in an order shuffled for each record."""
    return str(parameters.get("randomize", "")).strip().lower() in {"true", "yes", "true()"}


_SEED = re.compile(r"^\s*(?:\$\{([^}]+)\}|-?[0-9]+(?:\.[0-9]*)?)\s*$")


def refused_parameters(parameters: dict[str, str]) -> str:
    """Why a question's parameters cannot be honoured, or ``''``."""
    seed = str(parameters.get("seed", "") or "")
    if seed and not _SEED.match(seed):
        return (
            "parameters seed= takes a number or a ${field} whose value seeds the order; "
            f"{seed!r} is neither"
        )
    return ""


def randomize_seed_field(parameters: Mapping[str, str]) -> str:
    """The field whose value seeds a randomized order (``seed=${field}``), or ``''``."""
    match = _SEED.match(str(parameters.get("seed", "") or ""))
    return match.group(1) if match and match.group(1) else ""


def refused_expression(text: str) -> str:
    """Why an expression uses something FieldScreen cannot honour offline, or ``''``."""
    if _LAST_SAVED.search(text):
        return (
            "${last-saved#...} reads the last form saved on an ODK device; FieldScreen never "
            "copies one child's answers into another's screening; ask the question again"
        )
    for name, why in _FUNCTIONS_REFUSED.items():
        if re.search(rf"(?<![\w:-]){re.escape(name)}\s*\(", text):
            return why
    return ""


_BIND_KINDS = {
    "string": "text",
    "int": "integer",
    "decimal": "decimal",
    "date": "date",
    "dateTime": "datetime",
    "time": "time",
}
_PRELOAD = {
    ("timestamp", "start"): "start",
    ("timestamp", "end"): "end",
    ("date", "today"): "today",
    ("property", "deviceid"): "deviceid",
    ("property", "uri:deviceid"): "deviceid",
    ("property", "username"): "username",
    ("property", "uri:username"): "username",
    ("property", "phonenumber"): "phonenumber",
    ("property", "uri:phonenumber"): "phonenumber",
    ("property", "email"): "email",
    ("property", "uri:email"): "email",
    ("property", "subscriberid"): "subscriberid",
    ("property", "uri:subscriberid"): "subscriberid",
    ("property", "simserial"): "simserial",
    ("property", "uri:simserial"): "simserial",
}
#: A media question's kind by its ``mediatype`` (``image/*`` ...); anything else is a file.
_MEDIA = {"image": "image", "audio": "audio", "video": "video"}


class Resolved:
    """What a pyxform question type is to FieldScreen."""

    __slots__ = ("constraint", "hint", "kind", "meta", "refused")

    def __init__(
        self,
        kind: str = "",
        meta: str = "",
        constraint: str = "",
        hint: str = "",
        refused: str = "",
    ) -> None:
        self.kind = kind
        self.meta = meta
        self.constraint = constraint
        self.hint = hint
        self.refused = refused


#: Types whose other spellings in pyxform's table are read as they are (barcode is typed).
_TWINS = {"note": "note", "acknowledge": "acknowledge", "barcode": "text", "calculate": "calculate"}


def resolve_type(json_kind: str) -> Resolved:
    """A question type pyxform knows under another spelling (``phone number``, ``start time``,
    ``imei``, ``gps``, ``q picture`` ...) as one of ours, or why it is refused."""
    if json_kind in REFUSED_METADATA:
        return Resolved(refused=REFUSED_METADATA[json_kind])
    if json_kind in REFUSED_TYPES:
        return Resolved(refused=REFUSED_TYPES[json_kind])
    if json_kind in NO_GPS_METADATA:
        return Resolved(kind="hidden")
    if json_kind == "trigger":
        return Resolved(kind="acknowledge")
    if json_kind == "geopoint":
        return GEOPOINT
    if json_kind in GEO_LINES:
        return GEO_LINES[json_kind]
    if json_kind == "barcode":  # no scanner on a laptop: the code is typed
        return Resolved(kind="text")
    if json_kind == "osm":
        return OSM
    try:
        from pyxform.question_type_dictionary import QUESTION_TYPE_DICT
    except ImportError:  # pragma: no cover - depends on the pyxform release
        return Resolved()
    spec = QUESTION_TYPE_DICT.get(json_kind)
    if not isinstance(spec, dict) or not spec:
        return Resolved()
    # pyxform's older spellings of a type (``add note prompt``, ``q barcode``) are the very
    # same type: the same entry of its table
    twin = next((t for t in _TWINS if t != json_kind and QUESTION_TYPE_DICT.get(t) == spec), "")
    if twin:
        return Resolved(kind=_TWINS[twin])
    bind = spec.get("bind", {}) or {}
    control = spec.get("control", {}) or {}
    preload = (bind.get("jr:preload", ""), bind.get("jr:preloadParams", ""))
    if preload in _PRELOAD:
        return Resolved(kind="hidden", meta=_PRELOAD[preload])
    bind_type = str(bind.get("type", ""))
    if bind_type == "geopoint" and control.get("tag") == "input":
        return GEOPOINT
    if bind_type in GEO_LINES:
        return GEO_LINES[bind_type]
    if bind_type == "odk:rank":
        return Resolved(kind="rank")
    if bind_type == "binary" and control.get("tag") == "upload":
        mediatype = str(control.get("mediatype", "")).partition("/")[0]
        return Resolved(kind=_MEDIA.get(mediatype, "file"))
    if control.get("tag") == "input" and bind_type in _BIND_KINDS:
        hint = spec.get("hint", "")
        return Resolved(
            kind=_BIND_KINDS[bind_type],
            constraint=str(bind.get("constraint", "") or ""),
            hint=hint if isinstance(hint, str) else "",
        )
    return Resolved()


#: A geopoint is typed in: latitude and longitude in degrees, then optionally the altitude
#: and the accuracy in metres, separated by spaces, as ODK stores it ("14.6349 -90.5069").
GEOPOINT_CONSTRAINT = (
    "regex(., '^-?[0-9]+[.]?[0-9]* +-?[0-9]+[.]?[0-9]*( +-?[0-9]+[.]?[0-9]*)?"
    "( +[0-9]+[.]?[0-9]*)?$') and abs(number(selected-at(., 0))) <= 90 "
    "and abs(number(selected-at(., 1))) <= 180"
)
GEOPOINT_HINT = {
    "en": "Type the latitude and longitude in degrees, separated by a space "
    "(for example 14.6349 -90.5069).",
    "es": "Escriba la latitud y la longitud en grados, separadas por un espacio "
    "(por ejemplo 14.6349 -90.5069).",
}
GEOPOINT = Resolved(kind="text", constraint=GEOPOINT_CONSTRAINT, meta="", hint="")
#: An OpenStreetMap question: its answer is an OSM XML file, as ODK Collect keeps the file
#: OpenMapKit saves. On the laptop the file is attached (one saved by JOSM or OpenMapKit, which
#: work offline), kept encrypted as the media questions' files are, and its tags are listed in
#: the hint.
OSM = Resolved(kind="file")
#: The hint of an OpenStreetMap question (after the question's own), ``{tags}`` the tags of its
#: list on the osm sheet (or nothing when it names no list).
OSM_HINT = {
    "en": "Attach the place as an OpenStreetMap file (.osm), as JOSM or OpenMapKit saves "
    "one{tags}.",
    "es": "Adjunte el lugar como un archivo de OpenStreetMap (.osm), como lo guardan JOSM u "
    "OpenMapKit{tags}.",
}
OSM_TAGS = {"en": ", with these tags: {tags}", "es": ", con estas etiquetas: {tags}"}
#: After the geopoint's hint, when the question has a ``warning-accuracy``: the message of a
#: point refused, whether its numbers or its accuracy are wrong.
ACCURACY_REFUSED = {
    "en": "An accuracy typed as the 4th number must be {limit} m or better: this form calls a "
    "worse one unacceptable, so take a better reading or leave the accuracy out.",
    "es": "Una precisión escrita como 4.º número debe ser de {limit} m o mejor: este formulario "
    "considera inaceptable una peor, así que tome una lectura mejor o no escriba la precisión.",
}


def _points(least: int, closed: bool = False) -> str:
    """A typed geotrace or geoshape: points as ODK stores them, ``lat lon [alt [accuracy]]``
    separated by ``;``, at least ``least`` of them, every one a point on the Earth (distance()
    is NaN for any other text), and for a shape the last written as the first."""
    check = (
        "translate(., '0123456789.-; ', '') = '' and "
        f"string-length(.) - string-length(translate(., ';', '')) >= {least - 1} and "
        "distance(.) >= 0"
    )
    if closed:
        check += r" and regex(normalize-space(.), '^([^; ][^;]*[^; ])[ ]*;.*;[ ]*\1$')"
    return check


#: geotrace (a line: 2 points or more) and geoshape (a closed shape: 4 points or more, the
#: last the same as the first, as ODK stores it) are typed in like a geopoint.
GEO_LINES = {
    "geotrace": Resolved(kind="text", constraint=_points(2)),
    "geoshape": Resolved(kind="text", constraint=_points(4, closed=True)),
}


def geo_line_kind(resolved: Resolved) -> str:
    """``geotrace`` or ``geoshape`` when ``resolved`` is one of them, else ``''``."""
    return next((kind for kind, line in GEO_LINES.items() if line is resolved), "")


GEO_LINE_HINT = {
    "en": "Type each point as latitude and longitude in degrees, the points separated by ';' "
    "(for example 14.6349 -90.5069; 14.6400 -90.5100).",
    "es": "Escriba cada punto como latitud y longitud en grados, con los puntos separados por "
    "';' (por ejemplo 14.6349 -90.5069; 14.6400 -90.5100).",
}
GEO_SHAPE_HINT = {
    "en": "Type each point as latitude and longitude in degrees, the points separated by ';', "
    "at least 4, the last the same as the first (for example 14.63 -90.50; 14.64 -90.50; "
    "14.64 -90.51; 14.63 -90.50).",
    "es": "Escriba cada punto como latitud y longitud en grados, con los puntos separados por "
    "';', al menos 4, el último igual al primero (por ejemplo 14.63 -90.50; 14.64 -90.50; "
    "14.64 -90.51; 14.63 -90.50).",
}


# ----------------------------------------------------------------------------- loops

_LOOP_TOKEN = re.compile(r"%\((name|label)\)s")
_REF = re.compile(r"\$\{([^}]+)\}")


def expand_loop(
    item: dict[str, Any], rows: dict[str, int], raw: dict[str, dict[str, str]]
) -> dict[str, Any]:
    """``begin loop over LIST`` as pyxform builds it: a group holding one group per choice of
    the list (``none`` left out), each with a copy of the loop's questions in which
    ``%(name)s`` and ``%(label)s`` are the choice's name and label (in each language).

    FieldScreen's names are unique in the whole form, so the group of choice ``pit`` in loop
    ``toilets`` is ``toilets_pit`` and its copy of question ``number`` is ``number_pit``;
    ``${number}`` inside the copy means the copy.
    ``rows`` and ``raw`` learn the new names at their template's row.
    """
    name = str(item.get("name", ""))
    body = list(item.get("children", []) or [])
    inner = _names(body)
    groups = []
    for column in item.get("columns", []) or []:
        choice = str(column.get("name", ""))
        if choice == "none":
            continue
        label = column.get("label", "")
        copier = _LoopCopy(choice, label, {n: _renamed(n, choice) for n in inner}, rows, raw)
        copies = [copier.copy(child) for child in body]
        group_name = f"{name}_{choice}"
        rows.setdefault(group_name, rows.get(name, 0))
        groups.append({"type": "group", "name": group_name, "label": label, "children": copies})
    out = {k: v for k, v in item.items() if k not in {"columns", "children"}}
    out["type"] = "group"
    out["children"] = groups
    return out


def _names(items: list[Any]) -> set[str]:
    found: set[str] = set()
    for child in items:
        if isinstance(child, dict):
            found.add(str(child.get("name", "")))
            found |= _names(list(child.get("children", []) or []))
    return found


def _renamed(name: str, choice: str) -> str:
    return f"{name}_{choice}"


class _LoopCopy:
    """One choice's copy of a loop's questions."""

    def __init__(
        self,
        choice: str,
        label: Any,
        renamed: dict[str, str],
        rows: dict[str, int],
        raw: dict[str, dict[str, str]],
    ) -> None:
        self.choice, self.label, self.renamed = choice, label, renamed
        self.rows, self.raw = rows, raw

    def text(self, value: str, lang: str | None) -> str:
        def token(match: re.Match[str]) -> str:
            if match.group(1) == "name":
                return self.choice
            if isinstance(self.label, Mapping):
                labels = self.label
                return str(labels[lang] if lang in labels else next(iter(labels.values()), ""))
            return str(self.label)

        text = _LOOP_TOKEN.sub(token, value)
        return _REF.sub(lambda m: "${" + self.renamed.get(m.group(1), m.group(1)) + "}", text)

    def copy(self, value: Any, lang: str | None = None) -> Any:
        """A deep copy of one loop question (or part of it) for this choice."""
        if isinstance(value, str):
            return self.text(value, lang)
        if isinstance(value, list):
            return [self.copy(v, lang) for v in value]
        if not isinstance(value, Mapping):
            return value
        out: dict[str, Any] = {}
        # A mapping of texts by language takes the choice's label in the same language.
        texts = all(isinstance(v, str) for v in value.values()) and "type" not in value
        for key, inner in value.items():
            if key == "name" and isinstance(inner, str) and inner in self.renamed:
                new = self.renamed[inner]
                out[key] = new
                self.rows.setdefault(new, self.rows.get(inner, 0))
                if inner in self.raw:
                    self.raw.setdefault(new, self.raw[inner])
                continue
            out[key] = self.copy(inner, key if texts else lang)
        return out
