"""Fault runs over case events and audit segments: screenings each followed by a few ``event``
envelopes (follow-ups of it, append-only), and a segment or two of the device's audit log
(``audit`` envelopes), synced through the same hostile network and crashing client as
``test_sync_faults`` (answers lost after the server committed, connections reset mid-body, 500
and 503, the client killed before or after a request or between its own store writes, the
server restarted), then delivered again whole (a bundle imported twice). At the end the server
holds every event and every audit segment exactly once, the central export's timeline has every
event of every child once, in order, and its audit table every entry once: lost 0, duplicated 0.
``make test`` runs a short series; ``FIELDSCREEN_FULL=1`` runs 80 per database.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from fieldscreen.reports.export import ExportProblems, build_tables, open_records, parse_profile
from fieldscreen.reports.form_versions import FormCatalogue
from fieldscreen.sync.bundle import export_bundle, read_bundle
from fieldscreen.sync.canonical import parse_json
from fieldscreen.sync.server.db import tables as t
from fieldscreen.sync.server.live import LiveServer
from fieldscreen.sync.server.storage import Principal, Storage
from fieldscreen.sync.simulate import SimDevice, SimOrg
from tests.reliability.test_sync_faults import _converge

FULL = os.environ.get("FIELDSCREEN_FULL") == "1"
SCENARIOS = 80 if FULL else 4
SEED = 20261209

pytestmark = pytest.mark.reliability


def _timeline_events(storage: Storage, org: SimOrg) -> list[str]:
    """The event ids of every timeline row of the export (a row per step of each child)."""

    def device_key(device: str) -> bytes | None:
        row = storage.repos.devices.get(device)
        return None if row is None else row.public_key

    problems = ExportProblems()
    catalogue = FormCatalogue()
    catalogue.add_builtin()
    envelopes = [e for e in storage.repos.reporting.iter_envelopes() if e.kind == "event"]
    records = list(open_records(envelopes, device_key, org.sealing[0], catalogue, problems))
    assert problems.total == 0, problems.to_json()
    # The simulated screenings hold no form, so they stand for themselves here: each case's
    # screening is the sealed record the events name, opened as the export would see it.
    from fieldscreen.reports.export import OpenedRecord

    cases = {
        e.record_id: OpenedRecord(e.record_id, "screening", e.device_id, e.created, "1", {}, {})
        for e in storage.repos.reporting.iter_envelopes()
        if e.kind == "screening"
    }
    tables = build_tables([*cases.values(), *records], catalogue, parse_profile("full"))
    if "timeline" not in tables:
        return []
    return [row[4] for row in tables["timeline"].rows if row[3] != "screening"]


def _audit_entries(storage: Storage, org: SimOrg) -> list[tuple[str, int]]:
    """The (device, sequence number) of every row of the export's audit table."""

    def device_key(device: str) -> bytes | None:
        row = storage.repos.devices.get(device)
        return None if row is None else row.public_key

    problems = ExportProblems()
    catalogue = FormCatalogue()
    envelopes = [e for e in storage.repos.reporting.iter_envelopes() if e.kind == "audit"]
    records = list(open_records(envelopes, device_key, org.sealing[0], catalogue, problems))
    assert problems.total == 0, problems.to_json()
    tables = build_tables(records, catalogue, parse_profile("full"))
    if "audit" not in tables:
        return []
    columns = tables["audit"].columns
    device, seq = columns.index("device_id"), columns.index("seq")
    return [(row[device], row[seq]) for row in tables["audit"].rows]


def test_case_events_are_lost_0_and_duplicated_0_under_faults(  # noqa: PLR0917 -- fixtures
    new_device: Callable[..., SimDevice],
    storage: Storage,
    server: LiveServer,
    org: SimOrg,
    db_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rng = random.Random(SEED)
    audit_rng = random.Random(SEED + 1)  # apart, so the events' draws stay as they were
    counts: dict[str, int] = {}
    lost = duplicated = not_delivered = events = segments = 0
    entries: set[tuple[str, int]] = set()
    admin = Principal("admin", frozenset(), "test")
    for n in range(SCENARIOS):
        device = new_device()
        made = device.fill(rng.randint(4, 20), rng, size=rng.choice([200, 1500]), events=2)
        first, seq = 1, device.spool.next_seq()
        audits = []
        for _ in range(audit_rng.randint(1, 2)):  # the audit log's segments, sent with the rest
            size = audit_rng.randint(1, 30)
            audits.append(device.make_audit(audit_rng, first, size, seq=seq))
            seq += 1
            entries.update((device.device_id, n) for n in range(first, first + size))
            first += size
        device.spool.enqueue_many(audits)
        made = [*made, *audits]
        segments += len(audits)
        expected = {e.record_id: e.sha256 for e in made if e.kind in ("event", "audit")}
        events += len(expected)
        bundle = tmp_path / f"b{n}.bundle"
        export_bundle(bundle, device.device_id, device.spool)  # carried on USB as well
        _converge(device, server, rng, counts)
        for _ in range(2):  # the same events delivered again, whole, by the USB route
            _device, lines = read_bundle(bundle)
            storage.repos.ingest.ingest([parse_json(line, "envelope") for line in lines], admin)
        with storage.engine.connect() as conn:
            rows = [
                (r.record_id, r.sha256)
                for r in conn.execute(
                    sa.select(t.envelopes.c.record_id, t.envelopes.c.sha256).where(
                        t.envelopes.c.device_id == device.device_id,
                        t.envelopes.c.kind.in_(("event", "audit")),
                    )
                )
            ]
        lost += len(set(expected.items()) - set(rows))
        duplicated += len(rows) - len(set(rows)) + len(set(rows) - set(expected.items()))
        not_delivered += sum(
            1
            for rid, (s, _) in device.spool.states().items()
            if rid in expected and s != "delivered"
        )
        device.spool.close()
    in_timeline = _timeline_events(storage, org)
    timeline_lost = events - segments - len(set(in_timeline))
    timeline_twice = len(in_timeline) - len(set(in_timeline))
    in_audit = _audit_entries(storage, org)
    audit_lost = len(entries - set(in_audit))
    audit_twice = len(in_audit) - len(set(in_audit)) + len(set(in_audit) - entries)
    figures = {
        "database": "postgres" if db_url.startswith("postgres") else "sqlite",
        "scenarios": SCENARIOS,
        "events": events - segments,
        "audit_segments": segments,
        "audit_entries": len(entries),
        "audit_lost": audit_lost,
        "audit_duplicated": audit_twice,
        "lost": lost,
        "duplicated": duplicated,
        "not_marked_delivered": not_delivered,
        "timeline_lost": timeline_lost,
        "timeline_duplicated": timeline_twice,
        "faults": counts,
    }
    with capsys.disabled():
        print("\ncase event fault injection:", json.dumps(figures, sort_keys=True))
    assert (lost, duplicated, not_delivered) == (0, 0, 0), figures
    assert (timeline_lost, timeline_twice) == (0, 0), figures
    assert (audit_lost, audit_twice) == (0, 0), figures
