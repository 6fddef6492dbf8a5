"""Organisations adapt the built-in forms in a spreadsheet: ``forms convert`` to .xlsx and back
loses nothing the engine reads (fields, choices, rules, deadlines, marks)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fieldscreen.cli import main
from fieldscreen.forms import load_form
from tests.content.scenarios import BUILTIN, FORM_IDS, LISTS


def _summary(path: Path) -> tuple[object, ...]:
    form = load_form(path)
    fields = tuple(
        (
            f.name,
            f.kind,
            f.label.get("en"),
            f.label.get("es"),
            f.hint.get("es"),
            f.relevant,
            f.constraint,
            f.calculation,
            f.sensitivity,
            f.case_card,
            f.aggregate,
            f.from_case,
            tuple((c.name, c.label.get("en"), c.label.get("es")) for c in f.choices),
        )
        for f in form.fields.values()
    )
    rules = tuple(
        (
            r.name,
            r.when,
            r.tier,
            r.concerns,
            r.referrals,
            r.deadlines,
            r.opens,
            r.withholds,
            r.declines,
        )
        for r in form.rules
    )
    deadlines = tuple(
        (d.name, d.jurisdiction, d.hours, d.label.get("es"), d.basis, d.notifies)
        for d in form.deadlines
    )
    titles = (form.title("en"), form.title("es"))
    return (form.id, form.version, titles, fields, rules, deadlines)


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_builtin_form_survives_xlsx_and_back(form_id: str, tmp_path: Path) -> None:
    shutil.copytree(LISTS, tmp_path / "lists")
    xlsx, back = tmp_path / f"{form_id}.xlsx", tmp_path / f"{form_id}.md"
    assert main(["forms", "convert", str(BUILTIN / f"{form_id}.md"), str(xlsx)]) == 0
    assert main(["forms", "convert", str(xlsx), str(back)]) == 0
    original = _summary(BUILTIN / f"{form_id}.md")
    assert _summary(xlsx) == original
    assert _summary(back) == original


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_builtin_form_is_kept_in_the_converters_own_layout(form_id: str, tmp_path: Path) -> None:
    """After a trip through a spreadsheet the tables come back byte for byte, so the diff of an
    organisation's edit shows only what it changed. The prose above the tables is ours."""
    shutil.copytree(LISTS, tmp_path / "lists")
    xlsx, back = tmp_path / f"{form_id}.xlsx", tmp_path / f"{form_id}.md"
    assert main(["forms", "convert", str(BUILTIN / f"{form_id}.md"), str(xlsx)]) == 0
    assert main(["forms", "convert", str(xlsx), str(back)]) == 0
    committed = (BUILTIN / f"{form_id}.md").read_text(encoding="utf-8")
    tables = committed[committed.index("| survey |") :]
    assert back.read_text(encoding="utf-8") == tables
