"""Helpers shared by the vault's commands: the profile, the user and the passphrase."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from fieldscreen.paths import Paths
from fieldscreen.prompt import ask_passphrase
from fieldscreen.settings import Settings
from fieldscreen.vault.errors import VaultError

__all__ = ["add_unlock_arguments", "emit", "paths_of", "read_passphrase", "settings_of"]


def paths_of(args: argparse.Namespace) -> Paths:
    return Paths.resolve(getattr(args, "profile", None))


def settings_of(paths: Paths) -> Settings:
    return Settings.load(paths.settings_file)


def add_unlock_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--user", metavar="LOGIN", help="local account (default: the only one)")
    parser.add_argument(
        "--passphrase-file",
        metavar="FILE",
        help="read the passphrase from the first line of FILE instead of prompting",
    )


def read_passphrase(args: argparse.Namespace, prompt: str = "Passphrase: ") -> bytes:
    """From ``--passphrase-file`` (first line) or an interactive prompt; never argv."""
    if args.passphrase_file:
        try:
            text = Path(args.passphrase_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            raise VaultError("passphrase-file-unreadable", path=args.passphrase_file) from None
        return text.splitlines()[0].encode("utf-8") if text else b""
    return ask_passphrase(prompt, error=VaultError).encode("utf-8")


def emit(args: argparse.Namespace, data: dict[str, Any], text: str) -> None:
    """JSON on stdout with ``--json``; otherwise a short human summary."""
    if getattr(args, "json", False):
        json.dump(data, sys.stdout, sort_keys=True)
        sys.stdout.write("\n")
    else:
        print(text)
