"""P1: encrypted save of a screening (encrypt + one durable transaction), records per second.

Each save is :meth:`Vault.new_draft` with a realistic 5 KB record: a fresh data key, its wrap,
AES-256-GCM of the record, the state-digest update and the audit entry, committed with
``synchronous=FULL``. Baselines in the same run: plain SQLite and SQLCipher inserting the same
plaintext, one transaction each (see :mod:`benchmarks.vault_common`). Also reported: the
Argon2id unlock time with the default parameters (a security parameter, not a speed figure)
and how the cost per record grows from 1,000 to 10,000 records.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks.harness import Result, Sample, ratio_result
from benchmarks.vault_common import (
    QUICK,
    Baseline,
    light_vault,
    realistic_record,
    wal_frames_per_write,
)

RECORDS = 2000 if QUICK else 20000
RUNS = 3


def _rate_vault(folder: Path, records: list[dict[str, object]]) -> float:
    vault = light_vault(folder)
    start = time.perf_counter()
    for record in records:
        vault.new_draft("screening", "1", record)
    elapsed = time.perf_counter() - start
    vault.close()
    return len(records) / elapsed


def _rate_baseline(path: Path, records: list[dict[str, object]], *, cipher: bool) -> float:
    store = Baseline(path, cipher=cipher)
    start = time.perf_counter()
    for record in records:
        store.insert(record)
    elapsed = time.perf_counter() - start
    store.close()
    return len(records) / elapsed


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
    vault_rates, plain_rates, cipher_rates = [], [], []
    growth: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="fieldscreen-p1-") as tmp:
        root = Path(tmp)
        _rate_vault(root / "warm-v", records[:200])
        _rate_baseline(root / "warm-p.db", records[:200], cipher=False)
        _rate_baseline(root / "warm-c.db", records[:200], cipher=True)
        for run_index in range(RUNS):
            vault_rates.append(_rate_vault(root / f"v{run_index}", records))
            plain_rates.append(_rate_baseline(root / f"p{run_index}.db", records, cipher=False))
            cipher_rates.append(_rate_baseline(root / f"c{run_index}.db", records, cipher=True))
        pages = _pages_per_save(root, records)
        # How cost grows (performance.md: 1,000 / 10,000 / 50,000 records): a fresh vault
        # filled to each size, the mean durable save over all of them.
        for size in (1000, 10000, 50000) if not QUICK else (500, 2000):
            rate = _rate_vault(root / f"g{size}", [records[i % RECORDS] for i in range(size)])
            growth[f"{size} records: ms per save"] = round(1000 / rate, 3)
            print(f"  P1 growth: {size:>6,} records  {1000 / rate:6.3f} ms per save", flush=True)
    measured = Sample(tuple(vault_rates))
    details = {
        "records": RECORDS,
        "record_bytes": 5000,
        "argon2id_default_unlock_s": kdf.summary(),
        "growth": growth,
        "wal_pages_per_save": pages,
    }
    return [
        ratio_result(
            id="P1",
            name="encrypted save vs plain SQLite",
            measured=measured,
            baseline=Sample(tuple(plain_rates)),
            unit="records/s",
            bar=0.5,
            direction="at_least",
            details=details,
        ),
        ratio_result(
            id="P1",
            name="encrypted save vs SQLCipher",
            measured=measured,
            baseline=Sample(tuple(cipher_rates)),
            unit="records/s",
            bar=1.0,
            direction="at_least",
            details=details,
        ),
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
        ),
    ]
