"""P6: sync throughput, 10,000 finalised screenings from one device to the server over loopback,
server on SQLite and on PostgreSQL, against the same client posting the same bytes to a bare
endpoint of the same framework that does no work.

Measured: a whole :class:`~fieldscreen.sync.engine.Syncer` run (status, "what is missing?",
submit with up to two posts on the wire, signed receipt verified and applied, checkpoint) of a
fresh device's backlog of ~5 KB sealed envelopes, batches of 200. Baseline: the same envelope
bytes, read from the same spool in the same batches, posted by the same client (the device's
token, every request signed as in the measured arm) to the bare endpoint.

The arms alternate round by round: each round takes a fresh device, posts its backlog to the
bare endpoint, then syncs it (the baseline first, as the sync empties the backlog), so the
two arms of a round see the same machine; the figure is the median of the per-round ratios,
printed with their spread, and the CPU of both processes (client and server, or client and
bare endpoint) per envelope is reported beside.

With follow-ups mixed in (``mixed`` in the details): after the rounds, one more device per
database whose backlog of the same size holds each screening followed by
``FIELDSCREEN_P6_EVENTS`` case events (``event`` envelopes, 2 by default: follow-ups of it), the
same bare post and sync; its envelopes per second, counted over screenings and events alike,
beside the screenings-only rounds'.
"""

from __future__ import annotations

import dataclasses
import os
import random
import tempfile
import time
import uuid
from pathlib import Path

from benchmarks.harness import QUICK, Result, Sample, ratio_result, sized
from benchmarks.sync_support import (
    bare_server,
    cpu_seconds,
    databases,
    new_device,
    prepare,
    sync_server_process,
)
from fieldscreen.sync.envelope import Envelope
from fieldscreen.sync.server.repositories.ingest import (
    _envelope_row,
    _insert_envelopes_pg,
    _insert_envelopes_sqlite,
)
from fieldscreen.sync.server.storage import Storage
from fieldscreen.sync.simulate import SimDevice, SimOrg

COUNT = int(os.environ.get("FIELDSCREEN_P6_COUNT", str(sized(10000, 1000))))
#: Rounds after the warm-up: in each, a fresh device's backlog is posted to the bare endpoint,
#: then synced (the same bytes, arm after arm), and the ratio is taken round by round.
RUNS = sized(5, 3)
BATCH = 200
#: Case events (follow-ups) after each screening in the mixed backlog; 0 leaves it out.
EVENTS = int(os.environ.get("FIELDSCREEN_P6_EVENTS", "2"))
# How cost grows with the backlog: one device per size, synced after the runs above, so the
# server already holds their rows too. FIELDSCREEN_P6_GROWTH="" leaves it out.
GROWTH = tuple(
    int(size)
    for size in os.environ.get("FIELDSCREEN_P6_GROWTH", "" if QUICK else "1000,10000,50000").split(
        ","
    )
    if size.strip()
)


def _bare_post(device: SimDevice, url: str, keep: list[bytes] | None = None) -> float:
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
            if keep is not None:
                keep.extend(item.data for item in page)
        return time.perf_counter() - start


def _store_only(storage: Storage, device: SimDevice, envelopes: list[bytes]) -> float:
    """Wall seconds per envelope of the server's durable insert alone, the same rows in the same
    batches through the same statement and commit, without HTTP, parsing, checks or receipts:
    the floor that storage sets under the measured arm. The rows get fresh record ids and
    sequence numbers far above the device's, so they are all new."""
    row = storage.repos.devices.get(device.device_id)
    assert row is not None
    insert = (
        _insert_envelopes_pg
        if storage.engine.dialect.name == "postgresql"
        else (_insert_envelopes_sqlite)
    )
    took = 0.0
    for first in range(0, len(envelopes), BATCH):
        rows = [
            _envelope_row(
                dataclasses.replace(
                    Envelope.from_bytes(data), record_id=str(uuid.uuid4()), seq=10**12 + first + i
                ),
                row,
                "2026-01-01T00:00:00+00:00",
            )
            for i, data in enumerate(envelopes[first : first + BATCH])
        ]
        start = time.perf_counter()
        with storage.engine.begin() as conn:
            insert(conn, rows)
        took += time.perf_counter() - start
    return took / len(envelopes)


def _sync(device: SimDevice, count: int = COUNT) -> float:
    start = time.perf_counter()
    summary = device.sync(max_count=BATCH, pull=False)
    took = time.perf_counter() - start
    # The simulated spool keeps no kinds: every envelope, events too, is counted delivered.
    if summary.delivered + summary.event_envelopes != count:
        raise RuntimeError(f"P6 delivered {summary.delivered} of {count}")
    return took


def _mixed(  # noqa: PLR0917 -- a benchmark helper read in order
    storage: Storage, org: SimOrg, url: str, bare: str, folder: Path, rng: random.Random
) -> dict[str, float | int]:
    """One device's backlog of COUNT envelopes, each screening followed by EVENTS case events:
    envelopes per second synced and bare-posted (a single run)."""
    device = new_device(storage, org, url, folder, COUNT, rng, events=EVENTS)
    try:
        base = _bare_post(device, bare)
        took = _sync(device)
    finally:
        device.spool.close()
    return {
        "envelopes": COUNT,
        "events": COUNT - -(-COUNT // (EVENTS + 1)),
        "envelopes_per_s": round(COUNT / took, 1),
        "bare_envelopes_per_s": round(COUNT / base, 1),
        "ratio": round(base / took, 3),
    }


def _growth(  # noqa: PLR0917 -- a benchmark helper read in order
    storage: Storage, org: SimOrg, url: str, bare: str, folder: Path, rng: random.Random
) -> dict[str, dict[str, float]]:
    """Microseconds per envelope, measured and bare, for one backlog of each size in GROWTH:
    flat per envelope is the expectation (batches are bounded, the checkpoint is a cursor)."""
    growth: dict[str, dict[str, float]] = {}
    for size in GROWTH:
        device = new_device(storage, org, url, folder, size, rng)
        try:
            base = _bare_post(device, bare)
            took = _sync(device, size)
        finally:
            device.spool.close()
        growth[str(size)] = {
            "us_per_envelope": round(took / size * 1e6, 1),
            "bare_us_per_envelope": round(base / size * 1e6, 1),
            "ratio": round(base / took, 3),
        }
    return growth


def _print_growth(label: str, growth: dict[str, dict[str, float]]) -> None:
    for size, row in growth.items():
        print(
            f"  P6 growth, {label}: {int(size):>6,} envelopes"
            f"  {row['us_per_envelope']:7.1f} µs each"
            f"  (bare {row['bare_us_per_envelope']:.1f} µs, ratio {row['ratio']:.2f})",
            flush=True,
        )


def _median(values: list[float]) -> float | None:
    return round(sorted(values)[len(values) // 2], 1) if values else None


def run() -> list[Result]:
    results: list[Result] = []
    rng = random.Random(6)
    org = SimOrg()
    with (
        databases() as dbs,
        tempfile.TemporaryDirectory() as tmp,
        bare_server() as (bare, bare_process),
    ):
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
                bare_cpu: list[float] = []
                # CPU seconds of each round's arms: server and client together, and the bare
                # endpoint and the client together.
                round_cpu: list[float] = []
                round_bare_cpu: list[float] = []
                kept: list[bytes] = []  # the last device's envelopes, for the storage floor
                for index, device in enumerate(devices):
                    last = index == len(devices) - 1
                    cpu = cpu_seconds(bare_process.pid), time.process_time()
                    # Before syncing: the same pending bytes.
                    base = _bare_post(device, bare, kept if last else None)
                    cpu_after = cpu_seconds(bare_process.pid), time.process_time()
                    if index and cpu[0] is not None and cpu_after[0] is not None:
                        both = cpu_after[0] - cpu[0] + cpu_after[1] - cpu[1]
                        bare_cpu.append(both / COUNT * 1e6)
                        round_bare_cpu.append(both)
                    before = cpu_seconds(server.pid), time.process_time()
                    took = _sync(device)
                    after = cpu_seconds(server.pid), time.process_time()
                    if index:  # the first pair is the warm-up
                        measured.append(COUNT / took)
                        baseline.append(COUNT / base)
                        if before[0] is not None and after[0] is not None:
                            server_cpu.append((after[0] - before[0]) / COUNT * 1e6)
                            round_cpu.append(after[0] - before[0] + after[1] - before[1])
                        client_cpu.append((after[1] - before[1]) / COUNT * 1e6)
                    device.spool.close()
                store_only = _store_only(storage, devices[-1], kept)
                del kept
                growth = _growth(storage, org, url, bare, Path(tmp), rng)
                _print_growth(label, growth)
                mixed = _mixed(storage, org, url, bare, Path(tmp), rng) if EVENTS else {}
                if mixed:
                    plain = _median(measured)
                    mixed["vs_screenings_only"] = round(
                        float(mixed["envelopes_per_s"]) / (plain or 1), 3
                    )
                    print(
                        f"  P6 with {EVENTS} follow-ups per screening, {label}: "
                        f"{mixed['envelopes_per_s']:,} envelopes/s "
                        f"({mixed['events']:,} of {COUNT:,} case events; "
                        f"{mixed['vs_screenings_only']:.2f}× screenings only)",
                        flush=True,
                    )
            storage.close()
            # The CPU beside each arm: the whole system's, both processes of the round.
            known = len(round_cpu) == len(measured) and len(round_bare_cpu) == len(baseline)
            m = Sample(tuple(measured), tuple(round_cpu) if known else (), COUNT)
            b = Sample(tuple(baseline), tuple(round_bare_cpu) if known else (), COUNT)
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
                        # The floors under the ratio, same run: the bare arm's CPU (client and
                        # bare endpoint together), and the server's durable insert and commit
                        # of the same rows alone, wall time (no HTTP, parsing or checks).
                        "bare_cpu_us_per_envelope": _median(bare_cpu),
                        "store_only_us_per_envelope": round(store_only * 1e6, 1),
                        "cores": os.cpu_count(),
                        # One device per backlog size, single runs: cost per envelope as it grows.
                        "growth": growth,
                        # One device, follow-ups mixed in (case events), a single run.
                        "mixed": mixed,
                    },
                )
            )
    return results
