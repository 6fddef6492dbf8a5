"""Another enrolled device against a laptop's records, on a real server on loopback.

The attacker holds laptop A's outbox (record ids, hashes and sealed bytes are readable without
a passphrase) and its own enrolment (device B: a token and a key the server trusts). Each
seeded variant picks an attack, a route (B's own device route, or a coordinator relaying B's
bundle) and a moment (before or after A's own sync), then lets A sync twice. Counted over every
variant, the attacks must leave:

* applied 0: no attacker bytes held as A's record, no held envelope that does not verify under
  the key of the device it names, and A's held envelope never changed;
* records lost 0: each of A's records is held by the server as A sent it, or still sealed on
  A's laptop (a conflict keeps A's copy, and the server keeps it apart too);
* silently accepted 0: A never counts a record delivered that the server does not hold as A
  sent it, and a record the server does not hold from A is shown to A as not delivered.

``make test`` runs each (attack, route, moment) once per database; ``FIELDSCREEN_FULL=1``
adds 240 seeded draws.
"""

from __future__ import annotations

import itertools
import json
import os
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from fieldscreen import crypto
from fieldscreen.sync.client import SyncClient
from fieldscreen.sync.envelope import Envelope, build_envelope, verify_envelope
from fieldscreen.sync.errors import EnvelopeError
from fieldscreen.sync.server.db import tables as t
from fieldscreen.sync.server.live import LiveServer
from fieldscreen.sync.server.storage import Storage
from fieldscreen.sync.simulate import SimDevice, SimOrg, synthetic_payload

FULL = os.environ.get("FIELDSCREEN_FULL") == "1"
EXTRA = 240 if FULL else 0  # seeded draws on top of every (attack, route, moment) once
SEED = 20261201

pytestmark = pytest.mark.reliability

NewDevice = Callable[..., SimDevice]

ATTACKS = (
    "hijack-unsigned",  # A's sealed bytes under B's id, a random signature
    "hijack-signed",  # A's sealed bytes under B's id, signed by B's real key
    "hijack-as-a",  # A's sealed bytes under A's id, signed by B's key
    "swap",  # A's record id, another payload, B's id and key
    "swap-as-a",  # A's record id, another payload, A's id, B's key
    "replay",  # A's genuine envelope, as it is
)


def _signed_as(envelope: Envelope, signer_key: bytes | None, **changes: Any) -> Envelope:
    """``envelope`` with ``changes``, signed by ``signer_key`` (random bytes when None)."""
    fields = {name: getattr(envelope, name) for name in Envelope.__slots__}
    fields.update(changes, signature=b"")
    unsigned = Envelope(**fields)
    signature = (
        os.urandom(64) if signer_key is None else crypto.sign(signer_key, unsigned.signing_bytes())
    )
    return Envelope(**{**fields, "signature": signature})


def _attack(  # noqa: PLR0917 -- the attack, its target and the attacker's means
    kind: str,
    genuine: Envelope,
    attacker: SimDevice,
    seqs: Iterator[int],
    org: SimOrg,
    rng: random.Random,
) -> Envelope:
    key = attacker.signing_private
    if kind == "hijack-unsigned":
        return _signed_as(genuine, None, device_id=attacker.device_id, seq=next(seqs))
    if kind == "hijack-signed":
        return _signed_as(genuine, key, device_id=attacker.device_id, seq=next(seqs))
    if kind == "hijack-as-a":
        return _signed_as(genuine, key)
    if kind in {"swap", "swap-as-a"}:
        as_b = kind == "swap"
        return build_envelope(
            genuine.record_id,
            genuine.form_id,
            genuine.form_version,
            attacker.device_id if as_b else genuine.device_id,
            next(seqs) if as_b else genuine.seq,
            genuine.created,
            synthetic_payload(rng, 600),
            org.sealing_public,
            key,
            aggregate=dict(genuine.aggregate),
        )
    assert kind == "replay"
    return genuine


def _verifies(row: Any, keys: dict[str, bytes]) -> bool:
    """Whether a held row's envelope verifies under the key of the device it names."""
    fields = {name: getattr(row, name) for name in Envelope.__slots__ if name != "aggregate"}
    fields.update(sealed=bytes(row.sealed), signature=bytes(row.signature))
    envelope = Envelope(**fields, aggregate=json.loads(row.aggregate))
    try:
        verify_envelope(envelope, keys[row.device_id])
    except EnvelopeError:
        return False
    return True


def test_another_device_cannot_take_hijack_or_swap_a_laptops_records(
    new_device: NewDevice, storage: Storage, org: SimOrg, server: LiveServer
) -> None:
    rng = random.Random(SEED)
    alice, bob = new_device(), new_device()
    relay_token = storage.create_credential("coordinator", ["site-a"], "relay")
    keys = {alice.device_id: alice.signing_public, bob.device_id: bob.signing_public}
    bob_seqs = itertools.count(1)
    counts = {"applied": 0, "lost": 0, "silently accepted": 0}
    outcomes: dict[str, int] = {}
    every = list(itertools.product(ATTACKS, ("device", "relay"), (False, True)))
    variants = every + [rng.choice(every) for _ in range(EXTRA)]
    for kind, route, after in variants:
        genuine = alice.make_envelope(rng, size=rng.choice([600, 3000]))
        alice.spool.enqueue(genuine)
        if after:
            alice.sync()
        held_before = _held_row(storage, genuine.record_id)
        forged = _attack(kind, genuine, bob, bob_seqs, org, rng)
        if route == "device":
            with bob.client() as client:
                result = client.submit([forged.to_bytes()])["results"][0]
        else:
            with SyncClient(server.url, token=relay_token) as relay:
                result = relay.relay([forged.to_bytes()])["results"][0]
        outcomes[f"{kind}/{route}/{result['outcome']}"] = (
            outcomes.get(f"{kind}/{route}/{result['outcome']}", 0) + 1
        )
        alice.sync()
        alice.sync()
        rid, sha = genuine.record_id, genuine.sha256
        row = _held_row(storage, rid)
        state = alice.spool.states()[rid][0]
        sealed_kept = _sealed_kept(alice, genuine)
        held_as_sent = row is not None and (row.device_id, row.sha256) == (alice.device_id, sha)
        kept_apart = _conflict_kept(storage, rid, sha, alice.device_id)
        # applied: attacker bytes as A's record, an unverifiable held row, A's row changed
        if row is not None and row.device_id == alice.device_id and row.sha256 != sha:
            counts["applied"] += 1
        if row is not None and not _verifies(row, keys):
            counts["applied"] += 1
        if held_before is not None and (row is None or row._mapping != held_before._mapping):
            counts["applied"] += 1
        # lost: neither the server (as A sent it, or kept apart) nor the laptop has it
        if not (held_as_sent or kept_apart or sealed_kept):
            counts["lost"] += 1
        # silently accepted: delivered without being held as sent, or not held and not said
        if state == "delivered" and not held_as_sent:
            counts["silently accepted"] += 1
        if not held_as_sent and state not in {"failed", "quarantined"}:
            counts["silently accepted"] += 1
    seen = dict(sorted(outcomes.items()))
    print(f"\nsync attacks, {len(variants)} variants: {counts}; outcomes {seen}")
    assert counts == {"applied": 0, "lost": 0, "silently accepted": 0}, outcomes
    # every held envelope verifies under the key of the device it names
    with storage.engine.connect() as conn:
        rows = list(conn.execute(sa.select(t.envelopes)))
    assert rows
    assert all(_verifies(r, keys) for r in rows)


def _held_row(storage: Storage, record_id: str) -> Any:
    with storage.engine.connect() as conn:
        return conn.execute(
            sa.select(t.envelopes).where(t.envelopes.c.record_id == record_id)
        ).first()


def _conflict_kept(storage: Storage, record_id: str, sha256: str, device_id: str) -> bool:
    with storage.engine.connect() as conn:
        rows = list(
            conn.execute(
                sa.select(t.conflicts.c.body).where(
                    t.conflicts.c.record_id == record_id,
                    t.conflicts.c.sha256 == sha256,
                    t.conflicts.c.device_id == device_id,
                )
            )
        )
    return any(Envelope.from_bytes(bytes(r.body)).sha256 == sha256 for r in rows)


def _sealed_kept(device: SimDevice, envelope: Envelope) -> bool:
    page = device.spool._db.execute(  # the laptop's own file, read directly
        "SELECT d.data FROM outbox o JOIN outbox_data d ON d.seq = o.seq WHERE o.record_id = ?",
        (envelope.record_id,),
    ).fetchone()
    return page is not None and Envelope.from_bytes(bytes(page[0])) == envelope


def test_a_record_id_from_another_device_is_a_conflict_never_a_duplicate(
    new_device: NewDevice, storage: Storage, rng: random.Random
) -> None:
    alice, bob = new_device(), new_device()
    genuine = alice.make_envelope(rng, seq=1)
    alice.spool.enqueue(genuine)
    hijack = _signed_as(genuine, bob.signing_private, device_id=bob.device_id, seq=1)
    with bob.client() as client:
        assert client.submit([hijack.to_bytes()])["results"][0]["outcome"] == "stored"
    summary = alice.sync()
    assert (summary.delivered, summary.conflicts) == (0, 1)
    assert alice.spool.states()[genuine.record_id] == ("failed", "conflict")
    assert _sealed_kept(alice, genuine)
    assert _conflict_kept(storage, genuine.record_id, genuine.sha256, alice.device_id)
    with storage.engine.connect() as conn:
        actions = [r.action for r in conn.execute(sa.select(t.audit))]
    assert "record-of-another-device" in actions
    # the other way round: A's record held first, B's copy never touches it
    second = alice.make_envelope(rng, seq=2)
    alice.spool.enqueue(second)
    alice.sync()
    before = _held_row(storage, second.record_id)
    copy = _signed_as(second, bob.signing_private, device_id=bob.device_id, seq=2)
    with bob.client() as client:
        result = client.submit([copy.to_bytes()])["results"][0]
    assert (result["outcome"], result["reason"]) == ("conflict", "other-device")
    assert _held_row(storage, second.record_id)._mapping == before._mapping
