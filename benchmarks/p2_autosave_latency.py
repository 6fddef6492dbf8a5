"""P2: single autosave latency as a user types, with 50,000 records already in the store.

The vault is filled with 50,000 realistic drafts (one bulk transaction, not timed), then
:meth:`Vault.save_draft` is timed on random drafts, one durable transaction each; the baseline
is a plain SQLite single-row UPDATE commit of the same plaintext with the same settings, on a
table of the same size, in the same run (SQLCipher reported beside it). Bars: p99 ≤ 10 ms, and
p99 ≤ 3 × the plain commit's p99.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import Result
from benchmarks.vault_common import QUICK, Baseline, light_vault, realistic_record

FILL = 5000 if QUICK else 50000
SAVES = 300 if QUICK else 1000
RUNS = 3
#: How cost grows (performance.md): one vault filled to each size in turn, timed at each.
GROWTH = (500, 2000, 5000) if QUICK else (1000, 10000, 50000)


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


def _growth(
    folder: Path, templates: list[dict[str, Any]], rng: random.Random
) -> dict[str, dict[str, float]]:
    """Autosave latency (median and p99 of SAVES durable saves of random drafts) as the store
    grows through GROWTH: flat, or logarithmic for the index lookups, is the expectation."""
    vault = light_vault(folder)
    ids: list[Any] = []
    growth: dict[str, dict[str, float]] = {}
    for size in GROWTH:
        with vault._open_store().transaction():
            ids += [
                vault.new_draft("screening", "1", templates[i % 200]) for i in range(len(ids), size)
            ]
        latencies = []
        for n in range(SAVES):
            target = ids[rng.randrange(len(ids))]
            start = time.perf_counter()
            vault.save_draft(target, dict(templates[n % 200], typed=n))
            latencies.append(time.perf_counter() - start)
        row = {
            "median_ms": round(statistics.median(latencies) * 1000, 3),
            "p99_ms": round(_p99(latencies) * 1000, 3),
        }
        growth[str(size)] = row
        print(
            f"  P2 growth: {size:>6,} records  median {row['median_ms']:6.3f} ms"
            f"  p99 {row['p99_ms']:6.3f} ms",
            flush=True,
        )
    vault.close()
    return growth


def run() -> list[Result]:
    rng = random.Random(2)
    templates = [realistic_record(i) for i in range(200)]
    p99_vault, p99_plain, p99_cipher = [], [], []
    with tempfile.TemporaryDirectory(prefix="fieldscreen-p2-") as tmp:
        root = Path(tmp)
        vault = light_vault(root / "vault")
        with vault._open_store().transaction():
            ids = [vault.new_draft("screening", "1", templates[i % 200]) for i in range(FILL)]
        plain = Baseline(root / "plain.db", cipher=False)
        plain_ids = plain.bulk([templates[i % 200] for i in range(FILL)])
        cipher = Baseline(root / "cipher.db", cipher=True)
        cipher_ids = cipher.bulk([templates[i % 200] for i in range(FILL)])

        def timed(action: Any, targets: list[Any]) -> list[float]:
            latencies = []
            for n in range(SAVES):
                record = dict(templates[n % 200], typed=n)
                target = targets[rng.randrange(len(targets))]
                start = time.perf_counter()
                action(target, record)
                latencies.append(time.perf_counter() - start)
            return latencies

        timed(vault.save_draft, ids[:50])  # warm-up
        timed(plain.update, plain_ids[:50])
        for _ in range(RUNS):
            p99_vault.append(_p99(timed(vault.save_draft, ids)))
            p99_plain.append(_p99(timed(plain.update, plain_ids)))
            p99_cipher.append(_p99(timed(cipher.update, cipher_ids)))
        vault.close()
        plain.close()
        cipher.close()
        growth = _growth(root / "growth", templates, rng)
    measured = statistics.median(p99_vault) * 1000
    baseline = statistics.median(p99_plain) * 1000
    ratio = measured / baseline
    return [
        Result(
            id="P2",
            name=f"autosave p99 with {FILL} records",
            value=round(measured, 3),
            unit="ms",
            baseline=round(baseline, 3),
            ratio=round(ratio, 3),
            bar="≤ 10 ms and ≤ 3×",
            passed=measured <= 10 and ratio <= 3,
            details={
                "p99_ms_runs": [round(v * 1000, 3) for v in p99_vault],
                "plain_p99_ms_runs": [round(v * 1000, 3) for v in p99_plain],
                "sqlcipher_p99_ms_runs": [round(v * 1000, 3) for v in p99_cipher],
                "saves_per_run": SAVES,
                "growth": growth,
            },
        )
    ]
