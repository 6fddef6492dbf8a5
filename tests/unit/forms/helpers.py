"""Forms written inline as pyxform Markdown tables, next to the assertions that use them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from textwrap import dedent
from typing import Any

from fieldscreen.forms import Form, Session, load_form_text

NOW = datetime(2026, 3, 15, 10, 30, tzinfo=UTC)

SETTINGS = """
| settings |
|          | form_id | version | default_language |
|          | fs_test | 1       | English (en)     |
"""


def form(
    md: str, *, settings: bool = True, name: str = "test.md", base: Path | None = None
) -> Form:
    """Load ``md`` (a settings sheet is added unless the text has one)."""
    text = dedent(md)
    if settings and "| settings" not in text:
        text += SETTINGS
    return load_form_text(text, name, base)


def session(md: str, context: dict[str, Any] | None = None, **kwargs: Any) -> Session:
    clock = kwargs.pop("clock", lambda: NOW)
    case_values = kwargs.pop("case_values", None)
    return Session.start(form(md), "en", context or {}, case_values, clock=clock, **kwargs)
