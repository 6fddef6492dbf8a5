"""``fieldscreen init --admin LOGIN``: create this laptop's vault and its first admin.

The first-run screen does the same in the app; this is for IT provisioning many laptops from a
script (``--passphrase-file``), with no window. The passphrase is read from the file's first line
or asked for twice at a prompt, never taken from the command line.
"""

from __future__ import annotations

import argparse

from fieldscreen.prompt import ask_passphrase
from fieldscreen.vault.cli_common import emit, paths_of, read_passphrase, settings_of
from fieldscreen.vault.errors import VaultError

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--admin", metavar="LOGIN", required=True, help="login of the first admin account"
    )
    parser.add_argument(
        "--passphrase-file",
        metavar="FILE",
        help="read the admin's passphrase from the first line of FILE instead of prompting",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _passphrase(args: argparse.Namespace) -> bytes:
    if args.passphrase_file:
        return read_passphrase(args)
    return ask_passphrase(
        "New admin passphrase: ", again="Same passphrase again: ", error=VaultError
    ).encode("utf-8")


def run(args: argparse.Namespace) -> int:
    from fieldscreen.vault.vault import Vault

    paths = paths_of(args)
    if Vault.exists(paths.vault_dir):  # before asking for anything
        raise VaultError("vault-exists")
    settings = settings_of(paths)
    passphrase = _passphrase(args)
    paths.ensure()
    vault = Vault.create(
        paths.vault_dir,
        admin_login=args.admin,
        passphrase=passphrase,
        follow_up_days=settings.get("follow_up_window_days"),
    )
    try:
        summary = {
            "vault": "created",
            "admin": args.admin,
            "vault_id": vault.vault_id,
            "device_id": vault.device_id,
        }
    finally:
        vault.close()
    emit(
        args,
        summary,
        f"Vault created with admin {args.admin!r} (device {summary['device_id']}).",
    )
    return 0
