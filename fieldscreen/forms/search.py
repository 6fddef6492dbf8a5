"""ODK's ``search()`` appearance: a select's choices read from a CSV shipped with the form.

``appearance: search('TABLE')`` on a ``select_one LIST`` (or ``select_multiple``) takes the
choices from ``TABLE.csv`` as ODK Collect does. Each choice of ``LIST`` whose name is a whole
number is a static choice, kept where it is; any other choice is a template: its name is the
CSV column holding each choice's name, its label (in each language) the column, or columns
separated by commas, holding the label. ``search('TABLE', MODE, COLUMNS, VALUE)`` keeps the
rows where one of ``COLUMNS`` (comma separated) holds ``VALUE`` -- ``contains`` it, ``matches``
it, ``startswith`` or ``endswith`` it, ignoring ASCII case as ODK's query does; two more
arguments, ``FILTER_COLUMN, FILTER_VALUE``, keep only the rows where that column is exactly
that value. Rows are in the file's order, or by its ``sortby`` column, and a name that comes
again is shown once.

The arguments may be literals or expressions (``${field}``): literal ones are applied when the
form loads; an expression becomes part of the question's choice filter, so the choices follow
the answers it reads.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from fieldscreen.forms.errors import FormError
from fieldscreen.forms.model import Choice, Texts
from fieldscreen.forms.xpath import Call, Expr, Number, String, parse

__all__ = ["SEARCH_CALL", "Search", "choices", "parse_search"]

#: The call inside an appearance, as ODK Collect finds it.
SEARCH_CALL = re.compile(r"search\s*\(.+\)", re.S)
_MODES = ("contains", "matches", "startswith", "endswith")
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = _UPPER.lower()
#: Columns the choices carry for the filter (not in any CSV: the prefix is not a name ODK
#: forms use).
_FOLDED = "fs_search_folded_"
_STATIC = "fs_search_static"


@dataclass(frozen=True, slots=True)
class Search:
    table: str
    mode: str = ""
    columns: tuple[str, ...] = ()
    value: Expr | None = None
    value_text: str = ""
    filter_column: str = ""
    filter_value: Expr | None = None
    filter_text: str = ""


def _literal(expr: Expr) -> str | None:
    if isinstance(expr, String):
        return expr.value
    if isinstance(expr, Number):
        value = expr.value
        return str(int(value)) if value.is_integer() else str(value)
    return None


def _columns(text: str) -> tuple[str, ...]:
    """ODK's list of columns: comma separated, else space separated."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if len(parts) == 1 and " " in parts[0]:
        parts = parts[0].split()
    return tuple(parts)


def parse_search(appearance: str) -> Search | None:
    """The ``search()`` of an appearance, or ``None`` when it has none (FormError when it is
    not one ODK reads)."""
    match = SEARCH_CALL.search(appearance or "")
    if match is None:
        return None
    text = match.group(0)
    try:
        call = parse(text)
    except FormError as error:
        raise FormError(f"the appearance's search() cannot be read: {error.detail}") from None
    if not isinstance(call, Call) or call.name != "search" or len(call.args) not in {1, 4, 6}:
        raise FormError(
            "search() takes 1, 4 or 6 arguments: search('TABLE'), search('TABLE', 'MODE', "
            "'COLUMNS', VALUE) or those and 'FILTER_COLUMN', FILTER_VALUE"
        )
    table = _literal(call.args[0])
    if not table:
        raise FormError("search()'s first argument must name the CSV in quotes: search('TABLE')")
    table = table.strip()
    table = table[:-4] if table.lower().endswith(".csv") else table
    if len(call.args) == 1:
        return Search(table)
    mode = (_literal(call.args[1]) or "").strip().lower() or "contains"
    if mode not in _MODES:
        raise FormError(f"search()'s mode must be one of {', '.join(_MODES)}, not {mode!r}")
    columns = _columns(_literal(call.args[2]) or "")
    found = Search(table, mode, columns, call.args[3], _argument(text, 3))
    if len(call.args) == 6:
        column = (_literal(call.args[4]) or "").strip()
        if not column:
            raise FormError("search()'s filter column must be a column name in quotes")
        return Search(
            table, mode, columns, call.args[3], found.value_text, column, call.args[5],
            _argument(text, 5),
        )  # fmt: skip
    return found


def _argument(call: str, index: int) -> str:
    """The text of argument ``index`` of ``search(...)`` as written (commas inside quotes or
    brackets do not split)."""
    inner = call[call.index("(") + 1 : call.rindex(")")]
    parts, depth, quote, start = [], 0, "", 0
    for at, char in enumerate(inner):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(inner[start:at])
            start = at + 1
    parts.append(inner[start:])
    return parts[index].strip() if index < len(parts) else ""


def _fold(text: str) -> str:
    return text.translate(str.maketrans(_UPPER, _LOWER))


def _holds(mode: str, text: str, wanted: str) -> bool:
    if mode == "matches":
        return text == wanted
    if mode == "startswith":
        return text.startswith(wanted)
    if mode == "endswith":
        return text.endswith(wanted)
    return wanted in text


def _keeps(search: Search, row: Mapping[str, str]) -> bool:
    """Whether a row passes the literal parts of the search."""
    value = _literal(search.value) if search.value is not None else None
    if search.columns and value is not None:
        wanted = _fold(value)
        if not any(_holds(search.mode, _fold(row.get(c, "")), wanted) for c in search.columns):
            return False
    fixed = _literal(search.filter_value) if search.filter_value is not None else None
    return not (
        search.filter_column and fixed is not None and row.get(search.filter_column, "") != fixed
    )


def choices(
    template: Sequence[Choice],
    table: Sequence[Mapping[str, str]],
    search: Search,
    default: str = "en",
) -> tuple[tuple[Choice, ...], str]:
    """The question's choices from ``table`` (the CSV's rows), and the choice filter the parts
    of the search that are expressions need (``''`` when all are literals)."""
    columns = {key for row in table for key in row}
    needed = set(search.columns) | ({search.filter_column} if search.filter_column else set())
    rows = [row for row in _sorted(table) if _keeps(search, row)]
    dynamic_value = search.value is not None and _literal(search.value) is None
    dynamic_filter = search.filter_value is not None and _literal(search.filter_value) is None
    out: list[Choice] = []
    seen: set[str] = set()
    for choice in template:
        if _is_whole(choice.name):
            out.append(_with(choice, {_STATIC: "1"}))
            continue
        shown = {lang: _columns(text) for lang, text in choice.label.items()}
        for column in (choice.name, *needed, *(c for cs in shown.values() for c in cs)):
            if column not in columns:
                raise FormError(
                    f"search('{search.table}') reads the column {column!r}, which "
                    f"{search.table}.csv does not have"
                )
        for row in rows:
            name = (row.get(choice.name) or "").strip()
            if not name or name in seen:
                continue
            seen.add(name)
            labels = {lang: _label(row, cols) or name for lang, cols in shown.items()}
            extra = {k: v for k, v in row.items() if k != "name"}
            if dynamic_value:
                extra.update(
                    {f"{_FOLDED}{i}": _fold(row.get(c, "")) for i, c in enumerate(search.columns)}
                )
            if dynamic_filter:
                extra[f"{_FOLDED}filter"] = row.get(search.filter_column, "")
            out.append(
                Choice(name, Texts(labels or {default: name}, default), MappingProxyType(extra))
            )
    return tuple(out), _filter(search, dynamic_value, dynamic_filter)


def _filter(search: Search, dynamic_value: bool, dynamic_filter: bool) -> str:
    parts = []
    if dynamic_value:
        wanted = f"translate({search.value_text}, '{_UPPER}', '{_LOWER}')"
        test = {
            "contains": "contains({column}, {wanted})",
            "matches": "{column} = {wanted}",
            "startswith": "starts-with({column}, {wanted})",
            "endswith": "ends-with({column}, {wanted})",
        }[search.mode]
        parts.append(
            "("
            + " or ".join(
                test.format(column=f"{_FOLDED}{i}", wanted=wanted)
                for i in range(len(search.columns))
            )
            + ")"
        )
    if dynamic_filter:
        parts.append(f"{_FOLDED}filter = {search.filter_text}")
    if not parts:
        return ""
    return f"{_STATIC} = '1' or (" + " and ".join(parts) + ")"


def _sorted(table: Sequence[Mapping[str, str]]) -> list[Mapping[str, str]]:
    if not any("sortby" in row for row in table):
        return list(table)

    def key(row: Mapping[str, str]) -> tuple[int, float, str]:
        text = (row.get("sortby") or "").strip()
        try:
            return (0, float(text), "")
        except ValueError:
            return (1, 0.0, text)

    return sorted(table, key=key)


def _label(row: Mapping[str, str], columns: tuple[str, ...]) -> str:
    """The label ODK builds: the first column's value, then ``(column: value)`` for each
    other."""
    if not columns:
        return ""
    first = (row.get(columns[0]) or "").strip()
    rest = [f"({c}: {(row.get(c) or '').strip()})" for c in columns[1:]]
    return " ".join([first, *rest]).strip()


def _is_whole(name: str) -> bool:
    try:
        int(name.strip())
    except ValueError:
        return False
    return True


def _with(choice: Choice, extra: Mapping[str, str]) -> Choice:
    return Choice(choice.name, choice.label, MappingProxyType({**choice.extra, **extra}))
