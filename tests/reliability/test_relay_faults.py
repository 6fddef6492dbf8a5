"""Relaying a never-online laptop's bundle through a hostile network: answers lost after the
server committed, connections reset, 500/503, latency. Whatever happens, running the relay
again until it finishes leaves the server holding each envelope exactly once, and the
receipt the coordinator carries back names every one of them.

Runs on SQLite and PostgreSQL like the other sync fault runs; the figures (lost, duplicated,
retries, re-runs) are printed and asserted.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import httpx
import pytest

from fieldscreen.sync.bundle import export_bundle
from fieldscreen.sync.client import RetryPolicy
from fieldscreen.sync.errors import SyncError
from fieldscreen.sync.relay import relay_bundle
from fieldscreen.sync.server.live import LiveServer
from fieldscreen.sync.server.storage import Storage
from fieldscreen.sync.signed import Receipt, SignedDocument
from fieldscreen.sync.simulate import SimDevice, SimOrg

FULL = os.environ.get("FIELDSCREEN_FULL") == "1"
SCENARIOS = 60 if FULL else 4
SEED = 20261128

pytestmark = pytest.mark.reliability

FAULTS = [
    ("ok", 55),
    ("drop_after_commit", 15),
    ("reset_before", 10),
    ("http500", 8),
    ("http503", 7),
    ("latency", 5),
]


class FaultyTransport(httpx.BaseTransport):
    def __init__(self, rng: random.Random, counts: dict[str, int]) -> None:
        self.rng = rng
        self.counts = counts
        self.inner = httpx.HTTPTransport()

    def close(self) -> None:
        self.inner.close()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        fault = self.rng.choices([f for f, _ in FAULTS], [w for _, w in FAULTS])[0]
        self.counts[fault] = self.counts.get(fault, 0) + 1
        if fault == "latency":
            time.sleep(self.rng.uniform(0.0, 0.02))
        if fault in {"http500", "http503"}:
            return httpx.Response(int(fault[4:]), headers={"retry-after": "0"}, json={"code": "x"})
        if fault == "reset_before":
            raise httpx.ConnectError("connection reset", request=request)
        response = self.inner.handle_request(request)
        response.read()
        if fault == "drop_after_commit":
            raise httpx.ReadError("answer lost after the server committed", request=request)
        return response


def test_a_relay_through_faults_lands_every_envelope_exactly_once(
    server: LiveServer, storage: Storage, org: SimOrg, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    token = storage.repos.credentials.create_credential("coordinator", ["site-a"], "relay")
    key = storage.repos.keys.keys().receipt_public
    counts: dict[str, int] = {}
    lost = duplicated = reruns = envelopes = 0
    for scenario in range(SCENARIOS):
        laptop = SimDevice(org, server.url, tmp_path / f"b{scenario}.sqlite3", receipt_public=key)
        laptop.enroll(storage.repos.credentials.create_enrol_code("site-a"))
        made = laptop.fill(rng.randint(5, 25), rng, size=300)
        envelopes += len(made)
        bundle = tmp_path / f"b{scenario}.fsb"
        export_bundle(bundle, laptop.device_id, laptop.spool)
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
        held = [
            e.record_id
            for e in storage.repos.reporting.iter_envelopes()
            if e.device_id == laptop.device_id
        ]
        wanted = {e.record_id for e in made}
        lost += len(wanted - set(held))
        duplicated += len(held) - len(set(held))
        assert result.receipt is not None
        receipt = Receipt.from_document(SignedDocument.from_bytes(result.receipt))
        assert {rid for rid, _ in receipt.delivered} == wanted
        assert result.acknowledged == len(made)
    print(
        f"\nrelay faults: {SCENARIOS} bundles, {envelopes} envelopes, lost {lost}, "
        f"duplicated {duplicated}, faults {dict(sorted(counts.items()))}, relay re-runs {reruns}"
    )
    assert (lost, duplicated) == (0, 0)
    assert counts.get("drop_after_commit", 0) > 0
    assert storage.repos.reporting.count("envelopes") == envelopes
