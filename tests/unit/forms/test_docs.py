"""docs/forms.md is the designers' reference: its worked example runs, and it names everything."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fieldscreen.cli import main
from fieldscreen.forms import KINDS
from fieldscreen.forms.evaluate import FUNCTIONS

DOC = Path(__file__).resolve().parents[3] / "docs" / "forms.md"


def _blocks(after: str) -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    return re.findall(r"```(?:json)?\n(.*?)```", text[text.index(after) :], re.DOTALL)


def test_the_worked_example_gives_the_documented_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    form_md, expected = _blocks("## Worked example")[:2]
    (tmp_path / "fs_example.md").write_text(form_md, encoding="utf-8")
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"age": 15, "companion_here": "yes", "made_to_work": "yes"}))
    args = ["forms", "run", str(tmp_path / "fs_example.md"), "--answers", str(answers)]
    assert main([*args, "--jurisdiction", "US", "--now", "2026-03-28T09:00", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(expected)
    answers.write_text(json.dumps({"age": 19, "companion_here": "yes", "made_to_work": "yes"}))
    assert main([*args, "--jurisdiction", "US", "--json"]) == 0
    older = json.loads(capsys.readouterr().out)
    assert older["tier"] == "T4"
    assert older["relevant"]["made_to_work"] is False


def test_every_function_and_type_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [f for f in sorted(FUNCTIONS - {"last"}) if f"`{f}" not in text]
    assert missing == []
    shown = {
        "datetime": "`datetime`",
        "select_one": "`select_one",
        "select_multiple": "`select_multiple",
    }
    kinds = [k for k in KINDS if k not in {"group", "repeat"}]
    assert [k for k in kinds if shown.get(k, f"`{k}`") not in text] == []
