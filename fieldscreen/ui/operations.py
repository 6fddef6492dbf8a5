"""The one helper that moves work off the GUI thread (after Anki's ``operations``/``taskman``).

* :meth:`Operations.write` runs vault writes one at a time, in submission order, on a single
  worker thread, so two saves never race and an acknowledged save is the durable one.
* :meth:`Operations.read` runs reads on a small pool.
* :meth:`Operations.network` runs calls to the server (the background probe and sync, the
  enrolment) on a lane of their own, so a server that never answers cannot hold up a read.

The callable runs on a worker; its result (or the :class:`~fieldscreen.errors.KnownError` it
raised) comes back to the GUI thread through a queued signal and is handed to ``on_done`` (or
``on_error``). Anything else a worker raises is a bug: it goes to ``on_bug`` (the crash dialog).
Callers never block on a worker; tests and shutdown use :meth:`wait_idle`.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from fieldscreen.errors import KnownError

__all__ = ["Operations"]

log = logging.getLogger("fieldscreen.ui.operations")

Done = Callable[[Any], None]
Failed = Callable[[KnownError], None]


class _Relay(QObject):
    """Lives on the GUI thread; workers emit, the GUI thread delivers."""

    finished = Signal(int, object, object)  # ticket, result, error


class _Job(QRunnable):
    def __init__(self, ticket: int, fn: Callable[[], Any], relay: _Relay) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._ticket = ticket
        self._fn = fn
        self._relay = relay

    def run(self) -> None:
        try:
            result = self._fn()
        except BaseException as exc:  # every failure is delivered, none lost on a worker
            self._relay.finished.emit(self._ticket, None, exc)
            return
        self._relay.finished.emit(self._ticket, result, None)


class Operations(QObject):
    """Background work with results delivered on the GUI thread.

    Args:
        on_bug: called on the GUI thread with an unexpected exception and its traceback text.
        read_threads: size of the pool for reads.
    """

    #: Emitted when a write is submitted (``will_write``) and when all writes are done.
    will_write = Signal()
    did_write = Signal()

    def __init__(
        self,
        on_bug: Callable[[BaseException, str], None] | None = None,
        read_threads: int = 2,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._writer = QThreadPool(self)
        self._writer.setMaxThreadCount(1)  # serial: FIFO on one thread
        self._readers = QThreadPool(self)
        self._readers.setMaxThreadCount(read_threads)
        self._network = QThreadPool(self)
        self._network.setMaxThreadCount(1)  # one call to the server at a time
        self._relay = _Relay()
        self._relay.finished.connect(self._deliver)
        self._pending: dict[int, tuple[Done | None, Failed | None, bool]] = {}
        self._next = 0
        self._writes_in_flight = 0
        self._on_bug = on_bug

    # ------------------------------------------------------------------ public
    def write(
        self, fn: Callable[[], Any], on_done: Done | None = None, on_error: Failed | None = None
    ) -> int:
        """Run ``fn`` on the single writer thread after every write submitted before it."""
        self._writes_in_flight += 1
        if self._writes_in_flight == 1:
            self.will_write.emit()
        return self._submit(self._writer, fn, on_done, on_error, is_write=True)

    def read(
        self, fn: Callable[[], Any], on_done: Done | None = None, on_error: Failed | None = None
    ) -> int:
        """Run ``fn`` on the read pool (reads; never the vault's writes)."""
        return self._submit(self._readers, fn, on_done, on_error, is_write=False)

    def network(
        self, fn: Callable[[], Any], on_done: Done | None = None, on_error: Failed | None = None
    ) -> int:
        """Run ``fn`` (a call to the server) on the network lane, one at a time, apart from the
        reads: a probe hanging on a silent server never delays a screen's read."""
        return self._submit(self._network, fn, on_done, on_error, is_write=False)

    @property
    def busy_writing(self) -> bool:
        return self._writes_in_flight > 0

    def wait_idle(self, msecs: int = 30_000) -> bool:
        """Block until every job has run and been delivered (tests and shutdown only)."""
        from PySide6.QtCore import QCoreApplication, QDeadlineTimer

        deadline = QDeadlineTimer(msecs)
        while self._pending:
            self._writer.waitForDone(20)
            self._readers.waitForDone(20)
            self._network.waitForDone(20)
            QCoreApplication.processEvents()
            if deadline.hasExpired():
                return False
        return True

    # ----------------------------------------------------------------- private
    def _submit(
        self,
        pool: QThreadPool,
        fn: Callable[[], Any],
        on_done: Done | None,
        on_error: Failed | None,
        *,
        is_write: bool,
    ) -> int:
        self._next += 1
        ticket = self._next
        self._pending[ticket] = (on_done, on_error, is_write)
        pool.start(_Job(ticket, fn, self._relay))
        return ticket

    @Slot(int, object, object)
    def _deliver(self, ticket: int, result: Any, error: BaseException | None) -> None:
        on_done, on_error, is_write = self._pending.pop(ticket)
        if is_write:
            self._writes_in_flight -= 1
        try:
            if error is None:
                if on_done is not None:
                    on_done(result)
            elif isinstance(error, KnownError):
                if on_error is not None:
                    on_error(error)
                else:
                    log.warning("background operation failed: %s", error.code)
            else:
                self._bug(error)
        finally:
            if is_write and self._writes_in_flight == 0:
                self.did_write.emit()

    def _bug(self, error: BaseException) -> None:
        text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        log.error("background operation raised %s", type(error).__name__)
        if self._on_bug is not None:
            self._on_bug(error, text)
        else:
            raise error
