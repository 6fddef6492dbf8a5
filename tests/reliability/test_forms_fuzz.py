"""The form engine under long random runs, with counts (full counts under ``make reliability``).

* incremental re-evaluation against re-evaluating everything after every change, on the
  generated form with repeats added and removed: mismatches 0;
* state saved and resumed after every change: lost answers 0, corrupted states 0;
* mutated forms: loaded or refused with a located FormError, other exceptions 0.
"""

from __future__ import annotations

import json
import os
import random
from typing import Any

import pytest

from benchmarks.p3_forms import NOW, answer_script, generated_form
from fieldscreen.forms import FormError, Session, load_form_text
from tests.unit.forms.test_cli import FORM
from tests.unit.forms.test_robustness import _mutate

pytestmark = pytest.mark.reliability
FULL = os.environ.get("FIELDSCREEN_FULL") == "1"

REPEAT = """|  | begin repeat | kids | Kids | Niños | | | | | | |
|  | integer | kid_age | Age | Edad | | | . < 18 | under 18 | | |
|  | calculate | kid_minor | | | | | | | if(${kid_age} < 12, 1, 0) | |
|  | end repeat | | | | | | | | | |
|  | calculate | minors | | | | | | | sum(${kid_minor}) | |
"""


def _form_with_repeat() -> Any:
    text = generated_form(sections=6)
    head, tail = text.split("| choices |", 1)
    text = head + REPEAT + "| choices |" + tail
    text = text.replace(
        "|  | R_TOTAL |", "|  | R_KIDS | ${minors} > 2 | T1 | | | | Many children |\n|  | R_TOTAL |"
    )
    return load_form_text(text)


def _values(session: Session) -> list[dict[tuple[int, ...], Any]]:
    return [dict(v) for v in session.values]


def test_long_random_runs_agree_with_full_evaluation_and_survive_resume() -> None:
    form = _form_with_repeat()
    steps = 5000 if FULL else 300
    rng = random.Random(99)
    session = Session.start(form, "es", {"jurisdiction": "US"}, clock=lambda: NOW)
    script = answer_script(form, steps, seed=5)
    mismatches = lost = corrupted = 0
    for step, (name, value) in enumerate(script):
        roll = rng.random()
        count = session.repeat_count("kids")
        if roll < 0.08 and count < 8:
            session.add_repeat("kids")
        elif roll < 0.12 and count:
            session.remove_repeat("kids", (rng.randrange(count),))
        elif roll < 0.3 and count:
            session.set_answer(("kid_age", (rng.randrange(count),)), rng.randint(0, 20))
        else:
            session.set_answer(name, value)
        incremental = _values(session)
        session.reevaluate_all()
        mismatches += incremental != _values(session)
        if step % 10 == 0:
            state = json.loads(json.dumps(session.to_state()))
            back = Session.restore(form, state, clock=lambda: NOW)
            lost += sum(
                1
                for field, by_index in session.answers.items()
                for index, answer in by_index.items()
                if answer is not None and back.answers[field].get(index) != answer
            )
            corrupted += back.to_state() != session.to_state() or back.risk() != session.risk()
            session = back
    assert (mismatches, lost, corrupted) == (0, 0, 0)


def test_many_mutated_forms_load_or_fail_with_a_located_error() -> None:
    rng = random.Random(4242)
    trials = 2000 if FULL else 200
    other = unlocated = loaded = 0
    for _ in range(trials):
        try:
            load_form_text(_mutate(FORM, rng), "m.md")
            loaded += 1
        except FormError as error:
            unlocated += not str(error).startswith("m.md:")
        except Exception:
            other += 1
    assert (other, unlocated) == (0, 0)
    assert loaded > trials // 20
