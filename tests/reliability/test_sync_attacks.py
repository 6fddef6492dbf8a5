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

import base64
import hashlib
import itertools
import json
import os
import random
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from fieldscreen import crypto
from fieldscreen.device import VaultDeviceStore, open_settings
from fieldscreen.paths import Paths
from fieldscreen.sync.bundle import export_bundle, read_bundle
from fieldscreen.sync.client import RetryPolicy, SyncClient
from fieldscreen.sync.engine import Syncer, SyncSummary
from fieldscreen.sync.envelope import Envelope, build_envelope, verify_envelope
from fieldscreen.sync.errors import EnvelopeError, SyncError
from fieldscreen.sync.request_auth import DeviceSigner
from fieldscreen.sync.server.db import tables as t
from fieldscreen.sync.server.live import LiveServer
from fieldscreen.sync.server.storage import Storage
from fieldscreen.sync.signed import Provisioning, Receipt, SignedDocument, Site, sign_document
from fieldscreen.sync.simulate import SimDevice, SimOrg, synthetic_payload
from fieldscreen.sync.store import DeviceIdentity
from fieldscreen.sync.vault_bridge import header_signing_bytes
from fieldscreen.sync.view import REASONS
from fieldscreen.ui.batches import record_network_sync
from fieldscreen.vault import Vault
from fieldscreen.vault.outbox import OUTBOX_STATES

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
    relay_token = storage.repos.credentials.create_credential("coordinator", ["site-a"], "relay")
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


# ---------------------------------------------------------------------- the laptop's side
PASS = b"correct horse battery"


class Laptop:
    """A real vault with its real outbox, enrolled on the server, synced by the product's
    engine over :class:`~fieldscreen.device.VaultDeviceStore` (what the app and the command
    line wire)."""

    def __init__(self, root: Path, org: SimOrg, storage: Storage, server: LiveServer) -> None:
        paths = Paths.for_profile(root).ensure()
        self.vault = Vault.create(
            paths.vault_dir,
            admin_login="admin1",
            passphrase=PASS,
            kdf=crypto.KdfParams.for_tests(),
            signing_bytes=header_signing_bytes(org.sealing_public),
        )
        self.vault.set_org_keys(org.sealing_public, org.signing_public)
        self.storage, self.server, self.org = storage, server, org
        vault = self.vault
        self.token = storage.repos.credentials.register_device(
            vault.device_id, "site-a", vault.device_public_key, "laptop"
        )
        self.store = VaultDeviceStore(vault, open_settings(paths))
        self.store.save_identity(
            DeviceIdentity(vault.device_id, "site-a", self.token, vault.device_public_key)
        )
        receipt_key = storage.repos.keys.keys().receipt_public
        self.receipt_key = receipt_key
        self.store.save_provisioning(
            Provisioning(
                org.name,
                server.url,
                org.sealing_public,
                org.signing_public,
                receipt_key,
                (Site("site-a", "site-a"),),
            )
        )

    def finalise(self, count: int, rng: random.Random) -> list[str]:
        made: list[str] = []
        for _ in range(count):
            record = self.vault.new_draft("fs_intake", "2026.11.1")
            answers = {"answer": rng.randrange(10**6), "note": "CANARY-Ana"}
            self.vault.finalise(record, record=answers, case_card={"n": len(made)})
            made.append(record)
        return made

    def sync(self, transport: httpx.BaseTransport | None = None) -> SyncSummary:
        with SyncClient(
            self.server.url,
            token=self.token,
            signer=DeviceSigner(self.vault.device_id, self.vault.sign_as_device),
            transport=transport,
            policy=RetryPolicy(attempts=2, base=0.01, cap=0.05),
        ) as client:
            return Syncer(
                client,
                self.store,
                self.store,
                receipt_key=self.receipt_key,
                signing_key=self.org.signing_public,
                max_count=4,
            ).run()

    def rows(self) -> dict[str, Any]:
        """record id -> outbox row (state, reason, whether the sealed copy is still there)."""
        page = self.vault.outbox_page(limit=1000, states=OUTBOX_STATES)
        return {r.record_id: r for r in page}


@pytest.fixture
def laptop(tmp_path: Path, org: SimOrg, storage: Storage, server: LiveServer) -> Iterator[Laptop]:
    crypto.permit_test_parameters(True)
    device = Laptop(tmp_path / "laptop", org, storage, server)
    try:
        yield device
    finally:
        device.vault.close()
        crypto.permit_test_parameters(False)


class Rewriter(httpx.BaseTransport):
    """Between the laptop and the real server: hands every receipt to ``forge`` first."""

    def __init__(self, forge: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        self.forge = forge
        self.inner = httpx.HTTPTransport()
        self.forged = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        if response.status_code != 200 or not request.url.path.endswith(
            ("/envelopes", "/envelopes/missing")
        ):
            return response
        body = json.loads(response.content)
        body["receipt"] = self.forge(body["receipt"])
        self.forged += 1
        return httpx.Response(200, json=body)

    def close(self) -> None:
        self.inner.close()


RECEIPT_FORGERIES = ("wrong-key", "bad-signature", "other-device", "other-hash", "empty", "replay")


def test_a_laptop_deletes_a_sealed_copy_only_on_a_genuine_receipt_naming_it(
    laptop: Laptop, storage: Storage, new_device: NewDevice
) -> None:
    rng = random.Random(SEED + 1)
    bob = new_device()
    laptop.finalise(2, rng)
    laptop.sync()  # an honest run: its receipt is the one replayed below
    old = storage.repos.receipts.receipt(laptop.vault.device_id).to_json()
    forger_key = crypto.generate_signing_keypair()
    rounds = len(RECEIPT_FORGERIES) * (8 if FULL else 1)
    counts = {"applied": 0, "lost": 0, "silently accepted": 0}
    refused = 0
    codes: set[str] = set()
    for index in range(rounds):
        kind = RECEIPT_FORGERIES[index % len(RECEIPT_FORGERIES)]
        ids = laptop.finalise(rng.randint(1, 6), rng)

        def forge(genuine: dict[str, Any], kind: str = kind) -> dict[str, Any]:
            document = SignedDocument.from_json(genuine)
            pairs = Receipt.from_document(document).delivered
            if kind == "wrong-key":
                return sign_document(
                    "receipt", document.name, document.version, document.content, *forger_key
                ).to_json()
            if kind == "bad-signature":
                return {**genuine, "signature": base64.b64encode(os.urandom(64)).decode()}
            if kind == "other-device":
                return storage.repos.receipts.receipt(bob.device_id, pairs).to_json()
            if kind == "other-hash":
                other = [(rid, hashlib.sha256(sha.encode()).hexdigest()) for rid, sha in pairs]
                return storage.repos.receipts.receipt(document.name, other).to_json()
            if kind == "empty":
                return storage.repos.receipts.receipt(document.name, []).to_json()
            return old

        rewriter = Rewriter(forge)
        try:
            summary = laptop.sync(transport=rewriter)
        except SyncError as error:
            codes.add(error.code)
            refused += 1
            summary = None
        rows = laptop.rows()
        for rid in ids:
            row = rows[rid]
            if row.state == "delivered" or row.sealed is None:
                counts["applied"] += 1  # a forged receipt removed a sealed copy
                counts["lost"] += _held_row(storage, rid) is None
        if summary is not None and summary.unconfirmed < len(ids):
            counts["silently accepted"] += 1
        # an honest run afterwards delivers everything the forgery kept back
        laptop.sync()
        rows = laptop.rows()
        assert all(rows[rid].state == "delivered" for rid in ids), kind
        assert all(_held_row(storage, rid) is not None for rid in ids)
    print(f"\nforged receipts, {rounds} rounds: {counts}; runs refused {refused}")
    assert counts == {"applied": 0, "lost": 0, "silently accepted": 0}
    assert codes == {"sync-receipt-refused"}
    assert refused == rounds // len(RECEIPT_FORGERIES) * 3  # wrong key, bad signature, device


OUTBOX_TAMPERS = ("flip-sealed", "flip-and-rehash", "signature", "header", "swap-rows")


def _tamper(db_path: Path, kind: str, victims: list[str], rng: random.Random) -> None:
    """Edit the outbox as anyone with the laptop's files can (no passphrase needed)."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        conn.execute("PRAGMA trusted_schema=OFF")
        rows = {
            rid: conn.execute(
                "SELECT sealed, signature, form_version FROM outbox WHERE record_id = ?", (rid,)
            ).fetchone()
            for rid in victims
        }
        for rid in victims:
            sealed, signature, _version = rows[rid]
            sealed = bytearray(sealed)
            if kind in {"flip-sealed", "flip-and-rehash"}:
                sealed[rng.randrange(len(sealed))] ^= 1 << rng.randrange(8)
                conn.execute(
                    "UPDATE outbox SET sealed = ? WHERE record_id = ?", (bytes(sealed), rid)
                )
                if kind == "flip-and-rehash":
                    conn.execute(
                        "UPDATE outbox SET payload_sha256 = ? WHERE record_id = ?",
                        (hashlib.sha256(bytes(sealed)).hexdigest(), rid),
                    )
            elif kind == "signature":
                forged = bytearray(signature)
                forged[rng.randrange(64)] ^= 1
                conn.execute(
                    "UPDATE outbox SET signature = ? WHERE record_id = ?", (bytes(forged), rid)
                )
            elif kind == "header":
                conn.execute(
                    "UPDATE outbox SET form_version = '1999.1.1' WHERE record_id = ?", (rid,)
                )
        if kind == "swap-rows" and len(victims) >= 2:
            a, b = victims[0], victims[1]
            for target, source in ((a, b), (b, a)):
                sealed = rows[source][0]
                conn.execute(
                    "UPDATE outbox SET sealed = ?, payload_sha256 = ? WHERE record_id = ?",
                    (sealed, hashlib.sha256(sealed).hexdigest(), target),
                )
    finally:
        conn.close()


def test_a_tampered_outbox_row_is_quarantined_never_sent_never_dropped(
    laptop: Laptop, storage: Storage
) -> None:
    rng = random.Random(SEED + 2)
    rounds = len(OUTBOX_TAMPERS) * (8 if FULL else 1)
    counts = {"applied": 0, "lost": 0, "silently accepted": 0}
    tampered_total = 0
    for index in range(rounds):
        kind = OUTBOX_TAMPERS[index % len(OUTBOX_TAMPERS)]
        ids = laptop.finalise(rng.randint(3, 7), rng)
        victims = rng.sample(ids, 2 if kind == "swap-rows" else rng.randint(1, len(ids)))
        _tamper(laptop.vault.db_path, kind, victims, rng)
        summary = laptop.sync()
        tampered_total += summary.tampered
        rows = laptop.rows()
        for rid in ids:
            row = rows[rid]
            held = _held_row(storage, rid) is not None or _anywhere(storage, rid)
            if rid in victims:
                counts["applied"] += held  # a tampered row reached the server
                counts["lost"] += row.sealed is None or row.state == "delivered"
                counts["silently accepted"] += (row.state, row.reason) != (
                    "quarantined",
                    "tampered",
                )
                laptop.vault.load_record(rid)  # the readable copy is still there
            else:
                assert row.state == "delivered", (kind, row.state, row.reason)
        assert set(summary.tampered_ids) == set(victims)
    print(f"\ntampered outbox rows, {rounds} rounds: {counts}; quarantined {tampered_total}")
    assert counts == {"applied": 0, "lost": 0, "silently accepted": 0}
    # the Sync screen says why, in both languages; the audit log names each one
    assert "changed on this laptop" in REASONS["tampered"]
    record_network_sync(laptop.vault, summary)
    entries = [e for e in laptop.vault.audit_log() if e.action == "sync"]
    assert any((e.detail or {}).get("outcome") == "tampered" for e in entries)


def _anywhere(storage: Storage, record_id: str) -> bool:
    with storage.engine.connect() as conn:
        return any(
            conn.execute(sa.select(table.c.id).where(table.c.record_id == record_id)).first()
            for table in (t.conflicts, t.quarantine)
        )


def test_a_tampered_outbox_row_stays_out_of_a_usb_bundle(
    laptop: Laptop, storage: Storage, tmp_path: Path
) -> None:
    rng = random.Random(SEED + 3)
    counts = {"applied": 0, "lost": 0, "silently accepted": 0}
    for kind in OUTBOX_TAMPERS * (8 if FULL else 1):
        ids = laptop.finalise(4, rng)
        victims = rng.sample(ids, 2)
        _tamper(laptop.vault.db_path, kind, victims, rng)
        identity = laptop.store.identity()
        assert identity is not None
        bundle = tmp_path / f"{kind}.fsbundle"
        info = export_bundle(
            bundle, identity.device_id, laptop.store, public_key=identity.public_key
        )
        _device, lines = read_bundle(bundle)
        exported = {Envelope.from_bytes(line).record_id for line in lines}
        rows = laptop.rows()
        for rid in victims:
            counts["applied"] += rid in exported
            counts["lost"] += rows[rid].sealed is None
            counts["silently accepted"] += (rows[rid].state, rows[rid].reason) != (
                "quarantined",
                "tampered",
            )
        assert set(info.tampered) == set(victims)
        assert set(ids) - set(victims) <= exported
    assert counts == {"applied": 0, "lost": 0, "silently accepted": 0}


#: Outbox state edits (no passphrase needed) and where the product says them.
STATE_EDITS = ("to-failed", "to-sending", "reason", "delivered-forged")


def _edit_state(db_path: Path, kind: str, queued: list[str], rng: random.Random) -> list[str]:
    """Move queued rows between states as anyone with the laptop's files can; returns the
    rows edited. ``delivered-forged`` deletes a delivered row and makes a queued one delivered
    in its place (its sequence number, its sealed copy removed): the count of delivered rows
    and the sum of their sequence numbers stay the same."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        victims = rng.sample(queued, rng.randint(1, len(queued)))
        for rid in victims:
            if kind == "to-failed":  # never sent until someone retries it
                state, reason = "failed", rng.choice(["conflict", "server-error"])
            elif kind == "to-sending":
                state, reason = "sending", None
            elif kind == "reason":
                state, reason = "pending", "conflict"
            else:
                delivered = conn.execute(
                    "SELECT record_id, device_seq FROM outbox WHERE state = 'delivered' "
                    "ORDER BY random() LIMIT 1"
                ).fetchone()
                conn.execute("DELETE FROM outbox WHERE record_id = ?", (delivered[0],))
                conn.execute(
                    "UPDATE outbox SET state = 'delivered', reason = NULL, sealed = NULL, "
                    "signature = NULL, aggregate = NULL, device_seq = ? WHERE record_id = ?",
                    (delivered[1], rid),
                )
                continue
            conn.execute(
                "UPDATE outbox SET state = ?, reason = ? WHERE record_id = ?", (state, reason, rid)
            )
        return victims
    finally:
        conn.close()


def test_an_outbox_state_edited_on_the_laptop_is_said_and_every_record_reaches_the_server(
    laptop: Laptop, storage: Storage
) -> None:
    """With a real server on loopback: the laptop's outbox states edited while it is locked
    (queued rows made failed so that they are never sent, moved to sending, their reason
    edited; a delivered row replaced by a queued one with the count and sum kept). At unlock
    and at the sync each edit is said and audited, and the sync delivers every record to the
    server: applied 0, lost 0, silently accepted 0."""
    rng = random.Random(SEED + 4)
    rounds = len(STATE_EDITS) * (8 if FULL else 2)
    counts = {"applied": 0, "lost": 0, "silently accepted": 0}
    said = {"unlock": 0, "sync": 0}
    delivered_before = laptop.finalise(2, rng)
    laptop.sync()
    for index in range(rounds):
        kind = STATE_EDITS[index % len(STATE_EDITS)]
        ids = laptop.finalise(rng.randint(2, 5), rng)
        laptop.vault.lock()
        victims = _edit_state(laptop.vault.db_path, kind, ids, rng)
        laptop.vault.unlock("admin1", PASS)
        alert = laptop.vault.state_alert()
        said["unlock"] += alert is not None
        summary = laptop.sync()
        said["sync"] += summary.state_changed > 0
        audited = {
            e.record_id
            for e in laptop.vault.audit_log()
            if e.action == "integrity-alert"
            and (e.detail or {}).get("what") in {"outbox-state", "outbox-delivered"}
        }
        for rid in victims:
            counts["silently accepted"] += alert is None and rid not in summary.state_changed_ids
            counts["silently accepted"] += rid not in audited and kind != "delivered-forged"
        if kind == "delivered-forged":
            counts["silently accepted"] += not any(
                e.action == "integrity-alert" and (e.detail or {}).get("what") == "outbox-delivered"
                for e in laptop.vault.audit_log()
            )
        rows = laptop.rows()
        for rid in ids + delivered_before:
            held = _held_row(storage, rid)
            sealed_here = rows.get(rid) is not None and rows[rid].sealed is not None
            counts["lost"] += held is None and not sealed_here
            # applied: the server holds something for it that is not this laptop's own
            keys = {laptop.vault.device_id: laptop.vault.device_public_key}
            counts["applied"] += held is not None and not (
                held.device_id in keys and _verifies(held, keys)
            )
        delivered_before += ids
    print(f"\noutbox states edited, {rounds} rounds: {counts}; said {said}")
    assert counts == {"applied": 0, "lost": 0, "silently accepted": 0}
