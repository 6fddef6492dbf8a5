"""``python -m tools.screenshots OUT_DIR`` (``make screenshots``): render the main screens
offscreen to PNG.

Every entry of :data:`SCREENS` builds one screen in a given state over a throwaway profile and
the in-memory test vault (``tests/support/memory_vault.py``); it is rendered in English and
Spanish as ``OUT_DIR/<name>-<lang>.png`` for the README and for review. Tooling, not product:
it lives outside the shipped package.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QApplication, QScrollArea, QWidget

from fieldscreen.app import apply_style, create_application
from fieldscreen.errors import KnownError
from fieldscreen.paths import Paths
from fieldscreen.settings import Settings
from fieldscreen.ui.common import Services
from fieldscreen.ui.i18n import install_translator
from fieldscreen.ui.main_window import MainWindow
from fieldscreen.ui.operations import Operations
from fieldscreen.ui.ports import CaseSummary
from fieldscreen.ui.preview import SampleForms
from tests.support.memory_vault import MemoryVault

__all__ = ["SCREENS", "render_all"]

ScreenFactory = Callable[[Paths, str], QWidget]
DEMO_PASSPHRASE = "demo passphrase for screenshots"  # noqa: S105 (in-memory demo users)


def _services(paths: Paths, lang: str, vault: MemoryVault) -> Services:
    return Services(
        vault=vault,
        forms=SampleForms(),
        settings=Settings.load(paths.settings_file),
        ops=Operations(),
        lang=lang,
    )


def _seeded_vault(lang: str = "en") -> MemoryVault:
    vault = MemoryVault.with_users(
        [("Marisol", "admin", DEMO_PASSPHRASE), ("Coordinación", "coordinator", DEMO_PASSPHRASE)]
    )
    now = datetime.now(UTC)
    cases = [
        ("8F2C1A", "Dania", "T0", ("Violence or threat",), timedelta(hours=-3)),
        ("3B7E90", "Kevin", "T1", ("Trafficking indicators",), timedelta(hours=5)),
        ("C41D22", "Yeni", "T2", ("Separated or unaccompanied",), timedelta(days=2)),
        ("77A0F3", "Óscar", "T3", (), timedelta(days=6)),
        ("19E5B8", "Luz", "T4", (), None),
    ]
    notice = (
        "Notify the child-protection authority (PPNNA)"
        if lang == "en"
        else "Dar aviso a la Procuraduría de Protección (PPNNA)"
    )
    deadlines = {"8F2C1A": (timedelta(hours=20), notice), "3B7E90": (timedelta(days=2), notice)}
    for code, alias, tier, concerns, due in cases:
        deadline, label = deadlines.get(code, (None, ""))
        vault.add_case(
            CaseSummary(
                code.lower() * 4,
                code,
                alias,
                tier,
                concerns,
                now + due if due is not None else None,
                "finalised",
                now,
                now + deadline if deadline is not None else None,
                label,
            )
        )
    return vault


def _window(paths: Paths, lang: str, vault: MemoryVault | None = None) -> MainWindow:
    window = MainWindow(_services(paths, lang, vault or _seeded_vault(lang)))
    window.resize(1100, 760)
    return window


def _unlocked(paths: Paths, lang: str) -> MainWindow:
    window = _window(paths, lang)
    window.services.user = window.services.vault.unlock("Marisol", DEMO_PASSPHRASE)
    return window


def _settle(window: MainWindow) -> None:
    window.services.ops.wait_idle()
    QApplication.processEvents()


def first_run(paths: Paths, lang: str) -> QWidget:
    return _window(paths, lang, MemoryVault())


class _DemoProvisioner:
    """A provisioning file as first run shows it (the screenshot does not apply it)."""

    def find(self) -> Path | None:
        return Path("fieldscreen-provisioning.json")

    def read(self, path: Path) -> Any:
        from fieldscreen.ui.provisioning import ProvisioningPreview, SiteChoice

        return ProvisioningPreview(
            organisation="Red de Albergues del Norte",
            server_url="https://sync.example.org",
            sites=(SiteChoice("tij1", "Tijuana 1", "MX"), SiteChoice("sd1", "San Diego", "US")),
            language="es",
            locked=("auto_lock_minutes", "travel_mode_allowed"),
            data=b"",
        )

    def apply(self, data: bytes) -> None:
        raise NotImplementedError

    # Asked only after an unlock, which the first-run screenshot never reaches.
    def form_context(self) -> dict[str, str]:
        raise NotImplementedError

    def enforce_policies(self) -> list[KnownError]:
        raise NotImplementedError

    def service_directory(self) -> Any:
        raise NotImplementedError

    def import_directory(self, path: Path) -> Any:
        raise NotImplementedError

    def enrolment_status(self) -> Any:
        raise NotImplementedError

    def enrol(self, code: str, label: str = "", progress: Any = None) -> Any:
        raise NotImplementedError


def first_run_provisioned(paths: Paths, lang: str) -> QWidget:
    window = MainWindow(_services(paths, lang, MemoryVault()), provisioner=_DemoProvisioner())
    window.resize(1100, 760)
    return window


def unlock(paths: Paths, lang: str) -> QWidget:
    return _window(paths, lang)


def home(paths: Paths, lang: str) -> QWidget:
    window = _unlocked(paths, lang)
    window.start_screening()
    _settle(window)
    window.show_home()
    _settle(window)
    return window


def idle_warning(paths: Paths, lang: str) -> QWidget:
    """The countdown banner over a screening, 25 seconds before the idle lock."""
    window = _unlocked(paths, lang)
    window.start_screening()
    _answer(window, CONSENT)
    window.idle_warning.show_left(25)
    return window


def idle_locked(paths: Paths, lang: str) -> QWidget:
    """The unlock screen after an idle lock: why it locked, that the work is saved."""
    window = _unlocked(paths, lang)
    window.start_screening()
    _answer(window, CONSENT)
    window.lock(idle=True)
    _settle(window)
    window.grace.end()
    return window


def _answer(window: MainWindow, answers: Sequence[tuple[str, object]]) -> None:
    for name, value in answers:
        widget = window.wizard.widgets[name]
        widget.set_value(value)
        window.wizard.controller.answer(name, value)  # type: ignore[union-attr]
    _settle(window)


CONSENT: list[tuple[str, object]] = [("assent", "yes"), ("share", ["legal", "family"])]
INTAKE: list[tuple[str, object]] = [
    ("alias", "Kevin"),
    ("age", 14),
    ("travelling_alone", "yes"),
    ("feared_nearby", "no"),
]


def consent(paths: Paths, lang: str) -> QWidget:
    window = _unlocked(paths, lang)
    window.start_screening()
    _answer(window, CONSENT[:1])
    return window


def intake_gateway(paths: Paths, lang: str) -> QWidget:
    window = _unlocked(paths, lang)
    window.start_screening()
    _answer(window, CONSENT)
    window.wizard.go(1)
    _answer(window, [*INTAKE, ("made_to_work", "yes")])
    return window


def act_now(paths: Paths, lang: str) -> QWidget:
    window = _unlocked(paths, lang)
    window.start_screening()
    _answer(window, CONSENT)
    window.wizard.go(1)
    _answer(window, [*INTAKE[:3], ("feared_nearby", "yes")])
    return window


def trafficking(paths: Paths, lang: str) -> QWidget:
    window = _unlocked(paths, lang)
    window.start_screening()
    _answer(window, CONSENT)
    window.wizard.go(1)
    _answer(window, [*INTAKE, ("made_to_work", "yes")])
    window.wizard.go(2)
    _answer(window, [("owes_debt", "yes"), ("debt_amount", 1200.0)])
    return window


def results(paths: Paths, lang: str) -> QWidget:
    window = _unlocked(paths, lang)
    window.start_screening()
    _answer(window, CONSENT)
    window.wizard.go(1)
    _answer(window, [*INTAKE[:3], ("feared_nearby", "yes"), ("made_to_work", "yes")])
    window.wizard.go(2)
    _answer(window, [("owes_debt", "yes"), ("understood", "OK")])
    window.review()
    return window


def cases(paths: Paths, lang: str) -> QWidget:
    window = _unlocked(paths, lang)
    window.show_cases()
    _settle(window)
    return window


def settings(paths: Paths, lang: str) -> QWidget:
    window = _window(paths, lang)
    window.services.user = window.services.vault.unlock("Marisol", DEMO_PASSPHRASE)
    window.show_settings()
    return window


class _DemoLedger:
    """A sync queue to show: some delivered, one waiting, one failed, one held for review."""

    def __init__(self) -> None:
        self.state: dict[str, tuple[str, str | None]] = {
            "8f2c1a" * 5 + "01": ("failed", "too-large"),
            "3b7e90" * 5 + "02": ("quarantined", "conflict"),
            "c41d22" * 5 + "03": ("pending", None),
            "77a0f3" * 5 + "04": ("delivered", None),
            "19e5b8" * 5 + "05": ("delivered", None),
        }

    def states(self) -> dict[str, tuple[str, str | None]]:
        return dict(self.state)

    def retry_failed(self) -> int:
        return 0


def sync(paths: Paths, lang: str) -> QWidget:
    from fieldscreen.sync.background import BackgroundSync
    from fieldscreen.sync.engine import SyncSummary
    from fieldscreen.sync.view import SyncViewModel

    window = _unlocked(paths, lang)
    ledger = _DemoLedger()
    window.services.sync = SyncViewModel(
        ledger, BackgroundSync(probe=lambda: False, run_sync=SyncSummary, pending=lambda: 1)
    )
    window.sync_timer.stop()
    window.show_sync()
    _settle(window)
    return window


def _demo_aggregates() -> list[tuple[dict[str, Any], str, str]]:
    """Eight weeks of made-up aggregate records for two sites, with some small groups."""
    import random

    rng = random.Random(48)  # noqa: S311 (made-up demo figures)
    out: list[tuple[dict[str, Any], str, str]] = []
    for week in range(41, 49):
        for _ in range(rng.randint(9, 26)):
            aggregate = {
                "tier": rng.choices(["T0", "T1", "T2", "T3", "T4"], [1, 4, 6, 7, 9])[0],
                "concerns": rng.sample(
                    ["unaccompanied", "separated", "accompanied_unverified"], rng.randint(0, 2)
                ),
                "age_band": rng.choices(["0_5", "6_11", "12_14", "15_17"], [1, 3, 5, 9])[0],
                "sex": rng.choices(["female", "male", "declined"], [6, 7, 1])[0],
                "nationality": [rng.choices(["HN", "GT", "SV", "VE", "HT"], [9, 7, 4, 2, 1])[0]],
                "site": rng.choices(["tij1", "tap2"], [3, 1])[0],
                "week": f"2026-W{week:02d}",
            }
            out.append((aggregate, "", ""))
    for n in range(3):  # a small site and a rare nationality: suppressed, shown as "<5"
        small = dict(out[n][0], site="mxl3", nationality=["HT", "ER"][n % 2 :][:1])
        out.append((small, "", ""))
    return out


def report(paths: Paths, lang: str) -> QWidget:
    vault = _seeded_vault()
    vault.kept_aggregates = _demo_aggregates()
    window = _window(paths, lang, vault)
    window.services.user = vault.unlock("Coordinación", DEMO_PASSPHRASE)
    window.nav_state()
    window.show_report()
    # As on a laptop enrolled with a server: the row to fetch the server's report shows.
    window.report_page.server_row.setVisible(True)
    _settle(window)
    return window


def report_charts(paths: Paths, lang: str) -> QWidget:
    window = report(paths, lang)
    assert isinstance(window, MainWindow)
    page = window.report_page
    window.show()
    QApplication.processEvents()
    chart = page.charts.get("concern")
    if chart is not None:
        from PySide6.QtWidgets import QScrollArea

        scroll = page.findChild(QScrollArea)
        if scroll is not None:
            scroll.ensureWidgetVisible(chart, 0, 40)
    return window


def _builtin(paths: Paths, lang: str) -> MainWindow | None:
    from fieldscreen.app import build_context, builtin_forms

    forms = builtin_forms(build_context(str(paths.data.parent), lang))
    if forms is None:
        return None
    # A provisioned laptop at a Mexican site: the statutory deadlines depend on the country.
    forms.update_context({"site": "tij1", "jurisdiction": "MX"})
    window = _unlocked(paths, lang)
    window.services.forms = forms
    window.services.preview = False
    window.start_screening()
    _settle(window)
    return window


def _go(window: MainWindow, page: str) -> None:
    names = [p.name for p in window.wizard._pages]
    window.wizard.go(names.index(page))


def _build_empty(paths: Paths, lang: str) -> QWidget:
    return first_run(paths, lang)


def builtin_first_page(paths: Paths, lang: str) -> QWidget:
    return _builtin(paths, lang) or _build_empty(paths, lang)


def builtin_act_now(paths: Paths, lang: str) -> QWidget:
    window = _builtin(paths, lang)
    if window is None:
        return _build_empty(paths, lang)
    _go(window, "fs_intake:b0_safety")
    _answer(window, [("fs_intake:b0_feared_person_nearby", "yes")])
    return window


def builtin_identity(paths: Paths, lang: str) -> QWidget:
    """The identity page: the long lists (nationality, languages, papers) as pickers."""
    window = _builtin(paths, lang)
    if window is None:
        return _build_empty(paths, lang)
    _go(window, "fs_intake:b1_identity")
    _answer_known(
        window,
        [
            ("fs_intake:alias", "Luz"),
            ("fs_intake:sex", "female"),
            ("fs_intake:nationalities", ["HN"]),
        ],
    )
    picker = window.wizard.widgets.get("fs_intake:nationalities")
    search = getattr(picker, "search", None)
    if search is not None:
        search.setText("gua")  # typing filters the list
    _settle(window)
    scroll = window.wizard.stack.currentWidget()
    page = scroll.widget() if isinstance(scroll, QScrollArea) else None
    if isinstance(scroll, QScrollArea) and page is not None and picker is not None:
        top = picker.mapTo(page, QPoint(0, 0)).y()
        scroll.verticalScrollBar().setValue(max(0, top - 120))
    return window


def builtin_results(paths: Paths, lang: str) -> QWidget:
    window = _builtin(paths, lang)
    if window is None:
        return _build_empty(paths, lang)
    _go(window, "fs_intake:b0_safety")
    _answer(
        window,
        [("fs_intake:b0_feared_person_nearby", "yes"), ("fs_intake:b0_someone_tracking", "yes")],
    )
    window.review()
    return window


class _DemoQueue:
    """What a supervisor finds at the start of a shift (the queue's read, no vault)."""

    def forget(self) -> None:
        return None

    def items(self, lang: str = "en") -> list[Any]:
        from fieldscreen.ui.supervision import QueueItem

        now = datetime.now(UTC)
        return [
            QueueItem(
                "8f2c1a" * 5,
                "8F2C1A",
                "Dania",
                "T0",
                ("act-now",),
                "Marisol",
                now - timedelta(minutes=40),
                "draft",
            ),
            QueueItem(
                "3b7e90" * 5,
                "3B7E90",
                "Kevin",
                "T1",
                ("tier-override",),
                "Marisol",
                now - timedelta(hours=2),
                "draft",
                "T3",
            ),
            QueueItem(
                "c41d22" * 5,
                "C41D22",
                "Yeni",
                "T1",
                ("bid-required",),
                "Marisol",
                now - timedelta(hours=5),
                "finalised",
            ),
            QueueItem(
                "77a0f3" * 5,
                "77A0F3",
                "Óscar",
                "T2",
                ("consent-override",),
                "Marisol",
                now - timedelta(days=1),
                "finalised",
            ),
        ]

    def sent_back(self) -> list[Any]:
        return []


class _DemoBatches:
    """A coordinator's week: this laptop, a relayed one, a failure and the history."""

    def overview(self) -> Any:
        from fieldscreen.ui.batches import Failure, GroupRow, HistoryRow

        now = datetime.now(UTC)
        zero = dict.fromkeys(("pending", "sending", "delivered", "failed", "quarantined"), 0)
        groups = [
            GroupRow("this", "Coordinación", {**zero, "pending": 2, "delivered": 14}),
            GroupRow("this", "Marisol", {**zero, "pending": 3, "delivered": 21, "failed": 1}),
            GroupRow("A41F09C2", "", {**zero, "delivered": 9, "quarantined": 1}),
        ]
        failures = [Failure("d0" * 16, "D0D0D0", "failed", "conflict", "Marisol")]
        history = [
            HistoryRow(
                now - timedelta(hours=1), "Coordinación", "relay", 10, 9, 1, True, "A41F09C2"
            ),
            HistoryRow(now - timedelta(hours=3), "Coordinación", "network", 12, 11, 1, True),
            HistoryRow(now - timedelta(days=1), "Marisol", "usb-export", 5, 0, 0, False),
            HistoryRow(now - timedelta(days=1, hours=2), "Coordinación", "receipt", 0, 5, 0, True),
        ]
        return groups, failures, history


def _coordinator(paths: Paths, lang: str) -> MainWindow:
    window = _window(paths, lang)
    window.services.supervision = _DemoQueue()
    window.services.batches = _DemoBatches()
    window.services.user = window.services.vault.unlock("Coordinación", DEMO_PASSPHRASE)
    window.nav_state()
    return window


def supervisor_queue(paths: Paths, lang: str) -> QWidget:
    window = _coordinator(paths, lang)
    window.show_queue()
    return window


def batch_view(paths: Paths, lang: str) -> QWidget:
    window = _coordinator(paths, lang)
    window.show_batches()
    window.services.ops.wait_idle()
    QApplication.processEvents()
    window.batch_page.result.setText(
        window.batch_page.outcome_text(_demo_relay(), Path("laptop-a41f-receipt.fsr"))
    )
    return window


def _demo_relay() -> Any:
    from fieldscreen.ui.batches import BatchOutcome

    return BatchOutcome(
        "relay",
        10,
        acknowledged=9,
        failed=1,
        laptop="A41F09C2",
        outcomes={"stored": 9, "quarantined": 1},
    )


class _DemoEnrolment:
    """A provisioned laptop not enrolled yet, as the enrolment dialog shows it."""

    def enrol(self, code: str, label: str = "", progress: Any = None) -> Any:
        raise NotImplementedError


def enrol(paths: Paths, lang: str) -> QWidget:
    from fieldscreen.ui.enrol import EnrolDialog
    from fieldscreen.ui.provisioning import EnrolmentStatus

    window = _unlocked(paths, lang)
    status = EnrolmentStatus(True, "https://sync.example.org")
    dialog = EnrolDialog(window.services, _DemoEnrolment(), status, window)
    dialog.code.setText("K7QP-2M9X")
    dialog.resize(620, 420)
    return dialog


def builtin_results_providers(paths: Paths, lang: str) -> QWidget:
    """The results of a built-in screening at a demo site, with the sample directory's
    providers for each referral the child consented to."""
    from fieldscreen.directory import sample_directory

    window = _builtin(paths, lang)
    if window is None:
        return _build_empty(paths, lang)
    recipients = ("cp_authority", "health", "psychosocial", "shelter", "gbv", "legal")
    answers: list[tuple[str, object]] = [(f"fs_consent:share_{r}", "yes") for r in recipients]
    _answer_known(window, answers)
    _go(window, "fs_intake:b0_safety")
    _answer(
        window,
        [("fs_intake:b0_feared_person_nearby", "yes"), ("fs_intake:b0_someone_tracking", "yes")],
    )
    window.review()
    window.results.set_directory(sample_directory("mx-tapachula-sample"))
    return window


def _answer_known(window: MainWindow, answers: Sequence[tuple[str, object]]) -> None:
    for name, value in answers:
        if name in window.wizard.widgets:
            window.wizard.widgets[name].set_value(value)
            window.wizard.controller.answer(name, value)  # type: ignore[union-attr]
    _settle(window)


#: Screen name -> factory building it in a representative state.
SCREENS: dict[str, ScreenFactory] = {
    "first-run": first_run,
    "first-run-provisioned": first_run_provisioned,
    "unlock": unlock,
    "idle-warning": idle_warning,
    "idle-locked": idle_locked,
    "home": home,
    "consent": consent,
    "intake-gateway": intake_gateway,
    "act-now": act_now,
    "trafficking": trafficking,
    "results": results,
    "cases": cases,
    "settings": settings,
    "sync": sync,
    "builtin-consent": builtin_first_page,
    "builtin-act-now": builtin_act_now,
    "builtin-identity": builtin_identity,
    "builtin-results": builtin_results,
    "supervisor-queue": supervisor_queue,
    "batches": batch_view,
    "enrol": enrol,
    "builtin-results-providers": builtin_results_providers,
    "report": report,
    "report-charts": report_charts,
}


def render_all(out_dir: Path, langs: tuple[str, ...] = ("en", "es")) -> list[Path]:
    app = create_application()
    apply_style(app)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for lang in langs:
        install_translator(app, lang)
        for name, factory in SCREENS.items():
            with tempfile.TemporaryDirectory(prefix="fieldscreen-shot-") as tmp:
                paths = Paths.for_profile(Path(tmp)).ensure()
                widget = factory(paths, lang)
                widget.show()
                _settle_app(app)
                if isinstance(widget, MainWindow):
                    _settle(widget)
                target = out_dir / f"{name}-{lang}.png"
                if not widget.grab().save(str(target)):
                    raise RuntimeError(f"could not write {target}")
                written.append(target)
                widget.close()
                widget.deleteLater()
                _settle_app(app)
    install_translator(app, "en")
    return written


def _settle_app(app: QApplication) -> None:
    for _ in range(3):
        app.processEvents()


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else Path("docs/screenshots")
    for path in render_all(out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
