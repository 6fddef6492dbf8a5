"""Migrations: numbered, each applied once, re-running is a no-op, on both databases."""

from __future__ import annotations

from pathlib import Path

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


def test_a_new_sqlite_database_has_pages_that_hold_whole_envelopes(tmp_path: Path) -> None:
    old = tmp_path / "old.sqlite3"
    with sa.create_engine(f"sqlite:///{old}").begin() as conn:  # made before: 4 KiB pages
        conn.exec_driver_sql("CREATE TABLE t (x)")
    for path, size in ((tmp_path / "new.sqlite3", 16384), (old, 4096)):
        engine = db.connect(str(path))
        try:
            db.migrate(engine)
            with engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA page_size").scalar() == size
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        finally:
            engine.dispose()
