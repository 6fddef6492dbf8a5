"""The export's case events: a timeline per child in every format, each event once and in order,
what a profile leaves out, and the events held apart (another site's device, no such case)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from fieldscreen.caseevents import event_content
from fieldscreen.errors import KnownError
from fieldscreen.reports.export import OpenedRecord, build_tables, parse_profile
from fieldscreen.reports.export_files import render
from fieldscreen.reports.form_versions import FormCatalogue

T = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CASE, OTHER = "a" * 32, "b" * 32


def _screening(record_id: str, device: str, share_stats: str = "yes") -> OpenedRecord:
    return OpenedRecord(
        record_id, "screening", device, "2026-12-01", "1", {}, {"share_stats": share_stats}
    )


def _event(event_id: str, device: str, case: str, kind: str, hours: int, **kw: str) -> OpenedRecord:
    content = event_content(case, kind, T + timedelta(hours=hours), user="u1", **kw)
    return OpenedRecord(event_id, "event", device, "2026-12-01", "1", {}, {}, event=content)


def _forms() -> FormCatalogue:
    catalogue = FormCatalogue()
    catalogue.add_builtin()
    return catalogue


def _records() -> list[OpenedRecord]:
    return [
        _screening(CASE, "laptop-a"),
        _screening(OTHER, "laptop-a", share_stats="no"),
        _event("e3" * 16, "laptop-a", CASE, "closed", 30, reason="reunified"),
        _event("e1" * 16, "laptop-a", CASE, "referral", 2, note="legal aid"),
        _event("e2" * 16, "laptop-b", CASE, "service-reached", 5),  # the same site's
        _event("e1" * 16, "laptop-a", CASE, "referral", 2, note="legal aid"),  # sent twice
        _event("e4" * 16, "thief", CASE, "left", 3),  # another site's device
        _event("e5" * 16, "laptop-a", "f" * 32, "moved", 4),  # no such screening
        _event("e6" * 16, "laptop-a", OTHER, "follow-up", 1),
    ]


SITES = {"laptop-a": "tij1", "laptop-b": "tij1", "thief": "elsewhere"}


def test_the_timeline_holds_each_event_once_in_order_and_holds_forgeries_apart() -> None:
    tables = build_tables(_records(), _forms(), parse_profile("full"), site_of=SITES.get)
    steps = [(r[0], r[1], r[3], r[4]) for r in tables["timeline"].rows]
    assert steps == [
        (CASE, 1, "screening", CASE),
        (CASE, 2, "referral", "e1" * 16),
        (CASE, 3, "service-reached", "e2" * 16),
        (CASE, 4, "closed", "e3" * 16),
        (OTHER, 1, "screening", OTHER),
        (OTHER, 2, "follow-up", "e6" * 16),
    ]
    assert len(tables["events"].rows) == 4
    held = {r[0]: r[5] for r in tables["events_held"].rows}
    assert held == {"e4" * 16: "another-device", "e5" * 16: "unknown-case"}


def test_without_sites_only_the_screening_device_s_events_are_in_the_timeline() -> None:
    tables = build_tables(_records(), _forms(), parse_profile("full"))
    held = {r[0]: r[5] for r in tables["events_held"].rows}
    assert held["e2" * 16] == "another-device"  # a device of its site, unknown as such here


def test_deidentified_leaves_out_notes_declined_children_and_the_held() -> None:
    tables = build_tables(_records(), _forms(), parse_profile("deidentified"), site_of=SITES.get)
    assert "note" not in tables["events"].columns
    assert {r[1] for r in tables["events"].rows} == {CASE}  # OTHER declined statistics
    assert {r[0] for r in tables["timeline"].rows} == {CASE}
    assert all(len(r[2]) == 7 for r in tables["timeline"].rows)  # the month only
    assert "events_held" not in tables
    assert "legal aid" not in json.dumps({k: t.rows for k, t in tables.items()})


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
def test_every_format_carries_the_timeline(fmt: str) -> None:
    tables = build_tables(_records(), _forms(), parse_profile("full"), site_of=SITES.get)
    files = render(fmt, tables, [], "readme", {})
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(files["timeline.csv"].decode())))
        assert rows[0] == list(tables["timeline"].columns)
        assert len(rows) == 1 + 6
        assert "events_held.csv" in files
    elif fmt == "json":
        data = json.loads(files["export.json"])
        assert len(data["tables"]["timeline"]["rows"]) == 6
    else:
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(files["export.xlsx"]))
        assert {"timeline", "events", "events_held"} <= set(book.sheetnames)
        assert book["timeline"].max_row == 1 + 6


def test_no_events_no_event_tables() -> None:
    tables = build_tables([_screening(CASE, "laptop-a")], _forms(), parse_profile("full"))
    assert not {"events", "timeline", "events_held"} & set(tables)


@pytest.mark.parametrize(
    ("kind", "extra", "code"),
    [
        ("visited", {}, "case-event-type-unknown"),
        ("closed", {}, "case-event-reason-needed"),
        ("closed", {"reason": "bored"}, "case-event-reason-unknown"),
        ("referral", {"note": "x" * 501}, "case-event-note-long"),
    ],
)
def test_an_event_a_laptop_would_not_write_is_refused_by_name(
    kind: str, extra: dict[str, str], code: str
) -> None:
    with pytest.raises(KnownError) as caught:
        event_content(CASE, kind, T, **extra)
    assert caught.value.code == code
    assert caught.value.message("es") != caught.value.message("en")  # both languages


def test_one_laptops_events_of_the_same_minute_keep_the_order_it_recorded_them_in() -> None:
    """A handover sent and acknowledged within a minute of the link: the event ids are random,
    so only the laptop's sequence numbers can keep them in order."""
    kinds = ["linked", "handover-sent", "handover-acknowledged"]
    ids = ["f" * 32, "0" * 32, "8" * 32]  # not in the order of the events

    def event(i: int) -> OpenedRecord:
        content = event_content(CASE, kinds[i], T, user="u1")
        return OpenedRecord(
            ids[i], "event", "laptop-a", "2026-12-01", "1", {}, {}, event=content, device_seq=7 + i
        )

    records = [_screening(CASE, "laptop-a"), event(2), event(0), event(1), event(2)]
    tables = build_tables(records, _forms(), parse_profile("full"), site_of=SITES.get)
    assert [r[3] for r in tables["timeline"].rows] == ["screening", *kinds]
