"""``fieldscreen status [--json]``: counts of drafts, finalised, sealed, pending, delivered."""

from __future__ import annotations

import argparse

from fieldscreen.vault.cli_common import emit, paths_of

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    from fieldscreen.vault.vault import vault_status

    status = vault_status(paths_of(args).vault_dir)
    if status["vault"] == "absent":
        emit(args, status, "No vault in this profile yet.")
        return 0
    lines = [f"{key}: {status[key]}" for key in sorted(status)]
    emit(args, status, "\n".join(lines))
    return 0
