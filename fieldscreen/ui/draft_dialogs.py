"""A draft started with an earlier version of a form: asking before answers are set aside, and
the read-only panel that keeps those answers in view for the specialist (never logged)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QLabel,
    QListWidget,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from fieldscreen.ui.migration import SetAside

__all__ = ["MigrateDialog", "SetAsidePanel", "ask_before_migrating"]


class MigrateDialog(QDialog):
    """Lists the questions (never the answers) whose answers no longer fit the new form."""

    def __init__(self, questions: Sequence[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("migrateDialog")
        self.setWindowTitle(self.tr("The form has been updated"))
        layout = QVBoxLayout(self)
        text = QLabel(
            self.tr(
                "This draft was started with an earlier version of the form. The answers to "
                "these questions no longer fit the new form. If you resume, they are set aside "
                "in this draft, where you can still read them and enter them again:"
            ),
            self,
        )
        text.setWordWrap(True)
        layout.addWidget(text)
        self.questions = QListWidget(self)
        self.questions.setObjectName("migrateQuestions")
        self.questions.setAccessibleName(self.tr("Questions whose answers no longer fit"))
        self.questions.addItems(list(questions))
        layout.addWidget(self.questions)
        later = QLabel(self.tr("With \u201cNot now\u201d the draft stays exactly as it is."), self)
        later.setWordWrap(True)
        layout.addWidget(later)
        self.buttons = QDialogButtonBox(self)
        self.resume: QPushButton = self.buttons.addButton(
            self.tr("Resume with the new form"), QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.later: QPushButton = self.buttons.addButton(
            self.tr("Not now"), QDialogButtonBox.ButtonRole.RejectRole
        )
        self.later.setDefault(True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.setWindowModality(Qt.WindowModality.WindowModal)


def ask_before_migrating(
    parent: QWidget, questions: Sequence[str], proceed: Callable[[], None]
) -> MigrateDialog:
    """Open :class:`MigrateDialog`; ``proceed`` runs only if the specialist chooses to resume."""
    dialog = MigrateDialog(questions, parent)

    def done(result: int) -> None:
        dialog.deleteLater()
        if result == QDialog.DialogCode.Accepted:
            proceed()

    dialog.finished.connect(done)
    dialog.open()
    return dialog


class SetAsidePanel(QFrame):
    """The answers a form update set aside, read-only, in the draft they belong to."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("setAsidePanel")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        self.heading = QLabel(
            self.tr(
                "Answers set aside when the form was updated (read only; enter them again "
                "where they still apply):"
            ),
            self,
        )
        self.heading.setWordWrap(True)
        layout.addWidget(self.heading)
        self.tree = QTreeWidget(self)
        self.tree.setObjectName("setAsideList")
        self.tree.setAccessibleName(self.tr("Answers set aside"))
        self.tree.setHeaderLabels([self.tr("Question"), self.tr("Earlier answer"), self.tr("Why")])
        self.tree.setRootIsDecorated(False)
        self.tree.setMaximumHeight(140)
        layout.addWidget(self.tree)
        self.hide()

    def show_entries(self, entries: Sequence[SetAside]) -> None:
        self.tree.clear()
        for entry in entries:
            item = QTreeWidgetItem([f"{entry.form}: {entry.label}", entry.value, entry.reason])
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            self.tree.addTopLevelItem(item)
        self.setVisible(bool(entries))
