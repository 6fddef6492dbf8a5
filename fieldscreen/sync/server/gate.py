"""Rate limits and replay protection that hold across server processes.

Both live in the database every process of one server shares, so running several worker
processes (``fieldscreen-server serve --workers N``) or several hosts behind a load balancer
neither multiplies a caller's allowance nor lets a replayed request through on another process.

Rate limits use the generic cell rate algorithm (GCRA), the token bucket in one number per
caller: the *theoretical arrival time* ``tat``. A request at ``now`` is allowed when
``max(tat, now) + 1/rate - now <= burst/rate``, and then ``tat`` moves to
``max(tat, now) + 1/rate``. That is one ``INSERT ... ON CONFLICT DO UPDATE ... WHERE ...
RETURNING`` statement, atomic under concurrency on SQLite and PostgreSQL alike: a caller that
is over its limit gets no row back and the stored value does not move.

A signed device request's nonce is inserted in the same transaction, under the primary key
``(device_id, nonce)``: a second request with the same nonce collides, whichever process gets
it. Nonces older than twice the signature window are pruned now and then.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from fieldscreen.sync.request_auth import WINDOW_SECONDS
from fieldscreen.sync.server.db import tables as t

__all__ = ["Admission", "Gate"]

#: One request in this many also prunes expired nonces.
_PRUNE_EVERY = 64


@dataclass(frozen=True, slots=True)
class Admission:
    """``wait`` > 0: over the limit, retry after that many seconds; ``replayed``: nonce seen."""

    wait: float = 0.0
    replayed: bool = False


class Gate:
    """Per-caller rate limits and device request nonces in the shared database."""

    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], float] = time.time,
        reader: Engine | None = None,
    ) -> None:
        """``engine``: one whose commits need not wait for the disk (losing the last few
        counts or nonces to a power cut is harmless: a nonce is only good for the signature
        window anyway), such as :attr:`Storage.light_engine`; ``reader``: one for
        :meth:`over` (on SQLite one that does not wait for the writer lock)."""
        self.engine = engine
        self.reader = reader or engine
        self._pg = engine.dialect.name == "postgresql"
        self._clock = clock
        # The statements are built once, with named parameters: building them costs more
        # than running them.
        table = t.rate_limits
        greatest = sa.func.greatest if self._pg else sa.func.max
        least = sa.func.least if self._pg else sa.func.min
        now = sa.bindparam("now", type_=sa.Float)
        interval = sa.bindparam("interval", type_=sa.Float)
        tolerance = sa.bindparam("tolerance", type_=sa.Float)
        # ``least`` caps what an earlier, stricter setting left behind: lowering then raising
        # the rate never keeps a caller out for longer than the new burst takes to refill.
        moved = greatest(least(table.c.tat, now + tolerance), now) + interval
        insert = postgresql.insert if self._pg else sqlite.insert
        self._count = (
            insert(table)
            .values(key=sa.bindparam("key"), tat=sa.bindparam("first", type_=sa.Float))
            .on_conflict_do_update(
                index_elements=[table.c.key],
                set_={"tat": moved},
                where=moved - now <= tolerance,
            )
            .returning(table.c.tat)
        )
        self._tat = sa.select(table.c.tat).where(table.c.key == sa.bindparam("key"))
        nonces = t.request_nonces
        self._nonce = (
            insert(nonces)
            .values(
                device_id=sa.bindparam("device_id"),
                nonce=sa.bindparam("nonce"),
                at=sa.bindparam("at"),
            )
            .on_conflict_do_nothing()
            .returning(nonces.c.at)
        )
        self._prune = sa.delete(nonces).where(nonces.c.at < sa.bindparam("before"))

    def admit(
        self,
        key: str,
        rate: float,
        burst: int,
        nonce: tuple[str, str, int] | None = None,
    ) -> Admission:
        """Count one request of caller ``key`` (``rate`` per second, bursts of ``burst``) and,
        for a signed device request, record ``nonce`` = (device id, nonce, timestamp), in a
        transaction of their own."""
        with self.engine.begin() as conn:
            if self._pg:
                conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
            return self.admit_in(conn, key, rate, burst, nonce)

    def admit_in(
        self,
        conn: Connection,
        key: str,
        rate: float,
        burst: int,
        nonce: tuple[str, str, int] | None = None,
    ) -> Admission:
        """:meth:`admit` in the caller's transaction ``conn`` (a device's submit counts and
        keeps its nonce in the group commit that stores its envelopes: one writer, one
        commit; nothing of a request refused here may be written in that transaction)."""
        now = self._clock()
        interval = 1.0 / rate
        tolerance = burst * interval
        key = key[:64]
        values = {
            "key": key,
            "first": now + interval,
            "now": now,
            "interval": interval,
            "tolerance": tolerance,
        }
        allowed = conn.execute(self._count, values).first() is not None
        if not allowed:
            tat = conn.execute(self._tat, {"key": key}).scalar()
            return Admission(wait=self._wait(tat, now, interval, tolerance))
        if nonce is None:
            return Admission()
        device_id, value, at = nonce
        fresh = conn.execute(
            self._nonce, {"device_id": device_id, "nonce": value, "at": at}
        ).first()
        if secrets.randbelow(_PRUNE_EVERY) == 0:
            conn.execute(self._prune, {"before": int(now) - 2 * WINDOW_SECONDS})
        return Admission(replayed=fresh is None)

    def over(self, key: str, rate: float, burst: int) -> float:
        """How long caller ``key`` must wait before a request would be allowed (0: it would be
        now), read without counting anything: a submit is counted by :meth:`admit_in`, in the
        transaction that stores it, and this only turns it away early."""
        now = self._clock()
        interval = 1.0 / rate
        tolerance = burst * interval
        with self.reader.connect() as conn:
            tat = conn.execute(self._tat, {"key": key[:64]}).scalar()
        if tat is None or max(min(float(tat), now + tolerance), now) + interval - now <= tolerance:
            return 0.0
        return self._wait(tat, now, interval, tolerance)

    @staticmethod
    def _wait(tat: float | None, now: float, interval: float, tolerance: float) -> float:
        over = min(float(tat or now), now + tolerance) + interval - now - tolerance
        return max(1.0, math.ceil(over))
