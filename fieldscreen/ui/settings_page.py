"""Settings, driven by :data:`fieldscreen.settings.SETTINGS`; users; travel mode and wipe.

Each setting gets one editor by its declared type (yes/no, whole number with bounds, a choice,
text); admin-only settings are shown read-only to other roles, and settings the organisation
locked are read-only for everyone. Adding or removing users, rotating keys, travel mode and
wipe ask for the passphrase again first; removing and rotating say first what will happen.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QProgressDialog,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from fieldscreen.errors import KnownError
from fieldscreen.settings import SETTINGS, Setting
from fieldscreen.ui.access import MIN_PASSPHRASE
from fieldscreen.ui.common import PassphraseDialog, Services, heading, primary_button, show_error

__all__ = [
    "NewUserDialog",
    "PassphraseChangeDialog",
    "RoleDialog",
    "SettingsPage",
    "setting_labels",
]

#: Roles from least to most (a move down the list is a demotion: the vault moves to new keys).
_ROLE_ORDER = ("specialist", "coordinator", "admin")


class RoleDialog(QDialog):
    """Pick another role for an account (its current one selected)."""

    def __init__(self, login: str, role: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("roleDialog")
        self.setWindowTitle(self.tr("Change the role of %1").replace("%1", login))
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.role = QComboBox(self)
        self.role.setAccessibleName(self.tr("Role"))
        self.role.addItem(self.tr("Specialist"), "specialist")
        self.role.addItem(self.tr("Coordinator"), "coordinator")
        self.role.addItem(self.tr("Administrator"), "admin")
        self.role.setCurrentIndex(max(0, self.role.findData(role)))
        form.addRow(self.tr("&Role"), self.role)
        layout.addLayout(form)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)


class NewUserDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("newUserDialog")
        self.setWindowTitle(self.tr("Add a user"))
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.name = QLineEdit(self)
        self.name.setAccessibleName(self.tr("Name"))
        self.role = QComboBox(self)
        self.role.setAccessibleName(self.tr("Role"))
        self.role.addItem(self.tr("Specialist"), "specialist")
        self.role.addItem(self.tr("Coordinator"), "coordinator")
        self.role.addItem(self.tr("Administrator"), "admin")
        self.passphrase = QLineEdit(self)
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase.setAccessibleName(self.tr("Passphrase"))
        self.repeat = QLineEdit(self)
        self.repeat.setEchoMode(QLineEdit.EchoMode.Password)
        self.repeat.setAccessibleName(self.tr("Passphrase again"))
        form.addRow(self.tr("&Name"), self.name)
        form.addRow(self.tr("&Role"), self.role)
        form.addRow(self.tr("&Passphrase"), self.passphrase)
        form.addRow(self.tr("Passphrase &again"), self.repeat)
        layout.addLayout(form)
        self.error = QLabel("", self)
        self.error.setObjectName("fieldMessage")
        self.error.hide()
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self._check)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _check(self) -> None:
        if not self.name.text().strip():
            message = self.tr("Enter a name.")
        elif len(self.passphrase.text()) < MIN_PASSPHRASE:
            message = self.tr("The passphrase needs at least %d characters.") % MIN_PASSPHRASE
        elif self.passphrase.text() != self.repeat.text():
            message = self.tr("The two passphrases are different. Type them again.")
        else:
            self.accept()
            return
        self.error.setText(message)
        self.error.show()


class PassphraseChangeDialog(QDialog):
    """The signed-in user's current passphrase (the second entry) and the new one, twice."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("passphraseChangeDialog")
        self.setWindowTitle(self.tr("Change my passphrase"))
        layout = QVBoxLayout(self)
        text = QLabel(
            self.tr(
                "You get a new key of your own and the vault moves to new keys, so even a copy "
                "of the key file taken before, with your old passphrase, opens nothing written "
                "afterwards. With many records this takes a while: keep the laptop on."
            ),
            self,
        )
        text.setWordWrap(True)
        layout.addWidget(text)
        form = QFormLayout()
        self.current = QLineEdit(self)
        self.passphrase = QLineEdit(self)
        self.repeat = QLineEdit(self)
        for field, name in (
            (self.current, self.tr("Current passphrase")),
            (self.passphrase, self.tr("New passphrase")),
            (self.repeat, self.tr("New passphrase again")),
        ):
            field.setEchoMode(QLineEdit.EchoMode.Password)
            field.setAccessibleName(name)
        form.addRow(self.tr("&Current passphrase"), self.current)
        form.addRow(self.tr("&New passphrase"), self.passphrase)
        form.addRow(self.tr("New passphrase &again"), self.repeat)
        layout.addLayout(form)
        self.error = QLabel("", self)
        self.error.setObjectName("fieldMessage")
        self.error.hide()
        layout.addWidget(self.error)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self._check)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

    def _check(self) -> None:
        if not self.current.text():
            message = self.tr("Enter your current passphrase.")
        elif len(self.passphrase.text()) < MIN_PASSPHRASE:
            message = self.tr("The passphrase needs at least %d characters.") % MIN_PASSPHRASE
        elif self.passphrase.text() != self.repeat.text():
            message = self.tr("The two passphrases are different. Type them again.")
        elif self.passphrase.text() == self.current.text():
            message = self.tr("The new passphrase is the one you have now. Choose another.")
        else:
            self.accept()
            return
        self.error.setText(message)
        self.error.show()

    def take(self) -> tuple[str, str]:
        """The current and the new passphrase; the fields are cleared."""
        taken = (self.current.text(), self.passphrase.text())
        for field in (self.current, self.passphrase, self.repeat):
            field.clear()
        return taken


def setting_labels() -> dict[str, str]:
    """What each setting is called on screen (also where first run lists locked policies)."""
    return {
        "language": QCoreApplication.translate("SettingsPage", "Language"),
        "auto_lock_minutes": QCoreApplication.translate(
            "SettingsPage", "Lock after this many idle minutes"
        ),
        "interview_lock_minutes": QCoreApplication.translate(
            "SettingsPage", "During an interview, lock after this many idle minutes"
        ),
        "follow_up_window_days": QCoreApplication.translate(
            "SettingsPage", "Days a finalised screening stays readable"
        ),
        "travel_mode_allowed": QCoreApplication.translate(
            "SettingsPage", "Users may switch on travel mode"
        ),
        "background_sync": QCoreApplication.translate(
            "SettingsPage", "Send screenings in the background"
        ),
        "server_url": QCoreApplication.translate("SettingsPage", "Server address"),
        "site_id": QCoreApplication.translate("SettingsPage", "Site"),
        "site_country": QCoreApplication.translate("SettingsPage", "Country of the site"),
        "emergency_contacts": QCoreApplication.translate(
            "SettingsPage", "Emergency contacts of the organisation (separate them with ;)"
        ),
        "clipboard_clear_seconds": QCoreApplication.translate(
            "SettingsPage", "Clear copied case text after (seconds)"
        ),
        "allow_plain_http": QCoreApplication.translate(
            "SettingsPage", "Allow an unencrypted server address (testing only)"
        ),
    }


class SettingsPage(QWidget):
    language_changed = Signal(str)
    did_save = Signal()
    did_wipe = Signal()
    back_requested = Signal()
    enrol_requested = Signal()
    directory_file_chosen = Signal(str)

    def __init__(self, services: Services, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        #: Each listed account's role (login -> role), as last listed.
        self._roles: dict[str, str] = {}
        self.setObjectName("settingsPage")
        self.services = services
        self.editors: dict[str, QWidget] = {}
        outer = QVBoxLayout(self)
        outer.setContentsMargins(24, 16, 24, 16)
        outer.addWidget(heading(self.tr("Settings"), self))
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        body = QWidget(scroll)
        body.setMaximumWidth(900)
        column = QVBoxLayout(body)
        column.setSpacing(16)

        device = QGroupBox(self.tr("This laptop"), body)
        self.form = QFormLayout(device)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for spec in SETTINGS:
            self._add_editor(device, spec)
        column.addWidget(device)
        self.save = primary_button(self.tr("&Save settings"), body)
        self.save.clicked.connect(self.save_settings)
        self.status = QLabel("", body)
        row = QHBoxLayout()
        row.addWidget(self.status, 1)
        row.addWidget(self.save)
        column.addLayout(row)

        server = QGroupBox(self.tr("Server"), body)
        server_layout = QVBoxLayout(server)
        server_text = QLabel(
            self.tr(
                "An administrator enrols this laptop with the organisation's server using a "
                "one-time code from IT. Until then everything works offline."
            ),
            server,
        )
        server_text.setWordWrap(True)
        server_layout.addWidget(server_text)
        self.enrolment = QLabel("", server)
        self.enrolment.setObjectName("enrolmentState")
        self.enrolment.setWordWrap(True)
        self.enrolment.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        server_layout.addWidget(self.enrolment)
        self.enrol = QPushButton(self.tr("&Enrol with the server…"), server)
        self.enrol.setObjectName("secondary")
        self.enrol.clicked.connect(self.enrol_requested)
        server_layout.addWidget(self.enrol, alignment=Qt.AlignmentFlag.AlignLeft)
        column.addWidget(server)

        directory = QGroupBox(self.tr("Service directory"), body)
        directory_layout = QVBoxLayout(directory)
        self.directory_status = QLabel("", directory)
        self.directory_status.setWordWrap(True)
        directory_layout.addWidget(self.directory_status)
        self.load_directory = QPushButton(self.tr("&Load a service directory file…"), directory)
        self.load_directory.setObjectName("secondary")
        self.load_directory.clicked.connect(self._choose_directory)
        directory_layout.addWidget(self.load_directory, alignment=Qt.AlignmentFlag.AlignLeft)
        column.addWidget(directory)

        users = QGroupBox(self.tr("Users"), body)
        users_layout = QVBoxLayout(users)
        self.users = QListWidget(users)
        self.users.setAccessibleName(self.tr("Users"))
        self.users.setMaximumHeight(120)
        users_layout.addWidget(self.users)
        self.add_user = QPushButton(self.tr("&Add a user…"), users)
        self.add_user.setObjectName("secondary")
        self.add_user.clicked.connect(self._add_user)
        self.remove_user = QPushButton(self.tr("&Remove the selected user…"), users)
        self.remove_user.setObjectName("secondary")
        self.remove_user.clicked.connect(self._remove_user)
        self.change_role = QPushButton(self.tr("Change the selected user's r&ole…"), users)
        self.change_role.setObjectName("secondary")
        self.change_role.clicked.connect(self._change_role)
        self.rotate_keys = QPushButton(self.tr("Rotate &keys now…"), users)
        self.rotate_keys.setObjectName("secondary")
        self.rotate_keys.clicked.connect(self._rotate_keys)
        buttons = QHBoxLayout()
        for button in (self.add_user, self.remove_user, self.change_role, self.rotate_keys):
            buttons.addWidget(button)
        buttons.addStretch(1)
        users_layout.addLayout(buttons)
        self.change_passphrase = QPushButton(self.tr("Change &my passphrase…"), users)
        self.change_passphrase.setObjectName("secondary")
        self.change_passphrase.clicked.connect(self._change_passphrase)
        users_layout.addWidget(self.change_passphrase, alignment=Qt.AlignmentFlag.AlignLeft)
        self.users.currentRowChanged.connect(lambda _: self._user_buttons())
        column.addWidget(users)

        danger = QGroupBox(self.tr("Crossing a border, or a lost laptop"), body)
        danger.setObjectName("dangerZone")
        danger_layout = QVBoxLayout(danger)
        travel_text = QLabel(
            self.tr(
                "Travel mode seals every screening on this laptop, drafts included, to your "
                "organisation and deletes every readable copy. After it, nobody who unlocks "
                "the laptop (you included) can read them, and drafts cannot be continued here. "
                "Do it before crossing a border."
            ),
            danger,
        )
        travel_text.setWordWrap(True)
        self.travel = QPushButton(self.tr("Switch on &travel mode…"), danger)
        self.travel.setObjectName("secondary")
        wipe_text = QLabel(
            self.tr(
                "Wipe destroys the keys and then every file of FieldScreen on this laptop: "
                "drafts, cases and anything not yet sent are lost for good. Use it only when "
                "the laptop is about to fall into the wrong hands."
            ),
            danger,
        )
        wipe_text.setWordWrap(True)
        self.wipe = QPushButton(self.tr("&Wipe this laptop…"), danger)
        self.wipe.setObjectName("danger")
        for widget in (travel_text, self.travel, wipe_text, self.wipe):
            danger_layout.addWidget(widget)
        column.addWidget(danger)
        column.addStretch(1)
        scroll.setWidget(body)
        outer.addWidget(scroll, 1)
        back = QPushButton(self.tr("&Back"), self)
        back.setObjectName("secondary")
        back.clicked.connect(self.back_requested)
        outer.addWidget(back, alignment=Qt.AlignmentFlag.AlignLeft)
        self.travel.clicked.connect(self._travel_mode)
        self.wipe.clicked.connect(self._wipe)

    # -------------------------------------------------------------- editors
    def labels(self) -> dict[str, str]:
        return setting_labels()

    def _add_editor(self, parent: QWidget, spec: Setting) -> None:
        settings = self.services.settings
        value = settings.get(spec.name)
        editor: QWidget
        if spec.type is bool:
            editor = QCheckBox(parent)
            editor.setChecked(bool(value))
        elif spec.type is int:
            editor = QSpinBox(parent)
            editor.setMaximumWidth(160)
            editor.setRange(spec.minimum or 0, spec.maximum or 1_000_000)
            editor.setValue(int(value))
        elif spec.name == "language":
            editor = QComboBox(parent)
            editor.addItem("English", "en")
            editor.addItem("Español", "es")
            editor.setCurrentIndex(max(editor.findData(self.services.lang), 0))
        elif spec.name == "site_country":
            from fieldscreen.ui.countries import country_box

            editor = country_box(parent, self.services.lang, value)
        elif spec.choices:
            editor = QComboBox(parent)
            for choice in spec.choices:
                editor.addItem(choice, choice)
            editor.setCurrentIndex(max(editor.findData(value), 0))
        else:
            editor = QLineEdit(str(value), parent)
        label = self.labels()[spec.name]
        editor.setAccessibleName(label)
        locked = settings.is_locked(spec.name)
        admin_only = spec.changed_by == "admin" and not self._is_admin()
        editor.setEnabled(not locked and not admin_only)
        if locked:
            editor.setToolTip(self.tr("Set by your organisation"))
        self.form.addRow(label, editor)
        self.editors[spec.name] = editor

    def _is_admin(self) -> bool:
        return self.services.user is not None and self.services.user.role == "admin"

    def _value(self, spec: Setting) -> Any:
        editor = self.editors[spec.name]
        if isinstance(editor, QCheckBox):
            return editor.isChecked()
        if isinstance(editor, QSpinBox):
            return editor.value()
        if isinstance(editor, QComboBox):
            return editor.currentData()
        assert isinstance(editor, QLineEdit)
        return editor.text().strip()

    def refresh(self) -> None:
        self.users.clear()
        roles = {
            "specialist": self.tr("specialist"),
            "coordinator": self.tr("coordinator"),
            "admin": self.tr("administrator"),
        }
        self._roles = {}
        for user in self.services.vault.users():
            self.users.addItem(f"{user.name} ({roles.get(user.role, user.role)})")
            self.users.item(self.users.count() - 1).setData(Qt.ItemDataRole.UserRole, user.name)
            self._roles[user.name] = user.role
        can_manage = self.services.user is not None and self.services.user.role in {
            "admin",
            "coordinator",
        }
        self.add_user.setEnabled(can_manage)
        self.rotate_keys.setEnabled(self._is_admin())
        self.change_passphrase.setEnabled(self.services.user is not None)
        self._user_buttons()
        self.enrol.setEnabled(self._is_admin())
        self.load_directory.setEnabled(self._is_admin())
        self.enrol.setToolTip("" if self._is_admin() else self.tr("Only an administrator enrols"))
        self.travel.setEnabled(bool(self.services.settings.get("travel_mode_allowed")))

    def show_enrolment(self, status: Any) -> None:
        """Whether this laptop is enrolled, as which device, at which site, with which server."""
        if not status.provisioned:
            text = self.tr("Not set up for an organisation yet (no provisioning file).")
        elif not status.enrolled:
            text = self.tr("Not enrolled yet with %1.").replace("%1", status.server_url)
        else:
            text = (
                self.tr("Enrolled with %1 as %2 at site %3.")
                .replace("%1", status.server_url)
                .replace("%2", status.device_id)
                .replace("%3", status.site)
            )
        self.enrolment.setText(text)

    def show_directory(self, directory: Any) -> None:
        """Say which directory the results page uses (or that there is none, and what to do)."""
        lang = self.services.lang
        if directory is None:
            text = self.tr(
                "No service directory for this site yet: referrals show no providers. It comes "
                "with the next sync, or load the signed file from IT here."
            )
        else:
            site = directory.site_name.get(lang) or directory.site_id
            text = (
                self.tr("Directory of %1, version %2: %3 services.")
                .replace("%1", site)
                .replace("%2", directory.version)
                .replace("%3", str(len(directory.providers)))
            )
            if directory.sample:
                text += " " + self.tr("Sample data: fictional services for demonstrations only.")
        self.directory_status.setText(text)

    def _choose_directory(self) -> None:
        name, _ = QFileDialog.getOpenFileName(
            self, self.tr("Service directory file"), "", self.tr("Directory files (*.json)")
        )
        if name:
            self.directory_file_chosen.emit(name)

    def save_settings(self) -> None:
        settings = self.services.settings
        try:
            for spec in SETTINGS:
                if self.editors[spec.name].isEnabled():
                    settings.set(spec.name, self._value(spec))
            settings.save()
        except KnownError as error:
            show_error(self, error, self.services.lang)
            return
        self.status.setText(self.tr("Settings saved."))
        self.did_save.emit()
        lang = str(settings.get("language"))
        if lang != self.services.lang:
            self.language_changed.emit(lang)

    # ------------------------------------------------- sensitive actions
    def _confirm_passphrase(
        self, title: str, explanation: str, then: Callable[[str], object]
    ) -> None:
        user = self.services.user
        if user is None:
            return
        dialog = PassphraseDialog(
            title,
            explanation,
            self.services.vault.users(),
            self.services.vault.verify,
            self.services.ops,
            self,
            fixed_user=user.name,
        )
        dialog.setObjectName("confirmDialog")
        dialog.finished.connect(
            lambda code: (
                then(dialog.take_passphrase())
                if code == QDialog.DialogCode.Accepted
                else dialog.take_passphrase()
            )
        )
        dialog.open()

    def _add_user(self) -> None:
        dialog = NewUserDialog(self)

        def entered(code: int) -> None:
            if code != QDialog.DialogCode.Accepted:
                return
            name = dialog.name.text().strip()
            role = str(dialog.role.currentData())
            passphrase = dialog.passphrase.text()
            dialog.passphrase.clear()
            dialog.repeat.clear()

            def create(confirm: str) -> None:
                self.services.ops.write(
                    lambda: self.services.vault.create_user(name, role, passphrase, confirm),
                    lambda _: self.refresh(),
                    lambda e: show_error(self, e, self.services.lang),
                )

            self._confirm_passphrase(
                self.tr("Confirm with your passphrase"),
                self.tr("Adding a user needs your passphrase again."),
                create,
            )

        dialog.finished.connect(entered)
        dialog.open()

    def _user_buttons(self) -> None:
        """Remove and change of role need an admin and another user selected (one cannot
        remove oneself, nor change one's own role: the last admin is never demoted)."""
        row = self.users.currentRow()
        login = None if row < 0 else self.users.item(row).data(Qt.ItemDataRole.UserRole)
        me = self.services.user.name if self.services.user is not None else None
        other = self._is_admin() and login is not None and login != me
        self.remove_user.setEnabled(other)
        self.change_role.setEnabled(other)

    def _sure(self, title: str, text: str, then: Callable[[], None]) -> None:
        """Say what will happen; on Yes, ``then``."""
        sure = QMessageBox(
            QMessageBox.Icon.Warning,
            title,
            text,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            self,
        )
        sure.setObjectName("sureDialog")
        sure.setDefaultButton(QMessageBox.StandardButton.Cancel)
        sure.finished.connect(
            lambda button: then() if button == QMessageBox.StandardButton.Yes else None
        )
        sure.open()

    def _rekeying(self, work: Callable[[], Any], done: Callable[[Any], None]) -> None:
        """Run ``work`` (it may move the vault to new keys) on the writer behind a progress
        dialog that stays until it ends: the window cannot be used meanwhile, and says why."""
        progress = QProgressDialog(
            self.tr(
                "Moving the vault to new keys: every record's key is re-encrypted. With many "
                "records this takes a while; keep the laptop on."
            ),
            "",
            0,
            0,
            self,
        )
        progress.setObjectName("rekeyProgress")
        progress.setWindowTitle(self.tr("New keys"))
        progress.setCancelButton(None)  # a rotation is one transaction: it ends, or never was
        progress.setWindowModality(Qt.WindowModality.WindowModal)
        progress.setMinimumDuration(0)
        progress.setAutoClose(False)
        progress.setAutoReset(False)
        progress.show()

        def finished(summary: Any) -> None:
            progress.close()
            done(summary)

        def failed(error: KnownError) -> None:
            progress.close()
            show_error(self, error, self.services.lang)

        self.services.ops.write(work, finished, failed)

    def _rekeyed(self, summary: Any, done: str) -> None:
        text = done.replace("%1", str(summary.get("data_keys", 0)))
        again = list(summary.get("must_be_added_again") or [])
        if again:
            text += " " + self.tr("Add these accounts again: %1.").replace("%1", ", ".join(again))
        self.status.setText(text)
        self.refresh()

    def _remove_user(self) -> None:
        row = self.users.currentRow()
        if row < 0:
            return
        login = str(self.users.item(row).data(Qt.ItemDataRole.UserRole))

        def go(confirm: str) -> None:
            self._rekeying(
                lambda: self.services.vault.remove_user(login, confirm),
                lambda summary: self._rekeyed(
                    summary,
                    self.tr(
                        "%2 removed; the vault moved to new keys (%1 keys re-encrypted)."
                    ).replace("%2", login),
                ),
            )

        self._sure(
            self.tr("Remove %1?").replace("%1", login),
            self.tr(
                "%1 will no longer be able to unlock this laptop. Their drafts and screenings "
                "stay here for the others. The vault then moves to new keys, so even a copy of "
                "the key file taken before opens nothing written afterwards; everyone else keeps "
                "their passphrase. With many records this takes a while: keep the laptop on."
            ).replace("%1", login),
            lambda: self._confirm_passphrase(
                self.tr("Remove %1").replace("%1", login),
                self.tr("Removing a user needs your passphrase again."),
                go,
            ),
        )

    def _rotate_keys(self) -> None:
        def go(confirm: str) -> None:
            self._rekeying(
                lambda: self.services.vault.rotate_keys(confirm),
                lambda summary: self._rekeyed(
                    summary, self.tr("The vault moved to new keys (%1 keys re-encrypted).")
                ),
            )

        self._sure(
            self.tr("Rotate keys now?"),
            self.tr(
                "Do this after a suspected compromise, such as a lost copy of the laptop's "
                "files. The vault moves to new keys and every record's key is re-encrypted; "
                "nothing is lost and everyone keeps their passphrase. Each account keeps its own "
                "key, so if someone saw a passphrase, its owner changes it instead (Change my "
                "passphrase gives them a new key and moves the vault to new keys): a rotation "
                "alone does not lock them out. With many records this takes a while: keep the "
                "laptop on."
            ),
            lambda: self._confirm_passphrase(
                self.tr("Rotate keys now"),
                self.tr("Rotating the keys needs your passphrase again."),
                go,
            ),
        )

    def _change_passphrase(self) -> None:
        dialog = PassphraseChangeDialog(self)

        def entered(code: int) -> None:
            old, new = dialog.take()
            if code != QDialog.DialogCode.Accepted:
                return

            def changed(summary: Any) -> None:
                text = self.tr(
                    "Your passphrase was changed and the vault moved to new keys "
                    "(%1 keys re-encrypted)."
                )
                if summary.get("awaiting_admin"):
                    text += " " + self.tr(
                        "Your new passphrase works now; an administrator's next unlock signs "
                        "your new key in."
                    )
                self._rekeyed(summary, text)

            self._rekeying(lambda: self.services.vault.change_passphrase(old, new), changed)

        dialog.finished.connect(entered)
        dialog.open()

    def _change_role(self) -> None:
        row = self.users.currentRow()
        if row < 0:
            return
        login = str(self.users.item(row).data(Qt.ItemDataRole.UserRole))
        was = self._roles.get(login, "specialist")
        dialog = RoleDialog(login, was, self)
        names = {
            "specialist": self.tr("specialist"),
            "coordinator": self.tr("coordinator"),
            "admin": self.tr("administrator"),
        }

        def changed(summary: Any) -> None:
            role = str(summary.get("role", ""))
            if summary.get("rotated"):
                text = self.tr(
                    "%2 is now %3; the vault moved to new keys (%1 keys re-encrypted)."
                ).replace("%1", str(summary.get("data_keys", 0)))
            else:
                text = self.tr("%2 is now %3.")
            self.status.setText(text.replace("%2", login).replace("%3", names.get(role, role)))
            self.refresh()

        def chosen(code: int) -> None:
            if code != QDialog.DialogCode.Accepted:
                return
            role = str(dialog.role.currentData())
            if role == was:
                self.status.setText(
                    self.tr("%1 is already %2; nothing changed.")
                    .replace("%1", login)
                    .replace("%2", names.get(role, role))
                )
                return

            def go(confirm: str) -> None:
                self._rekeying(
                    lambda: self.services.vault.change_role(login, role, confirm), changed
                )

            confirm = lambda: self._confirm_passphrase(  # noqa: E731 -- one line, used twice
                self.tr("Change the role of %1").replace("%1", login),
                self.tr("Changing a role needs your passphrase again."),
                go,
            )
            if _ROLE_ORDER.index(role) < _ROLE_ORDER.index(was):  # a demotion: new keys
                self._sure(
                    self.tr("Make %1 %2?").replace("%1", login).replace("%2", names[role]),
                    self.tr(
                        "%1 keeps their passphrase but loses what the role %2 allowed. The "
                        "vault then moves to new keys, so a copy of the key file or of the "
                        "administrator key kept from before gives nothing back. With many "
                        "records this takes a while: keep the laptop on."
                    )
                    .replace("%1", login)
                    .replace("%2", names[was]),
                    confirm,
                )
            else:
                confirm()

        dialog.finished.connect(chosen)
        dialog.open()

    def _travel_mode(self) -> None:
        def go(_: str) -> None:
            self.services.ops.write(
                self.services.vault.travel_mode,
                lambda n: self.status.setText(
                    self.tr("Travel mode is on: %d screenings sealed, readable copies deleted.") % n
                ),
                lambda e: show_error(self, e, self.services.lang),
            )

        self._confirm_passphrase(
            self.tr("Switch on travel mode"),
            self.tr("Screenings and drafts will no longer be readable on this laptop."),
            go,
        )

    def _wipe(self) -> None:
        sure = QMessageBox(
            QMessageBox.Icon.Critical,
            self.tr("Wipe this laptop?"),
            self.tr(
                "Everything FieldScreen keeps on this laptop is destroyed, including drafts and "
                "screenings not yet sent. This cannot be undone."
            ),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            self,
        )
        sure.setDefaultButton(QMessageBox.StandardButton.Cancel)

        def answered(button: int) -> None:
            if button != QMessageBox.StandardButton.Yes:
                return
            self._confirm_passphrase(
                self.tr("Confirm the wipe"),
                self.tr("Type your passphrase to wipe this laptop."),
                lambda _: self.services.ops.write(
                    self.services.vault.wipe,
                    lambda _: self.did_wipe.emit(),
                    lambda e: show_error(self, e, self.services.lang),
                ),
            )

        sure.finished.connect(answered)
        sure.open()
