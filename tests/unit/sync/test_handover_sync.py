"""The sync's handover step against a server that refuses or does not know the routes: a
packet the server does not take stays queued and is sent again; an older server without the
acknowledgement route leaves the rest of the sync to go on; a malformed acknowledgement from
the server is counted refused, not handed to the device."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fieldscreen.sync.canonical import b64e
from fieldscreen.sync.engine import Syncer
from fieldscreen.sync.errors import SyncError
from fieldscreen.sync.spool import Spool
from fieldscreen.sync.store import HandoverQueue


class QueueSpool(Spool):
    """The reference store with a handover queue."""

    def __init__(self, path: Path, queued: dict[str, tuple[str, bytes]]) -> None:
        super().__init__(path)
        self.queued = dict(queued)
        self.given: list[bytes] = []
        self.cursor = ""

    def queued_handovers(self) -> Sequence[tuple[str, str, bytes]]:
        return [(p, i, b) for i, (p, b) in sorted(self.queued.items())]

    def handover_posted(self, packet_id: str) -> None:
        self.queued.pop(packet_id, None)

    def apply_handover_acks(self, acks: Sequence[bytes]) -> tuple[int, int]:
        self.given.extend(acks)
        return len(acks), 0

    def hold_withdrawn_handovers(self) -> int:
        return 0

    def handover_acks_cursor(self) -> str:
        return self.cursor

    def save_handover_acks_cursor(self, cursor: str) -> None:
        self.cursor = cursor


class Server:
    """A client whose server knows no partner ``refused`` and, when ``old``, no handover
    routes at all."""

    def __init__(self, *, old: bool = False, acks: list[dict[str, Any]] | None = None) -> None:
        self.old, self.acks, self.retries = old, acks or [], 0
        self.posted: list[str] = []

    def device_status(self, _seq: int | None = None) -> dict[str, Any]:
        return {"status": "active"}

    def post_handover(self, partner: str, packet_id: str, packet: bytes) -> str:
        if self.old or partner == "refused":
            raise SyncError("sync-refused", status=404, reason="not-found")
        self.posted.append(packet_id)
        return "stored"

    def handover_acks(self, _after: str = "") -> list[dict[str, Any]]:
        if self.old:
            raise SyncError("sync-refused", status=404, reason="not-found")
        return self.acks


def _sync(store: QueueSpool, server: Server) -> Any:
    syncer = Syncer(server, store, store, receipt_key=b"r" * 32, signing_key=b"s" * 32, pull=False)  # type: ignore[arg-type]
    return syncer.run()


def test_a_refused_packet_stays_queued_and_goes_later(tmp_path: Path) -> None:
    store = QueueSpool(
        tmp_path / "s.sqlite3", {"a" * 32: ("casa", b"A"), "b" * 32: ("refused", b"B")}
    )
    assert isinstance(store, HandoverQueue)
    server = Server(acks=[{"ack": b64e(b"ack-1")}, {"ack": "not base64!"}])
    summary = _sync(store, server)
    assert (summary.handovers_sent, summary.handovers_queued) == (1, 1)
    assert server.posted == ["a" * 32]
    assert list(store.queued) == ["b" * 32]
    assert store.given == [b"ack-1"]
    assert (summary.handover_acks, summary.handover_acks_refused) == (1, 1)


def test_an_older_server_leaves_the_queue_and_the_rest_of_the_sync(tmp_path: Path) -> None:
    store = QueueSpool(tmp_path / "s.sqlite3", {"a" * 32: ("casa", b"A")})
    summary = _sync(store, Server(old=True))
    assert (summary.handovers_sent, summary.handovers_queued, summary.handover_acks) == (0, 1, 0)
    assert list(store.queued) == ["a" * 32]
    assert summary.device_status == "active"
