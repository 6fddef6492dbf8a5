"""Errors of the reports package (codes in :data:`fieldscreen.errors.CATALOGUE`).

:class:`ReportError` is raised for an aggregate that cannot be counted (``aggregate-*``) and
an export that cannot be made or read (``export-*``). None of them ever carries an answer, a
name or a key: only field names, dimension names, profiles, formats and folders.
"""

from __future__ import annotations

from fieldscreen.errors import KnownError

__all__ = ["ReportError"]


class ReportError(KnownError):
    """An aggregate or an export cannot be made as asked."""
