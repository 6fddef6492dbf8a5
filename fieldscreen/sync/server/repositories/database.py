"""The server's database as its repositories share it: the durable engine, the light one for
bookkeeping, and the few statements whose spelling depends on the dialect."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from fieldscreen.sync.server import db

__all__ = ["Database", "now", "token_hash"]


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class Database:
    """One database (an engine whose schema :func:`db.migrate` brought up to date)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._light: Engine | None = None
        self._reader: Engine | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        self.engine.dispose()
        for other in (self._light, self._reader):
            if other is not None and other is not self.engine:
                other.dispose()

    @property
    def reader(self) -> Engine:
        """The same database for reads that need no lock (a device's credential and row, what
        it holds): on SQLite a second engine whose transactions begin deferred, reading the
        last commit without waiting for the writer (:func:`db.connect`, ``reader``); on
        PostgreSQL the same engine."""
        if self._reader is None:
            with self._lock:
                if self._reader is None and self.dialect == "postgresql":
                    self._reader = self.engine
                elif self._reader is None:
                    url = self.engine.url.render_as_string(hide_password=False)
                    self._reader = db.connect(url, reader=True)
        return self._reader

    @property
    def light_engine(self) -> Engine:
        """The same database for bookkeeping whose last commits may be lost to a power cut
        (rate limits, request nonces): on SQLite a second engine with ``synchronous=NORMAL``;
        on PostgreSQL the same engine (those transactions turn ``synchronous_commit`` off)."""
        if self._light is None:
            if self.dialect == "postgresql":
                self._light = self.engine
            else:
                url = self.engine.url.render_as_string(hide_password=False)
                self._light = db.connect(url, durable=False)
        return self._light

    def among(
        self, column: sa.ColumnElement[str], ids: Sequence[str] | None, name: str | None = None
    ) -> Any:
        """``column IN ids`` with the ids as one parameter (a JSON array on SQLite, an array
        on PostgreSQL): a batch's few hundred ids are not spelled out one placeholder each.
        With ``name`` (and ``ids`` None) the parameter is left to fill with :meth:`ids`."""
        if self.dialect == "postgresql":
            array = postgresql.ARRAY(sa.String)
            value = None if ids is None else list(ids)
            return column == sa.any_(sa.bindparam(name, value, type_=array))
        text = None if ids is None else json.dumps(list(ids))
        values = sa.func.json_each(sa.bindparam(name, text, type_=sa.String))
        return column.in_(sa.select(sa.column("value")).select_from(values))

    def ids(self, ids: Sequence[str]) -> Any:
        return list(ids) if self.dialect == "postgresql" else json.dumps(list(ids))

    def insert(self, table: sa.Table) -> Any:
        if self.dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)
