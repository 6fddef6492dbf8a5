"""The forms that ship with the app, and their shared lookup lists.

The built-in forms live in ``fieldscreen/forms/builtin/*.md`` and their lists in
``fieldscreen/forms/builtin/lists/*.csv``. Loading a form takes a fraction of a second (pyxform
checks it), so loaded forms are cached for the life of the process.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from fieldscreen.forms.errors import FormError
from fieldscreen.forms.loader import load_form
from fieldscreen.forms.model import Choice, Form
from fieldscreen.forms.risk import CaseRisk, Risk, combine_case
from fieldscreen.forms.sheets import read_list

__all__ = [
    "BUILTIN_DIR",
    "builtin_form",
    "builtin_forms",
    "builtin_list",
    "builtin_paths",
    "combine_builtin",
]

BUILTIN_DIR = Path(__file__).resolve().parent / "builtin"


def builtin_paths() -> list[Path]:
    """The files of the built-in forms, sorted by name."""
    return sorted(BUILTIN_DIR.glob("*.md")) if BUILTIN_DIR.is_dir() else []


@cache
def builtin_forms() -> dict[str, Form]:
    """Every built-in form by form id (loaded once)."""
    forms: dict[str, Form] = {}
    for path in builtin_paths():
        form = load_form(path)
        forms[form.id] = form
    return forms


def builtin_form(form_id: str) -> Form:
    """One built-in form by id (``fs_intake`` ...)."""
    try:
        return builtin_forms()[form_id]
    except KeyError:
        raise FormError(f"there is no built-in form {form_id!r}") from None


@cache
def builtin_list(name: str) -> tuple[Choice, ...]:
    """A shared lookup list by file stem (``service_types``, ``risk_tiers`` ...)."""
    path = BUILTIN_DIR / "lists" / f"{name}.csv"
    if not path.is_file():
        raise FormError(f"there is no built-in list {name!r}", file=str(path))
    return read_list(path)


def combine_builtin(
    results: Sequence[Risk], consent: Mapping[str, Any], start: datetime | None = None
) -> CaseRisk:
    """:func:`~fieldscreen.forms.risk.combine_case` with the built-in service types and tiers."""
    return combine_case(
        results,
        consent=consent,
        service_types=[c.row() for c in builtin_list("service_types")],
        risk_tiers=[c.row() for c in builtin_list("risk_tiers")],
        start=start,
    )
