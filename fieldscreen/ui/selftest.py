"""The GUI part of ``--self-test``: build the main screens offscreen and render them.

In each language it renders the unlock screen, and the first page of every built-in form in the
screening wizard (the sample form when the build ships none). An image that is empty or too
small fails the step. The store is the real vault, created at the Argon2id floor in the
self-test's temporary profile (removed with it), behind the same backend the app wires.
"""

from __future__ import annotations

import sys
from typing import Any

from fieldscreen.paths import Paths

__all__ = ["render_main_screens"]


def _check(widget: Any, what: str) -> None:
    image = widget.grab()
    if image.isNull() or image.width() < 100 or image.height() < 100:
        raise RuntimeError(f"{what} did not render")


def render_main_screens(paths: Paths) -> int:
    """Render the screens; returns how many form first pages were rendered."""
    from PySide6.QtCore import qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    from fieldscreen import crypto
    from fieldscreen.app import apply_style, build_context, builtin_forms, create_application
    from fieldscreen.ui.backends import VaultBackend
    from fieldscreen.ui.common import Services
    from fieldscreen.ui.engine import EngineForms
    from fieldscreen.ui.i18n import install_translator
    from fieldscreen.ui.main_window import MainWindow
    from fieldscreen.ui.operations import Operations
    from fieldscreen.ui.ports import ScreeningSession
    from fieldscreen.ui.preview import SampleForms
    from fieldscreen.ui.wizard import WizardPage

    def quiet(kind: Any, where: Any, text: str) -> None:
        # The offscreen platform reports on every window; anything else still shows.
        if "propagateSizeHints" not in text:
            print(text, file=sys.stderr)

    previous = qInstallMessageHandler(quiet)
    app = create_application()
    apply_style(app)
    context = build_context(str(paths.data.parent))
    engine: Any = builtin_forms(context)
    floor = crypto.KdfParams(
        crypto.FLOOR_MEMORY_KIB, crypto.FLOOR_ITERATIONS, 1, crypto.random_bytes(16)
    )
    vault = VaultBackend(paths.vault_dir, kdf=floor)
    passphrase = crypto.random_bytes(16).hex()
    vault.create_user("selftest", "admin", passphrase)
    rendered = 0
    try:
        for lang in ("en", "es"):
            install_translator(app, lang)
            services = Services(vault, SampleForms(), context.settings, Operations())
            services.lang = lang
            window = MainWindow(services)
            window.resize(1100, 760)
            window.show()
            QApplication.processEvents()
            _check(window, "the unlock screen")
            if not services.ops.wait_idle(10_000):
                raise RuntimeError("background work did not finish")
            window.close()
            window.deleteLater()
            services = Services(vault, SampleForms(), context.settings, Operations())
            services.lang = lang
            services.user = vault.unlock("selftest", passphrase)
            sessions: list[ScreeningSession]
            if engine is not None and hasattr(engine, "forms"):
                sessions = [
                    EngineForms(engine.forms, [form_id], engine.context).start(lang)
                    for form_id in engine.forms
                ]
            else:
                sessions = [SampleForms().start(lang)]
            for session in sessions:
                page = WizardPage(services)
                page.resize(1100, 760)
                page.open(session)
                page.show()
                QApplication.processEvents()
                _check(page, f"the first page of {session.form_version}")
                page.close_session()
                page.close()
                page.deleteLater()
                rendered += 1
            if not services.ops.wait_idle(10_000):
                raise RuntimeError("background work did not finish")
            QApplication.processEvents()
            vault.lock()
    finally:
        vault.lock()
        install_translator(app, "en")
        qInstallMessageHandler(previous)
    return rendered
