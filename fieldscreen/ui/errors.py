"""Errors of the UI package (codes in :data:`fieldscreen.errors.CATALOGUE`).

:class:`UIError` is what a screen's own helper raises when it cannot do what the user asked (a
file that cannot be read or written, a relay of this laptop's own batch, a report server that
cannot be reached); :class:`SignOffError` is a sign-off the supervision model refuses. The
screens show them as any :class:`~fieldscreen.errors.KnownError`, in the user's language. Errors
of the vault, forms and sync that pass through a screen keep their own packages' classes.
"""

from __future__ import annotations

from fieldscreen.errors import KnownError

__all__ = ["SignOffError", "UIError"]


class UIError(KnownError):
    """A screen cannot do what was asked."""


class SignOffError(UIError):
    """A sign-off that cannot be made (wrong passphrase, not a supervisor, one's own case)."""
