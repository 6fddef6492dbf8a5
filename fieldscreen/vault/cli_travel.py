"""``fieldscreen travel-mode``: seal every draft and purge every readable copy, at once."""

from __future__ import annotations

import argparse

from fieldscreen.vault.cli_common import (
    add_unlock_arguments,
    emit,
    paths_of,
    read_passphrase,
    settings_of,
)
from fieldscreen.vault.errors import VaultError

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_unlock_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    from fieldscreen.device import wire_signing
    from fieldscreen.device_commands import report_edited_policies
    from fieldscreen.vault.vault import Vault

    paths = paths_of(args)
    settings = settings_of(paths)
    if not settings.get("travel_mode_allowed"):
        raise VaultError("vault-travel-not-allowed")
    with Vault.open(paths.vault_dir, follow_up_days=settings.get("follow_up_window_days")) as vault:
        login = args.user or _only_user(vault)
        vault.unlock(login, read_passphrase(args))
        report_edited_policies(vault, settings)  # the vault's policies, not the file's
        if not settings.get("travel_mode_allowed"):
            raise VaultError("vault-travel-not-allowed")
        wire_signing(vault)  # drafts are signed exactly as the server and the export verify
        summary = vault.travel_mode()
    text = (
        f"Travel mode: {summary['drafts_sealed']} drafts sealed, "
        f"{summary['finalised_purged']} readable screenings and "
        f"{summary['case_cards_purged']} case cards removed."
    )
    emit(args, summary, text)
    return 0


def _only_user(vault: object) -> str:
    from fieldscreen.vault.vault import Vault

    assert isinstance(vault, Vault)
    users = vault.users()
    if len(users) != 1:
        raise VaultError("vault-user-unknown")
    return users[0].login
