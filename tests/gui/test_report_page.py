"""The coordinator report page: who sees it, where its figures come from, and that no table
cell, chart bar or PDF figure ever shows a count under the threshold (the painted model: every
label and figure the charts and the PDF draw is recorded by their Canvas)."""

from __future__ import annotations

import json
import random
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from fieldscreen.errors import KnownError
from fieldscreen.paths import Paths
from fieldscreen.reports.coordinator import ReportFilter, coordinator_report
from fieldscreen.reports.report_view import ReportView
from fieldscreen.ui.main_window import MainWindow
from fieldscreen.ui.report_charts import write_report_pdf
from fieldscreen.ui.report_page import ReportPage
from tests.gui.conftest import PASS, WAIT_MS, cell, make_services, unlock
from tests.support.memory_vault import MemoryVault

RUNS = 30
SITES = ("tij1", "tap2", "cdmx")
WEEKS = [f"2026-W{w:02d}" for w in range(40, 49)]


def aggregates(rng: random.Random, n: int) -> list[tuple[dict[str, Any], str, str]]:
    """Random aggregate records, skewed so that many groups are small."""
    out = []
    for _ in range(n):
        aggregate = {
            "tier": rng.choices(["T0", "T1", "T2", "T3", "T4"], [1, 3, 5, 6, 8])[0],
            "concerns": rng.sample(
                ["unaccompanied", "separated", "fear_of_return", "gbv_risk", "trafficking_risk"],
                rng.randint(0, 2),
            ),
            "age_band": rng.choices(["0_5", "6_11", "12_14", "15_17", "unknown"], [1, 3, 4, 8, 1])[
                0
            ],
            "sex": rng.choice(["female", "male", "declined"]),
            "nationality": [
                rng.choices(["HN", "GT", "SV", "VE", "HT", "ER"], [9, 7, 5, 3, 2, 1])[0]
            ],
            "site": rng.choices(SITES, [6, 3, 1])[0],
            "week": rng.choice(WEEKS),
        }
        out.append((aggregate, "", ""))
    return out


def _page(qtbot: QtBot, paths: Paths, data: list[Any], **kwargs: Any) -> ReportPage:
    vault = MemoryVault.with_users([("coord", "coordinator", PASS)])
    user = vault.unlock("coord", PASS)
    vault.kept_aggregates = data
    services = make_services(paths, vault)
    services.user = user  # the page is shown to a signed-in coordinator only
    page = ReportPage(services, **kwargs)
    qtbot.addWidget(page)
    page.resize(1000, 800)
    page.show()
    return page


def _shown(qtbot: QtBot, page: ReportPage, action: Any) -> ReportView:
    with qtbot.waitSignal(page.shown, timeout=WAIT_MS) as blocker:
        action()
    view = blocker.args[0]
    assert isinstance(view, ReportView)
    return view


def _small_or_at_least(text: str, threshold: int) -> bool:
    if text == f"<{threshold}":
        return True
    return bool(re.fullmatch(r"\d+", text)) and int(text) >= threshold


def _table_rows(page: ReportPage, name: str) -> list[tuple[str, str]]:
    table = page.tables[name]
    return [(cell(table, i, 0), cell(table, i, 1)) for i in range(table.rowCount())]


def test_no_table_cell_chart_bar_or_pdf_figure_is_under_the_threshold(
    qtbot: QtBot, paths: Paths, tmp_path: Path
) -> None:
    rng = random.Random(2026)
    page = _page(qtbot, paths, [])
    figures = violations = suppressed_seen = chart_mismatches = pdf_runs = 0
    for run in range(RUNS):
        data = aggregates(rng, rng.choice([0, 3, 12, 40, 90, 160]))
        page.services.vault.kept_aggregates = data  # type: ignore[attr-defined]
        view = _shown(qtbot, page, page.use_local)
        threshold = view.threshold
        assert threshold == 5
        # what the report holds, computed independently of the page
        expected = coordinator_report(data).to_json()["tables"]
        assert set(page.tables) == {n for n, s in view.sections.items() if s.rows}
        for name, table in page.tables.items():
            rows = _table_rows(page, name)
            for _label, text in rows:
                figures += 1
                violations += not _small_or_at_least(text, threshold)
            suppressed_seen += sum(text == "<5" for _, text in rows)
            shown = sorted(int(t) for _, t in rows if t != "<5")
            published = sorted(
                c["count"] for c in expected[name]["cells"] if c["count"] is not None
            )
            assert shown == published  # the joint suppression of build_report, nothing else
            hidden = [i for i in range(table.rowCount()) if cell(table, i, 1) == "<5"]
            for i in hidden:
                item = table.item(i, 1)
                assert item is not None
                assert item.data(Qt.ItemDataRole.AccessibleTextRole) == "suppressed"
            chart = page.charts[name]
            chart.grab()  # paint it
            chart_mismatches += chart.painted != rows  # the chart model equals the table model
        if run % 3 == 0 and view.sections:
            canvas = write_report_pdf(tmp_path / f"r{run}.pdf", view, page.pdf_words(view))
            pdf_runs += 1
            for _label, text in canvas.rows:
                figures += 1
                violations += not _small_or_at_least(text, threshold)
            assert canvas.rows == [r for name in page.tables for r in 2 * _table_rows(page, name)]
            total_line = next(t for t in canvas.texts if t.startswith("Screenings counted"))
            assert _small_or_at_least(total_line.split(": ")[1].split(" ")[0], threshold)
    print(
        f"\nreport page: runs {RUNS}, figures checked {figures}, suppressed shown as <5 "
        f"{suppressed_seen}, under-threshold figures shown {violations}, chart/table "
        f"mismatches {chart_mismatches}, PDFs {pdf_runs}"
    )
    assert suppressed_seen > 50  # the data did have small groups to hide
    assert violations == 0
    assert chart_mismatches == 0


def test_the_control_a_raw_small_count_would_be_caught() -> None:
    assert not _small_or_at_least("3", 5)
    assert _small_or_at_least("<5", 5)
    assert _small_or_at_least("12", 5)


def test_filters_by_week_and_site(qtbot: QtBot, paths: Paths) -> None:
    data = aggregates(random.Random(7), 200)
    page = _page(qtbot, paths, data)
    view = _shown(qtbot, page, page.use_local)
    assert view.weeks == WEEKS
    assert view.sites == sorted(SITES)
    assert page.from_week.count() == len(WEEKS) + 1
    page.from_week.setCurrentIndex(page.from_week.findData("2026-W44"))
    page.to_week.setCurrentIndex(page.to_week.findData("2026-W46"))
    page.site.setCurrentIndex(page.site.findData("tij1"))
    assert page.filter() == ReportFilter("2026-W44", "2026-W46", frozenset({"tij1"}))
    view = _shown(qtbot, page, page.refresh)
    wanted = [
        t for t in data if t[0]["site"] == "tij1" and "2026-W44" <= t[0]["week"] <= "2026-W46"
    ]
    assert view.total == len(wanted)
    assert [r.code for r in view.sections["week"].rows] == ["2026-W44", "2026-W45", "2026-W46"]
    assert "2026-W44" in page.period_text(view)
    assert "tij1" in page.period_text(view)


def test_the_server_report_is_fetched_off_the_gui_thread_and_falls_back(
    qtbot: QtBot, paths: Paths
) -> None:
    data = aggregates(random.Random(3), 60)
    calls: list[tuple[str, ReportFilter, bool]] = []
    fail = {"now": False}

    def server(credential: str, wanted: ReportFilter) -> Mapping[str, Any]:
        calls.append((credential, wanted, threading.current_thread() is threading.main_thread()))
        if fail["now"]:
            raise KnownError("report-server-unavailable", reason="sync-unreachable")
        return {
            **coordinator_report(data * 2).to_json(),
            "weeks": WEEKS,
            "sites": ["tij1"],
        }

    page = _page(qtbot, paths, data[:10], server=server)
    page.use_server()  # no credential yet: asks for it, fetches nothing
    assert calls == []
    assert "credential" in page.source_label.text()
    page.credential.setText("coordinator-token")
    view = _shown(qtbot, page, page.use_server)
    assert calls[0][0] == "coordinator-token"
    assert calls[0][2] is False  # never on the GUI thread
    assert view.total == 120
    assert "server" in page.source_label.text()
    fail["now"] = True
    view = _shown(qtbot, page, page.refresh)
    assert view.total == 10  # this laptop's own, with the reason said
    assert "could not be fetched" in page.source_label.text()
    assert "laptop" in page.source_label.text()
    page.clear()
    assert page.credential.text() == ""


def test_the_credential_file_from_it_opens_the_servers_report(
    qtbot: QtBot, paths: Paths, tmp_path: Path
) -> None:
    """The same file the Batches page opens: the server's `token` output saved whole (the
    token, then its advice line) gives the token alone; a file that is no credential is said
    in words, and nothing is fetched with it."""
    data = aggregates(random.Random(5), 40)
    calls: list[str] = []

    def server(credential: str, wanted: ReportFilter) -> Mapping[str, Any]:
        calls.append(credential)
        return {**coordinator_report(data).to_json(), "weeks": WEEKS, "sites": ["tij1"]}

    page = _page(qtbot, paths, data[:5], server=server)
    assert page.credential_file_button.isVisibleTo(page)
    wrong = {
        "empty": b"",
        "spaces": b"two words\n",
        "binary": b"\xff\xfe\x00garbage",
        "large": b"x" * 10_000,
        "missing": None,
    }
    for name, content in wrong.items():
        path = tmp_path / f"{name}.token"
        if content is not None:
            path.write_bytes(content)
        page.load_credential_file(path)
        page.services.ops.wait_idle()
        assert "not a coordinator credential" in page.source_label.text(), name
        assert page.credential.text() == ""
    assert calls == []
    token = tmp_path / "coordinator.token"
    token.write_text("tok-abc_123\n(shown once: save it as the coordinator's credential file)\n")
    view = _shown(qtbot, page, lambda: page.load_credential_file(token))
    assert calls == ["tok-abc_123"]
    assert view.total == 40
    assert "server" in page.source_label.text()
    assert page.services.credential_file == token  # for the Batches page too, this session
    page.clear()
    assert page.credential.text() == ""
    assert page.services.credential_file is None
    # a file chosen on the Batches page this session: the server's report needs no typing
    page.services.credential_file = token
    _shown(qtbot, page, page.use_server)
    assert calls == ["tok-abc_123", "tok-abc_123"]
    # locked while the file is being read: nothing of it is kept, nothing is fetched
    page.clear()
    page.load_credential_file(token)
    assert not page.credential_file_button.isEnabled()  # no second read meanwhile
    user, page.services.user = page.services.user, None
    page.services.ops.wait_idle()
    assert page.credential.text() == ""
    assert page.services.credential_file is None
    assert calls == ["tok-abc_123", "tok-abc_123"]
    page.services.user = user


def test_pdf_is_saved_only_where_chosen(qtbot: QtBot, paths: Paths, tmp_path: Path) -> None:
    page = _page(qtbot, paths, aggregates(random.Random(11), 80))
    _shown(qtbot, page, page.use_local)
    before = set(tmp_path.rglob("*.pdf"))
    target = page.save_pdf(tmp_path / "report")
    assert target == tmp_path / "report.pdf"
    assert target.read_bytes().startswith(b"%PDF")
    assert "report.pdf" in page.status.text()
    assert set(tmp_path.rglob("*.pdf")) - before == {target}
    page.services.ops.wait_idle()
    assert page.services.vault.events == [  # type: ignore[attr-defined]
        ("export", {"what": "coordinator-report-pdf", "source": "laptop"})
    ]
    # a folder that does not exist: a calm message, nothing written anywhere
    assert page.save_pdf(tmp_path / "missing" / "report.pdf") is None
    assert set(tmp_path.rglob("*.pdf")) - before == {target}


def test_only_coordinators_and_admins_see_the_report(qtbot: QtBot, paths: Paths) -> None:
    vault = MemoryVault.with_users(
        [("ana", "admin", PASS), ("spec", "specialist", "specialist passphrase")]
    )
    w = MainWindow(make_services(paths, vault))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w, timeout=WAIT_MS)
    unlock(qtbot, w)
    assert w.nav.report.isVisible()
    qtbot.mouseClick(w.nav.report, Qt.MouseButton.LeftButton)
    assert w.stack.currentWidget() is w.report_page
    qtbot.waitUntil(lambda: w.report_page.view is not None, timeout=WAIT_MS)
    w.report_page.credential.setText("secret")
    w.lock()
    assert w.report_page.credential.text() == ""
    assert w.report_page.view is None
    qtbot.waitUntil(lambda: w.unlock_page.user.count() > 1, timeout=WAIT_MS)
    w.unlock_page.user.setCurrentIndex(w.unlock_page.user.findText("spec"))
    qtbot.keyClicks(w.unlock_page.passphrase, "specialist passphrase")
    qtbot.keyClick(w.unlock_page.passphrase, "\r")
    qtbot.waitUntil(lambda: w.services.user is not None, timeout=WAIT_MS)
    assert not w.nav.report.isVisible()
    w.show_report()
    assert w.stack.currentWidget() is not w.report_page
    w.services.ops.wait_idle()


def test_the_laptops_own_aggregates_come_from_the_real_vaults_outbox(
    qtbot: QtBot, paths: Paths, tmp_path: Path
) -> None:
    from fieldscreen import crypto
    from fieldscreen.ui.backends import VaultBackend

    crypto.permit_test_parameters(True)
    try:
        light = crypto.KdfParams.for_tests()
        store = VaultBackend(paths.data / "vault", kdf=light, new_key_kdf=light)
        store.create_user("admin", "admin", PASS)
        store.unlock("admin", PASS)
        sealing_private, sealing_public = crypto.generate_sealing_keypair()
        _signing_private, signing_public = crypto.generate_signing_keypair()
        store.vault.set_org_keys(sealing_public, signing_public)
        data = aggregates(random.Random(21), 12)
        for n, (aggregate, _day, _site) in enumerate(data):
            record_id = store.new_draft("screening", "builtin", {"n": n})
            store.finalise(record_id, {"n": n}, {"tier": aggregate["tier"]}, aggregate)
        declined = store.new_draft("screening", "builtin", {"n": -1})
        store.finalise(declined, {"n": -1}, {}, None)  # statistics declined: not counted
        kept = store.aggregates()
        assert sorted(json.dumps(a, sort_keys=True) for a, _, _ in kept) == sorted(
            json.dumps(a, sort_keys=True) for a, _, _ in data
        )
        services = make_services(paths)
        services.vault = store
        page = ReportPage(services)
        qtbot.addWidget(page)
        view = _shown(qtbot, page, page.use_local)
        assert view.total == 12
        page.save_pdf(tmp_path / "report.pdf")
        page.services.ops.wait_idle()
        exports = [e for e in store.vault.audit_log() if e.action == "export"]
        assert len(exports) == 1
        store.lock()
        del sealing_private
    finally:
        crypto.permit_test_parameters(False)


def test_choosing_a_site_shows_its_report_at_once(qtbot: QtBot, paths: Paths) -> None:
    data = aggregates(random.Random(9), 150)
    page = _page(qtbot, paths, data)
    _shown(qtbot, page, page.use_local)
    index = page.site.findData("tij1")
    page.site.setCurrentIndex(index)  # as the user's pick does, then Qt says it was activated
    view = _shown(qtbot, page, lambda: page.site.activated.emit(index))
    assert view.total == sum(a["site"] == "tij1" for a, _, _ in data)
    assert view.sites == sorted(SITES)  # the other choices stay
    assert page.site.currentData() == "tij1"


def test_the_coordinators_list_of_possible_matches_shows_with_the_servers_report(
    qtbot: QtBot, paths: Paths
) -> None:
    """The server's possible matches between screenings (docs/privacy-matching.md) are listed
    under the server's report, fetched off the GUI thread with the same credential, and hidden
    with this laptop's own report or when the list cannot be read."""
    data = aggregates(random.Random(5), 20)
    asked: list[tuple[str, bool]] = []
    answer: dict[str, Any] = {
        "matches": [
            {
                "record_id": "b" * 32,
                "site": "tap2",
                "week": "2026-W44",
                "tier": "T1",
                "consent": True,
                "tokens": ["fdc", "nd"],
                "earlier": {
                    "record_id": "a" * 32,
                    "site": "tij1",
                    "week": "2026-W40",
                    "tier": "T2",
                },
            }
        ],
        "too_common": 3,
    }

    def matches(credential: str) -> Mapping[str, Any] | None:
        asked.append((credential, threading.current_thread() is threading.main_thread()))
        if credential == "broken":
            raise KnownError("report-server-unavailable", reason="sync-unreachable")
        return answer

    def server(credential: str, wanted: ReportFilter) -> Mapping[str, Any]:
        return {**coordinator_report(data).to_json(), "weeks": WEEKS, "sites": ["tij1"]}

    page = _page(qtbot, paths, data, server=server, matches=matches)
    page.credential.setText("coordinator-token")
    _shown(qtbot, page, page.use_server)
    assert asked == [("coordinator-token", False)]
    assert page.matches_table.isVisible()
    assert page.matches_table.rowCount() == 1
    cells = [cell(page.matches_table, 0, c) for c in range(4)]
    assert cells[0].startswith("tap2 · 2026-W44 · ")
    assert cells[1].startswith("tij1 · 2026-W40 · ")
    assert cells[2] == "first name, date of birth and country; given names and date of birth"
    assert cells[3] == "Yes"
    assert "1 pair" in page.matches_label.text()
    assert "3 token(s)" in page.matches_label.text() or "3 tokens" in page.matches_label.text()
    _shown(qtbot, page, page.use_local)
    assert not page.matches_table.isVisible()
    page.credential.setText("broken")
    _shown(qtbot, page, page.use_server)  # the report shows; the list that failed does not
    assert not page.matches_table.isVisible()
