"""``fieldscreen provision [FILE]``: verify and apply a signed provisioning file to this profile.

Without FILE the file IT placed beside the app (or in the machine-wide configuration folder) is
used. Needs an admin's passphrase: the organisation's keys go into the vault.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fieldscreen.device import apply_provisioning, find_provisioning_file, read_provisioning_file
from fieldscreen.device_commands import unlocked_vault
from fieldscreen.errors import DeviceError
from fieldscreen.sync.commands import emit
from fieldscreen.vault.cli_common import add_unlock_arguments

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file",
        metavar="FILE",
        nargs="?",
        help="the provisioning file from IT (default: beside the app)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    add_unlock_arguments(parser)


def run(args: argparse.Namespace) -> int:
    path = find_provisioning_file(Path(args.file) if args.file else None)
    if path is None:
        raise DeviceError("device-no-provisioning-file")
    data = read_provisioning_file(path)
    with unlocked_vault(args) as (vault, settings):
        provisioning = apply_provisioning(vault, settings, data)
    emit(
        args,
        {
            "organisation": provisioning.organisation,
            "server_url": provisioning.server_url,
            "sites": [site.to_json() for site in provisioning.sites],
            "policies": dict(provisioning.policies),
        },
        f"Provisioned for {provisioning.organisation} ({provisioning.server_url}).",
    )
    return 0
