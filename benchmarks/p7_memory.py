"""P7: peak resident memory of the sync client with 50,000 pending envelopes, against its peak
with 1,000 pending (bar: within 1.2x). The client runs in its own process; the server in
another, on SQLite. Growth is printed at 1,000 / 10,000 / 50,000 pending (and 200,000 with
``FIELDSCREEN_BENCH_200K=1``, then held against the same bar).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.harness import Result, Sample, growth_sizes, ratio_result, sized
from benchmarks.sync_support import ROOT, new_device, prepare, sync_server
from fieldscreen.sync.simulate import SimOrg

LARGE = int(os.environ.get("FIELDSCREEN_P7_COUNT", str(sized(50000, 5000))))
SMALL = 1000
#: A year of a busy site (with FIELDSCREEN_BENCH_200K=1): held against the same bar.
YEAR = 200_000

CHILD = """
import json, resource, sys, tracemalloc
def high_water():
    # This process's own peak resident memory. ru_maxrss survives exec on Linux, so a child
    # of a large benchmark process would report its parent's size; /proc's VmHWM does not.
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
from fieldscreen.sync.client import SyncClient
from fieldscreen.sync.engine import Syncer
from fieldscreen.sync.spool import Spool
spool = Spool(__import__("pathlib").Path(sys.argv[1]))
prov, ident = spool.provisioning(), spool.identity()
from fieldscreen.sync.request_auth import DeviceSigner
signer = DeviceSigner.for_stores(spool, ident.device_id)
with SyncClient(sys.argv[2], token=ident.token, signer=signer) as client:
    floor = high_water()
    tracemalloc.start()
    summary = Syncer(client, spool, spool, receipt_key=prov.receipt_public_key,
                     signing_key=prov.signing_public_key, pull=False).run()
    heap_peak = tracemalloc.get_traced_memory()[1]
peak = high_water()
print(json.dumps({"peak": peak, "floor": floor, "heap_peak": heap_peak,
                  "delivered": summary.delivered}))
"""


def _client_peak(spool: Path, url: str, expected: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(spool), url],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    ).stdout
    data = json.loads(out)
    if data["delivered"] != expected:
        raise RuntimeError(f"P7 delivered {data['delivered']} of {expected}")
    return {k: float(data[k]) / 2**20 for k in ("peak", "floor", "heap_peak")}


def run() -> list[Result]:
    rng = random.Random(7)
    org = SimOrg()
    counts = sorted({SMALL, *growth_sizes((SMALL, 2000)), LARGE})
    peaks: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="fieldscreen-p7-") as tmp:
        db = str(Path(tmp) / "server.sqlite3")
        storage = prepare(db, org)
        with sync_server(db) as url:
            for count in counts:
                device = new_device(storage, org, url, Path(tmp), count, rng)
                peaks[count] = _client_peak(device.spool.path, url, count)
                print(
                    f"  P7 growth: {count:>7,} pending  peak {peaks[count]['peak']:6.1f} MiB"
                    f"  heap peak {peaks[count]['heap_peak']:6.2f} MiB",
                    flush=True,
                )
        storage.close()
    small_peak = peaks[SMALL]
    growth = {
        str(c): {"peak_mib": round(p["peak"], 1), "heap_peak_mib": round(p["heap_peak"], 2)}
        for c, p in peaks.items()
    }
    return [
        _result(count, peaks[count], small_peak, growth)
        for count in counts
        if count in (LARGE, YEAR)
    ]


def _result(
    large: int,
    large_peak: dict[str, float],
    small_peak: dict[str, float],
    growth: dict[str, dict[str, float]],
) -> Result:
    return ratio_result(
        id="P7",
        name=f"sync client peak memory, {large:,} vs {SMALL:,} pending",
        measured=Sample((large_peak["peak"],)),
        baseline=Sample((small_peak["peak"],)),
        unit="MiB",
        bar=1.2,
        direction="at_most",
        details={
            "growth": growth,
            "pending_large": large,
            "pending_small": SMALL,
            "rss_before_sync_mib": [
                round(small_peak["floor"], 1),
                round(large_peak["floor"], 1),
            ],
            "python_heap_peak_during_sync_mib": [
                round(small_peak["heap_peak"], 2),
                round(large_peak["heap_peak"], 2),
            ],
            "heap_ratio": round(large_peak["heap_peak"] / small_peak["heap_peak"], 3),
        },
    )
