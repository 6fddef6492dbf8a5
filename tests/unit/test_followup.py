"""Follow-up dates from the tier's cadence, with a fake clock: the first date at finalise, each
recorded follow-up moving it on, the cadence's end, and the follow-up window respected."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fieldscreen.followup import Cadence, cadence_of, next_due, record_done, schedule

T = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def card_for(tier: str, window: int) -> dict[str, object]:
    plan = schedule(cadence_of(tier), T, window)
    due = next_due(plan)
    return {"tier": tier, "follow_up": plan, "next_due": due.isoformat() if due else None}


def dues(card: dict[str, object], times: int, every: timedelta) -> list[datetime | None]:
    out = []
    when = T
    for _ in range(times):
        when += every
        card = record_done(card, when)
        due = card["next_due"]
        out.append(datetime.fromisoformat(str(due)) if due else None)
    return out


def test_the_cadences_come_from_the_risk_tier_list() -> None:
    assert cadence_of("T0") == Cadence(1.0, None)
    assert cadence_of("T1") == Cadence(7.0, 4)
    assert cadence_of("T2") == Cadence(14.0, 2)
    assert cadence_of("T3") == Cadence(30.0, 1)
    assert cadence_of("T4") == Cadence(None, None)


def test_high_risk_weekly_four_times_then_nothing() -> None:
    card = card_for("T1", 90)
    assert card["next_due"] == (T + 7 * DAY).isoformat()
    assert dues(card, 4, 7 * DAY) == [T + 14 * DAY, T + 21 * DAY, T + 28 * DAY, None]


def test_a_late_follow_up_moves_the_next_date_from_when_it_was_done() -> None:
    card = record_done(card_for("T1", 90), T + 10 * DAY)
    assert card["next_due"] == (T + 17 * DAY).isoformat()


def test_the_window_brings_a_far_date_forward_and_ends_the_schedule() -> None:
    card = card_for("T2", 7)  # every 14 days, but readable only for 7
    assert card["next_due"] == (T + 7 * DAY).isoformat()
    early = record_done(card, T + 3 * DAY)
    assert early["next_due"] == (T + 7 * DAY).isoformat()  # a last check before the purge
    assert record_done(early, T + 7 * DAY)["next_due"] is None


@pytest.mark.parametrize("tier", ["T0", "T1", "T2", "T3"])
def test_no_date_is_ever_past_the_window(tier: str) -> None:
    card = card_for(tier, 7)
    for due in [card["next_due"], *dues(card, 10, DAY)]:
        if due is not None:
            assert datetime.fromisoformat(str(due)) <= T + 7 * DAY


def test_without_a_window_the_cadence_alone_counts() -> None:
    card = card_for("T3", 0)
    assert card["next_due"] == (T + 30 * DAY).isoformat()
    assert card_for("T4", 7)["next_due"] is None
    assert record_done(card_for("T4", 7), T)["next_due"] is None


def test_act_now_is_checked_daily_until_stabilised() -> None:
    card = card_for("T0", 90)
    assert dues(card, 5, DAY) == [T + (i + 2) * DAY for i in range(5)]
