"""``fieldscreen users``: the local accounts (``list``) and an admin's change of a role (``role``).

``users role LOGIN ROLE`` gives an account another role through the signed roster: re-signed by
the admin key and audited. A demotion moves the vault to new
keys (as removing a user does); so does any demotion. See docs/vault.md.
"""

from __future__ import annotations

import argparse

from fieldscreen.vault.cli_common import add_unlock_arguments, emit, paths_of, read_passphrase
from fieldscreen.vault.keyring import ROLES

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    listing = sub.add_parser("list", help="every local account and its role (no passphrase)")
    listing.add_argument("--json", action="store_true", help="print one JSON object")
    role = sub.add_parser("role", help="give an account another role (admins)")
    role.add_argument("login", metavar="LOGIN", help="the account whose role changes")
    role.add_argument(
        "role", metavar="ROLE", choices=ROLES, help="specialist, coordinator or admin"
    )
    add_unlock_arguments(role)
    role.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    from fieldscreen.device import open_settings, open_vault

    paths = paths_of(args)
    with open_vault(paths, open_settings(paths)) as vault:
        if args.users_command == "list":
            users = [{"login": u.login, "role": u.role} for u in vault.users()]
            text = "\n".join(f"{u['login']}\t{u['role']}" for u in users)
            emit(args, {"users": users}, text)
            return 0
        from fieldscreen.vault.cli_travel import _only_user

        login = args.user or _only_user(vault)
        passphrase = read_passphrase(args)
        vault.unlock(login, passphrase, duress=False)
        summary = vault.change_role(args.login, args.role, admin_passphrase=passphrase)
    if summary["was"] == summary["role"]:
        text = f"{summary['user']} is already {summary['role']}; nothing changed."
    else:
        text = f"{summary['user']}: {summary['was']} -> {summary['role']}."
        if summary["rotated"]:
            text += (
                f" Keys rotated (generation {summary['generation']}): the key file from "
                "before opens nothing now."
            )
    emit(args, summary, text)
    return 0
