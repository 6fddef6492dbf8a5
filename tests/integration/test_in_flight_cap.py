"""The cap on submits in flight: beyond it the server answers 503 with ``Retry-After`` at
once, the laptop keeps the batch, comes back, and nothing is lost or stored twice."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable

import httpx
import pytest
import sqlalchemy as sa

from fieldscreen.sync.client import RetryPolicy
from fieldscreen.sync.errors import TransientError
from fieldscreen.sync.server.api import ServerConfig
from fieldscreen.sync.server.db import tables as t
from fieldscreen.sync.server.live import LiveServer
from fieldscreen.sync.server.storage import Storage
from fieldscreen.sync.simulate import SimDevice

NewDevice = Callable[..., SimDevice]
CAPPED = ServerConfig(
    rate=1000.0,
    burst=5000,
    anonymous_rate=1000.0,
    anonymous_burst=5000,
    max_in_flight=2,
    max_in_flight_per_device=1,
)


class _Counted(httpx.HTTPTransport):
    """Counts the server's answers to submits by status."""

    def __init__(self, statuses: list[int]) -> None:
        super().__init__()
        self.statuses = statuses

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.url.path.endswith("/envelopes"):
            self.statuses.append(response.status_code)
        return response


def test_a_fleet_over_the_cap_is_told_to_come_back_and_loses_nothing(
    new_device: NewDevice, storage: Storage
) -> None:
    """Eight laptops at once against a server that stores two submits at a time, one per
    device; a laptop whose run gives up (its retries spent) syncs again, as the background
    policy does. Counted: every envelope held once, none left pending, 503s seen."""
    rng = random.Random(20261204)
    devices = [new_device() for _ in range(8)]
    sent = {d.device_id: {e.record_id for e in d.fill(40, rng, size=300)} for d in devices}
    statuses: list[int] = []
    given_up: list[str] = []
    errors: list[BaseException] = []
    with LiveServer(storage, CAPPED) as capped:

        def run(device: SimDevice) -> None:
            device.base_url = capped.url
            try:
                for _ in range(40):
                    try:
                        device.sync(
                            max_count=10,
                            pull=False,
                            transport=_Counted(statuses),
                            policy=RetryPolicy(attempts=3, base=0.01, cap=0.2),
                        )
                    except TransientError as error:  # busy: the next run comes back
                        given_up.append(error.code)
                        continue
                    if device.spool.pending_totals()[0] == 0:
                        return
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(d,)) for d in devices]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=600)
    assert not errors
    with storage.engine.connect() as conn:
        rows = conn.execute(sa.select(t.envelopes.c.device_id, t.envelopes.c.record_id)).all()
    held: dict[str, set[str]] = {}
    for device_id, record_id in rows:
        held.setdefault(device_id, set()).add(record_id)
    lost = sum(len(ids - held.get(device_id, set())) for device_id, ids in sent.items())
    pending = sum(d.spool.pending_totals()[0] for d in devices)
    refused = statuses.count(503)
    print(
        f"in-flight cap: {len(statuses)} submits, refused 503 {refused}, runs given up "
        f"{len(given_up)}, held {len(rows)} of {sum(map(len, sent.values()))}, "
        f"lost {lost}, pending {pending}"
    )
    assert (lost, pending, len(rows)) == (0, 0, 8 * 40)  # one row each: none stored twice
    assert refused > 0  # the cap was reached, and said so
    assert set(statuses) <= {200, 503}


def test_a_submit_sent_back_at_the_cap_costs_the_server_no_database_write(
    new_device: NewDevice, storage: Storage
) -> None:
    """A process with no submit slot free sends a submit back before it reads the credential,
    counts the rate limit or keeps the request's nonce: of the laptop's signed requests, only
    those to other routes leave a nonce. Counted by route; the batch stays on the laptop."""
    device = new_device()
    device.fill(5, random.Random(7), size=300)
    statuses: list[int] = []
    paths: list[str] = []

    class _Paths(_Counted):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            paths.append(request.url.path)
            return super().handle_request(request)

    with storage.engine.connect() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(t.request_nonces)).scalar()
    full = ServerConfig(**{**CAPPED.__dict__, "max_in_flight": 0})
    with LiveServer(storage, full) as capped:
        device.base_url = capped.url
        with pytest.raises(TransientError):  # busy each time: the next run comes back
            device.sync(
                max_count=5,
                pull=False,
                transport=_Paths(statuses),
                policy=RetryPolicy(attempts=3, base=0.01, cap=0.05),
            )
    with storage.engine.connect() as conn:
        after = conn.execute(sa.select(sa.func.count()).select_from(t.request_nonces)).scalar()
    submits = sum(p.endswith("/envelopes") for p in paths)
    others = len(paths) - submits
    print(
        f"refused at the cap: {submits} submits, other requests {others}, nonces kept "
        f"{(after or 0) - (before or 0)}"
    )
    assert submits >= 1
    assert statuses == [503] * submits
    assert (after or 0) - (before or 0) == others  # none for a submit sent back
    assert device.spool.pending_totals()[0] == 5
