""" "Enrol now": the administrator enters the one-time code from IT and the laptop enrols.

Shown after first run on a provisioned laptop that is not enrolled yet, and from Settings →
Server (administrators only). The enrolment runs on the operations helper's network lane, never
the GUI thread, with its steps shown as it goes; "Later" is always possible, and the app works
fully offline whether or not the laptop is enrolled. A laptop without a provisioning file gets
one here first (read and verified, then applied), since the server's address and the
organisation's keys come from it.
"""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from fieldscreen.errors import KnownError
from fieldscreen.ui.common import Services, heading, primary_button
from fieldscreen.ui.provisioning import EnrolmentStatus

__all__ = ["EnrolDialog"]

# The steps of :func:`fieldscreen.sync.commands.enroll.enrol`, in order.
_STEPS = ("contacting", "enrolling", "checking", "saving")


class _Progress(QObject):
    """Carries the enrolment's steps from the network lane to the GUI thread (queued)."""

    step = Signal(str)


class EnrolDialog(QDialog):
    """Enter the code, enrol, see each step; errors in the user's language; "Later" any time.

    Args:
        services: the app's services (operations helper, language).
        provisioner: :class:`~fieldscreen.ui.provisioning.DeviceProvisioner` (``enrol``,
            ``read``, ``apply``).
        status: where the laptop stands now (read on the writer before opening).
    """

    enrolled = Signal(object)  # EnrolmentStatus
    provisioned = Signal()

    def __init__(
        self,
        services: Services,
        provisioner: Any,
        status: EnrolmentStatus,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("enrolDialog")
        self.setWindowTitle(self.tr("Enrol this laptop with the server"))
        self.setMinimumWidth(560)
        self.services = services
        self._provisioner = provisioner
        self.status = status
        self.busy = False
        self._progress = _Progress(self)
        self._progress.step.connect(self._step)
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        layout.addWidget(heading(self.tr("Enrol this laptop with the server"), self))
        intro = QLabel(
            self.tr(
                "Enter the one-time enrolment code from your IT contact. Enrolment lets this "
                "laptop send finalised screenings and receive form and directory updates. "
                "You can also do it later: the app works fully offline."
            ),
            self,
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.server = QLabel("", self)
        self.server.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.server.setWordWrap(True)
        form.addRow(self.tr("Server"), self.server)
        self.code = QLineEdit(self)
        self.code.setPlaceholderText(self.tr("for example K7QP-2M9X"))
        self.code.setAccessibleName(self.tr("Enrolment code"))
        self.code.setMaxLength(64)
        form.addRow(self.tr("Enrolment &code"), self.code)
        layout.addLayout(form)
        self.provision_button = QPushButton(self.tr("Read the &provisioning file…"), self)
        self.provision_button.setObjectName("secondary")
        self.provision_button.clicked.connect(self._choose_provisioning)
        layout.addWidget(self.provision_button, alignment=Qt.AlignmentFlag.AlignLeft)
        self.bar = QProgressBar(self)
        self.bar.setRange(0, len(_STEPS))
        self.bar.setTextVisible(False)
        self.bar.setAccessibleName(self.tr("Enrolment progress"))
        self.bar.hide()
        layout.addWidget(self.bar)
        self.step_label = QLabel("", self)
        self.step_label.setWordWrap(True)
        layout.addWidget(self.step_label)
        self.error = QLabel("", self)
        self.error.setObjectName("fieldMessage")
        self.error.setWordWrap(True)
        self.error.hide()
        layout.addWidget(self.error)
        buttons = QHBoxLayout()
        self.later = QPushButton(self.tr("&Later"), self)
        self.later.setObjectName("secondary")
        self.later.setAccessibleName(self.tr("Later"))
        self.enrol_button = primary_button(self.tr("&Enrol now"), self)
        buttons.addWidget(self.later)
        buttons.addStretch(1)
        buttons.addWidget(self.enrol_button)
        layout.addLayout(buttons)
        self.later.clicked.connect(self.reject)
        self.enrol_button.clicked.connect(self.start)
        self.code.returnPressed.connect(self.start)
        self.code.textChanged.connect(lambda _: self._enable())
        self._show_status()

    # ------------------------------------------------------------- state
    def _show_status(self) -> None:
        status = self.status
        if not status.provisioned:
            self.server.setText(
                self.tr(
                    "Not set up yet: read the provisioning file from IT first (it names the "
                    "server and your organisation's keys)."
                )
            )
        else:
            self.server.setText(status.server_url)
        self.provision_button.setVisible(not status.provisioned)
        if status.enrolled:
            self.step_label.setText(
                self.tr("Already enrolled as %1 at site %2. A new code enrols it again.")
                .replace("%1", status.device_id)
                .replace("%2", status.site)
            )
        self._enable()

    def _enable(self) -> None:
        ready = self.status.provisioned and bool(self.code.text().strip()) and not self.busy
        self.enrol_button.setEnabled(ready)
        self.code.setEnabled(self.status.provisioned and not self.busy)

    def step_text(self, step: str) -> str:
        return {
            "contacting": self.tr("Contacting the server…"),
            "enrolling": self.tr("Sending the enrolment code…"),
            "checking": self.tr("Checking that the server belongs to your organisation…"),
            "saving": self.tr("Saving the enrolment on this laptop…"),
        }.get(step, step)

    # ------------------------------------------------------------ enrol
    def start(self) -> None:
        """Enrol with the code entered (on the network lane)."""
        code = self.code.text().strip()
        if not self.status.provisioned or not code or self.busy:
            return
        self.busy = True
        self.error.hide()
        self.bar.setValue(0)
        self.bar.show()
        self._step("contacting")
        self._enable()
        provisioner, relay = self._provisioner, self._progress
        label = platform.node()[:64]
        self.services.ops.network(
            lambda: provisioner.enrol(code, label, relay.step.emit), self._done, self._failed
        )

    def _step(self, step: str) -> None:
        if step in _STEPS:
            self.bar.setValue(_STEPS.index(step))
        self.step_label.setText(self.step_text(step))

    def _done(self, status: EnrolmentStatus) -> None:
        self.busy = False
        self.status = status
        self.bar.setValue(len(_STEPS))
        self.code.clear()
        self.step_label.setText(
            self.tr("Enrolled as %1 at site %2. Finalised screenings will now be sent.")
            .replace("%1", status.device_id)
            .replace("%2", status.site)
        )
        self.later.setText(self.tr("&Close"))
        self.later.setAccessibleName(self.tr("Close"))
        self._enable()
        self.enrolled.emit(status)

    def _failed(self, error: KnownError) -> None:
        self.busy = False
        self.bar.hide()
        self.step_label.clear()
        self.error.setText(error.message(self.services.lang))
        self.error.show()
        self._enable()
        self.code.setFocus()
        self.code.selectAll()

    # ----------------------------------------------------- provisioning
    def _choose_provisioning(self) -> None:
        name, _ = QFileDialog.getOpenFileName(
            self, self.tr("Provisioning file"), "", self.tr("Provisioning files (*.json *.fsp)")
        )
        if name:
            self.use_provisioning_file(Path(name))

    def use_provisioning_file(self, path: Path) -> None:
        """Verify ``path`` and apply it (on the writer); then the code can be entered."""
        try:
            preview = self._provisioner.read(path)
        except KnownError as error:
            self._failed(error)
            return
        provisioner = self._provisioner

        def apply() -> EnrolmentStatus:
            provisioner.apply(preview.data)
            status: EnrolmentStatus = provisioner.enrolment_status()
            return status

        self.services.ops.write(apply, self._provisioned, self._failed)

    def _provisioned(self, status: EnrolmentStatus) -> None:
        self.status = status
        self.error.hide()
        self._show_status()
        self.provisioned.emit()
        self.code.setFocus()
