"""The passphrases ``fieldscreen-server`` reads (from a prompt or a file, never the command
line): the server's own, which unlocks its receipt key; the one protecting the organisation's
private key files; and an identifiable export's."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from fieldscreen.errors import KnownError
from fieldscreen.prompt import ask_passphrase
from fieldscreen.sync.errors import ServerError

if TYPE_CHECKING:
    from fieldscreen.sync.server.storage import Storage

__all__ = [
    "MIN_PASSPHRASE",
    "PASSPHRASE_ENV",
    "private_key",
    "read_export_passphrase",
    "read_file_passphrase",
    "read_passphrase",
    "server_passphrase",
    "server_passphrase_file",
    "unlock",
]

MIN_PASSPHRASE = 12
PASSPHRASE_ENV = "FIELDSCREEN_SERVER_PASSPHRASE_FILE"  # noqa: S105 -- a variable's name


def server_passphrase_file(args: argparse.Namespace) -> str | None:
    """Where the server's passphrase is kept: ``--passphrase-file``, else the environment."""
    return getattr(args, "passphrase_file", None) or os.environ.get(PASSPHRASE_ENV) or None


def read_file_passphrase(path: str) -> bytes:
    """A passphrase kept in a file (its first line's end trimmed), for any of the three."""
    try:
        text = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError):
        raise ServerError("passphrase-file-unreadable", path=path) from None
    return text.encode("utf-8")


def server_passphrase(args: argparse.Namespace, prompt: str = "Server passphrase: ") -> bytes:
    """The server's passphrase (it unlocks the receipt key): from its file, or a prompt."""
    path = server_passphrase_file(args)
    if path:
        return read_file_passphrase(path)
    if not sys.stdin.isatty():
        raise ServerError("server-passphrase-needed")
    return ask_passphrase(prompt, error=ServerError).encode("utf-8")


def unlock(args: argparse.Namespace, storage: Storage) -> None:
    """Unlock the receipt key; on a database that has none yet, the passphrase creates it."""
    creating = storage.repos.keys.receipt_key_state() == "missing"
    passphrase = server_passphrase(args)
    if creating and len(passphrase.decode("utf-8")) < MIN_PASSPHRASE:
        raise ServerError("server-passphrase-weak", minimum=MIN_PASSPHRASE)
    storage.repos.keys.unlock(passphrase)


def read_passphrase(args: argparse.Namespace, *, confirm: bool) -> bytes:
    if getattr(args, "passphrase_file", None):
        text = read_file_passphrase(args.passphrase_file).decode("utf-8")
    else:
        text = ask_passphrase(
            "Passphrase: ",
            again="Passphrase again: " if confirm else None,
            differs=ServerError("server-passphrase-weak", minimum=MIN_PASSPHRASE),
            error=ServerError,
        )
    if confirm and len(text) < MIN_PASSPHRASE:
        raise ServerError("server-passphrase-weak", minimum=MIN_PASSPHRASE)
    return text.encode("utf-8")


def private_key(args: argparse.Namespace, path: str) -> bytes:
    from fieldscreen import crypto

    try:
        blob = json.loads(Path(path).read_text(encoding="utf-8"))
        return crypto.unprotect_private_key(blob, read_passphrase(args, confirm=False))
    except (OSError, ValueError, RecursionError, KnownError):
        raise ServerError("server-key-file", path=path) from None


def read_export_passphrase(args: argparse.Namespace, *, confirm: bool) -> bytes:
    if args.export_passphrase_file:
        text = read_file_passphrase(args.export_passphrase_file).decode("utf-8")
    else:
        text = ask_passphrase(
            "Export passphrase: ",
            again="Export passphrase again: " if confirm else None,
            option="--export-passphrase-file",
            differs=ServerError("export-passphrase-weak", minimum=MIN_PASSPHRASE),
            error=ServerError,
        )
    if confirm and len(text) < MIN_PASSPHRASE:
        raise ServerError("export-passphrase-weak", minimum=MIN_PASSPHRASE)
    return text.encode("utf-8")
