"""An ODK XPath evaluator's own function examples, run against ours.

``data/odk_function_examples.json`` holds, as data only, the expression and expected value of
every literal assertion in the function tests of Enketo's openrosa-xpath-evaluator (Apache
License 2.0; see the file's ``licence``). Each is run here and counted: passed, failed (a value
other than Enketo's), refused (a load-time error: paths into an XML document, which a form
never has, and the functions Enketo's tests add of their own) and crashed (anything else).
The pairs that read a node Enketo's test document gives a value (``sin(/numbers/one)``) run
with that value as a field (:data:`DOCUMENTS`). Crashes must be 0;
passes may not fall below the figure recorded here. The known failures are the deliberate
differences of ``docs/forms.md``: a date is the day, where Enketo's tests read it as midnight
in the clock of America/Phoenix (``date('1970-01-02') + 0`` is 1 here, 1.29 there) and print
date-times at -07:00; numbers with an exponent (``'7.9e-12'``) are NaN, as XPath reads them.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from fieldscreen.forms import FormError
from fieldscreen.forms.functions import to_bool, to_number, to_string
from tests.unit.forms.test_expressions import ev

DATA = Path(__file__).parent / "data" / "odk_function_examples.json"
DOC = Path(__file__).resolve().parents[3] / "docs" / "forms.md"
#: The figure this table gives today; a change that lowers it is a regression.
PASSED_AT_LEAST = 396
#: The values Enketo's test documents give the nodes some groups' pairs read, as fields
#: (``/numbers/zero`` reads as ``${zero}``): trigo.spec.js's ``<numbers>`` (``missing`` is no
#: node there: an unanswered field here), and the ``/simple/xpath/to/node`` that
#: selected.spec.js and regex.spec.js set with ``simpleValueIs``.
DOCUMENTS: dict[str, dict[str, Any]] = {
    "trigo": {
        "minusone": "-1",
        "minuspointfive": "-0.5",
        "zero": "0",
        "pointfive": "0.5",
        "one": "1",
        "nan": "nonsense",
        "missing": "",
    },
    "selected": {"node": "one two three"},
    "regex": {"node": "123"},
}


def _matches(kind: str, result: Any, expected: Any) -> bool:
    if kind == "boolean":
        return to_bool(result) is expected
    if kind == "string":
        return bool(to_string(result) == expected)
    number = to_number(result)
    if isinstance(expected, str):  # NaN, Infinity, -Infinity
        return bool(to_string(number) == expected)
    if math.isnan(number):
        return False
    if kind == "number~":  # Enketo rounds to the digits it gives
        digits = len(repr(float(expected)).split(".")[1]) if "." in repr(expected) else 0
        return bool(abs(number - expected) <= 0.5 * 10 ** (-digits) + 1e-12)
    return math.isclose(number, expected, rel_tol=1e-9, abs_tol=1e-9)


def run_table() -> dict[str, list[str]]:
    table = json.loads(DATA.read_text(encoding="utf-8"))
    out: dict[str, list[str]] = {"passed": [], "failed": [], "refused": [], "crashed": []}
    for group, expr, kind, expected in table["pairs"]:
        try:
            result = ev(expr, DOCUMENTS.get(group))
        except FormError:
            out["refused"].append(expr)
            continue
        except Exception as error:  # counted, then failed below
            out["crashed"].append(f"{expr}: {type(error).__name__}")
            continue
        out["passed" if _matches(kind, result, expected) else "failed"].append(expr)
    return out


def test_the_odk_function_examples_pass_or_are_refused_never_crash() -> None:
    out = run_table()
    counts = {k: len(v) for k, v in out.items()}
    print(
        f"\nODK function examples: {sum(counts.values())} pairs, {counts['passed']} passed, "
        f"{counts['failed']} failed, {counts['refused']} refused, {counts['crashed']} crashed"
    )
    assert out["crashed"] == []
    assert counts["passed"] >= PASSED_AT_LEAST


def test_docs_give_the_figures_the_table_measures() -> None:
    counts = {k: len(v) for k, v in run_table().items()}
    text = " ".join(DOC.read_text(encoding="utf-8").split())
    found = re.search(
        r"\((\d+) expression/expected pairs .*?\): (\d+) pass, (\d+) are refused at load, "
        r"(\d+) crash\. .*? Of the (\d+) that differ",
        text,
    )
    assert found, "docs/forms.md no longer gives the ODK function examples' figures"
    documented = [int(n) for n in found.groups()]
    measured = [sum(counts.values()), counts["passed"], counts["refused"], counts["crashed"]]
    assert documented == [*measured, counts["failed"]]
