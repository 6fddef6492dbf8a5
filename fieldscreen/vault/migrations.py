"""Named, dated, atomic schema migrations (the sqlite-utils ``migrations`` pattern).

Each migration runs inside one transaction together with the row that records it, so a crash
leaves the vault at the previous format or the next, never between. A vault that carries a
migration this build does not know was written by a newer FieldScreen and is not opened.
``tests/fixtures/vault-v1`` holds a vault of the first released format; a test opens it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlite_utils

from fieldscreen.vault.errors import VaultError
from fieldscreen.vault.store import Store

__all__ = ["FORMAT_VERSION", "MIGRATIONS", "Migration", "migrate"]


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step: a dated name and the function that applies it."""

    name: str
    apply: Callable[[sqlite_utils.Database], None]


def _initial(db: sqlite_utils.Database) -> None:
    db.table("records").create(
        {
            "id": str,
            "form_id": str,
            "form_version": str,
            "status": str,
            "created_day": str,
            "updated_day": str,
            "purge_after_day": str,
            "version": int,
            "key_id": str,
            "wrapped_key": bytes,
            "ciphertext": bytes,
            "format": int,
        },
        pk="id",
        not_null={"form_id", "form_version", "status", "version", "format"},
    )
    db.table("case_cards").create(
        {
            "record_id": str,
            "version": int,
            "key_id": str,
            "wrapped_key": bytes,
            "ciphertext": bytes,
            "format": int,
        },
        pk="record_id",
        not_null={"version", "wrapped_key", "ciphertext", "format"},
    )
    db.table("outbox").create(
        {
            "record_id": str,
            "kind": str,
            "device_seq": int,
            "form_id": str,
            "form_version": str,
            "device_id": str,
            "created_day": str,
            "state": str,
            "attempts": int,
            "reason": str,
            "updated_day": str,
            "payload_sha256": str,
            "sealed": bytes,
            "signature": bytes,
            "format": int,
        },
        pk="record_id",
        not_null={"kind", "device_seq", "state", "attempts", "format"},
    )
    db.execute("CREATE UNIQUE INDEX outbox_device_seq ON outbox(device_seq)")
    db.execute("CREATE INDEX outbox_state_seq ON outbox(state, device_seq)")
    db.table("audit").create({"seq": int, "ciphertext": bytes, "mac": bytes}, pk="seq")
    db.table("secrets").create({"name": str, "ciphertext": bytes}, pk="name")
    db.table("state").create({"name": str, "value": str}, pk="name")


def _outbox_aggregate(db: sqlite_utils.Database) -> None:
    """The screening's aggregate record, encrypted, beside its envelope until delivery."""
    db.execute("ALTER TABLE outbox ADD COLUMN aggregate BLOB")


def _list_index(db: sqlite_utils.Database) -> None:
    """The case list's encrypted, bucketed index (:mod:`fieldscreen.vault.listindex`).

    Created empty: the buckets are built from the case cards when the list is first read
    after unlock (a migration runs before unlock and holds no key).
    """
    db.table("list_index").create(
        {"bucket": int, "ciphertext": bytes, "format": int},
        pk="bucket",
        not_null={"ciphertext", "format"},
    )
    # Covering indexes of plaintext columns only, so that the case list reads the records'
    # ids, statuses and days and the cards' versions without reading the pages that hold
    # their ciphertext (over a gigabyte at 50,000 records).
    db.execute("CREATE INDEX records_list ON records(status, updated_day, id)")
    db.execute("CREATE INDEX case_cards_version ON case_cards(record_id, version)")


def _record_aggregate(db: sqlite_utils.Database) -> None:
    """A finalised record's aggregate record, encrypted, beside its readable copy until the
    purge: an envelope sealed again (its outbox row lost) carries it as the first did."""
    db.execute("ALTER TABLE records ADD COLUMN aggregate BLOB")


def _outbox_state_mac(db: sqlite_utils.Database) -> None:
    """Each outbox row's state stamped under a key of the vault (``base.outbox_state_mac``),
    so a state changed outside FieldScreen while the laptop is locked is found at unlock."""
    db.execute("ALTER TABLE outbox ADD COLUMN state_mac BLOB")


def _row_map(db: sqlite_utils.Database) -> None:
    """The state digest's row map (:mod:`fieldscreen.vault.digest`): every record's and case
    card's version, in encrypted buckets. Created empty: the map is built from the rows, and
    checked against the first format's digest, at the first unlock (a migration holds no key).
    """
    db.table("row_map").create(
        {"bucket": int, "ciphertext": bytes, "format": int},
        pk="bucket",
        not_null={"ciphertext", "format"},
    )


MIGRATIONS: tuple[Migration, ...] = (
    Migration("2026-11-27-first-format", _initial),
    Migration("2026-11-28-outbox-aggregate", _outbox_aggregate),
    Migration("2026-11-29-list-index", _list_index),
    Migration("2026-12-10-row-map", _row_map),
    Migration("2026-12-11-record-aggregate", _record_aggregate),
    Migration("2026-12-12-outbox-state-mac", _outbox_state_mac),
)
FORMAT_VERSION = len(MIGRATIONS)


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


def migrate(store: Store) -> int:
    """Bring the vault to :data:`FORMAT_VERSION`; return how many migrations ran."""
    with store.transaction() as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_day TEXT)"
        )
    applied = {row["name"] for row in store.read("SELECT name FROM migrations")}
    known = {m.name for m in MIGRATIONS}
    if applied - known:
        raise VaultError("vault-too-new")
    ran = 0
    for migration in MIGRATIONS:
        if migration.name in applied:
            continue
        with store.transaction() as conn:
            migration.apply(store.db)
            conn.execute(
                "INSERT INTO migrations (name, applied_day) VALUES (?, ?)",
                (migration.name, _today()),
            )
        ran += 1
    return ran
