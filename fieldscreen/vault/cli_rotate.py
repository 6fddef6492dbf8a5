"""``fieldscreen rotate-keys``: move this vault to a new master key and admin key now (admins).

After a suspected compromise (a lost copy of the laptop's files): every remaining user keeps
their passphrase and their own key pair, and a removed user's entry in the key file as it was
before opens nothing written afterwards. Removing a user does the same on its own. A
passphrase someone saw is taken away by changing it (a passphrase change rotates the keys
itself and gives its user a new key pair; docs/vault.md), not by a rotation alone.
"""

from __future__ import annotations

import argparse

from fieldscreen.vault.cli_common import add_unlock_arguments, emit, paths_of, read_passphrase

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_unlock_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    from fieldscreen.vault.cli_travel import _only_user
    from fieldscreen.vault.vault import Vault

    paths = paths_of(args)
    with Vault.open(paths.vault_dir) as vault:
        login = args.user or _only_user(vault)
        passphrase = read_passphrase(args)
        vault.unlock(login, passphrase)
        summary = vault.rotate_keys(admin_passphrase=passphrase)
    text = (
        f"Keys rotated (generation {summary['generation']}): {summary['users']} users, "
        f"{summary['data_keys']} data keys, {summary['audit_entries']} audit entries moved."
    )
    if summary["must_be_added_again"]:
        text += " Add these accounts again: " + ", ".join(summary["must_be_added_again"]) + "."
    emit(args, summary, text)
    return 0
