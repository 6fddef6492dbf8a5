"""The XLSForm expression language parsed into a tree: XPath 1.0 plus ODK's functions.

A hand-written lexer and a precedence-climbing (Pratt) parser, in the spirit of pyxform's
``parsing/expression.py``. Nothing is ever handed to Python's ``eval``. :func:`parse` returns an
immutable tree of the node classes below, or raises :class:`~fieldscreen.forms.errors.FormError`
(for any input whatever: a property-based test holds it to that).

Supported: numbers, 'strings' and "strings", ``${name}`` references, ``.`` and ``..``, relative
paths (``../name``, as pyxform writes for ``or_other``), ``instance('list')/root/item[...]``
paths with predicates, function calls (``jr:choice-name``, ``count-selected`` ...), unary minus,
``* div mod + - = != < <= > >= and or |``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from fieldscreen.forms.errors import FormError

__all__ = [
    "Binary",
    "Call",
    "Current",
    "Expr",
    "Negate",
    "Number",
    "Parent",
    "Path",
    "Ref",
    "Step",
    "String",
    "parse",
    "references",
    "walk",
]


# ----------------------------------------------------------------------------- tree


@dataclass(frozen=True, slots=True)
class Number:
    value: float


@dataclass(frozen=True, slots=True)
class String:
    value: str


@dataclass(frozen=True, slots=True)
class Ref:
    """``${name}``."""

    name: str


@dataclass(frozen=True, slots=True)
class Current:
    """``.``: the value of the field the expression belongs to."""


@dataclass(frozen=True, slots=True)
class Parent:
    """``..``: the enclosing group or repeat instance (used in ``position(..)``)."""


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    args: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Binary:
    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Negate:
    operand: Expr


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a path: a name (``*`` for any, ``..`` for the parent), with predicates."""

    name: str
    predicates: tuple[Expr, ...] = ()


@dataclass(frozen=True, slots=True)
class Path:
    """``base/step/step``; ``base`` is ``None`` for a relative path from the context."""

    base: Expr | None
    steps: tuple[Step, ...]
    absolute: bool = False


Expr = Number | String | Ref | Current | Parent | Call | Binary | Negate | Path


# ----------------------------------------------------------------------------- lexer

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<ref>\$\{(?P<refname>[^}]*)\})
  | (?P<number>\d+(?:\.\d*)?|\.\d+)
  | (?P<string>"[^"]*"|'[^']*')
  | (?P<op>!=|<=|>=|//|\.\.|::|[=<>+\-*/|()\[\],.@])
  | (?P<name>[A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?)
    """,
    re.VERBOSE,
)
_REF_NAME = re.compile(r"[A-Za-z_][\w.\-]*\Z")


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # ref number string op name opname end
    text: str
    pos: int


_OPERAND_END = {"ref", "number", "string", "name"}


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            char = text[pos]
            if char in "'\"":  # a string token would have matched a closed one
                raise FormError(
                    f"the quote {char!r} at position {pos + 1} opens a text that is never "
                    "closed; close it with the same quote, or remove it if the cell is not "
                    "meant as text"
                )
            if text.startswith("$(", pos):
                raise FormError(
                    f"$( at position {pos + 1} is no field reference; write the field as "
                    "${name}, with braces"
                )
            raise FormError(
                f"unexpected character {char!r} at position {pos + 1}; check the "
                "expression (text in quotes, fields as ${name})"
            )
        kind = "ref" if match.group("ref") else (match.lastgroup or "")
        token_text = match.group(kind)
        if kind == "ref":
            name = match.group("refname").strip()
            if not _REF_NAME.match(name):
                raise FormError(f"${{{name}}} is not a valid field reference")
            token_text = name
        if kind != "ws":
            prev = out[-1] if out else None
            after_operand = prev is not None and (
                prev.kind in _OPERAND_END or prev.text in {")", "]", ".", ".."}
            )
            if kind == "name" and after_operand and token_text in {"and", "or", "div", "mod"}:
                kind = "opname"
            elif kind == "op" and token_text == "*" and not after_operand:  # noqa: S105
                kind = "name"
            out.append(_Token(kind, token_text, pos))
        pos = match.end()
    out.append(_Token("end", "", len(text)))
    return out


# ----------------------------------------------------------------------------- parser

_BINARY = {
    "or": 1,
    "and": 2,
    "=": 3,
    "!=": 3,
    "<": 4,
    "<=": 4,
    ">": 4,
    ">=": 4,
    "+": 5,
    "-": 5,
    "*": 6,
    "div": 6,
    "mod": 6,
    "|": 8,
}
_MAX_DEPTH = 200
#: Operators whose chains (``a or b or c``) give the same value however they are grouped, and
#: are evaluated left to right either way: a chain is parsed as a balanced tree.
_CHAINED = frozenset({"or", "and"})


def _balanced(op: str, operands: list[Expr]) -> Expr:
    """``operands`` joined by ``op``, in order, as a tree of depth log2(n)."""
    if len(operands) == 1:
        return operands[0]
    middle = len(operands) // 2
    return Binary(op, _balanced(op, operands[:middle]), _balanced(op, operands[middle:]))


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.index = 0
        self.depth = 0

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def next(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def expect(self, text: str) -> None:
        token = self.next()
        if token.text != text or token.kind not in {"op"}:
            found = "the end" if token.kind == "end" else repr(token.text)
            raise FormError(f"expected {text!r} but found {found} at position {token.pos + 1}")

    def parse(self) -> Expr:
        expr = self.expression(0)
        token = self.peek()
        if token.kind != "end":
            raise FormError(f"unexpected {token.text!r} at position {token.pos + 1}")
        return expr

    def expression(self, min_prec: int) -> Expr:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise FormError("the expression is nested too deeply")
        left = self.unary()
        while True:
            token = self.peek()
            op = token.text
            if token.kind not in {"op", "opname"} or op not in _BINARY:
                break
            prec = _BINARY[op]
            if prec <= min_prec:
                break
            self.next()
            right = self.expression(prec)
            if op not in _CHAINED:
                left = Binary(op, left, right)
                continue
            operands = [left, right]  # a or b or c ...: kept balanced, so that a long
            while self.peek().kind == "opname" and self.peek().text == op:  # chain is shallow
                self.next()
                operands.append(self.expression(prec))
            left = _balanced(op, operands)
        self.depth -= 1
        return left

    def unary(self) -> Expr:
        token = self.peek()
        if token.kind == "op" and token.text == "-":
            self.next()
            self.depth += 1
            if self.depth > _MAX_DEPTH:
                raise FormError("the expression is nested too deeply")
            operand = self.unary()
            self.depth -= 1
            return Negate(operand)
        return self.path()

    def path(self) -> Expr:
        token = self.peek()
        if token.kind == "op" and token.text in {"/", "//"}:
            self.next()
            if token.text == "//":
                raise FormError("'//' paths are not supported; use ${name} references")
            steps = self.steps() if self._starts_step() else ()
            return Path(None, steps, absolute=True)
        if self._starts_step() and not self._is_call():
            steps = self.steps()
            if len(steps) == 1 and not steps[0].predicates:
                if steps[0].name == ".":
                    return Current()
                if steps[0].name == "..":
                    return Parent()
            return Path(None, steps)
        base = self.primary()
        predicates = self.predicates()
        if self.peek().text in {"/", "//"} and self.peek().kind == "op":
            if self.next().text == "//":
                raise FormError("'//' paths are not supported; use ${name} references")
            return Path(base, (Step("", predicates), *self.steps()))
        if predicates:
            return Path(base, (Step("", predicates),))
        return base

    def _starts_step(self) -> bool:
        token = self.peek()
        return token.kind == "name" or (token.kind == "op" and token.text in {".", "..", "@"})

    def _is_call(self) -> bool:
        nxt = self.tokens[self.index + 1]
        return self.peek().kind == "name" and nxt.kind == "op" and nxt.text == "("

    def steps(self) -> tuple[Step, ...]:
        steps = [self.step()]
        while self.peek().kind == "op" and self.peek().text in {"/", "//"}:
            if self.next().text == "//":
                raise FormError("'//' paths are not supported; use ${name} references")
            steps.append(self.step())
        return tuple(steps)

    def step(self) -> Step:
        token = self.next()
        if token.kind == "op" and token.text in {".", ".."}:
            return Step(token.text)
        if token.kind == "op" and token.text == "@":
            name = self.next()
            if name.kind != "name":
                raise FormError(f"expected an attribute name at position {name.pos + 1}")
            return Step("@" + name.text, self.predicates())
        if token.kind != "name":
            found = "the end" if token.kind == "end" else repr(token.text)
            raise FormError(f"expected a name but found {found} at position {token.pos + 1}")
        if self.peek().text == "::":
            if token.text not in _AXES:
                raise FormError(
                    f"{token.text}:: is not an XPath axis, so ODK cannot read the expression "
                    "either; refer to fields as ${name}, and in a choice_filter to the "
                    "choice's columns by their names"
                )
            raise FormError("XPath axes ('::') are not supported; use ${name} references")
        return Step(token.text, self.predicates())

    def predicates(self) -> tuple[Expr, ...]:
        found: list[Expr] = []
        while self.peek().kind == "op" and self.peek().text == "[":
            self.next()
            found.append(self.expression(0))
            self.expect("]")
        return tuple(found)

    def primary(self) -> Expr:
        token = self.next()
        if token.kind == "number":
            return Number(float(token.text))
        if token.kind == "string":
            return String(token.text[1:-1])
        if token.kind == "ref":
            return Ref(token.text)
        if token.kind == "op" and token.text == "(":
            inner = self.expression(0)
            self.expect(")")
            return inner
        if token.kind == "name" and self.peek().text == "(":
            self.next()
            args: list[Expr] = []
            if self.peek().text != ")" or self.peek().kind != "op":
                args.append(self.expression(0))
                while self.peek().kind == "op" and self.peek().text == ",":
                    self.next()
                    args.append(self.expression(0))
            self.expect(")")
            return Call(token.text, tuple(args))
        found = "the end" if token.kind == "end" else repr(token.text)
        raise FormError(f"unexpected {found} at position {token.pos + 1}")


#: XPath 1.0's axes: ``NAME::`` with any other name is not XPath.
_AXES = frozenset(
    {
        "ancestor",
        "ancestor-or-self",
        "attribute",
        "child",
        "descendant",
        "descendant-or-self",
        "following",
        "following-sibling",
        "namespace",
        "parent",
        "preceding",
        "preceding-sibling",
        "self",
    }
)


@lru_cache(maxsize=4096)
def parse(text: str) -> Expr:
    """Parse ``text`` into a tree, or raise :class:`FormError` saying where it went wrong."""
    if not text.strip():
        raise FormError("the expression is empty")
    try:
        tree = _Parser(text).parse()
    except RecursionError:  # pragma: no cover - guarded by _MAX_DEPTH
        raise FormError("the expression is nested too deeply") from None
    if _depth(tree) > _MAX_DEPTH:
        raise FormError("the expression is nested too deeply; split it into calculate fields")
    return tree


def _children(node: Expr) -> tuple[Expr, ...]:
    if isinstance(node, Call):
        return node.args
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, Negate):
        return (node.operand,)
    if isinstance(node, Path):
        base = () if node.base is None else (node.base,)
        return (*base, *(p for step in node.steps for p in step.predicates))
    return ()


def _depth(tree: Expr) -> int:
    """How deep ``tree`` is (without recursion, so that any tree can be measured)."""
    deepest = 0
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in _children(node))
    return deepest


def references(expr: Expr) -> set[str]:
    """Every ``${name}`` (and every relative ``../name`` field step) used by ``expr``."""
    return {node.name for node in walk(expr) if isinstance(node, Ref)}


def walk(expr: Expr) -> list[Expr]:
    """Every node of ``expr``, depth first."""
    out: list[Expr] = []
    stack: list[Expr] = [expr]
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(_children(node))
    return out
