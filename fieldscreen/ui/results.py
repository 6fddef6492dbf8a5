"""Results: tier, concerns, deadlines with countdowns, consent-filtered referrals, finalise.

The referral sheet is written with Qt's own PDF writer (:class:`QPdfWriter`), only to a file
the user picks, after a warning that the file is readable by anyone who gets it.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMarginsF, QTimer, Signal
from PySide6.QtGui import QPageLayout, QPageSize, QPdfWriter, QTextDocument
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from fieldscreen.errors import KnownError
from fieldscreen.ui.common import (
    PassphraseDialog,
    ReasonDialog,
    Services,
    countdown,
    heading,
    primary_button,
    scale_font,
    show_error,
    tier_label,
)
from fieldscreen.ui.ports import ACT_NOW, TIERS, ScreeningResult, ScreeningSession, result_to_json
from fieldscreen.ui.wizard import WizardController

__all__ = ["FOLLOW_UP_HOURS", "ResultsPage", "referral_sheet_html", "write_referral_sheet"]

#: First follow-up after finalising, by tier (the response times of the risk-tier list).
FOLLOW_UP_HOURS = {"T0": 0, "T1": 24, "T2": 72, "T3": 168}


def referral_sheet_html(
    code: str, result: ScreeningResult, title: str, labels: dict[str, str]
) -> str:
    """The referral sheet: case code, tier, deadlines and the consented referrals only."""
    rows = "".join(
        f"<tr><td>{html.escape(r.label)}</td><td>{html.escape(r.provider or '-')}</td>"
        f"<td>{html.escape(r.contact)}</td></tr>"
        for r in result.referrals
        if r.consented
    )
    deadlines = "".join(
        f"<li>{html.escape(d.label)}: {d.due.astimezone().strftime('%Y-%m-%d %H:%M')}</li>"
        for d in result.deadlines
    )
    return (
        f"<h1>{html.escape(title)}</h1>"
        f"<p><b>{html.escape(labels['code'])}</b> {html.escape(code)}<br>"
        f"<b>{html.escape(labels['tier'])}</b> {html.escape(tier_label(result.tier))}</p>"
        f"<h2>{html.escape(labels['deadlines'])}</h2><ul>{deadlines}</ul>"
        f"<h2>{html.escape(labels['referrals'])}</h2>"
        f"<table border='1' cellpadding='4' cellspacing='0'>{rows}</table>"
        f"<p><i>{html.escape(labels['footer'])}</i></p>"
    )


def write_referral_sheet(path: Path, document_html: str) -> None:
    writer = QPdfWriter(str(path))
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    writer.setPageMargins(QMarginsF(15, 15, 15, 15), QPageLayout.Unit.Millimeter)
    writer.setTitle("Referral sheet")
    writer.setCreator("FieldScreen")
    document = QTextDocument()
    document.setHtml(document_html)
    document.print_(writer)


class ResultsPage(QWidget):
    will_finalise = Signal()
    did_finalise = Signal()
    back_requested = Signal()

    def __init__(self, services: Services, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("resultsPage")
        self.services = services
        self.controller: WizardController | None = None
        self.session: ScreeningSession | None = None
        self.result: ScreeningResult | None = None
        self.overrides: dict[str, str] = {}
        outer = QVBoxLayout(self)
        outer.setContentsMargins(24, 16, 24, 16)
        outer.addWidget(heading(self.tr("Results of this screening"), self))
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        body = QWidget(scroll)
        body.setMaximumWidth(900)
        self.column = QVBoxLayout(body)
        self.column.setSpacing(10)
        self.tier = QLabel("", body)
        self.tier.setObjectName("tierBadge")
        scale_font(self.tier, 1.4, bold=True)
        self.tier.setWordWrap(True)
        self.column.addWidget(self.tier)
        self.alerts = QLabel("", body)
        self.alerts.setObjectName("actNowBody")
        self.alerts.setWordWrap(True)
        self.column.addWidget(self.alerts)
        self.concerns = QLabel("", body)
        self.concerns.setWordWrap(True)
        self.column.addWidget(heading(self.tr("Protection concerns"), body, "sectionTitle"))
        self.column.addWidget(self.concerns)
        self.column.addWidget(heading(self.tr("Deadlines"), body, "sectionTitle"))
        self.deadlines = QLabel("", body)
        self.deadlines.setObjectName("deadlines")
        self.deadlines.setWordWrap(True)
        self.column.addWidget(self.deadlines)
        self.column.addWidget(heading(self.tr("Suggested referrals"), body, "sectionTitle"))
        self.referrals = QLabel("", body)
        self.referrals.setWordWrap(True)
        self.referrals.setTextFormat(self.referrals.textFormat().RichText)
        self.column.addWidget(self.referrals)
        self.actions_label = heading(
            self.tr("Actions taken (required for an act-now case)"), body, "sectionTitle"
        )
        self.column.addWidget(self.actions_label)
        self.actions_taken = QPlainTextEdit(body)
        self.actions_taken.setTabChangesFocus(True)
        self.actions_taken.setAccessibleName(self.tr("Actions taken"))
        self.actions_taken.setMaximumHeight(110)
        self.actions_taken.textChanged.connect(self._enable_finalise)
        self.column.addWidget(self.actions_taken)
        self.finalise_hint = QLabel(
            self.tr("Record the actions taken before finalising an act-now case."), body
        )
        self.finalise_hint.setObjectName("fieldMessage")
        self.finalise_hint.setWordWrap(True)
        self.column.addWidget(self.finalise_hint)
        self.column.addStretch(1)
        scroll.setWidget(body)
        outer.addWidget(scroll, 1)
        buttons = QHBoxLayout()
        self.back = QPushButton(self.tr("&Back to the form"), self)
        self.override = QPushButton(self.tr("&Override tier…"), self)
        self.release = QPushButton(self.tr("&Release a referral…"), self)
        self.release.setToolTip(
            self.tr(
                "A referral withheld by a risk (for example the consulate when the child fears "
                "the state) or declined by the child can be made only with a reason and a "
                "supervisor's sign-off."
            )
        )
        self.sheet = QPushButton(self.tr("Referral &sheet (PDF)…"), self)
        self.finalise = primary_button(self.tr("&Finalise screening"), self)
        for button in (self.back, self.override, self.release, self.sheet):
            button.setObjectName("secondary")
            button.setAccessibleName(button.text().replace("&", "").rstrip("…"))
        buttons.addWidget(self.back)
        buttons.addStretch(1)
        buttons.addWidget(self.override)
        buttons.addWidget(self.release)
        buttons.addWidget(self.sheet)
        buttons.addWidget(self.finalise)
        outer.addLayout(buttons)
        self.back.clicked.connect(self.back_requested)
        self.override.clicked.connect(self._override)
        self.release.clicked.connect(self._release)
        self.sheet.clicked.connect(self._save_sheet)
        self.finalise.clicked.connect(self._finalise)
        self._clock = QTimer(self)
        self._clock.setInterval(30_000)
        self._clock.timeout.connect(self._render_deadlines)

    @property
    def tier_now(self) -> str:
        assert self.result is not None
        return self.overrides.get("tier", self.result.tier)

    def show_session(self, controller: WizardController) -> None:
        self.controller = controller
        session = controller.session
        self.session = session
        self.result = session.result(self.services.lang)
        self.overrides = {}
        self.actions_taken.clear()
        self._render()
        self._clock.start()

    def clear(self) -> None:
        self._clock.stop()
        self.controller = None
        self.session = None
        self.result = None
        for label in (self.tier, self.alerts, self.concerns, self.deadlines, self.referrals):
            label.clear()
        self.actions_taken.clear()

    def _render(self) -> None:
        assert self.result is not None
        result = self.result
        tier = self.tier_now
        text = self.tr("Risk tier: %s") % tier_label(tier)
        if "tier" in self.overrides:
            text += "  " + self.tr("(overridden from %s)") % tier_label(result.tier)
        self.tier.setText(text)
        self.tier.setProperty("tier", tier)
        self.tier.style().unpolish(self.tier)
        self.tier.style().polish(self.tier)
        act_now = [a.message for a in result.alerts if a.tier == ACT_NOW]
        self.alerts.setText("\n".join(f"⚠ {m}" for m in act_now))
        self.alerts.setVisible(bool(act_now))
        self.concerns.setText(
            "\n".join(f"• {c}" for c in result.concerns) or self.tr("None found.")
        )
        lines = []
        for r in result.referrals:
            where = ", ".join(html.escape(x) for x in (r.provider, r.contact) if x)
            who = f"<b>{html.escape(r.label)}</b>" + (f": {where}" if where else "")
            if not r.consented:
                if r.status == "withheld":
                    why = self.tr(
                        "withheld: a risk found in this screening holds back sharing with this "
                        "recipient; only a supervisor can release it, with a reason"
                    )
                elif r.status == "declined":
                    why = self.tr("not made: the child declined this service")
                else:
                    why = self.tr("not shared: the child did not consent to this recipient")
                who += " — <i>" + html.escape(why) + "</i>"
            lines.append(who)
        self.referrals.setText("<br>".join(lines) or html.escape(self.tr("None suggested.")))
        self.release.setVisible(
            callable(getattr(self.session, "release_referral", None))
            and any(r.status in {"withheld", "declined"} for r in result.referrals)
        )
        needs_actions = tier == ACT_NOW
        self.actions_label.setVisible(needs_actions)
        self.actions_taken.setVisible(needs_actions)
        self._render_deadlines()
        self._enable_finalise()

    def _render_deadlines(self) -> None:
        if self.result is None:
            return
        now = datetime.now(UTC)
        self.deadlines.setText(
            "\n".join(f"• {d.label}: {countdown(d.due, now)}" for d in self.result.deadlines)
            or self.tr("None.")
        )

    def _enable_finalise(self) -> None:
        if self.result is None:
            self.finalise.setEnabled(False)
            return
        ok = self.tier_now != ACT_NOW or bool(self.actions_taken.toPlainText().strip())
        self.finalise.setEnabled(ok)
        self.finalise_hint.setVisible(not ok)
        self.finalise.setToolTip(
            "" if ok else self.tr("Record the actions taken before finalising an act-now case.")
        )

    # ------------------------------------------------------------- override
    def _override(self) -> None:
        if self.result is None:
            return
        dialog = ReasonDialog(
            self.tr("Override the risk tier"),
            self.tr(
                "Both the computed and the new tier are kept. Give the reason; a supervisor "
                "signs off with their passphrase next."
            ),
            self,
            choices=[(t, tier_label(t)) for t in TIERS if t != self.result.tier],
        )
        dialog.setObjectName("overrideDialog")
        dialog.finished.connect(lambda code: self._override_reasoned(dialog, code))
        dialog.open()

    def _release(self) -> None:
        if self.result is None:
            return
        held = [
            (r.service_type, r.label)
            for r in self.result.referrals
            if r.status in {"withheld", "declined"}
        ]
        dialog = ReasonDialog(
            self.tr("Release a withheld or declined referral"),
            self.tr(
                "Only when it protects the child, for example a life-threatening injury or "
                "documents the child agrees to. Give the reason; a supervisor signs off with "
                "their passphrase next."
            ),
            self,
            choices=held,
        )
        dialog.setObjectName("releaseDialog")
        dialog.finished.connect(lambda code: self._release_reasoned(dialog, code))
        dialog.open()

    def _release_reasoned(self, dialog: ReasonDialog, code: int) -> None:
        if code != QDialog.DialogCode.Accepted:
            return

        def released(supervisor: str) -> None:
            route = getattr(self.session, "release_referral", None)
            if not callable(route) or self.session is None:
                return
            try:
                route(str(dialog.choice.currentData()), dialog.text, supervisor)
            except KnownError as error:
                show_error(self, error, self.services.lang)
                return
            self.result = self.session.result(self.services.lang)
            self._render()

        self._sign_off(self.tr("A coordinator or administrator confirms this release."), released)

    def _sign_off(self, text: str, then: Callable[[str], None]) -> None:
        """Ask a coordinator or administrator other than the screener for their passphrase;
        ``then(name)`` once they have signed."""
        me = self.services.user.name if self.services.user else ""
        users = [
            u
            for u in self.services.vault.users()
            if u.role in {"coordinator", "admin"} and u.name != me  # nobody signs off their own
        ]
        sign = PassphraseDialog(
            self.tr("Supervisor sign-off"),
            text,
            users,
            self.services.vault.verify,
            self.services.ops,
            self,
        )
        sign.setObjectName("signOffDialog")

        def signed(result: int) -> None:
            sign.take_passphrase()  # a sign-off needs only the name it proved
            if result == QDialog.DialogCode.Accepted:
                then(sign.signed_by)

        sign.finished.connect(signed)
        sign.open()

    def _override_reasoned(self, dialog: ReasonDialog, code: int) -> None:
        if code != QDialog.DialogCode.Accepted:
            return
        me = self.services.user.name if self.services.user else ""
        users = [
            u
            for u in self.services.vault.users()
            if u.role in {"coordinator", "admin"} and u.name != me  # nobody signs off their own
        ]
        sign = PassphraseDialog(
            self.tr("Supervisor sign-off"),
            self.tr("A coordinator or administrator confirms this override."),
            users,
            self.services.vault.verify,
            self.services.ops,
            self,
        )
        sign.setObjectName("signOffDialog")

        def signed(result: int) -> None:
            sign.take_passphrase()  # a sign-off needs only the name it proved
            if result != QDialog.DialogCode.Accepted:
                return
            route = getattr(self.session, "override_tier", None)
            if callable(route):  # the engine keeps it in the screening's state
                try:
                    route(str(dialog.choice.currentData()), dialog.text, sign.signed_by)
                except KnownError as error:
                    show_error(self, error, self.services.lang)
                    return
            self.overrides = {
                "tier": str(dialog.choice.currentData()),
                "reason": dialog.text,
                "supervisor": sign.signed_by,
            }
            self._render()

        sign.finished.connect(signed)
        sign.open()

    # ------------------------------------------------------------ finalise
    def record_and_card(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The full record to seal, and the case card kept for follow-up."""
        assert self.session is not None
        assert self.result is not None
        session, result = self.session, self.result
        actions = self.actions_taken.toPlainText().strip()
        summary = result_to_json(result)
        record = {
            "form_id": session.form_id,
            "form_version": session.form_version,
            "state": session.to_state(),
            "result": summary,
            "tier": self.tier_now,
            "actions_taken": actions,
            "overrides": dict(self.overrides),
        }
        now = datetime.now(UTC)
        dues = [d.due for d in result.deadlines]
        if self.tier_now in FOLLOW_UP_HOURS:
            dues.append(now + timedelta(hours=FOLLOW_UP_HOURS[self.tier_now]))
        card = {
            **session.case_card(),
            "tier": self.tier_now,
            "computed_tier": result.tier,
            "concerns": summary["concerns"],
            "deadlines": summary["deadlines"],
            "referrals": summary["referrals"],
            "next_due": min(dues).isoformat() if dues else None,
        }
        return record, card

    def _finalise(self) -> None:
        if self.controller is None or self.result is None or not self.finalise.isEnabled():
            return
        record, card = self.record_and_card()
        aggregate = self._aggregate()
        self.finalise.setEnabled(False)
        self.will_finalise.emit()
        self.controller.finalise(
            record, card, lambda _: self.did_finalise.emit(), self._failed, aggregate=aggregate
        )

    def _aggregate(self) -> dict[str, Any] | None:
        """The screening's aggregate record, from the forms' marks (None: statistics declined,
        or a session that cannot give one)."""
        make = getattr(self.controller.session if self.controller else None, "aggregate", None)
        return make(datetime.now(UTC).date()) if callable(make) else None

    def _failed(self, error: KnownError) -> None:
        self._enable_finalise()
        show_error(self, error, self.services.lang)

    # ---------------------------------------------------------- the sheet
    def sheet_html(self) -> str:
        assert self.result is not None
        labels = {
            "code": self.tr("Case code:"),
            "tier": self.tr("Risk tier:"),
            "deadlines": self.tr("Deadlines"),
            "referrals": self.tr("Referrals (only those the child consented to)"),
            "footer": self.tr(
                "Confidential. Hand this sheet only to the services listed. Destroy it after use."
            ),
        }
        return referral_sheet_html(
            self.controller.code if self.controller else "",
            self.result,
            self.tr("Referral sheet"),
            labels,
        )

    def _save_sheet(self) -> None:
        if self.result is None:
            return
        warning = QMessageBox(
            QMessageBox.Icon.Warning,
            self.tr("The PDF is not encrypted"),
            self.tr(
                "Anyone who gets this file can read it. Save it only where you must (a USB "
                "drive you keep with you, or print it), and delete it after use."
            ),
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Cancel,
            self,
        )
        warning.setObjectName("pdfWarning")

        def chosen(button: int) -> None:
            if button != QMessageBox.StandardButton.Save:
                return
            name, _ = QFileDialog.getSaveFileName(
                self, self.tr("Save the referral sheet"), "", self.tr("PDF files (*.pdf)")
            )
            if name:
                self.save_sheet_to(Path(name))

        warning.finished.connect(chosen)
        warning.open()

    def save_sheet_to(self, path: Path) -> None:
        if path.suffix.lower() != ".pdf":
            path = path.with_suffix(".pdf")
        try:
            write_referral_sheet(path, self.sheet_html())
        except OSError as exc:
            show_error(self, KnownError("io-error", detail=type(exc).__name__), self.services.lang)
