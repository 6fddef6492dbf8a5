"""The case card shows a handover sent to a partner and the partner's acknowledgement in its
timeline, in English and Spanish."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

CARD = {
    "tier": "T2",
    "follow_up": {"start": "2026-11-28T08:00:00+00:00", "done": [], "every_days": 7, "times": 4},
    "events": [
        {"id": "b", "type": "handover-acknowledged", "at": "2026-11-29T10:00Z", "note": "p1 x"},
        {"id": "a", "type": "handover-sent", "at": "2026-11-28T09:30Z", "note": "p1 x"},
    ],
    "handovers": [
        {"packet_id": "x", "partner": "p1", "sent": "2026-11-28T09:30Z", "acknowledged": ""},
        {
            "packet_id": "y",
            "partner": "p2",
            "sent": "2026-11-28T09:40Z",
            "acknowledged": "2026-11-29T10:00Z",
        },
    ],
}


def test_the_case_card_shows_the_handover_and_its_acknowledgement(qtbot: QtBot) -> None:
    from fieldscreen.ui.cases import CaseCardDialog

    dialog = CaseCardDialog("ABC123", CARD)
    qtbot.addWidget(dialog)
    rows = [dialog.timeline.item(i).text() for i in range(dialog.timeline.count())]
    assert rows[1].endswith("Handover sent to a partner: p1 x")
    assert rows[2].endswith("Handover acknowledged by the partner: p1 x")
    body = dialog.body.text()
    assert "Handed over to p1 on 2026-11-28 09:30 UTC, not acknowledged yet" in body
    assert "Handed over to p2 on 2026-11-28 09:40 UTC, acknowledged on 2026-11-29 10:00 UTC" in body
