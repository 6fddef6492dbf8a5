"""The screening wizard: pages per group, live skip logic, autosave, the act-now alert.

:class:`WizardController` owns the session and the autosave; :class:`WizardPage` only shows what
the controller says and forwards what the user does. The "Saved" indicator turns on only when
the write for the latest answer has returned on the writer thread (the durable commit); while a
write is in flight, further answers are coalesced into one following write of the newest state.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import QObject, QPoint, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from fieldscreen.errors import KnownError
from fieldscreen.forms.model import MEDIA_KINDS
from fieldscreen.ui.common import (
    ReasonDialog,
    Services,
    primary_button,
    scale_font,
    show_error,
    tier_label,
)
from fieldscreen.ui.fields import FieldWidget, RepeatWidget, make_field_widget
from fieldscreen.ui.ports import ACT_NOW, PageView, ScreeningSession, Update, record_code

__all__ = ["ActNowBanner", "WizardController", "WizardPage"]


class WizardController(QObject):
    """The logic of one screening on screen: answers in, updates and save state out.

    The record id comes from the store with the first save; every later save goes to it. The
    id lives in a holder that the writer thread fills, so saves queued before the first one
    returned still reach the same record (the writer runs them in order).
    """

    did_update = Signal(object)  # Update
    save_state = Signal(str)  # "saving", "saved", "failed"

    def __init__(
        self,
        services: Services,
        session: ScreeningSession,
        page: str = "",
        record_id: str | None = None,
    ) -> None:
        super().__init__()
        self.services = services
        self.session = session
        self.page = page
        self._holder: dict[str, str] = {"id": record_id} if record_id else {}
        self._dirty = False
        self._in_flight = False
        self._closed = False
        self.last_error: KnownError | None = None
        self.saves_acknowledged = 0

    @property
    def record_id(self) -> str | None:
        return self._holder.get("id")

    @property
    def id_holder(self) -> Mapping[str, str]:
        """Where the draft's id is kept (key ``"id"``): the first save fills it on the serial
        writer, so a job queued after the saves (on the same writer) reads the id they left,
        even when the first save was still in flight as the job was queued."""
        return self._holder

    @property
    def code(self) -> str:
        rid = self.record_id
        return record_code(rid) if rid else ""

    def answer(self, name: str, value: Any) -> Update:
        update = self.session.set_answer(name, value, self.services.lang)
        self.did_update.emit(update)
        self.autosave()
        return update

    def snapshot(self) -> dict[str, Any]:
        return {"session": self.session.to_state(), "page": self.page}

    def _job(self, state: Mapping[str, Any]) -> Callable[[], str]:
        holder, vault = self._holder, self.services.vault
        form_id, version = self.session.form_id, self.session.form_version

        def job() -> str:
            rid = holder.get("id")
            if rid is None:
                rid = vault.new_draft(form_id, version, state)
                holder["id"] = rid
            else:
                vault.save_draft(rid, state)
            return rid

        return job

    def autosave(self) -> None:
        if self._closed:
            return
        self._dirty = True
        self.save_state.emit("saving")
        if not self._in_flight:
            self._flush()

    @property
    def saving(self) -> bool:
        return self._in_flight or self._dirty

    def _flush(self) -> None:
        self._dirty = False
        self._in_flight = True
        # The snapshot is taken on the GUI thread; the worker only encrypts and writes it.
        self.services.ops.write(self._job(self.snapshot()), self._saved, self._failed)

    def save_now(self, extra: Mapping[str, Any] | None = None) -> None:
        """Queue the current state at once (behind any write in flight) and stop autosaving.

        Used before a lock, a pause, a stop or closing: the serial writer runs it before
        anything queued after it (such as locking the vault), so nothing typed is left unsaved.
        """
        if self._closed:
            return
        self._dirty = False
        self._in_flight = True
        state = {**self.snapshot(), **(extra or {})}
        self.services.ops.write(self._job(state), self._saved, self._failed)
        self._closed = True

    def finalise(
        self,
        record: Mapping[str, Any],
        case_card: Mapping[str, Any],
        on_done: Callable[[Any], None],
        on_error: Callable[[KnownError], None],
        aggregate: Mapping[str, Any] | None = None,
    ) -> None:
        """Queue the finalising write after any save in flight; no autosave follows it."""
        self.close()
        holder, vault = self._holder, self.services.vault
        draft = self._job(self.snapshot())

        def job() -> str:
            rid = holder.get("id") or draft()
            vault.finalise(rid, record, case_card, aggregate)
            return rid

        self.services.ops.write(job, on_done, on_error)

    def close(self) -> None:
        """No more saves from this controller (the screening was finalised or dropped).

        A write already handed to the serial writer still runs, before anything queued later.
        """
        self._closed = True
        self._dirty = False

    def _saved(self, _: object) -> None:
        self._in_flight = False
        self.saves_acknowledged += 1
        if self._dirty and not self._closed:
            self._flush()
        else:
            self.save_state.emit("saved")

    def _failed(self, error: KnownError) -> None:
        self._in_flight = False
        self.last_error = error
        self.save_state.emit("failed")


class ActNowBanner(QFrame):
    """The act-now alert: a red band with an icon, plain words and what to do."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("actNow")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(18, 14, 18, 14)
        icon = QLabel("⚠", self)
        icon.setObjectName("actNowIcon")
        scale_font(icon, 2.4, bold=True)
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        layout.addWidget(icon)
        column = QVBoxLayout()
        self.title = QLabel(self.tr("ACT NOW: this child may be in immediate danger"), self)
        self.title.setObjectName("actNowTitle")
        scale_font(self.title, 1.35, bold=True)
        self.title.setWordWrap(True)
        self.body = QLabel("", self)
        self.body.setObjectName("actNowBody")
        scale_font(self.body, 1.1)
        self.body.setWordWrap(True)
        column.addWidget(self.title)
        column.addWidget(self.body)
        layout.addLayout(column, 1)
        self.hide()

    def show_alerts(self, messages: list[str]) -> None:
        if not messages:
            self.hide()
            return
        self.body.setText("\n".join(f"• {m}" for m in messages))
        self.setAccessibleName(self.title.text())
        self.setAccessibleDescription(self.body.text())
        self.show()


class WizardPage(QWidget):
    """The wizard's view. Emits when the user leaves it; never touches the vault itself."""

    did_pause = Signal()
    did_stop = Signal()
    review_requested = Signal()

    def __init__(self, services: Services, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("wizardPage")
        self.services = services
        self.controller: WizardController | None = None
        self.widgets: dict[str, FieldWidget] = {}
        self._pages: list[PageView] = []
        self._page_widgets: dict[str, QWidget] = {}
        # Why the page count changed since the form began (shown beside the count).
        self._count_reason = ""

        outer = QVBoxLayout(self)
        outer.setContentsMargins(24, 16, 24, 16)
        header = QHBoxLayout()
        self.title = QLabel("", self)
        self.title.setObjectName("pageTitle")
        scale_font(self.title, 1.5, bold=True)
        header.addWidget(self.title, 1)
        self.tier = QLabel("", self)
        self.tier.setObjectName("tierChip")
        header.addWidget(self.tier)
        self.saved = QLabel("", self)
        self.saved.setObjectName("savedIndicator")
        self.saved.setAccessibleName(self.tr("Save status"))
        header.addWidget(self.saved)
        outer.addLayout(header)
        self._progress_row = progress_row = QHBoxLayout()
        self.progress_text = QLabel("", self)
        self.progress = QProgressBar(self)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(8)
        self.progress.setAccessibleName(self.tr("Progress"))
        # A changed count says why beside it: wrapped, and sharing the row with the bar.
        self.progress_text.setWordWrap(True)
        progress_row.addWidget(self.progress_text)
        progress_row.addWidget(self.progress, 3)
        outer.addLayout(progress_row)
        self.banner = ActNowBanner(self)
        outer.addWidget(self.banner)
        self._missing_notice = ""  # the notice Next showed for answers missing on this page
        self.notice = QLabel("", self)
        self.notice.setObjectName("notice")
        self.notice.setWordWrap(True)
        self.notice.hide()
        outer.addWidget(self.notice)
        from fieldscreen.ui.draft_dialogs import SetAsidePanel

        self.set_aside = SetAsidePanel(self)
        outer.addWidget(self.set_aside)
        self.stack = QStackedWidget(self)
        outer.addWidget(self.stack, 1)

        buttons = QHBoxLayout()
        self.back = QPushButton(self.tr("&Back"), self)
        self.pause = QPushButton(self.tr("&Pause and save"), self)
        self.stop = QPushButton(self.tr("S&top interview…"), self)
        self.next = primary_button(self.tr("&Next"), self)
        for button in (self.back, self.pause, self.stop):
            button.setObjectName("secondary")
            button.setAccessibleName(button.text().replace("&", ""))
        buttons.addWidget(self.back)
        buttons.addStretch(1)
        buttons.addWidget(self.pause)
        buttons.addWidget(self.stop)
        buttons.addWidget(self.next)
        outer.addLayout(buttons)
        self.back.clicked.connect(lambda: self.go(self.stack.currentIndex() - 1))
        self.next.clicked.connect(self._next)
        self.pause.clicked.connect(self._pause)
        self.stop.clicked.connect(self._stop)

    # ------------------------------------------------------------- building
    def open(
        self,
        session: ScreeningSession,
        page: str = "",
        record_id: str | None = None,
        *,
        saved: bool | None = None,
    ) -> WizardController:
        """Show ``session``, restored exactly (answers, page), e.g. from a draft.

        ``saved`` says whether it is stored as shown; by default a session with a record is (a
        draft loaded from the vault, say after an unlock), and the header says "✓ Saved".
        """
        self.close_session()
        controller = WizardController(self.services, session, page, record_id)
        controller.did_update.connect(self._apply)
        controller.save_state.connect(self._show_save_state)
        self.controller = controller
        self._sync_pages()
        for name, widget in self.widgets.items():
            widget.set_value(session.value(name))
        self._apply(session.current(self.services.lang), announce=False)
        names = [p.name for p in self._pages]
        target = names.index(page) if page in names else 0
        if self._pages:  # opening shows the draft; it writes nothing until the specialist acts
            controller.page = self._pages[target].name
        self.go(target)
        self.set_aside.show_entries(session.set_aside(self.services.lang))
        self._show_save_state(
            "saved" if (record_id is not None if saved is None else saved) else ""
        )
        return controller

    def note_migrated(self, *, kept_all: bool) -> None:
        """The quiet note after a draft of an earlier form version was opened."""
        if kept_all:
            text = self.tr(
                "This draft was started with an earlier version of the form; all answers were kept."
            )
        else:
            text = self.tr(
                "This draft was started with an earlier version of the form; the answers that "
                "no longer fit are shown below, set aside."
            )
        self.notice.setText(text)
        self.notice.show()

    def close_session(self) -> None:
        """Drop the session and every widget that showed its answers."""
        if self.controller is not None:
            self.controller.did_update.disconnect(self._apply)
            self.controller.save_state.disconnect(self._show_save_state)
            self.controller = None
        self.widgets.clear()
        self._pages = []
        self._count_reason = ""
        while (widget := self.stack.widget(0)) is not None:
            self.stack.removeWidget(widget)
            widget.deleteLater()
        self._page_widgets.clear()
        self.banner.hide()
        self.notice.hide()
        self.set_aside.show_entries(())

    def _sync_pages(self) -> None:
        assert self.controller is not None
        pages = list(self.controller.session.pages(self.services.lang))
        wanted = {p.name for p in pages}
        for name in list(self._page_widgets):
            if name not in wanted:
                widget = self._page_widgets.pop(name)
                for field in [n for n, w in self.widgets.items() if _inside(w, widget)]:
                    del self.widgets[field]
                self.stack.removeWidget(widget)
                widget.deleteLater()
        for index, page in enumerate(pages):
            if page.name not in self._page_widgets:
                widget = self._build_page(page)
                self._page_widgets[page.name] = widget
                self.stack.insertWidget(index, widget)
        if self._pages:  # not the first build: say why the page count changes
            before = {p.name for p in self._pages}
            added = [p.title for p in pages if p.name not in before]
            removed = [p.title for p in self._pages if p.name not in wanted]
            parts = []
            if added:
                parts.append(self._added_sentence(added))
            if removed:
                parts.append(self._removed_sentence(removed))
            if parts:
                self._count_reason = " ".join(parts)
        self._pages = pages

    def _added_sentence(self, titles: list[str]) -> str:
        """Why the count grew, as a sentence: one page by its title; several by their number
        and the first one's title."""
        if len(titles) == 1:
            return self.tr("An answer added the page “%1”.").replace("%1", titles[0])
        return (
            self.tr("An answer added %1 pages; the first is “%2”.")
            .replace("%1", str(len(titles)))
            .replace("%2", titles[0])
        )

    def _removed_sentence(self, titles: list[str]) -> str:
        """Why the count shrank, as a sentence (not "no longer needed: B. …")."""
        if len(titles) == 1:
            return self.tr("After an answer, the page “%1” is no longer needed.").replace(
                "%1", titles[0]
            )
        return (
            self.tr("After an answer, %1 pages are no longer needed; the first is “%2”.")
            .replace("%1", str(len(titles)))
            .replace("%2", titles[0])
        )

    def _build_page(self, page: PageView) -> QWidget:
        scroll = QScrollArea(self.stack)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        body = QWidget(scroll)
        body.setObjectName("formBody")
        column = QVBoxLayout(body)
        column.setContentsMargins(4, 4, 16, 4)
        column.setSpacing(10)
        for view in page.fields:
            widget = make_field_widget(view, body)
            widget.answer_changed.connect(lambda value, name=view.name: self._answered(name, value))
            if isinstance(widget, RepeatWidget) and view.fillable:
                widget.fill_requested.connect(lambda name=view.name: self.fill_repeat(name))
            self.widgets[view.name] = widget
            column.addWidget(widget)
        column.addStretch(1)
        body.setMaximumWidth(900)
        scroll.setWidget(body)
        return scroll

    # -------------------------------------------------------------- answers
    def fill_repeat(self, name: str) -> None:
        """Add the screening's suggestions to repeat ``name`` as rows the specialist can edit."""
        if self.controller is None:
            return
        rows = self.controller.session.fill_from_suggestions(name, self.services.lang)
        if rows is None:
            return
        before = self.controller.session.value(name) or []
        added = len(rows) - len(before)
        if added > 0:
            self.widgets[name].set_value(rows)
            self._answered(name, rows)
            self.notice.setText(
                self.tr("%d suggested rows added. Check each one and complete or remove it.")
                % added
            )
        else:
            self.notice.setText(self.tr("Every suggestion is already listed."))
        self.notice.show()

    def _answered(self, name: str, value: Any) -> None:
        if self.controller is None:
            return
        self.controller.answer(name, value)
        widget = self.widgets.get(name)
        if widget is not None and widget.view.kind in MEDIA_KINDS:  # show the attachment's name
            widget.set_value(self.controller.session.value(name))

    def _apply(self, update: Update, announce: bool = True) -> None:
        if self.controller is None:
            return
        if update.opened or len(self.controller.session.pages(self.services.lang)) != len(
            self._pages
        ):
            current = self.current_page_name()
            self._sync_pages()
            names = [p.name for p in self._pages]
            if current in names:
                self.stack.setCurrentIndex(names.index(current))
            for name, widget in self.widgets.items():
                widget.set_value(self.controller.session.value(name))
        if announce and update.opened:
            self.notice.setText(
                self.tr("Added to this screening: %s. It follows the current page.")
                % ", ".join(update.opened)
            )
            self.notice.show()
        for name, widget in self.widgets.items():
            widget.setVisible(update.relevant.get(name, True))
            if name in update.errors:
                widget.set_message(update.errors[name])
            elif widget.message.isVisible() and (
                widget.message.property("kind") != "required"
                or not _unanswered(self.controller.session.value(name))
                or not update.relevant.get(name, True)
            ):
                widget.set_message("")  # a "needed" mark stays until that question is answered
        self.banner.show_alerts([a.message for a in update.alerts if a.tier == ACT_NOW])
        self._show_tier(update)
        self.tier.style().unpolish(self.tier)
        self.tier.style().polish(self.tier)
        self._update_progress()

    def _show_tier(self, update: Update) -> None:
        """The tier so far; "not assessed yet" (neutral, never the green "no current risk")
        while questions that decide it are open and no rule has set a tier."""
        if update.tier == "T4" and update.undecided:
            self.tier.setText(self.tr("Tier: not assessed yet"))
            self.tier.setToolTip(
                self.tr("%d questions that decide the tier have no answer yet.") % update.undecided
            )
            self.tier.setProperty("tier", "")
        else:
            self.tier.setText(self.tr("Tier so far: %s") % tier_label(update.tier))
            self.tier.setToolTip("")
            self.tier.setProperty("tier", update.tier)
        self.tier.setAccessibleName(self.tier.text())

    def _show_save_state(self, state: str) -> None:
        texts = {
            "saving": self.tr("Saving…"),
            "saved": self.tr("✓ Saved"),
            "failed": self.tr("Not saved"),
            "": "",
        }
        self.saved.setText(texts[state])
        self.saved.setProperty("state", state)
        self.saved.style().unpolish(self.saved)
        self.saved.style().polish(self.saved)
        if state == "failed" and self.controller and self.controller.last_error is not None:
            show_error(self, self.controller.last_error, self.services.lang)

    # ----------------------------------------------------------- navigation
    def current_page_name(self) -> str:
        index = self.stack.currentIndex()
        return self._pages[index].name if 0 <= index < len(self._pages) else ""

    def go(self, index: int) -> None:
        if not self._pages:
            return
        index = max(0, min(index, len(self._pages) - 1))
        if self._missing_notice and self.notice.text() == self._missing_notice:
            self.notice.hide()  # it spoke of the page left
        self._missing_notice = ""
        self.stack.setCurrentIndex(index)
        page = self._pages[index]
        if self.controller is not None and self.controller.page != page.name:
            self.controller.page = page.name
            self.controller.autosave()
        self.title.setText(page.title)
        self.back.setEnabled(index > 0)
        last = index == len(self._pages) - 1
        self.next.setText(self.tr("&Review results") if last else self.tr("&Next"))
        self.next.setAccessibleName(self.next.text().replace("&", ""))
        self._update_progress()
        self._fix_tab_order()
        first = next(
            (w for v in page.fields if (w := self.widgets.get(v.name)) and w.isVisibleTo(self)),
            None,
        )
        if first is not None:
            _focus_into(first)

    def _fix_tab_order(self) -> None:
        """Tab goes through the page's fields in reading order, then the buttons.

        Pages are built after the buttons, so Qt's default chain would put them last.
        """
        page = self.stack.currentWidget()
        if page is None:
            return
        window = self.window()
        chain = [
            w
            for w in page.findChildren(QWidget)
            if w.focusPolicy() & Qt.FocusPolicy.TabFocus
            and not isinstance(w, QScrollArea)
            and w.window() is window  # not the popups of combo boxes and calendars
        ]
        chain += [self.back, self.pause, self.stop, self.next]
        for before, after in itertools.pairwise(chain):
            QWidget.setTabOrder(before, after)

    def _update_progress(self) -> None:
        total = max(len(self._pages), 1)
        index = self.stack.currentIndex() + 1
        self.progress.setMaximum(total)
        self.progress.setValue(index)
        text = self.tr("Page %1 of %2").replace("%1", str(index)).replace("%2", str(total))
        if self._count_reason:  # the count changed since the form began: say why
            text += f". {self._count_reason}"
        self.progress_text.setText(text)
        self.progress_text.setToolTip(self._count_reason)
        self._progress_row.setStretchFactor(self.progress_text, 2 if self._count_reason else 0)

    def _next(self) -> None:
        if self.controller is None:
            return
        page = self.current_page_name()
        missing: Mapping[str, str] = self.controller.session.missing_required(
            page, self.services.lang
        )
        for name, widget in self.widgets.items():
            if name in missing:
                widget.set_message(missing[name], "required")
        if missing:
            shown = [w for n in missing if (w := self.widgets.get(n)) is not None]
            if shown:
                first = shown[0]
                _focus_into(first)
                scroll = self.stack.currentWidget()
                if isinstance(scroll, QScrollArea):
                    _scroll_to_heading(scroll, first)
                self._missing_notice = (
                    self.tr("%d answers are needed on this page.") % len(shown)
                    if len(shown) > 1
                    else self.tr("An answer is needed on this page.")
                )
                self.notice.setText(self._missing_notice)
                self.notice.show()
            return
        if self.stack.currentIndex() >= len(self._pages) - 1:
            self.review_requested.emit()
        else:
            self.go(self.stack.currentIndex() + 1)

    def _pause(self) -> None:
        if self.controller is not None:
            self.controller.save_now()
        self.did_pause.emit()

    def _stop_reasons(self) -> list[tuple[str, str]]:
        """The organisation's stop reasons (a shared list of the forms) or the app's own."""
        reasons = list(self.services.forms.stop_reasons(self.services.lang))
        if reasons:
            return reasons
        return [
            ("child_asked", self.tr("The child asked to stop")),
            ("distress", self.tr("The child was too distressed")),
            ("interrupted", self.tr("Interrupted or moved")),
            ("interpreter", self.tr("No interpreter available")),
            ("other", self.tr("Other")),
        ]

    def _stop(self) -> None:
        if self.controller is None:
            return
        dialog = ReasonDialog(
            self.tr("Stop the interview"),
            self.tr(
                "The answers so far stay saved as a draft. Choose why the interview stopped; "
                "a colleague may resume it later."
            ),
            self,
            choices=self._stop_reasons(),
            text_required=False,  # the reason from the list is enough; a note is optional
        )
        dialog.setObjectName("stopDialog")

        def done(result: int) -> None:
            if result != QDialog.DialogCode.Accepted or self.controller is None:
                return
            controller = self.controller
            controller.page = self.current_page_name()
            controller.save_now(
                {"stopped": {"reason": dialog.choice.currentData(), "note": dialog.text}}
            )
            self.did_stop.emit()

        dialog.finished.connect(done)
        dialog.open()


def _focus_into(widget: QWidget) -> None:
    """Put the keyboard focus on the first control inside ``widget`` that takes it."""
    for child in widget.findChildren(QWidget):
        if child.focusPolicy() & Qt.FocusPolicy.TabFocus and child.isVisibleTo(widget):
            child.setFocus(Qt.FocusReason.TabFocusReason)
            return


def _scroll_to_heading(scroll: QScrollArea, field: QWidget) -> None:
    """Scroll so that ``field`` starts at the top of the page, its heading and error in view.

    Qt's ensureWidgetVisible centres a field taller than the page: the middle of a long list,
    the question and its error off screen.
    """
    body = scroll.widget()
    if body is None:
        return
    layout = body.layout()
    if layout is not None:
        layout.activate()
    top = field.mapTo(body, QPoint(0, 0)).y()
    bar = scroll.verticalScrollBar()
    viewport = scroll.viewport().height()
    if top >= bar.value() and top + field.height() <= bar.value() + viewport:
        return  # already wholly in view
    bar.setValue(max(0, top - 8))


def _unanswered(value: Any) -> bool:
    return value is None or value in ("", [], {})


def _inside(widget: QWidget, ancestor: QWidget) -> bool:
    parent = widget.parentWidget()
    while parent is not None:
        if parent is ancestor:
            return True
        parent = parent.parentWidget()
    return False
