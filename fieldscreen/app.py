"""Composition root of the desktop app: builds the collaborators and hands each screen its own.

Nothing else creates long-lived objects; screens receive what they need as arguments (no global
registry). Qt is allowed here and in :mod:`fieldscreen.ui` only.

The screens reach the store and the form engine through :mod:`fieldscreen.ui.ports`: the store
is the encrypted vault (:class:`fieldscreen.ui.backends.VaultBackend`); screenings run the
built-in forms through the engine (:class:`fieldscreen.ui.engine.EngineForms`). A build without
built-in forms runs the short sample form of :mod:`fieldscreen.ui.preview`, and says so.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from fieldscreen.errors import KnownError
from fieldscreen.paths import Paths, resource_path
from fieldscreen.settings import Settings
from fieldscreen.ui.common import Services
from fieldscreen.ui.i18n import install_translator
from fieldscreen.ui.main_window import MainWindow
from fieldscreen.ui.operations import Operations

if TYPE_CHECKING:
    from fieldscreen.ui.access import Provisioner
    from fieldscreen.ui.ports import FormsPort

__all__ = [
    "AppContext",
    "apply_style",
    "build_context",
    "build_services",
    "builtin_forms",
    "create_application",
    "open_window",
    "provisioner_for",
    "run_gui",
    "sync_factory_for",
    "warm_after_paint",
]

log = logging.getLogger("fieldscreen.app")

#: When set, the app quits as soon as the event loop is idle after the first window is shown.
#: Used by the start-up benchmark (P4) and the frozen smoke test; never by users.
QUIT_WHEN_IDLE_ENV = "FIELDSCREEN_QUIT_WHEN_IDLE"

#: How long after the window is shown the vault is loaded on a worker: long enough for the
#: first paint to reach the screen, far shorter than typing a passphrase.
WARM_DELAY_MS = 250


@dataclass
class AppContext:
    """The long-lived collaborators of one running app."""

    paths: Paths
    settings: Settings
    lang: str


def build_context(profile: str | None = None, lang: str | None = None) -> AppContext:
    paths = Paths.resolve(profile).ensure()
    settings = Settings.load(paths.settings_file)
    return AppContext(paths=paths, settings=settings, lang=lang or settings.get("language"))


#: The widget style: the same, legible controls on Windows, macOS and Linux.
STYLE = "Fusion"


def create_application(argv: list[str] | None = None) -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    args = list(argv if argv is not None else sys.argv[:1])
    # Chosen at construction, so that no Python wrapper of the style (and its dozen enum types)
    # is created on the start-up path, as ``setStyle`` would.
    app = QApplication([*args, "-style", STYLE])
    app.setApplicationName("FieldScreen")
    app.setOrganizationName("FieldScreen")
    app.setProperty(_STYLED, True)
    return app


_STYLED = "fieldscreenStyled"


def apply_style(app: QApplication) -> None:
    """The app's stylesheet (calm, high contrast, large targets); absent means Qt's default."""
    if not app.property(_STYLED):  # an application made elsewhere (tests, tools)
        app.setStyle(STYLE)
    try:
        app.setStyleSheet(resource_path("styles", "fieldscreen.qss").read_text(encoding="utf-8"))
    except KnownError:
        log.warning("stylesheet missing; using the platform style")


def _report_bug(error: BaseException, text: str) -> None:
    from PySide6.QtWidgets import QMessageBox

    log.error("unexpected error in a background operation: %s", type(error).__name__)
    box = QMessageBox(QMessageBox.Icon.Critical, "FieldScreen", str(type(error).__name__))
    box.open()


#: Where the built-in forms ship (``fieldscreen.forms.library.BUILTIN_DIR``; a test keeps
#: them equal).
BUILTIN_FORMS_DIR = Path(__file__).resolve().parent / "forms" / "builtin"

#: The forms every screening starts with; the others open when a gateway rule says so.
FIRST_FORMS = ("fs_consent", "fs_intake")


def builtin_forms(context: AppContext) -> FormsPort | None:
    """The built-in forms through the engine, or None when this build ships none.

    Only the file names are checked here; the forms themselves load on first use (or on a
    worker after unlock, see :meth:`EngineForms.warm`), so start-up does not wait for them.
    """
    folder = BUILTIN_FORMS_DIR  # not imported from the engine: that would load pyxform now
    names = {p.stem for p in folder.glob("*.md")} if folder.is_dir() else set()
    if not all(f in names for f in FIRST_FORMS):
        return None
    site = {"site": context.settings.get("site_id"), "role": "specialist"}
    return _LazyEngine(site)


class _LazyEngine:
    """The engine over the built-in forms, imported and built on first use: importing the form
    engine (pyxform) and loading six forms takes about a second, which start-up must not wait
    for. :meth:`warm` does it on a worker after unlock."""

    def __init__(self, context: dict[str, Any]) -> None:
        self._context = context
        self._engine: Any = None
        # The warm-up on a worker and a screening started at once on the GUI thread must not
        # both import the form engine: two threads importing pyxform's circular modules at the
        # same moment see them half-initialised (ImportError), so one loads, the other waits.
        self._loading = threading.Lock()

    def _get(self) -> Any:
        if self._engine is not None:
            return self._engine
        with self._loading:
            return self._load()

    def _load(self) -> Any:
        if self._engine is None:
            from fieldscreen.forms.library import builtin_forms as load_all
            from fieldscreen.forms.library import builtin_list
            from fieldscreen.ui.engine import Catalogue, EngineForms

            def catalogue() -> Catalogue:
                return Catalogue.from_lists(
                    builtin_list("protection_concerns"), builtin_list("service_types")
                )

            engine = EngineForms(load_all, FIRST_FORMS, self._context, catalogue)
            engine.warm()
            self._engine = engine
        return self._engine

    def warm(self) -> None:
        self._get()

    def update_context(self, values: Mapping[str, Any]) -> None:
        """Set the site's context (``site``, ``jurisdiction``) for the screenings started next."""
        self._context.update(values)
        if self._engine is not None:
            self._engine.context.update(values)

    @property
    def forms(self) -> Any:
        return self._get().forms

    @property
    def context(self) -> dict[str, Any]:
        return self._context

    def stop_reasons(self, lang: str) -> list[tuple[str, str]]:
        from fieldscreen.forms.library import builtin_list

        return [(c.name, c.label.get(lang)) for c in builtin_list("stop_reasons")]

    def start(self, lang: str) -> Any:
        return self._get().start(lang)

    def restore(self, state: Any) -> Any:
        return self._get().restore(state)

    def migration(self, state: Any, lang: str) -> Any:
        return self._get().migration(state, lang)


def build_services(context: AppContext) -> Services:
    from fieldscreen.ui.backends import EnrolledServer, VaultBackend

    vault = VaultBackend(
        context.paths.vault_dir,
        follow_up_days=int(context.settings.get("follow_up_window_days")),
    )
    forms = builtin_forms(context)
    preview = forms is None
    if forms is None:
        from fieldscreen.ui.preview import SampleForms

        forms = SampleForms()
    return Services(
        vault=vault,
        forms=forms,
        settings=context.settings,
        ops=Operations(on_bug=_report_bug),
        lang=context.lang,
        preview=preview,
        server=EnrolledServer(vault),
    )


def open_window(profile: str | None = None, lang: str | None = None) -> MainWindow:
    """Build the app over the profile's real vault and show its window (the real-display
    journey test drives the app from here, as a user would after ``fieldscreen``)."""
    app = create_application()
    context = build_context(profile, lang)
    install_translator(app, context.lang)
    apply_style(app)
    services = build_services(context)
    window = MainWindow(
        services, provisioner=provisioner_for(services), sync_factory=sync_factory_for(services)
    )
    window.show()
    # After the first paint: import and open the vault on a worker while the user types.
    QTimer.singleShot(WARM_DELAY_MS, lambda: warm_after_paint(services))
    QTimer.singleShot(WARM_DELAY_MS, window.make_shortcuts)  # Quit works before unlocking too
    return window


def run_gui(profile: str | None = None, lang: str | None = None) -> int:
    """Start the desktop app; returns the process exit status."""
    open_window(profile, lang)
    app = create_application()
    if os.environ.get(QUIT_WHEN_IDLE_ENV):
        QTimer.singleShot(0, app.quit)
    return app.exec()


def provisioner_for(services: Services) -> Provisioner | None:
    """First run's provisioner over the real vault; None for the in-memory sample store."""
    from fieldscreen.ui.backends import VaultBackend

    if not isinstance(services.vault, VaultBackend):
        return None
    return _LazyProvisioner(services.vault, services.settings)


class _LazyProvisioner:
    """:class:`fieldscreen.ui.provisioning.DeviceProvisioner`, imported and built when first
    run or an unlock first asks for it (not on the way to the unlock window)."""

    def __init__(self, vault: Any, settings: Settings) -> None:
        self._args = (vault, settings)
        self._real: Any = None

    def _get(self) -> Any:
        if self._real is None:
            from fieldscreen.ui.provisioning import DeviceProvisioner

            self._real = DeviceProvisioner(*self._args)
        return self._real

    def find(self) -> Path | None:
        return self._get().find()

    def read(self, path: Path) -> Any:
        return self._get().read(path)

    def form_context(self) -> dict[str, str]:
        return self._get().form_context()

    def apply(self, data: bytes) -> None:
        self._get().apply(data)

    def enforce_policies(self) -> list[KnownError]:
        return self._get().enforce_policies()

    def service_directory(self) -> Any:
        return self._get().service_directory()

    def import_directory(self, path: Path) -> Any:
        return self._get().import_directory(path)

    def enrolment_status(self) -> Any:
        return self._get().enrolment_status()

    def enrol(self, code: str, label: str = "", progress: Any = None) -> Any:
        return self._get().enrol(code, label, progress)


def sync_factory_for(services: Services) -> Any:
    """Builds the Sync screen's view model over the real vault after unlock; None otherwise."""
    from fieldscreen.ui.backends import VaultBackend

    store = services.vault
    if not isinstance(store, VaultBackend):
        return None

    def build() -> Any:
        from fieldscreen.ui.sync_wiring import build_sync

        return build_sync(store, services.settings)

    return build


def warm_after_paint(services: Services) -> None:
    """Load what unlock needs (the vault's storage and cryptography stack) on a worker.

    Nothing of it is imported on the GUI path before the unlock window is shown: the window
    lists the logins from the key file's plain JSON (:func:`fieldscreen.ui.backends.read_roster`).
    """
    services.ops.read(
        services.vault.warm, None, lambda error: log.warning("vault warm-up: %s", error.code)
    )
