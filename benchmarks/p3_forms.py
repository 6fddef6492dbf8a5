"""P3: answer -> form updated, on a generated 300-question form and the largest built-in form.

For each form, a fixed random sequence of answer changes is replayed twice in the same run: once
through the session's incremental path (``set_answer``: only the nodes that depend on the answer
are re-evaluated) and once followed by re-evaluating every expression (the baseline). Bars:
p95 of one incremental change <= 2 ms, and incremental >= 10x faster than re-evaluating
everything (ratio <= 0.1). The two paths alternate change by change; the ratio is the median
over ROUNDS consecutive slices of the script of each slice's median ratio, printed with their
spread.
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.harness import Result, Sample, ratio_result, sized
from fieldscreen.forms import Field, Form, Session, load_form, load_form_text

BUILTIN = Path(__file__).resolve().parent.parent / "fieldscreen" / "forms" / "builtin"
NOW = datetime(2026, 3, 15, 10, tzinfo=UTC)
SECTIONS = 30  # x 10 questions = 300
CHANGES = sized(1000, 200)
ROUNDS = 5


def generated_form(sections: int = SECTIONS) -> str:
    """A form of ``sections * 10`` questions with skip logic, constraints, sums and rules."""
    survey = [
        "| survey |",
        "|  | type | name | label::English (en) | label::Español (es) | relevant | required "
        "| constraint | constraint_message::English (en) | calculation | appearance |",
    ]
    rules = [
        "| rules |",
        "|  | name | when | tier | concerns | referrals | deadlines | message::English (en) |",
    ]
    for s in range(sections):
        gate = f"${{s{s - 1}_go}} = 'yes'" if s else ""
        survey += [
            f"|  | begin group | sec{s} | Section {s} | Sección {s} | {gate} "
            "| | | | | field-list |",
            f"|  | select_one yn | s{s}_go | Go on? | ¿Seguir? | | yes | | | | |",
            f"|  | integer | s{s}_n | Count | Cantidad | | | . >= 0 and . <= 100 | 0 to 100 | | |",
            f"|  | integer | s{s}_m | More | Más | ${{s{s}_n}} > 2 | | . <= ${{s{s}_n}} "
            f"| at most the count | | |",
            f"|  | date | s{s}_d | When | Cuándo | | | . <= today() | not in the future | | |",
            f"|  | select_multiple need | s{s}_needs | Needs | Necesidades | ${{s{s}_go}} = 'yes' "
            f"| | count-selected(.) <= 3 | three at most | | |",
            f"|  | text | s{s}_t | Note | Nota | selected(${{s{s}_needs}}, 'care') | | "
            f"string-length(.) < 200 | too long | | |",
            f"|  | calculate | s{s}_sum | | | | | | | coalesce(${{s{s}_n}}, 0) + "
            f"coalesce(${{s{s}_m}}, 0) | |",
            f"|  | calculate | s{s}_days | | | | | | | if(${{s{s}_d}} != '', "
            f"int(today() - ${{s{s}_d}}), 0) | |",
            f"|  | select_one yn | s{s}_fear | Fear? | ¿Miedo? | ${{s{s}_sum}} > 1 | | | | | |",
            f"|  | acknowledge | s{s}_ok | Understood | Entendido | ${{s{s}_fear}} = 'yes' | | | "
            f"| | |",
            "|  | end group | | | | | | | | | |",
        ]
        rules += [
            f"|  | R{s}_FEAR | ${{s{s}_fear}} = 'yes' and ${{s{s}_days}} < 30 | "
            f"{'T0' if s % 10 == 0 else 'T2'} | fear_of_return | legal_aid | d72 | Refer |",
            f"|  | R{s}_LOAD | ${{s{s}_sum}} > 50 or count-selected(${{s{s}_needs}}) = 3 | T3 "
            f"| basic_needs | shelter | | Follow up |",
        ]
    total = " + ".join(f"${{s{s}_sum}}" for s in range(sections))
    survey += [f"|  | calculate | grand_total | | | | | | | {total} | |"]
    rules += ["|  | R_TOTAL | ${grand_total} > 500 | T1 | overload | case_management | | Review |"]
    choices = [
        "| choices |",
        "|  | list_name | name | label::English (en) | label::Español (es) |",
        "|  | yn | yes | Yes | Sí |",
        "|  | yn | no | No | No |",
        *(f"|  | need | {n} | {n} | {n} |" for n in ("food", "bed", "care", "legal", "school")),
    ]
    settings = [
        "| settings |",
        "|  | form_id | version | default_language |",
        "|  | fs_generated | 1 | English (en) |",
    ]
    deadlines = [
        "| deadlines |",
        "|  | name | jurisdiction | hours | label::English (en) | basis |",
        "|  | d72 | * | 72 | Refer within 72 h | programme |",
    ]
    return "\n".join([*survey, *choices, *settings, *rules, *deadlines]) + "\n"


def random_value(field: Field, rng: random.Random) -> Any:
    kind = field.kind
    if kind == "integer":
        return rng.randint(0, 60)
    if kind == "decimal":
        return round(rng.random() * 50, 2)
    if kind == "date":
        return (NOW.date() - timedelta(days=rng.randint(0, 90))).isoformat()
    if kind == "text":
        return rng.choice(["a", "note", None])
    if kind == "select_one":
        return rng.choice(field.choices).name if field.choices else None
    if kind == "select_multiple":
        return [c.name for c in field.choices if rng.random() < 0.3]
    if kind == "acknowledge":
        return rng.choice(["OK", None])
    return None


def answer_script(form: Form, count: int, seed: int = 3) -> list[tuple[str, Any]]:
    """A repeatable list of (field, value) changes over the form's top-level input fields."""
    rng = random.Random(seed)
    inputs = [f for f in form.fields.values() if f.is_input and not f.repeats]
    return [(f.name, random_value(f, rng)) for f in (rng.choice(inputs) for _ in range(count))]


def filled_session(form: Form, seed: int = 1) -> Session:
    """A session where most questions already hold an answer (a screening in progress)."""
    session = Session.start(form, "en", {"jurisdiction": "US"}, clock=lambda: NOW)
    for name, value in answer_script(form, len(form.fields) * 2, seed):
        session.set_answer(name, value)
    return session


def _measure(form: Form, changes: int) -> tuple[list[float], list[float], int, int]:
    session = filled_session(form)
    script = answer_script(form, changes)
    incremental: list[float] = []
    full: list[float] = []
    evaluated = 0
    for name, value in script[: min(50, len(script))]:  # warm-up
        session.set_answer(name, value)
    for name, value in script:
        start = time.perf_counter()
        changed = session.set_answer(name, value)
        incremental.append(time.perf_counter() - start)
        evaluated += changed.evaluated
        start = time.perf_counter()
        nodes = session.reevaluate_all()
        full.append(time.perf_counter() - start)
    return incremental, full, evaluated, nodes


def _p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.95) - 1)]


def _results(label: str, form: Form, changes: int) -> list[Result]:
    incremental, full, evaluated, nodes = _measure(form, changes)
    p95 = _p95(incremental)
    details = {
        "form": form.id,
        "fields": len(form.fields),
        "rules": len(form.rules),
        "answer_changes": changes,
        "nodes": nodes,
        "nodes_per_change": round(evaluated / changes, 1),
        "p95_ms": round(p95 * 1000, 4),
        "max_ms": round(max(incremental) * 1000, 4),
        "full_median_ms": round(statistics.median(full) * 1000, 4),
    }
    size = len(incremental) // ROUNDS

    def slices(values: list[float]) -> Sample:
        """The median of each of ROUNDS consecutive slices of the script."""
        return Sample(
            tuple(statistics.median(values[i * size : (i + 1) * size]) for i in range(ROUNDS))
        )

    ratio = ratio_result(
        id="P3",
        name=f"incremental vs full re-evaluation, {label}",
        measured=slices(incremental),
        baseline=slices(full),
        unit="s",
        bar=0.1,
        direction="at_most",
        details=details,
    )
    latency = Result(
        id="P3",
        name=f"p95 answer -> form updated, {label}",
        value=p95 * 1000,
        unit="ms",
        baseline=None,
        ratio=None,
        bar="≤ 2 ms",
        passed=p95 <= 0.002,
        details=details,
    )
    return [latency, ratio]


def largest_builtin() -> Form | None:
    forms = [load_form(p) for p in sorted(BUILTIN.glob("*.md"))] if BUILTIN.is_dir() else []
    return max(forms, key=lambda f: (len(f.fields), len(f.rules)), default=None)


def run() -> list[Result]:
    results = _results("generated 300-question form", load_form_text(generated_form()), CHANGES)
    builtin = largest_builtin()
    if builtin is not None:
        results += _results(f"built-in {builtin.id}", builtin, CHANGES)
    return results


if __name__ == "__main__":  # pragma: no cover
    from benchmarks.harness import table

    print(table(run()))
