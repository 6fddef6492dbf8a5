"""P1: encrypted save of a screening (encrypt + one durable transaction), records per second.

Each save is :meth:`Vault.new_draft` with a realistic 5 KB record: a fresh data key, its wrap,
AES-256-GCM of the record, the state-digest update and the audit entry, committed with
``synchronous=FULL``. Baselines in the same run, inserting the same plaintext one transaction
each with the same settings (see :mod:`benchmarks.vault_common`): raw ``sqlite3`` (the
strictest limit), plain ``sqlite-utils`` (the spec's baseline) and SQLCipher.

The four arms are interleaved: in each round every arm saves the same block of records into its
own store (which so grows alike in all four), in the order A B C D, then D C B A, and so on, so
that the disk's flush time, which moves from one minute to the next on a shared machine, hits
them all alike. The figure is the median over the rounds of the per-round ratio, printed with
the middle half of those ratios; CPU per save (this process: encoding, encryption, SQLite's own
work) is reported beside the durable rate, the part of the time our code controls. Also
reported: the Argon2id unlock time with the default parameters (a security parameter, not a
speed figure) and how the cost per record grows from 1,000 to 50,000 records.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.harness import Result, Sample, ratio_result, sized, time_interleaved
from benchmarks.vault_common import (
    QUICK,
    Baseline,
    UtilsBaseline,
    light_vault,
    realistic_record,
    wal_frames_per_write,
)

RECORDS = sized(20000, 2000)
#: Records each arm saves per round: RECORDS / BLOCK rounds.
BLOCK = sized(200, 100)


def _rate_vault(folder: Path, records: list[dict[str, object]]) -> float:
    vault = light_vault(folder)
    start = time.perf_counter()
    for record in records:
        vault.new_draft("screening", "1", record)
    elapsed = time.perf_counter() - start
    vault.close()
    return len(records) / elapsed


def _arm(save: Callable[[dict[str, Any]], object], records: list[dict[str, Any]]) -> Any:
    """One arm: each call saves the next BLOCK records, one durable save each."""
    blocks = iter(range(0, len(records), BLOCK))

    def run_block() -> None:
        first = next(blocks)
        for record in records[first : first + BLOCK]:
            save(record)

    return run_block


def _interleaved(root: Path, records: list[dict[str, Any]]) -> dict[str, Sample]:
    """Records per second of each arm, one value per round, the arms interleaved."""
    vault = light_vault(root / "vault")
    plain = Baseline(root / "plain.db", cipher=False)
    utils = UtilsBaseline(root / "utils.db")
    cipher = Baseline(root / "cipher.db", cipher=True)
    # Warm-up: every path once, into the same stores, not timed.
    for record in records[:50]:
        vault.new_draft("screening", "1", record)
        plain.insert(record)
        utils.insert(record)
        cipher.insert(record)
    arms = {
        "vault": _arm(lambda r: vault.new_draft("screening", "1", r), records),
        "sqlite3": _arm(plain.insert, records),
        "sqlite_utils": _arm(utils.insert, records),
        "sqlcipher": _arm(cipher.insert, records),
    }
    samples = time_interleaved(list(arms.values()), runs=len(records) // BLOCK, warmup=0, ops=BLOCK)
    vault.close()
    plain.close()
    utils.close()
    cipher.close()
    return {name: sample.rates() for name, sample in zip(arms, samples, strict=True)}


def _pages_per_save(root: Path, records: list[dict[str, object]]) -> dict[str, float]:
    """Pages each durable save writes (WAL frames), the vault against plain SQLite."""
    vault = light_vault(root / "pages-v")
    for record in records[:100]:
        vault.new_draft("screening", "1", record)
    rotation = iter(records * 2)
    ours = wal_frames_per_write(
        vault._open_store().conn,
        vault.db_path,
        lambda: vault.new_draft("screening", "1", next(rotation)),
        500,
    )
    vault.close()
    plain = Baseline(root / "pages-p.db", cipher=False)
    for record in records[:100]:
        plain.insert(record)
    rotation = iter(records * 2)
    theirs = wal_frames_per_write(
        plain.conn, root / "pages-p.db", lambda: plain.insert(next(rotation)), 500
    )
    plain.close()
    return {"vault": ours, "plain_sqlite": theirs}


def _kdf_seconds() -> Sample:
    from fieldscreen import crypto

    crypto.permit_test_parameters(False)
    timings = []
    for _ in range(3):
        params = crypto.KdfParams.default()
        start = time.perf_counter()
        crypto.derive_key(b"benchmark passphrase", params)
        timings.append(time.perf_counter() - start)
    return Sample(tuple(timings))


def run() -> list[Result]:
    kdf = _kdf_seconds()
    records = [realistic_record(i) for i in range(RECORDS)]
    growth: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="fieldscreen-p1-") as tmp:
        root = Path(tmp)
        rates = _interleaved(root, records)
        pages = _pages_per_save(root, records)
        # How cost grows (performance.md: 1,000 / 10,000 / 50,000 records): a fresh vault
        # filled to each size, the mean durable save over all of them.
        for size in (1000, 10000, 50000) if not QUICK else (500, 2000):
            rate = _rate_vault(root / f"g{size}", [records[i % RECORDS] for i in range(size)])
            growth[f"{size} records: ms per save"] = round(1000 / rate, 3)
            print(f"  P1 growth: {size:>6,} records  {1000 / rate:6.3f} ms per save", flush=True)
    measured = rates["vault"]
    details = {
        "records": RECORDS,
        "records_per_round": BLOCK,
        "record_bytes": 5000,
        "argon2id_default_unlock_s": kdf.summary(),
        "growth": growth,
        "wal_pages_per_save": pages,
        "cpu_us_per_save": {name: round(s.cpu_us_per_op or 0.0, 1) for name, s in rates.items()},
    }
    baselines = (
        ("plain sqlite3 (raw)", "sqlite3", 0.5),
        ("sqlite-utils (the spec's baseline)", "sqlite_utils", 0.5),
        ("SQLCipher", "sqlcipher", 1.0),
    )
    results = [
        ratio_result(
            id="P1",
            name=f"encrypted save vs {label}",
            measured=measured,
            baseline=rates[arm],
            unit="records/s",
            bar=bar,
            direction="at_least",
            details=details,
        )
        for label, arm, bar in baselines
    ]
    cpu = measured.cpu_us_per_op or 0.0
    results.append(
        Result(
            id="P1",
            name="CPU per encrypted save",
            value=round(cpu, 1),
            unit="µs",
            baseline=rates["sqlite3"].cpu_us_per_op,
            ratio=round(cpu / (rates["sqlite3"].cpu_us_per_op or cpu), 3),
            bar="≤ 300 µs",
            passed=cpu <= 300,
            details={"baseline": "raw sqlite3 insert of the same plaintext, same rounds"},
        )
    )
    results.append(
        Result(
            id="P1",
            name="Argon2id unlock, 256 MiB t=3 p=4 (security parameter)",
            value=kdf.median,
            unit="s",
            baseline=None,
            ratio=None,
            bar="reported",
            passed=True,
            details={"kdf": kdf.summary()},
        )
    )
    return results
