"""Relaying another laptop's USB bundle (Qt-free): what ``fieldscreen bundle relay`` and the
coordinator's batch view both call.

:func:`relay_bundle` checks the whole bundle, uploads its envelopes in bounded batches with the
coordinator's staff credential, and fetches that laptop's signed receipt, verified with the
organisation's receipt key before it is handed back. The server keys envelopes by record id and
payload hash, so relaying the same bundle twice stores nothing new: every outcome is then
``duplicate`` and :attr:`RelayResult.already_relayed` says so.

:func:`forward_bundle` is the other way on: no server here either, so the bundle is checked and
written again (to the next USB drive) for the next machine that is online.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx

from fieldscreen.sync.bundle import BundleInfo, is_packet, read_bundle, write_bundle
from fieldscreen.sync.client import RetryPolicy, SyncClient
from fieldscreen.sync.envelope import COUNTED_KINDS, Envelope
from fieldscreen.sync.errors import EnvelopeError, SyncError
from fieldscreen.sync.signed import SignedDocument, verify_document

__all__ = [
    "CREDENTIAL_FILE_MAX",
    "RELAY_BATCH",
    "RelayResult",
    "forward_bundle",
    "read_credential_file",
    "relay_bundle",
]

#: Envelopes per upload (the server's batch limit is larger).
RELAY_BATCH = 200
#: Outcomes that mean the server holds the envelope.
HELD = frozenset({"stored", "duplicate", "destroyed"})


#: The most a credential file holds (a token is a few dozen characters; anything this large
#: is some other file chosen by mistake).
CREDENTIAL_FILE_MAX = 4096


def read_credential_file(token_file: Path | None, code: str = "relay-token-missing") -> str:
    """The coordinator's credential from the file IT gave them (never kept by the app);
    ``SyncError(code)`` when there is no file, it cannot be read, or it is no credential."""
    if token_file is None:
        raise SyncError(code, path="")
    path = Path(token_file)
    try:
        with path.open("rb") as handle:
            raw = handle.read(CREDENTIAL_FILE_MAX + 1)
        lines = [line.strip() for line in raw.decode("utf-8-sig").splitlines()]
    except (OSError, UnicodeDecodeError):
        raise SyncError(code, path=path.name) from None
    # The token is the first line with text; what follows (the server's "shown once" advice,
    # when its output was saved whole) is not part of it.
    token = next((line for line in lines if line), "")
    if not token or len(raw) > CREDENTIAL_FILE_MAX or any(c.isspace() for c in token):
        raise SyncError(code, path=path.name)
    return token


@dataclass(frozen=True)
class RelayResult:
    """What one relay did: the screenings' and drafts' outcomes by kind (``stored``,
    ``duplicate``, ``quarantined`` ...); the audit log's segments are counted apart."""

    device_id: str
    envelopes: int
    outcomes: dict[str, int] = field(default_factory=dict)
    #: The laptop's signed receipt (verified), to carry back to it; None when not fetched.
    receipt: bytes | None = None
    #: The audit log's sealed segments relayed with them (no screening: in no count above).
    audit_envelopes: int = 0
    #: The case events relayed with them (apart as well).
    event_envelopes: int = 0
    #: The handover packets relayed with them, by outcome (``stored``, ``duplicate``, or the
    #: server's refusal's code).
    handover_packets: dict[str, int] = field(default_factory=dict)
    #: The partners' acknowledgements of that laptop's packets (each the partner's signed
    #: bytes), to carry back with the receipt (``fieldscreen handover ack``).
    acks: tuple[bytes, ...] = ()

    @property
    def stored(self) -> int:
        return self.outcomes.get("stored", 0)

    @property
    def acknowledged(self) -> int:
        return sum(n for kind, n in self.outcomes.items() if kind in HELD)

    @property
    def failed(self) -> int:
        return self.envelopes - self.acknowledged

    @property
    def already_relayed(self) -> bool:
        """True when the server held every envelope already (a second import)."""
        return self.envelopes > 0 and self.stored == 0 and self.failed == 0


def relay_bundle(
    path: Path,
    *,
    server_url: str,
    token: str,
    receipt_key: bytes,
    allow_insecure: bool = False,
    batch: int = RELAY_BATCH,
    transport: httpx.BaseTransport | None = None,
    policy: RetryPolicy | None = None,
) -> RelayResult:
    """Upload the bundle at ``path`` as a coordinator and return the outcomes and the receipt.

    A batch whose answer is lost is sent again (the client's retry policy); the server's
    idempotent ingestion makes that a ``duplicate``, never a second copy. ``transport`` and
    ``policy`` are the client's test seams (fault injection).

    Raises :class:`~fieldscreen.sync.errors.SyncError` for a damaged bundle (nothing is sent),
    an unreachable or refusing server, or a receipt that does not verify.
    """
    device_id, envelopes = read_bundle(Path(path))
    counts: dict[str, int] = {}
    total = 0
    audit: set[str] = set()  # the record ids of every envelope counted apart
    events = 0
    with SyncClient(
        server_url,
        token=token,
        allow_insecure=allow_insecure,
        transport=transport,
        policy=policy,
    ) as client:

        def send(chunk: list[bytes]) -> None:
            for result in client.relay(chunk)["results"]:
                if result.get("record_id") not in audit:
                    counts[result["outcome"]] = counts.get(result["outcome"], 0) + 1

        chunk: list[bytes] = []
        packets: dict[str, int] = {}
        for data in envelopes:  # streamed: memory stays flat however large the bundle
            if is_packet(data):  # one request each, retried as the batches are
                try:
                    outcome = client.relay_handover(data)
                except SyncError as exc:
                    if exc.code != "sync-refused":
                        raise  # unreachable: the coordinator tries the whole relay again
                    outcome = str(exc.context.get("reason") or exc.code)
                packets[outcome] = packets.get(outcome, 0) + 1
                continue
            chunk.append(data)
            apart = _apart(data)
            if apart is None:
                total += 1
            else:
                audit.add(apart[1])
                events += apart[0] == "event"
            if len(chunk) >= batch:
                send(chunk)
                chunk = []
        if chunk:
            send(chunk)
        document = SignedDocument.from_json(client.staff_receipt(device_id))
        acks = _staff_acks(client, device_id)
    verify_document(document, receipt_key, kind="receipt")
    return RelayResult(
        device_id, total, counts, document.to_bytes(), len(audit) - events, events, packets, acks
    )


def _staff_acks(client: SyncClient, device_id: str) -> tuple[bytes, ...]:
    """Every acknowledgement the server holds for ``device_id``'s packets, page by page (an
    older server without the route: none). The laptop checks each against its own directory."""
    from fieldscreen.sync.canonical import b64d

    acks: list[bytes] = []
    cursor = ""
    for _ in range(40):  # 500 a page: more than a device may have waiting
        try:
            page = client.staff_handover_acks(device_id, cursor)
        except SyncError as exc:
            if exc.code == "sync-refused":
                return tuple(acks)
            raise
        for entry in page:
            try:
                acks.append(b64d(str(entry["ack"]), "ack"))
            except (EnvelopeError, KeyError, TypeError):
                continue  # not an acknowledgement: the laptop would refuse it anyway
        if len(page) < 500 or not isinstance(page[-1], dict):
            break
        cursor = str(page[-1].get("cursor", ""))
    return tuple(acks)


def _apart(data: bytes) -> tuple[str, str] | None:
    """(kind, record id) of ``data`` when it is counted apart from the screenings (an audit
    log's segment, a case event); None for anything else, a damaged envelope too: the server
    answers for that one."""
    try:
        envelope = Envelope.from_bytes(data)
    except EnvelopeError:
        return None
    return None if envelope.kind in COUNTED_KINDS else (envelope.kind, envelope.record_id)


def forward_bundle(path: Path, out: Path) -> BundleInfo:
    """Check the bundle at ``path`` whole and write it again to ``out`` for the next hop;
    ``count`` is its screenings and drafts, the audit log's segments and case events apart."""
    device_id, envelopes = read_bundle(Path(path))
    audit = events = carried = 0

    def counted() -> Iterator[bytes]:
        nonlocal audit, events, carried
        for data in envelopes:
            if is_packet(data):
                carried += 1
                yield data
                continue
            apart = _apart(data)
            audit += apart is not None and apart[0] == "audit"
            events += apart is not None and apart[0] == "event"
            yield data

    info = write_bundle(Path(out), device_id, counted())
    return replace(
        info,
        count=info.count - audit - events - carried,
        audit_envelopes=audit,
        event_envelopes=events,
        handover_packets=carried,
    )
