"""The device-side ``fieldscreen`` subcommands of sync: enroll, sync, bundle. Each module has
``add_arguments(parser)`` and ``run(args) -> int``. (``provision`` and ``simulate`` need the
vault itself, so they live whole in :mod:`fieldscreen.device_commands`.)

``fieldscreen`` runs them through :mod:`fieldscreen.device_commands`, which unlocks the profile's
vault and puts its stores in ``args.device_stores``; without that they fall back to
:data:`STORE_FACTORY` (the reference :class:`~fieldscreen.sync.spool.Spool`: tests, benchmarks).
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from typing import Any

from fieldscreen.errors import LANGUAGES
from fieldscreen.paths import Paths
from fieldscreen.sync.spool import Spool

__all__ = ["STORE_FACTORY", "emit", "language", "open_stores"]


def _default_factory(args: argparse.Namespace) -> Any:
    paths = Paths.resolve(getattr(args, "profile", None)).ensure()
    return Spool(paths.data / "sync-spool.sqlite3")


#: args -> an object that is both an OutboxStore and a DeviceState.
STORE_FACTORY: Callable[[argparse.Namespace], Any] = _default_factory


def open_stores(args: argparse.Namespace) -> Any:
    """The stores the composition handed over (``args.device_stores``), else the factory's."""
    given = getattr(args, "device_stores", None)
    return given if given is not None else STORE_FACTORY(args)


def language(args: argparse.Namespace) -> str:
    """The language of a command's messages: ``--lang``, else the laptop's own (set by the
    vault's wrapper as ``args.device_language``), else the environment's ``LANG``."""
    for lang in (getattr(args, "lang", None), getattr(args, "device_language", None)):
        if lang in LANGUAGES:
            return str(lang)
    return "es" if os.environ.get("LANG", "").startswith("es") else "en"


def emit(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, indent=2, sort_keys=True) if getattr(args, "json", False) else text)
