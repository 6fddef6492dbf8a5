"""A form being filled in: typed answers in, derived state out, re-evaluated incrementally.

A field instance is addressed by a :class:`Node`: the field's name and, inside repeats, the
0-based index of each enclosing repeat instance (outermost first). ``"age"`` may be given for
``Node("age")``.

Values of fields that are not relevant count as empty in every expression and in the output;
the answer itself is kept, so that it comes back if the field becomes relevant again.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any, NamedTuple

from fieldscreen.forms.errors import AnswerError, FormVersionError, OverrideError
from fieldscreen.forms.evaluate import Ctx, NodeSet, to_number, to_string
from fieldscreen.forms.model import TIERS, Choice, Field, Form, Page
from fieldscreen.forms.program import Node as GraphNode
from fieldscreen.forms.program import render_label
from fieldscreen.forms.risk import DeadlineDue, Override, Risk, most_urgent
from fieldscreen.forms.values import coerce, decode, encode, tag, to_json, untag

__all__ = ["Changes", "FieldError", "Node", "Session"]

STATE_FORMAT = 1
_MISSING = object()
_MAX_REPEATS = 500

DEFAULT_REQUIRED = {"en": "This answer is required.", "es": "Esta respuesta es obligatoria."}
DEFAULT_CONSTRAINT = {"en": "This answer is not valid.", "es": "Esta respuesta no es válida."}


class Node(NamedTuple):
    """One instance of a field: its name and its repeat indices (0-based, outermost first)."""

    name: str
    at: tuple[int, ...] = ()

    def __str__(self) -> str:
        return self.name + "".join(f"[{i}]" for i in self.at)


PathLike = Node | str


def _node(path: PathLike) -> Node:
    return Node(path) if isinstance(path, str) else path


@dataclass(frozen=True, slots=True)
class FieldError:
    """A problem with one answer: ``kind`` is ``required``, ``constraint`` or ``type``."""

    node: Node
    kind: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"field": str(self.node), "kind": self.kind, "message": self.message}


@dataclass(slots=True)
class Changes:
    """What one change of an answer changed."""

    values: set[Node] = field(default_factory=set)
    relevance: set[Node] = field(default_factory=set)
    required: set[Node] = field(default_factory=set)
    read_only: set[Node] = field(default_factory=set)
    constraints: set[Node] = field(default_factory=set)
    choices: set[Node] = field(default_factory=set)
    labels: set[Node] = field(default_factory=set)
    repeats: set[Node] = field(default_factory=set)
    rules: set[str] = field(default_factory=set)
    tier_before: str = "T4"
    tier: str = "T4"
    evaluated: int = 0

    @property
    def tier_changed(self) -> bool:
        return self.tier != self.tier_before

    @property
    def became_act_now(self) -> bool:
        """True at the moment the computed tier reaches ``T0`` (act now)."""
        return self.tier == "T0" and self.tier_before != "T0"

    @property
    def fields(self) -> set[Node]:
        """Every field instance something changed for."""
        return (
            self.values
            | self.relevance
            | self.required
            | self.read_only
            | self.constraints
            | self.choices
            | self.labels
        )


_ASPECT_SET = {
    "val": "values",
    "rel": "relevance",
    "req": "required",
    "ro": "read_only",
    "con": "constraints",
    "choices": "choices",
    "label": "labels",
    "inst": "repeats",
}


class Session:
    """The answers to one form and everything derived from them.

    Create with :meth:`start` or :meth:`restore`; never share one between threads.
    """

    def __init__(
        self,
        form: Form,
        lang: str,
        context: Mapping[str, Any],
        case_values: Mapping[str, Any],
        clock: Callable[[], datetime] | None,
    ) -> None:
        self.form = form
        self.lang = lang
        self.context = dict(context)
        self.case_values = dict(case_values)
        self._clock = clock or (lambda: datetime.now(UTC))
        self.program = form.program
        self.answers: dict[str, dict[tuple[int, ...], Any]] = {n: {} for n in form.fields}
        self.values: list[dict[tuple[int, ...], Any]] = [{} for _ in self.program.nodes]
        self.counts: dict[tuple[str, tuple[int, ...]], int] = {}
        self.override: Override | None = None
        self._now = self._clock()
        self._chains = {
            f.name: ((*f.repeats, f.name) if f.kind == "repeat" else f.repeats)
            for f in form.fields.values()
        }

    # ------------------------------------------------------------------ creation

    @classmethod
    def start(
        cls,
        form: Form,
        lang: str = "en",
        context: Mapping[str, Any] | None = None,
        case_values: Mapping[str, Any] | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> Session:
        """A new session: context and case values filled in, defaults applied, all evaluated.

        Args:
            form: the loaded form.
            lang: language of messages and labels (``en`` or ``es``).
            context: the session context; hidden ``ctx_<key>`` fields take ``context[key]``.
            case_values: values from earlier forms of the case, for ``from_case`` fields.
            clock: returns "now" (for ``today()``, ``now()``); the system clock by default.
        """
        session = cls(form, lang, context or {}, case_values or {}, clock)
        for f in form.fields.values():
            if f.kind == "repeat" and not f.repeat_count and not f.repeats:
                session.counts[(f.name, ())] = 0
        session._fill_hidden(())
        session._apply_literal_defaults(None)
        session._recompute_all()
        session._apply_expression_defaults(None)
        return session

    @classmethod
    def restore(
        cls,
        form: Form,
        state: Mapping[str, Any],
        *,
        clock: Callable[[], datetime] | None = None,
        migrate: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None,
    ) -> Session:
        """A session from :meth:`to_state`; refuses another form version unless ``migrate``.

        ``migrate`` receives the saved state and returns one for this form's version.
        """
        from fieldscreen.errors import KnownError

        saved = state.get("form", {}) if isinstance(state, Mapping) else {}
        form_id = str(saved.get("id", "")) if isinstance(saved, Mapping) else ""
        version = str(saved.get("version", "")) if isinstance(saved, Mapping) else ""
        if form_id != form.id or version != form.version:
            if migrate is None:
                raise FormVersionError(form_id or "?", version or "?", form.version)
            state = migrate(state)
            if state.get("form", {}).get("version") != form.version:
                raise FormVersionError(form.id, version, form.version)
        try:
            session = cls(
                form,
                str(state["lang"]),
                dict(state.get("context", {})),
                dict(state.get("case_values", {})),
                clock,
            )
            for name, index, value in state["answers"]:
                f = form.fields[name]
                session.answers[name][tuple(index)] = decode(f, value)
            for name, prefix, count in state["counts"]:
                session.counts[(name, tuple(prefix))] = int(count)
            once = {}
            for name, index, value in state.get("once", []):
                once[(name, tuple(index))] = untag(value)
            override = state.get("override")
            if override:
                session.override = Override(**override)
        except (KeyError, TypeError, ValueError) as error:
            raise KnownError(
                "form-state-invalid", form_id=form.id, detail=type(error).__name__
            ) from None
        for (name, index), value in once.items():
            node = session.program.node(name, "val")
            if node is not None:
                session.values[node.id][index] = value
        session._recompute_all(keep_once=True)
        return session

    def to_state(self) -> dict[str, Any]:
        """Plain JSON-able data from which :meth:`restore` rebuilds this session exactly."""
        answers = [
            [name, list(index), encode(self.form.fields[name], value)]
            for name, by_index in self.answers.items()
            for index, value in sorted(by_index.items())
        ]
        counts = [[name, list(prefix), n] for (name, prefix), n in sorted(self.counts.items())]
        once = []
        for f in self.form.fields.values():
            if "once(" in f.calculation:
                node = self.program.node(f.name, "val")
                if node is not None:
                    for index, value in sorted(self.values[node.id].items()):
                        if value is not None:
                            once.append([f.name, list(index), tag(value)])
        return {
            "format": STATE_FORMAT,
            "form": {"id": self.form.id, "version": self.form.version},
            "lang": self.lang,
            "context": dict(self.context),
            "case_values": dict(self.case_values),
            "answers": answers,
            "counts": counts,
            "once": once,
            "override": self.override.to_json() if self.override else None,
        }

    # ------------------------------------------------------------------ State protocol

    def instances(self, name: str, prefix: tuple[int, ...]) -> list[tuple[int, ...]]:
        """Every instance index of field ``name`` under ``prefix``."""
        return self._enumerate(self._chains[name], prefix)

    def _enumerate(self, chain: tuple[str, ...], prefix: tuple[int, ...]) -> list[tuple[int, ...]]:
        if len(prefix) >= len(chain):
            return [prefix[: len(chain)]]
        results = [prefix]
        for depth in range(len(prefix), len(chain)):
            grown: list[tuple[int, ...]] = []
            for index in results:
                count = self.counts.get((chain[depth], index), 0)
                grown.extend((*index, i) for i in range(count))
            results = grown
        return results

    def choice_label(self, field: str, value: str, lang: str) -> str:
        for choice in self.form.fields[field].choices:
            if choice.name == value:
                return str(choice.label.get(lang))
        return ""

    def list_rows(self, name: str) -> Sequence[Mapping[str, str]]:
        return self.form.lists.get(name, ())

    # ------------------------------------------------------------------ evaluation

    def _ctx(self, index: tuple[int, ...], current: Any = None) -> Ctx:
        return Ctx(self, index, current, self._now, self.lang)

    def _compute(self, node: GraphNode, index: tuple[int, ...]) -> Any:
        aspect = node.aspect
        owner = node.owner
        if aspect == "rule":
            assert node.evaluate is not None
            return bool(_truth(node.evaluate(self._ctx(index))))
        f = self.form.fields[owner]
        if aspect == "rel":
            if f.parent:
                parent = self.program.fields[f.parent]["rel"]
                if not self.values[parent].get(index[: len(self.form.fields[f.parent].repeats)]):
                    return False
            if node.evaluate is None:
                return True
            return bool(_truth(node.evaluate(self._ctx(index))))
        if aspect == "val":
            rel = self.program.fields[owner]["rel"]
            if not self.values[rel].get(index):
                return None
            if node.evaluate is not None:
                previous = self.values[node.id].get(index)
                return _normalise(node.evaluate(self._ctx(index, previous)))
            return self.answers[owner].get(index)
        if aspect == "con":
            value = self.values[self.program.fields[owner]["val"]].get(index)
            if value is None:
                return True
            assert node.evaluate is not None
            return bool(_truth(node.evaluate(self._ctx(index, value))))
        if aspect == "choices":
            assert node.evaluate is not None
            ctx = self._ctx(index, self.values[self.program.fields[owner]["val"]].get(index))
            evaluate = node.evaluate
            return tuple(c.name for c in f.choices if _truth(evaluate(ctx.with_choice(c.row()))))
        if aspect == "inst":
            return len(self._enumerate(self._chains[owner], index))
        if aspect == "count":
            assert node.evaluate is not None
            number = to_number(node.evaluate(self._ctx(index)))
            return 0 if math.isnan(number) else max(0, min(_MAX_REPEATS, int(number)))
        assert node.evaluate is not None
        result = node.evaluate(self._ctx(index))
        return result if aspect == "label" else bool(_truth(result))

    def _recompute_all(self, keep_once: bool = False) -> int:
        evaluated = 0
        nodes = self.program.nodes
        fresh: list[dict[tuple[int, ...], Any]] = [{} for _ in nodes]
        old = self.values
        self.values = fresh
        for node_id in self.program.order:
            node = nodes[node_id]
            for index in self._enumerate(node.repeats, ()):
                if node.aspect == "val" and node.evaluate is not None:
                    fresh[node_id][index] = old[node_id].get(index)  # once() sees its value
                value = self._compute(node, index)
                fresh[node_id][index] = value
                evaluated += 1
                if node.aspect == "count":
                    self._resize(node.owner, index, value)
        return evaluated

    def _resize(self, repeat: str, prefix: tuple[int, ...], count: int) -> None:
        key = (repeat, prefix)
        before = self.counts.get(key, 0)
        if before == count:
            return
        self.counts[key] = count
        if count > before:
            for i in range(before, count):
                self._new_instance(repeat, (*prefix, i))
        else:
            self._drop_from(repeat, prefix, count)

    def _new_instance(self, repeat: str, index: tuple[int, ...]) -> None:
        for f in self.form.fields.values():
            if f.kind == "repeat" and f.repeats == self._chains[repeat] and not f.repeat_count:
                self.counts[(f.name, index)] = 0
        self._fill_hidden(index, repeat)
        self._apply_literal_defaults((repeat, index))

    def _drop_from(self, repeat: str, prefix: tuple[int, ...], keep: int) -> None:
        depth = len(prefix)
        for name, chain in self._chains.items():
            if len(chain) > depth and chain[depth] == repeat:
                store = self.answers[name]
                for index in [i for i in store if i[:depth] == prefix and i[depth] >= keep]:
                    del store[index]
        for key in [k for k in self.counts if len(k[1]) > depth and k[1][:depth] == prefix]:
            chain = self._chains[key[0]]
            if len(chain) > depth and chain[depth] == repeat and key[1][depth] >= keep:
                del self.counts[key]

    def _fill_hidden(self, index: tuple[int, ...], repeat: str = "") -> None:
        for f in self.form.fields.values():
            if f.kind != "hidden" or (repeat and repeat not in f.repeats):
                continue
            if repeat and len(f.repeats) != len(index):
                continue
            source: Any = _MISSING
            if f.context_key and f.context_key in self.context:
                source = self.context[f.context_key]
            elif f.from_case and f.name in self.case_values:
                source = self.case_values[f.name]
            if source is not _MISSING and source is not None:
                self.answers[f.name][index if repeat else ()] = coerce(f, source)

    def _apply_literal_defaults(self, within: tuple[str, tuple[int, ...]] | None) -> None:
        for f in self.form.fields.values():
            if not f.default or f.name in self.program.defaults:
                continue
            if not (f.is_input or f.kind == "hidden"):
                continue
            for index in self._default_targets(f, within):
                if index not in self.answers[f.name]:
                    self.answers[f.name][index] = coerce(f, f.default)

    def _apply_expression_defaults(self, within: tuple[str, tuple[int, ...]] | None) -> None:
        for name, evaluate in self.program.defaults.items():
            f = self.form.fields[name]
            for index in self._default_targets(f, within):
                if index in self.answers[name]:
                    continue
                value = _normalise(evaluate(self._ctx(index)))
                if value is not None:
                    self._store(Node(name, index), coerce(f, value), Changes())

    def _default_targets(
        self, f: Field, within: tuple[str, tuple[int, ...]] | None
    ) -> list[tuple[int, ...]]:
        if within is None:
            return self._enumerate(f.repeats, ())
        repeat, index = within
        if repeat not in f.repeats:
            return []
        depth = f.repeats.index(repeat) + 1
        return self._enumerate(f.repeats, index[:depth])

    def _propagate(self, seeds: Iterable[tuple[int, tuple[int, ...]]], changes: Changes) -> None:
        nodes = self.program.nodes
        heap: list[tuple[int, int, tuple[int, ...]]] = []
        queued: set[tuple[int, tuple[int, ...]]] = set()
        for node_id, index in seeds:
            queued.add((node_id, index))
            heap.append((nodes[node_id].order, node_id, index))
        heapq.heapify(heap)
        structural = False
        while heap:
            _, node_id, index = heapq.heappop(heap)
            queued.discard((node_id, index))
            node = nodes[node_id]
            new = self._compute(node, index)
            changes.evaluated += 1
            store = self.values[node_id]
            old = store.get(index, _MISSING)
            if old is not _MISSING and type(old) is type(new) and old == new:
                continue
            store[index] = new
            if node.aspect == "rule":
                changes.rules.add(node.owner)
            elif node.aspect == "count":
                structural = True
                self._resize(node.owner, index, new)
                continue
            else:
                getattr(changes, _ASPECT_SET[node.aspect]).add(Node(node.owner, index))
            for dep, depth in zip(node.dependents, node.prefix, strict=True):
                target = nodes[dep]
                for dep_index in self._enumerate(target.repeats, index[:depth]):
                    key = (dep, dep_index)
                    if key not in queued:
                        queued.add(key)
                        heapq.heappush(heap, (target.order, dep, dep_index))
        if structural:
            self._structural(changes)

    def _structural(self, changes: Changes) -> None:
        before = [dict(v) for v in self.values]
        changes.evaluated += self._recompute_all()
        self._apply_expression_defaults(None)
        self._diff(before, changes)

    def _diff(self, before: list[dict[tuple[int, ...], Any]], changes: Changes) -> None:
        for node in self.program.nodes:
            old, new = before[node.id], self.values[node.id]
            for index in set(old) | set(new):
                a, b = old.get(index, _MISSING), new.get(index, _MISSING)
                if type(a) is type(b) and a == b:
                    continue
                if node.aspect == "rule":
                    changes.rules.add(node.owner)
                elif node.aspect in _ASPECT_SET:
                    getattr(changes, _ASPECT_SET[node.aspect]).add(Node(node.owner, index))

    def _store(self, node: Node, value: Any, changes: Changes) -> None:
        self.answers[node.name][node.at] = value
        val = self.program.fields[node.name]["val"]
        self._propagate([(val, node.at)], changes)

    # ------------------------------------------------------------------ changing answers

    def _check_instance(self, node: Node) -> Field:
        f = self.form.fields.get(node.name)
        if f is None:
            raise AnswerError(node.name, "the name of a field of this form")
        if len(node.at) != len(f.repeats) or node.at not in self.instances(node.name, node.at[:0]):
            raise AnswerError(str(node), "an existing repeat instance")
        return f

    def set_answer(self, path: PathLike, value: Any) -> Changes:
        """Set (or with ``None`` clear) one answer; returns what that changed."""
        node = _node(path)
        f = self._check_instance(node)
        if not (f.is_input or f.kind == "hidden"):
            raise AnswerError(node.name, "left alone: it is computed by the form")
        tier = self.computed_tier()
        changes = Changes(tier_before=tier)
        self._now = self._clock()
        self._store(node, coerce(f, value), changes)
        changes.tier = self.computed_tier()
        return changes

    def add_repeat(self, name: str, prefix: tuple[int, ...] = ()) -> tuple[int, Changes]:
        """Add an instance to repeat ``name`` (under ``prefix`` when nested); returns its index."""
        f = self.form.fields.get(name)
        if f is None or f.kind != "repeat":
            raise AnswerError(name, "the name of a repeat")
        if f.repeat_count:
            raise AnswerError(name, "changed through its count question")
        key = (name, prefix)
        if key not in self.counts and prefix not in self._enumerate(f.repeats, ()):
            raise AnswerError(name, "an existing repeat instance")
        changes = Changes(tier_before=self.computed_tier())
        before = [dict(v) for v in self.values]
        position = self.counts.get(key, 0)
        if position >= _MAX_REPEATS:
            raise AnswerError(name, f"at most {_MAX_REPEATS} entries")
        self.counts[key] = position + 1
        self._new_instance(name, (*prefix, position))
        changes.evaluated += self._recompute_all()
        self._apply_expression_defaults((name, (*prefix, position)))
        self._diff(before, changes)
        changes.tier = self.computed_tier()
        return position, changes

    def remove_repeat(self, name: str, index: tuple[int, ...]) -> Changes:
        """Remove the repeat instance ``index`` (its full index); later ones move up."""
        f = self.form.fields.get(name)
        if f is None or f.kind != "repeat" or f.repeat_count:
            raise AnswerError(name, "the name of a repeat without a count")
        prefix, position = index[:-1], index[-1]
        count = self.counts.get((name, prefix), 0)
        if not 0 <= position < count:
            raise AnswerError(name, "an existing repeat instance")
        changes = Changes(tier_before=self.computed_tier())
        before = [dict(v) for v in self.values]
        depth = len(prefix)

        def shift(store: dict[tuple[int, ...], Any]) -> None:
            moved = {}
            for key in list(store):
                if len(key) > depth and key[:depth] == prefix and key[depth] >= position:
                    value = store.pop(key)
                    if key[depth] > position:
                        moved[(*key[:depth], key[depth] - 1, *key[depth + 1 :])] = value
            store.update(moved)

        for chain_name, chain in self._chains.items():
            if len(chain) > depth and chain[depth] == name:
                shift(self.answers[chain_name])
        for node in self.program.nodes:
            if len(node.repeats) > depth and node.repeats[depth] == name:
                shift(self.values[node.id])
        moved_counts = {}
        for key in list(self.counts):
            rep, pre = key
            chain = self._chains[rep]
            if len(pre) > depth and pre[:depth] == prefix and chain[depth] == name:
                n = self.counts.pop(key)
                if pre[depth] > position:
                    moved_counts[(rep, (*pre[:depth], pre[depth] - 1, *pre[depth + 1 :]))] = n
                elif pre[depth] < position:
                    moved_counts[key] = n
        self.counts.update(moved_counts)
        self.counts[(name, prefix)] = count - 1
        changes.evaluated += self._recompute_all()
        self._diff(before, changes)
        changes.tier = self.computed_tier()
        return changes

    def reevaluate_all(self) -> int:
        """Re-evaluate every expression from scratch (the baseline of the benchmark)."""
        return self._recompute_all()

    # ------------------------------------------------------------------ reading

    def field(self, path: PathLike) -> Field:
        return self.form.fields[_node(path).name]

    def value(self, path: PathLike) -> Any:
        """The effective value (``None`` when empty or not relevant)."""
        node = _node(path)
        aspects = self.program.fields[node.name]
        if "val" not in aspects:
            return None
        return self.values[aspects["val"]].get(node.at)

    def answer(self, path: PathLike) -> Any:
        """The stored answer, even when the field is not relevant now."""
        node = _node(path)
        return self.answers[node.name].get(node.at)

    def relevant(self, path: PathLike) -> bool:
        node = _node(path)
        return bool(self.values[self.program.fields[node.name]["rel"]].get(node.at, False))

    def required(self, path: PathLike) -> bool:
        node = _node(path)
        f = self.form.fields[node.name]
        if f.required == "true()":
            return True
        req = self.program.fields[node.name].get("req")
        return bool(req is not None and self.values[req].get(node.at))

    def read_only(self, path: PathLike) -> bool:
        node = _node(path)
        f = self.form.fields[node.name]
        if f.kind in {"calculate", "note"} or f.calculation or f.read_only == "true()":
            return True
        ro = self.program.fields[node.name].get("ro")
        return bool(ro is not None and self.values[ro].get(node.at))

    def choices(self, path: PathLike) -> tuple[Choice, ...]:
        """The choices shown now (after the choice filter)."""
        node = _node(path)
        f = self.form.fields[node.name]
        visible = self.program.fields[node.name].get("choices")
        if visible is None:
            return f.choices
        names = set(self.values[visible].get(node.at, ()))
        return tuple(c for c in f.choices if c.name in names)

    def repeat_count(self, name: str, prefix: tuple[int, ...] = ()) -> int:
        return self.counts.get((name, prefix), 0)

    def label(self, path: PathLike, lang: str | None = None) -> str:
        return self._text(_node(path), "label", lang)

    def hint(self, path: PathLike, lang: str | None = None) -> str:
        return self._text(_node(path), "hint", lang)

    def _text(self, node: Node, which: str, lang: str | None) -> str:
        f = self.form.fields[node.name]
        text = str(getattr(f, which).get(lang or self.lang))
        label = self.program.fields[node.name].get("label")
        if label is None or "${" not in text:
            return text
        shown = dict(
            zip(
                self.program.label_refs[node.name],
                self.values[label].get(node.at, ()),
                strict=False,
            )
        )
        return render_label(text, shown)

    def errors(self, path: PathLike, lang: str | None = None) -> list[FieldError]:
        """Required and constraint problems of one field instance, in ``lang``."""
        node = _node(path)
        f = self.form.fields[node.name]
        lang = lang or self.lang
        if not f.is_input or not self.relevant(node):
            return []
        value = self.value(node)
        if value is None or value == ():
            if self.required(node):
                message = f.required_message.get(lang) or DEFAULT_REQUIRED.get(lang, "")
                return [FieldError(node, "required", message or DEFAULT_REQUIRED["en"])]
            return []
        con = self.program.fields[node.name].get("con")
        if con is not None and not self.values[con].get(node.at, True):
            message = f.constraint_message.get(lang) or DEFAULT_CONSTRAINT.get(lang, "")
            return [FieldError(node, "constraint", message or DEFAULT_CONSTRAINT["en"])]
        return []

    def validate_for_finalise(self, lang: str | None = None) -> list[FieldError]:
        """Every problem that must be fixed before the screening can be finalised."""
        found: list[FieldError] = []
        for f in self.form.fields.values():
            if f.is_input:
                for index in self.instances(f.name, ()):
                    found.extend(self.errors(Node(f.name, index), lang))
        return found

    # ------------------------------------------------------------------ pages

    @property
    def pages(self) -> tuple[Page, ...]:
        return self.form.pages

    def page_relevant(self, page: int) -> bool:
        current = self.form.pages[page]
        if current.group and not self.relevant(current.group):
            return False
        if current.group and self.form.fields[current.group].kind == "repeat":
            return True
        return any(
            self.relevant(Node(n)) for n in current.fields if not self.form.fields[n].repeats
        )

    def next_page(self, page: int) -> int | None:
        """The next page that is relevant after ``page`` (``-1`` for the first), or ``None``."""
        for candidate in range(page + 1, len(self.form.pages)):
            if self.page_relevant(candidate):
                return candidate
        return None

    def previous_page(self, page: int) -> int | None:
        for candidate in range(page - 1, -1, -1):
            if self.page_relevant(candidate):
                return candidate
        return None

    # ------------------------------------------------------------------ risk

    def raised(self) -> tuple[str, ...]:
        """The names of the rules whose ``when`` is true now, in sheet order."""
        return tuple(
            r.name for r in self.form.rules if self.values[self.program.rules[r.name]].get(())
        )

    def computed_tier(self) -> str:
        raised = set(self.raised())
        return most_urgent(r.tier for r in self.form.rules if r.name in raised and r.tier)

    def risk(self, lang: str | None = None) -> Risk:
        """Flags, concerns, tier, referrals, deadlines (for ``ctx_jurisdiction``), messages."""
        lang = lang or self.lang
        raised = set(self.raised())
        rules = [r for r in self.form.rules if r.name in raised]
        computed = most_urgent(r.tier for r in rules if r.tier)
        jurisdiction = str(self.context.get("jurisdiction", "") or "")
        due: dict[str, DeadlineDue] = {}
        for rule in rules:
            for name in rule.deadlines:
                for d in self.form.deadlines:
                    if d.name != name or d.jurisdiction not in {"*", jurisdiction}:
                        continue
                    key = f"{d.name}:{d.jurisdiction}"
                    prior = due.get(key)
                    names = (*prior.rules, rule.name) if prior else (rule.name,)
                    due[key] = DeadlineDue(
                        d.name, d.jurisdiction, d.hours, d.label.get(lang), d.basis, names
                    )
        return Risk(
            form_id=self.form.id,
            flags=tuple(r.name for r in rules),
            concerns=tuple(dict.fromkeys(c for r in rules for c in r.concerns)),
            computed_tier=computed,
            tier=self.override.tier if self.override else computed,
            referrals=tuple(dict.fromkeys(s for r in rules for s in r.referrals)),
            deadlines=tuple(sorted(due.values(), key=lambda d: (d.hours, d.name))),
            opens=tuple(dict.fromkeys(o for r in rules for o in r.opens)),
            messages=tuple((r.name, r.message.get(lang)) for r in rules if r.message.get(lang)),
            override=self.override,
        )

    def override_tier(self, tier: str, reason: str, supervisor: str) -> Override:
        """Set the tier by hand; needs a reason and the supervisor who signed it off."""
        if tier not in TIERS:
            raise OverrideError("a tier from T0 to T4")
        if not reason.strip():
            raise OverrideError("a reason")
        if not supervisor.strip():
            raise OverrideError("a supervisor's sign-off")
        self.override = Override(tier, self.computed_tier(), reason.strip(), supervisor.strip())
        return self.override

    def clear_override(self) -> None:
        self.override = None

    # ------------------------------------------------------------------ output

    def values_json(self, *, include_irrelevant: bool = False) -> dict[str, Any]:
        """Every field's effective value as JSON (repeats as lists of objects)."""
        return self._values_under(self.form.top, (), include_irrelevant)

    def _values_under(
        self, names: Sequence[str], index: tuple[int, ...], everything: bool
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in names:
            f = self.form.fields[name]
            if f.kind == "group":
                out.update(self._values_under(f.children, index, everything))
            elif f.kind == "repeat":
                count = self.counts.get((name, index), 0)
                out[name] = [
                    self._values_under(f.children, (*index, i), everything) for i in range(count)
                ]
            elif f.kind != "note":
                value = self.value(Node(name, index))
                out[name] = to_json(value)
        return out

    def relevance_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in self.form.fields.values():
            instances = self.instances(f.name, ())
            if not f.repeats:
                out[f.name] = self.relevant(f.name)
            else:
                out[f.name] = [self.relevant(Node(f.name, i)) for i in instances]
        return out

    def _marked(self, test: Callable[[Field], bool]) -> dict[str, Any]:
        return {
            f.name: to_json(self.value(f.name))
            for f in self.form.fields.values()
            if test(f) and not f.repeats and not f.is_container
        }

    def case_card(self) -> dict[str, Any]:
        """The fields marked ``case_card``, plus the risk summary follow-up needs."""
        card = self._marked(lambda f: f.case_card)
        risk = self.risk()
        card["_risk"] = {
            "tier": risk.tier,
            "concerns": list(risk.concerns),
            "referrals": list(risk.referrals),
            "deadlines": [d.to_json() for d in risk.deadlines],
        }
        return card

    def aggregate_record(self) -> dict[str, Any]:
        """The non-identifying aggregate record: ``aggregate`` category -> value."""
        record: dict[str, Any] = {}
        for f in self.form.fields.values():
            if f.aggregate and not f.repeats and f.sensitivity == "low":
                record[f.aggregate] = to_json(self.value(f.name))
        risk = self.risk()
        record.setdefault("tier", risk.tier)
        record.setdefault("concern", list(risk.concerns))
        return record


def _truth(value: Any) -> bool:
    from fieldscreen.forms.evaluate import to_bool

    return to_bool(value)


def _normalise(value: Any) -> Any:
    """A calculation's result as a stored value."""
    if isinstance(value, NodeSet):
        value = value[0] if value else ""
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, datetime | date | time):
        return value
    text = to_string(value)
    return text if text != "" else None
