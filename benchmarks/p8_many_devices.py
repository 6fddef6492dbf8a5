"""P8: server ingest under 50 concurrent simulated devices against one server process on
PostgreSQL (and on SQLite for comparison): envelopes/s and p99 request latency, reported
against P6's single-device figure measured in the same run (same server, same database).
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx

from benchmarks.harness import Result, Sample, ratio_result
from benchmarks.sync_support import databases, new_device, prepare, sync_server
from fieldscreen.sync.simulate import SimDevice, SimOrg

DEVICES = 50
PER_DEVICE = int(os.environ.get("FIELDSCREEN_P8_PER_DEVICE", "200"))
SINGLE = DEVICES * PER_DEVICE


class Timed(httpx.HTTPTransport):
    def __init__(self, latencies: list[float]) -> None:
        super().__init__()
        self.latencies = latencies

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        start = time.perf_counter()
        response = super().handle_request(request)
        response.read()
        if request.url.path.endswith("/envelopes"):
            self.latencies.append(time.perf_counter() - start)
        return response


def run() -> list[Result]:
    results: list[Result] = []
    rng = random.Random(8)
    org = SimOrg()
    with databases() as dbs, tempfile.TemporaryDirectory() as tmp:
        for label, db_url in reversed(dbs):  # PostgreSQL first: the figure the spec asks for
            storage = prepare(db_url, org)
            with sync_server(db_url) as url:
                fleet = [
                    new_device(
                        storage,
                        org,
                        url,
                        Path(tmp),
                        PER_DEVICE,
                        rng,
                        size=5000,
                        site=f"site-{i % 5}",
                    )
                    for i in range(DEVICES)
                ]
                one = new_device(storage, org, url, Path(tmp), SINGLE, rng)
                start = time.perf_counter()
                one.sync(max_count=200, pull=False)
                single_rate = SINGLE / (time.perf_counter() - start)
                latencies: list[float] = []
                errors: list[BaseException] = []

                def go(
                    device: SimDevice,
                    latencies: list[float] = latencies,
                    errors: list[BaseException] = errors,
                ) -> None:
                    try:
                        device.sync(max_count=50, pull=False, transport=Timed(latencies))
                    except BaseException as exc:  # counted and raised below
                        errors.append(exc)

                threads = [threading.Thread(target=go, args=(d,)) for d in fleet]
                start = time.perf_counter()
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                took = time.perf_counter() - start
                if errors:
                    raise RuntimeError(f"P8: {len(errors)} devices failed: {errors[0]!r}")
                delivered = storage.count("envelopes")
                if delivered != SINGLE * 2:
                    raise RuntimeError(f"P8 holds {delivered}, expected {SINGLE * 2}")
            storage.close()
            rate = SINGLE / took
            p99 = statistics.quantiles(latencies, n=100)[98] if len(latencies) > 2 else 0.0
            results.append(
                ratio_result(
                    id="P8",
                    name=f"ingest from {DEVICES} devices at once, server on {label}",
                    measured=Sample((rate,)),
                    baseline=Sample((single_rate,)),
                    unit="envelopes/s",
                    bar=0.5,
                    direction="at_least",
                    details={
                        "devices": DEVICES,
                        "per_device": PER_DEVICE,
                        "p99_submit_latency_s": round(p99, 4),
                        "median_submit_latency_s": round(statistics.median(latencies), 4),
                        "single_device_rate": round(single_rate, 1),
                    },
                )
            )
    return results
