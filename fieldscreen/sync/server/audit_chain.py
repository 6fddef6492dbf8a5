"""The server's audit log as a hash chain, anchored by checkpoints the receipt key signs.

Entry ``n`` (its id) stores ``prev``, the hash of the entry before it (:data:`GENESIS` for the
first), and ``hash``::

    hash_n = SHA-256("fieldscreen server audit v1\\n" || JSON [n, at, actor, action, detail, prev])

with ``detail`` the stored JSON text itself. An entry appended by a server process whose
receipt key is unlocked (``serve``, or any command given the server's passphrase) is also a
*checkpoint*: ``signature`` is the receipt key's Ed25519 signature of
``"fieldscreen server audit checkpoint v1\\n" || n || ":" || hash_n`` and ``signer`` that key's
public half. A checkpoint vouches for itself and, through the chain, for every entry before it.

:func:`verify` recomputes everything in id order and names the first entry that fails:

* an entry whose ``prev`` is not the hash of the entry before it (one deleted, inserted or
  moved: ``chain``);
* an entry whose content no longer gives its hash (``edited``);
* a checkpoint whose signature is not valid, or not by a key the server trusts (``signature``);
* with ``expect_head`` (an id and hash printed by an earlier check, kept elsewhere), a chain
  that no longer holds it (``head``: the newest entries were removed).

Whoever holds the database but not the server's passphrase can rewrite the chain only after
its last checkpoint, or cut its tail: :func:`verify` counts the entries no checkpoint covers
(``unanchored``), and ``expect_head`` catches a tail cut below a head kept elsewhere.

The keys trusted are the current receipt key (or the one a caller pins) and, walking back, a
key a trusted checkpoint shows was replaced (the ``receipt-key-replaced`` entry names it).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from fieldscreen import crypto

__all__ = [
    "GENESIS",
    "ChainReport",
    "Entry",
    "checkpoint_message",
    "entry_hash",
    "verify",
]

GENESIS = "0" * 64
_ENTRY_PREFIX = b"fieldscreen server audit v1\n"
_CHECKPOINT_PREFIX = b"fieldscreen server audit checkpoint v1\n"


def entry_hash(entry_id: int, *, at: str, actor: str, action: str, detail: str, prev: str) -> str:
    """The hash of one entry's canonical bytes (``detail``: the stored JSON text)."""
    body = json.dumps(
        [int(entry_id), at, actor, action, detail, prev], ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(_ENTRY_PREFIX + body.encode("utf-8")).hexdigest()


def checkpoint_message(entry_id: int, digest: str) -> bytes:
    """What the receipt key signs to make entry ``entry_id`` (of hash ``digest``) a checkpoint."""
    return _CHECKPOINT_PREFIX + f"{int(entry_id)}:{digest}".encode("ascii")


@dataclass(frozen=True, slots=True)
class Entry:
    """One stored row of the audit table."""

    id: int
    at: str
    actor: str
    action: str
    detail: str
    prev: str | None
    hash: str | None
    signature: bytes | None = None
    signer: bytes | None = None


@dataclass(slots=True)
class ChainReport:
    """What :func:`verify` found. ``broken`` is None when the chain is intact."""

    entries: int = 0
    checkpoints: int = 0
    #: The newest entry a trusted checkpoint covers (0: none).
    anchored_to: int = 0
    #: Entries after it: chained, but not yet vouched for by a signature.
    unanchored: int = 0
    head_id: int = 0
    head_hash: str = GENESIS
    #: (entry id, reason): ``chain``, ``edited``, ``signature`` or ``head``.
    broken: tuple[int, str] | None = None
    #: The entry before the broken one (for ``chain``: what it should have followed).
    previous_id: int = 0
    trusted_keys: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.broken is None

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "checkpoints": self.checkpoints,
            "anchored_to": self.anchored_to,
            "unanchored": self.unanchored,
            "head": {"id": self.head_id, "hash": self.head_hash},
            "broken": None
            if self.broken is None
            else {"entry": self.broken[0], "reason": self.broken[1], "after": self.previous_id},
            "trusted_keys": self.trusted_keys,
        }


def verify(
    rows: Iterable[Entry],
    trusted: bytes | None,
    *,
    expect_head: tuple[int, str] | None = None,
) -> ChainReport:
    """Check the chain ``rows`` (in id order) against the receipt public key ``trusted``."""
    report = ChainReport()
    previous, previous_id = GENESIS, 0
    checkpoints: list[Entry] = []
    replaced: list[tuple[int, str]] = []  # (entry id, key id of the key it replaced)
    seen_head = expect_head is None
    ids: list[int] = []
    for entry in rows:
        report.entries += 1
        ids.append(entry.id)
        if entry.prev != previous:
            return _broken(report, entry.id, "chain", previous_id)
        digest = entry_hash(
            entry.id,
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            detail=entry.detail,
            prev=previous,
        )
        if entry.hash != digest:
            return _broken(report, entry.id, "edited", previous_id)
        if entry.signature is not None or entry.signer is not None:
            if not crypto.verify(
                entry.signer or b"", checkpoint_message(entry.id, digest), entry.signature or b""
            ):
                return _broken(report, entry.id, "signature", previous_id)
            checkpoints.append(entry)
        if entry.action == "receipt-key-replaced":
            old = _detail(entry.detail).get("old")
            if isinstance(old, str):
                replaced.append((entry.id, old))
        if expect_head is not None and entry.id == expect_head[0]:
            if digest != expect_head[1]:
                return _broken(report, entry.id, "head", previous_id)
            seen_head = True
        previous, previous_id = digest, entry.id
    report.head_id, report.head_hash = previous_id, previous
    report.checkpoints = len(checkpoints)
    if not seen_head:
        assert expect_head is not None
        return _broken(report, expect_head[0], "head", previous_id)
    keys = {crypto.key_id(trusted).lower()} if trusted else set()
    while True:  # a key is trusted when a trusted checkpoint covers the entry that replaced it
        anchored = max((c.id for c in checkpoints if _key(c) in keys), default=0)
        more = {old for at, old in replaced if at <= anchored} - keys
        if not more:
            break
        keys |= more
    # Name a key nobody ever replaced (a forger's) before a replaced one no trusted checkpoint
    # vouches for any more (its entry rewritten after the forger's first checkpoint).
    named = {old for _at, old in replaced}
    strangers = [c for c in checkpoints if _key(c) not in keys | named]
    unvouched = [c for c in checkpoints if _key(c) not in keys]
    for suspect in (strangers, unvouched):
        if suspect:
            return _broken(report, suspect[0].id, "signature", 0)
    report.anchored_to = anchored
    report.unanchored = sum(1 for entry_id in ids if entry_id > anchored)
    report.trusted_keys = sorted(keys)
    return report


def _key(entry: Entry) -> str:
    return crypto.key_id(entry.signer or b"").lower()


def _detail(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


def _broken(report: ChainReport, entry_id: int, reason: str, previous_id: int) -> ChainReport:
    report.broken = (entry_id, reason)
    report.previous_id = previous_id
    return report
