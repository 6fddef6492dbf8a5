"""When to sync in the background: a small, Qt-free policy the UI drives from a timer.

The app calls :meth:`BackgroundSync.tick` from its network worker (never the GUI thread) every
few seconds. The policy probes the server's health only when a probe is due (every
``probe_every`` seconds while things are fine, backing off with jitter up to ``max_backoff``
while the server cannot be reached), and runs a sync as soon as the server is reachable and
there is something to send or a pull is due. A user can turn it off (``enabled``); a
coordinator's "sync now" calls :meth:`sync_now`, which ignores the schedule.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from fieldscreen.sync.engine import SyncSummary
from fieldscreen.sync.errors import SyncError

__all__ = ["BackgroundSync"]


@dataclass
class BackgroundSync:
    """``probe()`` says whether the server answers; ``run_sync()`` runs one sync."""

    probe: Callable[[], bool]
    run_sync: Callable[[], SyncSummary]
    pending: Callable[[], int]
    enabled: bool = True
    probe_every: float = 60.0
    pull_every: float = 6 * 3600.0
    max_backoff: float = 900.0
    clock: Callable[[], float] = time.monotonic
    rng: random.Random = field(default_factory=random.Random)
    reachable: bool = False
    last_error: str | None = None
    #: The details of ``last_error`` for its message (ids, addresses, reasons; never content).
    last_context: dict[str, object] = field(default_factory=dict)
    last_summary: SyncSummary | None = None
    _next_probe: float = 0.0
    _failures: int = 0
    _last_pull: float = float("-inf")

    def tick(self) -> SyncSummary | None:
        """Do whatever is due now; returns the summary of a sync if one ran."""
        if not self.enabled:
            return None
        now = self.clock()
        if now < self._next_probe:
            return None
        self.reachable = self.probe()
        if not self.reachable:
            self._back_off(now)
            return None
        if self.pending() == 0 and now - self._last_pull < self.pull_every:
            self._schedule(now)
            return None
        return self.sync_now()

    def sync_now(self) -> SyncSummary | None:
        now = self.clock()
        try:
            summary = self.run_sync()
        except SyncError as error:
            self.last_error = error.code
            self.last_context = dict(error.context)
            self._back_off(now)
            return None
        self.last_error = None
        self.last_context = {}
        self.last_summary = summary
        self._last_pull = now
        self._schedule(now)
        return summary

    def _schedule(self, now: float) -> None:
        self._failures = 0
        self._next_probe = now + self.probe_every

    def _back_off(self, now: float) -> None:
        self._failures += 1
        ceiling = min(self.max_backoff, self.probe_every * 2 ** min(self._failures, 16))
        self._next_probe = now + self.rng.uniform(self.probe_every, max(self.probe_every, ceiling))
