"""The envelope: round trip, what the signature covers, what the seal binds, strict parsing."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from typing import Any

import pytest

from fieldscreen import crypto
from fieldscreen.sync.canonical import b64e
from fieldscreen.sync.envelope import Envelope, build_envelope, open_envelope, verify_envelope
from fieldscreen.sync.errors import EnvelopeError, SyncError
from fieldscreen.sync.signed import (
    Provisioning,
    Receipt,
    Site,
    sign_document,
    verify_document,
)

ORG_SK, ORG_PK = crypto.generate_sealing_keypair()
DEV_SK, DEV_PK = crypto.generate_signing_keypair()
OTHER_SK, OTHER_PK = crypto.generate_signing_keypair()
PAYLOAD = b'{"answers": {"name": "CANARY-Maria"}}'


def make(**kw: object) -> Envelope:
    args: dict[str, object] = {
        "record_id": str(uuid.uuid4()),
        "form_id": "fs_intake",
        "form_version": "2026.11.1",
        "device_id": "dev-1",
        "seq": 7,
        "created": "2026-11-27",
        "payload_plaintext": PAYLOAD,
        "org_sealing_public_key": ORG_PK,
        "device_signing_private_key": DEV_SK,
    }
    args.update(kw)
    return build_envelope(**args)  # type: ignore[arg-type]


def test_round_trip_verify_and_open() -> None:
    envelope = make(aggregate={"tier": "act_now", "age_band": "12_14", "count": 2})
    again = Envelope.from_bytes(envelope.to_bytes())
    assert again == envelope
    verify_envelope(again, DEV_PK)
    assert open_envelope(again, ORG_SK) == PAYLOAD
    assert b"CANARY" not in envelope.to_bytes()


def test_created_is_reduced_to_a_day() -> None:
    import datetime as dt

    envelope = make(created=dt.datetime(2026, 11, 27, 23, 59, 58, tzinfo=dt.UTC))
    assert envelope.created == "2026-11-27"


@pytest.mark.parametrize(
    "field",
    ["record_id", "form_id", "form_version", "device_id", "seq", "created", "aggregate"],
)
def test_every_signed_field_is_covered(field: str) -> None:
    envelope = make()
    data = envelope.to_json()
    data[field] = {
        "record_id": str(uuid.uuid4()),
        "form_id": "fs_gbv",
        "form_version": "2026.12.1",
        "device_id": "dev-2",
        "seq": 8,
        "created": "2026-11-28",
        "aggregate": {"tier": "none"},
    }[field]
    changed = Envelope.from_json(data)
    with pytest.raises(EnvelopeError):
        verify_envelope(changed, DEV_PK)


def test_flipping_any_byte_of_the_wire_form_is_detected() -> None:
    envelope = make()
    raw = bytearray(envelope.to_bytes())
    accepted = 0
    for index in range(0, len(raw), 3):
        mutated = bytearray(raw)
        mutated[index] ^= 0x01
        try:
            candidate = Envelope.from_bytes(bytes(mutated))
            verify_envelope(candidate, DEV_PK)
        except EnvelopeError:
            continue
        # a flip in base64's unused padding bits decodes to the same envelope: not a change
        accepted += candidate != envelope
    assert accepted == 0


def test_forged_signature_and_other_device_key_fail() -> None:
    envelope = make()
    with pytest.raises(EnvelopeError):
        verify_envelope(envelope, OTHER_PK)
    forged = make(device_signing_private_key=OTHER_SK)
    with pytest.raises(EnvelopeError):
        verify_envelope(forged, DEV_PK)


def test_payload_moved_into_another_envelope_does_not_open() -> None:
    first, second = make(), make()
    data = second.to_json()
    data["sealed"] = first.to_json()["sealed"]
    data["sha256"] = first.sha256
    moved = Envelope.from_json(data)
    with pytest.raises(EnvelopeError):
        open_envelope(moved, ORG_SK)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("record_id", "not-a-uuid"),
        ("record_id", str(uuid.uuid4()).upper()),
        ("seq", 0),
        ("seq", True),
        ("seq", 2**60),
        ("created", "2026-13-45"),
        ("kind", "note"),
        ("device_id", "../etc"),
        ("sha256", "0" * 64),
        ("sealed", b64e(b"x" * 10)),
        ("signature", b64e(b"x" * 10)),
        ("aggregate", {"Name": "x"}),
        ("aggregate", {"name": "x" * 65}),
        ("aggregate", {"score": 1.5}),
        ("aggregate", {f"k{i}": i for i in range(40)}),
        ("v", 2),
    ],
)
def test_malformed_fields_are_refused(field: str, value: object) -> None:
    data = make().to_json()
    data[field] = value
    with pytest.raises(EnvelopeError):
        Envelope.from_json(data)


def test_unknown_or_missing_fields_are_refused() -> None:
    data = make().to_json()
    with pytest.raises(EnvelopeError):
        Envelope.from_json({**data, "name": "x"})
    del data["aggregate"]
    with pytest.raises(EnvelopeError):
        Envelope.from_json(data)
    with pytest.raises(EnvelopeError):
        Envelope.from_bytes(b"\xff\xfe")
    with pytest.raises(EnvelopeError):
        Envelope.from_bytes(json.dumps([1]).encode())


def test_signed_documents_and_receipts() -> None:
    sk, pk = crypto.generate_signing_keypair()
    receipt = Receipt("dev-1", ((str(uuid.uuid4()), "a" * 64),))
    doc = sign_document("receipt", "dev-1", "1", receipt.to_content(), sk, pk)
    back = verify_document(doc.to_bytes(), pk, kind="receipt")
    assert Receipt.from_document(back) == receipt
    with pytest.raises(SyncError):
        verify_document(doc.to_bytes(), OTHER_PK)
    with pytest.raises(SyncError):
        verify_document(doc.to_bytes(), pk, kind="form")
    tampered = doc.to_json()
    tampered["version"] = "2"
    with pytest.raises(SyncError):
        verify_document(json.dumps(tampered).encode(), pk)


def test_provisioning_is_pinned_after_first_use() -> None:
    sk, pk = crypto.generate_signing_keypair()
    prov = Provisioning("Org", "https://s.example", ORG_PK, pk, DEV_PK, (Site("s1", "s1"),))
    data = sign_document("provisioning", "org", "1", prov.to_content(), sk, pk).to_bytes()
    assert Provisioning.verify_file(data, None) == prov
    assert Provisioning.verify_file(data, pk) == prov
    # an attacker's self-signed file with their own keys is refused once a key is pinned
    evil = Provisioning(
        "Org", "https://evil.example", ORG_PK, OTHER_PK, DEV_PK, (Site("s1", "s1"),)
    )
    evil_data = sign_document(
        "provisioning", "org", "2", evil.to_content(), OTHER_SK, OTHER_PK
    ).to_bytes()
    with pytest.raises(SyncError):
        Provisioning.verify_file(evil_data, pk)


def test_canonical_size_is_the_canonical_length_for_every_ascii_character() -> None:
    from fieldscreen.sync.canonical import canonical
    from fieldscreen.sync.envelope import canonical_size

    values: list[object] = [chr(c) for c in range(128)]
    values += ["a\u00e9", "\U0001f600x", "", '\\"/', 0, -(2**52), 2**52, True, False, None]
    values += [[chr(c) for c in range(0, 128, 7)], {"b": 1, "a": ["x", "\n"]}]
    for value in values:
        assert canonical_size(value) == len(canonical(value)), repr(value)


def test_the_kind_list_is_kept_in_one_place() -> None:
    """``sync.envelope.KINDS`` is the list: the server's wire model and the kinds its newest
    migration's check accepts follow it (a new kind: add it there, and a migration)."""
    import typing

    from fieldscreen.sync.envelope import COUNTED_KINDS, KINDS
    from fieldscreen.sync.server import db
    from fieldscreen.sync.server.routes.wire import EnvelopeWire

    wire = typing.get_args(EnvelopeWire.model_fields["kind"].annotation)
    assert tuple(wire) == KINDS
    assert db.ACCEPTED_KINDS == KINDS
    assert set(COUNTED_KINDS) <= set(KINDS)


def test_signing_bytes_are_the_canonical_header_for_every_ascii_character() -> None:
    import random

    from fieldscreen.sync.canonical import canonical
    from fieldscreen.sync.envelope import SIGN_PREFIX

    rng = random.Random(20261204)
    texts = [chr(c) for c in range(128)] + ["a\u00e9", "\U0001f600x", "", '\\"/', "\x7fz"]
    scalars: list[object] = [*texts, 0, 1, -(2**53) + 1, 2**53 - 1, True, False, None]
    checked = 0
    for value in scalars + [[t for t in texts if rng.random() < 0.2] for _ in range(20)]:
        keys = ["a", "b_1", "z9", "tier", "concerns", "aa", "a_"]
        aggregate: dict[str, Any] = {
            k: value if rng.random() < 0.5 else rng.choice(scalars) for k in keys
        }
        envelope = dataclasses.replace(
            build_envelope(
                "0" * 32, "f", "1", "dev-1", 1, dt.date(2026, 1, 1), b"{}", ORG_PK, DEV_SK
            ),
            aggregate=aggregate,
        )
        expected = SIGN_PREFIX + canonical(envelope._header_fields())
        assert envelope.signing_bytes() == expected, repr(aggregate)
        checked += 1
    assert checked == len(scalars) + 20
