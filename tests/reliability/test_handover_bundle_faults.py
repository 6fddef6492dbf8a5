"""Handover packets carried in USB bundles, relayed through a hostile network: a never-online
laptop's bundle holds its screenings and its queued packets; the coordinator relays it through
lost answers, resets, 500/503 and latency, again until it goes through. Every packet is then
held on the server exactly once (lost 0, duplicated 0), importing the same bundle again with
``fieldscreen-server import-bundle`` stores nothing new, a packet signed by a key that is no
active device's is refused and never kept, and the partners' acknowledgements go back to the
laptop in the file ``fieldscreen-server receipt --acks`` writes, one per line, or with the
coordinator's relay (its own sites only).

Runs on SQLite and PostgreSQL like the other fault runs; the figures are printed and asserted.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from pathlib import Path

import pytest

from fieldscreen import crypto
from fieldscreen.directory import Partner
from fieldscreen.handover import make_ack, open_packet
from fieldscreen.sync.bundle import export_bundle, is_packet, read_bundle
from fieldscreen.sync.client import RetryPolicy
from fieldscreen.sync.errors import SyncError
from fieldscreen.sync.relay import relay_bundle
from fieldscreen.sync.server.live import LiveServer
from fieldscreen.sync.server.storage import Storage
from fieldscreen.sync.simulate import SimDevice, SimOrg
from tests.integration.server_support import SERVER_PASSPHRASE
from tests.reliability.test_relay_faults import FaultyTransport
from tests.support.vouching import ORG, seal_vouched

FULL = os.environ.get("FIELDSCREEN_FULL") == "1"
SCENARIOS = 40 if FULL else 3
SEED = 20261205

pytestmark = pytest.mark.reliability

SEALING = crypto.generate_sealing_keypair()
SIGNING = crypto.generate_signing_keypair()
PARTNER = Partner("casa-norte", {"en": "Casa"}, "shelter", "es", "", SEALING[1], SIGNING[1])


def _publish_partner(storage: Storage, org: SimOrg) -> None:
    from fieldscreen.sync.canonical import b64e, canonical
    from fieldscreen.sync.signed import sign_document

    content = {
        "format": "fieldscreen-service-directory",
        "format_version": 1,
        "directory_id": "site-a-dir",
        "version": "1",
        "site": {"id": "site-a"},
        "services": [],
        "partners": [
            {
                "id": PARTNER.id,
                "name": {"en": "Casa"},
                "recipient": "shelter",
                "keys": {"x25519": b64e(SEALING[1]), "ed25519": b64e(SIGNING[1])},
            }
        ],
    }
    doc = sign_document("directory", "site-a", "1", canonical(content), *org.signing)
    storage.repos.documents.publish(doc.to_bytes(), "test")


def test_packets_in_relayed_bundles_land_once_and_their_acks_go_back(
    server: LiveServer, storage: Storage, org: SimOrg, tmp_path: Path, db_url: str
) -> None:
    from fieldscreen.sync.server.cli import main as server_main

    _publish_partner(storage, org)
    storage.repos.handovers.add_partner(PARTNER.id, "Casa")
    rng = random.Random(SEED)
    token = storage.repos.credentials.create_credential("coordinator", ["site-a"], "relay")
    key = storage.repos.keys.keys().receipt_public
    counts: dict[str, int] = {}
    lost = duplicated = reruns = made_packets = forged_kept = 0
    forger = crypto.generate_signing_keypair()
    for scenario in range(SCENARIOS):
        laptop = SimDevice(org, server.url, tmp_path / f"b{scenario}.sqlite3", receipt_public=key)
        laptop.enroll(storage.repos.credentials.create_enrol_code("site-a"))
        laptop.fill(rng.randint(3, 10), rng, size=300)
        keys = (laptop.signing_private, laptop.signing_public)
        packets = {}
        for _ in range(rng.randint(1, 4)):
            packet_id = uuid.uuid4().hex
            content = {"packet_id": packet_id, "partner": PARTNER.id, "case_id": "c" * 32}
            packets[packet_id] = seal_vouched(content, PARTNER, laptop.device_id, keys)
        forged_id = uuid.uuid4().hex
        forged = seal_vouched(  # a stranger's key under the laptop's id: never kept
            {"packet_id": forged_id, "partner": PARTNER.id, "case_id": "c" * 32},
            PARTNER,
            laptop.device_id,
            forger,
        )
        made_packets += len(packets)
        bundle = tmp_path / f"b{scenario}.fsb"
        info = export_bundle(
            bundle, laptop.device_id, laptop.spool, packets=[*packets.values(), forged]
        )
        assert info.handover_packets == len(packets) + 1
        assert sum(is_packet(line) for line in read_bundle(bundle)[1]) == len(packets) + 1
        result = None
        for _ in range(20):  # the coordinator tries again until it goes through
            transport = FaultyTransport(random.Random(rng.random()), counts)
            policy = RetryPolicy(attempts=4, base=0.0, cap=0.0, rng=random.Random(scenario))
            try:
                result = relay_bundle(
                    bundle,
                    server_url=server.url,
                    token=token,
                    receipt_key=key,
                    allow_insecure=True,
                    batch=rng.randint(2, 8),
                    transport=transport,
                    policy=policy,
                )
                break
            except SyncError:
                reruns += 1
        assert result is not None
        assert result.handover_packets.get("server-handover-unsigned") == 1
        held = [p["packet_id"] for p in storage.repos.handovers.listing(PARTNER.id)]
        mine = [p for p in held if p in packets]
        lost += len(set(packets) - set(mine))
        duplicated += len(mine) - len(set(mine))
        forged_kept += forged_id in held
    listing = storage.repos.handovers.listing(PARTNER.id)
    assert len(listing) == made_packets
    # The same bundle imported by hand on the server: nothing new, the forgery still refused.
    argv = ["import-bundle", str(bundle), "--db", db_url, "--json"]
    assert server_main(argv) == 0
    assert len(storage.repos.handovers.listing(PARTNER.id)) == made_packets
    # The partner acknowledges the last laptop's packets; they go back by file, one per line.
    for packet_id, packet in packets.items():
        content, digest = open_packet(packet, "p", PARTNER.id, SEALING[0], ORG[1])
        ack = make_ack(content, digest, PARTNER.id, SIGNING[0])
        assert storage.repos.handovers.acknowledge(PARTNER.id, packet_id, ack) == "stored"
    acks = tmp_path / "acks.txt"
    argv = ["receipt", "--device", laptop.device_id, "--out", str(tmp_path / "r.json")]
    passfile = tmp_path / "pass.txt"
    passfile.write_bytes(SERVER_PASSPHRASE + b"\n")
    argv += ["--acks", str(acks), "--db", db_url, "--passphrase-file", str(passfile), "--json"]
    with crypto.permitting_test_parameters():  # the test server's light Argon2id
        assert server_main(argv) == 0
    lines = acks.read_bytes().splitlines()
    assert sorted(json.loads(line)["packet_id"] for line in lines) == sorted(packets)
    # The coordinator's relay carries them back too, with the receipt; another site's
    # coordinator gets neither.
    again = relay_bundle(
        bundle, server_url=server.url, token=token, receipt_key=key, allow_insecure=True
    )
    assert sorted(again.acks) == sorted(lines)
    assert again.handover_packets.get("duplicate") == len(packets)
    other = storage.repos.credentials.create_credential("coordinator", ["site-b"], "elsewhere")
    with pytest.raises(SyncError):
        relay_bundle(
            bundle, server_url=server.url, token=other, receipt_key=key, allow_insecure=True
        )
    print(
        f"\nhandover packets in relayed bundles: {SCENARIOS} bundles, {made_packets} packets, "
        f"lost {lost}, duplicated {duplicated}, forged kept {forged_kept} of {SCENARIOS}, "
        f"faults {dict(sorted(counts.items()))}, relay re-runs {reruns}"
    )
    assert (lost, duplicated, forged_kept) == (0, 0, 0)
