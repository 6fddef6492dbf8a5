"""Finalise encodes the record once: the sealed payload is still exactly canonical JSON, and
the readable copy reads back the same record."""

from __future__ import annotations

import json
import random

from fieldscreen import crypto
from fieldscreen.vault import Vault, canonical_json
from fieldscreen.vault.records import _payload


def _value(rng: random.Random, depth: int = 0) -> object:
    kind = rng.randrange(6 if depth < 3 else 4)
    if kind == 0:
        return rng.randint(-(10**6), 10**6)
    if kind == 1:
        return "".join(rng.choice('aé"\\\n字 ,:{}') for _ in range(rng.randrange(8)))
    if kind == 2:
        return rng.choice([True, False, None, 1.5])
    if kind == 3:
        return rng.random()
    if kind == 4:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {
        f"k{rng.randrange(50)}{'é' * rng.randrange(2)}": _value(rng, depth + 1) for _ in range(4)
    }


def test_spliced_payload_is_canonical_json() -> None:
    rng = random.Random(11)
    header = {
        "format": 1,
        "kind": "screening",
        "record_id": "ab" * 16,
        "form_id": "fs_intake",
        "form_version": "2026.11",
        "device_id": "cd" * 16,
        "day": "2026-11-28",
    }
    for _ in range(300):
        content = {f"f{i}": _value(rng) for i in range(rng.randrange(6))}
        expected = canonical_json({**header, "content": content})
        assert _payload(header, canonical_json(content)) == expected


def test_finalised_record_seals_and_reads_back(vault: Vault, org: dict[str, bytes]) -> None:
    record = {"z": 1, "a": {"é": [1, 2, {"x": None}]}, "m": "texto"}
    rid = vault.new_draft("screening", "1", {"draft": True})
    vault.finalise(rid, record=record, case_card={"alias": "A"})
    assert vault.load_record(rid) == record
    [item] = vault.outbox_page()
    info = crypto.record_sealing_info(
        item.record_id, item.form_id, item.form_version, item.device_id
    )
    assert item.sealed is not None
    payload = crypto.unpad(
        crypto.open_sealed(org["sealing_private"], item.sealed, info=info, aad=b"")
    )
    assert payload == canonical_json(json.loads(payload))
    assert json.loads(payload)["content"] == record
