"""The server's own key and its audit log: ``passphrase`` sets or changes the passphrase that
protects the receipt key (or replaces the key), ``audit`` verifies the log's hash chain and
signed checkpoints, or signs its head now."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fieldscreen.errors import KnownError
from fieldscreen.prompt import ask_passphrase
from fieldscreen.sync.errors import ServerError
from fieldscreen.sync.server.cli.common import AddCommand, Parents, emit, open_storage
from fieldscreen.sync.server.cli.passphrases import (
    MIN_PASSPHRASE,
    read_file_passphrase,
    server_passphrase,
    unlock,
)

__all__ = ["add_commands"]


def cmd_passphrase(args: argparse.Namespace) -> int:
    """Set or change the server's passphrase, which protects its receipt key."""
    storage = open_storage(args)
    state = storage.repos.keys.receipt_key_state()
    old = server_passphrase(args, "Current server passphrase: ") if state == "protected" else None
    if args.new_passphrase_file:
        new = read_file_passphrase(args.new_passphrase_file)
    elif not sys.stdin.isatty():
        raise ServerError("passphrase-not-given", option="--new-passphrase-file")
    else:
        new = ask_passphrase(
            "New server passphrase: ",
            again="New server passphrase again: ",
            option="--new-passphrase-file",
            differs=ServerError("server-passphrase-weak", minimum=MIN_PASSPHRASE),
            error=ServerError,
        ).encode("utf-8")
    if len(new.decode("utf-8")) < MIN_PASSPHRASE:
        raise ServerError("server-passphrase-weak", minimum=MIN_PASSPHRASE)
    if args.new_key:
        if old is not None:
            storage.repos.keys.unlock(old)  # only whoever holds the passphrase replaces the key
        storage.repos.keys.replace_receipt_key(new)
        done = "replaced"
    else:
        done = storage.repos.keys.change_passphrase(old, new)
    text = {
        "created": "Receipt key created, protected by the server's passphrase.",
        "protected": "The receipt key was stored in the clear; it is now protected by the "
        "server's passphrase and its clear copy removed from the database.",
        "changed": "The server's passphrase is changed.",
        "replaced": "A new receipt key replaces the old one, which is destroyed. Laptops "
        "accept its receipts once re-provisioned with a new file from provision-file.",
    }[done]
    emit(
        args,
        {"receipt_key": done, "key_id": storage.repos.keys.receipt_key_id()},
        f"{text} Give the new passphrase file to every 'serve' process and restart them.",
    )
    return 0


_AUDIT_BROKEN = {
    "chain": "server-audit-chain",
    "edited": "server-audit-edited",
    "signature": "server-audit-signature",
    "head": "server-audit-head",
}


def _expect_head(value: str | None) -> tuple[int, str] | None:
    if not value:
        return None
    entry, _, digest = value.partition(":")
    digest = digest.strip().lower()
    if not entry.strip().isdigit() or len(digest) != 64 or set(digest) - set("0123456789abcdef"):
        raise ServerError("server-audit-head-bad", value=value[:80])
    return int(entry), digest


def cmd_audit(args: argparse.Namespace) -> int:
    """Check the audit chain (``verify``), or sign its head now (``checkpoint``)."""
    storage = open_storage(args)
    if args.action == "checkpoint":
        unlock(args, storage)  # unlocking signs an unsigned head already
        head = storage.verify_audit()
        emit(
            args,
            {"checkpoint": {"id": head.anchored_to}, "head": head.to_json()["head"]},
            f"Audit log signed up to entry {head.anchored_to}.",
        )
        return 0
    pinned: bytes | None = None
    if args.receipt_key:
        pinned = _receipt_public(args.receipt_key)
    report = storage.verify_audit(receipt_public=pinned, expect_head=_expect_head(args.expect_head))
    data = report.to_json()
    if report.broken is not None:
        entry, reason = report.broken
        error = ServerError(_AUDIT_BROKEN[reason], entry=entry, after=report.previous_id)
        data["message"] = {"en": error.message("en"), "es": error.message("es")}
        if args.json:
            emit(args, data, "")
        else:
            print(f"fieldscreen-server: {error}", file=sys.stderr)
        return 1
    warning = None
    if report.unanchored:
        warning = KnownError(
            "server-audit-unanchored", count=report.unanchored, anchored=report.anchored_to
        )
        data["warning"] = {"en": warning.message("en"), "es": warning.message("es")}
    emit(
        args,
        data,
        f"Audit log intact: {report.entries} entries, {report.checkpoints} signed checkpoints, "
        f"signed up to entry {report.anchored_to}. Head: {report.head_id}:{report.head_hash}"
        + (f"\n{warning}" if warning else ""),
    )
    return 1 if warning is not None and args.strict else 0


def _receipt_public(path: str) -> bytes:
    """The receipt public key a signed provisioning file names (what the laptops trust)."""
    from fieldscreen.sync.signed import Provisioning

    try:
        return Provisioning.verify_file(Path(path).read_bytes(), None).receipt_public_key
    except (OSError, KnownError):
        raise ServerError("server-key-file", path=path) from None


def add_commands(add: AddCommand, parents: Parents) -> None:
    p = add(
        "passphrase",
        cmd_passphrase,
        "set or change the server's passphrase (it protects the receipt key)",
        parents.server_pass,
    )
    p.add_argument(
        "--new-passphrase-file", metavar="FILE", help="read the new passphrase from FILE"
    )
    p.add_argument(
        "--new-key",
        action="store_true",
        help="also replace the receipt key (after a suspected compromise; re-provision laptops)",
    )
    p = add(
        "audit",
        cmd_audit,
        "verify the audit log's hash chain and signed checkpoints, or sign its head now",
        parents.server_pass,
    )
    p.add_argument("action", choices=("verify", "checkpoint"))
    p.add_argument(
        "--expect-head",
        metavar="ID:HASH",
        help="a head printed by an earlier verify, kept elsewhere: it must still be there",
    )
    p.add_argument(
        "--receipt-key",
        metavar="FILE",
        help="trust the receipt key this provisioning file names, not the database's own",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="also exit 1 when the newest entries are not yet covered by a signed checkpoint",
    )
