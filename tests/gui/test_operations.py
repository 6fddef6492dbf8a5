"""The operations helper: serial writes in order, results on the GUI thread, errors routed."""

from __future__ import annotations

import functools
import operator
import threading
import time

import pytest
from PySide6.QtCore import QThread
from pytestqt.qtbot import QtBot

from fieldscreen.errors import KnownError
from fieldscreen.ui.operations import Operations
from tests.gui.conftest import WAIT_MS


def test_writes_run_one_at_a_time_in_order_and_deliver_on_the_gui_thread(qtbot: QtBot) -> None:
    ops = Operations()
    order: list[int] = []
    running = 0
    overlap = 0
    threads: set[int] = set()
    delivered_on: set[object] = set()
    guard = threading.Lock()

    def job(i: int) -> int:
        nonlocal running, overlap
        with guard:
            running += 1
            overlap = max(overlap, running)
        threads.add(threading.get_ident())
        time.sleep(0.002)
        order.append(i)
        with guard:
            running -= 1
        return i

    results: list[int] = []

    def done(value: int) -> None:
        delivered_on.add(QThread.currentThread())
        results.append(value)

    for i in range(50):
        ops.write(functools.partial(job, i), done)
    assert ops.busy_writing
    assert ops.wait_idle()
    assert order == list(range(50))
    assert results == list(range(50))
    assert overlap == 1
    assert len(threads) == 1
    assert threading.get_ident() not in threads
    assert delivered_on == {QThread.currentThread()}
    assert not ops.busy_writing


def test_known_errors_go_to_on_error_and_bugs_to_on_bug(qtbot: QtBot) -> None:
    bugs: list[BaseException] = []
    ops = Operations(on_bug=lambda exc, text: bugs.append(exc))
    errors: list[str] = []

    def fail_known() -> None:
        raise KnownError("disk-full")

    def fail_bug() -> None:
        raise ValueError("broken")

    ops.write(fail_known, on_error=lambda e: errors.append(e.code))
    ops.read(fail_bug)
    assert ops.wait_idle()
    assert errors == ["disk-full"]
    assert len(bugs) == 1
    assert isinstance(bugs[0], ValueError)


def test_reads_run_beside_a_slow_write(qtbot: QtBot) -> None:
    ops = Operations()
    gate = threading.Event()
    seen: list[str] = []
    ops.write(lambda: gate.wait(60), lambda _: seen.append("write"))  # until the read is done

    def read_done(value: str) -> None:
        seen.append(value)
        gate.set()

    ops.read(lambda: "read", read_done)
    assert ops.wait_idle()
    assert seen == ["read", "write"]


def test_did_write_fires_once_the_queue_drains(qtbot: QtBot) -> None:
    ops = Operations()
    with qtbot.waitSignal(ops.did_write, timeout=WAIT_MS):
        for _ in range(3):
            ops.write(lambda: None)
    assert not ops.busy_writing


@pytest.mark.parametrize("count", [1, 20])
def test_every_submitted_job_is_delivered(qtbot: QtBot, count: int) -> None:
    ops = Operations()
    got: list[int] = []
    for i in range(count):
        ops.read(functools.partial(operator.mul, i, 2), got.append)
    assert ops.wait_idle()
    assert sorted(got) == [i * 2 for i in range(count)]
