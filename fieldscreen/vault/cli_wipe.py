"""``fieldscreen wipe --yes``: crypto-shred this profile (key file first, then the files).

No passphrase is asked: a panic wipe, or one ordered by the server for a revoked device, must
work without one, and it destroys nothing anyone could read without the passphrase anyway.
The app asks for the passphrase again before it offers this.
"""

from __future__ import annotations

import argparse

from fieldscreen.vault.cli_common import emit, paths_of
from fieldscreen.vault.errors import VaultError

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--yes", action="store_true", help="confirm: destroy every unsynced screening for good"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    from fieldscreen.vault.vault import wipe_folder

    if not args.yes:
        raise VaultError("vault-wipe-unconfirmed")
    paths = paths_of(args)
    # The vault first (its key file before anything else), then everything else of the profile.
    result = wipe_folder(paths.vault_dir, extra=(paths.data, paths.cache, paths.logs))
    emit(args, result, f"Wiped: {result['files_destroyed']} files destroyed.")
    return 0
