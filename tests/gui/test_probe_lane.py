"""The background probe against a server that accepts and never answers: it gives up within a
few seconds, and it runs on the network lane, so the screens' reads complete meanwhile."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from fieldscreen.sync.background import BackgroundSync
from fieldscreen.sync.client import PROBE_TIMEOUT, SyncClient
from fieldscreen.sync.engine import SyncSummary
from fieldscreen.sync.view import SyncViewModel
from fieldscreen.ui.main_window import MainWindow
from tests.gui.conftest import WAIT_MS, unlock


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A loopback socket that accepts connections and never writes a byte."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        listener.close()


def test_probe_of_a_silent_server_gives_up_quickly(silent_server: str) -> None:
    with SyncClient(silent_server) as client:
        started = time.monotonic()
        assert client.probe() is False
        took = time.monotonic() - started
    # One attempt and the probe's own timeout: a retry, or the 30 s transfer timeout, would take
    # at least one more PROBE_TIMEOUT. Any margin below that holds on a slow, busy machine too.
    assert took < 2 * PROBE_TIMEOUT


class _Ledger:
    def states(self) -> dict[str, tuple[str, str | None]]:
        return {}

    def retry_failed(self) -> int:
        return 0


def test_a_read_completes_while_the_probe_hangs(
    qtbot: QtBot, window: MainWindow, silent_server: str
) -> None:
    unlock(qtbot, window)
    window.services.ops.wait_idle()
    probing = threading.Event()
    reads_done = threading.Event()

    def probe() -> bool:
        probing.set()
        # The probe holds the network lane until the reads below are delivered (however slow
        # the machine), then hangs on the silent server until its own timeout gives up.
        reads_done.wait(60)
        with SyncClient(silent_server) as client:
            return client.probe()

    background = BackgroundSync(probe=probe, run_sync=SyncSummary, pending=lambda: 1)
    window.services.sync = SyncViewModel(_Ledger(), background)
    window.sync_timer.stop()
    window.sync_ticks.tick()
    assert probing.wait(60)
    # No read thread is held: reads queued around the unlock and the tick drain, while a probe
    # on the read pool would hold its thread for the whole minute it waits above.
    readers = window.services.ops._readers
    qtbot.waitUntil(lambda: readers.activeThreadCount() == 0, timeout=30_000)
    during_probe: list[bool] = []
    for _ in range(3):  # more reads than the read pool has threads
        window.services.ops.read(
            lambda: 1, lambda _: during_probe.append(window.sync_ticks.ticking)
        )
    qtbot.waitUntil(lambda: len(during_probe) == 3, timeout=WAIT_MS)
    assert during_probe == [True, True, True]  # each read completed while the probe held on
    reads_done.set()
    qtbot.waitUntil(lambda: not window.sync_ticks.ticking, timeout=WAIT_MS)
    assert background.reachable is False
