"""The countries a site may be in, for the set-up and settings screens' country list.

Read from the built-in forms' own lists (``countries.csv``, ``deadlines.csv``): the countries
whose statutory deadlines the forms know come first, so the usual choice is near the top.
"""

from __future__ import annotations

import csv

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QComboBox, QWidget

from fieldscreen.forms.library import BUILTIN_DIR

__all__ = ["country_box", "site_countries"]


def site_countries(lang: str) -> list[tuple[str, str]]:
    """``(code, name)`` pairs in ``lang``: countries with statutory deadlines first, then the
    others by name; empty when this build ships no built-in lists."""
    lists = BUILTIN_DIR / "lists"
    column = "label::Español (es)" if lang == "es" else "label::English (en)"
    try:
        with (lists / "countries.csv").open(encoding="utf-8", newline="") as f:
            rows = [
                (r["name"], r.get(column) or r.get("label::English (en)") or r["name"])
                for r in csv.DictReader(f)
            ]
        with (lists / "deadlines.csv").open(encoding="utf-8", newline="") as f:
            with_deadlines = {r["jurisdiction"] for r in csv.DictReader(f)}
    except (OSError, KeyError, csv.Error):
        return []
    codes = [(c, n) for c, n in rows if len(c) == 2 and c.isalpha() and c.isupper()]
    return sorted(codes, key=lambda cn: (cn[0] not in with_deadlines, cn[1].casefold()))


def country_box(parent: QWidget, lang: str, current: object = "") -> QComboBox:
    """A list of :func:`site_countries` (type a letter to jump), "not chosen" first."""
    box = QComboBox(parent)
    box.addItem(QCoreApplication.translate("CountryBox", "Not chosen (no statutory deadlines)"), "")
    for code, name in site_countries(lang):
        box.addItem(f"{name} ({code})", code)
    box.setCurrentIndex(max(box.findData(str(current or "")), 0))
    return box
