"""A device submit's rate count and nonce are written in the transaction that stores its
batch (the group commit's): a replayed submit is refused and stores nothing, whether its copy
lands in the same group or a later one, on this instance or another; a submit with nothing to
store still spends its nonce and its rate; a submit over the rate is refused; and on SQLite a
device's credential and row are read without waiting for the database's writer lock."""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections.abc import Callable

import httpx
import orjson
import pytest

from fieldscreen.sync.server.api import ServerConfig
from fieldscreen.sync.server.live import LiveServer
from fieldscreen.sync.server.storage import Storage
from fieldscreen.sync.simulate import SimDevice
from tests.integration.server_support import open_storage

NewDevice = Callable[..., SimDevice]
PATH = b"/api/v1/envelopes"


def _signed_submit(device: SimDevice, url: str, envelopes: list[bytes]) -> httpx.Request:
    """One signed submit of ``envelopes`` (their JSON), built once so it can be sent again."""
    signer = device.client().signer
    assert signer is not None
    assert device.identity is not None
    body = b'{"envelopes":[' + b",".join(envelopes) + b"]}"
    headers = {
        "authorization": f"Bearer {device.identity.token}",
        "content-type": "application/json",
        **signer.headers("POST", PATH, body, time.time()),
    }
    return httpx.Request("POST", f"{url}/api/v1/envelopes", content=body, headers=headers)


def _send(request: httpx.Request, url: str | None = None) -> tuple[int, dict[str, object]]:
    target = str(request.url) if url is None else f"{url}/api/v1/envelopes"
    answer = httpx.post(target, content=request.content, headers=request.headers, timeout=60)
    return answer.status_code, orjson.loads(answer.content)


def test_a_submit_replayed_at_once_or_later_is_refused_and_stores_nothing(
    new_device: NewDevice, server: LiveServer, storage: Storage, db_url: str
) -> None:
    """Twelve rounds: a signed submit and its exact copy sent at the same moment (in one group
    or two), then the copy again to this instance and to a second one on the same database."""
    device = new_device()
    rng = random.Random(20261205)
    codes: list[tuple[int, ...]] = []
    with LiveServer(open_storage(db_url), server.config) as other:
        for round_ in range(12):
            envelope = device.make_envelope(rng, seq=round_ + 1, size=300).to_bytes()
            request = _signed_submit(device, server.url, [envelope])
            answers: list[tuple[int, dict[str, object]]] = []

            def send(sent: httpx.Request, into: list[tuple[int, dict[str, object]]]) -> None:
                into.append(_send(sent))

            threads = [threading.Thread(target=send, args=(request, answers)) for _ in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=120)
            later = [_send(request), _send(request, other.url)]
            codes.append(tuple(sorted(status for status, _ in answers + later)))
            refused = [body for status, body in answers + later if status == 401]
            assert all(body["code"] == "request-replayed" for body in refused)
        other.storage.close()
    print(f"replayed submits, statuses per round: {codes}")
    assert codes == [(200, 401, 401, 401)] * 12
    assert (
        storage.repos.reporting.count("envelopes") == 12
    )  # one row per round: the copies stored nothing


def test_a_submit_with_nothing_to_store_still_spends_its_nonce(
    new_device: NewDevice, server: LiveServer, storage: Storage
) -> None:
    device = new_device()
    request = _signed_submit(device, server.url, [b'{"record_id":"not an envelope"}'])
    status, body = _send(request)
    assert status == 200
    assert body["results"][0]["outcome"] == "rejected"  # type: ignore[index]
    again, refused = _send(request)
    assert (again, refused["code"]) == (401, "request-replayed")
    assert storage.repos.reporting.count("envelopes") == 0


@pytest.mark.parametrize("server_config", [ServerConfig(rate=0.01, burst=3)])
def test_submits_beyond_the_rate_are_refused_and_store_nothing(
    new_device: NewDevice, server: LiveServer, storage: Storage
) -> None:
    """A burst of 3: the fourth and fifth submits get 429 with Retry-After, whether the
    limit is seen at once (read) or in the batch's transaction; the first three are stored."""
    device = new_device()
    rng = random.Random(5)
    statuses = []
    for seq in range(1, 6):
        envelope = device.make_envelope(rng, seq=seq, size=300).to_bytes()
        status, _body = _send(_signed_submit(device, server.url, [envelope]))
        statuses.append(status)
    assert statuses == [200, 200, 200, 429, 429]
    assert storage.repos.reporting.count("envelopes") == 3


def test_a_device_is_read_without_waiting_for_the_writer_lock(
    new_device: NewDevice, storage: Storage, db_url: str
) -> None:
    """Another connection holds SQLite's one writer lock (as a group commit does while it
    writes): the credential lookup and the device's row are read from the last commit at
    once, where a read that began ``IMMEDIATE`` waited for the lock."""
    if "://" in db_url:
        pytest.skip("SQLite's writer lock")
    device = new_device()
    assert device.identity is not None
    holder = sqlite3.connect(db_url, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        start = time.perf_counter()
        principal = storage.authenticate(device.identity.token)
        row = storage.repos.devices.get(device.device_id)
        took = time.perf_counter() - start
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert principal is not None
    assert principal.device_id == device.device_id
    assert row is not None
    assert row.status == "active"
    assert took < 2.0  # the busy timeout is 30 s
