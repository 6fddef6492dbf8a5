"""Who wins a record id at the central export: another enrolled device that sends a laptop's
record id first must not take the child's record out of the export.

The server keeps the first copy of a record id it receives and holds later ones from other
devices apart as conflicts (``other-device``). Device B, enrolled and holding laptop A's outbox
(record ids, hashes and sealed bytes need no passphrase), sends its copy of each of A's record
ids before A syncs (or after: the same must hold). A is a real vault that finalises real
screenings through the built-in forms and syncs with the product's engine; the central team's
``fieldscreen-server export`` then runs as it does off the server. Counted over every variant:

* applied 0: no row of B's is exported unless it is a genuine record of B's own, and no row
  that names A holds anything but what A finalised;
* records lost 0: every record A finalised is held by the server as A sent it (the record, or
  kept apart: even when B planted a copy with A's exact hash first) and is in the export, as
  A's;
* silently accepted 0: every contested record id is reported (summary and README), a contest
  with a genuine copy from each device is reported as undecided, and B's copy that is not B's
  own is named as left out.

``make test`` runs each (forgery, moment) once per database; ``FIELDSCREEN_FULL=1`` adds 60
seeded draws.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from fieldscreen import crypto
from fieldscreen.forms.library import builtin_forms
from fieldscreen.forms.synthetic import synthetic_case
from fieldscreen.sync.canonical import canonical
from fieldscreen.sync.envelope import Envelope, build_envelope, pad_payload
from fieldscreen.sync.server.cli import main as server_main
from fieldscreen.sync.server.live import LiveServer
from fieldscreen.sync.server.storage import Storage
from fieldscreen.sync.simulate import SimDevice, SimOrg, synthetic_payload
from tests.reliability.test_sync_attacks import (
    PASS,
    Laptop,
    NewDevice,
    _conflict_kept,
    _held_row,
    _signed_as,
)

FULL = os.environ.get("FIELDSCREEN_FULL") == "1"
EXTRA = 60 if FULL else 0
SEED = 20261205

pytestmark = pytest.mark.reliability

FORGERIES = (
    "hijack",  # A's sealed bytes under B's id, signed by B: does not open as B's
    "garbage",  # B's own sealed payload under A's record id: opens, no form state
    "names-a",  # a readable screening naming A inside, sealed and signed as B
    "sealed-for-a",  # a readable screening sealed for A's device id, in an envelope naming B
    "genuine",  # a readable screening of B's own under A's record id: both are genuine
    "planted-hash",  # B's own payload, then A's sealed bytes as B's: a conflict with A's hash
)


def _states(rng: random.Random) -> dict[str, Any]:
    forms = builtin_forms()
    case = synthetic_case(forms, rng, context={"site": "site-a", "jurisdiction": "MX"})
    return {fid: s.to_state() for fid, s in case.sessions.items()}


def _content(rng: random.Random, mark: str) -> dict[str, Any]:
    """A screening's content as the app finalises it; ``actions_taken`` marks whose it is."""
    state = {"started": datetime.now(UTC).isoformat(), "forms": _states(rng)}
    return {"state": state, "tier": "T2", "actions_taken": mark}


def _payload(genuine: Envelope, device_id: str, content: dict[str, Any]) -> bytes:
    return canonical(
        {
            "format": 1,
            "kind": "screening",
            "record_id": genuine.record_id,
            "form_id": genuine.form_id,
            "form_version": genuine.form_version,
            "device_id": device_id,
            "day": genuine.created,
            "content": content,
        }
    )


def _forge(  # noqa: PLR0917 -- the forgery, its target and the forger's means
    kind: str,
    genuine: Envelope,
    bob: SimDevice,
    seqs: Iterator[int],
    org: SimOrg,
    rng: random.Random,
) -> list[Envelope]:
    """What B sends, in order."""
    if kind == "planted-hash":
        return [
            *_forge("garbage", genuine, bob, seqs, org, rng),
            *_forge("hijack", genuine, bob, seqs, org, rng),
        ]
    return [_forge_one(kind, genuine, bob, next(seqs), org, rng)]


def _forge_one(  # noqa: PLR0917 -- the forgery, its target and the forger's means
    kind: str, genuine: Envelope, bob: SimDevice, seq: int, org: SimOrg, rng: random.Random
) -> Envelope:
    key = bob.signing_private
    if kind == "hijack":
        return _signed_as(genuine, key, device_id=bob.device_id, seq=seq)
    fields = (genuine.record_id, genuine.form_id, genuine.form_version, bob.device_id, seq)
    if kind == "garbage":
        plain = synthetic_payload(rng, 600)
    else:
        named = genuine.device_id if kind == "names-a" else bob.device_id
        plain = _payload(genuine, named, _content(rng, "B:forged"))
    if kind == "sealed-for-a":
        info = crypto.record_sealing_info(
            genuine.record_id, genuine.form_id, genuine.form_version, genuine.device_id
        )
        sealed = crypto.seal(org.sealing_public, pad_payload(plain), info=info, aad=b"")
        return _signed_as(
            genuine,
            key,
            device_id=bob.device_id,
            seq=seq,
            sealed=sealed,
            sha256=hashlib.sha256(sealed).hexdigest(),
        )
    return build_envelope(
        *fields,
        genuine.created,
        plain,
        org.sealing_public,
        key,
        aggregate=dict(genuine.aggregate),
    )


@pytest.fixture
def laptop(tmp_path: Path, org: SimOrg, storage: Storage, server: LiveServer) -> Iterator[Laptop]:
    crypto.permit_test_parameters(True)
    device = Laptop(tmp_path / "laptop", org, storage, server)
    try:
        yield device
    finally:
        device.vault.close()
        crypto.permit_test_parameters(False)


def _export(db_url: str, org: SimOrg, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Any:
    """``fieldscreen-server export --profile full --format json``, opened: (summary, tables,
    README text)."""
    key = tmp_path / "sealing-private.json"
    params = crypto.KdfParams.for_tests()
    key.write_text(json.dumps(crypto.protect_private_key(org.sealing[0], PASS, params=params)))
    passfile = tmp_path / "pass.txt"
    passfile.write_bytes(PASS + b"\n")
    out_dir, opened = tmp_path / "export", tmp_path / "opened"
    args = ["export", "--db", db_url, "--key", str(key), "--profile", "full", "--format", "json"]
    args += ["--out", str(out_dir), "--passphrase-file", str(passfile)]
    code = server_main([*args, "--export-passphrase-file", str(passfile), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    summary = json.loads(out)
    (packed,) = out_dir.iterdir()
    args = ["export-open", str(packed), "--out", str(opened)]
    assert server_main([*args, "--export-passphrase-file", str(passfile)]) == 0
    capsys.readouterr()
    data = json.loads((opened / "export.json").read_text(encoding="utf-8"))
    return summary, data["tables"], (opened / "README.txt").read_text(encoding="utf-8")


def test_another_devices_copy_sent_first_does_not_take_a_record_out_of_the_export(  # noqa: PLR0917
    laptop: Laptop,
    storage: Storage,
    new_device: NewDevice,
    org: SimOrg,
    db_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rng = random.Random(SEED)
    bob = new_device()
    seqs = itertools.count(1)
    every = list(itertools.product(FORGERIES, ("first", "second")))
    variants = every + [rng.choice(every) for _ in range(EXTRA)]
    made: dict[str, tuple[str, str]] = {}  # A's record id -> (forgery, moment)
    server_lost: list[str] = []
    outcomes: dict[str, int] = {}
    for kind, moment in variants:
        record = laptop.vault.new_draft("fs_intake", "2026.11.1")
        laptop.vault.finalise(record, record=_content(rng, f"A:{record}"), case_card={})
        (item,) = [i for i in laptop.store.pending_page(0, 1000) if i.record_id == record]
        genuine = Envelope.from_bytes(item.data)
        if moment == "second":
            laptop.sync()
        for forged in _forge(kind, genuine, bob, seqs, org, rng):
            with bob.client() as client:
                result = client.submit([forged.to_bytes()])["results"][0]
            key = f"{kind}/{moment}/{result['outcome']}"
            outcomes[key] = outcomes.get(key, 0) + 1
        laptop.sync()
        made[record] = (kind, moment)
        # the server holds A's copy as A sent it: the record, or kept apart beside B's
        row = _held_row(storage, record)
        held = row is not None and (row.device_id, row.sha256) == (genuine.device_id, item.sha256)
        if not (held or _conflict_kept(storage, record, item.sha256, genuine.device_id)):
            server_lost.append(record)
    summary, tables, readme = _export(db_url, org, tmp_path, capsys)
    screenings = tables["screenings"]
    columns = screenings["columns"]
    rid, dev, act = (columns.index(c) for c in ("record_id", "device_id", "actions_taken"))
    rows: dict[str, list[tuple[str, str]]] = {}
    for row in screenings["rows"]:
        rows.setdefault(row[rid], []).append((row[dev], row[act]))
    contests = {c["record_id"]: c for c in summary["contested"]}
    alice = laptop.vault.device_id
    counts = {"applied": 0, "lost": 0, "silently accepted": 0}
    for record, (kind, _moment) in made.items():
        exported = rows.get(record, [])
        for device, mark in exported:
            if device == alice and mark != f"A:{record}":
                counts["applied"] += 1  # something else exported as A's record
            if device == bob.device_id and kind != "genuine":
                counts["applied"] += 1  # B's copy exported though it is not B's own
        counts["lost"] += (alice, f"A:{record}") not in exported or record in server_lost
        contest = contests.get(record)
        expected = {alice, bob.device_id} if kind == "genuine" else {alice}
        left_out = [o["device"] for o in (contest or {}).get("left_out", ())]
        reported = (
            contest is not None
            and set(contest["exported"]) == expected
            and set(left_out) == (set() if kind == "genuine" else {bob.device_id})
            and record in readme
        )
        counts["silently accepted"] += not reported
    seen = dict(sorted(outcomes.items()))
    print(f"\ncontested export, {len(variants)} variants: {counts}; outcomes {seen}")
    assert counts == {"applied": 0, "lost": 0, "silently accepted": 0}, contests
    assert summary["not_exported"] == 0
    assert summary["contested_undecided"] == sum(
        1 for kind, _ in made.values() if kind == "genuine"
    )
    assert f"{len(made)} record ids were sent by more than one device" in readme
    # the repeat tables name the device too: two genuine copies never mix their rows
    repeats = [t for name, t in tables.items() if "." in name]
    assert repeats
    assert all(t["columns"][:2] == ["record_id", "device_id"] for t in repeats)
