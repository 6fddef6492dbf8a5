"""What every ``fieldscreen-server`` command shares: the database it opens (closed when the
command ends), its output (text, or JSON with ``--json``) and how a command adds its arguments."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import platformdirs

if TYPE_CHECKING:
    from fieldscreen.sync.server.storage import Storage

__all__ = ["AddCommand", "Parents", "close_opened", "default_db", "emit", "open_storage"]


def default_db() -> str:
    override = os.environ.get("FIELDSCREEN_SERVER_DB")
    if override:
        return override
    folder = Path(platformdirs.user_data_dir("FieldScreen-server", appauthor=False))
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    if os.name != "nt":
        with contextlib.suppress(OSError):  # another owner's folder: its database is checked
            folder.chmod(0o700)  # the server's own folder: nobody else lists or reads it
    return str(folder / "server.sqlite3")


_OPENED: list[Storage] = []


def open_storage(args: argparse.Namespace) -> Storage:
    from fieldscreen.sync.server.storage import Storage

    storage = Storage.open(args.db or default_db())
    _OPENED.append(storage)  # closed when the command ends
    for notice in storage.notices:
        print(f"fieldscreen-server: {notice}", file=sys.stderr)
    return storage


def close_opened() -> None:
    """Close every database a command opened."""
    while _OPENED:
        _OPENED.pop().close()


def emit(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, indent=2, sort_keys=True) if args.json else text)


@dataclass(frozen=True, slots=True)
class Parents:
    """The option groups several commands share (argparse parents)."""

    passphrase: argparse.ArgumentParser  # the organisation's key files' passphrase
    server_pass: argparse.ArgumentParser  # the server's passphrase (its receipt key)
    export_pass: argparse.ArgumentParser  # an identifiable export's passphrase


class AddCommand(Protocol):
    """Adds a subcommand that runs ``run``, with the common options and ``parents``'."""

    def __call__(
        self,
        name: str,
        run: Callable[[argparse.Namespace], int],
        help: str,
        *parents: argparse.ArgumentParser,
    ) -> argparse.ArgumentParser: ...
