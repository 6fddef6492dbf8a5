"""Shared by the sync benchmarks P6-P8: server processes, databases and prepared devices.

The server under test runs as its own process (``fieldscreen-server serve``), as in
production, so the client's and the server's Python do not share one interpreter lock.
"""

from __future__ import annotations

import contextlib
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from fieldscreen.sync.server.live import PostgresCluster, free_port
from fieldscreen.sync.server.storage import Storage
from fieldscreen.sync.simulate import SimDevice, SimOrg

ROOT = Path(__file__).resolve().parent.parent


def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the server process exited")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError("the server did not become healthy")


@contextlib.contextmanager
def process(
    args: list[str], extra_env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(extra_env or {})}
    proc = subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def sync_server(db_url: str) -> Iterator[str]:
    """``fieldscreen-server serve`` on ``db_url``; yields its base URL."""
    with sync_server_process(db_url) as (url, _proc):
        yield url


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of process ``pid`` so far (Linux), else None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


@contextlib.contextmanager
def sync_server_process(
    db_url: str, *, timing: bool = False, workers: int = 1
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``fieldscreen-server serve`` on ``db_url`` (``--workers N`` with ``workers``; with
    ``timing``, its submits answer with ``Server-Timing``); yields its base URL and process."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        passphrase = Path(tmp) / "passphrase"
        passphrase.write_text(SERVER_PASSPHRASE + "\n", encoding="utf-8")
        args = [
            sys.executable,
            "-m",
            "fieldscreen.sync.server.cli",
            "serve",
            *("--db", db_url, "--port", str(port)),
            *("--rate", "1000000", "--passphrase-file", str(passphrase)),
            *(("--workers", str(workers)) if workers > 1 else ()),
        ]
        extra = {"FIELDSCREEN_SERVER_TIMING": "1"} if timing else None
        with process(args, extra) as proc:
            url = f"http://127.0.0.1:{port}"
            wait_healthy(url, proc)
            yield url, proc


@contextlib.contextmanager
def bare_server() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The bare endpoint (``benchmarks.bare_sync_server``); yields its base URL and process."""
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "uvicorn",
        "benchmarks.bare_sync_server:app",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    with process(args) as proc:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, proc)
        yield url, proc


@contextlib.contextmanager
def databases() -> Iterator[list[tuple[str, str]]]:
    """[("SQLite", url), ("PostgreSQL", url)], each a fresh database; PostgreSQL durable."""
    with tempfile.TemporaryDirectory(prefix="fieldscreen-bench-") as tmp:
        cluster = PostgresCluster(durable=True).start()
        try:
            yield [
                ("SQLite", str(Path(tmp) / "server.sqlite3")),
                ("PostgreSQL", cluster.new_database()),
            ]
        finally:
            cluster.stop()


#: The benchmark server's passphrase (its receipt key is protected under production cost).
SERVER_PASSPHRASE = "the benchmark server's passphrase"


def prepare(db_url: str, org: SimOrg) -> Storage:
    storage = Storage.open(db_url, passphrase=SERVER_PASSPHRASE.encode())
    storage.repos.keys.set_org_keys(org.name, org.sealing_public, org.signing_public)
    return storage


def new_device(  # noqa: PLR0917 -- a benchmark helper read in order
    storage: Storage,
    org: SimOrg,
    url: str,
    folder: Path,
    count: int,
    rng: random.Random,
    size: int = 5000,
    site: str = "bench",
    events: int = 0,
) -> SimDevice:
    device = SimDevice(
        org,
        url,
        folder / f"{rng.getrandbits(40):x}.sqlite3",
        receipt_public=storage.repos.keys.keys().receipt_public,
    )
    device.enroll(storage.repos.credentials.create_enrol_code(site))
    device.fill(count, rng, size=size, events=events)  # ``events`` follow-ups per screening
    return device
