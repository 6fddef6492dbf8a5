"""The main window: a stack of screens and the way between them; a shell over the screen
registry, the navigation bar and the controllers of :mod:`fieldscreen.ui.shell` (lock, unlock
and the panic action; the idle lock and clipboard guard; the sync ticks; enrolment and the
service directory; the resume of a draft; the home screen's refresh; the case list's loading;
the language switch).

Screens are dumb; the registry wires their signals to the window and its controllers, and they
reach the vault through the operations helper. Ctrl+L locks, and Ctrl+Shift+F12 is the panic
action (:mod:`fieldscreen.ui.shell.lock`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from fieldscreen.errors import KnownError
from fieldscreen.ui.common import Services, show_error
from fieldscreen.ui.idle import IdleWarning, IdleWatcher
from fieldscreen.ui.shell.case_list import CaseListLoad
from fieldscreen.ui.shell.enrolment import Enrolment
from fieldscreen.ui.shell.home import HomeRefresh
from fieldscreen.ui.shell.idle_lock import ClipboardGuard, IdleLock
from fieldscreen.ui.shell.language import LanguageSwitch
from fieldscreen.ui.shell.lock import LockController
from fieldscreen.ui.shell.navigation import NavigationBar
from fieldscreen.ui.shell.resume import DraftResume
from fieldscreen.ui.shell.screens import ScreenRegistry
from fieldscreen.ui.shell.sync_ticks import SyncTicks

if TYPE_CHECKING:
    from PySide6.QtGui import QShortcut

    from fieldscreen.sync.engine import SyncSummary
    from fieldscreen.ui.access import FirstRunPage, Provisioner
    from fieldscreen.ui.batch_page import BatchPage
    from fieldscreen.ui.cases import CaseListPage, HomePage
    from fieldscreen.ui.queue_page import QueuePage
    from fieldscreen.ui.report_page import ReportPage
    from fieldscreen.ui.results import ResultsPage
    from fieldscreen.ui.settings_page import SettingsPage
    from fieldscreen.ui.sync_page import SyncPage
    from fieldscreen.ui.unlock import UnlockPage
    from fieldscreen.ui.wizard import WizardPage

__all__ = ["ClipboardGuard", "IdleWatcher", "MainWindow"]

#: Who sees the coordinator report.
REPORT_ROLES = frozenset({"coordinator", "admin"})


class MainWindow(QMainWindow):
    """Top-level window. ``services`` come from the composition root (``app.py``)."""

    def __init__(
        self,
        services: Services,
        provisioner: Provisioner | None = None,
        parent: QWidget | None = None,
        sync_factory: Callable[[], Any] | None = None,
    ) -> None:
        super().__init__(parent)
        self.services = services
        #: Builds the sync view model after unlock (on the writer: it reads the vault);
        #: returns None while the laptop is not enrolled.
        self._sync_factory = sync_factory
        self.setObjectName("mainWindow")
        self.resize(1100, 760)
        #: The idle lock, its grace and the clipboard guard (:mod:`fieldscreen.ui.shell.idle_lock`).
        self.idle_lock = IdleLock(services.settings, self, lambda: self.lock(idle=True))
        self.idle = self.idle_lock.watcher
        self.grace = self.idle_lock.grace
        self.clipboard_guard = self.idle_lock.clipboard
        # Ctrl+L in every window of the app, and the platform's Quit; made after the first paint
        # (:meth:`make_shortcuts`): their key types cost start-up time before the first paint.
        self.lock_shortcut: QShortcut | None = None
        self.quit_shortcut: QShortcut | None = None
        self.panic_shortcut: QShortcut | None = None
        #: Lock, unlock and panic, and where the user was (:mod:`fieldscreen.ui.shell.lock`).
        self.locking = LockController(services, self, rebuilds_sync=sync_factory is not None)
        #: The background sync policy's ticks (:mod:`fieldscreen.ui.shell.sync_ticks`).
        self.sync_ticks = SyncTicks(services, self, self.sync_ticked)
        self.sync_timer = self.sync_ticks.timer
        #: Enrolment, policies, the forms' context and the service directory
        #: (:mod:`fieldscreen.ui.shell.enrolment`).
        self.enrolment = Enrolment(services, self, provisioner, self.load_sync)
        #: A draft resumed, migrated when its form is newer (:mod:`fieldscreen.ui.shell.resume`).
        self.drafts = DraftResume(services, self)
        #: The home screen's lists and counts (:mod:`fieldscreen.ui.shell.home`).
        self.home_refresh = HomeRefresh(services, self)
        #: The case list's rows (:mod:`fieldscreen.ui.shell.case_list`).
        self.case_list = CaseListLoad(services, self)
        #: The language switch (:mod:`fieldscreen.ui.shell.language`).
        self.language = LanguageSwitch(services, self)
        self.build_screens()
        if services.vault.is_set_up():
            self.show_unlock()
        else:
            self.stack.setCurrentWidget(self.first_run)

    # ----------------------------------------------------------------- build
    def build_screens(self) -> None:
        self.setWindowTitle(self.tr("FieldScreen"))
        central = QWidget(self)
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        #: The navigation bar (:mod:`fieldscreen.ui.shell.navigation`).
        self.nav = NavigationBar(self, central)
        column.addWidget(self.nav)
        self.idle_warning = IdleWarning(central)
        column.addWidget(self.idle_warning)
        self.idle_lock.show_warnings_on(self.idle_warning)
        if self.services.preview:
            notice = QLabel(
                self.tr(
                    "Sample form: this build runs a short sample screening instead of the "
                    "built-in forms. Answers are saved encrypted, but do not use it with a child."
                ),
                central,
            )
            notice.setObjectName("previewNotice")
            notice.setWordWrap(True)
            column.addWidget(notice)
        self.stack = QStackedWidget(central)
        column.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.screens = ScreenRegistry(self, self.stack, self.enrolment.provisioner)
        self.stack.currentChanged.connect(lambda _: self.nav_state())
        self.nav_state()

    # ------------------------------------------------------- lazy screens
    # Each screen is built the first time it is needed (:mod:`fieldscreen.ui.shell.screens`).
    def _page(self, name: str) -> Any:
        return self.screens.page(name)

    def _built(self, name: str) -> Any:
        return self.screens.built(name)

    @property
    def first_run(self) -> FirstRunPage:
        return self._page("first_run")

    @property
    def unlock_page(self) -> UnlockPage:
        return self._page("unlock_page")

    @property
    def home(self) -> HomePage:
        return self._page("home")

    @property
    def wizard(self) -> WizardPage:
        return self._page("wizard")

    @property
    def results(self) -> ResultsPage:
        return self._page("results")

    @property
    def cases(self) -> CaseListPage:
        return self._page("cases")

    @property
    def sync_page(self) -> SyncPage:
        return self._page("sync_page")

    @property
    def settings_page(self) -> SettingsPage:
        return self._page("settings_page")

    @property
    def report_page(self) -> ReportPage:
        return self._page("report_page")

    @property
    def queue_page(self) -> QueuePage:
        return self._page("queue_page")

    @property
    def batch_page(self) -> BatchPage:
        return self._page("batch_page")

    def supervises(self) -> bool:
        user = self.services.user
        if user is None:  # not imported before someone signs in: start-up does not need it
            return False
        from fieldscreen.ui.supervision import can_supervise

        return can_supervise(user.role)

    def screening_controller(self) -> Any:
        wizard = self._built("wizard")
        return wizard.controller if wizard is not None else None

    def nav_state(self) -> None:
        unlocked = self.services.user is not None
        current = self.stack.currentWidget()
        in_screening = current is not None and current.objectName() in {
            "wizardPage",
            "resultsPage",
        }
        self.idle_lock.set_interviewing(in_screening)
        user = self.services.user
        self.nav.follow(
            signed_in=unlocked,
            in_screening=in_screening,
            supervises=self.supervises(),
            may_report=user is not None and user.role in REPORT_ROLES,
        )
        if unlocked:
            self.make_shortcuts()
        self.idle_lock.watch_input(unlocked)
        self.sync_ticks.follow(unlocked)
        if unlocked:
            self.idle.start()
        else:
            self.idle.stop()
            self.idle_warning.hide()

    def make_shortcuts(self) -> None:
        """Ctrl+L and Quit: after the first paint (the app calls it) or at the first unlock,
        whichever comes first. Before anyone is signed in, Ctrl+L does nothing."""
        if self.lock_shortcut is not None:
            return
        from PySide6.QtCore import Qt
        from PySide6.QtGui import QKeySequence, QShortcut

        self.lock_shortcut = QShortcut(QKeySequence("Ctrl+L"), self)
        self.lock_shortcut.setContext(Qt.ShortcutContext.ApplicationShortcut)
        self.lock_shortcut.activated.connect(self.lock)
        self.quit_shortcut = QShortcut(QKeySequence(QKeySequence.StandardKey.Quit), self)
        self.quit_shortcut.activated.connect(self.close)
        from fieldscreen.ui.neutral import PANIC_SHORTCUT

        self.panic_shortcut = QShortcut(QKeySequence(PANIC_SHORTCUT), self)
        self.panic_shortcut.setContext(Qt.ShortcutContext.ApplicationShortcut)
        self.panic_shortcut.activated.connect(self.panic)

    # ------------------------------------------------------------- screens
    def show_unlock(self, preferred: str | None = None, idle_minutes: int = 0) -> None:
        """The unlock screen at once, with the logins when the store can list them cheaply (a
        small plain file; the only disk read start-up makes on the GUI thread); otherwise the
        user list follows from a read on the pool. ``idle_minutes``: it locked itself after that
        long without input (it says so, and waits for the user to begin)."""
        self.stack.setCurrentWidget(self.unlock_page)
        self.unlock_page.prepare(idle_minutes)
        logins = self.services.vault.logins()
        if logins is not None:
            self.unlock_page.show_logins(logins, preferred)
            return
        self.services.ops.read(
            lambda: list(self.services.vault.users()),
            lambda users: self.unlock_page.refresh_users(users, preferred),
            self._error,
        )

    def show_home(self) -> None:
        if self.services.user is None:
            return
        if (wizard := self._built("wizard")) is not None:
            wizard.close_session()
        if (results := self._built("results")) is not None:
            results.clear()
        self.home.set_starting(False)
        self.stack.setCurrentWidget(self.home)
        self.refresh_home()
        # Load the forms on a worker before the first screening needs them.
        self.services.ops.read(self.services.forms.warm)
        self.home.start.setFocus()

    def refresh_home(self) -> None:
        """Fill the home screen again (:mod:`fieldscreen.ui.shell.home`)."""
        self.home_refresh.refresh()

    def show_cases(self) -> None:
        """The case list, loaded on the read pool (:mod:`fieldscreen.ui.shell.case_list`)."""
        if self.services.user is None:
            return
        self.stack.setCurrentWidget(self.cases)
        self.cases.search.setFocus()
        self.case_list.load()

    def show_sync(self) -> None:
        if self.services.user is None:
            return
        self.stack.setCurrentWidget(self.sync_page)
        self.sync_page.refresh()

    def show_queue(self) -> None:
        if not self.supervises():
            return
        self.stack.setCurrentWidget(self.queue_page)
        self.queue_page.refresh()

    def show_batches(self) -> None:
        if not self.supervises():
            return
        self.stack.setCurrentWidget(self.batch_page)
        self.batch_page.refresh()

    def sync_ticked(self, summary: SyncSummary) -> None:
        """A background sync ran: what it brought shows on home and the Sync screen."""
        if summary.updates_applied:
            self.enrolment.load_directory()
        self.refresh_home()
        if (page := self._built("sync_page")) is not None and page.isVisible():
            page.refresh()

    def show_report(self) -> None:
        """The coordinator report (coordinators and administrators only)."""
        user = self.services.user
        if user is None or user.role not in REPORT_ROLES:
            return
        self.stack.setCurrentWidget(self.report_page)
        self.report_page.refresh()

    def show_settings(self) -> None:
        if self.services.user is None:
            return
        self.settings_page.refresh()
        self.stack.setCurrentWidget(self.settings_page)
        self.enrolment.show_status()

    def start_screening(self) -> None:
        """Open a new screening. The busy state shows before the forms load (seconds, the
        first time, on this thread); the button stays disabled until Home shows again, so a
        second press cannot start a second draft."""
        home = self._built("home")
        if home is not None:
            if not home.start.isEnabled():
                return
            home.set_starting(True)
            home.start.repaint()  # painted now: the work below holds the GUI thread
        try:
            session = self.services.forms.start(self.services.lang)
            controller = self.wizard.open(session)
        except BaseException:
            if home is not None:
                home.set_starting(False)
            raise
        controller.autosave()  # the draft exists from the first moment
        self.stack.setCurrentWidget(self.wizard)

    def resume(self, record_id: str, page: str | None = None) -> None:
        """Reopen a draft where it was left (:mod:`fieldscreen.ui.shell.resume`)."""
        self.drafts.resume(record_id, page)

    def review(self) -> None:
        if self.wizard.controller is None:
            return
        self.results.show_session(self.wizard.controller)
        self.stack.setCurrentWidget(self.results)
        self.results.focus_next_step()

    def apply_settings(self) -> None:
        """Settings that act at once: the idle lock and the clipboard clearing."""
        self.idle_lock.apply_settings(self.services.user is not None)

    def will_finalise(self) -> None:
        if (controller := self.screening_controller()) is not None:
            controller.close()

    def finalised(self) -> None:
        self.show_home()

    def open_case_card(self, screening_id: str, code: str) -> None:
        """A follow-up due on home, opened: the case card, with "Record a follow-up done"."""
        if self.services.user is not None:
            self.cases.open_card(screening_id, code)

    def follow_up_recorded(self) -> None:
        self.refresh_home()
        if (page := self._built("cases")) is not None and page.isVisible():
            self.show_cases()

    def open_case(self, screening_id: str, status: str) -> None:
        if status == "draft":
            self.resume(screening_id)
        elif status == "finalised" and self.stack.currentWidget() is self._built("queue_page"):
            self._show_card(screening_id)

    def _show_card(self, screening_id: str) -> None:
        """The case card of a finalised screening, read on the pool (from the queue)."""
        from fieldscreen.ui.cases import CaseCardDialog
        from fieldscreen.ui.ports import record_code

        def shown(card: Any) -> None:
            if self.services.user is not None:
                CaseCardDialog(record_code(screening_id), card, self).open()

        vault = self.services.vault
        self.services.ops.read(lambda: vault.case_card(screening_id), shown, self._error)

    def _error(self, error: KnownError) -> None:
        show_error(self, error, self.services.lang)

    # --------------------------------------------------------------- locking
    def lock(self, *, seal: bool = False, idle: bool = False) -> None:
        """Lock now (``seal``: the panic action; ``idle``: the idle lock); see
        :meth:`LockController.lock`."""
        self.locking.lock(seal=seal, idle=idle)

    def panic(self) -> None:
        """One chord, no passphrase: lock, seal as travel mode does, show a neutral screen."""
        self.locking.panic()

    def load_sync(self) -> None:
        if self._sync_factory is not None:
            self.services.ops.write(self._sync_factory, self._sync_ready, self._error)

    def _sync_ready(self, model: Any) -> None:
        if self.services.user is None:
            return
        self.services.sync = model
        self.nav_state()
        if model is not None and self.stack.currentWidget() is self._built("home"):
            self.refresh_home()

    def set_up_done(self) -> None:
        self.load_sync()
        self.enrolment.load_form_context()
        self.enrolment.load_directory()
        self.show_home()
        self.enrolment.open(first_run=True)

    # ---------------------------------------------------------------- closing
    def closeEvent(self, event: Any) -> None:
        if (controller := self.screening_controller()) is not None:
            controller.save_now()
        self.clipboard_guard.clear_now()
        self.services.ops.wait_idle(10_000)
        self.idle_lock.close()
        super().closeEvent(event)
