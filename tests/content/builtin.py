"""Reading the built-in forms as data (pyxform's Markdown tables, the CSV lists) for the tests."""

from __future__ import annotations

import csv
from functools import cache
from typing import Any

from fieldscreen.forms.sheets import read_sheets
from tests.content.scenarios import BUILTIN, LISTS

EN, ES = "English (en)", "Español (es)"
STAFF_HINT = "Staff record"


@cache
def sheets(form_id: str) -> dict[str, list[dict[str, str]]]:
    """Each sheet of a built-in form as a list of row dicts (empty cells left out)."""
    result: dict[str, list[dict[str, str]]] = {}
    for sheet, rows in read_sheets(BUILTIN / f"{form_id}.md").items():
        header, *body = rows
        result[sheet] = [
            {str(h): str(v) for h, v in zip(header, row, strict=False) if h and v not in (None, "")}
            for row in body
        ]
    return result


@cache
def read_list(name: str) -> tuple[dict[str, str], ...]:
    with (LISTS / name).open(encoding="utf-8", newline="") as handle:
        return tuple(csv.DictReader(handle))


def deadlines(form_id: str) -> list[dict[str, str]]:
    """A form's deadlines: its own sheet's, then those of its shared ``deadlines_file``."""
    own = list(sheets(form_id).get("deadlines", []))
    settings = sheets(form_id)["settings"][0]
    shared = settings.get("deadlines_file", "")
    return own + [dict(r) for r in read_list(shared)] if shared else own


def list_names(name: str) -> set[str]:
    return {row["name"] for row in read_list(name)}


def survey_with_groups(form_id: str) -> list[tuple[dict[str, str], tuple[dict[str, str], ...]]]:
    """Each survey row with the stack of groups and repeats it sits in."""
    stack: list[dict[str, str]] = []
    out: list[tuple[dict[str, str], tuple[dict[str, str], ...]]] = []
    for row in sheets(form_id)["survey"]:
        kind = row.get("type", "")
        if kind in {"end group", "end repeat"}:
            stack.pop()
            continue
        out.append((row, tuple(stack)))
        if kind in {"begin group", "begin repeat"}:
            stack.append(row)
    return out


def is_staff_record(row: dict[str, Any]) -> bool:
    return str(row.get(f"hint::{EN}", "")).startswith(STAFF_HINT)
