"""The main window's lock, unlock and panic: what locking hides and remembers, and where
unlocking returns.

Locking (Ctrl+L, the navigation bar's Lock, or the idle lock) saves the screening in progress on
the serial writer, closes every dialog, drops the screening and every decrypted row from the
screens, locks the vault and shows the unlock screen; unlocking as the same user reloads the
draft and returns to the same page, or to the screen they were on.

The panic action (Ctrl+Shift+F12, no passphrase) locks the same way, seals every draft and
purges every readable copy as travel mode does (when the organisation allows travel mode), and
leaves a neutral screen (:mod:`fieldscreen.ui.neutral`) instead of the unlock screen; why it
could not seal is said after the next unlock, never on the neutral screen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from PySide6.QtCore import QCoreApplication, QObject
from PySide6.QtWidgets import QApplication

from fieldscreen.ui.common import show_error

if TYPE_CHECKING:
    from fieldscreen.errors import KnownError
    from fieldscreen.ui.common import Services
    from fieldscreen.ui.main_window import MainWindow
    from fieldscreen.ui.neutral import NeutralPage

__all__ = ["LockController"]

#: The screens a lock clears (the wizard closes its session instead).
_CLEARED = (
    "results",
    "cases",
    "home",
    "sync_page",
    "queue_page",
    "batch_page",
    "report_page",
)


@dataclass
class _Where:
    """Where the user was when the app locked."""

    user: str
    screen: str
    page: str = ""
    #: The screening's id holder: filled by the writer thread if the first save is in flight.
    holder: Mapping[str, str] | None = None


class LockController(QObject):
    """Locks and unlocks one window; remembers where the user was in between.

    ``rebuilds_sync``: the window builds the sync view model after each unlock, so a lock drops
    it."""

    def __init__(self, services: Services, window: MainWindow, *, rebuilds_sync: bool) -> None:
        super().__init__(window)
        self._services = services
        self._window = window
        self._rebuilds_sync = rebuilds_sync
        self._where: _Where | None = None
        #: Why the last panic action could not seal (shown after the next unlock).
        self._panic_error: KnownError | None = None

    def _error(self, error: KnownError) -> None:
        show_error(self._window, error, self._services.lang)

    def lock(self, *, seal: bool = False, idle: bool = False) -> None:
        """Hide every case detail at once; remember where the user was.

        ``seal`` (the panic action): after the screening in progress is saved, seal every draft
        and purge every readable copy (travel mode) before the vault locks, and show the
        neutral screen; nothing is remembered to come back to.

        ``idle`` (the idle lock): keys and shortcuts are swallowed for a moment, and the unlock
        screen says why it locked and waits for the user to begin (see :mod:`.idle`)."""
        w, services = self._window, self._services
        user = services.user
        if idle and user is not None:
            w.idle_lock.begin_grace(w.panic_shortcut)
        if user is None:
            if seal:
                self.show_neutral()
            return
        current = w.stack.currentWidget()
        where = _Where(user.name, current.objectName() if current is not None else "")
        controller = w.screening_controller()
        on_screening = current is not None and current.objectName() in {
            "wizardPage",
            "resultsPage",
        }
        if on_screening and controller is not None:
            controller.page = w.wizard.current_page_name()
            where.page = controller.page
            where.screen = w.wizard.objectName()
            controller.save_now()  # queued before the lock on the same serial writer
            where.holder = controller.id_holder
        self._where = where
        w.clipboard_guard.clear_now()
        for widget in QApplication.topLevelWidgets():
            if widget is not w and widget.isVisible() and widget.isModal():
                widget.close()
        from PySide6.QtWidgets import QMessageBox

        for child in w.findChildren(QMessageBox):
            child.close()
        if (wizard := w.screens.built("wizard")) is not None:
            cast(Any, wizard).close_session()
        for name in _CLEARED:
            if (page := w.screens.built(name)) is not None:
                cast(Any, page).clear()
        services.user = None
        w.enrolment.directory = None
        if self._rebuilds_sync:
            services.sync = None  # rebuilt at the next unlock
        if seal:
            self._where = None
            if services.settings.get("travel_mode_allowed"):
                services.ops.write(services.vault.travel_mode, None, self._panic_not_sealed)
        services.ops.write(services.vault.lock)
        if seal:
            self.show_neutral()
        else:
            minutes = w.idle_lock.minutes() if idle else 0
            w.show_unlock(where.user, minutes)
        w.nav_state()

    def panic(self) -> None:
        """One chord, no passphrase: lock, seal as travel mode does, show a neutral screen."""
        self.lock(seal=True)

    def _panic_not_sealed(self, error: KnownError) -> None:
        self._panic_error = error  # the neutral screen says nothing; the next unlock does

    def show_neutral(self) -> None:
        w = self._window
        page = cast("NeutralPage", w.screens.page("neutral_page"))
        w.stack.setCurrentWidget(page)
        w.setWindowTitle(page.title())
        page.go_on.setFocus()
        w.nav_state()

    def leave_neutral(self) -> None:
        w = self._window
        w.setWindowTitle(QCoreApplication.translate("MainWindow", "FieldScreen"))
        if self._services.vault.is_set_up():
            w.show_unlock()
        else:
            w.stack.setCurrentWidget(w.first_run)

    def unlocked(self) -> None:
        """Someone signed in: the notices first, then back where they were (the same user)."""
        w, services = self._window, self._services
        if self._panic_error is not None:
            error, self._panic_error = self._panic_error, None
            self._error(error)
        w.enrolment.load_policies()
        alert = services.vault.integrity_alert()
        if alert is not None:  # the vault file was changed outside FieldScreen: say so first
            self._error(alert)
        w.load_sync()
        w.enrolment.load_form_context()
        w.enrolment.load_directory()
        where, self._where = self._where, None
        user = services.user
        if where is None or user is None or where.user != user.name:
            w.show_home()
            return
        if where.holder and where.holder.get("id"):
            w.resume(where.holder["id"], where.page)
        elif where.screen == "casesPage":
            w.show_cases()
        elif where.screen == "settingsPage":
            w.show_settings()
        elif where.screen == "queuePage" and w.supervises():
            w.show_queue()
        elif where.screen == "batchPage" and w.supervises():
            w.show_batches()
        else:
            w.show_home()
        w.nav_state()

    def wiped(self) -> None:
        """The vault was wiped from Settings: nobody to come back to; the first-run screen."""
        w = self._window
        self._services.user = None
        self._where = None
        w.stack.setCurrentWidget(w.first_run)
        w.nav_state()
