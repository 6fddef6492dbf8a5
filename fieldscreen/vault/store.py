"""The SQLite file under the vault: connection, durability settings, transactions, allow-list.

Settings (see ``docs/vault.md``): WAL with ``synchronous=FULL`` (a commit is on disk before it
returns), ``secure_delete=ON`` (freed content is overwritten with zeros), ``temp_store=MEMORY``
(no plaintext temporary files), ``wal_checkpoint(TRUNCATE)`` after purges. The file and its WAL
and shared-memory companions are created 0600 inside a 0700 folder.

:data:`PLAINTEXT_COLUMNS` lists every column the schema may have, each of which is an opaque id,
a form id or version, a status, a coarse day, a counter, or ciphertext; a test compares it with
the live schema so a new plaintext column cannot slip in unnoticed.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import sqlite_utils

from fieldscreen.errors import KnownError
from fieldscreen.paths import ensure_private_dir, private_umask

__all__ = [
    "CIPHERTEXT_COLUMNS",
    "PLAINTEXT_COLUMNS",
    "PLAINTEXT_STATE_NAMES",
    "Store",
    "as_blob",
    "json_loads",
    "no_cycle_collection",
    "translate_sqlite_error",
]

#: table -> columns allowed in the schema. Ciphertext columns are listed in CIPHERTEXT_COLUMNS.
PLAINTEXT_COLUMNS: dict[str, frozenset[str]] = {
    "records": frozenset(
        {
            "id",
            "form_id",
            "form_version",
            "status",
            "created_day",
            "updated_day",
            "purge_after_day",
            "version",
            "key_id",
            "wrapped_key",
            "ciphertext",
            "format",
            "aggregate",
        }
    ),
    "case_cards": frozenset(
        {"record_id", "version", "key_id", "wrapped_key", "ciphertext", "format"}
    ),
    "outbox": frozenset(
        {
            "record_id",
            "kind",
            "device_seq",
            "form_id",
            "form_version",
            "device_id",
            "created_day",
            "state",
            "attempts",
            "reason",
            "updated_day",
            "payload_sha256",
            "sealed",
            "signature",
            "format",
            "aggregate",
            "state_mac",
        }
    ),
    "list_index": frozenset({"bucket", "ciphertext", "format"}),
    "row_map": frozenset({"bucket", "ciphertext", "format"}),
    "audit": frozenset({"seq", "ciphertext", "mac"}),
    "secrets": frozenset({"name", "ciphertext"}),
    "state": frozenset({"name", "value"}),
    "migrations": frozenset({"name", "applied_day"}),
}

#: Columns that hold ciphertext, sealed payloads, signatures or MACs, never plaintext.
CIPHERTEXT_COLUMNS = frozenset(
    {"wrapped_key", "ciphertext", "sealed", "signature", "mac", "aggregate", "state_mac"}
)

#: The only names the plaintext ``state`` table may hold.
PLAINTEXT_STATE_NAMES = frozenset(
    {
        "vault_id",
        "device_id",
        "device_public_key",
        "device_seq",
        "created_day",
        "last_sync_day",
        "sync_checkpoint",
        "device_state",
        "tampered_unaudited",
        "state_changed_unaudited",
    }
)


def translate_sqlite_error(error: sqlite3.Error) -> KnownError:
    """A user-facing error for an SQLite failure (its text names no data)."""
    text = str(error).lower()
    if "full" in text:
        return KnownError("disk-full")
    if isinstance(error, sqlite3.OperationalError | sqlite3.DatabaseError) and (
        "i/o" in text or "disk" in text or "readonly" in text or "malformed" in text
    ):
        return KnownError("io-error", detail="the vault file could not be written")
    if "locked" in text or "busy" in text:
        return KnownError("io-error", detail="the vault is busy in another window")
    return KnownError("io-error", detail="the vault file reported an error")


def _text(raw: bytes) -> str | bytes:
    """Decode TEXT values; a value that is not UTF-8 (a tampered row) stays bytes."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw


def json_loads(data: bytes | str) -> Any:
    """JSON decrypted from the vault, parsed: ``orjson`` (several times faster on the case
    list's and the audit log's thousands of small documents), or the standard library for
    what ``orjson`` refuses (NaN and infinities, lone surrogates) or would read as another
    value (it reads an integer past 64 bits as a float: a number of 19 digits or more sends
    the document to the standard library), so every document reads as the same value as
    before."""
    if _long_number(data if isinstance(data, bytes) else data.encode("utf-8")):
        return json.loads(data)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


_DIGIT_MAP = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_RUN = b"0" * 19


def _long_number(data: bytes) -> bool:
    """Whether ``data`` may hold a number of 19 digits or more: a run of 19 digits (found by a
    translation, at C speed, in most documents none) that starts a JSON value (at the start,
    or after ``:``, ``[`` or ``,``, any whitespace and a minus sign). A run inside a string,
    such as in a hexadecimal id, is not a number."""
    digits = data.translate(_DIGIT_MAP)
    start = digits.find(_RUN)
    while start >= 0:
        at = start - 1
        if at >= 0 and data[at] == 0x2D:  # "-"
            at -= 1
        while at >= 0 and data[at] in b" \t\r\n":
            at -= 1
        if at < 0 or data[at] in b":[,":
            return True
        end = start + len(_RUN)
        while end < len(digits) and digits[end] == 0x30:  # to the end of this run
            end += 1
        start = digits.find(_RUN, end)
    return False


@contextlib.contextmanager
def no_cycle_collection() -> Iterator[None]:
    """The cycle collector paused for one large read (the list index, the supervision log).

    Such a read makes an object per record or entry (50,000 lists of the list index, 100,000
    audit entries at a year's scale) and none of them is garbage: each allocation threshold
    crossed runs the collector over all that is held so far, a sixth to a quarter of the
    read's CPU. The read's memory is freed by reference counting as before; the few cycles it
    may leave (an exception's traceback) wait only until the collector runs again, as soon as
    the read ends (here, or in whichever thread paused it first). A collector paused by its
    caller is left paused."""
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def as_blob(value: object) -> bytes:
    """A stored ciphertext as bytes; anything else (a tampered type) fails like a bad tag."""
    if isinstance(value, bytes):
        return value
    from fieldscreen.crypto import DecryptError

    raise DecryptError


class Store:
    """One connection to the vault file, used by one thread at a time (writes serialised)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        ensure_private_dir(path.parent)
        with private_umask():
            self.conn = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=10.0
            )
        self.conn.text_factory = _text
        self._lock = threading.RLock()
        self._depth = 0
        #: A TRUNCATE checkpoint after a purge failed and is retried after the next commit.
        self.checkpoint_pending = False
        try:
            for pragma in (
                "PRAGMA journal_mode=WAL",
                "PRAGMA synchronous=FULL",
                "PRAGMA secure_delete=ON",
                "PRAGMA temp_store=MEMORY",
                "PRAGMA foreign_keys=ON",
                "PRAGMA trusted_schema=OFF",
            ):
                self.conn.execute(pragma)
        except sqlite3.Error as error:
            self.conn.close()
            raise translate_sqlite_error(error) from None
        self.db = sqlite_utils.Database(self.conn, execute_plugins=False)
        self.restrict_permissions()

    def restrict_permissions(self) -> None:
        if os.name != "posix":
            return
        for suffix in ("", "-wal", "-shm"):
            candidate = Path(str(self.path) + suffix)
            with contextlib.suppress(FileNotFoundError):
                candidate.chmod(0o600)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` (durable on return); rolled back on any error.

        Nested use joins the outer transaction.
        """
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self.conn
                finally:
                    self._depth -= 1
                return
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as error:
                raise translate_sqlite_error(error) from None
            self._depth = 1
            try:
                yield self.conn
                self.conn.execute("COMMIT")
                if self.checkpoint_pending:
                    self._depth = 0
                    self.checkpoint_truncate()
            except sqlite3.Error as error:
                self._rollback()
                raise translate_sqlite_error(error) from None
            except BaseException:
                self._rollback()
                raise
            finally:
                self._depth = 0

    def _rollback(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")

    def read(self, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                cursor = self.conn.execute(sql, params)
                cursor.row_factory = sqlite3.Row
                return list(cursor.fetchall())
            except sqlite3.Error as error:
                raise translate_sqlite_error(error) from None

    def checkpoint_truncate(self) -> bool:
        """Move the WAL into the database and truncate it to zero bytes.

        Runs after a purge has committed, so a failure must not be reported as a failed purge
        (the purge is durable): it returns False and the checkpoint is retried after the next
        commit, and SQLite checkpoints again when the vault is closed.
        """
        with self._lock:
            try:
                busy = self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            except sqlite3.Error:
                busy = 1
            self.checkpoint_pending = bool(busy)
            return not busy

    def close(self) -> None:
        with self._lock, contextlib.suppress(sqlite3.Error):
            self.conn.close()
