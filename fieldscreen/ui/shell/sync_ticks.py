"""The main window's sync ticks: the background sync policy asked, every few seconds while
someone is signed in, whether a probe or a sync is due.

Each step runs on the network lane (never the GUI thread, never a read thread: a probe of a
silent server must not hold up the screens' reads), one at a time; a failed step is shown on
the Sync screen's next sync, not in a dialog every tick.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer

if TYPE_CHECKING:
    from fieldscreen.errors import KnownError
    from fieldscreen.sync.engine import SyncSummary
    from fieldscreen.ui.common import Services

__all__ = ["SYNC_TICK_MS", "SyncTicks"]

#: How often the background sync policy is asked whether something is due.
SYNC_TICK_MS = 5_000


class SyncTicks(QObject):
    """Drives :meth:`BackgroundSync.tick` while someone is signed in; the policy itself decides
    when a probe or a sync is due. ``ticked`` gets the summary of each sync that ran while the
    user is still signed in."""

    def __init__(
        self, services: Services, window: QObject, ticked: Callable[[SyncSummary], None]
    ) -> None:
        super().__init__(window)
        self._services = services
        self._ticked = ticked
        self.timer = QTimer(window)
        self.timer.setInterval(SYNC_TICK_MS)
        self.timer.timeout.connect(self.tick)
        #: A step is on the network lane (a tick while one is never queues another).
        self.ticking = False

    def follow(self, signed_in: bool) -> None:
        """The ticks run while someone is signed in and the laptop has a sync model."""
        if not signed_in:
            self.timer.stop()
        elif self._services.sync is not None and not self.timer.isActive():
            self.timer.start()

    def tick(self) -> None:
        """One step of the background sync policy on the network lane."""
        services = self._services
        model = services.sync
        if model is None or self.ticking or services.user is None:
            return
        model.set_background(bool(services.settings.get("background_sync")))
        self.ticking = True
        services.ops.network(model.background.tick, self._done, self._failed)

    def _done(self, summary: SyncSummary | None) -> None:
        self.ticking = False
        if summary is None or self._services.user is None:
            return
        self._ticked(summary)

    def _failed(self, error: KnownError) -> None:
        self.ticking = False  # shown on the Sync screen's next sync; not a dialog every tick
