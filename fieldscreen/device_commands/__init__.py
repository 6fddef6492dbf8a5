"""The sync subcommands on the profile's real vault (what ``fieldscreen provision|enroll|sync|
bundle|simulate`` run). ``enroll``, ``sync`` and ``bundle`` wrap the matching
:mod:`fieldscreen.sync.commands` module (``provision`` and ``simulate`` are whole here): it adds
``--user`` and ``--passphrase-file``, unlocks the vault, and hands the command a
:class:`~fieldscreen.device.VaultDeviceStore` (sync itself never imports the vault)."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Iterator
from types import ModuleType

from fieldscreen.device import (
    VaultDeviceStore,
    enforce_locked_policies,
    open_settings,
    open_vault,
    wire_signing,
)
from fieldscreen.settings import Settings
from fieldscreen.vault import Vault
from fieldscreen.vault.cli_common import add_unlock_arguments, paths_of, read_passphrase
from fieldscreen.vault.errors import VaultError

__all__ = ["report_edited_policies", "unlocked_vault", "wrap"]


def report_edited_policies(vault: Vault, settings: Settings) -> None:
    """Put the organisation's locked policies back over an edited settings file (or a
    rewritten provisioning in the vault), and say so on standard error in the laptop's
    language (it is audited too)."""
    for notice in enforce_locked_policies(vault, settings).notices():
        print(f"fieldscreen: {notice.message(str(settings.get('language')))}", file=sys.stderr)


@contextlib.contextmanager
def unlocked_vault(args: argparse.Namespace) -> Iterator[tuple[Vault, Settings]]:
    """The profile's vault unlocked with the passphrase from the prompt or the file."""
    paths = paths_of(args).ensure()
    settings = open_settings(paths)
    vault = open_vault(paths, settings)
    try:
        login = args.user
        if login is None:
            users = vault.users()
            if len(users) != 1:
                raise VaultError("vault-user-unknown")
            login = users[0].login
        vault.unlock(login, read_passphrase(args))
        wire_signing(vault)
        report_edited_policies(vault, settings)
        yield vault, settings
    finally:
        vault.close()


def wrap(
    module: ModuleType,
) -> tuple[Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]:
    """``add_arguments`` and ``run`` for ``module`` working on the vault's stores."""

    def add_arguments(parser: argparse.ArgumentParser) -> None:
        module.add_arguments(parser)
        add_unlock_arguments(parser)

    def run(args: argparse.Namespace) -> int:
        with unlocked_vault(args) as (vault, settings):
            args.device_stores = VaultDeviceStore(vault, settings)
            args.device_language = settings.get("language")
            try:
                return int(module.run(args))
            finally:
                args.device_stores = None

    return add_arguments, run
