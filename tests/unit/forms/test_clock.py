"""``today()`` and ``now()`` follow the laptop's own clock zone, as ODK's do on a device.

The zones are POSIX rules (``CST+6`` is six hours behind UTC), so no zone database is needed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fieldscreen.forms import AnswerError, Session
from tests.unit.forms.helpers import NOW, form

pytestmark = pytest.mark.skipif(not hasattr(time, "tzset"), reason="needs time.tzset")

MD = """
| survey |
|        | type      | name  | label | calculation                          |
|        | today     | day   |       |                                      |
|        | start     | began |       |                                      |
|        | calculate | t     |       | today()                              |
|        | calculate | n     |       | now()                                |
|        | calculate | hour  |       | format-date-time(now(), '%H:%M')     |
|        | calculate | days  |       | today() - ${seen}                    |
|        | calculate | fresh |       | today() - ${seen} <= 0               |
|        | date      | dob   | DOB   |                                      |
|        | date      | seen  | Seen  |                                      |
"""


@pytest.fixture
def zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    def use(rule: str) -> None:
        monkeypatch.setenv("TZ", rule)
        time.tzset()

    yield use
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


def _session(moment: datetime) -> Session:
    session = Session.start(form(MD), "en", {}, clock=lambda: moment)
    session.set_answer("dob", "2016-03-15")
    session.set_answer("seen", "2026-03-15")
    return session


@pytest.mark.parametrize(
    "case",
    [
        # 03:30 UTC on the 15th is still the evening of the 14th six hours west.
        ("CST+6", datetime(2026, 3, 15, 3, 30, tzinfo=UTC), "2026-03-14", "21:30", "-06:00"),
        # 20:00 UTC on the 15th is already the 16th nine hours east.
        ("JST-9", datetime(2026, 3, 15, 20, 0, tzinfo=UTC), "2026-03-16", "05:00", "+09:00"),
        ("UTC", datetime(2026, 3, 15, 3, 30, tzinfo=UTC), "2026-03-15", "03:30", "+00:00"),
    ],
)
def test_today_and_now_are_the_laptops_local_day_and_time_across_a_utc_day_boundary(
    zone: Callable[[str], None], case: tuple[str, datetime, str, str, str]
) -> None:
    rule, utc, day, hour, offset = case
    zone(rule)
    session = _session(utc)
    assert session.value("day") == day
    assert str(session.value("t")) == day
    assert session.value("hour") == hour
    assert str(session.value("n")).endswith(offset)
    assert str(session.value("began")).endswith(offset)
    # The same instant, whatever the zone: durations and comparisons with it do not move.
    assert datetime.fromisoformat(str(session.value("n"))) == utc
    # Days since a date count from the local day: "seen today" holds on the laptop's day.
    assert session.value("days") == {"2026-03-14": -1, "2026-03-15": 0, "2026-03-16": 1}[day]
    assert session.value("fresh") == (day <= "2026-03-15")


def test_a_clock_change_is_followed(zone: Callable[[str], None]) -> None:
    zone("CET-1CEST,M3.5.0,M10.5.0/3")  # Central European time, summer time from 29 March
    winter = _session(datetime(2026, 3, 28, 23, 30, tzinfo=UTC))
    summer = _session(datetime(2026, 3, 29, 22, 30, tzinfo=UTC))
    assert (winter.value("day"), winter.value("hour")) == ("2026-03-29", "00:30")
    assert (summer.value("day"), summer.value("hour")) == ("2026-03-30", "00:30")


def test_forms_run_now_without_an_offset_is_the_laptops_clock_time(
    zone: Callable[[str], None], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from fieldscreen.cli import main

    zone("CST+6")
    path = tmp_path / "f.md"
    path.write_text(MD + "| settings |\n| | form_id | version |\n| | f | 1 |\n", encoding="utf-8")
    answers = tmp_path / "a.json"
    answers.write_text(json.dumps({"seen": "2026-03-14"}), encoding="utf-8")
    run = ["forms", "run", str(path), "--answers", str(answers), "--json", "--now"]
    assert main([*run, "2026-03-14T23:00"]) == 0
    values = json.loads(capsys.readouterr().out)["values"]
    assert (values["day"], values["hour"], values["days"]) == ("2026-03-14", "23:00", 0)
    assert main([*run, "2026-03-15T03:00Z"]) == 0  # an offset is an instant: 21:00 local
    values = json.loads(capsys.readouterr().out)["values"]
    assert (values["day"], values["hour"]) == ("2026-03-14", "21:00")


@pytest.mark.parametrize(
    ("kind", "value", "ok"),
    [
        ("datetime", "2024-01-01T10:00:00-07:00", True),
        ("datetime", "2024-01-01T10:00:00-07:60", False),  # Python alone reads it as -08:00
        ("datetime", "2024-01-01T10:00:00+05:75", False),
        ("datetime", "2024-01-01T10:00:00", True),
        ("time", "06:00:00+01:00", True),
        ("time", "06:00:00-07:60", False),
    ],
)
def test_an_answer_with_a_clock_offset_of_60_minutes_or_more_is_no_time(
    kind: str, value: str, ok: bool
) -> None:
    md = f"| survey |\n| | type | name | label |\n| | {kind} | when | When |\n"
    session = Session.start(form(md), "en", {}, clock=lambda: NOW)
    if ok:
        session.set_answer("when", value)
        return
    with pytest.raises(AnswerError):
        session.set_answer("when", value)
