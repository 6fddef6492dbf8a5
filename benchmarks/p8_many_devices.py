"""P8: server ingest under 50 concurrent simulated devices against one server process on
PostgreSQL (and on SQLite for comparison): envelopes/s and p99 request latency, reported
against one device alone sending the same number of envelopes to the same server in the same
run.

The two arms are alike but for the number of devices: the same envelopes in all (~5 KB sealed
payloads), the same batch size (50 per submit), the clients in their own processes (the fleet's
50 devices spread over ``FIELDSCREEN_P8_PROCESSES`` processes, default 10, a thread per
device; the lone device in a process of its own), each process enrolling and filling its
devices before the timed window opens; the window runs from the signal to go until the last
device's sync is done. The arms are interleaved over several rounds (one device, the fleet,
then the fleet, one device, ...), each round with fresh devices, and the ratio is the median
of the per-round ratios, printed with its spread. CPU per envelope: the server process (in the
table), and the client processes together (in the JSON).
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from benchmarks.harness import Result, Sample, ratio_result, round_order, sized
from benchmarks.sync_support import cpu_seconds, databases, prepare, sync_server_process
from fieldscreen.sync.client import RetryPolicy
from fieldscreen.sync.errors import TransientError
from fieldscreen.sync.server import timing
from fieldscreen.sync.simulate import SimDevice, SimOrg

DEVICES = sized(50, 10)
PER_DEVICE = int(os.environ.get("FIELDSCREEN_P8_PER_DEVICE", str(sized(200, 20))))
SINGLE = DEVICES * PER_DEVICE
#: Envelopes per submit, in both arms (the spec's p99 bar is for a 50-envelope submit).
BATCH = 50
PROCESSES = int(os.environ.get("FIELDSCREEN_P8_PROCESSES", "10"))
ROUNDS = sized(3, 2)
#: Seconds a client process may take to get ready or to sync before the run is abandoned.
PATIENCE = 900


#: The laptops' backoff when the server is busy: its ``Retry-After`` (1 s) plus up to 2 s of
#: jitter, as often as it takes (a real laptop's run gives up sooner and its next run resumes).
COME_BACK = RetryPolicy(attempts=10_000, base=0.25, cap=2.0)


class Timed(httpx.HTTPTransport):
    """The latency of each submit the server stored (200) with the server's own split of it
    (its ``Server-Timing``, milliseconds by part), and the count of those it sent back at once
    (503, over its in-flight cap: the laptop keeps the batch and comes back)."""

    def __init__(
        self, latencies: list[float], refused: list[int], splits: list[dict[str, float]]
    ) -> None:
        super().__init__()
        self.latencies = latencies
        self.refused = refused
        self.splits = splits

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        start = time.perf_counter()
        response = super().handle_request(request)
        response.read()
        if request.url.path.endswith("/envelopes"):
            if response.status_code == 503:
                self.refused.append(1)
            else:
                took = time.perf_counter() - start
                self.latencies.append(took)
                split = timing.parse(response.headers.get("server-timing", ""))
                split["client-latency"] = took * 1000
                self.splits.append(split)
        return response


if TYPE_CHECKING:
    from fieldscreen.sync.server.storage import Storage


def client_process(  # noqa: PLR0917 -- the arguments of one client process, read in order
    org: SimOrg,
    url: str,
    receipt_public: bytes,
    folder: str,
    devices: list[tuple[str, int, int]],
    ready: Any,
    go: Any,
    done: Any,
) -> None:
    """One client process: fill its enrolled devices (``(spool path, envelopes, seed)`` each),
    say it is ready, wait for the signal, sync every device at once (a thread each), and report
    the submit latencies, the envelopes delivered and its CPU during the sync."""
    try:
        sims = []
        for path, count, seed in devices:
            sim = SimDevice(org, url, Path(path), receipt_public=receipt_public)
            sim.identity = sim.spool.identity()
            sim.fill(count, random.Random(seed), size=5000)
            sims.append(sim)
        ready.put(os.getpid())
        go.wait()
        cpu = time.process_time()
        latencies: list[float] = []
        delivered: list[int] = []
        errors: list[str] = []
        refused: list[int] = []
        splits: list[dict[str, float]] = []

        def sync(sim: SimDevice) -> None:
            try:
                transport = Timed(latencies, refused, splits)
                summary = sim.sync(
                    max_count=BATCH, pull=False, transport=transport, policy=COME_BACK
                )
                delivered.append(summary.delivered)
            except Exception as exc:  # reported to the parent, which fails the run
                errors.append(repr(exc))

        threads = [threading.Thread(target=sync, args=(sim,)) for sim in sims]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        took_cpu = time.process_time() - cpu
        for sim in sims:
            sim.spool.close()
        done.put(("ok", latencies, sum(delivered), took_cpu, errors, len(refused), splits))
    except Exception as exc:  # reported to the parent, which fails the run
        ready.put(-1)
        done.put(("error", [], 0, 0.0, [repr(exc)], 0, []))


def _arm(  # noqa: PLR0917 -- one arm of one round, read in order
    storage: Storage,
    org: SimOrg,
    url: str,
    server_pid: int,
    folder: Path,
    devices: int,
    processes: int,
    seed: int,
    total: int = SINGLE,
) -> dict[str, Any]:
    """One arm of one round: ``devices`` fresh devices over ``processes`` client processes,
    ``total`` envelopes in all; returns the time, the submit latencies and the CPU it took."""
    context = multiprocessing.get_context("spawn")
    ready, done, go = context.Queue(), context.Queue(), context.Event()
    per_device = total // devices
    plan: list[list[tuple[str, int, int]]] = [[] for _ in range(processes)]
    for index in range(devices):
        plan[index % processes].append(
            (_enrolled(storage, org, url, folder, f"site-{index % 5}"), per_device, seed + index)
        )
    workers = [
        context.Process(
            target=client_process,
            args=(
                org,
                url,
                storage.repos.keys.keys().receipt_public,
                str(folder),
                part,
                ready,
                go,
                done,
            ),
        )
        for part in plan
        if part
    ]
    for worker in workers:
        worker.start()
    try:
        for _ in workers:
            if ready.get(timeout=PATIENCE) == -1:
                raise RuntimeError(f"P8: a client process failed: {done.get(timeout=10)[4]}")
        server_cpu = cpu_seconds(server_pid)
        start = time.perf_counter()
        go.set()
        reports = [done.get(timeout=PATIENCE) for _ in workers]
        took = time.perf_counter() - start
        server_cpu_after = cpu_seconds(server_pid)
    except queue.Empty as exc:
        raise RuntimeError("P8: a client process did not answer in time") from exc
    finally:
        for worker in workers:
            worker.join(timeout=60)
            if worker.is_alive():
                worker.kill()
    errors = [e for report in reports for e in report[4]]
    if errors:
        raise RuntimeError(f"P8: {len(errors)} devices failed: {errors[0]}")
    delivered = sum(report[2] for report in reports)
    if delivered != per_device * devices:
        raise RuntimeError(f"P8 delivered {delivered}, expected {per_device * devices}")
    server = (
        server_cpu_after - server_cpu
        if server_cpu is not None and server_cpu_after is not None
        else None
    )
    return {
        "seconds": took,
        "latencies": [lat for report in reports for lat in report[1]],
        "client_cpu": sum(report[3] for report in reports),
        "refused": sum(report[5] for report in reports),
        "server_cpu": server,
        "splits": [split for report in reports for split in report[6]],
    }


def split_of(splits: list[dict[str, float]]) -> dict[str, Any]:
    """Where the submits' time went (milliseconds, the server's ``Server-Timing`` parts and
    the client's whole latency): each part's median and p99 over every submit, and its mean
    over the slowest 1 % of them by the client's latency (what makes the p99); ``outside``
    is the client's latency less the server's total (the network, the server's event loop,
    the client's own interpreter)."""
    if not splits:
        return {}
    for split in splits:
        if "total" in split:
            split["outside"] = split["client-latency"] - split["total"]
    names = sorted({name for split in splits for name in split})
    slowest = sorted(splits, key=lambda s: s["client-latency"])[-max(1, len(splits) // 100) :]
    return {
        "submits": len(splits),
        "median_ms": {n: round(statistics.median(s.get(n, 0.0) for s in splits), 2) for n in names},
        "p99_ms": {n: round(_p99([s.get(n, 0.0) for s in splits]), 2) for n in names},
        "slowest_1pc_mean_ms": {
            n: round(statistics.fmean(s.get(n, 0.0) for s in slowest), 2) for n in names
        },
    }


def _enrolled(storage: Storage, org: SimOrg, url: str, folder: Path, site: str) -> str:
    """A new device enrolled from here, one at a time, waiting as the server's limit on
    anonymous requests (2 a second after a burst of 30) asks; returns its spool, which a client
    process then opens."""
    path = folder / f"{uuid.uuid4().hex}.sqlite3"
    device = SimDevice(org, url, path, receipt_public=storage.repos.keys.keys().receipt_public)
    code = storage.repos.credentials.create_enrol_code(site)
    deadline = time.monotonic() + PATIENCE
    while True:
        try:
            device.enroll(code)  # not retried by the client: the limit is waited out here
            break
        except TransientError as exc:
            if time.monotonic() > deadline:
                raise
            time.sleep(exc.retry_after or 0.5)
    device.spool.close()
    return str(path)


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) > 2 else max(values, default=0)


def _per_envelope_us(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(statistics.median(known) / SINGLE * 1e6, 1) if known else None


def run() -> list[Result]:
    results: list[Result] = []
    org = SimOrg()
    with databases() as dbs, tempfile.TemporaryDirectory() as tmp:
        for label, db_url in reversed(dbs):  # PostgreSQL first: the figure the spec asks for
            storage = prepare(db_url, org)
            arms: dict[str, list[dict[str, Any]]] = {"one": [], "fleet": []}
            shapes = {"one": (1, 1), "fleet": (DEVICES, min(PROCESSES, DEVICES))}
            with sync_server_process(db_url, timing=True) as (url, server):
                # Warm-up: a small fleet through the whole path, not kept.
                warm = 10 * PER_DEVICE
                _arm(storage, org, url, server.pid, Path(tmp), 10, 2, seed=1, total=warm)
                for round_index in range(ROUNDS):
                    for arm in (list(arms)[i] for i in round_order(2, round_index)):
                        devices, processes = shapes[arm]
                        seed = 1000 * (2 + round_index * 2 + (arm == "fleet"))
                        arms[arm].append(
                            _arm(storage, org, url, server.pid, Path(tmp), devices, processes, seed)
                        )
                expected = warm + SINGLE * 2 * ROUNDS
                stored = storage.repos.reporting.count("envelopes")
                if stored != expected:
                    raise RuntimeError(f"P8 holds {stored}, expected {expected}")
            storage.close()
            # Rates per round; the CPU beside them is the server process's (what P8 judges).
            rates = {
                arm: Sample(
                    tuple(SINGLE / r["seconds"] for r in rounds),
                    tuple(r["server_cpu"] for r in rounds)
                    if all(r["server_cpu"] is not None for r in rounds)
                    else (),
                    SINGLE,
                )
                for arm, rounds in arms.items()
            }
            fleet_latencies = [lat for r in arms["fleet"] for lat in r["latencies"]]
            one_latencies = [lat for r in arms["one"] for lat in r["latencies"]]
            results.append(
                ratio_result(
                    id="P8",
                    name=f"ingest from {DEVICES} devices at once, server on {label}",
                    measured=rates["fleet"],
                    baseline=rates["one"],
                    unit="envelopes/s",
                    bar=0.5,
                    direction="at_least",
                    details={
                        "devices": DEVICES,
                        "per_device": PER_DEVICE,
                        "batch": BATCH,
                        "client_processes": min(PROCESSES, DEVICES),
                        "rounds": ROUNDS,
                        "p99_submit_latency_s": round(_p99(fleet_latencies), 4),
                        "median_submit_latency_s": round(statistics.median(fleet_latencies), 4),
                        "single_device_p99_submit_latency_s": round(_p99(one_latencies), 4),
                        # where a submit's time went, the fleet's and the lone device's
                        "submit_split": {
                            arm: split_of([s for r in rounds for s in r["splits"]])
                            for arm, rounds in arms.items()
                        },
                        "single_device_rate": round(rates["one"].median, 1),
                        # submits sent back with 503 and Retry-After (the in-flight cap)
                        "refused_503": {
                            arm: sum(r["refused"] for r in rounds) for arm, rounds in arms.items()
                        },
                        # CPU microseconds per envelope, median of the rounds: the clients'
                        # processes together, and the server process.
                        "client_cpu_us_per_envelope": {
                            arm: _per_envelope_us([r["client_cpu"] for r in rounds])
                            for arm, rounds in arms.items()
                        },
                        "server_cpu_us_per_envelope": {
                            arm: _per_envelope_us([r["server_cpu"] for r in rounds])
                            for arm, rounds in arms.items()
                        },
                    },
                )
            )
            fleet_split = split_of([s for r in arms["fleet"] for s in r["splits"]])
            if fleet_split:
                slow = fleet_split["slowest_1pc_mean_ms"]
                print(
                    f"  P8 {label}: the slowest 1 % of the fleet's submits, mean ms by part: "
                    + ", ".join(f"{k} {v:.0f}" for k, v in slow.items() if v >= 0.5),
                    file=sys.stderr,
                    flush=True,
                )
            p99 = _p99(fleet_latencies)
            results.append(
                Result(
                    id="P8",
                    name=f"p99 of a {BATCH}-envelope submit under {DEVICES} devices, {label}",
                    value=round(p99, 4),
                    unit="s",
                    baseline=round(_p99(one_latencies), 4),
                    ratio=None,
                    bar="≤ 1 s",
                    passed=p99 <= 1.0,
                    details={"submits": len(fleet_latencies)},
                )
            )
    return results
