"""The server's group commit against an attacker and a crash, on the real ingest path.

Requests that wait while one group is written go into the next group: one transaction, each
request answered only after its commit. These runs put several devices' batches into one
group on purpose (the writer is held until every batch waits) and check, counted over seeded
variants, on SQLite and PostgreSQL:

* a forged envelope inside a group (relayed in a victim's name: a copy of the victim's record,
  a new record under the victim's next sequence number, or the sender's own with a bad
  signature) poisons nothing: applied 0 (no forged bytes held anywhere, no rollback suspicion
  or audit entry it caused), lost 0 (every genuine envelope of the group stored), silently
  accepted 0 (the forged one answered ``rejected``/``signature``, every genuine one
  ``stored``), and the same over the API on loopback (two laptops' signed submits and a
  coordinator's forged relay answered from one group, the laptop's receipt then complete);
* a batch replayed across a group (the same envelopes in two requests, and relayed) is held
  once: the first answered ``stored``, the others ``duplicate``;
* a batch the database refuses fails alone: the others of its group are stored;
* the server process killed mid group commit: every envelope it answered as delivered is
  held, nothing is held twice or quarantined, and the devices' retries deliver the rest
  exactly once (lost 0, duplicated 0).

``make test`` runs a few seeded variants per database; ``FIELDSCREEN_FULL=1`` runs 40 more.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from fieldscreen import crypto
from fieldscreen.sync.client import SyncClient
from fieldscreen.sync.envelope import Envelope, build_envelope
from fieldscreen.sync.server.db import tables as t
from fieldscreen.sync.server.live import LiveServer
from fieldscreen.sync.server.storage import Outcome, Principal, Storage
from fieldscreen.sync.simulate import SimDevice, SimOrg, synthetic_aggregate, synthetic_payload

pytestmark = pytest.mark.reliability

FULL = os.environ.get("FIELDSCREEN_FULL") == "1"
EXTRA = 40 if FULL else 0
SEED = 20261204
ROOT = Path(__file__).resolve().parents[2]


@dataclasses.dataclass
class Device:
    id: str
    private: bytes
    token: str
    principal: Principal
    seq: int = 0


def _device(storage: Storage, name: str, site: str = "site-a") -> Device:
    private, public = crypto.generate_signing_keypair()
    token = storage.repos.credentials.register_device(name, site, public, "test")
    principal = storage.authenticate(token)
    assert principal is not None
    return Device(name, private, token, principal)


def _envelopes(
    org: SimOrg, device: Device, count: int, rng: random.Random, seq: int | None = None
) -> list[Envelope]:
    made = []
    for _ in range(count):
        if seq is None:
            device.seq += 1
        made.append(
            build_envelope(
                str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "fs_intake",
                "2026.11.1",
                device.id,
                device.seq if seq is None else seq,
                dt.date(2026, 12, 4),
                synthetic_payload(rng, 300),
                org.sealing_public,
                device.private,
                aggregate=synthetic_aggregate(rng),
            )
        )
    return made


def _grouped(
    storage: Storage, calls: list[tuple[list[Envelope], Principal]]
) -> list[list[Outcome] | BaseException]:
    """Every call's ingest in ONE group commit, queued in the order given: the writer is held
    until all of them wait."""
    group = storage.repos.ingest.group
    results: list[list[Outcome] | BaseException] = [[] for _ in calls]
    before = group.groups

    def run(index: int, envelopes: list[Envelope], principal: Principal) -> None:
        try:
            results[index] = storage.repos.ingest.ingest(
                [e.to_json() for e in envelopes], principal
            )
        except Exception as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i, *call)) for i, call in enumerate(calls)]
    with group._writer:
        for count, thread in enumerate(threads, 1):  # queued in this order
            thread.start()
            deadline = time.monotonic() + 30
            while len(group._waiting) < count:
                assert time.monotonic() < deadline, "the batch never queued"
                time.sleep(0.002)
    for thread in threads:
        thread.join(60)
    assert group.groups - before >= 1
    assert group.largest >= len(calls)
    return results


def _held(storage: Storage) -> dict[str, tuple[str, str, int]]:
    e = t.envelopes
    with storage.engine.connect() as conn:
        rows = conn.execute(sa.select(e.c.record_id, e.c.sha256, e.c.device_id, e.c.seq))
        return {r.record_id: (r.sha256, r.device_id, r.seq) for r in rows}


def _count(storage: Storage, table: sa.Table) -> int:
    with storage.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


FORGERIES = ("copy-of-victim", "victim-next-seq", "own-bad-signature")


def _variants(count: int) -> list[tuple[int, str, int, int]]:
    base = [(i, kind, 0, 0) for i, kind in enumerate(FORGERIES)]
    rng = random.Random(SEED)
    return base + [
        (len(base) + i, rng.choice(FORGERIES), rng.randrange(1, 4), rng.randrange(1, 3))
        for i in range(count)
    ]


def test_a_forged_envelope_inside_a_group_poisons_no_other_batch(
    storage: Storage, org: SimOrg
) -> None:
    coordinator = storage.authenticate(
        storage.repos.credentials.create_credential("coordinator", ["site-a"], "c")
    )
    assert coordinator is not None
    applied = lost = silently_accepted = groups = 0
    for number, kind, bystanders, place in _variants(EXTRA):
        rng = random.Random(SEED + number)
        victim = _device(storage, f"victim-{number}")
        sender = _device(storage, f"sender-{number}")
        others = [_device(storage, f"other-{number}-{i}") for i in range(bystanders)]
        genuine = _envelopes(org, victim, rng.randrange(1, 40), rng)
        target = rng.choice(genuine)
        if kind == "copy-of-victim":  # the victim's record id and seq, other bytes, no key
            other = _envelopes(org, victim, 1, rng, seq=target.seq)[0]
            forged = dataclasses.replace(
                other, record_id=target.record_id, signature=os.urandom(64)
            )
            carrier: Principal = coordinator
        elif kind == "victim-next-seq":  # a new record under the victim's next number
            forged = dataclasses.replace(
                _envelopes(org, victim, 1, rng, seq=victim.seq + 1)[0],
                signature=os.urandom(64),
            )
            carrier = coordinator
        else:
            own = _envelopes(org, sender, 1, rng)[0]
            forged = dataclasses.replace(own, signature=crypto.sign(victim.private, b"x"))
            carrier = sender.principal
        sent = [*_envelopes(org, sender, rng.randrange(0, 12), rng), forged]
        rng.shuffle(sent)
        calls = [(genuine, victim.principal)]
        calls += [(_envelopes(org, o, rng.randrange(1, 20), rng), o.principal) for o in others]
        calls.insert(min(place, len(calls)), (sent, carrier))
        if kind == "victim-next-seq":  # the victim's own next record, in the same group
            follow = _envelopes(org, victim, 1, rng)
            calls.append((follow, victim.principal))
        redone = storage.repos.ingest.group.redone
        results = _grouped(storage, calls)
        groups += 1
        assert (
            storage.repos.ingest.group.redone == redone
        )  # verified before the write: no second one
        held = _held(storage)
        for (envelopes, _principal), result in zip(calls, results, strict=True):
            assert not isinstance(result, BaseException), result
            for envelope, outcome in zip(envelopes, result, strict=True):
                if envelope is forged:
                    if outcome.delivered or outcome.reason != "signature":
                        silently_accepted += 1
                    continue
                if outcome.outcome != "stored":
                    silently_accepted += 1
                if held.get(envelope.record_id) != (
                    envelope.sha256,
                    envelope.device_id,
                    envelope.seq,
                ):
                    lost += 1
        if any(sha == forged.sha256 for sha, _d, _s in held.values()):
            applied += 1
        victim_row = storage.repos.devices.get(victim.id)
        assert victim_row is not None
        if victim_row.rollback_suspected:
            applied += 1
    with storage.engine.connect() as conn:
        noted = conn.execute(
            sa.select(sa.func.count())
            .select_from(t.audit)
            .where(t.audit.c.action == "record-of-another-device")
        ).scalar_one()
    applied += _count(storage, t.conflicts) + _count(storage, t.quarantine) + int(noted)
    counts = (applied, lost, silently_accepted)
    print(f"group commits with a forgery {groups}: applied, lost, silently accepted = {counts}")
    assert counts == (0, 0, 0)


def test_a_forged_envelope_in_a_batch_alone_is_written_around(
    storage: Storage, org: SimOrg
) -> None:
    """A batch alone is written while its signatures verify: a forged one (here in the
    victim's name, its next sequence number, relayed) sends it back to be written without."""
    coordinator = storage.authenticate(
        storage.repos.credentials.create_credential("coordinator", ["site-a"], "c")
    )
    assert coordinator is not None
    applied = lost = silently_accepted = 0
    for number in range(4 + EXTRA // 4):
        rng = random.Random(SEED + 1000 + number)
        victim = _device(storage, f"alone-victim-{number}")
        sender = _device(storage, f"alone-sender-{number}")
        good = _envelopes(org, sender, rng.randrange(0, 60), rng)
        forged = dataclasses.replace(
            _envelopes(org, victim, 1, rng, seq=victim.seq + 1)[0], signature=os.urandom(64)
        )
        batch = [*good, forged]
        rng.shuffle(batch)
        redone = storage.repos.ingest.group.redone
        outcomes = storage.repos.ingest.ingest([e.to_json() for e in batch], coordinator)
        assert storage.repos.ingest.group.redone == redone + 1  # written, then again without it
        held = _held(storage)
        for envelope, outcome in zip(batch, outcomes, strict=True):
            if envelope is forged:
                silently_accepted += outcome.delivered or outcome.reason != "signature"
                applied += envelope.record_id in held
            else:
                silently_accepted += outcome.outcome != "stored"
                lost += held.get(envelope.record_id, ("",))[0] != envelope.sha256
        follow = _envelopes(org, victim, 1, rng)  # the victim's own next record is no replay
        answer = storage.repos.ingest.ingest([follow[0].to_json()], victim.principal)
        assert [o.outcome for o in answer] == ["stored"]
    applied += _count(storage, t.quarantine) + _count(storage, t.conflicts)
    counts = (applied, lost, silently_accepted)
    print(f"batches alone with a forgery: applied, lost, silently accepted = {counts}")
    assert counts == (0, 0, 0)


def test_a_batch_replayed_across_a_group_is_held_once(storage: Storage, org: SimOrg) -> None:
    coordinator = storage.authenticate(
        storage.repos.credentials.create_credential("coordinator", ["site-a"], "c")
    )
    assert coordinator is not None
    rng = random.Random(SEED)
    device = _device(storage, "laptop")
    batch = _envelopes(org, device, 30, rng)
    reused = _envelopes(org, device, 1, rng, seq=batch[3].seq)  # a number already in the group
    calls = [
        (batch, device.principal),
        (batch, device.principal),
        (batch[:10], coordinator),
        (reused, device.principal),
    ]
    results = _grouped(storage, calls)
    answers = [[o.outcome for o in r] for r in results if not isinstance(r, BaseException)]
    assert answers[0] == ["stored"] * 30
    assert answers[1] == ["duplicate"] * 30
    assert answers[2] == ["duplicate"] * 10
    assert answers[3] == ["quarantined"]
    held = _held(storage)
    assert len(held) == 30
    assert {held[e.record_id][0] for e in batch} == {e.sha256 for e in batch}
    assert _count(storage, t.quarantine) == 1


def test_a_batch_the_database_refuses_fails_alone(
    storage: Storage, org: SimOrg, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(SEED)
    devices = [_device(storage, f"laptop-{i}") for i in range(4)]
    batches = [_envelopes(org, d, 12, rng) for d in devices]
    refused = batches[2][5].record_id
    write: Callable[..., list[Outcome]] = storage.repos.ingest.write

    def refusing(conn: Any, pairs: Any, received: str) -> list[Outcome]:
        if any(envelope.record_id == refused for envelope, _d in pairs):
            raise sa.exc.DataError("INSERT", {}, ValueError("refused"))
        return write(conn, pairs, received)

    monkeypatch.setattr(storage.repos.ingest, "write", refusing)
    results = _grouped(storage, [(b, d.principal) for b, d in zip(batches, devices, strict=True)])
    assert isinstance(results[2], sa.exc.DataError)
    held = _held(storage)
    for index, batch in enumerate(batches):
        if index == 2:
            assert not any(e.record_id in held for e in batch)
            continue
        result = results[index]
        assert not isinstance(result, BaseException)
        assert [o.outcome for o in result] == ["stored"] * 12
        assert all(e.record_id in held for e in batch)


_CHILD = r"""
import json, sys, threading
from fieldscreen.sync.server.storage import Storage

url, jobs_path = sys.argv[1], sys.argv[2]
storage = Storage.open(url)
jobs = json.loads(open(jobs_path, encoding="utf-8").read())
lock = threading.Lock()

def device(token, batches):
    principal = storage.authenticate(token)
    for batch in batches:
        outcomes = storage.repos.ingest.ingest(batch, principal)
        line = json.dumps([[o.record_id, o.sha256, o.outcome] for o in outcomes])
        with lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

threads = [threading.Thread(target=device, args=(job["token"], job["batches"])) for job in jobs]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
"""


def test_killed_mid_group_commit_every_answered_envelope_is_held_once(
    storage: Storage, org: SimOrg, db_url: str, tmp_path: Path
) -> None:
    variants = 3 + (EXTRA // 2)
    answered_total = lost = duplicated = retried_wrong = 0
    rng = random.Random(SEED)
    for number in range(variants):
        devices = [_device(storage, f"crash-{number}-{i}") for i in range(rng.randrange(3, 8))]
        plan = {
            d.id: [_envelopes(org, d, rng.randrange(5, 40), rng) for _ in range(3)] for d in devices
        }
        jobs = [
            {"token": d.token, "batches": [[e.to_json() for e in b] for b in plan[d.id]]}
            for d in devices
        ]
        jobs_path = tmp_path / f"jobs-{number}.json"
        jobs_path.write_text(json.dumps(jobs), encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, db_url, str(jobs_path)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        answers: list[list[list[str]]] = []
        kill_after = rng.randrange(1, len(devices) * 3)
        try:
            while len(answers) < kill_after:
                line = child.stdout.readline()
                if not line:
                    break
                answers.append(json.loads(line))
            time.sleep(rng.random() * 0.05)  # into the next group's transaction, or its commit
        finally:
            child.send_signal(signal.SIGKILL)
            rest = child.stdout.read()  # through the same buffer as the lines before
            child.stdout.close()
            child.wait(30)
        # Lines written before the kill were answers too (a request answered after its commit).
        for line in rest.splitlines(keepends=True):
            if line.endswith("\n"):  # (a line the kill cut short was never an answer)
                try:
                    answers.append(json.loads(line))
                except ValueError:
                    raise AssertionError(repr(line[:300])) from None
        held = _held(storage)
        for answer in answers:
            for record_id, sha256, outcome in answer:
                answered_total += 1
                if outcome not in {"stored", "duplicate"}:
                    retried_wrong += 1
                elif held.get(record_id, ("",))[0] != sha256:
                    lost += 1
        duplicated += _count(storage, t.quarantine) + _count(storage, t.conflicts)
        # Every device retries everything it sent: each envelope delivered, exactly once.
        for d in devices:
            for batch in plan[d.id]:
                outcomes = storage.repos.ingest.ingest([e.to_json() for e in batch], d.principal)
                retried_wrong += sum(not o.delivered for o in outcomes)
        held = _held(storage)
        for d in devices:
            for batch in plan[d.id]:
                lost += sum(held.get(e.record_id, ("",))[0] != e.sha256 for e in batch)
        duplicated += _count(storage, t.quarantine) + _count(storage, t.conflicts)
    counts = (lost, duplicated, retried_wrong)
    print(
        f"killed mid group commit {variants} times, answered {answered_total}: "
        f"lost, duplicated, refused on retry = {counts}"
    )
    assert answered_total > 0
    assert counts == (0, 0, 0)


def test_over_http_a_forged_relay_inside_a_group_poisons_no_device(
    server: LiveServer, storage: Storage, org: SimOrg, new_device: Callable[..., SimDevice]
) -> None:
    """The same through the API on loopback: two laptops' signed submits and a coordinator's
    relay of a forged copy of one laptop's record, answered from one group commit."""
    rng = random.Random(SEED)
    victim, other = new_device(), new_device()
    mine, theirs = victim.fill(30, rng), other.fill(20, rng)
    target = mine[7]
    forged = dataclasses.replace(
        victim.make_envelope(rng, seq=target.seq),
        record_id=target.record_id,
        signature=os.urandom(64),
    )
    relay_token = storage.repos.credentials.create_credential("coordinator", ["site-a"], "relay")
    answers: dict[str, list[str]] = {}

    def post(name: str, send: Callable[[], dict[str, Any]]) -> None:
        answers[name] = [r["outcome"] + ":" + str(r["reason"]) for r in send()["results"]]

    def relayed() -> dict[str, Any]:
        with SyncClient(server.url, token=relay_token) as relay:
            return relay.relay([forged.to_bytes()])

    def submitted(device: SimDevice, envelopes: list[Envelope]) -> Callable[[], dict[str, Any]]:
        def send() -> dict[str, Any]:
            with device.client() as client:
                return client.submit([e.to_bytes() for e in envelopes])

        return send

    group = storage.repos.ingest.group
    calls = [("relay", relayed), ("victim", submitted(victim, mine))]
    calls.append(("other", submitted(other, theirs)))
    threads = [threading.Thread(target=post, args=call) for call in calls]
    with group._writer:  # the three requests wait together, the forged relay first
        for count, thread in enumerate(threads, 1):
            thread.start()
            deadline = time.monotonic() + 30
            while len(group._waiting) < count:
                assert time.monotonic() < deadline, "the request never queued"
                time.sleep(0.002)
    for thread in threads:
        thread.join(60)
    assert answers["relay"] == ["rejected:signature"]
    assert answers["victim"] == ["stored:None"] * 30
    assert answers["other"] == ["stored:None"] * 20
    held = _held(storage)
    assert {held[e.record_id][0] for e in mine + theirs} == {e.sha256 for e in mine + theirs}
    assert _count(storage, t.conflicts) + _count(storage, t.quarantine) == 0
    victim.sync()  # the laptop's own receipt marks all of them delivered
    assert victim.spool.pending_page(0, 100) == []
