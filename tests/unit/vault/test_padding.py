"""Length tells nothing about what was flagged: sealed payloads and the aggregates kept beside
them are padded to size buckets, and payloads sealed before padding still read."""

from __future__ import annotations

import hashlib
import json
import random
import uuid

import pytest

from fieldscreen import crypto
from fieldscreen.reports.export import ExportProblems, open_records
from fieldscreen.sync import envelope as wire
from fieldscreen.sync.canonical import b64e
from fieldscreen.sync.envelope import Envelope, build_envelope, open_envelope, verify_envelope
from fieldscreen.vault import Vault, records
from fieldscreen.vault.outbox import AGGREGATE_PAD_FLOOR

CONCERNS = [f"concern_{i:02d}" for i in range(16)]


def _screening(rng: random.Random, flags: int) -> tuple[dict[str, object], dict[str, object]]:
    """A record and its aggregate with ``flags`` concerns raised (and their notes)."""
    concerns = CONCERNS[:flags]
    record = {
        "state": {"forms": {"fs_intake": {"answers": dict.fromkeys(concerns, "yes")}}},
        "result": {"tier": "T1" if flags else "T4", "concerns": concerns},
        "notes": {c: "x" * rng.randrange(40, 120) for c in concerns},
    }
    aggregate: dict[str, object] = {
        "tier": "T1" if flags else "T4",
        "concerns": concerns,
        "age_band": "12_14",
    }
    return record, aggregate


def test_a_screening_with_no_flag_and_one_with_sixteen_seal_to_the_same_length(
    vault: Vault,
) -> None:
    rng = random.Random(3)
    lengths: dict[int, set[tuple[int, int]]] = {}
    for flags in (0, 16, 1, 8, 0, 16):
        record, aggregate = _screening(rng, flags)
        rid = vault.new_draft("fs_intake", "1", {})
        vault.finalise(rid, record=record, case_card={}, aggregate=aggregate)
        row = vault._open_store().read(
            "SELECT sealed, aggregate FROM outbox WHERE record_id = ?", (rid,)
        )[0]
        lengths.setdefault(flags, set()).add((len(row["sealed"]), len(row["aggregate"])))
    assert len(set().union(*lengths.values())) == 1, lengths  # every one alike
    ((sealed, aggregate_length),) = lengths[0]
    assert sealed == records.PAYLOAD_FLOOR + crypto.SEAL_OVERHEAD
    assert aggregate_length == AGGREGATE_PAD_FLOOR + crypto.NONCE_BYTES + 16


def test_payload_buckets_are_powers_of_two_within_what_an_envelope_carries() -> None:
    assert (records.PAYLOAD_FLOOR, records.PAYLOAD_CEILING) == (
        wire.PAYLOAD_FLOOR,
        wire.PAYLOAD_CEILING,
    )
    sizes = [0, 1, 4096, 4097, 9000, 70_000, 3_000_000, wire.PAYLOAD_CEILING]
    padded = [len(wire.pad_payload(b"{" + b"x" * max(0, n - 1))) for n in sizes]
    ceiling = wire.PAYLOAD_CEILING
    assert padded == [4096, 4096, 4096, 8192, 16384, 131072, ceiling, ceiling]
    assert wire.PAYLOAD_CEILING + crypto.SEAL_OVERHEAD == wire.MAX_SEALED_BYTES


@pytest.mark.parametrize("flags", [(0, 16), (2, 12)])
def test_envelopes_with_very_different_flags_are_equally_long(flags: tuple[int, int]) -> None:
    org_private, org_public = crypto.generate_sealing_keypair()
    device_private, device_public = crypto.generate_signing_keypair()
    rng = random.Random(sum(flags))
    built = []
    for seq, n in enumerate(flags, start=1):
        record, _ = _screening(rng, n)
        payload = json.dumps({"record_id": "r", "content": record}).encode()
        built.append(
            build_envelope(
                str(uuid.uuid4()),
                "fs_intake",
                "1",
                "dev-1",
                seq,
                "2026-12-01",
                payload,
                org_public,
                device_private,
            )
        )
    assert len(built[0].sealed) == len(built[1].sealed)
    assert len(built[0].to_bytes()) == len(built[1].to_bytes())
    for envelope in built:
        verify_envelope(envelope, device_public)
        assert json.loads(open_envelope(envelope, org_private))["record_id"] == "r"


def test_a_payload_sealed_before_padding_still_opens_and_exports() -> None:
    """An envelope from a device that did not pad yet: same bytes out, same export read."""
    org_private, org_public = crypto.generate_sealing_keypair()
    device_private, device_public = crypto.generate_signing_keypair()
    rid = str(uuid.uuid4())
    payload = json.dumps(
        {"record_id": rid, "kind": "screening", "content": {"state": {"forms": {}}}}
    ).encode()
    info = crypto.record_sealing_info(rid, "fs_intake", "1", "dev-1")
    sealed = crypto.seal(org_public, payload, info=info, aad=b"")  # unpadded, as before
    unsigned = Envelope(
        rid,
        "screening",
        "fs_intake",
        "1",
        "dev-1",
        1,
        "2026-12-01",
        wire.key_id_hex(org_public),
        sealed,
        hashlib.sha256(sealed).hexdigest(),
        {},
        b"",
    )
    signature = crypto.sign(device_private, unsigned.signing_bytes())
    old = Envelope.from_json({**unsigned.to_json(), "signature": b64e(signature)})
    assert len(old.sealed) == len(payload) + crypto.SEAL_OVERHEAD
    assert open_envelope(old, org_private) == payload
    problems = ExportProblems()
    opened = list(open_records([old], lambda _d: device_public, org_private, {}, problems))
    assert problems.total == 0, problems.to_json()
    assert [r.record_id for r in opened] == [rid]
