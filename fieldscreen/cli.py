"""The ``fieldscreen`` command: the desktop app, and the headless commands of ``docs/cli.md``.

No Qt is imported here; the GUI is imported only when it is launched (``fieldscreen`` with no
subcommand) or rendered by ``--self-test``. Subcommands live in their own packages and are
imported only when used, so ``fieldscreen --version`` stays instant.

A subcommand module provides ``add_arguments(parser)`` and ``run(args) -> int``. Failures the
user can act on are :class:`~fieldscreen.errors.KnownError` and print one line; anything else is
a bug and prints one line pointing at ``--debug`` (which shows the traceback).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from fieldscreen import FORM_PACK_VERSION, PROTOCOL_VERSION, __version__
from fieldscreen.errors import render, run_guarded

__all__ = ["COMMANDS", "Command", "main"]


@dataclass(frozen=True, slots=True)
class Command:
    """A subcommand: the module that implements it and a one-line help."""

    module: str
    help: str


#: Subcommand name -> implementation. Keep in step with ``docs/cli.md`` (a test checks it).
COMMANDS: dict[str, Command] = {
    "init": Command(
        "fieldscreen.vault.cli_init", "create this laptop's vault and its first admin (for IT)"
    ),
    "duress-passphrase": Command(
        "fieldscreen.vault.cli_duress",
        "set or clear the passphrase that opens an empty-looking vault and seals this one (admins)",
    ),
    "rotate-keys": Command(
        "fieldscreen.vault.cli_rotate",
        "move this vault to new keys now, after a suspected compromise (admins)",
    ),
    "users": Command(
        "fieldscreen.vault.cli_users",
        "list the local accounts, or give one another role (admins)",
    ),
    "status": Command(
        "fieldscreen.vault.cli_status",
        "counts of drafts, finalised, sealed, pending and delivered screenings",
    ),
    "travel-mode": Command(
        "fieldscreen.vault.cli_travel", "seal every draft and purge every readable copy now"
    ),
    "wipe": Command("fieldscreen.vault.cli_wipe", "crypto-shred this profile (asks for --yes)"),
    "forms": Command(
        "fieldscreen.forms.cli", "validate, preview, run or convert XLSForms (form designers)"
    ),
    "provision": Command(
        "fieldscreen.device_commands.provision", "apply a signed provisioning file"
    ),
    "enroll": Command("fieldscreen.device_commands.enroll", "enrol this device with the server"),
    "sync": Command("fieldscreen.device_commands.sync", "sync now, with progress and a summary"),
    "bundle": Command(
        "fieldscreen.device_commands.bundle",
        "write pending envelopes to a file, apply a receipt, or relay another laptop's bundle",
    ),
    "case": Command(
        "fieldscreen.device_commands.case",
        "record a case event (follow-up, referral, closed ...) or show a case's timeline",
    ),
    "handover": Command(
        "fieldscreen.device_commands.handover",
        "hand a child's case to a partner organisation (sealed packet), or apply its "
        "acknowledgement",
    ),
    "matches": Command(
        "fieldscreen.device_commands.matches",
        "earlier screenings of children who agreed to be told, and link a case to one",
    ),
    "simulate": Command(
        "fieldscreen.device_commands.simulate", "fill a profile with synthetic screenings"
    ),
}


def _version_text() -> str:
    return f"fieldscreen {__version__} (forms {FORM_PACK_VERSION}, protocol v{PROTOCOL_VERSION})"


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; only ``command``'s module is imported to add its arguments."""
    parser = argparse.ArgumentParser(
        prog="fieldscreen",
        description="Protection screening of migrant children, offline and encrypted.",
    )
    parser.add_argument("--version", action="version", version=_version_text())
    parser.add_argument(
        "--profile", metavar="DIR", help="keep all data under DIR instead of the user folder"
    )
    parser.add_argument("--lang", choices=("en", "es"), help="language of the app and messages")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="check this installation headlessly (temporary vault, forms, sealing) and exit",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, spec in COMMANDS.items():
        sub_parser = sub.add_parser(name, help=spec.help, description=spec.help)
        if name == command:
            module = importlib.import_module(spec.module)
            module.add_arguments(sub_parser)
            sub_parser.set_defaults(_run=module.run)
    return parser


def _requested_command(argv: Sequence[str]) -> str | None:
    return next((arg for arg in argv if arg in COMMANDS), None)


def _has_display() -> bool:
    if os.environ.get("QT_QPA_PLATFORM", "").split(":")[0] in {"offscreen", "minimal", "vnc"}:
        return True
    if sys.platform in {"win32", "darwin"}:
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _language(lang: str | None) -> str:
    if lang:
        return lang
    env = os.environ.get("LANG", "")
    return "es" if env.startswith("es") else "en"


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        # The desktop app as launched from its icon: no parser to build (argparse looks up a
        # translation catalogue for each of its help strings), straight to the window.
        return _guarded(lambda: _gui(None, None), _language(None), debug=False)
    parser = build_parser(_requested_command(argv))
    args = parser.parse_args(argv)
    lang = _language(args.lang)

    def run() -> int:
        if args.self_test:
            from fieldscreen.selftest import run_self_test

            return run_self_test(lang=lang)
        if args.command:
            return int(args._run(args))
        return _gui(args.profile, args.lang)

    return _guarded(run, lang, debug=args.debug)


def _gui(profile: str | None, lang: str | None) -> int:
    if not _has_display():
        print(render("no-display", _language(lang)), file=sys.stderr)
        return 2
    # The core's Qt-free modules before Qt: once PySide6 is imported, its import hook reads the
    # source of every module that imports something (looking for ``__feature__``).
    import fieldscreen.paths
    import fieldscreen.settings  # noqa: F401
    from fieldscreen.app import run_gui

    return run_gui(profile=profile, lang=lang)


def _guarded(run: Callable[[], int], lang: str, *, debug: bool) -> int:
    """``run()``, with the failures a user can meet as one line (the traceback with --debug)."""
    return run_guarded(
        run,
        program="fieldscreen",
        lang=lang,
        debug=debug,
        advice="Run the command again with --debug and send what it prints to your IT contact; "
        "it shows no case data.",
    )
