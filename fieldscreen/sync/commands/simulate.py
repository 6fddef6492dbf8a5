"""``fieldscreen simulate --screenings N [--seed S]``: fill a profile with synthetic screenings.

Today it seals synthetic, record-shaped payloads into real envelopes and queues them in the
device's outbox through the same stores as the app; when the form engine and the vault are wired
(``STORE_FACTORY``), the payloads come from running the built-in forms on generated answers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import uuid

from fieldscreen.sync.commands import emit, open_stores
from fieldscreen.sync.envelope import build_envelope
from fieldscreen.sync.errors import SyncError
from fieldscreen.sync.simulate import synthetic_payload


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--screenings", type=int, required=True, metavar="N")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--size", type=int, default=5000, help="payload bytes per screening")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    stores = open_stores(args)
    provisioning = stores.provisioning()
    identity = stores.identity()
    if provisioning is None:
        raise SyncError("sync-not-provisioned")
    device_id = identity.device_id if identity else "dev-unenrolled"
    private, _public = stores.signing_key_pair()
    rng = random.Random(args.seed)  # noqa: S311 -- seeded synthetic data, not secrets
    seq = stores.highest_seq() + 1
    today = dt.datetime.now(dt.UTC)
    for first in range(0, args.screenings, 500):
        chunk = [
            build_envelope(
                str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "fs_intake",
                "2026.11.1",
                device_id,
                seq + index,
                today,
                synthetic_payload(rng, args.size),
                provisioning.sealing_public_key,
                private,
                aggregate={"tier": rng.choice(["act_now", "h24", "h72", "d7", "none"])},
            )
            for index in range(first, min(args.screenings, first + 500))
        ]
        stores.enqueue_many(chunk)
    emit(
        args,
        {"screenings": args.screenings, "seed": args.seed},
        f"{args.screenings} synthetic screenings sealed and queued.",
    )
    return 0
