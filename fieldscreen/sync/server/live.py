"""A server in a background thread and a throwaway PostgreSQL cluster.

Used by the integration and reliability tests, the benchmarks and load tests: the same uvicorn
and the same app as ``fieldscreen-server serve``, on a loopback port. The PostgreSQL cluster
lives in a temporary folder, runs as the ``postgres`` system user when started as root, listens
only on 127.0.0.1 and is removed afterwards; the system's own cluster is never touched.
"""

from __future__ import annotations

import contextlib
import glob
import os
import random
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn

from fieldscreen.sync.server.api import ServerConfig, create_app
from fieldscreen.sync.server.storage import Storage

__all__ = ["LiveServer", "PostgresCluster", "free_port", "postgres_bin"]


_HANDED_OUT: set[int] = set()
_HANDED_OUT_LOCK = threading.Lock()


def _ephemeral_low() -> int:
    """The first port the system gives outgoing connections (Linux; 32768 elsewhere)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _reserve_port() -> socket.socket:
    """A loopback socket bound to a port no outgoing connection can take.

    Ports from ``bind(0)`` come from the range the system also hands to outgoing connections:
    once let go (a server stopped for a restart), a new connection (a database pool's, a
    client's) can take one as its own source port and hold it for minutes, so the server cannot
    listen there again. Test servers therefore listen below that range, on ports this process
    has not handed out before. The first bind is exclusive (no ``SO_REUSEADDR``): it fails on
    a port anything else holds, even a closing connection.
    """
    high = max(_ephemeral_low() - 1, 20_000)
    pick = random.SystemRandom()
    for _ in range(500):
        port = pick.randint(20_000, high) if high > 20_000 else 0
        with _HANDED_OUT_LOCK:
            if port in _HANDED_OUT:
                continue
            sock = socket.socket()
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                sock.close()
                continue
            _HANDED_OUT.add(int(sock.getsockname()[1]))
            # Set after the bind: the connections it accepts inherit it, so their TIME_WAIT
            # does not stop a restarted server from listening here again.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            return sock
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


def free_port() -> int:
    """A loopback port for a server about to start (see :func:`_reserve_port`)."""
    with _reserve_port() as sock:
        return int(sock.getsockname()[1])


def _reusable_socket() -> socket.socket:
    """A TCP socket that may bind a port its own earlier connections still hold in TIME_WAIT
    (a restarted server listens on the port it had)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    return sock


class LiveServer:
    """uvicorn serving :func:`create_app` on 127.0.0.1 in a daemon thread; restartable."""

    def __init__(self, storage: Storage, config: ServerConfig | None = None) -> None:
        self.storage = storage
        self.config = config or ServerConfig()
        # The port stays bound from here until the server listens on it: a port picked and
        # let go (free_port) can be taken meanwhile by another server, a database cluster or
        # an outgoing connection, and the server would then fail to start.
        self._reserved: socket.socket | None = _reserve_port()
        self.port = int(self._reserved.getsockname()[1])
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        # Start, stop and restart one at a time: a fault hook can restart the server from two
        # client threads at once (pipelined posts), and the second would otherwise find the
        # first's new server on the port and wait in vain for it to be gone.
        self._cycle = threading.RLock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LiveServer:
        with self._cycle:
            return self._start()

    def _start(self) -> LiveServer:
        app = create_app(self.storage, self.config)
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="critical",
            lifespan="off",
            access_log=False,
            timeout_keep_alive=30,
        )
        server = uvicorn.Server(config)
        sock = self._bound_socket()
        thread = threading.Thread(
            target=server.run, args=([sock],), name="fieldscreen-server", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + 60  # generous: a busy machine starts slowly
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.01)
        self._server, self._thread = server, thread
        return self

    def _bound_socket(self) -> socket.socket:
        """The reserved socket on the first start; the same port bound again on a restart
        (waiting, on a busy machine, for the previous listener to be gone)."""
        if self._reserved is not None:
            sock, self._reserved = self._reserved, None
            return sock
        deadline = time.monotonic() + 30
        while True:
            sock = _reusable_socket()
            try:
                sock.bind(("127.0.0.1", self.port))
            except OSError:
                sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
            else:
                return sock

    def stop(self) -> None:
        with self._cycle:
            if self._server is not None and self._thread is not None:
                self._server.should_exit = True
                self._thread.join(timeout=60)
            self._server = self._thread = None
            if self._reserved is not None:  # never started
                self._reserved.close()
                self._reserved = None

    def restart(self) -> None:
        with self._cycle:
            self.stop()
            self.start()

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def postgres_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/*/bin`` that has ``initdb`` (or PATH's)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_key)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _version_key(path: str) -> tuple[int, ...]:
    part = Path(path).parent.parent.name
    return tuple(int(x) for x in part.split(".") if x.isdigit())


class PostgresCluster:
    """A throwaway cluster: ``initdb`` in a temp folder, ``pg_ctl start`` on a loopback port."""

    def __init__(self, *, durable: bool = False) -> None:
        binaries = postgres_bin()
        if binaries is None:
            raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
        self.bin = binaries
        self.durable = durable
        self.root = Path(tempfile.mkdtemp(prefix="fieldscreen-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self._as_postgres = os.geteuid() == 0
        self._counter = 0

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=600)

    def start(self) -> PostgresCluster:
        if self._as_postgres:
            shutil.chown(self.root, "postgres")
        os.chmod(self.root, 0o700)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        attempts = 0
        while True:
            try:
                self._start_on(self.port)
            except subprocess.CalledProcessError:
                # The port picked was taken before the cluster bound it: pick another one.
                attempts += 1
                log = self.root / "log"
                text = log.read_text(errors="replace") if log.exists() else ""
                if attempts >= 5 or "could not bind" not in text:
                    raise
                self.port = free_port()
            else:
                return self

    def _start_on(self, port: int) -> None:
        options = f"-k {self.root} -p {port} -c listen_addresses=127.0.0.1"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        options += " -c max_connections=200"
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-w",
            "-t",
            "300",  # a busy machine starts the cluster slowly (the default waits 60 s)
            "-l",
            str(self.root / "log"),
            "start",
        )

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def new_database(self) -> str:
        """A fresh, empty database; returns its URL."""
        import psycopg

        self._counter += 1
        name = f"fs_{os.getpid()}_{self._counter}"
        with psycopg.connect(
            self.url.replace("postgresql://", "postgresql://", 1), autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # a name we built ourselves
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def __enter__(self) -> PostgresCluster:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
