"""Screenings answered through the form engine, for the export tests: every input a child's
screening can hold, with recognisable text so that a leak of an identifying field shows."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping
from typing import Any

from fieldscreen.forms import AnswerError, Form, Node, Session

CONTEXT = {"site": "site-a", "jurisdiction": "MX", "staff": "CANARY-staff", "role": "specialist"}


def _value(session: Session, node: Node, rng: random.Random, tag: str) -> Any:
    f = session.form.fields[node.name]
    if f.kind in ("select_one", "select_multiple"):
        choices = [c.name for c in session.choices(node)]
        if not choices:
            return None
        if f.kind == "select_one":
            return rng.choice(choices)
        return sorted(rng.sample(choices, min(len(choices), rng.randint(1, 3))))
    if f.kind == "integer":
        return rng.randint(6, 16)
    if f.kind == "decimal":
        return round(rng.uniform(1, 50), 1)
    if f.kind == "date":
        return dt.date(2026, rng.randint(1, 10), rng.randint(1, 28)).isoformat()
    if f.kind == "datetime":
        return dt.datetime(2026, 11, rng.randint(1, 26), 10, 30).isoformat()
    if f.kind == "time":
        return "10:30:00"
    if f.kind == "acknowledge":
        return "OK"
    if f.kind == "text":
        return f"CANARY-{f.sensitivity}-{node.name}-{tag} =1+2 ñ"
    return None


def _inputs(session: Session, repeat: str, prefix: tuple[int, ...]) -> list[Node]:
    nodes = []
    for f in session.form.fields.values():
        if (f.repeats[-1] if f.repeats else "") != repeat or not f.is_input:
            continue
        nodes.append(Node(f.name, prefix) if repeat else Node(f.name, ()))
    return nodes


def answer(
    form: Form,
    rng: random.Random,
    tag: str,
    case_values: Mapping[str, Any] | None = None,
    *,
    instances: int = 2,
) -> Session:
    """A session of ``form`` with every relevant input answered (repeats: ``instances`` each)."""
    session = Session.start(form, "en", CONTEXT, case_values or {})

    def fill(repeat: str, prefix: tuple[int, ...]) -> None:
        for node in _inputs(session, repeat, prefix):
            if not session.relevant(node):
                continue
            value = _value(session, node, rng, tag)
            if value is None:
                continue
            try:
                session.set_answer(node, value)
            except AnswerError:
                continue
        for f in session.form.fields.values():
            if f.kind != "repeat" or (f.repeats[-1] if f.repeats else "") != repeat:
                continue
            if f.repeat_count:
                continue
            for _ in range(instances):
                try:
                    position, _ = session.add_repeat(f.name, prefix)
                except AnswerError:
                    break
                fill(f.name, (*prefix, position))

    fill("", ())
    return session


def screening_record(sessions: Mapping[str, Session], actions: str) -> dict[str, Any]:
    """The record the app seals at finalise (``ResultsPage.record_and_card``), Qt-free."""
    tiers = [s.risk().tier for s in sessions.values()]
    concerns = sorted({c for s in sessions.values() for c in s.risk().concerns})
    return {
        "form_id": "screening",
        "form_version": "+".join(f"{s.form.id}@{s.form.version}" for s in sessions.values()),
        "state": {
            "started": "2026-11-27T10:00:00+00:00",
            "forms": {fid: s.to_state() for fid, s in sessions.items()},
        },
        "result": {"tier": min(tiers), "concerns": concerns},
        "tier": min(tiers),
        "actions_taken": actions,
        "overrides": {},
    }
