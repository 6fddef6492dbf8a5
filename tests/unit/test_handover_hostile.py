"""Handover packets and acknowledgements from somebody hostile: a packet made by anyone who
knows a partner's public keys (they are in the published directory), signed with a key of its
own, and a server answering the laptop's sync with what is not a list of acknowledgements.
Each is refused by name, never a traceback, and nothing is written or applied because of it."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from fieldscreen import crypto
from fieldscreen.directory import Partner
from fieldscreen.errors import DeviceError
from fieldscreen.handover import open_packet
from fieldscreen.sync.canonical import b64e
from fieldscreen.sync.client import SyncClient
from fieldscreen.sync.engine import Syncer
from fieldscreen.sync.errors import SyncError
from fieldscreen.sync.spool import Spool
from tests.support.vouching import ORG, seal_vouched

SEALING = crypto.generate_sealing_keypair()
SIGNING = crypto.generate_signing_keypair()
FORGER = crypto.generate_signing_keypair()
PARTNER = Partner("p1", {"en": "P"}, "legal", "en", "", SEALING[1], SIGNING[1])
GOOD_ID = "a" * 32

#: Contents a forger can seal: the header's packet id is the content's, as the opener checks.
FORGED: tuple[dict[str, Any], ...] = (
    {"packet_id": GOOD_ID, "partner": "p1"},  # no case id
    {"packet_id": GOOD_ID, "partner": "p1", "case_id": ["x"] * 3},
    {"packet_id": GOOD_ID, "partner": "p1", "case_id": {"a": 1}},
    {"packet_id": GOOD_ID, "partner": "p1", "case_id": "c" * 100_000},
    {"packet_id": "x/../../../evil", "partner": "p1", "case_id": "c" * 32},
    {"packet_id": "../" * 10 + "evil", "partner": "p1", "case_id": "c" * 32},
    {"packet_id": 12345, "partner": "p1", "case_id": "c" * 32},
    {"packet_id": "A" * 10_000, "partner": "p1", "case_id": "c" * 32},
)


def _forge(content: dict[str, Any]) -> bytes:
    """``content`` sealed by a device the organisation lists (its odd content is the attack)."""
    return seal_vouched(content, PARTNER, "dev1", FORGER)


@pytest.mark.parametrize("content", FORGED)
def test_a_forged_packets_odd_content_is_refused_by_name(content: dict[str, Any]) -> None:
    """A packet whose content lacks the case, or whose id is no packet id (a path, a number,
    10,000 characters), is ``handover-packet-tampered``: the partner's command writes no file
    named from it and stops on no KeyError."""
    with pytest.raises(DeviceError) as refused:
        open_packet(_forge(content), "p.json", "p1", SEALING[0], ORG[1])
    assert refused.value.code == "handover-packet-tampered"


def test_the_partners_open_command_says_so_for_a_forged_packet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from fieldscreen import partner_cli

    monkeypatch.setattr(partner_cli, "_key", lambda _p, _a: ("p1", SEALING[0], SIGNING[0], ORG[1]))
    refused = 0
    for i, content in enumerate(FORGED):
        packet = tmp_path / f"in{i}.json"
        packet.write_bytes(_forge(content))
        out = tmp_path / f"out{i}"
        code = partner_cli.main(
            ["open", str(packet), "--key", str(tmp_path / "k"), "--out", str(out)]
        )
        assert code == 1
        assert "fieldscreen-partner:" in capsys.readouterr().err
        assert not out.exists()
        refused += 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"in{i}.json" for i in range(len(FORGED))
    )
    print(f"\nforged packets refused: {refused} of {len(FORGED)}")


class _Store(Spool):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.given: list[bytes] = []

    def queued_handovers(self) -> Sequence[tuple[str, str, bytes]]:
        return []

    def handover_posted(self, packet_id: str) -> None:
        raise AssertionError(packet_id)

    def apply_handover_acks(self, acks: Sequence[bytes]) -> tuple[int, int]:
        self.given.extend(acks)
        return len(acks), 0

    def hold_withdrawn_handovers(self) -> int:
        return 0

    def handover_acks_cursor(self) -> str:
        return ""

    def save_handover_acks_cursor(self, cursor: str) -> None:
        raise AssertionError(cursor)  # a hostile answer moves no cursor


class _Hostile:
    def __init__(self, acks: Any) -> None:
        self.acks, self.retries = acks, 0

    def device_status(self, _seq: int | None = None) -> dict[str, Any]:
        return {"status": "active"}

    def handover_acks(self, _after: str = "") -> Any:
        return self.acks


HOSTILE_ENTRIES: tuple[Any, ...] = (None, 1, "ack", ["ack"], {"ack": 5}, {"ack": None}, {})


def test_a_hostile_list_of_acknowledgements_is_counted_refused(tmp_path: Path) -> None:
    """Entries that are not an acknowledgement's object (null, a number, text, a list, an
    object without base64 text) are each refused; the good one beside them is applied."""
    store = _Store(tmp_path / "s.sqlite3")
    server = _Hostile([*HOSTILE_ENTRIES, {"ack": b64e(b"good")}])
    syncer = Syncer(server, store, store, receipt_key=b"r" * 32, signing_key=b"s" * 32, pull=False)  # type: ignore[arg-type]
    summary = syncer.run()
    assert store.given == [b"good"]
    assert (summary.handover_acks, summary.handover_acks_refused) == (1, len(HOSTILE_ENTRIES))


@pytest.mark.parametrize(
    "body", [[], [1, 2], "acks", 7, None, {"acks": "abc"}, {"acks": {"a": 1}}, {"acks": 3}]
)
def test_a_server_answer_that_is_not_a_listing_is_a_protocol_error(body: Any) -> None:
    """What the acknowledgement route answers, when it is not ``{"acks": [...]}``, is the
    client's ``sync-protocol`` error (the sync goes on without acknowledgements)."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=body)

    client = SyncClient(
        "https://server.example.org",
        token="t",
        transport=httpx.MockTransport(handler),
        sleep=lambda _seconds: None,
    )
    with client, pytest.raises(SyncError) as refused:
        client.handover_acks()
    assert refused.value.code == "sync-protocol"


class _Endless(httpx.SyncByteStream):
    """An answer that never ends: ``{"acks": [`` then the same entry for ever, counting the
    bytes handed out."""

    def __init__(self) -> None:
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        entry = b'{"packet_id": "' + b"a" * 32 + b'", "ack": "' + b"QUFB" * 2000 + b'"},'
        yield b'{"acks": ['
        while True:
            self.sent += len(entry)
            yield entry


def _acks_client(handler: Callable[[httpx.Request], httpx.Response]) -> SyncClient:
    return SyncClient(
        "https://server.example.org",
        token="t",
        transport=httpx.MockTransport(handler),
        sleep=lambda _seconds: None,
    )


def test_an_endless_or_oversized_acknowledgement_answer_is_refused_unread(
    tmp_path: Path,
) -> None:
    """A hostile server answering the acknowledgement route without end, with 100,000
    entries, or with a gzip bomb: each is the client's ``sync-protocol`` error, read no further
    than the limit (4 MiB and a chunk), and a sync against it applies nothing, moves no cursor
    and goes on."""
    import gzip
    import json

    from fieldscreen.sync.client import MAX_ACKS_ANSWER_BYTES, MAX_ACKS_PER_ANSWER

    endless = _Endless()
    many = json.dumps({"acks": [{"ack": "QQ=="}] * 100_000}).encode()
    few_but_many = json.dumps({"acks": [{"ack": "QQ=="}] * (MAX_ACKS_PER_ANSWER + 1)}).encode()
    bomb = gzip.compress(b'{"acks": [' + b" " * (64 * 1024 * 1024) + b"]}")
    answers: dict[str, Callable[[], httpx.Response]] = {
        "endless": lambda: httpx.Response(200, stream=endless),
        "100,000 entries": lambda: httpx.Response(200, content=many),
        "one entry over the count": lambda: httpx.Response(200, content=few_but_many),
        "a gzip bomb": lambda: httpx.Response(
            200, content=bomb, headers={"content-encoding": "gzip"}
        ),
    }
    refused = 0
    for name, answer in answers.items():
        with _acks_client(lambda _r, a=answer: a()) as client:  # type: ignore[misc]
            with pytest.raises(SyncError) as caught:
                client.handover_acks("")
            refused += caught.value.code == "sync-protocol"
        assert name
    assert refused == len(answers)
    assert endless.sent < MAX_ACKS_ANSWER_BYTES + 2 * 1024 * 1024  # stopped at the limit

    class Client(_Hostile):
        def handover_acks(self, _after: str = "") -> Any:
            with _acks_client(lambda _r: httpx.Response(200, stream=_Endless())) as client:
                return client.handover_acks("")

    store = _Store(tmp_path / "s.sqlite3")
    hostile: Any = Client([])
    syncer = Syncer(hostile, store, store, receipt_key=b"r" * 32, signing_key=b"s" * 32, pull=False)
    summary = syncer.run()
    assert store.given == []
    assert (summary.handover_acks, summary.handover_acks_refused) == (0, 0)
    print(f"\nhostile acknowledgement answers refused: {refused} of {len(answers)}")


def _hostile_fetch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, serve: Any
) -> tuple[int, list[str]]:
    """``fieldscreen-partner fetch`` against a server answering with ``serve(packet_id)`` for
    the one packet it lists; the exit code and the paths the server was asked for."""
    from fieldscreen import partner_cli

    listed = "b" * 32
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(f"{request.method} {request.url.path}")
        if request.url.path.endswith("/partner/packets"):
            return httpx.Response(200, json={"packets": [{"packet_id": listed}]})
        if request.method == "GET":
            return httpx.Response(200, content=serve(listed))
        return httpx.Response(200, json={"outcome": "stored"})

    real = httpx.Client
    monkeypatch.setattr(
        httpx, "Client", lambda **kw: real(transport=httpx.MockTransport(handler), **kw)
    )
    monkeypatch.setattr(partner_cli, "_key", lambda _p, _a: ("p1", SEALING[0], SIGNING[0], ORG[1]))
    token = tmp_path / "token"
    token.write_text("fsp_x\n", encoding="utf-8")
    out = tmp_path / "out"
    code = partner_cli.main(
        [
            "fetch",
            "--server",
            "https://server.example.org",
            "--token-file",
            str(token),
            "--key",
            str(tmp_path / "k"),
            "--out",
            str(out),
        ]
    )
    assert not out.exists() or not any(out.iterdir())
    return code, asked


def test_fetch_refuses_another_packet_served_under_the_listed_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that serves a genuine packet of this partner under another id (an old one
    replayed as new): nothing opened, written or acknowledged."""
    genuine = _forge({"packet_id": GOOD_ID, "partner": "p1", "case_id": "c" * 32})
    code, asked = _hostile_fetch(tmp_path, monkeypatch, lambda _listed: genuine)
    assert code == 1
    assert not any(a.startswith("POST") for a in asked)


def test_fetch_reads_no_more_than_a_packet_can_be(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A server answering a packet with more than the server keeps (6 MiB) is refused by name
    without the answer being opened."""
    code, asked = _hostile_fetch(tmp_path, monkeypatch, lambda _listed: b"{" * (7 << 20))
    assert code == 1
    assert "6 MiB" in capsys.readouterr().err
    assert not any(a.startswith("POST") for a in asked)


def _signed_ack(**changes: Any) -> bytes:
    from fieldscreen.handover import _ACK_SIGN, ACK_FORMAT
    from fieldscreen.sync.canonical import canonical

    body = {
        "format": ACK_FORMAT,
        "format_version": 1,
        "packet_id": GOOD_ID,
        "case_id": "c" * 32,
        "partner": "p1",
        "digest": "d" * 64,
        "received": "2026-12-04T21:00Z",
        **changes,
    }
    signature = crypto.sign(SIGNING[0], _ACK_SIGN + canonical(body))
    return canonical({**body, "signature": b64e(signature)})


@pytest.mark.parametrize(
    "changes",
    [
        {"received": {"a": 1}},
        {"received": ["2026-12-04T21:00Z"]},
        {"received": "x" * 3000},
        {"received": ""},
        {"case_id": ["c"]},
        {"case_id": 7},
        {"packet_id": None},
        {"digest": 1},
        {"format_version": "1"},
    ],
)
def test_a_partner_signed_ack_with_odd_fields_is_refused(changes: dict[str, Any]) -> None:
    """The partner's key signed it, but its fields are not an acknowledgement's (a time that is
    an object, 3,000 characters or empty, a case that is a list): refused, as a forged one is,
    so nothing of it lands on the case card."""
    from fieldscreen.handover import check_ack

    assert check_ack(_signed_ack(), "a.json", SIGNING[1])["received"] == "2026-12-04T21:00Z"
    with pytest.raises(DeviceError) as refused:
        check_ack(_signed_ack(**changes), "a.json", SIGNING[1])
    assert refused.value.code == "handover-ack-forged"
