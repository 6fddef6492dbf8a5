"""Carrying a saved screening over to another version of its form, losing nothing.

:func:`carry_over` is conservative: an answer is carried only when its field still exists, takes
answers of a compatible type, sits in the same repeat structure and its value still fits (choices
still listed, the constraint still holds). Every other answer goes to the ``dropped`` section of
the migrated state with the reason, so it stays inside the (encrypted) draft, visible to the
specialist, and is never silently lost: ``len(kept) + len(dropped)`` is the number of answers that
were saved. The override and the releases are carried only when their tier or rule still exists.

The state records ``migrated_from`` (the version it was saved with). Nothing here writes: the
caller decides when the migrated state replaces the saved one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fieldscreen.forms.changes import Node
from fieldscreen.forms.errors import AnswerError
from fieldscreen.forms.model import TIERS, Field, Form
from fieldscreen.forms.values import decode, encode

__all__ = ["REASONS", "Dropped", "Migrated", "carry_over", "dropped_of"]

#: Why an answer was not carried (the ``reason`` of a dropped entry), in English and Spanish.
REASONS: dict[str, dict[str, str]] = {
    "removed": {
        "en": "the question is no longer in the form",
        "es": "la pregunta ya no está en el formulario",
    },
    "not_an_answer": {
        "en": "the question is now filled in by the form itself",
        "es": "ahora el propio formulario rellena esta pregunta",
    },
    "type": {
        "en": "the question now takes another kind of answer",
        "es": "la pregunta ahora admite otro tipo de respuesta",
    },
    "choice": {
        "en": "the option chosen is no longer offered",
        "es": "la opción elegida ya no se ofrece",
    },
    "structure": {
        "en": "the question moved into or out of a repeated section",
        "es": "la pregunta pasó a otra sección repetida",
    },
    "constraint": {
        "en": "the answer no longer meets the question's rules",
        "es": "la respuesta ya no cumple las reglas de la pregunta",
    },
    "tier": {
        "en": "the tier of the override no longer exists",
        "es": "el nivel de la modificación ya no existe",
    },
    "rule": {
        "en": "no rule withholds or declines this any more",
        "es": "ya ninguna regla retiene ni rechaza esto",
    },
}

#: Kinds whose stored answers the new kind accepts as they are.
_COMPATIBLE = {("integer", "decimal")}


@dataclass(frozen=True, slots=True)
class Dropped:
    """One answer (or override, or release) that was not carried, with why.

    ``name`` is the field name (``_override`` for the override, ``_release:NAME`` for a release),
    ``index`` the repeat instance, ``value`` the saved value as plain data, ``reason`` a key of
    :data:`REASONS`, ``version`` the form version it was saved with.
    """

    name: str
    index: tuple[int, ...]
    value: Any
    reason: str
    version: str

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "index": list(self.index),
            "value": self.value,
            "reason": self.reason,
            "version": self.version,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Dropped:
        return cls(
            str(data["name"]),
            tuple(int(i) for i in data.get("index", ())),
            data.get("value"),
            str(data.get("reason", "")),
            str(data.get("version", "")),
        )

    @property
    def is_answer(self) -> bool:
        return not self.name.startswith("_")

    def why(self, lang: str) -> str:
        texts = REASONS.get(self.reason, {})
        return texts.get(lang) or texts.get("en", self.reason)


@dataclass(frozen=True, slots=True)
class Migrated:
    """The result of :func:`carry_over`.

    ``state`` is restorable with the new form; ``kept`` the answers carried (as ``Node``),
    ``dropped`` what was set aside by this migration (earlier migrations' entries stay in the
    state's ``dropped`` section but are not repeated here).
    """

    state: dict[str, Any]
    kept: tuple[Node, ...]
    dropped: tuple[Dropped, ...]

    @property
    def dropped_answers(self) -> tuple[Dropped, ...]:
        return tuple(d for d in self.dropped if d.is_answer)


def dropped_of(state: Mapping[str, Any]) -> tuple[Dropped, ...]:
    """Everything set aside by migrations of a saved state (oldest first)."""
    return tuple(Dropped.from_json(d) for d in state.get("dropped", ()) or ())


def _fits_kind(f: Field, old_kind: str | None, value: Any) -> tuple[Any, str]:
    """The decoded value and ``''``, or ``None`` and the reason it does not fit ``f``."""
    if not (f.is_input or f.kind == "hidden"):
        return None, "not_an_answer"
    if old_kind is not None and old_kind != f.kind and (old_kind, f.kind) not in _COMPATIBLE:
        return None, "type"
    try:
        decoded = decode(f, value)
    except AnswerError as error:
        return None, "choice" if error.expected in {"choice", "choices"} else "type"
    if old_kind is None and encode(f, decoded) != value:
        return None, "type"  # a state without kinds: only lossless round trips are carried
    return decoded, ""


def carry_over(state: Mapping[str, Any], form: Form) -> Migrated:
    """A saved session state made restorable with ``form``, keeping every answer that fits.

    Args:
        state: what :meth:`Session.to_state` wrote, for any version of the same form.
        form: the form to carry it over to.

    Returns:
        The migrated state (``form.version``, ``migrated_from``, ``dropped``), the kept answers
        and the entries this migration dropped.
    """
    from fieldscreen.forms.session import Session

    saved_form = state.get("form", {}) or {}
    old_version = str(saved_form.get("version", ""))
    kinds: Mapping[str, str] | None = state.get("kinds")
    counts: dict[tuple[str, tuple[int, ...]], int] = {}
    for name, prefix, count in state.get("counts", ()):
        f = form.fields.get(name)
        if f is not None and f.kind == "repeat" and len(prefix) == len(f.repeats):
            counts[(name, tuple(prefix))] = int(count)

    def inside(f: Field, index: tuple[int, ...]) -> bool:
        if len(index) != len(f.repeats):
            return False
        return all(
            0 <= index[d] < counts.get((rep, index[:d]), 0) for d, rep in enumerate(f.repeats)
        )

    kept: list[list[Any]] = []
    dropped: list[Dropped] = []
    for name, raw_index, value in state.get("answers", ()):
        index = tuple(int(i) for i in raw_index)
        f = form.fields.get(name)
        if f is None:
            dropped.append(Dropped(name, index, value, "removed", old_version))
            continue
        old_kind = None if kinds is None else kinds.get(name)
        decoded, reason = _fits_kind(f, old_kind, value)
        if not reason and not inside(f, index):
            reason = "structure"
        if reason:
            dropped.append(Dropped(name, index, value, reason, old_version))
        elif decoded is not None:
            kept.append([name, list(index), encode(f, decoded)])

    override = state.get("override")
    if override and override.get("tier") not in TIERS:
        dropped.append(Dropped("_override", (), dict(override), "tier", old_version))
        override = None
    known = {n for r in form.rules for n in (*r.withholds, *r.declines)}
    releases = []
    for release in state.get("releases", ()) or ():
        if release.get("name") in known:
            releases.append(dict(release))
        else:
            name = f"_release:{release.get('name', '')}"
            dropped.append(Dropped(name, (), dict(release), "rule", old_version))
    once = [
        [name, index, value]
        for name, index, value in state.get("once", ())
        if name in form.fields and "once(" in form.fields[name].calculation
    ]
    rules = {r.name for r in form.rules}
    migrated: dict[str, Any] = {
        **{k: v for k, v in state.items() if k not in {"dropped", "migrated_from"}},
        "form": {"id": form.id, "version": form.version},
        "answers": kept,
        "counts": [[n, list(p), c] for (n, p), c in sorted(counts.items())],
        "once": once,
        "override": override,
        "releases": releases,
        "raised_at": {k: v for k, v in (state.get("raised_at") or {}).items() if k in rules},
    }
    migrated.pop("kinds", None)

    # The constraints, with every carried answer in place: a value that no longer meets its
    # question's rule is set aside, and the rest is checked again without it.
    while True:
        session = Session.restore(form, migrated)
        failing = {
            (name, tuple(index))
            for name, index, _ in migrated["answers"]
            if "con" in session.program.fields[name]
            and not session.values[session.program.fields[name]["con"]].get(tuple(index), True)
        }
        if not failing:
            break
        remaining = []
        for name, index, value in migrated["answers"]:
            if (name, tuple(index)) in failing:
                dropped.append(Dropped(name, tuple(index), value, "constraint", old_version))
            else:
                remaining.append([name, index, value])
        migrated["answers"] = remaining

    previous = [dict(d) for d in state.get("dropped", ()) or ()]
    migrated["dropped"] = previous + [d.to_json() for d in dropped]
    migrated["migrated_from"] = old_version
    kept_nodes = tuple(Node(n, tuple(i)) for n, i, _ in migrated["answers"])
    return Migrated(migrated, kept_nodes, tuple(dropped))
