"""``GET /admin/report`` with the app's filters: a coordinator sees only their sites, the weeks
and sites that hold records, and counts narrowed by ISO week and site, never under 5."""

from __future__ import annotations

import json
import random
import uuid

import pytest

from fieldscreen import crypto
from fieldscreen.sync.client import RetryPolicy, SyncClient
from fieldscreen.sync.envelope import build_envelope
from fieldscreen.sync.errors import SyncError
from fieldscreen.sync.server.live import LiveServer
from fieldscreen.sync.server.storage import Principal, Storage
from fieldscreen.sync.simulate import SimOrg

WEEKS = ["2026-W45", "2026-W46", "2026-W47"]


def test_report_filters_by_week_and_site_within_the_coordinators_scope(
    storage: Storage, server: LiveServer, org: SimOrg
) -> None:
    rng = random.Random(5)
    expected: dict[tuple[str, str], int] = {}
    envelopes = []
    keys = {}
    for site in ("s1", "s2"):
        private, public = crypto.generate_signing_keypair()
        keys[site] = private
        storage.repos.credentials.register_device(f"dev-{site}", site, public, site)
    for n in range(150):
        site = rng.choice(["s1", "s1", "s2"])
        week = rng.choice(WEEKS)
        expected[(site, week)] = expected.get((site, week), 0) + 1
        aggregate: dict[str, str | int | bool | list[str] | None] = {
            "tier": rng.choice(["T1", "T2", "T3", "T4"]),
            "concerns": ["unaccompanied"],
            "age_band": rng.choice(["12_14", "15_17"]),
            "sex": rng.choice(["female", "male"]),
            "nationality": [rng.choice(["HN", "GT", "HT"])],
            "site": site,
            "week": week,
        }
        envelopes.append(
            build_envelope(
                str(uuid.UUID(int=n + 1, version=4)),
                "screening",
                "builtin",
                f"dev-{site}",
                n + 1,
                "2026-11-20",
                b"{}",
                org.sealing_public,
                keys[site],
                aggregate=aggregate,
            ).to_json()
        )
    outcomes = storage.repos.ingest.ingest(envelopes, Principal("admin", frozenset(), "test"))
    assert all(o.delivered for o in outcomes)
    token = storage.repos.credentials.create_credential("coordinator", ["s1"], "coordinator")

    with SyncClient(server.url, token=token, policy=RetryPolicy(attempts=1)) as client:
        everything = client.report()
        assert everything["sites"] == ["s1"]  # never another site's name or counts
        assert everything["weeks"] == WEEKS
        assert everything["total"] == sum(n for (s, _), n in expected.items() if s == "s1")
        narrowed = client.report({"from_week": "2026-W46", "to_week": "2026-W47", "site": ["s1"]})
        assert narrowed["total"] == expected[("s1", "2026-W46")] + expected[("s1", "2026-W47")]
        assert narrowed["filter"] == {
            "from_week": "2026-W46",
            "to_week": "2026-W47",
            "site": ["s1"],
        }
        other = client.report({"site": ["s2"]})  # outside the coordinator's scope: nothing
        assert other["total"] is None
        assert all(not t["cells"] for t in other["tables"].values())
        shown = [
            c["count"]
            for body in (everything, narrowed)
            for t in body["tables"].values()
            for c in t["cells"]
            if c["count"] is not None
        ]
        assert shown
        assert min(shown) >= 5
        with pytest.raises(SyncError):
            client.report({"from_week": "last week"})
    assert "s2" not in json.dumps(everything)
