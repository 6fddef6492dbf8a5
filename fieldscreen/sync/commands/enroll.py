"""``fieldscreen enroll --code CODE``: enrol this device with the organisation's server."""

from __future__ import annotations

import argparse
import platform

from fieldscreen.sync.client import SyncClient
from fieldscreen.sync.commands import emit, open_stores
from fieldscreen.sync.errors import SyncError
from fieldscreen.sync.store import DeviceIdentity


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--code", required=True, help="the one-time code from the admin")
    parser.add_argument("--label", default=platform.node()[:64], help="a name for this laptop")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    stores = open_stores(args)
    provisioning = stores.provisioning()
    if provisioning is None:
        raise SyncError("sync-not-provisioned")
    signer = getattr(stores, "enrolment_signer", None)
    if signer is not None:  # the vault: its key signs the proof and never leaves it
        public, sign, device_id = signer()
    else:
        private, public = stores.signing_key_pair()
        sign, device_id = private, None
    with SyncClient(
        provisioning.server_url, allow_insecure=provisioning.allow_insecure_http
    ) as client:
        answer = client.enroll(args.code, public, sign, args.label, device_id)
    stores.save_identity(
        DeviceIdentity(answer["device_id"], answer["site"], answer["token"], public)
    )
    emit(
        args,
        {"device_id": answer["device_id"], "site": answer["site"]},
        f"Enrolled as {answer['device_id']} at site {answer['site']}.",
    )
    return 0
