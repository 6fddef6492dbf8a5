"""Migrations: numbered, each applied once, re-running is a no-op, on both databases."""

from __future__ import annotations

import sqlalchemy as sa

from fieldscreen.sync.server import db


def test_migrations_apply_once_and_record_themselves(db_url: str) -> None:
    engine = db.connect(db_url)
    try:
        assert db.current_version(engine) == 0
        assert db.migrate(engine) == [m.version for m in db.MIGRATIONS]
        assert db.migrate(engine) == []  # a second start changes nothing
        assert db.current_version(engine) == db.MIGRATIONS[-1].version
        versions = [m.version for m in db.MIGRATIONS]
        assert versions == sorted(versions) == list(range(1, len(versions) + 1))
        tables = set(sa.inspect(engine).get_table_names())
        assert {
            "envelopes",
            "devices",
            "credentials",
            "conflicts",
            "quarantine",
            "tombstones",
            "documents",
            "audit",
            "schema_migrations",
        } <= tables
    finally:
        engine.dispose()
