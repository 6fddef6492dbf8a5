"""Results: tier, concerns, deadlines with countdowns, consent-filtered referrals, finalise.

The referral sheet is written with Qt's own PDF writer (:class:`QPdfWriter`), only to a file
the user picks, after a warning that the file is readable by anyone who gets it.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMarginsF, Qt, QTimer, Signal
from PySide6.QtGui import QPageLayout, QPageSize, QPdfWriter, QTextDocument
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
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

from fieldscreen.directory import Provider, ServiceDirectory, text_in
from fieldscreen.errors import KnownError
from fieldscreen.followup import Cadence, cadence_of, next_due, schedule
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
from fieldscreen.ui.countries import site_countries
from fieldscreen.ui.ports import ACT_NOW, TIERS, ScreeningResult, ScreeningSession, result_to_json
from fieldscreen.ui.wizard import WizardController

__all__ = ["ResultsPage", "referral_sheet_html", "write_referral_sheet"]

#: The sign-off dialog's result code for "Ask a supervisor later".
_LATER = 2


def _language_names(lang: str) -> dict[str, str]:
    """ISO 639-3 code -> language name in ``lang`` (the forms' ``languages`` list)."""
    try:
        from fieldscreen.forms.library import builtin_list

        return {c.name: c.label.get(lang) for c in builtin_list("languages")}
    except KnownError:
        return {}


def provider_lines(provider: Provider, lang: str, labels: dict[str, str]) -> list[str]:
    """A provider as lines of escaped HTML: name and contact, hours and languages, notes."""
    names = _language_names(lang)
    first = f"<b>{html.escape(text_in(provider.name, lang))}</b>"
    if contact := provider.contact_line(lang):
        first += " — " + html.escape(contact)
    lines = [first]
    details = []
    if hours := text_in(provider.hours, lang):
        details.append(f"{html.escape(labels['hours'])} {html.escape(hours)}")
    if provider.languages:
        spoken = ", ".join(names.get(code, code) for code in provider.languages)
        details.append(f"{html.escape(labels['languages'])} {html.escape(spoken)}")
    if details:
        lines.append("; ".join(details))
    if notes := text_in(provider.notes, lang):
        lines.append(f"<i>{html.escape(notes)}</i>")
    return lines


def referral_sheet_html(  # noqa: PLR0917 (the sheet's parts, in the order they appear)
    code: str,
    result: ScreeningResult,
    title: str,
    labels: dict[str, str],
    directory: ServiceDirectory | None = None,
    lang: str = "en",
    emergency: str = "",
) -> str:
    """The referral sheet: case code, tier, deadlines and the consented referrals only, each
    with the providers of the site's directory that offer it. ``emergency`` (an act-now case):
    the emergency steps and the organisation's emergency contacts, as HTML, under the tier."""
    rows = []
    for r in result.referrals:
        if not r.consented:
            continue
        providers = directory.providers_for(r.service_type) if directory is not None else ()
        cell = "<br>".join(
            "<br>".join(provider_lines(p, lang, labels)) for p in providers
        ) or html.escape(r.provider or labels["no_provider"])
        rows.append(f"<tr><td>{html.escape(r.label)}</td><td>{cell}</td></tr>")
    deadlines = "".join(
        f"<li>{html.escape(d.label)}: {d.due.astimezone().strftime('%Y-%m-%d %H:%M')}</li>"
        for d in result.deadlines
    ) or (f"<li>{html.escape(labels['no_deadlines'])}</li>" if labels.get("no_deadlines") else "")
    sample = ""
    if directory is not None and directory.sample:
        sample = f"<p><b>{html.escape(text_in(directory.notice, lang))}</b></p>"
    return (
        f"<h1>{html.escape(title)}</h1>"
        f"<p><b>{html.escape(labels['code'])}</b> {html.escape(code)}<br>"
        f"<b>{html.escape(labels['tier'])}</b> "
        f"{html.escape(labels.get('tier_value') or tier_label(result.tier))}</p>"
        f"{emergency}"
        f"<h2>{html.escape(labels['deadlines'])}</h2><ul>{deadlines}</ul>"
        f"<h2>{html.escape(labels['referrals'])}</h2>{sample}"
        f"<table border='1' cellpadding='4' cellspacing='0'>{''.join(rows)}</table>"
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
    #: A tier override was left for a supervisor: the screening waits as a draft.
    did_request_override = Signal()
    back_requested = Signal()

    def __init__(self, services: Services, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("resultsPage")
        self.services = services
        self.controller: WizardController | None = None
        self.session: ScreeningSession | None = None
        self.result: ScreeningResult | None = None
        self.undecided = 0  # deciding questions of the shown screening with no answer
        self.overrides: dict[str, str] = {}
        #: The tier the rules gave, before any override.
        self.computed_tier = ""
        # The site's service directory (set by the window once read from the vault).
        self.directory: ServiceDirectory | None = None
        # The time of finalising (tests set a fake clock).
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
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
        # Act now: what to do this minute and whom to call, from the app and the settings, so
        # a laptop without a service directory still shows a usable next step.
        self.emergency_label = heading(self.tr("Emergency steps"), body, "sectionTitle")
        self.column.addWidget(self.emergency_label)
        self.emergency = QLabel("", body)
        self.emergency.setObjectName("emergencySteps")
        self.emergency.setTextFormat(Qt.TextFormat.RichText)
        self.emergency.setWordWrap(True)
        self.emergency.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.column.addWidget(self.emergency)
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
        self.directory_note = QLabel("", body)
        self.directory_note.setObjectName("directoryNote")
        self.directory_note.setTextFormat(Qt.TextFormat.RichText)
        self.directory_note.setWordWrap(True)
        self.directory_note.hide()
        self.column.addWidget(self.directory_note)
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
        # deciding questions with no answer: while any is open, no "no current risk"
        self.undecided = session.current(self.services.lang).undecided
        self.overrides = {}
        self.computed_tier = self.result.tier
        override = session.tier_override()
        if override is not None:  # signed off from the supervisor queue: kept by the engine
            self.overrides = {
                "tier": override.tier,
                "reason": override.reason,
                "supervisor": override.supervisor,
            }
            self.computed_tier = override.computed
        self.actions_taken.clear()
        self._render()
        self._clock.start()

    def not_assessed(self) -> bool:
        """No rule set a tier and questions that decide it have no answer: the result must not
        read as the green "no current risk" (a supervisor's override is a decision, so it is
        shown as it is)."""
        assert self.result is not None
        return "tier" not in self.overrides and self.result.tier == "T4" and self.undecided > 0

    def tier_value(self) -> str:
        """The tier as the results page and the referral sheet say it."""
        if self.not_assessed():
            return (
                self.tr("not assessed (%d questions that decide the tier have no answer)")
                % self.undecided
            )
        return tier_label(self.tier_now)

    def focus_next_step(self) -> None:
        """Put the keyboard on what comes next: the actions taken in an act-now case (it cannot
        be finalised without them), otherwise the finalise button."""
        if self.tier_now == ACT_NOW:
            self.actions_taken.setFocus(Qt.FocusReason.OtherFocusReason)
        else:
            self.finalise.setFocus(Qt.FocusReason.OtherFocusReason)

    def clear(self) -> None:
        self._clock.stop()
        self.controller = None
        self.session = None
        self.result = None
        for label in (
            self.tier,
            self.alerts,
            self.emergency,
            self.concerns,
            self.deadlines,
            self.referrals,
        ):
            label.clear()
        self.directory_note.clear()
        self.actions_taken.clear()

    def _render(self) -> None:
        assert self.result is not None
        result = self.result
        tier = self.tier_now
        text = self.tr("Risk tier: %s") % self.tier_value()
        if "tier" in self.overrides:
            text += "  " + self.tr("(overridden from %s)") % tier_label(self.computed_tier)
        self.tier.setText(text)
        self.tier.setProperty("tier", "" if self.not_assessed() else tier)
        self.tier.style().unpolish(self.tier)
        self.tier.style().polish(self.tier)
        act_now = [a.message for a in result.alerts if a.tier == ACT_NOW]
        self.alerts.setText("\n".join(f"⚠ {m}" for m in act_now))
        self.alerts.setVisible(bool(act_now))
        self.concerns.setText(
            "\n".join(f"• {c}" for c in result.concerns) or self.tr("None found.")
        )
        self._render_referrals()
        self.release.setVisible(any(r.status in {"withheld", "declined"} for r in result.referrals))
        needs_actions = tier == ACT_NOW
        self._render_emergency(needs_actions)
        self.actions_label.setVisible(needs_actions)
        self.actions_taken.setVisible(needs_actions)
        self._render_deadlines()
        self._enable_finalise()

    def _render_emergency(self, act_now: bool) -> None:
        self.emergency_label.setVisible(act_now)
        self.emergency.setVisible(act_now)
        if not act_now:
            self.emergency.clear()
            return
        steps = [
            self.tr(
                "Stay with the child, or make sure a trusted colleague does; never leave the "
                "child alone with the person they fear."
            ),
            self.tr(
                "Call your organisation's emergency contact now, and the emergency services "
                "if someone's life or health is in danger."
            ),
            self.tr("Tell your protection lead or supervisor before the child leaves."),
            self.tr('Write what you did under "Actions taken" below.'),
        ]
        parts = ["<ol>", *(f"<li>{html.escape(s)}</li>" for s in steps), "</ol>"]
        parts.append(self._contacts_html())
        self.emergency.setText("".join(parts))

    def _contacts_html(self) -> str:
        """The organisation's emergency contacts from the settings (or whom to call without)."""
        raw = str(self.services.settings.get("emergency_contacts") or "")
        contacts = [c.strip() for c in raw.replace("\n", ";").split(";") if c.strip()]
        title = self.tr("Emergency contacts")  # a call of its own: the string scan skips f-strings
        parts: list[str] = [f"<p><b>{html.escape(title)}</b></p>"]
        if contacts:
            parts += ["<ul>", *(f"<li>{html.escape(c)}</li>" for c in contacts), "</ul>"]
        else:
            parts.append(
                "<p>⚠ "
                + html.escape(
                    self.tr(
                        "No emergency contacts are set on this laptop: call your supervisor. "
                        "An administrator adds them in Settings."
                    )
                )
                + "</p>"
            )
        return "".join(parts)

    def set_directory(self, directory: ServiceDirectory | None) -> None:
        """Use ``directory`` for the providers (re-rendered at once when a result is shown)."""
        self.directory = directory
        if self.result is not None:
            self._render_referrals()

    def provider_labels(self) -> dict[str, str]:
        return {
            "hours": self.tr("Hours:"),
            "languages": self.tr("Languages:"),
            "no_provider": self.tr("No provider of this type in your site's directory."),
        }

    def _render_referrals(self) -> None:
        assert self.result is not None
        lang, directory = self.services.lang, self.directory
        labels = self.provider_labels()
        if directory is None:
            note = self.tr(
                "No service directory for this site on this laptop yet, so no providers are "
                "shown. It comes with the next sync, or an administrator loads the file from IT "
                "in Settings → Service directory."
            )
        elif directory.sample:
            note = text_in(directory.notice, lang) or self.tr(
                "Sample directory: fictional services. Do not refer anyone to them."
            )
        else:
            note = ""
        warn = "⚠ " if directory is None or directory.sample else ""
        self.directory_note.setText(f"<b>{warn}{html.escape(note)}</b>" if note else "")
        self.directory_note.setProperty("sample", bool(directory and directory.sample))
        self.directory_note.setVisible(bool(note))
        blocks = []
        for r in self.result.referrals:
            who = f"<b>{html.escape(r.label)}</b>"
            if not r.consented:
                if r.status == "withheld":
                    reason = self.tr(
                        "withheld: a risk found in this screening holds back sharing with this "
                        "recipient; only a supervisor can release it, with a reason"
                    )
                elif r.status == "declined":
                    reason = self.tr("not made: the child declined this service")
                else:
                    reason = self.tr("not shared: the child did not consent to this recipient")
                blocks.append(f"{who} — <i>{html.escape(reason)}</i>")
                continue
            providers = directory.providers_for(r.service_type) if directory else ()
            items = [
                "<li>" + "<br>".join(provider_lines(p, lang, labels)) + "</li>" for p in providers
            ]
            if items:
                blocks.append(
                    who
                    + "<ul style='margin-top:2px; margin-bottom:0px'>"
                    + "".join(items)
                    + "</ul>"
                )
            elif directory is not None:
                blocks.append(f"{who}<br><i>{html.escape(labels['no_provider'])}</i>")
            else:
                blocks.append(who)
        self.referrals.setText("<br>".join(blocks) or html.escape(self.tr("None suggested.")))

    def _render_deadlines(self) -> None:
        if self.result is None:
            return
        now = datetime.now(UTC)
        self.deadlines.setText(
            "\n".join(f"• {d.label}: {countdown(d.due, now)}" for d in self.result.deadlines)
            or self.no_deadlines()
        )

    def no_deadlines(self) -> str:
        """What the page and the sheet say when no deadline runs: a bare "None." reads as "no
        deadline ever" (and as a fault on a site whose country has deadlines), so the sentence
        says that none of the answers started one there, and that one will show when it does."""
        if not self._country_known():
            return self._no_country()
        code = self._jurisdiction()
        if not code:  # a session without the forms' context (the preview): nothing to name
            return self.tr("No legal deadline was started by this screening's answers.")
        name = dict(site_countries(self.services.lang)).get(code, code)
        return self.tr(
            "No legal deadline for this case: none of its answers starts one for a site in %1. "
            "A deadline such as notifying the child-protection authority shows here as soon as "
            "an answer calls for it."
        ).replace("%1", name)

    def _jurisdiction(self) -> str:
        context = self.services.forms.context
        return str(context.get("jurisdiction") or "") if context is not None else ""

    def _country_known(self) -> bool:
        """Whether the forms know this laptop's country: statutory deadlines depend on it, so
        "None." would be misleading on a laptop never provisioned with its site."""
        context = self.services.forms.context
        return context is None or bool(context.get("jurisdiction"))

    def _no_country(self) -> str:
        return self.tr(
            "None worked out: this laptop does not know its site's country, so the legal "
            "deadlines (for example notifying the child-protection authority) cannot be "
            "shown. Follow your site's procedure; an administrator sets the country in "
            "Settings (Country of the site)."
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
            if self.session is None:
                return
            try:
                lifted = self.session.release_referral(
                    str(dialog.choice.currentData()), dialog.text, supervisor
                )
            except KnownError as error:
                show_error(self, error, self.services.lang)
                return
            if not lifted:
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
        later = self._ask_later_button(sign)

        def signed(result: int) -> None:
            sign.take_passphrase()  # a sign-off needs only the name it proved
            if result == _LATER:
                self._request_override(str(dialog.choice.currentData()), dialog.text)
                return
            if result != QDialog.DialogCode.Accepted:
                return
            if self.session is not None:  # the engine keeps it in the screening's state
                try:
                    self.session.override_tier(
                        str(dialog.choice.currentData()), dialog.text, sign.signed_by
                    )
                except KnownError as error:
                    show_error(self, error, self.services.lang)
                    return
            self.overrides = {
                "tier": str(dialog.choice.currentData()),
                "reason": dialog.text,
                "supervisor": sign.signed_by,
            }
            self._audit_sign_off(self.overrides["tier"], sign.signed_by)
            self._render()

        sign.finished.connect(signed)
        sign.open()
        if later is not None and not users:
            later.setFocus()

    def _audit_sign_off(self, tier: str, supervisor: str) -> None:
        """The on-the-spot sign-off in the keyed audit log (codes and ids only)."""
        from fieldscreen.ui.supervision import model_for

        model = model_for(self.services)
        controller = self.controller
        if model is None or controller is None:
            return
        holder, computed = controller.id_holder, self.computed_tier

        def record() -> None:
            if holder.get("id"):
                model.record_sign_off(
                    holder["id"], supervisor=supervisor, tier=tier, computed=computed
                )

        self.services.ops.write(record, None, self._failed)

    def _ask_later_button(self, sign: PassphraseDialog) -> QPushButton | None:
        """ "Ask a supervisor later" on the sign-off dialog, where the queue can hold it."""
        from fieldscreen.ui.supervision import model_for

        if model_for(self.services) is None or self.controller is None:
            return None
        later = sign.buttons.addButton(
            self.tr("Ask a supervisor &later"), QDialogButtonBox.ButtonRole.ActionRole
        )
        later.setObjectName("askLater")
        later.clicked.connect(lambda: sign.done(_LATER))
        return later

    def _request_override(self, tier: str, reason: str) -> None:
        """Leave the override for the supervisor queue; the screening waits as a draft."""
        from fieldscreen.ui.supervision import model_for

        model = model_for(self.services)
        controller = self.controller
        if model is None or controller is None:
            return
        holder = controller.id_holder
        controller.save_now()  # the draft as it stands, before the request (same writer)

        def request() -> None:
            model.request_override(holder["id"], tier, reason)

        self.services.ops.write(request, lambda _: self.did_request_override.emit(), self._failed)

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
            "directory": (
                {"id": self.directory.directory_id, "version": self.directory.version}
                if self.directory is not None
                else None
            ),
        }
        now = self.clock()
        engine_cadence = session.follow_up_cadence()
        if engine_cadence is not None and "tier" not in self.overrides:
            cadence: Cadence = engine_cadence
        else:  # a tier overridden here, or a session without the engine: the tier's cadence
            cadence = cadence_of(self.tier_now)
        window = int(self.services.settings.get("follow_up_window_days"))
        plan = schedule(cadence, now, window)
        due = next_due(plan)
        from fieldscreen.ui.supervision import screening_kinds

        waits = screening_kinds(
            session, self.services.lang, actions_recorded=bool(actions), pending_override=False
        )
        card = {
            **session.case_card(),
            "tier": self.tier_now,
            "computed_tier": self.computed_tier,
            "actions_recorded": bool(actions),
            "supervision": list(waits),
            "concerns": summary["concerns"],
            "deadlines": summary["deadlines"],
            "referrals": self._referrals_with_providers(summary["referrals"]),
            "follow_up": plan,
            "next_due": due.isoformat() if due else None,
        }
        return record, card

    def _referrals_with_providers(self, referrals: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The referrals kept on the case card, each consented one with the providers of the
        site's directory it was suggested (id and name), so a follow-up knows where to ask."""
        directory, lang = self.directory, self.services.lang
        out = []
        for referral in referrals:
            providers = (
                directory.providers_for(str(referral["service_type"]))
                if directory is not None and referral.get("consented")
                else ()
            )
            out.append(
                {
                    **referral,
                    "providers": [{"id": p.id, "name": text_in(p.name, lang)} for p in providers],
                }
            )
        return out

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
        if self.controller is None:
            return None
        return self.controller.session.aggregate(datetime.now(UTC).date())

    def _failed(self, error: KnownError) -> None:
        self._enable_finalise()
        show_error(self, error, self.services.lang)

    # ---------------------------------------------------------- the sheet
    def sheet_html(self) -> str:
        assert self.result is not None
        labels = {
            "code": self.tr("Case code:"),
            "tier": self.tr("Risk tier:"),
            "tier_value": self.tier_value(),
            "deadlines": self.tr("Deadlines"),
            "no_deadlines": self.no_deadlines(),
            "referrals": self.tr("Referrals (only those the child consented to)"),
            "footer": self.tr(
                "Confidential. Hand this sheet only to the services listed. Destroy it after use."
            ),
            **self.provider_labels(),
        }
        emergency = ""
        if self.tier_now == ACT_NOW:  # the sheet travels with the child: whom to call
            emergency = f"<h2>{html.escape(self.tr('Emergency steps'))}</h2>{self.emergency.text()}"
        return referral_sheet_html(
            self.controller.code if self.controller else "",
            self.result,
            self.tr("Referral sheet"),
            labels,
            self.directory,
            self.services.lang,
            emergency,
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
