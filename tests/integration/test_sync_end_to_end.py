"""Sync end to end against a real server on loopback, on SQLite and on PostgreSQL."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from fieldscreen import crypto
from fieldscreen.sync.bundle import apply_receipt_file, export_bundle, read_bundle, write_atomic
from fieldscreen.sync.client import RetryPolicy, SyncClient
from fieldscreen.sync.engine import Progress
from fieldscreen.sync.envelope import Envelope, build_envelope, open_envelope
from fieldscreen.sync.errors import DeviceRevoked, SyncError
from fieldscreen.sync.request_auth import DeviceSigner
from fieldscreen.sync.server.live import LiveServer
from fieldscreen.sync.server.storage import Storage
from fieldscreen.sync.signed import sign_document
from fieldscreen.sync.simulate import SimDevice, SimOrg

NewDevice = Callable[..., SimDevice]


def test_a_backlog_arrives_exactly_once_in_bounded_batches(
    new_device: NewDevice, storage: Storage, org: SimOrg, rng: random.Random
) -> None:
    device = new_device()
    made = device.fill(57, rng, size=3000)
    seen: list[Progress] = []
    summary = device.sync(max_count=10, max_bytes=20_000, progress=seen.append)
    assert summary.sent == 57
    assert summary.delivered == 57
    assert summary.batches >= 9  # 20 kB holds at most 6 of these envelopes
    assert all(r["records"] <= 10 for r in summary.batch_results)
    assert storage.repos.reporting.count("envelopes") == 57
    assert set(device.spool.states().values()) == {("delivered", None)}
    assert seen[-1].phase == "done"
    assert seen[-2].records_done == 57
    # the server holds what the device sealed, byte for byte, and only the org key opens it
    held = {e.record_id: e for e in storage.repos.reporting.iter_envelopes()}
    for envelope in made:
        assert held[envelope.record_id] == envelope
        assert open_envelope(held[envelope.record_id], org.sealing[0]).startswith(b'{"answers"')
    again = device.sync()
    assert (again.sent, again.delivered, storage.repos.reporting.count("envelopes")) == (0, 0, 57)


def test_missing_query_sends_only_what_the_server_lacks(
    new_device: NewDevice, storage: Storage, rng: random.Random
) -> None:
    device = new_device()
    device.fill(20, rng, size=500)
    with device.client() as client:
        first = [item.data for item in device.spool.pending_page(0, 8)]
        client.submit(first)  # delivered, but the receipt never reached the spool
    summary = device.sync(max_count=50)
    assert summary.already_held == 8
    assert summary.sent == 12
    assert storage.repos.reporting.count("envelopes") == 20


class _CountingTransport(httpx.HTTPTransport):
    """Counts the requests of each route (the last part of the path)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: dict[str, int] = {}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        route = request.url.path.rsplit("/", 1)[-1]
        self.calls[route] = self.calls.get(route, 0) + 1
        return super().handle_request(request)


def test_only_the_first_batches_of_a_run_ask_what_is_missing(
    new_device: NewDevice, storage: Storage, rng: random.Random
) -> None:
    device = new_device()
    device.fill(50, rng, size=500)
    counting = _CountingTransport()
    summary = device.sync(max_count=5, transport=counting)
    assert (summary.batches, summary.sent, summary.delivered) == (10, 50, 50)
    assert counting.calls["missing"] == 2  # the batches a stopped run can leave unacknowledged
    assert counting.calls["envelopes"] == 10

    # A run that stopped with two batches on the server and no receipt applied: the next run
    # asks about exactly those, and sends only the rest.
    device.fill(30, rng, size=500)
    with device.client() as client:
        client.submit([item.data for item in device.spool.pending_page(0, 10)])
        # and one far beyond them (as after a restore): sent again, recognised, never doubled
        client.submit([device.spool.pending_page(0, 30)[27].data])
    counting = _CountingTransport()
    summary = device.sync(max_count=5, transport=counting)
    assert counting.calls["missing"] == 2
    assert (summary.already_held, summary.sent, summary.delivered) == (10, 20, 20)
    assert storage.repos.reporting.count("envelopes") == 80
    assert set(device.spool.states().values()) == {("delivered", None)}


def test_sixteen_threads_sending_the_same_envelope_make_one_row(
    new_device: NewDevice, storage: Storage, rng: random.Random
) -> None:
    device = new_device()
    envelope = device.make_envelope(rng, seq=1)
    barrier = threading.Barrier(16)
    outcomes: list[str] = []
    retries: list[int] = []
    errors: list[BaseException] = []

    def send() -> None:
        try:
            # one device sending sixteen at once is told to come back (503, Retry-After)
            with device.client(policy=RetryPolicy(attempts=40, base=0.01, cap=0.2)) as client:
                barrier.wait()
                answer = client.submit([envelope.to_bytes()])
                outcomes.append(answer["results"][0]["outcome"])
                retries.append(client.retries)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(outcomes) == ["duplicate"] * 15 + ["stored"], retries
    assert storage.repos.reporting.count("envelopes") == 1
    assert storage.repos.reporting.count("conflicts") == 0


def test_one_byte_changed_is_a_conflict_that_never_overwrites(
    new_device: NewDevice, storage: Storage, rng: random.Random, org: SimOrg
) -> None:
    device = new_device()
    original = device.make_envelope(rng, seq=1)
    changed_payload = bytearray(b"x" * 100)
    changed_payload[0] ^= 1
    twin = build_envelope(
        original.record_id,
        original.form_id,
        original.form_version,
        original.device_id,
        2,
        original.created,
        bytes(changed_payload),
        org.sealing_public,
        device.signing_private,
    )
    with device.client() as client:
        assert client.submit([original.to_bytes()])["results"][0]["outcome"] == "stored"
        result = client.submit([twin.to_bytes()])["results"][0]
        assert result["outcome"] == "conflict"
        assert client.submit([twin.to_bytes()])["results"][0]["outcome"] == "conflict"
    held = next(storage.repos.reporting.iter_envelopes())
    assert held == original
    assert storage.repos.reporting.count("conflicts") == 1


def test_forged_swapped_replayed_and_revoked_are_never_applied(
    new_device: NewDevice,
    storage: Storage,
    rng: random.Random,
    admin_token: str,
    server: LiveServer,
) -> None:
    alice, bob = new_device(), new_device()
    forged_key, _ = crypto.generate_signing_keypair()
    accepted = 0
    forged = build_envelope(
        str(__import__("uuid").uuid4()),
        "fs_intake",
        "1",
        alice.device_id,
        2,
        "2026-11-27",
        b"x" * 64,
        alice.org.sealing_public,
        forged_key,
    )
    # forged: alice's stolen token, but requests signed by a key that is not alice's (or by
    # none): refused before anything is read, whatever the envelope's own signature
    thief = DeviceSigner.from_private_key(alice.device_id, forged_key)
    for signer in (thief, None):
        with alice.client(signer=signer, policy=RetryPolicy(attempts=1)) as client:
            with pytest.raises(SyncError) as refused:
                client.submit([forged.to_bytes()])
            assert refused.value.code == "sync-not-enrolled"
    with alice.client() as client:
        good = alice.make_envelope(rng, seq=1)
        assert client.submit([good.to_bytes()])["results"][0]["outcome"] == "stored"
        # swapped: bob's genuine envelope sent with alice's credential
        swapped = bob.make_envelope(rng, seq=1)
        # replayed: a new record reusing a sequence number alice already used (rollback)
        replay = alice.make_envelope(rng, seq=1)
        for envelope in (swapped, replay):
            result = client.submit([envelope.to_bytes()])["results"][0]
            accepted += result["outcome"] == "stored"
        # the same old envelope again: a no-op
        assert client.submit([good.to_bytes()])["results"][0]["outcome"] == "duplicate"
    # forged, carried by somebody else: a relay checks every envelope's own signature
    with SyncClient(server.url, token=admin_token) as admin:
        result = admin.relay([forged.to_bytes()])["results"][0]
    assert (result["outcome"], result["reason"]) == ("rejected", "signature")
    assert accepted == 0
    assert storage.repos.reporting.count("envelopes") == 1
    assert storage.repos.reporting.count("quarantine") == 1
    assert storage.repos.devices.get(alice.device_id).rollback_suspected  # type: ignore[union-attr]
    # revoked: every device route answers 403 with the status, and wipe is acted on first
    storage.repos.devices.set_status(bob.device_id, "wipe", "test")
    bob.fill(3, rng, size=300)
    with pytest.raises(DeviceRevoked):
        bob.sync()
    assert bob.spool.wiped
    assert bob.spool.counts() == {}
    assert storage.repos.reporting.count("envelopes") == 1
    # the admin relays a bundle of the revoked laptop: quarantined, not merged
    with SyncClient(server.url, token=admin_token) as admin:
        result = admin.relay([swapped.to_bytes()])["results"][0]
    assert result["outcome"] == "quarantined"
    assert storage.repos.reporting.count("envelopes") == 1


def test_rollback_of_the_device_vault_is_reported(
    new_device: NewDevice, storage: Storage, rng: random.Random
) -> None:
    device = new_device()
    device.fill(5, rng, size=300)
    device.sync()
    with device.client() as client:
        status = client.device_status(seq=2)  # a vault restored from an old copy
    assert status["rollback_suspected"] is True


def test_usb_bundle_and_receipt_both_ways_are_idempotent(  # noqa: PLR0917 -- fixtures
    new_device: NewDevice,
    storage: Storage,
    rng: random.Random,
    tmp_path: Path,
    server: LiveServer,
    admin_token: str,
) -> None:
    device = new_device()
    device.fill(12, rng, size=800)
    bundle = tmp_path / "usb" / "bundle.fsb"
    bundle.parent.mkdir()
    info = export_bundle(bundle, device.device_id, device.spool)
    assert info.count == 12
    # the coordinator's online machine relays it, twice
    device_id, envelopes = read_bundle(bundle)
    datas = list(envelopes)
    with SyncClient(server.url, token=admin_token) as admin:
        first = admin.relay(datas)
        second = admin.relay(datas)
        receipt = admin.staff_receipt(device_id)
    assert [r["outcome"] for r in first["results"]] == ["stored"] * 12
    assert [r["outcome"] for r in second["results"]] == ["duplicate"] * 12
    assert storage.repos.reporting.count("envelopes") == 12
    receipt_file = tmp_path / "usb" / "receipt.fsr"
    from fieldscreen.sync.signed import SignedDocument

    write_atomic(receipt_file, SignedDocument.from_json(receipt).to_bytes())
    key = storage.repos.keys.keys().receipt_public
    changed, _ = apply_receipt_file(receipt_file, device.spool, key, device.device_id)
    again, _ = apply_receipt_file(receipt_file, device.spool, key, device.device_id)
    assert (changed, again) == (12, 0)
    assert device.spool.counts() == {"delivered": 12}
    # a damaged bundle is refused whole
    data = bytearray(bundle.read_bytes())
    data[len(data) // 2] ^= 1
    bundle.write_bytes(bytes(data))
    with pytest.raises(SyncError):
        read_bundle(bundle)
    # a receipt signed by anyone else is refused
    forger, forger_pub = crypto.generate_signing_keypair()
    fake = sign_document("receipt", device.device_id, "1", b"{}", forger, forger_pub)
    receipt_file.write_bytes(fake.to_bytes())
    with pytest.raises(SyncError):
        apply_receipt_file(receipt_file, device.spool, key, device.device_id)


def test_signed_updates_come_down_and_forgeries_are_refused(
    new_device: NewDevice, storage: Storage, org: SimOrg, rng: random.Random
) -> None:
    device = new_device()
    form = sign_document("form", "fs_intake", "2026.12.1", b"| survey |", *org.signing)
    storage.repos.documents.publish(form.to_bytes(), "test")
    summary = device.sync()
    assert summary.updates_applied == 1
    assert device.spool.update_versions() == {("form", "fs_intake"): "2026.12.1"}
    assert device.sync().updates_applied == 0
    forger = crypto.generate_signing_keypair()
    evil = sign_document("form", "fs_intake", "2026.12.2", b"evil", *forger)
    with pytest.raises(SyncError):
        storage.repos.documents.publish(evil.to_bytes(), "test")


def test_oversized_requests_get_413_and_rate_limits_retry_after(
    storage: Storage, tmp_path: Path, new_device: NewDevice
) -> None:
    from fieldscreen.sync.server.api import ServerConfig

    device = new_device()
    with LiveServer(storage, ServerConfig(max_body_bytes=50_000, rate=0.05, burst=3)) as small:
        headers = {"authorization": f"Bearer {device.token}"}
        big = httpx.post(
            f"{small.url}/api/v1/envelopes", content=b"x" * 60_000, headers=headers, timeout=60
        )
        assert big.status_code == 413

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
            for _ in range(10):
                yield b"x" * 10_000

        other = new_device()  # signed, so that the server reads the body
        signer = other.client().signer
        assert signer is not None
        signed = signer.headers("POST", b"/api/v1/envelopes", b"x" * 100_000, time.time())
        token = {"authorization": f"Bearer {other.token}"}
        chunked = httpx.post(
            f"{small.url}/api/v1/envelopes",
            content=chunks(),
            headers={**token, **signed},
            timeout=60,
        )
        assert chunked.status_code == 413
        statuses = []
        with device.client(base_url=small.url) as client:  # signed, as a device's requests are
            for _ in range(8):
                request = client._http.build_request("GET", "/device/status", headers=headers)
                statuses.append(client._send(request))
        assert [r.status_code for r in statuses[:3]] == [200, 200, 200]
        limited = [r for r in statuses if r.status_code == 429]
        assert limited
        assert all(int(r.headers["retry-after"]) >= 1 for r in limited)


def test_plain_http_is_refused_except_to_loopback() -> None:
    with pytest.raises(SyncError):
        SyncClient("http://server.example.org")
    SyncClient("http://127.0.0.1:1").close()
    SyncClient("https://server.example.org").close()
    SyncClient("http://10.0.0.1", allow_insecure=True).close()


def test_the_database_refuses_what_is_not_a_sealed_envelope(storage: Storage) -> None:
    import sqlalchemy as sa

    from fieldscreen.sync.server.db import tables as t

    good = {
        "record_id": "00000000-0000-4000-8000-000000000001",
        "sha256": "a" * 64,
        "device_id": "d",
        "site": "s",
        "seq": 1,
        "kind": "screening",
        "form_id": "f",
        "form_version": "1",
        "created": "2026-11-27",
        "received": "x",
        "key_id": "k",
        "aggregate": "{}",
        "sealed": b"\x01" * 64,
        "signature": b"s" * 64,
    }
    bad_rows: list[dict[str, object]] = [
        {"sha256": "not-hex"},
        {"sha256": "A" * 64},
        {"sealed": b"plaintext"},
        {"signature": b"short"},
        {"seq": 0},
        {"kind": "note"},
        {"record_id": "x"},
    ]
    refused = 0
    for change in bad_rows:
        try:
            with storage.engine.begin() as conn:
                conn.execute(sa.insert(t.envelopes).values({**good, **change}))
        except sa.exc.IntegrityError:
            refused += 1
    assert refused == len(bad_rows)
    with pytest.raises(sa.exc.IntegrityError), storage.engine.begin() as conn:
        conn.execute(
            sa.insert(t.org_keys).values(
                kind="sealing2", key_id="x", public_key=b"k" * 32, private_key=b"p" * 32
            )
        )
    with pytest.raises(sa.exc.IntegrityError), storage.engine.begin() as conn:
        conn.execute(
            sa.update(t.org_keys)
            .where(t.org_keys.c.kind == "sealing")
            .values(private_key=b"p" * 32)
        )


def test_retention_destroys_and_a_replay_does_not_resurrect(
    new_device: NewDevice, storage: Storage, rng: random.Random
) -> None:
    import sqlalchemy as sa

    from fieldscreen.sync.server.db import tables as t

    device = new_device()
    device.fill(3, rng, size=300)
    sent = [item.data for item in device.spool.pending_page(0, 10)]
    device.sync()
    with storage.engine.begin() as conn:
        conn.execute(sa.update(t.envelopes).values(created="2020-01-01"))
    assert storage.repos.reporting.apply_retention(365, "test") == 3
    with device.client() as client:
        results = client.submit(sent)["results"]
    assert {r["outcome"] for r in results} == {"destroyed"}
    assert storage.repos.reporting.count("envelopes") == 0


def test_envelope_round_trip_through_the_server_is_byte_identical(
    new_device: NewDevice, storage: Storage, rng: random.Random
) -> None:
    device = new_device()
    envelope = device.make_envelope(rng, seq=1)
    with device.client() as client:
        client.submit([envelope.to_bytes()])
    assert next(storage.repos.reporting.iter_envelopes()).to_bytes() == envelope.to_bytes()
    assert Envelope.from_bytes(envelope.to_bytes()) == envelope
