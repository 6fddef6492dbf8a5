"""The screen registry: how each screen of the main window is built and wired to the window.

Each screen (and its module) is built the first time it is needed, so start-up builds only the
unlock or first-run screen. A screen's builder makes the page on the window's stack and connects
its signals to the window's public handlers; the registry keeps what it built, by name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtWidgets import QStackedWidget, QWidget

    from fieldscreen.ui.access import Provisioner
    from fieldscreen.ui.main_window import MainWindow

__all__ = ["SCREENS", "ScreenRegistry"]


def _first_run(w: MainWindow, provisioner: Provisioner | None) -> QWidget:
    from fieldscreen.ui.access import FirstRunPage

    first = FirstRunPage(w.services, w.stack, provisioner)
    first.did_set_up.connect(lambda _: w.set_up_done())
    first.language_requested.connect(w.language.choose)
    return first


def _unlock_page(w: MainWindow, provisioner: Provisioner | None) -> QWidget:
    from fieldscreen.ui.unlock import UnlockPage

    unlock = UnlockPage(w.services, w.stack)
    unlock.did_unlock.connect(lambda _: w.locking.unlocked())
    unlock.language_requested.connect(w.language.choose)
    return unlock


def _home(w: MainWindow, provisioner: Provisioner | None) -> QWidget:
    from fieldscreen.ui.cases import HomePage

    home = HomePage(w.services, w.stack)
    home.start_requested.connect(w.start_screening)
    home.resume_requested.connect(w.resume)
    home.cases_requested.connect(w.show_cases)
    home.case_requested.connect(w.open_case_card)
    return home


def _wizard(w: MainWindow, provisioner: Provisioner | None) -> QWidget:
    from fieldscreen.ui.wizard import WizardPage

    wizard = WizardPage(w.services, w.stack)
    wizard.did_pause.connect(w.show_home)
    wizard.did_stop.connect(w.show_home)
    wizard.review_requested.connect(w.review)
    return wizard


def _results(w: MainWindow, provisioner: Provisioner | None) -> QWidget:
    from fieldscreen.ui.results import ResultsPage

    results = ResultsPage(w.services, w.stack)
    results.back_requested.connect(lambda: w.stack.setCurrentWidget(w.wizard))
    results.will_finalise.connect(w.will_finalise)
    results.did_finalise.connect(w.finalised)
    results.did_request_override.connect(w.show_home)
    results.set_directory(w.enrolment.directory)
    return results


def _cases(w: MainWindow, provisioner: Provisioner | None) -> QWidget:
    from fieldscreen.ui.cases import CaseListPage

    cases = CaseListPage(w.services, w.stack)
    cases.directory = w.enrolment.directory
    cases.open_requested.connect(w.open_case)
    cases.follow_up_recorded.connect(lambda _: w.follow_up_recorded())
    return cases


def _sync_page(w: MainWindow, provisioner: Provisioner | None) -> QWidget:
    from fieldscreen.ui.sync_page import SyncPage

    sync = SyncPage(w.services, w.stack)
    sync.back_requested.connect(w.show_home)
    sync.did_sync.connect(w.refresh_home)
    sync.did_sync.connect(w.enrolment.load_directory)
    return sync


def _settings_page(w: MainWindow, provisioner: Provisioner | None) -> QWidget:
    from fieldscreen.ui.settings_page import SettingsPage

    settings = SettingsPage(w.services, w.stack)
    settings.did_save.connect(w.apply_settings)
    settings.did_save.connect(w.enrolment.load_form_context)  # the site's country
    settings.language_changed.connect(w.language.switch)
    settings.did_wipe.connect(w.locking.wiped)
    settings.back_requested.connect(w.show_home)
    settings.enrol_requested.connect(w.enrolment.open)
    settings.directory_file_chosen.connect(w.enrolment.import_directory)
    settings.show_directory(w.enrolment.directory)
    return settings


def _queue_page(w: MainWindow, provisioner: Provisioner | None) -> QWidget:
    from fieldscreen.ui.queue_page import QueuePage
    from fieldscreen.ui.supervision import model_for

    queue = QueuePage(w.services, model_for(w.services), w.stack)
    queue.back_requested.connect(w.show_home)
    queue.open_requested.connect(w.open_case)
    return queue


def _batch_page(w: MainWindow, provisioner: Provisioner | None) -> QWidget:
    from fieldscreen.ui.batch_page import BatchPage
    from fieldscreen.ui.batches import BatchModel

    s = w.services
    model = s.batches or BatchModel(s.vault, s.settings, s.server)
    batches = BatchPage(s, model, w.stack)
    batches.back_requested.connect(w.show_home)
    batches.did_change.connect(w.refresh_home)
    return batches


def _report_page(w: MainWindow, provisioner: Provisioner | None) -> QWidget:
    from fieldscreen.ui.report_page import ReportPage

    report = ReportPage(w.services, w.stack)
    report.back_requested.connect(w.show_home)
    return report


def _neutral_page(w: MainWindow, provisioner: Provisioner | None) -> QWidget:
    from fieldscreen.ui.neutral import NeutralPage

    neutral = NeutralPage(w.stack)
    neutral.leave_requested.connect(w.locking.leave_neutral)
    return neutral


#: Every screen of the main window, by the name the window asks for it.
SCREENS: dict[str, Callable[[MainWindow, Provisioner | None], QWidget]] = {
    "first_run": _first_run,
    "unlock_page": _unlock_page,
    "home": _home,
    "wizard": _wizard,
    "results": _results,
    "cases": _cases,
    "sync_page": _sync_page,
    "settings_page": _settings_page,
    "queue_page": _queue_page,
    "batch_page": _batch_page,
    "report_page": _report_page,
    "neutral_page": _neutral_page,
}


class ScreenRegistry:
    """The screens of one window's stack, each built at its first use (rebuilt with the
    stack on a language switch: a new registry)."""

    def __init__(
        self, window: MainWindow, stack: QStackedWidget, provisioner: Provisioner | None
    ) -> None:
        self._window = window
        self._stack = stack
        self._provisioner = provisioner
        self._pages: dict[str, QWidget] = {}

    def page(self, name: str) -> QWidget:
        """The screen ``name``, built and put on the stack if it is not yet."""
        page = self._pages.get(name)
        if page is None:
            page = SCREENS[name](self._window, self._provisioner)
            self._pages[name] = page
            self._stack.addWidget(page)
        return page

    def built(self, name: str) -> QWidget | None:
        """The screen ``name`` if it has been built, else None."""
        return self._pages.get(name)
