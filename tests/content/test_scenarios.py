"""The built-in forms' scenarios: every escalation rule raised by at least one scenario, in both
languages, through the form engine and through ``fieldscreen forms run`` as a designer runs it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

import pytest

from tests.content.scenarios import BUILTIN, FORM_IDS, ROOT, all_scenarios, compare

pytest.importorskip("fieldscreen.forms.session", reason="the form engine is not on this branch yet")
from fieldscreen import forms
from tests.content.engine_run import run

SCENARIOS = all_scenarios()
LANGS = ("en", "es")


def _rule_names() -> dict[str, set[str]]:
    return {fid: {r.name for r in forms.load_form(BUILTIN / f"{fid}.md").rules} for fid in FORM_IDS}


def test_there_are_enough_scenarios_and_every_rule_is_raised_by_one() -> None:
    assert len(SCENARIOS) >= 60
    per_form = Counter(s.form_id for s in SCENARIOS)
    assert set(per_form) == set(FORM_IDS), per_form
    rules = _rule_names()
    raised: dict[str, set[str]] = {fid: set() for fid in FORM_IDS}
    for s in SCENARIOS:
        raised[s.form_id] |= set(s.expect.get("flags", ()))
        unknown = set(s.covers) - rules[s.form_id]
        assert not unknown, f"{s.id} covers unknown rules {unknown}"
        assert set(s.covers) <= set(s.expect.get("flags", ())), (
            f"{s.id}: a covered rule is not expected"
        )
    never = {fid: sorted(rules[fid] - raised[fid]) for fid in FORM_IDS if rules[fid] - raised[fid]}
    assert not never, f"rules no scenario raises: {never}"


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_scenario(scenario, lang: str) -> None:  # type: ignore[no-untyped-def]
    result = run(scenario, lang)
    problems = compare(scenario.expect, result)
    assert not problems, f"{scenario.id} ({scenario.description}) [{lang}]: {problems}"
    # Every raised rule speaks to the specialist in this language, and every deadline has a label.
    assert len(result["messages"]) == len(result["flags"]), "a raised rule has no message"
    assert all(text.strip() for text in result["messages"])
    assert all(label.strip() for label in result["deadline_labels"])


def _cli_available() -> bool:
    from fieldscreen.cli import COMMANDS

    return "forms" in COMMANDS


@pytest.mark.skipif(
    not _cli_available(), reason="`fieldscreen forms` is not registered on this branch"
)
@pytest.mark.parametrize("form_id", FORM_IDS)
def test_scenarios_through_forms_run(form_id: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The designer's path: ``fieldscreen forms run FORM --answers FILE --json`` per scenario."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for index, scenario in enumerate(s for s in SCENARIOS if s.form_id == form_id):
        answers = tmp_path / f"{scenario.path.stem}.json"
        answers.write_text(json.dumps(scenario.answers_file()), encoding="utf-8")
        lang = LANGS[index % 2]  # both languages, alternating
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "fieldscreen",
                "forms",
                "run",
                str(BUILTIN / f"{form_id}.md"),
                "--answers",
                str(answers),
                "--lang",
                lang,
                "--json",
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0, f"{scenario.id}: {proc.stderr}"
        output = json.loads(proc.stdout)
        got = {
            "tier": output["tier"],
            "flags": output["flags"],
            "concerns": output["concerns"],
            "opens": output.get("opens", []),
            "deadlines": [d["name"] if isinstance(d, dict) else d for d in output["deadlines"]],
        }
        wanted = {k: v for k, v in scenario.expect.items() if k in got}
        assert not compare(wanted, got), f"{scenario.id}: {compare(wanted, got)}"
