"""Carrying a saved screening over to another form version: nothing is silently lost."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldscreen.forms import Form, Node, Session, carry_over, dropped_of
from fieldscreen.forms.library import builtin_forms
from fieldscreen.forms.migrate import REASONS, Dropped

from .helpers import NOW, form

OLD = """
| survey |
|        | type                 | name    | label    | constraint |
|        | integer              | age     | Age      | . < 18     |
|        | text                 | nick    | Nickname |            |
|        | select_one fear      | fear    | Fear     |            |
|        | select_multiple need | needs   | Needs    |            |
|        | integer              | weeks   | Weeks    |            |
|        | begin repeat         | sibs    | Siblings |            |
|        | text                 | sib     | Name     |            |
|        | end repeat           |         |          |            |
|        | text                 | loose   | Loose    |            |

| choices |
|         | list_name | name  | label |
|         | fear      | yes   | Yes   |
|         | fear      | no    | No    |
|         | fear      | maybe | Maybe |
|         | need      | food  | Food  |
|         | need      | bed   | Bed   |

| settings |
|          | form_id | version |
|          | fs_mig  | 1       |
"""

#: age's rule is stricter, nick is gone, "maybe" is no longer offered, weeks is now text,
#: ``loose`` moved into the repeat; sibs and needs are unchanged.
NEW = """
| survey |
|        | type                 | name    | label    | constraint |
|        | integer              | age     | Age      | . < 12     |
|        | select_one fear      | fear    | Fear     |            |
|        | select_multiple need | needs   | Needs    |            |
|        | text                 | weeks   | Weeks    |            |
|        | begin repeat         | sibs    | Siblings |            |
|        | text                 | sib     | Name     |            |
|        | text                 | loose   | Loose    |            |
|        | end repeat           |         |          |            |

| choices |
|         | list_name | name  | label |
|         | fear      | yes   | Yes   |
|         | fear      | no    | No    |
|         | need      | food  | Food  |
|         | need      | bed   | Bed   |

| settings |
|          | form_id | version |
|          | fs_mig  | 2       |
"""


def _saved(answers: dict[str, Any], sibs: list[str] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    s = Session.start(form(OLD), clock=lambda: NOW)
    for name, value in answers.items():
        s.set_answer(name, value)
    for i, sib in enumerate(sibs):
        s.add_repeat("sibs")
        s.set_answer(Node("sib", (i,)), sib)
    state: dict[str, Any] = json.loads(json.dumps(s.to_state()))
    return state


def _count(state: dict[str, Any]) -> int:
    return sum(1 for _, _, value in state["answers"] if value is not None)


def test_each_kind_of_change_goes_to_dropped_with_its_reason() -> None:
    state = _saved(
        {"age": 15, "nick": "Tito", "fear": "maybe", "needs": ["food"], "weeks": 3, "loose": "x"},
        sibs=["Ana", "Luis"],
    )
    new = form(NEW)
    migrated = carry_over(state, new)
    reasons = {d.name: d.reason for d in migrated.dropped}
    assert reasons == {
        "age": "constraint",
        "nick": "removed",
        "fear": "choice",
        "weeks": "type",
        "loose": "structure",
    }
    assert {n.name for n in migrated.kept} == {"needs", "sib"}
    assert len(migrated.kept) + len(migrated.dropped) == _count(state)
    values = {d.name: d.value for d in migrated.dropped}
    assert values == {"age": 15, "nick": "Tito", "fear": "maybe", "weeks": 3, "loose": "x"}
    restored = Session.restore(new, migrated.state, clock=lambda: NOW)
    assert restored.migrated_from == "1"
    assert restored.answer("needs") == ("food",)
    assert restored.answer(Node("sib", (1,))) == "Luis"
    again = restored.to_state()
    assert again["form"]["version"] == "2"
    assert {d.name for d in dropped_of(again)} == set(reasons)
    assert again["migrated_from"] == "1"
    for d in migrated.dropped:
        assert d.why("es") and d.why("en") and d.why("es") != d.why("en")


def test_the_saved_state_is_not_modified() -> None:
    state = _saved({"nick": "Tito"})
    before = json.dumps(state, sort_keys=True)
    carry_over(state, form(NEW))
    assert json.dumps(state, sort_keys=True) == before


def test_restore_refuses_without_migrate_and_accepts_with_it() -> None:
    from fieldscreen.forms import FormVersionError

    state = _saved({"needs": ["bed"]})
    new = form(NEW)
    with pytest.raises(FormVersionError):
        Session.restore(new, state)
    session = Session.restore(new, state, migrate=lambda s: carry_over(s, new).state)
    assert session.answer("needs") == ("bed",)


def test_a_second_migration_keeps_what_the_first_set_aside() -> None:
    state = _saved({"nick": "Tito", "needs": ["bed"]})
    new = form(NEW)
    first = Session.restore(new, carry_over(state, new).state).to_state()
    newer = dataclasses.replace(new, version="3")
    second = carry_over(first, newer)
    assert second.dropped == ()
    assert [d.name for d in dropped_of(second.state)] == ["nick"]
    assert second.state["migrated_from"] == "2"


def test_a_state_without_kinds_carries_only_lossless_values() -> None:
    state = _saved({"weeks": 3, "nick": "12"})
    del state["kinds"]
    text_to_int = NEW.replace("| text                 | weeks", "| integer              | weeks")
    text_to_int = text_to_int.replace(
        "| select_one fear",
        "| integer              | nick    | Nick | |\n|        | select_one fear",
    )
    migrated = carry_over(state, form(text_to_int))
    assert {d.name: d.reason for d in migrated.dropped} == {"nick": "type"}
    assert [n.name for n in migrated.kept] == ["weeks"]


def test_override_and_releases_carried_only_when_they_still_exist() -> None:
    state = _saved({"needs": ["bed"]})
    state["override"] = {"tier": "T9", "computed": "T4", "reason": "r", "supervisor": "s"}
    state["releases"] = [{"name": "consulate", "reason": "r", "supervisor": "s"}]
    migrated = carry_over(state, form(NEW))
    assert {d.name: d.reason for d in migrated.dropped} == {
        "_override": "tier",
        "_release:consulate": "rule",
    }
    assert migrated.state["override"] is None and migrated.state["releases"] == []
    assert all(not d.is_answer for d in migrated.dropped)
    assert migrated.dropped_answers == ()


def test_every_reason_has_both_languages() -> None:
    for texts in REASONS.values():
        assert texts["en"] and texts["es"]
    assert Dropped.from_json(Dropped("a", (1,), "v", "type", "1").to_json()).index == (1,)


# ---------------------------------------------------------------- properties over built-in forms

BUILTIN = builtin_forms()


def _random_session(data: st.DataObject, f: Form) -> Session:
    session = Session.start(f, clock=lambda: NOW, context={"jurisdiction": "US"})
    inputs = [x for x in f.fields.values() if x.is_input and not x.repeats]
    chosen = data.draw(st.lists(st.sampled_from(inputs), max_size=25, unique_by=lambda x: x.name))
    for x in chosen:
        if x.kind == "select_one" and x.choices:
            value: Any = data.draw(st.sampled_from([c.name for c in x.choices]))
        elif x.kind == "select_multiple" and x.choices:
            names = [c.name for c in x.choices]
            value = data.draw(st.lists(st.sampled_from(names), min_size=1, unique=True))
        elif x.kind == "integer":
            value = data.draw(st.integers(0, 120))
        elif x.kind == "decimal":
            value = data.draw(st.floats(0, 100, allow_nan=False))
        elif x.kind == "text":
            value = data.draw(st.text(min_size=1, max_size=8).filter(str.strip))
        elif x.kind == "acknowledge":
            value = "OK"
        elif x.kind == "date":
            value = data.draw(st.dates()).isoformat()
        else:
            continue
        session.set_answer(x.name, value)
    cleared = True
    while cleared:  # a saved draft of valid answers: clear the ones the form itself rejects
        cleared = False
        for x in chosen:
            if any(e.kind == "constraint" for e in session.errors(x.name)):
                session.set_answer(x.name, None)
                cleared = True
    return session


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), form_id=st.sampled_from(sorted(BUILTIN)))
def test_identity_migration_keeps_every_answer(data: st.DataObject, form_id: str) -> None:
    f = BUILTIN[form_id]
    session = _random_session(data, f)
    state = json.loads(json.dumps(session.to_state()))
    bumped = dataclasses.replace(f, version=f.version + "9")
    migrated = carry_over(state, bumped)
    assert migrated.dropped == ()
    assert len(migrated.kept) == _count(state)
    restored = Session.restore(bumped, migrated.state, clock=lambda: NOW)
    assert restored.values_json() == session.values_json()
    assert restored.risk().tier == session.risk().tier


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), form_id=st.sampled_from(sorted(BUILTIN)))
def test_nothing_is_silently_lost_when_fields_and_choices_change(
    data: st.DataObject, form_id: str
) -> None:
    f = BUILTIN[form_id]
    session = _random_session(data, f)
    state = json.loads(json.dumps(session.to_state()))
    state["answers"] = [a for a in state["answers"] if a[2] is not None]
    answered = sorted({name for name, _, _ in state["answers"]})
    if not answered:
        return
    gone = set(data.draw(st.lists(st.sampled_from(answered), max_size=3, unique=True)))
    fields = dict(f.fields)
    removed = set()
    for name in gone:
        x = f.fields[name]
        if x.kind.startswith("select") and len(x.choices) > 1:
            fields[name] = dataclasses.replace(x, choices=x.choices[1:])  # a choice removed
        elif x.kind not in {"text", "select_one", "select_multiple"}:
            fields[name] = dataclasses.replace(x, kind="text")  # a type change
        else:
            removed.add(name)  # the question is gone: its saved answers name no field
    for answer in state["answers"]:
        if answer[0] in removed:
            answer[0] += "_gone"
    gone |= {name + "_gone" for name in removed}
    changed = dataclasses.replace(f, version=f.version + "9", fields=fields)
    migrated = carry_over(state, changed)
    saved = [(n, tuple(i)) for n, i, _ in state["answers"]]
    out = [(n.name, n.at) for n in migrated.kept] + [(d.name, d.index) for d in migrated.dropped]
    assert sorted(out) == sorted(saved)  # kept + dropped == saved, each exactly once
    for d in migrated.dropped:
        assert d.name in gone and d.reason in {"removed", "choice", "type"}
    for name, index, _ in state["answers"]:
        if name not in gone:
            assert (name, tuple(index)) in [(n.name, n.at) for n in migrated.kept]
    assert len(dropped_of(migrated.state)) == len(migrated.dropped)
