"""Fault injection with a fixed seed: whatever the network, the server or a crash does, every
finalised record reaches the server exactly once.

Each scenario enrols a fresh device, queues a random backlog and syncs through a transport that
injects, per request and by a seeded draw: responses dropped after the server committed,
connections reset mid-body (a real half-sent request on a raw socket), latency, 500 and 503,
the client killed before or after a request or between its own store writes, and the server
restarted mid-batch. The device retries until its queue is empty. At the end the server's set
must equal the device's set (lost 0, duplicated 0, conflicts 0) and every record is marked
delivered on the device. ``make test`` runs a short series; ``FIELDSCREEN_FULL=1`` runs 320.
"""

from __future__ import annotations

import json
import os
import random
import socket
import statistics
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import sqlalchemy as sa

from fieldscreen.sync.client import RetryPolicy
from fieldscreen.sync.errors import DeviceRevoked, SyncError
from fieldscreen.sync.server.db import tables as t
from fieldscreen.sync.server.live import LiveServer
from fieldscreen.sync.server.storage import Storage
from fieldscreen.sync.simulate import SimDevice
from fieldscreen.sync.spool import Spool

FULL = os.environ.get("FIELDSCREEN_FULL") == "1"
SCENARIOS = 160 if FULL else 12  # per database: 320 in all under FIELDSCREEN_FULL=1
SEED = 20261127

pytestmark = pytest.mark.reliability


class Killed(BaseException):
    """The client process died here (not an Exception: nothing may catch it by accident)."""


FAULTS = [
    ("ok", 50),
    ("drop_after_commit", 10),
    ("reset_mid_body", 8),
    ("latency", 8),
    ("http500", 6),
    ("http503", 6),
    ("kill_before", 4),
    ("kill_after", 4),
    ("server_restart", 2),
]


class FaultyTransport(httpx.BaseTransport):
    def __init__(self, rng: random.Random, server: LiveServer, counts: dict[str, int]) -> None:
        self.rng = rng
        self.server = server
        self.counts = counts
        self.inner = httpx.HTTPTransport()

    def close(self) -> None:
        self.inner.close()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        fault = self.rng.choices([f for f, _ in FAULTS], [w for _, w in FAULTS])[0]
        self.counts[fault] = self.counts.get(fault, 0) + 1
        if fault == "latency":
            time.sleep(self.rng.uniform(0.0, 0.03))
        if fault in {"http500", "http503"}:
            return httpx.Response(int(fault[4:]), headers={"retry-after": "0"}, json={"code": "x"})
        if fault == "kill_before":
            raise Killed
        if fault == "reset_mid_body":
            self._half_send(request)
            raise httpx.RemoteProtocolError("connection reset mid-body", request=request)
        if fault == "server_restart" and request.method == "POST":
            self.server.restart()
        response = self.inner.handle_request(request)
        response.read()
        if fault == "drop_after_commit":
            raise httpx.ReadError("response lost after the server committed", request=request)
        if fault == "kill_after":
            raise Killed
        return response

    def _half_send(self, request: httpx.Request) -> None:
        body = request.read()
        url = urlsplit(str(request.url))
        head = [f"{request.method} {url.path}{'?' + url.query if url.query else ''} HTTP/1.1"]
        head += [f"{k}: {v}" for k, v in request.headers.items() if k.lower() != "connection"]
        raw = ("\r\n".join(head) + "\r\n\r\n").encode() + body[: max(1, len(body) // 2)]
        try:
            with socket.create_connection((url.hostname or "127.0.0.1", url.port or 80)) as sock:
                sock.sendall(raw)
                sock.shutdown(socket.SHUT_RDWR)
        except OSError as error:
            # The server is down for a moment (another thread's post restarted it): what the
            # real transport raises then.
            raise httpx.ConnectError(str(error), request=request) from error


class KillingSpool:
    """Delegates to the device's spool, dying now and then just before or after a write."""

    def __init__(self, spool: Spool, rng: random.Random, counts: dict[str, int]) -> None:
        self._spool = spool
        self._rng = rng
        self._counts = counts

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._spool, name)
        if name not in {"apply_receipt", "save_checkpoint", "set_state"}:
            return target

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if self._rng.random() < 0.02:
                self._counts["kill_store_before"] = self._counts.get("kill_store_before", 0) + 1
                raise Killed
            result = target(*args, **kwargs)
            if self._rng.random() < 0.02:
                self._counts["kill_store_after"] = self._counts.get("kill_store_after", 0) + 1
                raise Killed
            return result

        return wrapped


def _converge(
    device: SimDevice, server: LiveServer, rng: random.Random, counts: dict[str, int]
) -> tuple[int, int, float]:
    """Sync until the queue is empty; returns (runs, retries, seconds)."""
    # One draw from the run's generator per scenario: the client's two threads draw faults in
    # whatever order they reach the transport, and that must not change the next scenarios.
    rng = random.Random(rng.getrandbits(64))
    started = time.perf_counter()
    runs = retries = 0
    store = KillingSpool(device.spool, rng, counts)
    while True:
        runs += 1
        assert runs < 200, "did not converge"
        transport = FaultyTransport(rng, server, counts)
        client = device.client(transport=transport, policy=RetryPolicy(4, 0.001, 0.01, rng))
        try:
            from fieldscreen.sync.engine import Syncer

            Syncer(
                client,
                store,
                store,
                receipt_key=device.receipt_public,
                signing_key=device.org.signing_public,
                max_count=rng.randint(2, 10),
                max_bytes=rng.choice([3000, 20000, 10**6]),
                pull=False,
            ).run()
        except (Killed, SyncError, DeviceRevoked):
            pass
        finally:
            retries += client.retries
            client.close()
        if device.spool.pending_totals()[0] == 0 and device.spool.load_checkpoint() == 0:
            break
    return runs, retries, time.perf_counter() - started


def test_faults_lose_nothing_and_duplicate_nothing(
    new_device: Callable[..., SimDevice],
    storage: Storage,
    server: LiveServer,
    db_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rng = random.Random(SEED)
    counts: dict[str, int] = {}
    lost = duplicated = conflicts = not_delivered = 0
    runs: list[int] = []
    retries: list[int] = []
    seconds: list[float] = []
    records = 0
    for _ in range(SCENARIOS):
        device = new_device()
        device.fill(rng.randint(3, 25), rng, size=rng.choice([200, 1500, 4000]))
        expected = {(i.record_id, i.sha256) for i in device.spool.pending_page(0, 10_000)}
        records += len(expected)
        n_runs, n_retries, took = _converge(device, server, rng, counts)
        runs.append(n_runs)
        retries.append(n_retries)
        seconds.append(took)
        with storage.engine.connect() as conn:
            rows = [
                (r.record_id, r.sha256)
                for r in conn.execute(
                    sa.select(t.envelopes.c.record_id, t.envelopes.c.sha256).where(
                        t.envelopes.c.device_id == device.device_id
                    )
                )
            ]
            held = (
                conn.execute(
                    sa.select(sa.func.count())
                    .select_from(t.conflicts)
                    .where(t.conflicts.c.device_id == device.device_id)
                ).scalar()
                or 0
            ) + (
                conn.execute(
                    sa.select(sa.func.count())
                    .select_from(t.quarantine)
                    .where(t.quarantine.c.device_id == device.device_id)
                ).scalar()
                or 0
            )
        lost += len(expected - set(rows))
        duplicated += len(rows) - len(set(rows)) + len(set(rows) - expected)
        conflicts += int(held or 0)
        not_delivered += sum(1 for s, _ in device.spool.states().values() if s != "delivered")
        device.spool.close()
    figures = {
        "database": "postgres" if db_url.startswith("postgres") else "sqlite",
        "scenarios": SCENARIOS,
        "records": records,
        "lost": lost,
        "duplicated": duplicated,
        "conflicts_or_quarantined": conflicts,
        "not_marked_delivered": not_delivered,
        "runs_median": statistics.median(runs),
        "runs_max": max(runs),
        "retries_total": sum(retries),
        "converge_seconds_median": round(statistics.median(seconds), 3),
        "converge_seconds_max": round(max(seconds), 3),
        "faults": counts,
    }
    with capsys.disabled():
        print("\nsync fault injection:", json.dumps(figures, sort_keys=True))
    assert (lost, duplicated, conflicts, not_delivered) == (0, 0, 0, 0), figures
    assert sum(counts.get(f, 0) for f, _ in FAULTS if f != "ok") > SCENARIOS  # faults happened
