"""Typed answers: checking a value against its field, and turning it into plain data and back.

Stored types: ``str`` (text, select_one, hidden, acknowledge ``"OK"``), ``int``, ``float``,
``datetime.date``, ``datetime.datetime``, ``datetime.time``, ``tuple[str, ...]`` for
select_multiple (in choice-list order) and rank (in the order given), ``None`` for empty. A
media question's answer is its attachment's file name (``str``).
"""

from __future__ import annotations

import math
from datetime import date, datetime, time
from typing import Any

from fieldscreen.forms.attachments import is_safe_name
from fieldscreen.forms.errors import AnswerError
from fieldscreen.forms.functions import offset_is_valid
from fieldscreen.forms.model import MEDIA_KINDS, Field

__all__ = ["coerce", "decode", "encode", "tag", "to_json", "untag"]


def coerce(field: Field, value: Any) -> Any:
    """``value`` as the stored type of ``field``, or :class:`AnswerError`."""
    if value is None or (isinstance(value, str) and value.strip() == "" and field.kind != "text"):
        return None
    kind = field.kind
    if kind in {"text", "hidden"}:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float):
            if math.isnan(value) or math.isinf(value):
                raise AnswerError(field.name, "text")
            return str(int(value)) if value.is_integer() else repr(value)
        if isinstance(value, date | time):
            return value.isoformat()
        if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            return " ".join(value) or None
        if not isinstance(value, str | int):
            raise AnswerError(field.name, "text")
        text = str(value)
        return text if text != "" else None
    if kind == "integer":
        if isinstance(value, bool):
            raise AnswerError(field.name, "integer")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        try:
            return int(str(value).strip())
        except ValueError:
            raise AnswerError(field.name, "integer") from None
    if kind == "decimal":
        if isinstance(value, bool):
            raise AnswerError(field.name, "decimal")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise AnswerError(field.name, "decimal") from None
        if math.isnan(number) or math.isinf(number):
            raise AnswerError(field.name, "decimal")
        return number
    if kind == "date":
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value).strip()[:10])
        except ValueError:
            raise AnswerError(field.name, "date") from None
    if kind == "datetime":
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        try:
            if not offset_is_valid(text):  # Python reads -07:60 as -08:00
                raise ValueError(text)
            return datetime.fromisoformat(text)
        except ValueError:
            raise AnswerError(field.name, "datetime") from None
    if kind == "time":
        if isinstance(value, time):
            return value
        text = str(value).strip()
        try:
            if not offset_is_valid(text):
                raise ValueError(text)
            return time.fromisoformat(text)
        except ValueError:
            raise AnswerError(field.name, "time") from None
    if kind == "select_one":
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise AnswerError(field.name, "choice")
        name = str(value).strip()
        if field.choices and name not in {c.name for c in field.choices}:
            raise AnswerError(field.name, "choice")
        return name
    if kind == "select_multiple":
        if isinstance(value, str):
            items = value.split()
        elif isinstance(value, list | tuple | set | frozenset) and all(
            isinstance(v, str) for v in value
        ):
            items = [v.strip() for v in value]
        else:
            raise AnswerError(field.name, "choices")
        known = [c.name for c in field.choices]
        if known and any(item not in known for item in items):
            raise AnswerError(field.name, "choices")
        if not known:
            return tuple(dict.fromkeys(items)) or None
        chosen = set(items)
        return tuple(name for name in known if name in chosen) or None
    if kind == "rank":
        if isinstance(value, str):
            items = value.split()
        elif isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            items = [v.strip() for v in value]
        else:
            raise AnswerError(field.name, "rank")
        names = {c.name for c in field.choices}
        if len(set(items)) != len(items) or (names and any(i not in names for i in items)):
            raise AnswerError(field.name, "rank")
        return tuple(items) or None
    if kind in MEDIA_KINDS:
        if not is_safe_name(value):
            raise AnswerError(field.name, "attachment")
        return value
    if kind == "acknowledge":
        if value is True or str(value).strip().upper() in {"OK", "TRUE", "YES"}:
            return "OK"
        if value is False or str(value).strip().upper() in {"FALSE", "NO"}:
            return None
        raise AnswerError(field.name, "acknowledge")
    raise AnswerError(field.name, "computed")


def to_json(value: Any) -> Any:
    """A stored or computed value as JSON (dates as ISO text, multi-selects as lists)."""
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


def encode(field: Field, value: Any) -> Any:
    """A stored answer as plain data; :func:`decode` with the same field gives it back."""
    return to_json(value)


def decode(field: Field, value: Any) -> Any:
    """The inverse of :func:`encode`; a value that does not fit the field is an AnswerError."""
    if value is None:
        return None
    if field.kind == "decimal" and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    decoded = coerce(field, value)
    if type(decoded) is not type(value) and not isinstance(value, list | str):
        raise AnswerError(
            field.name, field.kind if field.kind in {"integer", "decimal"} else "text"
        )
    return decoded


def tag(value: Any) -> Any:
    """A computed value as plain data that keeps its type (dates are tagged)."""
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if isinstance(value, time):
        return {"time": value.isoformat()}
    return value


def untag(value: Any) -> Any:
    """The inverse of :func:`tag`."""
    if isinstance(value, dict) and len(value) == 1:
        ((kind, text),) = value.items()
        if kind == "datetime":
            return datetime.fromisoformat(text)
        if kind == "date":
            return date.fromisoformat(text)
        if kind == "time":
            return time.fromisoformat(text)
        raise ValueError("unknown tag")
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    raise ValueError("not a plain value")
