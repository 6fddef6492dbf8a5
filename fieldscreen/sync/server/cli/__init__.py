"""``fieldscreen-server``: run the central server and administer it (see ``docs/cli.md``).

Every command takes ``--db URL`` (default: an embedded SQLite file in the server's data folder,
or ``FIELDSCREEN_SERVER_DB``), ``--json`` for machine-readable output and ``--debug`` for
tracebacks. Passphrases are read from a prompt or ``--passphrase-file``, never the command line.
The organisation's private keys are only ever written to the folder ``init-org --out`` names,
protected by a passphrase; the server's database keeps the public halves.

The commands live by group, each module with its commands' arguments:

* :mod:`.serve` -- ``serve`` (one process or several);
* :mod:`.organisation` -- ``init-org``, ``match-secret``, ``provision-file``;
* :mod:`.devices` -- ``enroll-code``, ``devices``, ``token``, ``partner``;
* :mod:`.documents` -- ``publish-form``, ``publish-directory``;
* :mod:`.bundles` -- ``import-bundle``, ``receipt``;
* :mod:`.custody` -- ``passphrase`` (the receipt key), ``audit``;
* :mod:`.reporting` -- ``stats``, ``matches``, ``retention``;
* :mod:`.export` -- ``export``, ``export-open``;

with what they share in :mod:`.common` (the database, the output) and :mod:`.passphrases`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from fieldscreen import __version__
from fieldscreen.errors import run_guarded
from fieldscreen.sync.server.cli import (
    bundles,
    custody,
    devices,
    documents,
    export,
    organisation,
    reporting,
    serve,
)
from fieldscreen.sync.server.cli.common import Parents, close_opened
from fieldscreen.sync.server.cli.passphrases import PASSPHRASE_ENV
from fieldscreen.sync.server.cli.passphrases import private_key as _private_key
from fieldscreen.sync.server.cli.serve import check_address as _check_address
from fieldscreen.sync.server.cli.serve import worker_app

__all__ = ["PASSPHRASE_ENV", "_check_address", "_private_key", "main", "worker_app"]

# The order of ``fieldscreen-server --help``. (``_private_key`` and ``_check_address`` above are
# the names this module gave them when it held every command; tests import them so.)
_GROUPS = (serve, organisation, devices, documents, bundles, custody, reporting, export)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db", metavar="URL", help="database: a SQLite path (default) or postgresql://user@host/db"
    )
    common.add_argument("--json", action="store_true", help="machine-readable output")
    common.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    passphrase = argparse.ArgumentParser(add_help=False)
    passphrase.add_argument(
        "--passphrase-file",
        metavar="FILE",
        help="read the passphrase from FILE instead of a prompt",
    )
    server_pass = argparse.ArgumentParser(add_help=False)
    server_pass.add_argument(
        "--passphrase-file",
        metavar="FILE",
        help=f"the server's passphrase, which unlocks its receipt key (or ${PASSPHRASE_ENV})",
    )
    export_pass = argparse.ArgumentParser(add_help=False)
    export_pass.add_argument(
        "--export-passphrase-file",
        metavar="FILE",
        help="read the export passphrase (identifiable exports) from FILE instead of a prompt",
    )

    parser = argparse.ArgumentParser(
        prog="fieldscreen-server", description="The FieldScreen central server."
    )
    parser.add_argument("--version", action="version", version=f"fieldscreen-server {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(
        name: str,
        run: Callable[[argparse.Namespace], int],
        help: str,
        *parents: argparse.ArgumentParser,
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help, parents=[common, *parents])
        p.set_defaults(_run=run)
        return p

    shared = Parents(passphrase=passphrase, server_pass=server_pass, export_pass=export_pass)
    for group in _GROUPS:
        group.add_commands(add, shared)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return run_guarded(
            lambda: int(args._run(args)),
            program="fieldscreen-server",
            lang="en",
            debug=args.debug,
            advice="Run again with --debug.",
        )
    finally:
        close_opened()
