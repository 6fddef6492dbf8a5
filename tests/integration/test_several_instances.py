"""Several server instances on one database, as an organisation that outgrows one process runs
them: ``serve --workers N`` (uvicorn's workers on one port), and N separate ``serve``
processes behind one port (a small round-robin reverse proxy here, as nginx or a load balancer
would be). They share nothing but the database, so enrolment, rate limits, request nonces and
the idempotency of a submit must hold across them."""

from __future__ import annotations

import http.server
import itertools
import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fieldscreen.sync.client import RetryPolicy
from fieldscreen.sync.server.cli import PASSPHRASE_ENV
from fieldscreen.sync.server.live import free_port
from fieldscreen.sync.server.storage import Storage
from fieldscreen.sync.simulate import SimDevice, SimOrg
from tests.integration.server_support import passphrase_file_for_serve

ROOT = Path(__file__).resolve().parents[2]
#: Each device's burst: the 16 submits, their comebacks from the in-flight cap and the replay
#: check fit; one bucket for all instances.
BURST = 120
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}

pytestmark = pytest.mark.skipif(os.name != "posix", reason="server processes")


class _RoundRobin(http.server.ThreadingHTTPServer):
    """One port in front of several server processes: each request to the next one."""

    daemon_threads = True

    def __init__(self, backends: list[str]) -> None:
        super().__init__(("127.0.0.1", 0), _Forward)
        self.backends = backends
        self._next = itertools.cycle(range(len(backends)))
        self._lock = threading.Lock()
        self.client = httpx.Client(timeout=120)
        self.served: Counter[int] = Counter()

    def pick(self) -> str:
        with self._lock:
            index = next(self._next)
            self.served[index] += 1
        return self.backends[index]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Forward(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _RoundRobin

    def _forward(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        answer = self.server.client.request(
            self.command, self.server.pick() + self.path, content=body, headers=headers
        )
        self.send_response(answer.status_code)
        skip = HOP_BY_HOP | {"content-encoding", "date", "server"}
        for key, value in answer.headers.items():
            if key.lower() not in skip:
                self.send_header(key, value)
        self.send_header("content-length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    do_GET = do_POST = _forward

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _serve(db_url: str, env: dict[str, str], workers: int) -> tuple[subprocess.Popen[bytes], str]:
    """``serve`` on a free port, once it answers (another port if it was taken meanwhile)."""
    for _ in range(5):
        port = free_port()
        args = [sys.executable, "-m", "fieldscreen.sync.server.cli", "serve", "--db", db_url]
        args += ["--port", str(port), "--workers", str(workers)]
        args += ["--rate", "0.01", "--burst", str(BURST)]
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120  # a busy machine starts several processes slowly
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=5).status_code == 200:
                    return proc, url
            except httpx.HTTPError:
                time.sleep(0.2)
        proc.terminate()
        proc.wait(timeout=60)
    raise AssertionError("the server did not start")


@pytest.fixture(params=["processes", "workers"])
def instances(
    request: pytest.FixtureRequest, db_url: str, storage: Storage, tmp_path: Path
) -> Iterator[tuple[str, list[str]]]:
    """(the one URL devices use, the URLs of the instances themselves): two ``serve``
    processes behind the round-robin proxy, or ``serve --workers 2`` (one port, whose
    workers cannot be told apart from outside)."""
    passphrase = passphrase_file_for_serve(storage, tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT), PASSPHRASE_ENV: str(passphrase)}
    procs: list[subprocess.Popen[bytes]] = []
    try:
        if request.param == "workers":
            proc, url = _serve(db_url, env, workers=2)
            procs.append(proc)
            yield url, [url]
            return
        backends = []
        for _ in range(2):
            proc, url = _serve(db_url, env, workers=1)
            procs.append(proc)
            backends.append(url)
        proxy = _RoundRobin(backends)
        thread = threading.Thread(target=proxy.serve_forever, daemon=True)
        thread.start()
        try:
            yield proxy.url, backends
            assert min(proxy.served[i] for i in range(len(backends))) > 5  # both served
        finally:
            proxy.shutdown()
            proxy.client.close()
            proxy.server_close()
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=60)


def _signed_status(device: SimDevice, url: str) -> tuple[int, httpx.Request]:
    """A signed ``GET /device/status`` on a connection of its own, and the request sent."""
    with device.client(base_url=url, policy=RetryPolicy(attempts=1)) as client:
        request = client._http.build_request(
            "GET",
            "/device/status",
            headers={"authorization": f"Bearer {device.token}"},
        )
        return client._send(request).status_code, request


def test_enrolment_limits_replays_and_duplicates_hold_across_instances(
    instances: tuple[str, list[str]], storage: Storage, org: SimOrg, tmp_path: Path
) -> None:
    """The attacker replays a captured request to the other instance, and a flaky network
    sends one envelope sixteen times at once to both: the replay is refused, one row kept."""
    url, backends = instances
    receipt_public = storage.repos.keys.keys().receipt_public

    def enrol(name: str) -> SimDevice:
        device = SimDevice(org, url, tmp_path / name, receipt_public=receipt_public)
        device.enroll(
            storage.repos.credentials.create_enrol_code("site-a")
        )  # on one instance, used on others
        return device

    device = enrol("device-a.sqlite3")
    data = device.make_envelope(random.Random(20261204)).to_bytes()
    outcomes: list[str] = []
    lock = threading.Lock()

    def send() -> None:
        # one device sending sixteen at once is told to come back (503, Retry-After)
        policy = RetryPolicy(attempts=40, base=0.01, cap=0.2)
        with device.client(base_url=url, policy=policy) as client:
            answer = client.submit([data])["results"][0]["outcome"]
        with lock:
            outcomes.append(answer)

    threads = [threading.Thread(target=send) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert sorted(outcomes) == ["duplicate"] * 15 + ["stored"]
    assert storage.repos.reporting.count("envelopes") == 1

    # a request nonce is spent on every instance: replayed to the other one, refused
    status, sent = _signed_status(device, backends[0])
    assert status == 200
    again = httpx.get(
        str(sent.url).replace(backends[0], backends[-1]), headers=sent.headers, timeout=60
    )
    assert (again.status_code, again.json()["code"]) == (401, "request-replayed")

    # one bucket per caller, whichever instance answers
    other = enrol("device-b.sqlite3")
    allowed = sum(_signed_status(other, url)[0] == 200 for _ in range(BURST + 10))
    assert allowed == BURST
