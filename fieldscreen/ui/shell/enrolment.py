"""The main window's enrolment controller: the laptop's provisioning as the screens need it.

Enrolment (the "Enrol now" dialog, administrators only), the organisation's locked policies over
the settings file, the site and its jurisdiction in the forms' context, and the site's signed
service directory (read after unlock, imported from a file in Settings). Everything the
provisioning keeps is encrypted in the vault, so each read runs on the writer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from PySide6.QtCore import QObject

from fieldscreen.ui.common import show_error

if TYPE_CHECKING:
    from fieldscreen.errors import KnownError
    from fieldscreen.ui.access import Provisioner
    from fieldscreen.ui.cases import CaseListPage
    from fieldscreen.ui.common import Services
    from fieldscreen.ui.enrol import EnrolDialog
    from fieldscreen.ui.main_window import MainWindow
    from fieldscreen.ui.results import ResultsPage
    from fieldscreen.ui.settings_page import SettingsPage

__all__ = ["Enrolment"]


class Enrolment(QObject):
    """What one window does with the provisioner; ``enrolled`` is called once the laptop has
    enrolled while someone is still signed in (the window then builds its sync model)."""

    def __init__(
        self,
        services: Services,
        window: MainWindow,
        provisioner: Provisioner | None,
        enrolled: Callable[[], None],
    ) -> None:
        super().__init__(window)
        self._services = services
        self._window = window
        self._on_enrolled = enrolled
        self.provisioner = provisioner
        #: The "Enrol now" dialog last opened (tests and screenshots reach it here).
        self.dialog: EnrolDialog | None = None
        #: The site's service directory (read from the vault after unlock; None without one).
        self.directory: Any = None

    def _error(self, error: KnownError) -> None:
        show_error(self._window, error, self._services.lang)

    # ------------------------------------------------------------ enrolment
    def show_status(self) -> None:
        """The enrolment's state on the Settings screen (read on the writer)."""
        if self.provisioner is not None:
            status_of = self.provisioner.enrolment_status
            self._services.ops.write(status_of, self._status_shown, self._error)

    def _status_shown(self, status: Any) -> None:
        page = cast("SettingsPage | None", self._window.screens.built("settings_page"))
        if self._services.user is not None and page is not None:
            page.show_enrolment(status)

    def _enrolled(self, status: Any) -> None:
        if self._services.user is not None:  # not after a lock while the enrolment ran
            self._on_enrolled()
            self._status_shown(status)

    def open(self, first_run: bool = False) -> None:
        """The "Enrol now" dialog (administrators only). At first run it opens only when there
        is a server to enrol with and the laptop is not enrolled yet."""
        provisioner = self.provisioner
        services = self._services
        user = services.user
        if provisioner is None or user is None or user.role != "admin":
            return
        status_of = provisioner.enrolment_status

        def show(status: Any) -> None:
            if services.user is None:
                return
            wanted = status.provisioned or bool(services.settings.get("server_url"))
            if first_run and (status.enrolled or not wanted):
                return
            from fieldscreen.ui.enrol import EnrolDialog

            dialog = EnrolDialog(services, provisioner, status, self._window)
            dialog.enrolled.connect(self._enrolled)
            dialog.provisioned.connect(self.load_form_context)
            dialog.provisioned.connect(self.load_directory)
            self.dialog = dialog
            dialog.open()
            dialog.code.setFocus()

        services.ops.write(status_of, show, self._error)

    # ---------------------------------------------------- service directory
    def load_directory(self) -> None:
        """Read the site's service directory from the vault (on the writer)."""
        if self.provisioner is not None and self._services.user is not None:
            read = self.provisioner.service_directory
            self._services.ops.write(read, self._directory_ready, self._error)

    def _directory_ready(self, directory: Any) -> None:
        if self._services.user is None:
            return
        self.directory = directory
        screens = self._window.screens
        if (results := cast("ResultsPage | None", screens.built("results"))) is not None:
            results.set_directory(directory)
        if (cases := cast("CaseListPage | None", screens.built("cases"))) is not None:
            cases.directory = directory
        if (settings := cast("SettingsPage | None", screens.built("settings_page"))) is not None:
            settings.show_directory(directory)

    def import_directory(self, path: str) -> None:
        """Load a signed service directory file (Settings → Service directory, an admin)."""
        provisioner = self.provisioner
        user = self._services.user
        if provisioner is None or user is None or user.role != "admin":
            return
        load = provisioner.import_directory
        from pathlib import Path

        self._services.ops.write(
            lambda: load(Path(path)), lambda _: self.load_directory(), self._error
        )

    # ------------------------------------------------- policies and context
    def load_policies(self) -> None:
        """The organisation's locked policies from the vault, over whatever the settings file
        says (on the writer); an edited file is reported in words and audited."""
        if self.provisioner is not None:
            enforce = self.provisioner.enforce_policies
            self._services.ops.write(enforce, self._policies_checked, self._error)

    def _policies_checked(self, notices: list[KnownError]) -> None:
        self._window.apply_settings()
        for notice in notices:
            self._error(notice)

    def load_form_context(self) -> None:
        """The site and its jurisdiction from the stored provisioning, into the forms' context
        (read on the writer: the provisioning is kept encrypted in the vault)."""
        provisioner = self.provisioner
        update = self._services.forms.update_context
        read = provisioner.form_context if provisioner is not None else None
        settings = self._services.settings
        typed = {
            "site": str(settings.get("site_id")),
            "jurisdiction": str(settings.get("site_country")),
        }

        def with_typed(context: dict[str, str] | None) -> None:
            """A laptop set up by hand has no provisioning: its country is the one typed."""
            merged = dict(context or {})
            if not merged.get("jurisdiction") and typed["jurisdiction"]:
                merged["jurisdiction"] = typed["jurisdiction"]
                merged["site"] = merged.get("site") or typed["site"]
            update(merged)

        if read is not None:
            self._services.ops.write(read, with_typed, self._error)
        elif typed["jurisdiction"]:
            with_typed({})
