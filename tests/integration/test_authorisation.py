"""Authorisation: a role x route x owner matrix (unauthorised successes 0; the roles include a
partner organisation's token, which reaches only its own packets), and every route
after revocation answers 401/403. Devices sign their requests with their key; a device token
without that key's signature (stolen, or signed by another key) opens nothing."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from fieldscreen import crypto
from fieldscreen.sync.request_auth import DeviceSigner
from fieldscreen.sync.server.live import LiveServer
from fieldscreen.sync.server.storage import Storage
from fieldscreen.sync.signed import sign_document
from fieldscreen.sync.simulate import SimDevice, SimOrg

API = "/api/v1"
ROLES = [
    "anonymous",
    "bogus",
    "device_a",
    "device_b",
    "device_revoked",
    "stolen_token",
    "stolen_token_wrong_key",
    "coord_s1",
    "coord_s2",
    "admin",
    "partner",
]


def routes(a: SimDevice, b: SimDevice, rng: random.Random) -> list[dict[str, Any]]:
    """Route, method, body and the owner's site; ``who`` says which roles may succeed."""
    env = {"s1": a.make_envelope(rng).to_json(), "s2": b.make_envelope(rng).to_json()}
    dev = {"s1": a.device_id, "s2": b.device_id}
    out: list[dict[str, Any]] = [
        {"m": "GET", "p": "/health", "who": set(ROLES)},
        {"m": "GET", "p": "/openapi.json", "who": set(ROLES)},
        {
            "m": "POST",
            "p": "/enroll",
            "json": {"code": "AAAA-BBBB-CCCC-DDDD", "public_key": "A" * 44, "proof": "A" * 88},
            "who": set(),
        },
        {"m": "GET", "p": "/device/status", "who": {"device_a", "device_b"}},
        {
            "m": "POST",
            "p": "/envelopes/missing",
            "json": {"items": []},
            "who": {"device_a", "device_b"},
        },
        {"m": "GET", "p": "/receipt", "who": {"device_a", "device_b"}},
        {"m": "GET", "p": "/device/matches", "who": {"device_a", "device_b"}},
        {"m": "GET", "p": "/updates", "who": {"device_a", "device_b"}},
        {"m": "GET", "p": "/updates/form/fs_intake/1", "who": {"device_a", "device_b"}},
        {"m": "GET", "p": "/handover/acks", "who": {"device_a", "device_b"}},
        {"m": "GET", "p": "/partner/packets", "who": {"partner"}},
        {"m": "POST", "p": "/admin/documents", "json": "DOC", "who": {"admin"}},
        {"m": "POST", "p": "/admin/retention", "json": {"days": 36500}, "who": {"admin"}},
    ]
    for site in ("s1", "s2"):
        coord = f"coord_{site}"
        out += [
            {
                "m": "POST",
                "p": "/envelopes",
                "json": {"envelopes": [env[site]]},
                "ingest": True,
                "who": {"device_a" if site == "s1" else "device_b"},
                "site": site,
            },
            {
                "m": "POST",
                "p": "/admin/bundles",
                "json": {"envelopes": [env[site]]},
                "ingest": True,
                "who": {"admin", coord},
                "site": site,
            },
            {
                "m": "GET",
                "p": "/admin/devices",
                "scoped": dev[site],
                "who": {"admin", coord},
                "site": site,
            },
            {
                "m": "GET",
                "p": "/admin/stats",
                "scoped": dev[site],
                "who": {"admin", coord},
                "site": site,
            },
            {"m": "GET", "p": "/admin/report", "who": {"admin", "coord_s1", "coord_s2"}},
            {"m": "GET", "p": "/admin/matches", "who": {"admin", "coord_s1", "coord_s2"}},
            {
                "m": "GET",
                "p": f"/admin/receipts/{dev[site]}",
                "who": {"admin", coord},
                "site": site,
            },
            {
                "m": "POST",
                "p": "/admin/enroll-codes",
                "json": {"site": site},
                "who": {"admin", coord},
                "site": site,
            },
            {
                "m": "POST",
                "p": f"/admin/devices/{dev[site]}/status",
                "json": {"status": "active"},
                "who": {"admin"},
                "site": site,
            },
        ]
    return out


def test_role_route_owner_matrix(  # noqa: PLR0917 -- fixtures
    server: LiveServer,
    storage: Storage,
    org: SimOrg,
    new_device: Callable[..., SimDevice],
    rng: random.Random,
    capsys: pytest.CaptureFixture[str],
) -> None:
    a, b, revoked = new_device("s1"), new_device("s2"), new_device("s1")
    storage.repos.devices.set_status(revoked.device_id, "revoked", "test")
    form = sign_document("form", "fs_intake", "1", b"| survey |", *org.signing)
    storage.repos.documents.publish(form.to_bytes(), "test")
    from tests.integration.test_handover_server import PartnerKeys, publish_directory

    publish_directory(storage, org, [PartnerKeys("casa-norte")])
    tokens = {
        "anonymous": None,
        "bogus": "not-a-token",
        "device_a": a.token,
        "device_b": b.token,
        "device_revoked": revoked.token,
        "stolen_token": a.token,
        "stolen_token_wrong_key": a.token,
        "coord_s1": storage.repos.credentials.create_credential("coordinator", ["s1"], "c1"),
        "coord_s2": storage.repos.credentials.create_credential("coordinator", ["s2"], "c2"),
        "admin": storage.repos.credentials.create_credential("admin", [], "admin"),
        "partner": storage.repos.handovers.add_partner("casa-norte", "partner"),
    }
    thief, _ = crypto.generate_signing_keypair()
    signers = {
        "device_a": DeviceSigner.from_private_key(a.device_id, a.signing_private),
        "device_b": DeviceSigner.from_private_key(b.device_id, b.signing_private),
        "device_revoked": DeviceSigner.from_private_key(revoked.device_id, revoked.signing_private),
        "stolen_token_wrong_key": DeviceSigner.from_private_key(a.device_id, thief),
    }
    doc = sign_document("directory", "services", "1", b"[]", *org.signing).to_json()
    unauthorised = denied_wrongly = checks = 0
    failures: list[str] = []
    table = routes(a, b, rng)  # the same envelopes for every role: a retry is a duplicate
    with httpx.Client(base_url=server.url + API, timeout=60) as http:
        for role in ROLES:
            for route in table:
                headers = {"authorization": f"Bearer {tokens[role]}"} if tokens[role] else {}
                body = doc if route.get("json") == "DOC" else route.get("json")
                request = http.build_request(route["m"], route["p"], json=body, headers=headers)
                if role in signers:
                    request.headers.update(
                        signers[role].headers(
                            request.method, request.url.raw_path, request.content, time.time()
                        )
                    )
                response = http.send(request)
                assert response.status_code < 500, (role, route["p"], response.text)
                ok = response.status_code == 200
                if ok and route.get("ingest"):
                    ok = response.json()["results"][0]["outcome"] in {"stored", "duplicate"}
                if ok and route.get("scoped"):
                    ok = route["scoped"] in response.text
                allowed = role in route["who"]
                checks += 1
                if ok and not allowed:
                    unauthorised += 1
                    failures.append(f"{role} {route['m']} {route['p']} {route.get('site')}")
                if allowed and not ok:
                    denied_wrongly += 1
                    failures.append(
                        f"DENIED {role} {route['m']} {route['p']} {response.text[:200]}"
                    )
                if role == "device_revoked" and route["p"] not in {"/health", "/openapi.json"}:
                    assert response.status_code in {401, 403}, route["p"]
                if role.startswith(("anonymous", "bogus", "stolen")) and route["who"] != set(ROLES):
                    assert response.status_code in {401, 403, 422}, route["p"]
    with capsys.disabled():
        print(
            f"\nauthorisation matrix: {checks} checks, unauthorised successes {unauthorised}, "
            f"authorised refusals {denied_wrongly}"
        )
    assert (unauthorised, denied_wrongly) == (0, 0), failures


def test_revoked_device_is_told_to_wipe_on_every_route(
    server: LiveServer,
    storage: Storage,
    new_device: Callable[..., SimDevice],
    rng: random.Random,
) -> None:
    device = new_device("s1")
    storage.repos.devices.set_status(device.device_id, "wipe", "test")
    headers = {"authorization": f"Bearer {device.token}"}
    spec = httpx.get(server.url + API + "/openapi.json", timeout=60).json()
    seen = 0
    with httpx.Client(base_url=server.url, timeout=60) as http:
        for path, operations in spec["paths"].items():
            if path.endswith(("/health", "/enroll")):
                continue
            concrete = (
                path.replace("{device_id}", device.device_id)
                .replace("{kind}", "form")
                .replace("{name}", "x")
                .replace("{version}", "1")
            )
            for method in operations:
                response = http.request(method.upper(), concrete, headers=headers, json={})
                seen += 1
                assert response.status_code in {401, 403}, (method, path)
                if path.startswith(API + "/admin"):
                    continue
                assert response.headers["fs-device-status"] == "wipe"
    assert seen >= 14  # every route of the OpenAPI document but health and enroll
