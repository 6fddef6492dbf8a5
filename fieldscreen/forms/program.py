"""The compiled form: every expression as a closure, and the dependency graph between them.

Each field contributes *nodes*, one per aspect it has: ``rel`` (effective relevance: its own
``relevant`` and its group's), ``val`` (effective value: the answer or the calculation, empty when
not relevant), ``req``, ``ro``, ``con``, ``choices`` (the choice filter), ``label`` (values shown
inside a label), ``count`` (a repeat's ``repeat_count``) and ``inst`` (a repeat's instances).
Each rule of the ``rules`` sheet is a ``rule`` node. An edge goes from every node an expression
reads to the node it belongs to. The nodes are sorted topologically once, at load time; a cycle
is a load error naming the rows. The session re-evaluates, after one answer, only the nodes
downstream of it, in that order, and stops early where a value did not change.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fieldscreen.forms.errors import FormError
from fieldscreen.forms.evaluate import (
    Ctx,
    Evaluator,
    NodeSet,
    compile_expr,
    instance_id,
    raw_to_xpath,
    to_number,
)
from fieldscreen.forms.model import Field, Rule
from fieldscreen.forms.xpath import parse

__all__ = ["Node", "Program", "build_program"]

_COLUMN = {
    "rel": "relevant",
    "val": "calculation",
    "req": "required",
    "ro": "read_only",
    "con": "constraint",
    "choices": "choice_filter",
    "label": "label",
    "count": "repeat_count",
    "rule": "when",
    "default": "default",
    "trigger": "trigger",
}
_LABEL_REF = re.compile(r"\$\{([^}]+)\}")


@dataclass(slots=True)
class Node:
    """One evaluable aspect of a field or rule, with the nodes that read it."""

    id: int
    owner: str
    aspect: str
    repeats: tuple[str, ...]
    evaluate: Evaluator | None = None
    reads: set[int] = field(default_factory=set)
    dependents: list[int] = field(default_factory=list)
    prefix: list[int] = field(default_factory=list)  # common-prefix length per dependent
    order: int = 0


@dataclass
class Program:
    """The compiled form; built once per form by the loader, shared by all its sessions."""

    nodes: list[Node]
    fields: dict[str, dict[str, int]]
    rules: dict[str, int]
    defaults: dict[str, Evaluator]
    label_refs: dict[str, tuple[str, ...]]
    order: list[int]
    #: Fields set by a trigger: name -> the value's expression (``None`` clears the field).
    triggers: dict[str, Evaluator | None] = field(default_factory=dict)
    #: The other way round: a field -> the fields its change sets.
    triggered: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def node(self, owner: str, aspect: str) -> Node | None:
        index = self.fields.get(owner, {}).get(aspect)
        return None if index is None else self.nodes[index]


def _common(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class _Builder:
    def __init__(
        self,
        fields: Mapping[str, Field],
        rules: tuple[Rule, ...],
        lists: Mapping[str, Any],
        file: str,
    ) -> None:
        self.fields = fields
        self.rules = rules
        self.lists = frozenset(lists)
        self.file = file
        self.nodes: list[Node] = []
        self.index: dict[str, dict[str, int]] = {}
        self.rule_index: dict[str, int] = {}
        #: Names that more than one field has (in different groups), with how many: pyxform
        #: refuses ``${name}`` for them, and so does the program.
        own = Counter(f.own_name for f in fields.values())
        self.ambiguous = {
            f.own_name: own[f.own_name] for f in fields.values() if f.own_name != f.name
        }

    def unique(self, name: str) -> None:
        if name in self.ambiguous:
            raise FormError(
                f"${{{name}}} could be any of the {self.ambiguous[name]} fields named "
                f"{name!r} in different groups; rename them so that each name is used once"
            )

    def add(self, owner: str, aspect: str, repeats: tuple[str, ...], rule: bool = False) -> Node:
        node = Node(len(self.nodes), owner, aspect, repeats)
        self.nodes.append(node)
        if rule:
            self.rule_index[owner] = node.id
        else:
            self.index.setdefault(owner, {})[aspect] = node.id
        return node

    def where(self, owner: str, aspect: str) -> FormError:
        if aspect == "rule":
            rule = next(r for r in self.rules if r.name == owner)
            return FormError("", file=self.file, sheet="rules", row=rule.row, column="when")
        f = self.fields[owner]
        return FormError("", file=self.file, sheet="survey", row=f.row, column=_COLUMN[aspect])

    def fail(self, owner: str, aspect: str, detail: str) -> FormError:
        here = self.where(owner, aspect)
        return FormError(detail, file=here.file, sheet=here.sheet, row=here.row, column=here.column)

    def compile(
        self, node: Node, text: str, *, choice_context: bool = False, column_aspect: str = ""
    ) -> Evaluator:
        aspect = column_aspect or node.aspect
        try:
            tree = parse(text)
            return compile_expr(
                tree,
                lambda name: self.ref(node, name),
                compile_indexed=lambda f, r, i: self.indexed(node, f, r, i),
                compile_path=lambda r, names, i: self.repeat_path(node, r, names, i),
                compile_position=lambda ups: self.position(node, ups),
                lists=self.lists,
                choice_context=choice_context,
                site=f"{node.owner}:{aspect}",
            )
        except FormError as error:
            if error.file:
                raise
            raise self.fail(node.owner, aspect, error.detail) from None

    def ref(self, node: Node, name: str) -> Evaluator:
        self.unique(name)
        target = self.fields.get(name)
        if target is None and name == "instanceID":  # meta/instanceID, which every form has
            return instance_id
        if target is None:
            raise FormError(f"${{{name}}} refers to no field of this form; check the name")
        if target.kind == "group":
            raise FormError(f"${{{name}}} is a group; refer to a field inside it")
        if target.kind == "repeat":
            inst = self.index[name]["inst"]
            node.reads.add(inst)
            depth = _common(node.repeats, target.repeats)

            def repeat_ref(ctx: Ctx) -> NodeSet:
                return NodeSet("" for _ in ctx.state.instances(name, ctx.index[:depth]))

            return repeat_ref
        val = self.index[name]["val"]
        node.reads.add(val)
        depth = _common(node.repeats, target.repeats)
        if depth == len(target.repeats):
            n = depth

            def scalar(ctx: Ctx) -> Any:
                return raw_to_xpath(ctx.state.values[val].get(ctx.index[:n]))

            return scalar

        def nodeset(ctx: Ctx) -> NodeSet:
            store = ctx.state.values[val]
            return NodeSet(
                raw_to_xpath(store.get(index))
                for index in ctx.state.instances(name, ctx.index[:depth])
            )

        return nodeset

    def indexed(self, node: Node, field_name: str, repeat: str, position: Evaluator) -> Evaluator:
        self.unique(field_name)
        self.unique(repeat)
        target = self.fields.get(field_name)
        if target is None or repeat not in self.fields:
            raise FormError("indexed-repeat() names a field or repeat that does not exist")
        if not target.repeats or target.repeats[-1] != repeat:
            raise FormError("in indexed-repeat(), the field must be directly inside the repeat")
        val = self.index[field_name]["val"]
        node.reads.add(val)
        depth = len(target.repeats) - 1
        if _common(node.repeats, target.repeats) < depth:
            raise FormError("indexed-repeat() across nested repeats is not supported")

        def lookup(ctx: Ctx) -> Any:
            number = to_number(position(ctx))
            if math.isnan(number) or number < 1:
                return ""
            key = (*ctx.index[:depth], int(number) - 1)
            return raw_to_xpath(ctx.state.values[val].get(key))

        return lookup

    def repeat_path(
        self, node: Node, repeat: str, names: tuple[str, ...], position: Evaluator
    ) -> Evaluator:
        """``${repeat}[N]/.../field``: the field in the repeat's N-th instance, within the
        instances of the repeats around it that the expression sits in (as ODK reads it: the
        current instance of an enclosing repeat)."""
        self.unique(repeat)
        if repeat not in self.fields or self.fields[repeat].kind != "repeat":
            raise FormError(f"${{{repeat}}} is not a repeat; refer to fields as ${{name}}")
        target: Field | None = self.fields[repeat]
        for step in names:  # down from the repeat, by the names the rows give
            inside = target.children if target is not None else ()
            target = next((self.fields[k] for k in inside if self.fields[k].own_name == step), None)
        if target is None:
            path = "/".join(names)
            raise FormError(f"${{{repeat}}}[...]/{path} names no field inside that repeat")
        if target.kind in {"group", "repeat"}:
            raise FormError(f"${{{names[-1]}}} is a group; refer to a field inside it")
        outer = target.repeats.index(repeat)
        if _common(node.repeats, target.repeats) < outer:
            raise FormError(f"${{{repeat}}}[...] is inside a repeat this expression is not in")
        val = self.index[target.name]["val"]
        node.reads.add(val)
        if repeat != target.repeats[-1]:
            node.reads.add(self.index[target.repeats[-1]]["inst"])
        name = target.name
        scalar = len(target.repeats) == outer + 1

        def pick(ctx: Ctx) -> Any:
            number = to_number(position(ctx))
            if math.isnan(number) or number < 1 or number != int(number):
                return "" if scalar else NodeSet(())
            key = (*ctx.index[:outer], int(number) - 1)
            store = ctx.state.values[val]
            if scalar:
                return raw_to_xpath(store.get(key))
            return NodeSet(raw_to_xpath(store.get(i)) for i in ctx.state.instances(name, key))

        return pick

    def position(self, node: Node, ups: int) -> Evaluator:
        """``position(current()/..)``: the number of the instance of the repeat that many
        steps above the field the expression is on."""
        at = self.fields.get(node.owner)
        for _ in range(ups):
            at = self.fields.get(at.parent) if at is not None and at.parent else None
        if at is None or at.kind != "repeat" or at.name not in node.repeats:
            raise FormError("position(current()/..) must name a repeat the field is inside")
        depth = node.repeats.index(at.name)
        return lambda ctx: float(ctx.index[depth] + 1) if len(ctx.index) > depth else 1.0

    def build(self) -> Program:
        # 1. nodes
        for f in self.fields.values():
            own = (*f.repeats,)
            self.add(f.name, "rel", own)
            if f.kind == "repeat":
                self.add(f.name, "inst", own)
                if f.repeat_count:
                    self.add(f.name, "count", own)
            elif f.kind != "group":
                self.add(f.name, "val", own)
            if f.required and f.required != "true()":
                self.add(f.name, "req", own)
            if f.read_only and f.read_only != "true()":
                self.add(f.name, "ro", own)
            if f.constraint:
                self.add(f.name, "con", own)
            if f.choice_filter:
                self.add(f.name, "choices", own)
            if any("${" in t for t in (*f.label.values(), *f.hint.values())):
                self.add(f.name, "label", own)
        for rule in self.rules:
            self.add(rule.name, "rule", (), rule=True)
        # 2. expressions (these record the edges)
        defaults: dict[str, Evaluator] = {}
        label_refs: dict[str, tuple[str, ...]] = {}
        triggers: dict[str, Evaluator | None] = {}
        for f in self.fields.values():
            aspects = self.index[f.name]
            rel = self.nodes[aspects["rel"]]
            if f.parent:
                rel.reads.add(self.index[f.parent]["rel"])
                if self.fields[f.parent].kind == "repeat":
                    rel.reads.add(self.index[f.parent]["inst"])
            if "inst" in aspects and "count" in aspects:
                self.nodes[aspects["inst"]].reads.add(aspects["count"])
            if f.relevant:
                rel.evaluate = self.compile(rel, f.relevant)
            if "val" in aspects:
                val = self.nodes[aspects["val"]]
                val.reads.add(rel.id)
                if f.calculation:
                    val.evaluate = self.compile(val, f.calculation)
            if "count" in aspects:
                count = self.nodes[aspects["count"]]
                count.evaluate = self.compile(count, f.repeat_count)
            if "con" in aspects and "val" not in aspects:
                raise self.fail(
                    f.name,
                    "con",
                    f"a constraint checks an answer, and the {f.kind} {f.name!r} has none; put "
                    "it on a question inside",
                )
            for aspect, text in (("req", f.required), ("ro", f.read_only), ("con", f.constraint)):
                if aspect in aspects:
                    node = self.nodes[aspects[aspect]]
                    node.evaluate = self.compile(node, text)
                    if aspect == "con":
                        node.reads.add(aspects["val"])
            if "choices" in aspects:
                node = self.nodes[aspects["choices"]]
                node.evaluate = self.compile(node, f.choice_filter, choice_context=True)
            if "label" in aspects:
                node = self.nodes[aspects["label"]]
                names = []
                for text in (*f.label.values(), *f.hint.values()):
                    for name in _LABEL_REF.findall(text):
                        if name.strip() not in names:
                            names.append(name.strip())
                getters = []
                for name in names:
                    try:
                        getters.append(self.ref(node, name))
                    except FormError as error:
                        raise self.fail(f.name, "label", error.detail) from None
                label_refs[f.name] = tuple(names)
                node.evaluate = _label_evaluator(tuple(getters))
            if f.trigger:
                probe = Node(-1, f.name, "val", f.repeats)
                triggers[f.name] = self.compile(probe, f.trigger_value) if f.trigger_value else None
            if f.default and _is_expression(f.default):
                probe = Node(-1, f.name, "default", f.repeats)
                defaults[f.name] = self.compile(probe, f.default, column_aspect="default")
        for rule in self.rules:
            node = self.nodes[self.rule_index[rule.name]]
            node.evaluate = self.compile(node, rule.when)
        # 3. edges and order
        for node in self.nodes:
            for source in sorted(node.reads):
                upstream = self.nodes[source]
                upstream.dependents.append(node.id)
                upstream.prefix.append(_common(upstream.repeats, node.repeats))
        order = self.toposort()
        for position, node_id in enumerate(order):
            self.nodes[node_id].order = position
        sets: dict[str, list[str]] = {}
        for f in self.fields.values():
            for origin in f.trigger:
                try:
                    self.unique(origin)
                except FormError as error:
                    raise self.fail(f.name, "trigger", error.detail) from None
                if origin not in self.fields:
                    raise self.fail(
                        f.name,
                        "trigger",
                        f"${{{origin}}} refers to no field of this form; check the name",
                    )
                sets.setdefault(origin, []).append(f.name)
        triggered = {origin: tuple(targets) for origin, targets in sets.items()}
        return Program(
            self.nodes,
            self.index,
            self.rule_index,
            defaults,
            label_refs,
            order,
            triggers,
            triggered,
        )

    def toposort(self) -> list[int]:
        pending = {n.id: len(n.reads) for n in self.nodes}
        ready = [n.id for n in self.nodes if not n.reads]
        order: list[int] = []
        while ready:
            current = ready.pop()
            order.append(current)
            for dep in self.nodes[current].dependents:
                pending[dep] -= 1
                if pending[dep] == 0:
                    ready.append(dep)
        if len(order) < len(self.nodes):
            stuck = [self.nodes[i] for i, left in pending.items() if left > 0]
            names = sorted({n.owner for n in stuck})
            first = min(
                (n for n in stuck if n.aspect in {"rel", "val", "count"}),
                key=lambda n: n.id,
                default=stuck[0],
            )
            raise self.fail(
                first.owner,
                first.aspect,
                "these fields depend on each other in a circle: "
                + ", ".join(names)
                + "; break the circle",
            )
        return order


def _label_evaluator(getters: tuple[Evaluator, ...]) -> Evaluator:
    from fieldscreen.forms.evaluate import to_string

    def labels(ctx: Ctx) -> tuple[str, ...]:
        return tuple(to_string(g(ctx)) for g in getters)

    return labels


def _is_expression(text: str) -> bool:
    return "${" in text or "(" in text


def build_program(
    fields: Mapping[str, Field], rules: tuple[Rule, ...], lists: Mapping[str, Any], file: str
) -> Program:
    """Compile every expression of a form and order its dependency graph (or raise FormError)."""
    return _Builder(fields, rules, lists, file).build()


def render_label(text: str, values: Mapping[str, str]) -> str:
    """``text`` with each ``${name}`` replaced by the shown value."""
    return _LABEL_REF.sub(lambda m: values.get(m.group(1).strip(), ""), text)
