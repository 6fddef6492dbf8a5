"""Handover packets through a real server on loopback (SQLite and PostgreSQL): a device posts a
packet sealed to a partner of the published directory, the partner fetches it with its own
credential and posts its signed acknowledgement, the device picks the acknowledgement up.

And the attackers: another enrolled device cannot list, fetch, acknowledge or delete a
partner's packets; a partner cannot fetch another partner's; a partner token reaches no other
route; a forged acknowledgement (another key, another packet's digest) is refused and never
reaches the device; a replayed acknowledgement changes nothing; a packet over the size limit
or another packet's bytes under a held id are refused."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from fieldscreen import crypto
from fieldscreen.directory import Partner
from fieldscreen.handover import make_ack, open_packet, seal_packet
from fieldscreen.sync.canonical import b64d, b64e, canonical
from fieldscreen.sync.errors import ServerError
from fieldscreen.sync.request_auth import DeviceSigner
from fieldscreen.sync.server.live import LiveServer
from fieldscreen.sync.server.repositories.handovers import MAX_PACKET_BYTES
from fieldscreen.sync.server.storage import Storage
from fieldscreen.sync.signed import sign_document
from fieldscreen.sync.simulate import SimDevice, SimOrg
from tests.support.vouching import ORG, org_key_file, seal_vouched

API = "/api/v1"


class PartnerKeys:
    def __init__(self, code: str) -> None:
        self.code = code
        self.sealing_private, self.sealing_public = crypto.generate_sealing_keypair()
        self.signing_private, self.signing_public = crypto.generate_signing_keypair()

    def entry(self) -> dict[str, Any]:
        return {
            "id": self.code,
            "name": {"en": self.code},
            "recipient": "receiving_shelter",
            "language": "es",
            "keys": {"x25519": b64e(self.sealing_public), "ed25519": b64e(self.signing_public)},
        }

    def partner(self) -> Partner:
        return Partner(
            id=self.code,
            name={"en": self.code},
            recipient="receiving_shelter",
            language="es",
            country="",
            sealing_key=self.sealing_public,
            signing_key=self.signing_public,
        )


def publish_directory(storage: Storage, org: SimOrg, partners: list[PartnerKeys]) -> None:
    content = {
        "format": "fieldscreen-service-directory",
        "format_version": 1,
        "directory_id": "tij1-dir",
        "version": "1",
        "site": {"id": "tij1"},
        "services": [],
        "partners": [p.entry() for p in partners],
    }
    doc = sign_document("directory", "tij1", "1", canonical(content), *org.signing)
    storage.repos.documents.publish(doc.to_bytes(), "test")


def make_packet(device: SimDevice, partner: PartnerKeys, case_id: str) -> tuple[str, bytes]:
    packet_id = uuid.uuid4().hex
    content = {"packet_id": packet_id, "partner": partner.code, "case_id": case_id, "x": "y"}
    keys = (device.signing_private, device.signing_public)
    return packet_id, seal_vouched(content, partner.partner(), device.device_id, keys)


class Caller:
    """One caller's requests: a bearer token, and a device's signature when it is one."""

    def __init__(self, http: httpx.Client, token: str | None, device: SimDevice | None = None):
        self.http, self.token = http, token
        self.signer = (
            DeviceSigner.from_private_key(device.device_id, device.signing_private)
            if device
            else None
        )

    def __call__(self, method: str, path: str, content: bytes | None = None) -> httpx.Response:
        headers = {"authorization": f"Bearer {self.token}"} if self.token else {}
        if content is not None:
            headers["content-type"] = "application/json"
        request = self.http.build_request(method, API + path, content=content, headers=headers)
        if self.signer:
            request.headers.update(
                self.signer.headers(
                    request.method, request.url.raw_path, request.content, time.time()
                )
            )
        return self.http.send(request)


@pytest.fixture
def setup(
    server: LiveServer, storage: Storage, org: SimOrg, new_device: Callable[..., SimDevice]
) -> dict[str, Any]:
    north, south = PartnerKeys("casa-norte"), PartnerKeys("casa-sur")
    publish_directory(storage, org, [north, south])
    return {
        "north": north,
        "south": south,
        "north_token": storage.repos.handovers.add_partner("casa-norte", "Casa Norte"),
        "south_token": storage.repos.handovers.add_partner("casa-sur", "Casa Sur"),
        "a": new_device("tij1"),
        "b": new_device("tij1"),
    }


def test_packet_through_the_server_and_the_ack_back(
    server: LiveServer, storage: Storage, setup: dict[str, Any]
) -> None:
    north, a = setup["north"], setup["a"]
    case_id = str(uuid.uuid4())
    packet_id, packet = make_packet(a, north, case_id)
    with httpx.Client(base_url=server.url, timeout=60) as http:
        device, partner = Caller(http, a.identity.token, a), Caller(http, setup["north_token"])
        sent = device("POST", f"/handover/packets/casa-norte/{packet_id}", packet)
        assert sent.status_code == 200, sent.text
        assert sent.json()["outcome"] == "stored"
        again = device("POST", f"/handover/packets/casa-norte/{packet_id}", packet)
        assert again.json()["outcome"] == "duplicate"  # a retry
        listing = partner("GET", "/partner/packets").json()
        assert [p["packet_id"] for p in listing["packets"]] == [packet_id]
        assert listing["packets"][0]["sha256"] == hashlib.sha256(packet).hexdigest()
        fetched = partner("GET", f"/partner/packets/{packet_id}")
        assert fetched.content == packet  # the bytes as they came: the server never opened it
        content, digest = open_packet(
            fetched.content, "p", "casa-norte", north.sealing_private, ORG[1]
        )
        assert content["case_id"] == case_id
        assert device("GET", "/handover/acks").json() == {"acks": []}
        ack = make_ack(content, digest, "casa-norte", north.signing_private)
        posted = partner("POST", f"/partner/packets/{packet_id}/ack", ack)
        assert posted.status_code == 200, posted.text
        assert posted.json()["outcome"] == "stored"
        replay = partner("POST", f"/partner/packets/{packet_id}/ack", ack)
        assert replay.json()["outcome"] == "duplicate"
        later = make_ack(content, digest, "casa-norte", north.signing_private, when=None)
        assert (
            partner("POST", f"/partner/packets/{packet_id}/ack", later).json()["outcome"]
            == "duplicate"
        )  # the first one stays what the device gets
        acks = device("GET", "/handover/acks").json()["acks"]
        assert [(x["packet_id"], x["partner"]) for x in acks] == [(packet_id, "casa-norte")]
        assert b64d(acks[0]["ack"], "ack") == ack
        assert partner("GET", "/partner/packets").json()["packets"][0]["acknowledged"] is True
        other = Caller(http, setup["b"].identity.token, setup["b"])
        assert other("GET", "/handover/acks").json() == {"acks": []}  # not b's packet
    actions = [e["action"] for e in _audit(storage)]
    for action in ("partner-added", "handover-received", "handover-fetched"):
        assert action in actions
    assert actions.count("handover-acknowledged") == 1


def _audit(storage: Storage) -> list[dict[str, Any]]:
    import sqlalchemy as sa

    from fieldscreen.sync.server.db import tables as t

    with storage.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(t.audit.c.action))]


def test_attackers(server: LiveServer, storage: Storage, setup: dict[str, Any]) -> None:
    north, south, a, b = setup["north"], setup["south"], setup["a"], setup["b"]
    packet_id, packet = make_packet(a, north, str(uuid.uuid4()))
    refused = 0
    with httpx.Client(base_url=server.url, timeout=60) as http:
        device = Caller(http, a.identity.token, a)
        assert device("POST", f"/handover/packets/casa-norte/{packet_id}", packet).is_success
        other_device = Caller(http, b.identity.token, b)
        north_p, south_p = Caller(http, setup["north_token"]), Caller(http, setup["south_token"])
        content, digest = open_packet(packet, "p", "casa-norte", north.sealing_private, ORG[1])
        ack = make_ack(content, digest, "casa-norte", north.signing_private)
        # Another enrolled device: no partner route is a device's, and there is no delete.
        for method, path, body in (
            ("GET", "/partner/packets", None),
            ("GET", f"/partner/packets/{packet_id}", None),
            ("POST", f"/partner/packets/{packet_id}/ack", ack),
            ("DELETE", f"/partner/packets/{packet_id}", None),
            ("DELETE", f"/handover/packets/casa-norte/{packet_id}", None),
        ):
            got = other_device(method, path, body)
            assert got.status_code in {401, 403, 404, 405}, (path, got.text)
            assert packet not in got.content
            refused += 1
        # Another device's bytes under a held id, or the same bytes for another partner.
        _, other_packet = make_packet(b, north, str(uuid.uuid4()))
        clash = other_device("POST", f"/handover/packets/casa-norte/{packet_id}", other_packet)
        assert clash.status_code == 409
        clash = device("POST", f"/handover/packets/casa-sur/{packet_id}", packet)
        assert clash.status_code == 409
        refused += 2
        # A partner that is not on the server, and one too large.
        unknown = device("POST", f"/handover/packets/casa-este/{uuid.uuid4().hex}", packet)
        assert unknown.status_code == 404
        big = device(
            "POST",
            f"/handover/packets/casa-norte/{uuid.uuid4().hex}",
            b"{" * (MAX_PACKET_BYTES + 1),
        )
        assert big.status_code == 413
        refused += 2
        # Another partner: sees no packet of casa-norte, fetches none, acknowledges none.
        assert south_p("GET", "/partner/packets").json()["packets"] == []
        got = south_p("GET", f"/partner/packets/{packet_id}")
        assert got.status_code == 404
        assert packet not in got.content
        south_ack = make_ack(content, digest, "casa-sur", south.signing_private)
        assert south_p("POST", f"/partner/packets/{packet_id}/ack", south_ack).status_code == 404
        refused += 3
        # A partner token reaches no other route of the API.
        spec = http.get(API + "/openapi.json").json()
        for path, operations in spec["paths"].items():
            if path.startswith(API + "/partner") or path.endswith(
                ("/health", "/openapi.json", "/enroll")
            ):
                continue
            concrete = (
                path.removeprefix(API)
                .replace("{device_id}", a.device_id)
                .replace("{kind}", "form")
                .replace("{name}", "x")
                .replace("{version}", "1")
                .replace("{partner}", "casa-norte")
                .replace("{packet_id}", uuid.uuid4().hex)
            )
            for method in operations:
                got = north_p(method.upper(), concrete, b"{}" if method != "get" else None)
                assert got.status_code in {401, 403}, (method, path, got.text)
                refused += 1
        # Forged acknowledgements: another key, another digest, another packet's id.
        forged = [
            make_ack(content, digest, "casa-norte", south.signing_private),
            make_ack(content, "0" * 64, "casa-norte", north.signing_private),
            make_ack(
                {**content, "packet_id": uuid.uuid4().hex},
                digest,
                "casa-norte",
                north.signing_private,
            ),
            ack.replace(b'"digest":"', b'"digest":"f', 1),
            b"not json",
        ]
        for bad in forged:
            got = north_p("POST", f"/partner/packets/{packet_id}/ack", bad)
            assert got.status_code == 422, got.text
            assert got.json()["code"] == "server-handover-ack-forged"
            refused += 1
        assert device("GET", "/handover/acks").json() == {"acks": []}  # none reached the device
        # A revoked partner opens nothing.
        storage.repos.handovers.revoke_partner("casa-sur")
        assert south_p("GET", "/partner/packets").status_code == 401
        refused += 1
    print(f"\nhandover attacks refused: {refused}, succeeded: 0")


def test_partner_must_be_in_a_published_directory(storage: Storage, org: SimOrg) -> None:
    with pytest.raises(ServerError) as caught:
        storage.repos.handovers.add_partner("casa-norte", "x")
    assert caught.value.code == "server-partner-unknown"
    north = PartnerKeys("casa-norte")
    publish_directory(storage, org, [north])
    first = storage.repos.handovers.add_partner("casa-norte", "x")
    second = storage.repos.handovers.add_partner(
        "casa-norte", "x"
    )  # again: a new token, the old one is dead
    assert storage.authenticate(first) is None
    principal = storage.authenticate(second)
    assert principal is not None
    assert (principal.role, principal.partner) == (
        "partner",
        "casa-norte",
    )
    assert not principal.sees("tij1")


def test_partner_command(tmp_path: Any, org: SimOrg, capsys: pytest.CaptureFixture[str]) -> None:
    """``fieldscreen-server partner add CODE`` prints the token alone; list; revoke."""
    import json

    from fieldscreen.sync.server.cli import main as server_main
    from tests.integration.server_support import open_storage

    url = str(tmp_path / "cli.sqlite3")
    store = open_storage(url)
    store.repos.keys.set_org_keys(org.name, org.sealing_public, org.signing_public)
    assert server_main(["partner", "add", "casa-norte", "--db", url]) == 1  # no directory yet
    assert "casa-norte" in capsys.readouterr().err
    publish_directory(store, org, [PartnerKeys("casa-norte")])
    assert server_main(["partner", "add", "casa-norte", "--db", url, "--label", "Casa"]) == 0
    token = capsys.readouterr().out.strip()
    principal = store.authenticate(token)
    assert principal is not None
    assert principal.partner == "casa-norte"
    assert server_main(["partner", "list", "--db", url, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(r["code"], r["label"], r["revoked"]) for r in listed] == [
        ("casa-norte", "Casa", False)
    ]
    assert server_main(["partner", "revoke", "casa-norte", "--db", url]) == 0
    assert store.authenticate(token) is None
    store.close()


def test_partner_fetch_with_a_wrong_token_opens_nothing(
    server: LiveServer,
    setup: dict[str, Any],
    tmp_path: Any,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``fieldscreen-partner fetch`` with a token the server does not know: refused by name,
    nothing written."""
    from fieldscreen import partner_cli

    crypto.permit_test_parameters(True)
    monkeypatch.setattr(partner_cli, "kdf_params", crypto.KdfParams.for_tests)
    try:
        key, passfile = tmp_path / "p.key", tmp_path / "pass.txt"
        passfile.write_text("partner passphrase 7\n", encoding="utf-8")
        common = ["--passphrase-file", str(passfile)]
        org_key = ["--org-key", str(org_key_file(tmp_path))]
        keygen = ["keygen", "--partner", "casa-norte", "--out", str(key), *org_key, *common]
        assert partner_cli.main(keygen) == 0
        capsys.readouterr()
        token = tmp_path / "token.txt"
        token.write_text("fsp_not-a-token\n", encoding="utf-8")
        out = tmp_path / "opened"
        argv = ["fetch", "--server", server.url, "--token-file", str(token), "--key", str(key)]
        assert partner_cli.main([*argv, "--out", str(out), *common]) == 1
        assert "401" in capsys.readouterr().err
        assert not out.exists()
    finally:
        crypto.permit_test_parameters(False)


def test_retention_destroys_old_handover_packets(
    server: LiveServer, storage: Storage, setup: dict[str, Any]
) -> None:
    """A packet received before the retention cut goes with its acknowledgement; a newer one
    stays."""
    import sqlalchemy as sa

    from fieldscreen.sync.server.db import tables as t

    a, north = setup["a"], setup["north"]
    old_id, old = make_packet(a, north, str(uuid.uuid4()))
    new_id, new = make_packet(a, north, str(uuid.uuid4()))
    assert storage.repos.handovers.post(a.device_id, "casa-norte", old_id, old) == "stored"
    assert storage.repos.handovers.post(a.device_id, "casa-norte", new_id, new) == "stored"
    content, digest = open_packet(old, "p", "casa-norte", north.sealing_private, ORG[1])
    ack = make_ack(content, digest, "casa-norte", north.signing_private)
    assert storage.repos.handovers.acknowledge("casa-norte", old_id, ack) == "stored"
    p = t.handover_packets
    with storage.engine.begin() as conn:
        conn.execute(
            sa.update(p).where(p.c.packet_id == old_id).values(received="2025-01-01T00:00:00Z")
        )
    storage.repos.reporting.apply_retention(30, "test")
    assert [x["packet_id"] for x in storage.repos.handovers.listing("casa-norte")] == [new_id]
    assert storage.repos.handovers.acks_for(a.device_id) == []


def test_attackers_after_revoke_and_at_the_edges(
    server: LiveServer, storage: Storage, setup: dict[str, Any], db_url: str
) -> None:
    """A revoked partner's token on every partner route, a token replaced by adding the partner
    again, another partner's packet answered as an unknown one (same status, same body), path
    tricks and huge values in the packet id and partner code: every one refused, no packet
    bytes in any answer; partner tokens are stored as hashes only, the SQLite file is 0600."""
    import os
    import stat

    import sqlalchemy as sa

    from fieldscreen.sync.server.db import tables as t

    north, a = setup["north"], setup["a"]
    packet_id, packet = make_packet(a, north, str(uuid.uuid4()))
    content, digest = open_packet(packet, "p", "casa-norte", north.sealing_private, ORG[1])
    ack = make_ack(content, digest, "casa-norte", north.signing_private)
    refused = 0
    with httpx.Client(base_url=server.url, timeout=60) as http:
        device = Caller(http, a.identity.token, a)
        assert device("POST", f"/handover/packets/casa-norte/{packet_id}", packet).is_success
        # Another partner's packet is answered as no packet at all, on both routes.
        south_p = Caller(http, setup["south_token"])
        unknown = uuid.uuid4().hex
        for method, path, body in (
            ("GET", "/partner/packets/{}", None),
            ("POST", "/partner/packets/{}/ack", ack),
        ):
            theirs, none = (
                south_p(method, path.format(packet_id), body),
                south_p(method, path.format(unknown), body),
            )
            assert (theirs.status_code, theirs.content) == (none.status_code, none.content)
            assert theirs.status_code == 404
            refused += 1
        # Path tricks and huge values: no route, or refused by shape; nothing stored.
        for path in (
            f"/handover/packets/casa-norte/{packet_id.upper()}",
            f"/handover/packets/casa-norte/{packet_id}0",
            f"/handover/packets/casa-norte/{'a' * 100_00}",
            f"/handover/packets/..%2Fcasa-norte/{uuid.uuid4().hex}",
            f"/handover/packets/casa-norte%2F..%2Fcasa-sur/{uuid.uuid4().hex}",
            f"/handover/packets/CASA-NORTE/{uuid.uuid4().hex}",
            f"/handover/packets/{'c' * 65}/{uuid.uuid4().hex}",
            f"/handover/packets/casa-norte/%2E%2E/casa-sur/{uuid.uuid4().hex}",
        ):
            got = device("POST", path, packet)
            assert got.status_code in {401, 404, 405, 413, 414, 422}, (path, got.status_code)
            refused += 1
        for path in (f"/partner/packets/{'f' * 5000}", "/partner/packets/..%2F..%2Fhealth"):
            got = Caller(http, setup["north_token"])("GET", path)
            assert got.status_code in {404, 414, 422}, (path, got.status_code)
            refused += 1
        # Revoked: the token opens no partner route; a device cannot post to the partner.
        storage.repos.handovers.revoke_partner("casa-norte")
        north_p = Caller(http, setup["north_token"])
        for method, path, body in (
            ("GET", "/partner/packets", None),
            ("GET", f"/partner/packets/{packet_id}", None),
            ("POST", f"/partner/packets/{packet_id}/ack", ack),
        ):
            got = north_p(method, path, body)
            assert got.status_code == 401, (path, got.text)
            assert packet not in got.content
            refused += 1
        late = device("POST", f"/handover/packets/casa-norte/{uuid.uuid4().hex}", packet)
        assert late.status_code == 404
        refused += 1
        assert device("GET", "/handover/acks").json() == {"acks": []}  # the ack never landed
        # Added again: a new token; the old one still opens nothing.
        fresh = storage.repos.handovers.add_partner("casa-norte", "Casa Norte")
        assert north_p("GET", "/partner/packets").status_code == 401
        assert Caller(http, fresh)("GET", "/partner/packets").status_code == 200
        refused += 1
    with storage.engine.connect() as conn:
        rows = list(conn.execute(sa.select(t.partners)))
        held = [r.packet_id for r in conn.execute(sa.select(t.handover_packets.c.packet_id))]
    assert held == [packet_id]
    for token in (setup["north_token"], setup["south_token"], fresh):
        for row in rows:
            assert token not in repr(tuple(row))
    hashes = {r.token_hash for r in rows}
    assert {hashlib.sha256(x.encode()).hexdigest() for x in (setup["south_token"], fresh)} == hashes
    if not db_url.startswith("postgres"):
        assert stat.S_IMODE(os.stat(db_url).st_mode) == 0o600
    print(f"\nhandover edge attacks refused: {refused}, succeeded: 0")


def test_a_device_cannot_fill_the_server_with_packets(
    storage: Storage, setup: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A device (or its stolen key) posting packet after packet: past the packets it may have
    held unacknowledged, each is refused (``server-handover-quota``) and nothing kept; an
    acknowledgement frees a place; another device is not held back by it."""
    from fieldscreen.sync.server.repositories import handovers

    monkeypatch.setattr(handovers, "MAX_PENDING_PER_DEVICE", 3)
    north, a, b = setup["north"], setup["a"], setup["b"]
    made = [make_packet(a, north, str(uuid.uuid4())) for _ in range(5)]
    for packet_id, packet in made[:3]:
        assert (
            storage.repos.handovers.post(a.device_id, "casa-norte", packet_id, packet) == "stored"
        )
    assert storage.repos.handovers.post(a.device_id, "casa-norte", *made[0]) == "duplicate"
    with pytest.raises(ServerError) as refused:
        storage.repos.handovers.post(a.device_id, "casa-norte", *made[3])
    assert refused.value.code == "server-handover-quota"
    other_id, other = make_packet(b, north, str(uuid.uuid4()))
    assert storage.repos.handovers.post(b.device_id, "casa-norte", other_id, other) == "stored"
    content, digest = open_packet(made[0][1], "p", "casa-norte", north.sealing_private, ORG[1])
    ack = make_ack(content, digest, "casa-norte", north.signing_private)
    assert storage.repos.handovers.acknowledge("casa-norte", made[0][0], ack) == "stored"
    assert storage.repos.handovers.post(a.device_id, "casa-norte", *made[3]) == "stored"
    assert len(storage.repos.handovers.listing("casa-norte")) == 5


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_publish_directory_lists_the_sites_active_devices_for_the_partner(  # noqa: PLR0917 -- fixtures
    tmp_path: Path,
    storage: Storage,
    org: SimOrg,
    setup: dict[str, Any],
    new_device: Callable[..., SimDevice],
    db_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``fieldscreen-server publish-directory`` signs the site's directory with the roster's
    active devices of that site in it (id and key), so the partner can tell the organisation's
    laptops from anyone's: a packet of a device revoked before the publish, or of another
    site's device, carrying that directory, is refused by name; one of a listed device opens."""
    import json

    from fieldscreen.directory import ServiceDirectory
    from fieldscreen.errors import DeviceError
    from fieldscreen.sync.server.cli import main as server_main
    from fieldscreen.sync.signed import SignedDocument

    north, a, b = setup["north"], setup["a"], setup["b"]
    elsewhere = new_device("other-site")
    key_file, passfile = tmp_path / "signing-private.json", tmp_path / "org-pass.txt"
    passfile.write_text("organisation passphrase\n", encoding="utf-8")
    with crypto.permitting_test_parameters():
        blob = crypto.protect_private_key(
            org.signing[0], b"organisation passphrase", params=crypto.KdfParams.for_tests()
        )
    key_file.write_text(json.dumps(blob), encoding="utf-8")
    common = ["--db", db_url, "--passphrase-file", str(passfile)]
    assert server_main(["devices", "revoke", b.device_id, "--db", db_url]) == 0
    directory = tmp_path / "tij1.json"
    content = {
        "format": "fieldscreen-service-directory",
        "format_version": 1,
        "directory_id": "tij1-dir",
        "version": "7",
        "site": {"id": "tij1"},
        "services": [],
        "partners": [north.entry()],
    }
    directory.write_text(json.dumps(content), encoding="utf-8")
    argv = ["publish-directory", str(directory), "--key", str(key_file), "--version", "7"]
    with crypto.permitting_test_parameters():  # the key file's light Argon2id
        assert server_main([*argv, "--name", "tij1", *common]) == 0, capsys.readouterr().err
    signed = storage.repos.documents.get("directory", "tij1", "7")
    assert signed is not None
    published = ServiceDirectory.from_content(
        SignedDocument.from_bytes(signed).content, "server", "tij1"
    )
    assert published.devices == ((a.device_id, a.signing_public),)
    opened = refused = 0
    for device in (a, b, elsewhere):
        packet = seal_packet(
            {"packet_id": uuid.uuid4().hex, "partner": "casa-norte", "case_id": "c" * 32},
            north.partner(),
            device.device_id,
            device.signing_public,
            lambda m, d=device: crypto.sign(d.signing_private, m),  # type: ignore[misc]
            signed,
        )
        if device is a:
            open_packet(packet, "p", "casa-norte", north.sealing_private, org.signing_public)
            opened += 1
            continue
        with pytest.raises(DeviceError) as caught:
            open_packet(packet, "p", "casa-norte", north.sealing_private, org.signing_public)
        refused += caught.value.code == "handover-device-unknown"
    assert (opened, refused) == (1, 2)


def test_acknowledgements_come_once_after_the_devices_cursor(
    server: LiveServer, storage: Storage, setup: dict[str, Any]
) -> None:
    """The device names the cursor of the last acknowledgement it applied: the server sends
    only those after it (none again once all are applied), at most 500 per answer, and a
    cursor that is not one reads from the start; another device's cursor shows nothing of a's."""
    from fieldscreen.sync.server.repositories import handovers

    north, a, b = setup["north"], setup["a"], setup["b"]
    made = [make_packet(a, north, str(uuid.uuid4())) for _ in range(3)]
    for packet_id, packet in made:
        assert (
            storage.repos.handovers.post(a.device_id, "casa-norte", packet_id, packet) == "stored"
        )
        content, digest = open_packet(packet, "p", "casa-norte", north.sealing_private, ORG[1])
        ack = make_ack(content, digest, "casa-norte", north.signing_private)
        assert storage.repos.handovers.acknowledge("casa-norte", packet_id, ack) == "stored"
    with httpx.Client(base_url=server.url, timeout=60) as http:
        device = Caller(http, a.identity.token, a)
        first = device("GET", "/handover/acks").json()["acks"]
        assert sorted(x["packet_id"] for x in first) == sorted(p for p, _ in made)
        cursor = first[1]["cursor"]
        rest = device("GET", f"/handover/acks?after={cursor}").json()["acks"]
        assert [x["packet_id"] for x in rest] == [first[2]["packet_id"]]
        done = device("GET", f"/handover/acks?after={first[2]['cursor']}").json()["acks"]
        assert done == []  # applied: not sent again
        assert len(device("GET", "/handover/acks?after=junk").json()["acks"]) == 3
        assert device("GET", "/handover/acks?after=" + "x" * 500).status_code == 422
        other = Caller(http, b.identity.token, b)
        assert other("GET", f"/handover/acks?after={cursor}").json() == {"acks": []}
    assert handovers.MAX_ACKS_PER_ANSWER == 500
    old = handovers.MAX_ACKS_PER_ANSWER
    handovers.MAX_ACKS_PER_ANSWER = 2
    try:
        page = storage.repos.handovers.acks_for(a.device_id)
        assert len(page) == 2
        assert len(storage.repos.handovers.acks_for(a.device_id, page[-1]["cursor"])) == 1
    finally:
        handovers.MAX_ACKS_PER_ANSWER = old
