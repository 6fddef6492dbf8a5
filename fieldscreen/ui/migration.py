"""Drafts made with an earlier version of a form, resumed with the current one.

Pure (no Qt): :func:`plan` says what resuming would carry over and what it would set aside,
without changing anything; :func:`restore_sessions` restores every form's session of a saved
screening, carrying it over (:func:`fieldscreen.forms.carry_over`) when its version differs;
:func:`set_aside` lists what migrations of a screening have set aside, for the specialist only.
Nothing here writes: the draft keeps its old version until the wizard's next autosave.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fieldscreen.forms import Dropped, Form, Session, carry_over, dropped_of
from fieldscreen.forms.errors import FormVersionError

__all__ = ["DraftMigration", "SetAside", "plan", "restore_sessions", "set_aside"]


@dataclass(frozen=True, slots=True)
class SetAside:
    """One answer a form update set aside: shown read-only to the specialist, never logged."""

    form: str  # the form's title
    label: str  # the question (its label in the current form, else its name)
    value: str  # the saved answer as text
    reason: str  # why, in the user's language


@dataclass(frozen=True, slots=True)
class DraftMigration:
    """What resuming a draft would do: ``forms`` migrated (id -> saved version), ``dropped``
    the answers that would be set aside (questions, not answers, are shown when asking)."""

    forms: Mapping[str, str]
    dropped: tuple[SetAside, ...]

    @property
    def migrates(self) -> bool:
        return bool(self.forms)

    def questions(self) -> list[str]:
        """The labels of the questions whose answers no longer fit, each once, in order."""
        return list(dict.fromkeys(f"{d.form}: {d.label}" for d in self.dropped))


def _version(saved: Mapping[str, Any]) -> str:
    form = saved.get("form", {})
    return str(form.get("version", "")) if isinstance(form, Mapping) else ""


def _shown(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {v}" for k, v in value.items() if k != "supervisor")
    return "" if value is None else str(value)


def _entry(form: Form, dropped: Dropped, lang: str) -> SetAside:
    f = form.fields.get(dropped.name)
    label = f.label.get(lang) if f is not None else ""
    if not label:
        label = dropped.name.lstrip("_").replace("_", " ")
    if dropped.index:
        label += " (" + ", ".join(str(i + 1) for i in dropped.index) + ")"
    return SetAside(form.title(lang), label, _shown(dropped.value), dropped.why(lang))


def plan(forms: Mapping[str, Form], state: Mapping[str, Any], lang: str) -> DraftMigration:
    """What restoring a saved screening (``{"forms": {id: session state}}``) would migrate and
    set aside; raises :class:`FormVersionError` for a form no longer held."""
    migrated: dict[str, str] = {}
    dropped: list[SetAside] = []
    for form_id, saved in state["forms"].items():
        form = forms.get(form_id)
        if form is None:
            raise FormVersionError(form_id, _version(saved), "?")
        if _version(saved) != form.version:
            migrated[form_id] = _version(saved)
            result = carry_over(saved, form)
            dropped.extend(_entry(form, d, lang) for d in result.dropped)
    return DraftMigration(migrated, tuple(dropped))


def _carrying_to(form: Form) -> Callable[[Mapping[str, Any]], Mapping[str, Any]]:
    def migrate(saved: Mapping[str, Any]) -> Mapping[str, Any]:
        return carry_over(saved, form).state

    return migrate


def restore_sessions(forms: Mapping[str, Form], state: Mapping[str, Any]) -> dict[str, Session]:
    """Every form's session of a saved screening, carried over to the current versions."""
    sessions: dict[str, Session] = {}
    for form_id, saved in state["forms"].items():
        form = forms.get(form_id)
        if form is None:
            raise FormVersionError(form_id, _version(saved), "?")
        sessions[form_id] = Session.restore(form, saved, migrate=_carrying_to(form))
    return sessions


def set_aside(sessions: Mapping[str, Session], lang: str) -> tuple[SetAside, ...]:
    """Every answer form updates set aside in these sessions (the read-only panel's rows)."""
    return tuple(
        _entry(s.form, d, lang)
        for s in sessions.values()
        for d in dropped_of({"dropped": list(s.dropped)})
    )
