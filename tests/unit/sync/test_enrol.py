"""The one enrolment path (``fieldscreen enroll`` and the app's "Enrol now"): every failure
leaves the device as it was; a skewed clock and a server of another organisation are caught."""

from __future__ import annotations

import email.utils
import time
from typing import Any

import httpx
import pytest

from fieldscreen import crypto
from fieldscreen.sync.commands.enroll import MAX_CLOCK_SKEW_S, STEPS, enrol
from fieldscreen.sync.envelope import key_id_hex
from fieldscreen.sync.errors import SyncError
from fieldscreen.sync.signed import Provisioning, Receipt, Site, sign_document
from fieldscreen.sync.store import DeviceIdentity

DEVICE = "0" * 31 + "1"


class Device:
    def __init__(self, receipt_public: bytes) -> None:
        self._prov = Provisioning(
            organisation="Org",
            server_url="http://127.0.0.1:9",
            sealing_public_key=crypto.generate_sealing_keypair()[1],
            signing_public_key=crypto.generate_signing_keypair()[1],
            receipt_public_key=receipt_public,
            sites=(Site("s1", "Site", "MX"),),
        )
        self.keys = crypto.generate_signing_keypair()
        self.saved: list[DeviceIdentity] = []

    def provisioning(self) -> Provisioning:
        return self._prov

    def signing_key_pair(self) -> tuple[bytes, bytes]:
        return self.keys

    def save_identity(self, identity: DeviceIdentity) -> None:
        self.saved.append(identity)


def server(
    receipt_keys: tuple[bytes, bytes],
    *,
    skew: float = 0,
    code_ok: bool = True,
    says_key: bool = False,
    spent: list[str] | None = None,
) -> Any:
    def handle(request: httpx.Request) -> httpx.Response:
        date = email.utils.formatdate(time.time() - skew, usegmt=True)
        headers = {"date": date}
        path = request.url.path
        if path.endswith("/health"):
            health: dict[str, Any] = {"status": "ok"}
            if says_key:
                health["receipt_key_id"] = key_id_hex(receipt_keys[1])
            return httpx.Response(200, json=health, headers=headers)
        if path.endswith("/enroll"):
            if spent is not None:
                spent.append("code")
            if not code_ok:
                return httpx.Response(403, json={"code": "sync-enrol-code"}, headers=headers)
            body = {"device_id": DEVICE, "site": "s1", "token": "t" * 40}
            return httpx.Response(200, json=body, headers=headers)
        if path.endswith("/receipt"):
            content = Receipt(DEVICE, ()).to_content()
            doc = sign_document("receipt", DEVICE, "1", content, *receipt_keys)
            return httpx.Response(200, json=doc.to_json(), headers=headers)
        return httpx.Response(404, json={"code": "not-found"})

    return httpx.MockTransport(handle)


def test_success_reports_every_step_and_saves_once() -> None:
    keys = crypto.generate_signing_keypair()
    device = Device(keys[1])
    steps: list[str] = []
    done = enrol(device, "ABCD-1234", "laptop", progress=steps.append, transport=server(keys))
    assert (done.device_id, done.site) == (DEVICE, "s1")
    assert tuple(steps) == STEPS
    assert [i.device_id for i in device.saved] == [DEVICE]


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("wrong-code", "sync-enrol-code"),
        ("skew-ahead", "enrol-clock-skew"),
        ("skew-behind", "enrol-clock-skew"),
        ("other-org", "enrol-wrong-organisation"),
        ("short-code", "sync-enrol-code"),
    ],
)
def test_failures_save_nothing(case: str, code: str) -> None:
    keys = crypto.generate_signing_keypair()
    device = Device(crypto.generate_signing_keypair()[1] if case == "other-org" else keys[1])
    skew = {"skew-ahead": -(MAX_CLOCK_SKEW_S + 120), "skew-behind": MAX_CLOCK_SKEW_S + 120}
    transport = server(keys, skew=skew.get(case, 0), code_ok=case != "wrong-code")
    with pytest.raises(SyncError) as caught:
        enrol(device, "AB" if case == "short-code" else "ABCD-1234", transport=transport)
    assert caught.value.code == code
    assert device.saved == []


def test_a_small_clock_difference_is_fine() -> None:
    keys = crypto.generate_signing_keypair()
    device = Device(keys[1])
    enrol(device, "ABCD-1234", transport=server(keys, skew=MAX_CLOCK_SKEW_S / 2))
    assert len(device.saved) == 1


@pytest.mark.parametrize("says_key", [True, False])
def test_another_organisations_server_is_caught_before_the_code_is_spent(says_key: bool) -> None:
    keys = crypto.generate_signing_keypair()
    device = Device(crypto.generate_signing_keypair()[1])  # provisioned for another org
    spent: list[str] = []
    with pytest.raises(SyncError) as caught:
        enrol(device, "ABCD-1234", transport=server(keys, says_key=says_key, spent=spent))
    assert caught.value.code == "enrol-wrong-organisation"
    assert device.saved == []
    # A server that names its receipt key is refused before the code is used; an older one
    # that does not is still caught, after (its admin then revokes that device).
    assert spent == ([] if says_key else ["code"])


def test_the_right_organisations_server_naming_its_key_enrols() -> None:
    keys = crypto.generate_signing_keypair()
    device = Device(keys[1])
    enrol(device, "ABCD-1234", transport=server(keys, says_key=True))
    assert len(device.saved) == 1
