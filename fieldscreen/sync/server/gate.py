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
from sqlalchemy.engine import Engine

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

    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self._pg = engine.dialect.name == "postgresql"
        self._clock = clock

    def admit(
        self,
        key: str,
        rate: float,
        burst: int,
        nonce: tuple[str, str, int] | None = None,
    ) -> Admission:
        """Count one request of caller ``key`` (``rate`` per second, bursts of ``burst``) and,
        for a signed device request, record ``nonce`` = (device id, nonce, timestamp)."""
        now = self._clock()
        interval = 1.0 / rate
        tolerance = burst * interval
        table = t.rate_limits
        greatest = sa.func.greatest if self._pg else sa.func.max
        least = sa.func.least if self._pg else sa.func.min
        # ``least`` caps what an earlier, stricter setting left behind: lowering then raising
        # the rate never keeps a caller out for longer than the new burst takes to refill.
        moved = greatest(least(table.c.tat, now + tolerance), now) + interval
        insert = (postgresql.insert if self._pg else sqlite.insert)(table)
        statement = (
            insert.values(key=key[:64], tat=now + interval)
            .on_conflict_do_update(
                index_elements=[table.c.key],
                set_={"tat": moved},
                where=moved - now <= tolerance,
            )
            .returning(table.c.tat)
        )
        with self.engine.begin() as conn:
            allowed = conn.execute(statement).first() is not None
            if not allowed:
                tat = conn.execute(sa.select(table.c.tat).where(table.c.key == key[:64])).scalar()
                over = min(float(tat or now), now + tolerance) + interval - now - tolerance
                return Admission(wait=max(1.0, math.ceil(over)))
            if nonce is None:
                return Admission()
            device_id, value, at = nonce
            nonces = t.request_nonces
            fresh = conn.execute(
                (postgresql.insert if self._pg else sqlite.insert)(nonces)
                .values(device_id=device_id, nonce=value, at=at)
                .on_conflict_do_nothing()
                .returning(nonces.c.at)
            ).first()
            if secrets.randbelow(_PRUNE_EVERY) == 0:
                conn.execute(sa.delete(nonces).where(nonces.c.at < int(now) - 2 * WINDOW_SECONDS))
        return Admission(replayed=fresh is None)
