"""``fieldscreen --self-test``: a headless check that an installed copy works.

Each step is a small function over a temporary profile; the first failure stops the run with a
one-line message naming the step. Everything is created in a temporary folder that is removed
afterwards, so the check leaves nothing behind on the laptop. Later subsystems add their steps to
:data:`STEPS` (create a vault, load every built-in form, seal and verify an envelope).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from fieldscreen.errors import DeviceError, KnownError
from fieldscreen.paths import Paths, resource_path
from fieldscreen.settings import Settings

__all__ = ["STEPS", "run_self_test"]

Step = Callable[[Paths], None]


def _resources(paths: Paths) -> None:
    resource_path("translations", "fieldscreen_es.qm")
    resource_path("icons", "fieldscreen.svg")


def _settings(paths: Paths) -> None:
    settings = Settings.load(paths.settings_file)
    settings.set("language", "es")
    settings.save()
    if Settings.load(paths.settings_file).get("language") != "es":
        raise RuntimeError("settings did not round-trip")


def _vault(paths: Paths) -> None:
    from fieldscreen.vault.selftest import check_vault

    check_vault(paths.data / "self-test-vault")


def _forms(paths: Paths) -> None:
    from fieldscreen.forms import Session
    from fieldscreen.forms.library import builtin_forms

    for form in builtin_forms().values():
        session = Session.start(form, "es", {"jurisdiction": "US"})
        session.risk()
        Session.restore(form, session.to_state())


def _render(paths: Paths) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from fieldscreen.ui.selftest import render_main_screens

    if render_main_screens(paths) < 2:
        raise RuntimeError("no form page was rendered")


STEPS: list[tuple[str, Step]] = [
    ("resources", _resources),
    ("settings", _settings),
    ("vault", _vault),
    ("forms", _forms),
    ("render", _render),
]


def run_self_test(lang: str = "en") -> int:
    """Run every step in a temporary profile; print a line per step; 0 when all pass."""
    with tempfile.TemporaryDirectory(prefix="fieldscreen-selftest-") as tmp:
        paths = Paths.for_profile(Path(tmp)).ensure()
        for name, step in STEPS:
            try:
                step(paths)
            except KnownError:
                raise
            except Exception as exc:
                raise DeviceError("self-test-failed", step=name, detail=type(exc).__name__) from exc
            print(f"ok   {name}", file=sys.stdout)
    print("self-test passed", file=sys.stdout)
    return 0
