"""The built-in forms' scenarios: every escalation rule raised by at least one scenario, in both
languages, through the form engine and through ``fieldscreen forms run`` as a designer runs it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from fieldscreen import forms
from fieldscreen.cli import COMMANDS, main
from tests.content.engine_run import run
from tests.content.scenarios import BUILTIN, FORM_IDS, ROOT, Scenario, all_scenarios, compare

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
def test_scenario(scenario: Scenario, lang: str) -> None:
    result = run(scenario, lang)
    problems = compare(scenario.expect, result)
    assert not problems, f"{scenario.id} ({scenario.description}) [{lang}]: {problems}"
    # Every raised rule speaks to the specialist in this language, and every deadline has a label.
    assert len(result["messages"]) == len(result["flags"]), "a raised rule has no message"
    assert all(text.strip() for text in result["messages"])
    assert all(label.strip() for label in result["deadline_labels"])
    assert all(text.strip() for text in result["constraint_messages"])


def _argv(scenario: Scenario, answers: Path, lang: str) -> list[str]:
    form = str(BUILTIN / f"{scenario.form_id}.md")
    return [
        "forms",
        "run",
        form,
        "--answers",
        str(answers),
        "--lang",
        lang,
        *scenario.context_arguments(),
        "--json",
    ]


def _check_run_output(scenario: Scenario, output: dict[str, Any]) -> None:
    got = {
        "tier": output["tier"],
        "flags": output["flags"],
        "concerns": output["concerns"],
        "referrals": output["referrals"],
        "opens": output["opens"],
        "deadlines": [d["name"] for d in output["deadlines"]],
        "suggested": output["suggested"],
        "needs_consent": output["needs_consent"],
        "withheld": output["withheld"],
        "declined": output["declined"],
        "constraint_errors": [e["field"] for e in output["errors"] if e["kind"] == "constraint"],
    }
    wanted = {k: v for k, v in scenario.expect.items() if k in got}
    assert not compare(wanted, got), f"{scenario.id}: {compare(wanted, got)}"
    assert all(m["text"].strip() for m in output["messages"])


def test_the_forms_command_is_registered() -> None:
    assert "forms" in COMMANDS


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_scenarios_through_the_forms_run_command(
    form_id: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every scenario through ``fieldscreen forms run ... --json``, languages alternating."""
    for index, scenario in enumerate(s for s in SCENARIOS if s.form_id == form_id):
        answers = tmp_path / f"{scenario.path.stem}.json"
        answers.write_text(json.dumps(scenario.answers_file()), encoding="utf-8")
        code = main(_argv(scenario, answers, LANGS[index % 2]))
        captured = capsys.readouterr()
        assert code == 0, f"{scenario.id}: {captured.err}"
        _check_run_output(scenario, json.loads(captured.out))


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_a_scenario_through_a_separate_process(form_id: str, tmp_path: Path) -> None:
    """As a designer's CI runs it: a fresh ``python -m fieldscreen`` process, in Spanish."""
    scenario = max((s for s in SCENARIOS if s.form_id == form_id), key=lambda s: len(s.covers))
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(scenario.answers_file()), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "fieldscreen", *_argv(scenario, answers, "es")],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    _check_run_output(scenario, json.loads(proc.stdout))
