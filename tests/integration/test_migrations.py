"""Migrations: numbered, each applied once, re-running is a no-op, on both databases."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
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


def _envelope_row(kind: str, record_id: str, seq: int) -> dict[str, object]:
    return {
        "record_id": record_id,
        "sha256": hashlib.sha256(b"s" * 64).hexdigest(),
        "device_id": "dev-1",
        "site": "s1",
        "seq": seq,
        "kind": kind,
        "form_id": "fs_intake",
        "form_version": "1",
        "created": "2026-12-01",
        "received": "2026-12-01T00:00:00+00:00",
        "key_id": "ab" * 8,
        "aggregate": "{}",
        "sealed": b"s" * 64,
        "signature": b"g" * 64,
    }


def test_migration_3_lets_a_database_of_before_hold_sealed_drafts(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database made before drafts were envelopes keeps every envelope it held, and then
    holds drafts too; a kind nobody knows is still refused by the database itself."""
    engine = db.connect(db_url)
    insert = db.tables.envelopes.insert()
    try:
        monkeypatch.setattr(db, "MIGRATIONS", db.MIGRATIONS[:2])
        assert db.migrate(engine) == [1, 2]
        with engine.begin() as conn:
            conn.execute(insert, [_envelope_row("screening", "a" * 32, 1)])
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(insert, [_envelope_row("draft", "b" * 32, 2)])
        monkeypatch.undo()
        assert db.migrate(engine) == [m.version for m in db.MIGRATIONS[2:]]
        with engine.begin() as conn:
            conn.execute(insert, [_envelope_row("draft", "b" * 32, 2)])
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(insert, [_envelope_row("letter", "c" * 32, 3)])
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:  # still unique
            conn.execute(insert, [_envelope_row("draft", "d" * 32, 2)])
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(db.tables.envelopes.c.record_id, db.tables.envelopes.c.kind)
            )
            assert sorted(rows) == [("a" * 32, "screening"), ("b" * 32, "draft")]
        indexes = {i["name"] for i in sa.inspect(engine).get_indexes("envelopes")}
        assert "envelopes_site_created" in indexes
    finally:
        engine.dispose()


def _held_row(device_id: str, n: int) -> dict[str, object]:
    return {
        "record_id": "a" * 32,
        "sha256": hashlib.sha256(b"sealed").hexdigest(),
        "device_id": device_id,
        "site": "s1",
        "seq": n,
        "reason": "other-device",
        "received": "2026-12-01T00:00:00+00:00",
        "body": b"{}",
    }


def test_migration_4_holds_a_copy_per_device_of_the_same_record_and_hash(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before, one held copy per (record id, hash) whatever the device: a copy another device
    planted with a laptop's hash kept the laptop's own out. Rows held before are kept (ids
    too); the same device's copy is still held once."""
    engine = db.connect(db_url)
    try:
        monkeypatch.setattr(db, "MIGRATIONS", db.MIGRATIONS[:3])
        assert db.migrate(engine) == [1, 2, 3]
        for table in (db.tables.conflicts, db.tables.quarantine):
            with engine.begin() as conn:
                conn.execute(table.insert(), [_held_row("dev-b", 1)])
            with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
                conn.execute(table.insert(), [_held_row("dev-a", 1)])
        monkeypatch.undo()
        assert db.migrate(engine) == [m.version for m in db.MIGRATIONS[3:]]
        for table in (db.tables.conflicts, db.tables.quarantine):
            with engine.begin() as conn:
                conn.execute(table.insert(), [_held_row("dev-a", 1)])
            for device in ("dev-a", "dev-b"):
                with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
                    conn.execute(table.insert(), [_held_row(device, 2)])
            with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:  # checks kept
                conn.execute(table.insert(), [{**_held_row("dev-c", 1), "sha256": "x" * 64}])
            with engine.connect() as conn:
                rows = sorted(conn.execute(sa.select(table.c.id, table.c.device_id)))
            assert rows[0] == (1, "dev-b")  # (an id a refused insert took may be skipped)
            assert [device for _, device in rows] == ["dev-b", "dev-a"]
    finally:
        engine.dispose()


def test_migration_7_lets_a_database_of_before_hold_case_events(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database made before case events keeps every envelope it held (screenings, drafts,
    audit segments) and its match tokens, and then holds events too; an unknown kind is still
    refused by the database itself."""
    engine = db.connect(db_url)
    insert = db.tables.envelopes.insert()
    before = [m for m in db.MIGRATIONS if m.version < 7]
    try:
        monkeypatch.setattr(db, "MIGRATIONS", tuple(before))
        assert db.migrate(engine) == [m.version for m in before]
        with engine.begin() as conn:
            conn.execute(insert, [_envelope_row("screening", "a" * 32, 1)])
            conn.execute(insert, [_envelope_row("draft", "b" * 32, 2)])
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(insert, [_envelope_row("event", "c" * 32, 3)])
        monkeypatch.undo()
        assert db.migrate(engine) == [m.version for m in db.MIGRATIONS if m.version >= 7]
        with engine.begin() as conn:
            conn.execute(insert, [_envelope_row("event", "c" * 32, 3)])
            conn.execute(insert, [_envelope_row("event", "d" * 32, 4)])  # two events: two rows
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(insert, [_envelope_row("handover-x", "e" * 32, 5)])
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(db.tables.envelopes.c.record_id, db.tables.envelopes.c.kind)
            )
            assert sorted(rows) == [
                ("a" * 32, "screening"),
                ("b" * 32, "draft"),
                ("c" * 32, "event"),
                ("d" * 32, "event"),
            ]
        inspector = sa.inspect(engine)
        assert "envelopes_site_created" in {i["name"] for i in inspector.get_indexes("envelopes")}
        assert "match_tokens" in inspector.get_table_names()
    finally:
        engine.dispose()


def test_migration_6_keeps_the_match_tokens_of_screenings_held_before(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Screenings held before migration 6 whose aggregate carries match tokens get their rows
    in ``match_tokens``; those without tokens, or with malformed ones, get none."""
    import json

    engine = db.connect(db_url)
    insert = db.tables.envelopes.insert()
    before = [m for m in db.MIGRATIONS if m.version < 6]
    tokens = ["fdc-" + "1" * 32, "nd-" + "2" * 32]
    aggregate = {
        "tier": "T1",
        "concerns": [],
        "age_band": "15_17",
        "sex": "female",
        "nationality": ["HN"],
        "site": "s1",
        "week": "2026-W48",
    }
    try:
        monkeypatch.setattr(db, "MIGRATIONS", tuple(before))
        assert db.migrate(engine) == [m.version for m in before]
        with engine.begin() as conn:
            with_tokens = {**aggregate, "match": tokens, "match_consent": True}
            bad = {**aggregate, "match": ["not a token"]}
            conn.execute(
                insert,
                [
                    {
                        **_envelope_row("screening", "a" * 32, 1),
                        "aggregate": json.dumps(with_tokens),
                    },
                    {**_envelope_row("screening", "b" * 32, 2), "aggregate": json.dumps(aggregate)},
                    {**_envelope_row("screening", "c" * 32, 3), "aggregate": json.dumps(bad)},
                ],
            )
        monkeypatch.undo()
        assert db.migrate(engine) == [m.version for m in db.MIGRATIONS if m.version >= 6]
        m = db.tables.match_tokens
        with engine.connect() as conn:
            rows = sorted(conn.execute(sa.select(m.c.token, m.c.record_id, m.c.week, m.c.consent)))
        assert rows == [(t, "a" * 32, "2026-W48", True) for t in tokens]
    finally:
        engine.dispose()
