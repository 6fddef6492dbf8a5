"""The immutable model of a loaded form: what the session runs and the UI renders.

Texts that can be translated are :class:`Texts`: a read-only mapping of language code (``en``,
``es``) to text; :meth:`Texts.get` falls back to the form's default language and then to any
language, so a form with one language still shows something in the other.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fieldscreen.vocabulary import KINDS, TIERS

if TYPE_CHECKING:
    from fieldscreen.forms.program import Program

__all__ = [
    "INPUT_KINDS",
    "KINDS",
    "MEDIA_KINDS",
    "TIERS",
    "Choice",
    "Deadline",
    "Entity",
    "Field",
    "Form",
    "Page",
    "Rule",
    "Texts",
    "Title",
    "language_key",
]

#: Kinds that take an answer from the person filling the form.
INPUT_KINDS = frozenset(
    {
        "text",
        "integer",
        "decimal",
        "date",
        "datetime",
        "time",
        "select_one",
        "select_multiple",
        "rank",
        "image",
        "audio",
        "video",
        "file",
        "acknowledge",
    }
)
#: Kinds whose answer is an attached file (kept encrypted with the record; the answer is the
#: attachment's file name, as ODK stores it).
MEDIA_KINDS = frozenset({"image", "audio", "video", "file"})
SENSITIVITIES = ("low", "sensitive", "identifying")

_LANG_CODE = re.compile(r"\(([A-Za-z-]+)\)\s*$")
#: Language names a form's columns use without a code, as their code.
_LANG_NAMES = {
    "english": "en",
    "inglés": "en",
    "ingles": "en",
    "spanish": "es",
    "español": "es",
    "espanol": "es",
    "castellano": "es",
}


def language_key(name: str) -> str:
    """A language as the forms key it: ``English (en)``, ``en``, ``EN`` and ``English`` are all
    ``en``; ``Español (es)``, ``Spanish`` and ``es`` are ``es``; another name is itself in
    lower case. ``--lang`` may be given either way, as the workbook's columns spell it."""
    text = str(name).strip()
    match = _LANG_CODE.search(text)
    if match:
        return match.group(1).lower()
    low = text.lower()
    return _LANG_NAMES.get(low, low)


class Texts(Mapping[str, str]):
    """Translations of one text, by language code."""

    __slots__ = ("_default", "_items")

    def __init__(self, items: Mapping[str, str] | None = None, default: str = "en") -> None:
        self._items = dict(items or {})
        self._default = default

    def __getitem__(self, key: str) -> str:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Texts({self._items!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and dict(self.items()) == dict(other.items())

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._items.items())))

    def get(self, lang: str, default: Any = "") -> str:
        """The text in ``lang``, else in the form's default language, else any, else ``''``.

        ``lang`` may be a code (``es``) or the language as a column names it (``Español
        (es)``, ``Spanish``)."""
        if lang in self._items:
            return self._items[lang]
        key = language_key(lang)
        for item, text in self._items.items():
            if item == key or language_key(item) == key:
                return text
        if self._default in self._items:
            return self._items[self._default]
        return next(iter(self._items.values()), default)


class Title(Texts):
    """A form's title per language; ``form.title("es")`` is the Spanish title only."""

    __slots__ = ()

    def __call__(self, lang: str) -> str:
        return self.get(lang)


@dataclass(frozen=True, slots=True)
class Choice:
    """One option of a choice list; ``extra`` holds the other columns (for filters and rules)."""

    name: str
    label: Texts
    extra: Mapping[str, str] = field(default_factory=dict)

    def row(self) -> dict[str, str]:
        """The choice as a row of ``instance('list')/root/item``: its columns as the list
        gives them (a list file read with ``value=`` keeps its own ``name`` column, as ODK's
        instance does), with ``name`` the choice's name when the list has no such column."""
        return {"name": self.name, **self.extra}


@dataclass(frozen=True, slots=True)
class Field:
    """One row of the survey sheet (a question, a calculation, a group or a repeat).

    Expressions are kept as written; the session runs their compiled form. ``parent`` is the
    enclosing group or repeat, ``repeats`` the enclosing repeats from the outermost in.
    """

    name: str
    kind: str
    row: int
    label: Texts = field(default_factory=Texts)
    hint: Texts = field(default_factory=Texts)
    required_message: Texts = field(default_factory=Texts)
    constraint_message: Texts = field(default_factory=Texts)
    relevant: str = ""
    required: str = ""
    constraint: str = ""
    calculation: str = ""
    default: str = ""
    read_only: str = ""
    choice_filter: str = ""
    repeat_count: str = ""
    appearance: str = ""
    parameters: Mapping[str, str] = field(default_factory=dict)
    list_name: str = ""
    choices: tuple[Choice, ...] = ()
    or_other: bool = False
    children: tuple[str, ...] = ()
    parent: str = ""
    repeats: tuple[str, ...] = ()
    sensitivity: str = "sensitive"
    case_card: bool = False
    aggregate: str = ""
    from_case: bool = False
    extra: Mapping[str, str] = field(default_factory=dict)
    #: For metadata questions (``start``, ``end``, ``today``, ``deviceid`` ...), their type;
    #: the session fills them. Their kind is ``hidden``.
    meta: str = ""
    #: The questions whose change sets this one (the ``trigger`` column), and the expression
    #: it is then set to (its ``calculation``; empty clears it), as ODK's setvalue does.
    trigger: tuple[str, ...] = ()
    trigger_value: str = ""
    #: The one kind of file a ``file`` question takes, else ``''`` (any file): ``osm`` for an
    #: OpenStreetMap question, whose file must be OSM XML (``.osm``).
    accept: str = ""

    @property
    def is_input(self) -> bool:
        return self.kind in INPUT_KINDS

    @property
    def own_name(self) -> str:
        """The name as its row gives it. ``name`` is the field's key in the form: the same,
        except for a name an earlier field in another group has, kept as ``GROUP/NAME``."""
        return self.name.rpartition("/")[2]

    @property
    def is_container(self) -> bool:
        return self.kind in {"group", "repeat"}

    @property
    def field_list(self) -> bool:
        return self.kind == "group" and "field-list" in self.appearance.split()

    @property
    def context_key(self) -> str:
        """For hidden ``ctx_<key>`` fields, the key of the session context; else ``''``."""
        if self.kind == "hidden" and self.name.startswith("ctx_"):
            return self.name[4:]
        return ""


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of the ``rules`` sheet."""

    name: str
    when: str
    row: int
    tier: str = ""
    concerns: tuple[str, ...] = ()
    referrals: tuple[str, ...] = ()
    deadlines: tuple[str, ...] = ()
    opens: tuple[str, ...] = ()
    message: Texts = field(default_factory=Texts)
    #: Recipients (``lists/recipients.csv``) the case must not share with while this rule is
    #: raised, whatever form A recorded, unless a supervisor releases them with a reason.
    withholds: tuple[str, ...] = ()
    #: Service types (``lists/service_types.csv``) the child declined in this form: the form's
    #: referrals of these types are not suggested unless a supervisor releases them.
    declines: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Deadline:
    """One row of the ``deadlines`` sheet."""

    name: str
    jurisdiction: str
    hours: float
    row: int
    label: Texts = field(default_factory=Texts)
    basis: str = ""
    #: The authorities to notify (choices of the form's notification repeat, e.g.
    #: ``cp_authority``, ``otip``); empty when the deadline is not a notification.
    notifies: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Entity:
    """One row of the ``entities`` sheet: the entity a screening creates in a server's list,
    or updates there.

    The laptop records it in the screening: its id, label and whether it is created are the
    values of calculate fields the loader adds beside the declaration (``entity_<list>_id``,
    ``_label``, ``_create``), so they are kept, sealed and exported as every value is;
    ``properties`` maps each property to the question whose ``save_to`` names it. An entity
    that updates an existing one (``entity_id``) also has ``_update`` (whether it does) and
    ``_base_version`` (the version of the entity it was updated from, read from the list the
    form ships), as ODK records them for the server to apply.
    """

    dataset: str
    row: int
    #: The repeat the entity belongs to (one entity per entry), or ``''`` for the form.
    repeat: str
    id_field: str
    label_field: str
    create_field: str
    properties: Mapping[str, str] = field(default_factory=dict)
    update_field: str = ""
    base_version_field: str = ""


@dataclass(frozen=True, slots=True)
class Page:
    """What one screen shows: a field-list group, or one top-level question."""

    name: str
    fields: tuple[str, ...]
    group: str = ""


@dataclass(frozen=True, eq=False)
class Form:
    """A loaded form. Build it with :func:`fieldscreen.forms.load_form`."""

    id: str
    version: str
    #: The title per language: ``form.title(lang)`` (also a :class:`Texts` mapping).
    title: Title
    default_language: str
    languages: tuple[str, ...]
    fields: Mapping[str, Field]
    top: tuple[str, ...]
    pages: tuple[Page, ...]
    rules: tuple[Rule, ...]
    deadlines: tuple[Deadline, ...]
    lists: Mapping[str, tuple[Mapping[str, str], ...]]
    source: str
    program: Program = field(repr=False)
    #: pyxform's warnings about the form (it loads, but a designer may want to look).
    warnings: tuple[str, ...] = ()
    #: The entities the form declares (its ``entities`` sheet), in sheet order.
    entities: tuple[Entity, ...] = ()

    def field(self, name: str) -> Field:
        return self.fields[name]

    def walk(self) -> Iterator[Field]:
        """Every field in form order."""
        return iter(self.fields.values())
