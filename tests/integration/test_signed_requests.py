"""Device requests signed by the device key, and rate limits and replay protection that hold
across server processes (they live in the shared database)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from fieldscreen.sync.client import RetryPolicy
from fieldscreen.sync.errors import SyncError
from fieldscreen.sync.request_auth import HEADER_SERVER_TIME
from fieldscreen.sync.server.api import ServerConfig
from fieldscreen.sync.server.cli import PASSPHRASE_ENV
from fieldscreen.sync.server.gate import Gate
from fieldscreen.sync.server.live import LiveServer, free_port
from fieldscreen.sync.server.storage import Storage
from fieldscreen.sync.simulate import SimDevice
from tests.integration.server_support import open_storage, passphrase_file_for_serve

NewDevice = Callable[..., SimDevice]
ROOT = Path(__file__).resolve().parents[2]


def test_the_token_bucket_is_exact_and_says_when_to_come_back(storage: Storage) -> None:
    now = [1000.0]
    gate = Gate(storage.light_engine, clock=lambda: now[0])
    allowed = [gate.admit("k", rate=2.0, burst=5).wait == 0 for _ in range(8)]
    assert allowed == [True] * 5 + [False] * 3
    assert gate.admit("k", rate=2.0, burst=5).wait >= 1
    assert gate.admit("other", rate=2.0, burst=5).wait == 0  # callers are counted apart
    now[0] += 1.0  # two more tokens at two per second
    assert [gate.admit("k", rate=2.0, burst=5).wait == 0 for _ in range(3)] == [
        True,
        True,
        False,
    ]


def test_a_nonce_is_accepted_once(storage: Storage) -> None:
    gate = Gate(storage.light_engine)
    at = int(time.time())
    assert not gate.admit("k", 100.0, 100, ("dev-1", "ab" * 16, at)).replayed
    assert gate.admit("k", 100.0, 100, ("dev-1", "ab" * 16, at)).replayed
    assert not gate.admit("k", 100.0, 100, ("dev-2", "ab" * 16, at)).replayed


def test_limits_and_replays_hold_across_server_processes(
    storage: Storage, db_url: str, new_device: NewDevice
) -> None:
    """Two servers (two engines, as two processes have) over one database: a caller's burst is
    shared, and a request replayed to the other server is refused."""
    device = new_device()
    other = open_storage(db_url)
    config = ServerConfig(rate=0.01, burst=4)
    try:
        with LiveServer(storage, config) as one, LiveServer(other, config) as two:
            statuses: list[int] = []
            sent: list[httpx.Request] = []
            for index in range(8):
                url = (one if index % 2 == 0 else two).url
                with device.client(base_url=url, policy=RetryPolicy(attempts=1)) as client:
                    request = client._http.build_request(
                        "GET",
                        "/device/status",
                        headers={"authorization": f"Bearer {device.token}"},
                    )
                    statuses.append(client._send(request).status_code)
                    sent.append(request)
            assert statuses == [200] * 4 + [429] * 4  # one bucket, not one per process
            replayed = httpx.get(
                str(sent[0].url).replace(one.url, two.url), headers=sent[0].headers, timeout=60
            )
            assert replayed.status_code in {401, 429}
    finally:
        other.close()
    # a caller with room in its bucket: the replay is refused as a replay
    fresh = new_device()
    roomy = ServerConfig(rate=1000.0, burst=1000)
    with LiveServer(storage, roomy) as one, LiveServer(open_storage(db_url), roomy) as two:
        with fresh.client(base_url=one.url) as client:
            request = client._http.build_request(
                "GET",
                "/device/status",
                headers={"authorization": f"Bearer {fresh.token}"},
            )
            assert client._send(request).status_code == 200
        again = httpx.get(
            str(request.url).replace(one.url, two.url), headers=request.headers, timeout=60
        )
        assert (again.status_code, again.json()["code"]) == (401, "request-replayed")
        two.storage.close()


def test_a_device_with_a_wrong_clock_still_syncs(
    new_device: NewDevice, storage: Storage, rng: random.Random
) -> None:
    device = new_device()
    device.fill(5, rng, size=300)
    skewed = device.client(clock=lambda: time.time() + 7 * 3600)
    with skewed:
        summary = device.syncer(skewed, pull=False).run()
        assert abs(skewed.clock_offset + 7 * 3600) < 60
    assert summary.delivered == 5
    assert storage.repos.reporting.count("envelopes") == 5


def test_a_stale_or_unsigned_request_opens_nothing(
    new_device: NewDevice, server: LiveServer, storage: Storage
) -> None:
    device = new_device()
    token = device.token
    plain = httpx.get(
        f"{server.url}/api/v1/device/status",
        headers={"authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert (plain.status_code, plain.json()["code"]) == (401, "request-unsigned")
    with device.client(clock=lambda: time.time() - 3600) as client:
        request = client._http.build_request(
            "GET", "/device/status", headers={"authorization": f"Bearer {token}"}
        )
        stale = client._send(request)
    assert (stale.status_code, stale.json()["code"]) == (401, "request-stale")
    assert abs(int(stale.headers[HEADER_SERVER_TIME]) - time.time()) < 60
    audited = storage.repos.reporting.count("audit")
    signer = device.client().signer  # the body is covered too
    assert signer is not None
    body = b'{"items":[]}'
    url = f"{server.url}/api/v1/envelopes/missing"
    signed = signer.headers("POST", b"/api/v1/envelopes/missing", body, time.time())
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json", **signed}
    tampered = httpx.post(url, content=body.replace(b"[]", b"[ ]"), headers=headers, timeout=60)
    assert (tampered.status_code, tampered.json()["code"]) == (401, "request-signature")
    assert (
        storage.repos.reporting.count("audit") == audited + 1
    )  # the admin sees a token used without its key
    unsigned = device.client(signer=None, policy=RetryPolicy(attempts=1))
    with pytest.raises(SyncError), unsigned:
        unsigned.device_status(0)


@pytest.mark.skipif(os.name != "posix", reason="uvicorn workers")
def test_serve_with_two_workers_shares_one_bucket(
    db_url: str, storage: Storage, new_device: NewDevice, tmp_path: Path
) -> None:
    """``fieldscreen-server serve --workers 2``: a caller gets its burst once, not once per
    worker process (an in-memory limiter would let up to twice the burst through)."""
    passphrase = passphrase_file_for_serve(storage, tmp_path)  # each worker reads the file
    env = {**os.environ, "PYTHONPATH": str(ROOT), PASSPHRASE_ENV: str(passphrase)}
    proc, url = _serve_two_workers(db_url, env)
    try:
        device = new_device()
        allowed = 0
        with device.client(base_url=url, policy=RetryPolicy(attempts=1)) as client:
            for _ in range(40):  # new connections spread over both workers
                client._http.close()
                client._http = httpx.Client(base_url=f"{url}/api/v1", timeout=60)
                request = client._http.build_request(
                    "GET",
                    "/device/status",
                    headers={"authorization": f"Bearer {device.token}"},
                )
                allowed += client._send(request).status_code == 200
        assert allowed == 10  # the burst, however many workers
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def _serve_two_workers(db_url: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """``serve --workers 2`` on a free port, once it answers. The port is free when picked but
    may be taken before the server binds it; the server then exits, and another port is tried."""
    for _ in range(5):
        port = free_port()
        args = [sys.executable, "-m", "fieldscreen.sync.server.cli", "serve", "--db", db_url]
        args += ["--port", str(port), "--workers", "2", "--rate", "0.01", "--burst", "10"]
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120  # a busy machine starts two workers slowly
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=5).status_code == 200:
                    return proc, url
            except httpx.HTTPError:
                time.sleep(0.2)
        proc.terminate()
        proc.wait(timeout=60)
    raise AssertionError("the server with two workers did not start")
