"""The supervisor queue's pass over the supervision log (:class:`supervision._Log`): a
send-back's kinds come back to the queue at the next finalise of that record only, and a
finalise with no send-back held leaves what was signed off alone."""

from __future__ import annotations

from fieldscreen.ui.supervision import _Log
from fieldscreen.vault import AuditEntry


def _e(seq: int, action: str, rid: str, detail: dict[str, object] | None = None) -> AuditEntry:
    return AuditEntry(seq, f"2026-01-01T00:{seq:02d}", "u1", action, rid, detail or {})


def _sign_off(seq: int, rid: str, decision: str) -> AuditEntry:
    detail: dict[str, object] = {"queue": "sign-off", "kinds": ["act-now"], "decision": decision}
    return _e(seq, "override", rid, detail)


def test_finalise_without_send_back_keeps_sign_offs() -> None:
    log = _Log.of([_e(1, "create", "a"), _sign_off(2, "a", "approve"), _e(3, "finalise", "a")])
    assert log.cleared == {("a", "act-now")}
    assert log.returned == set()
    assert log.finaliser == {"a": ("u1", "2026-01-01T00:03")}
    assert log.settled == {"a": 3}


def test_send_back_returns_at_that_records_finalise_only() -> None:
    log = _Log.of(
        [
            _e(1, "create", "a"),
            _e(2, "create", "b"),
            _sign_off(3, "a", "send-back"),
            _sign_off(4, "b", "send-back"),
            _e(5, "finalise", "a"),
        ]
    )
    assert log.cleared == {("b", "act-now")}
    assert set(log.sent_back) == {"a", "b"}
    assert log.creator == {"a": ("u1", "2026-01-01T00:01"), "b": ("u1", "2026-01-01T00:02")}
