"""The one passphrase prompt of both command lines (``fieldscreen``, ``fieldscreen-server``).

Typed at the terminal and never echoed, never read from argv. When the input ends before one is
typed (a script, a service) the prompt says which option gives it from a file instead
(``passphrase-not-given``); a new passphrase is asked twice. Each caller names its package's
error tree, so a vault command raises a ``VaultError`` and the server a ``ServerError``.
"""

from __future__ import annotations

import getpass

from fieldscreen.errors import KnownError

__all__ = ["ask_passphrase"]


def ask_passphrase(
    prompt: str,
    *,
    error: type[KnownError],
    option: str = "--passphrase-file",
    again: str | None = None,
    differs: KnownError | None = None,
) -> str:
    """A passphrase typed after ``prompt``; with ``again``, typed a second time after it.

    Raises:
        error: ``passphrase-not-given`` (naming ``option``) when the input ends first;
            ``passphrase-confirm-differs`` (or ``differs``) when the two do not match.
    """
    try:
        first = getpass.getpass(prompt)
        if again is None:
            return first
        second = getpass.getpass(again)
    except EOFError:  # no terminal and nothing on standard input
        raise error("passphrase-not-given", option=option) from None
    if second != first:
        raise differs if differs is not None else error("passphrase-confirm-differs")
    return first
