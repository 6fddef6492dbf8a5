"""``fieldscreen enroll --code CODE``: enrol this device with the organisation's server.

:func:`enrol` is the one code path of an enrolment, Qt-free: the command below and the app's
"Enrol now" dialog both call it. It checks that the server answers and that the two clocks
agree, enrols with the one-time code (the proof is signed by the device's key, which never
leaves its store), then checks that the server holds the organisation's keys by verifying a
receipt it signs against the receipt key of the provisioning file. Only then is the enrolment
saved on the device: a wrong code, an unreachable server, a skewed clock or a server of another
organisation leave nothing half-written.
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from fieldscreen.sync.client import SyncClient
from fieldscreen.sync.commands import emit, open_stores
from fieldscreen.sync.envelope import key_id_hex
from fieldscreen.sync.errors import EnvelopeError, SyncError
from fieldscreen.sync.request_auth import DeviceSigner
from fieldscreen.sync.signed import Receipt, SignedDocument, verify_document
from fieldscreen.sync.store import DeviceIdentity

__all__ = ["MAX_CLOCK_SKEW_S", "STEPS", "Enrolment", "add_arguments", "enrol", "run"]

#: How far this laptop's clock may be from the server's: deadlines and follow-up dates are
#: counted on it, and the server dates what it receives by its own.
MAX_CLOCK_SKEW_S = 600
#: The steps reported to ``progress``, in order.
STEPS = ("contacting", "enrolling", "checking", "saving")


@dataclass(frozen=True, slots=True)
class Enrolment:
    device_id: str
    site: str
    server_url: str


def _skew_seconds(date_header: str | None, now: float) -> float:
    if not date_header:
        return 0.0
    try:
        server = parsedate_to_datetime(date_header).timestamp()
    except (TypeError, ValueError):
        return 0.0
    return now - server


def enrol(
    stores: Any,
    code: str,
    label: str = "",
    *,
    progress: Callable[[str], None] | None = None,
    transport: httpx.BaseTransport | None = None,
    clock: Callable[[], float] = time.time,
) -> Enrolment:
    """Enrol the device whose stores are ``stores`` (an ``OutboxStore`` and ``DeviceState``).

    Raises:
        SyncError: ``sync-not-provisioned``, ``sync-unreachable``, ``sync-enrol-code`` (wrong,
            expired or used code), ``enrol-clock-skew``, ``enrol-wrong-organisation``; nothing
            is saved on the device in any of these cases.
    """
    report = progress or (lambda _step: None)
    provisioning = stores.provisioning()
    if provisioning is None:
        raise SyncError("sync-not-provisioned")
    code = code.strip()
    if len("".join(ch for ch in code if ch.isalnum())) < 4:
        raise SyncError("sync-enrol-code")
    signer = getattr(stores, "enrolment_signer", None)
    if signer is not None:  # the vault: its key signs the proof and never leaves it
        public, sign, device_id = signer()
    else:
        private, public = stores.signing_key_pair()
        sign, device_id = private, None
    with SyncClient(
        provisioning.server_url,
        allow_insecure=provisioning.allow_insecure_http,
        transport=transport,
    ) as client:
        report("contacting")
        if not client.probe():
            raise SyncError("sync-unreachable", url=client.base_url)
        skew = _skew_seconds(client.last_date, clock())
        if abs(skew) > MAX_CLOCK_SKEW_S:
            raise SyncError("enrol-clock-skew", minutes=round(abs(skew) / 60))
        # Another organisation's server, caught before the one-time code is spent (a server
        # that does not say is caught after, by the receipt check below).
        said = client.last_health.get("receipt_key_id")
        if said is not None and said != key_id_hex(provisioning.receipt_public_key):
            raise SyncError("enrol-wrong-organisation")
        report("enrolling")
        answer = client.enroll(code, public, sign, label, device_id)
        report("checking")
        client.token = str(answer["token"])
        enrolled_id = str(answer["device_id"])  # from now on every request is signed
        client.signer = (
            DeviceSigner(enrolled_id, sign)
            if callable(sign)
            else DeviceSigner.from_private_key(enrolled_id, sign)
        )
        try:
            document = verify_document(
                SignedDocument.from_json(client.receipt()),
                provisioning.receipt_public_key,
                kind="receipt",
            )
            receipt = Receipt.from_document(document)
        except (SyncError, EnvelopeError) as error:
            if isinstance(error, SyncError) and error.code in {"sync-unreachable", "sync-busy"}:
                raise
            raise SyncError("enrol-wrong-organisation") from None
        if receipt.device_id != answer["device_id"]:
            raise SyncError("enrol-wrong-organisation")
    report("saving")
    stores.save_identity(
        DeviceIdentity(str(answer["device_id"]), str(answer["site"]), str(answer["token"]), public)
    )
    return Enrolment(str(answer["device_id"]), str(answer["site"]), provisioning.server_url)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--code", required=True, help="the one-time code from the admin")
    parser.add_argument("--label", default=platform.node()[:64], help="a name for this laptop")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    done = enrol(open_stores(args), args.code, args.label)
    emit(
        args,
        {"device_id": done.device_id, "site": done.site},
        f"Enrolled as {done.device_id} at site {done.site}.",
    )
    return 0
