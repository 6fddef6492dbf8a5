"""Synthetic screenings through the real form engine, for benchmarks and demonstrations only.

:func:`synthetic_case` starts the consent and intake forms, answers every relevant question
with a random value of the right type (choices from the field's own, possibly filtered, list),
opens the modules the answers call for and answers those too. The answers are random, so the
screenings are nonsense as casework; they exercise every code path of the engine and are
shaped exactly like real ones for the vault, the envelope and the server.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fieldscreen.forms.errors import AnswerError
from fieldscreen.forms.model import Field, Form
from fieldscreen.forms.risk import most_urgent
from fieldscreen.forms.session import Session

__all__ = ["FIRST_FORMS", "SyntheticCase", "fill_randomly", "random_value", "synthetic_case"]

#: The forms every screening starts with; the others open on the answers.
FIRST_FORMS = ("fs_consent", "fs_intake")
_WORDS = ("blue", "river", "north", "shelter", "bus", "uncle", "school", "market", "rain")


def random_value(session: Session, f: Field, rng: random.Random) -> Any:
    """A random value that fits ``f``'s type (None when the field offers nothing to pick)."""
    kind = f.kind
    if kind in {"select_one", "select_multiple"}:
        names = [c.name for c in session.choices(f.name)]
        if not names:
            return None
        if kind == "select_one":
            return rng.choice(names)
        return [rng.choice(names)]
    if kind == "integer":
        return rng.randint(0, 17)
    if kind == "decimal":
        return round(rng.uniform(0, 100), 1)
    if kind == "date":
        return (date(2026, 11, 1) - timedelta(days=rng.randint(0, 6000))).isoformat()
    if kind == "datetime":
        return datetime(2026, 11, 1, tzinfo=UTC) - timedelta(minutes=rng.randint(0, 10**6))
    if kind == "time":
        return f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}"
    if kind == "acknowledge":
        return "OK"
    return " ".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 6)))


def fill_randomly(session: Session, rng: random.Random) -> int:
    """Answer every relevant, writable, top-level question of ``session``; returns how many."""
    answered = 0
    for f in session.form.walk():
        if not f.is_input or f.repeats or f.from_case:
            continue
        if not session.relevant(f.name) or session.read_only(f.name):
            continue
        value = random_value(session, f, rng)
        if value is None:
            continue
        try:
            session.set_answer(f.name, value)
        except AnswerError:
            continue  # a value the type refuses (none expected); the question stays blank
        answered += 1
    return answered


@dataclass(frozen=True, slots=True)
class SyntheticCase:
    """One screening: its sessions (first forms, then opened modules), answered."""

    sessions: dict[str, Session]

    def record(self) -> dict[str, Any]:
        """The full record the vault seals, in the shape the app finalises (``state`` with
        every form's saved state, ``result``, ``tier``), so the central team's export reads a
        simulated screening as it reads a real one; plus every form's values and risk."""
        risks = {fid: s.risk() for fid, s in self.sessions.items()}
        tier = most_urgent(r.tier for r in risks.values())
        concerns = list(dict.fromkeys(c for r in risks.values() for c in r.concerns))
        first = next(iter(self.sessions.values()))
        return {
            "form_id": first.form.id,
            "form_version": first.form.version,
            "state": {"forms": {fid: s.to_state() for fid, s in self.sessions.items()}},
            "result": {"tier": tier, "concerns": concerns},
            "tier": tier,
            "actions_taken": "",
            "forms": {fid: s.values_json() for fid, s in self.sessions.items()},
            "risk": {fid: risk.to_json() for fid, risk in risks.items()},
        }

    def case_card(self) -> dict[str, Any]:
        card: dict[str, Any] = {}
        for session in self.sessions.values():
            card.update(session.case_card())
        return card


def synthetic_case(
    forms: Mapping[str, Form],
    rng: random.Random,
    *,
    context: Mapping[str, Any] | None = None,
    lang: str = "en",
) -> SyntheticCase:
    """A randomly answered screening through ``forms`` (the built-in forms by id)."""
    sessions: dict[str, Session] = {}
    values: dict[str, Any] = {}
    queue = [fid for fid in FIRST_FORMS if fid in forms]
    while queue:
        form_id = queue.pop(0)
        if form_id in sessions:
            continue
        session = Session.start(forms[form_id], lang, context or {}, values)
        fill_randomly(session, rng)
        sessions[form_id] = session
        values.update(session.values_json())
        queue.extend(o for o in session.risk().opens if o in forms and o not in sessions)
    return SyntheticCase(sessions)
