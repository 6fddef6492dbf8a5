"""``fieldscreen duress-passphrase``: set or clear this vault's duress passphrase (admins).

Typed at unlock with any login, the duress passphrase opens an empty-looking vault: everything
is sealed to the organisation first, as travel mode does, and reaches the team at the next
sync. The new passphrase is read from ``--duress-file`` (first line) or asked for twice.
"""

from __future__ import annotations

import argparse

from fieldscreen.prompt import ask_passphrase
from fieldscreen.vault.cli_common import add_unlock_arguments, emit, paths_of, read_passphrase
from fieldscreen.vault.errors import VaultError

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_unlock_arguments(parser)
    what = parser.add_mutually_exclusive_group()
    what.add_argument(
        "--duress-file",
        metavar="FILE",
        help="read the duress passphrase from the first line of FILE instead of prompting",
    )
    what.add_argument("--clear", action="store_true", help="remove the duress passphrase")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _duress(args: argparse.Namespace) -> bytes:
    if args.duress_file:
        return read_passphrase(argparse.Namespace(passphrase_file=args.duress_file))
    return ask_passphrase(
        "Duress passphrase: ",
        again="Same duress passphrase again: ",
        option="--duress-file",
        error=VaultError,
    ).encode("utf-8")


def run(args: argparse.Namespace) -> int:
    from fieldscreen.device import open_settings, open_vault
    from fieldscreen.vault.cli_travel import _only_user

    paths = paths_of(args)
    with open_vault(paths, open_settings(paths)) as vault:
        login = args.user or _only_user(vault)
        passphrase = read_passphrase(args)
        vault.unlock(login, passphrase, duress=False)
        duress = None if args.clear else _duress(args)
        vault.set_duress_passphrase(duress, admin_passphrase=passphrase)
    state = "cleared" if args.clear else "set"
    emit(args, {"duress_passphrase": state}, f"Duress passphrase {state}.")
    return 0
