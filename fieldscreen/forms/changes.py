"""What a session reports: field instances (:class:`Node`), problems, and what a change changed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

__all__ = ["ASPECT_SET", "Changes", "FieldError", "Node", "PathLike", "as_node"]


class Node(NamedTuple):
    """One instance of a field: its name and its repeat indices (0-based, outermost first)."""

    name: str
    at: tuple[int, ...] = ()

    def __str__(self) -> str:
        return self.name + "".join(f"[{i}]" for i in self.at)


PathLike = Node | str | tuple[str, tuple[int, ...]]


def as_node(path: PathLike) -> Node:
    """``"age"`` -> ``Node("age")``; a ``(name, index)`` pair -> ``Node(name, index)``."""
    if isinstance(path, str):
        return Node(path)
    if isinstance(path, Node):
        return path
    name, index = path
    return Node(str(name), tuple(int(i) for i in index))


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


ASPECT_SET = {
    "val": "values",
    "rel": "relevance",
    "req": "required",
    "ro": "read_only",
    "con": "constraints",
    "choices": "choices",
    "label": "labels",
    "inst": "repeats",
}
