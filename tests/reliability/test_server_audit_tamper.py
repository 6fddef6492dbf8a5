"""Someone with the server's database (not its passphrase) deletes, edits, reorders, inserts
or rewrites audit entries, re-signs them with a key of their own, swaps the receipt key, or
cuts the tail: ``fieldscreen-server audit verify`` (the real command, on SQLite and
PostgreSQL) names the first entry that no longer holds. Counted over seeded variants:
named, wrongly named, silently accepted.

The one rewrite the chain alone cannot see (the entries after the last checkpoint, rewritten
with their signatures stripped) is reported as not signed, and caught with a head kept
elsewhere (``--expect-head``)."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from fieldscreen import crypto
from fieldscreen.sync.server import audit_chain, cli
from fieldscreen.sync.server.db import tables as t
from fieldscreen.sync.signed import Provisioning, sign_document
from fieldscreen.sync.simulate import SimOrg
from tests.integration.test_server_audit_chain import build_log

FULL = os.environ.get("FIELDSCREEN_FULL") == "1"
SEED = 20261206
ROUNDS = 6 if FULL else 1

pytestmark = pytest.mark.reliability

Row = dict[str, Any]
_ATTACKER_PRIVATE, _ATTACKER_PUBLIC = crypto.generate_signing_keypair()


def _rehash(rows: list[Row], start: int, *, sign: bytes | None = None, strip: bool = False) -> None:
    """Recompute the chain from index ``start`` on, as a forger without the key would (and
    re-sign each checkpoint with ``sign``, or strip the signatures)."""
    previous = rows[start - 1]["hash"] if start else audit_chain.GENESIS
    for row in rows[start:]:
        row["prev"] = previous
        row["hash"] = audit_chain.entry_hash(
            row["id"],
            at=row["at"],
            actor=row["actor"],
            action=row["action"],
            detail=row["detail"],
            prev=previous,
        )
        if strip:
            row["signature"] = row["signer"] = None
        elif sign is not None and row["signature"] is not None:
            message = audit_chain.checkpoint_message(row["id"], row["hash"])
            row["signature"] = crypto.sign(sign, message)
            row["signer"] = crypto.public_from_private(sign)
        previous = row["hash"]


def _first_signed(rows: list[Row], index: int) -> int:
    return int(next(r["id"] for r in rows[index:] if r["signature"] is not None))


def _edit(row: Row, rng: random.Random) -> None:
    column = rng.choice(("at", "actor", "action", "detail"))
    value = {
        "at": "2026-01-01T00:00:00Z",
        "actor": "nobody",
        "action": "device-active",
        "detail": json.dumps({"site": "elsewhere"}),
    }[column]
    row[column] = value if row[column] != value else value.replace("e", "a", 1)


# Each tamper changes the rows and returns (the entry verify must name, its reason), and
# options for the verify command (a kept head, a pinned receipt key).
Tamper = Callable[[list[Row], random.Random, dict[str, Any]], tuple[int, str]]


def _delete(rows: list[Row], rng: random.Random, opts: dict[str, Any]) -> tuple[int, str]:
    i = rng.randrange(0, len(rows) - 1)
    del rows[i]
    return rows[i]["id"], "chain"


def _edit_one(rows: list[Row], rng: random.Random, opts: dict[str, Any]) -> tuple[int, str]:
    i = rng.randrange(len(rows))
    _edit(rows[i], rng)
    return rows[i]["id"], "edited"


def _edit_and_rehash(rows: list[Row], rng: random.Random, opts: dict[str, Any]) -> tuple[int, str]:
    i = rng.randrange(len(rows) - 1)
    _edit(rows[i], rng)
    _rehash(rows, i)
    return _first_signed(rows, i), "signature"


def _swap(rows: list[Row], rng: random.Random, opts: dict[str, Any]) -> tuple[int, str]:
    i = rng.randrange(len(rows) - 1)
    keep = ("id",)
    a, b = rows[i], rows[i + 1]
    for key in a:
        if key not in keep:
            a[key], b[key] = b[key], a[key]
    return a["id"], "chain"


def _insert(rows: list[Row], rng: random.Random, opts: dict[str, Any]) -> tuple[int, str]:
    """A forged entry between two, the later ids moved up by one and the chain recomputed."""
    i = rng.randrange(1, len(rows) - 1)
    forged = {**rows[i], "actor": "admin", "action": "device-active", "signature": None}
    forged["signer"] = None
    rows.insert(i, forged)
    for n, row in enumerate(rows):
        row["id"] = n + 1
    _rehash(rows, i)
    return _first_signed(rows, i), "signature"


def _insert_plain(rows: list[Row], rng: random.Random, opts: dict[str, Any]) -> tuple[int, str]:
    """A forged entry with a free id and the right ``prev``, nothing else changed."""
    i = rng.randrange(len(rows) - 1)
    rows[i + 1 :] = [{**r, "id": r["id"] + 1} for r in rows[i + 1 :]]  # leave a gap for it
    forged = {**rows[i], "id": rows[i]["id"] + 1, "actor": "admin", "prev": rows[i]["hash"]}
    forged["hash"] = audit_chain.entry_hash(
        forged["id"],
        at=forged["at"],
        actor=forged["actor"],
        action=forged["action"],
        detail=forged["detail"],
        prev=forged["prev"],
    )
    forged["signature"] = forged["signer"] = None
    rows.insert(i + 1, forged)
    return rows[i + 2]["id"], "chain"  # it follows the forged entry, not the one it named


def _resign(rows: list[Row], rng: random.Random, opts: dict[str, Any]) -> tuple[int, str]:
    """Edit, recompute, and sign every checkpoint after it with the attacker's own key."""
    i = rng.randrange(len(rows) - 1)
    _edit(rows[i], rng)
    _rehash(rows, i, sign=_ATTACKER_PRIVATE)
    return _first_signed(rows, i), "signature"


def _swap_receipt_key(rows: list[Row], rng: random.Random, opts: dict[str, Any]) -> tuple[int, str]:
    """The receipt key in the database replaced by the attacker's, the whole log re-signed;
    checked against the key the laptops' provisioning file names."""
    i = rng.randrange(len(rows))
    _edit(rows[i], rng)
    _rehash(rows, 0, sign=_ATTACKER_PRIVATE)
    opts["swap_key"] = True
    opts["pin"] = True
    return _first_signed(rows, 0), "signature"


def _cut_tail(rows: list[Row], rng: random.Random, opts: dict[str, Any]) -> tuple[int, str]:
    head = rows[-1]
    opts["head"] = f"{head['id']}:{head['hash']}"
    del rows[rng.randrange(1, len(rows)) :]
    return head["id"], "head"


def _rewrite_tail(rows: list[Row], rng: random.Random, opts: dict[str, Any]) -> tuple[int, str]:
    """Entries rewritten from some point on, their signatures stripped: only a kept head
    tells (without one, verify reports them as not signed)."""
    head = rows[-1]
    opts["head"] = f"{head['id']}:{head['hash']}"
    # (from before the new receipt key's first checkpoint, the old key's checkpoints would
    # lose the entry that vouches for them: named at once)
    since = max(n for n, r in enumerate(rows) if r["action"] == "receipt-key-created")
    i = rng.randrange(since + 1, len(rows))
    _edit(rows[i], rng)
    _rehash(rows, i, strip=True)
    opts["unanchored_at_least"] = len(rows) - i
    return head["id"], "head"


def _unsign(rows: list[Row], rng: random.Random, opts: dict[str, Any]) -> tuple[int, str]:
    """A checkpoint's signature kept but its signer swapped for another key."""
    i = rng.choice([n for n, r in enumerate(rows) if r["signature"] is not None])
    rows[i]["signer"] = _ATTACKER_PUBLIC
    return rows[i]["id"], "signature"


TAMPERS: dict[str, Tamper] = {
    "delete": _delete,
    "edit": _edit_one,
    "edit-rehash": _edit_and_rehash,
    "swap": _swap,
    "insert-rehash": _insert,
    "insert": _insert_plain,
    "resign": _resign,
    "swap-receipt-key": _swap_receipt_key,
    "cut-tail": _cut_tail,
    "rewrite-tail": _rewrite_tail,
    "signer": _unsign,
}


def _rows(engine: sa.Engine) -> list[Row]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(t.audit).order_by(t.audit.c.id))]


def _write(engine: sa.Engine, rows: list[Row]) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("DROP INDEX IF EXISTS audit_prev_once"))  # the attacker may
        conn.execute(sa.delete(t.audit))
        if rows:
            conn.execute(t.audit.insert(), rows)


def test_tampered_audit_logs_are_named_never_accepted(
    db_url: str, org: SimOrg, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    store = build_log(db_url, org)
    genuine = _rows(store.engine)
    with store.engine.connect() as conn:
        receipt_row = conn.execute(sa.select(t.org_keys).where(t.org_keys.c.kind == "receipt"))
        receipt = dict(receipt_row.one()._mapping)
    provisioning = tmp_path / "provisioning.json"
    content = Provisioning(
        organisation=org.name,
        server_url="https://example.org",
        sealing_public_key=org.sealing_public,
        signing_public_key=org.signing_public,
        receipt_public_key=receipt["public_key"],
        sites=(),
    ).to_content()
    document = sign_document("provisioning", "provisioning", "1", content, *org.signing)
    provisioning.write_bytes(document.to_bytes())
    rng = random.Random(SEED)
    counts = {"named": 0, "wrongly named": 0, "silently accepted": 0}
    wrong: list[str] = []
    try:
        for _ in range(ROUNDS):
            for name, tamper in TAMPERS.items():
                rows = [dict(r) for r in genuine]
                opts: dict[str, Any] = {}
                expected = tamper(rows, rng, opts)
                _write(store.engine, rows)
                if opts.get("swap_key"):
                    with store.engine.begin() as conn:
                        conn.execute(
                            sa.update(t.org_keys)
                            .where(t.org_keys.c.kind == "receipt")
                            .values(public_key=_ATTACKER_PUBLIC)
                        )
                args = ["audit", "verify", "--db", db_url, "--json"]
                if opts.get("pin"):
                    args += ["--receipt-key", str(provisioning)]
                if "unanchored_at_least" in opts:  # without a kept head: reported, not clean
                    assert cli.main(args) == 0
                    plain = json.loads(capsys.readouterr().out)
                    assert plain["unanchored"] >= opts["unanchored_at_least"], (name, plain)
                if "head" in opts:
                    args += ["--expect-head", opts["head"]]
                code = cli.main(args)
                data = json.loads(capsys.readouterr().out)
                if code == 0:
                    counts["silently accepted"] += 1
                    wrong.append(f"{name}: accepted")
                elif data["broken"] and (data["broken"]["entry"], data["broken"]["reason"]) == (
                    expected
                ):
                    counts["named"] += 1
                else:
                    counts["wrongly named"] += 1
                    wrong.append(f"{name}: expected {expected}, got {data['broken']}")
                if opts.get("swap_key"):
                    with store.engine.begin() as conn:
                        conn.execute(
                            sa.update(t.org_keys)
                            .where(t.org_keys.c.kind == "receipt")
                            .values(public_key=receipt["public_key"])
                        )
        _write(store.engine, genuine)
        assert cli.main(["audit", "verify", "--db", db_url, "--strict"]) == 0
    finally:
        store.close()
    print(f"\naudit tamper ({len(TAMPERS) * ROUNDS} variants): {counts}")
    assert counts["silently accepted"] == 0, wrong
    assert counts["wrongly named"] == 0, wrong
    assert counts["named"] == len(TAMPERS) * ROUNDS
