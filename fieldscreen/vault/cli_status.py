"""``fieldscreen status [--check] [--json]``: counts of drafts, finalised, sealed, pending,
delivered; with ``--check``, also unlocks and runs the vault's full integrity check."""

from __future__ import annotations

import argparse

from fieldscreen.vault.cli_common import add_unlock_arguments, emit, paths_of, read_passphrase

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--check",
        action="store_true",
        help="unlock and check every record, case card, secret, the state digest and the "
        "audit log (exit 1 when something was changed outside FieldScreen)",
    )
    add_unlock_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    from fieldscreen.vault.vault import vault_status

    paths = paths_of(args)
    status = vault_status(paths.vault_dir)
    if status["vault"] == "absent":
        emit(args, status, "No vault in this profile yet.")
        return 0
    lines = [f"{key}: {status[key]}" for key in sorted(status)]
    ok = True
    if getattr(args, "check", False):
        from fieldscreen.device import wire_signing
        from fieldscreen.vault.cli_travel import _only_user
        from fieldscreen.vault.vault import Vault

        with Vault.open(paths.vault_dir) as vault:
            vault.unlock(args.user or _only_user(vault), read_passphrase(args))
            wire_signing(vault)  # envelopes checked in the form the server verifies
            alert = vault.state_alert()
            report = vault.integrity_check()
        ok = report.ok and alert is None
        status["integrity"] = report.to_json()
        lines.append(
            "integrity: ok"
            if ok
            else f"integrity: FAILED ({len(report.failed)} locations; audit log "
            f"{'intact' if report.audit_intact else _broken(report.audit_first_bad)}; "
            "state digest "
            f"{'intact' if report.state_digest_intact else 'altered'})"
        )
        lines += [f"  {where}" for where in report.failed]
        if alert is not None:
            lines.append(alert.message("en"))
    emit(args, status, "\n".join(lines))
    return 0 if ok else 1


def _broken(seq: int | None) -> str:
    return f"altered, its chain breaks at entry {seq or 1}"
