"""Evaluation of parsed expressions with XPath 1.0 semantics and ODK's functions.

A tree from :mod:`fieldscreen.forms.xpath` is compiled once, at load time, into a tree of small
Python closures (no ``eval``); evaluating it is then a few function calls. Values follow XPath:
strings, numbers (``float``), booleans, node-sets (:class:`NodeSet`: the values of the instances
of a field inside a repeat), plus dates and date-times as ODK treats them (a date compares and
subtracts as a number of days since 1970-01-01, prints as ``YYYY-MM-DD``).

A field reference is compiled by the caller (``compile_ref``), because what ``${name}`` means
depends on where the field and the expression sit in repeats.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, Protocol

from fieldscreen.forms.errors import FormError
from fieldscreen.forms.xpath import (
    Binary,
    Call,
    Current,
    Expr,
    Negate,
    Number,
    Parent,
    Path,
    Ref,
    Step,
    String,
)

__all__ = [
    "Ctx",
    "Evaluator",
    "NodeSet",
    "State",
    "compile_expr",
    "to_bool",
    "to_number",
    "to_string",
]

EPOCH = date(1970, 1, 1)


class NodeSet(tuple[Any, ...]):
    """The values of several instances of a field (inside a repeat), or of a list's rows."""

    __slots__ = ()


class State(Protocol):
    """What an evaluation reads from the session."""

    values: list[dict[tuple[int, ...], Any]]

    def instances(self, name: str, prefix: tuple[int, ...]) -> list[tuple[int, ...]]: ...

    def choice_label(self, field: str, value: str, lang: str) -> str: ...

    def list_rows(self, name: str) -> Sequence[Mapping[str, str]]: ...


class Ctx:
    """Where an expression is evaluated: the repeat position, ``.``, a choice row, the clock."""

    __slots__ = ("choice", "current", "index", "lang", "now", "state")

    def __init__(  # noqa: PLR0917 - built in one place, on the hot path
        self,
        state: State,
        index: tuple[int, ...] = (),
        current: Any = None,
        now: datetime | None = None,
        lang: str = "en",
        choice: Mapping[str, str] | None = None,
    ) -> None:
        self.state = state
        self.index = index
        self.current = current
        self.now = now or datetime.now(UTC)
        self.lang = lang
        self.choice = choice

    def with_choice(self, row: Mapping[str, str]) -> Ctx:
        return Ctx(self.state, self.index, self.current, self.now, self.lang, row)


Evaluator = Callable[[Ctx], Any]


# ----------------------------------------------------------------------------- conversions

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def raw_to_xpath(value: Any) -> Any:
    """A stored answer as an XPath value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, tuple):
        return " ".join(value)
    if isinstance(value, time):
        return value.isoformat()
    return value


def to_string(value: Any) -> str:
    if isinstance(value, NodeSet):
        return to_string(value[0]) if value else ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if value is None:
        return ""
    if isinstance(value, tuple):
        return " ".join(value)
    return str(value)


def to_number(value: Any) -> float:
    if isinstance(value, NodeSet):
        return to_number(value[0]) if value else math.nan
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, datetime):
        delta = value - datetime(1970, 1, 1, tzinfo=value.tzinfo)
        return delta.total_seconds() / 86400.0
    if isinstance(value, date):
        return float((value - EPOCH).days)
    text = to_string(value).strip()
    if _DATE.match(text) or _DATETIME.match(text):
        parsed = to_date(text)
        return to_number(parsed) if parsed is not None else math.nan
    try:
        return float(text) if (text and text[-1:].isdigit()) or text[:1] == "." else math.nan
    except ValueError:
        return math.nan


def to_bool(value: Any) -> bool:
    if isinstance(value, NodeSet):
        return len(value) > 0
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return not (value == 0 or math.isnan(value))
    if isinstance(value, int):
        return value != 0
    if isinstance(value, date):
        return True
    return len(to_string(value)) > 0


def to_date(value: Any) -> date | datetime | None:
    if isinstance(value, NodeSet):
        return to_date(value[0]) if value else None
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        if math.isnan(value) or math.isinf(value) or abs(value) > 3_000_000:
            return None
        return EPOCH + timedelta(days=math.floor(value))
    text = to_string(value).strip()
    try:
        if _DATE.match(text):
            return date.fromisoformat(text)
        if _DATETIME.match(text):
            return datetime.fromisoformat(text)
    except ValueError:
        return None
    return None


# ----------------------------------------------------------------------------- operators


def _compare(op: str, left: Any, right: Any) -> bool:
    if isinstance(left, NodeSet):
        return any(_compare(op, item, right) for item in left)
    if isinstance(right, NodeSet):
        return any(_compare(op, left, item) for item in right)
    if op in {"=", "!="}:
        if isinstance(left, bool) or isinstance(right, bool):
            equal = to_bool(left) == to_bool(right)
        elif (
            isinstance(left, date)
            or isinstance(right, date)
            or isinstance(left, float)
            or isinstance(right, float)
        ):
            equal = to_number(left) == to_number(right)
        else:
            equal = to_string(left) == to_string(right)
        return equal if op == "=" else not equal
    a, b = to_number(left), to_number(right)
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    return a >= b


def _arith(op: str, left: Any, right: Any) -> float:
    a, b = to_number(left), to_number(right)
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "div":
        if b == 0:
            if a == 0 or math.isnan(a):
                return math.nan
            return math.inf if a > 0 else -math.inf
        return a / b
    if b == 0 or math.isnan(a) or math.isnan(b) or math.isinf(a):
        return math.nan
    return math.fmod(a, b)


# ----------------------------------------------------------------------------- functions


def _fmt_number(value: float) -> Any:
    return value


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


def _round(value: float, digits: float = 0.0) -> float:
    if math.isnan(value) or math.isinf(value):
        return value
    factor = 10.0 ** int(digits)
    return math.floor(value * factor + 0.5) / factor


def _int(value: float) -> float:
    if math.isnan(value) or math.isinf(value):
        return value
    return float(math.trunc(value))


def _substring(text: str, start: float, length: float | None = None) -> str:
    if math.isnan(start):
        return ""
    first = round(start)
    last = math.inf if length is None else first + round(length)
    return "".join(ch for i, ch in enumerate(text, 1) if first <= i < last)


def _format_date(value: Any, fmt: str) -> str:
    parsed = to_date(value)
    if parsed is None:
        return ""
    moment = parsed if isinstance(parsed, datetime) else datetime.combine(parsed, time())
    table = {
        "%Y": f"{moment.year:04d}",
        "%y": f"{moment.year % 100:02d}",
        "%m": f"{moment.month:02d}",
        "%n": str(moment.month),
        "%d": f"{moment.day:02d}",
        "%e": str(moment.day),
        "%H": f"{moment.hour:02d}",
        "%h": str(moment.hour),
        "%M": f"{moment.minute:02d}",
        "%S": f"{moment.second:02d}",
        "%b": moment.strftime("%b"),
        "%a": moment.strftime("%a"),
    }
    return re.sub(r"%[A-Za-z]", lambda m: table.get(m.group(0), m.group(0)), fmt)


def _nodes(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, NodeSet) else (value,)


def _date_fn(value: Any) -> Any:
    parsed = to_date(value)
    return parsed if parsed is not None else ""


def _decimal_date_time(value: Any) -> float:
    parsed = to_date(value)
    return to_number(parsed) if parsed is not None else math.nan


def _selected_at(items: str, index: float) -> str:
    parts = items.split()
    i = int(index) if not math.isnan(index) else -1
    return parts[i] if 0 <= i < len(parts) else ""


def _max(values: Any) -> float:
    nums = [to_number(v) for v in _nodes(values)]
    return max(nums) if nums and not any(math.isnan(n) for n in nums) else math.nan


def _min(values: Any) -> float:
    nums = [to_number(v) for v in _nodes(values)]
    return min(nums) if nums and not any(math.isnan(n) for n in nums) else math.nan


def _sum(values: Any) -> float:
    if not isinstance(values, NodeSet):
        return to_number(values)
    return float(math.fsum(to_number(v) for v in values if to_string(v) != ""))


#: name -> (min args, max args or -1, implementation over evaluated arguments)
_STRICT: dict[str, tuple[int, int, Callable[..., Any]]] = {
    "true": (0, 0, lambda: True),
    "false": (0, 0, lambda: False),
    "not": (1, 1, lambda a: not to_bool(a)),
    "boolean": (1, 1, to_bool),
    "boolean-from-string": (1, 1, lambda a: to_string(a) in {"true", "1"}),
    "number": (1, 1, to_number),
    "string": (1, 1, to_string),
    "concat": (0, -1, lambda *a: "".join(to_string(x) for x in a)),
    "join": (2, -1, lambda s, *a: to_string(s).join(to_string(v) for x in a for v in _nodes(x))),
    "contains": (2, 2, lambda a, b: to_string(b) in to_string(a)),
    "starts-with": (2, 2, lambda a, b: to_string(a).startswith(to_string(b))),
    "ends-with": (2, 2, lambda a, b: to_string(a).endswith(to_string(b))),
    "substring": (
        2,
        3,
        lambda s, i, n=None: _substring(
            to_string(s), to_number(i), None if n is None else to_number(n)
        ),
    ),
    "substring-before": (
        2,
        2,
        lambda a, b: (
            to_string(a).partition(to_string(b))[0] if to_string(b) in to_string(a) else ""
        ),
    ),
    "substring-after": (
        2,
        2,
        lambda a, b: (
            to_string(a).partition(to_string(b))[2] if to_string(b) in to_string(a) else ""
        ),
    ),
    "string-length": (1, 1, lambda a: float(len(to_string(a)))),
    "normalize-space": (1, 1, lambda a: " ".join(to_string(a).split())),
    "translate": (
        3,
        3,
        lambda s, a, b: to_string(s).translate(
            {
                ord(c): (to_string(b)[i] if i < len(to_string(b)) else None)
                for i, c in reversed(list(enumerate(to_string(a))))
            }
        ),
    ),
    "regex": (
        2,
        2,
        lambda s, p: (
            bool(rx.search(to_string(s))) if (rx := _regex(to_string(p))) is not None else False
        ),
    ),
    "selected": (2, 2, lambda a, b: to_string(b).strip() in to_string(a).split()),
    "count-selected": (1, 1, lambda a: float(len(to_string(a).split()))),
    "selected-at": (2, 2, lambda a, i: _selected_at(to_string(a), to_number(i))),
    "int": (1, 1, lambda a: _int(to_number(a))),
    "round": (1, 2, lambda a, d=0.0: _round(to_number(a), to_number(d))),
    "floor": (1, 1, lambda a: float(math.floor(n)) if math.isfinite(n := to_number(a)) else n),
    "ceiling": (1, 1, lambda a: float(math.ceil(n)) if math.isfinite(n := to_number(a)) else n),
    "abs": (1, 1, lambda a: abs(to_number(a))),
    "pow": (2, 2, lambda a, b: _pow(to_number(a), to_number(b))),
    "sum": (1, 1, _sum),
    "count": (1, 1, lambda a: float(len(a)) if isinstance(a, NodeSet) else 1.0),
    "count-non-empty": (1, 1, lambda a: float(sum(1 for v in _nodes(a) if to_string(v) != ""))),
    "max": (1, -1, lambda *a: _max(NodeSet(v for x in a for v in _nodes(x)))),
    "min": (1, -1, lambda *a: _min(NodeSet(v for x in a for v in _nodes(x)))),
    "date": (1, 1, _date_fn),
    "date-time": (1, 1, _date_fn),
    "decimal-date-time": (1, 1, _decimal_date_time),
    "decimal-date": (1, 1, _decimal_date_time),
    "format-date": (2, 2, lambda d, f: _format_date(d, to_string(f))),
    "format-date-time": (2, 2, lambda d, f: _format_date(d, to_string(f))),
}


def _pow(a: float, b: float) -> float:
    try:
        result = math.pow(a, b)
    except (OverflowError, ValueError):
        return math.nan
    return result


#: Functions handled by the compiler itself (lazy arguments, context or the session).
SPECIAL = {
    "if",
    "coalesce",
    "once",
    "today",
    "now",
    "position",
    "indexed-repeat",
    "instance",
    "jr:choice-name",
    "current",
    "last",
}
FUNCTIONS = frozenset(_STRICT) | SPECIAL


# ----------------------------------------------------------------------------- compiler

RefCompiler = Callable[[str], Evaluator]
IndexedCompiler = Callable[[str, str, Evaluator], Evaluator]


def compile_expr(
    expr: Expr,
    compile_ref: RefCompiler,
    *,
    compile_indexed: IndexedCompiler | None = None,
    lists: frozenset[str] = frozenset(),
    choice_context: bool = False,
) -> Evaluator:
    """Compile ``expr`` into a closure over :class:`Ctx`.

    Raises :class:`FormError` for unknown functions, wrong argument counts and unsupported
    paths, so that every such mistake is found when the form is loaded.
    """
    return _Compiler(compile_ref, compile_indexed, lists, choice_context).compile(expr)


class _Compiler:
    def __init__(
        self,
        compile_ref: RefCompiler,
        compile_indexed: IndexedCompiler | None,
        lists: frozenset[str],
        choice_context: bool,
    ) -> None:
        self.compile_ref = compile_ref
        self.compile_indexed = compile_indexed
        self.lists = lists
        self.choice_context = choice_context

    def compile(self, expr: Expr, in_predicate: bool = False) -> Evaluator:
        if isinstance(expr, Number):
            number = expr.value
            return lambda ctx: number
        if isinstance(expr, String):
            text = expr.value
            return lambda ctx: text
        if isinstance(expr, Ref):
            return self.compile_ref(expr.name)
        if isinstance(expr, Current):
            if in_predicate:
                return lambda ctx: ctx.choice.get("name", "") if ctx.choice is not None else ""
            return lambda ctx: raw_to_xpath(ctx.current)
        if isinstance(expr, Parent):
            return lambda ctx: ""
        if isinstance(expr, Negate):
            inner = self.compile(expr.operand, in_predicate)
            return lambda ctx: -to_number(inner(ctx))
        if isinstance(expr, Binary):
            return self.binary(expr, in_predicate)
        if isinstance(expr, Call):
            return self.call(expr, in_predicate)
        return self.path(expr, in_predicate)

    def binary(self, expr: Binary, in_predicate: bool) -> Evaluator:
        left = self.compile(expr.left, in_predicate)
        right = self.compile(expr.right, in_predicate)
        op = expr.op
        if op == "or":
            return lambda ctx: to_bool(left(ctx)) or to_bool(right(ctx))
        if op == "and":
            return lambda ctx: to_bool(left(ctx)) and to_bool(right(ctx))
        if op in {"=", "!=", "<", "<=", ">", ">="}:
            return lambda ctx: _compare(op, left(ctx), right(ctx))
        if op == "|":

            def union(ctx: Ctx) -> NodeSet:
                return NodeSet((*_nodes(left(ctx)), *_nodes(right(ctx))))

            return union
        return lambda ctx: _arith(op, left(ctx), right(ctx))

    def call(self, expr: Call, in_predicate: bool) -> Evaluator:
        name = expr.name
        args = expr.args
        if name in _STRICT:
            low, high, impl = _STRICT[name]
            self.arity(name, len(args), low, high)
            compiled = [self.compile(a, in_predicate) for a in args]
            if len(compiled) == 1:
                only = compiled[0]
                return lambda ctx: impl(only(ctx))
            if len(compiled) == 2:
                first, second = compiled
                return lambda ctx: impl(first(ctx), second(ctx))
            return lambda ctx: impl(*(c(ctx) for c in compiled))
        if name == "if":
            self.arity(name, len(args), 3, 3)
            cond, yes, no = (self.compile(a, in_predicate) for a in args)
            return lambda ctx: yes(ctx) if to_bool(cond(ctx)) else no(ctx)
        if name == "coalesce":
            self.arity(name, len(args), 2, -1)
            options = [self.compile(a, in_predicate) for a in args]

            def coalesce(ctx: Ctx) -> Any:
                for option in options:
                    value = option(ctx)
                    if to_string(value) != "":
                        return value
                return ""

            return coalesce
        if name == "once":
            self.arity(name, len(args), 1, 1)
            inner = self.compile(args[0], in_predicate)

            def once(ctx: Ctx) -> Any:
                current = raw_to_xpath(ctx.current)
                return current if to_string(current) != "" else inner(ctx)

            return once
        if name == "today":
            self.arity(name, len(args), 0, 0)
            return lambda ctx: ctx.now.date()
        if name == "now":
            self.arity(name, len(args), 0, 0)
            return lambda ctx: ctx.now
        if name in {"position", "last"}:
            self.arity(name, len(args), 0, 1)
            if args and not isinstance(args[0], Parent):
                raise FormError(f"{name}() is supported only as {name}(..) inside a repeat")
            if name == "last":
                raise FormError("last() is not supported; use count(${repeat})")
            return lambda ctx: float(ctx.index[-1] + 1) if ctx.index else 1.0
        if name == "current":
            self.arity(name, len(args), 0, 0)
            return lambda ctx: raw_to_xpath(ctx.current)
        if name == "indexed-repeat":
            self.arity(name, len(args), 3, 3)
            field, repeat = args[0], args[1]
            if not isinstance(field, Ref) or not isinstance(repeat, Ref):
                raise FormError("indexed-repeat() takes ${field}, ${repeat}, index")
            if self.compile_indexed is None:
                raise FormError("indexed-repeat() cannot be used here")
            return self.compile_indexed(field.name, repeat.name, self.compile(args[2]))
        if name == "jr:choice-name":
            self.arity(name, len(args), 2, 2)
            target = args[1]
            field_name = None
            if isinstance(target, String):
                match = re.fullmatch(r"\s*\$\{([^}]+)\}\s*", target.value)
                field_name = match.group(1) if match else target.value.rsplit("/", 1)[-1]
            elif isinstance(target, Ref):
                field_name = target.name
            if not field_name:
                raise FormError("jr:choice-name() takes a value and '${field}'")
            self.compile_ref(field_name)  # checks that the field exists
            value = self.compile(args[0], in_predicate)
            fname = field_name
            return lambda ctx: ctx.state.choice_label(fname, to_string(value(ctx)), ctx.lang)
        if name == "instance":
            raise FormError("instance() must be followed by /root/item (a choice list)")
        raise FormError(f"unknown function {name}()")

    @staticmethod
    def arity(name: str, count: int, low: int, high: int) -> None:
        if count < low or (high >= 0 and count > high):
            want = f"{low}" if low == high else f"{low} to {high if high >= 0 else 'any'}"
            raise FormError(f"{name}() takes {want} arguments, not {count}")

    def path(self, expr: Path, in_predicate: bool) -> Evaluator:
        base = expr.base
        if isinstance(base, Call) and base.name == "instance":
            return self.instance_path(base, expr.steps, in_predicate)
        if (
            base is None
            and not expr.absolute
            and (in_predicate or self.choice_context)
            and len(expr.steps) == 1
            and not expr.steps[0].predicates
        ):
            column = expr.steps[0].name
            return lambda ctx: ctx.choice.get(column, "") if ctx.choice is not None else ""
        if base is None:
            names = [s.name for s in expr.steps]
            plain = all(not s.predicates for s in expr.steps)
            simple = names and names[-1] not in {".", "..", "*"} and names[-1][:1] != "@"
            if plain and simple and (all(n == ".." for n in names[:-1]) or expr.absolute):
                return self.compile_ref(names[-1])
        raise FormError("this path is not supported; refer to fields as ${name}")

    def instance_path(self, base: Call, steps: tuple[Step, ...], in_predicate: bool) -> Evaluator:
        if len(base.args) != 1 or not isinstance(base.args[0], String):
            raise FormError("instance() takes the name of a choice list in quotes")
        list_name = base.args[0].value
        if self.lists and list_name not in self.lists:
            raise FormError(f"instance('{list_name}') names no choice list of this form")
        rest = [s for s in steps if s.name != "" or s.predicates]
        head_preds = steps[0].predicates if steps and steps[0].name == "" else ()
        if head_preds:
            raise FormError("put the filter on item: instance('list')/root/item[...]")
        names = [s.name for s in rest]
        if len(names) < 2 or names[0] != "root" or names[1] != "item" or len(names) > 3:
            raise FormError("choice-list paths must read instance('list')/root/item[filter]/column")
        predicates = [self.compile(p, in_predicate=True) for p in rest[1].predicates]
        column = names[2] if len(names) == 3 else None
        if column is not None and rest[2].predicates:
            raise FormError("a filter goes on item, not on the column")

        def select(ctx: Ctx) -> NodeSet:
            rows = ctx.state.list_rows(list_name)
            picked = []
            for position, row in enumerate(rows, 1):
                row_ctx = ctx.with_choice(row)
                keep = True
                for pred in predicates:
                    value = pred(row_ctx)
                    if isinstance(value, float) and not isinstance(value, bool):
                        keep = value == position
                    else:
                        keep = to_bool(value)
                    if not keep:
                        break
                if keep:
                    picked.append(row.get(column, "") if column else row.get("name", ""))
            return NodeSet(picked)

        return select
