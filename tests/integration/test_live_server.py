"""The test server itself: restarted from several threads at once (a fault hook on pipelined
posts does that), it ends up serving, once, on its own port."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx

from fieldscreen.sync.server.live import LiveServer
from tests.integration.server_support import open_storage


def test_concurrent_restarts_leave_one_server_on_the_port(tmp_path: Path) -> None:
    storage = open_storage(str(tmp_path / "server.sqlite3"))
    live = LiveServer(storage).start()
    threads = 3
    rounds = 4
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads)

    def restart_often() -> None:
        try:
            for _ in range(rounds):
                barrier.wait(timeout=60)
                live.restart()
        except BaseException as error:  # reported below
            errors.append(error)

    try:
        workers = [threading.Thread(target=restart_often) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=300)
        assert errors == []
        assert not any(worker.is_alive() for worker in workers)
        response = httpx.get(f"{live.url}/api/v1/health", timeout=10)
        assert response.status_code == 200
    finally:
        live.stop()
        storage.close()
