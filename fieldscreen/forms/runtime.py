"""The evaluation core of a session: the stored answers, the value of every node of the
dependency graph for every repeat instance, and the incremental re-evaluation after a change.

:class:`~fieldscreen.forms.session.Session` builds its public API on this class.
"""

from __future__ import annotations

import heapq
import math
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from fieldscreen.forms.changes import ASPECT_SET, Changes, Node
from fieldscreen.forms.evaluate import Ctx, NodeSet, to_bool, to_number, to_string
from fieldscreen.forms.functions import local_moment
from fieldscreen.forms.model import Field, Form, language_key
from fieldscreen.forms.program import Node as GraphNode
from fieldscreen.forms.risk import Override, Release
from fieldscreen.forms.values import coerce

__all__ = ["MAX_REPEATS", "Runtime"]

MISSING = object()
MAX_REPEATS = 500


class Runtime:
    """Answers and derived values of one form; see :class:`~fieldscreen.forms.session.Session`."""

    def __init__(
        self,
        form: Form,
        lang: str,
        context: Mapping[str, Any],
        case_values: Mapping[str, Any],
        clock: Callable[[], datetime] | None,
    ) -> None:
        self.form = form
        self.lang = language_key(lang) or form.default_language
        self.context = dict(context)
        #: The record's own random seed, kept in its state: uuid() and the order of
        #: ``randomize`` choices derive from it, so they are stable for the record and differ
        #: between records.
        self.seed = secrets.token_hex(16)
        self.case_values = dict(case_values)
        self._clock = clock or (lambda: datetime.now(UTC))
        self.program = form.program
        self.answers: dict[str, dict[tuple[int, ...], Any]] = {n: {} for n in form.fields}
        self.values: list[dict[tuple[int, ...], Any]] = [{} for _ in self.program.nodes]
        self.counts: dict[tuple[str, tuple[int, ...]], int] = {}
        self.override: Override | None = None
        self.releases: dict[str, Release] = {}
        self.raised_at: dict[str, datetime] = {}
        #: Attached files by file name: the answers of media questions (see
        #: :mod:`fieldscreen.forms.attachments`).
        self.attachments: dict[str, bytes] = {}
        self._tier = "T4"
        self._now = self._clock()
        self._chains = {
            f.name: ((*f.repeats, f.name) if f.kind == "repeat" else f.repeats)
            for f in form.fields.values()
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
                return normalise(node.evaluate(self._ctx(index, previous)))
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
            return 0 if math.isnan(number) else max(0, min(MAX_REPEATS, int(number)))
        assert node.evaluate is not None
        result = node.evaluate(self._ctx(index))
        return result if aspect == "label" else bool(_truth(result))

    def _recompute_all(self) -> int:
        """Evaluate every node of every instance in dependency order; ``once()`` keeps its value."""
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
            source: Any = MISSING
            if f.meta:
                source = self._metadata(f.meta)
            elif f.context_key and f.context_key in self.context:
                source = self.context[f.context_key]
            elif f.from_case and f.name in self.case_values:
                source = self.case_values[f.name]
            if source is not MISSING and source is not None:
                self.answers[f.name][index if repeat else ()] = coerce(f, source)

    def _metadata(self, kind: str) -> Any:
        """The value of a metadata question, as the session knows it when it starts."""
        if kind in {"start", "end"}:
            return local_moment(self._now).isoformat()
        if kind == "today":
            return local_moment(self._now).date().isoformat()
        if kind == "deviceid":
            return self.context.get("device")
        if kind == "username":
            return self.context.get("staff")
        return None  # phonenumber, email, subscriberid, simserial: nothing on a laptop

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
                value = normalise(evaluate(self._ctx(index)))
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
            old = store.get(index, MISSING)
            if old is not MISSING and type(old) is type(new) and old == new:
                continue
            store[index] = new
            if node.aspect == "rule":
                changes.rules.add(node.owner)
            elif node.aspect == "count":
                structural = True
                self._resize(node.owner, index, new)
                continue
            else:
                getattr(changes, ASPECT_SET[node.aspect]).add(Node(node.owner, index))
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
                a, b = old.get(index, MISSING), new.get(index, MISSING)
                if type(a) is type(b) and a == b:
                    continue
                if node.aspect == "rule":
                    changes.rules.add(node.owner)
                elif node.aspect in ASPECT_SET:
                    getattr(changes, ASPECT_SET[node.aspect]).add(Node(node.owner, index))

    def _store(self, node: Node, value: Any, changes: Changes) -> None:
        self.answers[node.name][node.at] = value
        val = self.program.fields[node.name]["val"]
        self._propagate([(val, node.at)], changes)


def _truth(value: Any) -> bool:
    return to_bool(value)


def normalise(value: Any) -> Any:
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
