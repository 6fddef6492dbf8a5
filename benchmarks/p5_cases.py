"""P5: unlock to the case list, and search-as-you-type, with many records on the device.

* **Search per keystroke** runs over 50,000 case rows in the real model and filter of the case
  list (:mod:`fieldscreen.ui.cases`), typing a realistic query one key at a time; the baseline
  is the same word match as a bare list comprehension over the same rows (the limit). Bar: at
  most 20 ms per keystroke at 50,000 rows, 50 ms at 200,000 (absolute), ratio reported; timed
  at every growth count.
* **Unlock to list** fills a device profile with ``fieldscreen simulate`` (the command itself:
  the records are sealed, signed, carded and indexed exactly as the app's) at 1,000, 10,000 and
  ``FIELDSCREEN_P5_RECORDS`` (default 50,000) records, and times unlock -> the vault's list
  index read and checked -> rows built -> the first screenful (sorted by due date) in the case
  list page and painted: "list visible", the figure held against the bar of 1 s plus the
  Argon2id time (measured apart with the production parameters). With
  ``FIELDSCREEN_BENCH_200K=1`` the counts go on to 200,000 (a year of a busy site), held
  against the same bar, and search is timed over 200,000 rows too (bar 50 ms). It also times
  every row sorted and painted, and, as the same-run baseline, the previous read: unlock and
  every case card decrypted one by one. Growth is printed per record count.
* **Supervisor queue** at every count: the queue's first read after unlock (the audit
  log's queue entries, the drafts, and only the finalised cards the list index flags as
  possibly waiting), against the previous read in the same run (every finalised card
  decrypted). ``fieldscreen simulate`` leaves 2 % of the screenings waiting and signs the
  others off, so the queue holds items and most flagged cards are already cleared. Bar: 0.5 s
  at 50,000 records.
"""

from __future__ import annotations

import os
import random
import string
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.harness import (
    Result,
    Sample,
    growth_sizes,
    paired_ratios,
    ratio_result,
    sized,
    time_interleaved,
)

SEARCH_ROWS = sized(50_000, 5_000)
#: Bars (issue 20): search per keystroke at most 20 ms at 50,000 cases and 50 ms at 200,000;
#: the supervisor queue's first read at most 0.5 s at 50,000 records.
SEARCH_BARS = {50_000: 0.020, 200_000: 0.050}
QUEUE_BAR_S = 0.5
YEAR = 200_000
QUERY = "traf ana"
PASS = "benchmark passphrase"
LOGIN = "bench"
SCREENFUL = 100  # as the case list's first delivery


def _rows(n: int, seed: int = 5) -> list[Any]:
    from fieldscreen.ui.cases import CaseRow
    from fieldscreen.ui.ports import CaseSummary

    rng = random.Random(seed)
    names = ["Ana", "Luis", "Yeni", "Kevin", "Dania", "Óscar", "Luz", "Marta", "José", "Wendy"]
    concerns = ["Trafficking indicators", "Violence or threat", "Separated or unaccompanied"]
    now = datetime.now(UTC)
    rows = []
    for i in range(n):
        code = "".join(rng.choices(string.hexdigits.upper()[:16], k=6))
        rows.append(
            CaseRow.of_case(
                CaseSummary(
                    f"{i:032x}",
                    code,
                    rng.choice(names) + f" {i}",
                    rng.choice(("T0", "T1", "T2", "T3", "T4")),
                    tuple(rng.sample(concerns, k=rng.randint(0, 2))),
                    now + timedelta(hours=rng.randint(-48, 400)),
                    "finalised",
                    now,
                )
            )
        )
    return rows


def _search(count: int) -> Result:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QTableView

    from fieldscreen.app import create_application
    from fieldscreen.ui.cases import CaseTableModel

    app = create_application()
    rows = _rows(count)
    model = CaseTableModel()
    model.set_rows(rows)
    view = QTableView()
    view.setModel(model)
    view.resize(1100, 700)
    view.show()
    prefixes = [QUERY[:i] for i in range(1, len(QUERY) + 1)]

    def ours() -> float:
        model.set_query("")
        app.processEvents()
        start = time.perf_counter()
        for text in prefixes:
            model.set_query(text)
            app.processEvents()  # the view repaints what is visible
        return (time.perf_counter() - start) / len(prefixes)

    def bare() -> float:
        start = time.perf_counter()
        for text in prefixes:
            words = text.casefold().split()
            [r for r in rows if all(w in r.haystack for w in words)]
        return (time.perf_counter() - start) / len(prefixes)

    measured, baseline = time_interleaved([ours, bare], runs=5, warmup=1)
    bar = SEARCH_BARS.get(count, 0.050)
    result = ratio_result(
        id="P5",
        name=f"search per keystroke, {count:,} cases",
        measured=measured,
        baseline=baseline,
        unit="s",
        bar=10.0,
        direction="at_most",
        details={"absolute_bar_s": bar, "query": QUERY},
    )
    result.passed = measured.median <= bar
    result.bar = f"≤ {bar * 1000:.0f} ms"
    result.bar_ratio = None  # the bar is absolute; the ratio is reported
    print(
        f"P5 search, {count:>7,} cases: {measured.median * 1000:.1f} ms per keystroke "
        f"(bare {baseline.median * 1000:.1f} ms)",
        file=sys.stderr,
        flush=True,
    )
    view.close()
    return result


def _provision(base: Path) -> tuple[Path, Path]:
    """A device profile with a vault (light Argon2id) and a verified provisioning file."""
    from fieldscreen import crypto
    from fieldscreen.paths import Paths
    from fieldscreen.sync.signed import Provisioning, Site, sign_document
    from fieldscreen.vault import Vault

    _, sealing = crypto.generate_sealing_keypair()
    signing_private, signing = crypto.generate_signing_keypair()
    _, receipt = crypto.generate_signing_keypair()
    content = Provisioning(
        "Org", "https://sync.example.org", sealing, signing, receipt, (Site("s1", "S", "MX"),)
    ).to_content()
    provisioning = base / "provisioning.json"
    provisioning.write_bytes(
        sign_document(
            "provisioning", "provisioning", "1", content, signing_private, signing
        ).to_bytes()
    )
    root = base / "profile"
    data = Paths.for_profile(root).ensure().vault_dir
    Vault.create(
        data, admin_login=LOGIN, passphrase=PASS.encode(), kdf=crypto.KdfParams.for_tests()
    ).close()
    passfile = base / "passphrase"
    passfile.write_text(PASS, encoding="utf-8")
    _cli(root, passfile, "provision", str(provisioning))
    return root, passfile


def _cli(root: Path, passfile: Path, *args: str) -> None:
    import contextlib
    import io

    from fieldscreen.cli import main

    with contextlib.redirect_stdout(io.StringIO()):
        code = main(["--profile", str(root), *args, "--passphrase-file", str(passfile), "--json"])
    if code != 0:
        raise RuntimeError(f"fieldscreen {args[0]} failed")


def _simulate(root: Path, passfile: Path, n: int, seed: int) -> float:
    """Add ``n`` screenings with ``fieldscreen simulate``; returns the seconds it took."""
    start = time.perf_counter()
    _cli(
        root, passfile, "simulate", "--screenings", str(n), "--seed", str(seed), "--distinct", "100"
    )
    return time.perf_counter() - start


def _page() -> Any:
    from fieldscreen.settings import Settings
    from fieldscreen.ui.cases import CaseListPage
    from fieldscreen.ui.common import Services
    from fieldscreen.ui.operations import Operations
    from fieldscreen.ui.preview import SampleForms

    tmp = Path(tempfile.mkdtemp(prefix="fieldscreen-p5-settings-"))
    services = Services(None, SampleForms(), Settings(tmp / "s.json"), Operations())  # type: ignore[arg-type]
    page = CaseListPage(services)
    page.resize(1100, 700)
    page.show()
    return page


def _unlock_to_list(data: Path, n: int) -> tuple[Sample, Sample, Sample]:
    """Unlock to the first screenful painted, to every row painted, and (baseline) unlock to
    every card read the previous way (two decryptions and a parse per card)."""
    from PySide6.QtWidgets import QApplication

    from fieldscreen.ui import cases
    from fieldscreen.ui.backends import VaultBackend

    visible, full, per_card = [], [], []
    for _ in range(3):
        backend = VaultBackend(data)
        page = _page()
        start = time.perf_counter()
        backend.unlock(LOGIN, PASS)
        load = cases.load_rows(backend, "due", SCREENFUL)
        page.set_rows(load.first, presorted="due", total=load.total)
        QApplication.processEvents()
        page.table.viewport().repaint()
        visible.append(time.perf_counter() - start)
        page.set_rows(load.rows("due"), presorted="due")
        QApplication.processEvents()
        page.table.viewport().repaint()
        full.append(time.perf_counter() - start)
        if page.model.rowCount() != n:
            raise RuntimeError(f"listed {page.model.rowCount()} of {n}")
        backend.lock()
        page.close()

        backend = VaultBackend(data)
        start = time.perf_counter()
        backend.unlock(LOGIN, PASS)
        vault = backend.vault
        records = [r for r in vault.list_records() if r.status != "draft"]
        cards = vault.case_cards()
        if len(records) != n or len(cards) != n:
            raise RuntimeError("the per-card read found another count")
        per_card.append(time.perf_counter() - start)
        backend.lock()
    return Sample(tuple(visible)), Sample(tuple(full)), Sample(tuple(per_card))


def _queue(data: Path) -> tuple[Sample, Sample, int]:
    """The supervisor queue's first read after unlock, and (baseline) the previous read: the
    same audit log read, and every finalised card decrypted."""
    from fieldscreen.ui.backends import VaultBackend
    from fieldscreen.ui.preview import SampleForms
    from fieldscreen.ui.supervision import SupervisionModel

    ours, before = [], []
    shown = 0
    for _ in range(3):
        backend = VaultBackend(data)
        backend.unlock(LOGIN, PASS)
        start = time.perf_counter()
        shown = len(SupervisionModel(backend, SampleForms()).items())
        ours.append(time.perf_counter() - start)
        vault = backend.vault
        start = time.perf_counter()
        vault.supervision_log()
        vault.list_records("draft")
        vault.case_cards([r.record_id for r in vault.list_records("finalised")])
        before.append(time.perf_counter() - start)
        backend.lock()
    return Sample(tuple(ours)), Sample(tuple(before)), shown


def _kdf_seconds() -> float:
    from fieldscreen import crypto

    params = crypto.KdfParams.default()
    start = time.perf_counter()
    crypto.derive_key(b"a passphrase of some length", params)
    return time.perf_counter() - start


def run() -> list[Result]:
    from fieldscreen import crypto

    sizes = growth_sizes((1_000, 2_000))
    searched = {count: _search(count) for count in sorted({*sizes, SEARCH_ROWS})}
    # The headline sizes (50,000 and, with FIELDSCREEN_BENCH_200K=1, 200,000) are results;
    # the others are growth, printed and kept in the headline's details.
    results = [r for count, r in searched.items() if count in (SEARCH_ROWS, YEAR)]
    results[0].details["growth_ms"] = {
        str(count): round(r.value * 1000, 2) for count, r in searched.items()
    }
    n = int(os.environ.get("FIELDSCREEN_P5_RECORDS", str(sized(50000, 2000))))
    counts = sorted({*sizes, n})
    kdf = _kdf_seconds()
    crypto.permit_test_parameters(True)
    growth: dict[int, dict[str, float]] = {}
    queues: dict[int, tuple[Sample, Sample, int]] = {}
    visibles: dict[int, tuple[Sample, Sample]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="fieldscreen-p5-") as tmp:
            root, passfile = _provision(Path(tmp))
            from fieldscreen.paths import Paths

            data = Paths.for_profile(root).vault_dir
            have = 0
            for count in counts:
                made = _simulate(root, passfile, count - have, seed=count)
                visible, full, per_card = _unlock_to_list(data, count)
                queue, queue_before, queued = queues[count] = _queue(data)
                visibles[count] = (visible, per_card)
                growth[count] = {
                    "visible_s": visible.median,
                    "visible_min_s": visible.min,
                    "visible_max_s": visible.max,
                    "full_s": full.median,
                    "per_card_s": per_card.median,
                    "visible_per_record_us": visible.median / count * 1e6,
                    "queue_s": queue.median,
                    "queue_items": queued,
                    "simulate_s": made,
                    "simulate_per_s": (count - have) / made,
                }
                have = count
                print(
                    f"P5 {count:>7,} records: list visible {visible.median:.3f} s, all rows "
                    f"{full.median:.3f} s, per-card read {per_card.median:.3f} s "
                    f"({visible.median / count * 1e6:.1f} us/record); supervisor queue "
                    f"{queue.median:.3f} s, {queued} items; simulate "
                    f"{growth[count]['simulate_per_s']:.0f}/s",
                    file=sys.stderr,
                    flush=True,
                )
    finally:
        crypto.permit_test_parameters(False)
    for count in sorted({n, *(c for c in counts if c == YEAR)}):
        top = growth[count]
        visible, per_card = visibles[count]
        visible_spread = paired_ratios(visible.values, per_card.values)
        results.append(
            Result(
                id="P5",
                name=f"unlock to case list visible, {count:,} simulated records (light KDF)",
                value=top["visible_s"],
                unit="s",
                baseline=top["per_card_s"],
                ratio=visible_spread.median
                if visible_spread
                else top["visible_s"] / top["per_card_s"],
                bar="≤ 1 s + Argon2id",
                passed=top["visible_s"] <= 1.0,
                details={
                    "argon2id_default_s": kdf,
                    "all_rows_s": top["full_s"],
                    "baseline": "unlock + every card decrypted one by one (the previous read)",
                    "growth": growth,
                },
                spread=visible_spread,
            )
        )
        queue, queue_before, queued = queues[count]
        queue_spread = paired_ratios(queue.values, queue_before.values)
        barred = count <= 50_000
        results.append(
            Result(
                id="P5",
                name=f"supervisor queue first read, {count:,} simulated records",
                value=queue.median,
                unit="s",
                baseline=queue_before.median,
                ratio=queue_spread.median if queue_spread else queue.median / queue_before.median,
                bar=f"≤ {QUEUE_BAR_S} s" if barred else "reported",
                passed=queue.median <= QUEUE_BAR_S if barred else True,
                details={
                    "min_s": queue.min,
                    "max_s": queue.max,
                    "items": queued,
                    "growth_s": {str(c): q[0].median for c, q in queues.items()},
                    "growth_items": {str(c): q[2] for c, q in queues.items()},
                    "baseline": "audit log read + every finalised card decrypted "
                    "(the previous read)",
                },
                spread=queue_spread,
            )
        )
    return results
