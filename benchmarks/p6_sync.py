"""P6: sync throughput, 10,000 finalised screenings from one device to the server over loopback,
server on SQLite and on PostgreSQL, against the same client posting the same bytes to a bare
endpoint of the same framework that does no work.

Measured: a whole :class:`~fieldscreen.sync.engine.Syncer` run (status, "what is missing?",
submit with up to two posts on the wire, signed receipt verified and applied, checkpoint) of a
fresh device's backlog of ~5 KB sealed envelopes, batches of 200. Baseline: the same envelope
bytes, read from the same spool in the same batches, posted by the same client (the device's
token, every request signed as in the measured arm) to the bare endpoint.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from pathlib import Path

from benchmarks.harness import Result, Sample, ratio_result
from benchmarks.sync_support import (
    bare_server,
    cpu_seconds,
    databases,
    new_device,
    prepare,
    sync_server_process,
)
from fieldscreen.sync.simulate import SimDevice, SimOrg

COUNT = int(os.environ.get("FIELDSCREEN_P6_COUNT", "10000"))
RUNS = 3
BATCH = 200


def _bare_post(device: SimDevice, url: str) -> float:
    # The same client as the measured arm: the device's token and key, each request signed.
    with device.client(base_url=url) as client:
        start = time.perf_counter()
        cursor = 0
        while True:
            page = device.spool.pending_page(cursor, BATCH)
            if not page:
                break
            client.submit([item.data for item in page])
            cursor = page[-1].seq
        return time.perf_counter() - start


def _sync(device: SimDevice) -> float:
    start = time.perf_counter()
    summary = device.sync(max_count=BATCH, pull=False)
    took = time.perf_counter() - start
    if summary.delivered != COUNT:
        raise RuntimeError(f"P6 delivered {summary.delivered} of {COUNT}")
    return took


def _median(values: list[float]) -> float | None:
    return round(sorted(values)[len(values) // 2], 1) if values else None


def run() -> list[Result]:
    results: list[Result] = []
    rng = random.Random(6)
    org = SimOrg()
    with databases() as dbs, tempfile.TemporaryDirectory() as tmp, bare_server() as bare:
        for label, db_url in dbs:
            storage = prepare(db_url, org)
            with sync_server_process(db_url) as (url, server):
                devices = [
                    new_device(storage, org, url, Path(tmp), COUNT, rng) for _ in range(RUNS + 1)
                ]
                measured: list[float] = []
                baseline: list[float] = []
                server_cpu: list[float] = []
                client_cpu: list[float] = []
                for index, device in enumerate(devices):
                    base = _bare_post(device, bare)  # before syncing: the same pending bytes
                    before = cpu_seconds(server.pid), time.process_time()
                    took = _sync(device)
                    after = cpu_seconds(server.pid), time.process_time()
                    if index:  # the first pair is the warm-up
                        measured.append(COUNT / took)
                        baseline.append(COUNT / base)
                        if before[0] is not None and after[0] is not None:
                            server_cpu.append((after[0] - before[0]) / COUNT * 1e6)
                        client_cpu.append((after[1] - before[1]) / COUNT * 1e6)
                    device.spool.close()
            storage.close()
            m, b = Sample(tuple(measured)), Sample(tuple(baseline))
            results.append(
                ratio_result(
                    id="P6",
                    name=f"sync throughput, server on {label}",
                    measured=m,
                    baseline=b,
                    unit="envelopes/s",
                    bar=0.5,
                    direction="at_least",
                    details={
                        "envelopes": COUNT,
                        "batch": BATCH,
                        "payload_bytes": 5000,
                        "odk_central_published": 41,
                        "vs_odk_central": round(m.median / 41, 1),
                        # Where a synced envelope's time goes (CPU microseconds, median of runs):
                        # the server process, and this process (the client and its spool).
                        "server_cpu_us_per_envelope": _median(server_cpu),
                        "client_cpu_us_per_envelope": _median(client_cpu),
                    },
                )
            )
    return results
