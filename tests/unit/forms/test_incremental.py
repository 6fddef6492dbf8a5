"""Incremental re-evaluation gives exactly what re-evaluating everything gives, and less work."""

from __future__ import annotations

import random
from typing import Any

from benchmarks.p3_forms import NOW, answer_script, generated_form, random_value
from fieldscreen.forms import Node, Session, load_form_text
from tests.unit.forms.test_session import REPEATS


def _snapshot(session: Session) -> list[dict[tuple[int, ...], Any]]:
    return [dict(v) for v in session.values]


def test_incremental_equals_full_re_evaluation_over_many_changes() -> None:
    form = load_form_text(generated_form(sections=8))
    assert len([f for f in form.fields.values() if not f.is_container]) == 8 * 10 + 1
    session = Session.start(form, "en", {"jurisdiction": "US"}, clock=lambda: NOW)
    mismatches = 0
    evaluated = 0
    script = answer_script(form, 400, seed=11)
    for name, value in script:
        evaluated += session.set_answer(name, value).evaluated
        incremental = _snapshot(session)
        session.reevaluate_all()
        mismatches += incremental != _snapshot(session)
    assert mismatches == 0
    assert session.risk().flags  # the script does raise rules
    full_cost = session.reevaluate_all()
    assert evaluated / len(script) < full_cost / 10


def test_incremental_equals_full_with_repeats() -> None:
    form = load_form_text(
        REPEATS.replace("count(${sage}[. < 18])", "0")
        + "| settings |\n|  | form_id | version |\n|  | fs_r | 1 |\n"
    )
    session = Session.start(form, "en", {}, clock=lambda: NOW)
    rng = random.Random(5)
    mismatches = 0
    for _ in range(200):
        action = rng.random()
        count = session.repeat_count("sib")
        if action < 0.2 or count == 0:
            session.add_repeat("sib")
        elif action < 0.3:
            session.remove_repeat("sib", (rng.randrange(count),))
        elif action < 0.4:
            session.set_answer("k", rng.randint(0, 4))
        else:
            name = rng.choice(["sname", "sage"])
            field = form.field(name)
            if session.repeat_count("sib"):
                index = (rng.randrange(session.repeat_count("sib")),)
                session.set_answer(Node(name, index), random_value(field, rng))
        incremental = _snapshot(session)
        session.reevaluate_all()
        mismatches += incremental != _snapshot(session)
    assert mismatches == 0


def test_the_p3_benchmark_runs_and_reports_its_figures() -> None:
    from benchmarks import REGISTRY
    from benchmarks.p3_forms import _results

    assert REGISTRY["P3"] == "benchmarks.p3_forms"
    latency, ratio = _results("smoke", load_form_text(generated_form(sections=2)), 30)
    assert latency.unit == "ms"
    assert latency.details["answer_changes"] == 30
    assert ratio.ratio is not None
    assert ratio.baseline is not None
    assert ratio.details["nodes"] > ratio.details["nodes_per_change"]
