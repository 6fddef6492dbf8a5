"""First run (settings, the admin account, enrolment now or later); the unlock screen is in
:mod:`fieldscreen.ui.unlock` (re-exported here), kept apart because start-up shows it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from fieldscreen.errors import KnownError
from fieldscreen.ui.common import Services, heading, primary_button
from fieldscreen.ui.countries import country_box
from fieldscreen.ui.ports import login_problem, suggest_login
from fieldscreen.ui.unlock import LanguagePicker, UnlockPage, at_right, centred, wait_seconds

if TYPE_CHECKING:
    from fieldscreen.ui.ports import UserInfo
    from fieldscreen.ui.provisioning import EnrolmentStatus, ProvisioningPreview

__all__ = ["MIN_PASSPHRASE", "FirstRunPage", "LanguagePicker", "UnlockPage", "wait_seconds"]

MIN_PASSPHRASE = 10


class Provisioner(Protocol):
    """Finds, reads (verifies) and applies a provisioning file, and what the main window asks
    of the organisation's provisioning after unlock: the forms' context, the locked policies,
    the service directory and the enrolment
    (:class:`fieldscreen.ui.provisioning.DeviceProvisioner`; the app hands in a lazy one that
    imports it on first use)."""

    def find(self) -> Path | None: ...

    def read(self, path: Path) -> ProvisioningPreview: ...

    def apply(self, data: bytes) -> None: ...

    def form_context(self) -> dict[str, str]: ...

    def enforce_policies(self) -> list[KnownError]: ...

    def service_directory(self) -> Any: ...

    def import_directory(self, path: Path) -> Any: ...

    def enrolment_status(self) -> EnrolmentStatus: ...

    def enrol(self, code: str, label: str = "", progress: Any = None) -> EnrolmentStatus: ...


class FirstRunPage(QWidget):
    """Creates the first (admin) account; settings come from a provisioning file or by hand."""

    did_set_up = Signal(str)  # the admin's name
    language_requested = Signal(str)

    def __init__(
        self,
        services: Services,
        parent: QWidget | None = None,
        provisioner: Provisioner | None = None,
        provisioning_file: Path | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("firstRunPage")
        self.services = services
        self._provisioner = provisioner
        # In a scroll area: a provisioning file's summary and an error make the card taller
        # than a small laptop's screen, and Qt would squeeze the passphrase boxes instead.
        inner = QWidget()
        inner.setObjectName("firstRunBody")
        card, self.language = centred(inner, services.lang)
        self._scroll = scroll = QScrollArea(self)
        scroll.setObjectName("firstRunScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(inner)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self.language.currentIndexChanged.connect(
            lambda _: self.language_requested.emit(str(self.language.currentData()))
        )
        card.column.addWidget(heading(self.tr("Set up this laptop"), card))
        intro = QLabel(
            self.tr(
                "This is done once, by the person responsible for this laptop. Everything "
                "works without a server; you can connect to one later."
            ),
            card,
        )
        intro.setWordWrap(True)
        card.column.addWidget(intro)

        self.provision_button = QPushButton(self.tr("Read a &provisioning file…"), card)
        self.provision_button.setObjectName("secondary")
        self.provision_button.clicked.connect(self._choose_provisioning)
        self.provision_button.setVisible(provisioner is not None)
        card.column.addWidget(self.provision_button)
        self.provision_status = QLabel("", card)
        self.provision_status.setWordWrap(True)
        self.provision_status.hide()
        card.column.addWidget(self.provision_status)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.server = QLineEdit(services.settings.get("server_url"), card)
        self.server.setPlaceholderText("https://")
        self.server.setAccessibleName(self.tr("Server address (optional)"))
        self.site = QLineEdit(services.settings.get("site_id"), card)
        self.site.setAccessibleName(self.tr("Site"))
        # Typed set-up asks for the site's country (a provisioning file's sites carry it): the
        # statutory deadlines of a screening depend on it.
        self.country = country_box(card, services.lang, services.settings.get("site_country"))
        self.country.setAccessibleName(self.tr("Country of the site"))
        self.site_choice = QComboBox(card)
        self.site_choice.setAccessibleName(self.tr("Site"))
        self.site_choice.hide()
        self.provisioning: ProvisioningPreview | None = None
        # A login, not a person's name: "Ana Lopez" is refused, so the rule shows before
        # anything is typed and the box says what is wrong while it is typed.
        self.name = QLineEdit()
        self.name.setObjectName("loginBox")
        self.name.setAccessibleName(self.tr("Administrator login"))
        self.name.setPlaceholderText(self.tr("for example ana.lopez"))
        self.login_rule = QLabel(self._login_rule())
        self.login_rule.setObjectName("fieldHint")
        self.login_rule.setWordWrap(True)
        self.name.setAccessibleDescription(self.login_rule.text())
        self.login_error = QLabel("")
        self.login_error.setObjectName("fieldMessage")
        self.login_error.setWordWrap(True)
        self.login_error.hide()
        self.name.textEdited.connect(lambda _: self._check_login(final=False))
        self.passphrase = QLineEdit(card)
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase.setAccessibleName(self.tr("Passphrase"))
        self.repeat = QLineEdit(card)
        self.repeat.setEchoMode(QLineEdit.EchoMode.Password)
        self.repeat.setAccessibleName(self.tr("Passphrase again"))
        form.addRow(self.tr("Server address (optional)"), self.server)
        form.addRow(self.tr("Site"), self.site)
        form.addRow(self.tr("Site of this laptop"), self.site_choice)
        form.addRow(self.tr("C&ountry of the site"), self.country)
        self._form = form
        self._site_row_label = form.labelForField(self.site_choice)
        if self._site_row_label is not None:
            self._site_row_label.hide()
        login = QWidget(card)
        login.setObjectName("loginColumn")
        column = QVBoxLayout(login)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(self.name)
        column.addWidget(self.login_rule)
        column.addWidget(self.login_error)
        form.addRow(self.tr("Administrator &login"), login)
        if (login_label := form.labelForField(login)) is not None and isinstance(
            login_label, QLabel
        ):
            login_label.setBuddy(self.name)
        form.addRow(self.tr("Pass&phrase"), self.passphrase)
        form.addRow(self.tr("Passphrase &again"), self.repeat)
        card.column.addLayout(form)
        advice = QLabel(
            self.tr(
                "Use at least %d characters: a few unrelated words are easy to remember and "
                "hard to guess. If the passphrase is lost, the data cannot be recovered."
            )
            % MIN_PASSPHRASE,
            card,
        )
        advice.setObjectName("fieldHint")
        advice.setWordWrap(True)
        card.column.addWidget(advice)
        self.enrol_note = QLabel(
            self.tr(
                "Enrolment with the server uses a one-time code from your IT contact: the app "
                "asks for it once the account exists, and it can also be done later in "
                "Settings → Server."
            ),
            card,
        )
        self.enrol_note.setObjectName("fieldHint")
        self.enrol_note.setWordWrap(True)
        card.column.addWidget(self.enrol_note)
        self.error = QLabel("", card)
        self.error.setObjectName("fieldMessage")
        self.error.setWordWrap(True)
        self.error.hide()
        card.column.addWidget(self.error)
        self.create_button = primary_button(self.tr("&Create account and start"), card)
        self.create_button.clicked.connect(self._create)
        card.column.addLayout(at_right(self.create_button))
        self.repeat.returnPressed.connect(self._create)
        if provisioner is not None:
            found = provisioning_file or provisioner.find()
            if found is not None:
                self._apply_provisioning(found)

    def _choose_provisioning(self) -> None:
        name, _ = QFileDialog.getOpenFileName(
            self, self.tr("Provisioning file"), "", self.tr("Provisioning files (*.json *.fsp)")
        )
        if name:
            self._apply_provisioning(Path(name))

    def _apply_provisioning(self, path: Path) -> None:
        """Show what a verified file sets; it is applied when the account is created."""
        assert self._provisioner is not None
        try:
            preview = self._provisioner.read(path)
        except KnownError as error:
            self._fail(error.message(self.services.lang))
            return
        self.error.hide()
        self.provisioning = preview
        self.server.setText(preview.server_url)
        self.server.setReadOnly(True)
        self.site_choice.clear()
        for site in preview.sites:
            label = f"{site.name} ({site.jurisdiction})" if site.jurisdiction else site.name
            self.site_choice.addItem(label, site.id)
        current = self.site_choice.findData(self.site.text().strip())
        self.site_choice.setCurrentIndex(max(current, 0))
        has_sites = bool(preview.sites)
        self.site_choice.setVisible(has_sites)
        if self._site_row_label is not None:
            self._site_row_label.setVisible(has_sites)
        self.site.setVisible(not has_sites)
        if (site_label := self._form.labelForField(self.site)) is not None:
            site_label.setVisible(not has_sites)
        self.country.setVisible(not has_sites)  # the file's sites say their country
        if (country_label := self._form.labelForField(self.country)) is not None:
            country_label.setVisible(not has_sites)
        lines = [
            self.tr("Provisioning file %1, signed by %2.")
            .replace("%1", path.name)
            .replace("%2", preview.organisation),
            self.tr("Server: %1").replace("%1", preview.server_url or "-"),
        ]
        if preview.locked:
            from fieldscreen.ui.settings_page import setting_labels

            names = setting_labels()
            lines.append(
                self.tr("Set by the organisation and locked: %1").replace(
                    "%1", "; ".join(names.get(n, n) for n in preview.locked)
                )
            )
        self.provision_status.setText("\n".join(lines))
        self.provision_status.show()

    def _login_rule(self) -> str:
        return self.tr(
            "The name you will type to sign in: letters, digits and . _ @ - only, no spaces, "
            "at most 64."
        )

    def _check_login(self, *, final: bool) -> bool:
        """Say under the login box what is wrong with it (while typing, or at submit when
        ``final``); True when the vault will accept it."""
        text = self.name.text().strip()
        problem = login_problem(text)
        message = ""
        if problem == "empty":
            message = self.tr("Enter a login for the administrator account.") if final else ""
        elif problem is not None:
            reason = {
                "space": self.tr("A login cannot have spaces."),
                "long": self.tr("A login has at most 64 characters."),
            }.get(problem, self.tr("A login may have letters, digits and . _ @ - only."))
            suggestion = suggest_login(text)
            if suggestion and login_problem(suggestion) is None:
                message = reason + " " + self.tr("For example: %1").replace("%1", suggestion)
            else:
                message = reason
        self.login_error.setText(message)
        self.login_error.setVisible(bool(message))
        invalid = problem is not None and (final or problem != "empty")
        if self.name.property("invalid") != invalid:
            self.name.setProperty("invalid", invalid)
            self.name.style().unpolish(self.name)
            self.name.style().polish(self.name)
        return problem is None

    def chosen_site(self) -> str:
        if self.provisioning is not None and self.provisioning.sites:
            return str(self.site_choice.currentData() or "")
        return self.site.text().strip()

    def _fail(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()
        body = self._scroll.widget()
        if body is not None and (layout := body.layout()) is not None:
            layout.activate()  # the error's room, before scrolling to it
        self._scroll.ensureWidgetVisible(self.create_button)

    def _create(self) -> None:
        name = self.name.text().strip()
        passphrase = self.passphrase.text()
        if not self._check_login(final=True):
            self._fail(self.login_error.text())
            self.name.setFocus()  # the passphrases stay as typed
            return
        if len(passphrase) < MIN_PASSPHRASE:
            self._fail(self.tr("The passphrase needs at least %d characters.") % MIN_PASSPHRASE)
            self.passphrase.setFocus()
            return
        if passphrase != self.repeat.text():
            self._fail(self.tr("The two passphrases are different. Type them again."))
            self.repeat.clear()
            self.repeat.setFocus()
            return
        settings = self.services.settings
        try:
            if not settings.is_locked("server_url"):
                settings.set("server_url", self.server.text().strip())
            settings.set("site_id", self.chosen_site())
            if self.country.isVisibleTo(self) and not settings.is_locked("site_country"):
                settings.set("site_country", str(self.country.currentData() or ""))
            settings.save()
        except KnownError as error:
            self._fail(error.message(self.services.lang))
            return
        self.create_button.setEnabled(False)
        self.error.hide()
        vault = self.services.vault
        provisioner, preview = self._provisioner, self.provisioning

        def work() -> UserInfo:
            vault.create_user(name, "admin", passphrase)
            user = vault.unlock(name, passphrase)
            if provisioner is not None and preview is not None:
                provisioner.apply(preview.data)  # keys into the vault, policies locked
            return user

        self.services.ops.write(work, self._created, self._failed)

    def _created(self, user: UserInfo) -> None:
        self.passphrase.clear()
        self.repeat.clear()
        self.services.user = user
        self.create_button.setEnabled(True)
        self.did_set_up.emit(user.name)

    def _failed(self, error: KnownError) -> None:
        """Say what failed and put the focus on the box to change; what was typed stays (a
        refused login never costs the two passphrases)."""
        self.create_button.setEnabled(True)
        self._fail(error.message(self.services.lang))
        if error.code.startswith("vault-login"):
            self.name.setFocus()
            self.name.selectAll()
        elif error.code.startswith("vault-passphrase"):
            self.passphrase.setFocus()
        else:
            self.create_button.setFocus()
