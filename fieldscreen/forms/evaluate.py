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

import hashlib
import math
import re
import string
import uuid as uuid_module
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from fieldscreen.forms.errors import FormError
from fieldscreen.forms.functions import (
    DIGESTS,
    FUNCTIONS,
    NESTED_REPEAT,
    STRICT,
    NodeSet,
    arith,
    compare,
    local_moment,
    nodes,
    raw_to_xpath,
    to_bool,
    to_number,
    to_string,
)
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
    "FUNCTIONS",
    "Ctx",
    "Evaluator",
    "NodeSet",
    "State",
    "compile_expr",
    "instance_id",
    "raw_to_xpath",
    "to_bool",
    "to_number",
    "to_string",
]


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


# ----------------------------------------------------------------------------- compiler

RefCompiler = Callable[[str], Evaluator]
IndexedCompiler = Callable[[str, str, Evaluator], Evaluator]
#: ``${repeat}[position]/group/field``: (the repeat, the names after it, the position).
PathCompiler = Callable[[str, tuple[str, ...], Evaluator], Evaluator]
#: ``position(current()/..)``: how many ``..`` steps up from the field the expression is on.
PositionCompiler = Callable[[int], Evaluator]


def compile_expr(
    expr: Expr,
    compile_ref: RefCompiler,
    *,
    compile_indexed: IndexedCompiler | None = None,
    compile_path: PathCompiler | None = None,
    compile_position: PositionCompiler | None = None,
    lists: frozenset[str] | None = None,
    choice_context: bool = False,
    site: str = "",
) -> Evaluator:
    """Compile ``expr`` into a closure over :class:`Ctx`.

    ``site`` names where the expression sits (the field and the column), so that each
    ``uuid()`` of a form gives its own value, stable for the record (see :func:`_token`).
    Raises :class:`FormError` for unknown functions, wrong argument counts and unsupported
    paths, so that every such mistake is found when the form is loaded.
    """
    compiler = _Compiler(compile_ref, compile_indexed, lists, choice_context, site)
    compiler.compile_path = compile_path
    compiler.compile_position = compile_position
    return compiler.compile(expr)


#: A pulldata() table among a form's lists: ``pulldata:fruits`` for ``fruits.csv``.
PULLDATA_PREFIX = "pulldata:"
#: The longest uuid(n) token; a longer one is ''.
MAX_TOKEN = 10_000
_TOKEN_CHARS = string.digits + string.ascii_uppercase + string.ascii_lowercase


def _token(ctx: Ctx, site: str, length: float | None) -> str:
    """uuid() and uuid(n) as ODK gives them (a version 4 UUID, or n letters and digits), but
    stable for the record: derived from the record's random seed, where the call sits and
    the repeat entry, so that computing the form again, or reopening the draft, gives the same
    value, and two records never share one."""
    seed = str(getattr(ctx.state, "seed", ""))
    key = f"{seed}|{site}|{ctx.index}".encode()
    if length is None:
        return str(uuid_module.UUID(bytes=hashlib.sha256(key).digest()[:16], version=4))
    if not math.isfinite(length) or length < 0 or length > MAX_TOKEN:
        return ""
    raw = hashlib.shake_256(key).digest(int(length))
    return "".join(_TOKEN_CHARS[b % len(_TOKEN_CHARS)] for b in raw)


def instance_id(ctx: Ctx) -> str:
    """``${instanceID}``, the form instance's id as ODK gives it (``uuid:`` and a version 4
    UUID), stable for the record as uuid() is and the same wherever the form reads it."""
    seed = str(getattr(ctx.state, "seed", ""))
    digest = hashlib.sha256(f"{seed}|meta/instanceID".encode()).digest()[:16]
    return "uuid:" + str(uuid_module.UUID(bytes=digest, version=4))


def _fraction(ctx: Ctx, site: str) -> float:
    """random() as ODK gives it, a number from 0 up to (not including) 1, but stable for the
    record as uuid() is (see :func:`_token`): what ``once(random())`` gives in ODK."""
    seed = str(getattr(ctx.state, "seed", ""))
    key = f"{seed}|{site}|{ctx.index}|random".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:7], "big") / float(1 << 56)


def check_pattern(pattern: str) -> None:
    """Refuse a ``regex()`` pattern that is invalid, or that could take very long to match.

    A group that repeats and itself holds a repetition (``(a+)+``, ``(\\w*\\s?)*``) can take
    exponential time on a short answer and freeze the form, so it is refused at load time.
    """
    try:
        re.compile(pattern)
    except re.error as error:
        raise FormError(f"the regex pattern is not valid ({error.msg})") from None
    if NESTED_REPEAT.search(pattern):
        raise FormError(
            "the regex pattern repeats a group that itself repeats, which can make the form "
            "freeze on some answers; rewrite it without the nested repetition"
        )


def _ups_from_current(arg: Expr) -> int | None:
    """``current()/..``, ``current()/../..``: how many steps up; ``None`` for another path."""
    if not isinstance(arg, Path) or not isinstance(arg.base, Call) or arg.base.name != "current":
        return None
    if arg.base.args or arg.absolute:
        return None
    steps = [s for s in arg.steps if s.name != "" or s.predicates]
    if any(s.name != ".." or s.predicates for s in steps):
        return None
    return len(steps)


def _position_of(predicate: Expr) -> Expr | None:
    """The position a predicate picks: ``[2]``, ``[${n} - 1]``, ``[position() = E]`` -> the
    expression of the position; ``None`` for a filter that is not a position."""
    if isinstance(predicate, Number):
        return predicate
    if isinstance(predicate, Binary) and predicate.op in {"+", "-", "*", "div", "mod"}:
        return predicate
    if isinstance(predicate, Binary) and predicate.op == "=":
        for here, there in ((predicate.left, predicate.right), (predicate.right, predicate.left)):
            if isinstance(here, Call) and here.name == "position" and not here.args:
                return None if _bare_position(there) else there
    return None


def _bare_position(expr: Expr) -> bool:
    """Whether ``expr`` uses ``position()`` of the candidate itself (not a position of ours)."""
    if isinstance(expr, Call):
        if expr.name == "position" and not expr.args:
            return True
        return any(_bare_position(a) for a in expr.args)
    if isinstance(expr, Binary):
        return _bare_position(expr.left) or _bare_position(expr.right)
    if isinstance(expr, Negate):
        return _bare_position(expr.operand)
    return False


class _Compiler:
    def __init__(
        self,
        compile_ref: RefCompiler,
        compile_indexed: IndexedCompiler | None,
        lists: frozenset[str] | None,
        choice_context: bool,
        site: str = "",
    ) -> None:
        self.compile_ref = compile_ref
        self.compile_indexed = compile_indexed
        self.lists = lists
        self.choice_context = choice_context
        self.site = site
        self.tokens = 0
        self.compile_path: PathCompiler | None = None
        self.compile_position: PositionCompiler | None = None

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
            return lambda ctx: compare(op, left(ctx), right(ctx))
        if op == "|":

            def union(ctx: Ctx) -> NodeSet:
                return NodeSet((*nodes(left(ctx)), *nodes(right(ctx))))

            return union
        return lambda ctx: arith(op, left(ctx), right(ctx))

    def call(self, expr: Call, in_predicate: bool) -> Evaluator:
        name = expr.name
        args = expr.args
        if name in STRICT:
            low, high, impl = STRICT[name]
            self.arity(name, len(args), low, high)
            if name == "regex" and isinstance(args[1], String):
                check_pattern(args[1].value)
            if name == "digest":
                self.check_digest(args)
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
        if name == "uuid":
            self.arity(name, len(args), 0, 1)
            self.tokens += 1
            site = f"{self.site}#{self.tokens}"
            if not args:
                return lambda ctx: _token(ctx, site, None)
            size = self.compile(args[0], in_predicate)
            return lambda ctx: _token(ctx, site, to_number(size(ctx)))
        if name == "random":
            self.arity(name, len(args), 0, 0)
            self.tokens += 1
            place = f"{self.site}#{self.tokens}"
            return lambda ctx: _fraction(ctx, place)
        if name == "pulldata":
            return self.pulldata(args, in_predicate)
        if name == "today":
            self.arity(name, len(args), 0, 0)
            return lambda ctx: local_moment(ctx.now).date()
        if name == "now":
            self.arity(name, len(args), 0, 0)
            return lambda ctx: local_moment(ctx.now)
        if name in {"position", "last"}:
            self.arity(name, len(args), 0, 1)
            ups = _ups_from_current(args[0]) if args and name == "position" else None
            if ups is not None and self.compile_position is not None:
                return self.compile_position(ups)
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

    def pulldata(self, args: tuple[Expr, ...], in_predicate: bool) -> Evaluator:
        """pulldata('table', 'column', 'key_column', value): ``column`` of the first row of
        ``table.csv`` (shipped beside the form) whose ``key_column`` is the value; ``''``
        when no row matches."""
        self.arity("pulldata", len(args), 4, 4)
        if not isinstance(args[0], String):
            raise FormError("pulldata() takes the table's name in quotes: pulldata('fruits', ...)")
        table = PULLDATA_PREFIX + args[0].value.strip()
        if self.lists is not None and table not in self.lists:
            raise FormError(
                f"pulldata('{args[0].value}', ...) reads {args[0].value}.csv, which was not found "
                "beside the form or in its lists/ folder; put the file there"
            )
        column, key, value = (self.compile(a, in_predicate) for a in args[1:])
        indexes: dict[tuple[int, str], dict[str, Mapping[str, str]]] = {}

        def pull(ctx: Ctx) -> str:
            rows = ctx.state.list_rows(table)
            key_column = to_string(key(ctx))
            index = indexes.get((id(rows), key_column))
            if index is None:
                index = {}
                for row in rows:
                    index.setdefault(row.get(key_column, ""), row)
                indexes[(id(rows), key_column)] = index
            found = index.get(to_string(value(ctx)))
            return found.get(to_string(column(ctx)), "") if found is not None else ""

        return pull

    @staticmethod
    def check_digest(args: tuple[Expr, ...]) -> None:
        algorithm = args[1] if len(args) >= 2 else None
        if isinstance(algorithm, String) and algorithm.value.strip().lower() not in DIGESTS:
            raise FormError(
                f"digest() has no algorithm {algorithm.value!r}; use one of MD5, SHA-1, "
                "SHA-256, SHA-384, SHA-512"
            )
        encoding = args[2] if len(args) == 3 else None
        if isinstance(encoding, String) and encoding.value.strip().lower() not in {"base64", "hex"}:
            raise FormError(f"digest() has no encoding {encoding.value!r}; use 'base64' or 'hex'")

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
        if isinstance(base, Ref) and self.compile_path is not None:
            into = self.repeat_path(base.name, expr.steps)
            if into is not None:
                return into
        if base is None:
            names = [s.name for s in expr.steps]
            plain = all(not s.predicates for s in expr.steps)
            simple = names and names[-1] not in {".", "..", "*"} and names[-1][:1] != "@"
            if plain and simple and (all(n == ".." for n in names[:-1]) or expr.absolute):
                return self.compile_ref(names[-1])
        raise FormError("this path is not supported; refer to fields as ${name}")

    def repeat_path(self, repeat: str, steps: tuple[Step, ...]) -> Evaluator | None:
        """``${repeat}[N]/group/field`` and ``${repeat}[position() = E]/field``: the field in
        the repeat's N-th instance (an enclosing repeat's, as ODK reads it), or ``None`` when
        the path has another shape."""
        if len(steps) < 2 or steps[0].name != "" or len(steps[0].predicates) != 1:
            return None
        names = tuple(s.name for s in steps[1:])
        if any(s.predicates for s in steps[1:]) or any(n in {"", ".", "..", "*"} for n in names):
            return None
        wanted = _position_of(steps[0].predicates[0])
        if wanted is None or self.compile_path is None:
            return None
        return self.compile_path(repeat, names, self.compile(wanted))

    def instance_path(self, base: Call, steps: tuple[Step, ...], in_predicate: bool) -> Evaluator:
        if len(base.args) != 1 or not isinstance(base.args[0], String):
            raise FormError("instance() takes the name of a choice list in quotes")
        list_name = base.args[0].value
        if self.lists is not None and list_name not in self.lists:
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
