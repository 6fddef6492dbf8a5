"""Synthetic organisations and devices, for the tests, the benchmarks and load tests.

These speak the real protocol with real keys: :class:`SimOrg` holds an organisation's key
pairs (as ``init-org`` makes them), :class:`SimDevice` enrols through the server's API, seals
synthetic payloads into envelopes with :func:`build_envelope` and queues them in a
:class:`~fieldscreen.sync.spool.Spool`, and :meth:`SimDevice.syncer` builds the same
:class:`~fieldscreen.sync.engine.Syncer` the app uses. Payloads contain no real data.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from fieldscreen import crypto
from fieldscreen.caseevents import event_content
from fieldscreen.sync.client import RetryPolicy, SyncClient
from fieldscreen.sync.engine import Progress, Syncer
from fieldscreen.sync.envelope import EVENT_FORM, Envelope, build_envelope
from fieldscreen.sync.request_auth import DeviceSigner
from fieldscreen.sync.signed import Provisioning
from fieldscreen.sync.spool import Spool
from fieldscreen.sync.store import DeviceIdentity
from fieldscreen.vocabulary import TIERS

__all__ = ["SimDevice", "SimOrg", "synthetic_payload"]


@dataclass
class SimOrg:
    name: str = "Test Org"
    sealing: tuple[bytes, bytes] = field(default_factory=crypto.generate_sealing_keypair)
    signing: tuple[bytes, bytes] = field(default_factory=crypto.generate_signing_keypair)

    @property
    def sealing_public(self) -> bytes:
        return self.sealing[1]

    @property
    def signing_public(self) -> bytes:
        return self.signing[1]


def synthetic_aggregate(rng: random.Random) -> dict[str, Any]:
    """A valid aggregate record (the shape the server checks) with random codes."""
    today = dt.date.today().isocalendar()
    return {
        "tier": rng.choice(TIERS),
        "concerns": sorted(rng.sample(["unaccompanied", "at_risk_trafficking", "gbv"], 2)),
        "age_band": rng.choice(["0_5", "6_11", "12_14", "15_17", "unknown"]),
        "sex": rng.choice(["female", "male", "unknown"]),
        "nationality": [rng.choice(["GT", "HN", "SV", "MX"])],
        "site": "site-a",
        "week": f"{today[0]}-W{today[1]:02d}",
    }


def synthetic_payload(rng: random.Random, size: int = 5000) -> bytes:
    """A record-shaped JSON payload of about ``size`` bytes, with nothing real in it."""
    answers = {f"q{i:03d}": rng.choice(["yes", "no", "unsure", "n/a"]) for i in range(60)}
    length = max(0, size - 1200)
    filler = base64.b32encode(rng.randbytes(length * 5 // 8 + 5)).decode("ascii").lower()[:length]
    return json.dumps({"answers": answers, "notes": filler}).encode()


class SimDevice:
    """One laptop: a device key, an enrolment, a spool of sealed envelopes."""

    def __init__(
        self,
        org: SimOrg,
        base_url: str,
        spool_path: Path,
        *,
        receipt_public: bytes,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.org = org
        self.base_url = base_url
        self.spool = Spool(spool_path)
        self.receipt_public = receipt_public
        self.transport = transport
        # The key lives in the spool, as the reference store keeps it (so that a process that
        # opens the spool later signs as this device).
        self.signing_private, self.signing_public = self.spool.signing_key_pair()
        self.identity: DeviceIdentity | None = None

    def enroll(self, code: str) -> DeviceIdentity:
        with SyncClient(self.base_url, transport=self.transport) as client:
            answer = client.enroll(code, self.signing_public, self.signing_private, "sim")
        self.identity = DeviceIdentity(
            answer["device_id"], answer["site"], answer["token"], self.signing_public
        )
        self.spool.save_identity(self.identity)
        self.spool.save_provisioning(
            Provisioning(
                self.org.name,
                self.base_url,
                self.org.sealing_public,
                self.org.signing_public,
                self.receipt_public,
                (answer["site"],),
            )
        )
        return self.identity

    @property
    def device_id(self) -> str:
        assert self.identity is not None, "enrol first"
        return self.identity.device_id

    @property
    def token(self) -> str:
        """The credential the server issued at enrolment."""
        assert self.identity is not None, "enrol first"
        return self.identity.token

    def make_envelope(
        self, rng: random.Random, *, seq: int | None = None, size: int = 5000
    ) -> Envelope:
        return build_envelope(
            str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "fs_intake",
            "2026.11.1",
            self.device_id,
            seq if seq is not None else self.spool.next_seq(),
            dt.datetime.now(dt.UTC),
            synthetic_payload(rng, size),
            self.org.sealing_public,
            self.signing_private,
            aggregate=synthetic_aggregate(rng),
        )

    def make_event(
        self,
        case_id: str,
        rng: random.Random,
        *,
        seq: int | None = None,
        kind: str = "follow-up",
        device_id: str | None = None,
    ) -> Envelope:
        """A case event of the screening ``case_id``, sealed and signed as a laptop's
        (``Vault.record_case_event``): kind ``event`` under a record id of its own.
        ``device_id``: the device the event claims to be from (another device's, to forge)."""
        record_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        device = device_id or self.device_id
        when = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=rng.randint(0, 10_000))
        content = event_content(
            case_id, kind, when, user="sim", note="", reason="other" if kind == "closed" else ""
        )
        payload = {
            "content": content,
            "day": when.date().isoformat(),
            "device_id": device,
            "form_id": EVENT_FORM[0],
            "form_version": EVENT_FORM[1],
            "format": 1,
            "kind": "event",
            "record_id": record_id,
        }
        return build_envelope(
            record_id,
            EVENT_FORM[0],
            EVENT_FORM[1],
            device,
            seq if seq is not None else self.spool.next_seq(),
            dt.datetime.now(dt.UTC),
            json.dumps(payload, sort_keys=True).encode(),
            self.org.sealing_public,
            self.signing_private,
            kind="event",
        )

    def make_audit(
        self, rng: random.Random, first: int, count: int, *, seq: int | None = None
    ) -> Envelope:
        """A segment of the device's audit log, sealed and signed as a laptop's
        (``Vault.seal_audit_segments``): kind ``audit``, the entries ``first`` to
        ``first + count - 1`` (who, when, what and which record; never a detail)."""
        record_id = uuid.UUID(int=rng.getrandbits(128), version=4).hex
        now = dt.datetime.now(dt.UTC)
        entries = [
            {
                "seq": n,
                "t": (now + dt.timedelta(seconds=n)).isoformat(),
                "u": "sim",
                "a": rng.choice(["view", "create", "finalise", "sync"]),
                "r": None if n % 3 == 0 else str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            }
            for n in range(first, first + count)
        ]
        payload = {
            "content": {"entries": entries, "first": first, "last": first + count - 1},
            "day": now.date().isoformat(),
            "device_id": self.device_id,
            "form_id": "audit",
            "form_version": "1",
            "format": 1,
            "kind": "audit",
            "record_id": record_id,
        }
        return build_envelope(
            record_id,
            "audit",
            "1",
            self.device_id,
            seq if seq is not None else self.spool.next_seq(),
            now,
            json.dumps(payload, sort_keys=True).encode(),
            self.org.sealing_public,
            self.signing_private,
            kind="audit",
        )

    def fill(
        self, count: int, rng: random.Random, size: int = 5000, *, events: int = 0
    ) -> list[Envelope]:
        """Queue ``count`` new envelopes, committed in chunks so memory stays flat; returns
        them when there are at most 5,000 (an empty list otherwise). ``events``: case events
        queued after each screening (follow-ups of it, append-only), ``count`` then counting
        screenings and events together."""
        keep = count <= 5000
        made: list[Envelope] = []
        start = self.spool.next_seq()
        case_id, since = "", 0  # the screening the next events follow, and how many it has
        for first in range(0, count, 500):
            chunk: list[Envelope] = []
            for index in range(first, min(count, first + 500)):
                seq = start + index
                if case_id and since < events:
                    chunk.append(self.make_event(case_id, rng, seq=seq))
                    since += 1
                    continue
                chunk.append(self.make_envelope(rng, seq=seq, size=size))
                case_id, since = chunk[-1].record_id, 0
            self.spool.enqueue_many(chunk)
            if keep:
                made.extend(chunk)
        return made

    def client(self, **kwargs: Any) -> SyncClient:
        assert self.identity is not None
        kwargs.setdefault("transport", self.transport)
        kwargs.setdefault("policy", RetryPolicy(attempts=8, base=0.01, cap=0.2))
        kwargs.setdefault(
            "signer", DeviceSigner.from_private_key(self.device_id, self.signing_private)
        )
        base_url = kwargs.pop("base_url", self.base_url)
        return SyncClient(base_url, token=self.identity.token, **kwargs)

    def syncer(
        self,
        client: SyncClient | None = None,
        progress: Callable[[Progress], None] | None = None,
        **kwargs: Any,
    ) -> Syncer:
        return Syncer(
            client or self.client(),
            self.spool,
            self.spool,
            receipt_key=self.receipt_public,
            signing_key=self.org.signing_public,
            progress=progress,
            **kwargs,
        )

    def sync(self, progress: Callable[[Progress], None] | None = None, **kwargs: Any) -> Any:
        """One sync run with a client that is closed afterwards; returns its summary."""
        client_args = {k: kwargs.pop(k) for k in ("transport", "policy") if k in kwargs}
        with self.client(**client_args) as client:
            return self.syncer(client, progress, **kwargs).run()
