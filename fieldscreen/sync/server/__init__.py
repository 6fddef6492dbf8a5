"""The central server: stores and relays sealed envelopes it cannot read.

* :mod:`.db` -- the schema (SQLite or PostgreSQL through SQLAlchemy Core) and its versioned
  migrations, with the uniqueness and "only well-formed sealed envelopes" rules as database
  constraints;
* :mod:`.storage` -- the database opened, and the repositories of :mod:`.repositories` that
  work on it: ingestion (exactly-once effect, conflicts, quarantine, replay and rollback
  detection), enrolment, credentials, receipts, signed documents, stats and retention;
* :mod:`.api` -- the HTTP API (FastAPI; its OpenAPI document describes the protocol);
* :mod:`.cli` -- ``fieldscreen-server``, its commands by group.

It never imports the vault or the UI, and never holds a private key of the organisation: the
only private key in its database is its own receipt-signing key.
"""

from __future__ import annotations
